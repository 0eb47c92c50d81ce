"""The symbolic verdict: pass, fail with a residual, or an honest undecided (never sampled)."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import Statement
from dlmath.derive import notation as nt
from dlmath.derive.assumptions import assumption
from dlmath.derive.symbolic import decide

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def _facts(*predicates):
    found = [a for p in predicates for a in assumption(p)]

    def refine(e):
        for a in found:
            e = a.refine(e)
        return e

    return refine


def test_symbolic_pass_on_true_identity():
    res = decide(Statement((x + 1) ** 2, x**2 + 2 * x + 1), {})
    assert res.status == "pass"
    assert "residual reduces to 0" in res.detail


def test_a_residual_that_is_a_nonzero_number_fails_with_the_residual():
    res = decide(Statement((x + 1) ** 2 - x**2, 2 * x), {})
    assert res.status == "fail"
    assert res.residual == "1"


def test_a_residual_with_symbols_is_undecided_and_says_the_search_decides():
    res = decide(Statement((x + 1) ** 2, x**2 + x + 1), {})
    assert res.status == "undecided"
    assert res.residual == "x"
    assert "searches the stated domain" in res.detail


def test_symbolic_inequality_proved_refuted_and_undecided():
    assert decide(Statement(t + 1, t, relation=">"), {}).status == "pass"
    assert decide(Statement(t, t + 1, relation=">"), {}).status == "fail"
    # true (log t <= t - 1) but beyond SymPy's sign rules
    assert decide(Statement(sp.log(t), t - 1, relation="<=", simplify=()), {}).status == "undecided"


def test_an_assumption_gives_sympy_the_fact_a_step_needs():
    stmt = Statement(sp.log(x**x), x * sp.log(x), simplify=("expand_log",))
    assert decide(stmt, {}).status == "undecided"
    assert decide(stmt, {}, _facts(x > 0)).status == "pass"


def test_an_order_assumption_writes_the_larger_as_the_smaller_plus_a_gap():
    a, b = sp.symbols("a b", real=True)
    stmt = Statement(a + sp.log(1 + sp.exp(b - a)), sp.Max(a, b), relation=">", simplify=("expand",))
    assert decide(stmt, {}, _facts(a >= b)).status == "pass"


def test_wlog_applies_before_limits():
    a, b = sp.symbols("a b", real=True)

    def gap(symbols):
        return {symbols["a"]: symbols["b"] + sp.Symbol("g", positive=True)} if "a" in symbols else {}

    stmt = Statement(
        sp.Limit(a + t * sp.log(1 + sp.exp((b - a) / t)), t, 0, "+"), sp.Max(a, b), wlog=gap, simplify=()
    )
    assert decide(stmt, {}).status == "pass"


def test_symbolic_shape_mismatch_fails():
    assert decide(Statement(X.T * y, w.T * w, dims={"n": 3, "d": 2}), {n: 3, d: 2}).status == "fail"


def test_a_false_entry_is_not_hidden_behind_an_undecided_one():
    lhs = sp.ImmutableMatrix([sp.sin(x) ** 2 + sp.cos(x) ** 2 + x - x, x + 1])
    rhs = sp.ImmutableMatrix([1, x])
    res = decide(Statement(lhs, rhs, simplify=("cancel",)), {})
    assert res.status == "fail"
    assert res.residual == "1"


def test_a_small_leftover_gets_one_simplify():
    assert (
        decide(Statement(sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.S.One, simplify=("cancel",)), {}).status
        == "pass"
    )


def test_approx_is_decided_to_the_printed_digits():
    from dlmath.derive import Approx

    assert decide(Statement.of(Approx(1 / sp.E, "0.368")), {}).status == "pass"
    bad = decide(Statement.of(Approx(1 / sp.E, "0.378")), {})
    assert bad.status == "fail" and "printed digits" in bad.detail
    # the tolerance is half a unit of the last digit: 0.3679 is 1/e to 4 digits, 0.3678 is not
    assert decide(Statement.of(Approx(1 / sp.E, "0.3679")), {}).status == "pass"
    assert decide(Statement.of(Approx(1 / sp.E, "0.3678")), {}).status == "fail"


def test_not_equal_passes_only_where_the_sides_differ():
    assert decide(Statement(x + 1, x, relation="!="), {}).status == "pass"
    assert decide(Statement(2 * x, x + x, relation="!="), {}).status == "fail"
