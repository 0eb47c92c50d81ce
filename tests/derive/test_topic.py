"""Writing a topic: names, assumptions, statements, and texts resolved against them."""

from __future__ import annotations

import pytest
import sympy as sp

from dlmath.derive import Derivative, Eq, Figure, Topic, check_topic, exp, log


def _topic(**texts):
    t = Topic("demo", texts.pop("title", "The derivative of $x**x$"), claim=texts.pop("claim", ""))
    x = t.scalar("x")
    t.assume(x > 0)
    t.step("take-log", Eq(log(x**x), x * log(x)), label="Take logs", simplify=("expand_log",))
    t.step("result", Eq(Derivative(x**x, x), x**x * (log(x) + 1)), label="Differentiate")
    t.claim("at-one", Eq(sp.Subs(Derivative(x**x, x), x, 1), 1), label=texts.pop("label", "At $Point(x, 1)$"))
    t.prose = texts.pop("prose", "")
    return t


def _kinds(t, place):
    return [(f.source, f.kind) for f in t.texts()[place].fragments]


def test_ids_and_names_are_validated():
    with pytest.raises(ValueError, match="lower-case"):
        Topic("Bad Id", "t")
    t = Topic("ok", "t")
    t.scalar("x")
    with pytest.raises(ValueError, match="declared twice"):
        t.scalar("x")
    with pytest.raises(ValueError, match="usable name"):
        t.scalar("a__b")
    with pytest.raises(TypeError, match="relation"):
        t.step("s", sp.Symbol("x"), label="not a relation")
    with pytest.raises(TypeError, match="unknown option"):
        t.step("s2", Eq(1, 1), label="l", colour="red")


def test_fragments_are_classified():
    t = _topic(
        claim="For $x > 0$, $Derivative(x**x, x) == x**x*(log(x) + 1)$, since $log(x**x) == x*log(x)$.",
        prose="The term $x*log(x)$ and the name $x$; a new relation $exp(log(x)) == x$.",
    )
    assert _kinds(t, "claim") == [
        ("x > 0", "assumption"),
        ("Derivative(x**x, x) == x**x*(log(x) + 1)", "relation"),
        ("log(x**x) == x*log(x)", "relation"),
    ]
    assert _kinds(t, "prose paragraph 1") == [
        ("x*log(x)", "part"),
        ("x", "name"),
        ("exp(log(x)) == x", "relation"),
    ]
    assert _kinds(t, "claim at-one: label") == [("Point(x, 1)", "point")]
    # the claim restates two steps; the prose's new relation is an item of its own
    ids = [i.id for i in t.items]
    assert ids == ["take-log", "result", "at-one", "prose-paragraph-1-1"]


def test_a_restated_step_is_the_same_item_and_a_new_relation_is_checked():
    t = _topic(prose="Note $exp(log(x)) == x$ and $exp(log(x)) == x + 1$.")
    report = check_topic(t)
    stated = [i for i in report.items if i.kind == "text"]
    assert [i.passed for i in stated] == [True, False]
    assert not report.passed


@pytest.mark.parametrize(
    ("prose", "message"),
    [
        ("We have $x**(x + 1)$ here.", "nor part of a checked statement"),
        (r"The TeX $\frac{1}{x}$ here.", "hand-typed TeX"),
        ("A point $Point(x, 2)$.", "evaluates anything at this point"),
        ("Where $x < 0$ instead.", "differs from the condition"),
        ("Then x = 1 plainly.", "math sign"),
    ],
)
def test_unchecked_math_in_a_text_is_an_issue_naming_place_and_fragment(prose, message):
    report = check_topic(_topic(prose=prose))
    assert not report.passed
    (issue,) = report.issues
    assert issue.place == "prose paragraph 1" and message in issue.message


def test_a_condition_in_a_text_holds_for_the_relations_it_states():
    t = Topic("cond", "t")
    x = t.scalar("x")
    t.step("s", Eq(x, x), label="trivial", assume=[x > 0])
    t.prose = "Where $x > 0$, $log(exp(x)) == x$ and $sqrt(x**2) == x$."
    report = check_topic(t)
    assert report.passed, [(i.id, i.numeric.detail) for i in report.items if not i.passed]


def test_removing_the_assumption_a_step_needs_makes_it_fail():
    t = Topic("needs", "t")
    x = t.scalar("x")
    t.step("root", Eq(sp.sqrt(x**2), x), label="the root of a square")
    assert not check_topic(t).passed
    t2 = Topic("needs-two", "t")
    x2 = t2.scalar("x")
    t2.assume(x2 > 0)
    t2.step("root", Eq(sp.sqrt(x2**2), x2), label="the root of a square")
    assert check_topic(t2).passed


def test_statements_are_frozen_once_the_texts_are_resolved():
    t = _topic()
    t.texts()
    with pytest.raises(RuntimeError, match="declare every statement"):
        t.step("late", Eq(1, 1), label="too late")


def test_the_figure_text_is_checked_through_tex():
    t = _topic()

    def draw(fig, tex):
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label=tex("$x**x$"))
        ax.set_xlabel("$x > 0$")  # raw mathtext, not printed from the topic
        ax.legend()

    t.figure = Figure(draw, alt="$x**x$ on a line", caption="The curve $x**x$.")
    report = check_topic(t)
    assert [i.fragment for i in report.issues] == ["$x > 0$"]
    assert "tex" in report.issues[0].message


def test_repr_is_one_short_line():
    assert repr(_topic()) == "<Topic 'demo': 2 steps, 1 claims>"
    assert "\n" not in repr(check_topic(_topic()))


def test_a_closed_form_claim_with_exp():
    t = Topic("e", "t")
    t.claim("e-positive", sp.Gt(exp(1), 2, evaluate=False), label="e is above 2")
    assert check_topic(t).passed
