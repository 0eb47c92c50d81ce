"""The public functions on torch tensors: validated arguments turned into calls of the ops of
:mod:`dlmath._torch`, with the options composed of torch operations around them.

Everything here is torch code that ``torch.compile(fullgraph=True)`` traces without a break and
``torch.func.vmap`` batches: no ``.cpu()``, no ``.item()``, no NumPy. Data checks run inside the
ops, and only on plain CPU tensors outside compile and vmap (:func:`dlmath._array.is_concrete`);
elsewhere a bad target gives NaN.
"""

from __future__ import annotations

import math

import array_api_compat.torch as xpt
import torch

from . import _lse_core as core
from . import _torch as ops
from . import _xent_core
from ._array import is_concrete
from ._torch_rows import BadRow

__all__ = ["logsumexp", "normalise", "smooth_max", "cross_entropy", "softmax_hvp", "ROWS"]

_RED = {"none": 0, "sum": 1, "mean": 2}


def _to_last(x, axes):
    """``(rows, undo)``: ``x`` with ``axes`` moved last and merged into one dimension, and the
    function that turns a result of that layout (same last length) back into ``x``'s layout."""
    n = x.dim()
    if axes == (n - 1,):
        return x, lambda y: y
    rest = [i for i in range(n) if i not in axes]
    perm = rest + list(axes)
    moved = x.permute(perm) if perm != list(range(n)) else x
    K = math.prod(x.shape[i] for i in axes)
    flat = moved.reshape(*[x.shape[i] for i in rest], K)
    inv = [perm.index(i) for i in range(n)]

    def undo(y):
        return y.reshape(moved.shape).permute(inv)

    return flat, undo


def _keep_shape(out, shape, axes, keepdims):
    if keepdims:
        return out.reshape([1 if i in axes else s for i, s in enumerate(shape)])
    return out


def _sign_of(out):
    """1 for a sum of exponentials > 0, 0 for an empty one, NaN for NaN."""
    sign = (out > -math.inf).to(out.dtype)
    return torch.where(torch.isnan(out), out, sign)


def logsumexp(x, axes, keepdims, b, return_sign, where):
    """:func:`dlmath.logsumexp` of a float tensor ``x`` (``axes`` normalised)."""
    if b is None:
        if where is not None:
            x = torch.where(where, x, -math.inf)
        flat, _ = _to_last(x, axes)
        out = _keep_shape(ops.logsumexp(flat), x.shape, axes, keepdims)
        return (out, _sign_of(out)) if return_sign else out
    wide = x.dtype in (torch.float16, torch.bfloat16)
    xc, bc = torch.broadcast_tensors(x.float() if wide else x, b.to(torch.float32 if wide else x.dtype))
    keep = None if where is None else torch.broadcast_to(where, xc.shape)
    val, sign = core.lse_signed(xpt, xc, axes, bc, keep)
    if not return_sign:
        val = core.fill_nan(xpt, sign < 0, val)
    if not keepdims:
        val, sign = (torch.squeeze(a, axes) if axes else a for a in (val, sign))
    val, sign = val.to(x.dtype), sign.to(x.dtype)
    return (val, sign) if return_sign else val


def normalise(x, axes, temperature, where, log):
    """:func:`dlmath.softmax` (``log``: :func:`dlmath.log_softmax`) of a float tensor."""
    if x.numel() == 0:
        return torch.zeros_like(x)
    if where is not None:
        x, where = torch.broadcast_tensors(x, where)
        x = torch.where(where, x, -math.inf)
    flat, undo = _to_last(x, axes)
    out = undo(ops.softmax(flat, temperature, log))
    if where is not None:
        out = torch.where(where, out, -math.inf if log else 0.0)
    return out


def smooth_max(x, axes, keepdims, temperature):
    """:math:`m + \\tau\\,\\mathrm{LSE}((x - m)/\\tau)`, the maximum ``m`` a constant for autograd."""
    flat, _ = _to_last(x, axes)
    m = flat.detach().amax(-1, keepdim=True)
    fin = torch.isfinite(m)
    m0 = torch.where(fin, m, torch.zeros_like(m))
    out = m0[..., 0] + temperature * ops.logsumexp((flat - m0) / temperature)
    out = torch.where(fin[..., 0], out, m[..., 0])
    return _keep_shape(out, x.shape, axes, keepdims)


class _OpRows(_xent_core.Rows):
    """The row primitives of :mod:`dlmath._xent_core` by the registered ops (masked classes at
    ``-inf``, which the kernels leave out of every sum)."""

    def __init__(self):
        super().__init__(xpt)

    @staticmethod
    def _masked(z, keep):
        return z if keep is None else torch.where(keep, z, -math.inf)

    def ce_index(self, z, t, keep=None):
        return ops.xent(self._masked(z, keep), t, 0, False)

    def ce_prob(self, z, q, keep=None):
        return ops.xent(self._masked(z, keep), q.to(z.dtype), 0, False)

    def grad_index(self, z, t, scale, keep=None):
        return ops.xent_grad(self._masked(z, keep), t, scale.to(z.dtype), 1.0, False)

    def grad_prob(self, z, q, scale, keep=None):
        return ops.xent_grad(self._masked(z, keep), q.to(z.dtype), scale.to(z.dtype), 1.0, False)


ROWS = _OpRows()


def cross_entropy(fname, z, kind, t, reduction, options, grad, on_bad):
    """The loss (or, with ``grad``, its gradient in ``z``) of class-last logits ``z``.

    ``options`` is None or ``(weight, ignore_index, eps, where_cls, where_row)``; ``on_bad(row)``
    raises the public error for the flat row ``row`` of a target the ops found bad.
    """
    check = is_concrete(z)
    if options is None:
        try:
            if not grad:
                return ops.xent(z, t, _RED[reduction], check)
            n = math.prod(z.shape[:-1])
            factor = 1.0 / n if reduction == "mean" and n else 1.0
            return ops.xent_grad(z, t, torch.ones((), dtype=z.dtype, device=z.device), factor, check)
        except BadRow as exc:
            on_bad(exc.row)
            raise
    weight, ignore_index, eps, where_cls, where_row = options
    pl = _xent_core.plan(
        xpt,
        fname,
        z,
        kind,
        t,
        weight=weight,
        ignore_index=ignore_index,
        eps=eps,
        context="the class axis",
        concrete=check,
        where_cls=where_cls,
        where_row=where_row,
    )
    if grad:
        return _xent_core.grad(xpt, ROWS, pl, z, reduction)
    return _xent_core.loss(xpt, ROWS, pl, z, reduction)


def softmax_hvp(z, v):
    return ops.hvp(z, v.to(z.dtype))
