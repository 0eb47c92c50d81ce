"""A topic displays in Jupyter as math the notebook typesets."""

from __future__ import annotations

from _fakes import make_reports, make_topics
from dlmath.render.notebook import topic_html, topic_markdown


def test_topic_html_has_math_and_verdicts():
    topic, report = make_topics()[1], make_reports(fail=True)[1]
    out = topic_html(topic, report)
    assert r"\[\frac{y&#x27;}{y} = \log x + 1\]" in out
    assert r"\(x &gt; 0\)" in out
    assert "✓ checked" in out and "✗ FAILING" in out


def test_topic_markdown_uses_dollar_math():
    out = topic_markdown(make_topics()[0])
    assert out.startswith("### The LogSumExp stability trick (`logsumexp`)")
    assert r"$$ \log\sum_i e^{x_i} = \log\Big(e^m \sum_i e^{x_i - m}\Big) $$" in out
    assert "`dlmath.logsumexp`" in out


def test_topic_object_has_jupyter_reprs():
    topic = make_topics()[0]
    assert topic._repr_html_() == topic_html(topic)
    assert topic._repr_markdown_() == topic_markdown(topic)


def test_real_topics_display_in_jupyter():
    from dlmath.topics import TOPICS

    assert len(TOPICS) == 8
    for topic in TOPICS:
        assert "$$" in topic._repr_markdown_()
        assert "\\[" in topic._repr_html_() and topic.id in topic._repr_html_()
