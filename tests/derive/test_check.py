"""Checking items and topics: both verdicts, failures as data, no cached verdicts, rendering from statements."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from dlmath.derive import CheckResult, Numeric, Statement, Step, Topic, check_item, check_topic
from dlmath.derive.model import ItemReport, TopicReport

x = sp.Symbol("x", real=True)


def _scalar(rng, size):
    return {"x": float(rng.normal()), "t": float(rng.uniform(0.1, 3.0))}


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
