r"""SymPy notation for derivations: symbols and the display nodes steps are written with.

A step is written once, in the notation a reader expects (:math:`\nabla_w`, :math:`\lVert x\rVert`,
:math:`X^\top X`, named quantities such as :math:`-\log L(w)`), and every check works on its
*explicit* form: dimensions set to small integers, each matrix symbol replaced by a matrix of
real scalar symbols, each display node replaced by its definition, and everything evaluated
(``doit``). Gradients are taken entry by entry on the explicit scalars, never with SymPy's matrix
calculus (``diff((x.T*x)[0,0], x)`` gives 0 in SymPy).

Explicit scalar symbols are named ``x_i`` for a column vector ``x`` and ``X_i_j`` for a matrix,
0-based.

Each node knows its explicit form (``to_explicit``, used by :mod:`dlmath.derive.explicit`) and how
to print itself (with :mod:`dlmath.derive.printing`). This module imports SymPy; nothing imports
it until a check or a rendering runs.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.stringpict import prettyForm

from .printing import (
    delimited,
    latex,
    paren_latex,
    pretty,
    pretty_call,
    pretty_prefix,
    pretty_wrap,
    subscript,
)

__all__ = [
    "Vector",
    "Matrix",
    "Grad",
    "Hess",
    "Norm",
    "Norm1",
    "LSE",
    "Softmax",
    "Diag",
    "SignOf",
    "LogOf",
    "MaxEntry",
    "SumEntries",
    "Dot",
    "At",
    "defined",
    "entry_symbol",
    "entry_of",
    "entries_of",
    "latex",
    "pretty",
]


def Vector(name: str, n) -> sp.MatrixSymbol:
    """A column vector symbol of length ``n``; its explicit entries are real."""
    return sp.MatrixSymbol(name, n, 1)


def Matrix(name: str, n, m) -> sp.MatrixSymbol:
    """An ``n``-by-``m`` matrix symbol; its explicit entries are real."""
    return sp.MatrixSymbol(name, n, m)


_SEP = "__"


def entry_symbol(name: str, i: int, j: int, cols: int) -> sp.Symbol:
    """The explicit real scalar standing for entry ``(i, j)`` of matrix symbol ``name``.

    Its name is a Python identifier that spells out where it comes from (``z__0`` for entry 0 of
    the vector ``z``, ``X__1__2`` for row 1, column 2 of ``X``), so :func:`entry_of` recovers the
    matrix and the position from the symbol alone; matrix names must not contain ``__``.
    """
    label = f"{name}{_SEP}{i}" if cols == 1 else f"{name}{_SEP}{i}{_SEP}{j}"
    return sp.Symbol(label, real=True)


def entry_of(symbol) -> tuple[str, int, int | None] | None:
    """``(matrix name, i, j)`` of an explicit entry symbol (``j`` is None for a vector), else None."""
    name = symbol if isinstance(symbol, str) else getattr(symbol, "name", "")
    parts = name.split(_SEP)
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
        return None
    return parts[0], int(parts[1]), int(parts[2]) if len(parts) == 3 else None


def entries_of(symbols, matrix: str) -> list:
    """The entry symbols of ``matrix`` among ``symbols``, in storage order."""
    found = [(entry_of(s), s) for s in symbols]
    found = [(e[1], e[2] or 0, s) for e, s in found if e is not None and e[0] == matrix]
    return [s for _, _, s in sorted(found, key=lambda t: (t[0], t[1]))]


class _Display:
    """Mixin of display nodes: ``to_explicit(rec)`` gives the explicit form, ``rec`` recursing."""

    latex_name = ""
    text_name = ""

    def to_explicit(self, rec: Callable):  # pragma: no cover - every node overrides
        raise NotImplementedError


def _as_scalar(e):
    if isinstance(e, sp.MatrixBase) or (isinstance(e, MatrixExpr) and e.shape == (1, 1)):
        if e.shape != (1, 1):
            raise ValueError(f"expected a scalar, got a {e.shape[0]}x{e.shape[1]} matrix")
        return e[0, 0]
    return e


def _latex_operand(printer, a) -> str:
    """LaTeX of ``a`` as an operand: a sum or product in parentheses."""
    s = printer._print(a)
    return rf"\left({s}\right)" if isinstance(a, (sp.MatAdd, sp.Add, sp.MatMul, sp.Mul)) else s


def _u(printer, fancy, plain):
    """Unicode, or ASCII for a printer that asks for it (``printer.unicode = False``)."""
    return fancy if getattr(printer, "unicode", True) else plain


def _grouped(printer, e) -> str:
    s = printer._print(e)
    atomic = isinstance(e, (sp.Symbol, sp.MatrixSymbol, sp.Number, _Scalar)) or (isinstance(e, sp.Function))
    return s if atomic else f"({s})"


_ASCII = str.maketrans(
    {"−": "-", "𝓛": "L", "ℓ": "l", "∇": "grad ", "Σ": "sum", "ᵢ": "_i", "ₖ": "_k", "ⱼ": "_j"}
)


def ascii_text(text: str) -> str:
    """A Unicode name (``−log L(w)``, ``𝓛(z)``) in ASCII; characters without a spelling are dropped."""
    out = text.translate(_ASCII)
    return out.encode("ascii", "ignore").decode()


def _entries(v) -> list:
    return [v[i, j] for i in range(v.shape[0]) for j in range(v.shape[1])]


class Grad(_Display, MatrixExpr):
    r"""The gradient :math:`\nabla_w f` of a scalar ``f`` with respect to a vector symbol ``w``."""

    def __new__(cls, f, w):
        return sp.Basic.__new__(cls, sp.sympify(f), w)

    @property
    def shape(self):
        return self.args[1].shape

    def to_explicit(self, rec):
        f = _as_scalar(rec(self.args[0]).doit())
        w = rec(self.args[1])
        return sp.ImmutableMatrix(w.shape[0], w.shape[1], [sp.diff(f, wi) for wi in _entries(w)])

    def _latex(self, printer):
        return rf"\nabla_{{{printer._print(self.args[1])}}} {paren_latex(printer, self.args[0])}"

    def _pretty(self, printer):
        return pretty_prefix(printer, "∇" + subscript(pretty(self.args[1])), self.args[0])

    def _sympystr(self, printer):
        return f"{_u(printer, '∇', 'grad')}_{printer._print(self.args[1])} {_grouped(printer, self.args[0])}"


class Hess(_Display, MatrixExpr):
    r"""The Hessian :math:`\nabla^2_z f` of a scalar ``f`` with respect to a vector symbol ``z``."""

    def __new__(cls, f, z):
        return sp.Basic.__new__(cls, sp.sympify(f), z)

    @property
    def shape(self):
        n = self.args[1].shape[0]
        return (n, n)

    def to_explicit(self, rec):
        f = _as_scalar(rec(self.args[0]).doit())
        z = _entries(rec(self.args[1]))
        return sp.ImmutableMatrix(len(z), len(z), [sp.diff(f, a, b) for a in z for b in z])

    def _latex(self, printer):
        return rf"\nabla^{{2}}_{{{printer._print(self.args[1])}}} {paren_latex(printer, self.args[0])}"

    def _pretty(self, printer):
        return pretty_prefix(printer, "∇²" + subscript(pretty(self.args[1])), self.args[0])

    def _sympystr(self, printer):
        return f"{_u(printer, '∇²', 'hess')}_{printer._print(self.args[1])} {_grouped(printer, self.args[0])}"


class At(_Display, MatrixExpr):
    r"""A matrix expression evaluated at a point, :math:`\left.F(w)\right|_{w = \hat w}`.

    SymPy's ``Subs`` cannot take a matrix symbol as its variable; this node can.
    """

    def __new__(cls, expr, var, point):
        return sp.Basic.__new__(cls, expr, var, point)

    @property
    def shape(self):
        return self.args[0].shape

    @property
    def variables(self):
        return (self.args[1],)

    @property
    def point(self):
        return (self.args[2],)

    @property
    def expr(self):
        return self.args[0]

    def to_explicit(self, rec):
        return rec.at(self.args[0], (self.args[1],), (self.args[2],))

    def _latex(self, printer):
        return rf"\left. {printer._print(self.args[0])} \right|_{{{printer._print(self.args[1])} = {printer._print(self.args[2])}}}"

    def _pretty(self, printer):
        body = printer._print(self.args[0])
        return prettyForm(*body.right(f" |{pretty(self.args[1])}={pretty(self.args[2])}"))

    def _sympystr(self, printer):
        return f"[{printer._print(self.args[0])}] at {printer._print(self.args[1])}={printer._print(self.args[2])}"


class _Scalar(_Display, sp.Expr):
    """A scalar display node of one matrix argument."""

    is_commutative = True

    def __new__(cls, *args):
        return sp.Basic.__new__(cls, *[sp.sympify(a) for a in args])

    def _eval_is_real(self):
        return True


def _common_factor(entries):
    """The product of the factors (other than numbers) that every entry has, or 1."""
    shared = None
    for e in entries:
        if e == 0:
            continue
        factors = {f for f in sp.Mul.make_args(e) if not f.is_number}
        shared = factors if shared is None else shared & factors
        if not shared:
            return sp.S.One
    return sp.Mul(*shared) if shared else sp.S.One


def _norm_latex(inner: str, p: str) -> str:
    r"""``\lVert inner \rVert_p`` (see :func:`~dlmath.derive.printing.delimited`)."""
    return delimited(inner, r"\lVert", r"\rVert") + f"_{{{p}}}"


class Norm(_Scalar):
    r"""The Euclidean norm :math:`\lVert v\rVert_2` of a vector expression."""

    is_nonnegative = True

    def to_explicit(self, rec):
        # a factor common to every entry comes out of the root: ||t u|| -> |t| ||u||
        entries = _entries(rec(self.args[0]))
        common = _common_factor(entries)
        if common == 1:
            return sp.sqrt(sum(e**2 for e in entries))
        return sp.Abs(common) * sp.sqrt(sum(sp.cancel(e / common) ** 2 for e in entries))

    def _latex(self, printer):
        return _norm_latex(printer._print(self.args[0]), "2")

    def _pretty(self, printer):
        return pretty_wrap(printer, self.args[0], "‖", "‖")

    def _sympystr(self, printer):
        bar = _u(printer, "‖", "||")
        return f"{bar}{printer._print(self.args[0])}{bar}"


class Norm1(_Scalar):
    r"""The L1 norm :math:`\lVert v\rVert_1 = \sum_i |v_i|`."""

    is_nonnegative = True

    def to_explicit(self, rec):
        return sum(sp.Abs(e) for e in _entries(rec(self.args[0])))

    def _latex(self, printer):
        return _norm_latex(printer._print(self.args[0]), "1")

    def _pretty(self, printer):
        return pretty_wrap(printer, self.args[0], "‖", "‖₁")

    def _sympystr(self, printer):
        bar = _u(printer, "‖", "||")
        return f"{bar}{printer._print(self.args[0])}{bar}{_u(printer, '₁', '_1')}"


class LSE(_Scalar):
    r""":math:`\operatorname{LSE}(x) = \log\sum_i e^{x_i}`."""

    def to_explicit(self, rec):
        return sp.log(sum(sp.exp(e) for e in _entries(rec(self.args[0]))))

    def _latex(self, printer):
        return r"\operatorname{LSE}" + delimited(printer._print(self.args[0]))

    def _pretty(self, printer):
        return pretty_call(printer, "LSE", self.args[0])

    def _sympystr(self, printer):
        return f"LSE({printer._print(self.args[0])})"


class MaxEntry(_Scalar):
    r""":math:`\max_i x_i`."""

    def to_explicit(self, rec):
        return sp.Max(*_entries(rec(self.args[0])))

    def _latex(self, printer):
        return rf"\max_{{j}} {printer._print(self.args[0])}_{{j}}"

    def _pretty(self, printer):
        return prettyForm(f"maxⱼ {self.args[0]}ⱼ")

    def _sympystr(self, printer):
        return f"{_u(printer, 'maxⱼ ', 'max_j ')}{printer._print(self.args[0])}{_u(printer, 'ⱼ', '_j')}"


class SumEntries(_Scalar):
    r""":math:`\sum_k y_k`, the total mass of a vector."""

    @classmethod
    def class_key(cls):
        # sort before other factors, so a product prints as (Σ_k y_k) LSE(z), a weight first
        return 4, 0, cls.__name__

    def to_explicit(self, rec):
        return sum(_entries(rec(self.args[0])))

    def _latex(self, printer):
        return rf"\left(\textstyle\sum_{{k}} {printer._print(self.args[0])}_{{k}}\right)"

    def _pretty(self, printer):
        return prettyForm(f"(Σₖ {self.args[0]}ₖ)")

    def _sympystr(self, printer):
        y = printer._print(self.args[0])
        return f"({_u(printer, 'Σₖ ', 'sum_k ')}{y}{_u(printer, 'ₖ', '_k')})"


class Dot(_Scalar):
    r"""The inner product :math:`u^\top v` of two vectors, as a scalar."""

    def to_explicit(self, rec):
        u, v = (_entries(rec(a)) for a in self.args)
        return sum(a * b for a, b in zip(u, v, strict=True))

    def _latex(self, printer):
        u, v = (_latex_operand(printer, a) for a in self.args)
        return rf"{u}^{{\top}} {v}"

    def _pretty(self, printer):
        u, v = (printer._print(a) for a in self.args)
        if not isinstance(self.args[0], (sp.MatrixSymbol, sp.Symbol)):
            u = prettyForm(*u.parens())
        if not isinstance(self.args[1], (sp.MatrixSymbol, sp.Symbol)):
            v = prettyForm(*v.parens())
        return prettyForm(*u.right(prettyForm(_u(printer, "ᵀ", "^T")), v))

    def _sympystr(self, printer):
        u, v = (_grouped(printer, a) for a in self.args)
        return f"{u}{_u(printer, 'ᵀ', '.T*')}{v}"


class _Elementwise(_Display, MatrixExpr):
    """A vector-valued display node acting on one vector argument."""

    def __new__(cls, v):
        return sp.Basic.__new__(cls, v)

    @property
    def shape(self):
        return self.args[0].shape


class Softmax(_Elementwise):
    r""":math:`\operatorname{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}`."""

    def to_explicit(self, rec):
        z = _entries(rec(self.args[0]))
        total = sum(sp.exp(e) for e in z)
        return sp.ImmutableMatrix(len(z), 1, [sp.exp(e) / total for e in z])

    def _latex(self, printer):
        return r"\operatorname{softmax}" + delimited(printer._print(self.args[0]))

    def _pretty(self, printer):
        return pretty_call(printer, "softmax", self.args[0])

    def _sympystr(self, printer):
        return f"softmax({printer._print(self.args[0])})"


class LogOf(_Elementwise):
    r"""The entrywise logarithm of a vector."""

    def to_explicit(self, rec):
        v = _entries(rec(self.args[0]))
        return sp.ImmutableMatrix(len(v), 1, [sp.log(e) for e in v])

    def _latex(self, printer):
        return rf"\log {printer._print(self.args[0])}"

    def _pretty(self, printer):
        return prettyForm(*printer._print(self.args[0]).left("log "))

    def _sympystr(self, printer):
        return f"log {_grouped(printer, self.args[0])}"


class SignOf(_Elementwise):
    r"""The entrywise sign of a vector."""

    def to_explicit(self, rec):
        v = _entries(rec(self.args[0]))
        return sp.ImmutableMatrix(len(v), 1, [sp.sign(e) for e in v])

    def _latex(self, printer):
        return r"\operatorname{sign}" + delimited(printer._print(self.args[0]))

    def _pretty(self, printer):
        return pretty_call(printer, "sign", self.args[0])

    def _sympystr(self, printer):
        return f"sign({printer._print(self.args[0])})"


class Diag(_Display, MatrixExpr):
    r""":math:`\operatorname{diag}(p)`, the square matrix with ``p`` on its diagonal."""

    def __new__(cls, v):
        return sp.Basic.__new__(cls, v)

    @property
    def shape(self):
        n = self.args[0].shape[0]
        return (n, n)

    def to_explicit(self, rec):
        return sp.ImmutableMatrix(sp.diag(*_entries(rec(self.args[0]))))

    def _latex(self, printer):
        return r"\operatorname{diag}" + delimited(printer._print(self.args[0]))

    def _pretty(self, printer):
        return pretty_call(printer, "diag", self.args[0])

    def _sympystr(self, printer):
        return f"diag({printer._print(self.args[0])})"


class Defined(_Display):
    """A named quantity: displayed by its name, checked through its definition."""

    definition: Callable = None  # (rec, *args) -> explicit expression

    def to_explicit(self, rec):
        return type(self).definition(rec, *self.args)

    def _latex(self, printer):
        return self.latex_name

    def _pretty(self, printer):
        return prettyForm(self.text_name)

    def _sympystr(self, printer):
        return self.text_name if getattr(printer, "unicode", True) else ascii_text(self.text_name)


class _DefinedScalar(Defined, sp.Expr):
    is_commutative = True

    def __new__(cls, *args):
        return sp.Basic.__new__(cls, *[sp.sympify(a) for a in args])


class _DefinedMatrix(Defined, MatrixExpr):
    def __new__(cls, *args):
        return sp.Basic.__new__(cls, *args)

    @property
    def shape(self):
        return type(self).matrix_shape


def defined(latex_name: str, text_name: str, definition: Callable, *args, shape=None, real=True):
    r"""A named quantity, e.g. :math:`-\log L(w)`, shown by name and checked by its definition.

    ``definition(rec, *args)`` builds the explicit form; ``rec`` turns its arguments (display
    expressions) explicit. The definition is where the independent reference enters a derivation
    (a density from :mod:`sympy.stats`, a covariance summed over outcomes, ...).
    """
    attrs = {
        "latex_name": latex_name,
        "text_name": text_name,
        "definition": staticmethod(definition),
    }
    if latex_name.lstrip().startswith("-"):
        # a name with a leading minus binds like a sum: \frac{\partial}{\partial\sigma}(-\log L(w)),
        # never \frac{\partial}{\partial\sigma} - \log L(w)
        attrs["precedence"] = PRECEDENCE["Add"]
    if shape is None:
        if real:
            attrs["is_real"] = True
        cls = type("Defined_" + _ident(text_name), (_DefinedScalar,), attrs)
    else:
        attrs["matrix_shape"] = shape
        cls = type("Defined_" + _ident(text_name), (_DefinedMatrix,), attrs)
    return cls(*args)


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40]
