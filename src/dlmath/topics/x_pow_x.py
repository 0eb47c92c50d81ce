"""The derivative of x^x by logarithmic differentiation."""

from __future__ import annotations

import functools

from ..derive.model import Assumption, Claim, Numeric, Statement, Step, Topic


@functools.cache
def _s():
    import sympy as sp

    x = sp.Symbol("x", positive=True)
    return sp, x


def _sample(rng, size):
    return {"x": float(rng.uniform(0.05, 4.0))}


def _log_form():
    sp, x = _s()
    return Statement(sp.log(x**x), x * sp.log(x), simplify=("expand_log",))


def _log_derivative():
    sp, x = _s()
    return Statement(sp.Derivative(x * sp.log(x), x), sp.log(x) + 1)


def _chain():
    sp, x = _s()
    rhs = sp.Mul(sp.Derivative(x**x, x), sp.Pow(x**x, -1, evaluate=False), evaluate=False)
    return Statement(sp.Derivative(sp.log(x**x), x), rhs, simplify=("expand_log", "cancel"))


def _result():
    sp, x = _s()
    return Statement(sp.Derivative(x**x, x), x**x * (sp.log(x) + 1), simplify=("expand",))


def _minimum():
    sp, x = _s()
    return Statement(sp.Subs(sp.Derivative(x**x, x), x, sp.exp(-1)), sp.S.Zero)


_num = Numeric(_sample, sizes=({},), seeds=6, rtol=1e-7, atol=1e-9)

TOPIC = Topic(
    id="x-pow-x",
    title="The derivative of $x^x$",
    claim=r"For $x > 0$, $\frac{d}{dx} x^x = x^x(\log x + 1)$, found by differentiating $\log x^x = x\log x$.",
    assumptions=(Assumption(r"x > 0", "x > 0"),),
    steps=(
        Step(
            "take-log",
            "Take the logarithm",
            r"Neither the power rule (fixed exponent) nor the exponential rule (fixed base) applies, "
            r"because both move. For $x > 0$, $x^x = e^{x\log x}$, so its log is $x\log x$.",
            _log_form,
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12),
        ),
        Step(
            "differentiate-log",
            "Differentiate the log form",
            r"Product rule: $(x\log x)' = \log x + x \cdot \frac{1}{x}$.",
            _log_derivative,
            _num,
        ),
        Step(
            "chain-rule",
            "The chain rule on the left",
            r"$\frac{d}{dx}\log y = y'/y$ with $y = x^x$.",
            _chain,
            _num,
        ),
        Step(
            "result",
            "Multiply back by $x^x$",
            "Equate the two sides and multiply by $y = x^x$.",
            _result,
            _num,
        ),
    ),
    claims=(
        Claim(
            "minimum",
            "$x^x$ is smallest at $x = 1/e$",
            r"The derivative vanishes where $\log x = -1$, at $x = 1/e \approx 0.368$, the minimum of $x^x$ on $x > 0$.",
            _minimum,
            Numeric(_sample, sizes=({},), seeds=2, atol=1e-8),
        ),
    ),
    implemented_by=(),
    prose="""\
$x^x$ is the standard example of a function where both the base and the exponent depend on the
variable, so neither $\\frac{d}{dx}x^n = nx^{n-1}$ nor $\\frac{d}{dx}a^x = a^x\\log a$ applies. Taking
logarithms first turns the power into a product, $\\log x^x = x\\log x$, which the product rule
handles; the chain rule on the left side then gives the derivative back.

The same move, differentiating $\\log f$ instead of $f$, is how likelihoods are handled in
practice: products of densities become sums of log-densities, and $\\nabla \\log f = \\nabla f / f$
is the score function behind REINFORCE and other policy-gradient estimators.

The domain matters: for $x \\le 0$ the expression $x^x$ is not a real-valued smooth function, and
the derivation divides by $x^x$, which is only safe where it is positive.
""",
    snippet="""\
import math

def dxx(x):
    return x**x * (math.log(x) + 1)

for x in (0.2, 1 / math.e, 1.0, 2.0):
    h = 1e-6
    fd = ((x + h) ** (x + h) - (x - h) ** (x - h)) / (2 * h)
    print(f"x={x:.4f}  formula={dxx(x):+.8f}  finite difference={fd:+.8f}")
""",
    figure="x-pow-x",
)
