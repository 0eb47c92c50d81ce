"""The math inside a topic's figure: every label, legend, title and annotation, checked.

A figure's ``draw(fig, tex)`` writes its math through ``tex("... $expr$ ...")``, which resolves
the text against the topic (:meth:`~dlmath.derive.topic.Topic.resolve`) and returns matplotlib
math printed from the expressions. :func:`draw` runs the drawing; :func:`figure_issues` then reads
every text the figure holds and reports math that did not come through ``tex`` (and the issues of
what did). Tick labels are numbers the axes compute, and are not read.
"""

from __future__ import annotations

from .results import TextIssue

__all__ = ["draw", "figure_issues", "Tex"]


class Tex:
    """The ``tex`` a drawing calls: text with ``$expr$`` math -> matplotlib text with mathtext."""

    def __init__(self, topic):
        self.topic = topic
        self.made: set[str] = set()
        self.issues: list[TextIssue] = []

    def __call__(self, source: str) -> str:
        text = self.topic.resolve(f"figure: text {source!r}", source)
        self.issues.extend(text.issues)
        out = []
        for seg in text.segments:
            if seg.kind == "math":
                out.append(f"${seg.value.mathtext}$")
            else:
                out.append(str(seg.value).replace("$", r"\$"))
        made = "".join(out)
        self.made.add(made)
        return made


def draw(topic, fig, tex: Tex | None = None) -> Tex:
    """Run ``topic.figure.draw`` on the matplotlib figure ``fig``; returns the ``tex`` it used."""
    tex = tex or Tex(topic)
    topic.figure.draw(fig, tex)
    return tex


def _texts(fig):
    """Every text a reader sees besides tick labels: titles, axis labels, legends, annotations.

    Named one by one rather than found by walking the artists, which would make matplotlib build
    every tick (the slowest part of reading a figure).
    """
    texts = list(fig.texts)
    for legend in fig.legends:
        texts.extend(legend.get_texts())
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            texts.extend(legend.get_texts())
            texts.append(legend.get_title())
    for t in texts:
        s = t.get_text()
        if s:
            yield s


def figure_issues(topic) -> list[TextIssue]:
    """Draw the figure and return every piece of math in it that no check ties to the topic."""
    import matplotlib
    from matplotlib.figure import Figure

    from .text import lint

    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig = Figure(figsize=topic.figure.size)
        tex = draw(topic, fig)
        issues = list(tex.issues)
        for s in _texts(fig):
            if s in tex.made:
                continue
            if "$" in s.replace(r"\$", ""):
                issues.append(TextIssue("figure", s, "math in the figure that did not come through tex(...)"))
            else:
                issues.extend(TextIssue("figure", frag, message) for frag, message in lint(s))
    return issues
