"""Cross-entropy on NumPy arrays by the compiled row kernels: the whole loss or gradient where no
option is set, and the row primitives of :mod:`dlmath._xent_core` where options are."""

from __future__ import annotations

import math

import numpy as np

from . import _kernels, _xent_core
from ._array import cast
from ._lse_numpy import kernel_ok
from ._xent_args import restore, target_of

__all__ = ["KernelRows", "NUMPY_ROWS", "kernel_xent"]


class KernelRows(_xent_core.Rows):
    """NumPy's row primitives by the compiled kernels where no class is masked out."""

    def __init__(self):
        super().__init__(np)

    @staticmethod
    def _mat(z, q=None):
        K = z.shape[-1]
        Z = np.ascontiguousarray(z).reshape(-1, K)
        if q is None:
            return Z, None
        Q = np.broadcast_to(q, z.shape).reshape(-1, K)
        return Z, np.ascontiguousarray(Q) if Q.strides[-1] != Q.itemsize else Q

    def _ok(self, z, keep):
        return keep is None and kernel_ok(np, z) and z.size > 0

    def ce_index(self, z, t, keep=None):
        if not self._ok(z, keep):
            return super().ce_index(z, t, keep)
        Z, _ = self._mat(z)
        return _kernels.xent_rows(Z, np.asarray(t).reshape(-1)).reshape(z.shape[:-1])

    def ce_prob(self, z, q, keep=None):
        if not self._ok(z, keep):
            return super().ce_prob(z, q, keep)
        Z, Q = self._mat(z, cast(np, q, z.dtype))
        return _kernels.xent_rows(Z, Q).reshape(z.shape[:-1])

    def grad_index(self, z, t, scale, keep=None):
        if not self._ok(z, keep):
            return super().grad_index(z, t, scale, keep)
        Z, _ = self._mat(z)
        g = _kernels.xent_grad_rows(Z, np.asarray(t).reshape(-1)).reshape(z.shape)
        return g * np.expand_dims(scale, -1)

    def grad_prob(self, z, q, scale, keep=None):
        if not self._ok(z, keep):
            return super().grad_prob(z, q, scale, keep)
        Z, Q = self._mat(z, cast(np, q, z.dtype))
        return _kernels.xent_grad_rows(Z, Q).reshape(z.shape) * np.expand_dims(scale, -1)


NUMPY_ROWS = KernelRows()


def kernel_xent(fname, z, target, ax, logits_shape, kind, t, *, reduction, grad=False):
    """The loss (or, with ``grad``, its gradient) of NumPy logits by the compiled row kernels, which
    read the logits once; None where the NumPy path must decide (see below).

    The kernels check the class indices and weights as they read them; on a bad one the NumPy
    validation runs and raises its own error. It can also pass: a float64 weight past float32's
    range is finite before the cast to the logits' dtype, inf after it. Such a call returns None and
    is computed by the NumPy path.
    """
    K = z.shape[-1]
    Z = np.ascontiguousarray(z).reshape(-1, K)
    R = Z.shape[0]
    T = t.reshape(R) if kind == "index" else np.ascontiguousarray(t).reshape(R, K)
    try:
        if grad:
            n = R if reduction == "mean" else 1
            g = _kernels.xent_grad_rows(Z, T, scale=1.0 / n if n else 1.0)
            return restore(np, g.reshape(z.shape), ax)
        per = _kernels.xent_rows(Z, T, dtype=z.dtype if reduction == "none" else np.float64)
    except (IndexError, ValueError):
        target_of(fname, np, z, target, ax, logits_shape)
        return None
    per = per.reshape(z.shape[:-1])
    if reduction == "none":
        return per
    # the per-example losses in float64, summed there; under 8 of them np.sum adds them in order,
    # as sum() does, at a fifth of the cost of a NumPy reduction
    total = np.float64(sum(per.ravel().tolist())) if R < 8 else per.sum()
    if reduction == "mean":
        total = total / R if R else np.float64(math.nan)
    return cast(np, total, z.dtype)
