"""The derivative of an inverse function is the reciprocal of the derivative."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    Abs,
    Derivative,
    Eq,
    Figure,
    InverseOf,
    Lambda,
    Ne,
    Subs,
    Topic,
    atanh,
    exp,
    log,
    tanh,
)
from ._plot import BLUE, GREY, RED

t = Topic(
    "inverse-derivative",
    "The derivative of an inverse function",
    claim=(
        "Where $InverseOf(g, f)$ and $Ne(slope_at, 0)$, $Derivative(g(y), y) == 1/slope_at$: the slopes of "
        "inverse functions are reciprocal."
    ),
)
x, y = t.scalars("x y")
f, g = t.function("f"), t.function("g")
slope_at = t.let("slope_at", Subs(Derivative(f(x), x), x, g(y)))
inverse = [InverseOf(g, f)]
nonflat = [InverseOf(g, f), Ne(slope_at, 0)]
# random points away from the edges of the inverses' domains, where finite differences are coarse;
# the counterexample search still covers the whole domain, confirming what it finds at 50 digits
t.sample(x=(-3.0, 3.0))

t.step(
    "chain-rule",
    Eq(Derivative(f(g(y)), y), slope_at * Derivative(g(y), y)),
    label="The chain rule on a composition",
    why=(
        "For any differentiable $f$ and $g$ the derivative of $f(g(y))$ is the slope of $f$ at the point "
        "$g(y)$ times the slope of $g$."
    ),
    simplify=(),
)
t.step(
    "identity",
    Eq(Derivative(f(g(y)), y), 1),
    label="Differentiate the identity",
    why="Where $InverseOf(g, f)$, $f(g(y)) == y$, whose derivative is 1.",
    assume=inverse,
    simplify=(),
)
t.step(
    "solve",
    Eq(Derivative(g(y), y), 1 / slope_at),
    label="Solve for the slope of the inverse",
    why=(
        "The two steps give $slope_at*Derivative(g(y), y) == 1$; divide by $slope_at$, which the "
        "assumption $Ne(slope_at, 0)$ allows."
    ),
    assume=nonflat,
)


def _example(id_, label, why, forward, backward, *conditions):
    fx = Lambda(x, forward(x))
    t.claim(
        id_,
        Eq(Derivative(backward(y), y), 1 / Subs(Derivative(fx(x), x), x, backward(y))),
        label=label,
        why=why,
        assume=list(conditions),
        simplify=("cancel", "expand", "cancel"),
        rtol=1e-6,
        atol=1e-8,
    )


_example(
    "exp-log",
    "$exp$ and $log$",
    "On $y > 0$ the slope of the logarithm is $Derivative(log(y), y) == 1/y$, the reciprocal of $exp(log(y))$.",
    exp,
    log,
    y > 0,
)
_example(
    "tanh-atanh",
    "$tanh$ and $atanh$",
    (
        "The slope of the hyperbolic tangent, $Derivative(tanh(x), x) == 1 - tanh(x)**2$, is never 0, and "
        "on $Abs(y) < 1$ the slope of its inverse follows: $Derivative(atanh(y), y) == 1/(1 - y**2)$."
    ),
    tanh,
    atanh,
    Abs(y) < 1,
)
_example(
    "softplus-inverse",
    "softplus and its inverse",
    (
        "$log(1 + exp(x))$ maps the real line onto the positive reals with inverse $log(exp(y) - 1)$; this "
        "pair is how positive parameters (scales, variances) are often reparameterised."
    ),
    lambda v: log(1 + exp(v)),
    lambda v: log(exp(v) - 1),
    y > 0,
)
_example(
    "sigmoid-logit",
    "sigmoid and logit",
    (
        "The slope of the sigmoid, $Derivative(1/(1 + exp(-x)), x) == exp(-x)/(1 + exp(-x))**2$, is positive, "
        "and on the unit interval the slope of the logit follows: "
        "$Derivative(log(y/(1 - y)), y) == 1/(y*(1 - y))$."
    ),
    lambda v: 1 / (1 + exp(-v)),
    lambda v: log(v / (1 - v)),
    y > 0,
    y < 1,
)
_example(
    "cube-root",
    "Where the slope of $f$ vanishes the inverse is steep",
    (
        "$x**3$ is flat at the origin, and the slope of its inverse, "
        "$Derivative(y**Rational(1, 3), y) == 1/(3*y**Rational(2, 3))$, is unbounded near 0."
    ),
    lambda v: v**3,
    lambda v: v ** sp.Rational(1, 3),
    y > 0,
)
t.claim(
    "reciprocal-slopes",
    Eq(Derivative(f(x), x) * Subs(Derivative(g(y), y), y, f(x)), 1),
    label="Reciprocal slopes, read the other way",
    why="At a point where $Ne(Derivative(f(x), x), 0)$ and its image the two slopes multiply to 1.",
    assume=[InverseOf(g, f), Ne(Derivative(f(x), x), 0)],
    rtol=1e-6,
    atol=1e-8,
)

t.prose = """\
Differentiating the identity $f(g(y)) == y$ with the chain rule gives
$slope_at*Derivative(g(y), y) == 1$: the slope of the inverse at $y$ is the reciprocal of the slope
of $f$ at the matching point $g(y)$. Geometrically, the graph of the inverse is the graph of $f$
mirrored in the diagonal, and mirroring swaps rise and run.

In deep learning this is the rule behind reparameterisations. A positive scale is often stored
as the softplus of a free parameter, a probability as its sigmoid, a correlation as its
hyperbolic tangent; change-of-variables densities in normalising flows need the derivative of the inverse
map, which this identity gives without inverting anything symbolically.

The condition $Ne(slope_at, 0)$ is not a technicality: where the forward map is flat, the inverse
is vertical. $x**3$ is invertible everywhere, yet its inverse has an infinite slope at the origin,
and a parameterisation that passes through such a point gives exploding gradients.
"""

t.snippet = """\
import math

softplus = lambda x: math.log1p(math.exp(x))
inverse = lambda y: math.log(math.expm1(y))

for y in (0.1, 1.0, 5.0):
    x = inverse(y)
    forward_slope = 1 / (1 + math.exp(-x))      # softplus'(x) = sigmoid(x)
    h = 1e-6
    inverse_slope = (inverse(y + h) - inverse(y - h)) / (2 * h)
    print(f"y={y}: (f^-1)'(y)={inverse_slope:.6f}  1/f'(x)={1 / forward_slope:.6f}")
"""

_X0 = 0.8


def _draw(fig, tex) -> None:
    ax = fig.subplots()
    xs = np.linspace(-2.5, 1.6, 300)
    ys = np.linspace(0.05, 5.0, 300)
    ax.plot(xs, np.exp(xs), color=BLUE, label=tex("$exp(x)$"))
    ax.plot(ys, np.log(ys), color=RED, label=tex("its inverse $log(y)$"))
    ax.plot([-2.5, 5], [-2.5, 5], color=GREY, ls=":", lw=1, label="the diagonal")
    y0 = float(np.exp(_X0))
    s = np.linspace(-0.9, 0.9, 2)
    ax.plot(_X0 + s, y0 + y0 * s, color=BLUE, lw=1, ls="--")
    ax.plot(y0 + s * y0, _X0 + s, color=RED, lw=1, ls="--")
    ax.plot([_X0, y0], [y0, _X0], "o", color="black", ms=4)
    ax.annotate(
        f"slope {y0:.2f}",
        xy=(_X0, y0),
        xytext=(-2.3, 3.1),
        arrowprops={"arrowstyle": "-", "color": GREY, "lw": 0.8},
    )
    ax.annotate(
        f"slope {1 / y0:.2f}",
        xy=(y0, _X0),
        xytext=(2.2, -0.6),
        arrowprops={"arrowstyle": "-", "color": GREY, "lw": 0.8},
    )
    ax.set_aspect("equal")
    ax.set_xlim(-2.5, 5)
    ax.set_ylim(-2.5, 5)
    ax.legend(loc="upper left")


t.figure = Figure(
    _draw,
    alt=(
        "The exponential and the logarithm drawn as mirror images across the diagonal, with tangent lines "
        f"at the mirrored points at {_X0:g} and its exponential; the slopes are about {np.exp(_X0):.2f} and "
        f"its reciprocal, about {np.exp(-_X0):.2f}."
    ),
    caption="Mirroring a graph across the diagonal swaps rise and run, so the inverse's slope is the reciprocal.",
    size=(5.0, 4.6),
)

TOPIC = t
