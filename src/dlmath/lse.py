r"""LogSumExp and its family: smooth maximum, softmax, log-softmax.

All four rest on the max-shift identity: with :math:`m = \max_i x_i`,

.. math:: \log\sum_i e^{x_i} = m + \log\sum_i e^{x_i - m},

where every exponent on the right is :math:`\le 0`, so nothing overflows. dlmath goes one step
further and keeps the maximum's own term (exactly :math:`e^0 = 1`) out of the sum,

.. math:: \mathrm{LSE}(x) = m + \operatorname{log1p}\Bigl(\sum_{i \ne i^\ast} e^{x_i - m}\Bigr),

so that a dominant term with tiny companions (``[0, -40]`` in float32) keeps its small correction.

Axis conventions: reductions (:func:`logsumexp`, :func:`smooth_max`) default to ``axis=None``
(all axes), like :func:`scipy.special.logsumexp`; normalisations (:func:`softmax`,
:func:`log_softmax`) default to ``axis=-1``, like :func:`jax.nn.softmax`.

Edge values: an empty reduction gives ``-inf``; a slice of all ``-inf`` gives ``-inf``; ``+inf``
(without NaN) gives ``+inf``; NaN in a slice gives NaN for that slice. No ``RuntimeWarning`` escapes.
"""

from __future__ import annotations

import math

import numpy as np

from . import _array
from . import _lse_core as core
from ._array import (
    broadcast,
    cast,
    check_real_scalar,
    float_input,
    framework,
    is_numpy,
    normalize_axis,
    option_array,
    torch_broadcast_ndim,
    torch_float,
    torch_option,
)
from ._lse_numpy import kernel_normalise, kernel_ok, numpy_lse, quiet

__all__ = ["logsumexp", "smooth_max", "softmax", "log_softmax"]


_out_shape = _array.reduced_shape


def _generic_lse(xp, x, axes, keepdims, where=None):
    out_shape = _out_shape(x.shape, axes, keepdims)
    if any(x.shape[i] == 0 for i in axes):
        return xp.full(out_shape, -math.inf, dtype=x.dtype, device=_array.device_of(x))
    xc = _array.compute_dtype(xp, x)
    with quiet():
        out = core.lse(xp, xc, axes, where)
    return cast(xp, xp.reshape(out, out_shape), x.dtype)


def _sign(xp, out):
    """The sign of a sum of exponentials from its log: 1, 0 for an empty sum, NaN for NaN."""
    sign = xp.astype(out > -math.inf, out.dtype)
    return xp.where(xp.isnan(out), out, sign)


def _options(fname, xp, x, **named):
    """The array options of ``x``'s namespace, broadcast with ``x`` (its shape may grow, as in
    SciPy and JAX); ``where`` is a boolean mask, ``b`` real."""
    arrays = {"x": x}
    for name, a in named.items():
        arrays[name] = (
            None if a is None else option_array(fname, xp, x, a, name, "bool" if name == "where" else "real")
        )
    if len(arrays) > 1 and any(a is not None for n, a in arrays.items() if n != "x"):
        arrays = broadcast(fname, xp, arrays)
    return arrays


def _signed_dtype(xp, x, b):
    """The result dtype with weights ``b``: ``x``'s, or a wider float ``b``'s (as SciPy and JAX)."""
    if _array.dtype_kind(xp, b.dtype) == "float" and b.dtype != x.dtype:
        return xp.result_type(x, b)
    return x.dtype


def logsumexp(x, axis=None, *, keepdims=False, b=None, return_sign=False, where=None):
    r"""Log of the sum of exponentials, computed without overflow or loss of small terms.

    .. math:: \mathrm{LSE}(x) = \log\sum_i e^{x_i}
              = m + \operatorname{log1p}\Bigl(\sum_{i \ne i^\ast} e^{x_i - m}\Bigr),
              \qquad m = x_{i^\ast} = \max_i x_i .

    Its gradient is the softmax: :math:`\nabla_x \mathrm{LSE}(x) = \mathrm{softmax}(x)`. With
    weights, :math:`\log\bigl\lvert\sum_i b_i e^{x_i}\bigr\rvert`.

    Args:
        x: array of shape ``[...]`` (NumPy, PyTorch, JAX or any array-API array, or array-like).
        axis: ``None`` (all axes, the default), an int, or a tuple of ints.
        keepdims: keep the reduced axes with length 1.
        b: weights :math:`b_i` broadcastable with ``x`` (SciPy's and JAX's ``b``); they may be
            negative. An entry with :math:`b_i = 0` takes no part, even where :math:`x_i` is
            ``inf`` or NaN. Integer or bool weights take ``x``'s dtype; a wider float widens the
            result, as in both peers.
        return_sign: return ``(log|sum|, sign)``, the sign 1, -1, 0 (an empty or zero sum) or
            NaN; without it a negative sum gives NaN.
        where: boolean mask broadcastable with ``x``: the entries to include (JAX's ``where``);
            a slice with none gives ``-inf`` (sign 0).

    Returns:
        An array of ``x``'s kind and floating dtype, with ``axis`` removed (or kept as length 1);
        with ``return_sign``, the pair ``(value, sign)``.

    Raises:
        TypeError: complex or non-numeric ``x`` or ``b``; a ``where`` that is not boolean; ``axis``
            not an int or tuple of ints.
        ValueError: ``axis`` out of range or repeated; ``b`` or ``where`` not broadcastable.

    Notes:
        NumPy input without options is reduced by the compiled row kernels of :mod:`dlmath._kernels`
        (or, without them, the NumPy kernel of :mod:`dlmath._lse_kernel`): one read of the input in
        cache-sized blocks over a few threads, merging the per-block pairs ``(max, sum of shifted
        exponentials)``; float16, bfloat16 and float32 are computed in float64 and rounded once.
        PyTorch tensors go through the registered op ``torch.ops.dlmath.logsumexp`` (the same
        kernels on CPU tensors, without a copy; its backward is the softmax), JAX arrays through a
        ``custom_jvp`` (:mod:`dlmath._jax`). Peers differ on the sign of an empty sum: SciPy gives
        -1, JAX and dlmath 0.

    References:
        P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the log-sum-exp and
        softmax functions", IMA J. Numer. Anal. 41 (2021), doi:10.1093/imanum/draa038.

    Examples:
        >>> import numpy as np
        >>> from dlmath import logsumexp
        >>> float(logsumexp(np.array([1000.0, 1000.0])))  # naive: inf
        1000.6931471805599
        >>> print(logsumexp(np.array([0.0, -40.0], dtype=np.float32)))  # naive shift: 0
        4.248354e-18
        >>> [float(v) for v in logsumexp([1.0, 2.0], b=[1.0, -1.0], return_sign=True)]
        [1.5413248546129181, -1.0]
    """
    fname = "logsumexp"
    fw = framework(x)
    if fw == "torch":
        from . import _torch_api

        x = torch_float(fname, x)
        b = None if b is None else torch_option(fname, x, b, "b", "real")
        where = None if where is None else torch_option(fname, x, where, "where", "bool")
        axes = normalize_axis(fname, axis, torch_broadcast_ndim(fname, {"x": x, "b": b, "where": where}))
        return _torch_api.logsumexp(x, axes, keepdims, b, return_sign, where)
    xp, x = float_input(fname, x)
    if b is None and where is None and not return_sign:
        axes = normalize_axis(fname, axis, x.ndim)
        if is_numpy(xp):
            out = numpy_lse(x, axes, keepdims)
            return _generic_lse(xp, x, axes, keepdims) if out is None else out
        if fw == "jax":
            from . import _jax

            return _jax.lse(x, axes, keepdims, None, False)
        return _generic_lse(xp, x, axes, keepdims)
    opts = _options(fname, xp, x, b=b, where=where)
    x, b, where = opts["x"], opts["b"], opts["where"]
    axes = normalize_axis(fname, axis, x.ndim)
    if fw == "torch":
        from . import _torch_api

        return _torch_api.logsumexp(x, axes, keepdims, b, return_sign, where)
    if fw == "jax":
        from . import _jax

        if b is None:
            return _jax.lse(x, axes, keepdims, where, return_sign)
        return _jax.lse_signed(x, b, axes, keepdims, where, return_sign)
    if b is None:
        out = (
            _generic_lse(xp, x, axes, keepdims, where)
            if where is not None
            else logsumexp(x, axes, keepdims=keepdims)
        )
        return (out, _sign(xp, out)) if return_sign else out
    return _signed_lse(xp, x, b, axes, keepdims, where, return_sign)


def _signed_lse(xp, x, b, axes, keepdims, where, return_sign):
    dt = _signed_dtype(xp, x, b)
    out_shape = _out_shape(x.shape, axes, keepdims)
    if any(x.shape[i] == 0 for i in axes):
        val = xp.full(out_shape, -math.inf, dtype=dt, device=_array.device_of(x))
        return (val, xp.zeros_like(val)) if return_sign else val
    xc = _array.compute_dtype(xp, cast(xp, x, dt))
    bc = cast(xp, b, xc.dtype)
    with quiet():
        val, sign = core.lse_signed(xp, xc, axes, bc, where)
        if not return_sign:
            val = core.fill_nan(xp, sign < 0, val)
    val, sign = (cast(xp, xp.reshape(a, out_shape), dt) for a in (val, sign))
    return (val, sign) if return_sign else val


def smooth_max(x, axis=None, *, temperature=1.0, keepdims=False):
    r"""Smooth maximum :math:`\tau\,\mathrm{LSE}(x/\tau)`, an upper bound of the hard maximum.

    .. math:: \max_i x_i \;\le\; \tau \log\sum_i e^{x_i/\tau} \;\le\; \max_i x_i + \tau\log n,

    with equality on the left only in the limit :math:`\tau \to 0^+`; for two numbers
    :math:`a \ge b` it is :math:`a + \tau\log(1 + e^{-(a-b)/\tau})`.

    Args:
        x: array of shape ``[...]``.
        axis: ``None`` (all axes, the default), an int or a tuple of ints.
        temperature: :math:`\tau`, a finite real number > 0.
        keepdims: keep the reduced axes with length 1.

    Returns:
        An array like :func:`logsumexp`'s.

    Raises:
        TypeError, ValueError: as :func:`logsumexp`; ``temperature`` not finite and > 0.

    Examples:
        >>> from dlmath import smooth_max
        >>> round(float(smooth_max([3.0, 1.0], temperature=0.01)), 6)
        3.0
        >>> float(smooth_max([2.0, 2.0]))  # the gap is 0: the correction is log 2
        2.6931471805599454
    """
    tau = check_real_scalar("smooth_max", "temperature", temperature)
    fw = framework(x)
    if fw == "torch":
        x = torch_float("smooth_max", x)
    xp, x = (None, x) if fw == "torch" else float_input("smooth_max", x)
    axes = normalize_axis("smooth_max", axis, x.ndim)
    if tau == 1.0 or any(x.shape[i] == 0 for i in axes):
        return logsumexp(x, axis=axes, keepdims=keepdims)
    if fw == "torch":
        from . import _torch_api

        return _torch_api.smooth_max(x, axes, keepdims, tau)
    if fw == "jax":
        from . import _jax

        return _jax.smooth_max(x, axes, keepdims, tau)
    xc = _array.compute_dtype(xp, x)
    # m + tau*LSE((x - m)/tau), never tau*LSE(x/tau): x/tau overflows for a small tau (1e300/1e-10)
    # where the shifted values only head towards -inf, whose exponentials are 0.
    with quiet():
        m = xp.max(xc, axis=axes, keepdims=True)
        finite = xp.isfinite(m)
        m0 = xp.where(finite, m, xp.zeros_like(m))
        s = logsumexp((xc - m0) / tau, axis=axes, keepdims=True)
        out = xp.where(finite, m0 + tau * s, m)
    out = xp.reshape(out, _out_shape(x.shape, axes, keepdims))
    return cast(xp, out, x.dtype)


_NORMALISE_DOC = r"""
    Args:
        x: array of shape ``[..., num_classes, ...]``.
        axis: the class axis (default ``-1``); a tuple normalises over several axes, ``None``
            over all.
        temperature: :math:`\tau`, a finite real number > 0.
        where: boolean mask broadcastable with ``x``: the entries that take part, as in
            ``jax.nn.{name}(where=)``; the others get {masked}. A slice with nothing kept is all
            {masked}, as in JAX (``torch.masked``'s {name} gives NaN there, and so does the
            ``masked_fill(-inf)`` idiom).
        dtype: compute and return in this floating dtype (``x`` cast to it first), as
            ``torch.{name}(..., dtype=)``.

    Returns:
        An array of ``x``'s shape and kind, of ``x``'s floating dtype (or ``dtype``){extra}.

    Raises:
        TypeError: bad dtype, ``dtype``, axis or temperature; a ``where`` that is not boolean.
        ValueError: axis out of range; ``where`` not broadcastable with ``x``.
"""


def _normalise(fname, x, axis, tau, where, dtype, log):
    tau = check_real_scalar(fname, "temperature", tau)
    fw = framework(x)
    if fw == "torch":
        from . import _torch_api

        x = torch_float(fname, x)
        if dtype is not None:
            x = x.to(_torch_dtype(fname, dtype))
        where = None if where is None else torch_option(fname, x, where, "where", "bool")
        ndim = x.ndim if where is None else torch_broadcast_ndim(fname, {"x": x, "where": where})
        return _torch_api.normalise(x, _class_axes(fname, x, axis, ndim), tau, where, log)
    xp, x = float_input(fname, x)
    if dtype is not None:
        x = _as_dtype(fname, xp, x, dtype)
    if where is not None:
        opts = _options(fname, xp, x, where=where)
        x, where = opts["x"], opts["where"]
    axes = _class_axes(fname, x, axis)
    if fw == "torch":
        from . import _torch_api

        return _torch_api.normalise(x, axes, tau, where, log)
    if fw == "jax":
        from . import _jax

        return _jax.normalise(x, axes, tau, where, log)
    if any(x.shape[i] == 0 for i in axes):
        return xp.zeros_like(x)  # nothing to normalise; a new array, never the input itself
    if where is None and kernel_ok(xp, x):
        return kernel_normalise(x, axes, tau, log)
    xc = _array.compute_dtype(xp, x)
    with quiet():
        out = core.normalise(xp, xc, axes, tau, where, log)
        # float16 in: a log-probability below -65504 rounds to -inf in the cast, silently
        return cast(xp, out, x.dtype)


def _torch_dtype(fname, dtype):
    import torch

    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{fname}: 'dtype' must be a floating torch dtype for a tensor; got {dtype!r}")
    return dtype


def _as_dtype(fname, xp, x, dtype):
    """``x`` cast to the floating ``dtype`` (``torch.softmax(dtype=)``)."""
    if framework(x) == "torch":
        return x.to(_torch_dtype(fname, dtype))
    try:
        want = np.dtype(dtype) if is_numpy(xp) else dtype
        kind = _array.dtype_kind(xp, want)
    except (TypeError, ValueError):
        kind = "other"
    if kind != "float":
        raise TypeError(f"{fname}: 'dtype' must be a real floating dtype; got {dtype!r}")
    return cast(xp, x, want)


def _class_axes(fname, x, axis, ndim=None):
    return normalize_axis(fname, axis, x.ndim if ndim is None else ndim)


def softmax(x, axis=-1, *, temperature=1.0, where=None, dtype=None):
    r"""Softmax of :math:`x/\tau` along ``axis``: probabilities that sum to 1.

    .. math:: \mathrm{softmax}(x)_k = \frac{e^{x_k/\tau}}{\sum_j e^{x_j/\tau}}
              = \frac{e^{x_k/\tau - m}}{\sum_j e^{x_j/\tau - m}},\qquad m = \max_j x_j/\tau .

    It is the gradient of :func:`logsumexp` (for :math:`\tau = 1`) and is unchanged by adding
    one constant to every entry. Its Jacobian-vector product is :math:`p \odot (v - p^\top v)`.
    {doc}
    Notes:
        Where a slice contains ``+inf`` the result is the limit: the mass is shared equally by
        the infinite entries (JAX and PyTorch give NaN). A slice of all ``-inf`` has no defined
        softmax and gives NaN. NumPy input goes through the compiled row kernels of
        :mod:`dlmath._kernels` (one read of the input, one write of the result; float32
        exponentials summed in float64); PyTorch tensors through ``torch.ops.dlmath.softmax``,
        JAX arrays through a ``custom_jvp``.

    Examples:
        >>> from dlmath import softmax
        >>> softmax([1000.0, 1000.0]).tolist()
        [0.5, 0.5]
        >>> softmax([1.0, 2.0, 3.0], where=[True, False, True]).round(4).tolist()
        [0.1192, 0.0, 0.8808]
    """
    return _normalise("softmax", x, axis, temperature, where, dtype, log=False)


def log_softmax(x, axis=-1, *, temperature=1.0, where=None, dtype=None):
    r"""Log of :func:`softmax`, accurate even where a probability is close to 1.

    .. math:: \log \mathrm{softmax}(x)_k = (x_k - m) - \operatorname{log1p}
              \Bigl(\sum_{j \ne j^\ast} e^{x_j - m}\Bigr),\qquad m = x_{j^\ast} = \max_j x_j

    (for :math:`\tau = 1`; otherwise :math:`x/\tau` replaces :math:`x`). Its Jacobian-vector
    product is :math:`v - p^\top v`.
    {doc}
    Notes:
        NumPy input goes through the compiled row kernels of :mod:`dlmath._kernels`, which form
        :math:`(x_k - m) - \operatorname{log1p}(r)` in float64 and round it once; PyTorch
        tensors through ``torch.ops.dlmath.softmax``, JAX arrays through a ``custom_jvp``.

    Examples:
        >>> from dlmath import log_softmax
        >>> float(log_softmax([0.0, -40.0])[0])  # -log(1 + e^-40), not 0
        -4.248354255291589e-18
    """
    return _normalise("log_softmax", x, axis, temperature, where, dtype, log=True)


softmax.__doc__ = softmax.__doc__.replace(
    "{doc}", _NORMALISE_DOC.format(name="softmax", masked="0", extra="")
)
log_softmax.__doc__ = log_softmax.__doc__.replace(
    "{doc}",
    _NORMALISE_DOC.format(name="log_softmax", masked="``-inf``", extra="; every entry is :math:`\\le 0`"),
)
