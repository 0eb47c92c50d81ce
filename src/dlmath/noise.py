r"""Noise models for regression residuals: density, training loss, its (sub)gradient, scale MLE.

Choosing a noise model for :math:`r = y - w^\top x` fixes the loss: the negative log-likelihood of
i.i.d. residuals is, up to an additive constant and a positive factor,

.. math:: -\log p(r) \;\propto\; \ell(r):\qquad
          \text{Gaussian} \to \tfrac12 r^2,\quad
          \text{Laplace} \to |r|,\quad
          \text{Huber} \to \rho_\delta(r),\quad
          \text{Student-}t \to \tfrac{\nu+1}{2}\log\bigl(1 + \tfrac{r^2}{\nu\sigma^2}\bigr).

:class:`Cauchy` is Student-:math:`t` with :math:`\nu = 1`; :class:`Logistic` has the smooth convex
loss :math:`4\sigma^2\log\cosh\frac{r}{2\sigma}`.

Every model has the same five methods:

- ``logpdf(r)`` and ``nll(r) = -logpdf(r)``: the normalised density of one residual;
- ``loss(r)``: the training loss :math:`\ell(r)`, the NLL with constants dropped and, for the
  Gaussian, Laplace, Huber and logistic models, multiplied by :math:`\sigma^2`, :math:`\sigma`,
  :math:`\sigma^2`, :math:`2\sigma^2` so that it reads :math:`r^2/2`, :math:`|r|`, the Huber
  function of PyTorch with threshold :math:`\delta\sigma`, and :math:`\approx r^2/2` near 0;
- ``dloss(r)``: :math:`\ell'(r)`, with the subgradient :math:`\operatorname{sign}(0) = 0` at
  the Laplace kink;
- ``fit_scale(r)``: the maximum-likelihood scale :math:`\hat\sigma` for given residuals (the
  shape parameter, :math:`\delta` or :math:`\nu`, held fixed).

The element-wise methods take any array-API array (NumPy, PyTorch, JAX, ...) and return one of
the same kind and floating dtype; ``fit_scale`` reads its input as a NumPy array and returns a
Python float. Hyper-parameters are validated when a model is built.
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass, field, fields

import numpy as np

from ._array import check_real_scalar, float_input

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


def _residuals_np(cls: str, r) -> np.ndarray:
    """Residuals for a scale fit: a non-empty, finite float64 NumPy vector."""
    _, r = float_input(f"{cls}.fit_scale", r, "r")
    a = np.asarray(r, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{cls}.fit_scale: argument 'r' must hold at least one residual; got an empty array")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{cls}.fit_scale: argument 'r' must be finite; got NaN or inf")
    return a


def _solve_scale(hd, absr: np.ndarray, start: float | None = None, sup_h: float = math.inf) -> float:
    r"""The root :math:`\sigma` of :math:`\frac1n\sum_i h(|r_i|/\sigma) = 1`.

    ``hd(t)`` returns :math:`(h(t), t\,h'(t))` for :math:`h` non-decreasing on :math:`[0, \infty)`
    with :math:`h(0) = 0`, so the left side falls monotonically in :math:`\sigma`. Newton's method
    in :math:`u = \log\sigma` runs from ``start`` (default: the RMS of the residuals), keeping the
    bracket that the signs seen so far give and bisecting it whenever a step would leave it.
    ``sup_h`` is :math:`\lim_{t\to\infty} h(t)`: as :math:`\sigma \to 0` the left side tends to
    ``sup_h`` times the fraction of non-zero residuals, so there is no root, and 0 is returned
    (the likelihood is unbounded there), exactly when that limit is :math:`\le 1`.
    """
    top = float(np.max(absr, initial=0.0))
    if top == 0.0:
        return 0.0
    # The root is scale-equivariant: solve for residuals divided by their maximum, so that no
    # square over- or underflows, and scale back.
    absr = absr / top
    start = start / top if start else None
    nz = absr[absr > 0]
    n = absr.size
    if sup_h * nz.size <= n:
        return 0.0

    def phi(u):
        # Far from the root t = |r|/sigma can pass 1e154, so squares overflow; each hd is written
        # so that inf there gives the right limit, and the warnings are not the caller's concern.
        with np.errstate(over="ignore", divide="ignore", under="ignore", invalid="ignore"):
            h, th = hd(nz * (math.exp(-u) if u > -700.0 else math.inf))
        return float(np.sum(h)) / n - 1.0, -float(np.sum(th)) / n

    u = math.log(start) if start else 0.5 * math.log(float(np.mean(absr * absr)))
    lo, hi = -math.inf, math.inf
    # Steps of at most 4 in log(sigma) before a bracket exists: 400 iterations reach any root in
    # the float64 range (a Huber delta of 1e-300 puts it near log(1e-300) = -690).
    for _ in range(400):
        f, df = phi(u)
        if abs(f) <= 1e-14:  # the mean of h is 1 to rounding: sigma is as good as it gets
            break
        if f > 0:
            lo = u
        else:
            hi = u
        new = u - f / df if df < 0 else u + (1.0 if f > 0 else -1.0)
        new = min(max(new, u - 4.0), u + 4.0)  # no wild jumps before a bracket exists
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(lo + hi) else (u + 1.0 if f > 0 else u - 1.0)
        done = abs(new - u) <= 1e-13 * max(1.0, abs(u)) or hi - lo <= 1e-14 * max(1.0, abs(u))
        u = new
        if done:
            break
    return top * math.exp(u)


def _elementwise(method):
    """Wrap ``method(self, xp, r)`` as ``method(self, r)`` with dlmath's input rules.

    The residuals are validated by :func:`float_input`; float16 is computed in float32 and cast
    back; overflow to ``inf`` (a squared residual of 1e200, say) is the correct limit and raises no
    ``RuntimeWarning``.
    """
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, r):
        xp, x = float_input(f"{type(self).__name__}.{name}", r, "r")
        f16 = getattr(xp, "float16", None)  # array-api-strict has no float16
        half = f16 is not None and x.dtype == f16
        if half:
            x = xp.astype(x, xp.float32)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            out = method(self, xp, x)
            if half:
                out = xp.astype(out, f16)
        return out

    sig = inspect.signature(method)
    wrapper.__signature__ = sig.replace(parameters=[q for q in sig.parameters.values() if q.name != "xp"])
    return wrapper


class NoiseModel:
    """Shared behaviour of the noise models: ``nll`` from ``logpdf``, and ``replace_scale``."""

    name = "noise"

    def __post_init__(self):
        # Every constructor argument (scale, delta, df) is a finite positive real; the message
        # names the class the caller built (Cauchy, not its base StudentT).
        for f in fields(self):
            if f.init:
                value = check_real_scalar(type(self).__name__, f.name, getattr(self, f.name))
                object.__setattr__(self, f.name, value)

    def nll(self, r):
        """Negative log-density of each residual, :math:`-\\log p(r)`."""
        return -self.logpdf(r)

    def replace_scale(self, scale: float) -> NoiseModel:
        """The same model with another scale (used by the fitters)."""
        params = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        params["scale"] = scale
        return type(self)(**params)


@dataclass(frozen=True)
class Gaussian(NoiseModel):
    r"""Gaussian noise :math:`r \sim \mathcal N(0, \sigma^2)`; its training loss is :math:`r^2/2`.

    .. math:: -\log p(r) = \frac{r^2}{2\sigma^2} + \log\sigma + \tfrac12\log 2\pi,
              \qquad \ell(r) = \tfrac12 r^2,\quad \ell'(r) = r,\quad
              \hat\sigma = \Bigl(\frac1n\sum_i r_i^2\Bigr)^{1/2}.

    The :math:`\tfrac12` makes :math:`\ell' = r`; PyTorch's ``MSELoss`` is :math:`r^2`, twice this.

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

    @_elementwise
    def logpdf(self, xp, r):
        s = self.scale
        return -0.5 * (r / s) ** 2 - (math.log(s) + 0.5 * _LOG_2PI)

    @_elementwise
    def loss(self, xp, r):
        return 0.5 * r * r

    @_elementwise
    def dloss(self, xp, r):
        return r * 1.0

    def fit_scale(self, r) -> float:
        a = np.abs(_residuals_np(type(self).__name__, r))
        top = float(a.max())
        if top == 0.0:
            return 0.0
        b = a / top  # no overflow or underflow in the squares
        return top * float(np.sqrt(np.mean(b * b)))


@dataclass(frozen=True)
class Laplace(NoiseModel):
    r"""Laplace noise with density :math:`\frac{1}{2b}e^{-|r|/b}`; its training loss is :math:`|r|`.

    .. math:: -\log p(r) = \frac{|r|}{b} + \log 2b,
              \qquad \ell(r) = |r|,\quad \ell'(r) = \operatorname{sign}(r)\ (\operatorname{sign}0 = 0),
              \quad \hat b = \frac1n\sum_i |r_i|.

    The subgradient's size does not shrink as :math:`r \to 0`: the source of the jitter of
    constant-step SGD under L1 (see :func:`dlmath.sgd.sgd_linear`).

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

    @_elementwise
    def logpdf(self, xp, r):
        b = self.scale
        return -xp.abs(r) / b - math.log(2.0 * b)

    @_elementwise
    def loss(self, xp, r):
        return xp.abs(r)

    @_elementwise
    def dloss(self, xp, r):
        return xp.sign(r)

    def fit_scale(self, r) -> float:
        a = np.abs(_residuals_np(type(self).__name__, r))
        top = float(a.max())
        return top * float(np.mean(a / top)) if top > 0 else 0.0


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

    The training loss is :math:`\ell(r) = \sigma^2\rho_\delta(r/\sigma) = \rho_{\delta\sigma}(r)`:
    :math:`\tfrac12 r^2` for :math:`|r| \le \delta\sigma` and
    :math:`\delta\sigma(|r| - \tfrac12\delta\sigma)` beyond, with
    :math:`\ell'(r) = \operatorname{clip}(r, -\delta\sigma, \delta\sigma)`. It equals PyTorch's
    ``HuberLoss(delta=δσ)`` element-wise, and ``SmoothL1Loss(beta=δσ)`` is :math:`\ell/(\delta\sigma)`
    (the same shape, divided by the threshold so its tails have slope 1).

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
    def _rho(xp, t, d):
        a = xp.abs(t)
        # Each branch is evaluated on clipped input so that neither overflows where it is not taken.
        inner = xp.where(a <= d, a, xp.zeros_like(a))
        return xp.where(a <= d, 0.5 * inner * inner, d * (a - 0.5 * d))

    @_elementwise
    def logpdf(self, xp, r):
        s = self.scale
        return -self._rho(xp, r / s, self.delta) - (math.log(s) + self._log_normalizer())

    @_elementwise
    def loss(self, xp, r):
        k = self.delta * self.scale
        if k == 0.0:  # delta * sigma underflowed: the loss is all tail, delta * (sigma |r|)
            return self.delta * (self.scale * xp.abs(r))
        return self._rho(xp, r, k)

    @_elementwise
    def dloss(self, xp, r):
        k = self.delta * self.scale
        return xp.where(r > k, xp.full_like(r, k), xp.where(r < -k, xp.full_like(r, -k), r))

    def fit_scale(self, r) -> float:
        return self._scale_mle(np.abs(_residuals_np(type(self).__name__, r)))

    def _scale_mle(self, a, start=None) -> float:
        """``fit_scale`` for validated absolute residuals, Newton started at ``start``."""
        d = self.delta
        return _solve_scale(
            lambda t: (np.where(t <= d, t * t, d * t), np.where(t <= d, 2 * t * t, d * t)), a, start
        )


@dataclass(frozen=True)
class StudentT(NoiseModel):
    r"""Student-:math:`t` noise with :math:`\nu` degrees of freedom and scale :math:`\sigma`.

    .. math:: -\log p(r) = \frac{\nu+1}{2}\log\Bigl(1 + \frac{r^2}{\nu\sigma^2}\Bigr)
              + \log\sigma + \tfrac12\log(\nu\pi)
              + \log\Gamma\bigl(\tfrac{\nu}{2}\bigr) - \log\Gamma\bigl(\tfrac{\nu+1}{2}\bigr),

    so :math:`\ell(r) = \frac{\nu+1}{2}\log\bigl(1 + \frac{r^2}{\nu\sigma^2}\bigr)` and
    :math:`\ell'(r) = \frac{(\nu+1)\,r}{\nu\sigma^2 + r^2}`, which rises like :math:`r` near 0 and
    falls back to 0 for large :math:`|r|` (outliers are ignored; the loss is not convex).
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

    def _log_norm(self) -> float:
        v = self.df
        return (
            math.lgamma(0.5 * (v + 1.0))
            - math.lgamma(0.5 * v)
            - 0.5 * math.log(v * math.pi)
            - math.log(self.scale)
        )

    def _log1p_t2(self, xp, r):
        r"""Element-wise :math:`\log(1 + r^2/c^2)`, :math:`c = \sigma\sqrt\nu`, for every finite ``r``.

        :math:`r^2/c^2` overflows long before the logarithm does (:math:`|r/c| > 10^{154}` in
        float64, :math:`10^{19}` in float32); beyond :math:`|r| > c` the equal form
        :math:`2(\log|r| - \log c) + \log(1 + c^2/r^2)` is used, each branch on input safe for it.
        """
        c = self.scale * math.sqrt(self.df)
        log_c = math.log(self.scale) + 0.5 * math.log(self.df)
        a = xp.abs(r)
        big = (a > c) | (a == math.inf)  # also where c itself overflowed (sigma = 1e300, say)
        ones = xp.ones_like(a)
        ab = xp.where(big, a, ones)
        u = xp.where(big, xp.zeros_like(a), a) / c if c > 0 else xp.zeros_like(a)  # c underflowed: r = 0
        inv = c / ab if c < math.inf else xp.zeros_like(a)  # c = inf: only r = inf is big
        return xp.where(big, 2.0 * (xp.log(ab) - log_c) + xp.log1p(inv * inv), xp.log1p(u * u))

    @_elementwise
    def logpdf(self, xp, r):
        return self._log_norm() - 0.5 * (self.df + 1.0) * self._log1p_t2(xp, r)

    @_elementwise
    def loss(self, xp, r):
        return 0.5 * (self.df + 1.0) * self._log1p_t2(xp, r)

    @_elementwise
    def dloss(self, xp, r):
        v, s = self.df, self.scale
        # (v+1) t / (v + t^2) overflows to inf/inf for huge |t|; there the equal form
        # (v+1) / (v/t + t) is used, each branch on input that is safe for it.
        t = r / s
        big = xp.abs(t) >= 1.0
        ones = xp.ones_like(t)
        tb = xp.where(big, t, ones)
        ts = xp.where(big, xp.zeros_like(t), t)
        # Divide by s last: s * (v + t^2) can underflow to 0 (s = 1e-109, v = 1e-283), giving 0/0 at r = 0.
        return xp.where(big, (v + 1.0) / (v / tb + tb) / s, (v + 1.0) * ts / (v + ts * ts) / s)

    def fit_scale(self, r) -> float:
        a = np.abs(_residuals_np(type(self).__name__, r))
        v = self.df

        def hd(t):
            t2 = t * t
            h = (v + 1.0) / (1.0 + v / t2)  # no inf/inf when t2 overflows
            return h, 2.0 * v * h / (v + t2)

        return _solve_scale(hd, a, sup_h=v + 1.0)


@dataclass(frozen=True)
class Cauchy(StudentT):
    r"""Cauchy noise: :class:`StudentT` with :math:`\nu = 1`, density :math:`\frac{1}{\pi\sigma(1 + r^2/\sigma^2)}`.

    .. math:: \ell(r) = \log\Bigl(1 + \frac{r^2}{\sigma^2}\Bigr),\qquad
              \ell'(r) = \frac{2r}{\sigma^2 + r^2}.

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
              \ell(r) = 4\sigma^2\log\cosh\frac{r}{2\sigma},\qquad
              \ell'(r) = 2\sigma\tanh\frac{r}{2\sigma},

    so :math:`\ell(r) \approx \tfrac12 r^2` near 0 and :math:`\ell'(r) \to \pm 2\sigma` in the tails
    (the loss is :math:`2\sigma^2` times the NLL less its minimum). ``fit_scale`` solves
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

    @staticmethod
    def _log_cosh(xp, u):
        # Large |u|: |u| + log1p(exp(-2|u|)) - log 2 cannot overflow. Small |u|: that form cancels
        # (both terms near log 2), so use log1p(sinh(u)^2)/2 there, on input clipped to |u| <= 1.
        a = xp.abs(u)
        small = a < 1.0
        sh = xp.sinh(xp.where(small, a, xp.zeros_like(a)))
        return xp.where(small, 0.5 * xp.log1p(sh * sh), a + xp.log1p(xp.exp(-2.0 * a)) - math.log(2.0))

    @_elementwise
    def logpdf(self, xp, r):
        s = self.scale
        return -2.0 * self._log_cosh(xp, r / (2.0 * s)) - math.log(4.0 * s)

    @staticmethod
    def _loss(xp, r, s):
        r"""The loss :math:`4\sigma^2\log\cosh\frac{r}{2\sigma}` without ``inf * 0`` at extreme scales.

        The factor :math:`4\sigma^2` over- or underflows on its own (:math:`\sigma = 10^{\pm 200}`)
        while the loss is moderate, so it is folded into each branch: near 0,
        :math:`2(\sigma\sinh u)^2\,\frac{\log(1 + \sinh^2 u)}{\sinh^2 u}` with :math:`u = r/2\sigma`;
        in the tails, :math:`2\sigma\bigl(|r| - 2\sigma(\log 2 - \log(1 + e^{-2|u|}))\bigr)`.
        """
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

    @_elementwise
    def loss(self, xp, r):
        return self._loss(xp, r, self.scale)

    @_elementwise
    def dloss(self, xp, r):
        s = self.scale
        return 2.0 * s * xp.tanh(r / (2.0 * s))

    def fit_scale(self, r) -> float:
        return self._scale_mle(np.abs(_residuals_np(type(self).__name__, r)))

    def _scale_mle(self, a, start=None) -> float:
        def hd(t):
            th = np.tanh(0.5 * t)
            tsech = t / np.cosh(0.5 * t)  # t sech(t/2) -> 0, where t^2 (1 - tanh^2) gives inf * 0
            return t * th, t * th + 0.5 * tsech * tsech

        return _solve_scale(hd, a, start)


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
