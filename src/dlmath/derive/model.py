"""The data a topic is made of, and the results its checks produce.

This module is the contract between the three layers: ``topics/`` builds :class:`Topic` objects,
``derive/`` checks them into :class:`TopicReport` objects, and ``render/`` (terminal, HTML page,
notebook) displays both. It imports nothing heavy: SymPy objects are built lazily by the
callables a topic holds, so ``dlmath list`` stays fast.

A step or claim holds a ``build`` callable returning a :class:`Statement` (SymPy expressions), and
a ``numeric`` check: either a :class:`Numeric` recipe (random instances on which both sides of the
statement, and the dlmath function that implements it, are evaluated) or a callable
``numeric(rng) -> CheckResult`` for experiments that are not a formula evaluation (an SGD run,
a float overflow). ``latex`` and ``text`` are generated from the built statement on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "undecided", "skipped"]
Relation = Literal["=", ">", ">=", "<", "<="]

_LATEX_REL = {"=": "=", ">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}
_TEXT_REL = {"=": "=", ">": ">", ">=": "≥", "<": "<", "<=": "≤"}


@dataclass(frozen=True)
class Assumption:
    """A condition the derivation relies on, e.g. ``x > 0`` or ``X^T X invertible``.

    ``latex`` is what the page shows; ``text`` is the plain-Unicode form for the terminal.
    How the assumption constrains the checks (SymPy symbol facts, ``Statement.given``, the sampler
    of numeric instances) lives with the topic's builders.
    """

    latex: str
    text: str


@dataclass(frozen=True)
class Statement:
    """``lhs <relation> rhs`` in display notation (see :mod:`dlmath.derive.notation`).

    ``given`` substitutes display symbols by what they stand for (``p -> softmax(z)``); it is
    shown as a "where" clause and applied before both checks. ``wlog`` (symbolic side only) maps
    the explicit scalars to a case that loses no generality, e.g. ``a = b + g`` with ``g >= 0``.
    ``forall`` lists index ranges ``(i, lo, hi)`` for an entrywise statement. ``dims`` sets the
    sizes of the symbolic check by dimension-symbol name. ``simplify`` names the rewrites tried on
    the residual, cheapest first (see :mod:`dlmath.derive.symbolic`).
    """

    lhs: Any
    rhs: Any
    relation: Relation = "="
    given: Mapping[Any, Any] = field(default_factory=dict)
    wlog: Callable[[dict], dict] | None = None
    forall: tuple = ()
    dims: Mapping[str, int] = field(default_factory=dict)
    simplify: tuple[str, ...] = ("cancel", "expand")


@dataclass(frozen=True)
class Numeric:
    """How to check a statement on random instances.

    ``sample(rng, size)`` returns input values by symbol name (arrays shaped like the matrix
    symbols: ``(n, 1)`` for a vector); ``size`` maps dimension names to integers and is taken from
    ``sizes``, each with ``seeds`` seeds. Both sides are evaluated from the statement itself (the
    gradient, Hessian, derivative and limit nodes by finite differences) and compared with
    ``rtol``/``atol``. ``reference(values)`` is the dlmath function that implements the result;
    its value must match the side named by ``against`` (``"rhs"``, ``"lhs"`` or a symbol of
    ``given``). It may return several ``(label, value)`` pairs.
    """

    sample: Callable[..., dict]
    sizes: tuple[Mapping[str, int], ...] = ({},)
    seeds: int = 3
    rtol: float = 1e-9
    atol: float = 1e-12
    reference: Callable[[dict], Any] | None = None
    against: str = "rhs"
    bind: Callable[[], dict] | None = None


class _Item:
    """What steps and claims share: a built statement, rendered on demand."""

    build: Callable[[], Statement]

    def statement(self) -> Statement:
        return _built(self)

    @property
    def latex(self) -> str:
        """LaTeX of the statement, printed from the SymPy expressions the checks use."""
        from .printing import latex

        s = self.statement()
        return f"{latex(s.lhs)} {_LATEX_REL[s.relation]} {latex(s.rhs)}"

    @property
    def text(self) -> str:
        """Readable Unicode of the statement for the terminal (may span several lines)."""
        from .printing import pretty

        return pretty(_display_relation(self.statement()))

    @property
    def where_latex(self) -> tuple[str, ...]:
        """The ``given`` substitutions of the statement, as LaTeX equations."""
        from .printing import latex

        return tuple(f"{latex(k)} = {latex(v)}" for k, v in self.statement().given.items())

    @property
    def where_text(self) -> tuple[str, ...]:
        """The ``given`` substitutions as Unicode for the terminal."""
        import sympy as sp

        from .printing import pretty

        # One pretty form per equation, so a multi-line right side keeps its left side aligned.
        return tuple(pretty(sp.Eq(k, v, evaluate=False)) for k, v in self.statement().given.items())


_BUILT: dict[int, tuple[Any, Statement]] = {}


def _built(item) -> Statement:
    """The statement of ``item``, built once per item object (expressions, never verdicts)."""
    hit = _BUILT.get(id(item))
    if hit is None or hit[0] is not item:
        hit = (item, item.build())
        _BUILT[id(item)] = hit
    return hit[1]


def _display_relation(s: Statement):
    import sympy as sp

    rel = {
        "=": sp.Eq,
        ">": sp.StrictGreaterThan,
        ">=": sp.GreaterThan,
        "<": sp.StrictLessThan,
        "<=": sp.LessThan,
    }
    if s.relation == "=":
        return sp.Eq(s.lhs, s.rhs, evaluate=False)
    return rel[s.relation](s.lhs, s.rhs, evaluate=False)


@dataclass(frozen=True, eq=False)
class Step(_Item):
    """One equation (or inequality) of a derivation, checked symbolically and numerically."""

    id: str
    label: str
    why: str
    build: Callable[[], Statement]
    numeric: Numeric | Callable[..., Any] | None = None


@dataclass(frozen=True, eq=False)
class Claim(_Item):
    """A further statement about the result (e.g. "the Hessian is PSD"), checked like a step."""

    id: str
    label: str
    why: str
    build: Callable[[], Statement]
    numeric: Numeric | Callable[..., Any] | None = None


@dataclass(frozen=True)
class Topic:
    """One section of the reference: a derivation with its claims, prose and implementation.

    ``title``, ``claim``, ``prose`` and the items' ``label`` and ``why`` may carry inline TeX between
    ``$...$``: the page typesets it and the terminal prints it as Unicode (``$x^x$`` -> ``xˣ``).
    The ``id`` is plain and stable: the CLI and the page's anchors use it.
    """

    id: str
    title: str
    claim: str
    assumptions: tuple[Assumption, ...]
    steps: tuple[Step, ...]
    claims: tuple[Claim, ...] = ()
    implemented_by: tuple[str, ...] = ()
    prose: str = ""
    snippet: str = ""
    figure: str | None = None

    @functools.cached_property
    def items(self) -> tuple[Step | Claim, ...]:
        return self.steps + self.claims

    def _repr_html_(self) -> str:
        """Jupyter: the topic as rendered math (see :mod:`dlmath.render.notebook`)."""
        from ..render.notebook import topic_html

        return topic_html(self)

    def _repr_markdown_(self) -> str:
        from ..render.notebook import topic_markdown

        return topic_markdown(self)


@dataclass
class CheckResult:
    """The verdict of one way of checking one step or claim."""

    status: Status
    detail: str = ""
    seconds: float = 0.0
    residual: str | None = None
    counterexample: str | None = None
    tolerance: float | None = None
    instances: int = 0


@dataclass
class ItemReport:
    """Both verdicts for one step or claim. It passes only if both ways passed (or the symbolic
    way was honestly ``undecided`` and the numeric way passed)."""

    id: str
    label: str
    kind: Literal["step", "claim", "implementation"]
    symbolic: CheckResult
    numeric: CheckResult

    @property
    def passed(self) -> bool:
        return self.numeric.status == "pass" and self.symbolic.status in ("pass", "undecided")


@dataclass
class TopicReport:
    topic_id: str
    items: list[ItemReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(i.passed for i in self.items)
