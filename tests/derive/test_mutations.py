"""The engine catches mistakes: every topic, with one step corrupted, must fail both ways.

Each case takes a correct topic, replaces one step's statement by the same statement with a
classic slip (a flipped sign, a dropped factor of 2, a wrong exponent) and asserts that the
symbolic check *fails* (not merely "undecided") and that the numeric check fails with a
counterexample. A final test checks the unmutated steps pass, so the mutations are what fail.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from dlmath.derive import check_item, check_topic
from dlmath.derive import notation as nt
from dlmath.topics import get_topic


def _sym(topic_module):
    import importlib

    return importlib.import_module(f"dlmath.topics.{topic_module}")._s()


def _gaussian_gradient_sign(stmt):
    sp_, nt_, n, d, X, w, y, *_ = _sym("gaussian_l2")
    return dataclasses.replace(stmt, rhs=X.T * (y - X * w))


def _gaussian_nll_two(stmt):
    sp_, nt_, n, d, X, w, y, w_hat, sigma, *_ = _sym("gaussian_l2")
    return dataclasses.replace(
        stmt, rhs=n / 2 * sp.log(2 * sp.pi * sigma**2) + nt.Norm(y - X * w) ** 2 / sigma**2
    )


def _laplace_nll_two(stmt):
    sp_, nt_, n, d, X, w, y, b, *_ = _sym("laplace_l1")
    return dataclasses.replace(stmt, rhs=n * sp.log(b) + nt.Norm1(y - X * w) / b)


def _laplace_subgradient_sign(stmt):
    sp_, nt_, n, d, X, w, y, *_ = _sym("laplace_l1")
    return dataclasses.replace(stmt, rhs=X.T * nt.SignOf(y - X * w))


def _softmax_hessian_sign(stmt):
    sp_, nt_, K, z, y, v, p, *_ = _sym("softmax_hessian")
    return dataclasses.replace(stmt, rhs=nt.SumEntries(y) * (nt.Diag(p) + p * p.T))


def _softmax_entry_exponent(stmt):
    sp_, nt_, K, z, y, v, p, i, j, *_ = _sym("softmax_hessian")
    return dataclasses.replace(stmt, rhs=p[i, 0] * (sp.KroneckerDelta(i, j) - p[j, 0] ** 2))


def _smooth_max_tau_exponent(stmt):
    sp_, nt_, a, b, g, tau, *_ = _sym("smooth_max")
    return dataclasses.replace(stmt, rhs=a + tau**2 * sp.log(1 + sp.exp(-(a - b) / tau)))


def _smooth_max_upper_half(stmt):
    sp_, nt_, a, b, g, tau, n, x = _sym("smooth_max")
    return dataclasses.replace(stmt, rhs=nt.MaxEntry(x) + tau * sp.log(n) / 2)


def _lse_shift_sign(stmt):
    sp_, nt_, n, x, i, m = _sym("logsumexp")
    return dataclasses.replace(stmt, rhs=m + sp.log(sp.Sum(sp.exp(x[i, 0] + m), (i, 0, n - 1))))


def _xx_exponent(stmt):
    sp_, x = _sym("x_pow_x")
    return dataclasses.replace(stmt, rhs=x ** (x - 1) * (sp.log(x) + 1))


def _xx_sign(stmt):
    sp_, x = _sym("x_pow_x")
    return dataclasses.replace(stmt, rhs=x**x * (sp.log(x) - 1))


def _norm_exponent(stmt):
    sp_, nt_, n, x, *_ = _sym("norm_gradient")
    return dataclasses.replace(stmt, rhs=x / nt.Norm(x) ** 2)


def _inverse_exponent(stmt):
    sp_, x, y, yp, f, g = _sym("inverse_derivative")
    return dataclasses.replace(stmt, rhs=stmt.rhs**2)


def _inverse_two(stmt):
    sp_, x, y, yp, f, g = _sym("inverse_derivative")
    return dataclasses.replace(stmt, rhs=1 / sp.Subs(sp.Derivative(x**3, x), x, yp ** sp.Rational(1, 3)) / 3)


MUTATIONS = [
    ("gaussian-l2", "gradient", "sign flip", _gaussian_gradient_sign),
    ("gaussian-l2", "nll", "dropped factor 2", _gaussian_nll_two),
    ("laplace-l1", "nll", "dropped factor 2", _laplace_nll_two),
    ("laplace-l1", "subgradient", "sign flip", _laplace_subgradient_sign),
    ("softmax-hessian", "hessian", "sign flip", _softmax_hessian_sign),
    ("softmax-hessian", "entrywise", "wrong exponent", _softmax_entry_exponent),
    ("smooth-max", "temperature", "wrong exponent", _smooth_max_tau_exponent),
    ("smooth-max", "n-ary-upper", "halved bound", _smooth_max_upper_half),
    ("logsumexp", "shift", "sign flip", _lse_shift_sign),
    ("x-pow-x", "result", "wrong exponent", _xx_exponent),
    ("x-pow-x", "result", "sign flip", _xx_sign),
    ("norm-gradient", "gradient", "wrong exponent", _norm_exponent),
    ("inverse-derivative", "tanh-atanh", "wrong exponent", _inverse_exponent),
    ("inverse-derivative", "cube-root", "extra factor", _inverse_two),
]


def _mutated(topic_id, item_id, mutate):
    """The topic with one step (or claim) replaced by its mutated statement."""
    topic = get_topic(topic_id)
    field = "steps" if any(s.id == item_id for s in topic.steps) else "claims"
    items = list(getattr(topic, field))
    k = next(i for i, s in enumerate(items) if s.id == item_id)
    original = items[k].statement()
    items[k] = dataclasses.replace(items[k], build=lambda: mutate(original))
    return dataclasses.replace(topic, **{field: tuple(items)}), items[k]


@pytest.mark.parametrize(
    ("topic_id", "step_id", "kind", "mutate"), MUTATIONS, ids=[f"{m[0]}-{m[1]}-{m[2]}" for m in MUTATIONS]
)
def test_mutation_fails_both_checks(topic_id, step_id, kind, mutate):
    topic, step = _mutated(topic_id, step_id, mutate)
    item = check_item(topic, step)
    assert item.symbolic.status == "fail", item.symbolic
    assert item.symbolic.residual
    assert item.numeric.status == "fail", item.numeric
    assert item.numeric.counterexample
    assert not item.passed


def test_every_topic_has_a_mutation():
    from dlmath.topics import TOPICS

    assert {t.id for t in TOPICS} == {m[0] for m in MUTATIONS}


@pytest.mark.parametrize(("topic_id", "step_id"), sorted({(m[0], m[1]) for m in MUTATIONS}))
def test_unmutated_step_passes(topic_id, step_id):
    topic = get_topic(topic_id)
    step = next(s for s in topic.steps + topic.claims if s.id == step_id)
    item = check_item(topic, step)
    assert item.passed, (item.symbolic, item.numeric)


def test_mutated_topic_report_fails_and_names_the_step():
    from dlmath.derive.report import failure_lines

    topic, step = _mutated("x-pow-x", "result", _xx_exponent)
    report = check_topic(topic)
    assert not report.passed
    (line,) = failure_lines(report)
    assert line.startswith("x-pow-x/result: symbolic fail (residual:")
    assert "counterexample: x = " in line


def test_mutated_latex_shows_the_mutation():
    topic, step = _mutated("x-pow-x", "result", _xx_exponent)
    assert "x^{x - 1}" in step.latex
    assert nt.latex(sp.Symbol("x")) == "x"
