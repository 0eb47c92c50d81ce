r"""The Euclidean norm without overflow, underflow or NaN gradients, and its (sub)gradient.

For :math:`x \ne 0`,

.. math:: \nabla_x \lVert x\rVert_2 = \frac{x}{\lVert x\rVert_2},

and at :math:`x = 0` the norm has a cusp: every vector of length :math:`\le 1` is a
subgradient, and dlmath picks 0. Autodiff of the textbook ``sqrt(sum(x**2))`` gives
``0 * inf = NaN`` there (PyTorch issue #2421); :func:`safe_norm` is written so that PyTorch and
JAX differentiate it to exactly 0 at the origin and to :math:`x/\lVert x\rVert` elsewhere.

Scaling by :math:`a = \max_i |x_i|` keeps every square in range:

.. math:: \lVert x\rVert_2 = a \sqrt{\textstyle\sum_i (x_i/a)^2},

so entries near :math:`10^{\pm 300}` neither overflow nor vanish.
"""

from __future__ import annotations

import math

import numpy as np

from ._array import (
    cast,
    compute_dtype,
    device_of,
    float_input,
    is_numpy,
    normalize_axis,
    reduced_shape,
    stop_gradient,
)

__all__ = ["safe_norm", "norm_grad"]


def _scaled(xp, x, axes):
    """``(t, a_safe, a)``: ``x / a_safe`` with ``a = max|x|`` (kept dims, no gradient)."""
    a = stop_gradient(xp, xp.max(xp.abs(x), axis=axes, keepdims=True))
    ok = (a > 0) & xp.isfinite(a)
    a_safe = xp.where(ok, a, xp.ones_like(a))
    return x / a_safe, a_safe, a


def _norm_generic(xp, x, axes, keepdims):
    with np.errstate(invalid="ignore", over="ignore"):
        t, a_safe, _ = _scaled(xp, x, axes)
        s = xp.sum(t * t, axis=axes, keepdims=True)
        zero = s == 0
        # double where: the untaken sqrt sees 1, not 0, so its derivative stays finite
        s_safe = xp.where(zero, xp.ones_like(s), s)
        n = xp.where(zero, xp.zeros_like(s), a_safe * xp.sqrt(s_safe))
    if not keepdims:
        n = xp.reshape(n, reduced_shape(x.shape, axes, False))
    return n


def _norm_numpy(x, axes, keepdims):
    """Fast path: one pass of squares in float64; the scaled form only where it is needed."""
    xf = x.astype(np.float64, copy=False)
    dims = list(range(x.ndim))
    kept = [i for i in dims if i not in axes]
    with np.errstate(invalid="ignore", over="ignore"):
        if not kept and xf.flags.c_contiguous:
            flat = xf.reshape(-1)
            s = np.dot(flat, flat)
        else:
            s = np.einsum(xf, dims, xf, dims, kept)
        s = np.expand_dims(s, axes)
        n = np.sqrt(s)
        if x.dtype == np.float64:
            # float16/32 squares can neither overflow nor underflow in float64; float64's can
            tiny = np.finfo(np.float64).tiny / np.finfo(np.float64).eps ** 2
            redo = ~((s >= tiny) & np.isfinite(s)) & ~np.isnan(s)
            if redo.any():
                n = np.where(redo, _norm_generic(np, xf, axes, True), n)
        if not keepdims:
            n = n.reshape(reduced_shape(x.shape, axes, False))
        # a float16/32 norm past the dtype's range is inf, as the true value rounds to
        return n.astype(x.dtype, copy=False)


def safe_norm(x, axis=None, *, keepdims=False):
    r"""Euclidean norm that never overflows, underflows or differentiates to NaN.

    .. math:: \lVert x\rVert_2 = \sqrt{\textstyle\sum_i x_i^2}
              = a\sqrt{\textstyle\sum_i (x_i/a)^2},\qquad a = \max_i |x_i| .

    Under PyTorch or JAX autodiff its gradient is :math:`x/\lVert x\rVert_2` away from 0 and
    exactly 0 at 0 (a valid subgradient), never NaN.

    Args:
        x: array of shape ``[...]``.
        axis: ``None`` (all axes, the default), an int or a tuple of ints.
        keepdims: keep the reduced axes with length 1.

    Returns:
        The norms, with ``axis`` removed (or kept as length 1); same kind and floating dtype
        as ``x``. An infinite entry gives ``inf``; NaN gives NaN; an empty reduction gives 0.

    Raises:
        TypeError: complex or non-numeric ``x``; a non-int ``axis``.
        ValueError: ``axis`` out of range or repeated.

    Notes:
        NumPy: one pass of squares in float64 (exact range for float16/32 input); for float64
        the scaled form is used only where the sum of squares overflowed or lost precision.

    Examples:
        >>> from dlmath import safe_norm
        >>> float(safe_norm([3e300, 4e300]))
        5e+300
        >>> float(safe_norm([3e-300, 4e-300]))
        5e-300
    """
    xp, x = float_input("safe_norm", x)
    axes = normalize_axis("safe_norm", axis, x.ndim)
    if any(x.shape[i] == 0 for i in axes):
        return xp.zeros(reduced_shape(x.shape, axes, keepdims), dtype=x.dtype, device=device_of(x))
    if is_numpy(xp):
        return _norm_numpy(x, axes, keepdims)
    xc = compute_dtype(xp, x)
    n = _norm_generic(xp, xc, axes, keepdims)
    return cast(xp, n, x.dtype)


def norm_grad(x, axis=None):
    r"""The gradient :math:`x/\lVert x\rVert_2` of the Euclidean norm, and 0 at :math:`x = 0`.

    .. math:: \nabla_x \lVert x\rVert_2 = \frac{x}{\lVert x\rVert_2}\quad (x \ne 0),
              \qquad 0 \in \partial\lVert\cdot\rVert_2(0) = \{g : \lVert g\rVert_2 \le 1\}.

    Args:
        x: array of shape ``[...]``.
        axis: the axes the norm reduces over: ``None`` (all, the default), an int or a tuple;
            each slice along them gets its own unit vector.

    Returns:
        An array of ``x``'s shape, kind and floating dtype, of unit norm along ``axis``
        (or all zeros where the slice is zero).

    Raises:
        TypeError, ValueError: as :func:`safe_norm`.

    Notes:
        Computed as :math:`t/\lVert t\rVert` with :math:`t = x/\max_i|x_i|`, so it stays
        accurate where :math:`\lVert x\rVert` itself would overflow. Where a slice has
        infinite entries, the result is the limit direction: the signs of those entries,
        normalised.

    Examples:
        >>> from dlmath import norm_grad
        >>> norm_grad([3.0, 4.0]).tolist()
        [0.6, 0.8]
        >>> norm_grad([0.0, 0.0]).tolist()
        [0.0, 0.0]
    """
    xp, x = float_input("norm_grad", x)
    axes = normalize_axis("norm_grad", axis, x.ndim)
    if any(x.shape[i] == 0 for i in axes):
        return xp.zeros_like(x)  # an empty slice has no direction; a new array, not the input
    xc = compute_dtype(xp, x)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        t, _, a = _scaled(xp, xc, axes)
        inf_slice = a == math.inf
        t = xp.where(inf_slice, xp.where(xp.isinf(xc), xp.sign(xc), xp.zeros_like(xc)), t)
        s = xp.sum(t * t, axis=axes, keepdims=True)
        zero = s == 0
        g = xp.where(zero, xp.zeros_like(t), t / xp.sqrt(xp.where(zero, xp.ones_like(s), s)))
    return cast(xp, g, x.dtype)
