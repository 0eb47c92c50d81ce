"""NumPy kernel for LogSumExp: a cache-blocked single pass that merges per-chunk partial results.

The state of a partial reduction is the pair ``(m, r)``: ``m`` is the largest element seen and
``r = sum(exp(x_i - m))`` over every element *except one occurrence of the maximum*. Then

.. math:: \\mathrm{LSE}(x) = m + \\operatorname{log1p}(r),

and two states merge associatively (with :math:`m_1 \\ge m_2`):

.. math:: (m_1, r_1) \\oplus (m_2, r_2) = \\bigl(m_1,\\; r_1 + (1 + r_2)\\,e^{m_2 - m_1}\\bigr).

Keeping the maximum's own term (exactly 1) out of ``r`` is what makes ``log1p`` useful: for
``[0, -40]`` the answer is ``e^{-40}`` and ``1 + e^{-40}`` would round it away.

The blocks are sized to stay in cache, the input is read once, and blocks are spread over a small
thread pool (NumPy releases the GIL inside ufuncs). Partial results are merged in a fixed order, so
the answer does not depend on thread timing. Float16/32 input is computed in float64.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_BLOCK = 1 << 16  # elements per block: 512 KiB of float64 scratch, which stays in L2
_SMALL_K = 32  # rows shorter than this are reduced in a transposed (K, rows) layout
_PARALLEL_MIN = 1 << 20  # below this many elements, threads cost more than they save

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _num_threads() -> int:
    env = os.environ.get("DLMATH_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, min(os.cpu_count() or 1, 8))


def _get_pool(n: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < n:
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="dlmath")
        return _pool


def _run(tasks: list) -> None:
    """Run zero-argument callables, in parallel when there are several."""
    if len(tasks) == 1:
        tasks[0]()
        return
    pool = _get_pool(len(tasks))
    for fut in [pool.submit(t) for t in tasks]:
        fut.result()


def _rows_wide(X, m_out, r_out, start, stop, rb):
    """Rows ``start:stop`` of a 2-D ``X`` with long rows: (m, r) per row, ``rb`` rows per block."""
    K = X.shape[1]
    buf = np.empty((rb, K), dtype=np.float64)
    ar = np.arange(rb)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            n = j - i
            blk = X[i:j]
            b = buf[:n]
            idx = blk.argmax(axis=1)
            m = blk[ar[:n], idx].astype(np.float64)
            if np.isfinite(m).all():
                shift = m
            else:
                shift = np.where(np.isfinite(m), m, 0.0)
            np.subtract(blk, shift[:, None], out=b)
            np.exp(b, out=b)
            b[ar[:n], idx] = 0.0
            m_out[i:j] = m
            b.sum(axis=1, out=r_out[i:j])


def _rows_narrow(X, m_out, r_out, start, stop, rb):
    """Rows ``start:stop`` of a 2-D ``X`` with short rows (K < _SMALL_K), reduced column-wise.

    Reducing along a short contiguous axis is slow in NumPy; in the transposed block every
    operation is a long element-wise loop. The maximum's own term is removed by counting the
    terms equal to exactly 1 (``exp(0)``) and adding back all but one of them as an integer.
    """
    K = X.shape[1]
    buf = np.empty((K, rb), dtype=np.float64)
    mask = np.empty((K, rb), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(start, stop, rb):
            j = min(i + rb, stop)
            n = j - i
            b = buf[:, :n]
            mk = mask[:, :n]
            np.copyto(b, X[i:j].T)
            m = b.max(axis=0)
            if np.isfinite(m).all():
                shift = m
            else:
                shift = np.where(np.isfinite(m), m, 0.0)
            np.subtract(b, shift, out=b)
            np.exp(b, out=b)
            np.equal(b, 1.0, out=mk)
            cnt = mk.sum(axis=0)
            np.copyto(b, 0.0, where=mk)
            r = b.sum(axis=0)
            r += np.maximum(cnt - 1, 0)
            m_out[i:j] = m
            r_out[i:j] = r


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
        kernel, rb = _rows_narrow, max(1, _BLOCK // (2 * K))
    else:
        kernel, rb = _rows_wide, max(1, _BLOCK // K)
    nthreads = _num_threads() if X.size >= _PARALLEL_MIN else 1
    nblocks = -(-R // rb)
    nthreads = min(nthreads, nblocks)
    if nthreads == 1:
        kernel(X, m_out, r_out, 0, R, rb)
    else:
        per = -(-nblocks // nthreads) * rb
        _run(
            [
                (lambda a=a: kernel(X, m_out, r_out, a, min(a + per, R), rb))
                for a in range(0, R, per)
            ]
        )
    return m_out, r_out
