r"""Design preprocessing for :func:`dlmath.fit.fit_linear`: validation, rescaling, centring, rank.

Every step here changes the data, not the model: the fitters are equivariant to exact power-of-two
rescaling of the columns and of :math:`y`, to moving a column's mean into the intercept, and to
dropping columns that depend linearly on the others (which get coefficient 0), so each one can
be undone on the coefficients exactly.
"""

from __future__ import annotations

import numpy as np

from ._array import float_input
from ._mest import gram

__all__ = ["validate", "rescale", "offsets", "independent_columns"]


def validate(X, y, fn="fit_linear"):
    """``(X, y, ss)``: float64 NumPy copies of the data, checked, and the sums of squares of the columns then ``y``."""
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


def rescale(X, y, ss):
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


def offsets(X, ss=None):
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


def independent_columns(X, intercept, *, tol=1e-9, sample=20_000):
    r"""Columns of ``X`` to keep when the design is rank-deficient, or ``None`` when it has full rank.

    Greedy in column order (the intercept first): column :math:`j` is dropped when its distance to
    the span of the kept ones is below ``tol`` times its norm, measured in the Gram matrix. A row
    subsample of full rank proves the full design has full rank, so the full Gram matrix is formed
    only when the subsample is deficient.
    """
    n, p = X.shape
    if n > sample:
        rows = np.random.default_rng(0).integers(0, n, sample)
        keep = _greedy_rank(gram(X[rows], np.ones(sample), intercept), intercept, tol)
        if keep.all():
            return None
    keep = _greedy_rank(gram(X, np.ones(n), intercept), intercept, tol)
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
