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

The class axis defaults to ``-1`` and is a single int. ``reduction``, ``weight``,
``ignore_index`` and ``label_smoothing`` follow PyTorch's :func:`torch.nn.functional.cross_entropy`
(``"mean"`` averages over examples, every position of the logits outside the class axis, weighted
as PyTorch weights them); ``where`` follows optax's. :mod:`dlmath._xent_core` holds the formulas
of the options.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels, _xent_core
from . import _lse_core as core
from ._array import (
    RaggedError,
    as_float,
    cast,
    compute_dtype,
    device_of,
    dtype_kind,
    framework,
    get_namespace,
    is_concrete,
    is_numpy,
    single_axis,
    torch_float,
)
from .lse import _kernel_ok, _quiet

__all__ = ["cross_entropy", "cross_entropy_grad", "softmax_hessian", "softmax_hvp"]

_REDUCTIONS = ("none", "sum", "mean")


def _logits_last(fname, logits, axis):
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


def _restore(xp, a, ax):
    """Undo :func:`_logits_last` on an array whose class axis is last."""
    if ax == a.ndim - 1:
        return a
    return a.movedim(-1, ax) if xp is None else xp.moveaxis(a, -1, ax)


def _check_reduction(fname, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{fname}: 'reduction' must be one of {', '.join(map(repr, _REDUCTIONS))}; got {reduction!r}"
        )


def _like_logits(fname, xp, z, other, argname):
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


def _kind(xp, t):
    if xp is None:
        if t.dtype.is_floating_point:
            return "float"
        if t.dtype.is_complex:
            return "complex"
        return "bool" if str(t.dtype) == "torch.bool" else "int"
    return dtype_kind(xp, t.dtype)


def _index_error(fname, t, pos, K, ax, logits_shape):
    tv = int(np.asarray(_host(t))[pos])
    return ValueError(
        f"{fname}: target index {tv} at position {pos} is out of range for "
        f"{K} classes (expected 0 <= index < {K} along axis {ax} of logits with shape "
        f"{logits_shape})"
    )


def _host(a):
    from ._array import to_numpy

    return to_numpy(a)


def _first_bad(bad) -> tuple[int, ...]:
    """The position of the first True entry of a NumPy mask, for error messages."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _target(fname, xp, z, target, ax, logits_shape, check_values=True):
    """Validate the target; return ``("index", t)`` (class axis absent) or ``("prob", y)`` (class
    axis last, in the logits' compute dtype or wider).

    ``check_values=False`` leaves the range of indices and the sign and finiteness of weights to
    the kernels (NumPy, torch), which check them while they read the target, or to :func:`_xent_core.plan`.
    """
    t = target if xp is np and type(target) is np.ndarray else _like_logits(fname, xp, z, target, "target")
    kind = _kind(xp, t)
    K = z.shape[-1]
    batch_shape = tuple(z.shape[:-1])
    if kind == "int":
        if tuple(t.shape) != batch_shape:
            raise ValueError(
                f"{fname}: integer class-index 'target' must have the logits' shape without the class "
                f"axis {ax}, i.e. {batch_shape}; got {tuple(t.shape)} (logits shape {logits_shape})"
            )
        if check_values and is_concrete(t) and math.prod(t.shape) > 0:
            tn = np.asarray(_host(t))
            bad = (tn < 0) | (tn >= K)
            if bad.any():
                raise _index_error(fname, t, _first_bad(bad), K, ax, logits_shape)
        return "index", t
    if kind in ("float", "bool"):
        y = torch_float(fname, t, "target") if xp is None else as_float(fname, xp, t, "target")
        if tuple(y.shape) != logits_shape:
            raise ValueError(
                f"{fname}: probability 'target' must have the logits' shape {logits_shape}; "
                f"got {tuple(t.shape)} (or pass integer class indices of shape {batch_shape})"
            )
        if check_values and is_concrete(y) and math.prod(y.shape) > 0:
            yn = np.asarray(_host(y), dtype=np.float64)
            bad = ~(yn >= 0) | ~np.isfinite(yn)
            if bad.any():
                pos = _first_bad(bad)
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


def _prob_dtype(xp, z, y):
    """The dtype the loss is computed in with a probability target: the logits', or float32 where
    half-width logits meet a wider target (neither is rounded to the other's grid)."""
    if y.dtype == z.dtype:
        return z.dtype
    half = (lambda d: d.is_floating_point and d.itemsize == 2) if xp is None else None
    if xp is None and half(z.dtype) and not half(y.dtype):
        import torch

        return torch.float32
    return z.dtype


def _options(fname, xp, z, ax, logits_shape, kind, weight, ignore_index, label_smoothing, where):
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
        w = _like_logits(fname, xp, z, weight, "weight")
        w = torch_float(fname, w, "weight") if xp is None else as_float(fname, xp, w, "weight")
        if tuple(w.shape) != (K,):
            raise ValueError(f"{fname}: 'weight' must have shape ({K},), one per class; got {tuple(w.shape)}")
        weight = w.to(z.dtype) if xp is None else cast(xp, w, z.dtype)
    where_cls = where_row = None
    if where is not None:
        m = _like_logits(fname, xp, z, where, "where")
        if _kind(xp, m) != "bool":
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


_XENT_ARGS = r"""
    Args:
        logits: array ``[..., num_classes, ...]``; ``axis`` is the class axis.
        target: integer class indices of shape ``logits.shape`` without ``axis`` (one-hot
            targets), or non-negative real weights (probabilities) of ``logits.shape``.
        axis: the class axis, a single int (default ``-1``).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per-example losses).
        weight: per-class weights of shape ``(num_classes,)``, as ``F.cross_entropy(weight=)``:
            an index target's loss is scaled by its class's weight, a probability target's terms
            by theirs; ``"mean"`` then divides by the summed weights of the examples that count
            (class indices) or by their number (probabilities), as PyTorch does. A constant for
            autodiff.
        ignore_index: a class index whose examples count for nothing (loss and gradient 0, not
            in the mean); class-index targets only. Default None, where PyTorch's is -100: dlmath
            treats -100 as an ordinary (out-of-range) index unless ``ignore_index=-100`` is given.
        label_smoothing: :math:`\varepsilon \in [0, 1]`: the target becomes
            :math:`(1 - \varepsilon) y + \varepsilon/K`, as PyTorch; with ``weight`` the uniform
            part is weighted per class and, for class indices, normalised in the mean by the same
            summed weights of the targets; ignored examples get no smoothing either.
        where: boolean mask, as ``optax.softmax_cross_entropy(where=)``: of ``logits.shape``,
            the classes that take part (the others leave the softmax's normaliser, and target
            mass on them is dropped; a class index must name a kept class), or of the batch shape,
            the examples that take part. An example with nothing kept has loss 0 and does not
            count in the mean (optax has no mean; it gives such examples 0).
"""


def _unravel(row, shape):
    return tuple(int(i) for i in np.unravel_index(row, shape)) if shape else ()


def _xent(fname, logits, target, axis, reduction, weight, ignore_index, label_smoothing, where, grad):
    _check_reduction(fname, reduction)
    xp, z, ax, logits_shape = _logits_last(fname, logits, axis)
    K = z.shape[-1]
    fast = xp is None or _kernel_ok(xp, z)
    kind, t = _target(fname, xp, z, target, ax, logits_shape, check_values=not fast)
    if K == 0:
        raise ValueError(f"{fname}: logits have no classes (axis {ax} has length 0)")
    opts = _options(fname, xp, z, ax, logits_shape, kind, weight, ignore_index, label_smoothing, where)
    out_dtype = z.dtype
    if kind == "prob":
        dt = _prob_dtype(xp, z, t)
        z, t = (z.to(dt), t.to(dt)) if xp is None else (z, cast(xp, t, dt))
    if xp is None:
        from . import _torch_api

        def on_bad(row):
            if kind == "index":
                pos = _unravel(row, tuple(t.shape))
                raise _index_error(fname, t, pos, K, ax, logits_shape)
            _target(fname, np, np.asarray(_host(z)), np.asarray(_host(t)), z.ndim - 1, tuple(z.shape))

        out = _torch_api.cross_entropy(fname, z, kind, t, reduction, opts, grad, on_bad)
        return (_restore(None, out, ax) if grad else out).to(out_dtype)
    if opts is None and fast:
        out = _kernel_xent(fname, z, target, ax, logits_shape, kind, t, reduction=reduction, grad=grad)
        if out is not None:
            return out
    return _generic_xent(fname, xp, z, kind, t, ax, logits_shape, reduction, opts, grad)


def _generic_xent(fname, xp, z, kind, t, ax, logits_shape, reduction, opts, grad):
    weight, ignore_index, eps, where_cls, where_row = opts or (None, None, 0.0, None, None)
    zc = compute_dtype(xp, z)
    if kind == "prob":
        t = cast(xp, t, zc.dtype)
    if weight is not None:
        weight = cast(xp, weight, zc.dtype)
    if framework(z) == "jax":
        from . import _jax

        rows = _jax.ROWS
    else:
        rows = _NUMPY_ROWS if is_numpy(xp) else _xent_core.Rows(xp)
    with _quiet():
        pl = _xent_core.plan(
            xp,
            fname,
            zc,
            kind,
            t,
            weight=weight,
            ignore_index=ignore_index,
            eps=eps,
            context=f"axis {ax} of logits with shape {logits_shape}",
            concrete=is_concrete(t),
            where_cls=where_cls,
            where_row=where_row,
        )
        if grad:
            return cast(xp, _restore(xp, _xent_core.grad(xp, rows, pl, zc, reduction), ax), z.dtype)
        return cast(xp, _xent_core.loss(xp, rows, pl, zc, reduction), z.dtype)


class _KernelRows(_xent_core.Rows):
    """NumPy's row primitives by the compiled kernels where no class is masked out."""

    def __init__(self):
        super().__init__(np)

    @staticmethod
    def _mat(z, q=None):
        K = z.shape[-1]
        Z = np.ascontiguousarray(z).reshape(-1, K)
        if q is None:
            return Z, None
        Q = np.broadcast_to(q, z.shape).reshape(-1, K)
        return Z, np.ascontiguousarray(Q) if Q.strides[-1] != Q.itemsize else Q

    def _ok(self, z, keep):
        return keep is None and _kernel_ok(np, z) and z.size > 0

    def ce_index(self, z, t, keep=None):
        if not self._ok(z, keep):
            return super().ce_index(z, t, keep)
        Z, _ = self._mat(z)
        return _kernels.xent_rows(Z, np.asarray(t).reshape(-1)).reshape(z.shape[:-1])

    def ce_prob(self, z, q, keep=None):
        if not self._ok(z, keep):
            return super().ce_prob(z, q, keep)
        Z, Q = self._mat(z, cast(np, q, z.dtype))
        return _kernels.xent_rows(Z, Q).reshape(z.shape[:-1])

    def grad_index(self, z, t, scale, keep=None):
        if not self._ok(z, keep):
            return super().grad_index(z, t, scale, keep)
        Z, _ = self._mat(z)
        g = _kernels.xent_grad_rows(Z, np.asarray(t).reshape(-1)).reshape(z.shape)
        return g * np.expand_dims(scale, -1)

    def grad_prob(self, z, q, scale, keep=None):
        if not self._ok(z, keep):
            return super().grad_prob(z, q, scale, keep)
        Z, Q = self._mat(z, cast(np, q, z.dtype))
        return _kernels.xent_grad_rows(Z, Q).reshape(z.shape) * np.expand_dims(scale, -1)


_NUMPY_ROWS = _KernelRows()


def cross_entropy(
    logits,
    target,
    *,
    axis=-1,
    reduction="mean",
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    where=None,
):
    r"""Cross-entropy between a target and the softmax of logits, computed from the logits.

    .. math:: \mathcal L = -\sum_k y_k \log \mathrm{softmax}(z)_k
              = \Bigl(\sum_k y_k\Bigr)\,\mathrm{LSE}(z) - \sum_k y_k z_k .
    {args}
    Returns:
        The loss: a 0-d array, or per-example losses of shape ``logits.shape`` without ``axis``
        for ``reduction="none"``; same kind and floating dtype as ``logits``.

    Raises:
        TypeError: complex or non-numeric input; a non-int ``axis``; a non-boolean ``where``.
        ValueError: shapes that do not match, a class index out of range (the message names
            the index and its position), negative or non-finite probabilities, an unknown
            ``reduction``, ``label_smoothing`` outside [0, 1], ``ignore_index`` with probabilities.

    Notes:
        The log-probabilities come from the log1p form of :func:`dlmath.log_softmax`, so a
        confident correct prediction has a tiny positive loss instead of 0, and large logits
        never overflow. NumPy input goes through the compiled row kernels of
        :mod:`dlmath._kernels`, which read the logits once and check the target as they go;
        PyTorch tensors through ``torch.ops.dlmath.cross_entropy`` (the same kernels on CPU
        tensors; backward :math:`(\sum_k y_k)p - y`, and :math:`-\log p` for a probability
        target). Where values cannot be read (JAX tracers under ``jit``, torch tensors under
        ``vmap`` or ``torch.compile``, meta tensors, other devices) a bad class index or
        probability gives NaN for its example (and so for a reduced loss), never a number;
        elsewhere it raises. ``reduction="mean"`` over no example is NaN, as in PyTorch.

    Examples:
        >>> from dlmath import cross_entropy
        >>> float(cross_entropy([[2.0, 0.0, -1.0]], [0]))  # -log softmax(z)_0 = log(1 + e^-2 + e^-3)
        0.16984601955628567
        >>> float(cross_entropy([[2.0, 0.0], [0.0, 1.0]], [0, -100], ignore_index=-100))
        0.1269280110429725
    """
    return _xent(
        "cross_entropy", logits, target, axis, reduction, weight, ignore_index, label_smoothing, where, False
    )


def cross_entropy_grad(
    logits,
    target,
    *,
    axis=-1,
    reduction="mean",
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    where=None,
):
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    .. math:: \nabla_z \mathcal L = \Bigl(\sum_k y_k\Bigr)\,\mathrm{softmax}(z) - y,

    which is :math:`p - y` for a one-hot or probability target, :math:`y` being the effective
    target of the options (weighted, smoothed, masked). With ``reduction="mean"`` it is divided
    as the loss is; ``"none"`` gives each example's gradient of its own loss. For NumPy input the
    compiled kernels form :math:`p_t - 1 = -r/(1 + r)` directly where the target holds the maximum
    logit (:math:`r = \sum_{k \ne t} e^{z_k - z_t}`), so a confident correct prediction keeps its
    tiny gradient instead of rounding :math:`p_t` to 1.

    Args:
        logits, target, axis, reduction, weight, ignore_index, label_smoothing, where: as in
            :func:`cross_entropy`.

    Returns:
        An array of ``logits.shape`` (class axis in place), same kind and dtype as ``logits``;
        NaN rows where a target is bad and cannot be checked.

    Raises:
        TypeError, ValueError: as :func:`cross_entropy`.

    Examples:
        >>> from dlmath import cross_entropy_grad
        >>> cross_entropy_grad([[0.0, 0.0]], [1]).tolist()  # (p - y) / 1
        [[0.5, -0.5]]
    """
    return _xent(
        "cross_entropy_grad",
        logits,
        target,
        axis,
        reduction,
        weight,
        ignore_index,
        label_smoothing,
        where,
        True,
    )


cross_entropy.__doc__ = cross_entropy.__doc__.replace("{args}", _XENT_ARGS)


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
    if framework(z) == "torch":
        from . import _torch

        return _torch.softmax(z, 1.0, False)
    if framework(z) == "jax":
        from . import _jax

        return _jax.ROWS.softmax(z, None)
    with _quiet():
        return core.normalise(xp, z, (z.ndim - 1,))


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
    if xp is None:
        from . import _torch_api

        xp = _torch_api.xpt
    zc = compute_dtype(xp, z)
    p = _softmax_last(xp, zc)
    K = z.shape[-1]
    outer = xp.expand_dims(p, axis=-1) * xp.expand_dims(p, axis=-2)
    eye = xp.eye(K, dtype=p.dtype, device=device_of(p))
    H = xp.expand_dims(p, axis=-1) * eye - outer
    return cast(xp, H, z.dtype)


def _hvp_generic(xp, z, v):
    return _xent_core.hvp(xp, _softmax_last(xp, z), v)


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
        once; :math:`p^\top v` is summed in float64. PyTorch tensors go through
        ``torch.ops.dlmath.softmax_hvp`` (differentiable again in both arguments), JAX arrays
        through the softmax's ``custom_jvp``.

    Examples:
        >>> from dlmath import softmax_hvp
        >>> softmax_hvp([0.0, 0.0], [1.0, -1.0]).tolist()  # p ⊙ v - p (pᵀv), p = (1/2, 1/2)
        [0.5, -0.5]
    """
    fname = "softmax_hvp"
    xp, z, ax, logits_shape = _logits_last(fname, logits, axis)
    vv = _like_logits(fname, xp, z, v, "v")
    vv = torch_float(fname, vv, "v") if xp is None else as_float(fname, xp, vv, "v")
    if tuple(vv.shape) != logits_shape:
        raise ValueError(f"{fname}: 'v' must have the logits' shape {logits_shape}; got {tuple(vv.shape)}")
    if ax != vv.ndim - 1:
        vv = vv.movedim(ax, -1) if xp is None else xp.moveaxis(vv, ax, -1)
    if xp is None:
        from . import _torch_api

        return _restore(None, _torch_api.softmax_hvp(z, vv), ax)
    zc = compute_dtype(xp, z)
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
        with _quiet():
            hv = _hvp_generic(xp, zc, vc)
    hv = _restore(xp, hv, ax)
    return cast(xp, hv, z.dtype)
