r"""Texts with checked math: titles, claims, labels, reasons, prose, captions, alt text, figure labels.

Math in a text is written between ``$...$`` (``$$...$$`` for display) as a SymPy expression in
the topic's own names, never as hand-typed TeX: ``"the gradient is $Grad(L, z) == p - y$"``.
Each fragment is parsed (``==``, ``<=``, ... become relations; integer literals stay exact) and
then must be one of:

- a **relation** (``a == b``, ``a >= b``, ``Approx(a, "0.37")``): it becomes an item of the topic,
  checked symbolically and numerically like a step (or it *is* a step, a claim, an assumption or a
  definition of the topic, written again);
- a **name** the topic declared (a symbol, a named quantity, a function);
- a **part** of a checked statement: an expression that occurs in one (a side, a term, a factor);
- a **point** (``Point(x, 1/E)``: "at x = 1/e"), which some checked statement must evaluate at;
- a **value** (``Value(log(2), 3)``), a number computed from a closed-form expression, or a
  **setting** (``Setting(tau, 0.5)``), the parameter a figure's curve was drawn with.

Anything else is a :class:`~dlmath.derive.results.TextIssue`, and so is math outside ``$...$``:
TeX commands, relation and operator signs, Greek letters, ``x_i``, ``f(x)``, and a relation
written in words between two fragments (``$a$ equals $b$``). Code between backticks is left as
it is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from . import assumptions as A
from . import notation as nt
from . import printing
from .model import Approx, Statement, relation_of

__all__ = ["Point", "Setting", "Value", "Fragment", "Segment", "Text", "MATH", "parse", "split", "lint"]


# --- display nodes only texts use -------------------------------------------------------------


class Point(sp.Basic):
    r"""The point :math:`x = v` at which something is said to happen ("the minimum is at x = 1/e")."""

    def _latex(self, printer):
        return f"{printer._print(self.args[0])} = {printer._print(self.args[1])}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm, stringPict

        return prettyForm(*stringPict.next(printer._print(self.args[0]), " = ", printer._print(self.args[1])))

    def _sympystr(self, printer):
        return f"{printer._print(self.args[0])} = {printer._print(self.args[1])}"


class Setting(Point):
    """A parameter a figure was drawn with, ``tau = 0.5``: a label, not a claim."""


class Value(sp.Basic):
    """A number computed from a closed-form expression, printed to ``digits`` significant digits."""

    def __new__(cls, expr, digits=3):
        return sp.Basic.__new__(cls, sp.sympify(expr), sp.Integer(digits))

    @property
    def number(self) -> str:
        return f"{float(sp.N(self.args[0], 30)):.{int(self.args[1])}g}"

    def _latex(self, printer):
        return self.number

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(self.number)

    def _sympystr(self, printer):
        return self.number


class Chain(sp.Basic):
    """``a < b <= c``: several relations read as one, each of them checked."""

    def _latex(self, printer):
        return _chain_text(self, lambda e: printer._print(e), latex=True)

    def _sympystr(self, printer):
        return _chain_text(self, lambda e: printer._print(e), latex=False)

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(printing.inline(self))

    @property
    def links(self):
        return self.args


_REL_TEX = {"=": "=", "!=": r"\neq", ">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}
_REL_TXT = {"=": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤"}


def _chain_text(chain, show, latex):
    out = show(chain.args[0].lhs)
    for link in chain.args:
        rel = relation_of(link)[1]
        out += f" {(_REL_TEX if latex else _REL_TXT)[rel]} {show(link.rhs)}"
    return out


# --- parsing --------------------------------------------------------------------------------------

MATH: dict[str, Any] = {
    **{
        name: getattr(sp, name)
        for name in (
            "log exp sqrt Abs sign Max Min Sum Product Derivative Subs Limit Integral pi E oo Rational "
            "Integer Float S Eq Ne Lt Le Gt Ge KroneckerDelta tanh atanh sinh asinh cosh sin cos Piecewise "
            "floor ceiling factorial binomial Lambda OneMatrix ZeroMatrix Identity Transpose Inverse "
            "HadamardProduct Order UnevaluatedExpr"
        ).split()
    },
    **{
        name: getattr(nt, name)
        for name in "Grad Hess Norm Norm1 LSE Softmax Diag SignOf LogOf MaxEntry SumEntries Dot At".split()
    },
    **{name: getattr(A, name) for name in "Simplex Nonneg Positive Nonzero Invertible InverseOf".split()},
    "Approx": Approx,
    "Point": Point,
    "Setting": Setting,
    "Value": Value,
}

_COMPARE = {
    ast.Eq: sp.Eq,
    ast.NotEq: sp.Ne,
    ast.Lt: sp.Lt,
    ast.LtE: sp.Le,
    ast.Gt: sp.Gt,
    ast.GtE: sp.Ge,
}


class _Exact(ast.NodeTransformer):
    """Integer literals become SymPy Integers (so ``1/2`` is a half, not 0.5), float literals keep
    their digits, and comparisons become unevaluated relations."""

    def __init__(self, source: str):
        self.source = source

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            return node
        text = ast.get_source_segment(self.source, node) or repr(node.value)
        fn = "Integer" if isinstance(node.value, int) else "_Float"
        return ast.copy_location(ast.Call(ast.Name(fn, ast.Load()), [ast.Constant(text)], []), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        # Approx(a, 0.368): the printed digits are the claim, so the literal is passed as text
        if isinstance(node.func, ast.Name) and node.func.id == "Approx" and len(node.args) == 2:
            b = node.args[1]
            if isinstance(b, ast.Call) and isinstance(b.func, ast.Name) and b.func.id == "_Float":
                node.args[1] = b.args[0]
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        links, left = [], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise SyntaxError(f"unsupported comparison {type(op).__name__}")
            links.append(
                ast.Call(
                    ast.Name(f"_{fn.__name__}", ast.Load()),
                    [left, right],
                    [ast.keyword("evaluate", ast.Constant(False))],
                )
            )
            left = right
        if len(links) == 1:
            return ast.copy_location(links[0], node)
        return ast.copy_location(ast.Call(ast.Name("_Chain", ast.Load()), links, []), node)


class MathError(ValueError):
    """A ``$...$`` fragment that does not parse as a SymPy expression in the topic's names."""


def parse(source: str, names: dict):
    """The SymPy object ``source`` (a ``$...$`` fragment's contents) stands for, in ``names``."""
    src = source.strip()
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        hint = " (hand-typed TeX is not checked: write a SymPy expression)" if "\\" in src else ""
        raise MathError(f"does not parse as an expression{hint}") from None
    try:
        tree = ast.fix_missing_locations(_Exact(src).visit(tree))
    except SyntaxError as exc:
        raise MathError(str(exc)) from None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and node.id not in names
            and node.id not in MATH
            and not node.id.startswith("_")
        ):
            raise MathError(
                f"unknown name {node.id!r} (the topic declares: {', '.join(sorted(names)) or 'nothing'})"
            )
    env = {
        **MATH,
        **names,
        "_Float": lambda t: sp.Float(t, 15),
        "_Chain": lambda *links: Chain(*links),
        **{f"_{fn.__name__}": fn for fn in _COMPARE.values()},
    }
    try:
        return eval(compile(tree, "<math>", "eval"), {"__builtins__": {}}, env)
    except Exception as exc:
        raise MathError(f"could not be evaluated: {type(exc).__name__}: {exc}") from None


# --- splitting and linting ------------------------------------------------------------------------

_TOKEN = re.compile(r"\\\$|\$\$(.+?)\$\$|\$(.+?)\$|`([^`]+)`", re.DOTALL)

_LINT = [
    (re.compile(r"\\[A-Za-z]+"), "TeX outside $...$"),
    (re.compile(r"[=<>≤≥≠≈^∇∂∑Σ√‖⊙∈→↦±×∞⁻⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉ᵀ]"), "a math sign outside $...$"),
    (re.compile(r"[α-ωΑ-Ω]"), "a Greek letter outside $...$"),
    (re.compile(r"\b[A-Za-z]_[A-Za-z0-9]"), "a subscript outside $...$"),
    (re.compile(r"\b[A-Za-z]'(?![A-Za-z])"), "a derivative prime outside $...$"),
    (re.compile(r"\b[A-Za-z]\s?\((?:[A-Za-z0-9,\s+\-*/]{1,12})\)"), "a function of a variable outside $...$"),
    (re.compile(r"(?<![\w.])(?:\d+|[A-Za-z])\s?/\s?(?:\d+|[A-Za-z])(?![\w.])"), "a fraction outside $...$"),
    (
        re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?[*·]\s?[A-Za-z]\b|(?<![\w.])\d[a-zA-Z](?![\w])"),
        "a product outside $...$",
    ),
]
_WORDS = (
    r"is|equals|is equal to|are equal to|has slope|has derivative|gives|becomes|reduces to|is at most|"
    r"is at least|exceeds|is below|is above|is less than|is greater than|tends to|goes to|approaches|"
    r"is bounded by|is proportional to"
)
_WORD_RELATION = re.compile(r"\$[^$]+\$\s*,?\s+(?:" + _WORDS + r")\s+(?:about\s+|exactly\s+)?\$[^$]+\$")


@dataclass
class Fragment:
    """One ``$...$`` of a text: what was written, what it means, how it prints."""

    source: str
    expr: Any
    kind: str
    display: bool = False
    item: Any = None

    @property
    def latex(self) -> str:
        return printing.latex(self.expr)

    @property
    def unicode(self) -> str:
        return printing.inline(self.expr)

    @property
    def ascii(self) -> str:
        return printing.ascii_inline(self.expr)

    @property
    def mathtext(self) -> str:
        return printing.mathtext(self.expr)


@dataclass
class Segment:
    kind: str  # "text", "code" or "math"
    value: Any  # str, or a Fragment for "math"


@dataclass
class Text:
    """A resolved text: its segments, and the math in it that nothing checks (``issues``)."""

    place: str
    source: str
    segments: list[Segment] = field(default_factory=list)
    issues: list = field(default_factory=list)

    def plain(self, *, unicode: bool = True) -> str:
        """The text on one line, math printed as Unicode (or ASCII), code without backticks."""
        out = []
        for seg in self.segments:
            if seg.kind == "math":
                out.append(seg.value.unicode if unicode else seg.value.ascii)
            else:
                out.append(seg.value)
        return "".join(out)

    @property
    def fragments(self) -> list[Fragment]:
        return [s.value for s in self.segments if s.kind == "math"]

    def __bool__(self) -> bool:
        return bool(self.source.strip())


def split(source: str) -> list[tuple[str, str, bool]]:
    """``[(kind, value, display)]`` for the plain runs, code spans and math of ``source``."""
    out, pos = [], 0
    for m in _TOKEN.finditer(source):
        if m.start() > pos:
            out.append(("text", source[pos : m.start()], False))
        display, inline, code = m.groups()
        if display is not None:
            out.append(("math", display, True))
        elif inline is not None:
            out.append(("math", inline, False))
        elif code is not None:
            out.append(("code", code, False))
        else:
            out.append(("text", "$", False))
        pos = m.end()
    if pos < len(source):
        out.append(("text", source[pos:], False))
    return out


def lint(source: str) -> list[tuple[str, str]]:
    """``[(fragment, message)]``: math in ``source`` that is outside ``$...$`` or written in words."""
    found = []
    for kind, value, _ in split(source):
        if kind != "text":
            continue
        if value != "$" and "$" in value.replace("\\$", ""):
            found.append((value.strip(), "an unmatched '$'"))
            continue
        for pattern, message in _LINT:
            m = pattern.search(value)
            if m:
                start = max(0, m.start() - 20)
                found.append((value[start : m.end() + 20].strip(), message))
                break
    for m in _WORD_RELATION.finditer(_no_code(source)):
        found.append((m.group(0), "a relation between two formulas written in words; write it as a relation"))
    return found


def _no_code(source: str) -> str:
    return re.sub(r"`[^`]*`", "code", source)


def as_statement(expr, **options) -> list[Statement]:
    """The statements a relation fragment makes: one, or one per link of a chain."""
    if isinstance(expr, Chain):
        return [Statement.of(link, **options) for link in expr.links]
    return [Statement.of(expr, **options)]


def is_relation(expr) -> bool:
    return isinstance(expr, Chain) or relation_of(expr) is not None
