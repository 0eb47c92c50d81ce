"""Poisson noise gives the Poisson NLL with a log link; exponential families have gradient mean - target."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ..derive import (
    LSE,
    Derivative,
    Dot,
    Eq,
    Figure,
    Grad,
    Gt,
    Lt,
    Subs,
    Topic,
    exp,
    log,
    pi,
)
from ._plot import BLUE, GREEN, GREY, ORANGE, RED, curve

t = Topic(
    "poisson-nll",
    "Poisson noise gives the Poisson NLL with a log link",
    claim=(
        "For a count $y$ with rate $exp(z)$ the negative log-likelihood is $exp(z) - y*z + log_fact$ and its "
        "gradient is $exp(z) - y$, the mean minus the count; the same pattern, mean minus target, holds "
        "for the Gaussian, the Bernoulli and the categorical."
    ),
    sizes=({"K": 2}, {"K": 3}, {"K": 6}),
    dims={"K": 3},
    implemented_by=("dlmath.poisson_nll", "dlmath.binary_cross_entropy", "dlmath.cross_entropy"),
)
z, y, eta = t.scalars("z y eta")
K = t.dim("K")
x, q = t.vector("x", K), t.vector("q", K)
t.sample(y=lambda rng, shape: float(rng.poisson(4.0)))


@functools.lru_cache(maxsize=64)
def _stats(kind: str, parameter):
    """``(density, mean)`` of a sympy.stats distribution with the given (explicit) parameter."""
    import sympy.stats as st

    make = {
        "poisson": lambda: st.Poisson("Y", sp.exp(parameter)),
        "normal": lambda: st.Normal("Y", parameter, 1),
        "bernoulli": lambda: st.Bernoulli("Y", 1 / (1 + sp.exp(-parameter))),
    }[kind]
    rv = make()
    return st.density(rv), st.E(rv)


def _nll(kind):
    def definition(rec, zz, yy):
        density, _ = _stats(kind, rec(zz))
        if kind == "bernoulli":  # a soft target weights the two outcomes, as in cross-entropy
            target = rec(yy)
            return -(target * sp.log(density(1)) + (1 - target) * sp.log(sp.cancel(density(0))))
        # y! as Gamma(y + 1), which is defined (and computed) for a real count
        return -sp.expand_log(sp.log(density(rec(yy)).rewrite(sp.gamma)), force=True)

    return definition


def _mean(kind):
    def definition(rec, zz):
        return _stats(kind, rec(zz))[1]

    return definition


def _one_hot_mean(rec, xx):
    logits = list(rec(xx))
    total = sum(sp.exp(e) for e in logits)
    size = len(logits)
    draws = [sp.ImmutableMatrix([1 if r == k else 0 for r in range(size)]) for k in range(size)]
    return sp.ImmutableMatrix(
        sum((sp.exp(logits[k]) / total * draws[k] for k in range(size)), sp.zeros(size, 1))
    )


nll = t.quantity("nll", r"-\log p(y \mid e^{z})", "−log p(y | e^z)", _nll("poisson"), z, y)
log_fact = t.quantity("log_fact", r"\log y!", "log y!", lambda rec, v: sp.log(sp.gamma(rec(v) + 1)), y)
nll_normal = t.quantity("nll_normal", r"\ell_{\mathcal{N}}(\eta, y)", "ℓ_N(η, y)", _nll("normal"), eta, y)
nll_bernoulli = t.quantity(
    "nll_bernoulli", r"\ell_{\mathrm{Bern}}(\eta, y)", "ℓ_Bern(η, y)", _nll("bernoulli"), eta, y
)
nll_poisson = t.quantity(
    "nll_poisson", r"\ell_{\mathrm{Pois}}(\eta, y)", "ℓ_Pois(η, y)", _nll("poisson"), eta, y
)
mean_normal = t.quantity(
    "mean_normal", r"\mathbb{E}_{\mathcal{N}(\eta, 1)}[Y]", "E_N(η,1)[Y]", _mean("normal"), eta
)
mean_bernoulli = t.quantity(
    "mean_bernoulli",
    r"\mathbb{E}_{\mathrm{Bern}(\sigma(\eta))}[Y]",
    "E_Bern(σ(η))[Y]",
    _mean("bernoulli"),
    eta,
)
mean_poisson = t.quantity(
    "mean_poisson", r"\mathbb{E}_{\mathrm{Pois}(e^{\eta})}[Y]", "E_Pois(e^η)[Y]", _mean("poisson"), eta
)
mean_onehot = t.quantity(
    "mean_onehot",
    r"\mathbb{E}_{\mathrm{Cat}(\operatorname{softmax}(x))}[e_Y]",
    "E_Cat(softmax(x))[e_Y]",
    _one_hot_mean,
    x,
    shape=(K, 1),
)
stirling = t.let("stirling", y * log(y) - y + log(2 * pi * y) / 2)


def _poisson(vals, **options):
    from dlmath import poisson_nll

    return poisson_nll(np.array([vals["z"]]), np.array([vals["y"]]), reduction="sum", **options)


def _ref_loss(vals):
    return [("dlmath.poisson_nll", _poisson(vals))]


def _ref_grad(vals):
    from dlmath.derive.compiler import fd_grad

    slope = fd_grad(lambda v: float(_poisson({**vals, "z": float(v)})), vals["z"])
    return [("finite differences of dlmath.poisson_nll", slope)]


def _ref_stirling(vals):
    import math

    added = _poisson(vals, full=True) - _poisson(vals)
    return [("log y! minus what dlmath.poisson_nll(full=True) adds", math.lgamma(vals["y"] + 1) - added)]


def _soft_target(rng, size):
    return {"y": float(rng.uniform(0.0, 1.0)), "eta": float(rng.normal(0.0, 2.0))}


def _counts_above_one(rng, size):
    return {"y": float(rng.uniform(1.05, 60.0)), "z": float(rng.normal(0.0, 1.0))}


def _ref_bernoulli(vals):
    from dlmath import binary_cross_entropy
    from dlmath.derive.compiler import fd_grad

    def loss(v):
        return float(binary_cross_entropy(np.array([float(v)]), np.array([vals["y"]]), reduction="sum"))

    return [("finite differences of dlmath.binary_cross_entropy", fd_grad(loss, vals["eta"]))]


def _ref_categorical(vals):
    from dlmath import cross_entropy_grad

    grad = cross_entropy_grad(vals["x"].ravel(), vals["q"].ravel(), reduction="sum")
    return [("dlmath.cross_entropy_grad (a target of total mass 1)", grad)]


_FD = {"rtol": 1e-6, "atol": 1e-7}

t.step(
    "likelihood",
    Eq(nll, exp(z) - y * z + log_fact),
    label="The negative log-likelihood of a count",
    why=(
        "SymPy's `stats.Poisson` with rate $exp(z)$ supplies the probability of the count; its negative "
        "logarithm splits into the rate, minus the count times the log-rate, plus $log_fact$, which does "
        "not depend on $z$."
    ),
    simplify=("expand",),
)
t.step(
    "code-form",
    Eq(nll - log_fact, exp(z) - y * z),
    label="What the loss computes",
    why=(
        "Dropping the constant $log_fact$ leaves the loss of `dlmath.poisson_nll` and of PyTorch's "
        "`poisson_nll_loss(log_input=True)`."
    ),
    simplify=("expand",),
    reference=_ref_loss,
)
t.step(
    "gradient",
    Eq(Derivative(nll, z), exp(z) - y),
    label="The gradient is the rate minus the count",
    why="The log link makes the rate its own derivative, so the predicted mean minus the target is left.",
    reference=_ref_grad,
    **_FD,
)
t.step(
    "convex",
    Gt(Derivative(nll, (z, 2)), 0),
    label="The loss is convex in the log-rate",
    why="The curvature is the rate $exp(z)$ itself, positive for every count.",
)
t.step(
    "minimum",
    Eq(Subs(nll, z, log(y)), y - y * log(y) + log_fact),
    label="At the log of the count the rate equals the count",
    why=(
        "Where $y > 0$ the gradient vanishes at $Point(z, log(y))$; a count of 0 has no finite best "
        "log-rate, only ever smaller ones."
    ),
    assume=[y > 0],
    simplify=("expand_log", "expand"),
)
t.claim(
    "stirling-lower",
    Gt(log_fact - stirling, 0),
    label="With `full=True` the constant is Stirling's approximation, from below",
    why=(
        "Where $y > 1$, `full=True` adds $stirling$ to the loss, which falls short of $log_fact$: the "
        "gap is Binet's remainder, positive."
    ),
    assume=[y > 1],
    sample=_counts_above_one,
    simplify=(),
    reference=_ref_stirling,
    against="lhs",
)
t.claim(
    "stirling-upper",
    Lt(log_fact - stirling, 1 / (12 * y)),
    label="and within one twelfth of the count's reciprocal",
    why="The remainder is below $1/(12*y)$: about 0.008 at 10 counts, negligible beside the loss.",
    assume=[y > 1],
    sample=_counts_above_one,
    simplify=(),
)
t.claim(
    "gaussian",
    Eq(Derivative(nll_normal, eta), mean_normal - y),
    label="Gaussian noise: the same pattern",
    why=(
        "With unit variance and mean $eta$ the negative log-density is "
        "$Eq(nll_normal, (y - eta)**2/2 + log(2*pi)/2)$, whose gradient is the mean minus the target; "
        "the density and the mean both come from `sympy.stats`."
    ),
    **_FD,
)
t.claim(
    "bernoulli",
    Eq(Derivative(nll_bernoulli, eta), mean_bernoulli - y),
    label="Bernoulli noise: mean minus target",
    why="The mean of a Bernoulli label is its probability, the sigmoid of the logit: binary cross-entropy.",
    sample=_soft_target,
    reference=_ref_bernoulli,
    **_FD,
)
t.claim(
    "poisson",
    Eq(Derivative(nll_poisson, eta), mean_poisson - y),
    label="Poisson noise, read the same way",
    why="The mean of a Poisson count is its rate, so the gradient above is the mean minus the target too.",
    **_FD,
)
t.claim(
    "categorical",
    Eq(Grad(LSE(x) - Dot(q, x), x), mean_onehot - q),
    label="Categorical: the mean of a one-hot draw is the softmax",
    why=(
        "Cross-entropy against a target $q$ of total mass 1 is $LSE(x) - Dot(q, x)$ up to a constant; "
        "the mean of a one-hot label drawn from the softmax is the softmax itself."
    ),
    reference=_ref_categorical,
    sample=lambda rng, size: {"q": rng.dirichlet(np.ones(size["K"])).reshape(-1, 1)},
    **_FD,
)

t.prose = """\
Counts (clicks, events per interval, photons, words in a document) are not Gaussian: they are
non-negative, discrete, and their spread grows with their mean. The Poisson model captures that,
and predicting its rate as the exponential of a linear output (the log link) keeps the rate
positive without any constraint. Maximum likelihood then gives the Poisson NLL,
$exp(z) - y*z$ after the constant $log_fact$ is dropped, and its gradient is $exp(z) - y$.

That gradient has the same shape as every other one in this reference: the model's predicted mean
minus the target. It is not a coincidence. The Gaussian, Bernoulli, categorical and Poisson
distributions are exponential families, whose negative log-likelihood in the natural parameter is
a log-partition function minus target times parameter, and the derivative of the log-partition
function is the mean. Squared error, binary and softmax cross-entropy and the Poisson loss are
the same construction with different log-partition functions.

In practice the constant matters only for reporting. PyTorch's `full=True` adds Stirling's
approximation $stirling$ of $log_fact$ for counts above 1; the checks bound its error by
$1/(12*y)$ and compare `dlmath.poisson_nll` with the derived loss, gradient and constant.
"""

t.snippet = """\
import math
import numpy as np
from dlmath import poisson_nll

y = np.array([0.0, 1.0, 4.0, 12.0])
z = np.log(np.array([0.5, 1.0, 3.0, 12.0]))
print("loss       :", np.round(poisson_nll(z, y, reduction="none"), 4))
print("gradient   :", np.round(np.exp(z) - y, 4))
full = poisson_nll(z, y, full=True, reduction="none")
exact = poisson_nll(z, y, reduction="none") + np.array([math.lgamma(v + 1) for v in y])
print("full=True  :", np.round(full, 4))
print("exact NLL  :", np.round(exact, 4))
"""

_COUNTS = (0, 2, 6)


def _draw(fig, tex) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    zs = np.linspace(-3, 3, 401)
    loss = curve(exp(z) - y * z, z, y)
    for count, color in zip(_COUNTS, (GREY, BLUE, RED), strict=True):
        ax1.plot(zs, loss(zs, count), color=color, label=tex(f"$Setting(y, {count})$"))
        if count > 0:
            ax1.plot([np.log(count)], [loss(np.log(count), count)], "o", color=color, ms=4)
    ax1.set_ylim(-10, 12)
    ax1.set_xlabel(tex("log-rate $z$"))
    ax1.set_title(tex("$exp(z) - y*z$"))
    ax1.legend(loc="upper center")
    etas = np.linspace(-3, 3, 401)
    for kind, color, label in (
        ("normal", BLUE, "Gaussian: the mean itself"),
        ("bernoulli", GREEN, "Bernoulli: the sigmoid"),
        ("poisson", ORANGE, "Poisson: the exponential"),
    ):
        mean = curve(_stats(kind, eta)[1], eta)(etas)  # the mean sympy.stats gives the checks
        ax2.plot(etas, np.broadcast_to(mean, etas.shape), color=color, label=label)
    ax2.set_ylim(-3, 6)
    ax2.axhline(0, color=GREY, lw=1)
    ax2.set_xlabel(tex("natural parameter $eta$"))
    ax2.set_title("the mean a family predicts")
    ax2.legend(loc="upper left", fontsize=8)


t.figure = Figure(
    _draw,
    alt=(
        "Left, the Poisson loss against the log-rate for counts "
        + ", ".join(str(c) for c in _COUNTS)
        + ": for a positive count a convex curve with its minimum at the log of the count, marked; for a "
        "count of 0 the loss keeps falling to the left. Right, the mean each family predicts from its "
        "natural parameter: a straight line for the Gaussian, the sigmoid for the Bernoulli and the "
        "exponential for the Poisson."
    ),
    caption=(
        "The Poisson loss is minimised where the rate equals the count; every family's gradient is its "
        "predicted mean minus the target."
    ),
)

TOPIC = t
