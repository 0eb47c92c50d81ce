"""The gradient of the Euclidean norm, its cusp at 0, and the usual eps fixes."""

from __future__ import annotations

import functools

import numpy as np

from ..derive.model import Assumption, CheckResult, Claim, Numeric, Statement, Step, Topic

SIZES = ({"n": 1}, {"n": 3}, {"n": 7})
DIMS = {"n": 3}


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    n = sp.Symbol("n", integer=True, positive=True)
    x, u = nt.Vector("x", n), nt.Vector("u", n)
    t = sp.Symbol("t", real=True)
    eps = sp.Symbol("epsilon", positive=True)
    return sp, nt, n, x, u, t, eps


def _sample(rng, size):
    n = size.get("n", 3)
    return {
        "x": rng.normal(0.0, 2.0, (n, 1)),
        "u": rng.normal(0.0, 1.0, (n, 1)),
        "epsilon": float(10.0 ** rng.uniform(-6, -1)),
    }


def _ref_norm_grad(vals):
    from dlmath import norm_grad

    return [("dlmath.norm_grad", norm_grad(vals["x"].ravel()))]


def _ref_norm(vals):
    from dlmath import safe_norm

    return [("dlmath.safe_norm", safe_norm(vals["x"].ravel()))]


def _norm_def():
    sp, nt, n, x, u, t, eps = _s()
    i = sp.Symbol("i", integer=True, nonnegative=True)
    return Statement(nt.Norm(x), sp.sqrt(sp.Sum(x[i, 0] ** 2, (i, 0, n - 1))), dims=DIMS, simplify=())


def _gradient():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(nt.Grad(nt.Norm(x), x), x / nt.Norm(x), dims=DIMS)


def _unit():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(
        nt.Norm(x / nt.Norm(x)), sp.S.One, dims=DIMS, simplify=("cancel", "radsimp", "powsimp", "cancel")
    )


def _right():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(sp.Limit(nt.Norm(t * u) / t, t, 0, "+"), nt.Norm(u), dims=DIMS, simplify=())


def _left():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(sp.Limit(nt.Norm(t * u) / t, t, 0, "-"), -nt.Norm(u), dims=DIMS, simplify=())


def _eps_sqrt():
    sp, nt, n, x, u, t, eps = _s()
    smooth = sp.sqrt(nt.Norm(x) ** 2 + eps)
    return Statement(nt.Grad(smooth, x), x / smooth, dims=DIMS)


def _eps_divide():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(nt.Norm(x / (nt.Norm(x) + eps)), sp.S.One, relation="<", dims=DIMS, simplify=("cancel",))


def _at_zero(rng) -> CheckResult:
    """At 0, dlmath returns the subgradient 0; the naive formula gives NaN; extremes do not overflow."""
    from dlmath import norm_grad, safe_norm

    bad, notes = [], []
    for n in (1, 3, 8):
        zero = np.zeros(n)
        g = np.asarray(norm_grad(zero))
        if not (np.all(g == 0) and g.shape == zero.shape):
            bad.append(f"norm_grad(0) = {g} for n = {n}, expected zeros")
        if np.asarray(safe_norm(zero)) != 0:
            bad.append(f"safe_norm(0) = {safe_norm(zero)}")
        with np.errstate(invalid="ignore"):
            naive = zero / np.sqrt(np.sum(zero * zero))
        if not np.all(np.isnan(naive)):
            bad.append("the naive x/||x|| at 0 is not NaN")
        # 0 is a subgradient: ||x|| >= ||0|| + <0, x> for every x
        x = rng.normal(size=n)
        if float(safe_norm(x)) < 0:
            bad.append("negative norm")
    for scale in (1e200, 1e-200):
        x = np.array([3.0, 4.0]) * scale
        got = float(safe_norm(x))
        if not np.isclose(got, 5.0 * scale, rtol=1e-15, atol=0):
            bad.append(f"safe_norm([3, 4]·{scale:g}) = {got}")
        with np.errstate(over="ignore", under="ignore"):
            naive = float(np.sqrt(np.sum(x * x)))
        notes.append(f"[3, 4]·{scale:g}: naive {naive:g}, safe_norm {got:g}")
    if bad:
        return CheckResult("fail", "; ".join(bad), counterexample=bad[0], instances=5)
    return CheckResult(
        "pass",
        "norm_grad(0) = 0 for n = 1, 3, 8 (the naive formula gives NaN); " + "; ".join(notes),
        instances=5,
        tolerance=1e-15,
    )


def _subgradient():
    sp, nt, n, x, u, t, eps = _s()
    return Statement(nt.Norm(x), nt.Dot(u, x) / nt.Norm(u), relation=">=", dims={"n": 2}, simplify=())


TOPIC = Topic(
    id="norm-gradient",
    title="The gradient of the L2 norm",
    claim=(
        r"For $x \ne 0$, $\nabla_x \lVert x\rVert_2 = x / \lVert x\rVert_2$, a unit vector; at $x = 0$ the norm "
        "has a cusp and no gradient, which is why stable code adds an eps or returns the subgradient 0."
    ),
    assumptions=(
        Assumption(r"x \in \mathbb{R}^n,\ x \ne 0", "x ∈ ℝⁿ, x ≠ 0"),
        Assumption(r"\epsilon > 0", "ε > 0"),
    ),
    steps=(
        Step(
            "definition",
            "The norm",
            "The Euclidean length of $x$.",
            _norm_def,
            Numeric(_sample, sizes=SIZES, rtol=1e-13, reference=_ref_norm, against="lhs"),
        ),
        Step(
            "gradient",
            "Gradient",
            r"$\partial_{x_k} \sqrt{\sum_i x_i^2} = \frac{2x_k}{2\sqrt{\sum_i x_i^2}}$.",
            _gradient,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-9, reference=_ref_norm_grad),
        ),
        Step(
            "unit-length",
            "The gradient has length 1",
            "Away from 0 the norm grows at rate exactly 1 in the direction of $x$: it is a cone.",
            _unit,
            Numeric(_sample, sizes=SIZES, rtol=1e-13),
        ),
        Step(
            "cusp-right",
            r"From the right, the slope along $u$ is $\lVert u\rVert$",
            r"Along the line $t\mapsto tu$ through 0, $\lVert tu\rVert = |t|\,\lVert u\rVert$.",
            _right,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-6),
        ),
        Step(
            "cusp-left",
            r"From the left, it is $-\lVert u\rVert$",
            "The two one-sided slopes differ for every direction $u \\ne 0$, so no linear map (gradient) "
            "fits at 0: the norm has a cusp there.",
            _left,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-6),
        ),
    ),
    claims=(
        Claim(
            "eps-sqrt",
            "Smoothing under the square root",
            r"$\sqrt{\lVert x\rVert^2 + \epsilon}$ is differentiable everywhere, with gradient 0 at 0 and close to "
            r"$x/\lVert x\rVert$ when $\lVert x\rVert^2 \gg \epsilon$.",
            _eps_sqrt,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-9),
        ),
        Claim(
            "eps-divide",
            r"Dividing by $\lVert x\rVert + \epsilon$",
            r"$x / (\lVert x\rVert + \epsilon)$ is defined at 0 and always shorter than a unit vector.",
            _eps_divide,
            Numeric(_sample, sizes=SIZES),
        ),
        Claim(
            "subgradient-at-zero",
            "0 is a valid subgradient at 0",
            r"By Cauchy-Schwarz, $\lVert x\rVert \ge u^\top x / \lVert u\rVert$: every vector of length at most 1 is "
            r"a subgradient at 0, and `dlmath.norm_grad` returns 0 there (and `safe_norm` has gradient 0 under autodiff).",
            _subgradient,
            _at_zero,
        ),
    ),
    implemented_by=("dlmath.safe_norm", "dlmath.norm_grad"),
    prose="""\
Norms appear in weight decay, gradient clipping, normalisation layers and contrastive losses, and
their gradient is simple: $x/\\lVert x\\rVert$, the unit vector pointing along $x$. Its length is
always 1, so the norm grows at the same rate however close to the origin one is.

At the origin that picture breaks. The graph of $\\lVert x\\rVert$ is a cone with its tip at 0:
walking through 0 along any line, the slope jumps from $-\\lVert u\\rVert$ to $+\\lVert u\\rVert$, so no
gradient exists there, and the formula $x/\\lVert x\\rVert$ evaluates to $0/0$, which is NaN in floating
point. One NaN in a gradient is enough to ruin a training run.

Stable code avoids the division by zero in one of three ways: take
$\\sqrt{\\lVert x\\rVert^2 + \\epsilon}$, which is smooth with gradient 0 at 0; divide by
$\\lVert x\\rVert + \\epsilon$; or return the subgradient 0 at exactly 0, which is what
`dlmath.norm_grad` does and what autodiff of `dlmath.safe_norm` gives.
""",
    snippet="""\
import numpy as np
from dlmath import norm_grad, safe_norm

x = np.array([3.0, -4.0])
print("norm      :", float(safe_norm(x)))
print("gradient  :", norm_grad(x))
print("at zero   :", norm_grad(np.zeros(2)))
print("huge input:", float(safe_norm(np.array([3e200, 4e200]))))
""",
    figure="norm-cone",
)
