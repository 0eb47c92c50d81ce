"""Bernoulli noise gives binary cross-entropy, with gradient sigmoid minus target and stable forms."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    Abs,
    Derivative,
    Eq,
    Figure,
    Ge,
    Max,
    Min,
    Subs,
    Topic,
    exp,
    log,
    oo,
)
from ._plot import BLUE, GREY, ORANGE, RED, curve

t = Topic(
    "bernoulli-bce",
    "Bernoulli noise gives binary cross-entropy",
    claim=(
        "If a label is a Bernoulli draw with probability $sig$, its negative log-likelihood is the "
        "binary cross-entropy $ell$, whose slope in the logit is $Derivative(ell, z) == sig - y$; "
        "code computes it as $log(1 + exp(z)) - y*z$ with the softplus written so that nothing overflows."
    ),
    implemented_by=("dlmath.logsumexp", "dlmath.cross_entropy"),
)
z, y = t.scalars("z y")
t.assume(y >= 0, y <= 1)


def _bernoulli_ce(rec, zz, yy):
    """Cross-entropy of the target Bernoulli(y) against the model Bernoulli(sigma(z)), from sympy.stats."""
    import sympy.stats as st

    target = st.density(st.Bernoulli("T", rec(yy)))
    model = st.density(st.Bernoulli("M", 1 / (1 + sp.exp(-rec(zz)))))
    # cancel: 1 - 1/(1 + e^-z) as 1/(1 + e^z), the same value without the rounding to 0 at large z
    return -sum(target(k) * sp.log(sp.cancel(model(k))) for k in (0, 1))


sig = t.quantity("sig", r"\sigma(z)", "σ(z)", lambda rec, v: 1 / (1 + sp.exp(-rec(v))), z)
ell = t.quantity("ell", r"\ell(z, y)", "ℓ(z, y)", _bernoulli_ce, z, y)
softplus = t.let("softplus", log(1 + exp(z)))


def _by_sign(e):
    """Zero when it is zero for ``z >= 0`` and for ``z < 0``: the sign decides ``Max``, ``Min`` and
    ``Abs``, and each case is an identity between logs, decided through its exponential."""
    (zs,) = [s for s in e.free_symbols if s.name == "z"] or [None]
    if zs is None:
        return e
    for case in (sp.Symbol("z", nonnegative=True), sp.Symbol("z", negative=True)):
        r = sp.expand(e.xreplace({zs: case}))
        if r != 0 and sp.cancel(sp.expand(sp.exp(r))) != 1:
            return r
    return sp.S.Zero


def _by_power_of_y(e):
    """Zero when every coefficient of the polynomial in ``y`` is zero (each decided through its
    exponential): the identity is linear in the target."""
    ys = [s for s in e.free_symbols if s.name == "y"]
    if not ys:
        return e
    poly = sp.Poly(sp.expand(e), ys[0])
    for c in poly.coeffs():
        if sp.cancel(sp.expand(sp.exp(c))) != 1:
            return e
    return sp.S.Zero


def _ref_two_class(vals):
    from dlmath import cross_entropy

    logits = np.array([vals["z"], 0.0])
    target = np.array([vals["y"], 1.0 - vals["y"]])
    return [("dlmath.cross_entropy on the logits (z, 0)", cross_entropy(logits, target, reduction="sum"))]


def _ref_softplus(vals):
    from dlmath import logsumexp

    return [("dlmath.logsumexp of the pair z and 0", logsumexp(np.array([vals["z"], 0.0])))]


def _ref_softplus_loss(vals):
    from dlmath import logsumexp

    value = logsumexp(np.array([vals["z"], 0.0])) - vals["y"] * vals["z"]
    return [("dlmath.logsumexp of the pair z and 0, minus y z", value)]


def _naive(top):
    with np.errstate(over="ignore"):
        return float(np.log1p(np.exp(np.float64(top))))


def _stable(top):
    from dlmath import logsumexp

    return float(logsumexp(np.array([float(top), 0.0])))


naive_softplus = t.measure("naive_softplus", _naive)
stable_softplus = t.measure("stable_softplus", _stable)

sigmoid = t.step(
    "sigmoid",
    Eq(sig, 1 / (1 + exp(-z))),
    label="The sigmoid turns a logit into a probability",
    why=(
        "Multiplied above and below by $exp(z)$, $1/(1 + exp(-z)) == exp(z)/(1 + exp(z))$: both forms "
        "lie strictly between 0 and 1."
    ),
)
t.step(
    "likelihood",
    Eq(ell, -y * log(sig) - (1 - y) * log(1 - sig)),
    label="The negative log-likelihood of a Bernoulli label",
    why=(
        "A label that is 1 with probability $sig$ and 0 otherwise has log-likelihood $log(sig)$ or "
        "$log(1 - sig)$; a soft target $y$ weights the two outcomes (SymPy's `stats.Bernoulli` supplies "
        "both distributions), which is binary cross-entropy."
    ),
    reference=_ref_two_class,
    against="lhs",
)
t.step(
    "slope",
    Eq(Derivative(sig, z), sig * (1 - sig)),
    label="The slope of the sigmoid",
    why="Differentiate $1/(1 + exp(-z))$: the slope is largest, one quarter, at the midpoint.",
)
gradient = t.step(
    "gradient",
    Eq(Derivative(ell, z), sig - y),
    label="The gradient is the prediction minus the target",
    why=(
        "The chain rule through $log(sig)$ and $log(1 - sig)$ brings the slope of the sigmoid, which "
        "cancels the denominators: only $sig - y$ is left."
    ),
)
t.step(
    "softplus-form",
    Eq(-y * log(sig) - (1 - y) * log(1 - sig), softplus - y * z),
    label="As code computes it: softplus minus a linear term",
    why="$log(sig) == z - softplus$ and $log(1 - sig) == -softplus$; collect the terms in $y$.",
    simplify=(_by_power_of_y,),
    reference=_ref_softplus_loss,
    against="lhs",
)
t.step(
    "stable-softplus",
    Eq(softplus, Max(z, 0) + log(1 + exp(-Abs(z)))),
    label="The softplus without overflow",
    why=(
        "Factor out the larger of $exp(z)$ and 1: what is left under the logarithm lies between 1 and 2, "
        "for any logit."
    ),
    simplify=(_by_sign,),
    reference=_ref_softplus,
)
t.step(
    "log-sigmoid",
    Eq(log(sig), Min(z, 0) - log(1 + exp(-Abs(z)))),
    label="The log-sigmoid without underflow",
    why=(
        "$log(sig) == -log(1 + exp(-z))$, minus the softplus of the negated logit: never the logarithm of a "
        "probability that rounded to 0."
    ),
    simplify=(_by_sign,),
)
t.claim(
    "curvature",
    Eq(Derivative(ell, (z, 2)), sig * (1 - sig)),
    label="The curvature does not depend on the target",
    why="It is the slope of the sigmoid, positive everywhere: the loss is convex in the logit.",
)
t.claim(
    "no-saturation",
    Eq(Derivative((sig - y) ** 2 / 2, z), (sig - y) * sig * (1 - sig)),
    label="Squared error on the probability would saturate",
    why=(
        "Its gradient carries the slope of the sigmoid as a factor, which fades for a confidently wrong "
        "logit; the cross-entropy gradient $sig - y$ keeps nearly full size there."
    ),
)
t.claim(
    "nonnegative",
    Ge(ell, 0),
    label="The loss is never negative",
    why="Both logarithms are negative and, where $y >= 0$ and $y <= 1$, both weights are not.",
)
t.claim(
    "minimum",
    Eq(Subs(ell, z, log(y / (1 - y))), -y * log(y) - (1 - y) * log(1 - y)),
    label="At the log-odds of the target the loss is the target's entropy",
    why=(
        "Where $y > 0$ and $y < 1$ the sigmoid of the log-odds is the target, "
        "$Subs(sig, z, log(y/(1 - y))) == y$, so the gradient $sig - y$ vanishes there: the best logit "
        "is finite, and the least loss is the entropy of the target, which vanishes only as the target "
        "hardens to 0 or 1."
    ),
    assume=[y > 0, y < 1],
    simplify=("expand_log", "expand"),
)
t.claim(
    "naive-overflows",
    Eq(naive_softplus(800), oo),
    label="The naive softplus overflows",
    why="$naive_softplus(800)$ is `log1p(exp(z))` in float64 at a logit of 800.",
)
t.claim(
    "stable-does-not",
    Eq(stable_softplus(800), 800),
    label="The shifted form does not",
    why="$stable_softplus(800)$ is `dlmath.logsumexp` of the pair 800 and 0.",
    rtol=2.3e-16,
    atol=0,
)

t.prose = """\
Binary classifiers, multi-label heads and the discriminator of a GAN all end in a single logit per
output, squashed by the sigmoid into a probability. Reading the label as a Bernoulli draw with that
probability and maximising the likelihood gives binary cross-entropy, exactly as Gaussian noise
gives squared error. Soft targets fit the same formula: the loss is the cross-entropy between the
target's Bernoulli distribution and the model's.

The gradient is remarkably simple: $sig - y$, the predicted probability minus the target. The slope
of the sigmoid cancels against the derivative of the logarithm, so the loss does not saturate the
way a squared error on top of a sigmoid would: a confidently wrong prediction still gets a gradient
of nearly full size.

In code the probability is never formed. The loss is $softplus - y*z$ and the softplus is computed
as $Max(z, 0) + log(1 + exp(-Abs(z)))$, the two-term LogSumExp trick: the exponential never sees a
positive argument, and the logarithm of a vanishing probability comes out as a large finite
number instead of minus infinity.
"""

t.snippet = """\
import numpy as np
from dlmath import logsumexp

z = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
with np.errstate(over="ignore", divide="ignore"):
    p = 1 / (1 + np.exp(-z))
    naive = -(y * np.log(p) + (1 - y) * np.log(1 - p))
softplus = logsumexp(np.stack([z, np.zeros_like(z)]), axis=0)
print("naive :", naive)
print("stable:", softplus - y * z)
print("grad  :", np.round(p - y, 4))
"""


def _draw(fig, tex) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    zs = np.linspace(-6, 6, 401)
    prob = curve(sigmoid.statement.rhs, z)(zs)
    ax1.plot(zs, prob, color=BLUE, label=tex("$sig$"))
    ax1.plot(zs, prob * (1 - prob), color=ORANGE, label=tex("$Derivative(sig, z)$"))
    ax1.axhline(0, color=GREY, lw=1)
    ax1.set_xlabel(tex("$z$"))
    ax1.legend(loc="upper left")
    loss = curve(softplus - y * z, z, y)
    for target, color in ((1.0, BLUE), (0.0, RED)):
        ax2.plot(zs, loss(zs, target), color=color, label=tex(f"$Setting(y, {target:g})$"))
    ax2.set_xlabel(tex("$z$"))
    ax2.set_title(tex("$ell$"))
    ax2.legend(loc="upper center")


t.figure = Figure(
    _draw,
    alt=(
        "Left, the sigmoid rising from 0 to 1 and its slope, a bump of height one quarter at 0. Right, the "
        "binary cross-entropy against the logit for targets 1 and 0: each falls to 0 on its side and grows "
        "linearly on the other."
    ),
    caption=(
        "The sigmoid and its slope $sig*(1 - sig)$; binary cross-entropy grows linearly, not quadratically, "
        "for confidently wrong logits."
    ),
)

TOPIC = t
