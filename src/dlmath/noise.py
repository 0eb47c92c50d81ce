r"""Noise models for regression residuals: each owns its density, loss, derivatives and scale MLE.

Choosing a noise model for :math:`r = y - w^\top x` fixes the loss: the negative log-likelihood of
i.i.d. residuals is, up to an additive constant and a positive factor,

.. math:: -\log p(r) \;\propto\; \rho(r):\qquad
          \text{Gaussian} \to \tfrac12 r^2,\quad
          \text{Laplace} \to |r|,\quad
          \text{Huber} \to \rho_\delta(r),\quad
          \text{Student-}t \to \tfrac{\nu+1}{2}\log\bigl(1 + \tfrac{r^2}{\nu\sigma^2}\bigr).

:class:`Cauchy` is Student-:math:`t` with :math:`\nu = 1`; :class:`Logistic` has the smooth convex
loss :math:`4\sigma^2\log\cosh\frac{r}{2\sigma}`.

Every model has the same element-wise methods, the math of each written once in the model:

- ``logpdf(r)`` and ``nll(r) = -logpdf(r)``: the normalised density of one residual;
- ``loss(r)``: the training loss :math:`\rho(r)`, the NLL with constants dropped and, for the
  Gaussian, Laplace, Huber and logistic models, multiplied by :math:`\sigma^2`, :math:`\sigma`,
  :math:`\sigma^2`, :math:`2\sigma^2` so that it reads :math:`r^2/2`, :math:`|r|`, the Huber
  function of PyTorch with threshold :math:`\delta\sigma`, and :math:`\approx r^2/2` near 0;
- ``dloss(r)``: :math:`\psi = \rho'`, with the subgradient :math:`\operatorname{sign}(0) = 0` at
  the Laplace kink;
- ``weight(r)``: :math:`\psi(r)/r`, the weight of iteratively reweighted least squares (IRLS),
  and at :math:`r = 0` its limit (:math:`\psi'(0)`; :math:`+\infty` for Laplace);
- ``curvature(r)``: :math:`\psi'(r) = \rho''(r)`; at the points listed in ``kinks``, where
  :math:`\psi'` does not exist, the one-sided value each model states;

and ``fit_scale(r)``, the maximum-likelihood scale :math:`\hat\sigma` for given residuals (the
shape parameter, :math:`\delta` or :math:`\nu`, held fixed). Each model also states facts about
its loss, which :func:`dlmath.fit.fit_linear` dispatches on:

- ``convex``: :math:`\rho(\lambda a + (1-\lambda)b) \le \lambda\rho(a) + (1-\lambda)\rho(b)`;
- ``smooth``: :math:`\rho` is differentiable everywhere (Laplace is not, at 0);
- ``homogeneity``: the degree :math:`d` with :math:`\rho(cr) = |c|^d\rho(r)` for every real
  :math:`c`, so that :math:`\rho = \rho(1)|r|^d` and the minimiser of :math:`\sum_i \rho(r_i)`
  does not depend on :math:`\sigma` (2 for Gaussian: least squares; 1 for Laplace: least
  absolute deviations), or ``None``;
- ``kinks``: the residuals where :math:`\psi` is not differentiable;
- ``dloss_bound``: :math:`\sup_r |\psi(r)|` (``inf`` for the Gaussian).

Every loss is even, :math:`\rho(-r) = \rho(r)`, and its weight :math:`\psi(r)/r` is non-increasing
in :math:`|r|` (:math:`\rho(\sqrt x)` is concave in :math:`x`), so the quadratic
:math:`\rho(r_0) + \tfrac12\,\mathrm{weight}(r_0)(r^2 - r_0^2)` lies above :math:`\rho` and touches it
at :math:`\pm r_0`: an IRLS step never raises the loss.

The element-wise methods take any array-API array (NumPy, PyTorch, JAX, ...) and return one of
the same kind and floating dtype; ``fit_scale`` reads its input as a NumPy array and returns a
Python float. Hyper-parameters are validated when a model is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._noise_base import NoiseModel, full
from ._scale import mean_abs, rms

__all__ = [
    "Gaussian",
    "Laplace",
    "Huber",
    "StudentT",
    "Cauchy",
    "Logistic",
    "NoiseModel",
    "MODELS",
    "get_model",
]

_LOG_2PI = math.log(2.0 * math.pi)
_TINY = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class Gaussian(NoiseModel):
    r"""Gaussian noise :math:`r \sim \mathcal N(0, \sigma^2)`; its training loss is :math:`r^2/2`.

    .. math:: -\log p(r) = \frac{r^2}{2\sigma^2} + \log\sigma + \tfrac12\log 2\pi,
              \qquad \rho(r) = \tfrac12 r^2,\quad \psi(r) = r,\quad
              \frac{\psi(r)}{r} = \psi'(r) = 1,\quad
              \hat\sigma = \Bigl(\frac1n\sum_i r_i^2\Bigr)^{1/2}.

    The :math:`\tfrac12` makes :math:`\psi = r`; PyTorch's ``MSELoss`` is :math:`r^2`, twice this.
    Convex, smooth, homogeneous of degree 2: the MLE of the coefficients is least squares.

    Args:
        scale: :math:`\sigma`, finite and > 0 (default 1).

    Examples:
        >>> import math
        >>> import numpy as np
        >>> from dlmath.noise import Gaussian
        >>> m = Gaussian(scale=2.0)
        >>> m.loss(np.array([-2.0, 0.0, 3.0])).tolist()
        [2.0, 0.0, 4.5]
        >>> round(float(m.logpdf(0.0)), 12) == round(-math.log(2.0) - 0.5 * math.log(2 * math.pi), 12)
        True
        >>> m.fit_scale([3.0, -4.0]) == math.sqrt(12.5)
        True
    """

    scale: float = 1.0
    name = "gaussian"
    convex = True
    smooth = True
    homogeneity = 2
    dloss_bound = math.inf

    def _logpdf(self, xp, r):
        s = self.scale
        return -0.5 * (r / s) ** 2 - (math.log(s) + 0.5 * _LOG_2PI)

    def _loss(self, xp, r):
        return 0.5 * r * r

    def _dloss(self, xp, r):
        return r * 1.0

    def _weight(self, xp, r):
        return full(xp, r, 1.0)

    _curvature = _weight

    def _scale_mle(self, absr, start=None):
        return rms(absr)


@dataclass(frozen=True)
class Laplace(NoiseModel):
    r"""Laplace noise with density :math:`\frac{1}{2b}e^{-|r|/b}`; its training loss is :math:`|r|`.

    .. math:: -\log p(r) = \frac{|r|}{b} + \log 2b,
              \qquad \rho(r) = |r|,\quad \psi(r) = \operatorname{sign}(r)\ (\operatorname{sign}0 = 0),
              \quad \frac{\psi(r)}{r} = \frac{1}{|r|},\quad \hat b = \frac1n\sum_i |r_i|.

    The subgradient's size does not shrink as :math:`r \to 0`: the source of the jitter of
    constant-step SGD under L1 (see :func:`dlmath.sgd.sgd_linear`). ``weight`` is ``inf`` at 0.
    :math:`\psi' = 0` away from the kink at 0, where :math:`\psi` jumps by 2 (:math:`\rho''` is a
    point mass there); ``curvature`` returns 0 there too, the value on both sides. Convex, not
    smooth, homogeneous of degree 1: the MLE of the coefficients is least absolute deviations.

    Args:
        scale: :math:`b`, finite and > 0 (default 1).

    Examples:
        >>> import numpy as np
        >>> from dlmath.noise import Laplace
        >>> Laplace().dloss(np.array([-0.5, 0.0, 2.0])).tolist()
        [-1.0, 0.0, 1.0]
        >>> Laplace().fit_scale([1.0, -3.0])
        2.0
    """

    scale: float = 1.0
    name = "laplace"
    convex = True
    smooth = False
    homogeneity = 1
    kinks = (0.0,)
    dloss_bound = 1.0

    def _logpdf(self, xp, r):
        b = self.scale
        return -xp.abs(r) / b - math.log(2.0 * b)

    def _loss(self, xp, r):
        return xp.abs(r)

    def _dloss(self, xp, r):
        return xp.sign(r)

    def _weight(self, xp, r):
        return 1.0 / xp.abs(r)

    def _curvature(self, xp, r):
        return full(xp, r, 0.0)

    def _scale_mle(self, absr, start=None):
        return mean_abs(absr)


@dataclass(frozen=True)
class Huber(NoiseModel):
    r"""Huber noise: Gaussian in the centre, Laplace in the tails, a proper density.

    With :math:`t = r/\sigma` and the Huber function
    :math:`\rho_\delta(t) = \tfrac12 t^2` for :math:`|t| \le \delta`,
    :math:`\delta(|t| - \tfrac12\delta)` otherwise,

    .. math:: p(r) = \frac{e^{-\rho_\delta(r/\sigma)}}{\sigma Z(\delta)},\qquad
              Z(\delta) = \int_{-\infty}^{\infty} e^{-\rho_\delta(t)}\,dt
              = \sqrt{2\pi}\,\operatorname{erf}\bigl(\delta/\sqrt2\bigr)
              + \frac{2}{\delta}e^{-\delta^2/2},

    the first term from the Gaussian centre :math:`|t| \le \delta`, the second from the two
    exponential tails :math:`2\int_\delta^\infty e^{-\delta t + \delta^2/2}\,dt`.

    The training loss is :math:`\rho(r) = \sigma^2\rho_\delta(r/\sigma) = \rho_k(r)`, :math:`k = \delta\sigma`:
    :math:`\tfrac12 r^2` for :math:`|r| \le k` and :math:`k(|r| - \tfrac12 k)` beyond, that is
    :math:`m(|r| - \tfrac12 m)` with :math:`m = \min(|r|, k)`; then

    .. math:: \psi(r) = \operatorname{clip}(r, -k, k),\qquad
              \frac{\psi(r)}{r} = \min\Bigl(1, \frac{k}{|r|}\Bigr),\qquad
              \psi'(r) = [\,|r| \le k\,].

    At the kinks :math:`r = \pm k` ``curvature`` is 1, the derivative from inside. The loss equals
    PyTorch's ``HuberLoss(delta=k)`` element-wise, and ``SmoothL1Loss(beta=k)`` is :math:`\rho/k`
    (the same shape, divided by the threshold so its tails have slope 1). Convex and smooth.

    ``fit_scale`` solves the likelihood equation :math:`\frac1n\sum_i \psi_\delta(t_i)t_i = 1`,
    :math:`\psi_\delta = \rho_\delta'`, with :math:`\delta` held fixed.

    Args:
        delta: :math:`\delta`, the threshold in units of the scale, finite and > 0 (default 1.345,
            the value with 95 % efficiency at the Gaussian).
        scale: :math:`\sigma`, finite and > 0 (default 1).

    Examples:
        >>> import numpy as np
        >>> from dlmath.noise import Huber
        >>> Huber(delta=1.0).loss(np.array([0.5, -3.0])).tolist()
        [0.125, 2.5]
        >>> Huber(delta=1.0).dloss(np.array([0.5, -3.0])).tolist()
        [0.5, -1.0]
        >>> round(Huber(delta=1.0).normalizer, 10)
        2.9243101032
    """

    delta: float = 1.345
    scale: float = 1.0
    name = "huber"
    convex = True
    smooth = True

    @property
    def kinks(self) -> tuple[float, float]:
        k = self.delta * self.scale
        return (-k, k)

    @property
    def dloss_bound(self) -> float:
        return self.delta * self.scale

    @property
    def normalizer(self) -> float:
        r""":math:`Z(\delta)`, the integral of :math:`e^{-\rho_\delta}` over the real line."""
        d = self.delta
        return math.sqrt(2.0 * math.pi) * math.erf(d / math.sqrt(2.0)) + 2.0 / d * math.exp(-0.5 * d * d)

    def _log_normalizer(self) -> float:
        r""":math:`\log Z(\delta)`, finite also where :math:`Z` overflows (:math:`2/\delta` for
        :math:`\delta < 10^{-308}`): there :math:`\log Z = \log(2/\delta) - \delta^2/2 +
        \log\bigl(1 + \tfrac{\delta}{2}e^{\delta^2/2}\sqrt{2\pi}\operatorname{erf}(\delta/\sqrt2)\bigr)`."""
        d = self.delta
        if d >= 1.0:
            return math.log(self.normalizer)
        centre = 0.5 * d * math.exp(0.5 * d * d) * math.sqrt(2.0 * math.pi) * math.erf(d / math.sqrt(2.0))
        return math.log(2.0) - math.log(d) - 0.5 * d * d + math.log1p(centre)

    @staticmethod
    def _rho(xp, r, k):
        # m (|r| - m/2) with m = min(|r|, k): no branch, and no square of a residual beyond k.
        a = xp.abs(r)
        m = xp.minimum(a, k)
        return m * (a - 0.5 * m)

    def _logpdf(self, xp, r):
        s = self.scale
        return -self._rho(xp, r / s, self.delta) - (math.log(s) + self._log_normalizer())

    def _loss(self, xp, r):
        k = self.delta * self.scale
        if k == 0.0:  # delta * sigma underflowed: the loss is all tail, delta * (sigma |r|)
            return self.delta * (self.scale * xp.abs(r))
        if k == math.inf:  # delta * sigma overflowed: the loss is all centre
            return 0.5 * r * r
        return self._rho(xp, r, k)

    def _dloss(self, xp, r):
        k = self.delta * self.scale
        return xp.clip(r, -k, k)

    def _weight(self, xp, r):
        k = self.delta * self.scale
        a = xp.abs(r)
        if k < _TINY:  # delta * sigma is subnormal or 0: min(1, delta (sigma / |r|)) keeps its digits
            return xp.minimum(self.delta * (self.scale / a), 1.0)
        return k / xp.maximum(a, k)

    def _curvature(self, xp, r):
        k = self.delta * self.scale
        return xp.where(xp.abs(r) <= k, xp.ones_like(r), full(xp, r, 0.0))

    def _scale_equation(self, t):
        d = self.delta
        return np.where(t <= d, t * t, d * t), np.where(t <= d, 2 * t * t, d * t)


@dataclass(frozen=True)
class StudentT(NoiseModel):
    r"""Student-:math:`t` noise with :math:`\nu` degrees of freedom and scale :math:`\sigma`.

    .. math:: -\log p(r) = \frac{\nu+1}{2}\log\Bigl(1 + \frac{r^2}{\nu\sigma^2}\Bigr)
              + \log\sigma + \tfrac12\log(\nu\pi)
              + \log\Gamma\bigl(\tfrac{\nu}{2}\bigr) - \log\Gamma\bigl(\tfrac{\nu+1}{2}\bigr),

    so :math:`\rho(r) = \frac{\nu+1}{2}\log\bigl(1 + \frac{r^2}{\nu\sigma^2}\bigr)` and

    .. math:: \psi(r) = \frac{(\nu+1)\,r}{\nu\sigma^2 + r^2},\qquad
              \frac{\psi(r)}{r} = \frac{\nu+1}{\nu\sigma^2 + r^2},\qquad
              \psi'(r) = \frac{(\nu+1)(\nu\sigma^2 - r^2)}{(\nu\sigma^2 + r^2)^2}.

    :math:`\psi` rises like :math:`r` near 0, peaks at :math:`|r| = \sigma\sqrt\nu` with
    :math:`\sup|\psi| = \frac{\nu+1}{2\sigma\sqrt\nu}`, and falls back to 0 for large :math:`|r|`
    (outliers are ignored; the loss is smooth but not convex: :math:`\psi' < 0` beyond the peak).
    :math:`\nu = 1` is the Cauchy distribution; :math:`\nu \to \infty` gives the Gaussian.

    ``fit_scale`` solves :math:`\frac1n\sum_i \frac{(\nu+1)t_i^2}{\nu + t_i^2} = 1`,
    :math:`t_i = r_i/\sigma`; it returns 0 when at least a fraction :math:`\nu/(\nu+1)` of the
    residuals are exactly 0 (the likelihood is then unbounded).

    Args:
        df: :math:`\nu`, finite and > 0.
        scale: :math:`\sigma`, finite and > 0 (default 1).

    Examples:
        >>> import numpy as np
        >>> from dlmath.noise import StudentT
        >>> m = StudentT(df=3.0)
        >>> float(m.dloss(np.array([1.0]))[0])
        1.0
        >>> round(float(m.logpdf(0.0)), 12)
        -1.000888849624
    """

    df: float = 4.0
    scale: float = 1.0
    name = "student-t"
    convex = False
    smooth = True

    @property
    def dloss_bound(self) -> float:
        return (self.df + 1.0) / (2.0 * math.sqrt(self.df)) / self.scale

    @property
    def _scale_sup(self) -> float:
        return self.df + 1.0

    def _log_norm(self) -> float:
        v = self.df
        return (
            math.lgamma(0.5 * (v + 1.0))
            - math.lgamma(0.5 * v)
            - 0.5 * math.log(v * math.pi)
            - math.log(self.scale)
        )

    def _loss_finite(self, xp, r):
        u = r / (self.scale * math.sqrt(self.df))
        return 0.5 * (self.df + 1.0) * xp.log1p(u * u)

    def _loss(self, xp, r):
        r"""The loss for every float ``r``, :math:`u = r/c`, :math:`c = \sigma\sqrt\nu`.

        :math:`u^2` overflows long before the logarithm does (:math:`|u| > 10^{154}` in float64,
        :math:`10^{19}` in float32); beyond :math:`|r| > c` the equal form
        :math:`\log(1 + u^2) = 2(\log|r| - \log c) + \log(1 + c^2/r^2)` is used, each branch on
        input safe for it.
        """
        c = self.scale * math.sqrt(self.df)
        log_c = math.log(self.scale) + 0.5 * math.log(self.df)
        a = xp.abs(r)
        big = (a > c) | (a == math.inf)  # also where c itself overflowed (sigma = 1e300, say)
        zeros = xp.zeros_like(a)
        ab = xp.where(big, a, xp.ones_like(a))
        centre = self._loss_finite(xp, xp.where(big, zeros, a)) if c > 0 else zeros  # c underflowed: r = 0
        inv = c / ab if c < math.inf else zeros  # c = inf: only r = inf is big
        tail = (self.df + 1.0) * (xp.log(ab) - log_c) + 0.5 * (self.df + 1.0) * xp.log1p(inv * inv)
        return xp.where(big, tail, centre)

    def _logpdf(self, xp, r):
        return self._log_norm() - self._loss(xp, r)

    def _dloss(self, xp, r):
        v, s = self.df, self.scale
        # (v+1) t / (v + t^2) overflows to inf/inf for huge |t|; there the equal form
        # (v+1) / (v/t + t) is used, each branch on input that is safe for it.
        t = r / s
        big = xp.abs(t) >= 1.0
        tb = xp.where(big, t, xp.ones_like(t))
        ts = xp.where(big, xp.zeros_like(t), t)
        # Divide by s last: s * (v + t^2) can underflow to 0 (s = 1e-109, v = 1e-283), giving 0/0 at r = 0.
        return xp.where(big, (v + 1.0) / (v / tb + tb) / s, (v + 1.0) * ts / (v + ts * ts) / s)

    def _weight(self, xp, r):
        v, s = self.df, self.scale
        t = r / s
        # Dividing by s twice: s^2 alone underflows for s < 1e-154 while the weight is finite.
        return (v + 1.0) / (v + t * t) / s / s

    def _curvature(self, xp, r):
        v, s = self.df, self.scale
        t = r / s
        q = v + t * t
        # (v - t^2) / q^2 written as (2v/q - 1) / q: no inf/inf once t^2 overflows.
        return (v + 1.0) * (2.0 * v / q - 1.0) / q / s / s

    def _scale_equation(self, t):
        v = self.df
        t2 = t * t
        h = (v + 1.0) / (1.0 + v / t2)  # no inf/inf when t2 overflows
        return h, 2.0 * v * h / (v + t2)


@dataclass(frozen=True)
class Cauchy(StudentT):
    r"""Cauchy noise: :class:`StudentT` with :math:`\nu = 1`, density :math:`\frac{1}{\pi\sigma(1 + r^2/\sigma^2)}`.

    .. math:: \rho(r) = \log\Bigl(1 + \frac{r^2}{\sigma^2}\Bigr),\qquad
              \psi(r) = \frac{2r}{\sigma^2 + r^2}.

    Args:
        scale: :math:`\sigma`, finite and > 0 (default 1).

    Examples:
        >>> from dlmath.noise import Cauchy
        >>> float(Cauchy(2.0).dloss(2.0))
        0.5
    """

    df: float = field(default=1.0, init=False)
    scale: float = 1.0
    name = "cauchy"


@dataclass(frozen=True)
class Logistic(NoiseModel):
    r"""Logistic noise: density :math:`\frac{1}{4\sigma}\operatorname{sech}^2\frac{r}{2\sigma}`, smooth and
    convex like Huber, with exponential tails.

    .. math:: -\log p(r) = 2\log\cosh\frac{r}{2\sigma} + \log 4\sigma,\qquad
              \rho(r) = 4\sigma^2\log\cosh\frac{r}{2\sigma},\qquad
              \psi(r) = 2\sigma\tanh\frac{r}{2\sigma},

    so :math:`\rho(r) \approx \tfrac12 r^2` near 0 and :math:`\psi(r) \to \pm 2\sigma` in the tails
    (the loss is :math:`2\sigma^2` times the NLL less its minimum), with
    :math:`\psi(r)/r = \tanh(u)/u` and :math:`\psi'(r) = \operatorname{sech}^2 u`,
    :math:`u = r/2\sigma`. ``fit_scale`` solves
    :math:`\frac1n\sum_i t_i\tanh(t_i/2) = 1`, :math:`t_i = r_i/\sigma`.

    Args:
        scale: :math:`\sigma`, finite and > 0 (default 1).

    Examples:
        >>> import math
        >>> import numpy as np
        >>> from dlmath.noise import Logistic
        >>> round(float(Logistic().logpdf(0.0)), 12) == round(-math.log(4.0), 12)
        True
        >>> Logistic().dloss(np.array([0.0, 1e6])).tolist()
        [0.0, 2.0]
    """

    scale: float = 1.0
    name = "logistic"
    convex = True
    smooth = True

    @property
    def dloss_bound(self) -> float:
        return 2.0 * self.scale

    @staticmethod
    def _log_cosh(xp, u):
        # Large |u|: |u| + log1p(exp(-2|u|)) - log 2 cannot overflow. Small |u|: that form cancels
        # (both terms near log 2), so use log1p(sinh(u)^2)/2 there, on input clipped to |u| <= 1.
        a = xp.abs(u)
        small = a < 1.0
        sh = xp.sinh(xp.where(small, a, xp.zeros_like(a)))
        return xp.where(small, 0.5 * xp.log1p(sh * sh), a + xp.log1p(xp.exp(-2.0 * a)) - math.log(2.0))

    def _logpdf(self, xp, r):
        s = self.scale
        return -2.0 * self._log_cosh(xp, r / (2.0 * s)) - math.log(4.0 * s)

    def _loss(self, xp, r):
        r"""The loss :math:`4\sigma^2\log\cosh\frac{r}{2\sigma}` without ``inf * 0`` at extreme scales.

        The factor :math:`4\sigma^2` over- or underflows on its own (:math:`\sigma = 10^{\pm 200}`)
        while the loss is moderate, so it is folded into each branch: near 0,
        :math:`2(\sigma\sinh u)^2\,\frac{\log(1 + \sinh^2 u)}{\sinh^2 u}` with :math:`u = r/2\sigma`;
        in the tails, :math:`2\sigma\bigl(|r| - 2\sigma(\log 2 - \log(1 + e^{-2|u|}))\bigr)`.
        """
        s = self.scale
        a = xp.abs(r)
        u = a / (2.0 * s)
        small = u < 1.0
        zeros = xp.zeros_like(a)
        sh = xp.sinh(xp.where(small, u, zeros))
        x = sh * sh
        nonzero = x > 0
        ratio = xp.where(nonzero, xp.log1p(x) / xp.where(nonzero, x, xp.ones_like(x)), xp.ones_like(x))
        near = 2.0 * (s * sh) ** 2 * ratio
        ub = xp.where(small, zeros, u)
        tail = 2.0 * s * (a - 2.0 * s * (math.log(2.0) - xp.log1p(xp.exp(-2.0 * ub))))
        return xp.where(small, near, tail)

    def _dloss(self, xp, r):
        s = self.scale
        # r/s before halving: 2*s overflows for s near the largest double.
        return 2.0 * (s * xp.tanh((r / s) * 0.5))

    def _weight(self, xp, r):
        u = (xp.abs(r) / self.scale) * 0.5
        small = u < 1e-8  # tanh(u)/u = 1 - u^2/3 + ...: 1 to rounding
        safe = xp.where(small, xp.ones_like(u), u)
        return xp.where(small, xp.ones_like(u), xp.tanh(safe) / safe)

    def _curvature(self, xp, r):
        # sech^2 u = 4e/(1 + e)^2 with e = exp(-2|u|) = exp(-|r|/sigma): no cosh to overflow.
        e = xp.exp(-xp.abs(r) / self.scale)
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    def _scale_equation(self, t):
        th = np.tanh(0.5 * t)
        tsech = t / np.cosh(0.5 * t)  # t sech(t/2) -> 0, where t^2 (1 - tanh^2) gives inf * 0
        return t * th, t * th + 0.5 * tsech * tsech


MODELS: dict[str, type] = {
    "gaussian": Gaussian,
    "laplace": Laplace,
    "huber": Huber,
    "student-t": StudentT,
    "cauchy": Cauchy,
    "logistic": Logistic,
}
_ALIASES = {
    "normal": "gaussian",
    "l2": "gaussian",
    "l1": "laplace",
    "t": "student-t",
    "studentt": "student-t",
}


def get_model(fname: str, noise) -> NoiseModel:
    """Resolve a noise name or instance; unknown names raise ``ValueError`` listing the known ones."""
    if isinstance(noise, NoiseModel):
        return noise
    if isinstance(noise, str):
        key = noise.strip().lower().replace("_", "-")
        key = _ALIASES.get(key, key)
        if key in MODELS:
            return MODELS[key]()
        known = ", ".join(repr(k) for k in MODELS)
        raise ValueError(
            f"{fname}: unknown noise model {noise!r}; expected one of {known} or a dlmath.noise "
            "instance for argument 'noise'"
        )
    raise TypeError(
        f"{fname}: 'noise' must be a name or a dlmath.noise model; got {type(noise).__name__} {noise!r}"
    )
