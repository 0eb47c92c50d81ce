"""Jupyter display of a topic: its claim, assumptions and steps as math the notebook typesets.

``Topic._repr_html_`` and ``Topic._repr_markdown_`` call these. Jupyter's own MathJax draws the
``\\(...\\)`` and ``$...$`` math, so nothing is loaded here beyond the topic itself.
"""

from __future__ import annotations

import html
import re

from ..derive.model import Topic, TopicReport

__all__ = ["topic_html", "topic_markdown"]

_INLINE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.DOTALL)


def _text_html(text: str) -> str:
    """Escape text, keeping its ``$...$`` math for the notebook's MathJax as ``\\(...\\)``."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        display, inline = m.groups()
        out.append(f"\\[{html.escape(display)}\\]" if display is not None else f"\\({html.escape(inline)}\\)")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _entries(topic: Topic):
    from .page import step_latex

    for entry in (*topic.steps, *topic.claims):
        yield entry, step_latex(entry)


def topic_html(topic: Topic, report: TopicReport | None = None) -> str:
    """The topic as an HTML fragment; with ``report``, each step carries its check verdict."""
    verdicts = {item.id: item for item in report.items} if report else {}
    parts = [
        f'<div class="dlmath-topic" id="{html.escape(topic.id)}">',
        f"<h3>{_text_html(topic.title)} <small><code>{html.escape(topic.id)}</code></small></h3>",
        f"<p><em>{_text_html(topic.claim)}</em></p>",
    ]
    if topic.assumptions:
        conds = ", ".join(f"\\({html.escape(a.latex)}\\)" for a in topic.assumptions)
        parts.append(f"<p>Assumptions: {conds}</p>")
    parts.append("<ol>")
    for entry, latex in _entries(topic):
        verdict = ""
        if entry.id in verdicts:
            ok = verdicts[entry.id].passed
            verdict = f' <span style="color:{"#1d7a3e" if ok else "#b3261e"}">{"✓ checked" if ok else "✗ FAILING"}</span>'
        parts.append(
            f"<li><strong>{_text_html(entry.label)}</strong>{verdict}\\[{html.escape(latex)}\\]</li>"
        )
    parts.append("</ol>")
    if topic.implemented_by:
        names = ", ".join(f"<code>dlmath.{html.escape(n)}</code>" for n in topic.implemented_by)
        parts.append(f"<p>Implemented by {names}.</p>")
    parts.append("</div>")
    return "\n".join(parts)


def topic_markdown(topic: Topic) -> str:
    """The topic as Markdown with ``$``-delimited math."""
    lines = [f"### {topic.title} (`{topic.id}`)", "", f"*{topic.claim}*", ""]
    if topic.assumptions:
        lines += ["Assumptions: " + ", ".join(f"${a.latex}$" for a in topic.assumptions), ""]
    for k, (entry, latex) in enumerate(_entries(topic), 1):
        lines += [f"{k}. **{entry.label}**", "", f"   $$ {latex} $$", ""]
    if topic.implemented_by:
        lines.append("Implemented by " + ", ".join(f"`dlmath.{n}`" for n in topic.implemented_by) + ".")
    return "\n".join(lines).rstrip() + "\n"
