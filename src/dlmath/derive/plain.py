r"""One line of plain text for an expression: Unicode for terminals and alt text, or ASCII.

The page typesets LaTeX and the terminal draws multi-line formulas with SymPy's pretty printer;
everything that must fit in a line of text (prose in the terminal, alt text, the ASCII fallback
of a terminal that cannot print Unicode) is printed here, from the same expressions:
``Derivative(x**x, x)`` reads ``d/dx(xˣ)``, ``Norm(y - X*w)**2/2`` reads ``‖y − Xw‖²/2``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

__all__ = ["inline", "ascii_inline", "symbol_text", "natural_order", "negative"]

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "lamda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Delta": "Δ",
    "Sigma": "Σ",
    "Lambda": "Λ",
}
_SUP = str.maketrans("0123456789+-=()nijkTx", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʲᵏᵀˣ")
_SUB = str.maketrans("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_REL = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def negative(term) -> bool:
    coeff = term.as_coeff_mmul()[0] if hasattr(term, "as_coeff_mmul") else term
    return sp.S(coeff).could_extract_minus_sign()


def natural_order(terms: list) -> list:
    """Positive terms before negative ones, each group in SymPy's order; all-negative sums unchanged."""
    positive = [t for t in terms if not negative(t)]
    return positive + [t for t in terms if negative(t)] if positive else list(terms)


def _script(text: str, table, marker: str) -> str:
    if text and all(ord(c) in table for c in text):
        return text.translate(table)
    return marker + (text if len(text) == 1 else f"({text})")


def symbol_text(name: str, unicode: bool = True) -> str:
    """``sigma_hat`` -> ``σ̂``, ``eta_0`` -> ``η₀``, ``z__1`` (an explicit entry) -> ``z₁``."""
    if "__" in name:
        base, *idx = name.split("__")
        return symbol_text(base, unicode) + (
            _script("".join(idx), _SUB, "_") if unicode else "[" + ",".join(idx) + "]"
        )
    hat = name.endswith("_hat")
    star = name.endswith("_star")
    base = name[:-4] if hat else name[:-5] if star else name
    head, _, sub = base.partition("_")
    out = _GREEK.get(head, head) if unicode else head
    if sub:
        sub_text = _GREEK.get(sub, sub) if unicode else sub
        out += _script(sub_text, _SUB, "_") if unicode else f"_{sub_text}"
    if hat:
        out += "\u0302" if unicode else "_hat"
    if star:
        out += "*"
    return out


class _Inline(StrPrinter):
    """StrPrinter with mathematical notation; ``unicode=False`` keeps to ASCII."""

    def __init__(self, unicode: bool = True):
        super().__init__({"order": "none"})
        self.unicode = unicode

    def u(self, fancy: str, plain: str) -> str:
        return fancy if self.unicode else plain

    def _group(self, e) -> str:
        s = self._print(e)
        simple = isinstance(e, (sp.Symbol, sp.MatrixSymbol, sp.Integer)) or (
            isinstance(e, sp.Function) and not isinstance(e, sp.Abs)
        )
        return s if simple or re.fullmatch(r"[\w\u0302⁰-⁹₀-₉]+", s) else f"({s})"

    def _print_Symbol(self, e):
        return symbol_text(e.name, self.unicode)

    _print_Dummy = _print_Symbol

    def _print_MatrixSymbol(self, e):
        return symbol_text(e.name, self.unicode)

    def _print_Float(self, e):
        return f"{float(e):.15g}"

    def _print_Exp1(self, e):
        return "e"

    def _print_Pi(self, e):
        return self.u("π", "pi")

    def _print_Infinity(self, e):
        return self.u("∞", "inf")

    def _print_NegativeInfinity(self, e):
        return self.u("−∞", "-inf")

    def _print_Pow(self, e, rational=False):
        base, ex = e.as_base_exp()
        if ex == sp.Rational(1, 2):
            return (
                self.u("√", "sqrt") + f"({self._print(base)})"
                if not self._is_atom(base)
                else self.u("√", "sqrt") + self._print(base)
            )
        if ex == -1:
            return f"1/{self._group(base)}"
        if ex.is_Rational and ex < 0:
            return f"1/{self._group(base ** (-ex))}"
        b = self._print(base)
        if precedence(base) < PRECEDENCE["Pow"] or isinstance(base, sp.Pow) or b.startswith("-"):
            b = f"({b})"
        x = self._print(ex)
        if self.unicode:
            return b + _script(x.replace(" ", ""), _SUP, "^")
        return f"{b}^{x}" if self._is_atom(ex) else f"{b}^({x})"

    def _is_atom(self, e) -> bool:
        return isinstance(e, (sp.Symbol, sp.Integer, sp.MatrixSymbol)) or (e.is_Rational and e.q == 1)

    def _print_Mul(self, e):
        out = super()._print_Mul(e)
        return out.replace("*", self.u("·", "*"))

    def _print_MatMul(self, e):
        coeff, rest = e.as_coeff_mmul()
        factors = rest.args if isinstance(rest, sp.MatMul) else (rest,)
        parts = []
        for a in factors:
            s = self._print(a)
            parts.append(f"({s})" if isinstance(a, (sp.MatAdd, sp.Add)) else s)
        body = "".join(parts) if self.unicode else "*".join(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        return f"{self._group(coeff)}{self.u('·', '*')}{body}"

    def _print_MatAdd(self, e):
        return self._print_Add(e)

    def _print_Add(self, e, order=None):
        terms = natural_order(list(e.args))
        out = ""
        for k, t in enumerate(terms):
            s = self._print(t)
            if k == 0:
                out = s
            elif s.startswith("-"):
                out += self.u(" − ", " - ") + s[1:]
            else:
                out += " + " + s
        return out

    def _print_Transpose(self, e):
        return self._group(e.arg) + self.u("ᵀ", ".T")

    def _print_Inverse(self, e):
        return self._group(e.arg) + self.u("⁻¹", "^-1")

    def _print_HadamardProduct(self, e):
        return self.u(" ⊙ ", " * ").join(self._group(a) for a in e.args)

    def _print_OneMatrix(self, e):
        return self.u("𝟏", "1")

    def _print_ZeroMatrix(self, e):
        return self.u("𝟎", "0")

    def _print_MatrixElement(self, e):
        idx = str(e.i) if e.parent.shape[1] == 1 else f"{e.i}{e.j}"
        return self._group(e.parent) + (_script(idx, _SUB, "_") if self.unicode else f"[{idx}]")

    def _print_Relational(self, e):
        return f"{self._print(e.lhs)} {self.u(_REL[e.rel_op], e.rel_op if e.rel_op != '==' else '=')} {self._print(e.rhs)}"

    def _print_Abs(self, e):
        return f"|{self._print(e.args[0])}|"

    def _print_exp(self, e):
        arg = e.args[0]
        if self.unicode and isinstance(arg, sp.Symbol):
            return "e" + _script(symbol_text(arg.name), _SUP, "^")
        return f"e^{self._group(arg)}" if self.unicode else f"exp({self._print(arg)})"

    def _print_Derivative(self, e):
        var = "".join(self._print(v) if n == 1 else f"{self._print(v)}{n}" for v, n in e.variable_count)
        order = sum(n for _, n in e.variable_count)
        d = "d" if order == 1 else f"d{order}"
        return f"{d}/d{var} {self._group(e.expr) if not isinstance(e.expr, sp.Add) else '(' + self._print(e.expr) + ')'}"

    def _print_Subs(self, e):
        pts = ", ".join(
            f"{self._print(v)}={self._print(p)}" for v, p in zip(e.variables, e.point, strict=True)
        )
        return f"[{self._print(e.expr)}] at {pts}"

    def _print_Limit(self, e):
        expr, z, z0, d = e.args
        side = {"+": self.u("⁺", "+"), "-": self.u("⁻", "-")}.get(str(d), "")
        arrow = self.u("→", "->")
        return f"lim[{self._print(z)}{arrow}{self._print(z0)}{side}] {self._group(expr)}"

    def _print_Sum(self, e):
        (i, lo, hi), *_ = e.limits
        index = self._print(i)
        if self.unicode:
            return f"Σ{_script(index, _SUB, '_')} {self._group(e.function)}"
        return f"sum_{index} {self._group(e.function)}"

    def _print_KroneckerDelta(self, e):
        i, j = (self._print(a) for a in e.args)
        return self.u("δ", "delta") + (_script(i + j, _SUB, "_") if self.unicode else f"_{i}{j}")

    def _print_Max(self, e):
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e):
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Piecewise(self, e):
        parts = [f"{self._print(v)} if {self._print(c)}" for v, c in e.args if c is not sp.true]
        parts += [f"{self._print(v)} otherwise" for v, c in e.args if c is sp.true]
        return "{" + "; ".join(parts) + "}"

    def _print_UnevaluatedExpr(self, e):
        return self._print(e.args[0])

    def _print_Lambda(self, e):
        args = ", ".join(self._print(a) for a in e.signature)
        return f"({args} {self.u('↦', '->')} {self._print(e.expr)})"

    def emptyPrinter(self, e):
        return str(e)


def inline(expr) -> str:
    """One line of Unicode for ``expr`` (a relation, an expression, a predicate)."""
    return _Inline(True).doprint(expr)


def ascii_inline(expr) -> str:
    """One line of ASCII for ``expr``, for terminals that cannot print Unicode."""
    return _Inline(False).doprint(expr)
