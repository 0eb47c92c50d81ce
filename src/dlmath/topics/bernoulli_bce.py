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
    implemented_by=("dlmath.binary_cross_entropy", "dlmath.softplus", "dlmath.log_sigmoid"),
)
z, y, w = t.scalars("z y w")
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


def _bce(vals, **options):
    from dlmath import binary_cross_entropy

    return binary_cross_entropy(np.array([vals["z"]]), np.array([vals["y"]]), reduction="sum", **options)


def _ref_loss(vals):
    from dlmath import cross_entropy

    two_class = cross_entropy(
        np.array([vals["z"], 0.0]), np.array([vals["y"], 1.0 - vals["y"]]), reduction="sum"
    )
    return [
        ("dlmath.binary_cross_entropy", _bce(vals)),
        ("dlmath.cross_entropy on the logits (z, 0)", two_class),
    ]


def _ref_grad(vals):
    from dlmath.derive.compiler import fd_grad

    slope = fd_grad(lambda v: float(_bce({**vals, "z": float(v)})), vals["z"])
    return [("finite differences of dlmath.binary_cross_entropy", slope)]


def _ref_pos_weight(vals):
    from dlmath.derive.compiler import fd_grad

    slope = fd_grad(lambda v: float(_bce({**vals, "z": float(v)}, pos_weight=np.array(vals["w"]))), vals["z"])
    return [("finite differences of dlmath.binary_cross_entropy(pos_weight=w)", slope)]


def _ref_softplus(vals):
    from dlmath import logsumexp, softplus

    pair = logsumexp(np.array([vals["z"], 0.0]))
    return [("dlmath.softplus", softplus(vals["z"])), ("dlmath.logsumexp of the pair z and 0", pair)]


def _ref_log_sigmoid(vals):
    from dlmath import log_sigmoid

    return [("dlmath.log_sigmoid", log_sigmoid(vals["z"]))]


def _naive_softplus(top):
    with np.errstate(over="ignore"):
        return float(np.log1p(np.exp(np.float64(top))))


def _naive_log_sigmoid(bottom):
    with np.errstate(over="ignore", divide="ignore"):
        return float(np.log(1.0 / (1.0 + np.exp(-np.float64(bottom)))))


def _library(name):
    def run(value):
        import dlmath

        return float(getattr(dlmath, name)(np.float64(value)))

    return run


naive_softplus = t.measure("naive_softplus", _naive_softplus)
stable_softplus = t.measure("stable_softplus", _library("softplus"))
naive_log_sigmoid = t.measure("naive_log_sigmoid", _naive_log_sigmoid)
stable_log_sigmoid = t.measure("stable_log_sigmoid", _library("log_sigmoid"))

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
    reference=_ref_loss,
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
    reference=_ref_grad,
    against="rhs",
)
t.step(
    "softplus-form",
    Eq(-y * log(sig) - (1 - y) * log(1 - sig), softplus - y * z),
    label="As code computes it: softplus minus a linear term",
    why="$log(sig) == z - softplus$ and $log(1 - sig) == -softplus$; collect the terms in $y$.",
    simplify=(_by_power_of_y,),
    reference=_ref_loss,
    against="rhs",
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
    reference=_ref_log_sigmoid,
)
t.claim(
    "pos-weight",
    Eq(Derivative(w * y * log(1 + exp(-z)) + (1 - y) * softplus, z), (w * y + 1 - y) * sig - w * y),
    label="Weighting the positive class",
    why=(
        "A weight $w > 0$ on the positive term, as `pos_weight` does for rare positives, scales the target's "
        "pull on the gradient: without it, $Eq(Subs((w*y + 1 - y)*sig - w*y, w, 1), sig - y)$."
    ),
    assume=[w > 0],
    reference=_ref_pos_weight,
    against="rhs",
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
    "naive-softplus-overflows",
    Eq(naive_softplus(800), oo),
    label="The naive softplus overflows",
    why="$naive_softplus(800)$ is `log1p(exp(z))` in float64 at a logit of 800.",
)
t.claim(
    "softplus-does-not",
    Eq(stable_softplus(800), 800),
    label="`dlmath.softplus` does not",
    why="$stable_softplus(800)$ is `dlmath.softplus` at the same logit, the exact value rounded.",
    rtol=2.3e-16,
    atol=0,
)
t.claim(
    "naive-log-sigmoid-underflows",
    Eq(naive_log_sigmoid(-800), -oo),
    label="The naive log-sigmoid takes the logarithm of 0",
    why=(
        "$naive_log_sigmoid(-800)$ is `log(1/(1 + exp(-z)))` in float64 at a logit of -800: the "
        "probability rounds to 0, and a target of 1 would get an infinite loss."
    ),
)
t.claim(
    "log-sigmoid-does-not",
    Eq(stable_log_sigmoid(-800), -800),
    label="`dlmath.log_sigmoid` does not",
    why="$stable_log_sigmoid(-800)$ is `dlmath.log_sigmoid` at the same logit.",
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
number instead of minus infinity. That is what `dlmath.softplus`, `dlmath.log_sigmoid` and
`dlmath.binary_cross_entropy` compute, the last with PyTorch's `pos_weight` and reductions.
"""

t.snippet = """\
import numpy as np
from dlmath import binary_cross_entropy, log_sigmoid, softplus

z = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
with np.errstate(over="ignore", divide="ignore"):
    p = 1 / (1 + np.exp(-z))
    naive = -(y * np.log(p) + (1 - y) * np.log(1 - p))
print("naive         :", np.round(naive, 4))
print("softplus - y z:", np.round(softplus(z) - y * z, 4))
print("dlmath BCE    :", np.round(binary_cross_entropy(z, y, reduction="none"), 4))
print("log sigmoid   :", np.round(log_sigmoid(z), 4))
print("gradient      :", np.round(np.exp(log_sigmoid(z)) - y, 4))
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
