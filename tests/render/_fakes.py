"""Small topics written with the public engine, checked for real: one passes, one fails.

Each call builds fresh topics (a topic accepts no new statements once its texts are resolved).
``USER_FILE`` and its variants are the same kind of topic as a reader's own file, for the CLI.
"""

from __future__ import annotations

import numpy as np

from dlmath.derive import Derivative, Eq, Figure, Ge, Subs, Topic, check_topic


def _draw(fig, tex) -> None:
    ax = fig.subplots()
    xs = np.linspace(-2.0, 2.0, 81)
    ax.plot(xs, xs**2, label=tex("$x**2$"))
    ax.plot(xs, 2 * xs, label=tex("$2*x$"))
    ax.set_xlabel(tex("$x$"))
    ax.legend(loc="upper center")


def passing_topic() -> Topic:
    t = Topic(
        "fake-square",
        "The derivative of $x**2$",
        claim="For every real $x$, $Derivative(x**2, x) == 2*x$.",
        implemented_by=("dlmath.softmax",),
    )
    x = t.scalar("x")
    t.sample(x=(-3.0, 3.0))
    t.step(
        "power-rule",
        Eq(Derivative(x**2, x), 2 * x),
        label="The power rule",
        why="Bring the exponent down and lower it by one.",
    )
    t.step(
        "at-one",
        Eq(Subs(Derivative(x**2, x), x, 1), 2),
        label="The slope at $Point(x, 1)$",
        why="Put one into the derivative.",
    )
    t.claim("nonnegative", Ge(x**2, 0), label="A square is never negative")
    t.prose = (
        "Squaring is the simplest power, $x**2$, and its slope grows linearly.\n\n"
        "The tangent at $Point(x, 1)$ rises two for every step to the right."
    )
    t.snippet = "import numpy as np\nprint('slope at 1:', 2 * np.float64(1.0))"
    t.figure = Figure(
        _draw,
        alt="The parabola $x**2$ for $x$ between -2 and 2, with its derivative $2*x$, a straight line through 0.",
        caption="$x**2$ and its derivative.",
        size=(4.0, 2.5),
    )
    return t


def failing_topic() -> Topic:
    t = Topic("fake-wrong", "A slip in the derivative of $x**3$", claim="Two steps, one of them false.")
    x = t.scalar("x")
    t.sample(x=(0.5, 2.0))
    t.step("right", Eq(Derivative(x**3, x), 3 * x**2), label="The power rule")
    t.step("wrong", Eq(Derivative(x**3, x), 2 * x**2), label="The exponent forgotten")
    t.snippet = "print('3 * 2**2 =', 3 * 2**2)"
    return t


def make_topics() -> list[Topic]:
    return [passing_topic(), failing_topic()]


def make_reports(topics, *, seed: int = 0) -> dict:
    return {t.id: check_topic(t, seed=seed) for t in topics}


USER_FILE = '''\
from dlmath.derive import Derivative, Eq, Topic, exp

t = Topic("my-exp", "The derivative of $exp(x)$", claim="The exponential is its own slope.")
x = t.scalar("x")
t.sample(x=(-2.0, 2.0))
t.step("self", Eq(Derivative(exp(x), x), {rhs}), label="Differentiate")
t.prose = r"""{prose}"""
'''


def user_file(tmp_path, name: str = "mine.py", *, rhs: str = "exp(x)", prose: str = "") -> str:
    """A reader's topic file: passing as given, failing with another ``rhs``, with a text issue
    when ``prose`` holds math that nothing checks."""
    path = tmp_path / name
    path.write_text(USER_FILE.format(rhs=rhs, prose=prose), encoding="utf-8")
    return str(path)
