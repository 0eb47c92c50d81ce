"""The derivative of x^x by logarithmic differentiation."""

from __future__ import annotations

import numpy as np
from sympy import Mul, Pow

from ..derive import Derivative, E, Eq, Figure, Gt, Subs, Topic, log
from ._plot import BLUE, GREY, RED, curve

t = Topic(
    "x-pow-x",
    "The derivative of $x**x$",
    claim=(
        "For $x > 0$, $Derivative(x**x, x) == x**x*(log(x) + 1)$, found by differentiating "
        "$log(x**x) == x*log(x)$."
    ),
)
x = t.scalar("x")
a, n = t.scalars("a n")
f = t.function("f")
t.assume(x > 0, a > 0, f(x) > 0)
t.sample(x=(0.05, 4.0))

t.step(
    "take-log",
    Eq(log(x**x), x * log(x)),
    label="Take the logarithm",
    why=(
        "Neither the power rule (a fixed exponent) nor the exponential rule (a fixed base) applies, "
        "because both move. For $x > 0$, $x**x == exp(x*log(x))$, and the logarithm undoes the exponential."
    ),
    simplify=("expand_log",),
)
t.step(
    "differentiate-log",
    Eq(Derivative(x * log(x), x), log(x) + 1),
    label="Differentiate the log form",
    why="The product rule: $Derivative(x*log(x), x) == log(x) + x*UnevaluatedExpr(1/x)$.",
)
t.step(
    "chain-rule",
    Eq(Derivative(log(x**x), x), Mul(Derivative(x**x, x), Pow(x**x, -1, evaluate=False), evaluate=False)),
    label="The chain rule on the left",
    why="The derivative of a logarithm is the derivative of its argument divided by the argument.",
    simplify=("expand_log", "cancel"),
)
result = t.step(
    "result",
    Eq(Derivative(x**x, x), x**x * (log(x) + 1)),
    label="Multiply back by $x**x$",
    why="Equate the two derivatives of $log(x**x)$ and multiply both by $x**x$, which is positive.",
    simplify=("expand",),
)
t.claim(
    "stationary",
    Eq(Subs(Derivative(x**x, x), x, 1 / E), 0),
    label="The slope of $x**x$ vanishes at $Point(x, 1/E)$",
    why="There $log(1/E, evaluate=False) + 1 == 0$; numerically $Approx(1/E, 0.368)$.",
)
t.claim(
    "minimum",
    Gt(Subs(Derivative(x**x, (x, 2)), x, 1 / E), 0),
    label="It is a minimum",
    why="The second derivative is positive at $Point(x, 1/E)$, so the stationary point is the minimum of $x**x$.",
)

t.prose = """\
$x**x$ is the standard example of a function whose base and exponent both depend on the variable,
so neither the power rule $Derivative(x**n, x) == n*x**(n - 1)$ nor the exponential rule
$Derivative(a**x, x) == a**x*log(a)$ applies. Taking logarithms first turns the power into a
product, $log(x**x) == x*log(x)$, which the product rule handles; the chain rule on the left side
then gives the derivative back.

The same move, differentiating the logarithm of a function instead of the function, is how
likelihoods are handled in practice: products of densities become sums of log-densities, and
for a positive $f(x) > 0$ the identity $Derivative(log(f(x)), x) == Derivative(f(x), x)/f(x)$ is
the score function behind REINFORCE and other policy-gradient estimators.

The domain matters. Outside $x > 0$ the expression $x**x$ is not a real-valued smooth function,
and the derivation divides by $x**x$, which is only safe where it is positive.
"""

t.snippet = """\
import math

def dxx(x):
    return x**x * (math.log(x) + 1)

for x in (0.2, 1 / math.e, 1.0, 2.0):
    h = 1e-6
    fd = ((x + h) ** (x + h) - (x - h) ** (x - h)) / (2 * h)
    print(f"x={x:.4f}  formula={dxx(x):+.8f}  finite difference={fd:+.8f}")
"""

_X_MAX = 2.0


def _draw(fig, tex) -> None:
    ax = fig.subplots()
    xs = np.linspace(0.02, _X_MAX, 500)
    ax.plot(xs, curve(x**x, x)(xs), color=BLUE, label=tex("$x**x$"))
    ax.plot(
        xs,
        curve(result.statement.rhs, x)(xs),
        color=RED,
        label=tex("$Derivative(x**x, x) == x**x*(log(x) + 1)$"),
    )
    xm = float(1 / np.e)
    ax.plot([xm], [xm**xm], "o", color="black", ms=4)
    ax.axvline(xm, color=GREY, ls=":", lw=1)
    ax.annotate(
        tex("minimum at $Point(x, 1/E)$"), xy=(xm, xm**xm), xytext=(6, 10), textcoords="offset points"
    )
    ax.axhline(0, color=GREY, lw=1)
    ax.set_xlabel(tex("$x$"))
    ax.set_ylim(-2.5, 4.5)
    ax.legend(loc="upper left")


t.figure = Figure(
    _draw,
    alt=(
        f"$x**x$ for $x$ between 0 and {_X_MAX:g}, with its derivative $x**x*(log(x) + 1)$; the derivative "
        "crosses zero at $Point(x, 1/E)$, where $x**x$ has its minimum."
    ),
    caption="$x**x$ and its derivative from logarithmic differentiation; the minimum sits at $Point(x, 1/E)$.",
    size=(5.5, 3.2),
)

TOPIC = t
