"""The numeric verdict: both sides and the dlmath reference on random instances of the domain."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dlmath.derive import Numeric, Statement
from dlmath.derive import notation as nt
from dlmath.derive.assumptions import assumption
from dlmath.derive.domain import Domain, SampleError
from dlmath.derive.numeric import Sides, check, compare, tolerances

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
SIZES = ({"n": 3, "d": 1}, {"n": 5, "d": 2})


def test_a_true_gradient_passes_and_reports_tolerance_instances_and_residual():
    stmt = Statement(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), X.T * (X * w - y))
    res = check(stmt, Numeric(seeds=2), Domain([]), SIZES)
    assert res.status == "pass"
    assert res.instances == 4
    assert (res.rtol, res.atol) == (1e-6, 1e-8)  # finite differences: the looser default
    assert 0 <= res.largest_residual < 1e-6


def test_a_wrong_gradient_fails_with_a_counterexample():
    stmt = Statement(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), X.T * (y - X * w))
    res = check(stmt, Numeric(seeds=2), Domain([]), SIZES)
    assert res.status == "fail"
    assert "X = " in res.counterexample and "lhs" in res.counterexample


def test_the_reference_implementation_must_agree_with_the_derived_side():
    from dlmath import logsumexp

    v = nt.Vector("v", n)
    i = sp.Symbol("i", integer=True)
    stmt = Statement(nt.LSE(v), sp.log(sp.Sum(sp.exp(v[i, 0]), (i, 0, n - 1))))

    def right(vals):
        return [("dlmath.logsumexp", logsumexp(vals["v"].ravel()))]

    def wrong(vals):
        return [("a wrong reference", logsumexp(vals["v"].ravel()) + 1e-6)]

    ok = check(stmt, Numeric(reference=right, against="lhs"), Domain([]), ({"n": 3},))
    assert ok.status == "pass" and "dlmath.logsumexp" in ok.detail
    bad = check(stmt, Numeric(reference=wrong, against="lhs"), Domain([]), ({"n": 3},))
    assert bad.status == "fail" and "a wrong reference" in bad.detail


def test_samples_respect_the_assumptions_and_a_sampler_that_breaks_them_is_an_error():
    stmt = Statement(sp.log(x**2), 2 * sp.log(x))
    res = check(stmt, Numeric(seeds=6), Domain(assumption(x > 0)), ({},))
    assert res.status == "pass"
    with pytest.raises(SampleError, match="x > 0"):
        Domain(assumption(x > 0), distributions={"x": (-2.0, -1.0)}).sample(
            np.random.default_rng(0), {}, [x], []
        )


def test_without_its_assumption_a_domain_dependent_identity_fails():
    stmt = Statement(sp.log(x**2), 2 * sp.log(x))
    assert check(stmt, Numeric(seeds=6), Domain([]), ({},)).status == "fail"


def test_a_given_symbol_is_computed_from_its_definition():
    p = nt.Vector("p", n)
    z = nt.Vector("z", n)
    stmt = Statement(nt.SumEntries(p), sp.S.One, given={p: nt.Softmax(z)})
    sides = Sides(stmt, {"n"})
    assert [m.name for m in sides.matrices] == ["z"]
    assert check(stmt, Numeric(), Domain([]), ({"n": 4},)).status == "pass"


def test_a_closed_form_statement_has_one_instance():
    res = check(Statement(sp.log(sp.Integer(8)), 3 * sp.log(2)), Numeric(seeds=5), Domain([]), SIZES)
    assert res.instances == 1


def test_tolerances_default_and_loosen_for_finite_differences():
    assert tolerances(Statement(x, x), Numeric()) == (1e-9, 1e-12)
    assert tolerances(Statement(sp.Derivative(x**2, x), 2 * x), Numeric()) == (1e-6, 1e-8)
    assert tolerances(Statement(x, x), Numeric(rtol=1e-3, atol=0.0)) == (1e-3, 0.0)


def test_compare_relations():
    assert compare("=", [1.0, 2.0], [1.0, 2.0 + 1e-12], 1e-9, 0.0)[0]
    assert not compare("=", [1.0], [1.1], 1e-9, 0.0)[0]
    assert compare(">", [2.0], [1.0], 0, 0)[0] and not compare(">", [1.0], [1.0], 0, 0)[0]
    assert compare(">=", [1.0], [1.0], 0, 0)[0]
    assert compare("≈", [0.3679], [0.368], 0, 0, tol=5e-4)[0]
    assert not compare("=", [np.nan], [np.nan], 1e-9, 1e-12)[0]  # NaN is never a verdict
    assert compare("=", [np.inf], [np.inf], 1e-9, 1e-12)[0]


def test_a_measured_function_is_called_and_its_value_compared():
    f = sp.Function("measured")
    stmt = Statement(f(sp.Integer(3)), sp.Integer(9))
    assert check(stmt, Numeric(), Domain([]), ({},), functions={"measured": lambda v: v * v}).status == "pass"
    assert check(stmt, Numeric(), Domain([]), ({},), functions={"measured": lambda v: v + v}).status == "fail"


def test_python_floats_get_numpy_semantics_not_complex_results():
    stmt = Statement(x ** sp.Rational(1, 3), x ** sp.Rational(1, 3))
    domain = Domain([], distributions={"x": (-8.0, -1.0)})
    res = check(stmt, Numeric(), domain, ({},))
    assert res.status == "fail"  # NaN on both sides: the cube root of a negative float is not real here


def test_a_scalar_statement_that_uses_a_dimension_gets_its_sizes():
    k = sp.Symbol("K", integer=True, positive=True)
    eps = sp.Symbol("epsilon", real=True)
    stmt = Statement(sp.log(k * eps), sp.log(k) + sp.log(eps), simplify=("expand_log",))
    res = check(stmt, Numeric(), Domain(assumption(eps > 0)), ({"K": 2}, {"K": 5}))
    assert res.status == "pass" and res.instances == 6
