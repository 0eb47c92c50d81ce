r"""dlmath's functions on JAX arrays: the formulas of :mod:`dlmath._lse_core` under ``jax.custom_jvp``
rules written from the derivations, beside their forwards.

.. math::
    \dot{\mathrm{LSE}} = \sum_i p_i \dot x_i, \qquad
    \dot p = p \odot \bigl(\dot x - p^\top \dot x\bigr)/\tau, \qquad
    \dot{(\log p)} = \bigl(\dot x - p^\top \dot x\bigr)/\tau,

and with weights, :math:`\dot{(\log\lvert\sum_i b_i e^{x_i}\rvert)}
= s\sum_i e^{x_i - \mathrm{out}}(b_i \dot x_i + \dot b_i)` (:math:`s` the sign of the sum).
Cross-entropy, its gradient and the HVP are built on these three, so ``jax.grad`` of the loss is
:math:`(\sum_k y_k)p - y` and of the target :math:`-\log p`. The functions are ``jit``-,
``vmap``- and ``grad``-friendly; no branch builds ``inf`` or NaN from finite input, so
``jax.debug_nans`` and ``jax.debug_infs`` stay quiet on it. float16 and bfloat16 are computed in
float32 and rounded once.

On the CPU, for rows over the last axis with no mask, the primal values (LogSumExp, softmax,
log-softmax, the cross-entropy against class indices and its gradient :math:`p - e_t`) are
dlmath's compiled kernels, called from inside the XLA program (:mod:`dlmath._jax_xla`); the JAX
composites below serve other devices, other axes and masks, and the NumPy-only install.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from . import _jax_xla as xla
from . import _lse_core as core
from . import _xent_core

__all__ = ["lse", "lse_signed", "normalise", "smooth_max", "ROWS"]


def _wide(x):
    return x.astype(jnp.float32) if x.dtype in (jnp.float16, jnp.bfloat16) else x


# XLA on the CPU vectorises a reduction of plain arithmetic but not one that holds a comparison
# or a select (nor jnp.sign, which it lowers to selects): written with _lse_core's masks,
# LogSumExp runs 5-10x slower than jax.nn's. So where every maximum is finite (one scalar test, a
# lax.cond; otherwise _lse_core's formulas run) the same state is computed by arithmetic alone,
# with d = (x - m)/tau <= 0 and the weight w = min(ceil(-d), 1), which is 0 at the maximum's
# entries and 1 everywhere else (-inf entries and denormal differences included):
#     small = sum_k w_k e^{d_k},    count = n - sum_k w_k,    r = small + (count - 1),
# the sum of the terms below 1 kept apart from the exact ones, and LSE = m + log1p(r) as in
# _lse_core. Under vmap the cond becomes a select and both branches run.


def _state(x, m, axes, tau=1.0):
    """``(d, r)`` for rows whose maximum ``m`` is finite: ``d = (x - m)/tau`` and
    :math:`r = \\sum_{k \\ne k^*} e^{d_k}`, one occurrence of the maximum left out."""
    d = x - m
    if tau != 1.0:
        d = d / tau
    w = jnp.minimum(jnp.ceil(-d), 1.0)
    small = jnp.sum(jnp.exp(d) * w, axis=axes, keepdims=True)
    n = 1
    for a in axes:
        n *= x.shape[a]
    count = n - jnp.sum(w, axis=axes, keepdims=True)
    return d, small + (count - 1)


def _all_finite_max(x, axes):
    m = jnp.max(x, axis=axes, keepdims=True)
    return m, jnp.all(jnp.isfinite(m))


def _lse_parts(x, keep, axes, with_p):
    """LogSumExp (and, ``with_p``, the softmax ``e^d / (1 + r)``) from one maximum and one state."""
    if keep is not None:
        out = core.lse(jnp, x, axes, keep)
        return (out, _normalise_value(x, keep, axes)) if with_p else out
    m, good = _all_finite_max(x, axes)

    def plain():
        d, r = _state(x, m, axes)
        out = m + jnp.log1p(r)
        return (out, jnp.exp(d) / (1 + r)) if with_p else out

    def careful():
        out = core.lse(jnp, x, axes)
        return (out, core.normalise(jnp, x, axes)) if with_p else out

    return jax.lax.cond(good, plain, careful)


def _normalise_value(x, keep, axes, tau=1.0, log=False):
    if keep is not None:
        return core.normalise(jnp, x, axes, tau, keep, log)
    m, good = _all_finite_max(x, axes)

    def plain():
        if log:
            d, r = _state(x, m, axes, tau)
            return d - jnp.log1p(r)
        e = jnp.exp((x - m) / tau if tau != 1.0 else x - m)
        return e / jnp.sum(e, axis=axes, keepdims=True)

    return jax.lax.cond(good, plain, lambda: core.normalise(jnp, x, axes, tau, log=log))


# On the CPU, with the compiled kernels in use, the primal values come from them (custom calls, see
# _jax_xla); each rule then takes its residuals (p, the loss's gradient) from these same
# custom_jvp functions, so derivatives of every order stay defined.


def _kernel_rows(x, keep, axes):
    return keep is None and xla.usable(x, axes)


@partial(jax.custom_jvp, nondiff_argnums=(2,))
def _lse(x, keep, axes):
    if _kernel_rows(x, keep, axes):
        return xla.lse(x, lambda x: _lse_parts(x, None, axes, False))
    return _lse_parts(x, keep, axes, False)


@_lse.defjvp
def _lse_jvp(axes, primals, tangents):
    x, keep = primals
    xd = tangents[0]
    if _kernel_rows(x, keep, axes):
        out, p = _lse_softmax(x, axes)
    else:
        out, p = _lse_parts(x, keep, axes, True)
    return out, jnp.sum(p * xd, axis=axes, keepdims=True)


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _lse_softmax(x, axes):
    """``(LSE, p)`` from one pass of the kernels (only called where they apply), the LSE with
    ``_lse``'s bits."""
    return xla.lse_softmax(x, lambda x: _lse_parts(x, None, axes, True))


@_lse_softmax.defjvp
def _lse_softmax_jvp(axes, primals, tangents):
    (x,), (xd,) = primals, tangents
    out, p = _lse_softmax(x, axes)
    return (out, p), (jnp.sum(p * xd, axis=axes, keepdims=True), xla.jacobian(p, xd, 1.0, False))


@partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def _normalise(x, keep, axes, tau, log):
    if _kernel_rows(x, keep, axes):
        return xla.normalise(x, tau, log, lambda x: _normalise_value(x, None, axes, tau, log))
    return _normalise_value(x, keep, axes, tau, log)


@_normalise.defjvp
def _normalise_jvp(axes, tau, log, primals, tangents):
    x, keep = primals
    xd = tangents[0]
    y = _normalise(x, keep, axes, tau, log)
    if _kernel_rows(x, keep, axes):  # reverse mode then runs the backward kernel
        p = _normalise(x, None, axes, tau, False) if log else y  # XLA drops y where it is unused
        return y, xla.jacobian(p, xd, tau, log)
    p = jnp.exp(y) if log else y  # e^{log p}: also the limits (1/n at n infinite entries, 0 masked)
    centred = (xd - jnp.sum(p * xd, axis=axes, keepdims=True)) / tau
    if not log:
        return y, p * centred
    return y, centred if keep is None else jnp.where(keep, centred, 0.0)


@partial(jax.custom_jvp, nondiff_argnums=(3,))
def _lse_signed(x, b, keep, axes):
    return core.lse_signed(jnp, x, axes, b, keep)


@_lse_signed.defjvp
def _lse_signed_jvp(axes, primals, tangents):
    x, b, keep = primals
    xd, bd = tangents[0], tangents[1]
    val, sign = _lse_signed(x, b, keep, axes)
    ok = jnp.isfinite(x) & jnp.isfinite(val)
    if keep is not None:
        ok = ok & keep
    w = jnp.where(ok, jnp.exp(jnp.where(ok, x - val, 0.0)), 0.0) * sign
    return (val, sign), (jnp.sum(w * (b * xd + bd), axis=axes, keepdims=True), jnp.zeros_like(sign))


def _squeeze(a, axes, keepdims):
    return a if keepdims else jnp.squeeze(a, axis=axes)


def lse(x, axes, keepdims, where, return_sign):
    """:func:`dlmath.logsumexp` without ``b``."""
    xc = _wide(x)
    keep = None if where is None else jnp.broadcast_to(where, xc.shape)
    out = _lse(xc, keep, axes)
    out = _squeeze(out, axes, keepdims).astype(x.dtype)
    if not return_sign:
        return out
    sign = (out > -jnp.inf).astype(out.dtype)
    return out, jnp.where(jnp.isnan(out), out, sign)


def lse_signed(x, b, axes, keepdims, where, return_sign):
    """:func:`dlmath.logsumexp` with ``b``: ``(log|sum b e^x|, sign)`` or the value (NaN where negative)."""
    dt = jnp.result_type(x, b) if jnp.issubdtype(b.dtype, jnp.floating) else x.dtype
    xc, bc = jnp.broadcast_arrays(_wide(x.astype(dt)), _wide(b.astype(dt)))
    keep = None if where is None else jnp.broadcast_to(where, xc.shape)
    val, sign = _lse_signed(xc, bc, keep, axes)
    if not return_sign:
        val = core.fill_nan(jnp, sign < 0, val)
    val, sign = _squeeze(val, axes, keepdims).astype(dt), _squeeze(sign, axes, keepdims).astype(dt)
    return (val, sign) if return_sign else val


def normalise(x, axes, tau, where, log):
    """:func:`dlmath.softmax` (``log``: :func:`dlmath.log_softmax`)."""
    xc = _wide(x)
    keep = None
    if where is not None:
        xc, keep = jnp.broadcast_arrays(xc, where)
    return _normalise(xc, keep, axes, tau, log).astype(x.dtype)


def smooth_max(x, axes, keepdims, tau):
    """:math:`m + \\tau\\,\\mathrm{LSE}((x - m)/\\tau)` with the maximum ``m`` a constant."""
    xc = _wide(x)
    m = jax.lax.stop_gradient(jnp.max(xc, axis=axes, keepdims=True))
    fin = jnp.isfinite(m)
    m0 = jnp.where(fin, m, 0.0)
    out = jnp.where(fin, m0 + tau * _lse((xc - m0) / tau, None, axes), m)
    return _squeeze(out, axes, keepdims).astype(x.dtype)


_GENERIC_ROWS = _xent_core.Rows(jnp)


def _ce_index_parts(z, t, with_p):
    """The per-row loss :math:`(m - z_t) + \\operatorname{log1p}(r)` (and, ``with_p``, the softmax
    ``e^d / (1 + r)``) from one maximum and one state, where every maximum is finite; otherwise
    the formulas of :mod:`dlmath._xent_core` (``+inf`` rows take their limits there)."""
    axes = (z.ndim - 1,)
    zt = jnp.take_along_axis(z, jnp.expand_dims(t, axis=-1), axis=-1)
    m, good = _all_finite_max(z, axes)

    def plain():
        d, r = _state(z, m, axes)
        loss = ((m - zt) + jnp.log1p(r))[..., 0]
        return (loss, jnp.exp(d) / (1 + r)) if with_p else loss

    def careful():
        loss = _GENERIC_ROWS.ce_index(z, t)
        return (loss, core.normalise(jnp, z, axes)) if with_p else loss

    return jax.lax.cond(good, plain, careful)


@jax.custom_jvp
def _ce_index(z, t):
    if _kernel_rows(z, None, (z.ndim - 1,)):
        return xla.xent_index(z, t, lambda z, t: _ce_index_parts(z, t, False))
    return _ce_index_parts(z, t, False)


@jax.custom_jvp
def _ce_index_grad(z, t):
    """:math:`p - e_t` per row, from the kernels (only called where they apply)."""

    def composite(z, t):
        p = _ce_index_parts(z, t, True)[1]
        return p - jax.nn.one_hot(t, z.shape[-1], dtype=z.dtype)

    return xla.xent_grad_index(z, t, composite)


def _ce_grad_tangent(z, zd):
    """The tangent of :math:`p - e_t` along ``zd``: the softmax's Jacobian applied to ``zd``."""
    return xla.jacobian(_normalise(z, None, (z.ndim - 1,), 1.0, False), zd, 1.0, False)


@_ce_index_grad.defjvp
def _ce_index_grad_jvp(primals, tangents):
    z, t = primals
    return _ce_index_grad(z, t), _ce_grad_tangent(z, tangents[0])


@jax.custom_jvp
def _ce_index_loss_grad(z, t):
    """``(loss, p - e_t)`` per row from one pass of the kernels (only called where they apply)."""

    def composite(z, t):
        loss, p = _ce_index_parts(z, t, True)
        return loss, p - jax.nn.one_hot(t, z.shape[-1], dtype=z.dtype)

    return xla.xent_loss_grad_index(z, t, composite)


@_ce_index_loss_grad.defjvp
def _ce_index_loss_grad_jvp(primals, tangents):
    z, t = primals
    zd = tangents[0]
    loss, g = _ce_index_loss_grad(z, t)
    return (loss, g), (jnp.sum(g * zd, axis=-1), _ce_grad_tangent(z, zd))


@_ce_index.defjvp
def _ce_index_jvp(primals, tangents):
    z, t = primals
    zd = tangents[0]
    if _kernel_rows(z, None, (z.ndim - 1,)):
        # the gradient p - e_t from the kernels; the tangent is its product with zd. Rows longer
        # than 16 take the loss from the same pass (narrower ones sum the loss's state apart, in
        # binary64, so the loss kernel's bits are kept there)
        if z.shape[-1] > 16:
            loss, g = _ce_index_loss_grad(z, t)
            return loss, jnp.sum(g * zd, axis=-1)
        return _ce_index(z, t), jnp.sum(_ce_index_grad(z, t) * zd, axis=-1)
    loss, p = _ce_index_parts(z, t, True)
    # p - e_t; its target entry p_t - 1 is formed from the rounded p_t (writing it as
    # -r/(1 + r) takes a select over the classes, which doubles XLA's time for the gradient)
    zdt = jnp.take_along_axis(zd, jnp.expand_dims(t, axis=-1), axis=-1)[..., 0]
    return loss, jnp.sum(p * zd, axis=-1) - zdt


class _Rows(_xent_core.Rows):
    """The row primitives on JAX arrays. Cross-entropy against class indices is a ``custom_jvp``
    of its own: :math:`(m - z_t) + \\operatorname{log1p}(r)` keeps the tiny loss of a confident
    right prediction (:math:`\\mathrm{LSE} - z_t` rounds it to 0), the maximum and the state are
    computed once for the loss and its derivative :math:`p - e_t`, and the count of ``+inf``
    logits (a comparison in a reduction, a slow pass under XLA) runs only where some maximum is
    not finite."""

    def ce_index(self, z, t, keep=None):
        if keep is not None:
            return super().ce_index(z, t, keep)
        return _ce_index(z, t)


ROWS = _Rows(
    jnp,
    log_softmax=lambda z, keep: _normalise(z, keep, (z.ndim - 1,), 1.0, True),
    softmax=lambda z, keep: _normalise(z, keep, (z.ndim - 1,), 1.0, False),
)
