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
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from . import _lse_core as core
from . import _xent_core

__all__ = ["lse", "lse_signed", "normalise", "smooth_max", "ROWS"]


def _wide(x):
    return x.astype(jnp.float32) if x.dtype in (jnp.float16, jnp.bfloat16) else x


@partial(jax.custom_jvp, nondiff_argnums=(2,))
def _lse(x, keep, axes):
    return core.lse(jnp, x, axes, keep)


@_lse.defjvp
def _lse_jvp(axes, primals, tangents):
    x, keep = primals
    xd = tangents[0]
    p = core.normalise(jnp, x, axes, keep=keep)
    return _lse(x, keep, axes), jnp.sum(p * xd, axis=axes, keepdims=True)


@partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def _normalise(x, keep, axes, tau, log):
    return core.normalise(jnp, x, axes, tau, keep, log)


@_normalise.defjvp
def _normalise_jvp(axes, tau, log, primals, tangents):
    x, keep = primals
    xd = tangents[0]
    y = _normalise(x, keep, axes, tau, log)
    p = core.normalise(jnp, x, axes, tau, keep) if log else y
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


ROWS = _xent_core.Rows(
    jnp,
    lse=lambda z, keep: _lse(z, keep, (z.ndim - 1,)),
    log_softmax=lambda z, keep: _normalise(z, keep, (z.ndim - 1,), 1.0, True),
    softmax=lambda z, keep: _normalise(z, keep, (z.ndim - 1,), 1.0, False),
)
