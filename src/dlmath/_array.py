"""The one place where dlmath resolves array namespaces, dtypes and axes.

Every public function starts by calling :func:`float_input` (and :func:`normalize_axis` for
reductions), so the dtype rules and the wording of errors are written once:

- float16/32/64 and bfloat16 (torch's, JAX's, or NumPy's through ``ml_dtypes``) stay as they
  are; the two half-width types are computed in float32 by the callers and rounded once;
- integers and bools promote to the namespace's default real floating dtype;
- complex, string and object input raises ``TypeError``;
- a bad ``axis`` raises ``ValueError`` naming the function, what was expected and what was given.
"""

from __future__ import annotations

import math
import operator

import numpy as np

__all__ = [
    "float_input",
    "framework",
    "torch_float",
    "option_array",
    "torch_option",
    "torch_broadcast_ndim",
    "broadcast",
    "get_namespace",
    "is_numpy",
    "normalize_axis",
    "reduced_shape",
    "stop_gradient",
    "is_concrete",
    "check_real_scalar",
    "dtype_kind",
    "single_axis",
    "move_axes_last",
    "to_numpy",
]


def _compat():
    # array_api_compat costs ~20 ms to import; only the non-NumPy paths need it.
    import array_api_compat

    return array_api_compat


def _is_foreign_array(x) -> bool:
    """True for a non-NumPy array object that speaks the array API (torch, jax, strict, ...)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return False
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("builtins", "numpy"):
        return False
    return _compat().is_array_api_obj(x)


class RaggedError(ValueError):
    """Nested sequences of unequal lengths, which are not an array."""


def _as_numpy(a):
    try:
        return np.asarray(a)
    except ValueError as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise RaggedError(f"nested sequences of unequal lengths are not an array ({exc})") from None
        raise


def get_namespace(*arrays):
    """Return ``(xp, arrays)``: the arrays' common namespace and the inputs as arrays of it.

    Python scalars, lists and NumPy scalars become NumPy arrays. Mixing kinds of array
    (say a torch tensor with a JAX array) raises ``TypeError``; ragged nested lists raise
    :class:`RaggedError` (a ``ValueError``), which callers re-raise naming the argument.
    """
    for a in arrays:  # all NumPy arrays, the common case, is decided without the checks below
        if type(a) is not np.ndarray:
            break
    else:
        return np, arrays
    if not any(_is_foreign_array(a) for a in arrays):
        return np, tuple(_as_numpy(a) for a in arrays)
    compat = _compat()
    foreign = [a for a in arrays if _is_foreign_array(a)]
    xp = compat.array_namespace(*foreign)
    out = []
    for a in arrays:
        if _is_foreign_array(a):
            out.append(a)
        else:
            ref = foreign[0]
            out.append(xp.asarray(_as_numpy(a), device=compat.device(ref)))
    return xp, tuple(out)


def framework(x) -> str | None:
    """``"torch"`` for a torch tensor, ``"jax"`` for a JAX array or tracer, else None; decided by
    the type's module, so neither library is imported here."""
    mod = type(x).__module__
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith(("jax", "jaxlib")):
        return "jax"
    return None


def torch_float(fname: str, x, argname: str = "x"):
    """A torch tensor as dlmath's floating input, without the array-API machinery (it is the hot
    path of every op): floats as they are, integers and bools as torch's default float."""
    if x.dtype.is_floating_point:
        return x
    if x.dtype.is_complex:
        raise TypeError(
            f"{fname}: argument '{argname}' must be real; got complex dtype {x.dtype}. "
            "Pass the real part or the magnitude explicitly."
        )
    import torch

    return x.to(torch.get_default_dtype())


def torch_option(fname: str, x, a, argname: str, kind: str):
    """:func:`option_array` for a torch tensor ``x``, without the array-API machinery."""
    import torch

    if not isinstance(a, torch.Tensor):
        if framework(a) is not None:
            raise TypeError(
                f"{fname}: '{argname}' must be the same kind of array as the input; got "
                f"{type(a).__module__}.{type(a).__name__} beside torch.Tensor"
            )
        try:
            a = torch.as_tensor(_as_numpy(a), device=x.device)
        except RaggedError as exc:
            raise ValueError(
                f"{fname}: argument '{argname}' must be a rectangular array; got {exc}"
            ) from None
    if kind == "bool":
        if a.dtype != torch.bool:
            raise TypeError(f"{fname}: '{argname}' must be a boolean mask; got dtype {a.dtype}")
        return a
    if a.dtype.is_complex:
        raise TypeError(f"{fname}: '{argname}' must be real; got dtype {a.dtype}")
    return a if a.dtype.is_floating_point else a.to(x.dtype)


def torch_broadcast_ndim(fname: str, named: dict) -> int:
    """The number of dimensions of the torch tensors in ``named`` broadcast together."""
    import torch

    shapes = {n: tuple(a.shape) for n, a in named.items() if a is not None}
    try:
        return len(torch.broadcast_shapes(*shapes.values()))
    except RuntimeError:
        desc = ", ".join(f"'{n}' {s}" for n, s in shapes.items())
        raise ValueError(f"{fname}: {desc} do not broadcast together") from None


def same_kind(fname: str, xp, x, a, argname: str, xname: str):
    """``a`` as an array of ``x``'s namespace ``xp`` (array-likes are converted): a ragged ``a`` is
    a ``ValueError``, another kind of array (a torch ``a`` beside NumPy ``x``) a ``TypeError``
    naming both; ``xname`` is how messages name ``x``."""
    try:
        xo, (_, arr) = get_namespace(x, a)
    except RaggedError as exc:
        raise ValueError(f"{fname}: argument '{argname}' must be a rectangular array; got {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{fname}: argument '{argname}' must be an array like {xname} ({exc})") from None
    if xo is not xp:
        raise TypeError(
            f"{fname}: {xname} and '{argname}' must be the same kind of array; got "
            f"{type(x).__module__}.{type(x).__name__} and {type(a).__module__}.{type(a).__name__}"
        )
    return arr


def option_array(fname: str, xp, x, a, argname: str, kind: str):
    """The option ``a`` (``b``, ``where``, ``weight``) as an array of ``x``'s namespace ``xp``:
    ``kind`` ``"bool"`` (a mask) or ``"real"`` (bools and integers become ``x``'s dtype)."""
    arr = same_kind(fname, xp, x, a, argname, "'x'")
    k = dtype_kind(xp, arr.dtype)
    if kind == "bool":
        if k != "bool":
            raise TypeError(f"{fname}: '{argname}' must be a boolean mask; got dtype {arr.dtype}")
        return arr
    if k in ("bool", "int"):
        return xp.astype(arr, x.dtype)
    if k != "float":
        raise TypeError(f"{fname}: '{argname}' must be real; got dtype {arr.dtype}")
    return arr


def broadcast(fname: str, xp, arrays: dict):
    """The named arrays broadcast together, or a ``ValueError`` naming their shapes."""
    names = [n for n, a in arrays.items() if a is not None]
    try:
        out = xp.broadcast_arrays(*[arrays[n] for n in names])
    except (ValueError, RuntimeError, TypeError):
        shapes = ", ".join(f"'{n}' {tuple(arrays[n].shape)}" for n in names)
        raise ValueError(f"{fname}: {shapes} do not broadcast together") from None
    res = dict(arrays)
    res.update(zip(names, out, strict=True))
    return res


def is_numpy(xp) -> bool:
    """True when ``xp`` is NumPy itself (the fast, hand-tuned paths)."""
    return xp is np


def default_float(xp):
    """The namespace's default real floating dtype (float64 for NumPy, float32 for torch)."""
    if is_numpy(xp):
        return np.float64
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return info().default_dtypes()["real floating"]
        except Exception:  # pragma: no cover - very old namespaces
            pass
    return xp.float64


def is_np_bfloat16(dtype) -> bool:
    """True for ``ml_dtypes.bfloat16`` (NumPy's kind ``'V'``, so not a float to NumPy itself)."""
    return isinstance(dtype, np.dtype) and dtype.kind == "V" and dtype.name == "bfloat16"


def dtype_kind(xp, dtype) -> str:
    """One of 'bool', 'int', 'float', 'complex', 'other'."""
    if is_numpy(xp):
        dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        if is_np_bfloat16(dtype):
            return "float"
        return {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}.get(dtype.kind, "other")
    for name, kind in (
        ("bool", "bool"),
        ("integral", "int"),
        ("real floating", "float"),
        ("complex floating", "complex"),
    ):
        try:
            if xp.isdtype(dtype, name):
                return kind
        except (TypeError, ValueError):  # pragma: no cover - namespaces without isdtype kinds
            continue
    return "other"


def float_input(fname: str, x, argname: str = "x"):
    """Validate ``x`` as real numeric input of ``fname`` and return ``(xp, x_float)``.

    Raises:
        TypeError: for complex, string, object or otherwise non-numeric input.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":  # the common case, decided without the checks below
        return np, x
    try:
        xp, (arr,) = get_namespace(x)
    except RaggedError as exc:
        raise ValueError(f"{fname}: argument '{argname}' must be a rectangular array; got {exc}") from None
    except TypeError as exc:
        raise TypeError(
            f"{fname}: argument '{argname}' must be a real numeric array; could not read "
            f"{type(x).__name__} ({exc})"
        ) from None
    return xp, as_float(fname, xp, arr, argname)


def as_float(fname: str, xp, arr, argname: str = "x"):
    """Cast an array of namespace ``xp`` to floating point under dlmath's dtype rules."""
    if xp is np and (arr.dtype.kind == "f" or is_np_bfloat16(arr.dtype)):
        return arr
    kind = dtype_kind(xp, arr.dtype)
    if kind == "float":
        return arr
    if kind in ("bool", "int"):
        return xp.astype(arr, default_float(xp)) if not is_numpy(xp) else arr.astype(np.float64)
    if kind == "complex":
        raise TypeError(
            f"{fname}: argument '{argname}' must be real; got complex dtype {arr.dtype}. "
            "Pass the real part or the magnitude explicitly."
        )
    raise TypeError(f"{fname}: argument '{argname}' must be a real numeric array; got dtype {arr.dtype}")


def normalize_axis(fname: str, axis, ndim: int, *, argname: str = "axis") -> tuple[int, ...]:
    """Turn ``axis`` (None, int or tuple of ints) into a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, decided without the checks below
        return (axis % ndim,)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)):
            raise TypeError(f"{fname}: '{argname}' must be None, an int or a tuple of ints; got {axis!r}")
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(
                f"{fname}: '{argname}' must be None, an int or a tuple of ints; got {axis!r}"
            ) from None
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{fname}: '{argname}' {a} is out of range for an array with {ndim} "
                f"dimension{'s' if ndim != 1 else ''} (expected {-ndim} <= {argname} < {ndim})"
                if ndim
                else f"{fname}: '{argname}' {a} is out of range for a 0-dimensional array "
                "(only axis=None or axis=() is valid)"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: '{argname}' contains a repeated axis: {axis!r}")
    return tuple(sorted(out))


def reduced_shape(shape, axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    """The shape of a reduction over ``axes``: those axes dropped, or kept with length 1."""
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def single_axis(fname: str, axis, ndim: int, *, argname: str = "axis", array_name: str = "x") -> int:
    """Validate an axis that must be exactly one int (class axes) of the array named ``array_name``."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, decided without the checks below
        return axis % ndim
    if axis is None or isinstance(axis, (tuple, list, bool, np.bool_)) or not hasattr(axis, "__index__"):
        # checked here, not in normalize_axis, whose message would offer None and tuples
        raise TypeError(f"{fname}: '{argname}' must be a single int; got {axis!r}")
    if ndim == 0:
        raise ValueError(
            f"{fname}: '{array_name}' must have at least one dimension (the class axis); got a 0-d array"
        )
    return normalize_axis(fname, axis, ndim, argname=argname)[0]


def check_real_scalar(fname: str, name: str, value, *, positive: bool = True) -> float:
    """Validate a hyper-parameter such as a temperature: a finite real number (> 0 if asked)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fname}: '{name}' must be a real number; got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{fname}: '{name}' must be finite and > 0; got {value!r}")
    return v


def stop_gradient(xp, a):
    """Treat ``a`` as a constant under PyTorch or JAX autodiff; identity elsewhere."""
    if is_numpy(xp):
        return a
    compat = _compat()
    if compat.is_torch_array(a):
        return a.detach()
    if compat.is_jax_array(a):
        import jax

        return jax.lax.stop_gradient(a)
    return a


def is_concrete(a) -> bool:
    """True when ``a``'s values can be read here without moving data between devices or stopping
    a trace: NumPy and array-API arrays, concrete JAX arrays on the CPU, and plain torch CPU tensors
    outside ``torch.compile``. False for JAX tracers, torch fake, meta and functorch-wrapped
    (``vmap``, ``grad``) tensors, and arrays on other devices; data checks are skipped there and
    callers give NaN where a check would have failed."""
    mod = type(a).__module__
    if mod.startswith("jax"):
        if "Tracer" in type(a).__name__:
            return False
        try:
            return all(d.platform == "cpu" for d in a.devices())
        except (AttributeError, RuntimeError):  # pragma: no cover - older JAX array types
            return True
    if mod.startswith("torch"):
        return _torch_is_concrete(a)
    return True


def _torch_is_concrete(a) -> bool:
    import torch

    if a.device.type != "cpu" or torch.compiler.is_compiling():
        return False
    if torch._C._functorch.is_functorch_wrapped_tensor(a):
        return False
    return not isinstance(a, torch._subclasses.FakeTensor)


def move_axes_last(xp, x, axes: tuple[int, ...]):
    """Move ``axes`` to the end, keeping the order of the rest."""
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    if order == list(range(x.ndim)):
        return x
    return xp.permute_dims(x, tuple(order))


def to_numpy(a):
    """A NumPy copy of a concrete array of any namespace, for error messages and checks."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "detach"):  # torch
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except (TypeError, ValueError, RuntimeError):
        return np.from_dlpack(a)


def device_of(a):
    """The device of an array (``"cpu"`` for NumPy)."""
    if isinstance(a, np.ndarray):
        return "cpu"
    if framework(a) == "torch":
        return a.device
    return _compat().device(a)


def is_half(xp, dtype) -> bool:
    """True for float16 and bfloat16, which dlmath computes in float32 and rounds once."""
    if is_numpy(xp):
        return dtype == np.float16 or is_np_bfloat16(dtype)
    for name in ("float16", "bfloat16"):
        half = getattr(xp, name, None)
        if half is not None and dtype == half:
            return True
    return str(dtype).endswith(("float16", "bfloat16"))


def compute_dtype(xp, x):
    """float16 and bfloat16 are computed in float32 (callers cast the result back); other floats as
    they are."""
    return xp.astype(x, xp.float32) if is_half(xp, x.dtype) else x


def cast(xp, a, dtype):
    """``a`` as ``dtype`` (no copy when it already is); a value past a narrower dtype's range
    rounds to +-inf, as IEEE rounding says, without a ``RuntimeWarning``."""
    if a.dtype == dtype:
        return a
    with np.errstate(over="ignore", invalid="ignore"):
        return xp.astype(a, dtype)
