"""Every topic's figure renders to a deterministic SVG, the same in the worker process as here."""

from __future__ import annotations

import pytest
from _fakes import passing_topic

from dlmath.render.figures import figure_key, render_many, render_topic, start_rendering
from dlmath.topics import TOPICS

WITH_FIGURES = [t for t in TOPICS if t.figure is not None]


@pytest.mark.parametrize("topic", WITH_FIGURES, ids=lambda t: t.id)
def test_figure_is_deterministic_svg_with_alt_text(topic):
    first, second = render_topic(topic), render_topic(topic)
    assert first == second
    assert first.lstrip().startswith("<?xml") and "<svg" in first
    assert "<dc:date>" not in first
    texts = topic.texts()
    assert len(texts["figure: alt text"].plain()) > 40 and texts["figure: caption"]


def test_figure_of_a_topic_of_ones_own():
    svg = render_topic(passing_topic())
    assert "<svg" in svg and svg == render_topic(passing_topic())


def test_worker_process_draws_the_same_bytes():
    drawn = start_rendering(TOPICS).result()
    assert set(drawn) == {figure_key(t) for t in WITH_FIGURES}
    assert drawn == render_many(TOPICS)


def test_worker_failure_is_reported_with_its_error():
    with pytest.raises(ValueError, match="no topic 'fake-square' among the registered ones"):
        start_rendering([passing_topic()]).result()
