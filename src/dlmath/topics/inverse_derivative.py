"""The derivative of an inverse function is the reciprocal of the derivative."""

from __future__ import annotations

import functools

from ..derive.model import Assumption, Claim, Numeric, Statement, Step, Topic


@functools.cache
def _s():
    import sympy as sp

    x, y = sp.symbols("x y", real=True)
    yp = sp.Symbol("y", positive=True)
    f, g = sp.Function("f"), sp.Function("g")
    return sp, x, y, yp, f, g


def _uniform(lo, hi, name="y"):
    def sample(rng, size):
        return {name: float(rng.uniform(lo, hi))}

    return sample


def _chain():
    sp, x, y, yp, f, g = _s()
    lhs = sp.Derivative(f(g(y)), y)
    rhs = sp.Subs(sp.Derivative(f(x), x), x, g(y)) * sp.Derivative(g(y), y)
    return Statement(lhs, rhs, simplify=())


def _bind_softplus():
    sp, x, y, yp, f, g = _s()
    return {f: sp.Lambda(x, sp.log(1 + sp.exp(x))), g: sp.Lambda(y, sp.log(sp.exp(y) - 1))}


def _pair(forward, inverse, var):
    """``(f^{-1})'(y) = 1 / f'(f^{-1}(y))`` for a concrete pair."""

    def build():
        sp, x, y, yp, f, g = _s()
        v = yp if var == "positive" else y
        fx = forward(sp, x)
        lhs = sp.Derivative(inverse(sp, v), v)
        rhs = 1 / sp.Subs(sp.Derivative(fx, x), x, inverse(sp, v))
        return Statement(lhs, rhs, simplify=("cancel", "expand", "cancel"))

    return build


def _reciprocal():
    sp, x, y, yp, f, g = _s()
    fx = sp.log(1 + sp.exp(x))
    inv = sp.Lambda(y, sp.log(sp.exp(y) - 1))
    lhs = sp.Derivative(fx, x) * sp.Subs(sp.Derivative(inv(y), y), y, fx)
    return Statement(lhs, sp.S.One, simplify=("cancel", "expand", "cancel"))


_FD = {"rtol": 1e-6, "atol": 1e-8}

TOPIC = Topic(
    id="inverse-derivative",
    title="The derivative of an inverse function",
    claim=r"If $y = f(x)$ and $f'(x) \ne 0$, then $(f^{-1})'(y) = 1 / f'(f^{-1}(y))$: slopes of inverse functions are reciprocal.",
    assumptions=(
        Assumption(
            r"f \text{ differentiable and invertible near } x", "f differentiable and invertible near x"
        ),
        Assumption(r"f'(f^{-1}(y)) \ne 0", "f′(f⁻¹(y)) ≠ 0"),
    ),
    steps=(
        Step(
            "chain-rule",
            r"Differentiate $f(f^{-1}(y)) = y$",
            r"The left side is a composition, so the chain rule applies; the right side has derivative 1. "
            r"Hence $f'(f^{-1}(y))\,(f^{-1})'(y) = 1$. (Numerically checked with $f$ = softplus.)",
            _chain,
            Numeric(_uniform(0.1, 5.0), sizes=({},), seeds=6, bind=_bind_softplus, **_FD),
        ),
        Step(
            "exp-log",
            "exp and log",
            r"$f = \exp$, $f^{-1} = \log$ on $y > 0$: the slope of $\log$ at $y$ is $1/e^{\log y} = 1/y$.",
            _pair(lambda sp, x: sp.exp(x), lambda sp, v: sp.log(v), "positive"),
            Numeric(_uniform(0.05, 20.0), sizes=({},), seeds=6, **_FD),
        ),
        Step(
            "tanh-atanh",
            "tanh and atanh",
            r"$f = \tanh$ with $f' = 1 - \tanh^2$; on $|y| < 1$, $\operatorname{atanh}'(y) = 1/(1 - y^2)$.",
            _pair(lambda sp, x: sp.tanh(x), lambda sp, v: sp.atanh(v), "real"),
            Numeric(_uniform(-0.95, 0.95), sizes=({},), seeds=6, **_FD),
        ),
        Step(
            "softplus-inverse",
            "softplus and its inverse",
            r"$f(x) = \log(1 + e^x)$ maps $\mathbb{R}$ onto $(0, \infty)$ with inverse $\log(e^y - 1)$; "
            "this pair is how positive parameters (scales, variances) are often reparameterised.",
            _pair(lambda sp, x: sp.log(1 + sp.exp(x)), lambda sp, v: sp.log(sp.exp(v) - 1), "positive"),
            Numeric(_uniform(0.05, 8.0), sizes=({},), seeds=6, **_FD),
        ),
        Step(
            "sigmoid-logit",
            "sigmoid and logit",
            r"$\sigma(x) = 1/(1 + e^{-x})$ has $\sigma' = \sigma(1 - \sigma)$, so $\operatorname{logit}'(y) = 1/(y(1 - y))$ on $(0, 1)$.",
            _pair(lambda sp, x: 1 / (1 + sp.exp(-x)), lambda sp, v: sp.log(v / (1 - v)), "real"),
            Numeric(_uniform(0.02, 0.98), sizes=({},), seeds=6, **_FD),
        ),
        Step(
            "cube-root",
            r"Where $f'$ vanishes the inverse is steep",
            r"$f(x) = x^3$ has $f'(0) = 0$: the inverse $y^{1/3}$ has slope $1/(3y^{2/3})$, unbounded as $y \to 0$.",
            _pair(lambda sp, x: x**3, lambda sp, v: v ** sp.Rational(1, 3), "positive"),
            Numeric(_uniform(0.01, 10.0), sizes=({},), seeds=6, **_FD),
        ),
    ),
    claims=(
        Claim(
            "reciprocal-slopes",
            "Reciprocal slopes, read the other way",
            r"At a point $x$ and its image $f(x)$ the two slopes multiply to 1 (here for softplus).",
            _reciprocal,
            Numeric(_uniform(-4.0, 4.0, "x"), sizes=({},), seeds=6, **_FD),
        ),
    ),
    implemented_by=(),
    prose="""\
Differentiating the identity $f(f^{-1}(y)) = y$ with the chain rule gives
$f'(f^{-1}(y)) \\cdot (f^{-1})'(y) = 1$: the slope of the inverse at $y$ is the reciprocal of the slope
of $f$ at the matching point $x = f^{-1}(y)$. Geometrically, the graph of $f^{-1}$ is the graph of
$f$ mirrored in the diagonal, and mirroring swaps rise and run.

In deep learning this is the rule behind reparameterisations. A positive scale is often stored
as $s = \\operatorname{softplus}(\\theta)$, a probability as $\\sigma(\\theta)$, a correlation as
$\\tanh(\\theta)$; change-of-variables densities in normalising flows need the derivative of the
inverse map, which this identity gives without inverting anything symbolically.

The condition $f'(x) \\ne 0$ is not a technicality: where the forward map is flat, the inverse is
vertical. $x^3$ is invertible everywhere, yet its inverse has an infinite slope at 0, and a
parameterisation that passes through such a point gives exploding gradients.
""",
    snippet="""\
import math

softplus = lambda x: math.log1p(math.exp(x))
inverse = lambda y: math.log(math.expm1(y))

for y in (0.1, 1.0, 5.0):
    x = inverse(y)
    forward_slope = 1 / (1 + math.exp(-x))      # softplus'(x) = sigmoid(x)
    h = 1e-6
    inverse_slope = (inverse(y + h) - inverse(y - h)) / (2 * h)
    print(f"y={y}: (f^-1)'(y)={inverse_slope:.6f}  1/f'(x)={1 / forward_slope:.6f}")
""",
    figure="inverse-slopes",
)
