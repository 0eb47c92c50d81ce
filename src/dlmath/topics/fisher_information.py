"""The Fisher information of softmax cross-entropy is its expected Hessian, the Gauss-Newton matrix."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ..derive import (
    Approx,
    Diag,
    Eq,
    Figure,
    Grad,
    Gt,
    Hess,
    Rational,
    Simplex,
    Softmax,
    Topic,
    ZeroMatrix,
    exp,
    log,
    sqrt,
)
from ._plot import BLUE, GREY, ORANGE, curve, decades_only

t = Topic(
    "fisher-information",
    "Fisher information is the expected Hessian",
    claim=(
        "For softmax cross-entropy the expected outer product of the score over labels drawn from the "
        "model, $F == Diag(p) - p*p.T$, is also the Hessian $Hess(L, z)$ for every label: the Fisher "
        "information, the expected Hessian and the Gauss-Newton matrix are one matrix."
    ),
    sizes=({"K": 2}, {"K": 3}, {"K": 4}),
    dims={"K": 3, "d": 2},
    implemented_by=("dlmath.cross_entropy_grad", "dlmath.softmax_hessian"),
)
K, d = t.dim("K"), t.dim("d")
z, y, p = (t.vector(name, K) for name in "zyp")
theta = t.vector("theta", d)
J = t.matrix("J", K, d)


def _labels(logits):
    """``[(probability, loss)]`` for each label ``m`` a model with these (explicit) logits can draw:
    the softmax probability of ``m`` and the cross-entropy ``-log softmax(z)_m`` of that label."""
    entries = list(logits)
    total = sum(sp.exp(e) for e in entries)
    return [(sp.exp(e) / total, sp.log(total) - e) for e in entries]


def _over_labels(rec, zz, term):
    logits = rec(zz)
    out = None
    for prob, loss in _labels(logits):
        part = prob * term(loss, list(logits))
        out = part if out is None else out + part
    return sp.ImmutableMatrix(out)


def _score(loss, wrt):
    return sp.ImmutableMatrix([sp.diff(loss, w) for w in wrt])


def _fisher(rec, zz):
    return _over_labels(rec, zz, lambda loss, wrt: _score(loss, wrt) * _score(loss, wrt).T)


def _mean_score(rec, zz):
    return _over_labels(rec, zz, _score)


def _mean_hessian(rec, zz):
    return _over_labels(rec, zz, lambda loss, wrt: sp.hessian(loss, wrt))


def _fisher_params(rec, JJ, th):
    logits, params = rec(JJ) * rec(th), list(rec(th))
    out = None
    for prob, loss in _labels(logits):
        g = _score(loss, params)
        out = prob * g * g.T if out is None else out + prob * g * g.T
    return sp.ImmutableMatrix(out)


def _ce(rec, zz, yy):
    logits, target = rec(zz), rec(yy)
    total = sum(sp.exp(e) for e in logits)
    return sum(target[m] * (sp.log(total) - logits[m]) for m in range(logits.shape[0]))


L = t.quantity("L", r"\ell_y(z)", "ℓ_y(z)", _ce, z, y)
F = t.quantity(
    "F",
    r"\mathbb{E}_{y \sim p}\!\left[\nabla_z \ell_y \nabla_z \ell_y^{\top}\right]",
    "E_{y∼p}[∇ℓ_y ∇ℓ_yᵀ]",
    _fisher,
    z,
    shape=(K, K),
)
mean_score = t.quantity(
    "mean_score",
    r"\mathbb{E}_{y \sim p}\!\left[\nabla_z \ell_y\right]",
    "E_{y∼p}[∇ℓ_y]",
    _mean_score,
    z,
    shape=(K, 1),
)
mean_hessian = t.quantity(
    "mean_hessian",
    r"\mathbb{E}_{y \sim p}\!\left[\nabla^{2}_z \ell_y\right]",
    "E_{y∼p}[∇²ℓ_y]",
    _mean_hessian,
    z,
    shape=(K, K),
)
F_theta = t.quantity(
    "F_theta",
    r"\mathbb{E}_{y \sim p}\!\left[\nabla_{\theta} \ell_y \nabla_{\theta} \ell_y^{\top}\right]",
    "E_{y∼p}[∇_θℓ_y ∇_θℓ_yᵀ]",
    _fisher_params,
    J,
    theta,
    shape=(d, d),
)
t.define(p, Softmax(z))
t.assume(Simplex(y))
# the named expectations are made explicit (and differentiated) at each size: two sizes keep it quick
_SMALL = ({"K": 2}, {"K": 3})

# --- the Monte-Carlo experiment ------------------------------------------------------------------

_DRAWS_EXP = 5
_DRAWS = 10**_DRAWS_EXP
N, alpha, t_N = t.scalars("N alpha t_N")
t.assume(N > 0, alpha > 0, alpha < 1)
t.sample(N=(10.0, 1e6), alpha=(1e-9, 0.5))


# Hoeffding: each entry of g g^T lies in [-1, 1] (every |p_k - [y = k]| <= 1), so the mean of N draws
# is further than t from its expectation with probability at most 2 exp(-N t^2 / 2); over the 9
# entries of a 3 x 3 matrix, at most 18 exp(-N t^2 / 2), which is alpha at this t:
def _level_in_unit_interval(e):
    """The gap with ``alpha`` in (0, 1) written as ``1/(1 + v)``, ``v > 0``: the same interval, in a
    form whose sign SymPy can read."""
    found = [s for s in e.free_symbols if s.name == "alpha"]
    if not found:
        return e
    return sp.expand_log(e.xreplace({found[0]: 1 / (1 + sp.Symbol("v", positive=True))}), force=True)


_BOUND = sqrt(2 * log(18 / alpha) / N)
t.define(t_N, _BOUND)
_LEVEL = Rational(1, 10**6)
_TOL = _BOUND.subs({N: _DRAWS, alpha: _LEVEL})


@functools.lru_cache(maxsize=32)
def _mc(logits: tuple) -> np.ndarray:
    from dlmath import cross_entropy_grad, softmax

    z0 = np.array(logits)
    rng = np.random.default_rng(20240611)
    labels = rng.choice(z0.size, size=_DRAWS, p=np.asarray(softmax(z0), dtype=float))
    scores = cross_entropy_grad(np.broadcast_to(z0, (_DRAWS, z0.size)), labels, reduction="none")
    return scores.T @ scores / _DRAWS


def _fisher_mc(zz):
    return _mc(tuple(float(v) for v in np.asarray(zz, dtype=float).ravel()))


F_mc = t.measure("F_mc", _fisher_mc)


def _ref_grad(vals):
    from dlmath import cross_entropy_grad

    return [
        (
            "dlmath.cross_entropy_grad",
            cross_entropy_grad(vals["z"].ravel(), vals["y"].ravel(), reduction="sum"),
        )
    ]


def _ref_hessian(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", softmax_hessian(vals["z"].ravel()))]


def _ref_params(vals):
    from dlmath import softmax_hessian

    jac = vals["J"]
    logits = (jac @ vals["theta"]).ravel()
    return [("Jᵀ dlmath.softmax_hessian(Jθ) J", jac.T @ softmax_hessian(logits) @ jac)]


t.step(
    "score",
    Eq(Grad(L, z), p - y),
    label="The score of one label",
    why=(
        "The gradient of the cross-entropy of a label $y$, one-hot or soft with $Simplex(y)$, is the "
        "prediction minus the label."
    ),
    simplify=("expand",),
    reference=_ref_grad,
    rtol=1e-6,
    atol=1e-8,
)
t.step(
    "mean-score",
    Eq(mean_score, ZeroMatrix(K, 1)),
    label="Under the model's own labels the score averages to zero",
    why="A label drawn from $p$ is one-hot with mean $p$, so the prediction minus the label has mean 0.",
    simplify=("numerator",),
    sizes=_SMALL,
)
t.step(
    "fisher",
    Eq(F, Diag(p) - p * p.T),
    label="The Fisher information is the covariance of the label",
    why=(
        "With mean zero, the expected outer product of the score is its covariance, the covariance of a "
        "one-hot draw from $p$: each label contributes its probability times the outer product of "
        "$p - y$ with itself."
    ),
    simplify=("numerator",),
    sizes=_SMALL,
    reference=_ref_hessian,
    against="rhs",
)
t.step(
    "hessian",
    Eq(Hess(L, z), Diag(p) - p * p.T),
    label="The Hessian is the same matrix, whatever the label",
    why=(
        "Differentiating $p - y$ once more removes $y$: where $Simplex(y)$ the curvature depends only on "
        "the prediction."
    ),
    simplify=("expand", "cancel"),
    reference=_ref_hessian,
    rtol=1e-5,
    atol=1e-5,
)
t.step(
    "information-equality",
    Eq(F, mean_hessian),
    label="Fisher information is the expected Hessian",
    why=(
        "The information equality, here without any regularity argument: the Hessian is the same for "
        "every label, so its average over labels is it too, and that is $Diag(p) - p*p.T$."
    ),
    simplify=("numerator",),
    sizes=_SMALL,
)
t.claim(
    "gauss-newton",
    Eq(F_theta, J.T * (Diag(p) - p * p.T) * J),
    label="In the parameters it is the Gauss-Newton matrix",
    why=(
        "For logits $J*theta$ the score in the parameters is $J.T$ times the score in the logits, so "
        "the Fisher information is $J.T*(Diag(p) - p*p.T)*J$: the Gauss-Newton matrix, which needs no "
        "second derivatives of the model."
    ),
    given={p: Softmax(J * theta)},
    dims={"K": 2, "d": 2},
    sizes=({"K": 3, "d": 2},),
    simplify=("numerator",),
    reference=_ref_params,
)
t.claim(
    "monte-carlo",
    Approx(F_mc(z), Diag(p) - p * p.T, tol=_TOL),
    label="A Monte-Carlo estimate agrees",
    why=(
        f"$F_mc(z)$ averages the outer products of `dlmath.cross_entropy_grad` over {_DRAWS:,} labels "
        "drawn from the softmax, for three classes. Each entry of an outer product lies between -1 and 1, "
        "so by Hoeffding's inequality the average of $N$ draws is within $t_N$ of the expectation except "
        "with probability $alpha$; here one in a million, "
        f"$Approx(Subs(t_N, (N, alpha), (10**{_DRAWS_EXP}, 10**-6)), '0.0183')$."
    ),
    sizes=({"K": 3},),
    seeds=2,
)
t.claim(
    "bound-is-positive",
    Gt(t_N, 0),
    label="A positive bound for every number of draws and level",
    why="Where $N > 0$, $alpha > 0$ and $alpha < 1$ the logarithm is positive and so is its root.",
    simplify=(_level_in_unit_interval,),
)
t.claim(
    "confidence-level",
    Eq(18 * exp(-N * t_N**2 / 2), alpha),
    label="The level of that bound",
    why=(
        "Hoeffding's tail, twice the exponential for each entry, summed over the nine entries of the "
        "matrix, is $alpha$ at the bound $t_N$."
    ),
)

t.prose = """\
The Fisher information measures how much the model's own predictive distribution changes when the
parameters move. It is the metric behind the natural gradient, the curvature that K-FAC
approximates layer by layer, the importance weights of elastic weight consolidation, and the
Laplace approximation of a posterior. Computing it needs the score of labels drawn from the
model, not of the training labels.

For softmax cross-entropy the logits make everything explicit. The score of a label is $p - y$, its
average over the model's own labels is 0, and its covariance is $Diag(p) - p*p.T$. The Hessian of
the loss in the logits is the same matrix for every label, so the Fisher information and the
expected Hessian coincide exactly, and the training labels do not enter the curvature at all.

Through a network with Jacobian $J$ the score picks up a factor $J.T$, so the Fisher information in
the parameters is $J.T*(Diag(p) - p*p.T)*J$, the generalised Gauss-Newton matrix. The true Hessian of
the network adds a term weighted by $p - y$, whose average over the model's labels vanishes for the
same reason the score's does. The empirical Fisher, which plugs in the training labels instead, is
a different matrix, and the difference matters for optimisers that use it.
"""

t.snippet = """\
import numpy as np
from dlmath import cross_entropy_grad, softmax, softmax_hessian

rng = np.random.default_rng(0)
z = np.array([1.0, -0.5, 0.3])
p = softmax(z)
labels = rng.choice(3, size=100_000, p=p)
scores = cross_entropy_grad(np.broadcast_to(z, (labels.size, 3)), labels, reduction="none")
fisher = scores.T @ scores / labels.size
print("mean score      :", np.round(scores.mean(axis=0), 4))
print("Monte-Carlo F   :\\n", np.round(fisher, 4))
print("diag(p) - p p^T :\\n", np.round(softmax_hessian(z), 4))
"""

_LOGITS = (1.0, -0.5, 0.3)
_COUNTS = (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)


def _draw(fig, tex) -> None:
    from dlmath import cross_entropy_grad, softmax, softmax_hessian

    z0 = np.array(_LOGITS)
    exact = softmax_hessian(z0)
    rng = np.random.default_rng(1)
    labels = rng.choice(z0.size, size=max(_COUNTS), p=softmax(z0))
    scores = cross_entropy_grad(np.broadcast_to(z0, (labels.size, z0.size)), labels, reduction="none")
    counts = np.array(_COUNTS)
    errors = [float(np.max(np.abs(scores[:n].T @ scores[:n] / n - exact))) for n in counts]
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.0, 1.3])
    lim = float(np.max(np.abs(exact)))
    ax1.imshow(exact, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax1.set_title(tex("$Diag(p) - p*p.T$"))
    ax1.set_xticks(range(3), ["1", "2", "3"])
    ax1.set_yticks(range(3), ["1", "2", "3"])
    ax1.grid(False)
    ax2.loglog(counts, errors, "o-", color=BLUE, ms=3, label="largest entrywise error")
    bound = curve(_BOUND, N, alpha)(counts.astype(float), float(_LEVEL))
    ax2.loglog(counts, bound, color=ORANGE, label="Hoeffding bound at level one in a million")
    ax2.loglog(counts, 0.5 / np.sqrt(counts), color=GREY, ls=":", label="one over the root of the draws")
    ax2.set_xlabel("labels drawn from the model")
    decades_only(ax2.xaxis)
    decades_only(ax2.yaxis)
    ax2.legend(loc="lower left", fontsize=8)


t.figure = Figure(
    _draw,
    alt=(
        "Left, a heat map of the three-class Fisher matrix: positive diagonal, negative off-diagonal. "
        "Right, on log-log axes, the largest entrywise error of the Monte-Carlo average of score outer "
        "products against the number of drawn labels, falling like one over the square root of the count "
        "and staying below the Hoeffding bound."
    ),
    caption=(
        "The expected outer product of the score equals $Diag(p) - p*p.T$; a Monte-Carlo average "
        f"converges to it, inside the Hoeffding bound, for the logits {', '.join(f'{v:g}' for v in _LOGITS)}."
    ),
    size=(8.5, 3.2),
)

TOPIC = t
