"""Temperature and the Gumbel-max trick: the argmax of logits plus Gumbel noise is a softmax draw."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ..derive import (
    Derivative,
    Eq,
    Figure,
    Gt,
    Limit,
    Lt,
    Rational,
    Softmax,
    Subs,
    Topic,
    exp,
    log,
    oo,
)
from ..derive.assumptions import FunctionIs
from ._plot import BLUE, GREEN, GREY, ORANGE, RED, curve, decades_only

t = Topic(
    "gumbel-max",
    "Temperature and the Gumbel-max trick",
    claim=(
        "Adding independent standard Gumbel noise to the logits and taking the argmax draws a class "
        "with probability $softmax_a$; dividing the logits by a temperature $tau$ sharpens that "
        "distribution to the argmax as $tau$ goes to 0 and flattens it to uniform as $tau$ grows."
    ),
    sizes=({"K": 3},),
    dims={"K": 3},
    implemented_by=("dlmath.gumbel_max_sample", "dlmath.softmax"),
)
x, u, a, b, c, tau, s_chi, S = t.scalars("x u a b c tau s S")
K = t.dim("K")
z, p = t.vector("z", K), t.vector("p", K)
alpha = t.scalar("alpha")
G = t.function("G")
_v = sp.Dummy("v", real=True)
gumbel = FunctionIs(Eq(G(x), exp(-exp(-x))), "G", sp.Lambda(_v, exp(-exp(-_v))))
t.assume(gumbel, tau > 0, s_chi >= 0, u > 0, u < 1)
t.define(p, Softmax(z))
t.define(alpha, Rational(1, 10**6))
t.sample(u=(0.01, 0.99), tau=(0.05, 5.0))

t.define(S, exp(a) + exp(b) + exp(c))
softmax_a = t.let("softmax_a", exp(a) / S)
F = t.let("F", exp(a) / S * exp(-exp(-x) * S))
two_class = t.let("two_class", 1 / (1 + exp(-(a - b) / tau)))


def _chi2_cdf(rec, ss):
    import sympy.stats as st

    return st.cdf(st.ChiSquared("X", 2))(rec(ss))


chi2_cdf = t.quantity("chi2_cdf", r"P(\chi^2_2 \le s)", "P(χ²₂ ≤ s)", _chi2_cdf, s_chi)

# --- the experiment: a chi-square test of dlmath.gumbel_max_sample ----------------------------------

_DRAWS = 50_000


@functools.lru_cache(maxsize=32)
def _counts(logits: tuple) -> np.ndarray:
    from dlmath import gumbel_max_sample

    rows = np.broadcast_to(np.array(logits), (_DRAWS, len(logits)))
    drawn = gumbel_max_sample(rows, rng=np.random.default_rng(7))
    return np.bincount(np.asarray(drawn).ravel(), minlength=len(logits))


def _pearson(zz, pp):
    counts = _counts(tuple(float(v) for v in np.asarray(zz, dtype=float).ravel()))
    expected = _DRAWS * np.asarray(pp, dtype=float).ravel()
    return float(np.sum((counts - expected) ** 2 / expected))


chi2 = t.measure("chi2", _pearson)


def _ref_softmax(vals):
    from dlmath import softmax

    return [("dlmath.softmax of (a, b, c)", softmax(np.array([vals["a"], vals["b"], vals["c"]]))[0])]


def _ref_two_class(vals):
    from dlmath import softmax

    logits = np.array([vals["a"], vals["b"]])
    return [("dlmath.softmax of (a, b) at temperature tau", softmax(logits, temperature=vals["tau"])[0])]


def _in_unit_interval(e):
    """The residual with ``u`` in (0, 1) written as ``1/(1 + v)``, ``v > 0``: the same interval, in a
    form whose sign SymPy can read."""
    found = [s for s in e.free_symbols if s.name == "u"]
    if not found:
        return e
    return sp.expand_log(e.xreplace({found[0]: 1 / (1 + sp.Symbol("v", positive=True))}), force=True)


_FD = {"rtol": 1e-6, "atol": 1e-8}

t.step(
    "density",
    Eq(Derivative(G(x), x), exp(-x - exp(-x))),
    label="The Gumbel distribution",
    why=(
        "A standard Gumbel variable has the distribution function $Eq(G(x), exp(-exp(-x)))$; its "
        "density is the derivative."
    ),
    **_FD,
)
t.step(
    "sampling",
    Eq(G(-log(-log(u))), u),
    label="Sampling it from a uniform number",
    why=(
        "The distribution function takes $-log(-log(u))$ back to $u$: the transform is the inverse of $G(x)$."
    ),
)
t.step(
    "increasing",
    Gt(Derivative(-log(-log(u)), u), 0),
    label="An increasing transform of a uniform number is Gumbel",
    why=(
        "Where $u > 0$ and $u < 1$ the transform increases, so it is below a value exactly when $u$ is "
        "below that value's $G$: for a uniform $u$ it has the distribution function $G(x)$. This is "
        "inverse-transform sampling."
    ),
    simplify=(_in_unit_interval,),
)
t.step(
    "integrand",
    Eq(Derivative(G(x - a), x) * G(x - b) * G(x - c), exp(a) * exp(-x) * exp(-exp(-x) * S)),
    label="The first class wins with its noisy logit at x",
    why=(
        "The noisy logit of the first class has density $Derivative(G(x - a), x)$ at $x$, and the other "
        "two stay below $x$ with probabilities $G(x - b)$ and $G(x - c)$, independently; for three "
        "classes the probability of winning is the integral over $x$ of this product, whose factors "
        "merge into one exponential."
    ),
    **_FD,
)
t.step(
    "antiderivative",
    Eq(Derivative(F, x), exp(a) * exp(-x) * exp(-exp(-x) * S)),
    label="It has an antiderivative in closed form",
    why="Differentiate $F$: the inner exponential brings down $exp(-x)*S$, and $S$ cancels.",
    **_FD,
)
t.step(
    "win",
    Eq(Limit(F, x, oo) - Limit(F, x, -oo), softmax_a),
    label="Integrated over the line, the probability is the softmax",
    why=(
        "The integral of the integrand is $F$ at the top minus $F$ at the bottom: $softmax_a$, which "
        "for any other class follows by relabelling."
    ),
    reference=_ref_softmax,
)
t.claim(
    "chi-square",
    Lt(chi2(z, p), -2 * log(alpha)),
    label="A chi-square test of `dlmath.gumbel_max_sample` passes",
    why=(
        f"$chi2(z, p)$ is Pearson's statistic for {_DRAWS:,} draws of `dlmath.gumbel_max_sample` at three "
        "logits $z$ against the probabilities $p$; under the claim it follows the chi-square law with two "
        "degrees of freedom, which exceeds $-2*log(alpha)$ with probability $alpha$."
    ),
)
t.claim(
    "chi-square-tail",
    Eq(chi2_cdf, 1 - exp(-s_chi / 2)),
    label="The tail of the chi-square law with two degrees of freedom",
    why="Where $s >= 0$, the distribution function from `sympy.stats` leaves the tail $exp(-s/2)$.",
)
t.claim(
    "chi-square-level",
    Eq(Subs(exp(-s_chi / 2), s_chi, -2 * log(alpha)), alpha),
    label="So the threshold has the stated level",
    why="At the threshold $-2*log(alpha)$ the tail leaves a probability of one in a million.",
)
t.step(
    "temperature",
    Eq(exp(a / tau) / (exp(a / tau) + exp(b / tau)), two_class),
    label="With a temperature, two classes",
    why=(
        "Dividing the logits by $tau > 0$ before the softmax, or the Gumbel-max trick on the divided "
        "logits, gives the first of two classes the probability $two_class$."
    ),
    reference=_ref_two_class,
)
t.claim(
    "cold",
    Eq(Limit(two_class, tau, 0, "+"), 1),
    label="As the temperature goes to 0, the argmax",
    why="Where $a > b$ the exponent $-(a - b)/tau$ runs to minus infinity: the larger logit always wins.",
    assume=[a > b],
)
t.claim(
    "hot",
    Eq(Limit(two_class, tau, oo), Rational(1, 2)),
    label="As it grows, the uniform distribution",
    why="The difference of the logits is divided away and every class becomes equally likely.",
)

t.prose = """\
Sampling a class from a softmax is everywhere: exploration in reinforcement learning, decoding
from a language model, layers that make discrete stochastic choices. The Gumbel-max trick does it without
normalising: add independent Gumbel noise to each logit and take the argmax. Only comparisons are
needed, so no exponential of a logit can overflow, and the same noise gives top-k samples without
replacement by keeping the k largest.

The derivation integrates over the value of the winning noisy logit: its density times the
probability that every other one stays below it. The Gumbel distribution function $G(x)$ turns that
product into a single exponential with an antiderivative in closed form, and the result is exactly
$softmax_a$. The checks prove it for three classes and test `dlmath.gumbel_max_sample` against
the softmax with a chi-square test at level one in a million.

Temperature scales the logits before the draw. As $tau$ goes to 0 the sample becomes the argmax,
deterministic; as $tau$ grows the logits stop mattering and the draw becomes uniform. Replacing the
argmax by a softmax at a small temperature gives the Gumbel-softmax (concrete) relaxation, a
differentiable stand-in for a discrete sample used to train through categorical choices.
"""

t.snippet = """\
import numpy as np
from dlmath import gumbel_max_sample, softmax

rng = np.random.default_rng(0)
z = np.array([2.0, 1.0, -0.5])
draws = gumbel_max_sample(np.broadcast_to(z, (200_000, 3)), rng=rng)
print("Gumbel-max frequencies:", np.round(np.bincount(draws, minlength=3) / draws.size, 4))
print("softmax(z)            :", np.round(softmax(z), 4))
for tau in (0.1, 1.0, 10.0):
    print(f"tau={tau:<4} softmax(z/tau) =", np.round(softmax(z, temperature=tau), 4))
"""

_LOGITS = (2.0, 1.0, -0.5)


def _draw(fig, tex) -> None:
    from dlmath import gumbel_max_sample, softmax

    ax1, ax2 = fig.subplots(1, 2)
    z0 = np.array(_LOGITS)
    draws = gumbel_max_sample(np.broadcast_to(z0, (20_000, z0.size)), rng=np.random.default_rng(3))
    freq = np.bincount(np.asarray(draws), minlength=z0.size) / 20_000
    classes = np.arange(1, z0.size + 1)
    ax1.bar(classes - 0.2, freq, width=0.4, color=GREY, label="Gumbel-max, 20,000 draws")
    ax1.bar(classes + 0.2, softmax(z0), width=0.4, color=BLUE, label=tex("$p == Softmax(z)$"))
    ax1.set_xticks(classes)
    ax1.set_xlabel("class")
    ax1.set_ylim(0, 1)
    ax1.legend(loc="upper right")
    taus = np.logspace(-1.5, 1.5, 200)
    probs = np.array([softmax(z0, temperature=tv) for tv in taus])
    for k, color in zip(range(z0.size), (RED, ORANGE, GREEN), strict=True):
        ax2.semilogx(taus, probs[:, k], color=color, label=f"class {k + 1}, logit {_LOGITS[k]:g}")
    pair = curve(two_class, a, b, tau)(_LOGITS[0], _LOGITS[1], taus)
    ax2.semilogx(taus, pair, color=BLUE, ls="--", lw=1, label="two classes, the derived formula")
    ax2.axhline(1 / z0.size, color=GREY, ls=":", lw=1)
    ax2.set_xlabel(tex("temperature $tau$"))
    decades_only(ax2.xaxis)
    ax2.set_title("probabilities of a draw")
    ax2.legend(loc="upper right", fontsize=8)


t.figure = Figure(
    _draw,
    alt=(
        "Left, bars for three classes with logits "
        + ", ".join(f"{v:g}" for v in _LOGITS)
        + ": the frequencies of 20,000 Gumbel-max draws next to the softmax probabilities, nearly equal. "
        "Right, against the temperature on a log axis, the three probabilities: at low temperature the "
        "first class takes everything, at high temperature all approach one third; a dashed curve shows "
        "the two-class formula for the first two logits."
    ),
    caption=(
        "Gumbel-max draws follow the softmax; the temperature moves the distribution from the argmax "
        "to the uniform."
    ),
)

TOPIC = t
