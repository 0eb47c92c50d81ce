"""Texts: $SymPy$ fragments parsed exactly, and math outside them reported."""

from __future__ import annotations

import pytest
import sympy as sp

from dlmath.derive.model import Approx
from dlmath.derive.text import Chain, MathError, lint, parse, split

x, y = sp.symbols("x y", real=True)
NAMES = {"x": x, "y": y}


def test_comparisons_become_unevaluated_relations():
    assert parse("x == x", NAMES) == sp.Eq(x, x, evaluate=False)
    assert isinstance(parse("x >= y", NAMES), sp.GreaterThan)
    assert isinstance(parse("x != y", NAMES), sp.Unequality)
    chain = parse("0 <= x <= 1", NAMES)
    assert isinstance(chain, Chain) and len(chain.links) == 2


def test_integer_literals_stay_exact_and_approx_keeps_the_printed_digits():
    assert parse("1/(3*x**(2/3))", NAMES) == 1 / (3 * x ** sp.Rational(2, 3))
    a = parse("Approx(1/E, 0.368)", NAMES)
    assert isinstance(a, Approx) and a.tol == sp.Rational(5, 10000)
    assert parse("Approx(1/E, 0.37)", NAMES).tol == sp.Rational(5, 1000)


def test_unknown_names_and_tex_are_errors_that_say_why():
    with pytest.raises(MathError, match="unknown name 'z'"):
        parse("z + 1", NAMES)
    with pytest.raises(MathError, match="hand-typed TeX"):
        parse(r"\frac{1}{2}", NAMES)
    with pytest.raises(MathError, match="could not be evaluated"):
        parse("x(1)", NAMES)


def test_split_separates_text_code_and_math():
    parts = split(r"cost \$5 for `f(x)` and $x**2$, display $$y$$")
    assert [k for k, *_ in parts] == ["text", "text", "text", "code", "text", "math", "text", "math"]
    assert parts[-1] == ("math", "y", True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"the gradient \nabla f", "TeX"),
        ("it equals x = 1", "math sign"),
        ("scaled by σ", "Greek"),
        ("entry x_i of it", "subscript"),
        ("the slope f' is", "prime"),
        ("apply f(x) twice", "function"),
        ("about 1/e of it", "fraction"),
        ("twice 2x here", "product"),
        ("one $x$ is $y$ here", "in words"),
        ("one $x$ equals $y$ here", "in words"),
        ("an open $ dollar", "unmatched"),
    ],
)
def test_math_outside_fragments_is_reported(text, message):
    found = lint(text)
    assert found and any(message in m for _, m in found), found


@pytest.mark.parametrize(
    "text",
    [
        "Plain prose about L1 and L2 losses, float32, 2000 steps and `code(x) = 1`.",
        "The maximum $x$, and the sum $y$.",
        "Either way round, it is fine.",
    ],
)
def test_ordinary_prose_passes_the_lint(text):
    assert lint(text) == []
