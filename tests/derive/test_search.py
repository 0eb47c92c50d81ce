"""The counterexample search: where SymPy cannot decide, it looks where statements break."""

from __future__ import annotations

import numpy as np
import sympy as sp

from dlmath.derive import Statement
from dlmath.derive import notation as nt
from dlmath.derive.assumptions import Nonzero, assumption
from dlmath.derive.domain import Domain, apply_special
from dlmath.derive.numeric import Sides
from dlmath.derive.search import exact_violation, nelder_mead, search
from dlmath.derive.symbolic import explicit_sides

n = sp.Symbol("n", integer=True, positive=True)
x, u = nt.Vector("x", n), nt.Vector("u", n)
SIZES = ({"n": 1}, {"n": 3})


def _search(stmt, *predicates):
    domain = Domain([a for p in predicates for a in assumption(p)])
    sides = Sides(stmt, {"n"})
    confirm = exact_violation(stmt, None, lambda s, d: explicit_sides(s, d))
    return search(stmt, sides, domain, SIZES, 1e-9, 1e-12, confirm=confirm)


def test_cauchy_schwarz_holds_and_the_search_says_what_it_tried():
    res = _search(Statement(nt.Norm(x), nt.Dot(u, x) / nt.Norm(u), relation=">="), Nonzero(u))
    assert res.status == "pass"
    assert "special points" in res.detail and res.instances > 100


def test_a_strict_version_breaks_where_the_vectors_are_parallel():
    res = _search(Statement(nt.Norm(x), nt.Dot(u, x) / nt.Norm(u), relation=">"), Nonzero(u))
    assert res.status == "fail"
    assert "strict" in res.detail


def test_a_slightly_too_strong_bound_is_broken_by_optimisation():
    res = _search(
        Statement(nt.Norm(x), nt.Dot(u, x) / nt.Norm(u) + nt.Norm(u) / 10, relation=">="), Nonzero(u)
    )
    assert res.status == "fail"
    assert res.counterexample


def test_a_side_that_is_not_real_on_the_stated_domain_is_a_counterexample():
    t = sp.Symbol("t", real=True)
    stmt = Statement(sp.log(t**2), 2 * sp.log(t))
    res = search(
        stmt,
        Sides(stmt, set()),
        Domain([]),
        ({},),
        1e-9,
        1e-12,
        confirm=exact_violation(stmt, None, lambda s, d: explicit_sides(s, d)),
    )
    assert res.status == "fail" and "not a real number" in res.detail


def test_a_floating_point_artefact_is_not_reported_when_exact_arithmetic_disagrees():
    t = sp.Symbol("t", real=True)
    # exp(t) - 1 - t loses every digit for tiny t in floating point, yet it is >= 0 exactly
    stmt = Statement(sp.exp(t) - 1, t, relation=">=")
    res = search(
        stmt,
        Sides(stmt, set()),
        Domain([]),
        ({},),
        0.0,
        0.0,
        confirm=exact_violation(stmt, None, lambda s, d: explicit_sides(s, d)),
    )
    assert res.status == "pass"


def test_special_points_include_ties_and_equal_vectors():
    a, b = sp.symbols("a b", real=True)
    domain = Domain(assumption(a >= b))
    space = domain.space({"n": 2}, [a, b], [x, u])
    edits = [e for e in space.specials]
    assert {"a": ("tie", "b", False)} in edits
    assert {"x": ("like", "u", 1.0)} in edits and {"x": ("zero",)} in edits
    vals = {"a": 1.0, "b": 0.5, "x": np.ones((2, 1)), "u": np.full((2, 1), 3.0)}
    assert apply_special(vals, {"a": ("tie", "b", False)})["a"] == 0.5
    assert np.array_equal(apply_special(vals, {"x": ("like", "u", -1.0)})["x"], -vals["u"])


def test_the_parameters_map_onto_the_domain():
    t = sp.Symbol("t", real=True)
    domain = Domain(assumption(t > 2) + assumption(t < 3))
    space = domain.space({}, [t], [])
    for theta in (-50.0, 0.0, 50.0):
        assert 2.0 <= space.to_values(np.array([theta]))["t"] <= 3.0


def test_nelder_mead_finds_the_minimum_of_a_kinked_function():
    best, value = nelder_mead(lambda p: abs(p[0] - 1.0) + abs(p[1] + 2.0), np.zeros(2), maxfev=400)
    assert np.allclose(best, [1.0, -2.0], atol=1e-4) and value < 1e-4
