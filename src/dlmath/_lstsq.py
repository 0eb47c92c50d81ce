r"""Least squares for :func:`dlmath.fit.fit_linear`: an orthogonal factorisation, and the normal equations for teaching.

The SVD of the centred, column-scaled design costs conditioning digits once; the normal equations
:math:`X^\top X w = X^\top y` cost them twice, :math:`\kappa(X^\top X) = \kappa(X)^2`, and warn
with :class:`ConditioningWarning` when that matters.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._mest import gram, solve_spd, zt

__all__ = ["ConditioningWarning", "lstsq", "normal_equations"]


class ConditioningWarning(UserWarning):
    """The normal equations lost digits: :math:`\\kappa(X^\\top X) = \\kappa(X)^2` is large."""


def lstsq(X, y, intercept, ss=None):
    r"""``(w, b)`` by least squares: SVD of the centred design with unit-norm columns.

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


def normal_equations(X, y, intercept):
    r"""``(w, b)`` by the textbook solve :math:`(Z^\top Z)\beta = Z^\top y` (Cholesky); warns when digits are lost."""
    n, p = X.shape
    G = gram(X, np.ones(n), intercept)
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
            stacklevel=4,
        )
    beta = solve_spd(G, zt(X, y, intercept))
    return beta[:p].copy(), (float(beta[p]) if intercept else 0.0)
