r"""Sampling a class from softmax(logits) by the Gumbel-max trick.

If :math:`G_1, \dots, G_K` are i.i.d. standard Gumbel, :math:`P(G \le g) = e^{-e^{-g}}`, then

.. math:: P\Bigl(\arg\max_k\,(z_k + G_k) = i\Bigr) = \frac{e^{z_i}}{\sum_j e^{z_j}} = \mathrm{softmax}(z)_i :

the maximum of :math:`z_k + G_k` is Gumbel with location :math:`\mathrm{LSE}(z)`, and the index
that attains it is independent of its value. No normalisation, no exponential of a logit, so
nothing overflows, and a class with logit :math:`-\infty` is never drawn.
"""

from __future__ import annotations

import math

import numpy as np

from ._array import _compat, cast, device_of, float_input, is_concrete, to_numpy
from ._pointwise import working_dtype

__all__ = ["gumbel_max_sample"]

_FNAME = "gumbel_max_sample"

_WANTS = {
    "numpy": "a numpy.random.Generator (e.g. numpy.random.default_rng(0))",
    "torch": "a torch.Generator on the logits' device (e.g. torch.Generator().manual_seed(0))",
    "jax": "a JAX PRNG key (jax.random.key(0), or a legacy jax.random.PRNGKey(0))",
}


def _wrong_rng(kind, rng):
    return TypeError(
        f"{_FNAME}: 'rng' must be {_WANTS[kind]} for {kind if kind != 'numpy' else 'NumPy or array-API'} "
        f"logits; got {type(rng).__module__}.{type(rng).__name__}"
    )


def _kind(z) -> str:
    compat = _compat() if not isinstance(z, np.ndarray) else None
    if compat is not None and compat.is_torch_array(z):
        return "torch"
    if compat is not None and compat.is_jax_array(z):
        return "jax"
    return "numpy"


def _torch_noise(z, rng, dtype):
    import torch

    if not isinstance(rng, torch.Generator):
        raise _wrong_rng("torch", rng)
    if rng.device.type != z.device.type or (
        rng.device.index is not None and z.device.index is not None and rng.device.index != z.device.index
    ):
        raise ValueError(
            f"{_FNAME}: 'rng' is a torch.Generator on {rng.device}, but the logits are on {z.device}; "
            "make the generator with torch.Generator(device=logits.device)"
        )
    u = torch.rand(z.shape, generator=rng, dtype=dtype, device=z.device)
    u = torch.clamp(u, min=torch.finfo(dtype).tiny)  # rand is [0, 1): -log(-log 0) would be -inf
    return -torch.log(-torch.log(u))


def _jax_noise(z, rng, dtype):
    import jax

    ok = isinstance(rng, jax.Array) and (
        (jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key) and rng.shape == ())
        or (rng.dtype == np.uint32 and rng.ndim == 1)
    )
    if not ok:
        raise _wrong_rng("jax", rng)
    return jax.random.gumbel(rng, tuple(z.shape), dtype=dtype)


def _numpy_noise(xp, z, rng, dtype):
    if not isinstance(rng, np.random.Generator):
        raise _wrong_rng("numpy", rng)
    g = rng.gumbel(size=tuple(z.shape))
    if xp is np:
        return g.astype(dtype, copy=False)
    return cast(xp, xp.asarray(g, device=device_of(z)), dtype)


def _check_concrete(z):
    if not is_concrete(z) or math.prod(z.shape) == 0:
        return
    zn = to_numpy(z)
    nan = np.isnan(zn)
    if nan.any():
        pos = tuple(int(i) for i in np.argwhere(nan)[0])
        raise ValueError(f"{_FNAME}: 'logits' must not be NaN; got NaN at position {pos}")
    empty = np.all(zn == -np.inf, axis=-1)
    if empty.any():
        row = tuple(int(i) for i in np.argwhere(empty)[0]) if empty.ndim else ()
        raise ValueError(
            f"{_FNAME}: every logit of the row at position {row} is -inf, so softmax puts no mass "
            "anywhere and there is nothing to draw"
        )


def gumbel_max_sample(logits, *, rng):
    r"""Draw one class index per row of logits, distributed as their softmax.

    .. math:: k^\ast = \arg\max_k\,(z_k + G_k),\quad G_k \overset{\text{iid}}{\sim}
              \mathrm{Gumbel}(0, 1) \quad\Longrightarrow\quad P(k^\ast = i) = \mathrm{softmax}(z)_i .

    Args:
        logits: array ``[..., num_classes]``: unnormalised log-probabilities along the last
            axis, finite or :math:`\pm\infty`.
        rng: the source of randomness, of the logits' kind: a :class:`numpy.random.Generator`
            for NumPy (and other array-API) logits; a :class:`torch.Generator` on the logits'
            device for PyTorch; a JAX PRNG key (``jax.random.key(0)``, or a legacy ``uint32``
            key from ``jax.random.PRNGKey``) for JAX, which the caller splits between calls as
            usual. NumPy and PyTorch generators advance; a JAX key is not consumed.

    Returns:
        Integer class indices of shape ``logits.shape[:-1]`` (NumPy ``intp``, torch ``int64``,
        JAX's default integer), of the logits' kind and device.

    Raises:
        TypeError: complex or non-numeric logits; ``rng`` of the wrong kind for the logits.
        ValueError: 0-d logits or no classes; NaN logits, or a row whose logits are all
            :math:`-\infty` (nothing to draw); a torch generator on another device.

    Notes:
        A class with logit :math:`-\infty` is never drawn. Where a row has :math:`+\infty`
        logits, one of those is drawn, uniformly: the limit of softmax, which shares the mass
        equally among them. The noise is drawn in float64 where the backend has it (float32
        otherwise) and added in that precision. Under ``jax.jit`` the data checks are skipped,
        and an all-:math:`-\infty` row gives index 0.

    References:
        C. J. Maddison, D. Tarlow, T. Minka, "A* Sampling", NeurIPS 2014, section 2 (the
        Gumbel-max trick), arXiv:1411.0030.

    Examples:
        >>> import numpy as np
        >>> from dlmath import gumbel_max_sample
        >>> k = gumbel_max_sample(np.log([[0.2, 0.3, 0.5]] * 100_000), rng=np.random.default_rng(0))
        >>> np.bincount(k.ravel(), minlength=3) / k.size  # close to (0.2, 0.3, 0.5)
        array([0.19906, 0.30202, 0.49892])
        >>> gumbel_max_sample([0.0, -np.inf, np.inf], rng=np.random.default_rng(1)).item()
        2
    """
    xp, z = float_input(_FNAME, logits, "logits")
    if z.ndim == 0:
        raise ValueError(
            f"{_FNAME}: 'logits' must have at least one dimension (the class axis); got a 0-d array"
        )
    if z.shape[-1] == 0:
        raise ValueError(f"{_FNAME}: 'logits' has no classes (its last axis has length 0)")
    _check_concrete(z)
    kind = _kind(z)
    wd = working_dtype(xp, z)
    if kind == "numpy" and xp is np:
        wd = np.float64  # the generator draws float64; a long double would add nothing
    if kind == "torch":
        g = _torch_noise(z, rng, wd)
    elif kind == "jax":
        g = _jax_noise(z, rng, wd)
    else:
        g = _numpy_noise(xp, z, rng, wd)
    zw = cast(xp, z, g.dtype)
    top = zw == math.inf
    keys = xp.where(
        xp.any(top, axis=-1, keepdims=True),
        xp.where(top, g, xp.full_like(g, -math.inf)),
        zw + g,
    )
    return xp.argmax(keys, axis=-1)
