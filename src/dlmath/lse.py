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

from . import _array, _kernels
from ._array import cast, check_real_scalar, float_input, is_numpy, normalize_axis

__all__ = ["logsumexp", "smooth_max", "softmax", "log_softmax"]


_out_shape = _array.reduced_shape
_KERNEL_DTYPES = (np.float16, np.float32, np.float64)


def _rows(x, axes):
    """``(X, order)``: ``x`` with ``axes`` moved last as a C-contiguous ``(R, K)`` matrix (a view
    when ``x`` already is one), and the axis order used (None when unchanged)."""
    n = x.ndim
    if axes == tuple(range(n - len(axes), n)) and x.flags.c_contiguous:  # already rows: a view
        K = math.prod(x.shape[n - len(axes) :])
        return x.reshape(-1 if K else math.prod(x.shape[: n - len(axes)]), K), None
    rest = [i for i in range(n) if i not in axes]
    order = rest + list(axes)
    if order == list(range(n)):
        order = None
    xt = x if order is None else np.transpose(x, order)
    K = math.prod(x.shape[i] for i in axes)
    R = math.prod(x.shape[i] for i in rest)
    return np.ascontiguousarray(xt).reshape(R, K), order


def _numpy_lse(x, axes, keepdims):
    from . import _lse_kernel

    if x.dtype.type not in _KERNEL_DTYPES:
        # long double: the kernel works in float64, whose range and precision it would lose
        # (1e4000 became inf); the generic path computes in the input's own dtype
        return _generic_lse(np, x, axes, keepdims)
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))  # big-endian '>f8' is float64 to the kernel
    X, _ = _rows(x, axes)
    if _kernels.available():
        return _kernels.lse_rows(X).reshape(_out_shape(x.shape, axes, keepdims))
    m, r = _lse_kernel.lse_state(X)  # fresh arrays: safe to overwrite
    # over: float16 in, an LSE above 65520 (9e6 entries of 65504) rounds to inf in the cast back
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.add(m, np.log1p(r, out=r), out=m)
        out = out.astype(x.dtype, copy=False)
    return out.reshape(_out_shape(x.shape, axes, keepdims))


def _shift(xp, x, axes):
    """``(d, m)``: ``d = x - m`` with ``m`` the max over ``axes`` (kept), safe for non-finite ``m``.

    Where the maximum is ``+inf`` the infinite entries shift to 0 and the rest to ``-inf`` (the
    limit of the finite case); where it is ``-inf`` every entry shifts to 0; NaN stays NaN.
    Both branches of every ``where`` are finite or ``-inf``, so no NaN leaks into gradients.
    """
    m = xp.max(x, axis=axes, keepdims=True)
    finite = xp.isfinite(m)
    zero = xp.zeros_like(m)
    m_safe = xp.where(finite, m, zero)
    d_finite = x - m_safe
    d_other = xp.where(x == m, xp.zeros_like(x), xp.full_like(x, -math.inf))
    d_other = xp.where(xp.isnan(m), xp.full_like(x, math.nan), d_other)
    return xp.where(finite, d_finite, d_other), m


def _rest_sum(xp, e, axes):
    """``sum(e) - 1`` computed without cancellation, for ``e = exp(x - max)``.

    Terms equal to exactly 1 (the maximum, and ties) are counted, not summed, so the sum of the
    small terms is not rounded against 1.
    """
    ones = e == 1
    small = xp.sum(xp.where(ones, xp.zeros_like(e), e), axis=axes, keepdims=True)
    count = xp.sum(xp.astype(ones, e.dtype), axis=axes, keepdims=True)
    return small + xp.where(count > 0, count - 1, xp.zeros_like(count))


def _compute_dtype(xp, x):
    """float16 is computed in float32 (and cast back by the caller)."""
    return _array.compute_dtype(xp, x)


def _generic_lse(xp, x, axes, keepdims):
    xc = _compute_dtype(xp, x)
    out_shape = _out_shape(x.shape, axes, keepdims)
    if any(x.shape[i] == 0 for i in axes):
        return xp.full(out_shape, -math.inf, dtype=x.dtype, device=_array.device_of(x))
    # NumPy-backed namespaces (array-api-strict) warn where x - max overflows to -inf (-1e308 - 1e308)
    with np.errstate(over="ignore", invalid="ignore"):
        d, m = _shift(xp, xc, axes)
        r = _rest_sum(xp, xp.exp(d), axes)
        finite = xp.isfinite(m)
        val = xp.where(finite, m, xp.zeros_like(m)) + xp.log1p(r)
        out = xp.where(finite, val, m)
    out = xp.reshape(out, out_shape)
    return cast(xp, out, x.dtype)


def logsumexp(x, axis=None, *, keepdims=False):
    r"""Log of the sum of exponentials, computed without overflow or loss of small terms.

    .. math:: \mathrm{LSE}(x) = \log\sum_i e^{x_i}
              = m + \operatorname{log1p}\Bigl(\sum_{i \ne i^\ast} e^{x_i - m}\Bigr),
              \qquad m = x_{i^\ast} = \max_i x_i .

    Its gradient is the softmax: :math:`\nabla_x \mathrm{LSE}(x) = \mathrm{softmax}(x)`.

    Args:
        x: array of shape ``[...]`` (NumPy, PyTorch, JAX or any array-API array, or array-like).
        axis: ``None`` (all axes, the default), an int, or a tuple of ints.
        keepdims: keep the reduced axes with length 1.

    Returns:
        An array of ``x``'s kind and floating dtype, with ``axis`` removed (or kept as length 1).

    Raises:
        TypeError: complex or non-numeric ``x``; ``axis`` not an int or tuple of ints.
        ValueError: ``axis`` out of range or repeated.

    Notes:
        NumPy input is reduced by the compiled row kernels of :mod:`dlmath._kernels` (or, without
        them, by the NumPy kernel of :mod:`dlmath._lse_kernel`): one read of the input in
        cache-sized blocks spread over a few threads, merging the per-block pairs
        ``(max, sum of shifted exponentials)``; float16 and float32 are computed in float64 and
        rounded once. Other namespaces use the same identity with their own operations, so
        autodiff and ``jax.jit`` work through it.

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
    """
    xp, x = float_input("logsumexp", x)
    axes = normalize_axis("logsumexp", axis, x.ndim)
    if is_numpy(xp):
        return _numpy_lse(x, axes, keepdims)
    return _generic_lse(xp, x, axes, keepdims)


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
    xp, x = float_input("smooth_max", x)
    axes = normalize_axis("smooth_max", axis, x.ndim)
    if tau == 1.0 or any(x.shape[i] == 0 for i in axes):
        return logsumexp(x, axis=axes, keepdims=keepdims)
    xc = _compute_dtype(xp, x)
    # m + tau*LSE((x - m)/tau), never tau*LSE(x/tau): x/tau overflows for a small tau (1e300/1e-10)
    # where the shifted values only head towards -inf, whose exponentials are 0.
    with np.errstate(over="ignore", invalid="ignore"):
        d, m = _shift(xp, xc, axes)
        s = logsumexp(d / tau, axis=axes, keepdims=True)
        finite = xp.isfinite(m)
        out = xp.where(finite, xp.where(finite, m, xp.zeros_like(m)) + tau * s, m)
    out = xp.reshape(out, _out_shape(x.shape, axes, keepdims))
    return cast(xp, out, x.dtype)


def _class_axes(fname, x, axis):
    return normalize_axis(fname, axis, x.ndim)


def softmax(x, axis=-1, *, temperature=1.0):
    r"""Softmax of :math:`x/\tau` along ``axis``: probabilities that sum to 1.

    .. math:: \mathrm{softmax}(x)_k = \frac{e^{x_k/\tau}}{\sum_j e^{x_j/\tau}}
              = \frac{e^{x_k/\tau - m}}{\sum_j e^{x_j/\tau - m}},\qquad m = \max_j x_j/\tau .

    It is the gradient of :func:`logsumexp` (for :math:`\tau = 1`) and is unchanged by adding
    one constant to every entry.

    Args:
        x: array of shape ``[..., num_classes, ...]``.
        axis: the class axis (default ``-1``); a tuple normalises over several axes.
        temperature: :math:`\tau`, a finite real number > 0.

    Returns:
        An array of ``x``'s shape, kind and floating dtype.

    Raises:
        TypeError, ValueError: bad dtype, axis or temperature.

    Notes:
        Where a slice contains ``+inf`` the result is the limit: the mass is shared equally by
        the infinite entries. A slice of all ``-inf`` has no defined softmax and gives NaN.
        NumPy input goes through the compiled row kernels of :mod:`dlmath._kernels` (one read
        of the input, one write of the result; float32 exponentials summed in float64).

    Examples:
        >>> from dlmath import softmax
        >>> softmax([1000.0, 1000.0]).tolist()
        [0.5, 0.5]
    """
    tau = check_real_scalar("softmax", "temperature", temperature)
    xp, x = float_input("softmax", x)
    axes = _class_axes("softmax", x, axis)
    if any(x.shape[i] == 0 for i in axes):
        return xp.zeros_like(x)  # nothing to normalise; a new array, never the input itself
    if _kernel_ok(xp, x):
        return _kernel_normalise(x, axes, tau, log=False)
    xc = _compute_dtype(xp, x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        p = _softmax_core(xp, xc, axes, tau)
    return cast(xp, p, x.dtype)


def _kernel_ok(xp, x):
    """True when the compiled kernels take this NumPy array (float16/32/64, native byte order)."""
    return is_numpy(xp) and x.dtype.type in _KERNEL_DTYPES and x.dtype.isnative and _kernels.available()


def _kernel_normalise(x, axes, tau, log):
    """softmax (or log-softmax) over ``axes`` by the row kernels: one read, one write."""
    X, order = _rows(x, axes)
    out = _kernels.softmax_rows(X, log=log, temperature=tau)
    if order is None:
        return out.reshape(x.shape)
    return out.reshape([x.shape[i] for i in order]).transpose(np.argsort(order))


def _softmax_core(xp, x, axes, tau=1.0):
    """Softmax of ``x/tau`` over ``axes``; NaN for a slice of all ``-inf`` (callers set errstate)."""
    d, m = _shift(xp, x, axes)
    # softmax(x/tau) = softmax((x - m)/tau): divide after the shift, so nothing overflows
    e = xp.exp(d / tau if tau != 1.0 else d)
    p = e / xp.sum(e, axis=axes, keepdims=True)
    return xp.where(m == -math.inf, xp.full_like(p, math.nan), p)


def log_softmax(x, axis=-1, *, temperature=1.0):
    r"""Log of :func:`softmax`, accurate even where a probability is close to 1.

    .. math:: \log \mathrm{softmax}(x)_k = (x_k - m) - \operatorname{log1p}
              \Bigl(\sum_{j \ne j^\ast} e^{x_j - m}\Bigr),\qquad m = x_{j^\ast} = \max_j x_j

    (for :math:`\tau = 1`; otherwise :math:`x/\tau` replaces :math:`x`).

    Args:
        x: array of shape ``[..., num_classes, ...]``.
        axis: the class axis (default ``-1``); a tuple normalises over several axes.
        temperature: :math:`\tau`, a finite real number > 0.

    Returns:
        An array of ``x``'s shape, kind and floating dtype; every entry is :math:`\le 0`.

    Notes:
        NumPy input goes through the compiled row kernels of :mod:`dlmath._kernels`, which form
        :math:`(x_k - m) - \operatorname{log1p}(r)` in float64 and round it once.

    Raises:
        TypeError, ValueError: bad dtype, axis or temperature.

    Examples:
        >>> from dlmath import log_softmax
        >>> float(log_softmax([0.0, -40.0])[0])  # -log(1 + e^-40), not 0
        -4.248354255291589e-18
    """
    tau = check_real_scalar("log_softmax", "temperature", temperature)
    xp, x = float_input("log_softmax", x)
    axes = _class_axes("log_softmax", x, axis)
    if any(x.shape[i] == 0 for i in axes):
        return xp.zeros_like(x)  # nothing to normalise; a new array, never the input itself
    if _kernel_ok(xp, x):
        return _kernel_normalise(x, axes, tau, log=True)
    xc = _compute_dtype(xp, x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = _log_softmax_core(xp, xc, axes, tau)
        # float16 in: a log-probability below -65504 rounds to -inf in the cast, silently
        return cast(xp, out, x.dtype)


def _log_softmax_core(xp, x, axes, tau=1.0):
    d, m = _shift(xp, x, axes)
    if tau != 1.0:
        d = d / tau  # after the shift, as in softmax: the maximum's entry stays exactly 0
    r = _rest_sum(xp, xp.exp(d), axes)
    out = d - xp.log1p(r)
    return xp.where(m == -math.inf, xp.full_like(out, math.nan), out)
