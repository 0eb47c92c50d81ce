r"""Maximum-likelihood linear fits under each noise model of :mod:`dlmath.noise`.

For :math:`y_i = w^\top x_i + b + \varepsilon_i` with i.i.d. noise of density :math:`p`, the MLE of
:math:`(w, b)` minimises :math:`\sum_i \ell(y_i - w^\top x_i - b)` with the model's training loss
:math:`\ell`:

- Gaussian, :math:`\ell = r^2/2`: least squares, solved by an orthogonal factorisation (SVD) of the
  centred, column-scaled design, so conditioning costs digits once, not twice as in the normal
  equations :math:`X^\top X w = X^\top y` (available as ``method="normal"`` for teaching; it warns
  with :class:`ConditioningWarning`).
- Laplace, :math:`\ell = |r|`: least absolute deviations, an LP solved *exactly* (interior point,
  sample reduction and a certified optimal vertex; see ``dlmath._lad``).
- Huber: convex and piecewise quadratic; semismooth Newton with a line search ends at the exact
  minimiser once the set of inliers stops changing. Logistic: convex and smooth; Newton's method.
- Student-t and Cauchy: not convex; from the LAD fit, Newton steps where the Hessian is positive
  definite and majorise-minimise (IRLS) steps elsewhere, none of which increases the loss, to a
  local minimiser. (The iterative solvers live in ``dlmath._mest``.)

The scale :math:`\sigma` is estimated by maximum likelihood jointly with the coefficients unless
``scale=`` fixes it. For the Gaussian and Laplace models the coefficients do not depend on it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _mest
from . import noise as _noise
from ._array import check_real_scalar, float_input

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


class ConditioningWarning(UserWarning):
    """The normal equations lost digits: :math:`\\kappa(X^\\top X) = \\kappa(X)^2` is large."""


@dataclass(frozen=True)
class LinearFit:
    r"""Result of :func:`fit_linear`.

    Attributes:
        coef: the weights :math:`w`, shape ``[n_features]``.
        intercept: :math:`b` (0.0 when ``fit_intercept=False``).
        scale: the noise scale: the MLE :math:`\hat\sigma` at the fitted coefficients, or the
            value given as ``scale=``.
        objective: :math:`\sum_i \ell(r_i)`, the training loss of the noise model (at ``scale``)
            summed over the residuals :math:`r_i = y_i - w^\top x_i - b`.
        n_iter: iterations of the solver (0 for a direct solve).
        converged: whether the solver's optimality test passed: exact solves and certified LAD
            vertices report ``True``; Huber and Student-t a gradient below tolerance.
        method: the algorithm used: ``"svd"`` or ``"normal"`` (Gaussian),
            ``"interior-point+vertex"`` or ``"preprocessed-interior-point+vertex"`` (Laplace; the
            second with Portnoy-Koenker sample reduction), ``"semismooth-newton"`` (Huber),
            ``"newton"`` (logistic), ``"newton-mm"`` (Student-t, Cauchy), ``"none"`` (no parameters).
        noise: the noise model, with the fitted (or given) scale; as passed in when the fitted
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


def _validate(X, y, fn="fit_linear"):
    _, X = float_input(fn, X, "X")
    _, y = float_input(fn, y, "y")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"{fn}: 'X' must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}"
        )
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{fn}: 'y' must have shape ({X.shape[0]},) to match 'X' of shape {X.shape}; got shape {y.shape}"
        )
    # Column sums of squares: finite ones prove every entry finite at a fraction of the cost of
    # isfinite(X).all(), and they tell the later steps how large each column is. Only a non-finite
    # sum (NaN, inf, or squares overflowing beyond 1e154) needs the element-wise search.
    with np.errstate(over="ignore", invalid="ignore"):
        ss = np.einsum("ij,ij->j", X, X)
        ssy = float(y @ y)
    for name, a, sums in (("X", X, ss), ("y", y, ssy)):
        if not np.all(np.isfinite(sums)) and not np.isfinite(a).all():
            where = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(
                f"{fn}: '{name}' must be finite; found {a[tuple(where)]} at index {tuple(int(i) for i in where)}"
            )
    return X, y, np.append(ss, ssy)


def _split(beta, p, intercept):
    return beta[:p].copy(), (float(beta[p]) if intercept else 0.0)


def _lstsq(X, y, intercept, ss=None):
    r"""Least squares by SVD of the centred design with unit-norm columns.

    ``ss`` (column sums of squares, when known) gives the centred norms as
    :math:`\sqrt{\sum x^2 - n\bar x^2}` without another pass over ``X``, except for columns where
    that difference cancels (mean much larger than spread), which are measured directly.
    """
    n, p = X.shape
    if intercept:
        xm = X.mean(axis=0)
        ym = float(y.mean())
        A = X - xm
        yc = y - ym
        if ss is None:
            norms = np.sqrt(np.einsum("ij,ij->j", A, A))
        else:
            c2 = ss - n * xm * xm
            norms = np.sqrt(np.maximum(c2, 0.0))
            bad = ~(c2 > 1e-6 * ss)
            if bad.any():
                Ab = A[:, bad]
                norms[bad] = np.sqrt(np.einsum("ij,ij->j", Ab, Ab))
    else:
        A = X.copy()
        yc = y
        norms = np.sqrt(np.einsum("ij,ij->j", A, A) if ss is None else ss)
    # A column that is zero to rounding (a constant beside the intercept: its centred norm is
    # rounding error of its mean) or so small that its coefficient would overflow gets
    # coefficient 0, the minimum-norm choice.
    level = np.abs(xm) * math.sqrt(n) + norms if intercept else norms
    dead = (norms <= 16 * np.finfo(float).eps * math.sqrt(max(n, 1)) * level) | (norms < 1e-150)
    norms[dead] = 1.0
    A /= norms
    A[:, dead] = 0.0
    sol, _, rank, sv = np.linalg.lstsq(A, yc, rcond=None)
    w = sol / norms
    if rank < p:
        # lstsq's answer has minimum norm in the scaled coordinates; the minimum-norm w in the
        # caller's units differs when dependent columns differ in size (x and 2x split 2:1
        # instead of 1:2). Remove w's component along the null space, mapped back to those units.
        _, s, Vt = np.linalg.svd(A, full_matrices=False)
        null = Vt[s <= np.finfo(float).eps * max(n, p) * sv.max(initial=0.0)].T / norms[:, None]
        w = w - null @ np.linalg.lstsq(null, w, rcond=None)[0]
    b = ym - float(xm @ w) if intercept else 0.0
    return w, b


def _normal_equations(X, y, intercept):
    r"""The textbook solve :math:`(Z^\top Z)\beta = Z^\top y` by Cholesky; warns when digits are lost."""
    n, p = X.shape
    G = _mest.gram(X, np.ones(n), intercept)
    # solve_spd scales G to unit diagonal first, so the digits lost are set by the condition of
    # the scaled matrix: columns of very different sizes alone cost nothing.
    d = np.sqrt(np.diag(G))
    d[d == 0] = 1.0
    cond = float(np.linalg.cond(G / d / d[:, None]))
    if not cond < 1e8:
        digits = 16 if not math.isfinite(cond) else min(16, round(math.log10(cond)))
        warnings.warn(
            f"fit_linear(method='normal'): cond(X^T X) = {cond:.1e} with unit-size columns, so about "
            f"{digits} of 16 significant digits are lost; method='svd' loses half as many",
            ConditioningWarning,
            stacklevel=3,
        )
    beta = _mest.solve_spd(G, _mest.zt(X, y, intercept))
    return _split(beta, p, intercept)


def _independent_columns(X, intercept, *, tol=1e-9, sample=20_000):
    r"""Columns of ``X`` to keep when the design is rank-deficient, or ``None`` when it has full rank.

    Greedy in column order (the intercept first): column :math:`j` is dropped when its distance to
    the span of the kept ones is below ``tol`` times its norm, measured in the Gram matrix. A row
    subsample of full rank proves the full design has full rank, so the full Gram matrix is formed
    only when the subsample is deficient.
    """
    n, p = X.shape
    if n > sample:
        rows = np.random.default_rng(0).integers(0, n, sample)
        keep = _greedy_rank(_mest.gram(X[rows], np.ones(sample), intercept), intercept, tol)
        if keep.all():
            return None
    keep = _greedy_rank(_mest.gram(X, np.ones(n), intercept), intercept, tol)
    return None if keep.all() else np.flatnonzero(keep)


def _greedy_rank(G, intercept, tol):
    p = G.shape[0] - int(intercept)
    order = ([p] if intercept else []) + list(range(p))
    chosen: list[int] = []
    keep = np.zeros(p, dtype=bool)
    for j in order:
        gjj = G[j, j]
        if gjj <= 0:
            continue
        if chosen:
            S = G[np.ix_(chosen, chosen)]
            g = G[chosen, j]
            d = gjj - g @ np.linalg.solve(S, g)
        else:
            d = gjj
        if d > tol * tol * gjj:
            chosen.append(j)
            if j < p:
                keep[j] = True
    return keep


def _rescale(X, y, ss):
    """``(X', y', cx, cy)``: data divided by powers of two when any column or ``y`` is extreme.

    Gram matrices square the data, so entries beyond about 1e150 (or below 1e-150) would over- or
    underflow; dividing each column and ``y`` by a power of two near its largest magnitude is
    exact, and every fitter is equivariant to it. ``cx`` is ``None`` when nothing needs scaling,
    which the sums of squares ``ss`` (columns, then ``y``) decide without another pass.
    """
    n = X.shape[0]
    odd = ~((ss > 1e-200) & (ss < 1e200))
    if not odd.any():
        return X, y, None, 1.0
    # A zero sum of squares is harmless for an all-zero column (or y); otherwise squares
    # underflowed and the data need scaling.
    parts = [X[:, j] for j in np.flatnonzero(odd[:-1])] + ([y] if odd[-1] else [])
    sums = ss[odd]
    if np.all(sums == 0) and not any(np.any(a) for a in parts):
        return X, y, None, 1.0
    colmax = np.maximum(X.max(axis=0), -X.min(axis=0)) if n else np.zeros(X.shape[1])
    ymax = float(np.max(np.abs(y), initial=0.0))

    def pow2(m):
        # 2**(e-1) for m = f * 2**e, f in [0.5, 1): the scaled maximum lies in [1, 2), and even the
        # largest double (e = 1024) gives a finite power.
        return np.where(m > 0, np.ldexp(0.5, np.frexp(np.where(m > 0, m, 1.0))[1]), 1.0)

    cx = pow2(colmax)
    cy = float(pow2(np.array(ymax)))
    return X / cx, y / cy, cx, cy


def _solve(X, y, fit_intercept, model, method, fixed, ss=None):
    """Dispatch to the model's fitter: ``(w, b, scale, n_iter, converged, method)``."""
    n, p = X.shape
    k = p + int(fit_intercept)
    n_iter, converged, fitted_scale = 0, True, 0.0
    if k == 0:
        w, b, method = np.zeros(0), 0.0, "none"
        if model.name not in ("gaussian", "laplace"):
            fitted_scale = model.fit_scale(y)
    elif model.name == "gaussian":
        method = method or "svd"
        if method == "svd":
            w, b = _lstsq(X, y, fit_intercept, ss)
        else:
            w, b = _normal_equations(X, y, fit_intercept)
    else:
        shift = _offsets(X, ss) if fit_intercept else None
        if shift is not None:
            X = X - shift
        cols = _independent_columns(X, fit_intercept)
        if cols is not None and cols.size == 0 and not fit_intercept:  # every column is zero
            w, b, fitted_scale, n_iter, converged, method = _solve(X[:, :0], y, False, model, method, fixed)
            return np.zeros(p), b, fitted_scale, n_iter, converged, method
        Xs = X if cols is None else np.ascontiguousarray(X[:, cols])
        ps = Xs.shape[1]
        with _one_blas_thread():
            if model.name == "laplace":
                from ._lad import lad

                res = lad(Xs, y, fit_intercept)
                beta, n_iter, converged, method = res.coef, res.n_iter, res.certified, res.method
            elif model.name in ("huber", "logistic"):
                beta, fitted_scale, n_iter, converged = _mest.fit_convex(Xs, y, fit_intercept, model, fixed)
                method = "semismooth-newton" if model.name == "huber" else "newton"
            else:
                beta, fitted_scale, n_iter, converged = _mest.fit_local(Xs, y, fit_intercept, model, fixed)
                method = "newton-mm"
        ws, b = _split(beta, ps, fit_intercept)
        if cols is None:
            w = ws
        else:
            w = np.zeros(p)
            w[cols] = ws
        if shift is not None:
            b -= float(shift @ w)
    return w, b, fitted_scale, n_iter, converged, method


def _offsets(X, ss=None):
    r"""Column means to subtract before an M-estimator fit with intercept, or ``None``.

    A column whose mean is large beside its spread (:math:`x = 10^8 + \text{noise}`) is nearly
    parallel to the intercept column, and the uncentred Gram matrices of the solvers lose its
    spread to rounding: Huber, logistic and Student-t fits stopped unconverged, and the rank test
    dropped the column of a LAD fit. Fitting on :math:`x - m` with intercept :math:`b + m^\top w`
    is the same model (the loss is unchanged), so columns whose mean exceeds 30 standard
    deviations (three of sixteen digits lost) are centred; the others are left alone, sparing a
    copy of ``X`` and keeping exact data (integers) exact. ``ss`` holds the column sums of
    squares when known.
    """
    n = X.shape[0]
    if n == 0 or X.shape[1] == 0:
        return None
    m = X.mean(axis=0)
    if ss is None:
        ss = np.einsum("ij,ij->j", X, X)
    # mean^2 > 900 variance = 900 (ss/n - mean^2): where the difference cancels, mean^2 dominates
    # its rounding error by far, so the test is still decided correctly.
    offset = m * m > 900.0 * (ss / n - m * m)
    if not offset.any():
        return None
    return np.where(offset, m, 0.0)


def fit_linear(X, y, *, noise="gaussian", fit_intercept=True, method=None, scale=None) -> LinearFit:
    r"""Maximum-likelihood linear regression under a chosen noise model.

    .. math:: (\hat w, \hat b) = \arg\min_{w,b}\; \sum_{i=1}^n \ell\bigl(y_i - w^\top x_i - b\bigr),
              \qquad \hat\sigma = \arg\max_\sigma \sum_i \log p_\sigma(y_i - \hat w^\top x_i - \hat b),

    with :math:`\ell` the training loss of ``noise`` (for the other models, whose loss depends on
    :math:`\sigma`, the two are solved jointly). For Gaussian noise the first-order condition is
    the normal equation :math:`X^\top(Xw - y) = 0`; for Laplace noise it is
    :math:`0 \in \sum_i x_i\,\partial|r_i|`, a median condition.

    Args:
        X: design matrix of shape ``[n_samples, n_features]``; finite real numbers. NumPy, or any
            array (PyTorch and JAX on the CPU, lists) that converts to NumPy; the fit runs in
            float64 and returns NumPy arrays.
        y: targets of shape ``[n_samples]``; finite real numbers.
        noise: ``"gaussian"``, ``"laplace"``, ``"huber"`` (:math:`\delta = 1.345`),
            ``"student-t"`` (:math:`\nu = 4`), ``"cauchy"`` or ``"logistic"``, or a
            :mod:`dlmath.noise` model, whose shape
            parameter (``delta``, ``df``) is used; its ``scale`` is ignored unless passed as ``scale``.
        fit_intercept: fit :math:`b` (default) or force :math:`b = 0`.
        method: Gaussian only: ``"svd"`` (default) or ``"normal"`` (normal equations by Cholesky;
            warns with :class:`ConditioningWarning` when :math:`\kappa(X^\top X) \ge 10^8` after
            scaling its columns to unit size, which the solve does first).
        scale: a fixed :math:`\sigma` (finite, > 0) instead of its joint MLE. It changes the
            Huber and Student-t fits, not the Gaussian and Laplace coefficients.

    Returns:
        A :class:`LinearFit`.

    Raises:
        ValueError: ``X`` not 2-D; ``y`` not of shape ``[n_samples]``; NaN or inf in either; an
            unknown ``noise`` name (the message lists the known ones) or ``method``; fewer
            samples than parameters.
        TypeError: complex or non-numeric input; ``noise`` neither a name nor a model.

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
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> f = fit.fit_linear(X, [1.0, 3.0, 5.0, 7.0])
        >>> round(float(f.coef[0]), 12), round(f.intercept, 12)
        (2.0, 1.0)
        >>> g = fit.fit_linear(X, [1.0, 3.0, 5.0, 70.0], noise="laplace")  # the outlier is ignored
        >>> round(float(g.coef[0]), 12), round(g.intercept, 12), g.converged
        (2.0, 1.0, True)
    """
    fn = "fit_linear"
    model = _noise.get_model(fn, noise)
    X, y, ss = _validate(X, y)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"{fn}: 'fit_intercept' must be True or False; got {fit_intercept!r}")
    fixed = None if scale is None else check_real_scalar(fn, "scale", scale)
    n, p = X.shape
    k = p + int(fit_intercept)
    if n < k:
        raise ValueError(
            f"{fn}: {model.name} noise needs at least as many samples as parameters; got n_samples={n} "
            f"for {k} parameters ({p} features{' + intercept' if fit_intercept else ''})"
        )
    methods = {"gaussian": ("svd", "normal")}.get(model.name, ())
    if method is not None and method not in methods:
        allowed = ", ".join(repr(m) for m in methods) or "none (leave method=None)"
        raise ValueError(f"{fn}: unknown method {method!r} for {model.name} noise; expected {allowed}")

    Xw, yw, cx, cy = _rescale(X, y, ss)
    fixed_w = None if fixed is None else fixed / cy
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
    elif model.name not in ("gaussian", "laplace"):
        sigma = fitted_scale
    elif cx is None or np.all(np.isfinite(r)):
        sigma = model.fit_scale(r) if np.any(r != 0) else 0.0
    else:
        # Residuals beyond the float64 range (data near 1.7e308): their scale is measured on the
        # rescaled data, where they are finite, and scaled back.
        with np.errstate(over="ignore", invalid="ignore"):
            rw = yw - _mest.pred(Xw, w * cx / cy, b / cy)
            sigma = model.fit_scale(rw) * cy
    fitted = model.replace_scale(sigma) if 0 < sigma < math.inf else model
    objective = float(np.sum(fitted.loss(r)))
    return LinearFit(w, b, float(sigma), objective, int(n_iter), bool(converged), method, fitted)
