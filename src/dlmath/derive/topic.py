r"""A topic: one derivation, written in one file, that ``dlmath check`` checks as a whole.

A topic declares its named symbols, states its assumptions as predicates, and lists its steps
and further claims as relations; its title, claim, labels, reasons, prose, figure caption and alt
text are texts whose ``$...$`` math is checked too (:mod:`.text`). A short one::

    from dlmath.derive import Topic, Derivative, Eq, log

    t = Topic("x-pow-x", "The derivative of $x**x$")
    x = t.scalar("x")
    t.assume(x > 0)
    t.step("take-log", Eq(log(x**x), x*log(x)), label="Take the logarithm", simplify=("expand_log",))
    t.step("result", Eq(Derivative(x**x, x), x**x*(log(x) + 1)), label="Differentiate")

Nothing here is a global table: a topic holds its own names, and texts are resolved against it
when first needed (after which it no longer accepts new statements).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import sympy as sp

from . import assumptions as A
from . import notation as nt
from . import text as T
from .model import Definition, Figure, Item, Numeric, Statement, relation_of
from .results import TextIssue

__all__ = ["Topic"]

_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_NUMERIC_KEYS = {"sizes", "seeds", "rtol", "atol", "reference", "against", "functions", "sample"}
_STATEMENT_KEYS = {"wlog", "forall", "dims", "simplify"}


class Topic:
    """One section of the reference, or a reader's own derivation; see the module docstring.

    Args:
        id: lower-case words joined by hyphens; the CLI and the page's anchors use it.
        title: a text (may hold ``$...$`` math).
        claim: the one-sentence claim, a text (kept as ``claim_text``; :meth:`claim` adds a
            further claim).
        sizes: the dimension sizes the numeric checks sample at, e.g. ``({"n": 3}, {"n": 7})``.
        dims: the dimension sizes of the symbolic check (small: SymPy spells matrices out).
        implemented_by: the dlmath functions that implement the result (``"dlmath.softmax"``).
    """

    def __init__(
        self,
        id: str,
        title: str,
        *,
        claim: str = "",
        sizes: tuple = ({},),
        dims: dict | None = None,
        implemented_by: Iterable[str] = (),
    ):
        if not isinstance(id, str) or not _ID.fullmatch(id):
            raise ValueError(
                f"Topic: 'id' must be lower-case words joined by hyphens (e.g. 'x-pow-x'); got {id!r}"
            )
        self.id = id
        self.title = title
        self.claim_text = claim
        self.sizes = tuple(dict(s) for s in sizes)
        self.dims = dict(dims or {})
        self.implemented_by = tuple(implemented_by)
        self.prose = ""
        self.snippet = ""
        self.figure: Figure | None = None
        self.names: dict[str, object] = {}
        self.assumptions: list[A.Assumption] = []
        self.definitions: list[Definition] = []
        self.steps: list[Item] = []
        self.claims: list[Item] = []
        self.distributions: dict = {}
        self.whole_sampler: Callable | None = None
        self.measured: dict[str, Callable] = {}
        self.module = _caller_module()
        self._texts: dict[str, T.Text] | None = None
        self._text_items: list[Item] = []

    # --- names ----------------------------------------------------------------------------------

    def _name(self, name: str, obj):
        if name in self.names:
            raise ValueError(f"topic {self.id!r}: the name {name!r} is declared twice")
        if not name.isidentifier() or "__" in name:
            raise ValueError(f"topic {self.id!r}: {name!r} is not a usable name (an identifier without '__')")
        self.names[name] = obj
        return obj

    def scalar(self, name: str) -> sp.Symbol:
        """A real scalar; its facts (sign, bounds) come from :meth:`assume`."""
        return self._name(name, sp.Symbol(name, real=True))

    def scalars(self, names: str) -> tuple[sp.Symbol, ...]:
        return tuple(self.scalar(n) for n in names.split())

    def dim(self, name: str) -> sp.Symbol:
        """A dimension (a positive integer), set by ``sizes`` and ``dims``."""
        return self._name(name, sp.Symbol(name, integer=True, positive=True))

    def index(self, name: str) -> sp.Symbol:
        """A summation or entry index (a non-negative integer)."""
        return self._name(name, sp.Symbol(name, integer=True, nonnegative=True))

    def vector(self, name: str, n) -> sp.MatrixSymbol:
        """A column vector of ``n`` real entries."""
        return self._name(name, nt.Vector(name, n))

    def matrix(self, name: str, rows, cols) -> sp.MatrixSymbol:
        return self._name(name, nt.Matrix(name, rows, cols))

    def function(self, name: str):
        """An undefined function: a general rule is checked for it in general where SymPy can, and
        on instances (the item's ``functions=``, and library functions the assumptions allow)."""
        return self._name(name, sp.Function(name))

    def measure(self, name: str, fn: Callable):
        """A quantity measured by running ``fn`` (an experiment): only the numeric check can use it."""
        f = self._name(name, sp.Function(name))
        self.measured[name] = fn
        return f

    def let(self, name: str, expr):
        """A name for an expression, for use in texts; it is the same object the statements use."""
        return self._name(name, expr)

    def quantity(self, name: str, latex: str, text: str, definition: Callable, *args, shape=None):
        """A named quantity (:math:`-\\log L(w)`) shown by name and checked by its definition; see
        :func:`dlmath.derive.notation.defined`."""
        return self._name(name, nt.defined(latex, text, definition, *args, shape=shape))

    def define(self, symbol, expr) -> Definition:
        """``symbol`` stands for ``expr``; statements using ``symbol`` are checked with it substituted."""
        d = Definition(symbol, expr)
        self.definitions.append(d)
        return d

    # --- assumptions and sampling ------------------------------------------------------------

    def assume(self, *predicates) -> None:
        """State assumptions: ``x > 0``, ``a >= b``, ``Abs(y) < 1``, ``Simplex(p)``, ``Invertible(X.T*X)``..."""
        for p in predicates:
            self.assumptions.extend(A.assumption(p))

    def sample(self, **how) -> None:
        """Choose how symbols are drawn: ``x=(0.05, 4.0)`` (uniform) or ``x=lambda rng, shape: ...``.

        The draws must still satisfy the assumptions; a sample that does not is an error.
        """
        self.distributions.update(how)

    def sampler(self, fn: Callable) -> Callable:
        """Draw several symbols at once, ``fn(rng, size) -> {name: value}`` (e.g. a data set)."""
        self.whole_sampler = fn
        return fn

    # --- statements -------------------------------------------------------------------------------

    def step(self, id: str, relation, *, label: str, why: str = "", **options) -> Item:
        """A step of the derivation: ``relation`` checked symbolically and numerically."""
        return self._item("step", id, relation, label, why, options)

    def claim(self, id: str, relation, *, label: str, why: str = "", **options) -> Item:
        """A further claim about the result, checked like a step."""
        return self._item("claim", id, relation, label, why, options)

    def _item(self, kind, id, relation, label, why, options) -> Item:
        if self._texts is not None:
            raise RuntimeError(
                f"topic {self.id!r} has been checked or shown; declare every statement before that"
            )
        if not _ID.fullmatch(id or ""):
            raise ValueError(
                f"topic {self.id!r}: item id must be lower-case words joined by hyphens; got {id!r}"
            )
        if any(i.id == id for i in self.steps + self.claims):
            raise ValueError(f"topic {self.id!r}: two items have the id {id!r}")
        unknown = set(options) - _NUMERIC_KEYS - _STATEMENT_KEYS - {"given", "assume", "numeric"}
        if unknown:
            raise TypeError(f"{kind} {id!r}: unknown option(s) {', '.join(sorted(unknown))}")
        numeric = options.pop("numeric", None) or Numeric(
            **{k: options.pop(k) for k in list(options) if k in _NUMERIC_KEYS}
        )
        local = tuple(a for p in options.pop("assume", ()) for a in A.assumption(p))
        given = self._given(relation, options.pop("given", None))
        stmt_options = {k: options.pop(k) for k in list(options) if k in _STATEMENT_KEYS}
        stmt_options.setdefault("dims", self.dims)
        item = Item(id, kind, Statement.of(relation, given=given, **stmt_options), label, why, numeric, local)
        (self.steps if kind == "step" else self.claims).append(item)
        return item

    def _given(self, relation, given) -> dict:
        """The definitions an item is checked with: the ones whose symbol it uses, unless told."""
        if isinstance(given, dict):
            return dict(given)
        if given is None:
            parts = relation_of(relation) if not isinstance(relation, Statement) else None
            used = set()
            for side in parts[:3:2] if parts else ():
                used |= sp.sympify(side).free_symbols
            chosen, changed = [], True
            while changed:  # definitions that use other definitions' symbols come along
                changed = False
                for d in self.definitions:
                    if d not in chosen and d.symbol in used:
                        chosen.append(d)
                        used |= sp.sympify(d.expr).free_symbols
                        changed = True
            given = chosen
        return {d.symbol: d.expr for d in given}

    @property
    def items(self) -> list[Item]:
        """Every checked item: steps, claims, and the relations the texts state."""
        self.texts()
        return self.steps + self.claims + self._text_items

    # --- texts --------------------------------------------------------------------------------

    def texts(self) -> dict[str, T.Text]:
        """Every text of the topic by place, resolved (fragments classified, issues found)."""
        if self._texts is None:
            self._texts = {}
            self._text_items = []
            places = [("title", self.title, ()), ("claim", self.claim_text, ())]
            for item in self.steps + self.claims:
                places.append((f"{item.kind} {item.id}: label", item.label, item.assume))
                places.append((f"{item.kind} {item.id}: why", item.why, item.assume))
            for k, para in enumerate(paragraphs(self.prose), 1):
                places.append((f"prose paragraph {k}", para, ()))
            if self.figure is not None:
                places.append(("figure: caption", self.figure.caption, ()))
                places.append(("figure: alt text", self.figure.alt, ()))
            for place, source, local in places:
                self._texts[place] = self.resolve(place, source or "", local)
        return self._texts

    def text(self, place: str) -> T.Text:
        return self.texts()[place]

    def resolve(self, place: str, source: str, local=()) -> T.Text:
        """Resolve one text (see :mod:`.text`); relations it states become items of the topic.

        The conditions a text states (``"where $x > 0$, ..."``: fragments that are assumptions of the
        topic or of one of its items) hold for the relations the same text states.
        """
        out = T.Text(place, source)
        for fragment, message in T.lint(source):
            out.issues.append(TextIssue(place, fragment, message))
        parsed = []
        for kind, value, display in T.split(source):
            if kind != "math":
                parsed.append((kind, value, display, None))
                continue
            try:
                parsed.append((kind, value, display, T.parse(value, self.names)))
            except T.MathError as exc:
                out.issues.append(TextIssue(place, f"${value}$", str(exc)))
                parsed.append(("code", value, display, None))
        stated = [
            a for *_, expr in parsed if expr is not None for a in self._assumptions_matching(expr, local)
        ]
        local = (*local, *(a for a in stated if a not in local))
        for kind, value, display, expr in parsed:
            if kind != "math":
                out.segments.append(T.Segment(kind, value))
                continue
            out.segments.append(T.Segment("math", self._classify(value, expr, display, place, local, out)))
        return out

    def _in_scope(self, local):
        return (*local, *self.assumptions, *(a for i in self.steps + self.claims for a in i.assume))

    def _assumptions_matching(self, expr, local) -> list:
        return [a for a in self._in_scope(local) if a.expr == expr]

    def _conditions(self, local):
        """``(lhs, relation, rhs)`` of every condition in scope: assumptions, definitions, givens."""
        out = []
        for a in self._in_scope(local):
            parts = relation_of(a.expr)
            if parts is not None:
                out.append(parts[:3])
        for d in self.definitions:
            out.append((d.symbol, "=", d.expr))
        for item in self.steps + self.claims:
            out.extend((k, "=", v) for k, v in item.statement.given.items())
        for a in self._in_scope(local):
            if isinstance(a, A.InverseAssumption):
                f, g = sp.Function(a.f), sp.Function(a.g)
                out.extend((f(g(s)), "=", s) for s in self.names.values() if isinstance(s, sp.Symbol))
        return out

    def _altered_condition(self, expr, local) -> bool:
        """True when ``expr`` restates a condition with another relation or bound (``x < 0`` where
        ``x > 0`` is assumed, ``Abs(y) < 2`` where ``Abs(y) < 1`` is): a wrong condition, not a claim."""
        parts = relation_of(expr)
        if parts is None:
            return False
        lhs, rel, rhs, _ = parts
        for a_lhs, a_rel, a_rhs in self._conditions(local):
            if {lhs, rhs} == {a_lhs, a_rhs} and rel != a_rel:
                return True
            if (
                rel != "="
                and a_rel != "="
                and lhs == a_lhs
                and sp.sympify(rhs).is_number
                and sp.sympify(a_rhs).is_number
            ):
                return True
        return False

    def _classify(self, source, expr, display, place, local, out) -> T.Fragment:
        frag = T.Fragment(source, expr, "name", display)
        if T.is_relation(expr) or isinstance(expr, A._Predicate):
            frag.kind = self._relation_kind(expr, local, place, frag, out)
            return frag
        if isinstance(expr, T.Setting):
            if not expr.args[1].is_number:
                out.issues.append(TextIssue(place, f"${source}$", "a setting gives a symbol a number"))
            frag.kind = "setting"
            return frag
        if isinstance(expr, T.Value):
            if expr.args[0].free_symbols:
                out.issues.append(
                    TextIssue(place, f"${source}$", "a value must be computed from numbers alone")
                )
            frag.kind = "value"
            return frag
        if isinstance(expr, T.Point):
            frag.kind = "point"
            if not self._evaluated_at(*expr.args):
                out.issues.append(
                    TextIssue(place, f"${source}$", "no checked statement evaluates anything at this point")
                )
            return frag
        if self._declared(expr):
            return frag
        if self._occurs(expr):
            frag.kind = "part"
            return frag
        frag.kind = "unchecked"
        out.issues.append(
            TextIssue(
                place,
                f"${source}$",
                "neither a checked relation, a declared name, nor part of a checked statement",
            )
        )
        return frag

    def _relation_kind(self, expr, local, place, frag, out) -> str:
        # the text's own conditions first, then the topic's, then any item's (a claim or prose may
        # name the condition a step is checked under)
        if self._assumptions_matching(expr, local):
            return "assumption"
        for d in self.definitions:
            if d.relation == expr or sp.Eq(d.expr, d.symbol, evaluate=False) == expr:
                return "definition"
        if isinstance(expr, sp.Equality):
            # "with m = max x": a condition some item is checked under (its given)
            for item in self.steps + self.claims:
                for key, value in item.statement.given.items():
                    if (expr.lhs, expr.rhs) in ((key, value), (value, key)):
                        return "definition"
        if isinstance(expr, A._Predicate):
            out.issues.append(
                TextIssue(
                    place, f"${frag.source}$", "a predicate that is not an assumption of this topic or item"
                )
            )
            return "unchecked"
        if self._altered_condition(expr, local):
            out.issues.append(
                TextIssue(
                    place,
                    f"${frag.source}$",
                    "differs from the condition the topic states for the same quantity",
                )
            )
            return "unchecked"
        given_by_name = None
        statements = T.as_statement(expr, dims=self.dims)
        items = []
        for stmt in statements:
            match = next(
                (i for i in self.steps + self.claims + self._text_items if i.statement.same_as(stmt)), None
            )
            if match is None:
                if given_by_name is None:
                    given_by_name = self._given(stmt.expr, None)
                stmt = Statement(
                    stmt.lhs, stmt.rhs, stmt.relation, given=given_by_name, dims=self.dims, tol=stmt.tol
                )
                match = Item(
                    f"{_slug(place)}-{len(self._text_items) + 1}",
                    "text",
                    stmt,
                    label=f"stated in the {place}",
                    assume=tuple(local),
                    place=place,
                )
                self._text_items.append(match)
            items.append(match)
        frag.item = items[0] if len(items) == 1 else tuple(items)
        return "relation"

    def _declared(self, expr) -> bool:
        if any(expr is v or (isinstance(v, sp.Basic) and expr == v) for v in self.names.values()):
            return True
        if isinstance(expr, sp.FunctionClass) and T.MATH.get(getattr(expr, "__name__", "")) is expr:
            return True  # a named function of the vocabulary: "exp and log"
        return isinstance(expr, sp.Number) and expr in (sp.S.Zero, sp.S.One)

    def _statement_exprs(self):
        for item in self.steps + self.claims + self._text_items:
            s = item.statement
            yield s.lhs
            yield s.rhs
            yield from s.given.values()
        for d in self.definitions:
            yield d.expr
        for a in self.assumptions:
            yield a.expr

    def _occurs(self, expr) -> bool:
        """True when ``expr`` is a node of a checked statement, or a sub-sum / sub-product of one."""
        expr = sp.sympify(expr)
        for side in self._statement_exprs():
            for node in sp.preorder_traversal(sp.sympify(side)):
                if node == expr:
                    return True
                if type(node) is type(expr) and isinstance(node, (sp.Add, sp.Mul, sp.MatAdd)):
                    if _sub_multiset(expr.args, node.args):
                        return True
                if isinstance(node, sp.MatMul) and isinstance(expr, sp.MatMul):
                    if _contiguous(expr.args, node.args):
                        return True
        return False

    def _evaluated_at(self, var, point) -> bool:
        for side in self._statement_exprs():
            for node in sp.preorder_traversal(sp.sympify(side)):
                if isinstance(node, (sp.Subs, nt.At)):
                    variables = node.variables
                    points = node.point
                    if any(v == var and p == point for v, p in zip(variables, points, strict=True)):
                        return True
        return False

    # --- checking and display ----------------------------------------------------------------

    def check(self, *, seed: int = 0):
        """Check every item and text now; returns a :class:`~dlmath.derive.results.TopicReport`."""
        from .check import check_topic

        report = check_topic(self, seed=seed)
        report.topic = self
        return report

    def __repr__(self) -> str:
        return f"<Topic {self.id!r}: {len(self.steps)} steps, {len(self.claims)} claims>"

    def _repr_markdown_(self) -> str:
        from .display import topic_markdown

        return topic_markdown(self)


def _sub_multiset(small, big) -> bool:
    pool = list(big)
    for a in small:
        if a in pool:
            pool.remove(a)
        else:
            return False
    return len(small) < len(big) or not pool


def _contiguous(small, big) -> bool:
    n = len(small)
    return any(tuple(big[k : k + n]) == tuple(small) for k in range(len(big) - n + 1))


def _slug(place: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", place.lower()).strip("-")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs of ``text``."""
    return [b.strip() for b in re.split(r"\n\s*\n", (text or "").strip()) if b.strip()]


def _caller_module() -> str:
    import inspect

    frame = inspect.currentframe()
    try:
        outer = frame.f_back.f_back if frame and frame.f_back else None
        return (outer.f_globals.get("__name__", "") if outer else "") or ""
    finally:
        del frame
