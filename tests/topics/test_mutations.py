"""Wrong math cannot pass: every formula a topic states, mutated, fails its check.

Three families, over every registered topic:

- **statements**: each step's and claim's relation with its right side moved (``+ 1``, ``+ 𝟏``)
  or its inequality negated fails, whether SymPy proves it, cannot decide it (then the
  counterexample search must find the point) or does not apply (a measured quantity);
- **texts**: each ``$...$`` fragment of every title, claim, label, reason, paragraph, caption and
  alt text, with a number, a sign, an exponent or a relation changed, fails;
- **assumptions**: removing any assumption the topic or an item states leaves a statement failing.
"""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
import sympy as sp

from dlmath.derive import check_item, check_text
from dlmath.topics import TOPICS

_NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def _moved(rhs):
    rhs = sp.sympify(rhs)
    if isinstance(rhs, sp.MatrixExpr) and rhs.shape != (1, 1):
        return rhs + sp.OneMatrix(*rhs.shape)
    if rhs in (sp.oo, -sp.oo):
        return sp.S.Zero
    return rhs + 1


def _statement_mutant(stmt):
    if stmt.relation in _NEGATE:
        return dataclasses.replace(stmt, relation=_NEGATE[stmt.relation])
    return dataclasses.replace(stmt, rhs=_moved(stmt.rhs))


STATEMENTS = [
    pytest.param(topic, item, id=f"{topic.id}/{item.id}")
    for topic in TOPICS
    for item in topic.steps + topic.claims
]


@pytest.mark.parametrize(("topic", "item"), STATEMENTS)
def test_a_wrong_statement_fails(topic, item):
    wrong = dataclasses.replace(item, statement=_statement_mutant(item.statement))
    report = check_item(topic, wrong)
    assert not report.passed, (report.symbolic.detail, report.numeric.detail)


# --- texts ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])(\d+)(\.\d+)?(?![\w.])")
_RELATIONS = (("==", "!="), ("<=", ">"), (">=", "<"), ("<", ">="), (">", "<="))


def fragment_mutants(source: str) -> list[str]:
    """Distinct mutants of a fragment: a number, a sign, an exponent, a relation changed."""
    out = []
    m = _NUMBER.search(source)
    if m:
        if m.group(2):
            digits = m.group(2)
            bumped = digits[:-1] + str((int(digits[-1]) + 1) % 10)
            out.append(source[: m.start(2)] + bumped + source[m.end(2) :])
        else:
            out.append(source[: m.start(1)] + str(int(m.group(1)) + 1) + source[m.end(1) :])
    for old, new in ((" - ", " + "), (" + ", " - ")):
        if old in source:
            out.append(source.replace(old, new, 1))
            break
    else:
        if source.lstrip().startswith("-"):
            out.append(source.lstrip()[1:])
    e = re.search(r"\*\*(\(?[\w.]+\)?)", source)
    if e:
        out.append(source[: e.start()] + f"**({e.group(1)} + 1)" + source[e.end() :])
    for old, new in _RELATIONS:
        k = source.find(old)
        if k >= 0 and not (old in ("<", ">") and source[k : k + 2] in ("<=", ">=")):
            out.append(source[:k] + new + source[k + len(old) :])
            break
    return [s for s in dict.fromkeys(out) if s != source]


def _local(topic, place):
    for item in topic.steps + topic.claims:
        if place.startswith(f"{item.kind} {item.id}:"):
            return item.assume
    return ()


def _text_cases():
    for topic in TOPICS:
        for place, text in topic.texts().items():
            for frag in text.fragments:
                if frag.kind == "name":
                    continue
                for mutant in fragment_mutants(frag.source):
                    yield pytest.param(topic, place, frag.source, mutant, id=f"{topic.id}:{place}:{mutant}")


TEXTS = list(_text_cases())


def test_the_text_mutants_cover_every_topic():
    assert {case.values[0].id for case in TEXTS} == {t.id for t in TOPICS}
    assert len(TEXTS) > 10 * len(TOPICS)


@pytest.mark.parametrize(("topic", "place", "original", "mutant"), TEXTS)
def test_a_wrong_formula_in_a_text_fails(topic, place, original, mutant):
    source = topic.texts()[place].source
    mutated = source.replace(f"${original}$", f"${mutant}$", 1)
    assert mutated != source
    report = check_text(topic, place, mutated, local=_local(topic, place))
    assert not report.passed or report.issues, f"${mutant}$ in {place} passed"


@pytest.mark.parametrize("topic", TOPICS, ids=[t.id for t in TOPICS])
def test_every_text_passes_as_written(topic):
    for place, text in topic.texts().items():
        report = check_text(topic, place, text.source, local=_local(topic, place))
        assert not report.issues and all(i.passed for i in report.items), place


# --- assumptions ----------------------------------------------------------------------------------


def _without(topic, assumption):
    t = copy.copy(topic)
    t.assumptions = [a for a in topic.assumptions if a is not assumption]
    t._texts, t._text_items = None, []
    return t


def _measured_only(topic, assumption) -> bool:
    """An assumption about a symbol that only measured (experiment) statements use documents the
    experiment's domain (its sampler is validated against it); no symbolic fact depends on it."""
    names = {s.name for s in sp.sympify(assumption.expr).free_symbols}
    using = [i for i in topic.items if names & {s.name for s in sp.sympify(i.statement.expr).free_symbols}]

    def applied(i):
        return {f.func.__name__ for f in sp.sympify(i.statement.expr).atoms(sp.core.function.AppliedUndef)}  # noqa: E731

    return bool(using) and all(applied(i) & set(topic.measured) for i in using)


GLOBAL = [
    pytest.param(topic, a, id=f"{topic.id}:{a.text}")
    for topic in TOPICS
    for a in topic.assumptions
    if not _measured_only(topic, a)
]
LOCAL = [
    pytest.param(topic, item, a, id=f"{topic.id}/{item.id}:{a.text}")
    for topic in TOPICS
    for item in topic.steps + topic.claims
    for a in item.assume
]


@pytest.mark.parametrize(("topic", "assumption"), GLOBAL)
def test_removing_a_topic_assumption_makes_a_statement_fail(topic, assumption):
    t = _without(topic, assumption)
    assert any(not check_item(t, i).passed for i in t.items), f"nothing needs {assumption.text}"


@pytest.mark.parametrize(("topic", "item", "assumption"), LOCAL)
def test_removing_an_item_assumption_makes_it_fail(topic, item, assumption):
    weaker = dataclasses.replace(item, assume=tuple(a for a in item.assume if a is not assumption))
    assert not check_item(topic, weaker).passed
