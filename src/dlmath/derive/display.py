"""Jupyter display of topics and reports: Markdown with ``$...$`` math, typeset by the notebook.

``Topic._repr_markdown_`` and ``TopicReport._repr_markdown_`` call these. Formulas are printed
from the checked statements; claims are numbered apart from steps; a report shows each verdict
and the reason given for each step.
"""

from __future__ import annotations

__all__ = ["topic_markdown", "report_markdown"]

_MARK = {"proved": "✓ proved", "numeric": "✓ checked numerically", "failed": "✗ FAILING"}


def _text_md(text) -> str:
    out = []
    for seg in text.segments:
        if seg.kind == "math":
            out.append(f"${seg.value.latex}$")
        elif seg.kind == "code":
            out.append(f"`{seg.value}`")
        else:
            out.append(seg.value)
    return "".join(out)


def topic_markdown(topic, report=None) -> str:
    """The topic as Markdown; with ``report``, each item carries its verdict."""
    texts = topic.texts()
    verdicts = {i.id: i for i in report.items} if report is not None else {}
    lines = [f"### {_text_md(texts['title'])} (`{topic.id}`)", "", f"*{_text_md(texts['claim'])}*", ""]
    if topic.assumptions or topic.definitions:
        conds = [f"${a.latex}$" for a in topic.assumptions] + [f"${d.latex}$" for d in topic.definitions]
        lines += ["Assumptions: " + ", ".join(conds), ""]
    for heading, items, number in (
        ("Derivation", topic.steps, lambda k: f"{k}."),
        ("Further claims", topic.claims, _letter),
    ):
        if not items:
            continue
        lines += [f"**{heading}**", ""]
        for k, item in enumerate(items, 1):
            mark = ""
            if item.id in verdicts:
                mark = f" — {_MARK[verdicts[item.id].verdict]}"
            lines += [f"{number(k)} **{_text_md(texts[f'{item.kind} {item.id}: label'])}**{mark}", ""]
            lines += [f"   $$ {item.latex} $$", ""]
            why = texts[f"{item.kind} {item.id}: why"]
            if why:
                lines += [f"   {_text_md(why)}", ""]
    if topic.implemented_by:
        lines.append("Implemented by " + ", ".join(f"`{n}`" for n in topic.implemented_by) + ".")
    if report is not None:
        lines += ["", _summary(report)]
    return "\n".join(lines).rstrip() + "\n"


def _letter(k: int) -> str:
    return f"({chr(96 + k)})"


def _summary(report) -> str:
    state = "all checks pass" if report.passed else "**checks FAIL**"
    text = (
        f"{state}: {report.count('proved')} proved symbolically, {report.count('numeric')} checked "
        f"numerically only, {report.count('failed')} failing"
    )
    if report.issues:
        text += f"; {len(report.issues)} unchecked math fragments: " + "; ".join(
            f"{i.place}: `{i.fragment}` ({i.message})" for i in report.issues[:5]
        )
    return text


def report_markdown(report) -> str:
    """A report as Markdown. With the topic it checked (``topic.check()`` keeps it), the whole
    derivation with each verdict and reason; else one line per item, then the summary."""
    topic = getattr(report, "topic", None)
    if topic is not None:
        failing = [i for i in report.items if not i.passed]
        return topic_markdown(topic, report) + ("\n" + _failures(failing) if failing else "")
    lines = [f"### `{report.topic_id}` — {report.title}", ""]
    for item in report.items:
        lines.append(f"- {_MARK[item.verdict]}: **{item.id}** ({item.kind}) ${item.latex}$")
        if not item.passed:
            for way, r in (("symbolic", item.symbolic), ("numeric", item.numeric)):
                lines.append(f"  - {way}: {r.status}: {r.detail}")
                if r.counterexample:
                    lines.append(f"  - counterexample: `{r.counterexample}`")
    lines += ["", _summary(report)]
    return "\n".join(lines) + "\n"


def _failures(items) -> str:
    lines = ["**Failing checks**", ""]
    for item in items:
        lines.append(f"- **{item.id}** ({item.place or item.kind})")
        for way, r in (("symbolic", item.symbolic), ("numeric", item.numeric)):
            lines.append(f"  - {way}: {r.status}: {r.detail}")
            if r.counterexample:
                lines.append(f"  - counterexample: `{r.counterexample}`")
    return "\n".join(lines) + "\n"
