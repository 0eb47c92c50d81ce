"""The LogSumExp stability trick: shift by the maximum so no exponential overflows."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..derive import (
    LSE,
    Approx,
    Eq,
    Figure,
    Grad,
    Le,
    LogOf,
    MaxEntry,
    OneMatrix,
    Softmax,
    Sum,
    Topic,
    exp,
    log,
    oo,
)
from ..derive.notation import entries_of
from ._plot import BLUE, GREY, RED

t = Topic(
    "logsumexp",
    "LogSumExp: the stability trick used in real code",
    claim=(
        "$log(Sum(exp(x[i, 0]), (i, 0, n - 1))) == m + log(Sum(exp(x[i, 0] - m), (i, 0, n - 1)))$ for any "
        "$m$; with $m == MaxEntry(x)$ no exponent is positive, so nothing overflows, and the gradient "
        "is the softmax."
    ),
    sizes=({"n": 2}, {"n": 4}, {"n": 9}),
    dims={"n": 3},
    implemented_by=("dlmath.logsumexp", "dlmath.softmax", "dlmath.log_softmax"),
)
n = t.dim("n")
x = t.vector("x", n)
i = t.index("i")
m = t.scalar("m")


def _naive(dtype):
    def naive(top):
        with np.errstate(over="ignore"):
            v = np.array([float(top), 0.0], dtype=dtype)
            return float(np.log(np.sum(np.exp(v))))

    return naive


def _stable(dtype):
    def stable(top):
        from dlmath import logsumexp

        return float(logsumexp(np.array([float(top), 0.0], dtype=dtype)))

    return stable


naive64 = t.measure("naive64", _naive(np.float64))
naive32 = t.measure("naive32", _naive(np.float32))
lse64 = t.measure("lse64", _stable(np.float64))
lse32 = t.measure("lse32", _stable(np.float32))


def _largest_float(mantissa_bits: int, max_exponent: int):
    """``(2 - 2^-p) 2^e``, the largest finite float, kept unevaluated so it prints as a formula."""
    u, two = sp.UnevaluatedExpr, sp.Integer(2)
    return u(2 - u(two) ** (-mantissa_bits)) * u(two) ** max_exponent


float_max64 = t.let("float_max64", _largest_float(52, 1023))
float_max32 = t.let("float_max32", _largest_float(23, 127))


def _max_first(symbols):
    """``x_0`` is the maximum: ``x_k = x_0 - g_k`` with ``g_k >= 0`` (no loss of generality)."""
    xs = entries_of(symbols.values(), "x")
    return {s: xs[0] - sp.Symbol(f"g_{k}", nonnegative=True) for k, s in enumerate(xs) if k > 0}


def _ref(name):
    def ref(vals):
        import dlmath

        return [(f"dlmath.{name}", getattr(dlmath, name)(vals["x"].ravel()))]

    return ref


naive = t.let("naive", log(Sum(exp(x[i, 0]), (i, 0, n - 1))))
t.step(
    "definition",
    Eq(LSE(x), naive),
    label="Definition",
    why="LogSumExp, the log of a sum of exponentials.",
    simplify=(),
    rtol=1e-12,
    reference=_ref("logsumexp"),
)
t.step(
    "shift",
    Eq(naive, m + log(Sum(exp(x[i, 0] - m), (i, 0, n - 1)))),
    label="Shift identity",
    why=(
        "Factor out the shift, $Sum(exp(x[i, 0]), (i, 0, n - 1)) == exp(m)*Sum(exp(x[i, 0] - m), (i, 0, n - 1))$, "
        "then take the log of the product."
    ),
    simplify=("exp",),
    rtol=1e-12,
    reference=_ref("logsumexp"),
)
t.step(
    "bounded",
    Le(x[i, 0] - m, 0),
    label="With the maximum as shift no exponent is positive",
    why=(
        "Where $m == MaxEntry(x)$ each term $exp(x[i, 0] - m)$ is at most 1 and the largest is exactly 1, so "
        "the sum lies between 1 and $n$: it cannot overflow, and its log is finite."
    ),
    given={m: MaxEntry(x)},
    forall=((i, 0, n - 1),),
    wlog=_max_first,
    simplify=(),
    atol=1e-12,
)
t.step(
    "gradient",
    Eq(Grad(LSE(x), x), Softmax(x)),
    label="The gradient is the softmax",
    why="Each partial derivative is $exp(x[i, 0])$ over the whole sum.",
    rtol=1e-6,
    atol=1e-9,
    reference=_ref("softmax"),
)
t.claim(
    "log-softmax",
    Eq(LogOf(Softmax(x)), x - LSE(x) * OneMatrix(n, 1)),
    label="Log-softmax is a shift by LogSumExp",
    why="Stable for the same reason: the shift is computed once and subtracted.",
    simplify=("expand",),
    rtol=1e-12,
    atol=1e-12,
    reference=_ref("log_softmax"),
)
t.claim(
    "threshold-float64",
    Approx(log(float_max64), "709.78"),
    label="Where the naive form overflows in float64",
    why="The exponential overflows once its argument passes the log of the largest float64, $float_max64$.",
)
t.claim(
    "overflow-float64",
    Eq(naive64(710), oo),
    label="Just past it the naive form gives infinity",
    why=(
        "$naive64(710)$ is the naive formula for the pair 710 and 0, run in float64; the true value is "
        "about 710."
    ),
)
t.claim(
    "stable-float64",
    Eq(lse64(710), 710 + log(1 + exp(-710))),
    label="The shifted form does not overflow",
    why="$lse64(710)$ is `dlmath.logsumexp` on the same pair in float64: the exact value to the last bit.",
    rtol=2.3e-16,
    atol=0,
)
t.claim(
    "threshold-float32",
    Approx(log(float_max32), "88.72"),
    label="In float32 the limit is lower",
    why="The largest float32 is $float_max32$: a logit of 89, common in training, is enough.",
)
t.claim(
    "overflow-float32",
    Eq(naive32(89), oo),
    label="The naive form overflows at 89 in float32",
    why="$naive32(89)$ is the naive formula for the pair 89 and 0 in float32.",
)
t.claim(
    "stable-float32",
    Eq(lse32(89), 89 + log(1 + exp(-89))),
    label="The shifted form gives the correctly rounded float32",
    why="$lse32(89)$ is `dlmath.logsumexp` on the same pair in float32.",
    rtol=6e-8,
    atol=0,
)

t.prose = """\
Computing $naive$ literally is a classic bug: one large input makes its exponential overflow to
infinity (past $Approx(log(float_max32), '88.72')$ in float32, the default dtype of most training
code), and very negative inputs underflow to zero and make the log minus infinity. Both happen
with ordinary logits.

The fix is to factor the exponential of a shift $m$ out of the sum before summing. Any $m$ gives the same exact value, but choosing
the maximum makes every remaining exponent non-positive, so each term is at most 1 and the largest
is exactly 1: the sum can neither overflow nor vanish. PyTorch, JAX and SciPy all do this inside
their `logsumexp`.

The same function is the smooth maximum of the next section and the normaliser of the softmax;
its gradient is the softmax itself, which is why cross-entropy has such a simple gradient.
"""

t.snippet = """\
import numpy as np
from dlmath import logsumexp, softmax

x = np.array([1000.0, 999.0, -5.0])
with np.errstate(over="ignore"):
    print("naive :", np.log(np.sum(np.exp(x))))
print("stable:", float(logsumexp(x)))
print("grad  :", np.round(softmax(x), 6))
"""


def _edge(dtype) -> float:
    return math.log(float(np.finfo(dtype).max))


def _draw(fig, tex) -> None:
    from dlmath import logsumexp

    ax1, ax2 = fig.subplots(1, 2)
    for ax, dtype, top in ((ax1, np.float32, 120.0), (ax2, np.float64, 760.0)):
        edge = _edge(dtype)
        ts = np.linspace(top - 100.0, top, 401).astype(dtype)
        pair = np.stack([ts, np.zeros_like(ts)], axis=-1)
        with np.errstate(over="ignore"):
            naive_values = np.log(np.sum(np.exp(pair), axis=-1))
        stable = np.asarray(logsumexp(pair, axis=-1))
        shown = np.where(np.isfinite(naive_values), naive_values, np.nan)
        ax.plot(ts, stable, color=BLUE, lw=3, alpha=0.5, label="shifted by the maximum")
        ax.plot(ts, shown, color=RED, lw=1.4, label="naive")
        ax.axvline(edge, color=GREY, ls="--", lw=1)
        ax.annotate(
            f"naive gives inf\npast {edge:.2f}",
            xy=(edge, float(stable[0])),
            xytext=(6, 0),
            textcoords="offset points",
            color=RED,
            fontsize=8,
        )
        ax.set_title(f"LogSumExp of the pair t and 0 in {np.dtype(dtype).name}")
        ax.set_xlabel("t")
    ax1.legend(loc="upper left")


t.figure = Figure(
    _draw,
    alt=(
        "Two panels for float32 and float64. The LogSumExp of the pair t and 0, shifted by the maximum, "
        f"is a straight line; the naive formula follows it until t passes about {_edge(np.float32):.2f} in "
        f"float32 and {_edge(np.float64):.2f} in float64, where it becomes infinite and the red curve stops."
    ),
    caption="The naive $naive$ overflows at the dtype's limit; shifting by the maximum does not.",
)

TOPIC = t
