r"""NumPy kernel for the softmax Hessian-vector product, one read of the inputs and one write.

For each row, :math:`Hv = p \odot (v - p^\top v)` with :math:`p = e/s`, :math:`e = \exp(z - m)`,
:math:`s = \sum_k e_k`. A block of rows is processed while it sits in cache:

1. :math:`m` = the row maxima, :math:`e = \exp(z - m)` into a per-thread scratch buffer;
2. :math:`s = e\,\mathbf 1` and :math:`e^\top v` per row (BLAS matrix-vector and vector dots);
3. the output :math:`(v - e^\top v / s) \odot e / s`, written once.

When every row maximum lies in :math:`[0, 80]`, :math:`\exp(z)` can neither overflow nor lose
more to underflow than :math:`\exp(z - m)` does (the largest term is :math:`\ge 1`), and the
common factor :math:`e^{-m}` cancels in :math:`e/s`, so the subtraction pass is skipped.
The unshifted terms reach :math:`e^{80} \approx 5.5 \cdot 10^{34}`, so in float32 the sum of
6,200 of them, :math:`e^\top v` or :math:`(v - c) \odot e` for :math:`|v| \gtrsim 10^4` can
overflow; and for :math:`|v|` near the dtype's maximum :math:`e^\top v` or :math:`v - c` can overflow
even after the shift, though :math:`Hv` itself is at most :math:`\max|v|/2`. Such a block is
detected (non-finite sums, NumPy's overflow flag on the output passes) and computed again, with
the shift, then if need be by the general path of :mod:`dlmath.xent`, which also takes rows with
a non-finite maximum. Blocks are spread over the threads of :mod:`dlmath._parallel`; every row is
computed whole by one task.
"""

from __future__ import annotations

import numpy as np

from ._parallel import num_threads, run, scratch

_BLOCK = 1 << 18  # elements per block: 1 MiB of float32 scratch
_PARALLEL_MIN = 1 << 20  # below this many elements, threads cost more than they save
_TASKS_PER_THREAD = 4
_NO_SHIFT_MAX = 80.0  # exp(80) is finite in float32 (overflow starts near 88.7)


class _Overflowed:
    """NumPy's floating-point error callback (``errstate(over="call")``): records that one fired."""

    __slots__ = ("hit",)

    def __init__(self):
        self.hit = False

    def __call__(self, err, flag):
        self.hit = True


def _block(z, v, o, e, m, shift, ones, overflowed):
    """Hv of one block of rows into ``o``; False where an intermediate overflowed (``o`` is then junk)."""
    if shift:
        np.subtract(z, m, out=e)
        np.exp(e, out=e)
    else:
        np.exp(z, out=e)
    s = e @ ones
    ev = np.vecdot(e, v)
    if not (np.isfinite(s).all() and np.isfinite(ev).all()):
        return False  # s overflowed (unshifted), or e.v did (huge or non-finite v)
    inv = (z.dtype.type(1) / s)[:, None]
    c = ev[:, None] * inv
    overflowed.hit = False  # the caller's errstate reports overflows to it
    np.subtract(v, c, out=o)
    o *= e
    o *= inv
    return not overflowed.hit


def _rows(Z, V, out, start, stop, rb, general):
    K = Z.shape[1]
    dtype = Z.dtype
    if K <= _BLOCK:
        buf = scratch("hvp-e", (rb, K), dtype)
        ones = scratch("hvp-ones", (K,), dtype)
    else:  # one row is past a block: a thread-local scratch of that size would be held for good
        buf = np.empty((rb, K), dtype)
        ones = np.empty(K, dtype)
    ones.fill(1)
    overflowed = _Overflowed()
    with np.errstate(over="call", call=overflowed, invalid="ignore", divide="ignore", under="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            z, v, o = Z[i:j], V[i:j], out[i:j]
            m = z.max(axis=1, keepdims=True)
            if np.isfinite(m).all():
                e = buf[: j - i]
                shift = not (m.min() >= 0 and m.max() <= _NO_SHIFT_MAX)
                if _block(z, v, o, e, m, shift, ones, overflowed):
                    continue
                if not shift and _block(z, v, o, e, m, True, ones, overflowed):
                    continue
            o[...] = general(z, v)


def hvp_rows(Z, V, general):
    """Hv for every row of C-contiguous 2-D float arrays ``Z`` (logits) and ``V`` of one dtype.

    ``general(z, v)`` computes rows whose maximum is not finite.
    """
    R, K = Z.shape
    out = np.empty_like(Z)
    if R == 0 or K == 0:
        return out
    rb = max(1, _BLOCK // K)
    nblocks = -(-R // rb)
    nthreads = min(num_threads() if Z.size >= _PARALLEL_MIN else 1, nblocks)
    if nthreads == 1:
        _rows(Z, V, out, 0, R, rb, general)
        return out
    per = -(-nblocks // (_TASKS_PER_THREAD * nthreads)) * rb
    run([(lambda a=a: _rows(Z, V, out, a, min(a + per, R), rb, general)) for a in range(0, R, per)], nthreads)
    return out
