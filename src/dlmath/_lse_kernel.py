"""NumPy kernel for LogSumExp: a cache-blocked single pass that merges per-chunk partial results.

The state of a partial reduction is the pair ``(m, r)``: ``m`` is the largest element seen and
``r = sum(exp(x_i - m))`` over every element *except one occurrence of the maximum*. Then

.. math:: \\mathrm{LSE}(x) = m + \\operatorname{log1p}(r),

and two states merge associatively (with :math:`m_1 \\ge m_2`):

.. math:: (m_1, r_1) \\oplus (m_2, r_2) = \\bigl(m_1,\\; r_1 + (1 + r_2)\\,e^{m_2 - m_1}\\bigr).

Keeping the maximum's own term (exactly 1) out of ``r`` is what makes ``log1p`` useful: for
``[0, -40]`` the answer is ``e^{-40}`` and ``1 + e^{-40}`` would round it away.

The blocks are sized to stay in cache, the input is read once, and blocks are spread over a small
thread pool (NumPy releases the GIL inside ufuncs). Every row is reduced by one thread, and long
rows are cut at fixed places and merged in a fixed order, so the answer does not depend on the
thread count or timing.

Float16/32 input is computed in float64 (``exp`` is told ``dtype=float64``: with only ``out=`` set,
NumPy would run the float32 loop and widen its result). There the subtraction pass is skipped
where it is safe (see :func:`_exp_shift`), which makes float32 cheaper per element than float64.
Measured costs per element on one core (AVX-512): float64 ``exp`` ~0.9 ns, a subtraction ~0.3 ns,
a row ``argmax`` ~0.07 ns; a masked write (``copyto(where=)``) with a mixed mask ~1-2 ns, which is
why the narrow kernel multiplies by its mask instead.
"""

from __future__ import annotations

import numpy as np

from ._parallel import num_threads, run, scratch

_BLOCK = 1 << 17  # elements per block of the wide kernel: 1 MiB of float64 scratch (L2)
_NARROW_BLOCK = 1 << 16  # elements per block of the narrow kernel: two 512 KiB float64 buffers
_SMALL_K = 32  # rows shorter than this are reduced in a transposed (K, rows) layout
_PARALLEL_MIN = 1 << 20  # below this many elements, threads cost more than they save
_EXP_SAFE = 600.0  # see _exp_shift
_CHUNKS_PER_THREAD = 4  # work items per thread in a parallel reduction


def _exp_shift(m, dtype):
    """Per-row shift ``c`` for ``exp(x - c)``, or ``None`` when no row needs one.

    Float64 input is always shifted by its maximum (non-finite maxima by 0: their sum is
    discarded): a common factor ``exp(-m)`` would add one correlated rounding error to every
    term, which shows in float64 where the result cancels to near 0. Float16/32 input is widened
    to float64, where that error is 2**-52 against a 2**-24 result, so where ``|m| <= 600`` (every
    ``exp(x_i)`` finite, and any term that underflows below ``e^{-100}`` of the maximum's) the
    subtraction pass is skipped and ``exp(-m)`` scales the sum instead.
    """
    finite = np.isfinite(m)
    if dtype != np.float64:
        ok = np.abs(m) <= _EXP_SAFE
        if ok.all():
            return None
        finite &= ~ok
    return np.where(finite, m, 0.0)


def _scale(s, m, c, r):
    """``r = s * exp(c - m)`` where ``m`` is finite, and 0 where it is not."""
    if c is None:
        np.multiply(s, np.exp(-m), out=r)
        return
    with np.errstate(invalid="ignore"):
        np.multiply(s, np.exp(c - m), out=r)
    r[~np.isfinite(m)] = 0.0


def _rows_wide(X, m_out, r_out, start, stop, rb):
    """Rows ``start:stop`` of a 2-D ``X`` with long rows: (m, r) per row, ``rb`` rows per block.

    The maximum's own term is removed by its index, so ties are kept as the exact 1s they are.
    """
    K = X.shape[1]
    buf = scratch("wide", (rb, K))
    ar = np.arange(rb)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            n = j - i
            blk = X[i:j]
            b = buf[:n]
            idx = blk.argmax(axis=1)
            m = blk[ar[:n], idx].astype(np.float64)
            c = _exp_shift(m, X.dtype)
            if c is None:
                np.exp(blk, out=b, dtype=np.float64)  # widens inside the loop: no extra pass
            else:
                np.subtract(blk, c[:, None], out=b)
                np.exp(b, out=b)
            b[ar[:n], idx] = 0.0
            m_out[i:j] = m
            _scale(b.sum(axis=1), m, c, r_out[i:j])


def _rows_narrow(X, m_out, r_out, start, stop, rb):
    """Rows ``start:stop`` of a 2-D ``X`` with short rows (K < _SMALL_K), reduced column-wise.

    Reducing along a short contiguous axis is slow in NumPy, and so is ``exp`` on a strided view;
    after one transposing copy every operation is a long contiguous loop. Masked writes
    (``copyto(where=)``) cost several times a plain pass, so the maximum's own term is removed
    arithmetically: after the shift every ``exp(x - m)`` lies in ``[0, 1]`` and equals 1 exactly at
    the maximum and its ties, so ``floor`` picks those out, subtracting it leaves the small terms,
    and all but one of the ties are added back as an integer after the small terms are summed.
    """
    K = X.shape[1]
    buf = scratch("narrow", (K, rb))
    ones = scratch("narrow-ones", (K, rb))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            b = buf[:, : j - i]
            np.copyto(b, X[i:j].T)
            m = b.max(axis=0)
            r = r_out[i:j]
            if np.isfinite(m).all():
                f = ones[:, : j - i]
                np.subtract(b, m, out=b)
                np.exp(b, out=b)
                np.floor(b, out=f)  # 1 at the maximum and its ties, else 0
                np.subtract(b, f, out=b)
                np.sum(b, axis=0, out=r)
                ties = f.sum(axis=0)
                ties -= 1.0
                r += ties
            else:
                _narrow_block_non_finite(b, m, r)
            m_out[i:j] = m


def _narrow_block_non_finite(b, m, r):
    """The narrow kernel's block (transposed, in ``b``) when some row's maximum is +-inf or NaN."""
    K = b.shape[0]
    lt = b < m
    c = np.where(np.isfinite(m), m, 0.0)
    np.subtract(b, c, out=b)
    np.exp(b, out=b)
    np.multiply(b, lt, out=b)
    _scale(b.sum(axis=0), m, c, r)
    ties = K - 1 - lt.sum(axis=0)  # entries equal to the maximum, less the one kept out of r
    np.add(r, ties, out=r, where=np.isfinite(m))


def merge(m, r, axis=-1):
    """Merge partial states ``(m, r)`` along ``axis`` (see the module docstring)."""
    m = np.moveaxis(m, axis, -1)
    r = np.moveaxis(r, axis, -1)
    if m.shape[-1] == 1:
        return m[..., 0], r[..., 0]
    with np.errstate(over="ignore", invalid="ignore"):
        idx = np.argmax(m, axis=-1)[..., None]
        top = np.take_along_axis(m, idx, axis=-1)
        fin = np.isfinite(top)
        w = np.exp(m - np.where(fin, top, 0.0))
        contrib = (1.0 + r) * w
        np.put_along_axis(contrib, idx, np.take_along_axis(r, idx, axis=-1), axis=-1)
        rest = contrib.sum(axis=-1)
        top = top[..., 0]
        # an all -inf (or empty) input keeps r = 0; a +inf or NaN maximum decides the result alone
        rest = np.where(fin[..., 0], rest, 0.0)
    return top, rest


def lse_state(X):
    """The state ``(m, r)`` of every row of a C-contiguous 2-D float array ``X`` (shape (R, K))."""
    R, K = X.shape
    m_out = np.empty(R, dtype=np.float64)
    r_out = np.empty(R, dtype=np.float64)
    if R == 0:
        return m_out, r_out
    if K == 0:
        m_out.fill(-np.inf)
        r_out.fill(0.0)
        return m_out, r_out
    if K > _BLOCK:
        # long rows: cut each row into blocks, reduce the blocks as rows, then merge per row
        q, tail = divmod(K, _BLOCK)
        ms = np.empty((R, q + (tail > 0)))
        rs = np.empty_like(ms)
        for row in range(R):
            body = X[row, : q * _BLOCK].reshape(q, _BLOCK)
            ms_row, rs_row = lse_state(body)
            ms[row, :q], rs[row, :q] = ms_row, rs_row
            if tail:
                mt, rt = lse_state(X[row, q * _BLOCK :][None, :])
                ms[row, q], rs[row, q] = mt[0], rt[0]
        return merge(ms, rs)
    if K < _SMALL_K:
        kernel, rb = _rows_narrow, max(1, _NARROW_BLOCK // K)
    else:
        kernel, rb = _rows_wide, max(1, _BLOCK // K)
    nthreads = num_threads() if X.size >= _PARALLEL_MIN else 1
    nblocks = -(-R // rb)
    nthreads = min(nthreads, nblocks)
    if nthreads == 1:
        kernel(X, m_out, r_out, 0, R, rb)
    else:
        # a few chunks per thread, taken as threads come free: a thread slowed by other work on
        # the machine does not hold up the rest. Each row is reduced whole by one task, so the
        # result is the same whichever thread takes it.
        per = -(-nblocks // (_CHUNKS_PER_THREAD * nthreads)) * rb
        tasks = [(lambda a=a: kernel(X, m_out, r_out, a, min(a + per, R), rb)) for a in range(0, R, per)]
        run(tasks, nthreads)
    return m_out, r_out
