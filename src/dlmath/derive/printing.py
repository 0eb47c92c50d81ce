r"""Printers for display expressions: LaTeX for the page, Unicode for the terminal.

Conventions on top of SymPy's printers: transposes print as :math:`X^\top`; an entry of a column
vector prints as :math:`x_i` (not :math:`x_{i,0}`); names ending in ``_hat`` print with a hat;
:math:`\mathbf 1`, :math:`\mathbf 0` and :math:`\odot` for the all-ones and zero matrices and the
entrywise product. The display nodes of :mod:`dlmath.derive.notation` use the helpers below.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

__all__ = ["latex", "pretty", "subscript", "paren_latex", "pretty_prefix", "pretty_wrap", "pretty_call"]


def _hat_parts(name: str):
    return name[: -len("_hat")] if name.endswith("_hat") else None


class _Latex(LatexPrinter):
    """Names ending in ``_hat`` print with a hat (``w_hat`` -> :math:`\\hat{w}`)."""

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


def pretty(expr) -> str:
    """Readable Unicode of a display expression for the terminal (may span several lines)."""
    return _Pretty({"use_unicode": True, "wrap_line": False}).doprint(expr)


_SUB = str.maketrans("0123456789aeijklmnoprstuvxβγρφχ+-=()", "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎")


def subscript(s: str, fallback: str | None = None) -> str:
    out = s.translate(_SUB)
    if all(ch in "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎" for ch in out):
        return out
    return fallback if fallback is not None else "_" + s


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
    body = printer._print(arg)
    return prettyForm(*prettyForm(*body.left(left)).right(right))


def pretty_call(printer, name: str, arg):
    body = prettyForm(*printer._print(arg).parens())
    return prettyForm(*body.left(name))
