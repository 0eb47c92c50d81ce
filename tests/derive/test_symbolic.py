"""The symbolic verdict: pass, fail with residual and counterexample, or an honest undecided."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import Statement
from dlmath.derive import notation as nt
from dlmath.derive.symbolic import decide

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def test_symbolic_pass_on_true_identity():
    res = decide(Statement((x + 1) ** 2, x**2 + 2 * x + 1), {})
    assert res.status == "pass"
    assert "residual reduces to 0" in res.detail


def test_symbolic_fail_names_residual_and_counterexample():
    res = decide(Statement((x + 1) ** 2, x**2 + x + 1), {})
    assert res.status == "fail"
    assert res.residual == "x"
    assert "x = " in res.counterexample


def test_symbolic_undecided_when_rewrites_fall_short_but_points_agree():
    res = decide(Statement(sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.S.One, simplify=("cancel",)), {})
    assert res.status == "undecided"
    assert "numeric check decides" in res.detail


def test_symbolic_inequality_proved_refuted_and_undecided():
    assert decide(Statement(t + 1, t, relation=">"), {}).status == "pass"
    assert decide(Statement(t, t + 1, relation=">"), {}).status == "fail"
    # true (log x <= x - 1) but beyond SymPy's sign rules
    assert decide(Statement(sp.log(t), t - 1, relation="<=", simplify=()), {}).status == "undecided"


def test_symbolic_wlog_applies_before_limits():
    a, b = sp.symbols("a b", real=True)

    def gap(symbols):
        return {symbols["a"]: symbols["b"] + sp.Symbol("g", positive=True)} if "a" in symbols else {}

    stmt = Statement(
        sp.Limit(a + t * sp.log(1 + sp.exp((b - a) / t)), t, 0, "+"), sp.Max(a, b), wlog=gap, simplify=()
    )
    assert decide(stmt, {}).status == "pass"


def test_symbolic_shape_mismatch_fails():
    res = decide(Statement(X.T * y, w.T * w, dims={"n": 3, "d": 2}), {n: 3, d: 2})
    assert res.status == "fail"


def test_symbolic_false_entry_is_not_hidden_behind_an_undecided_one():
    # entry 0: true but beyond "cancel"; entry 1: false
    lhs = sp.ImmutableMatrix([sp.sin(x) ** 2 + sp.cos(x) ** 2, x + 1])
    rhs = sp.ImmutableMatrix([1, x])
    res = decide(Statement(lhs, rhs, simplify=("cancel",)), {})
    assert res.status == "fail"
    assert res.residual == "1"


def test_undecided_says_how_many_probe_points_could_be_evaluated():
    # log(x - 10) is not real at the probe points (x ~ N(0, 1.5)): none of them is evidence
    stmt = Statement(sp.log(x - 10) + sp.log(x - 11), sp.log((x - 10) * (x - 11)), simplify=())
    res = decide(stmt, {})
    assert res.status == "undecided"
    assert "could not be evaluated (real and finite) at any of 6 random points" in res.detail
    res = decide(Statement(sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.S.One, simplify=("cancel",)), {})
    assert "it is 0 at 6 random points" in res.detail
