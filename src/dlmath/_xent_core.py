r"""Cross-entropy's options as array-API formulas over rows (the class axis last), for every backend.

A call is reduced to an *effective target* per row and two row primitives. With :math:`K`
classes, class weights :math:`w` (1 without ``weight``), label smoothing :math:`\varepsilon` and
:math:`\rho_i \in \{0, 1\}` (row ``i`` takes part: not ``ignore_index``, kept by ``where``),

.. math::
    \ell_i = \rho_i\Bigl[(1 - \varepsilon)\,c_i\,\mathrm{CE}(z_i, y_i)
             + \tfrac{\varepsilon}{K}\,\mathrm{CE}(z_i, w)\Bigr],
    \qquad \mathrm{CE}(z, q) = -\sum_k q_k \log \mathrm{softmax}(z)_k ,

where a class index :math:`t_i` is the one-hot target with :math:`c_i = w_{t_i}`, and a
probability target is :math:`y_i \odot w` with :math:`c_i = 1` (PyTorch's
``F.cross_entropy(weight=, ignore_index=, label_smoothing=)``). ``reduction="mean"`` divides the
sum by :math:`\sum_i \rho_i w_{t_i}` for class indices and by :math:`\sum_i \rho_i` for
probabilities, as PyTorch does. The gradient in the logits is, row by row,
:math:`\rho_i[(1 - \varepsilon)c_i((\textstyle\sum_k y_{ik})p_i - y_i)
+ \tfrac{\varepsilon}{K}((\textstyle\sum_k w_k)p_i - w)]`, scaled like the reduction.

Each backend supplies the row primitives (:class:`Rows`): the compiled kernels for NumPy, the
registered ops for torch, ``custom_jvp`` functions for JAX, the formulas below otherwise.
"""

from __future__ import annotations

import math

from . import _lse_core as core
from ._array import is_concrete

__all__ = ["Rows", "Plan", "plan", "loss", "grad", "hvp"]


class Rows:
    """The row primitives of one namespace by the formulas of :mod:`dlmath._lse_core`.

    ``log_softmax(z, keep)`` and ``softmax(z, keep)`` may be replaced by differentiable versions
    (JAX's ``custom_jvp`` functions); masked-out classes of ``log_softmax`` may hold any finite
    value, which :meth:`ce_prob` never reads.
    """

    def __init__(self, xp, log_softmax=None, softmax=None):
        self.xp = xp
        last = (-1,)
        self.log_softmax = log_softmax or (lambda z, keep: core.normalise(xp, z, last, keep=keep, log=True))
        self.softmax = softmax or (lambda z, keep: core.normalise(xp, z, last, keep=keep))

    def ce_index(self, z, t, keep=None):
        """:math:`\\mathrm{LSE}(z) - z_t` per row, computed as :math:`(m - z_t) +
        \\operatorname{log1p}(r)`, for valid indices ``t``; where the row holds
        ``+inf``, the limit: :math:`\\log n` if :math:`z_t` is one of the :math:`n` infinite
        entries, else ``+inf``."""
        xp = self.xp
        zt = xp.take_along_axis(z, xp.expand_dims(t, axis=-1), axis=-1)
        top = z == math.inf if keep is None else (z == math.inf) & keep
        n = xp.sum(xp.astype(top, z.dtype), axis=-1, keepdims=True)
        st = core.state(xp, z, (z.ndim - 1,), keep)
        _, m0, r, finite_max, has = st
        lse = core.lse_of_state(xp, *st)
        fin = xp.isfinite(lse)
        at_inf = xp.where(zt == lse, xp.log(xp.where(fin, xp.ones_like(n), n)), lse)
        limits = xp.where(lse == math.inf, at_inf, lse - zt)
        # (m - z_t) + log1p(r), not LSE - z_t, which rounds a confident right prediction's tiny
        # loss to 0
        return xp.where(finite_max & has, (m0 - zt) + xp.log1p(r), limits)[..., 0]

    def ce_prob(self, z, q, keep=None):
        """:math:`-\\sum_k q_k \\log p_k` per row; a term with :math:`q_k = 0` is 0 (also where
        :math:`p_k = 0`), and its derivative in :math:`q_k` is still :math:`-\\log p_k`."""
        xp = self.xp
        ls = self.log_softmax(z, keep)
        ok = xp.isfinite(ls) if keep is None else keep & xp.isfinite(ls)
        ls = xp.where(ok | (q != 0), ls, xp.zeros_like(ls))
        return -xp.sum(q * ls, axis=-1)

    def grad_index(self, z, t, scale, keep=None):
        """``scale * (p - onehot(t))`` per row (``scale`` of the batch shape)."""
        xp = self.xp
        p = self.softmax(z, keep)
        hot = xp.astype(xp.expand_dims(t, axis=-1) == xp.arange(z.shape[-1], device=_device(z)), p.dtype)
        return (p - hot) * xp.expand_dims(scale, axis=-1)

    def grad_prob(self, z, q, scale, keep=None):
        """``scale * ((sum q) p - q)`` per row."""
        xp = self.xp
        p = self.softmax(z, keep)
        return (xp.sum(q, axis=-1, keepdims=True) * p - q) * xp.expand_dims(scale, axis=-1)


def _device(a):
    from ._array import device_of

    return device_of(a)


class Plan:
    """What :func:`plan` makes of a target and the options, row by row (class axis last)."""

    __slots__ = ("kind", "t", "y", "coef", "smooth", "smooth_w", "rho", "invalid", "denom", "keep")


def _first(mask):
    """The position of the first True entry of a host-readable mask, or None."""
    import numpy as np

    m = np.asarray(_host(mask))
    if not m.any():
        return None
    return tuple(int(i) for i in np.argwhere(m)[0])


def _host(a):
    from ._array import to_numpy

    return to_numpy(a)


def plan(xp, fname, z, kind, target, *, weight, ignore_index, eps, context, concrete, where_cls, where_row):
    """Validate the values of ``target`` and combine the options into a :class:`Plan`.

    ``concrete``: the values can be read here, and a bad one raises ``ValueError``; otherwise (or
    where the check itself is traced, as inside ``jax.jit`` even for constant arrays) the rows
    holding one are marked ``invalid`` (their loss and gradient become NaN). ``where_cls``
    (the logits' shape) and ``where_row`` (the batch shape) are the two forms of ``where``.
    ``context`` names the class axis in error messages.
    """
    K = z.shape[-1]
    dt = z.dtype
    pl = Plan()
    pl.kind, pl.keep, pl.smooth, pl.smooth_w = kind, where_cls, eps / K if eps else 0.0, None
    rho = None if where_row is None else where_row
    if where_cls is not None:
        any_kept = xp.any(where_cls, axis=-1)
        rho = any_kept if rho is None else rho & any_kept
    if kind == "index":
        t = target
        valid = (t >= 0) & (t < K)
        if ignore_index is not None:
            keep_t = t != ignore_index
            rho = keep_t if rho is None else rho & keep_t
        t_safe = xp.where(valid, t, xp.zeros_like(t))
        bad = ~valid
        if where_cls is not None:
            named = xp.take_along_axis(where_cls, xp.expand_dims(t_safe, axis=-1), axis=-1)[..., 0]
            bad = bad | ~named
        if rho is not None:
            bad = bad & rho
        if concrete and math.prod(t.shape) and is_concrete(bad):
            pos = _first(bad)
            if pos is not None:
                tv = int(_host(t)[pos])
                if 0 <= tv < K:
                    raise ValueError(
                        f"{fname}: target index {tv} at position {pos} names a class that 'where' leaves out"
                    )
                raise ValueError(
                    f"{fname}: target index {tv} at position {pos} is out of range for {K} classes "
                    f"(expected 0 <= index < {K} along {context}"
                    + ("" if ignore_index is None else f", or ignore_index={ignore_index}")
                    + ")"
                )
        pl.t, pl.y = t_safe, None
        c = (
            xp.ones(t.shape, dtype=dt, device=_device(z))
            if weight is None
            else xp.take(weight, xp.reshape(t_safe, (-1,)))
        )
        c = xp.reshape(c, t.shape)
    else:
        y = target
        bad_entry = ~(y >= 0) | ~xp.isfinite(y)
        if where_cls is not None:
            bad_entry = bad_entry & where_cls
        bad = xp.any(bad_entry, axis=-1)
        if rho is not None:
            bad = bad & rho
        if concrete and math.prod(y.shape) and is_concrete(bad_entry):
            pos = _first(bad_entry if rho is None else bad_entry & xp.expand_dims(rho, axis=-1))
            if pos is not None:
                raise ValueError(
                    f"{fname}: probability 'target' must be finite and non-negative; got "
                    f"{float(_host(y)[pos])!r} at position {pos}"
                )
        y = xp.where(bad_entry, xp.zeros_like(y), y)
        if where_cls is not None:
            y = xp.where(where_cls, y, xp.zeros_like(y))
        pl.t, pl.y = None, y if weight is None else y * weight
        c = xp.ones(y.shape[:-1], dtype=dt, device=_device(z))
    if rho is not None:
        c = xp.where(rho, c, xp.zeros_like(c))
    pl.rho = rho
    pl.invalid = bad
    if kind == "index":
        pl.denom = xp.sum(c)
    else:
        pl.denom = xp.sum(xp.astype(rho, dt)) if rho is not None else math.prod(c.shape)
    pl.coef = c * (1 - eps) if eps else c
    if eps:
        pl.smooth_w = xp.ones((K,), dtype=dt, device=_device(z)) if weight is None else weight
    return pl


def _smooth_target(xp, pl, z):
    """The uniform part of the smoothed target, weighted per class, on the kept classes only."""
    w = xp.broadcast_to(pl.smooth_w, z.shape)
    return w if pl.keep is None else xp.where(pl.keep, w, xp.zeros_like(w))


def _rho(xp, pl, like):
    return xp.ones_like(like) if pl.rho is None else xp.astype(pl.rho, like.dtype)


def loss(xp, rows, pl, z, reduction):
    """The loss of :func:`dlmath.cross_entropy` from a :class:`Plan`; NaN for invalid rows."""
    main = rows.ce_index(z, pl.t, pl.keep) if pl.kind == "index" else rows.ce_prob(z, pl.y, pl.keep)
    per = pl.coef * main
    if pl.smooth:
        per = per + pl.smooth * _rho(xp, pl, per) * rows.ce_prob(z, _smooth_target(xp, pl, z), pl.keep)
    if pl.rho is not None:
        per = xp.where(pl.rho, per, xp.zeros_like(per))
    # NaN where the target is invalid, as a factor (log(-1) = NaN there, 1 + log(1) = 1 elsewhere)
    # rather than a term, so that derivatives taken through the loss are NaN there too
    one = xp.ones_like(per)
    per = per * (one + xp.log(xp.where(pl.invalid, -one, one)))
    if reduction == "none":
        return per
    total = xp.sum(per)
    if reduction == "sum":
        return total
    return total / pl.denom


def grad(xp, rows, pl, z, reduction):
    """The gradient of :func:`loss` in the logits; NaN rows where the target is invalid."""
    scale = pl.coef
    if reduction == "mean":
        scale = scale / pl.denom
    if pl.kind == "index":
        g = rows.grad_index(z, pl.t, scale, pl.keep)
    else:
        g = rows.grad_prob(z, pl.y, scale, pl.keep)
    if pl.smooth:
        s = pl.smooth * _rho(xp, pl, scale)
        if reduction == "mean":
            s = s / pl.denom
        g = g + rows.grad_prob(z, _smooth_target(xp, pl, z), s, pl.keep)
    if pl.keep is not None:
        g = xp.where(pl.keep, g, xp.zeros_like(g))
    return core.fill_nan(xp, xp.expand_dims(pl.invalid, axis=-1), g)


def hvp(xp, p, v):
    """:math:`p \\odot v - p\\,(p^\\top v)` per row, from the softmax ``p``."""
    return p * v - p * xp.sum(p * v, axis=-1, keepdims=True)
