r"""The Poisson negative log-likelihood with the log link, as PyTorch's ``poisson_nll_loss``.

For a count :math:`y \ge 0` with rate :math:`\lambda = e^z`,

.. math:: -\log p(y \mid \lambda) = \lambda - y\log\lambda + \log y! = e^z - y z + \log\Gamma(y + 1),

and the loss keeps the first two terms, the only ones that depend on :math:`z`; ``full=True``
adds PyTorch's Stirling approximation of :math:`\log y!` for :math:`y > 1`.
"""

from __future__ import annotations

import math

import numpy as np

from ._array import cast, float_input, is_concrete
from ._pointwise import check_range, check_reduction, finish, like, nan_where_bad, reduce, to_working

__all__ = ["poisson_nll"]


def _stirling(xp, y):
    r""":math:`y\log y - y + \tfrac12\log(2\pi y)` where :math:`y > 1`, and 0 elsewhere (PyTorch's convention)."""
    big = y > 1
    ys = xp.where(big, y, xp.ones_like(y))  # log of the untaken side sees 1, never 0
    term = ys * xp.log(ys) - ys + 0.5 * xp.log(2 * math.pi * ys)
    return xp.where(big, term, xp.zeros_like(y))


def poisson_nll(log_rate, target, *, full=False, reduction="mean"):
    r"""Poisson negative log-likelihood of counts given log-rates, up to terms free of the rate.

    .. math:: \ell(z, y) = e^z - y z \;\Bigl[+\; y\log y - y + \tfrac12\log(2\pi y)
              \ \text{where}\ y > 1,\ \text{if}\ \texttt{full}\Bigr],
              \qquad \frac{\partial \ell}{\partial z} = e^z - y,

    minimised at :math:`z = \log y`, where the rate equals the count.

    Args:
        log_rate: array ``[...]`` of :math:`z = \log\lambda`.
        target: array of ``log_rate``'s shape: finite counts :math:`y \ge 0` (any non-negative
            real is accepted, as in PyTorch).
        full: add the Stirling term, so that the loss approximates the whole negative
            log-likelihood :math:`-\log p(y \mid e^z)` (exactly PyTorch's ``full=True``).
        reduction: ``"mean"`` over all entries (default), ``"sum"`` or ``"none"``.

    Returns:
        A 0-d array, or per-entry losses of ``log_rate``'s shape for ``reduction="none"``; same
        kind and floating dtype as ``log_rate``. An empty ``"mean"`` is NaN.

    Raises:
        TypeError: complex or non-numeric input; ``target`` a different kind of array;
            ``full`` not a bool.
        ValueError: shapes that differ; a negative, NaN or infinite target (the message gives
            its position); an unknown ``reduction``.

    Notes:
        Matches :func:`torch.nn.functional.poisson_nll_loss` with ``log_input=True`` (``eps``
        plays no part there), except where PyTorch gives NaN for a limit: :math:`y z` is 0 where
        :math:`y = 0`, so :math:`z = -\infty, y = 0` gives 0 (a zero rate, a zero count), and
        :math:`z = +\infty` gives :math:`+\infty`. PyTorch also broadcasts mismatched shapes
        silently; here they are an error. :math:`e^z` past the largest float is ``inf``, without a
        warning. Data checks are skipped inside ``jax.jit``; there a bad target gives NaN.

    References:
        P. McCullagh, J. A. Nelder, *Generalized Linear Models*, 2nd ed. (1989), section 6.2:
        the Poisson log-likelihood under the log link.

    Examples:
        >>> import math
        >>> from dlmath import poisson_nll
        >>> float(poisson_nll([math.log(3.0)], [3.0]))  # 3 - 3 log 3, the minimum over z
        -0.29583686600432907
        >>> float(poisson_nll([-math.inf], [0.0]))  # PyTorch: nan
        0.0
    """
    fname = "poisson_nll"
    check_reduction(fname, reduction)
    if not isinstance(full, (bool, np.bool_)):
        raise TypeError(f"{fname}: 'full' must be a bool; got {type(full).__name__} {full!r}")
    xp, z = float_input(fname, log_rate, "log_rate")
    y = like(fname, xp, z, target, "target", "log_rate")
    if tuple(y.shape) != tuple(z.shape):
        raise ValueError(
            f"{fname}: 'target' must have the shape of 'log_rate' {tuple(z.shape)}; got {tuple(y.shape)}"
        )
    check_range(fname, xp, y, "target", finite=True, expected="a finite count >= 0")
    zw = to_working(xp, z)
    yw = cast(xp, y, zw.dtype)
    inf = zw == math.inf
    zero = xp.zeros_like(zw)
    zs = xp.where(inf, zero, zw)  # e^z - y z is inf - inf at +inf: that side takes the limit
    with np.errstate(over="ignore"):
        per = xp.exp(zs) - yw * xp.where(yw == 0, zero, zs)  # y z is 0 where y is, even at z = -inf
    per = xp.where(inf, xp.full_like(per, math.inf), per)
    if full:
        per = per + _stirling(xp, yw)
    if not is_concrete(y):
        per = nan_where_bad(xp, per, (yw >= 0) & xp.isfinite(yw))
    return finish(xp, reduce(xp, per, reduction), z.dtype)
