r"""The LogSumExp family as array-API formulas, for every namespace the compiled kernels do not serve.

One source for NumPy's option paths (``b=``, ``where=``), array-API namespaces, JAX (inside the
``custom_jvp`` rules of :mod:`dlmath._jax`) and torch tensors off the CPU (inside the ops of
:mod:`dlmath._torch`). Every function reduces over ``axes`` with the reduced axes kept (length 1),
in the dtype it is given; callers widen float16/bfloat16 to float32 first and round the result once.

No branch that a ``where`` leaves untaken builds ``inf`` or NaN from finite input, so
``jax.debug_nans`` and ``jax.debug_infs`` stay quiet (and no NaN reaches a gradient through an
untaken branch): entries left out by a mask take the finite sentinel ``finfo.min`` before any
arithmetic, and the non-finite answers of the edge cases (an empty sum's ``-inf``, NaN for an
undefined softmax) are made by :func:`fill_neg_inf` and :func:`fill_nan` only where they apply.
Where a mask leaves ``finfo.min`` itself as the maximum, no entry's exponential is 1 and the slice
is recognised as empty (or all ``-inf``).

With :math:`m` the maximum and :math:`r = \sum_{i \ne i^\ast} e^{x_i - m}` (one occurrence of
the maximum left out), :math:`\mathrm{LSE} = m + \operatorname{log1p}(r)`; with weights ``b``
(SciPy's and JAX's ``b=``), :math:`\log\lvert\sum_i b_i e^{x_i}\rvert
= m + \log\lvert B\rvert + \operatorname{log1p}(S/B)`, where :math:`B` sums the signs of ``b``
over the maxima of :math:`x_i + \log\lvert b_i\rvert` and :math:`S` the signed rest, as
:func:`scipy.special.logsumexp` does (doi:10.1093/imanum/draa038).
"""

from __future__ import annotations

import math

__all__ = ["lse", "state", "lse_of_state", "lse_signed", "normalise", "fill_nan", "fill_neg_inf", "lowest"]


def lowest(xp, dtype):
    """The most negative finite value of ``dtype``: the sentinel of masked-out entries."""
    return float(xp.finfo(dtype).min)


def _const(xp, value, like):
    return xp.full_like(like, value)


def fill_nan(xp, bad, a):
    """``a`` with NaN where ``bad``, made as ``log(-1)`` only there (``log(1) = 0`` elsewhere)."""
    one = xp.ones_like(a)
    return a + xp.log(xp.where(bad, -one, one))


def fill_neg_inf(xp, bad, a):
    """``a`` with ``-inf`` where ``bad``, made as ``log(0)`` only there."""
    one = xp.ones_like(a)
    return xp.where(bad, xp.log(xp.where(bad, xp.zeros_like(a), one)), a)


def _masked_max(xp, x, axes, keep):
    if keep is None:
        return xp.max(x, axis=axes, keepdims=True)
    return xp.max(xp.where(keep, x, _const(xp, lowest(xp, x.dtype), x)), axis=axes, keepdims=True)


def _shifted(xp, x, m, axes, keep, tau=1.0):
    """``(d, fin, m0)``: ``d = (x - m0) / tau`` with masked-out entries at the sentinel, ``fin``
    where the maximum is finite and ``m0`` the maximum there (0 elsewhere)."""
    fin = xp.isfinite(m)
    m0 = xp.where(fin, m, xp.zeros_like(m))
    d = x - m0
    if tau != 1.0:
        d = d / tau  # after the shift: the maximum's own entry stays exactly 0
    if keep is not None:
        d = xp.where(keep, d, _const(xp, lowest(xp, x.dtype), d))
    return d, fin, m0


def _rest(xp, e, axes):
    """``(small, count)``: the sum of the terms below 1 and the number equal to 1 (the maximum and
    its ties), so the small terms are never rounded against 1."""
    top = e == 1
    small = xp.sum(xp.where(top, xp.zeros_like(e), e), axis=axes, keepdims=True)
    count = xp.sum(xp.astype(top, e.dtype), axis=axes, keepdims=True)
    return small, count


def lse(xp, x, axes, keep=None):
    """:math:`m + \\operatorname{log1p}(r)` over ``axes`` (kept), entries where ``keep`` is False
    left out; ``-inf`` for an empty or all ``-inf`` slice, ``+inf`` with an ``inf`` and no NaN, NaN
    with a NaN."""
    return lse_of_state(xp, *state(xp, x, axes, keep))


def lse_of_state(xp, m, m0, r, fin, has):
    """:func:`lse` from :func:`state`'s ``(m, m0, r, fin, has)``."""
    return fill_neg_inf(xp, fin & ~has, xp.where(fin, m0 + xp.log1p(r), m))


def state(xp, x, axes, keep=None):
    """``(m, m0, r, fin, has)`` over ``axes`` (kept): the maximum, the maximum where it is finite
    (0 elsewhere), :math:`r = \\sum_{i \\ne i^\\ast} e^{x_i - m}`, where the maximum is finite,
    and where any entry is kept. :math:`\\mathrm{LSE} = m + \\operatorname{log1p}(r)` where
    ``fin & has``; a cross-entropy is :math:`(m - x_t) + \\operatorname{log1p}(r)`, which keeps
    the tiny loss of a confident right prediction that :math:`\\mathrm{LSE} - x_t` rounds to 0."""
    m = _masked_max(xp, x, axes, keep)
    d, fin, m0 = _shifted(xp, x, m, axes, keep)
    small, count = _rest(xp, xp.exp(d), axes)
    has = count > 0
    r = xp.where(has, small + (count - 1), xp.zeros_like(small))
    return m, m0, r, fin, has


def lse_signed(xp, x, axes, b, keep=None):
    """``(log|sum b e^x|, sign)`` over ``axes`` (kept). Entries with ``b == 0`` or ``keep`` False
    take no part, even where ``x`` is ``inf`` or NaN (SciPy's and JAX's rule); an empty sum gives
    ``(-inf, 0)``."""
    incl = b != 0
    if keep is not None:
        incl = incl & keep
    one = xp.ones_like(b)
    zero = xp.zeros_like(b)
    u = x + xp.log(xp.where(incl, xp.abs(b), one))
    m = _masked_max(xp, u, axes, incl)
    d, fin, m0 = _shifted(xp, u, m, axes, incl)
    e = xp.exp(d)
    sb = xp.where(incl, xp.sign(b), zero)
    top = e == 1
    B = xp.sum(xp.where(top, sb, zero), axis=axes, keepdims=True)
    S = xp.sum(xp.where(top, zero, sb * e), axis=axes, keepdims=True)
    onek = xp.ones_like(B)
    nz = B != 0
    Bs = xp.where(nz, B, onek)
    q = xp.where(nz, S / Bs, xp.zeros_like(S))
    mirrored = q < -1  # |1 + q| = 1 + (-2 - q) there
    lq = xp.log1p(xp.where(mirrored, -2 - q, q))
    val_b = m0 + xp.log(xp.abs(Bs)) + lq
    sign_b = xp.sign(Bs) * xp.sign(1 + q)
    Ss = xp.where(nz, onek, S)
    val_s = m0 + xp.log(xp.abs(Ss))
    val = xp.where(nz, val_b, val_s)
    sign = xp.where(nz, sign_b, xp.sign(Ss))
    return val, sign


def normalise(xp, x, axes, tau=1.0, keep=None, log=False):
    """Softmax (or, with ``log``, log-softmax) of ``x / tau`` over ``axes``.

    Entries where ``keep`` is False get 0 (``-inf`` for the log) and take no part, as
    ``jax.nn.softmax(where=)``; a slice with nothing kept is all 0 (all ``-inf``). Where the
    maximum is ``+inf`` the mass is shared by the infinite entries (the limit); a slice of all
    ``-inf`` (among the kept entries) or holding NaN gives NaN.
    """
    m = _masked_max(xp, x, axes, keep)
    d, fin, _ = _shifted(xp, x, m, axes, keep, tau)
    dt = x.dtype
    top = x == m if keep is None else (x == m) & keep
    at_inf = xp.astype(top, dt)  # the infinite maximum's entries, where fin is False
    e = xp.where(fin, xp.exp(d), at_inf)
    if log:
        small, count = _rest(xp, e, axes)
        has = count > 0
        r = xp.where(has, small + (count - 1), xp.zeros_like(small))
        one = xp.ones_like(e)
        at_top = xp.log(xp.where(fin, one, e)) - xp.log(xp.where(fin, xp.ones_like(count), count))
        out = xp.where(fin, d - xp.log1p(r), at_top)
        bad = xp.isnan(m) | (m == -math.inf) | (fin & ~has)
    else:
        s = xp.sum(e, axis=axes, keepdims=True)
        pos = s > 0
        out = e / xp.where(pos, s, xp.ones_like(s))
        bad = xp.isnan(m) | (m == -math.inf) | ~pos
    if keep is not None:
        kept = xp.any(xp.broadcast_to(keep, x.shape), axis=axes, keepdims=True)
        bad = bad & kept
        out = fill_nan(xp, bad, out)
        if log:
            return fill_neg_inf(xp, ~keep, out)
        return xp.where(keep, out, xp.zeros_like(out))
    return fill_nan(xp, bad, out)
