r"""Display expressions compiled to NumPy callables, and the finite differences they evaluate with.

A display expression is printed as shape-generic NumPy code (``X.T.dot(w)``, compiled once for
every size); named quantities (:func:`~dlmath.derive.notation.defined`) are made explicit at each
instance's sizes. Gradient, Hessian, derivative, substitution and limit nodes are *not*
differentiated by SymPy: they are evaluated by central finite differences (:func:`fd_grad`,
:func:`fd_hessian`) of the compiled inner expression, so a numeric verdict does not inherit a
SymPy differentiation bug. :mod:`dlmath.derive.numeric` uses this to check statements.
"""

from __future__ import annotations

import builtins
import functools
import math
from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.numpy import NumPyPrinter

from . import explicit, notation

__all__ = ["Compiler", "fd_grad", "fd_second", "fd_hessian"]

_SPECIAL = (notation.Grad, notation.Hess, sp.Derivative, sp.Subs, notation.At, sp.Limit, notation.Defined)
_FD_STEP = 1e-6
_FD2_STEP = 2e-4
_LIMIT_STEPS = (1e-6, 1e-8)  # a one-sided limit: two distances, extrapolated to 0 (Richardson)
_LIMIT_FAR = 1e12  # a limit at infinity: the value this far out


def fd_grad(f: Callable[[np.ndarray], float], x, h: float = _FD_STEP) -> np.ndarray:
    """Central finite-difference gradient of scalar ``f`` at ``x`` (any shape), step ``h·max(1,|x_i|)``."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        step = h * max(1.0, abs(flat[k]))
        if flat[k] != 0:
            # stay on one side of a kink at 0 (|x|, sign) when evaluating just next to it
            step = min(step, 0.1 * abs(flat[k]))
        xp, xm = flat.copy(), flat.copy()
        xp[k] += step
        xm[k] -= step
        gflat[k] = (float(f(xp.reshape(x.shape))) - float(f(xm.reshape(x.shape)))) / (2 * step)
    return g


def fd_second(f: Callable[[float], float], x: float, h: float = _FD2_STEP) -> float:
    """Central second difference of scalar ``f`` at ``x``, step ``h·max(1, |x|)`` (kept on one side of 0)."""
    step = h * max(1.0, abs(x))
    if x != 0:
        step = min(step, 0.1 * abs(x))
    return (float(f(x + step)) - 2.0 * float(f(x)) + float(f(x - step))) / (step * step)


def fd_hessian(f: Callable[[np.ndarray], float], x, h: float = _FD2_STEP) -> np.ndarray:
    """Central finite-difference Hessian of scalar ``f`` at vector ``x`` (flattened)."""
    x = np.array(x, dtype=np.float64).reshape(-1)
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            acc = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                xx = x.copy()
                xx[i] += si * h
                xx[j] += sj * h
                acc += sign * float(f(xx))
            H[i, j] = H[j, i] = acc / (4 * h * h)
    return H


def _numpy(v):
    """Python numbers as NumPy floats: ``(-8.0) ** (1/3)`` is then NaN, as in arrays, not complex."""
    return np.float64(v) if isinstance(v, float) else v


def _real(out) -> np.ndarray:
    a = np.asarray(out)
    if np.iscomplexobj(a):
        return np.where(np.abs(a.imag) == 0, a.real, np.nan)
    return np.asarray(a, dtype=np.float64)


def _lookup(vals: dict, name: str):
    if name in vals:
        return vals[name]
    base, i, j = notation.entry_of(name)
    arr = np.asarray(vals[base], dtype=np.float64)
    return arr.reshape(-1)[i] if j is None else arr[i, j]


class _Printer(NumPyPrinter):
    """NumPy code for display expressions, shape-generic: matrix symbols stay arrays (``X.T.dot(w)``)."""

    def __init__(self):
        # Unordered printing: sorting the terms of large sums is most of the printing cost.
        super().__init__({"fully_qualified_modules": True, "inline": True, "order": "none"})

    def _arg(self, e, k=0):
        return self._print(e.args[k])

    def _print_Norm(self, e):
        return f"numpy.sqrt(numpy.sum(numpy.square({self._arg(e)})))"

    def _print_Norm1(self, e):
        return f"numpy.sum(numpy.abs({self._arg(e)}))"

    def _print_LSE(self, e):
        return f"numpy.log(numpy.sum(numpy.exp({self._arg(e)})))"

    def _print_Softmax(self, e):
        return f"(lambda _e: _e / numpy.sum(_e))(numpy.exp({self._arg(e)}))"

    def _print_LogOf(self, e):
        return f"numpy.log({self._arg(e)})"

    def _print_SignOf(self, e):
        return f"numpy.sign({self._arg(e)})"

    def _print_Diag(self, e):
        return f"numpy.diagflat({self._arg(e)})"

    def _print_MaxEntry(self, e):
        return f"numpy.max({self._arg(e)})"

    def _print_SumEntries(self, e):
        return f"numpy.sum({self._arg(e)})"

    def _print_Dot(self, e):
        return f"numpy.sum(numpy.multiply({self._arg(e, 0)}, {self._arg(e, 1)}))"

    def _print_Identity(self, e):
        return f"numpy.eye({self._print(e.rows)})"

    def _print_UnevaluatedExpr(self, e):
        return f"({self._arg(e)})"

    def _print_Function(self, e):
        # an undefined function is a Python callable of the compiler's namespace (a measured quantity)
        if isinstance(e, sp.core.function.AppliedUndef):
            return f"{e.func.__name__}({', '.join(self._print(a) for a in e.args)})"
        return super()._print_Function(e)

    def _print_Integer(self, e):
        # beyond 2**53 a Python int would make NumPy fall back to object arrays
        return repr(float(e)) if abs(int(e)) > 2**53 else super()._print_Integer(e)

    def _print_Rational(self, e):
        if abs(int(e.p)) > 2**53 or abs(int(e.q)) > 2**53:
            return repr(float(e))
        return super()._print_Rational(e)


_NAMESPACE = {"numpy": np, "builtins": builtins, "functools": functools, "math": math}


def _function(args: list[str], expr, namespace: dict | None = None) -> Callable:
    """A Python function of ``args`` (names) returning ``expr`` as NumPy code (lambdify without its
    overhead); ``namespace`` holds the Python callables that undefined functions stand for."""
    code = _Printer().doprint(expr)
    src = f"def _f({', '.join(args)}):\n    return {code}\n"
    ns = {**_NAMESPACE, **(namespace or {})}
    exec(compile(src, "<dlmath.derive.compiler>", "exec"), ns)
    return ns["_f"]


def _top_special(expr) -> list:
    found, stack = [], [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, _SPECIAL):
            if e not in found:
                found.append(e)
            continue
        stack.extend(a for a in e.args if isinstance(a, sp.Basic))
    return found


def _arg_names(expr, dims) -> list[str]:
    """The free scalar and matrix symbols of ``expr`` (not summation indices), and the dimensions it uses."""
    names = {s.name for s in expr.free_symbols if isinstance(s, (sp.Symbol, sp.MatrixSymbol))}
    names |= {s.name for s in expr.atoms(sp.Symbol) if s.name in dims}
    return sorted(names)


class Compiler:
    """Compiles display expressions into NumPy callables ``f(vals) -> array``.

    Matrix expressions compile once for every size (``X.T.dot(w)``); named quantities
    (:func:`~dlmath.derive.notation.defined`) are made explicit at each instance's sizes, read
    from ``vals``. ``dims`` maps the dimension names to their symbols.
    """

    def __init__(self, given: dict | None = None, dims: dict | None = None, namespace: dict | None = None):
        self._cache: dict = {}
        self._count = 0
        self._given = dict(given or {})
        self._dims = dict(dims or {})
        self._namespace = dict(namespace or {})

    def __call__(self, expr) -> Callable[[dict], np.ndarray]:
        expr = sp.sympify(expr)
        fn = self._cache.get(expr)
        if fn is None:
            fn = self._compile(expr)
            self._cache[expr] = fn
        return fn

    def _placeholder(self, node):
        self._count += 1
        name = f"_ph{self._count}"
        if isinstance(node, MatrixExpr):
            return name, sp.MatrixSymbol(name, *node.shape)
        return name, sp.Symbol(name, real=True)

    def _compile(self, expr):
        if isinstance(expr, _SPECIAL):
            return self._special(expr)
        subs, parts = {}, []
        for node in _top_special(expr):
            name, ph = self._placeholder(node)
            subs[node] = ph
            parts.append((name, self._special(node)))
        rest = expr.xreplace(subs) if subs else expr
        names = _arg_names(rest, self._dims)
        f = _function(names, rest, self._namespace)

        def run(vals):
            v = dict(vals)
            for name, part in parts:
                v[name] = part(vals)
            return _real(f(*[_numpy(v[k]) for k in names]))

        return run

    def _explicit(self, node):
        """A named quantity: its definition made explicit at the sizes found in ``vals``."""
        per_size: dict = {}
        dims = self._dims

        def run(vals):
            key = tuple((k, int(vals[k])) for k in sorted(dims) if k in vals)
            fn = per_size.get(key)
            if fn is None:
                ex = explicit.explicit(node, {dims[k]: v for k, v in key})
                syms = sorted(sp.sympify(ex).free_symbols, key=lambda s: s.name)
                g = _function([s.name for s in syms], ex, self._namespace)
                names = [s.name for s in syms]

                def fn(vals, g=g, names=names):
                    return _real(g(*[_numpy(_lookup(vals, k)) for k in names]))

                per_size[key] = fn
            return fn(vals)

        return run

    def _special(self, node):
        if self._given:
            # Inside a derivative the definitions must move with the variable: substitute them.
            node = explicit.substitute(node, self._given)
        if isinstance(node, notation.Defined):
            return self._explicit(node)
        if isinstance(node, notation.Grad):
            f, w = self(node.args[0]), node.args[1].name

            def grad(vals):
                return fd_grad(lambda x: f({**vals, w: x}), vals[w])

            return grad
        if isinstance(node, notation.Hess):
            f, z = self(node.args[0]), node.args[1].name

            def hess(vals):
                shape = np.shape(vals[z])
                return fd_hessian(lambda x: f({**vals, z: x.reshape(shape)}), vals[z])

            return hess
        if isinstance(node, sp.Derivative):
            if len(node.variable_count) != 1 or node.variable_count[0][1] not in (1, 2):
                raise ValueError(
                    f"numeric derivative supports a first or second derivative in one variable, got {node}"
                )
            ((var, order),) = node.variable_count
            f, x = self(node.expr), var.name
            if order == 2:
                return lambda vals: fd_second(lambda t: f({**vals, x: float(t)}), float(vals[x]))
            return lambda vals: fd_grad(lambda t: f({**vals, x: float(t)}), float(vals[x]))
        if isinstance(node, (sp.Subs, notation.At)):
            f = self(node.expr)
            points = [
                (v.name, isinstance(v, sp.Symbol), self(p))
                for v, p in zip(node.variables, node.point, strict=True)
            ]

            def at(vals):
                moved = {
                    name: (float(p(vals)) if scalar else np.asarray(p(vals))) for name, scalar, p in points
                }
                return f({**vals, **moved})

            return at
        if isinstance(node, sp.Limit):
            f, x, x0, direction = self(node.args[0]), node.args[1].name, node.args[2], str(node.args[3])
            if x0 in (sp.oo, -sp.oo):
                at = _LIMIT_FAR if x0 == sp.oo else -_LIMIT_FAR
                return lambda vals: f({**vals, x: at})
            c = self(x0)
            sign = -1.0 if direction == "-" else 1.0
            near, nearer = _LIMIT_STEPS

            def limit(vals):
                # f(h) = L + c h + O(h^2): two distances remove the first-order term
                base = float(c(vals))
                scale = sign * max(1.0, abs(base))
                f1 = np.asarray(f({**vals, x: base + near * scale}), dtype=float)
                f2 = np.asarray(f({**vals, x: base + nearer * scale}), dtype=float)
                return f2 - (f1 - f2) * nearer / (near - nearer)

            return limit
        raise TypeError(node)  # pragma: no cover
