"""Cross-entropy's arguments checked at the public boundary: the logits with their class axis moved
last, the target (class indices or probabilities), and the options, with the errors' wording
written once. Torch tensors are handled without the array-API machinery (the ops' hot path)."""

from __future__ import annotations

import math

import numpy as np

from ._array import (
    RaggedError,
    as_float,
    cast,
    dtype_kind,
    framework,
    get_namespace,
    is_concrete,
    same_kind,
    single_axis,
    torch_float,
)

__all__ = [
    "logits_last",
    "restore",
    "check_reduction",
    "like_logits",
    "kind_of",
    "index_error",
    "host",
    "target_of",
    "prob_dtype",
    "options",
]

_REDUCTIONS = ("none", "sum", "mean")


def logits_last(fname, logits, axis):
    """``(xp, z, ax, shape)``: float logits with the class axis moved last, and their own shape
    (``xp`` is None for a torch tensor, which needs none of the array-API machinery)."""
    if framework(logits) == "torch":
        z = torch_float(fname, logits, "logits")
        ax = single_axis(fname, axis, z.ndim, array_name="logits")
        shape = tuple(z.shape)
        return None, (z if ax == z.ndim - 1 else z.movedim(ax, -1)), ax, shape
    try:
        xp, (z,) = get_namespace(logits)
    except RaggedError as exc:
        raise ValueError(f"{fname}: argument 'logits' must be a rectangular array; got {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{fname}: argument 'logits' must be a real numeric array ({exc})") from None
    z = as_float(fname, xp, z, "logits")
    ax = single_axis(fname, axis, z.ndim, array_name="logits")
    shape = tuple(z.shape)
    if ax != z.ndim - 1:
        z = xp.moveaxis(z, ax, -1)
    return xp, z, ax, shape


def restore(xp, a, ax):
    """Undo :func:`logits_last` on an array whose class axis is last."""
    if ax == a.ndim - 1:
        return a
    return a.movedim(-1, ax) if xp is None else xp.moveaxis(a, -1, ax)


def check_reduction(fname, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{fname}: 'reduction' must be one of {', '.join(map(repr, _REDUCTIONS))}; got {reduction!r}"
        )


def like_logits(fname, xp, z, other, argname):
    """``other`` as an array of the logits' namespace ``xp`` (array-likes are converted).

    A different kind of array (a torch ``v`` beside NumPy logits) is a ``TypeError`` naming both.
    """
    if xp is None:
        import torch

        if isinstance(other, torch.Tensor):
            return other if other.device == z.device else other.to(z.device)
        if framework(other) is not None:
            raise TypeError(
                f"{fname}: 'logits' and '{argname}' must be the same kind of array; got "
                f"torch.Tensor and {type(other).__module__}.{type(other).__name__}"
            )
        try:
            return torch.as_tensor(np.asarray(other), device=z.device)
        except ValueError as exc:
            raise ValueError(
                f"{fname}: argument '{argname}' must be a rectangular array; got {exc}"
            ) from None
    return same_kind(fname, xp, z, other, argname, "'logits'")


def kind_of(xp, t):
    if xp is None:
        if t.dtype.is_floating_point:
            return "float"
        if t.dtype.is_complex:
            return "complex"
        return "bool" if str(t.dtype) == "torch.bool" else "int"
    return dtype_kind(xp, t.dtype)


def index_error(fname, t, pos, K, ax, logits_shape):
    tv = int(np.asarray(host(t))[pos])
    return ValueError(
        f"{fname}: target index {tv} at position {pos} is out of range for "
        f"{K} classes (expected 0 <= index < {K} along axis {ax} of logits with shape "
        f"{logits_shape})"
    )


def host(a):
    from ._array import to_numpy

    return to_numpy(a)


def first_bad(bad) -> tuple[int, ...]:
    """The position of the first True entry of a NumPy mask, for error messages."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def target_of(fname, xp, z, target, ax, logits_shape, check_values=True):
    """Validate the target; return ``("index", t)`` (class axis absent) or ``("prob", y)`` (class
    axis last, in the logits' compute dtype or wider).

    ``check_values=False`` leaves the range of indices and the sign and finiteness of weights to
    the kernels (NumPy, torch), which check them while they read the target, or to :func:`_xent_core.plan`.
    """
    t = target if xp is np and type(target) is np.ndarray else like_logits(fname, xp, z, target, "target")
    kind = kind_of(xp, t)
    K = z.shape[-1]
    batch_shape = tuple(z.shape[:-1])
    if kind == "int":
        if tuple(t.shape) != batch_shape:
            raise ValueError(
                f"{fname}: integer class-index 'target' must have the logits' shape without the class "
                f"axis {ax}, i.e. {batch_shape}; got {tuple(t.shape)} (logits shape {logits_shape})"
            )
        if check_values and is_concrete(t) and math.prod(t.shape) > 0:
            tn = np.asarray(host(t))
            bad = (tn < 0) | (tn >= K)
            if bad.any():
                raise index_error(fname, t, first_bad(bad), K, ax, logits_shape)
        return "index", t
    if kind in ("float", "bool"):
        y = torch_float(fname, t, "target") if xp is None else as_float(fname, xp, t, "target")
        if tuple(y.shape) != logits_shape:
            raise ValueError(
                f"{fname}: probability 'target' must have the logits' shape {logits_shape}; "
                f"got {tuple(t.shape)} (or pass integer class indices of shape {batch_shape})"
            )
        if check_values and is_concrete(y) and math.prod(y.shape) > 0:
            yn = np.asarray(host(y), dtype=np.float64)
            bad = ~(yn >= 0) | ~np.isfinite(yn)
            if bad.any():
                pos = first_bad(bad)
                raise ValueError(
                    f"{fname}: probability 'target' must be finite and non-negative; got "
                    f"{float(yn[pos])!r} at position {pos}"
                )
        if ax != y.ndim - 1:
            y = y.movedim(ax, -1) if xp is None else xp.moveaxis(y, ax, -1)
        return "prob", y
    raise TypeError(
        f"{fname}: 'target' must hold integer class indices or real probabilities; got dtype {t.dtype}"
    )


def prob_dtype(xp, z, y):
    """The dtype the loss is computed in with a probability target: the logits', or float32 where
    half-width logits meet a wider target (neither is rounded to the other's grid)."""
    if y.dtype == z.dtype:
        return z.dtype
    half = (lambda d: d.is_floating_point and d.itemsize == 2) if xp is None else None
    if xp is None and half(z.dtype) and not half(y.dtype):
        import torch

        return torch.float32
    return z.dtype


def options(fname, xp, z, ax, logits_shape, kind, weight, ignore_index, label_smoothing, where):
    """``None`` without options, else ``(weight, ignore_index, eps, where_cls, where_row)`` with
    ``where`` split into its class-mask (logits' shape) and row-mask (batch shape) forms."""
    if isinstance(label_smoothing, bool) or not isinstance(
        label_smoothing, (int, float, np.floating, np.integer)
    ):
        raise TypeError(f"{fname}: 'label_smoothing' must be a real number; got {label_smoothing!r}")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{fname}: 'label_smoothing' must be between 0.0 and 1.0; got {label_smoothing!r}")
    if ignore_index is not None:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"{fname}: 'ignore_index' must be an int or None; got {ignore_index!r}")
        if kind == "prob":
            raise ValueError(
                f"{fname}: 'ignore_index' applies to class-index targets; got a probability target"
            )
        ignore_index = int(ignore_index)
    if weight is None and ignore_index is None and not eps and where is None:
        return None
    K = z.shape[-1]
    if weight is not None:
        w = like_logits(fname, xp, z, weight, "weight")
        w = torch_float(fname, w, "weight") if xp is None else as_float(fname, xp, w, "weight")
        if tuple(w.shape) != (K,):
            raise ValueError(f"{fname}: 'weight' must have shape ({K},), one per class; got {tuple(w.shape)}")
        weight = w.to(z.dtype) if xp is None else cast(xp, w, z.dtype)
    where_cls = where_row = None
    if where is not None:
        m = like_logits(fname, xp, z, where, "where")
        if kind_of(xp, m) != "bool":
            raise TypeError(f"{fname}: 'where' must be a boolean mask; got dtype {m.dtype}")
        if tuple(m.shape) == logits_shape:
            where_cls = (
                m if ax == m.ndim - 1 else (m.movedim(ax, -1) if xp is None else xp.moveaxis(m, ax, -1))
            )
        elif tuple(m.shape) == tuple(z.shape[:-1]):
            where_row = m
        else:
            raise ValueError(
                f"{fname}: 'where' must have the logits' shape {logits_shape} (classes) or their shape "
                f"without the class axis {tuple(z.shape[:-1])} (examples); got {tuple(m.shape)}"
            )
    return weight, ignore_index, eps, where_cls, where_row
