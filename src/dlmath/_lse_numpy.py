"""The compiled kernels' side of the LogSumExp family on NumPy arrays: the rows the kernels read, the
dtypes they take, and the NumPy kernel of :mod:`dlmath._lse_kernel` where they are missing."""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from ._array import is_np_bfloat16, is_numpy, reduced_shape

__all__ = ["quiet", "kernel_dtype", "kernel_ok", "rows", "numpy_lse", "kernel_normalise"]

_KERNEL_DTYPES = (np.float16, np.float32, np.float64)
_out_shape = reduced_shape


def quiet():
    """NumPy's floating-point flags off: the formulas make their infinities and NaNs on purpose."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def kernel_dtype(dtype) -> bool:
    return dtype.type in _KERNEL_DTYPES or is_np_bfloat16(dtype)


def rows(x, axes):
    """``(X, order)``: ``x`` with ``axes`` moved last as a C-contiguous ``(R, K)`` matrix (a view
    when ``x`` already is one), and the axis order used (None when unchanged)."""
    n = x.ndim
    if axes == tuple(range(n - len(axes), n)) and x.flags.c_contiguous:  # already rows: a view
        K = math.prod(x.shape[n - len(axes) :])
        return x.reshape(-1 if K else math.prod(x.shape[: n - len(axes)]), K), None
    rest = [i for i in range(n) if i not in axes]
    order = rest + list(axes)
    if order == list(range(n)):
        order = None
    xt = x if order is None else np.transpose(x, order)
    K = math.prod(x.shape[i] for i in axes)
    R = math.prod(x.shape[i] for i in rest)
    return np.ascontiguousarray(xt).reshape(R, K), order


def numpy_lse(x, axes, keepdims):
    from . import _lse_kernel

    if not kernel_dtype(x.dtype) or (is_np_bfloat16(x.dtype) and not _kernels.available()):
        # long double: the kernel works in float64, whose range and precision it would lose
        # (1e4000 became inf); the generic path computes in the input's own dtype
        return None
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))  # big-endian '>f8' is float64 to the kernel
    X, _ = rows(x, axes)
    if _kernels.available():
        if X.size == 0:
            return np.full(_out_shape(x.shape, axes, keepdims), -math.inf, dtype=x.dtype)
        return _kernels.lse_rows(X).reshape(_out_shape(x.shape, axes, keepdims))
    m, r = _lse_kernel.lse_state(X)  # fresh arrays: safe to overwrite
    # over: float16 in, an LSE above 65520 (9e6 entries of 65504) rounds to inf in the cast back
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.add(m, np.log1p(r, out=r), out=m)
        out = out.astype(x.dtype, copy=False)
    return out.reshape(_out_shape(x.shape, axes, keepdims))


def kernel_ok(xp, x):
    """True when the compiled kernels take this NumPy array (float16/32/64 or bfloat16, native byte
    order)."""
    return is_numpy(xp) and kernel_dtype(x.dtype) and x.dtype.isnative and _kernels.available()


def kernel_normalise(x, axes, tau, log):
    """softmax (or log-softmax) over ``axes`` by the row kernels: one read, one write."""
    X, order = rows(x, axes)
    out = _kernels.softmax_rows(X, log=log, temperature=tau)
    if order is None:
        return out.reshape(x.shape)
    return out.reshape([x.shape[i] for i in order]).transpose(np.argsort(order))
