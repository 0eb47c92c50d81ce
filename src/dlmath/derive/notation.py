r"""SymPy notation for derivations: display nodes, the explicit form the checks work on, printers.

A step is written once, in the notation a reader expects (:math:`\nabla_w`, :math:`\lVert x\rVert`,
:math:`X^\top X`, named quantities such as :math:`-\log L(w)`), and every check works on its
*explicit* form: dimensions set to small integers, each matrix symbol replaced by a matrix of
real scalar symbols, each display node replaced by its definition, and everything evaluated
(``doit``). Gradients are taken entry by entry on the explicit scalars, never with SymPy's matrix
calculus (``diff((x.T*x)[0,0], x)`` gives 0 in SymPy).

Explicit scalar symbols are named ``x_i`` for a column vector ``x`` and ``X_i_j`` for a matrix,
0-based.

This module imports SymPy; nothing imports it until a check or a rendering runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

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
    "explicit",
    "latex",
    "pretty",
]


def Vector(name: str, n) -> sp.MatrixSymbol:
    """A column vector symbol of length ``n``; its explicit entries are real."""
    return sp.MatrixSymbol(name, n, 1)


def Matrix(name: str, n, m) -> sp.MatrixSymbol:
    """An ``n``-by-``m`` matrix symbol; its explicit entries are real."""
    return sp.MatrixSymbol(name, n, m)


ENTRIES: dict[str, tuple[str, int, int | None]] = {}


def entry_symbol(name: str, i: int, j: int, cols: int) -> sp.Symbol:
    """The explicit real scalar standing for entry ``(i, j)`` of matrix symbol ``name``.

    Its name is a Python identifier (``z_0``, ``X_1_2``) so that ``lambdify`` need not rename it;
    :data:`ENTRIES` maps the name back to ``(matrix, i, j)`` (``j`` is None for a vector).
    """
    label = f"{name}_{i}" if cols == 1 else f"{name}_{i}_{j}"
    ENTRIES[label] = (name, i, None if cols == 1 else j)
    return sp.Symbol(label, real=True)


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
        return rf"\nabla_{{{printer._print(self.args[1])}}} {_paren_latex(printer, self.args[0])}"

    def _pretty(self, printer):
        return _pretty_prefix(printer, "∇" + _subscript(pretty(self.args[1])), self.args[0])


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
        return rf"\nabla^{{2}}_{{{printer._print(self.args[1])}}} {_paren_latex(printer, self.args[0])}"

    def _pretty(self, printer):
        return _pretty_prefix(printer, "∇²" + _subscript(pretty(self.args[1])), self.args[0])


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
        return _subs(self)

    def _latex(self, printer):
        return rf"\left. {printer._print(self.args[0])} \right|_{{{printer._print(self.args[1])} = {printer._print(self.args[2])}}}"

    def _pretty(self, printer):
        body = printer._print(self.args[0])
        return prettyForm(*body.right(f" |{pretty(self.args[1])}={pretty(self.args[2])}"))


class _Scalar(_Display, sp.Expr):
    """A scalar display node of one matrix argument."""

    is_commutative = True

    def __new__(cls, *args):
        return sp.Basic.__new__(cls, *[sp.sympify(a) for a in args])

    def _eval_is_real(self):
        return True


class Norm(_Scalar):
    r"""The Euclidean norm :math:`\lVert v\rVert_2` of a vector expression."""

    is_nonnegative = True

    def to_explicit(self, rec):
        return sp.sqrt(sum(e**2 for e in _entries(rec(self.args[0]))))

    def _latex(self, printer):
        return rf"\left\lVert {printer._print(self.args[0])} \right\rVert_{{2}}"

    def _pretty(self, printer):
        return _pretty_wrap(printer, self.args[0], "‖", "‖")


class Norm1(_Scalar):
    r"""The L1 norm :math:`\lVert v\rVert_1 = \sum_i |v_i|`."""

    is_nonnegative = True

    def to_explicit(self, rec):
        return sum(sp.Abs(e) for e in _entries(rec(self.args[0])))

    def _latex(self, printer):
        return rf"\left\lVert {printer._print(self.args[0])} \right\rVert_{{1}}"

    def _pretty(self, printer):
        return _pretty_wrap(printer, self.args[0], "‖", "‖₁")


class LSE(_Scalar):
    r""":math:`\operatorname{LSE}(x) = \log\sum_i e^{x_i}`."""

    def to_explicit(self, rec):
        return sp.log(sum(sp.exp(e) for e in _entries(rec(self.args[0]))))

    def _latex(self, printer):
        return rf"\operatorname{{LSE}}\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer):
        return _pretty_call(printer, "LSE", self.args[0])


class MaxEntry(_Scalar):
    r""":math:`\max_i x_i`."""

    def to_explicit(self, rec):
        return sp.Max(*_entries(rec(self.args[0])))

    def _latex(self, printer):
        return rf"\max_{{j}} {printer._print(self.args[0])}_{{j}}"

    def _pretty(self, printer):
        return prettyForm(f"maxⱼ {self.args[0]}ⱼ")


class SumEntries(_Scalar):
    r""":math:`\sum_k y_k`, the total mass of a vector."""

    def to_explicit(self, rec):
        return sum(_entries(rec(self.args[0])))

    def _latex(self, printer):
        return rf"\left(\textstyle\sum_{{k}} {printer._print(self.args[0])}_{{k}}\right)"

    def _pretty(self, printer):
        return prettyForm(f"(Σₖ {self.args[0]}ₖ)")


class Dot(_Scalar):
    r"""The inner product :math:`u^\top v` of two vectors, as a scalar."""

    def to_explicit(self, rec):
        u, v = (_entries(rec(a)) for a in self.args)
        return sum(a * b for a, b in zip(u, v, strict=True))

    def _latex(self, printer):
        u, v = (printer._print(a) for a in self.args)
        return rf"{u}^{{\top}} {v}"

    def _pretty(self, printer):
        return prettyForm(f"{self.args[0]}ᵀ{self.args[1]}")


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
        return rf"\operatorname{{softmax}}\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer):
        return _pretty_call(printer, "softmax", self.args[0])


class LogOf(_Elementwise):
    r"""The entrywise logarithm of a vector."""

    def to_explicit(self, rec):
        v = _entries(rec(self.args[0]))
        return sp.ImmutableMatrix(len(v), 1, [sp.log(e) for e in v])

    def _latex(self, printer):
        return rf"\log {printer._print(self.args[0])}"

    def _pretty(self, printer):
        return prettyForm(*printer._print(self.args[0]).left("log "))


class SignOf(_Elementwise):
    r"""The entrywise sign of a vector."""

    def to_explicit(self, rec):
        v = _entries(rec(self.args[0]))
        return sp.ImmutableMatrix(len(v), 1, [sp.sign(e) for e in v])

    def _latex(self, printer):
        return rf"\operatorname{{sign}}\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer):
        return _pretty_call(printer, "sign", self.args[0])


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
        return rf"\operatorname{{diag}}\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer):
        return _pretty_call(printer, "diag", self.args[0])


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
        return self.text_name


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


# --- the explicit form -------------------------------------------------------------------------


def explicit(expr, dims: dict | None = None):
    """The explicit form of ``expr``: dimensions substituted, matrices spelled out, evaluated.

    Returns an ``ImmutableMatrix`` for matrix expressions, a scalar expression otherwise.
    """
    expr = sp.sympify(expr)
    if dims:
        expr = expr.xreplace({k: sp.Integer(v) for k, v in dims.items()})
    out = _rec(expr).doit()
    if isinstance(out, MatrixExpr) and not isinstance(out, sp.MatrixBase):
        out = out.as_explicit()
    if isinstance(out, sp.MatrixBase):
        out = out[0, 0] if out.shape == (1, 1) else sp.ImmutableMatrix(out)
    return out


def substitute(expr, given: dict):
    """``expr`` with the ``given`` definitions substituted until none is left (they may nest)."""
    expr = sp.sympify(expr)
    for _ in range(len(given) + 1):
        new = expr.xreplace(given)
        if new == expr:
            return expr
        expr = new
    return expr


def _rec(e):
    if isinstance(e, _Display):
        return e.to_explicit(_rec)
    if isinstance(e, sp.MatrixSymbol):
        r, c = (int(s) for s in e.shape)
        name = e.name
        return sp.ImmutableMatrix(r, c, [entry_symbol(name, i, j, c) for i in range(r) for j in range(c)])
    if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return sp.ImmutableMatrix(e.as_explicit())
    if not e.args or isinstance(e, (sp.Symbol, sp.Number)):
        return e
    if isinstance(e, (sp.Sum, sp.Product)) and _concrete_limits(e):
        return _unroll(e)
    if isinstance(e, sp.Subs):
        return _subs(e)
    args = [_rec(a) for a in e.args]
    if all(a is b for a, b in zip(args, e.args, strict=True)):
        return e
    if isinstance(e, MatrixElement):
        return args[0][int(args[1]), int(args[2])]
    if any(isinstance(a, sp.MatrixBase) for a in args) and isinstance(e, MatrixExpr):
        return _matrix_op(e, args)
    return e.func(*args)


def _subs(e):
    """``Subs``/``At`` on explicit forms; a vector variable is replaced entry by entry."""
    body = _rec(e.expr).doit()
    mapping = {}
    for var, point in zip(e.variables, e.point, strict=True):
        v, p = _rec(var), _rec(point)
        if isinstance(v, sp.MatrixBase):
            p = p if isinstance(p, sp.MatrixBase) else sp.ImmutableMatrix(p.as_explicit())
            mapping.update(zip(_entries(v), _entries(p), strict=True))
        else:
            mapping[v] = p
    return body.xreplace(mapping)


def _concrete_limits(e) -> bool:
    return all(lo.is_Integer and hi.is_Integer for _, lo, hi in e.limits)


def _unroll(e):
    """A Sum or Product with integer limits, spelled out term by term (inner limits first)."""
    terms = [e.function]
    for k, lo, hi in e.limits:
        terms = [t.xreplace({k: v}) for t in terms for v in range(int(lo), int(hi) + 1)]
    terms = [_rec(t) for t in terms]
    return sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)


def _matrix_op(e, args):
    """Rebuild a matrix operation on explicit matrices as an explicit matrix."""
    if isinstance(e, sp.MatAdd):
        return sp.ImmutableMatrix(sum(args[1:], args[0]))
    if isinstance(e, sp.MatMul):
        out = args[0]
        for a in args[1:]:
            out = out * a
        return sp.ImmutableMatrix(out) if isinstance(out, sp.MatrixBase) else out
    if isinstance(e, sp.Transpose):
        return args[0].T
    if isinstance(e, sp.Inverse):
        return sp.ImmutableMatrix(args[0].inv())
    if isinstance(e, sp.HadamardProduct):
        out = args[0]
        for a in args[1:]:
            out = out.multiply_elementwise(a)
        return sp.ImmutableMatrix(out)
    if isinstance(e, sp.MatPow):
        return sp.ImmutableMatrix(args[0] ** args[1])
    return e.func(*args).doit()


def simplex(name: str) -> Callable[[dict], dict]:
    """A ``wlog`` map putting vector ``name`` on the probability simplex: positive entries, the
    last one ``1 - (sum of the others)``, so identities that need ``sum(p) = 1`` become polynomial."""

    def wlog(symbols: dict) -> dict:
        entries = sorted(
            (s for n, s in symbols.items() if ENTRIES.get(n, ("",))[0] == name),
            key=lambda s: ENTRIES[s.name][1],
        )
        if not entries:
            return {}
        free = {s: sp.Symbol(s.name, positive=True) for s in entries[:-1]}
        return {**free, entries[-1]: 1 - sum(free.values())}

    return wlog


def positive(name: str) -> Callable[[dict], dict]:
    """A ``wlog`` map making the entries of vector ``name`` positive symbols (weights, densities)."""

    def wlog(symbols: dict) -> dict:
        return {
            s: sp.Symbol(n, positive=True) for n, s in symbols.items() if ENTRIES.get(n, ("",))[0] == name
        }

    return wlog


def forall_instances(forall, dims):
    """The index assignments of a ``forall`` tuple ``((i, lo, hi), ...)`` at concrete dims."""
    ranges = []
    for sym, lo, hi in forall:
        lo_v = int(sp.sympify(lo).xreplace(dims or {}))
        hi_v = int(sp.sympify(hi).xreplace(dims or {}))
        ranges.append([(sym, v) for v in range(lo_v, hi_v + 1)])
    return [dict(c) for c in itertools.product(*ranges)]


# --- printing ----------------------------------------------------------------------------------


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
        return prettyForm(*base.right(prettyForm(_subscript(idx, fallback="_" + idx))))

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


def _subscript(s: str, fallback: str | None = None) -> str:
    out = s.translate(_SUB)
    if all(ch in "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎" for ch in out):
        return out
    return fallback if fallback is not None else "_" + s


def _paren_latex(printer, arg) -> str:
    s = printer._print(arg)
    if isinstance(arg, (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.Pow)) or s.startswith("-"):
        return rf"\left({s}\right)"
    return s


def _pretty_prefix(printer, prefix: str, arg):
    body = printer._print(arg)
    if isinstance(arg, (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.Pow)) or str(arg).startswith(("-", "−")):
        body = prettyForm(*body.parens())
    return prettyForm(*body.left(prefix + " "))


def _pretty_wrap(printer, arg, left: str, right: str):
    body = printer._print(arg)
    return prettyForm(*prettyForm(*body.left(left)).right(right))


def _pretty_call(printer, name: str, arg):
    body = prettyForm(*printer._print(arg).parens())
    return prettyForm(*body.left(name))
