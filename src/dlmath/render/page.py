"""The reference page: one offline HTML page generated from the topics and their check reports.

``build(out_dir, topics, reports)`` writes::

    out_dir/index.html                  the page (sections in topic order, a table of contents)
    out_dir/figures/<key>.svg           one matplotlib figure per topic that names one
    out_dir/assets/page.css, mathjax-config.js, mathjax/tex-svg.js

The output is deterministic (no timestamps, no check timings, stable SVG ids), so two builds of
the same tree are byte-identical, and atomic: it is written beside ``out_dir`` and swapped in.
A formula that does not typeset, a snippet that fails, or an unknown figure key fails the build
with :class:`BuildError`; a failing *check* does not: it is shown as failing on the page, and the
caller (``dlmath build``) exits non-zero.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from string import Template

from ..derive.results import CheckResult, ItemReport, TopicReport
from . import _atomic
from .mathtex import math_html, mathjax_bundle, text_html
from .snippets import SnippetError, run_snippet

__all__ = ["BuildError", "build", "build_reference", "step_latex"]

TITLE = "dlmath — the reference"


class BuildError(RuntimeError):
    """The page could not be built (a formula, a snippet, a figure); the old page is left as it was."""


def _template(name: str) -> str:
    return resources.files("dlmath.render").joinpath("templates", name).read_text(encoding="utf-8")


def step_latex(item) -> str:
    """The TeX of a step or claim, as the engine prints it from the statement it checks."""
    try:
        return item.latex
    except Exception as exc:
        raise BuildError(
            f"step {item.id!r}: its checked statement could not be printed as TeX: {exc}"
        ) from exc


def _where_latex(item) -> tuple[str, ...]:
    return tuple(getattr(item, "where_latex", ()))


# --- check badges -------------------------------------------------------------------------------

_SYMBOL = {"pass": "✓", "fail": "✗", "undecided": "?", "skipped": "–", "n/a": "–"}
_VERDICT = {"proved": "proved", "numeric": "checked numerically only", "failed": "FAILING"}


def _badge(way: str, result: CheckResult) -> str:
    status = result.status
    css = {"n/a": "skipped"}.get(status, status)
    return (
        f'<span class="badge badge-{css}" title="{way} check: {status}">'
        f"{way} {_SYMBOL.get(status, '')} {status}</span>"
    )


def _result_html(way: str, result: CheckResult) -> str:
    css = {"n/a": "skipped"}.get(result.status, result.status)
    rows = [f"<dt>{way}</dt><dd><strong class='st-{css}'>{result.status}</strong>"]
    if result.detail:
        rows.append(f" — {html.escape(result.detail)}")
    extras = []  # what the detail text does not already say
    if result.instances and "instance" not in result.detail and "points" not in result.detail:
        extras.append(f"{result.instances} instances")
    if result.rtol is not None and "rtol" not in result.detail:
        extras.append(f"rtol {result.rtol:g}, atol {result.atol:g}")
    if extras:
        rows.append(f" <span class='meta'>({', '.join(extras)})</span>")
    if result.residual:
        rows.append(f"<br>residual: <code>{html.escape(result.residual)}</code>")
    if result.counterexample:
        rows.append(f"<br>counterexample: <code>{html.escape(result.counterexample)}</code>")
    rows.append("</dd>")
    return "".join(rows)


def _check_html(item: ItemReport | None) -> tuple[str, str]:
    """(css state, HTML of the expandable check record) for one step or claim."""
    if item is None:
        return "fail", (
            '<details class="check" open><summary><span class="badge badge-fail">not checked ✗</span>'
            "</summary><p>No check report exists for this item, so it is shown as failing.</p></details>"
        )
    state = "pass" if item.passed else "fail"
    verdict = _VERDICT[item.verdict]
    opened = "" if item.passed else " open"
    return state, (
        f'<details class="check"{opened}><summary><span class="verdict verdict-{state}">{verdict}</span>'
        f"{_badge('symbolic', item.symbolic)}{_badge('numeric', item.numeric)}</summary>"
        f"<dl>{_result_html('Symbolic (SymPy)', item.symbolic)}"
        f"{_result_html('Numeric', item.numeric)}</dl></details>"
    )


# --- sections -----------------------------------------------------------------------------------


def _item_html(topic, entry, item: ItemReport | None, texts, tag: str = "li") -> str:
    where = f"{topic.id}/{entry.id}"
    state, check = _check_html(item)
    latex = step_latex(entry)
    formula = math_html(latex, display=True, where=where) if latex else ""
    conditions = _where_latex(entry)
    if conditions:
        formula += (
            '<p class="where">where '
            + ", ".join(math_html(c, display=False, where=f"{where} (where)") for c in conditions)
            + "</p>"
        )
    why = texts[f"{entry.kind} {entry.id}: why"]
    why_html = f'<p class="why">{text_html(why)}</p>' if why else ""
    label = text_html(texts[f"{entry.kind} {entry.id}: label"])
    return (
        f'<{tag} class="item item-{state}" id="{topic.id}--{entry.id}">'
        f'<p class="item-label">{label}</p>{formula}{why_html}{check}</{tag}>'
    )


def _text_item_html(topic, item: ItemReport) -> str:
    state, check = _check_html(item)
    formula = math_html(item.latex, display=False, where=f"{topic.id}/{item.id}") if item.latex else ""
    return (
        f'<li class="item item-{state}" id="{topic.id}--{item.id}">{formula} '
        f'<span class="meta">({html.escape(item.place)})</span>{check}</li>'
    )


def _issues_html(report: TopicReport | None) -> str:
    if report is None or not report.issues:
        return ""
    rows = "".join(
        f"<li><strong>{html.escape(i.place)}</strong>: <code>{html.escape(i.fragment)}</code> — "
        f"{html.escape(i.message)}</li>"
        for i in report.issues
    )
    return f'<div class="issues" role="alert"><h3>Unchecked math</h3><ul>{rows}</ul></div>'


def _status_badge(report: TopicReport | None) -> str:
    if report is not None and report.passed:
        return (
            f'<span class="badge badge-pass">{report.count("proved")} proved, '
            f"{report.count('numeric')} checked numerically</span>"
        )
    n_fail = (report.count("failed") + len(report.issues)) if report else 0
    return f'<span class="badge badge-fail">{n_fail if report else "no"} failing check{"" if n_fail == 1 else "s"}</span>'


def _section_html(index: int, topic, report: TopicReport | None, figure: str) -> str:
    texts = topic.texts()
    items = {item.id: item for item in (report.items if report else [])}
    out = [
        f'<section class="topic" id="{topic.id}" aria-labelledby="{topic.id}-title">',
        f'<h2 id="{topic.id}-title"><a class="anchor" href="#{topic.id}">{index}. '
        f"{text_html(texts['title'], focusable=False)}</a> {_status_badge(report)}</h2>",
        f'<p class="claim">{text_html(texts["claim"])}</p>',
        _issues_html(report),
    ]
    if topic.assumptions or topic.definitions:
        out.append('<h3>Assumptions</h3><ul class="assumptions">')
        for k, a in enumerate(topic.assumptions, 1):
            out.append(f"<li>{math_html(a.latex, display=False, where=f'{topic.id}/assumption {k}')}</li>")
        for k, d in enumerate(topic.definitions, 1):
            out.append(f"<li>{math_html(d.latex, display=False, where=f'{topic.id}/definition {k}')}</li>")
        out.append("</ul>")
    out.append('<h3>Derivation</h3><ol class="steps">')
    out.extend(_item_html(topic, step, items.pop(step.id, None), texts) for step in topic.steps)
    out.append("</ol>")
    if topic.claims:
        out.append('<h3>Further claims</h3><ol class="claims" type="a">')
        out.extend(_item_html(topic, claim, items.pop(claim.id, None), texts) for claim in topic.claims)
        out.append("</ol>")
    stated = [i for i in items.values() if i.kind == "text"]
    if stated:
        out.append(
            '<h3>Formulas in the text</h3><p class="meta">Each relation the explanations state is checked '
            'like a step:</p><ul class="stated">'
        )
        out.extend(_text_item_html(topic, i) for i in stated)
        out.append("</ul>")
    if topic.implemented_by:
        out.append('<h3>Implemented by</h3><ul class="implementation">')
        out.extend(f"<li><code>{html.escape(name)}</code></li>" for name in topic.implemented_by)
        out.append("</ul>")
    prose = [t for place, t in texts.items() if place.startswith("prose paragraph")]
    if prose:
        out.append('<h3>Why it matters</h3><div class="prose">')
        out.extend(f"<p>{text_html(t)}</p>" for t in prose)
        out.append("</div>")
    if topic.snippet:
        output = run_snippet(topic.snippet, where=topic.id)
        out.append(
            '<h3>Try it</h3><div class="snippet">'
            f'<pre class="code"{_scrolls("Python code")}><code class="language-python">'
            f"{html.escape(topic.snippet.strip())}</code></pre>"
            '<p class="output-label">Output, from running this code during the build:</p>'
            f'<pre class="output"{_scrolls("output of the code")}><samp>'
            f"{html.escape(output.rstrip()) or '(no output)'}</samp></pre></div>"
        )
    out.append(figure)
    source = getattr(topic, "source_file", None) or topic.module
    if source:
        out.append(
            f'<p class="source">Derivation source: <code>{html.escape(source)}</code> '
            f'(<a href="#{topic.id}">#{topic.id}</a>)</p>'
        )
    out.append("</section>")
    return "\n".join(x for x in out if x)


def _scrolls(label: str) -> str:
    """The attributes of a box that may scroll sideways: reachable by keyboard, and named."""
    return f' tabindex="0" role="group" aria-label="{label}"'


def _figure_html(topic) -> str:
    from .figures import figure_key

    texts = topic.texts()
    key = figure_key(topic)
    return (
        f'<figure class="figure" id="figure-{key}">'
        f'<img src="figures/{key}.svg" alt="{html.escape(texts["figure: alt text"].plain())}">'
        f"<figcaption>{text_html(texts['figure: caption'])}</figcaption></figure>"
    )


def _summary_html(topics, reports: Mapping[str, TopicReport]) -> str:
    failing = [t.id for t in topics if t.id not in reports or not reports[t.id].passed]
    if failing:
        names = ", ".join(f'<a href="#{tid}">{tid}</a>' for tid in failing)
        return f'<p class="summary summary-fail" role="alert">Checks failing in: {names}.</p>'
    proved = sum(r.count("proved") for r in reports.values())
    numeric = sum(r.count("numeric") for r in reports.values())
    return (
        f'<p class="summary summary-pass">{len(topics)} topic{"" if len(topics) == 1 else "s"}, '
        f"{proved + numeric} checked statements: {proved} proved by SymPy and confirmed numerically, "
        f"{numeric} checked numerically only (SymPy could not decide them, or they are about "
        "floating-point results); every one passed in this build.</p>"
    )


_KINKS_TOC = '\n<li><a href="#kinks">What the frameworks return at the kinks</a></li>'


def _kinks_section(table_html: str) -> str:
    return (
        '<section class="topic" id="kinks" aria-labelledby="kinks-title">'
        '<h2 id="kinks-title"><a class="anchor" href="#kinks">What the frameworks return at the kinks</a></h2>'
        '<p class="claim">The topics above say what the math gives at a cusp, a limit or an overflow. '
        "This table shows what NumPy, PyTorch, JAX and dlmath actually return there, measured while this "
        "page was built.</p>"
        f"{table_html}</section>"
    )


def _toc_html(topics, reports: Mapping[str, TopicReport]) -> str:
    rows = []
    for k, topic in enumerate(topics, 1):
        ok = topic.id in reports and reports[topic.id].passed
        mark = (
            '<span class="dot dot-pass" title="all checks pass">✓</span>'
            if ok
            else ('<span class="dot dot-fail" title="failing checks">✗</span>')
        )
        title = text_html(topic.texts()["title"], focusable=False)
        rows.append(f'<li><a href="#{topic.id}">{k}. {title}</a> {mark}</li>')
    return "\n".join(rows)


def _as_mapping(reports: Mapping[str, TopicReport] | Iterable[TopicReport]) -> dict[str, TopicReport]:
    if isinstance(reports, Mapping):
        return dict(reports)
    return {report.topic_id: report for report in reports}


def build(
    out_dir: str | Path,
    topics: Sequence,
    reports: Mapping[str, TopicReport] | Iterable[TopicReport],
    *,
    svgs: Mapping[str, str] | None = None,
    kinks: str | None = None,
) -> Path:
    """Write the reference page for ``topics`` into ``out_dir`` and return the path of ``index.html``.

    ``svgs`` may hold figures already rendered (by key), e.g. in parallel with the checks;
    ``kinks`` the HTML of the kink table (:func:`dlmath.render.kinks.html_table`), which becomes
    the page's last section.

    Raises:
        BuildError: a formula does not typeset, a snippet fails, a figure key is unknown, or
            ``out_dir`` exists and was not written by a previous build.
    """
    reports = _as_mapping(reports)
    ids = [topic.id for topic in topics]
    if len(set(ids)) != len(ids):
        raise BuildError(f"topic ids must be unique, got {ids}")
    try:
        from .figures import figure_key, render_topic

        sections, drawn, given = [], {}, dict(svgs or {})
        for k, topic in enumerate(topics, 1):
            figure = ""
            if topic.figure is not None:
                key = figure_key(topic)
                drawn[key] = given.get(key) or render_topic(topic)
                figure = _figure_html(topic)
            sections.append(_section_html(k, topic, reports.get(topic.id), figure))
        if kinks:
            sections.append(_kinks_section(kinks))
        from .. import __version__

        page = Template(_template("page.html")).substitute(
            title=TITLE,
            version=__version__,
            summary=_summary_html(topics, reports),
            toc=_toc_html(topics, reports) + (_KINKS_TOC if kinks else ""),
            sections="\n".join(sections),
        )
        mathjax = mathjax_bundle()
    except (ValueError, SnippetError, ImportError, FileNotFoundError) as exc:
        raise BuildError(str(exc)) from exc
    try:
        with _atomic.staged_directory(Path(out_dir)) as tmp:
            (tmp / "assets" / "mathjax").mkdir(parents=True)
            (tmp / "figures").mkdir()
            for name in ("page.css", "mathjax-config.js"):
                (tmp / "assets" / name).write_text(_template(name), encoding="utf-8")
            shutil.copyfile(mathjax, tmp / "assets" / "mathjax" / "tex-svg.js")
            for key, svg in drawn.items():
                (tmp / "figures" / f"{key}.svg").write_text(svg, encoding="utf-8")
            (tmp / "index.html").write_text(page, encoding="utf-8")
    except FileExistsError as exc:
        raise BuildError(str(exc)) from None
    return Path(out_dir).absolute() / "index.html"


def build_reference(
    out_dir: str | Path, ids: Sequence[str] | None = None, *, extra=(), progress=None
) -> tuple[Path, list[TopicReport]]:
    """Check every topic (or those in ``ids``) and the ``extra`` ones (a reader's own), then build
    the page; returns (index.html, reports).

    The figures are drawn in a second Python process while the checks run here. ``progress`` is
    called as each topic's checks finish (see :func:`dlmath.derive.check.check_topics`).
    """
    from ..derive.check import check_topics
    from ..topics import TOPICS, get_topic
    from .figures import start_rendering

    topics = (list(TOPICS) if ids is None else [get_topic(i) for i in ids]) + list(extra)
    drawing = start_rendering(topics, kinks=True)
    try:
        reports = check_topics(topics, jobs=1, progress=progress)
    except BaseException:
        drawing.cancel()
        raise
    try:
        svgs = drawing.result()
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    return build(out_dir, topics, reports, svgs=svgs, kinks=drawing.kinks), reports
