"""The slope of softplus is the sigmoid. Check it with: dlmath check examples/softplus.py"""

from dlmath.derive import Derivative, Eq, Lt, Topic, exp, log

t = Topic("softplus-slope", "The slope of softplus is the sigmoid")
x = t.scalar("x")
softplus = t.let("softplus", log(1 + exp(x)))
sigmoid = t.let("sigmoid", 1 / (1 + exp(-x)))

t.step(
    "chain-rule",
    Eq(Derivative(softplus, x), exp(x) / (1 + exp(x))),
    label="Differentiate the logarithm",
    why="The chain rule: the slope of $1 + exp(x)$ over $1 + exp(x)$ itself.",
)
t.step(
    "divide",
    Eq(exp(x) / (1 + exp(x)), sigmoid),
    label="Divide above and below by $exp(x)$",
    why="This leaves $exp(-x)$ in the denominator.",
)
t.claim("below-one", Lt(sigmoid, 1), label="So softplus never rises faster than $x$")
t.prose = "Softplus, $softplus$, is a smooth ReLU: its slope $sigmoid$ runs from 0 to 1."
