"""Assumptions as data: each predicate gives SymPy a fact, bounds the samples, and prints itself."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dlmath.derive import notation as nt
from dlmath.derive.assumptions import (
    Bound,
    Condition,
    FunctionIs,
    InverseOf,
    Invertible,
    Nonneg,
    Nonzero,
    Order,
    Simplex,
    assumption,
)
from dlmath.derive.explicit import explicit

x, a, b, y = sp.symbols("x a b y", real=True)
n = sp.Symbol("n", integer=True, positive=True)


def _one(p):
    (found,) = assumption(p)
    return found


def test_the_kind_follows_the_predicate():
    assert isinstance(_one(x > 0), Bound)
    assert isinstance(_one(0 < x), Bound) and _one(0 < x).rel == ">"
    assert isinstance(_one(a >= b), Order)
    assert isinstance(_one(sp.Ne(x**2 - 1, 0, evaluate=False)), Condition)
    assert len(assumption(sp.Abs(y) < 1)) == 1
    with pytest.raises(TypeError, match="definition"):
        assumption(sp.Eq(x, 1, evaluate=False))
    with pytest.raises(TypeError, match="predicate"):
        assumption(x + 1)


def test_a_sign_bound_makes_the_symbol_positive_for_sympy():
    e = _one(x > 0).refine(sp.sqrt(x**2))
    assert e.is_positive
    assert _one(x >= 0).refine(x).is_nonnegative
    assert _one(x > 2).refine(x) == x  # a bound away from 0 gives no fact (it would break d/dx)


def test_an_order_writes_the_larger_as_the_smaller_plus_a_gap():
    e = _one(a > b).refine(sp.Max(a, b))
    assert e == b + sp.Symbol("a_minus_b", positive=True)
    assert _one(a >= b).refine(sp.Max(a, b)) == b + sp.Symbol("a_minus_b", nonnegative=True)


def test_a_simplex_makes_its_last_entry_one_minus_the_others():
    p = nt.Vector("p", n)
    e = explicit(p, {n: 3})
    refined = _one(Simplex(p)).refine(e)
    assert sp.expand(sum(refined)) == 1
    assert all(v.is_positive for v in list(refined)[:-1])


def test_entrywise_assumptions_make_entries_signed():
    v = nt.Vector("v", n)
    e = explicit(v, {n: 2})
    assert all(s.is_nonnegative for s in _one(Nonneg(v)).refine(e))


def test_violations_are_named():
    assert _one(x > 0).violated({"x": -1.0}, None) == "x = -1 breaks x > 0"
    assert _one(x > 0).violated({"x": 2.0}, None) is None
    assert "break" in _one(a >= b).violated({"a": 0.0, "b": 1.0}, None)
    p = nt.Vector("p", n)
    assert _one(Simplex(p)).violated({"p": np.array([[0.5], [0.6]])}, None)
    assert _one(Simplex(p)).violated({"p": np.array([[0.5], [0.5]])}, None) is None
    assert _one(Nonzero(p)).violated({"p": np.zeros((2, 1))}, None)


def test_invertible_is_checked_on_the_evaluated_matrix():
    X = nt.Matrix("X", n, n)
    inv = _one(Invertible(X.T * X))
    evaluate = lambda e, vals: np.asarray(vals["X"]).T @ np.asarray(vals["X"])  # noqa: E731
    assert inv.violated({"X": np.eye(2)}, evaluate) is None
    assert "condition number" in inv.violated({"X": np.ones((2, 2))}, evaluate)


def test_inverse_of_rewrites_the_composition_and_checks_instances():
    f, g = sp.Function("f"), sp.Function("g")
    inv = _one(InverseOf(g, f))
    assert inv.refine(sp.Derivative(f(g(y)), y)) == sp.Derivative(y, y)
    u = sp.Symbol("u")
    assert inv.violated_by({"f": sp.Lambda(u, sp.exp(u)), "g": sp.Lambda(u, sp.log(u))}, [0.5, 2.0]) is None
    assert inv.violated_by({"f": sp.Lambda(u, sp.exp(u)), "g": sp.Lambda(u, u)}, [0.5]) is not None


def test_a_function_assumption_pins_down_a_function():
    f = sp.Function("f")
    u = sp.Symbol("u")
    pinned = FunctionIs(sp.Symbol("shown"), "f", sp.Lambda(u, u**2))
    assert pinned.refine(f(x) + 1) == x**2 + 1


def test_assumptions_print_themselves_from_the_predicate():
    X = nt.Matrix("X", n, n)
    assert _one(x > 0).latex == "x > 0"
    assert _one(x > 0).text == "x > 0"
    assert "invertible" in _one(Invertible(X.T * X)).latex
    assert _one(InverseOf(sp.Function("g"), sp.Function("f"))).text == "g = f⁻¹"
    assert _one(Simplex(nt.Vector("p", n))).text == "pₖ ≥ 0, Σₖ pₖ = 1"
