r"""NumPy kernel for the softmax Hessian-vector product, one read of the inputs and one write.

For each row, :math:`Hv = p \odot (v - p^\top v)` with :math:`p = e/s`, :math:`e = \exp(z - m)`,
:math:`s = \sum_k e_k`. A block of rows is processed while it sits in cache:

1. :math:`m` = the row maxima, :math:`e = \exp(z - m)` into a per-thread scratch buffer;
2. :math:`s = e\,\mathbf 1` and :math:`e^\top v` per row (BLAS matrix-vector and vector dots);
3. the output :math:`(v - e^\top v / s) \odot e / s`, written once.

When every row maximum lies in :math:`[0, 80]`, :math:`\exp(z)` can neither overflow nor lose
more to underflow than :math:`\exp(z - m)` does (the largest term is :math:`\ge 1`), and the
common factor :math:`e^{-m}` cancels in :math:`e/s`, so the subtraction pass is skipped.
Rows with a non-finite maximum take the general path of :mod:`dlmath.xent`. Blocks are spread
over the threads of :mod:`dlmath._parallel`; every row is computed whole by one task.
"""

from __future__ import annotations

import numpy as np

from ._parallel import num_threads, run, scratch

_BLOCK = 1 << 18  # elements per block: 1 MiB of float32 scratch
_PARALLEL_MIN = 1 << 20  # below this many elements, threads cost more than they save
_TASKS_PER_THREAD = 4
_NO_SHIFT_MAX = 80.0  # exp(80) is finite in float32 (overflow starts near 88.7)


def _rows(Z, V, out, start, stop, rb, general):
    K = Z.shape[1]
    dtype = Z.dtype
    buf = scratch("hvp-e", (rb, K), dtype)
    ones = scratch("hvp-ones", (K,), dtype)
    ones.fill(1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            z, v, o = Z[i:j], V[i:j], out[i:j]
            m = z.max(axis=1, keepdims=True)
            if not np.isfinite(m).all():
                o[...] = general(z, v)
                continue
            e = buf[: j - i]
            if m.min() >= 0 and m.max() <= _NO_SHIFT_MAX:
                np.exp(z, out=e)
            else:
                np.subtract(z, m, out=e)
                np.exp(e, out=e)
            inv = dtype.type(1) / (e @ ones)[:, None]
            c = np.vecdot(e, v)[:, None] * inv
            np.subtract(v, c, out=o)
            o *= e
            o *= inv


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
