"""The engine on small hand-made statements: explicit forms, both checks, reports, rendering."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from dlmath.derive import CheckResult, Numeric, Statement, Step, Topic, check_item, check_topic
from dlmath.derive import notation as nt
from dlmath.derive.explicit import explicit
from dlmath.derive.model import ItemReport, TopicReport
from dlmath.derive.numeric import check as numeric_check
from dlmath.derive.numeric import fd_grad, fd_hessian
from dlmath.derive.symbolic import decide

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def _sample_xy(rng, size):
    nn, dd = size.get("n", 3), size.get("d", 2)
    return {"X": rng.normal(size=(nn, dd)), "w": rng.normal(size=(dd, 1)), "y": rng.normal(size=(nn, 1))}


def _scalar(rng, size):
    return {"x": float(rng.normal()), "t": float(rng.uniform(0.1, 3.0))}


# --- explicit forms ------------------------------------------------------------------------------


def test_explicit_gradient_of_squared_error_is_hand_derivation():
    # The matrix gradient SymPy gets wrong (diff((x.T*x)[0,0], x) == 0) is taken entry by entry.
    g = explicit(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), {n: 3, d: 2})
    Xe = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"X_{i}_{j}", real=True))
    we = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"w_{i}", real=True))
    ye = sp.Matrix(3, 1, lambda i, j: sp.Symbol(f"y_{i}", real=True))
    expected = Xe.T * (Xe * we - ye)
    assert (g - expected).applyfunc(sp.expand) == sp.zeros(2, 1)


def test_explicit_unrolls_sums_and_names_entries():
    i = sp.Symbol("i", integer=True)
    v = nt.Vector("v", n)
    e = explicit(sp.Sum(v[i, 0] ** 2, (i, 0, n - 1)), {n: 3})
    assert e == sum(sp.Symbol(f"v_{k}", real=True) ** 2 for k in range(3))
    assert nt.ENTRIES["v_2"] == ("v", 2, None)


def test_explicit_one_by_one_matrix_is_a_scalar():
    v = nt.Vector("v", n)
    e = explicit(v.T * v, {n: 2})
    assert e == sp.Symbol("v_0", real=True) ** 2 + sp.Symbol("v_1", real=True) ** 2


def test_explicit_hessian_of_logsumexp_is_softmax_covariance():
    z = nt.Vector("z", n)
    H = explicit(nt.Hess(nt.LSE(z), z), {n: 3})
    p = explicit(nt.Softmax(z), {n: 3})
    expected = sp.diag(*p) - p * p.T
    assert (H - expected).applyfunc(sp.cancel) == sp.zeros(3, 3)


def test_latex_uses_top_and_vector_subscripts():
    i = sp.Symbol("i", integer=True)
    assert nt.latex(X.T * y) == r"X^{\top} y"
    assert nt.latex(y[i, 0]) == "y_{i}"
    assert nt.latex(nt.Grad(nt.Norm(w), w)) == r"\nabla_{w} \left\lVert w \right\rVert_{2}"


# --- symbolic verdicts ---------------------------------------------------------------------------


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


# --- numeric verdicts ----------------------------------------------------------------------------


def test_fd_grad_and_hessian_match_analytic():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])

    def f(v):
        return 0.5 * v @ A @ v + np.sin(v[0])

    v = np.array([0.3, -1.2])
    np.testing.assert_allclose(fd_grad(f, v), A @ v + np.array([np.cos(0.3), 0.0]), rtol=1e-8)
    np.testing.assert_allclose(fd_hessian(f, v), A + np.diag([-np.sin(0.3), 0.0]), atol=1e-6)


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


# --- items, topics, reports ----------------------------------------------------------------------


def _topic(*steps) -> Topic:
    return Topic(id="t", title="T", claim="c", assumptions=(), steps=steps)


def test_item_report_passes_only_with_both_verdicts():
    ok, und, bad = CheckResult("pass"), CheckResult("undecided"), CheckResult("fail")
    assert ItemReport("a", "A", "step", ok, ok).passed
    assert ItemReport("a", "A", "step", und, ok).passed
    assert not ItemReport("a", "A", "step", ok, und).passed
    assert not ItemReport("a", "A", "step", bad, ok).passed
    assert not TopicReport("t").passed  # an empty report is not a pass


def test_step_without_numeric_check_cannot_pass():
    step = Step("s", "S", "", lambda: Statement(x + x, 2 * x))
    item = check_item(_topic(step), step)
    assert item.symbolic.status == "pass"
    assert item.numeric.status == "skipped"
    assert not item.passed


def test_exceptions_become_failures_not_crashes():
    def boom(rng, size):
        raise RuntimeError("sampler broke")

    step = Step("s", "S", "", lambda: Statement(x + x, 2 * x), Numeric(boom, sizes=({},)))
    item = check_item(_topic(step), step)
    assert item.numeric.status == "fail"
    assert "sampler broke" in item.numeric.detail

    def no_build():
        raise ValueError("cannot build")

    broken = Step("b", "B", "", no_build, Numeric(_scalar, sizes=({},)))
    report = check_topic(_topic(step, broken))
    assert not report.passed
    assert "cannot build" in report.items[1].symbolic.detail


def test_latex_and_text_come_from_the_statement():
    step = Step("s", "S", "", lambda: Statement(sp.Derivative(x**x, x), x**x * (sp.log(x) + 1)))
    assert step.latex == r"\frac{d}{d x} x^{x} = x^{x} \left(\log{\left(x \right)} + 1\right)"
    assert "log(x) + 1" in step.text
    mutated = dataclasses.replace(step, build=lambda: Statement(sp.Derivative(x**x, x), x**x))
    assert mutated.latex != step.latex


def test_custom_numeric_callable_receives_a_generator():
    seen = []

    def experiment(rng):
        seen.append(rng)
        return CheckResult("pass", "ran", instances=1)

    step = Step("s", "S", "", lambda: Statement(x + x, 2 * x), experiment)
    item = check_item(_topic(step), step, seed=3)
    assert item.passed
    assert isinstance(seen[0], np.random.Generator)


@pytest.mark.parametrize("seed", [0, 1])
def test_checks_run_fresh_each_time(seed):
    calls = []

    def sample(rng, size):
        calls.append(1)
        return _scalar(rng, size)

    step = Step("s", "S", "", lambda: Statement(x + x, 2 * x), Numeric(sample, sizes=({},), seeds=2))
    topic = _topic(step)
    check_topic(topic, seed=seed)
    check_topic(topic, seed=seed)
    assert len(calls) == 4  # no cached verdicts


def test_symbolic_false_entry_is_not_hidden_behind_an_undecided_one():
    # entry 0: true but beyond "cancel"; entry 1: false
    lhs = sp.ImmutableMatrix([sp.sin(x) ** 2 + sp.cos(x) ** 2, x + 1])
    rhs = sp.ImmutableMatrix([1, x])
    res = decide(Statement(lhs, rhs, simplify=("cancel",)), {})
    assert res.status == "fail"
    assert res.residual == "1"
