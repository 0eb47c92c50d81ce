r"""Iterative M-estimation for linear models: the block linear algebra and the solvers of fit.py.

With :math:`Z = [X, \mathbf 1]` (or :math:`X`), every solver here needs only three block operations
over the rows, each one pass over :math:`X` that never forms :math:`Z`: predictions
:math:`Z\beta`, products :math:`Z^\top v`, and weighted Gram matrices :math:`Z^\top\operatorname{diag}(u)Z`.

The solvers know a noise model only through its methods and facts (:mod:`dlmath.noise`): the
loss, :math:`\psi`, the IRLS weight :math:`\psi(r)/r`, the curvature :math:`\psi'`, the bound
:math:`\sup|\psi|` and the scale MLE.

- Convex, smooth losses (Huber, logistic): Newton's method with a line search, alternating with
  the exact scale MLE when the scale is estimated (coordinate descent on the negative
  log-likelihood).
- Smooth, non-convex losses (Student-t, Cauchy): Newton steps where the Hessian is positive
  definite, majorise-minimise (IRLS) steps elsewhere, and the exact scale MLE; no step raises
  the NLL.
"""

from __future__ import annotations

import functools
import math

import numpy as np

_CHUNK = 1 << 11


def pred(X, coef, intercept):
    out = X @ coef
    if intercept:
        out += intercept
    return out


def gram(X, weights, intercept):
    r""":math:`Z^\top \operatorname{diag}(u) Z` for :math:`Z = [X, \mathbf 1]` (or :math:`X`), by blocks."""
    n, p = X.shape
    k = p + int(intercept)
    G = np.zeros((k, k))
    root = np.sqrt(weights)
    # Small blocks scaled by sqrt(u) keep the product symmetric (one SYRK call per block) and in
    # cache; an unsymmetric (X*u).T @ X hits slow BLAS paths at some block sizes.
    for lo in range(0, n, _CHUNK):
        su = root[lo : lo + _CHUNK]
        Xs = X[lo : lo + _CHUNK] * su[:, None]
        G[:p, :p] += Xs.T @ Xs
        if intercept:
            G[:p, p] += Xs.T @ su
    if intercept:
        G[p, :p] = G[:p, p]
        G[p, p] = float(np.sum(weights))
    return G


def zt(X, v, intercept):
    """:math:`Z^\\top v`."""
    g = X.T @ v
    return np.append(g, v.sum()) if intercept else g


def solve_spd(G, rhs, ridge=0.0):
    r"""Solve :math:`G x = b` for a symmetric positive (semi)definite Gram matrix.

    :math:`G` is first scaled to unit diagonal (Jacobi), so columns of very different sizes neither
    spoil the Cholesky factorisation nor drown in a ridge; ``ridge`` (relative to that unit
    diagonal) regularises, and a semidefinite :math:`G` falls back to least squares.
    """
    k = G.shape[0]
    d = np.sqrt(np.abs(np.diag(G)))
    d[d == 0] = 1.0
    Gs = G / d / d[:, None]
    if ridge:
        Gs = Gs + ridge * np.eye(k)
    bs = rhs / d
    try:
        L = np.linalg.cholesky(Gs)
        x = np.linalg.solve(L.T, np.linalg.solve(L, bs))
    except np.linalg.LinAlgError:
        x = np.linalg.lstsq(Gs + 1e-12 * np.eye(k), bs, rcond=None)[0]
    return x / d


def _terms(model):
    """The model's loss, psi, curvature and IRLS weight as NumPy functions of finite residuals."""
    return (
        functools.partial(model._loss_finite, np),
        functools.partial(model._dloss, np),
        functools.partial(model._curvature, np),
        functools.partial(model._weight, np),
    )


def convex_newton(X, y, intercept, model, beta, colnorm, *, max_iter=200, tol=1e-10):
    r"""Minimise :math:`\sum_i \rho(y_i - z_i^\top\beta)` for a convex, smooth :math:`\rho` by Newton's method.

    The Hessian is :math:`Z^\top \operatorname{diag}(\psi'(r)) Z` (the model's ``curvature``), with
    a backtracking line search. Where :math:`\psi'` is piecewise constant (Huber: 1 on the inliers
    :math:`|r_i| \le \delta\sigma`, else 0) this is semismooth Newton: once the inlier set is that
    of the minimiser the quadratic model is exact and the step lands on it. Where the Hessian is
    nearly singular (fewer inliers than parameters) or its step fails the line search, a
    majorise-minimise step (weighted least squares with the model's ``weight`` :math:`\psi(r)/r`)
    is taken instead; it never increases the loss. ``colnorm`` holds the column norms of
    :math:`Z`; the gradient test is relative to
    :math:`\sup|\psi|\sqrt n\,\lVert z_{:j}\rVert \ge \sum_i |\psi(r_i) z_{ij}|` (the model's
    ``dloss_bound``), plus the rounding of the gradient itself: each residual carries an error of
    about :math:`\epsilon\max|y|` and :math:`|\psi'| \le 1`, so the gradient is known only to
    :math:`4\epsilon\max|y|\sqrt n\,\lVert z_{:j}\rVert`, and the loss to
    :math:`4\epsilon\max|y|\,n\sup|\psi|`, which the line searches allow for. (Without these,
    data such as :math:`y = 5\cdot 10^6 + \text{noise}` never passed: the intercept's last bit
    moves the gradient by more than the tolerance, and up to 400 iterations were spent in vain.)
    Returns ``(beta, n_iter, converged)``.
    """
    n, p = X.shape
    k = beta.size
    loss, psi, curvature, weight = _terms(model)
    bound = model.dloss_bound
    rounding = 4.0 * np.finfo(float).eps * float(np.max(np.abs(y), initial=0.0))
    colscale = colnorm * math.sqrt(n) * (bound + rounding / tol) + 1e-300
    # The loss is known to about sup|psi| * rounding per row: decreases below that are noise.
    fnoise = n * bound * rounding

    def residual(b):
        return y - pred(X, b[:p], b[p] if intercept else 0.0)

    def mm_step(r):
        u = weight(r)
        cand = solve_spd(gram(X, u, intercept), zt(X, u * y, intercept))
        rc = residual(cand)
        return cand, rc, float(np.sum(loss(rc)))

    r = residual(beta)
    f = float(np.sum(loss(r)))
    for it in range(1, max_iter + 1):
        g = zt(X, psi(r), intercept)
        if np.all(np.abs(g) <= tol * colscale):
            return beta, it - 1, True
        w = curvature(r)
        fc = math.inf
        if float(np.sum(w)) >= k:
            step = solve_spd(gram(X, w, intercept), g, ridge=1e-12)
            t = 1.0
            slope = -float(g @ step)
            for _ in range(30):
                cand = beta + t * step
                rc = residual(cand)
                fc = float(np.sum(loss(rc)))
                # The last term forgives rounding noise in f once the decrease is at that level.
                if fc <= f + 1e-4 * t * slope + 1e-14 * abs(f) + fnoise:
                    break
                t *= 0.5
        if not fc <= f + 1e-14 * abs(f) + fnoise:
            cand, rc, fc = mm_step(r)
            if fc > f + 1e-14 * abs(f) + fnoise:
                return beta, it, False
        beta, r, f = cand, rc, fc
    return beta, max_iter, bool(np.all(np.abs(zt(X, psi(r), intercept)) <= tol * colscale))


def fit_convex(X, y, intercept, model, fixed_scale):
    """Convex smooth loss: Newton in the coefficients, alternating with the scale MLE unless it is fixed.

    Returns ``(beta, scale, n_iter, converged)``.
    """
    n, p = X.shape
    # The normal equations are accurate enough for a starting point and cost one pass over X.
    G = gram(X, np.ones(n), intercept)
    beta = solve_spd(G, zt(X, y, intercept))
    colnorm = np.sqrt(np.diag(G))
    if fixed_scale is not None:
        fixed = model.replace_scale(fixed_scale)
        r = y - pred(X, beta[:p], beta[p] if intercept else 0.0)
        if float(np.sum(fixed._curvature(np, r))) < max(2 * beta.size, 0.05 * n):
            # A scale far below the residuals makes the loss nearly a multiple of |r|: start from
            # the LAD fit, whose zero residuals give Newton a non-singular Hessian.
            from ._lad import lad

            beta = lad(X, y, intercept).coef
        beta, it, ok = convex_newton(X, y, intercept, fixed, beta, colnorm)
        return beta, fixed_scale, it, ok
    # Coordinate descent on the negative log-likelihood: a Newton solve in beta at fixed sigma,
    # then the exact sigma for that beta; each half-step lowers the NLL.
    r = y - pred(X, beta[:p], beta[p] if intercept else 0.0)
    exact = 1e-13 * float(np.max(np.abs(y), initial=0.0))
    sigma = model._scale_mle(np.abs(r))
    if sigma <= exact:
        return beta, 0.0, 0, True
    total = 0
    ok = False
    for _ in range(200):
        beta, it, ok_w = convex_newton(X, y, intercept, model.replace_scale(sigma), beta, colnorm)
        total += it
        r = y - pred(X, beta[:p], beta[p] if intercept else 0.0)
        new = model._scale_mle(np.abs(r), start=sigma)
        if new <= exact:  # an exact fit to rounding: the likelihood grows without bound as sigma -> 0
            return beta, 0.0, total, ok_w
        # The scale is known only to the rounding of the residuals, about eps * max|y|.
        done = abs(new - sigma) <= 1e-10 * sigma + 4.0 * np.finfo(float).eps * float(np.max(np.abs(y)))
        sigma = new
        if done and ok_w and it == 0:
            ok = True
            break
    return beta, sigma, total, ok


def fit_local(X, y, intercept, model, fixed_scale, *, max_iter=500, tol=1e-9):
    r"""Smooth, non-convex loss (Student-t, Cauchy): a local minimiser from the LAD start, by Newton or
    majorise-minimise steps in the coefficients, alternating with the exact scale MLE unless it is fixed.

    The work is in standardised residuals :math:`t_i = r_i/\sigma` with the model at unit scale,
    whose loss :math:`\rho_1(t)` is the loss at scale :math:`\sigma` up to a positive factor (so
    its weights stay bounded however small :math:`\sigma` gets): the gradient is
    :math:`-Z^\top\psi_1(t)/\sigma` and the Hessian :math:`Z^\top\operatorname{diag}(\psi_1'(t))Z/\sigma^2`,
    which is indefinite where outliers dominate. A Newton step is taken when that Hessian is
    positive definite and the step lowers the loss; otherwise the weighted least-squares step with
    the IRLS weights :math:`\psi_1(t)/t` (a majoriser, since :math:`\rho_1(\sqrt x)` is concave in
    :math:`x`; for Student-t these are the EM weights :math:`(\nu+1)/(\nu + t^2)`), which never
    raises it. Each scale update maximises the likelihood exactly, so no step raises the NLL.
    Returns ``(beta, scale, n_iter, converged)``.
    """
    from ._lad import lad

    n, p = X.shape
    beta = lad(X, y, intercept).coef
    r = y - pred(X, beta[:p], beta[p] if intercept else 0.0)
    sigma = fixed_scale if fixed_scale is not None else model._scale_mle(np.abs(r))
    exact = 1e-13 * float(np.max(np.abs(y), initial=0.0))
    if sigma <= exact:  # too many exact zeros for the likelihood: unbounded as sigma -> 0
        return beta, 0.0, 0, True
    unit = model.replace_scale(1.0)
    rho, _, curvature, weight = _terms(unit)
    # Cauchy-Schwarz: max|psi_1(t)| sqrt(n) ||z_j|| >= sum_i |psi_1(t_i) z_ij|, without a copy of |X|.
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    colscale = math.sqrt(n) * (np.append(norms, math.sqrt(n)) if intercept else norms) + 1e-300
    # Each residual is known to about 4 eps max|y|, and psi_1 moves by at most weight_1(0) times
    # that over sigma (the weight is non-increasing, so psi_1' <= weight_1 <= weight_1(0)).
    rounding = 4.0 * np.finfo(float).eps * float(np.max(np.abs(y), initial=0.0))
    slope = float(weight(np.zeros(1))[0])

    def loss(res):
        return float(np.sum(rho(res / sigma)))

    ok = False
    it = 0
    f = loss(r)
    while it < max_iter:
        it += 1
        t = r / sigma
        w = weight(t)
        g = zt(X, w * r, intercept)  # sigma Z^T psi_1(t)
        # Relative to the largest |psi_1(t_i)|, not to sup|psi_1|: with sigma far above the
        # residuals every psi_1(t_i) is tiny, and the sup let the LAD start pass as converged.
        size = min(unit.dloss_bound, float(np.max(np.abs(w * t), initial=0.0)))
        if np.all(np.abs(g) <= colscale * (tol * size * sigma + slope * rounding)):
            if fixed_scale is None:
                new = model._scale_mle(np.abs(r), start=sigma)
                if abs(new - sigma) > tol * sigma:
                    sigma = new
                    f = loss(r)
                    continue
            ok = True
            break
        cand = None
        h = curvature(t)
        # gram() takes non-negative weights: split h into its positive and negative parts.
        Hn = gram(X, np.maximum(h, 0.0), intercept)
        if np.any(h < 0):
            Hn -= gram(X, np.maximum(-h, 0.0), intercept)
        try:
            d = np.sqrt(np.abs(np.diag(Hn)))
            d[d == 0] = 1.0
            np.linalg.cholesky(Hn / d / d[:, None])
            step = solve_spd(Hn, g)
            tstep = 1.0
            for _ in range(8):
                b_try = beta + tstep * step
                r_try = y - pred(X, b_try[:p], b_try[p] if intercept else 0.0)
                f_try = loss(r_try)
                if f_try <= f:
                    cand = (b_try, r_try, f_try)
                    break
                tstep *= 0.5
        except np.linalg.LinAlgError:
            pass
        if cand is None:  # the majorise-minimise step cannot increase the loss
            b_try = solve_spd(gram(X, w, intercept), zt(X, w * y, intercept))
            r_try = y - pred(X, b_try[:p], b_try[p] if intercept else 0.0)
            cand = (b_try, r_try, loss(r_try))
        beta, r, f = cand
        if fixed_scale is None:
            new = model._scale_mle(np.abs(r), start=sigma)
            if new <= exact:
                return beta, 0.0, it, True
            if new != sigma:
                sigma = new
                f = loss(r)
    return beta, sigma, it, ok
