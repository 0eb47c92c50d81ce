r"""Exact least absolute deviations: interior point, sample reduction, and a certified vertex.

Median regression :math:`\min_b \sum_i |y_i - z_i^\top b|` is a linear programme. Its dual is

.. math:: \max_a\; y^\top a \quad\text{s.t.}\quad Z^\top a = c,\quad 0 \le a \le 1,
          \qquad c = \tfrac12 Z^\top\mathbf 1,

and at the optimum :math:`a_i = 1` where :math:`r_i > 0`, :math:`a_i = 0` where :math:`r_i < 0`.
Three stages, each cheap where the previous one is expensive:

1. *Primal-dual interior point* (Frisch-Newton with Mehrotra's predictor-corrector) on the dual:
   every iteration is one weighted Gram matrix :math:`Z^\top Q Z` and its factorisation.
2. *Sample reduction* for large :math:`n` (Portnoy and Koenker, 1997): solve on a random
   subsample, keep only the rows whose residual sign the subsample fit leaves in doubt, and fold
   the others into the fixed vector :math:`q = \sum_{r_i>0} z_i - \sum_{r_i<0} z_i`; the folded
   signs are checked against the final fit and violators are put back.
3. *Vertex and certificate*: an optimum is attained at a basis :math:`B` of :math:`k` rows with zero
   residual. From the interior point's fit take the :math:`k` rows of smallest residual, solve
   :math:`Z_B b = y_B`, and check optimality exactly: with signs :math:`s` of the other rows,
   :math:`v = Z_B^{-\top}(Z_N^\top s_N + q)` must satisfy :math:`\|v\|_\infty \le 1` (then
   :math:`-v` is a subgradient multiplier for the basis rows and :math:`0 \in \partial F`).
   Otherwise a simplex-type pivot drops the row with the largest :math:`|v_j|` and moves along
   the edge to the weighted median of the breakpoints; the loop ends at a certified vertex.
   Where other rows tie with the basis at residual 0 (integer data), the certificate is a small
   feasibility LP over the tied rows (:math:`k` equations, solved by HiGHS).

Measured (``bench/bench_fit.py``, one thread): the interior point needs about 5 loose iterations
on the subsample and 13 on the reduced problem, and the vertex stage 0-10 pivots, at
:math:`n = 10^5` and :math:`10^6`, :math:`p = 20`; tightening the interior point instead (to
:math:`10^{-9}`) costs 30 iterations in all and still needs the vertex for an exact answer.
Random subsamples that are rank-deficient (a rarely non-zero dummy column) are completed with
rows that span the missing directions.

References:
    S. Portnoy, R. Koenker, "The Gaussian hare and the Laplacian tortoise: computability of
    squared-error versus absolute-error estimators", Statist. Sci. 12 (1997) 279-300,
    doi:10.1214/ss/1030037960.
    I. Barrodale, F. D. K. Roberts, "An improved algorithm for discrete l1 linear
    approximation", SIAM J. Numer. Anal. 10 (1973) 839-848, doi:10.1137/0710069.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_CHUNK = 1 << 16


@dataclass
class LadResult:
    coef: np.ndarray  # length k (intercept last when present)
    objective: float  # sum |r|
    n_iter: int  # interior-point iterations plus pivots
    certified: bool
    method: str


def _design(X, rows, intercept):
    Xr = X[rows] if rows is not None else X
    if not intercept:
        return np.ascontiguousarray(Xr, dtype=np.float64)
    Z = np.empty((Xr.shape[0], Xr.shape[1] + 1))
    Z[:, :-1] = Xr
    Z[:, -1] = 1.0
    return Z


def _predict(X, b, intercept):
    if intercept:
        out = X @ b[:-1]
        out += b[-1]
        return out
    return X @ b


def _interior_point(Z, y, c, *, tol, max_iter=100):
    """Frisch-Newton interior point for ``max y'a s.t. Z'a = c, 0 <= a <= 1``.

    Returns ``(b, n_iter, rel_gap)`` where ``b`` (the multipliers of ``Z'a = c``) is the
    regression fit.
    """
    m, k = Z.shape
    G = Z.T @ Z
    b = np.linalg.solve(G + 1e-12 * np.trace(G) / k * np.eye(k), Z.T @ y)
    r = y - Z @ b
    scale = float(np.mean(np.abs(r))) or 1.0
    a = np.full(m, 0.5)
    s = np.full(m, 0.5)
    w = np.maximum(r, 0.0) + scale
    z = np.maximum(-r, 0.0) + scale
    eta = 0.99995
    floor = 1e-9 * float(np.sum(np.abs(y))) + 1e-300
    it = 0
    rel_gap = math.inf
    while it < max_iter:
        it += 1
        rp = c - Z.T @ a
        r = y - Z @ b
        rd = r - w + z
        az = a * z
        sw = s * w
        gap = float(az.sum() + sw.sum())
        # The floor keeps the test meaningful when the data fit exactly (optimum 0).
        rel_gap = gap / (float(np.sum(np.abs(r))) * 0.5 + floor)
        feas = float(np.max(np.abs(rd))) / (scale + 1e-300)
        if rel_gap < tol and feas < 1e-8:
            break
        mu = gap / (2 * m)
        zoa = z / a
        wos = w / s
        Q = 1.0 / (zoa + wos)
        Zs = Z * np.sqrt(Q)[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            G = Zs.T @ Zs
        if not np.all(np.isfinite(G)):
            break
        try:
            cho = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            break

        def solve(rhs, cho=cho):
            return np.linalg.solve(cho.T, np.linalg.solve(cho, rhs))

        # Predictor (affine-scaling) direction; its right-hand side rd + w - z is just r.
        db = solve(Z.T @ (Q * r) - rp)
        da = Q * (r - Z @ db)
        dz = -z - zoa * da
        dw = -w + wos * da
        ap = min(1.0, _step_pair(a, s, da))
        ad = min(1.0, _step(z, dz, w, dw))
        # mu after the affine step, expanded into dot products (no temporaries).
        mu_aff = (
            gap
            + ad * float(a @ dz + s @ dw)
            + ap * float(da @ z - da @ w)
            + ap * ad * float(da @ dz - da @ dw)
        ) / (2 * m)
        sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
        # Corrector: aim at sigma*mu and cancel the predictor's second-order terms.
        r_az = (sigma * mu - az) - da * dz
        r_sw = (sigma * mu - sw) + da * dw
        t = rd - r_sw / s + r_az / a
        db = solve(Z.T @ (Q * t) - rp)
        da = Q * (t - Z @ db)
        dz = (r_az - z * da) / a
        dw = (r_sw + w * da) / s
        ap = min(1.0, eta * _step_pair(a, s, da))
        ad = min(1.0, eta * _step(z, dz, w, dw))
        a = a + ap * da
        s = s - ap * da
        b = b + ad * db
        z = z + ad * dz
        w = w + ad * dw
    return b, it, rel_gap


def _step_pair(a, s, da):
    """Largest step keeping ``a + alpha*da`` and ``s - alpha*da`` non-negative (a, s > 0)."""
    worst = max(-float(np.min(da / a)), float(np.max(da / s)), 0.0)
    return math.inf if worst == 0.0 else 1.0 / worst


def _step(x1, d1, x2, d2):
    """Largest step ``alpha`` keeping ``x1 + alpha*d1`` and ``x2 + alpha*d2`` non-negative (x > 0)."""
    worst = max(float(np.max(-d1 / x1)), float(np.max(-d2 / x2)), 0.0)
    return math.inf if worst == 0.0 else 1.0 / worst


def _independent_rows(Z, order, k):
    """The first ``k`` rows in ``order`` that are linearly independent (greedy Gram-Schmidt).

    Columns are first scaled to unit size over the candidate rows: independence does not depend
    on column scaling, but a relative threshold on raw rows would ignore a column (such as the
    intercept) that is tiny beside the others.
    """
    basis = []
    Q = np.zeros((k, Z.shape[1]))
    cand = Z[np.asarray(order)]
    col = np.sqrt(np.einsum("ij,ij->j", cand, cand))
    col[col == 0] = 1.0
    for pos, i in enumerate(order):
        v = cand[pos] / col
        nrm0 = float(np.linalg.norm(v))
        if nrm0 == 0.0:
            continue
        for _ in range(2):
            if basis:
                v -= Q[: len(basis)].T @ (Q[: len(basis)] @ v)
        nrm = float(np.linalg.norm(v))
        if nrm > 1e-10 * nrm0:
            Q[len(basis)] = v / nrm
            basis.append(int(i))
            if len(basis) == k:
                break
    return np.array(basis, dtype=np.intp)


def _vertex(Z, y, q, b, basis=None, *, max_pivots=500, tol=1e-9):
    r"""From a near-optimal ``b``, a certified optimal vertex of ``sum|y - Zb| - q'b``.

    Returns ``(b, basis, certified, n_pivots)``; ``basis`` indexes rows of ``Z``.
    """
    m, k = Z.shape
    if basis is None or len(basis) != k:
        absr = np.abs(y - Z @ b)
        few = min(m, 8 * k + 64)
        order = np.argpartition(absr, few - 1)[:few] if few < m else np.arange(m)
        basis = _independent_rows(Z, order[np.argsort(absr[order], kind="stable")], k)
        if len(basis) < k and few < m:
            basis = _independent_rows(Z, np.argsort(absr, kind="stable"), k)
        if len(basis) < k:
            return b, basis, False, 0
    basis = np.asarray(basis, dtype=np.intp).copy()
    in_basis = np.zeros(m, dtype=bool)
    in_basis[basis] = True
    b = np.linalg.solve(Z[basis], y[basis])
    # Residuals this small count as zero: a tie with the basis (a degenerate vertex). Relative to
    # y alone: an absolute floor of 1e-10 made every residual of data of size 1e-12 a tie, and
    # the certificate then passed at any vertex.
    thr = 1e-10 * float(np.max(np.abs(y), initial=0.0))
    for pivot in range(max_pivots + 1):
        ZB_inv = np.linalg.inv(Z[basis])
        r = y - Z @ b
        r[in_basis] = 0.0
        zero = (np.abs(r) <= thr) & ~in_basis
        r[zero] = 0.0
        sgn = np.sign(r)
        g = Z.T @ sgn + q
        v = ZB_inv.T @ g
        j = int(np.argmax(np.abs(v)))
        if abs(v[j]) <= 1.0 + tol:
            return b, basis, True, pivot
        if np.any(zero) and _degenerate_certificate(Z[in_basis | zero], g, tol):
            return b, basis, True, pivot
        if pivot == max_pivots:
            break
        sig = 1.0 if v[j] > 0 else -1.0
        delta = sig * ZB_inv[:, j]
        d = Z @ delta
        d[in_basis] = 0.0
        zero = (r == 0.0) & ~in_basis
        slope = 1.0 - abs(v[j]) + float(np.sum(np.abs(d[zero])))
        if slope >= 0:
            break  # degenerate vertex: this edge does not descend
        cand = np.flatnonzero(~zero & ~in_basis & (d != 0.0))
        t = r[cand] / d[cand]
        pos = t > 0
        cand, t = cand[pos], t[pos]
        if cand.size == 0:
            break
        order = np.argsort(t, kind="stable")
        cum = np.cumsum(2.0 * np.abs(d[cand[order]]))
        stop = int(np.searchsorted(cum, -slope))
        if stop >= cand.size:
            break
        enter = int(cand[order[stop]])
        b = b + t[order[stop]] * delta
        in_basis[basis[j]] = False
        basis[j] = enter
        in_basis[enter] = True
        b = np.linalg.solve(Z[basis], y[basis])
    return b, basis, False, max_pivots


def _degenerate_certificate(Ztied, g, tol):
    r"""Whether some :math:`u \in [-1, 1]^t` has :math:`Z_T^\top u = -g` (rows ``Ztied`` tie at 0).

    A feasibility LP with only :math:`k` equality rows, solved by HiGHS; each row is scaled to unit
    size so that HiGHS's absolute feasibility tolerance is a relative one.
    """
    from scipy.optimize import linprog

    A = Ztied.T
    row = np.abs(A).sum(axis=1) + np.abs(g)
    row[row == 0] = 1.0
    res = linprog(
        np.zeros(A.shape[1]),
        A_eq=A / row[:, None],
        b_eq=-g / row,
        bounds=(-1.0, 1.0),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10},
    )
    if res.status != 0:
        return False
    return bool(np.all(np.abs(A @ res.x + g) <= tol * 10 * row))


def _full_rank_rows(X, rows, intercept, *, tries=5):
    """``(rows, Z)``: ``rows`` plus enough rows of ``X`` for full column rank, and their design.

    ``None`` when the attempt fails.

    Null directions of the column-scaled Gram matrix of the selected rows are found by an eigen-
    decomposition; the rows of the full design that move most along them are added.
    """
    n, p = X.shape
    k = p + int(intercept)
    for _ in range(tries):
        Z = _design(X, rows, intercept)
        G = Z.T @ Z
        d = np.sqrt(np.diag(G))
        d[d == 0] = 1.0
        evals, evecs = np.linalg.eigh(G / d / d[:, None])
        top = max(float(evals[-1]), 0.0)
        null = evecs[:, evals <= 1e-10 * top] if top > 0 else evecs
        if null.shape[1] == 0:
            return rows, Z
        V = null / d[:, None]
        scores = np.abs(X @ V[:p] + (V[p] if intercept else 0.0)).max(axis=1)
        scores[rows] = 0.0
        cand = np.flatnonzero(scores > 1e-8 * float(scores.max(initial=0.0)))
        if cand.size == 0 or scores.max(initial=0.0) == 0.0:
            return None
        take = cand[np.argsort(-scores[cand], kind="stable")[: 4 * k]]
        rows = np.union1d(rows, take)
    return None


def _exact(Z, y, q, tol):
    """Interior point to ``tol``, then the vertex; if that cannot be certified, again to 1e-11."""
    c = 0.5 * (Z.sum(axis=0) - q)
    b, it, _ = _interior_point(Z, y, c, tol=tol)
    bv, _, ok, piv = _vertex(Z, y, q, b)
    if not ok and tol > 1e-11:
        b, it2, _ = _interior_point(Z, y, c, tol=1e-11)
        bv, _, ok, piv2 = _vertex(Z, y, q, b)
        it, piv = it + it2, piv + piv2
    return b, bv, ok, it + piv


def lad(X, y, intercept: bool, *, seed: int = 0) -> LadResult:
    """Least absolute deviations fit of ``y`` on ``X`` (plus an intercept column when asked)."""
    n, p = X.shape
    k = p + int(intercept)
    m0 = int(((k + 1) * n) ** (2.0 / 3.0))
    rng = np.random.default_rng(seed)
    while n > 4 * m0 and n >= 20_000:
        res = _reduced(X, y, intercept, rng, m0)
        if res is not None:
            return _finish(X, y, intercept, *res, "preprocessed-interior-point+vertex")
        m0 *= 2
    Z = _design(X, None, intercept)
    return _finish(X, y, intercept, *_exact(Z, y, np.zeros(k), 1e-6), "interior-point+vertex")


def _finish(X, y, intercept, b_ip, b_vertex, certified, n_iter, method):
    obj_v = float(np.sum(np.abs(y - _predict(X, b_vertex, intercept))))
    if certified:
        return LadResult(b_vertex, obj_v, n_iter, True, method)
    obj_ip = float(np.sum(np.abs(y - _predict(X, b_ip, intercept))))
    if obj_ip < obj_v:
        return LadResult(b_ip, obj_ip, n_iter, False, method)
    return LadResult(b_vertex, obj_v, n_iter, False, method)


def _band(X, intercept, G0):
    r"""For every row, :math:`\sqrt{z_i^\top G_0^{-1} z_i}`: the spread of its subsample prediction."""
    L = np.linalg.cholesky(G0)
    W = np.linalg.inv(L).T  # z' W = (L^{-1} z)'
    n, p = X.shape
    out = np.empty(n)
    for lo in range(0, n, _CHUNK):
        A = X[lo : lo + _CHUNK] @ W[:p]
        if intercept:
            A += W[p]
        out[lo : lo + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", A, A))
    return out


def _reduced(X, y, intercept, rng, m0):
    """One Portnoy-Koenker attempt; ``None`` asks the caller to retry with a larger subsample."""
    n, p = X.shape
    k = p + int(intercept)
    # Sampling with replacement and dropping repeats avoids a permutation of all n rows.
    sub = np.sort(rng.integers(0, n, size=m0))
    found = _full_rank_rows(X, sub[np.r_[True, sub[1:] != sub[:-1]]], intercept)
    if found is None:
        return None
    sub, Z0 = found
    b0, it0, _ = _interior_point(Z0, y[sub], 0.5 * Z0.sum(axis=0), tol=1e-2)
    r = y - _predict(X, b0, intercept)
    band = _band(X, intercept, Z0.T @ Z0)
    u = r / np.maximum(band, 1e-300)
    M = min(n - 1, int(0.8 * m0))
    lo_rank = max(0, n // 2 - M // 2)
    hi_rank = min(n - 1, n // 2 + M // 2)
    part = np.partition(u, (lo_rank, hi_rank))
    low = u < part[lo_rank]
    high = u > part[hi_rank]
    keep = ~(low | high)
    total = it0
    for _ in range(20):
        # Every folded row must have its sign fixed by the kept ones: the kept design needs full rank.
        found = _full_rank_rows(X, np.flatnonzero(keep), intercept)
        if found is None:
            return None
        rows, Z = found
        keep[rows] = True
        high[rows] = False
        low[rows] = False
        ind = high.astype(np.float64) - low.astype(np.float64)
        q = np.empty(k)
        q[:p] = X.T @ ind
        if intercept:
            q[p] = ind.sum()
        yk = y[rows]
        # A loose tolerance suffices: the vertex stage pivots the last few rows into place.
        b, bv, ok, it = _exact(Z, yk, q, 1e-4)
        total += it
        r = y - _predict(X, bv, intercept)
        bad = (high & (r < 0)) | (low & (r > 0))
        nbad = int(bad.sum())
        if nbad == 0:
            return b, bv, ok, total
        if nbad > 0.1 * M:
            return None
        high &= ~bad
        low &= ~bad
        keep |= bad
    return None
