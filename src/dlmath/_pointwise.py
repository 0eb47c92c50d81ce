"""What dlmath's element-wise functions and losses share: the precision they compute in, the
target arrays beside the logits, range checks on concrete data, and the reduction.

Working precision: each function computes one step wider than its input where the array's
namespace and device have the wider type, and rounds once at the end. float16 and bfloat16 work
in float32; float32 works in float64 (NumPy, PyTorch off Apple's ``mps``, JAX with
``jax_enable_x64``, any array-API namespace whose device lists float64); float64 works in the x87
80-bit or IEEE 128-bit ``numpy.longdouble`` where NumPy has one, and in float64 elsewhere.
"""

from __future__ import annotations

import math

import numpy as np

from ._array import as_float, cast, device_of, get_namespace, is_concrete, is_numpy, to_numpy

__all__ = [
    "working_dtype",
    "to_working",
    "finish",
    "like",
    "check_range",
    "check_reduction",
    "reduce",
    "nan_where_bad",
]

REDUCTIONS = ("none", "sum", "mean")

# 63 stored bits (x87 extended) or 112 (IEEE quad): enough to round exp and log1p results to float64
# correctly in all but a vanishing fraction of cases; 52 where long double is only a double (Windows, macOS).
_LONG_IS_WIDE = np.finfo(np.longdouble).nmant >= 63


def _has_float64(xp, x) -> bool:
    dev = device_of(x)
    if getattr(dev, "type", None) == "mps":  # torch's Apple GPU has no float64; its info says otherwise
        return False
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    try:
        return "float64" in info().dtypes(device=dev, kind="real floating")
    except (TypeError, ValueError):  # pragma: no cover - namespaces that cannot answer per device
        return "float64" in info().dtypes(kind="real floating")


def working_dtype(xp, x):
    """The dtype ``x`` (real floating) is computed in: one step wider where it exists (module notes)."""
    if is_numpy(xp):
        if x.dtype in (np.float16, np.float32):
            return np.dtype(np.float64)
        if x.dtype == np.float64 and _LONG_IS_WIDE:
            return np.dtype(np.longdouble)
        return x.dtype
    if x.dtype == xp.float64:
        return x.dtype
    if x.dtype == xp.float32:
        return xp.float64 if _has_float64(xp, x) else x.dtype
    return xp.float32  # float16, bfloat16


def to_working(xp, x):
    return cast(xp, x, working_dtype(xp, x))


def finish(xp, out, dtype):
    """``out`` rounded once to ``dtype``; a NumPy 0-d result stays an array, not a NumPy scalar."""
    out = cast(xp, out, dtype)
    return np.asarray(out) if is_numpy(xp) else out


def like(fname, xp, ref, other, argname, refname):
    """``other`` as a real floating array of ``ref``'s namespace ``xp`` (array-likes are converted)."""
    try:
        xo, (_, arr) = get_namespace(ref, other)
    except TypeError as exc:
        raise TypeError(
            f"{fname}: argument '{argname}' must be a real numeric array like '{refname}' ({exc})"
        ) from None
    if xo is not xp:
        raise TypeError(
            f"{fname}: '{refname}' and '{argname}' must be the same kind of array; got "
            f"{type(ref).__module__}.{type(ref).__name__} and {type(other).__module__}.{type(other).__name__}"
        )
    return as_float(fname, xp, arr, argname)


def check_range(fname, xp, a, argname, *, low=0.0, high=math.inf, finite=False, expected):
    """Raise ``ValueError`` naming the first entry of concrete ``a`` outside ``[low, high]`` (NaN
    included; infinities too with ``finite``).

    Only a boolean crosses to the host unless an entry is bad; a traced (JAX) array is not checked.
    """
    if not is_concrete(a) or math.prod(a.shape) == 0:
        return
    with np.errstate(invalid="ignore"):
        bad = ~((a >= low) & (a <= high))
        if finite:
            bad = bad | ~xp.isfinite(a)
        if not bool(xp.any(bad)):
            return
        an = to_numpy(a)
        badn = ~((an >= low) & (an <= high)) | (~np.isfinite(an) if finite else False)
    pos = tuple(int(i) for i in np.argwhere(badn)[0]) if an.ndim else ()
    raise ValueError(f"{fname}: '{argname}' must be {expected}; got {float(an[pos])!r} at position {pos}")


def nan_where_bad(xp, loss, ok):
    """Inside a trace, where data checks cannot run, a bad entry gives NaN instead of an error."""
    return xp.where(ok, loss, xp.full_like(loss, math.nan))


def check_reduction(fname, reduction):
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"{fname}: 'reduction' must be one of {', '.join(map(repr, REDUCTIONS))}; got {reduction!r}"
        )


def reduce(xp, per_entry, reduction):
    """``"none"``: as is; ``"sum"``: the total; ``"mean"``: the total over the count (NaN when empty)."""
    if reduction == "none":
        return per_entry
    total = xp.sum(per_entry)
    if reduction == "sum":
        return total
    n = math.prod(per_entry.shape)
    if n == 0:
        return xp.full((), math.nan, dtype=per_entry.dtype, device=device_of(per_entry))
    return total / n
