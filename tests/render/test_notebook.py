"""In a notebook: a topic and its report display themselves as Markdown the notebook typesets.

The displays live in :mod:`dlmath.derive.display`; these tests hold them to what a user touches.
"""

from __future__ import annotations

import re

import pytest
from _fakes import failing_topic, passing_topic

from dlmath.topics import TOPICS


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_repr_of_a_topic_is_one_short_line(topic):
    text = repr(topic)
    assert "\n" not in text and len(text) <= 80 and topic.id in text


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_topic_markdown_has_its_math_and_names_each_function_once(topic):
    out = topic._repr_markdown_()
    assert out.startswith("### ") and f"(`{topic.id}`)" in out
    assert out.count("$$") == 2 * len(topic.steps + topic.claims)
    assert "dlmath.dlmath" not in out
    if topic.implemented_by:
        (line,) = [line for line in out.splitlines() if line.startswith("Implemented by ")]
        assert line == "Implemented by " + ", ".join(f"`{n}`" for n in topic.implemented_by) + "."


def test_topic_markdown_numbers_claims_apart_from_steps():
    out = passing_topic()._repr_markdown_()
    assert re.search(r"^1\. \*\*The power rule\*\*", out, re.M)
    assert re.search(r"^2\. \*\*The slope at \$x = 1\$\*\*", out, re.M)
    assert re.search(r"^\(a\)\.? \*\*A square is never negative\*\*", out, re.M)
    assert "Bring the exponent down" in out


@pytest.fixture(scope="module")
def failing_report():
    return failing_topic().check()


def test_check_returns_a_report_that_displays_its_verdicts(failing_report):
    out = failing_report._repr_markdown_()
    assert "✓ proved" in out and "✗ FAILING" in out
    assert "counterexample" in out and "checks FAIL" in out
    assert "\n" not in repr(failing_report) and "FAIL" in repr(failing_report)


def test_check_report_display_carries_the_reasons_and_numbers_claims_apart():
    out = passing_topic().check()._repr_markdown_()
    assert "Bring the exponent down" in out
    assert re.search(r"^1\. ", out, re.M) and re.search(r"^\(a\)\.? ", out, re.M)
