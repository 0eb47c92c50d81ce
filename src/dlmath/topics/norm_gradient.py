"""The gradient of the Euclidean norm, its cusp at 0, and the usual eps fixes."""

from __future__ import annotations

import numpy as np

from ..derive import (
    Dot,
    Eq,
    Figure,
    Ge,
    Grad,
    Limit,
    Lt,
    Nonzero,
    Norm,
    Sum,
    Topic,
    oo,
    sqrt,
)
from ._plot import BLUE, GREEN, ORANGE, RED

t = Topic(
    "norm-gradient",
    "The gradient of the L2 norm",
    claim=(
        "Where $Nonzero(x)$, $Grad(Norm(x), x) == x/Norm(x)$, a unit vector; at the origin the norm has a "
        "cusp and no gradient, which is why stable code adds an $epsilon$ or returns the subgradient 0."
    ),
    sizes=({"n": 1}, {"n": 3}, {"n": 7}),
    dims={"n": 3},
    implemented_by=("dlmath.safe_norm", "dlmath.norm_grad"),
)
n = t.dim("n")
x, u = t.vector("x", n), t.vector("u", n)
i = t.index("i")
s_, epsilon = t.scalars("s epsilon")
t.assume(epsilon > 0)
t.sample(epsilon=lambda rng, shape: float(10.0 ** rng.uniform(-6, -1)))


def _grad_at_zero(k):
    from dlmath import norm_grad

    return float(np.linalg.norm(norm_grad(np.zeros(int(k)))))


def _safe_scaled(e):
    from dlmath import safe_norm

    return float(safe_norm(np.array([3.0, 4.0]) * 10.0 ** float(e))) / 10.0 ** float(e)


def _naive_scaled(e):
    with np.errstate(over="ignore", under="ignore"):
        v = np.array([3.0, 4.0]) * 10.0 ** float(e)
        return float(np.sqrt(np.sum(v * v))) / 10.0 ** float(e)


grad_at_zero = t.measure("grad_at_zero", _grad_at_zero)
safe_scaled = t.measure("safe_scaled", _safe_scaled)
naive_scaled = t.measure("naive_scaled", _naive_scaled)


def _ref_norm_grad(vals):
    from dlmath import norm_grad

    return [("dlmath.norm_grad", norm_grad(vals["x"].ravel()))]


def _ref_norm(vals):
    from dlmath import safe_norm

    return [("dlmath.safe_norm", safe_norm(vals["x"].ravel()))]


smooth = t.let("smooth", sqrt(Norm(x) ** 2 + epsilon))

t.step(
    "definition",
    Eq(Norm(x), sqrt(Sum(x[i, 0] ** 2, (i, 0, n - 1)))),
    label="The norm",
    why="The Euclidean length of $x$.",
    simplify=(),
    rtol=1e-13,
    reference=_ref_norm,
    against="lhs",
)
t.step(
    "gradient",
    Eq(Grad(Norm(x), x), x / Norm(x)),
    label="Gradient",
    why="Each partial derivative of the root of the sum of squares is an entry of $x$ over the norm.",
    assume=[Nonzero(x)],
    rtol=1e-6,
    atol=1e-9,
    reference=_ref_norm_grad,
)
t.step(
    "unit-length",
    Eq(Norm(x / Norm(x)), 1),
    label="The gradient has length 1",
    why="Away from the origin the norm grows at rate exactly 1 in the direction of $x$: its graph is a cone.",
    assume=[Nonzero(x)],
    simplify=("cancel", "radsimp", "powsimp", "cancel"),
    rtol=1e-13,
)
t.step(
    "cusp-right",
    Eq(Limit(Norm(s_ * u) / s_, s_, 0, "+"), Norm(u)),
    label="From the right, the slope along a direction is its length $Norm(u)$",
    why="Along the line through the origin in the direction $u$, $Norm(s*u) == Abs(s)*Norm(u)$.",
    simplify=(),
    rtol=1e-6,
    atol=1e-6,
)
t.step(
    "cusp-left",
    Eq(Limit(Norm(s_ * u) / s_, s_, 0, "-"), -Norm(u)),
    label="From the left, it is $-Norm(u)$",
    why=(
        "The two one-sided slopes differ for every direction $Nonzero(u)$, so no linear map fits at the "
        "origin: the norm has a cusp there."
    ),
    simplify=(),
    rtol=1e-6,
    atol=1e-6,
)
t.claim(
    "eps-sqrt",
    Eq(Grad(smooth, x), x / smooth),
    label="Smoothing under the square root",
    why=(
        "$smooth$ is differentiable everywhere, with gradient 0 at the origin and close to $x/Norm(x)$ "
        "wherever the norm is large beside the square root of $epsilon$."
    ),
    rtol=1e-6,
    atol=1e-9,
)
t.claim(
    "eps-divide",
    Lt(Norm(x / (Norm(x) + epsilon)), 1),
    label="Dividing by the norm plus $epsilon$",
    why="$x/(Norm(x) + epsilon)$ is defined at the origin and always shorter than a unit vector.",
    simplify=("cancel",),
)
t.claim(
    "subgradient",
    Ge(Norm(x), Dot(u, x) / Norm(u)),
    label="Every vector of length at most 1 is a subgradient at the origin",
    why=(
        "By Cauchy and Schwarz, $Norm(x) >= Dot(u, x)/Norm(u)$ for every $Nonzero(u)$: the plane through the "
        "tip of the cone whose slope is the unit vector along $u$ stays below it, so 0 is a valid "
        "subgradient there."
    ),
    assume=[Nonzero(u)],
    dims={"n": 2},
    simplify=(),
)
t.claim(
    "norm-grad-at-zero",
    Eq(grad_at_zero(3), 0),
    label="`dlmath.norm_grad` returns that subgradient",
    why=(
        "$grad_at_zero(3)$ is the length of what `dlmath.norm_grad` returns at the zero vector of length 3; "
        "the naive formula gives 0 over 0, which is NaN."
    ),
    atol=0,
)
t.claim(
    "safe-norm-huge",
    Eq(safe_scaled(200), 5),
    label="`dlmath.safe_norm` does not overflow",
    why="$safe_scaled(200)$ is the norm of the pair 3 and 4 scaled by ten to the 200, divided by that scale.",
    rtol=2.3e-16,
    atol=0,
)
t.claim(
    "naive-norm-huge",
    Eq(naive_scaled(200), oo),
    label="The naive formula overflows there",
    why="$naive_scaled(200)$ squares the entries first, which overflows to infinity in float64.",
)

t.prose = """\
Norms appear in weight decay, gradient clipping, normalisation layers and contrastive losses, and
their gradient is simple: $x/Norm(x)$, the unit vector pointing along $x$. Its length is always 1,
so the norm grows at the same rate however close to the origin one is.

At the origin that picture breaks. The graph of $Norm(x)$ is a cone with its tip at the origin:
walking through it along any line, the slope jumps from $-Norm(u)$ to $Norm(u)$, so no gradient
exists there, and the formula $x/Norm(x)$ evaluates to 0 over 0, which is NaN in floating point.
One NaN in a gradient is enough to ruin a training run.

Stable code avoids the division by zero in one of three ways: take $smooth$, which is smooth with
gradient 0 at the origin; divide by $Norm(x) + epsilon$; or return the subgradient 0 at exactly
the origin, which is what `dlmath.norm_grad` does and what autodiff of `dlmath.safe_norm` gives.
"""

t.snippet = """\
import numpy as np
from dlmath import norm_grad, safe_norm

x = np.array([3.0, -4.0])
print("norm      :", float(safe_norm(x)))
print("gradient  :", norm_grad(x))
print("at zero   :", norm_grad(np.zeros(2)))
print("huge input:", float(safe_norm(np.array([3e200, 4e200]))))
"""

_EPS = (1e-2, 1e-1)


def _draw(fig, tex) -> None:
    from dlmath import norm_grad, safe_norm

    ax1, ax2 = fig.subplots(1, 2)
    g = np.linspace(-2, 2, 161)
    X1, X2 = np.meshgrid(g, g)
    norms = np.asarray(safe_norm(np.stack([X1, X2], axis=-1), axis=-1))
    cs = ax1.contour(X1, X2, norms, levels=[0.5, 1.0, 1.5, 2.0, 2.5], colors=BLUE, linewidths=1)
    ax1.clabel(cs, fontsize=7)
    q = np.linspace(-1.5, 1.5, 7)
    Q1, Q2 = np.meshgrid(q, q)
    arrows = np.asarray(norm_grad(np.stack([Q1, Q2], axis=-1), axis=-1))
    ax1.quiver(Q1, Q2, arrows[..., 0], arrows[..., 1], color=RED, scale=12, width=0.006)
    ax1.plot([0], [0], "o", color="black", ms=4)
    ax1.set_aspect("equal")
    ax1.set_title(tex("level sets of $Norm(x)$; arrows $x/Norm(x)$"))
    ts = np.linspace(-1, 1, 401)
    ax2.plot(ts, np.abs(ts), color="black", lw=2, label="the norm along a unit direction (cusp)")
    for eps, color in zip(_EPS, (ORANGE, GREEN), strict=True):
        ax2.plot(ts, np.sqrt(ts**2 + eps), color=color, label=tex(f"smoothed, $Setting(epsilon, {eps})$"))
    ax2.set_title("a slice through the origin")
    ax2.set_xlabel("position along the slice")
    ax2.legend(loc="upper center")


t.figure = Figure(
    _draw,
    alt=(
        "Left, circular level sets of the Euclidean norm in the plane with unit arrows pointing radially "
        "outward, the gradient $x/Norm(x)$. Right, a slice through the origin: the absolute value with a "
        "sharp corner at zero, and two smoothed curves with $epsilon$ of "
        + " and ".join(f"{e:g}" for e in _EPS)
        + " that are rounded there."
    ),
    caption=(
        "The norm is a cone: its gradient $x/Norm(x)$ has unit length everywhere except the tip, where the "
        "cusp leaves it undefined; $smooth$ rounds the tip."
    ),
)

TOPIC = t
