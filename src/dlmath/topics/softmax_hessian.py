"""The softmax cross-entropy Hessian is the covariance matrix of a one-hot draw."""

from __future__ import annotations

import functools

import numpy as np

from ..derive.model import Assumption, Claim, Numeric, Statement, Step, Topic

SIZES = ({"K": 2}, {"K": 3}, {"K": 5}, {"K": 8})
DIMS = {"K": 3}


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    K = sp.Symbol("K", integer=True, positive=True)
    z, y, v = nt.Vector("z", K), nt.Vector("y", K), nt.Vector("v", K)
    p = nt.Vector("p", K)
    i, j, k = sp.symbols("i j k", integer=True, nonnegative=True)
    c = sp.Symbol("c", real=True)
    H = sp.MatrixSymbol("H", K, K)

    def ce_definition(rec, zz, yy):
        ze, ye = rec(zz), rec(yy)
        total = sum(sp.exp(e) for e in ze)
        return -sum(ye[m] * sp.log(sp.exp(ze[m]) / total) for m in range(ze.shape[0]))

    L = nt.defined(r"\mathcal{L}(z)", "𝓛(z)", ce_definition, z, y)

    def lse_form(rec, zz, yy):  # the right-hand side of the first step, checked there
        ze, ye = rec(zz), rec(yy)
        return sum(ye) * sp.log(sum(sp.exp(e) for e in ze)) - sum(a * b for a, b in zip(ye, ze, strict=True))

    L2 = nt.defined(r"\mathcal{L}(z)", "𝓛(z)", lse_form, z, y)

    def cov_definition(rec, pp):
        pe = rec(pp)
        n = pe.shape[0]
        mean = sp.ImmutableMatrix(pe)
        out = sp.zeros(n, n)
        for m in range(n):  # E[(e - p)(e - p)^T] summed over the n one-hot outcomes e = e_m
            d = sp.ImmutableMatrix([1 if r == m else 0 for r in range(n)]) - mean
            out += pe[m] * d * d.T
        return sp.ImmutableMatrix(out)

    cov = nt.defined(r"\operatorname{Cov}(e)", "Cov(e)", cov_definition, p, shape=(K, K))
    return sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2


def _simplex():
    """p on the probability simplex (the identities below need sum(p) = 1, not the softmax)."""
    from ..derive.explicit import simplex

    return simplex("p")


def _positive():
    from ..derive.explicit import positive

    return positive("p")


def _given_p():
    sp, nt, K, z, y, v, p, *_ = _s()
    return {p: nt.Softmax(z)}


# --- numeric instances -------------------------------------------------------------------------


def _sample(rng, size):
    K = size["K"]
    z = rng.normal(0.0, 2.0, (K, 1))
    e = np.exp(z - z.max())
    return {
        "z": z,
        "p": e / e.sum(),
        "y": rng.uniform(0.0, 1.0, (K, 1)) * rng.uniform(0.2, 3.0),
        "v": rng.normal(0.0, 1.0, (K, 1)),
        "c": float(rng.normal(0.0, 5.0)),
    }


def _ref_grad(vals):
    from dlmath import cross_entropy, cross_entropy_grad

    z, y = vals["z"].ravel(), vals["y"].ravel()
    from ..derive.compiler import fd_grad

    fd = fd_grad(lambda zz: float(cross_entropy(zz, y, reduction="sum")), z)
    return [
        ("dlmath.cross_entropy_grad", cross_entropy_grad(z, y, reduction="sum")),
        ("finite differences of dlmath.cross_entropy", fd),
    ]


def _ref_loss(vals):
    from dlmath import cross_entropy

    return [("dlmath.cross_entropy", cross_entropy(vals["z"].ravel(), vals["y"].ravel(), reduction="sum"))]


def _ref_hessian(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", float(vals["y"].sum()) * softmax_hessian(vals["z"].ravel()))]


def _ref_hessian_unit(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian", softmax_hessian(vals["z"].ravel()))]


def _ref_hvp(vals):
    from dlmath import softmax_hvp

    return [("dlmath.softmax_hvp", softmax_hvp(vals["z"].ravel(), vals["v"].ravel()))]


def _ref_softmax(vals):
    from dlmath import softmax

    return [("dlmath.softmax", softmax(vals["z"].ravel()))]


def _ref_rows(vals):
    from dlmath import softmax_hessian

    return [("dlmath.softmax_hessian row sums", softmax_hessian(vals["z"].ravel()).sum(axis=1))]


def _ref_quadratic(vals):
    from dlmath import softmax_hessian

    v = vals["v"].ravel()
    return [("vᵀ·dlmath.softmax_hessian·v", v @ softmax_hessian(vals["z"].ravel()) @ v)]


def _num(reference=None, rtol=1e-9, atol=1e-12, sizes=SIZES, against="rhs"):
    return Numeric(_sample, sizes=sizes, rtol=rtol, atol=atol, reference=reference, against=against)


# --- statements ---------------------------------------------------------------------------------


def _loss():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(L, nt.SumEntries(y) * nt.LSE(z) - nt.Dot(y, z), dims=DIMS, simplify=("expand", "exp"))


def _gradient():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(nt.Grad(L2, z), nt.SumEntries(y) * p - y, given=_given_p(), dims=DIMS)


def _hessian():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(nt.Hess(L2, z), nt.SumEntries(y) * (nt.Diag(p) - p * p.T), given=_given_p(), dims=DIMS)


def _entrywise():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    given = {H: nt.Diag(p) - p * p.T}
    return Statement(
        H[i, j],
        p[i, 0] * (sp.KroneckerDelta(i, j) - p[j, 0]),
        given=given,
        wlog=_simplex(),
        forall=((i, 0, K - 1), (j, 0, K - 1)),
        dims=DIMS,
    )


def _covariance():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(cov, nt.Diag(p) - p * p.T, wlog=_simplex(), dims=DIMS)


def _variance():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    lhs = v.T * (nt.Diag(p) - p * p.T) * v
    rhs = sp.Sum(p[k, 0] * (v[k, 0] - nt.Dot(p, v)) ** 2, (k, 0, K - 1))
    return Statement(lhs, rhs, wlog=_simplex(), dims=DIMS)


def _psd():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    lhs = sp.Sum(p[k, 0] * (v[k, 0] - nt.Dot(p, v)) ** 2, (k, 0, K - 1))
    return Statement(lhs, sp.S.Zero, relation=">=", wlog=_positive(), dims=DIMS, simplify=())


def _rows():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(
        (nt.Diag(p) - p * p.T) * sp.OneMatrix(K, 1), sp.ZeroMatrix(K, 1), wlog=_simplex(), dims=DIMS
    )


def _shift():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(
        nt.Softmax(z + c * sp.OneMatrix(K, 1)),
        nt.Softmax(z),
        dims=DIMS,
        simplify=("expand", "cancel"),
    )


def _hvp():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(
        (nt.Diag(p) - p * p.T) * v,
        sp.HadamardProduct(p, v) - p * nt.Dot(p, v),
        wlog=_simplex(),
        dims=DIMS,
    )


def _unit_mass():
    sp, nt, K, z, y, v, p, i, j, k, c, H, L, cov, L2 = _s()
    return Statement(
        nt.Hess(L2, z),
        nt.SumEntries(y) * nt.Hess(nt.LSE(z), z),
        dims=DIMS,
    )


TOPIC = Topic(
    id="softmax-hessian",
    title="The softmax Hessian is a covariance matrix",
    claim=(
        "For cross-entropy on logits the gradient is $p - y$ and the Hessian is "
        r"$\operatorname{diag}(p) - pp^\top$, the covariance of a one-hot draw from $p$, hence "
        "positive semi-definite with the all-ones vector in its null space."
    ),
    assumptions=(
        Assumption(r"p = \operatorname{softmax}(z),\; z \in \mathbb{R}^K", "p = softmax(z), z ∈ ℝᴷ"),
        Assumption(r"y_k \ge 0", "yₖ ≥ 0 (a one-hot or soft target)"),
        Assumption(
            r"\textstyle\sum_k y_k = 1 \text{ gives } \nabla_z\mathcal{L} = p - y",
            "Σₖ yₖ = 1 gives ∇𝓛 = p − y",
        ),
    ),
    steps=(
        Step(
            "loss",
            "Cross-entropy through LogSumExp",
            r"With $\log p_k = z_k - \operatorname{LSE}(z)$, the loss $\mathcal{L}(z) = -\sum_k y_k \log p_k$ "
            "splits into a LogSumExp term weighted by the target's total mass and a linear term.",
            _loss,
            _num(_ref_loss, against="lhs"),
        ),
        Step(
            "gradient",
            "Gradient",
            "The linear term contributes $-y$ and the LogSumExp term contributes its gradient, the "
            r"softmax, times $\sum_k y_k$; for a probability target that total is 1 and the gradient is $p - y$.",
            _gradient,
            _num(_ref_grad, rtol=1e-6, atol=1e-8),
        ),
        Step(
            "hessian",
            "Hessian",
            "Differentiating $p$ once more: the linear term drops out, so the curvature does not "
            "depend on the target except through its total mass.",
            _hessian,
            _num(_ref_hessian, rtol=1e-5, atol=1e-5),
        ),
        Step(
            "entrywise",
            "Entrywise form",
            r"Row $i$, column $j$ of $\operatorname{diag}(p) - pp^\top$.",
            _entrywise,
            _num(_ref_hessian_unit, sizes=({"K": 2}, {"K": 3}), against="lhs"),
        ),
        Step(
            "covariance",
            "Covariance of a one-hot variable",
            "Draw a one-hot vector $e$ with $P(e = e_k) = p_k$. Then $E[e] = p$ and "
            r"$E[ee^\top] = \operatorname{diag}(p)$; summing $p_k (e_k - p)(e_k - p)^\top$ over the $K$ outcomes "
            "gives the same matrix as the Hessian.",
            _covariance,
            _num(_ref_hessian_unit),
        ),
    ),
    claims=(
        Claim(
            "variance",
            "A quadratic form is a variance",
            r"$v^\top H v$ is the variance of $v_k$ when $k$ is drawn from $p$.",
            _variance,
            _num(_ref_quadratic, against="lhs"),
        ),
        Claim(
            "psd",
            "Positive semi-definite",
            "A variance is a weighted sum of squares with positive weights, so it is never negative.",
            _psd,
            _num(),
        ),
        Claim(
            "rows-sum-zero",
            "Rows sum to zero",
            r"$H\mathbf{1} = p - p\,(p^\top \mathbf{1}) = 0$ because the probabilities sum to 1.",
            _rows,
            _num(_ref_rows, atol=1e-15, against="lhs"),
        ),
        Claim(
            "shift-invariance",
            "Adding a constant to every logit changes nothing",
            r"The factor $e^{c}$ cancels between numerator and denominator, which is why $\mathbf{1}$ is a "
            "null direction of the Hessian and the logits are identifiable only up to a shared constant.",
            _shift,
            _num(_ref_softmax, rtol=1e-8),
        ),
        Claim(
            "hvp",
            "Hessian-vector product in $O(K)$",
            r"Expanding $(\operatorname{diag}(p) - pp^\top)v$ needs one dot product and two elementwise "
            "products, never the $K \\times K$ matrix.",
            _hvp,
            _num(_ref_hvp),
        ),
        Claim(
            "target-mass",
            "Soft targets scale the curvature by their mass",
            r"The Hessian of $\mathcal{L}$ is $\sum_k y_k$ times the Hessian of LogSumExp, whatever the target's shape.",
            _unit_mass,
            _num(rtol=1e-5, atol=1e-5),
        ),
    ),
    implemented_by=(
        "dlmath.cross_entropy",
        "dlmath.cross_entropy_grad",
        "dlmath.softmax_hessian",
        "dlmath.softmax_hvp",
    ),
    prose="""\
Cross-entropy on top of a softmax is the loss of almost every classifier, and its curvature decides
how second-order methods, natural-gradient approximations and learning-rate heuristics behave. The
derivation is short because the loss is LogSumExp minus a linear term: the linear part vanishes
after two derivatives and only the curvature of LogSumExp is left.

That curvature is $\\operatorname{diag}(p) - pp^\\top$, which is exactly the covariance matrix of a
one-hot vector drawn from the predicted distribution. Covariance matrices are positive
semi-definite, so the loss is convex in the logits. The matrix also has a null direction: adding
the same number to every logit leaves the softmax unchanged, and correspondingly every row of the
Hessian sums to zero.

In practice one never forms the $K \\times K$ matrix for a large vocabulary: the product with a
vector costs $O(K)$, which is what `dlmath.softmax_hvp` computes. With soft targets whose weights
do not sum to one (label smoothing done by hand, weighted examples) the gradient is
$(\\sum_k y_k)\\,p - y$, not $p - y$; the check uses such targets on purpose.
""",
    snippet="""\
import numpy as np
from dlmath import softmax, softmax_hessian, softmax_hvp

z = np.array([2.0, 1.0, 0.2, -0.5])
H = softmax_hessian(z)
print("p          =", np.round(softmax(z), 4))
print("row sums   =", np.round(H.sum(axis=1), 12))
print("eigenvalues=", np.round(np.linalg.eigvalsh(H), 4))
v = np.array([1.0, -2.0, 0.5, 3.0])
print("H v        =", np.round(softmax_hvp(z, v), 4))
""",
    figure="softmax-hessian-heatmap",
)
