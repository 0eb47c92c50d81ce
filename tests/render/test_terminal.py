"""Terminal rendering: ASCII spellings, folding wide formulas, wrapping, colour only on request."""

from __future__ import annotations

from collections import Counter

import pytest
from _fakes import failing_topic, make_reports

from dlmath.derive.results import CheckResult, ItemReport, TopicReport
from dlmath.render._ascii import to_ascii
from dlmath.render.terminal import Style, fold, render_table, render_topic
from dlmath.topics import TOPICS


@pytest.mark.parametrize(
    ("text", "ascii"),
    [
        ("σ̂² ≤ ‖x‖₂", "sigma_hat^2 <= ||x||_2"),
        ("Xᵀ X → ∞", "X^T X -> oo"),
        ("n·xⁿ⁻¹ ≈ 0.37", "n*x^(n-1) ~= 0.37"),
        ("∇ₓ LSE(x) = softmax(x) ✓", "grad_x LSE(x) = softmax(x) ok"),
        ("∇f(x) = 0", "grad f(x) = 0"),
        ("ŵ = (XᵀX)⁻¹Xᵀy — done", "w_hat = (X^TX)^(-1)X^Ty - done"),
        ("a ☃ b", "a ? b"),
    ],
)
def test_to_ascii_spells_math_as_one_would_type_it(text, ascii):
    assert to_ascii(text) == ascii


def test_fold_cuts_a_wide_picture_between_terms_and_keeps_every_character():
    rows = [
        "   2        2        2",
        "  x    +   y    =   z ",
        "-----  + ----- = -----",
        "  a        b        c",
    ]
    folded = fold(rows, 12)
    assert max(len(line) for line in folded) <= 12
    assert Counter("".join(folded).replace(" ", "")) == Counter("".join(rows).replace(" ", ""))
    assert fold(rows, 40) == [r.rstrip() for r in rows]


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
@pytest.mark.parametrize("unicode", [True, False], ids=["unicode", "ascii"])
def test_every_topic_renders_within_80_columns(topic, unicode):
    out = render_topic(topic, style=Style(unicode=unicode, width=80))
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.isascii() or unicode


def test_a_failing_topic_renders_its_evidence():
    topic = failing_topic()
    report = make_reports([topic])[topic.id]
    out = render_topic(topic, report, style=Style(unicode=False, width=80))
    assert "numeric   FAIL fail" in out and "counterexample:" in out
    assert out.splitlines()[-1].startswith("FAIL fake-wrong: fail in ")


def test_table_colours_only_on_request():
    ok = CheckResult("pass")
    reports = [
        TopicReport("a", [ItemReport("s", "S", "step", ok, ok)], seconds=0.5),
        TopicReport("b", [ItemReport("s", "S", "step", CheckResult("undecided"), CheckResult("fail"))]),
    ]
    plain = render_table(reports)
    assert "\033[" not in plain
    assert "NOT all 2 topics pass" in plain
    row_b = next(line for line in plain.splitlines() if line.startswith("b "))
    assert row_b.split()[:4] == ["b", "0/1", "0", "0"]
    assert "\033[31m" in render_table(reports, style=Style(color=True))
