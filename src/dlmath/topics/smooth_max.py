"""Smooth max: LogSumExp with a temperature lies strictly above the maximum and tends to it."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    LSE,
    Eq,
    Figure,
    Ge,
    Gt,
    Le,
    Limit,
    Max,
    MaxEntry,
    Topic,
    exp,
    log,
)
from ..derive.notation import entries_of
from ._plot import BLUE, GREEN, ORANGE, RED, powers_of_ten

t = Topic(
    "smooth-max",
    "Smooth max is always above the hard max",
    claim=(
        "$tau*log(exp(a/tau) + exp(b/tau)) == Max(a, b) + tau*log(1 + exp(-Abs(a - b)/tau)) > Max(a, b)$; "
        "the gap closes as the temperature goes to 0, and for $n$ numbers it is at most $tau*log(n)$."
    ),
    sizes=({"n": 2}, {"n": 5}, {"n": 12}),
    dims={"n": 3},
    implemented_by=("dlmath.smooth_max", "dlmath.logsumexp"),
)
a, b, tau = t.scalars("a b tau")
n = t.dim("n")
x = t.vector("x", n)
t.assume(a >= b, tau > 0)
t.sample(tau=(0.05, 3.0))


def _per_tau(e):
    """Divide a residual or gap by the (positive) temperature: zero and sign are unchanged."""
    tau_ = next(s for s in e.free_symbols if s.name == "tau")
    return sp.expand(e / tau_)


def _max_first(symbols):
    """``x_0`` is the maximum, ``x_k = x_0 - g_k`` with ``g_k >= 0`` (no loss of generality)."""
    xs = entries_of(symbols.values(), "x")
    return {s: xs[0] - sp.Symbol(f"g_{k}", nonnegative=True) for k, s in enumerate(xs) if k > 0}


def _max_first_log(symbols):
    """``x_0`` is the maximum, written ``x_k = x_0 - tau*log(1 + v_k)`` with ``v_k >= 0``, so each
    ``e^{(x_k - x_0)/tau} = 1/(1 + v_k)`` lies in ``(0, 1]`` in a form SymPy's sign rules can use."""
    tau_ = symbols.get("tau")
    xs = entries_of(symbols.values(), "x")
    if tau_ is None or not xs:
        return {}
    return {
        s: xs[0] - tau_ * log(1 + sp.Symbol(f"v_{k}", nonnegative=True)) for k, s in enumerate(xs) if k > 0
    }


def _ref_pair(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(np.array([vals["a"], vals["b"]])))]


def _ref_pair_tau(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(np.array([vals["a"], vals["b"]]), temperature=vals["tau"]))]


def _ref_vec(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(vals["x"].ravel(), temperature=vals["tau"]))]


correction = t.let("correction", tau * log(1 + exp(-(a - b) / tau)))

t.step(
    "two-terms",
    Eq(log(exp(a) + exp(b)), a + log(1 + exp(-(a - b)))),
    label="Factor out the larger term",
    why="$exp(a) + exp(b) == exp(a)*(1 + exp(b - a))$, and the log of a product is a sum.",
    simplify=("exp",),
    sizes=({},),
    seeds=6,
    rtol=1e-12,
    reference=_ref_pair,
)
t.step(
    "strictly-above",
    Gt(a + log(1 + exp(-(a - b))), Max(a, b)),
    label="Strictly above the maximum",
    why=(
        "Where $a >= b$ the correction $log(1 + exp(-(a - b)))$ is the log of a number above 1, so it is "
        "positive: the smooth max never equals the max, even for a tie."
    ),
    simplify=("expand",),
    sizes=({},),
    seeds=6,
)
t.step(
    "temperature",
    Eq(tau * log(exp(a / tau) + exp(b / tau)), a + correction),
    label="With a temperature",
    why="Apply the same factoring to $a/tau$ and $b/tau$ and multiply by $tau$.",
    simplify=(_per_tau, "exp"),
    sizes=({},),
    seeds=6,
    rtol=1e-12,
    reference=_ref_pair_tau,
)
t.step(
    "limit",
    Eq(Limit(a + correction, tau, 0, "+"), Max(a, b)),
    label="The correction vanishes as the temperature goes to 0",
    why=(
        "The bound $correction <= tau*exp(-(a - b)/tau)$ (the next claim) goes to 0 with the temperature; "
        "at a tie the correction is proportional to $tau$, which goes to 0 too."
    ),
    simplify=(),
    sizes=({},),
    seeds=6,
    atol=1e-6,
)
t.claim(
    "correction-bound",
    Le(correction, tau * exp(-(a - b) / tau)),
    label="How fast: below an exponentially small bound",
    why="The logarithm lies below its tangent at 1: $log(1 + exp(-(a - b)/tau)) <= exp(-(a - b)/tau)$.",
    sizes=({},),
    seeds=6,
)
t.claim(
    "tie",
    Eq(tau * log(exp(a / tau) + exp(a / tau)), a + tau * log(2)),
    label="A tie leaves a gap of exactly $tau*log(2)$",
    why=(
        "Where the two inputs are equal both terms are equal and the correction is $tau*log(2)$ at every "
        "temperature: the limit is still the maximum, but only linearly in $tau$."
    ),
    simplify=("expand_log", "exp"),
    sizes=({},),
    seeds=6,
    rtol=1e-12,
)
t.claim(
    "n-ary-lower",
    Ge(tau * LSE(x / tau), MaxEntry(x)),
    label="$n$ numbers: never below the maximum",
    why="The sum of the exponentials contains the term of the maximum and only positive others.",
    dims={"n": 3},
    wlog=_max_first,
    simplify=(_per_tau, "exp", "expand"),
    atol=1e-12,
    reference=_ref_vec,
    against="lhs",
)
t.claim(
    "n-ary-upper",
    Le(tau * LSE(x / tau), MaxEntry(x) + tau * log(n)),
    label="$n$ numbers: at most $tau*log(n)$ above it",
    why="Each of the $n$ terms is at most the term of the maximum, so the sum is at most $n$ times that.",
    dims={"n": 3},
    wlog=_max_first_log,
    simplify=(_per_tau, "exp", "together", "expand"),
    atol=1e-12,
    reference=_ref_vec,
    against="lhs",
)

t.prose = """\
LogSumExp behaves like a maximum that can be differentiated everywhere: the largest input dominates
the sum of exponentials, and the others only add a small positive correction. That correction is
why the smooth max is always strictly larger than the true maximum, never equal to it.

A temperature $tau$ controls the trade-off. Dividing the inputs by $tau$ and multiplying the
result by $tau$ keeps the units, and the correction shrinks to zero as the temperature goes to 0
(linearly in $tau$ when the two largest inputs tie), while a large $tau$ blurs everything towards
an average plus $tau*log(n)$. The bounds
$MaxEntry(x) <= tau*LSE(x/tau) <= MaxEntry(x) + tau*log(n)$ say how far off it can be.

This is the same function that sits under softmax, cross-entropy and temperature scaling of a
model's logits: its gradient is the softmax at that temperature, which approaches a one-hot vector
on the argmax as the temperature shrinks.
"""

t.snippet = """\
import numpy as np
from dlmath import smooth_max

x = np.array([3.0, 2.5, -1.0])
for tau in (2.0, 1.0, 0.1, 0.01):
    print(f"tau={tau:<5} smooth_max={float(smooth_max(x, temperature=tau)):.6f}  max={x.max()}")
"""

_TAUS = (1.0, 0.5, 0.2, 0.05)
_GAPS = (0.0, 0.5, 2.0)


def _draw(fig, tex) -> None:
    from dlmath import smooth_max

    ax1, ax2 = fig.subplots(1, 2)
    xs = np.linspace(-3, 3, 601)
    pairs = np.stack([xs, np.zeros_like(xs)], axis=-1)
    ax1.plot(xs, np.maximum(xs, 0.0), color="black", lw=2, label="the hard max")
    for temp, color in zip(_TAUS, (RED, ORANGE, GREEN, BLUE), strict=True):
        ax1.plot(
            xs,
            smooth_max(pairs, axis=-1, temperature=temp),
            color=color,
            lw=1.2,
            label=tex(f"$Setting(tau, {temp})$"),
        )
    ax1.set_title("smooth max of a and 0 lies above the max")
    ax1.set_xlabel(tex("$a$"))
    ax1.legend(loc="upper left")
    taus = np.logspace(-3, 0.5, 200)
    for gap, color in zip(_GAPS, (RED, ORANGE, BLUE), strict=True):
        ax2.loglog(
            taus, taus * np.log1p(np.exp(-gap / taus)), color=color, label=f"gap between inputs {gap:g}"
        )
    ax2.set_title(tex("the correction $correction$"))
    ax2.set_xlabel(tex("temperature $tau$"))
    ax2.set_ylim(1e-6, 5)
    powers_of_ten(ax2.xaxis)
    powers_of_ten(ax2.yaxis)
    ax2.legend(loc="lower right")


t.figure = Figure(
    _draw,
    alt=(
        "Left, the hard max of a and 0 drawn as a kinked line, with smooth max curves for temperatures "
        + ", ".join(f"{q:g}" for q in _TAUS)
        + " lying above it and approaching it as the temperature shrinks. Right, on log-log axes, the "
        "correction against the temperature for gaps of "
        + ", ".join(f"{q:g}" for q in _GAPS)
        + " between the inputs: linear in the temperature for a tie, much faster otherwise."
    ),
    caption="Smooth max is strictly above the max and converges to it as the temperature goes to 0.",
)

TOPIC = t
