"""The softmax cross-entropy Hessian is the covariance matrix of a one-hot draw."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    LSE,
    Diag,
    Dot,
    Eq,
    Figure,
    Ge,
    Grad,
    HadamardProduct,
    Hess,
    KroneckerDelta,
    Nonneg,
    OneMatrix,
    Simplex,
    Softmax,
    Sum,
    SumEntries,
    Topic,
    ZeroMatrix,
)
from ._plot import BLUE, GREY

t = Topic(
    "softmax-hessian",
    "The softmax Hessian is a covariance matrix",
    claim=(
        "For cross-entropy on logits the gradient is $Grad(L, z) == SumEntries(y)*p - y$ and the "
        "Hessian is $SumEntries(y)*(Diag(p) - p*p.T)$, where $Diag(p) - p*p.T$ is the covariance of a "
        "one-hot draw from $p$: positive semi-definite, with the all-ones vector in its null space."
    ),
    sizes=({"K": 2}, {"K": 3}, {"K": 5}, {"K": 8}),
    dims={"K": 3},
    implemented_by=(
        "dlmath.cross_entropy",
        "dlmath.cross_entropy_grad",
        "dlmath.softmax_hessian",
        "dlmath.softmax_hvp",
    ),
)
K = t.dim("K")
z, y, v, p = (t.vector(name, K) for name in "zyvp")
i, j, k = (t.index(name) for name in "ijk")
c = t.scalar("c")
H = t.matrix("H", K, K)


def _ce(rec, zz, yy):
    ze, ye = rec(zz), rec(yy)
    total = sum(sp.exp(e) for e in ze)
    return -sum(ye[m] * sp.log(sp.exp(ze[m]) / total) for m in range(ze.shape[0]))


def _cov(rec, pp):
    pe = rec(pp)
    size = pe.shape[0]
    mean = sp.ImmutableMatrix(pe)
    out = sp.zeros(size, size)
    for m in range(size):  # E[(e - p)(e - p)^T] summed over the one-hot outcomes e = e_m
        dev = sp.ImmutableMatrix([1 if row == m else 0 for row in range(size)]) - mean
        out += pe[m] * dev * dev.T
    return sp.ImmutableMatrix(out)


L = t.quantity("L", r"\mathcal{L}(z)", "𝓛(z)", _ce, z, y)
cov = t.quantity("cov", r"\operatorname{Cov}(e)", "Cov(e)", _cov, p, shape=(K, K))
t.define(p, Softmax(z))
t.assume(Nonneg(y))
curvature = t.let("curvature", Diag(p) - p * p.T)


# --- references ---------------------------------------------------------------------------------


def _ref_loss(vals):
    from dlmath import cross_entropy

    return [("dlmath.cross_entropy", cross_entropy(vals["z"].ravel(), vals["y"].ravel(), reduction="sum"))]


def _ref_grad(vals):
    from dlmath import cross_entropy, cross_entropy_grad
    from dlmath.derive.compiler import fd_grad

    zz, yy = vals["z"].ravel(), vals["y"].ravel()
    fd = fd_grad(lambda q: float(cross_entropy(q, yy, reduction="sum")), zz)
    return [
        ("dlmath.cross_entropy_grad", cross_entropy_grad(zz, yy, reduction="sum")),
        ("finite differences of dlmath.cross_entropy", fd),
    ]


def _ref_hessian(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", float(vals["y"].sum()) * softmax_hessian(vals["z"].ravel()))]


def _ref_unit(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", softmax_hessian(vals["z"].ravel()))]


def _ref_softmax(vals):
    from dlmath import softmax

    return [("dlmath.softmax", softmax(vals["z"].ravel()))]


def _ref_hvp(vals):
    from dlmath import softmax_hvp

    return [("dlmath.softmax_hvp", softmax_hvp(np.log(vals["p"].ravel()), vals["v"].ravel()))]


def _ref_rows(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian row sums", softmax_hessian(np.log(vals["p"].ravel())).sum(axis=1))]


# --- the derivation -------------------------------------------------------------------------------

loss = t.step(
    "loss",
    Eq(L, SumEntries(y) * LSE(z) - Dot(y, z)),
    label="Cross-entropy through LogSumExp",
    why=(
        "With $LogOf(p) == z - LSE(z)*OneMatrix(K, 1)$ the loss $L$ splits into a LogSumExp term "
        "weighted by the target's total mass $SumEntries(y)$ and a linear term."
    ),
    simplify=("expand", "exp"),
    reference=_ref_loss,
    against="lhs",
)
gradient = t.step(
    "gradient",
    Eq(Grad(L, z), SumEntries(y) * p - y),
    label="Gradient",
    why=(
        "The linear term contributes $Grad(-Dot(y, z), z) == -y$ and the LogSumExp term contributes its gradient, "
        "$Grad(LSE(z), z) == p$, times $SumEntries(y)$."
    ),
    reference=_ref_grad,
    rtol=1e-6,
    atol=1e-8,
)
t.step(
    "probability-target",
    Eq(Grad(L, z), p - y),
    label="For a probability target the gradient is $p - y$",
    why="Where $Simplex(y)$ the weight $SumEntries(y)$ of the softmax term is 1.",
    assume=[Simplex(y)],
    rtol=1e-6,
    atol=1e-8,
)
# The Hessians below differentiate the form the first step proved equal to the loss, shown as their
# "where" clause: the same value, and SymPy differentiates it an order of magnitude faster.
_by_loss = {L: loss.statement.rhs, p: Softmax(z)}

t.step(
    "hessian",
    Eq(Hess(L, z), SumEntries(y) * curvature),
    given=_by_loss,
    label="Hessian",
    why=(
        "Differentiating $p$ once more: the linear term drops out, so the curvature depends on the "
        "target only through its total mass."
    ),
    reference=_ref_hessian,
    rtol=1e-5,
    atol=1e-5,
)
t.step(
    "entrywise",
    Eq(H[i, j], p[i, 0] * (KroneckerDelta(i, j) - p[j, 0])),
    label="Entrywise form",
    why="Row $i$, column $j$ of $curvature$.",
    given={H: curvature},
    forall=((i, 0, K - 1), (j, 0, K - 1)),
    sizes=({"K": 2}, {"K": 3}),
)
t.step(
    "covariance",
    Eq(cov, curvature),
    label="Covariance of a one-hot variable",
    why=(
        "Draw a one-hot vector with probabilities $p$: its mean is $p$ and the mean of its outer "
        "product is $Diag(p)$, so the $p$-weighted sum of the outcomes' squared deviations is $curvature$."
    ),
    given={},
    assume=[Simplex(p)],
)
t.step(
    "hessian-is-covariance",
    Eq(Hess(L, z), cov),
    label="For a probability target the Hessian is that covariance",
    why="Where $Simplex(y)$ the factor $SumEntries(y)$ is 1, and $p$ is the softmax of the logits.",
    given=_by_loss,
    assume=[Simplex(y)],
    sizes=({"K": 2}, {"K": 3}, {"K": 5}),
    reference=_ref_unit,
    rtol=1e-5,
    atol=1e-5,
)
t.claim(
    "variance",
    Eq(v.T * curvature * v, Sum(p[k, 0] * (v[k, 0] - Dot(p, v)) ** 2, (k, 0, K - 1))),
    label="A quadratic form is a variance",
    why="$v.T*curvature*v$ is the variance of the entry of $v$ picked by a draw from $p$.",
    given={},
    assume=[Simplex(p)],
)
t.claim(
    "psd",
    Ge(Sum(p[k, 0] * (v[k, 0] - Dot(p, v)) ** 2, (k, 0, K - 1)), 0),
    label="Positive semi-definite",
    why="A variance is a sum of squares with non-negative weights, so it is never negative.",
    given={},
    assume=[Nonneg(p)],
    simplify=(),
)
t.claim(
    "rows-sum-zero",
    Eq(curvature * OneMatrix(K, 1), ZeroMatrix(K, 1)),
    label="Rows sum to zero",
    why="$curvature*OneMatrix(K, 1) == p - p*Dot(p, OneMatrix(K, 1))$, and the probabilities sum to 1.",
    given={},
    assume=[Simplex(p)],
    reference=_ref_rows,
    atol=1e-15,
    against="lhs",
)
t.claim(
    "shift-invariance",
    Eq(Softmax(z + c * OneMatrix(K, 1)), Softmax(z)),
    label="Adding a constant to every logit changes nothing",
    why=(
        "A common factor cancels between numerator and denominator, which is why $OneMatrix(K, 1)$ is a "
        "null direction of the Hessian and the logits are identifiable only up to a shared constant."
    ),
    simplify=("expand", "cancel"),
    reference=_ref_softmax,
    rtol=1e-8,
    against="rhs",
)
t.claim(
    "hvp",
    Eq(curvature * v, HadamardProduct(p, v) - p * Dot(p, v)),
    label="Hessian-vector product in linear time",
    why="Expanding $curvature*v$ needs one dot product and two elementwise products, never the matrix.",
    given={},
    assume=[Simplex(p)],
    reference=_ref_hvp,
)
t.claim(
    "target-mass",
    Eq(Hess(L, z), SumEntries(y) * Hess(LSE(z), z)),
    label="Soft targets scale the curvature by their mass",
    why="Whatever the target's shape, it enters the curvature only through its total mass $SumEntries(y)$.",
    given=_by_loss,
    rtol=1e-5,
    atol=1e-5,
)

t.prose = """\
Cross-entropy on top of a softmax is the loss of almost every classifier, and its curvature decides
how second-order methods, natural-gradient approximations and learning-rate heuristics behave. The
derivation is short because the loss is LogSumExp minus a linear term: the linear part vanishes
after two derivatives and only the curvature of LogSumExp is left.

That curvature is $curvature$, which is exactly the covariance matrix of a one-hot vector drawn
from the predicted distribution. Covariance matrices are positive semi-definite, so the loss is
convex in the logits. The matrix also has a null direction: adding the same number to every logit
leaves the softmax unchanged, and correspondingly every row of the Hessian sums to zero.

In practice one never forms the matrix for a large vocabulary: the product with a vector costs
time linear in the number of classes, which is what `dlmath.softmax_hvp` computes. With soft
targets whose weights do not sum to one (label smoothing done by hand, weighted examples) the
gradient is $SumEntries(y)*p - y$, not $p - y$; the checks use such targets on purpose.
"""

t.snippet = """\
import numpy as np
from dlmath import softmax, softmax_hessian, softmax_hvp

z = np.array([2.0, 1.0, 0.2, -0.5])
H = softmax_hessian(z)
print("p          =", np.round(softmax(z), 4))
print("row sums   =", np.round(H.sum(axis=1), 12))
print("eigenvalues=", np.round(np.linalg.eigvalsh(H), 4))
v = np.array([1.0, -2.0, 0.5, 3.0])
print("H v        =", np.round(softmax_hvp(z, v), 4))
"""

_LOGITS = (2.0, 1.0, 0.2, -0.5, -1.5)


def _draw(fig, tex) -> None:
    from dlmath import softmax, softmax_hessian

    logits = np.array(_LOGITS)
    probs = softmax(logits)
    hess = softmax_hessian(logits)
    size = len(_LOGITS)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.0, 1.25, 1.1])
    ax1.bar(np.arange(1, size + 1), probs, color=BLUE)
    ax1.set_title(tex("$p == Softmax(z)$"))
    ax1.set_xlabel("class")
    ax1.set_xticks(np.arange(1, size + 1))
    lim = float(np.max(np.abs(hess)))
    im = ax2.imshow(hess, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax2.set_title(tex("Hessian $curvature$"))
    ax2.set_xticks(range(size), [str(q) for q in range(1, size + 1)])
    ax2.set_yticks(range(size), [str(q) for q in range(1, size + 1)])
    ax2.grid(False)
    for side in ("top", "right"):
        ax2.spines[side].set_visible(True)
    fig.colorbar(im, ax=ax2, shrink=0.8)
    eig = np.linalg.eigvalsh(hess)
    ax3.stem(np.arange(1, size + 1), eig, basefmt=" ")
    ax3.axhline(0, color=GREY, lw=1)
    ax3.set_ylim(-0.03, 1.15 * float(eig.max()))
    ax3.set_title("eigenvalues: none negative, one zero")
    ax3.set_xlabel("index (ascending)")
    ax3.set_xticks(np.arange(1, size + 1))


t.figure = Figure(
    _draw,
    alt=(
        f"Left, a bar chart of {len(_LOGITS)} softmax probabilities. Middle, a heat map of the Hessian "
        "$curvature$: positive on the diagonal, negative off it. Right, its eigenvalues: none negative, "
        "the smallest exactly zero."
    ),
    caption=(
        "The softmax cross-entropy Hessian for the logits "
        + ", ".join(f"{q:g}" for q in _LOGITS)
        + ": a covariance matrix, so positive semi-definite, with the all-ones vector in its null space."
    ),
    size=(9.0, 3.0),
)

TOPIC = t
