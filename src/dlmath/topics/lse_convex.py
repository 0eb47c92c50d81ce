"""LogSumExp is convex, its conjugate is the negative entropy, and softmax is its gradient map."""

from __future__ import annotations

import numpy as np

from ..derive import (
    LSE,
    At,
    Diag,
    Dot,
    Eq,
    Figure,
    Ge,
    Grad,
    Hess,
    Le,
    LogOf,
    OneMatrix,
    Positive,
    Simplex,
    Softmax,
    Sum,
    Topic,
)
from ._plot import BLUE, GREY, ORANGE, RED

t = Topic(
    "lse-convex",
    "LogSumExp is convex and softmax is its gradient map",
    claim=(
        "The Hessian of $LSE(z)$ is the covariance $Diag(p) - p*p.T$, so LogSumExp is convex; its convex "
        "conjugate is the negative entropy, and $LSE(z) == Dot(p, z) - Dot(p, LogOf(p))$ is the largest "
        "value of $Dot(q, z) - Dot(q, LogOf(q))$ over distributions $q$, reached at the softmax."
    ),
    sizes=({"K": 2}, {"K": 3}, {"K": 5}),
    dims={"K": 3},
    implemented_by=("dlmath.logsumexp", "dlmath.softmax", "dlmath.softmax_hessian"),
)
K = t.dim("K")
z, a, b, v, p, q = (t.vector(name, K) for name in "zabvpq")
k = t.index("k")
theta = t.scalar("theta")
p_a, p_b = t.vector("p_a", K), t.vector("p_b", K)
t.define(p, Softmax(z))
t.define(p_a, Softmax(a))
t.define(p_b, Softmax(b))
interior = [Positive(q), Simplex(q)]
between = [theta >= 0, theta <= 1]


def _ref_softmax(vals):
    from dlmath import softmax

    return [("dlmath.softmax", softmax(vals["z"].ravel()))]


def _ref_hessian(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", softmax_hessian(vals["z"].ravel()))]


def _ref_lse(vals):
    from dlmath import logsumexp

    return [("dlmath.logsumexp", logsumexp(vals["z"].ravel()))]


variance = Sum(p[k, 0] * (v[k, 0] - Dot(p, v)) ** 2, (k, 0, K - 1))

t.step(
    "gradient",
    Eq(Grad(LSE(z), z), p),
    label="The gradient is the softmax",
    why="Each partial derivative of the logarithm of the sum is one exponential over the whole sum.",
    reference=_ref_softmax,
    rtol=1e-6,
    atol=1e-9,
)
t.step(
    "hessian",
    Eq(Hess(LSE(z), z), Diag(p) - p * p.T),
    label="The Hessian is a covariance matrix",
    why="Differentiate the softmax once more: the covariance of a one-hot draw from $p$.",
    reference=_ref_hessian,
    rtol=1e-5,
    atol=1e-5,
)
t.step(
    "quadratic-form",
    Eq(v.T * (Diag(p) - p * p.T) * v, variance),
    label="Its quadratic form is a variance",
    why=(
        "$v.T*(Diag(p) - p*p.T)*v$ is the variance of the entry of $v$ that a draw from $p$ picks; this "
        "holds for every $Simplex(p)$, the softmax among them."
    ),
    given={},
    assume=[Simplex(p)],
)
t.step(
    "convex",
    Ge(variance, 0),
    label="So the curvature is never negative: LogSumExp is convex",
    why="A sum of squares with positive weights: the softmax probabilities are positive.",
    simplify=(),
)
t.claim(
    "jensen",
    Le(LSE(theta * a + (1 - theta) * b), theta * LSE(a) + (1 - theta) * LSE(b)),
    label="The definition of convexity, directly",
    why=(
        "Where $theta >= 0$ and $theta <= 1$, the function lies below its chords; the search for a "
        "counterexample attacks this inequality on its own."
    ),
    assume=between,
    simplify=(),
)
t.claim(
    "monotone",
    # a matrix product, not Dot, and named softmaxes: Dot prints its arguments without parentheses,
    # and a difference of two printed softmaxes breaks the terminal printer
    Ge((p_a - p_b).T * (a - b), 0),
    label="Softmax is a monotone map",
    why="The gradient of a convex function never points against a displacement of its argument.",
    simplify=(),
)
t.step(
    "variational-attained",
    Eq(Dot(p, z) - Dot(p, LogOf(p)), LSE(z)),
    label="At the softmax, the score plus the entropy is LogSumExp",
    why=(
        "With $LogOf(p) == z - LSE(z)*OneMatrix(K, 1)$, the first two terms cancel and the probabilities "
        "sum to 1."
    ),
    simplify=("expand_log", "cancel"),
    reference=_ref_lse,
)
t.step(
    "variational-bound",
    Le(Dot(q, z) - Dot(q, LogOf(q)), LSE(z)),
    label="Any other distribution scores lower",
    why=(
        "For every $q$ with $Positive(q)$ and $Simplex(q)$: the gap is the relative entropy of $q$ from the "
        "softmax, which is never negative, so LogSumExp is the largest value and the softmax the argmax."
    ),
    assume=interior,
    simplify=(),
)
t.claim(
    "conjugate",
    Eq(At(Dot(q, z) - LSE(z), z, LogOf(q)), Dot(q, LogOf(q))),
    label="The convex conjugate of LogSumExp is the negative entropy",
    why=(
        "Read the same inequality in $z$: $Dot(q, z) - LSE(z)$ never exceeds $Dot(q, LogOf(q))$, and the "
        "logits $LogOf(q)$ reach it."
    ),
    assume=interior,
    simplify=("expand_log", "cancel"),
)
t.claim(
    "first-order",
    Eq(At(Grad(Dot(q, z) - Dot(q, LogOf(q)), q), q, p), (LSE(z) - 1) * OneMatrix(K, 1)),
    label="The optimality condition on the simplex",
    why=(
        "At the softmax the gradient in $q$ is the same in every coordinate, so it is orthogonal to every "
        "direction that stays on the simplex: the Lagrange condition."
    ),
    simplify=("expand_log", "cancel"),
    rtol=1e-6,
    atol=1e-8,
)

t.prose = """\
Convexity of LogSumExp is what makes softmax regression, and the last layer of every classifier, a
convex problem in the logits: cross-entropy is LogSumExp minus a linear term. The Hessian is the
covariance of a one-hot draw, and a covariance is never negative in any direction; the checks also
attack the chord inequality directly.

The variational form says more. LogSumExp is the best value of a linear score $Dot(q, z)$ plus the
entropy of $q$ over all distributions $q$, and the softmax is where that best value is reached. So
softmax is an entropy-regularised argmax: it picks the distribution that scores highest while
staying as spread out as possible, and a temperature (the Gumbel-max topic) weights the entropy.

The same statement read from the other side is convex duality: the convex conjugate of LogSumExp
is the negative entropy $Dot(q, LogOf(q))$ on the simplex. Mirror descent, the exponentiated
gradient method, entropy-regularised optimal transport (Sinkhorn) and maximum-entropy reinforcement
learning all use this pair.
"""

t.snippet = """\
import numpy as np
from dlmath import logsumexp, softmax

rng = np.random.default_rng(0)
z = np.array([1.5, 0.2, -0.7])
p = softmax(z)
score = lambda q: q @ z - q @ np.log(q)
print("LSE(z)         :", float(logsumexp(z)))
print("score(softmax) :", float(score(p)))
others = rng.dirichlet(np.ones(3), size=5)
print("other q score  :", np.round([score(q) for q in others], 4))
"""

_LOGITS = (1.0, 0.0)


def _draw(fig, tex) -> None:
    from dlmath import logsumexp, softmax

    ax1, ax2 = fig.subplots(1, 2)
    xs = np.linspace(-4, 4, 401)
    pairs = np.stack([xs, np.zeros_like(xs)], axis=-1)
    lse = np.asarray(logsumexp(pairs, axis=-1))
    ax1.plot(xs, lse, color=BLUE, label="LogSumExp of the pair t and 0")
    ax1.plot(xs, np.maximum(xs, 0.0), color=GREY, ls=":", label="the max")
    ends = np.array([-3.0, 2.5])
    chord = np.asarray(logsumexp(np.stack([ends, np.zeros(2)], axis=-1), axis=-1))
    ax1.plot(ends, chord, color=RED, lw=1, marker="o", ms=3, label="a chord lies above")
    ax1.set_xlabel("t")
    ax1.legend(loc="upper left")
    z0 = np.array(_LOGITS)
    first = np.linspace(1e-4, 1 - 1e-4, 400)
    qs = np.stack([first, 1 - first], axis=-1)
    score = qs @ z0 - np.sum(qs * np.log(qs), axis=-1)
    best = float(softmax(z0)[0])
    ax2.plot(first, score, color=ORANGE, label="score plus entropy")
    ax2.axhline(float(logsumexp(z0)), color=BLUE, ls="--", lw=1, label="LogSumExp")
    ax2.axvline(best, color=GREY, ls=":", lw=1)
    ax2.plot([best], [float(logsumexp(z0))], "o", color="black", ms=4)
    ax2.set_xlabel(tex("first entry of $q$"))
    ax2.set_title(tex("$Dot(q, z) - Dot(q, LogOf(q))$ for two classes"))
    ax2.legend(loc="lower center")


t.figure = Figure(
    _draw,
    alt=(
        "Left, LogSumExp of the pair t and 0 as a smooth convex curve above the kinked max, with a chord "
        "between two of its points lying above it. Right, for two classes with logits "
        + " and ".join(f"{v:g}" for v in _LOGITS)
        + ", the linear score plus the entropy as a function of the first probability: a concave arch "
        "whose top touches the LogSumExp level exactly at the softmax probability."
    ),
    caption=(
        "LogSumExp is convex; over distributions, score plus entropy peaks at the softmax, where it "
        "equals $LSE(z)$."
    ),
)

TOPIC = t
