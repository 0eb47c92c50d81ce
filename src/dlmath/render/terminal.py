"""Terminal rendering: a topic's derivation, check results, the summary table.

Formulas come from the checked statements (SymPy's pretty printer for a step's formula, the
one-line printer of :mod:`dlmath.derive.plain` for math inside a sentence), never from the text's
source. A :class:`Style` says what the terminal can do: colour (only on a TTY, never with
``NO_COLOR``), Unicode (ASCII for a terminal whose encoding cannot print it, see :mod:`._ascii`)
and the width to wrap to. Sentences wrap between words (a word longer than the whole width is
cut); a multi-line formula wider than the terminal is folded at a column that is blank in all its
rows, between terms, and continues below, indented.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import textwrap
from dataclasses import dataclass

from ._ascii import to_ascii

__all__ = [
    "Style",
    "style_for",
    "fold",
    "render_item",
    "render_topic",
    "render_table",
    "render_failures",
    "render_list",
]

_SYMBOL = {"pass": "✓", "fail": "✗", "undecided": "?", "skipped": "–", "n/a": "–"}
_ASCII_SYMBOL = {"pass": "ok", "fail": "FAIL", "undecided": "?", "skipped": "-", "n/a": "-"}
_COLOR = {"pass": "32", "fail": "31", "undecided": "33", "skipped": "33", "n/a": "33"}


@dataclass(frozen=True)
class Style:
    color: bool = False
    unicode: bool = True
    width: int = 100

    def mark(self, status: str) -> str:
        return (_SYMBOL if self.unicode else _ASCII_SYMBOL)[status]

    def paint(self, text: str, status: str) -> str:
        return f"\033[{_COLOR[status]}m{text}\033[0m" if self.color else text

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.color else text

    def wrap(self, text: str, indent: str = "", subsequent: str | None = None) -> str:
        return textwrap.fill(
            self.plain(text),
            width=max(40, self.width),
            initial_indent=indent,
            subsequent_indent=indent if subsequent is None else subsequent,
            break_long_words=True,
            break_on_hyphens=False,
        )

    def plain(self, text: str) -> str:
        """``text`` as this terminal can print it (spelled in ASCII where it cannot print Unicode)."""
        return text if self.unicode else to_ascii(text)


def style_for(stream) -> Style:
    """The style a stream supports: colour on a TTY without ``NO_COLOR``, Unicode if its encoding
    can print it, the terminal's width (``COLUMNS`` or the window size)."""
    tty = hasattr(stream, "isatty") and stream.isatty()
    color = tty and not os.environ.get("NO_COLOR")
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "∇‖𝓛≤√ₖ✓".encode(encoding)
        unicode = True
    except (UnicodeEncodeError, LookupError):
        unicode = False
    width = shutil.get_terminal_size((100, 24)).columns
    return Style(color=color, unicode=unicode, width=width)


def _text(text, style: Style) -> str:
    return text.plain(unicode=style.unicode)


def _verdict(way: str, result, style: Style) -> str:
    mark = style.paint(f"{style.mark(result.status)} {result.status}", result.status)
    return f"{way:9s} {mark}: {style.plain(result.detail)}"


@contextlib.contextmanager
def _unicode(flag: bool):
    """SymPy's pretty printer falls back to its global Unicode flag when told ``use_unicode=False``."""
    from sympy.printing.pretty.pretty_symbology import pretty_use_unicode

    before = pretty_use_unicode(flag)
    try:
        yield
    finally:
        pretty_use_unicode(before)


def fold(rows: list[str], width: int, indent: str = "  ") -> list[str]:
    """A multi-line picture no wider than ``width``: cut at columns blank in every row, the rest
    continued below with ``indent``; a stretch with no blank column is cut at the width."""
    rows = [r.rstrip() for r in rows]
    span = max((len(r) for r in rows), default=0)
    if span <= width:
        return rows
    rows = [r.ljust(span) for r in rows]
    blank = [all(r[c] == " " for r in rows) for c in range(span)]
    out, start, room = [], 0, width
    while start < span:
        end = span
        if span - start > room:
            end = next((c for c in range(start + room, start, -1) if blank[c]), start + room)
        piece = [r[start:end].rstrip() for r in rows]
        prefix = indent if out else ""
        out.extend(prefix + line if line else line for line in piece if line.strip() or len(rows) == 1)
        start = end
        while start < span and blank[start]:
            start += 1
        room = max(1, width - len(indent))
    return out


def _formula(item, style: Style, indent: str) -> list[str]:
    from ..derive.printing import statement_pretty

    with _unicode(style.unicode):
        text = statement_pretty(item.statement, unicode=style.unicode)
    return [indent + line for line in fold(text.splitlines(), style.width - len(indent))]


def render_item(index: str, topic, item, report=None, *, style: Style = Style()) -> str:
    """One step or claim: label, formula (multi-line), where-clauses, reason, verdicts."""
    import sympy as sp

    from ..derive.printing import pretty

    texts = topic.texts()
    label = _text(texts[f"{item.kind} {item.id}: label"], style)
    lines = [style.bold(style.wrap(f"{index} {label}", "", " " * (len(index) + 1)))]
    lines.extend(_formula(item, style, "     "))
    for k, v in item.statement.given.items():
        with _unicode(style.unicode):
            rows = pretty(sp.Eq(k, v, evaluate=False), unicode=style.unicode).splitlines() or [""]
        if len(rows) == 1 and len(rows[0]) + 11 <= style.width:
            lines.append("     where " + rows[0])
        else:
            lines.append("     where")
            lines.extend("       " + line for line in fold(rows, style.width - 7))
    why = texts[f"{item.kind} {item.id}: why"]
    if why:
        lines.append(style.wrap(_text(why, style), "     "))
    if report is not None:
        lines.extend(_verdict_lines(report, style, "     "))
    return style.plain("\n".join(lines))


def _verdict_lines(report, style: Style, indent: str) -> list[str]:
    lines = []
    for way, result in (("symbolic", report.symbolic), ("numeric", report.numeric)):
        lines.append(style.wrap(_verdict(way, result, style), indent, indent + "    "))
        if result.status == "fail":
            if result.residual:
                lines.append(style.wrap("residual: " + style.plain(result.residual), indent + "    "))
            if result.counterexample:
                lines.append(
                    style.wrap("counterexample: " + style.plain(result.counterexample), indent + "    ")
                )
    return lines


def render_topic(topic, report=None, *, style: Style = Style()) -> str:
    """The whole derivation of ``topic``; with ``report``, each item with its check results."""
    texts = topic.texts()
    by_id = {r.id: r for r in report.items} if report is not None else {}
    out = [
        style.bold(style.wrap(f"{_text(texts['title'], style)}  [{topic.id}]")),
        "",
        style.wrap(_text(texts["claim"], style)),
    ]
    conditions = [a.text for a in topic.assumptions] + [d.text for d in topic.definitions]
    if conditions:
        out += ["", style.wrap("Assumptions: " + style.plain("; ".join(conditions)), "", "  ")]
    out += ["", style.bold("Derivation")]
    for k, step in enumerate(topic.steps, 1):
        out += ["", render_item(f"{k}.", topic, step, by_id.pop(step.id, None), style=style)]
    if topic.claims:
        out += ["", style.bold("Further claims")]
        for k, claim in enumerate(topic.claims, 1):
            out += ["", render_item(f"({chr(96 + k)})", topic, claim, by_id.pop(claim.id, None), style=style)]
    stated = [r for r in by_id.values() if r.kind == "text"]
    if stated:
        out += ["", style.bold("Formulas in the text")]
        for r in stated:
            item = next((i for i in topic.items if i.id == r.id), None)
            formula = (item.inline if style.unicode else _ascii(item)) if item is not None else r.id
            out += ["", style.wrap(f"{formula}  ({r.place})", "  ")]
            out.extend(_verdict_lines(r, style, "     "))
    if topic.implemented_by:
        out += ["", style.wrap("Implemented by: " + ", ".join(topic.implemented_by))]
    if report is not None:
        for issue in report.issues:
            out += [
                "",
                style.paint(
                    style.wrap(f"unchecked math in {issue.place}: {issue.fragment!r}: {issue.message}"),
                    "fail",
                ),
            ]
        status = "pass" if report.passed else "fail"
        summary = (
            f"{style.mark(status)} {topic.id}: {status} in {report.seconds:.2f} s "
            f"({report.count('proved')} proved, {report.count('numeric')} checked numerically only, "
            f"{report.count('failed')} failed)"
        )
        out += ["", style.paint(style.wrap(summary, "", "  "), status)]
    return style.plain("\n".join(out))


def _ascii(item) -> str:
    from ..derive.printing import ascii_inline

    return ascii_inline(item.statement.expr)


def render_list(topics, *, style: Style = Style()) -> str:
    width = max(len(t.id) for t in topics)
    return style.plain("\n".join(f"{t.id:<{width}}  {_text(t.texts()['title'], style)}" for t in topics))


def render_table(reports, *, style: Style = Style()) -> str:
    """One row per topic: items passed, how many proved and numeric only, time; then the total."""
    rows = [("topic", "items", "proved", "numeric only", "text issues", "time")]
    for rep in reports:
        passed = sum(i.passed for i in rep.items)
        rows.append(
            (
                rep.topic_id,
                f"{passed}/{len(rep.items)}",
                str(rep.count("proved")),
                str(rep.count("numeric")),
                str(len(rep.issues)),
                f"{rep.seconds:.2f} s",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            row[c].ljust(widths[c]) if c != len(row) - 1 else row[c].rjust(widths[c]) for c in range(len(row))
        ]
        if k == 0:
            lines.append(style.bold("  ".join(cells)))
            continue
        if style.color:
            cells[0] = style.paint(cells[0], "pass" if reports[k - 1].passed else "fail")
        lines.append("  ".join(cells))
    lines += ["", render_summary(reports, style=style)]
    return style.plain("\n".join(lines))


def render_summary(reports, *, style: Style = Style()) -> str:
    """One sentence on all the reports: whether every topic passes, and how its items were checked."""
    all_ok = bool(reports) and all(r.passed for r in reports)
    n_items = sum(len(r.items) for r in reports)
    proved = sum(r.count("proved") for r in reports)
    numeric = sum(r.count("numeric") for r in reports)
    summary = (
        f"{'all' if all_ok else 'NOT all'} {len(reports)} topics pass: {n_items} checked statements, "
        f"{proved} proved symbolically, {numeric} checked numerically only"
    )
    return style.paint(style.wrap(summary, "", "  "), "pass" if all_ok else "fail")


def render_failures(reports, *, style: Style = Style()) -> str:
    """Each failing item and unchecked fragment: where, the residual, the counterexample."""
    out = []
    for rep in reports:
        for item in rep.items:
            if item.passed:
                continue
            where = item.place or item.kind
            out.append(style.paint(f"{style.mark('fail')} {rep.topic_id} / {item.id} ({where})", "fail"))
            for way, result in (("symbolic", item.symbolic), ("numeric", item.numeric)):
                out.append(
                    style.wrap(f"{way}: {result.status}: {style.plain(result.detail)}", "    ", "      ")
                )
                if result.residual:
                    out.append(style.wrap(f"residual: {style.plain(result.residual)}", "      "))
                if result.counterexample:
                    out.append(style.wrap(f"counterexample: {style.plain(result.counterexample)}", "      "))
        for issue in rep.issues:
            out.append(style.paint(f"{style.mark('fail')} {rep.topic_id} / {issue.place}", "fail"))
            out.append(style.wrap(f"{issue.fragment}: {issue.message}", "    ", "      "))
    return style.plain("\n".join(out))
