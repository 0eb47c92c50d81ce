"""The LogSumExp stability trick: shift by the maximum so no exponential overflows."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..derive.model import Assumption, CheckResult, Claim, Numeric, Statement, Step, Topic

SIZES = ({"n": 2}, {"n": 4}, {"n": 9})
DIMS = {"n": 3}


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    n = sp.Symbol("n", integer=True, positive=True)
    x = nt.Vector("x", n)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    m = sp.Symbol("m", real=True)
    return sp, nt, n, x, i, m


def _sample(rng, size):
    x = rng.normal(0.0, 3.0, (size["n"], 1))
    return {"x": x, "m": float(x.max())}


def _ref_lse(vals):
    from dlmath import logsumexp

    return [("dlmath.logsumexp", logsumexp(vals["x"].ravel()))]


def _ref_softmax(vals):
    from dlmath import softmax

    return [("dlmath.softmax", softmax(vals["x"].ravel()))]


def _ref_log_softmax(vals):
    from dlmath import log_softmax

    return [("dlmath.log_softmax", log_softmax(vals["x"].ravel()))]


def _shift():
    sp, nt, n, x, i, m = _s()
    lhs = sp.log(sp.Sum(sp.exp(x[i, 0]), (i, 0, n - 1)))
    rhs = m + sp.log(sp.Sum(sp.exp(x[i, 0] - m), (i, 0, n - 1)))
    return Statement(lhs, rhs, dims=DIMS, simplify=("exp",))


def _definition():
    sp, nt, n, x, i, m = _s()
    return Statement(nt.LSE(x), sp.log(sp.Sum(sp.exp(x[i, 0]), (i, 0, n - 1))), dims=DIMS, simplify=())


def _bounded():
    sp, nt, n, x, i, m = _s()
    return Statement(
        x[i, 0] - m,
        sp.S.Zero,
        relation="<=",
        given={m: nt.MaxEntry(x)},
        forall=((i, 0, n - 1),),
        dims=DIMS,
        wlog=_max_first,
        simplify=(),
    )


def _max_first(symbols):
    """x_0 is the maximum: x_k = x_0 - g_k with g_k >= 0 (no loss of generality)."""
    import sympy as sp

    from ..derive.notation import ENTRIES

    xs = sorted((s for nm, s in symbols.items() if ENTRIES.get(nm, ("",))[0] == "x"), key=lambda s: s.name)
    return {s: xs[0] - sp.Symbol(f"g_{k}", nonnegative=True) for k, s in enumerate(xs) if k > 0}


def _gradient():
    sp, nt, n, x, i, m = _s()
    return Statement(nt.Grad(nt.LSE(x), x), nt.Softmax(x), dims=DIMS)


def _log_softmax():
    sp, nt, n, x, i, m = _s()
    return Statement(
        nt.LogOf(nt.Softmax(x)), x - nt.LSE(x) * sp.OneMatrix(n, 1), dims=DIMS, simplify=("expand",)
    )


def _largest_float(mantissa_bits: int, max_exponent: int):
    """``(2 - 2^-p) * 2^e``, the largest finite float, kept unevaluated for display."""
    import sympy as sp

    u, two = sp.UnevaluatedExpr, sp.Integer(2)
    return u(2 - u(two) ** (-mantissa_bits)) * u(two) ** max_exponent


def _threshold64():
    import sympy as sp

    return Statement(
        sp.log(_largest_float(52, 1023), evaluate=False), sp.Float("709.78", 5), relation=">", simplify=()
    )


def _threshold32():
    import sympy as sp

    return Statement(
        sp.log(_largest_float(23, 127), evaluate=False), sp.Float("88.72", 4), relation=">", simplify=()
    )


def _overflow(rng) -> CheckResult:
    """The naive form overflows just past log(max float); the shifted form does not."""
    from dlmath import logsumexp

    lines, bad = [], []
    with np.errstate(over="ignore"):
        for dtype, expected in ((np.float64, 709.78), (np.float32, 88.72)):
            limit = float(np.log(np.finfo(dtype).max))
            if abs(limit - expected) > 0.01:
                bad.append(f"log(max {dtype.__name__}) = {limit}, expected about {expected}")
            below = np.nextafter(dtype(limit), dtype(0))
            above = dtype(limit + 0.01)
            if not np.isfinite(np.exp(below)) or np.isfinite(np.exp(above)):
                bad.append(f"{dtype.__name__}: exp does not overflow between {below} and {above}")
            x = np.array([limit + 1.0, 0.0, -1.0], dtype=dtype)
            naive = np.log(np.sum(np.exp(x)))
            stable = logsumexp(x)
            want = (limit + 1.0) + math.log1p(math.exp(-(limit + 1.0)) + math.exp(-(limit + 2.0)))
            if np.isfinite(naive) or abs(float(stable) - want) > 4 * float(np.finfo(dtype).eps) * want:
                bad.append(f"{dtype.__name__}: naive {naive}, dlmath.logsumexp {stable}, want {want}")
            lines.append(
                f"{dtype.__name__}: threshold {limit:.4f}; naive LSE(x) = {naive}, stable = {float(stable):.6g}"
            )
    if bad:
        return CheckResult("fail", "; ".join(bad), counterexample=bad[0], instances=2)
    return CheckResult("pass", "; ".join(lines), instances=2, tolerance=4 * float(np.finfo(np.float32).eps))


TOPIC = Topic(
    id="logsumexp",
    title="LogSumExp: the stability trick used in real code",
    claim=(
        r"$\log\sum_i e^{x_i} = m + \log\sum_i e^{x_i - m}$ for any $m$; with $m = \max_i x_i$ every "
        "exponent is at most 0, so nothing overflows, and the gradient is the softmax."
    ),
    assumptions=(Assumption(r"x \in \mathbb{R}^n", "x ∈ ℝⁿ"), Assumption(r"m \in \mathbb{R}", "m ∈ ℝ")),
    steps=(
        Step(
            "definition",
            "Definition",
            "LogSumExp, the log of a sum of exponentials.",
            _definition,
            Numeric(_sample, sizes=SIZES, rtol=1e-12, reference=_ref_lse),
        ),
        Step(
            "shift",
            "Shift identity",
            r"Factor $e^{m}$ out of the sum: $\sum_i e^{x_i} = e^{m}\sum_i e^{x_i - m}$, then take the log.",
            _shift,
            Numeric(_sample, sizes=SIZES, rtol=1e-12, reference=_ref_lse),
        ),
        Step(
            "bounded",
            "With the maximum as shift no exponent is positive",
            r"Each term $e^{x_i - m}$ then lies in $(0, 1]$ and the largest is exactly 1, so the sum "
            "lies in $[1, n]$: it cannot overflow, and its log cannot be $-\\infty$.",
            _bounded,
            Numeric(_sample, sizes=SIZES, atol=1e-12),
        ),
        Step(
            "gradient",
            "The gradient is the softmax",
            r"$\partial_{x_k} \log\sum_i e^{x_i} = e^{x_k} / \sum_i e^{x_i}$.",
            _gradient,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-9, reference=_ref_softmax),
        ),
    ),
    claims=(
        Claim(
            "overflow-float64",
            "Where the naive form overflows in float64",
            r"$e^{x}$ overflows once $x$ exceeds the log of the largest float64, just above 709.78. "
            "The numeric check evaluates the naive and the stable form just past it, in float64 and float32.",
            _threshold64,
            _overflow,
        ),
        Claim(
            "overflow-float32",
            "Where the naive form overflows in float32",
            "In float32 (the usual training dtype) the limit is just above 88.72: a logit of 89 is enough.",
            _threshold32,
            _overflow,
        ),
        Claim(
            "log-softmax",
            "Log-softmax is a shift by LogSumExp",
            r"$\log \operatorname{softmax}(x) = x - \operatorname{LSE}(x)\,\mathbf{1}$, stable for the same reason.",
            _log_softmax,
            Numeric(_sample, sizes=SIZES, rtol=1e-12, atol=1e-12, reference=_ref_log_softmax),
        ),
    ),
    implemented_by=("dlmath.logsumexp", "dlmath.softmax", "dlmath.log_softmax"),
    prose="""\
Computing $\\log\\sum_i e^{x_i}$ literally is a classic bug: one large input makes $e^{x_i}$ overflow
to infinity (past about 88.7 in float32, the default dtype of most training code), and very
negative inputs underflow to zero and produce $-\\infty$. Both happen with ordinary logits.

The fix is to factor out $e^{m}$ before summing. Any $m$ gives the same exact value, but choosing
the maximum makes every remaining exponent non-positive, so each term is at most 1 and the largest
is exactly 1: the sum can neither overflow nor vanish. PyTorch, JAX and SciPy all do this inside
their `logsumexp`.

The same function is the smooth maximum of the next section and the normaliser of the softmax;
its gradient is the softmax itself, which is why cross-entropy has such a simple gradient.
""",
    snippet="""\
import numpy as np
from dlmath import logsumexp, softmax

x = np.array([1000.0, 999.0, -5.0])
with np.errstate(over="ignore"):
    print("naive :", np.log(np.sum(np.exp(x))))
print("stable:", float(logsumexp(x)))
print("grad  :", np.round(softmax(x), 6))
""",
    figure="lse-overflow",
)
