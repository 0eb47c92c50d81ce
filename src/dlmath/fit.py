r"""Maximum-likelihood linear fits under each noise model of :mod:`dlmath.noise`.

For :math:`y_i = w^\top x_i + b + \varepsilon_i` with i.i.d. noise of density :math:`p`, the MLE of
:math:`(w, b)` minimises :math:`\sum_i \rho(y_i - w^\top x_i - b)` with the model's training loss
:math:`\rho`. The solver follows from what the model says about :math:`\rho`, never from its name:

- ``homogeneity == 2`` (:math:`\rho = \rho(1)\,r^2`, Gaussian): least squares, solved by an
  orthogonal factorisation (SVD) of the centred, column-scaled design, so conditioning costs
  digits once, not twice as in the normal equations :math:`X^\top X w = X^\top y` (available as
  ``method="normal"`` for teaching; it warns with :class:`ConditioningWarning`).
- ``homogeneity == 1`` (:math:`\rho = \rho(1)\,|r|`, Laplace): least absolute deviations, an LP
  solved *exactly* (interior point, sample reduction and a certified optimal vertex; see
  ``dlmath._lad``).
- ``convex`` and ``smooth`` (Huber, logistic): Newton's method with a line search, semismooth
  where :math:`\psi` has ``kinks`` (Huber), ending at the exact minimiser once the set of
  inliers stops changing.
- ``smooth`` but not ``convex`` (Student-t, Cauchy): from the LAD fit, Newton steps where the
  Hessian is positive definite and majorise-minimise (IRLS) steps elsewhere, none of which
  increases the loss, to a local minimiser. (The iterative solvers live in ``dlmath._mest``.)

A model with no homogeneity that is neither smooth nor convex has no solver here
(``TypeError``). For homogeneous losses the coefficients do not depend on :math:`\sigma`, and a
fitted scale is the closed-form MLE at them; otherwise it is fitted jointly with them.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _design, _mest
from . import noise as _noise
from ._array import check_real_scalar, float_input
from ._lstsq import ConditioningWarning, lstsq, normal_equations

__all__ = ["fit_linear", "LinearFit", "ConditioningWarning"]


@contextlib.contextmanager
def _one_blas_thread():
    """Run the iterative solvers with single-threaded BLAS where threadpoolctl is installed.

    They make many small BLAS calls (k x k Gram blocks, matrix-vector products). Multi-threaded
    OpenBLAS spends more time synchronising than computing on these, and on a busy machine its
    spinning threads made the LAD fit 5-6x slower than one thread (bench/bench_fit.py).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with warnings.catch_warnings():
        # threadpoolctl warns (RuntimeWarning) about coexisting OpenMP runtimes, which is no
        # concern of a BLAS-only limit; dlmath lets no RuntimeWarning escape.
        warnings.simplefilter("ignore", RuntimeWarning)
        limits = threadpool_limits(1, user_api="blas")
    with limits:
        yield


@dataclass(frozen=True)
class LinearFit:
    r"""Result of :func:`fit_linear`.

    Attributes:
        coef: the weights :math:`w`, shape ``[n_features]``.
        intercept: :math:`b` (0.0 when ``fit_intercept=False``).
        scale: the noise scale :math:`\sigma` the fit used: for a model instance passed as
            ``noise``, its own scale, reported back as given; for a fixed ``scale=``, that value;
            for a noise name (or ``scale="mle"``), the MLE :math:`\hat\sigma` at the fitted
            coefficients, fitted jointly with them where they depend on it.
        objective: :math:`\sum_i \rho(r_i)`, the training loss of the noise model (at ``scale``)
            summed over the residuals :math:`r_i = y_i - w^\top x_i - b`.
        n_iter: iterations of the solver (0 for a direct solve).
        converged: whether the solver's optimality test passed: exact solves and certified LAD
            vertices report ``True``; the iterative solvers a gradient below tolerance.
        method: the algorithm used: ``"svd"`` or ``"normal"`` (least squares),
            ``"interior-point+vertex"`` or ``"preprocessed-interior-point+vertex"`` (least absolute
            deviations; the second with Portnoy-Koenker sample reduction), ``"semismooth-newton"``
            (Huber), ``"newton"`` (logistic), ``"newton-mm"`` (Student-t, Cauchy), ``"none"`` (no
            parameters).
        noise: the noise model at ``scale``; as passed in (or built from the name) when a fitted
            scale is 0 (an exact fit, where no model of scale 0 exists).
    """

    coef: np.ndarray
    intercept: float
    scale: float
    objective: float
    n_iter: int
    converged: bool
    method: str
    noise: _noise.NoiseModel

    def predict(self, X) -> np.ndarray:
        """:math:`Xw + b` for new rows ``X`` of shape ``[n, n_features]``, as a float64 NumPy array."""
        _, X = float_input("LinearFit.predict", X, "X")
        X = np.asarray(X, dtype=np.float64)
        p = self.coef.shape[0]
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(
                f"LinearFit.predict: 'X' must be a 2-D array of shape (n_samples, {p}); got shape {X.shape}"
            )
        return X @ self.coef + self.intercept


def _lad(X, y, intercept, model, fixed):
    from ._lad import lad

    res = lad(X, y, intercept)
    return res.coef, 0.0, res.n_iter, res.certified, res.method


def _convex(X, y, intercept, model, fixed):
    beta, scale, n_iter, ok = _mest.fit_convex(X, y, intercept, model, fixed)
    return beta, scale, n_iter, ok, "semismooth-newton" if model.kinks else "newton"


def _local(X, y, intercept, model, fixed):
    beta, scale, n_iter, ok = _mest.fit_local(X, y, intercept, model, fixed)
    return beta, scale, n_iter, ok, "newton-mm"


def _solver(fn, model):
    """The iterative solver that the model's facts call for (least squares is handled before)."""
    if model.homogeneity == 1:  # an even rho with rho(cr) = |c| rho(r) is rho(1) |r|
        return _lad
    if model.convex and model.smooth:
        return _convex
    if model.smooth:
        return _local
    raise TypeError(
        f"{fn}: no solver for noise model {model!r}: expected a smooth loss, or one homogeneous of "
        f"degree 1 or 2; got convex={model.convex}, smooth={model.smooth}, homogeneity={model.homogeneity}"
    )


def _solve(X, y, fit_intercept, model, method, fixed, ss=None):
    """The coefficients on prepared data: ``(w, b, fitted scale, n_iter, converged, method)``."""
    n, p = X.shape
    if p + int(fit_intercept) == 0:
        fitted = 0.0 if model.homogeneity is not None or fixed is not None else model._scale_mle(np.abs(y))
        return np.zeros(0), 0.0, fitted, 0, True, "none"
    if model.homogeneity == 2:  # an even rho with rho(cr) = c^2 rho(r) is rho(1) r^2
        method = method or "svd"
        w, b = lstsq(X, y, fit_intercept, ss) if method == "svd" else normal_equations(X, y, fit_intercept)
        return w, b, 0.0, 0, True, method
    shift = _design.offsets(X, ss) if fit_intercept else None
    if shift is not None:
        X = X - shift
    cols = _design.independent_columns(X, fit_intercept)
    if cols is not None and cols.size == 0 and not fit_intercept:  # every column is zero
        w, b, fitted, n_iter, converged, method = _solve(X[:, :0], y, False, model, method, fixed)
        return np.zeros(p), b, fitted, n_iter, converged, method
    Xs = X if cols is None else np.ascontiguousarray(X[:, cols])
    ps = Xs.shape[1]
    with _one_blas_thread():
        beta, fitted, n_iter, converged, method = _solver("fit_linear", model)(
            Xs, y, fit_intercept, model, fixed
        )
    ws, b = beta[:ps].copy(), (float(beta[ps]) if fit_intercept else 0.0)
    if cols is None:
        w = ws
    else:
        w = np.zeros(p)
        w[cols] = ws
    if shift is not None:
        b -= float(shift @ w)
    return w, b, fitted, n_iter, converged, method


def _fixed_scale(fn, noise, model, scale):
    """The scale the fit holds fixed, or ``None`` to fit it (see :func:`fit_linear`'s ``scale``)."""
    if isinstance(scale, str):
        if scale == "mle":
            return None
        raise ValueError(f"{fn}: 'scale' must be None, 'mle' or a finite real > 0; got {scale!r}")
    if scale is not None:
        return check_real_scalar(fn, "scale", scale)
    return None if isinstance(noise, str) else model.scale


def fit_linear(X, y, *, noise="gaussian", fit_intercept=True, method=None, scale=None) -> LinearFit:
    r"""Maximum-likelihood linear regression under a chosen noise model.

    .. math:: (\hat w, \hat b) = \arg\min_{w,b}\; \sum_{i=1}^n \rho_\sigma\bigl(y_i - w^\top x_i - b\bigr),
              \qquad \hat\sigma = \arg\max_\sigma \sum_i \log p_\sigma(y_i - \hat w^\top x_i - \hat b),

    with :math:`\rho_\sigma` the training loss of ``noise`` at scale :math:`\sigma`. A *name*
    fits :math:`\sigma` too: jointly with the coefficients where the loss depends on it, after
    them where it does not (Gaussian, Laplace). A model *instance* is used as given, its scale
    included: ``noise=Huber(delta=1.0)`` minimises :math:`\sum_i \rho_1(r_i)` at
    :math:`\sigma = 1`, as ``torch.nn.HuberLoss(delta=1.0)`` would, and ``StudentT(3.0, 0.5)``
    minimises :math:`\sum_i 2\log(1 + r_i^2/0.75)`. For Gaussian noise the first-order
    condition is the normal equation :math:`X^\top(Xw - y) = 0`; for Laplace noise it is
    :math:`0 \in \sum_i x_i\,\partial|r_i|`, a median condition.

    Args:
        X: design matrix of shape ``[n_samples, n_features]``; finite real numbers. NumPy, or any
            array (PyTorch and JAX on the CPU, lists) that converts to NumPy; the fit runs in
            float64 and returns NumPy arrays.
        y: targets of shape ``[n_samples]``; finite real numbers.
        noise: ``"gaussian"``, ``"laplace"``, ``"huber"`` (:math:`\delta = 1.345`),
            ``"student-t"`` (:math:`\nu = 4`), ``"cauchy"`` or ``"logistic"``, whose scale is
            fitted; or a :mod:`dlmath.noise` model, whose shape parameter (``delta``, ``df``) and
            scale are used as they are.
        fit_intercept: fit :math:`b` (default) or force :math:`b = 0`.
        method: least squares (Gaussian) only: ``"svd"`` (default) or ``"normal"`` (normal
            equations by Cholesky; warns with :class:`ConditioningWarning` when
            :math:`\kappa(X^\top X) \ge 10^8` after scaling its columns to unit size, which the
            solve does first).
        scale: ``None`` (default): the instance's own scale, or the MLE for a name. A finite
            real > 0: :math:`\sigma` held fixed at that value, for a name or an instance (it
            overrides the instance's scale). ``"mle"``: the MLE also for an instance, keeping its
            shape parameter (``fit_linear(X, y, noise=StudentT(3.0), scale="mle")``). The scale
            changes the Huber, logistic and Student-t fits, not the Gaussian and Laplace
            coefficients.

    Returns:
        A :class:`LinearFit`; its ``scale`` is the :math:`\sigma` used (given or fitted) and
        ``noise`` the model at that scale.

    Raises:
        ValueError: ``X`` not 2-D; ``y`` not of shape ``[n_samples]``; NaN or inf in either; an
            unknown ``noise`` name (the message lists the known ones), ``method`` or ``scale``
            string; a ``scale`` that is not finite and > 0; fewer samples than parameters.
        TypeError: complex or non-numeric input; ``noise`` neither a name nor a model; a model
            whose loss no solver here handles (neither smooth nor homogeneous of degree 1 or 2).

    Notes:
        Laplace fits are exact: the returned vertex passes a subgradient optimality test
        (``converged=True``), so ``objective`` is the LP optimum to rounding. At
        :math:`n = 10^5, p = 20` this takes about 0.1 s (``bench/bench_fit.py``).

        The joint Huber scale is the MLE of the Huber *density*, whose tails are exponential, so
        gross outliers raise it (they enter :math:`\sum_i\psi(t_i)t_i` linearly); the
        coefficients stay robust. Pass ``scale=`` for a fixed robust scale (e.g. 1.4826 times the
        median absolute LAD residual); scikit-learn's ``HuberRegressor`` instead solves a
        concomitant-scale equation whose outlier terms are bounded.

        Rank-deficient designs: the Gaussian fit returns the coefficients :math:`w` of minimum
        Euclidean norm in the units of ``X`` (the intercept is not part of the norm: this is
        ``np.linalg.lstsq`` on the centred data, as in scikit-learn's ``LinearRegression``); the
        other models give coefficient 0 to every column that depends linearly on earlier ones. Data
        with entries beyond :math:`10^{\pm 100}` are rescaled by exact powers of two before
        fitting; a column whose coefficient would still exceed the float64 range gets 0.

    Examples:
        >>> import numpy as np
        >>> from dlmath import fit
        >>> from dlmath.noise import Huber
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> f = fit.fit_linear(X, [1.0, 3.0, 5.0, 7.0])
        >>> round(float(f.coef[0]), 12), round(f.intercept, 12)
        (2.0, 1.0)
        >>> g = fit.fit_linear(X, [1.0, 3.0, 5.0, 70.0], noise="laplace")  # the outlier is ignored
        >>> round(float(g.coef[0]), 12), round(g.intercept, 12), g.converged
        (2.0, 1.0, True)
        >>> fit.fit_linear(X, [1.0, 3.0, 5.0, 70.0], noise=Huber(delta=1.0)).scale  # as given
        1.0
    """
    fn = "fit_linear"
    model = _noise.get_model(fn, noise)
    X, y, ss = _design.validate(X, y)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"{fn}: 'fit_intercept' must be True or False; got {fit_intercept!r}")
    fixed = _fixed_scale(fn, noise, model, scale)
    n, p = X.shape
    k = p + int(fit_intercept)
    if n < k:
        raise ValueError(
            f"{fn}: {model.name} noise needs at least as many samples as parameters; got n_samples={n} "
            f"for {k} parameters ({p} features{' + intercept' if fit_intercept else ''})"
        )
    methods = ("svd", "normal") if model.homogeneity == 2 else ()
    if method is not None and method not in methods:
        allowed = ", ".join(repr(m) for m in methods) or "none (leave method=None)"
        raise ValueError(f"{fn}: unknown method {method!r} for {model.name} noise; expected {allowed}")
    if model.homogeneity != 2:
        _solver(fn, model)

    Xw, yw, cx, cy = _design.rescale(X, y, ss)
    # In the rescaled units a fixed scale can pass the float range (1e10 beside y ~ 1e-300). Beyond
    # 1e250 times the data every fitter gives what it gives as sigma -> inf (least squares), and
    # below 1e-250 what it gives as sigma -> 0, to the last bit; so the scale is clamped there.
    fixed_w = None if fixed is None else min(max(fixed / cy, 1e-250), 1e250)
    col_ss = ss[:-1] if cx is None else None  # sums of squares of the columns actually fitted
    w, b, fitted_scale, n_iter, converged, method = _solve(
        Xw, yw, fit_intercept, model, method, fixed_w, col_ss
    )
    if cx is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.where(w == 0, 0.0, (w * cy) / cx)
        huge = ~np.isfinite(w)
        if huge.any():
            # Columns so small beside y that their coefficients exceed float64 (1e-320 against 1)
            # are treated as numerically zero, like a constant column beside the intercept.
            keep = np.flatnonzero(~huge)
            ws, b, fitted_scale, n_iter, converged, method = _solve(
                np.ascontiguousarray(Xw[:, keep]), yw, fit_intercept, model, method, fixed_w
            )
            w = np.zeros(p)
            w[keep] = ws * cy / cx[keep]
        b, fitted_scale = b * cy, fitted_scale * cy
    with np.errstate(over="ignore", invalid="ignore"):  # inf is the honest value of an overflow
        r = y - _mest.pred(X, w, b)
    if fixed is not None:
        sigma = fixed
    elif model.homogeneity is None:
        sigma = fitted_scale
    elif cx is None or np.all(np.isfinite(r)):
        sigma = model._scale_mle(np.abs(r))
    else:
        # Residuals beyond the float64 range (data near 1.7e308): their scale is measured on the
        # rescaled data, where they are finite, and scaled back.
        with np.errstate(over="ignore", invalid="ignore"):
            rw = yw - _mest.pred(Xw, w * cx / cy, b / cy)
            sigma = model._scale_mle(np.abs(rw)) * cy
    fitted = model.replace_scale(sigma) if 0 < sigma < math.inf else model
    with np.errstate(over="ignore"):  # losses near the largest double can sum past it: inf
        objective = float(np.sum(fitted.loss(r)))
    return LinearFit(w, b, float(sigma), objective, int(n_iter), bool(converged), method, fitted)
