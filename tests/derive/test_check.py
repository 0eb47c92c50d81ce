"""Checking items and topics: both verdicts, failures as data, general rules on instances."""

from __future__ import annotations

import os

import pytest
import sympy as sp

from dlmath.derive import (
    CheckResult,
    Derivative,
    Eq,
    InverseOf,
    ItemReport,
    Ne,
    Subs,
    Topic,
    TopicReport,
    check_item,
    check_topic,
)
from dlmath.derive.check import check_topics


def test_an_item_passes_only_with_both_verdicts():
    ok, und, bad, na = CheckResult("pass"), CheckResult("undecided"), CheckResult("fail"), CheckResult("n/a")
    assert ItemReport("a", "A", "step", ok, ok).verdict == "proved"
    assert ItemReport("a", "A", "step", und, ok).verdict == "numeric"
    assert ItemReport("a", "A", "step", na, ok).verdict == "numeric"
    assert ItemReport("a", "A", "step", ok, und).verdict == "failed"
    assert ItemReport("a", "A", "step", bad, ok).verdict == "failed"
    assert not TopicReport("t").passed  # an empty report is not a pass


def test_an_exception_inside_a_check_is_a_failure_not_a_crash():
    t = Topic("boom", "t")
    x = t.scalar("x")

    def broken(rng, size):
        raise RuntimeError("sampler broke")

    t.sampler(broken)
    item = t.step("s", Eq(x + x, 2 * x), label="doubling")
    report = check_item(t, item)
    assert report.numeric.status == "fail" and "sampler broke" in report.numeric.detail


def test_checks_run_fresh_each_time():
    calls = []
    t = Topic("fresh", "t")
    x = t.scalar("x")

    def sample(rng, size):
        calls.append(1)
        return {"x": float(rng.normal())}

    t.sampler(sample)
    t.step("s", Eq(x + x, 2 * x), label="doubling", seeds=2)
    check_topic(t)
    first = len(calls)
    check_topic(t)
    assert len(calls) == 2 * first > 0  # no cached verdicts


def _inverse_topic(step_rhs, assumptions):
    t = Topic("rule", "t")
    y = t.scalar("y")
    f, g = t.function("f"), t.function("g")
    t.step(
        "rule", Eq(Derivative(f(g(y)), y), step_rhs(f, g, y)), label="rule", assume=list(assumptions(f, g))
    )
    return t


def test_the_chain_rule_is_proved_for_generic_functions():
    x = sp.Symbol("x", real=True)
    t = _inverse_topic(
        lambda f, g, y: Subs(Derivative(f(x), x), x, g(y)) * Derivative(g(y), y), lambda f, g: ()
    )
    report = check_topic(t)
    assert report.passed and report.items[0].verdict == "proved"
    assert "instances" in report.items[0].numeric.detail


def test_a_rule_that_needs_an_inverse_fails_on_unrelated_functions_and_passes_with_it():
    wrong = check_topic(_inverse_topic(lambda f, g, y: 1, lambda f, g: ()))
    assert not wrong.passed  # d/dy f(g(y)) = 1 is false for f = sin, g = exp
    right = check_topic(_inverse_topic(lambda f, g, y: 1, lambda f, g: (InverseOf(g, f),)))
    assert right.passed and right.items[0].verdict == "proved"


def test_the_inverse_derivative_rule_is_checked_on_every_inverse_pair():
    t = Topic("inverse", "t")
    x, y = t.scalars("x y")
    f, g = t.function("f"), t.function("g")
    slope = Subs(Derivative(f(x), x), x, g(y))
    t.step("solve", Eq(Derivative(g(y), y), 1 / slope), label="solve", assume=[InverseOf(g, f), Ne(slope, 0)])
    report = check_topic(t)
    (item,) = report.items
    assert item.passed and item.verdict == "numeric"
    assert "proves it for each of" in item.symbolic.detail
    # without the condition on the slope, the cube and its real cube root break it at 0
    t2 = Topic("inverse-flat", "t")
    x2, y2 = t2.scalars("x y")
    f2, g2 = t2.function("f"), t2.function("g")
    slope2 = Subs(Derivative(f2(x2), x2), x2, g2(y2))
    t2.step("solve", Eq(Derivative(g2(y2), y2), 1 / slope2), label="solve", assume=[InverseOf(g2, f2)])
    assert not check_topic(t2).passed


def test_a_measured_quantity_is_checked_numerically_only():
    t = Topic("measured", "t")
    m = t.measure("twice", lambda v: 2 * float(v))
    item = t.claim("doubles", Eq(m(3), 6), label="the experiment doubles")
    report = check_item(t, item)
    assert report.symbolic.status == "n/a" and report.passed and report.verdict == "numeric"
    wrong = t.claim("triples", Eq(m(3), 9), label="wrong")
    assert not check_item(t, wrong).passed


def test_no_process_is_forked_where_jax_is_loaded(monkeypatch):
    # JAX's runtime is multithreaded: a fork after it has started warns, and may deadlock
    jax = pytest.importorskip("jax", reason="the case of a process that has loaded JAX")
    jax.numpy.zeros(1).block_until_ready()  # its runtime started

    def no_fork():
        raise AssertionError("forked a process that has loaded JAX")

    monkeypatch.setattr(os, "fork", no_fork)
    t1 = _inverse_topic(lambda f, g, y: 1, lambda f, g: (InverseOf(g, f),))
    t2 = _inverse_topic(lambda f, g, y: 1, lambda f, g: ())
    reports = check_topics([t1, t2], jobs=2)
    assert [r.topic_id for r in reports] == ["rule", "rule"]


def test_reports_do_not_depend_on_the_number_of_processes():
    t1 = _inverse_topic(lambda f, g, y: 1, lambda f, g: (InverseOf(g, f),))
    t2 = _inverse_topic(lambda f, g, y: 1, lambda f, g: ())
    one = check_topics([t1, t2], jobs=1)
    two = check_topics([t1, t2], jobs=2)
    strip = lambda rs: [[(i.id, i.passed, i.numeric.detail) for i in r.items] for r in rs]  # noqa: E731
    assert strip(one) == strip(two)
    done = []
    check_topics([t1], progress=lambda k, total, report: done.append((k, total, report.topic_id)))
    assert done == [(1, 1, "rule")]
