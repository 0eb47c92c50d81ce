r"""Formulas on the page: MathML written at build time, redrawn by MathJax where JavaScript runs.

Every formula's TeX (printed by the engine from the checked expression) goes through KaTeX once at
build time (the ``pykatex`` package, KaTeX inside an embedded QuickJS). KaTeX both validates it,
so a formula that does not typeset fails the build instead of showing red on the page, and turns
it into MathML, which the page carries: with JavaScript off the browser draws the MathML itself,
and screen readers read it. The MathML keeps the TeX it was made from as its
``application/x-tex`` annotation; where JavaScript runs, ``mathjax-config.js`` reads that TeX and
replaces the MathML with MathJax 3's SVG output (which matched LaTeX in side-by-side screenshots
where native MathML in Chromium spaced ``\lVert x\rVert`` and ``\sum_i`` badly), so each formula
is drawn once, by one of the two. The MathJax bundle comes from the ``django-static-mathjax``
package and is copied into the page directory, so the page works offline.

On a narrow screen a formula must not widen the page. A long inline formula is cut after its
top-level relations (``=``, ``\leq``, ...), as TeX breaks inline math, into pieces the line may
wrap between; a piece or a display formula still wider than the column scrolls inside its own box,
and such a box is focusable (``tabindex="0"``, with a label), so that it scrolls from the keyboard.

Texts (claims, prose, captions) arrive resolved by the engine (:mod:`dlmath.derive.text`): their
math is printed here from the checked expressions.
"""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

__all__ = ["FormulaError", "mathjax_bundle", "math_html", "mathml", "split_relations", "text_html"]

# Above this many symbols (a rough width: about 18 px each at the page's size) an inline formula
# may not fit a phone's column (about 300 px inside a list): it is split, and its pieces scroll.
_WIDE = 16

_RELATIONS = {
    "=",
    "<",
    ">",
    r"\leq",
    r"\geq",
    r"\le",
    r"\ge",
    r"\neq",
    r"\ne",
    r"\approx",
    r"\equiv",
    r"\sim",
    r"\propto",
    r"\to",
    r"\mapsto",
}
_OPEN = {"{", "(", "[", r"\{", r"\left", r"\begin"}
_CLOSE = {"}", ")", "]", r"\}", r"\right", r"\end"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"


class FormulaError(ValueError):
    """A formula that KaTeX could not parse; ``where`` names the topic/step it came from."""

    def __init__(self, latex: str, where: str, reason: str) -> None:
        super().__init__(f"formula in {where} does not typeset: {reason}\n  TeX: {latex}")
        self.latex = latex
        self.where = where
        self.reason = reason


def mathjax_bundle() -> Path:
    """Path of MathJax 3's ``es5/tex-svg.js`` as installed by the ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "dlmath build needs MathJax 3 from the 'django-static-mathjax' package; "
            "install it with: pip install django-static-mathjax"
        )
    for root in spec.submodule_search_locations:
        path = Path(root, "static", "mathjax", "es5", "tex-svg.js")
        if path.is_file():
            return path
    raise FileNotFoundError("the 'mathjax' package is installed but es5/tex-svg.js is missing from it")


def mathml(latex: str, *, display: bool, where: str) -> str:
    """The MathML KaTeX makes of ``latex`` (with the TeX as its annotation); raises
    :class:`FormulaError` if it does not parse."""
    import pykatex

    try:
        out = pykatex.renderToString(
            latex, displayMode=display, output=pykatex.OUTPUT_MATHML, throwOnError=True
        )
    except pykatex.ParseError as exc:
        raise FormulaError(latex, where, str(exc)) from None
    # KaTeX wraps the <math> element in <span class="katex">; keep only the MathML, without the
    # namespace, which HTML implies.
    start, end = out.find("<math"), out.rfind("</math>")
    if start < 0 or end < 0:
        raise FormulaError(latex, where, "KaTeX returned no MathML")
    return out[start : end + len("</math>")].replace(f' xmlns="{_MATHML_NS}"', "", 1)


def split_relations(latex: str) -> list[str]:
    """``latex`` cut after each relation outside any group: ``a = b \\leq c`` gives
    ``["a ={}", "b \\leq{}", "c"]``. The empty group keeps the space a relation has on its right."""
    pieces, start, depth = [], 0, 0
    for m in _TOKEN.finditer(latex):
        token = m.group()
        if token in _OPEN:
            depth += 1
        elif token in _CLOSE:
            depth -= 1
        elif depth == 0 and token in _RELATIONS and latex[m.end() :].strip():
            pieces.append(latex[start : m.end()].strip() + "{}")
            start = m.end()
    pieces.append(latex[start:].strip())
    return [p for p in pieces if p]


def _symbols(markup: str) -> int:
    """How many characters the MathML draws (not counting its TeX annotation): a rough width."""
    body = markup.split("<annotation", 1)[0]
    return len(html.unescape(re.sub(r"<[^>]+>", "", body)))


def _box(tag: str, css: str, markup: str, *, scrolls: bool, focusable: bool) -> str:
    css += " math-wide" if scrolls and tag == "span" else ""
    keys = ' tabindex="0" role="group" aria-label="formula"' if scrolls and focusable else ""
    return f'<{tag} class="math {css}"{keys}>{markup}</{tag}>'


def math_html(latex: str, *, display: bool, where: str, focusable: bool = True) -> str:
    """One formula as HTML: KaTeX's MathML (the TeX inside it for MathJax), in a box that scrolls
    sideways when the formula may be wider than the column.

    A display formula's box always may; a long inline formula is split after its relations, and
    each piece that is still long gets such a box. The box is focusable, unless ``focusable`` is
    False (a formula inside a link, which is focusable itself). Raises :class:`FormulaError` if the
    TeX does not parse.
    """
    latex = latex.strip()
    if not latex:
        raise FormulaError(latex, where, "empty formula")
    markup = mathml(latex, display=display, where=where)
    if display:
        return _box("div", "math-display", markup, scrolls=True, focusable=focusable)
    pieces = split_relations(latex) if _symbols(markup) > _WIDE else [latex]
    marks = [mathml(p, display=False, where=where) for p in pieces] if len(pieces) > 1 else [markup]
    return "<wbr>".join(
        _box("span", "math-inline", m, scrolls=_symbols(m) > _WIDE, focusable=focusable) for m in marks
    )


def text_html(text, *, focusable: bool = True) -> str:
    """A resolved text (:class:`dlmath.derive.text.Text`) as HTML: its math typeset, code as code.

    Each formula is printed from the expression the topic checked, never from the text's source.
    ``focusable=False`` for a text inside a link (a title in the contents).
    """
    parts: list[str] = []
    for seg in text.segments:
        if seg.kind == "math":
            parts.append(
                math_html(seg.value.latex, display=seg.value.display, where=text.place, focusable=focusable)
            )
        elif seg.kind == "code":
            parts.append(f"<code>{html.escape(seg.value, quote=False)}</code>")
        else:
            parts.append(html.escape(seg.value, quote=False))
    return "".join(parts)
