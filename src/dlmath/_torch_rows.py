"""The bodies of dlmath's torch ops, over the last dimension of any leading shape.

On CPU tensors of float64, float32, float16 or bfloat16 the compiled row kernels of
:mod:`dlmath._kernels` read the tensor's memory by address: rows with unit stride (any row stride,
even 0 for an expanded target) are used as they are, other layouts are made contiguous once.
float16 and bfloat16 are computed in float32 inside the kernels and rounded once. Everywhere else
(other devices, or without the kernels) the array-API formulas of :mod:`dlmath._lse_core` and
:mod:`dlmath._xent_core` run on torch operations, half types widened to float32. Nothing here
reads a value off the device: a bad class index or weight gives NaN for its row, unless ``check``
asks a CPU call to raise :class:`BadRow` (the public functions turn it into their own message).
"""

from __future__ import annotations

import math

import array_api_compat.torch as xpt
import torch

from . import _kernels, _xent_core
from . import _lse_core as core

__all__ = ["BadRow", "lse", "normalise", "normalise_backward", "xent", "xent_grad", "hvp"]

CODES = {torch.float64: 0, torch.float32: 1, torch.float16: 2, torch.bfloat16: 3}
TCODES = {torch.int64: 0, torch.int32: 1}
REDUCTIONS = ("none", "sum", "mean")
ROWS = _xent_core.Rows(xpt)


class BadRow(ValueError):
    """A class index out of range, or a negative or non-finite weight, in row ``row`` (flat)."""

    def __init__(self, row):
        super().__init__(f"the target of row {row} is not valid")
        self.row = row


def _fresh_rows(R, K, dtype):
    """An (R, K) tensor for a kernel to fill, advised onto huge pages where it is large."""
    out = torch.empty((R, K), dtype=dtype)
    _kernels.fresh(out.data_ptr(), out.numel() * out.element_size())
    return out


def _native(x):
    return x.is_cpu and x.dtype in CODES and x.numel() > 0 and _kernels.available()


def _matrix(x):
    """``(X, R, K, ld)``: ``x`` as ``(R, K)`` rows with unit stride (a view where one exists)."""
    if x.dim() == 2:
        R, K = x.shape
        if K <= 1 or x.stride(1) == 1:
            return x, R, K, (x.stride(0) if R > 1 else K)
    K = x.shape[-1]
    R = math.prod(x.shape[:-1])
    X = x.reshape(R, K)
    if K > 1 and X.stride(1) != 1:
        X = X.contiguous()
    return X, R, K, (X.stride(0) if R > 1 else K)


def _wide(x):
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def lse(x):
    """:math:`\\log\\sum_k e^{x_k}` over the last dimension, in ``x``'s dtype."""
    K = x.shape[-1]
    if K == 0:
        return x.new_full(x.shape[:-1], -math.inf)
    if not _native(x):
        xc = _wide(x)
        return core.lse(xpt, xc, (xc.ndim - 1,))[..., 0].to(x.dtype)
    X, R, K, ld = _matrix(x)
    out = x.new_empty(R)
    if K > 2 * _kernels.SPAN:
        if x.dtype == torch.bfloat16:
            return core.lse(xpt, X.float(), (1,))[..., 0].to(x.dtype).reshape(x.shape[:-1])
        _kernels.lse_rows(X.numpy(), out=out.numpy())
    else:
        code = CODES[x.dtype]
        _kernels.call("lse", R, K, (code, X.data_ptr(), K, ld), (out.data_ptr(), code))
    return out.reshape(x.shape[:-1])


def normalise(x, temperature, log):
    """Softmax (or log-softmax) of ``x / temperature`` over the last dimension."""
    if x.numel() == 0:
        return torch.zeros_like(x)
    if not _native(x):
        xc = _wide(x)
        return core.normalise(xpt, xc, (xc.ndim - 1,), temperature, log=log).to(x.dtype)
    X, R, K, ld = _matrix(x)
    out = _fresh_rows(R, K, x.dtype)
    _kernels.call(
        "softmax",
        R,
        K,
        (CODES[x.dtype], X.data_ptr(), K, ld),
        (out.data_ptr(), K, 1.0 / temperature, int(log)),
    )
    return out.reshape(x.shape)


def normalise_backward(y, g, temperature, log):
    """The backward of :func:`normalise` from its output ``y``: ``y (g - y.g) / tau`` (log-softmax:
    ``(g - e^y sum g) / tau``) over the last dimension; torch's own fused backward off the CPU."""
    if g.dtype != y.dtype or g.device != y.device:
        g = g.to(y)
    if not (_native(y) and g.is_cpu):
        back = torch._log_softmax_backward_data if log else torch._softmax_backward_data
        gx = back(g, y, -1, y.dtype)
        return gx if temperature == 1.0 else gx / temperature
    Y, R, K, ld = _matrix(y)
    G, _, _, ldg = _matrix(g)
    out = _fresh_rows(R, K, y.dtype)
    _kernels.call(
        "softmax_bwd",
        R,
        K,
        (CODES[y.dtype], Y.data_ptr(), K, ld, G.data_ptr(), ldg),
        (out.data_ptr(), K, 1.0 / temperature, int(log)),
    )
    return out.reshape(y.shape)


def _target(t, R):
    """``(T, code or ld)``: class indices as a flat int32/int64 tensor, or weights as rows."""
    if t.dtype.is_floating_point:
        T, _, _, ld = _matrix(t)
        return T, ld
    T = t if t.dim() == 1 else t.reshape(R)
    if T.dtype not in TCODES:
        T = T.to(torch.int64)
    if not T.is_contiguous():
        T = T.contiguous()
    return T, TCODES[T.dtype]


def _composite_per_row(z, t):
    """Per-row cross-entropy by torch operations; NaN where the target is not valid."""
    zc = _wide(z)
    K = z.shape[-1]
    if t.dtype.is_floating_point:
        y = t.to(zc.dtype)
        bad = torch.any(~(y >= 0) | ~torch.isfinite(y), dim=-1)
        per = ROWS.ce_prob(zc, torch.where(bad.unsqueeze(-1), torch.zeros_like(y), y))
    else:
        bad = (t < 0) | (t >= K)
        per = ROWS.ce_index(zc, torch.where(bad, torch.zeros_like(t), t).long())
    return core.fill_nan(xpt, bad, per), bad


def _reduce(per, reduction, dtype):
    if reduction == "none":
        return per.to(dtype)
    total = per.sum()
    if reduction == "mean":
        total = total / per.numel() if per.numel() else total * math.nan
    return total.to(dtype)


def xent(z, t, reduction, check):
    """Cross-entropy per row (``reduction`` "none"), or their sum or mean; ``t`` holds class
    indices (``z``'s shape without the last dimension) or weights (``z``'s shape and dtype)."""
    K = z.shape[-1]
    R = math.prod(z.shape[:-1])
    if not _native(z) or K == 0:
        per, bad = _composite_per_row(z, t)
        if check and per.device.type == "cpu" and bool(bad.any()):
            raise BadRow(int(torch.nonzero(bad.reshape(-1))[0, 0]))
        return _reduce(per, reduction, z.dtype)
    Z, R, K, ld = _matrix(z)
    T, tc = _target(t, R)
    code = CODES[z.dtype]
    odt = code if reduction == "none" else 0
    loss = torch.empty(R, dtype=z.dtype if reduction == "none" else torch.float64)
    name = "xent_prob" if t.dtype.is_floating_point else "xent_index"
    bad = _kernels.call(name, R, K, (code, Z.data_ptr(), K, ld, T.data_ptr(), tc), (loss.data_ptr(), 0, odt))
    if bad >= 0:
        if check:
            raise BadRow(bad)
        per, _ = _composite_per_row(z, t)
        return _reduce(per, reduction, z.dtype)
    if reduction == "none":
        return loss.reshape(z.shape[:-1])
    total = float(loss.numpy().sum())  # the per-row losses are float64: summed there
    return torch.full((), total / R if reduction == "mean" else total, dtype=z.dtype)


def _uniform(scale):
    """The common value of ``scale`` as a float, or None where its entries differ."""
    if scale.dim() == 0:
        return float(scale)
    if scale.numel() == 0:
        return 1.0
    flat = scale.reshape(-1)
    first = flat[0]
    if all(s == 0 for s in scale.stride()) or bool(torch.all(flat == first)):
        return float(first)
    return None


def xent_grad(z, t, scale, factor=1.0, check=False):
    """``factor * scale * ((sum_k y_k) p - y)`` per row (``scale`` 0-d or of the batch shape)."""
    K = z.shape[-1]
    if factor != 1.0:
        scale = scale * factor
    if not _native(z) or K == 0:
        return _composite_grad(z, t, scale, check)
    Z, R, K, ld = _matrix(z)
    T, tc = _target(t, R)
    s = _uniform(scale)
    out = _fresh_rows(R, K, z.dtype)
    code = CODES[z.dtype]
    name = "xent_grad_prob" if t.dtype.is_floating_point else "xent_grad_index"
    pre = (code, Z.data_ptr(), K, ld, T.data_ptr(), tc)
    bad = _kernels.call(name, R, K, pre, (1.0 if s is None else s, out.data_ptr(), K, 0, 0, code))
    if bad >= 0:
        return _composite_grad(z, t, scale, check)
    if s is None:
        out.mul_(scale.reshape(R, 1).to(out.dtype))
    return out.reshape(z.shape)


def _composite_grad(z, t, scale, check):
    zc = _wide(z)
    K = z.shape[-1]
    s = torch.broadcast_to(scale.to(zc.dtype), z.shape[:-1])
    if t.dtype.is_floating_point:
        y = t.to(zc.dtype)
        bad = torch.any(~(y >= 0) | ~torch.isfinite(y), dim=-1)
        g = ROWS.grad_prob(zc, torch.where(bad.unsqueeze(-1), torch.zeros_like(y), y), s)
    else:
        bad = (t < 0) | (t >= K)
        g = ROWS.grad_index(zc, torch.where(bad, torch.zeros_like(t), t).long(), s)
    if check and g.device.type == "cpu" and bool(bad.any()):
        raise BadRow(int(torch.nonzero(bad.reshape(-1))[0, 0]))
    return core.fill_nan(xpt, bad.unsqueeze(-1), g).to(z.dtype)


def hvp(z, v):
    """:math:`p \\odot v - p\\,(p^\\top v)` per row, :math:`p` the softmax of ``z``."""
    if z.numel() == 0:
        return torch.zeros_like(z)
    if not _native(z) or v.dtype != z.dtype or v.device != z.device:
        zc = _wide(z)
        p = core.normalise(xpt, zc, (zc.ndim - 1,))
        return _xent_core.hvp(xpt, p, v.to(zc.dtype)).to(z.dtype)
    Z, R, K, ld = _matrix(z)
    V, _, _, ldv = _matrix(v)
    out = _fresh_rows(R, K, z.dtype)
    _kernels.call("hvp", R, K, (CODES[z.dtype], Z.data_ptr(), K, ld, V.data_ptr(), ldv), (out.data_ptr(), K))
    return out.reshape(z.shape)
