r"""The symbolic check: reduce ``lhs - rhs`` to zero (or decide its sign) with SymPy.

The residual is taken on the explicit form (:func:`dlmath.derive.explicit.explicit`) and put
through a short chain of cheap rewrites (``cancel``, ``expand``, ...), never ``simplify`` unless a
statement asks for it. When the chain does not reach a verdict, the residual is evaluated at a
few random points that respect the symbols' assumptions, at 30 digits: a clearly non-zero value
is a failure with that point as counterexample; otherwise the verdict is ``undecided`` with the
reason, and the numeric check decides.
"""

from __future__ import annotations

import random
import time

import sympy as sp

from . import explicit
from .model import CheckResult, Statement

_REWRITES = {
    "cancel": sp.cancel,
    "expand": lambda e: sp.expand(e),
    "expand_log": lambda e: sp.expand_log(e),
    "expand_log_force": lambda e: sp.expand_log(sp.expand(e), force=True),
    "together": sp.together,
    # zero test of a rational function through its numerator (the denominator is generically non-zero)
    "numerator": lambda e: sp.expand(sp.numer(sp.together(e))),
    "powsimp": lambda e: sp.powsimp(e, force=False),
    "radsimp": sp.radsimp,
    "piecewise": lambda e: sp.piecewise_fold(e),
    "trigsimp": sp.trigsimp,
    "simplify": sp.simplify,
}

_PROBE_POINTS = 6
_PROBED_ENTRIES = 4
_PROBE_DIGITS = 30


def explicit_sides(stmt: Statement, dims: dict):
    """``(lhs, rhs)`` explicit, with ``given`` and ``wlog`` applied, one pair per ``forall`` index."""
    lhs = explicit.substitute(stmt.lhs, dict(stmt.given))
    rhs = explicit.substitute(stmt.rhs, dict(stmt.given))
    if stmt.wlog is not None:
        # once on the display symbols (so limits and maxima see the case before they evaluate) ...
        subs = stmt.wlog(_free_by_name(lhs, rhs))
        lhs, rhs = lhs.xreplace(subs), rhs.xreplace(subs)
    cases = explicit.forall_instances(stmt.forall, dims) if stmt.forall else [{}]
    pairs = []
    for case in cases:
        L = explicit.explicit(sp.sympify(lhs).xreplace(case) if case else lhs, dims)
        R = explicit.explicit(sp.sympify(rhs).xreplace(case) if case else rhs, dims)
        if stmt.wlog is not None:
            # ... and once on the explicit entries of vectors and matrices
            subs = stmt.wlog(_free_by_name(L, R))
            L, R = sp.sympify(L).xreplace(subs), sp.sympify(R).xreplace(subs)
        pairs.append((L, R))
    return pairs


def _free_by_name(*exprs) -> dict:
    out = {}
    for e in exprs:
        for s in sp.sympify(e).free_symbols:
            out[s.name] = s
    return out


def _entries(e) -> list:
    if isinstance(e, sp.MatrixBase):
        return list(e)
    return [e]


def _reduce(e, chain, relation="="):
    for name in chain:
        if e == 0:
            return e
        if callable(name):
            e = name(e)
        elif name == "exp":
            # For real e: e == 0 iff exp(e) == 1, and e has the sign of exp(e) - 1. This turns
            # identities and inequalities between logs into rational ones.
            x = sp.cancel(sp.expand(sp.exp(e)))
            if relation == "=":
                if x == 1:
                    return sp.S.Zero
            else:
                e = x - 1
        else:
            e = _REWRITES[name](e)
    return e


def _chain_names(chain) -> str:
    return ", ".join(getattr(c, "__name__", "custom") if callable(c) else c for c in chain) or "no rewrite"


def decide(stmt: Statement, dims: dict, seed: int = 0) -> CheckResult:
    """The symbolic verdict on ``stmt`` at the dimensions ``dims`` (symbol -> int)."""
    t0 = time.perf_counter()
    try:
        pairs = explicit_sides(stmt, dims)
    except Exception as exc:  # a statement SymPy cannot even expand is undecided, not passed
        return CheckResult(
            "undecided",
            f"SymPy could not build the explicit form ({type(exc).__name__}: {exc}); the numeric check decides",
            time.perf_counter() - t0,
        )
    leftovers = []
    for L, R in pairs:
        if isinstance(L, sp.MatrixBase) != isinstance(R, sp.MatrixBase):
            return CheckResult(
                "fail", "one side is a matrix and the other a scalar", time.perf_counter() - t0
            )
        if stmt.relation == "=":
            diffs = [sp.sympify(a) - sp.sympify(b) for a, b in zip(_entries(L), _entries(R), strict=False)]
            if isinstance(L, sp.MatrixBase) and isinstance(R, sp.MatrixBase) and L.shape != R.shape:
                return CheckResult("fail", f"shapes differ: {L.shape} vs {R.shape}", time.perf_counter() - t0)
            for d in diffs:
                r = _reduce(d, stmt.simplify)
                if r != 0:
                    leftovers.append((r, "=", L, R))
        else:
            for a, b in zip(_entries(L), _entries(R), strict=True):
                r = _reduce(_gap(stmt.relation, a, b), stmt.simplify, stmt.relation)
                verdict = r.is_positive if stmt.relation in (">", "<") else r.is_nonnegative
                if verdict is False:
                    return CheckResult(
                        "fail",
                        f"SymPy finds {stmt.relation} false",
                        time.perf_counter() - t0,
                        residual=_short(r),
                    )
                if verdict is None:
                    leftovers.append((r, stmt.relation, L, R))
    seconds = time.perf_counter() - t0
    if not leftovers:
        what = "residual reduces to 0" if stmt.relation == "=" else f"SymPy proves the gap {stmt.relation} 0"
        return CheckResult("pass", f"{what} ({_chain_names(stmt.simplify)}){_dims_note(dims)}", seconds)
    # Every unresolved entry is probed (a few at most), so one true-but-stubborn entry cannot
    # hide a false one behind an "undecided".
    evaluated = []
    for r, rel, _, _ in leftovers[:_PROBED_ENTRIES]:
        bad, count = _probe(r, rel, seed)
        evaluated.append(count)
        if bad is not None:
            return CheckResult(
                "fail",
                "the residual is not zero" if rel == "=" else f"the relation {rel} is violated",
                time.perf_counter() - t0,
                residual=_short(r),
                counterexample=bad,
            )
    seconds = time.perf_counter() - t0
    r, rel, _, _ = leftovers[0]
    reason = (
        f"SymPy could not reduce the residual to 0 with {_chain_names(stmt.simplify)}"
        if rel == "="
        else f"SymPy could not decide the sign of the gap (relation {rel})"
    )
    points = min(evaluated)
    probed = (
        f"it is {'0' if rel == '=' else 'consistent'} at {points} random point{'' if points == 1 else 's'}"
        if points
        else f"it could not be evaluated (real and finite) at any of {_PROBE_POINTS} random points"
    )
    return CheckResult(
        "undecided", f"{reason}; {probed}, so the numeric check decides", seconds, residual=_short(r)
    )


def _gap(rel, a, b):
    return sp.sympify(a) - sp.sympify(b) if rel in (">", ">=") else sp.sympify(b) - sp.sympify(a)


def _dims_note(dims) -> str:
    if not dims:
        return ""
    return " at " + ", ".join(f"{k} = {v}" for k, v in dims.items())


def _short(e, limit: int = 300) -> str:
    s = sp.sstr(e)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _point(symbols, rnd: random.Random) -> dict:
    pt = {}
    for s in symbols:
        if s.is_integer:
            v = rnd.randint(1, 5) if s.is_positive else rnd.randint(-5, 5)
        elif s.is_positive:
            v = rnd.uniform(0.3, 3.0)
        elif s.is_nonnegative:
            v = rnd.uniform(0.0, 3.0)
        elif s.is_negative:
            v = -rnd.uniform(0.3, 3.0)
        else:
            v = rnd.gauss(0.0, 1.5)
        pt[s] = sp.Float(v, _PROBE_DIGITS)
    return pt


def _probe(r, rel, seed) -> tuple[str | None, int]:
    """``(counterexample, points)``: a point where the residual is clearly non-zero (or the relation
    fails) as text, else None; and how many points gave a real, finite value."""
    rnd = random.Random(seed)
    syms = sorted(r.free_symbols, key=lambda s: s.name)
    count = 0
    for _ in range(_PROBE_POINTS):
        pt = _point(syms, rnd)
        try:
            v = sp.N(r.subs(pt), _PROBE_DIGITS)
        except Exception:
            continue
        if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or not v.is_real:
            continue
        count += 1
        tol = sp.Float(10) ** (-_PROBE_DIGITS // 2)
        bad = abs(v) > tol if rel == "=" else (v < -tol if rel in (">=", "<=") else v <= 0)
        if bad:
            where = ", ".join(f"{s} = {float(x):.6g}" for s, x in pt.items())
            return f"{where}: residual = {float(v):.6g}", count
    return None, count
