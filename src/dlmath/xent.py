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

import numpy as np

from . import _kernels, _xent_core
from . import _lse_core as core
from ._array import as_float, cast, compute_dtype, device_of, framework, is_concrete, is_numpy, torch_float
from ._lse_numpy import kernel_ok
from ._lse_numpy import quiet as _quiet
from ._xent_args import (
    check_reduction,
    host,
    index_error,
    like_logits,
    logits_last,
    options,
    prob_dtype,
    restore,
    target_of,
)
from ._xent_numpy import NUMPY_ROWS, kernel_xent

__all__ = ["cross_entropy", "cross_entropy_grad", "softmax_hessian", "softmax_hvp"]

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
    check_reduction(fname, reduction)
    xp, z, ax, logits_shape = logits_last(fname, logits, axis)
    K = z.shape[-1]
    fast = xp is None or kernel_ok(xp, z)
    # with ignore_index or where, plan() checks the values: an ignored or masked-out example may
    # hold any index
    early = not fast and ignore_index is None and where is None
    kind, t = target_of(fname, xp, z, target, ax, logits_shape, check_values=early)
    if K == 0:
        raise ValueError(f"{fname}: logits have no classes (axis {ax} has length 0)")
    opts = options(fname, xp, z, ax, logits_shape, kind, weight, ignore_index, label_smoothing, where)
    out_dtype = z.dtype
    if kind == "prob":
        dt = prob_dtype(xp, z, t)
        z, t = (z.to(dt), t.to(dt)) if xp is None else (z, cast(xp, t, dt))
    if xp is None:
        from . import _torch_api

        def on_bad(row):
            if kind == "index":
                pos = _unravel(row, tuple(t.shape))
                raise index_error(fname, t, pos, K, ax, logits_shape)
            target_of(fname, np, np.asarray(host(z)), np.asarray(host(t)), z.ndim - 1, tuple(z.shape))

        out = _torch_api.cross_entropy(fname, z, kind, t, reduction, opts, grad, on_bad)
        out = restore(None, out, ax) if grad else out
        return out if out.dtype == out_dtype else out.to(out_dtype)
    if opts is None and fast:
        out = kernel_xent(fname, z, target, ax, logits_shape, kind, t, reduction=reduction, grad=grad)
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
        rows = NUMPY_ROWS if is_numpy(xp) else _xent_core.Rows(xp)
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
            return cast(xp, restore(xp, _xent_core.grad(xp, rows, pl, zc, reduction), ax), z.dtype)
        return cast(xp, _xent_core.loss(xp, rows, pl, zc, reduction), z.dtype)


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
    xp, z, _, _ = logits_last("softmax_hessian", logits, axis)
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
    xp, z, ax, logits_shape = logits_last(fname, logits, axis)
    vv = like_logits(fname, xp, z, v, "v")
    vv = torch_float(fname, vv, "v") if xp is None else as_float(fname, xp, vv, "v")
    if tuple(vv.shape) != logits_shape:
        raise ValueError(f"{fname}: 'v' must have the logits' shape {logits_shape}; got {tuple(vv.shape)}")
    if ax != vv.ndim - 1:
        vv = vv.movedim(ax, -1) if xp is None else xp.moveaxis(vv, ax, -1)
    if xp is None:
        from . import _torch_api

        return restore(None, _torch_api.softmax_hvp(z, vv), ax)
    zc = compute_dtype(xp, z)
    vc = cast(xp, vv, zc.dtype)
    K = z.shape[-1]
    if is_numpy(xp) and K > 0 and z.size > 0:
        Z = np.ascontiguousarray(zc).reshape(-1, K)
        V = np.ascontiguousarray(vc).reshape(-1, K)
        if kernel_ok(xp, Z):
            out = _kernels.hvp_rows(Z, V)
        else:
            from ._hvp_kernel import hvp_rows

            out = hvp_rows(Z, V, lambda zz, vv_: _hvp_generic(np, zz, vv_))
        hv = out.reshape(z.shape)
    else:
        with _quiet():
            hv = _hvp_generic(xp, zc, vc)
    hv = restore(xp, hv, ax)
    return cast(xp, hv, z.dtype)
