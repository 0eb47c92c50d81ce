r"""TeX on the page: validated at build time, drawn by MathJax in the reader's browser.

Every formula is parsed at build time by KaTeX (the ``pykatex`` package, which runs KaTeX inside
an embedded QuickJS), so a formula that does not typeset fails the build instead of showing red
on the page. What the reader sees is MathJax 3's SVG output: it matched LaTeX in side-by-side
screenshots where native MathML in Chromium spaced ``\lVert x\rVert`` and ``\sum_i`` badly, and
it needs no web fonts. For screen readers MathJax attaches MathML of the same TeX to every formula
(its assistive-MathML extension, part of the bundle), so the spoken and the drawn formula cannot
disagree, and the page's HTML carries each formula once, as TeX. The MathJax bundle comes from the
``django-static-mathjax`` package and is copied into the page directory, so the page works offline.

Texts (claims, prose, captions) arrive resolved by the engine (:mod:`dlmath.derive.text`): their
math is printed here from the checked expressions.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

__all__ = ["FormulaError", "mathjax_bundle", "math_html", "mathml", "text_html"]


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
    """The MathML KaTeX makes of ``latex``; raises :class:`FormulaError` if it does not parse."""
    import pykatex

    try:
        out = pykatex.renderToString(
            latex, displayMode=display, output=pykatex.OUTPUT_MATHML, throwOnError=True
        )
    except pykatex.ParseError as exc:
        raise FormulaError(latex, where, str(exc)) from None
    # KaTeX wraps the <math> element in <span class="katex">; keep only the MathML.
    start, end = out.find("<math"), out.rfind("</math>")
    if start < 0 or end < 0:
        raise FormulaError(latex, where, "KaTeX returned no MathML")
    return out[start : end + len("</math>")]


def math_html(latex: str, *, display: bool, where: str) -> str:
    """One formula as delimited TeX for MathJax, after checking that it typesets.

    Raises :class:`FormulaError` if the TeX does not parse.
    """
    latex = latex.strip()
    if not latex:
        raise FormulaError(latex, where, "empty formula")
    mathml(latex, display=display, where=where)
    tex = html.escape(latex, quote=False)
    if display:
        return f'<div class="math math-display mj">\\[{tex}\\]</div>'
    return f'<span class="math math-inline mj">\\({tex}\\)</span>'


def text_html(text) -> str:
    """A resolved text (:class:`dlmath.derive.text.Text`) as HTML: its math typeset, code as code.

    Each formula is printed from the expression the topic checked, never from the text's source.
    """
    parts: list[str] = []
    for seg in text.segments:
        if seg.kind == "math":
            parts.append(math_html(seg.value.latex, display=seg.value.display, where=text.place))
        elif seg.kind == "code":
            parts.append(f"<code>{html.escape(seg.value, quote=False)}</code>")
        else:
            parts.append(html.escape(seg.value, quote=False))
    return "".join(parts)
