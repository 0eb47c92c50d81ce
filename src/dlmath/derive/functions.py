r"""Concrete functions for general rules: what an undefined ``f`` (or ``g = f^{-1}``) is tried as.

A statement about undefined functions is checked in general where SymPy can, and also on
instances: the item's own (``Numeric(functions=...)``) and the ones below that the topic's
assumptions allow. With ``InverseOf(g, f)`` assumed, ``(f, g)`` runs over inverse pairs, each with
the interval on which ``g`` is defined; without it, each function runs over unrelated smooth
functions, so a rule that needs the inverse relation but does not assume it fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

__all__ = ["Pair", "PAIRS", "SINGLES", "instances"]

_u = sp.Symbol("u", real=True)


@dataclass(frozen=True)
class Pair:
    """``forward`` and its inverse ``inverse``; ``inverse`` is taken on ``(lo, hi)`` and ``forward``
    on ``(forward_lo, forward_hi)``, its image."""

    name: str
    forward: sp.Lambda
    inverse: sp.Lambda
    lo: float
    hi: float
    forward_lo: float = -math.inf
    forward_hi: float = math.inf


PAIRS = (
    Pair("exp and log", sp.Lambda(_u, sp.exp(_u)), sp.Lambda(_u, sp.log(_u)), 0.0, math.inf),
    Pair("tanh and atanh", sp.Lambda(_u, sp.tanh(_u)), sp.Lambda(_u, sp.atanh(_u)), -1.0, 1.0),
    Pair(
        "softplus and its inverse",
        sp.Lambda(_u, sp.log(1 + sp.exp(_u))),
        sp.Lambda(_u, sp.log(sp.exp(_u) - 1)),
        0.0,
        math.inf,
    ),
    Pair(
        "sigmoid and logit",
        sp.Lambda(_u, 1 / (1 + sp.exp(-_u))),
        sp.Lambda(_u, sp.log(_u / (1 - _u))),
        0.0,
        1.0,
    ),
    Pair(
        "cube and cube root", sp.Lambda(_u, _u**3), sp.Lambda(_u, _u ** sp.Rational(1, 3)), 0.0, math.inf, 0.0
    ),
    Pair("sinh and asinh", sp.Lambda(_u, sp.sinh(_u)), sp.Lambda(_u, sp.asinh(_u)), -math.inf, math.inf),
    # flat at 0: the inverse's slope is infinite there, which a rule must exclude to hold
    Pair(
        "cube and real cube root",
        sp.Lambda(_u, _u**3),
        sp.Lambda(_u, sp.sign(_u) * sp.Abs(_u) ** sp.Rational(1, 3)),
        -math.inf,
        math.inf,
    ),
    Pair("an affine map", sp.Lambda(_u, 2 * _u + 1), sp.Lambda(_u, (_u - 1) / 2), -math.inf, math.inf),
)

SINGLES = (
    sp.Lambda(_u, sp.sin(_u)),
    sp.Lambda(_u, sp.exp(_u)),
    sp.Lambda(_u, _u**3 + _u),
    sp.Lambda(_u, sp.tanh(_u)),
    sp.Lambda(_u, sp.log(1 + sp.exp(_u))),
    sp.Lambda(_u, _u**2 + 1),
    sp.Lambda(_u, sp.atan(_u)),
)


def instances(names, inverse_pairs) -> list[tuple[str, dict, dict]]:
    """``[(label, {name: Lambda}, {function name: (lo, hi)})]`` for the undefined functions ``names``.

    ``inverse_pairs`` lists ``(g, f)`` for each assumed ``InverseOf(g, f)``; the last dict gives the
    interval on which each bound function's argument must lie.
    """
    names = list(names)
    paired = [(g, f) for g, f in inverse_pairs if g in names and f in names]
    rest = [n for n in names if not any(n in pair for pair in paired)]
    out = []
    count = max(len(PAIRS) if paired else 0, len(SINGLES) if rest else 0)
    for k in range(count):
        bind, domains, labels = {}, {}, []
        for g, f in paired:
            pair = PAIRS[k % len(PAIRS)]
            bind[f], bind[g] = pair.forward, pair.inverse
            domains[g] = (pair.lo, pair.hi)
            domains[f] = (pair.forward_lo, pair.forward_hi)
            labels.append(f"{f}, {g} = {pair.name}")
        for j, name in enumerate(rest):
            fn = SINGLES[(k + 2 * j) % len(SINGLES)]
            bind[name] = fn
            labels.append(f"{name}(u) = {fn.expr}")
        out.append(("; ".join(labels), bind, domains))
    return out
