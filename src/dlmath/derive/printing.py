r"""Printers for display expressions: LaTeX for the page, Unicode for the terminal.

Conventions on top of SymPy's printers: transposes print as :math:`X^\top`; an entry of a column
vector prints as :math:`x_i` (not :math:`x_{i,0}`); names ending in ``_hat`` print with a hat;
:math:`\mathbf 1`, :math:`\mathbf 0` and :math:`\odot` for the all-ones and zero matrices and the
entrywise product; ``Max``/``Min`` print as :math:`\max`/:math:`\min` in the terminal too. A sum
prints its positive terms first (:math:`y - Xw`, where SymPy's canonical order gives
:math:`-Xw + y`): only the printed order changes, the expression the checks use is the same object. The display nodes of :mod:`dlmath.derive.notation` use the helpers below.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from .plain import ascii_inline, inline
from .plain import natural_order as _natural_order
from .plain import negative as _negative

__all__ = [
    "latex",
    "pretty",
    "inline",
    "ascii_inline",
    "mathtext",
    "statement_latex",
    "statement_pretty",
    "subscript",
    "delimited",
    "paren_latex",
    "pretty_prefix",
    "pretty_wrap",
    "pretty_call",
]


def _over_scalar(expr):
    """``(matrix, denominator)`` when ``expr`` is a matrix divided by a scalar (``x/τ``), else None."""
    if isinstance(expr, sp.MatMul) and len(expr.args) == 2:
        coeff, matrix = expr.args
        if isinstance(coeff, sp.Pow) and coeff.exp == -1 and getattr(matrix, "is_Matrix", False):
            return matrix, coeff.base
    return None


def _hat_parts(name: str):
    return name[: -len("_hat")] if name.endswith("_hat") else None


class _Latex(LatexPrinter):
    """Names ending in ``_hat`` print with a hat (``w_hat`` -> :math:`\\hat{w}`)."""

    def _as_ordered_terms(self, expr, order=None):
        return _natural_order(super()._as_ordered_terms(expr, order=order))

    def _print_MatMul(self, expr):
        parts = _over_scalar(expr)
        if parts is None:
            return super()._print_MatMul(expr)
        return rf"\frac{{{self._print(parts[0])}}}{{{self._print(parts[1])}}}"

    def _print_Derivative(self, expr):
        # SymPy leaves a product bare: \frac{d}{dx} x \log(x) reads as (d/dx x) log x
        out = super()._print_Derivative(expr)
        if isinstance(expr.expr, sp.Mul):
            inner = self._print(expr.expr)
            if out.endswith(" " + inner):
                out = out[: -len(inner)] + rf"\left({inner}\right)"
        return out

    def _print_MatAdd(self, expr):
        # SymPy prints MatAdd through _print_Add, whose sign test misses a negative MatMul that
        # is not first ("p \odot v + - p^T v p"); put the minus in the operator instead.
        out = []
        for k, term in enumerate(_natural_order(expr.args)):
            negative = k > 0 and _negative(term)
            shown = -term if negative else term
            tex = self._print(shown)
            if k > 0 and isinstance(shown, sp.MatAdd):
                tex = rf"\left({tex}\right)"
            out.append(tex if k == 0 else (" - " if negative else " + ") + tex)
        return "".join(out)

    def _print_Symbol(self, expr, style="plain"):
        base = _hat_parts(expr.name)
        if base is not None:
            return rf"\hat{{{super()._print_Symbol(sp.Symbol(base))}}}"
        return super()._print_Symbol(expr, style=style)

    def _print_MatrixSymbol(self, expr):
        base = _hat_parts(expr.name)
        if base is not None:
            return rf"\hat{{{super()._print_Symbol(sp.Symbol(base))}}}"
        return super()._print_MatrixSymbol(expr)

    def _print_Transpose(self, expr):
        base = self._print(expr.arg)
        if not isinstance(expr.arg, sp.MatrixSymbol):
            base = rf"\left({base}\right)"
        return rf"{base}^{{\top}}"

    def _print_MatrixElement(self, expr):
        parent = expr.parent
        inner = self.parenthesize(parent, 1000, strict=True)
        if parent.shape[1] == 1:
            return f"{inner}_{{{self._print(expr.i)}}}"
        return f"{inner}_{{{self._print(expr.i)} {self._print(expr.j)}}}"

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}"

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)


class _Pretty(PrettyPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _natural_order(super()._as_ordered_terms(expr, order=order))

    def _print_MatAdd(self, expr):
        out = None
        for term in _natural_order(expr.args):
            if out is None:
                out = self._print(term)
                continue
            sign = " - " if _negative(term) else " + "
            form = self._print(-term if sign == " - " else term)
            out = prettyForm(*stringPict.next(out, sign, form))
        out.binding = prettyForm.ADD
        return out

    def _print_MatMul(self, expr):
        parts = _over_scalar(expr)
        if parts is None:
            return super()._print_MatMul(expr)
        return self._print(parts[0]) / self._print(parts[1])

    def _print_Max(self, expr):
        return pretty_call(self, "max", *expr.args)

    def _print_Min(self, expr):
        return pretty_call(self, "min", *expr.args)

    def _print_Symbol(self, e, bold_name=False):
        base = _hat_parts(e.name)
        if base is not None:
            return prettyForm(self._print(sp.Symbol(base)).render(wrap_line=False) + "\u0302")
        return super()._print_Symbol(e, bold_name)

    def _print_MatrixSymbol(self, e):
        base = _hat_parts(e.name)
        if base is not None:
            return prettyForm(base + "\u0302")
        return super()._print_MatrixSymbol(e)

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, sp.MatrixSymbol):
            return prettyForm(expr.arg.name + "ᵀ")
        return prettyForm(*self._print(expr.arg).parens()) ** prettyForm("T")

    def _print_MatrixElement(self, expr):
        parent = expr.parent
        idx = str(expr.i) if parent.shape[1] == 1 else f"{expr.i}{expr.j}"
        base = self._print(parent)
        if not isinstance(parent, sp.MatrixSymbol):
            base = prettyForm(*base.parens())
        return prettyForm(*base.right(prettyForm(subscript(idx, fallback="_" + idx))))

    def _print_OneMatrix(self, expr):
        return prettyForm("𝟏")

    def _print_ZeroMatrix(self, expr):
        return prettyForm("𝟎")

    def _print_HadamardProduct(self, expr):
        parts = [self._print(a) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = prettyForm(*out.right(" ⊙ ", p))
        return out


def latex(expr) -> str:
    """LaTeX of a display expression, with the project's conventions (``^\\top``, ``x_i``)."""
    return _Latex({"mat_symbol_style": "plain"}).doprint(expr)


def pretty(expr, *, unicode: bool = True) -> str:
    """Readable Unicode (or ASCII) of a display expression for the terminal (may span several lines)."""
    from sympy.printing.pretty.pretty_symbology import pretty_use_unicode

    # the printer's own option is not enough: its symbols consult the global setting
    previous = pretty_use_unicode(unicode)
    try:
        return _Pretty({"use_unicode": unicode, "wrap_line": False}).doprint(expr)
    finally:
        pretty_use_unicode(previous)


_MATHTEXT = (
    (r"\left\lVert", r"\Vert"),
    (r"\right\rVert", r"\Vert"),
    (r"\lVert", r"\Vert"),
    (r"\rVert", r"\Vert"),
    (r"\textstyle", ""),
    (r"\displaystyle", ""),
    (r"\tfrac", r"\frac"),
)


def mathtext(expr) -> str:
    """The LaTeX of ``expr`` in the subset matplotlib's mathtext draws (without the ``$``)."""
    out = latex(expr)
    for old, new in _MATHTEXT:
        out = out.replace(old, new)
    return out


_REL_LATEX = {"=": "=", "≈": r"\approx", "!=": r"\neq", ">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}


def statement_latex(stmt) -> str:
    """``lhs rel rhs`` of a :class:`~dlmath.derive.model.Statement` as LaTeX."""
    return f"{latex(stmt.lhs)} {_REL_LATEX[stmt.relation]} {latex(stmt.rhs)}"


def statement_pretty(stmt, *, unicode: bool = True) -> str:
    """``lhs rel rhs`` as the terminal's multi-line formula."""
    return pretty(stmt.expr, unicode=unicode)


_SUB = str.maketrans("0123456789aeijklmnoprstuvxβγρφχ+-=()", "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎")


def subscript(s: str, fallback: str | None = None) -> str:
    out = s.translate(_SUB)
    if all(ch in "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎" for ch in out):
        return out
    return fallback if fallback is not None else "_" + s


_TALL = (r"\frac", r"\sum", r"\sqrt", r"\prod", r"\int", r"\begin", r"\left")


def delimited(inner: str, left: str = "(", right: str = ")") -> str:
    r"""``inner`` between delimiters, stretched with ``\left``/``\right`` only around tall content.

    MathJax draws ``\left\lVert x \right\rVert`` around a short argument as two small, loosely
    spaced bars, and ``\operatorname{f}\left(x\right)`` with a gap before the parenthesis
    (screenshots of the page); plain delimiters read like LaTeX there.
    """
    if any(t in inner for t in _TALL):
        return rf"\left{left} {inner} \right{right}"
    return f"{left}{inner}{right}" if left == "(" else f"{left} {inner} {right}"


def paren_latex(printer, arg) -> str:
    s = printer._print(arg)
    if isinstance(arg, (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.Pow)) or s.startswith("-"):
        return rf"\left({s}\right)"
    return s


def pretty_prefix(printer, prefix: str, arg):
    body = printer._print(arg)
    if isinstance(arg, (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.Pow)) or str(arg).startswith(("-", "−")):
        body = prettyForm(*body.parens())
    return prettyForm(*body.left(prefix + " "))


def pretty_wrap(printer, arg, left: str, right: str):
    """``left body right`` with the bars as tall as the body (a fraction inside a norm)."""
    body = printer._print(arg)
    h = body.height()
    if h == 1:
        return prettyForm(*prettyForm(*body.left(left)).right(right))
    # a right delimiter with a subscript (‖₁) keeps the subscript on the bottom row
    bar, sub = right[0], right[1:]
    lbar = stringPict("\n".join([left] * h), baseline=body.baseline)
    rbar = stringPict("\n".join([bar] * (h - 1) + [bar + sub]), baseline=body.baseline)
    return prettyForm(*stringPict.next(lbar, " ", body, " ", rbar))


def pretty_call(printer, name: str, *args):
    body = printer._print_seq(args, "(", ")")
    return prettyForm(*body.left(name))
