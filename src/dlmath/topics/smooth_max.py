"""Smooth max: LogSumExp with a temperature lies strictly above the maximum and tends to it."""

from __future__ import annotations

import functools

import numpy as np

from ..derive.model import Assumption, Claim, Numeric, Statement, Step, Topic

SIZES = ({"n": 2}, {"n": 5}, {"n": 12})


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    a, b = sp.symbols("a b", real=True)
    g = sp.Symbol("g", nonnegative=True)
    tau = sp.Symbol("tau", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    x = nt.Vector("x", n)
    return sp, nt, a, b, g, tau, n, x


def _gap_wlog(symbols):
    """a >= b without loss of generality: a = b + g with g >= 0."""
    import sympy as sp

    if "a" not in symbols or "b" not in symbols:
        return {}
    return {symbols["a"]: symbols["b"] + sp.Symbol("g", nonnegative=True)}


def _strict_gap_wlog(symbols):
    import sympy as sp

    if "a" not in symbols or "b" not in symbols:
        return {}
    return {symbols["a"]: symbols["b"] + sp.Symbol("g", positive=True)}


def _max_first(symbols):
    import sympy as sp

    from ..derive.notation import ENTRIES

    xs = sorted((s for nm, s in symbols.items() if ENTRIES.get(nm, ("",))[0] == "x"), key=lambda s: s.name)
    return {s: xs[0] - sp.Symbol(f"g_{k}", nonnegative=True) for k, s in enumerate(xs) if k > 0}


def _max_first_log(symbols):
    """x_0 is the maximum, written x_k = x_0 - tau*log(1 + v_k) with v_k >= 0, so that each
    e^{(x_k - x_0)/tau} = 1/(1 + v_k) lies in (0, 1] in a form SymPy's sign rules can use."""
    import sympy as sp

    from ..derive.notation import ENTRIES

    tau = symbols.get("tau")
    xs = sorted((s for nm, s in symbols.items() if ENTRIES.get(nm, ("",))[0] == "x"), key=lambda s: s.name)
    if tau is None or not xs:
        return {}
    return {
        s: xs[0] - tau * sp.log(1 + sp.Symbol(f"v_{k}", nonnegative=True)) for k, s in enumerate(xs) if k > 0
    }


def _pair(rng, size):
    b = float(rng.normal(0.0, 3.0))
    gap = float(rng.uniform(0.05, 6.0))
    return {"a": b + gap, "b": b, "tau": float(rng.uniform(0.05, 3.0))}


def _tie(rng, size):
    a = float(rng.normal(0.0, 3.0))
    return {"a": a, "b": a, "tau": float(rng.uniform(0.05, 3.0))}


def _vec(rng, size):
    return {"x": rng.normal(0.0, 3.0, (size["n"], 1)), "tau": float(rng.uniform(0.05, 3.0))}


def _ref_pair(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(np.array([vals["a"], vals["b"]])))]


def _ref_pair_tau(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(np.array([vals["a"], vals["b"]]), temperature=vals["tau"]))]


def _ref_vec(vals):
    from dlmath import smooth_max

    return [("dlmath.smooth_max", smooth_max(vals["x"].ravel(), temperature=vals["tau"]))]


def _two():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(sp.log(sp.exp(a) + sp.exp(b)), a + sp.log(1 + sp.exp(-(a - b))), simplify=("exp",))


def _above():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(
        a + sp.log(1 + sp.exp(-(a - b))), sp.Max(a, b), relation=">", wlog=_gap_wlog, simplify=("expand",)
    )


def _tempered():
    sp, nt, a, b, g, tau, n, x = _s()

    def per_tau(e):  # tau > 0: the residual is zero iff residual / tau is
        return sp.expand(e / tau)

    return Statement(
        tau * sp.log(sp.exp(a / tau) + sp.exp(b / tau)),
        a + tau * sp.log(1 + sp.exp(-(a - b) / tau)),
        simplify=(per_tau, "exp"),
    )


def _limit():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(
        sp.Limit(a + tau * sp.log(1 + sp.exp(-(a - b) / tau)), tau, 0, "+"),
        sp.Max(a, b),
        wlog=_strict_gap_wlog,
        simplify=(),
    )


def _tie_stmt():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(
        tau * sp.log(sp.exp(a / tau) + sp.exp(a / tau)), a + tau * sp.log(2), simplify=("expand_log", "exp")
    )


def _per_tau(e):
    """Divide a gap by tau > 0: the sign is unchanged."""
    _, _, _, _, _, tau, _, _ = _s()
    return _s()[0].expand(e / tau)


def _lower():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(
        tau * nt.LSE(x / tau),
        nt.MaxEntry(x),
        relation=">=",
        dims={"n": 3},
        wlog=_max_first,
        simplify=(_per_tau, "exp", "expand"),
    )


def _upper():
    sp, nt, a, b, g, tau, n, x = _s()
    return Statement(
        tau * nt.LSE(x / tau),
        nt.MaxEntry(x) + tau * sp.log(n),
        relation="<=",
        dims={"n": 3},
        wlog=_max_first_log,
        simplify=(_per_tau, "exp", "together", "expand"),
    )


TOPIC = Topic(
    id="smooth-max",
    title="Smooth max is always above the hard max",
    claim=(
        r"$\tau\log(e^{a/\tau} + e^{b/\tau}) = \max(a, b) + \tau\log(1 + e^{-|a-b|/\tau}) > \max(a, b)$, "
        r"and the gap closes as $\tau \to 0^+$; for $n$ numbers it is at most $\tau\log n$."
    ),
    assumptions=(
        Assumption(r"a, b \in \mathbb{R}", "a, b ∈ ℝ"),
        Assumption(r"a \ge b \text{ (otherwise swap them)}", "a ≥ b (otherwise swap them)"),
        Assumption(r"\tau > 0", "τ > 0"),
    ),
    steps=(
        Step(
            "two-terms",
            "Factor out the larger term",
            r"$e^{a} + e^{b} = e^{a}(1 + e^{b - a})$, and the log of a product is a sum.",
            _two,
            Numeric(_pair, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_pair),
        ),
        Step(
            "strictly-above",
            "Strictly above the maximum",
            r"With $a \ge b$ the correction $\log(1 + e^{-(a-b)})$ is the log of a number above 1, so it is "
            "positive: the smooth max never equals the max, even for a tie.",
            _above,
            Numeric(_pair, sizes=({},), seeds=6),
        ),
        Step(
            "temperature",
            "With a temperature",
            r"Apply the same factoring to $a/\tau$ and $b/\tau$ and multiply by $\tau$.",
            _tempered,
            Numeric(_pair, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_pair_tau),
        ),
        Step(
            "limit",
            "The correction vanishes as the temperature goes to 0",
            r"For $a > b$ the term $\tau\log(1 + e^{-(a-b)/\tau})$ is below $\tau e^{-(a-b)/\tau}$, which goes to 0.",
            _limit,
            Numeric(_pair, sizes=({},), seeds=6, atol=1e-6),
        ),
    ),
    claims=(
        Claim(
            "tie",
            r"A tie leaves a gap of exactly $\tau\log 2$",
            r"For $a = b$ both terms are equal and the correction is $\tau\log 2$ at every temperature; "
            "the limit is still the maximum, but only linearly in $\\tau$.",
            _tie_stmt,
            Numeric(_tie, sizes=({},), seeds=6, rtol=1e-12),
        ),
        Claim(
            "n-ary-lower",
            "$n$ numbers: never below the maximum",
            r"The sum $\sum_i e^{x_i/\tau}$ contains the term $e^{\max_i x_i/\tau}$ and only positive others.",
            _lower,
            Numeric(_vec, sizes=SIZES, atol=1e-12, reference=_ref_vec, against="lhs"),
        ),
        Claim(
            "n-ary-upper",
            r"$n$ numbers: at most $\tau\log n$ above it",
            r"Each of the $n$ terms is at most $e^{\max_i x_i/\tau}$, so the sum is at most $n$ times that.",
            _upper,
            Numeric(_vec, sizes=SIZES, atol=1e-12, reference=_ref_vec, against="lhs"),
        ),
    ),
    implemented_by=("dlmath.smooth_max", "dlmath.logsumexp"),
    prose="""\
LogSumExp behaves like a maximum that can be differentiated everywhere: the largest input dominates
the sum of exponentials, and the others only add a small positive correction. That correction is
why the smooth max is always strictly larger than the true maximum, never equal to it.

A temperature $\\tau$ controls the trade-off. Dividing the inputs by $\\tau$ and multiplying the
result by $\\tau$ keeps the units, and the correction shrinks to zero as $\\tau \\to 0^+$ (linearly
in $\\tau$ when the two largest inputs tie), while a large $\\tau$ blurs everything towards an average
plus $\\tau\\log n$. The bounds $\\max_i x_i \\le \\tau\\operatorname{LSE}(x/\\tau) \\le \\max_i x_i + \\tau\\log n$ say how
far off it can be.

This is the same function that sits under softmax, cross-entropy and temperature scaling of a
model's logits: its gradient is the softmax at that temperature, which approaches a one-hot
vector on the argmax as $\\tau$ shrinks.
""",
    snippet="""\
import numpy as np
from dlmath import smooth_max

x = np.array([3.0, 2.5, -1.0])
for tau in (2.0, 1.0, 0.1, 0.01):
    print(f"tau={tau:<5} smooth_max={float(smooth_max(x, temperature=tau)):.6f}  max={x.max()}")
""",
    figure="smooth-max-temperature",
)
