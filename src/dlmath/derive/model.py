r"""What a derivation is made of: statements, the numeric recipe that checks them, items, figures.

A :class:`Statement` is ``lhs <relation> rhs`` in display notation (see :mod:`.notation`), with
the options its checks need. An :class:`Item` is a step, a further claim, or a relation that a
text (a label, a ``why``, the prose, a caption) states inline; every item is checked the same way,
symbolically by SymPy and numerically. :class:`Numeric` says how the numeric check samples, what
it compares with, and with which tolerance. A :class:`Definition` names what a display symbol
stands for (:math:`p = \operatorname{softmax}(z)`); a :class:`Figure` holds a drawing with its alt
text and caption. The topic that holds them all is :class:`dlmath.derive.topic.Topic`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sympy as sp

from . import printing

__all__ = [
    "Approx",
    "Statement",
    "Numeric",
    "Definition",
    "Item",
    "Figure",
    "relation_of",
]

Relation = Literal["=", "≈", "!=", ">", ">=", "<", "<="]

_REL_OF = {
    sp.Equality: "=",
    sp.Unequality: "!=",
    sp.StrictGreaterThan: ">",
    sp.GreaterThan: ">=",
    sp.StrictLessThan: "<",
    sp.LessThan: "<=",
}
_REL_CLASS = {v: k for k, v in _REL_OF.items()}


class Approx(sp.Basic):
    r""":math:`a \approx b`: ``a`` lies within ``tol`` of the number ``b``.

    ``b`` may be given as a string (``Approx(1/E, "0.368")``); then ``tol`` defaults to half a
    unit of its last digit, so the statement says exactly what its printed digits claim.
    """

    def __new__(cls, a, b, tol=None):
        if isinstance(b, str):
            digits = b.split("e")[0].split("E")[0]
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            exponent = int(b.lower().split("e")[1]) if "e" in b.lower() else 0
            tol = sp.Rational(5, 10 ** (decimals + 1)) * sp.Integer(10) ** exponent if tol is None else tol
            b = sp.Float(b, max(15, len(digits)))
        if tol is None:
            raise TypeError("Approx(a, b): give b as a string of digits or pass tol=")
        return sp.Basic.__new__(cls, sp.sympify(a), sp.sympify(b), sp.sympify(tol))

    @property
    def lhs(self):
        return self.args[0]

    @property
    def rhs(self):
        return self.args[1]

    @property
    def tol(self):
        return self.args[2]

    def _latex(self, printer):
        return rf"{printer._print(self.lhs)} \approx {printer._print(self.rhs)}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm, stringPict

        return prettyForm(*stringPict.next(printer._print(self.lhs), " ≈ ", printer._print(self.rhs)))

    def _sympystr(self, printer):
        return f"{printer._print(self.lhs)} ≈ {printer._print(self.rhs)}"


def relation_of(expr) -> tuple[Any, str, Any, Any] | None:
    """``(lhs, relation, rhs, tol)`` of a SymPy relational or :class:`Approx`, else None."""
    if isinstance(expr, Approx):
        return expr.lhs, "≈", expr.rhs, expr.tol
    rel = _REL_OF.get(type(expr))
    if rel is None:
        return None
    return expr.lhs, rel, expr.rhs, None


@dataclass(frozen=True)
class Statement:
    """``lhs <relation> rhs`` in display notation, with what its checks need.

    ``given`` substitutes display symbols by what they stand for (``p -> softmax(z)``); it is
    shown as a "where" clause and applied before both checks. ``wlog`` (symbolic side only) maps
    the free symbols, by name, to a case that loses no generality (``x_0`` is the maximum).
    ``forall`` lists index ranges ``(i, lo, hi)`` of an entrywise statement; ``dims`` sets the
    sizes of the symbolic check by dimension name; ``simplify`` names the rewrites tried on the
    residual, cheapest first (see :mod:`.symbolic`); ``tol`` is the tolerance of ``≈``.
    """

    lhs: Any
    rhs: Any
    relation: Relation = "="
    given: Mapping[Any, Any] = field(default_factory=dict)
    wlog: Callable[[dict], dict] | None = None
    forall: tuple = ()
    dims: Mapping[str, int] = field(default_factory=dict)
    simplify: tuple = ("cancel", "expand")
    tol: Any = None

    @classmethod
    def of(cls, relation, **options) -> Statement:
        """The statement of a SymPy relation (``Eq(a, b)``, ``a >= b``) or an :class:`Approx`."""
        if isinstance(relation, Statement):
            return relation
        parts = relation_of(relation)
        if parts is None:
            raise TypeError(
                f"a step or claim states a relation (Eq(a, b), a >= b, Approx(a, '0.37'), ...); "
                f"got {type(relation).__name__}: {relation!r}"
            )
        lhs, rel, rhs, tol = parts
        return cls(lhs, rhs, rel, tol=tol, **options)

    @property
    def expr(self):
        """The relation as one SymPy object, unevaluated (what texts are compared with)."""
        if self.relation == "≈":
            return Approx(self.lhs, self.rhs, self.tol)
        return _REL_CLASS[self.relation](self.lhs, self.rhs, evaluate=False)

    def same_as(self, other: Statement) -> bool:
        """True when both state the same relation between the same sides (either way round)."""
        if self.relation == other.relation and (self.lhs, self.rhs) == (other.lhs, other.rhs):
            return True
        flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "=": "=", "!=": "!=", "≈": None}
        return flipped[self.relation] == other.relation and (self.lhs, self.rhs) == (other.rhs, other.lhs)


@dataclass(frozen=True)
class Numeric:
    """How the numeric check of an item samples, compares and with what tolerance.

    ``sizes`` are the dimension sizes to sample at (default: the topic's), each with ``seeds``
    seeds. ``rtol``/``atol`` default to ``1e-9``/``1e-12``, or ``1e-6``/``1e-8`` where the statement
    holds a derivative, gradient, Hessian or limit (evaluated by finite differences).
    ``reference(values)`` returns ``[(label, value), ...]``: the dlmath function(s) that implement
    the result, compared with the side named by ``against`` (``"rhs"``, ``"lhs"`` or a symbol of
    ``given``). ``functions`` lists instances of the topic's undefined functions
    (``{"f": sp.Lambda(x, exp(x)), ...}``), each checked symbolically and numerically. ``sample``
    replaces the topic's sampler for this item; every sample must satisfy the assumptions.
    """

    sizes: tuple[Mapping[str, int], ...] | None = None
    seeds: int = 3
    rtol: float | None = None
    atol: float | None = None
    reference: Callable[[dict], Any] | None = None
    against: str = "rhs"
    functions: tuple[Mapping[str, Any], ...] = ()
    sample: Callable[..., dict] | None = None


@dataclass(frozen=True, eq=False)
class Definition:
    """``symbol`` stands for ``expr`` (:math:`p = \\operatorname{softmax}(z)`), shown with the assumptions."""

    symbol: Any
    expr: Any

    @property
    def relation(self):
        return sp.Eq(self.symbol, self.expr, evaluate=False)

    @property
    def latex(self) -> str:
        return f"{printing.latex(self.symbol)} = {printing.latex(self.expr)}"

    @property
    def text(self) -> str:
        return printing.inline(self.relation)


@dataclass(eq=False)
class Item:
    """One checked statement of a topic: a step, a further claim, or a relation a text states.

    ``label`` and ``why`` are texts with ``$...$`` math (see :mod:`.text`); ``assume`` holds the
    assumptions that only this item relies on; ``place`` says where a text item was written.
    """

    id: str
    kind: Literal["step", "claim", "text"]
    statement: Statement
    label: str = ""
    why: str = ""
    numeric: Numeric = field(default_factory=Numeric)
    assume: tuple = ()
    place: str = ""

    @property
    def latex(self) -> str:
        """LaTeX of the statement, printed from the expressions the checks use."""
        return printing.statement_latex(self.statement)

    @property
    def text(self) -> str:
        """Readable Unicode of the statement for the terminal (may span several lines)."""
        return printing.statement_pretty(self.statement)

    @property
    def inline(self) -> str:
        """One line of Unicode (alt text, terminal prose)."""
        return printing.inline(self.statement.expr)

    @property
    def where_latex(self) -> tuple[str, ...]:
        return tuple(f"{printing.latex(k)} = {printing.latex(v)}" for k, v in self.statement.given.items())

    @property
    def where_text(self) -> tuple[str, ...]:
        return tuple(printing.pretty(sp.Eq(k, v, evaluate=False)) for k, v in self.statement.given.items())

    def __repr__(self) -> str:
        return f"<{self.kind} {self.id!r}: {self.inline}>"


@dataclass(frozen=True)
class Figure:
    """A topic's picture: ``draw(fig, tex)`` draws on a bare matplotlib figure.

    Every piece of math in the drawing (axis labels, legends, titles, annotations) goes through
    ``tex("... $expr$ ...")``, which prints it from the topic's expressions as matplotlib math;
    ``dlmath check`` reads every text of the drawn figure and fails on math that did not. ``alt``
    (for screen readers) and ``caption`` are texts like the prose.
    """

    draw: Callable[[Any, Callable[[str], str]], None]
    alt: str
    caption: str
    size: tuple[float, float] = (8.0, 3.0)
