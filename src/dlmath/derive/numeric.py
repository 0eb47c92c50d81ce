r"""The numeric check: evaluate both sides of a statement on random instances and compare.

Each side is compiled from the statement itself by :mod:`dlmath.derive.compiler` (shape-generic
NumPy code; gradients, Hessians, derivatives and limits by finite differences, never by SymPy's
differentiation). Instances are drawn from the stated domain (:class:`.domain.Domain`): every one
satisfies the assumptions. The dlmath function that implements the result is called on the same
instance and must agree with the derived side. :class:`Sides` is shared with the counterexample
search (:mod:`.search`).
"""

from __future__ import annotations

import functools
import time
import warnings
import zlib

import numpy as np
import sympy as sp

from . import explicit
from .compiler import Compiler, fd_grad, fd_hessian
from .domain import Domain, free_names
from .model import Numeric, Statement
from .results import CheckResult

__all__ = ["Sides", "check", "compare", "tolerances", "fd_grad", "fd_hessian"]

_FD_NODES = ("Derivative", "Grad", "Hess", "Limit", "At", "Subs")


def _dim_symbols(*exprs) -> dict:
    out = {}
    for e in exprs:
        for s in sp.sympify(e).atoms(sp.Symbol):
            out.setdefault(s.name, s)
    return out


def fmt(v) -> str:
    a = np.asarray(v, dtype=np.float64)
    if a.size == 1:
        return f"{float(a.reshape(-1)[0]):.10g}"
    return np.array2string(a.reshape(-1) if a.ndim == 2 and 1 in a.shape else a, precision=6, threshold=12)


def instance_text(vals: dict) -> str:
    parts = [f"{k} = {fmt(v)}" for k, v in vals.items() if not k.startswith("_") and not isinstance(v, int)]
    s = "; ".join(parts)
    return s if len(s) <= 400 else s[:397] + "..."


def tolerances(stmt: Statement, spec: Numeric) -> tuple[float, float]:
    """``(rtol, atol)``: the item's own, else ``1e-9``/``1e-12``, loosened to ``1e-6``/``1e-8`` where
    finite differences evaluate part of the statement."""
    fd = any(
        type(a).__name__ in _FD_NODES
        for side in (stmt.lhs, stmt.rhs, *stmt.given.values())
        for a in sp.preorder_traversal(sp.sympify(side))
    )
    rtol = spec.rtol if spec.rtol is not None else (1e-6 if fd else 1e-9)
    atol = spec.atol if spec.atol is not None else (1e-8 if fd else 1e-12)
    return rtol, atol


def compare(rel: str, a, b, rtol: float, atol: float, tol=None):
    """``(ok, worst)`` for ``a rel b`` elementwise: for ``=`` and ``≈`` the largest error, for an
    inequality the smallest gap (negative where it fails)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if rel in ("=", "≈", "!="):
        if a.shape != b.shape and a.size != b.size:
            return False, float("inf")
        a, b = a.reshape(-1), b.reshape(-1)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            same = bool(np.array_equal(a, b))
            return (not same if rel == "!=" else same), (0.0 if same else float("inf"))
        err = np.abs(a - b)
        worst = float(np.max(err, initial=0.0))
        if rel == "!=":
            return bool(np.all(err > atol + rtol * np.maximum(np.abs(a), np.abs(b)))), worst
        bound = atol + rtol * np.maximum(np.abs(a), np.abs(b))
        if rel == "≈":
            bound = bound + float(tol)
        return bool(np.all(err <= bound)), worst
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False, float("nan")
    gap = a - b if rel in (">", ">=") else b - a
    scale = atol + rtol * np.maximum(np.abs(a), np.abs(b))
    ok = np.all(gap > 0) if rel in (">", "<") else np.all(gap >= -scale)
    return bool(ok), float(np.min(gap, initial=np.inf))


@functools.lru_cache(maxsize=256)
def _callable(fn: sp.Lambda):
    """A NumPy function for a SymPy ``Lambda`` (lambdify is slow; instances recur across items)."""
    return sp.lambdify(fn.variables, fn.expr, "numpy")


class Sides:
    """Both sides of a statement compiled to NumPy, its ``given`` definitions computed per instance.

    ``functions`` binds the topic's undefined functions: a SymPy ``Lambda`` is substituted into
    the statement (an instance of a general rule), a Python callable is called as it is (a
    quantity measured by an experiment).
    """

    def __init__(self, stmt: Statement, dim_names, functions: dict | None = None):
        lhs, rhs = sp.sympify(stmt.lhs), sp.sympify(stmt.rhs)
        given = dict(stmt.given)
        lambdas = {k: v for k, v in (functions or {}).items() if isinstance(v, sp.Lambda)}
        callables = {k: v for k, v in (functions or {}).items() if not isinstance(v, sp.Lambda)}
        # a named quantity's definition may call a bound function: it is callable by name too
        callables.update({k: _callable(v) for k, v in lambdas.items()})
        if lambdas:
            bind = {sp.Function(k): v for k, v in lambdas.items()}
            lhs, rhs = lhs.subs(bind), rhs.subs(bind)
            given = {k: sp.sympify(v).subs(bind) for k, v in given.items()}
        # a named quantity given by a proven form is substituted; a symbol is computed per instance
        rewrites = {k: v for k, v in given.items() if not isinstance(k, (sp.Symbol, sp.MatrixSymbol))}
        if rewrites:
            lhs, rhs = explicit.substitute(lhs, rewrites), explicit.substitute(rhs, rewrites)
            given = {k: explicit.substitute(v, rewrites) for k, v in given.items() if k not in rewrites}
        self.stmt, self.lhs, self.rhs, self.given = stmt, lhs, rhs, given
        symbols = _dim_symbols(lhs, rhs, *given.keys(), *given.values())
        self.dims = {k: symbols[k] for k in dim_names if k in symbols}
        self.comp = Compiler(given, self.dims, namespace=callables)
        self.derived = [(k.name, self.comp(v)) for k, v in _dependency_order(given)]
        defined = {getattr(k, "name", str(k)) for k in given}
        scalars, matrices = free_names(lhs, rhs, *given.values(), dims=self.dims)
        forall = {getattr(i, "name", str(i)) for i, _, _ in stmt.forall}
        self.scalars = [s for s in scalars if s.name not in defined and s.name not in forall]
        self.matrices = [m for m in matrices if m.name not in defined]
        self._compiled: dict = {}

    def against(self, name: str):
        """The compiled definition of the ``given`` symbol ``name``."""
        return self.comp(next(v for k, v in self.given.items() if getattr(k, "name", None) == name))

    def complete(self, vals: dict, size: dict) -> dict:
        """``vals`` with the sizes and every ``given`` symbol computed from its definition."""
        vals = {**vals, **size}
        for name, fn in self.derived:
            vals[name] = fn(vals)
        return vals

    def __call__(self, vals: dict, size: dict):
        """``(L, R)`` at the completed instance ``vals`` (``forall`` cases stacked)."""
        key = tuple(sorted(size.items()))
        compiled = self._compiled.get(key)
        if compiled is None:
            dims = {self.dims[k]: sp.Integer(v) for k, v in size.items() if k in self.dims}
            cases = explicit.forall_instances(self.stmt.forall, dims) if self.stmt.forall else [{}]
            compiled = [(self.comp(self.lhs.xreplace(c)), self.comp(self.rhs.xreplace(c))) for c in cases]
            self._compiled[key] = compiled
        if self.stmt.forall:
            L = np.stack([np.asarray(f(vals)).reshape(-1) for f, _ in compiled])
            R = np.stack([np.asarray(g(vals)).reshape(-1) for _, g in compiled])
            return L, R
        return compiled[0][0](vals), compiled[0][1](vals)


def check(
    stmt: Statement,
    spec: Numeric,
    domain: Domain,
    sizes,
    *,
    seed: int = 0,
    key: str = "",
    functions: dict | None = None,
    sides: Sides | None = None,
) -> CheckResult:
    """Evaluate ``stmt`` on random instances from ``domain``; the first disagreement is the counterexample."""
    t0 = time.perf_counter()
    rtol, atol = tolerances(stmt, spec)
    if sides is None:
        sides = Sides(stmt, {k for size in sizes for k in size}, functions)
    seeds = spec.seeds
    if not sides.scalars and not sides.matrices:
        sizes, seeds = ({},), 1  # a closed-form statement has one instance
    elif not sides.matrices and not sides.dims:
        sizes = ({},)  # sizes only shape vectors and matrices, or give the dimensions a value
    against = None if spec.against in ("lhs", "rhs") else sides.against(spec.against)
    crc = zlib.crc32(key.encode())
    count, worst, refs_used = 0, 0.0, set()
    rel = stmt.relation
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for size_index, size in enumerate(sizes):
            for s in range(seeds):
                rng = np.random.default_rng([seed, crc, size_index, s])
                vals = sides.complete(
                    domain.sample(rng, dict(size), sides.scalars, sides.matrices), dict(size)
                )
                count += 1
                L, R = sides(vals, dict(size))
                ok, err = compare(rel, L, R, rtol, atol, stmt.tol)
                if rel in ("=", "≈"):
                    worst = max(worst, err)
                if not ok:
                    return failure(stmt, vals, L, R, err, count, t0, rtol, atol, "the two sides disagree")
                if spec.reference is None:
                    continue
                side = {"lhs": L, "rhs": R}.get(spec.against)
                if side is None:
                    side = against(vals)
                for label, value in _references(spec.reference(vals)):
                    refs_used.add(label)
                    ok, err = compare("=", side, np.asarray(value, dtype=np.float64), rtol, atol)
                    if not ok:
                        return failure(
                            stmt,
                            vals,
                            side,
                            value,
                            err,
                            count,
                            t0,
                            rtol,
                            atol,
                            f"the derived form disagrees with {label}",
                        )
    names = ", ".join("/".join(f"{k}={v}" for k, v in s.items()) for s in sizes if s) or "scalars"
    against_note = f"; {spec.against} matches {', '.join(sorted(refs_used))}" if refs_used else ""
    err_note = f"; largest |lhs - rhs| = {worst:.2e}" if rel in ("=", "≈") else ""
    return CheckResult(
        "pass",
        f"{count} random instance{'s' if count != 1 else ''} ({names}; {seeds} seed{'s' if seeds != 1 else ''} each), rtol {rtol:g}, atol {atol:g}{err_note}{against_note}",
        time.perf_counter() - t0,
        rtol=rtol,
        atol=atol,
        instances=count,
        largest_residual=worst if rel in ("=", "≈") else None,
    )


def _dependency_order(given: dict) -> list:
    """The ``given`` definitions ordered so that each comes after those it uses."""
    names = {getattr(k, "name", str(k)) for k in given}
    done: set[str] = set()
    out, pending = [], list(given.items())
    while pending:
        for idx, (k, v) in enumerate(pending):
            uses = {getattr(a, "name", None) for a in sp.sympify(v).atoms(sp.Symbol, sp.MatrixSymbol)}
            if not (uses & names) - done:
                out.append((k, v))
                done.add(k.name)
                pending.pop(idx)
                break
        else:
            raise ValueError("the given definitions refer to each other in a cycle")
    return out


def _references(out):
    if isinstance(out, list):
        return out
    return [("the dlmath implementation", out)]


def failure(stmt, vals, a, b, err, count, t0, rtol, atol, what) -> CheckResult:
    return CheckResult(
        "fail",
        f"{what} (relation {stmt.relation}, rtol {rtol:g}, atol {atol:g}, error {err:.3g})",
        time.perf_counter() - t0,
        counterexample=f"{instance_text(vals)} -> lhs {fmt(a)}, rhs {fmt(b)}",
        rtol=rtol,
        atol=atol,
        instances=count,
        largest_residual=err if stmt.relation in ("=", "≈") else None,
    )
