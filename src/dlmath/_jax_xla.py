"""The compiled row kernels inside XLA programs: custom calls (``jax.ffi``) for JAX arrays on the
CPU, so that a jitted function runs dlmath's own kernels (and thread pool) where XLA would run
its own loops for the same formulas.

Each function here takes the formula's JAX composite as ``fallback`` and returns
``jax.lax.platform_dependent(cpu=<custom call>, default=fallback)``: the program runs the
kernel where it is compiled for the CPU, and the composite on any other device. The calls are
pure, with rows as the last dimension and leading dimensions batched (``vmap`` adds leading
dimensions), and float32 or float64 only; :func:`usable` says where they apply. The custom calls
sit inside the primal functions of ``custom_jvp`` rules (:mod:`dlmath._jax`), which give their
derivatives, so XLA never differentiates them.
"""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels, _parallel

__all__ = ["usable", "lse", "normalise", "xent_index", "xent_grad_index"]

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


def _call(name, shape, dtype, *args, **attrs):
    return jax.ffi.ffi_call(name, jax.ShapeDtypeStruct(shape, dtype), vmap_method="broadcast_all")(
        *args, **attrs
    )


def lse(x, fallback):
    """LogSumExp of the rows of ``x``, with the last axis kept (length 1)."""
    return jax.lax.platform_dependent(
        x, cpu=lambda x: _call("dlmath_lse", x.shape[:-1], x.dtype, x)[..., None], default=fallback
    )


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
