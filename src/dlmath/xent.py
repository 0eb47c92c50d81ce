r"""Cross-entropy on logits, its gradient, and the curvature of softmax: Hessian and HVP.

For logits :math:`z \in \mathbb R^K`, :math:`p = \mathrm{softmax}(z)` and a target :math:`y`
(a class index, i.e. a one-hot vector, or any non-negative weights),

.. math::
    \mathcal L(z) = -\sum_k y_k \log p_k = \Bigl(\sum_k y_k\Bigr)\mathrm{LSE}(z) - y^\top z,
    \qquad
    \nabla_z \mathcal L = \Bigl(\sum_k y_k\Bigr) p - y,
    \qquad
    \nabla_z^2 \mathcal L = \Bigl(\sum_k y_k\Bigr)\bigl(\mathrm{diag}(p) - p p^\top\bigr).

:func:`softmax_hessian` and :func:`softmax_hvp` return the curvature for a unit-mass target
(:math:`\sum_k y_k = 1`, the usual case): the covariance matrix of a one-hot draw from
:math:`p`, hence symmetric positive semi-definite with :math:`H\mathbf 1 = 0`.

The class axis defaults to ``-1`` and is a single int. ``reduction`` follows PyTorch's
:func:`torch.nn.functional.cross_entropy`: ``"mean"`` averages over examples (every position
of the logits outside the class axis), ``"sum"`` adds them, ``"none"`` keeps them.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from ._array import (
    RaggedError,
    as_float,
    cast,
    device_of,
    dtype_kind,
    get_namespace,
    is_concrete,
    is_numpy,
    single_axis,
    to_numpy,
)
from .lse import _compute_dtype, _kernel_ok, _log_softmax_core, _softmax_core

__all__ = ["cross_entropy", "cross_entropy_grad", "softmax_hessian", "softmax_hvp"]

_REDUCTIONS = ("none", "sum", "mean")


def _logits_last(fname, logits, axis):
    """``(xp, z, ax, shape)``: float logits with the class axis moved last, and their own shape."""
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


def _restore(xp, a, ax):
    """Undo :func:`_logits_last` on an array whose class axis is last."""
    return a if ax == a.ndim - 1 else xp.moveaxis(a, -1, ax)


def _check_reduction(fname, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{fname}: 'reduction' must be one of {', '.join(map(repr, _REDUCTIONS))}; got {reduction!r}"
        )


def _like_logits(fname, xp, z, other, argname):
    """``other`` as an array of the logits' namespace ``xp`` (array-likes are converted).

    A different kind of array (a torch ``v`` beside NumPy logits) is a ``TypeError`` naming both.
    """
    try:
        xo, (_, arr) = get_namespace(z, other)
    except RaggedError as exc:
        raise ValueError(f"{fname}: argument '{argname}' must be a rectangular array; got {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{fname}: argument '{argname}' must be an array like the logits ({exc})") from None
    if xo is not xp:
        raise TypeError(
            f"{fname}: 'logits' and '{argname}' must be the same kind of array; got "
            f"{type(z).__module__}.{type(z).__name__} and {type(other).__module__}.{type(other).__name__}"
        )
    return arr


def _first_bad(bad) -> tuple[int, ...]:
    """The position of the first True entry of a NumPy mask, for error messages."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _target(fname, xp, z, target, ax, logits_shape, check_values=True):
    """Validate the target; return ``("index", t)`` (class axis absent) or ``("prob", y)`` (class axis last).

    ``check_values=False`` leaves the range of indices and the sign and finiteness of weights to
    the compiled kernels, which check them while they read the target (see :func:`_kernel_xent`).
    """
    t = target if xp is np and type(target) is np.ndarray else _like_logits(fname, xp, z, target, "target")
    kind = dtype_kind(xp, t.dtype)
    K = z.shape[-1]
    batch_shape = tuple(z.shape[:-1])
    if kind == "int":
        if tuple(t.shape) != batch_shape:
            raise ValueError(
                f"{fname}: integer class-index 'target' must have the logits' shape without the class "
                f"axis {ax}, i.e. {batch_shape}; got {tuple(t.shape)} (logits shape {logits_shape})"
            )
        if check_values and is_concrete(t) and math.prod(t.shape) > 0:
            tn = to_numpy(t)
            bad = (tn < 0) | (tn >= K)
            if bad.any():
                pos = _first_bad(bad)
                raise ValueError(
                    f"{fname}: target index {int(tn[pos])} at position {pos} is out of range for "
                    f"{K} classes (expected 0 <= index < {K} along axis {ax} of logits with shape "
                    f"{logits_shape})"
                )
        return "index", t
    if kind in ("float", "bool"):
        y = as_float(fname, xp, t, "target")
        if tuple(y.shape) != logits_shape:
            raise ValueError(
                f"{fname}: probability 'target' must have the logits' shape {logits_shape}; "
                f"got {tuple(t.shape)} (or pass integer class indices of shape {batch_shape})"
            )
        if check_values and is_concrete(y) and math.prod(y.shape) > 0:
            yn = to_numpy(y)
            bad = ~(yn >= 0) | ~np.isfinite(yn)
            if bad.any():
                pos = _first_bad(bad)
                raise ValueError(
                    f"{fname}: probability 'target' must be finite and non-negative; got "
                    f"{float(yn[pos])!r} at position {pos}"
                )
        if ax != y.ndim - 1:
            y = xp.moveaxis(y, ax, -1)
        y = cast(xp, y, z.dtype)
        return "prob", y
    raise TypeError(
        f"{fname}: 'target' must hold integer class indices or real probabilities; got dtype {t.dtype}"
    )


def _one_hot(xp, t, K, dtype, like):
    classes = xp.arange(K, device=device_of(like))
    return xp.astype(xp.expand_dims(t, axis=-1) == classes, dtype)


def _reduce(xp, per_example, reduction):
    if reduction == "none":
        return per_example
    total = xp.sum(per_example)
    if reduction == "sum":
        return total
    n = math.prod(per_example.shape)
    return total / n if n else xp.full((), math.nan, dtype=per_example.dtype, device=device_of(per_example))


def cross_entropy(logits, target, *, axis=-1, reduction="mean"):
    r"""Cross-entropy between a target and the softmax of logits, computed from the logits.

    .. math:: \mathcal L = -\sum_k y_k \log \mathrm{softmax}(z)_k
              = \Bigl(\sum_k y_k\Bigr)\,\mathrm{LSE}(z) - \sum_k y_k z_k .

    Args:
        logits: array ``[..., num_classes, ...]``; ``axis`` is the class axis.
        target: integer class indices of shape ``logits.shape`` without ``axis`` (one-hot
            targets), or non-negative real weights (probabilities) of ``logits.shape``.
        axis: the class axis, a single int (default ``-1``).
        reduction: ``"mean"`` (over examples, default), ``"sum"`` or ``"none"``.

    Returns:
        The loss: a 0-d array, or per-example losses of shape ``logits.shape`` without ``axis``
        for ``reduction="none"``; same kind and floating dtype as ``logits``.

    Raises:
        TypeError: complex or non-numeric input; a non-int ``axis``.
        ValueError: shapes that do not match, a class index out of range (the message names
            the index and its position), negative or non-finite probabilities, an unknown
            ``reduction``.

    Notes:
        The log-probabilities come from the log1p form of :func:`dlmath.log_softmax`, so a
        confident correct prediction has a tiny positive loss instead of 0, and large logits
        never overflow. Matches :func:`torch.nn.functional.cross_entropy` (no weights,
        no label smoothing). Out-of-range indices cannot be detected inside ``jax.jit``.
        NumPy input goes through the compiled row kernels of :mod:`dlmath._kernels`, which
        read the logits once and check the target as they go.

    Examples:
        >>> from dlmath import cross_entropy
        >>> float(cross_entropy([[2.0, 0.0, -1.0]], [0]))  # -log softmax(z)_0 = log(1 + e^-2 + e^-3)
        0.16984601955628567
    """
    fname = "cross_entropy"
    _check_reduction(fname, reduction)
    xp, z, ax, logits_shape = _logits_last(fname, logits, axis)
    shape = tuple(z.shape[:-1])
    fast = _kernel_ok(xp, z)
    kind, t = _target(fname, xp, z, target, ax, logits_shape, check_values=not fast)
    K = z.shape[-1]
    if K == 0:
        raise ValueError(f"{fname}: logits have no classes (axis {ax} has length 0)")
    if fast:
        out = _kernel_xent(fname, z, target, ax, logits_shape, kind, t, reduction=reduction)
        if out is not None:
            return out
    zc = _compute_dtype(xp, z)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ls = _log_softmax_core(xp, zc, (zc.ndim - 1,))
        if kind == "index":
            if is_numpy(xp):
                picked = np.take_along_axis(ls, t[..., None].astype(np.intp), axis=-1)[..., 0]
            else:
                oh = _one_hot(xp, t, K, xp.bool, ls)
                picked = xp.sum(xp.where(xp.astype(oh, xp.bool), ls, xp.zeros_like(ls)), axis=-1)
            per = -picked
        else:
            y = cast(xp, t, zc.dtype)
            per = -xp.sum(xp.where(y == 0, xp.zeros_like(ls), y * ls), axis=-1)
        per = xp.reshape(per, shape)
        out = _reduce(xp, per, reduction)
    return cast(xp, out, z.dtype)


def cross_entropy_grad(logits, target, *, axis=-1, reduction="mean"):
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    .. math:: \nabla_z \mathcal L = \Bigl(\sum_k y_k\Bigr)\,\mathrm{softmax}(z) - y,

    which is :math:`p - y` for a one-hot or probability target. With ``reduction="mean"`` it
    is divided by the number of examples, as the loss is; ``"none"`` gives each example's
    gradient of its own loss. For NumPy input the compiled kernels form
    :math:`p_t - 1 = -r/(1 + r)` directly where the target holds the maximum logit
    (:math:`r = \sum_{k \ne t} e^{z_k - z_t}`), so a confident correct prediction keeps its tiny
    gradient instead of rounding :math:`p_t` to 1.

    Args:
        logits, target, axis, reduction: as in :func:`cross_entropy`.

    Returns:
        An array of ``logits.shape`` (class axis in place), same kind and dtype as ``logits``.

    Raises:
        TypeError, ValueError: as :func:`cross_entropy`.

    Examples:
        >>> from dlmath import cross_entropy_grad
        >>> cross_entropy_grad([[0.0, 0.0]], [1]).tolist()  # (p - y) / 1
        [[0.5, -0.5]]
    """
    fname = "cross_entropy_grad"
    _check_reduction(fname, reduction)
    xp, z, ax, logits_shape = _logits_last(fname, logits, axis)
    fast = _kernel_ok(xp, z)
    kind, t = _target(fname, xp, z, target, ax, logits_shape, check_values=not fast)
    K = z.shape[-1]
    if K == 0:
        raise ValueError(f"{fname}: logits have no classes (axis {ax} has length 0)")
    if fast:
        g = _kernel_xent(fname, z, target, ax, logits_shape, kind, t, reduction=reduction, grad=True)
        if g is not None:
            return g
    zc = _compute_dtype(xp, z)
    p = _softmax_last(xp, zc)
    if kind == "index":
        if is_numpy(xp):
            g = p.copy()
            idx = t[..., None].astype(np.intp)
            np.put_along_axis(g, idx, np.take_along_axis(g, idx, axis=-1) - 1.0, axis=-1)
        else:
            g = p - _one_hot(xp, t, K, p.dtype, p)
    else:
        y = cast(xp, t, p.dtype)
        g = xp.sum(y, axis=-1, keepdims=True) * p - y
    if reduction == "mean":
        n = math.prod(z.shape[:-1])
        g = g / n if n else g
    g = _restore(xp, g, ax)
    return cast(xp, g, z.dtype)


def _kernel_xent(fname, z, target, ax, logits_shape, kind, t, *, reduction, grad=False):
    """The loss (or, with ``grad``, its gradient) of NumPy logits by the compiled row kernels, which
    read the logits once; None where the NumPy path must decide (see below).

    The kernels check the class indices and weights as they read them; on a bad one the NumPy
    validation runs and raises its own error. It can also pass: a float64 weight past float32's
    range is finite before the cast to the logits' dtype, inf after it. Such a call returns None and
    is computed by the NumPy path.
    """
    K = z.shape[-1]
    Z = np.ascontiguousarray(z).reshape(-1, K)
    R = Z.shape[0]
    T = t.reshape(R) if kind == "index" else np.ascontiguousarray(t).reshape(R, K)
    try:
        if grad:
            n = R if reduction == "mean" else 1
            g = _kernels.xent_grad_rows(Z, T, scale=1.0 / n if n else 1.0)
            return _restore(np, g.reshape(z.shape), ax)
        per = _kernels.xent_rows(Z, T, dtype=z.dtype if reduction == "none" else np.float64)
    except (IndexError, ValueError):
        _target(fname, np, z, target, ax, logits_shape)
        return None
    per = per.reshape(z.shape[:-1])
    if reduction == "none":
        return per
    # the per-example losses in float64, summed there; under 8 of them np.sum adds them in order,
    # as sum() does, at a fifth of the cost of a NumPy reduction
    total = np.float64(sum(per.ravel().tolist())) if R < 8 else per.sum()
    if reduction == "mean":
        total = total / R if R else np.float64(math.nan)
    return cast(np, total, z.dtype)


def _softmax_last(xp, z):
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _softmax_core(xp, z, (z.ndim - 1,))


def softmax_hessian(logits, *, axis=-1):
    r"""Hessian of the cross-entropy (unit-mass target) in the logits, formed densely.

    .. math:: H = \mathrm{diag}(p) - p p^\top, \qquad H_{ij} = p_i(\delta_{ij} - p_j),
              \qquad p = \mathrm{softmax}(z).

    :math:`H` is the covariance of a one-hot vector drawn from :math:`p`, so it is symmetric
    positive semi-definite, and :math:`H\mathbf 1 = 0` (adding a constant to every logit
    changes nothing). It does not depend on the target.

    Args:
        logits: array ``[..., num_classes, ...]``.
        axis: the class axis, a single int (default ``-1``).

    Returns:
        An array of shape ``[..., K, K]``: the batch axes (every axis but ``axis``, in order)
        followed by the two class axes.

    Raises:
        TypeError, ValueError: bad dtype or axis.

    Notes:
        This costs :math:`O(K^2)` memory; to apply the curvature to a vector use
        :func:`softmax_hvp`, which is :math:`O(K)`.

    Examples:
        >>> from dlmath import softmax_hessian
        >>> softmax_hessian([0.0, 0.0]).tolist()
        [[0.25, -0.25], [-0.25, 0.25]]
    """
    xp, z, _, _ = _logits_last("softmax_hessian", logits, axis)
    zc = _compute_dtype(xp, z)
    p = _softmax_last(xp, zc)
    K = z.shape[-1]
    outer = xp.expand_dims(p, axis=-1) * xp.expand_dims(p, axis=-2)
    eye = xp.eye(K, dtype=p.dtype, device=device_of(p))
    H = xp.expand_dims(p, axis=-1) * eye - outer
    return cast(xp, H, z.dtype)


def _hvp_generic(xp, z, v):
    p = _softmax_last(xp, z)
    return p * v - p * xp.sum(p * v, axis=-1, keepdims=True)


def softmax_hvp(logits, v, *, axis=-1):
    r"""Product of the softmax cross-entropy Hessian with a vector, in :math:`O(K)`.

    .. math:: H v = \bigl(\mathrm{diag}(p) - p p^\top\bigr) v = p \odot v - p\,(p^\top v),
              \qquad p = \mathrm{softmax}(z),

    batched over every axis but the class axis; the :math:`K \times K` matrix is never formed.

    Args:
        logits: array ``[..., num_classes, ...]``.
        v: array of the same shape as ``logits`` (one vector per example).
        axis: the class axis, a single int (default ``-1``).

    Returns:
        An array of ``logits.shape`` (class axis in place), same kind and dtype as ``logits``.

    Raises:
        TypeError: bad dtype or axis; ``v`` a different kind of array than ``logits``.
        ValueError: ``v``'s shape differs from ``logits``'s; ``axis`` out of range.

    Notes:
        NumPy input goes through the compiled row kernels of :mod:`dlmath._kernels`: rows spread
        over a few threads, the logits and ``v`` read once from memory and the result written
        once; :math:`p^\top v` is summed in float64.

    Examples:
        >>> from dlmath import softmax_hvp
        >>> softmax_hvp([0.0, 0.0], [1.0, -1.0]).tolist()  # p ⊙ v - p (pᵀv), p = (1/2, 1/2)
        [0.5, -0.5]
    """
    fname = "softmax_hvp"
    xp, z, ax, logits_shape = _logits_last(fname, logits, axis)
    vv = as_float(fname, xp, _like_logits(fname, xp, z, v, "v"), "v")
    if tuple(vv.shape) != logits_shape:
        raise ValueError(f"{fname}: 'v' must have the logits' shape {logits_shape}; got {tuple(vv.shape)}")
    if ax != vv.ndim - 1:
        vv = xp.moveaxis(vv, ax, -1)
    zc = _compute_dtype(xp, z)
    vc = cast(xp, vv, zc.dtype)
    K = z.shape[-1]
    if is_numpy(xp) and K > 0 and z.size > 0:
        Z = np.ascontiguousarray(zc).reshape(-1, K)
        V = np.ascontiguousarray(vc).reshape(-1, K)
        if _kernel_ok(xp, Z):
            out = _kernels.hvp_rows(Z, V)
        else:
            from ._hvp_kernel import hvp_rows

            out = hvp_rows(Z, V, lambda zz, vv_: _hvp_generic(np, zz, vv_))
        hv = out.reshape(z.shape)
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            hv = _hvp_generic(xp, zc, vc)
    hv = _restore(xp, hv, ax)
    return cast(xp, hv, z.dtype)
