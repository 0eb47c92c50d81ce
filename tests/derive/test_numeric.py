"""The numeric verdict: both sides and the dlmath reference on random instances."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import Numeric, Statement
from dlmath.derive import notation as nt
from dlmath.derive.numeric import check as numeric_check

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def _sample_xy(rng, size):
    nn, dd = size.get("n", 3), size.get("d", 2)
    return {"X": rng.normal(size=(nn, dd)), "w": rng.normal(size=(dd, 1)), "y": rng.normal(size=(nn, 1))}


def _scalar(rng, size):
    return {"x": float(rng.normal()), "t": float(rng.uniform(0.1, 3.0))}


def test_numeric_pass_reports_tolerance_and_instances():
    stmt = Statement(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), X.T * (X * w - y))
    spec = Numeric(_sample_xy, sizes=({"n": 3, "d": 1}, {"n": 5, "d": 2}), seeds=2, rtol=1e-6, atol=1e-8)
    res = numeric_check(stmt, spec)
    assert res.status == "pass"
    assert res.instances == 4
    assert res.tolerance == 1e-6
    assert "rtol 1e-06" in res.detail


def test_numeric_fail_gives_counterexample():
    stmt = Statement(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), X.T * (y - X * w))
    spec = Numeric(_sample_xy, sizes=({"n": 3, "d": 2},), rtol=1e-6, atol=1e-8)
    res = numeric_check(stmt, spec)
    assert res.status == "fail"
    assert "X = " in res.counterexample and "lhs" in res.counterexample


def test_numeric_reference_disagreement_fails_even_if_sides_agree():
    stmt = Statement(sp.exp(x) * sp.exp(-x), sp.S.One)
    spec = Numeric(_scalar, sizes=({},), reference=lambda vals: [("a wrong implementation", 1.5)])
    res = numeric_check(stmt, spec)
    assert res.status == "fail"
    assert "a wrong implementation" in res.detail


def test_numeric_limit_and_derivative_nodes():
    ok = Statement(sp.Limit(sp.sin(t) / t, t, 0, "+"), sp.S.One)
    assert numeric_check(ok, Numeric(_scalar, sizes=({},), atol=1e-6)).status == "pass"
    deriv = Statement(sp.Derivative(x**3, x), 3 * x**2)
    assert numeric_check(deriv, Numeric(_scalar, sizes=({},), rtol=1e-6, atol=1e-8)).status == "pass"
    wrong = Statement(sp.Derivative(x**3, x), 3 * x)
    assert numeric_check(wrong, Numeric(_scalar, sizes=({},), rtol=1e-6, atol=1e-8)).status == "fail"


def test_numeric_given_values_are_derived_before_comparison():
    v = nt.Vector("v", n)
    p = nt.Vector("p", n)
    stmt = Statement(
        (nt.Diag(p) - p * p.T) * sp.OneMatrix(n, 1), sp.ZeroMatrix(n, 1), given={p: nt.Softmax(v)}
    )

    def sample(rng, size):
        return {"v": rng.normal(size=(size["n"], 1))}

    assert numeric_check(stmt, Numeric(sample, sizes=({"n": 4},), atol=1e-15)).status == "pass"
