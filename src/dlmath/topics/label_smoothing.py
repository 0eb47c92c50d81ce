"""Label smoothing is cross-entropy against a mixed target, which bounds the optimal logit gap."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    At,
    Derivative,
    Dot,
    Eq,
    Figure,
    Grad,
    Gt,
    Le,
    LogOf,
    Lt,
    OneMatrix,
    Simplex,
    Softmax,
    Subs,
    SumEntries,
    Topic,
    ZeroMatrix,
    exp,
    log,
)
from ._plot import BLUE, GREEN, GREY, ORANGE, RED, curve, decades_only

t = Topic(
    "label-smoothing",
    "Label smoothing is cross-entropy against a mixed target",
    claim=(
        "Smoothing a target $y$ by $epsilon$ is cross-entropy against $q == (1 - epsilon)*y + epsilon*u$, "
        "a mixture with the uniform distribution $u == OneMatrix(K, 1)/K$, so the gradient is "
        "$Grad(L, z) == p - q$, and at the optimum no two logits differ by more than $gap$."
    ),
    sizes=({"K": 2}, {"K": 5}),
    dims={"K": 3},
    implemented_by=("dlmath.cross_entropy", "dlmath.cross_entropy_grad"),
)
K = t.dim("K")
z, y, p, q, u = (t.vector(name, K) for name in "zypqu")
i, j = t.index("i"), t.index("j")
epsilon, g = t.scalars("epsilon g")


def _smoothed(rec, zz, yy, ee):
    """PyTorch's definition: (1 - epsilon) times the cross-entropy of the target, plus epsilon times the mean
    over classes of minus the log-probability."""
    logits, target = rec(zz), rec(yy)
    size = logits.shape[0]
    total = sum(sp.exp(e) for e in logits)
    logp = [e - sp.log(total) for e in logits]  # log_softmax
    hard = -sum(target[k] * logp[k] for k in range(size))
    uniform = -sum(logp) / size
    return (1 - ee) * hard + ee * uniform


L = t.quantity("L", r"\mathcal{L}_{\varepsilon}(z)", "𝓛_ε(z)", _smoothed, z, y, epsilon)
t.define(p, Softmax(z))
t.define(u, OneMatrix(K, 1) / K)
t.define(q, (1 - epsilon) * y + epsilon * u)
t.assume(Simplex(y), epsilon > 0, epsilon < 1)
t.sample(epsilon=(0.01, 0.6))
gap = t.let("gap", log(1 + K * (1 - epsilon) / epsilon))


def _classes(rng, size):
    """The number of classes of a statement in scalars only (sizes shape vectors, not scalars)."""
    return {"K": int(rng.choice([2, 3, 10, 1000]))}


def _in_unit_interval(e):
    """The residual with ``epsilon`` in (0, 1) written as ``1/(1 + v)``, ``v > 0``: the same interval,
    in a form whose sign SymPy can read."""
    found = [s for s in e.free_symbols if s.name == "epsilon"]
    if not found:
        return e
    return sp.cancel(e.xreplace({found[0]: 1 / (1 + sp.Symbol("v", positive=True))}))


_SCALAR = {"dims": {}, "sample": _classes}


def _flat(vals, name):
    return np.asarray(vals[name], dtype=float).ravel()


def _mixed(vals):
    e, k = float(vals["epsilon"]), _flat(vals, "y").size
    return (1 - e) * _flat(vals, "y") + e / k


def _ref_loss(vals):
    from dlmath import cross_entropy

    value = cross_entropy(_flat(vals, "z"), _mixed(vals), reduction="sum")
    return [("dlmath.cross_entropy against the mixed target", value)]


def _ref_grad(vals):
    from dlmath import cross_entropy_grad

    value = cross_entropy_grad(_flat(vals, "z"), _mixed(vals), reduction="sum")
    return [("dlmath.cross_entropy_grad against the mixed target", value)]


t.step(
    "mixed-target",
    Eq(L, -Dot(q, LogOf(p))),
    label="Smoothing mixes the target with the uniform distribution",
    why=(
        "The smoothed loss is $1 - epsilon$ times the cross-entropy of $y$ plus $epsilon$ times the mean "
        "over the classes of minus the log-probabilities; cross-entropy is linear in its target, so the "
        "two terms are one cross-entropy against $q$."
    ),
    simplify=("expand_log", "expand"),
    reference=_ref_loss,
    against="lhs",
)
t.step(
    "target-is-a-distribution",
    Eq(SumEntries(q), 1),
    label="The mixed target is a distribution",
    why=(
        "Where $Simplex(y)$, the weights $1 - epsilon$ and $epsilon$ add up to 1 and so do the entries "
        "of $q$."
    ),
)
t.step(
    "gradient",
    Eq(Grad(L, z), p - q),
    label="The gradient is the prediction minus the mixed target",
    why=(
        "The gradient of cross-entropy against a target of total mass 1 is the softmax minus the target; "
        "written out, $q == (1 - epsilon)*y + epsilon*u$."
    ),
    simplify=("expand", "cancel"),
    reference=_ref_grad,
    rtol=1e-6,
    atol=1e-8,
)
t.step(
    "optimum",
    Eq(At(Grad(L, z), z, LogOf(q)), ZeroMatrix(K, 1)),
    simplify=("expand", "cancel"),
    label="The logits $LogOf(q)$ are optimal",
    why=(
        "There the softmax returns $q$ itself, and the loss is convex in the logits, so this stationary "
        "point is a minimum; with $epsilon > 0$ every entry of $q$ is positive and its logarithm finite."
    ),
    rtol=1e-6,
    atol=1e-8,
)
t.step(
    "bounded-gap",
    Le(log(q[i, 0]) - log(q[j, 0]), gap),
    label="At the optimum no two logits differ by more than $gap$",
    why=(
        "Every entry of $q$ lies between $epsilon/K$ and $1 - epsilon + epsilon/K$, the two values a "
        "one-hot target gives; the optimal logits are the logarithms of the entries, up to a shared "
        "constant."
    ),
    forall=((i, 0, K - 1), (j, 0, K - 1)),
    simplify=(),
    sizes=({"K": 2}, {"K": 3}),
)
t.claim(
    "gap-attained",
    Eq(Subs(exp(g) / (exp(g) + K - 1), g, gap), 1 - epsilon + epsilon / K),
    label="A one-hot target reaches the bound",
    why=(
        "With the true class ahead of the other $K - 1$ logits by $gap$, the softmax gives it probability "
        "$1 - epsilon + epsilon/K$, the mixed target's."
    ),
    **_SCALAR,
)
t.claim(
    "gap-positive",
    Gt(gap, 0),
    label="The true class still comes first",
    why="Where $epsilon < 1$ the mixed target keeps more mass on the labelled class than on any other.",
    simplify=("exp", _in_unit_interval),
    **_SCALAR,
)
t.claim(
    "gap-below-log",
    Le(gap, log(K / epsilon)),
    label="The bound is at most $log(K/epsilon)$",
    why=(
        "The ratio of the two extreme entries of the mixed target stays below $K/epsilon$, and close to "
        "it for small smoothing."
    ),
    simplify=("exp", _in_unit_interval),
    **_SCALAR,
)
t.claim(
    "gap-shrinks",
    Lt(Derivative(gap, epsilon), 0),
    label="More smoothing, a smaller gap",
    why="Without smoothing there is no bound: the optimal logits of a one-hot target run off to infinity.",
    simplify=(_in_unit_interval,),
    **_SCALAR,
)

t.prose = """\
A classifier trained on one-hot labels is pushed to make the logit of the labelled class
arbitrarily larger than the others: cross-entropy only reaches its infimum when the softmax is
exactly one-hot, which no finite logits achieve. The weights keep growing, the model becomes
overconfident, and its probabilities stop meaning what they say. Label smoothing, introduced with
Inception-v3, replaces the target by a mixture with the uniform distribution.

The derivation shows that nothing else changes: the smoothed loss is ordinary cross-entropy against
the mixed target $q$, so its gradient is the familiar $p - q$ and every tool for cross-entropy
applies. What changes is the optimum. It now exists, at the logits $LogOf(q)$, and the largest gap
between two logits there is $gap$: at most $log(K/epsilon)$, a few units rather than
infinity.

In PyTorch the same loss is `F.cross_entropy(logits, labels, label_smoothing=eps)`; the tests
compare the derived loss and gradient with it where torch is installed, and the checks here compare
them with `dlmath.cross_entropy` against the mixed target. Smoothing is not free: it also pulls
the wrong classes' probabilities up to $epsilon/K$, which can hurt when the model's probabilities are
used for distillation.
"""

t.snippet = """\
import numpy as np
from dlmath import cross_entropy, cross_entropy_grad, softmax

z = np.array([4.0, 1.0, 0.5, -1.0])
y = np.array([1.0, 0.0, 0.0, 0.0])
eps = 0.1
q = (1 - eps) * y + eps / y.size
print("mixed target q  :", q)
print("loss            :", float(cross_entropy(z, q, reduction="sum")))
print("gradient p - q  :", np.round(cross_entropy_grad(z, q, reduction="sum"), 4))
print("optimal softmax :", np.round(softmax(np.log(q)), 4))
"""

_K = 5
_EPS = 0.1
_CLASSES = (10, 100, 1000)


def _draw(fig, tex) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    classes = np.arange(1, _K + 1)
    onehot = (classes == 1).astype(float)
    mixed = (1 - _EPS) * onehot + _EPS / _K
    ax1.bar(classes - 0.2, onehot, width=0.4, color=GREY, label="one-hot target")
    ax1.bar(classes + 0.2, mixed, width=0.4, color=BLUE, label=tex(f"$q$ with $Setting(epsilon, {_EPS})$"))
    ax1.set_xlabel("class")
    ax1.set_xticks(classes)
    ax1.legend(loc="upper right")
    ax1.set_title("the mixed target")
    eps_grid = np.logspace(-4, -0.05, 200)
    bound = curve(gap, epsilon, K)
    for k, color in zip(_CLASSES, (ORANGE, GREEN, RED), strict=True):
        ax2.semilogx(eps_grid, bound(eps_grid, k), color=color, label=tex(f"$Setting(K, {k})$"))
    ax2.set_xlabel(tex("$epsilon$"))
    ax2.set_title(tex("the largest optimal logit gap $gap$"))
    decades_only(ax2.xaxis)
    ax2.legend(loc="upper right")


t.figure = Figure(
    _draw,
    alt=(
        f"Left, bars for {_K} classes: the one-hot target puts all mass on class 1, the mixed target with "
        f"smoothing {_EPS:g} keeps most of it there and spreads the rest evenly. Right, the largest gap "
        "between optimal logits against the amount of smoothing on a log axis, for "
        + ", ".join(str(k) for k in _CLASSES)
        + " classes: it falls as the smoothing grows, from between 11 and 16 at the left edge to about 1 "
        "at the right."
    ),
    caption=(
        "Smoothing replaces a one-hot target by $q$; the optimal logits then exist and differ by at most "
        "$gap$."
    ),
)

TOPIC = t
