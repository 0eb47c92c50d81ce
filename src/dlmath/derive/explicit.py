"""The explicit form of a display expression, on which every symbolic check works.

Dimensions are set to small integers, each matrix symbol becomes a matrix of real scalar symbols
(:func:`dlmath.derive.notation.entry_symbol`), each display node is replaced by its definition,
sums and products with integer limits are spelled out, and everything is evaluated (``doit``).
Also here: the enumeration of ``forall`` index ranges.
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from .notation import _Display, _entries, entry_symbol

__all__ = ["explicit", "substitute", "forall_instances", "substitute_entries"]


def explicit(expr, dims: dict | None = None, rewrite=None):
    """The explicit form of ``expr``: dimensions substituted, matrices spelled out, evaluated.

    ``rewrite`` is applied to what each display node expands to, before anything is evaluated:
    an assumption that pins down a function a named quantity calls (a noise density) acts there.
    Returns an ``ImmutableMatrix`` for matrix expressions, a scalar expression otherwise.
    """
    expr = sp.sympify(expr)
    if dims:
        expr = expr.xreplace({k: sp.Integer(v) for k, v in dims.items()})
    out = _Rec(rewrite)(expr).doit()
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


class _Rec:
    """The recursion display nodes call back into: ``rec(e)`` makes ``e`` explicit, and
    ``rec.at(expr, variables, points)`` substitutes vector or scalar variables by points."""

    def __init__(self, rewrite=None):
        self.rewrite = rewrite

    def __call__(self, e):
        return _explicit_node(e, self)

    def at(self, expr, variables, points):
        return substitute_entries(self, expr, variables, points)


def _explicit_node(e, _rec):
    if isinstance(e, _Display):
        out = e.to_explicit(_rec)
        return _rec.rewrite(out) if _rec.rewrite is not None else out
    if isinstance(e, sp.MatrixSymbol):
        r, c = (int(s) for s in e.shape)
        name = e.name
        return sp.ImmutableMatrix(r, c, [entry_symbol(name, i, j, c) for i in range(r) for j in range(c)])
    if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return sp.ImmutableMatrix(e.as_explicit())
    if not e.args or isinstance(e, (sp.Symbol, sp.Number)):
        return e
    if isinstance(e, (sp.Sum, sp.Product)) and _concrete_limits(e):
        return _unroll(e, _rec)
    if isinstance(e, sp.Subs):
        return substitute_entries(_rec, e.expr, e.variables, e.point)
    args = [_rec(a) for a in e.args]
    if all(a is b for a, b in zip(args, e.args, strict=True)):
        return e
    if isinstance(e, MatrixElement):
        return args[0][int(args[1]), int(args[2])]
    if any(isinstance(a, sp.MatrixBase) for a in args) and isinstance(e, MatrixExpr):
        return _matrix_op(e, args)
    return e.func(*args)


def substitute_entries(rec, expr, variables, points):
    """``expr`` made explicit with ``rec``, then each variable replaced by its point; a vector
    variable is replaced entry by entry (what ``Subs``/``At`` mean on explicit forms)."""
    body = rec(expr).doit()
    mapping = {}
    for var, point in zip(variables, points, strict=True):
        v, p = rec(var), rec(point)
        if isinstance(v, sp.MatrixBase):
            p = p if isinstance(p, sp.MatrixBase) else sp.ImmutableMatrix(p.as_explicit())
            mapping.update(zip(_entries(v), _entries(p), strict=True))
        else:
            mapping[v] = p
    return body.xreplace(mapping)


def _concrete_limits(e) -> bool:
    return all(lo.is_Integer and hi.is_Integer for _, lo, hi in e.limits)


def _unroll(e, _rec):
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


def forall_instances(forall, dims):
    """The index assignments of a ``forall`` tuple ``((i, lo, hi), ...)`` at concrete dims."""
    ranges = []
    for sym, lo, hi in forall:
        lo_v = int(sp.sympify(lo).xreplace(dims or {}))
        hi_v = int(sp.sympify(hi).xreplace(dims or {}))
        ranges.append([(sym, v) for v in range(lo_v, hi_v + 1)])
    return [dict(c) for c in itertools.product(*ranges)]
