"""Every registered topic: complete, passing its checks under any seed, with no unchecked math,
a figure whose every text is checked, and a snippet that runs cleanly."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest

from dlmath.derive import check_topic
from dlmath.topics import MODULES, TOPICS, UnknownTopicError, closest_ids, get_topic

IDS = [t.id for t in TOPICS]


def test_registry_is_one_module_per_topic_with_unique_ids():
    assert len(TOPICS) == len(MODULES) == len(set(IDS))
    for module, topic in zip(MODULES, TOPICS, strict=True):
        assert topic.module == f"dlmath.topics.{module}"


def test_article_topics_come_first_in_page_order():
    article = [
        "gaussian-l2",
        "laplace-l1",
        "softmax-hessian",
        "smooth-max",
        "logsumexp",
        "x-pow-x",
        "norm-gradient",
        "inverse-derivative",
    ]
    assert IDS[: len(article)] == article


def test_get_topic_and_closest_ids():
    assert get_topic("logsumexp").id == "logsumexp"
    with pytest.raises(UnknownTopicError) as info:
        get_topic("softmax-hesian")
    assert info.value.suggestions[0] == "softmax-hessian"
    assert "softmax-hessian" in str(info.value)
    assert closest_ids("zzzz") == []


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_is_complete(topic):
    texts = topic.texts()
    assert texts["title"] and texts["claim"]
    assert len(topic.steps) >= 3
    assert len([p for p in texts if p.startswith("prose paragraph")]) >= 3, "a few paragraphs of prose"
    assert topic.figure is not None and texts["figure: caption"] and texts["figure: alt text"]
    assert topic.snippet.strip()
    for item in topic.steps + topic.claims:
        assert item.label, f"{topic.id}/{item.id} has no label"
        assert item.latex and "$" not in item.latex


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_checks_pass_and_its_texts_hold_no_unchecked_math(topic):
    report = check_topic(topic, seed=0)
    failing = [
        (i.id, i.symbolic.detail, i.numeric.detail, i.numeric.counterexample)
        for i in report.items
        if not i.passed
    ]
    assert not failing
    assert not report.issues, report.issues
    assert report.passed
    for item in report.items:
        assert item.numeric.instances >= 1
        if item.symbolic.status == "undecided":
            assert "search" in item.numeric.detail or "instances of" in item.numeric.detail


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_checks_pass_with_another_seed(topic):
    report = check_topic(topic, seed=12345)
    assert report.passed, [(i.id, i.numeric.counterexample) for i in report.items if not i.passed]


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_every_relation_in_the_texts_is_an_item_that_is_checked(topic):
    checked = {i.id for i in check_topic(topic).items}
    for text in topic.texts().values():
        for frag in text.fragments:
            if frag.kind == "relation":
                items = frag.item if isinstance(frag.item, tuple) else (frag.item,)
                assert all(i.id in checked for i in items), (text.place, frag.source)


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_snippet_runs_and_prints(topic):
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with contextlib.redirect_stdout(out):
            exec(compile(topic.snippet, f"<snippet {topic.id}>", "exec"), {"__name__": "__snippet__"})
    assert out.getvalue().strip()
