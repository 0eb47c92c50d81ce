r"""Assumptions as data: predicates on named symbols that drive both checks and print themselves.

An assumption is made from a predicate, e.g. ``x > 0``, ``a >= b``, ``Simplex(p)`` or
``Invertible(X.T*X)`` (:func:`assumption` picks its kind). Each kind does three things with it:

- **facts** for SymPy (:meth:`Assumption.refine`): ``x > 0`` makes ``x`` a positive symbol;
  ``a >= b`` writes ``a = b + g`` with ``g \ge 0``; ``Simplex(p)`` writes the last entry of ``p`` as
  one minus the others; ``InverseOf(g, f)`` rewrites :math:`f(g(u))` as :math:`u`;
- **bounds** for the numeric checks (:class:`.domain.Domain`): the sampler draws inside them, the
  counterexample search moves inside them, and a sample outside them is an error;
- its **display**, printed from the predicate itself.

So removing an assumption that a step needs removes the fact SymPy used and widens the domain the
numeric checks draw from: the step then fails.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from . import printing
from .notation import entries_of, entry_of

__all__ = [
    "Assumption",
    "Bound",
    "Order",
    "Condition",
    "Simplex",
    "Nonneg",
    "Positive",
    "Nonzero",
    "Invertible",
    "InverseOf",
    "FunctionIs",
    "assumption",
]

_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
_FACT = {">": "positive", ">=": "nonnegative", "<": "negative", "<=": "nonpositive", "!=": "nonzero"}


# --- predicate nodes that are not SymPy relations ------------------------------------------------


class _Predicate(sp.Basic):
    """A display node for a predicate: prints as ``latex_form``/``text_form`` of its arguments."""

    def _latex(self, printer):  # pragma: no cover - every predicate overrides
        raise NotImplementedError

    def _pretty(self, printer):
        return prettyForm(self._sympystr(printer))


class Simplex(_Predicate):
    r"""The vector ``p`` is a probability vector: :math:`p_k \ge 0`, :math:`\sum_k p_k = 1`."""

    def _latex(self, printer):
        p = printer._print(self.args[0])
        return rf"{p}_{{k}} \geq 0,\ \textstyle\sum_{{k}} {p}_{{k}} = 1"

    def _sympystr(self, printer):
        p = printer._print(self.args[0])
        return f"{p}ₖ ≥ 0, Σₖ {p}ₖ = 1"


class Nonneg(_Predicate):
    r"""Every entry of a vector or matrix is :math:`\ge 0`."""

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])}_{{k}} \geq 0"

    def _sympystr(self, printer):
        return f"{printer._print(self.args[0])}ₖ ≥ 0"


class Positive(_Predicate):
    r"""Every entry of a vector or matrix is :math:`> 0`."""

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])}_{{k}} > 0"

    def _sympystr(self, printer):
        return f"{printer._print(self.args[0])}ₖ > 0"


class Nonzero(_Predicate):
    r"""A vector is not the zero vector, :math:`x \ne 0`."""

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])} \neq 0"

    def _sympystr(self, printer):
        return f"{printer._print(self.args[0])} ≠ 0"


class Invertible(_Predicate):
    r"""A square matrix expression is invertible, e.g. :math:`X^\top X`."""

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])} \text{{ invertible}}"

    def _sympystr(self, printer):
        return f"{printing.inline(self.args[0])} invertible"


class InverseOf(_Predicate):
    r"""``g`` is the inverse function of ``f``: :math:`f(g(u)) = u` where ``g`` is defined."""

    def __new__(cls, g, f):
        return sp.Basic.__new__(cls, sp.Symbol(_fname(g)), sp.Symbol(_fname(f)))

    @property
    def names(self) -> tuple[str, str]:
        return self.args[0].name, self.args[1].name

    def _latex(self, printer):
        g, f = self.names
        return rf"{g} = {f}^{{-1}}"

    def _sympystr(self, printer):
        g, f = self.names
        return f"{g} = {f}⁻¹"


def _fname(f) -> str:
    return f if isinstance(f, str) else getattr(f, "__name__", None) or str(f)


# --- assumption kinds ------------------------------------------------------------------------------


class Assumption:
    """A predicate with its facts, bounds and display; see the module docstring."""

    def __init__(self, expr):
        self.expr = expr

    @property
    def latex(self) -> str:
        return printing.latex(self.expr)

    @property
    def text(self) -> str:
        return printing.inline(self.expr)

    def refine(self, expr):
        """``expr`` with this assumption's SymPy facts applied (display or explicit level)."""
        return expr

    def violated(self, values: dict, evaluate) -> str | None:
        """A message if the sample ``values`` breaks the predicate, else None.

        ``evaluate(expr, values)`` computes a display expression numerically.
        """
        return None

    def __repr__(self) -> str:
        return f"Assumption({self.text})"


def _by_name(expr) -> dict:
    return {s.name: s for s in sp.sympify(expr).free_symbols if isinstance(s, sp.Symbol)}


class Bound(Assumption):
    """A scalar symbol against a constant: ``x > 0``, ``y <= 1``, ``x != 0``."""

    def __init__(self, expr, symbol, rel, value):
        super().__init__(expr)
        self.symbol, self.rel, self.value = symbol, rel, sp.sympify(value)

    def refine(self, expr):
        """A sign fact for a bound at 0; a bound elsewhere gives SymPy no fact (writing ``x = c + t``
        would break derivatives and limits taken in ``x``)."""
        s = _by_name(expr).get(self.symbol.name)
        if s is None or self.value != 0:
            return expr
        return expr.xreplace({s: sp.Symbol(s.name, real=True, **{_FACT[self.rel]: True})})

    def violated(self, values, evaluate):
        v = values.get(self.symbol.name)
        if v is None:
            return None
        v, c = float(np.asarray(v).reshape(-1)[0]), float(self.value)
        ok = {">": v > c, ">=": v >= c, "<": v < c, "<=": v <= c, "!=": v != c}[self.rel]
        return None if ok else f"{self.symbol.name} = {v:.6g} breaks {self.text}"


class Order(Assumption):
    """One scalar symbol above another: ``a >= b`` (``a = b + g``, ``g >= 0``) or ``a > b``."""

    def __init__(self, expr, upper, lower, strict):
        super().__init__(expr)
        self.upper, self.lower, self.strict = upper, lower, strict

    def refine(self, expr):
        names = _by_name(expr)
        a, b = names.get(self.upper.name), names.get(self.lower.name)
        if a is None or b is None:
            return expr
        fact = "positive" if self.strict else "nonnegative"
        gap = sp.Symbol(f"{a.name}_minus_{b.name}", **{fact: True})
        return expr.xreplace({a: b + gap})

    def violated(self, values, evaluate):
        a, b = values.get(self.upper.name), values.get(self.lower.name)
        if a is None or b is None:
            return None
        ok = a > b if self.strict else a >= b
        return (
            None
            if ok
            else f"{self.upper.name} = {float(a):.6g}, {self.lower.name} = {float(b):.6g} break {self.text}"
        )


class Condition(Assumption):
    """Any other relation (``Abs(y) < 1``, ``f'(g(y)) != 0``): checked on every sample, no SymPy fact."""

    def __init__(self, expr):
        super().__init__(expr)
        self.lhs, self.rel, self.rhs = expr.lhs, _REL[type(expr)], expr.rhs

    def violated(self, values, evaluate):
        try:
            a = np.asarray(evaluate(self.lhs, values), dtype=float)
            b = np.asarray(evaluate(self.rhs, values), dtype=float)
        except KeyError:
            return None  # the sample does not involve these symbols
        ok = {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, "!=": np.abs(a - b) > 1e-12}[self.rel]
        return None if np.all(ok) else f"the sample breaks {self.text} ({_short(a)} vs {_short(b)})"


def _short(a) -> str:
    a = np.asarray(a).reshape(-1)
    return f"{a[0]:.6g}" if a.size == 1 else np.array2string(a, precision=4, threshold=6)


class _EntryAssumption(Assumption):
    """An entrywise fact about a vector or matrix symbol."""

    fact = "real"

    def __init__(self, expr):
        super().__init__(expr)
        self.matrix = expr.args[0]

    def _entries(self, expr):
        return entries_of(sp.sympify(expr).free_symbols, self.matrix.name)

    def refine(self, expr):
        return sp.sympify(expr).xreplace(
            {s: sp.Symbol(s.name, real=True, **{self.fact: True}) for s in self._entries(expr)}
        )


class NonnegAssumption(_EntryAssumption):
    fact = "nonnegative"

    def violated(self, values, evaluate):
        v = values.get(self.matrix.name)
        return None if v is None or np.all(np.asarray(v) >= 0) else f"{self.matrix.name} has a negative entry"


class PositiveAssumption(_EntryAssumption):
    fact = "positive"

    def violated(self, values, evaluate):
        v = values.get(self.matrix.name)
        return None if v is None or np.all(np.asarray(v) > 0) else f"{self.matrix.name} has an entry <= 0"


class SimplexAssumption(_EntryAssumption):
    """Positive entries, the last written as one minus the others: identities needing ``sum = 1``
    become polynomial."""

    def refine(self, expr):
        entries = self._entries(expr)
        if not entries:
            return expr
        free = {s: sp.Symbol(s.name, positive=True) for s in entries[:-1]}
        return sp.sympify(expr).xreplace({**free, entries[-1]: 1 - sum(free.values())})

    def violated(self, values, evaluate):
        v = values.get(self.matrix.name)
        if v is None:
            return None
        v = np.asarray(v, dtype=float)
        if np.any(v < 0) or abs(v.sum() - 1.0) > 1e-12 * max(1, v.size):
            return f"{self.matrix.name} = {_short(v)} is not a probability vector"
        return None


class NonzeroAssumption(Assumption):
    def __init__(self, expr):
        super().__init__(expr)
        self.matrix = expr.args[0]

    def violated(self, values, evaluate):
        v = values.get(getattr(self.matrix, "name", ""))
        return None if v is None or np.any(np.asarray(v) != 0) else f"{self.matrix} is zero"


class InvertibleAssumption(Assumption):
    def __init__(self, expr):
        super().__init__(expr)
        self.matrix = expr.args[0]

    def violated(self, values, evaluate):
        try:
            M = np.asarray(evaluate(self.matrix, values), dtype=float)
        except KeyError:
            return None
        M = M.reshape(M.shape[0], -1) if M.ndim else M.reshape(1, 1)
        return (
            None
            if np.linalg.cond(M) < 1e12
            else f"{self.text} fails: condition number {np.linalg.cond(M):.3g}"
        )


class InverseAssumption(Assumption):
    """``g = f^{-1}``: SymPy may rewrite ``f(g(u))`` as ``u``; instances must satisfy it."""

    rewrites = True

    def __init__(self, expr):
        super().__init__(expr)
        self.g, self.f = expr.names

    def refine(self, expr):
        def inner(e):
            return (
                isinstance(e, sp.core.function.AppliedUndef)
                and e.func.__name__ == self.f
                and len(e.args) == 1
                and isinstance(e.args[0], sp.core.function.AppliedUndef)
                and e.args[0].func.__name__ == self.g
            )

        return sp.sympify(expr).replace(inner, lambda e: e.args[0].args[0])

    def violated_by(self, functions: dict, points) -> str | None:
        """A message if the bound ``functions`` (name -> Lambda) are not inverse at ``points``."""
        f, g = functions.get(self.f), functions.get(self.g)
        if f is None or g is None:
            return None
        u = sp.Dummy("u")
        fg = sp.lambdify(u, f(g(u)), "numpy")
        with np.errstate(all="ignore"):
            for p in points:
                v = complex(fg(float(p)))
                if not (abs(v.imag) < 1e-9 and abs(v.real - p) <= 1e-9 * max(1.0, abs(p))):
                    return f"{self.g} = {g} is not the inverse of {self.f} = {f} at {p:.6g}"
        return None


class FunctionIs(Assumption):
    """An undefined function stands for a concrete one: ``FunctionIs("f_eps", Lambda(...), shown)``.

    A model assumption ("the noise is Gaussian") is of this kind: it pins down the density that the
    derivation otherwise only names, for SymPy (the calls are rewritten) and for the numeric checks
    (the function is bound). Without it the function is generic, and a step that needs it fails.
    """

    rewrites = True

    def __init__(self, expr, name: str, function: sp.Lambda):
        super().__init__(expr)
        self.name, self.function = name, function

    def refine(self, expr):
        def call(e):
            return isinstance(e, sp.core.function.AppliedUndef) and e.func.__name__ == self.name

        return sp.sympify(expr).replace(call, lambda e: self.function(*e.args))


_REL = {
    sp.StrictGreaterThan: ">",
    sp.GreaterThan: ">=",
    sp.StrictLessThan: "<",
    sp.LessThan: "<=",
    sp.Unequality: "!=",
    sp.Equality: "=",
}

_NODE_KINDS = {
    Simplex: SimplexAssumption,
    Nonneg: NonnegAssumption,
    Positive: PositiveAssumption,
    Nonzero: NonzeroAssumption,
    Invertible: InvertibleAssumption,
    InverseOf: InverseAssumption,
}


def assumption(predicate) -> list[Assumption]:
    """The assumption(s) a predicate states; ``Abs(y) < 1`` gives two bounds, ``a > b`` an order."""
    if isinstance(predicate, Assumption):
        return [predicate]
    kind = _NODE_KINDS.get(type(predicate))
    if kind is not None:
        return [kind(predicate)]
    if isinstance(predicate, sp.And):
        return [a for arg in predicate.args for a in assumption(arg)]
    rel = _REL.get(type(predicate))
    if rel is None:
        raise TypeError(
            "an assumption is a relation (x > 0, a >= b, Abs(y) < 1) or a predicate (Simplex(p), "
            f"Nonneg(y), Nonzero(x), Invertible(M), InverseOf(g, f)); got {predicate!r}"
        )
    lhs, rhs = predicate.lhs, predicate.rhs
    if rel == "=":
        raise TypeError(f"an equation is a definition, not an assumption: use topic.define for {predicate}")
    if isinstance(lhs, sp.Symbol) and rhs.is_number:
        return [Bound(predicate, lhs, rel, rhs)]
    if isinstance(rhs, sp.Symbol) and lhs.is_number and rel != "!=":
        return [Bound(predicate, rhs, _FLIP[rel], lhs)]
    if (
        isinstance(lhs, sp.Abs)
        and isinstance(lhs.args[0], sp.Symbol)
        and rhs.is_number
        and rel in ("<", "<=")
    ):
        s = lhs.args[0]
        return [_TwoSided(predicate, s, rel, rhs)]
    if isinstance(lhs, sp.Symbol) and isinstance(rhs, sp.Symbol) and rel in (">", ">=", "<", "<="):
        upper, lower = (lhs, rhs) if rel in (">", ">=") else (rhs, lhs)
        return [Order(predicate, upper, lower, strict=rel in (">", "<"))]
    return [Condition(predicate)]


class _TwoSided(Assumption):
    """``|y| < c``: the interval ``(-c, c)``; no SymPy fact (a symbol has no two-sided bound)."""

    def __init__(self, expr, symbol, rel, c):
        super().__init__(expr)
        self.symbol, self.rel, self.value = symbol, rel, sp.sympify(c)

    def violated(self, values, evaluate):
        v = values.get(self.symbol.name)
        if v is None:
            return None
        v, c = abs(float(v)), float(self.value)
        return (
            None
            if (v < c if self.rel == "<" else v <= c)
            else f"{self.symbol.name} = {v:.6g} breaks {self.text}"
        )


def entry_assumption_matrix(a: Assumption):
    """The matrix symbol an entrywise assumption is about, or None."""
    return getattr(a, "matrix", None)


def is_entry(symbol) -> bool:
    return entry_of(symbol) is not None
