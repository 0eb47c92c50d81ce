r"""What every noise model of :mod:`dlmath.noise` is: the public methods built from its formulas.

A model states its math once, as private kernels ``(xp, r)``; :class:`NoiseModel` turns them into
the public element-wise methods (input validation, the dtype rules, no ``RuntimeWarning`` for
overflow to the correct limit) and into ``fit_scale`` (validation, then the closed form or the
likelihood equation of :mod:`dlmath._scale`). The solvers of :mod:`dlmath.fit` call the kernels
directly, on data they have already validated.
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import fields

import numpy as np

from ._array import check_real_scalar, float_input
from ._scale import solve_scale

__all__ = ["NoiseModel", "full"]


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


def full(xp, r, value):
    """``value`` where ``r`` is a number, NaN where it is NaN."""
    return xp.where(r == r, xp.full_like(r, value), r)


class NoiseModel:
    r"""Shared behaviour of the noise models: the public element-wise methods and ``fit_scale``.

    A model supplies its formulas as ``_logpdf``, ``_loss``, ``_dloss``, ``_weight`` and
    ``_curvature``, each ``(xp, r)`` for a float array ``r`` of namespace ``xp``, correct for every
    float (``inf`` gives the limit, NaN gives NaN) and evaluated under the caller's
    ``np.errstate``; the public methods add validation and the dtype rules. ``_loss_finite`` is
    the loss for finite ``r`` with :math:`(r/\sigma)^2` finite (the fitters' rescaled residuals),
    where a model may skip the guards its ``_loss`` needs for the rest of the float range. The
    scale MLE comes from ``_scale_equation`` and ``_scale_sup`` (see :mod:`dlmath._scale`) unless
    the model has a closed form.

    Attributes:
        name: the model's name in :data:`dlmath.noise.MODELS` (for messages; nothing dispatches on it).
        convex: whether :math:`\rho` is convex.
        smooth: whether :math:`\rho` is differentiable everywhere.
        homogeneity: :math:`d` with :math:`\rho(cr) = |c|^d\rho(r)` for all real :math:`c`, or ``None``.
        kinks: the residuals where :math:`\psi` is not differentiable (``()`` if none).
        dloss_bound: :math:`\sup_r|\psi(r)|`, ``inf`` when unbounded.
    """

    name = "noise"
    convex: bool
    smooth: bool
    dloss_bound: float
    homogeneity: int | None = None
    kinks: tuple[float, ...] = ()
    _scale_sup = math.inf

    def __post_init__(self):
        # Every constructor argument (scale, delta, df) is a finite positive real; the message
        # names the class the caller built (Cauchy, not its base StudentT).
        for f in fields(self):
            if f.init:
                value = check_real_scalar(type(self).__name__, f.name, getattr(self, f.name))
                object.__setattr__(self, f.name, value)

    @_elementwise
    def logpdf(self, xp, r):
        """Log-density of each residual, :math:`\\log p(r)`."""
        return self._logpdf(xp, r)

    def nll(self, r):
        """Negative log-density of each residual, :math:`-\\log p(r)`."""
        return -self.logpdf(r)

    @_elementwise
    def loss(self, xp, r):
        """The training loss :math:`\\rho(r)` of each residual (the NLL up to an affine map)."""
        return self._loss(xp, r)

    @_elementwise
    def dloss(self, xp, r):
        """:math:`\\psi(r) = \\rho'(r)`; at a kink of :math:`\\rho` the least-norm subgradient (Laplace: 0 at 0)."""
        return self._dloss(xp, r)

    @_elementwise
    def weight(self, xp, r):
        """The IRLS weight :math:`\\psi(r)/r`, and at :math:`r = 0` its limit :math:`\\psi'(0)` (Laplace: ``inf``)."""
        return self._weight(xp, r)

    @_elementwise
    def curvature(self, xp, r):
        """:math:`\\psi'(r) = \\rho''(r)`; at the residuals in ``kinks`` the one-sided value the model states."""
        return self._curvature(xp, r)

    def _loss_finite(self, xp, r):
        return self._loss(xp, r)

    def fit_scale(self, r) -> float:
        """The maximum-likelihood scale for residuals ``r`` (finite, at least one), shape held fixed."""
        cls = type(self).__name__
        _, r = float_input(f"{cls}.fit_scale", r, "r")
        a = np.asarray(r, dtype=np.float64).ravel()
        if a.size == 0:
            raise ValueError(
                f"{cls}.fit_scale: argument 'r' must hold at least one residual; got an empty array"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{cls}.fit_scale: argument 'r' must be finite; got NaN or inf")
        return self._scale_mle(np.abs(a))

    def _scale_mle(self, absr: np.ndarray, start: float | None = None) -> float:
        """``fit_scale`` for finite absolute residuals (float64), the root search started at ``start``."""
        return solve_scale(self._scale_equation, absr, start, self._scale_sup)

    def replace_scale(self, scale: float) -> NoiseModel:
        """The same model with another scale (used by the fitters)."""
        params = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        params["scale"] = scale
        return type(self)(**params)
