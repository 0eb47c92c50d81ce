r"""The numeric check: evaluate both sides of a statement on random instances and compare.

Each side is compiled from the statement itself by :mod:`dlmath.derive.compiler` (shape-generic
NumPy code; gradients, Hessians, derivatives and limits by finite differences, never by SymPy's
differentiation). The dlmath function that implements the result is called on the same instance
and must agree with the derived side.
"""

from __future__ import annotations

import time
import warnings
import zlib

import numpy as np
import sympy as sp

from . import explicit
from .compiler import Compiler, fd_grad, fd_hessian
from .model import CheckResult, Numeric, Statement

__all__ = ["check", "fd_grad", "fd_hessian"]


def _dim_symbols(*exprs) -> dict:
    out = {}
    for e in exprs:
        for s in sp.sympify(e).atoms(sp.Symbol):
            out.setdefault(s.name, s)
    return out


def _fmt(v) -> str:
    a = np.asarray(v, dtype=np.float64)
    if a.size == 1:
        return f"{float(a.reshape(-1)[0]):.10g}"
    return np.array2string(a.reshape(-1) if a.ndim == 2 and 1 in a.shape else a, precision=6, threshold=12)


def _instance(vals: dict) -> str:
    parts = [f"{k} = {_fmt(v)}" for k, v in vals.items() if not k.startswith("_") and not isinstance(v, int)]
    s = "; ".join(parts)
    return s if len(s) <= 400 else s[:397] + "..."


def _compare(rel: str, a, b, rtol: float, atol: float):
    """``(ok, worst_error)`` for ``a rel b`` elementwise."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if rel == "=":
        if a.shape != b.shape and a.size != b.size:
            return False, float("inf")
        a, b = a.reshape(-1), b.reshape(-1)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return bool(np.array_equal(a, b)), float("inf")
        err = np.abs(a - b)
        bound = atol + rtol * np.maximum(np.abs(a), np.abs(b))
        return bool(np.all(err <= bound)), float(np.max(err, initial=0.0))
    gap = a - b if rel in (">", ">=") else b - a
    ok = np.all(gap > 0) if rel in (">", "<") else np.all(gap >= -atol)
    return bool(ok), float(np.min(gap, initial=np.inf))


def check(stmt: Statement, spec: Numeric, seed: int = 0, key: str = "") -> CheckResult:
    """Evaluate ``stmt`` on ``spec``'s random instances; the first disagreement is the counterexample."""
    t0 = time.perf_counter()
    lhs, rhs = sp.sympify(stmt.lhs), sp.sympify(stmt.rhs)
    given = dict(stmt.given)
    if spec.bind is not None:
        bind = spec.bind()  # concrete functions for undefined ones; derivatives stay unevaluated
        lhs, rhs = lhs.subs(bind), rhs.subs(bind)
        given = {k: sp.sympify(v).subs(bind) for k, v in given.items()}
    symbols = _dim_symbols(lhs, rhs, *given.keys(), *given.values())
    dim_names = {k for size in spec.sizes for k in size}
    comp = Compiler(given, {k: symbols[k] for k in dim_names if k in symbols})
    derived = [(k.name, comp(v)) for k, v in _dependency_order(given)]
    against = None
    if spec.against not in ("lhs", "rhs"):
        against = comp(next(v for k, v in given.items() if getattr(k, "name", None) == spec.against))
    crc = zlib.crc32(key.encode())
    count = 0
    refs_used: set[str] = set()
    worst = 0.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for size_index, size in enumerate(spec.sizes):
            dims = {symbols[k]: sp.Integer(v) for k, v in size.items() if k in symbols}
            cases = explicit.forall_instances(stmt.forall, dims) if stmt.forall else [{}]
            compiled = [(comp(lhs.xreplace(c)), comp(rhs.xreplace(c))) for c in cases]
            for s in range(spec.seeds):
                rng = np.random.default_rng([seed, crc, size_index, s])
                vals = spec.sample(rng, dict(size))
                vals.update(size)
                for name, fn in derived:
                    vals[name] = fn(vals)
                count += 1
                if stmt.forall:
                    L = np.stack([np.asarray(f(vals)).reshape(-1) for f, _ in compiled])
                    R = np.stack([np.asarray(g(vals)).reshape(-1) for _, g in compiled])
                else:
                    L, R = compiled[0][0](vals), compiled[0][1](vals)
                ok, err = _compare(stmt.relation, L, R, spec.rtol, spec.atol)
                if stmt.relation == "=":
                    worst = max(worst, err)
                if not ok:
                    return _failure(stmt, spec, vals, L, R, err, count, t0, "the two sides disagree")
                if spec.reference is not None:
                    side = {"lhs": L, "rhs": R}.get(spec.against)
                    if side is None:
                        side = against(vals)
                    for label, value in _references(spec.reference(vals)):
                        refs_used.add(label)
                        ok, err = _compare(
                            "=", side, np.asarray(value, dtype=np.float64), spec.rtol, spec.atol
                        )
                        if not ok:
                            return _failure(
                                stmt,
                                spec,
                                vals,
                                side,
                                value,
                                err,
                                count,
                                t0,
                                f"the derived form disagrees with {label}",
                            )
    sizes = ", ".join("/".join(f"{k}={v}" for k, v in s.items()) for s in spec.sizes if s) or "scalars"
    against_note = f"; {spec.against} matches {', '.join(sorted(refs_used))}" if refs_used else ""
    err_note = f"; largest |lhs - rhs| = {worst:.2e}" if stmt.relation == "=" else ""
    return CheckResult(
        "pass",
        f"{count} random instances ({sizes}; {spec.seeds} seeds each), "
        f"rtol {spec.rtol:g}, atol {spec.atol:g}{err_note}{against_note}",
        time.perf_counter() - t0,
        tolerance=spec.rtol,
        instances=count,
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


def _failure(stmt, spec, vals, a, b, err, count, t0, what) -> CheckResult:
    return CheckResult(
        "fail",
        f"{what} (relation {stmt.relation}, rtol {spec.rtol:g}, atol {spec.atol:g}, error {err:.3g})",
        time.perf_counter() - t0,
        counterexample=f"{_instance(vals)} -> lhs {_fmt(a)}, rhs {_fmt(b)}",
        tolerance=spec.rtol,
        instances=count,
    )
