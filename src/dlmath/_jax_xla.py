"""The compiled row kernels inside XLA programs: custom calls (``jax.ffi``) for JAX arrays on the
CPU, so that a jitted function runs dlmath's own kernels (and thread pool) where XLA would run
its own loops for the same formulas.

Each function here takes the formula's JAX composite as ``fallback`` and returns
``jax.lax.platform_dependent(cpu=<custom call>, default=fallback)``: the program runs the
kernel where it is compiled for the CPU, and the composite on any other device. The calls are
pure, with rows as the last dimension and leading dimensions batched (``vmap`` adds leading
dimensions), and float32 or float64 only; :func:`usable` says where they apply. The custom calls
sit inside the primal functions of ``custom_jvp`` rules (:mod:`dlmath._jax`), which give their
derivatives, so XLA never differentiates them. The softmax's Jacobian (:func:`jacobian`) is a
primitive of its own, linear in its second argument, whose transpose on the CPU is the backward
kernel: reverse mode through softmax and log-softmax runs it.
"""

from __future__ import annotations

import inspect
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from . import _kernels, _parallel

__all__ = [
    "usable",
    "lse",
    "lse_softmax",
    "normalise",
    "jacobian",
    "xent_index",
    "xent_grad_index",
    "xent_loss_grad_index",
]

_registered: bool | None = None


def _ready() -> bool:
    """Register the handlers with XLA once, and try one call: False where the compiled kernels
    are not in use, this JAX has no ``jax.ffi`` with ``vmap_method``, or the call does not give
    LogSumExp([0, 0]) = log 2 (an XLA that no longer speaks the handlers' API version). The
    composites then run everywhere."""
    global _registered
    if _registered is None:
        _registered = False
        ffi = getattr(jax, "ffi", None)
        if not (_kernels.available() and ffi is not None and hasattr(ffi, "register_ffi_target")):
            return False
        if "vmap_method" not in inspect.signature(ffi.ffi_call).parameters:
            return False
        for name, capsule in _kernels.xla_handlers(_parallel.num_threads()).items():
            ffi.register_ffi_target(name, capsule, platform="cpu")
        try:  # run now, also when first asked from inside a trace
            with jax.ensure_compile_time_eval():
                probe = jax.device_put(np.zeros((1, 2), np.float32), jax.devices("cpu")[0])
                got = float(jax.jit(lambda x: _call("dlmath_lse", (1,), x.dtype, x))(probe)[0])
        except Exception:  # an XLA that refuses the handlers: the composites serve
            return False
        _registered = abs(got - math.log(2.0)) < 1e-6
        if _registered:
            mlir.register_lowering(_jacobian_p, _jacobian_cpu, platform="cpu")
    return _registered


def usable(x, axes) -> bool:
    """True where the kernels can take ``x`` reduced over ``axes``: the last axis alone, a
    float32 or float64 array with rows of 1 to ``2 * SPAN`` entries, and the kernels in use."""
    return (
        x.ndim >= 1
        and tuple(axes) == (x.ndim - 1,)
        and x.dtype in (jnp.float32, jnp.float64)
        and 0 < x.shape[-1] <= 2 * _kernels.SPAN
        and x.size > 0
        and _ready()
    )


def _call(name, shape, dtype, *args, results=None, **attrs):
    """The custom call ``name`` with one result of ``shape`` and ``dtype`` (or ``results``, a list
    of ``(shape, dtype)``)."""
    out = [jax.ShapeDtypeStruct(*r) for r in results] if results else jax.ShapeDtypeStruct(shape, dtype)
    return jax.ffi.ffi_call(name, out, vmap_method="broadcast_all")(*args, **attrs)


def lse(x, fallback):
    """LogSumExp of the rows of ``x``, with the last axis kept (length 1)."""
    return jax.lax.platform_dependent(
        x, cpu=lambda x: _call("dlmath_lse", x.shape[:-1], x.dtype, x)[..., None], default=fallback
    )


def lse_softmax(x, fallback):
    """``(lse, p)``: the LogSumExp of the rows of ``x`` (the last axis kept) and their softmax,
    from one pass; the LSE has :func:`lse`'s bits."""

    def cpu(x):
        results = [(x.shape[:-1], x.dtype), (x.shape, x.dtype)]
        out, p = _call("dlmath_lse_softmax", None, None, x, results=results)
        return out[..., None], p

    return jax.lax.platform_dependent(x, cpu=cpu, default=fallback)


def normalise(x, tau, log, fallback):
    """Softmax (``log``: log-softmax) of the rows of ``x / tau``."""
    name = "dlmath_log_softmax" if log else "dlmath_softmax"
    tau = np.float64(tau)
    return jax.lax.platform_dependent(
        x, cpu=lambda x: _call(name, x.shape, x.dtype, x, tau=tau), default=fallback
    )


def _indices(t):
    """Class indices as int32 or int64 (an unsigned index past int32's range is out of any row's
    range either way)."""
    return (
        t
        if t.dtype in (jnp.int32, jnp.int64)
        else t.astype(jnp.int64 if t.dtype.itemsize == 8 else jnp.int32)
    )


def xent_index(z, t, fallback):
    """Cross-entropy of the rows of ``z`` against class indices ``t`` (NaN where out of range)."""
    return jax.lax.platform_dependent(
        z,
        t,
        cpu=lambda z, t: _call("dlmath_xent_index", z.shape[:-1], z.dtype, z, _indices(t)),
        default=fallback,
    )


def xent_grad_index(z, t, fallback):
    """Its gradient :math:`p - e_t` (a row of NaN where the index is out of range)."""
    return jax.lax.platform_dependent(
        z,
        t,
        cpu=lambda z, t: _call("dlmath_xent_grad_index", z.shape, z.dtype, z, _indices(t)),
        default=fallback,
    )


def xent_loss_grad_index(z, t, fallback):
    """``(loss, p - e_t)`` from one pass over the rows of ``z`` (NaN rows where out of range)."""

    def cpu(z, t):
        results = [(z.shape[:-1], z.dtype), (z.shape, z.dtype)]
        return tuple(_call("dlmath_xent_loss_grad_index", None, None, z, _indices(t), results=results))

    return jax.lax.platform_dependent(z, t, cpu=cpu, default=fallback)


# ----------------------------------------------------------------------------- the softmax's Jacobian
#
# The tangent of softmax(x / tau), or of its log, is J v, linear in v; reverse mode runs the
# transpose J^T g. Written in jnp inside a custom_jvp rule, that is XLA's loops over the saved
# output; as a primitive of its own with a transpose rule, it is the backward kernel (rows_lse.h),
# the one the torch ops call. Both take the probabilities p:
#     softmax:      J v = p (v - p.v) / tau = J^T v        (J is symmetric)
#     log-softmax:  J v = (v - p.v) / tau,  J^T g = (g - p sum g) / tau
# The primitive is linear in v, with a derivative in p for higher orders; J v of the log-softmax,
# which only forward mode runs, stays XLA's.

_jacobian_p = Primitive("dlmath_softmax_jacobian")


def jacobian(p, v, tau, log, transposed=False):
    """:math:`J v` (``transposed``: :math:`J^\top v`) of softmax (``log``: log-softmax) of
    ``x / tau``, from the softmax ``p`` of ``x / tau``, over the last axis."""
    return _jacobian_p.bind(p, v, tau=float(tau), log=bool(log), transposed=bool(transposed) and bool(log))


def _scaled(a, tau):
    return a if tau == 1.0 else a / tau


def _jacobian_formula(p, v, *, tau, log, transposed):
    if not log:
        return _scaled(p * (v - jnp.sum(p * v, axis=-1, keepdims=True)), tau)
    if transposed:
        return _scaled(v - p * jnp.sum(v, axis=-1, keepdims=True), tau)
    return _scaled(v - jnp.sum(p * v, axis=-1, keepdims=True), tau)


def _jacobian_cpu(ctx, p, v, *, tau, log, transposed):
    if log and not transposed:
        rule = mlir.lower_fun(partial(_jacobian_formula, tau=tau, log=log, transposed=transposed), False)
        return rule(ctx, p, v)
    name = "dlmath_log_softmax_bwd_p" if log else "dlmath_softmax_bwd"
    return jax.ffi.ffi_lowering(name)(ctx, p, v, tau=np.float64(tau))


_jacobian_p.def_abstract_eval(lambda p, v, **params: jax.core.ShapedArray(v.shape, v.dtype))
_jacobian_p.def_impl(lambda p, v, **params: jax.jit(partial(_jacobian_p.bind, **params))(p, v))
mlir.register_lowering(_jacobian_p, mlir.lower_fun(_jacobian_formula, multiple_results=False))


def _jacobian_dp(pdot, p, v, *, tau, log, transposed):
    """The derivative of :math:`J v` in ``p``, along ``pdot``."""
    if not log:
        s = jnp.sum(p * v, axis=-1, keepdims=True)
        return _scaled(pdot * (v - s) - p * jnp.sum(pdot * v, axis=-1, keepdims=True), tau)
    if transposed:
        return _scaled(-pdot * jnp.sum(v, axis=-1, keepdims=True), tau)
    return _scaled(-jnp.sum(pdot * v, axis=-1, keepdims=True) * jnp.ones_like(v), tau)


ad.defjvp(_jacobian_p, _jacobian_dp, lambda vdot, p, v, **params: _jacobian_p.bind(p, vdot, **params))


def _jacobian_transpose(ct, p, v, *, tau, log, transposed):
    assert not ad.is_undefined_primal(p), "the Jacobian is linear in v only"
    if type(ct) is ad.Zero:
        return None, ad.Zero(v.aval)
    return None, _jacobian_p.bind(p, ct, tau=tau, log=log, transposed=log and not transposed)


ad.primitive_transposes[_jacobian_p] = _jacobian_transpose


def _jacobian_batch(args, dims, **params):
    size = next(a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    p, v = (
        jnp.broadcast_to(a, (size, *a.shape)) if d is None else jnp.moveaxis(a, d, 0)
        for a, d in zip(args, dims, strict=True)
    )
    return _jacobian_p.bind(p, v, **params), 0


batching.primitive_batchers[_jacobian_p] = _jacobian_batch
