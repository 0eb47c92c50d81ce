r"""The symbolic check: reduce ``lhs - rhs`` to zero (or decide its sign) with SymPy.

The residual is taken on the explicit form (:func:`dlmath.derive.explicit.explicit`), after the
assumptions' facts are applied (:meth:`~dlmath.derive.assumptions.Assumption.refine`), and put
through a short chain of cheap rewrites (``cancel``, ``expand``, ...), never ``simplify`` unless a
statement asks for it. When the chain reaches no verdict the result is ``undecided``, with the
residual, and the numeric side searches the stated domain for a counterexample
(:mod:`dlmath.derive.search`) instead of trusting a few random points. A statement about
floating-point results or measured quantities is ``n/a`` here: only the numeric side can check it.
"""

from __future__ import annotations

import time

import sympy as sp

from . import explicit
from .model import Statement
from .results import CheckResult

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

_DIGITS = 50


def _no_facts(e):
    return e


def explicit_sides(stmt: Statement, dims: dict, refine=_no_facts, rewrite=None):
    """``(lhs, rhs)`` explicit, with ``given``, the facts (``refine``) and ``wlog`` applied, one
    pair per ``forall`` index; ``rewrite`` acts inside named quantities (see :func:`.explicit.explicit`)."""
    lhs = explicit.substitute(stmt.lhs, dict(stmt.given))
    rhs = explicit.substitute(stmt.rhs, dict(stmt.given))
    # once on the display symbols (so limits and maxima see the facts before they evaluate) ...
    lhs, rhs = _refined(lhs, rhs, stmt, refine)
    cases = explicit.forall_instances(stmt.forall, dims) if stmt.forall else [{}]
    pairs = []
    for case in cases:
        L = explicit.explicit(sp.sympify(lhs).xreplace(case) if case else lhs, dims, rewrite)
        R = explicit.explicit(sp.sympify(rhs).xreplace(case) if case else rhs, dims, rewrite)
        # ... and once on the explicit entries of vectors and matrices
        pairs.append(_refined(L, R, stmt, refine))
    return pairs


def _refined(lhs, rhs, stmt, refine):
    lhs, rhs = refine(sp.sympify(lhs)), refine(sp.sympify(rhs))
    if stmt.wlog is not None:
        subs = stmt.wlog(_free_by_name(lhs, rhs))
        lhs, rhs = lhs.xreplace(subs), rhs.xreplace(subs)
    return lhs, rhs


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


def decide(stmt: Statement, dims: dict, refine=_no_facts) -> CheckResult:
    """The symbolic verdict on ``stmt`` at the dimensions ``dims`` (symbol -> int), under the
    facts ``refine`` applies (also inside named quantities, where ``refine.rewrite`` acts)."""
    t0 = time.perf_counter()
    try:
        pairs = explicit_sides(stmt, dims, refine, getattr(refine, "rewrite", None))
    except Exception as exc:  # a statement SymPy cannot even expand is undecided, not passed
        return CheckResult(
            "undecided",
            f"SymPy could not build the explicit form ({type(exc).__name__}: {exc}); the numeric search decides",
            time.perf_counter() - t0,
        )
    if stmt.relation == "≈":
        return _approx(pairs, stmt, t0)
    leftovers = []
    for L, R in pairs:
        if isinstance(L, sp.MatrixBase) != isinstance(R, sp.MatrixBase):
            return CheckResult(
                "fail", "one side is a matrix and the other a scalar", time.perf_counter() - t0
            )
        if stmt.relation in ("=", "!="):
            if isinstance(L, sp.MatrixBase) and L.shape != R.shape:
                return CheckResult("fail", f"shapes differ: {L.shape} vs {R.shape}", time.perf_counter() - t0)
            for a, b in zip(_entries(L), _entries(R), strict=True):
                r = _reduce(sp.sympify(a) - sp.sympify(b), stmt.simplify)
                if r != 0 and stmt.relation == "=":
                    r = _last_resort(r)
                if stmt.relation == "=":
                    if r != 0:
                        if r.is_zero is False:  # SymPy can show the residual never vanishes
                            return CheckResult(
                                "fail",
                                f"the residual is {'a non-zero constant' if r.is_number else 'never zero'}",
                                time.perf_counter() - t0,
                                residual=_short(r),
                            )
                        leftovers.append(r)
                elif r == 0:
                    return CheckResult("fail", "the two sides are equal", time.perf_counter() - t0)
                elif r.is_zero is not False:
                    leftovers.append(r)
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
                    leftovers.append(r)
    seconds = time.perf_counter() - t0
    if not leftovers:
        what = {
            "=": "residual reduces to 0",
            "!=": "the sides differ by a non-zero amount",
        }.get(stmt.relation, f"SymPy proves the gap {stmt.relation} 0")
        return CheckResult("pass", f"{what} ({_chain_names(stmt.simplify)}){_dims_note(dims)}", seconds)
    reason = (
        f"SymPy could not reduce the residual to 0 with {_chain_names(stmt.simplify)}"
        if stmt.relation == "="
        else f"SymPy could not decide the sign of the gap (relation {stmt.relation})"
    )
    return CheckResult(
        "undecided",
        f"{reason}; the numeric check searches the stated domain for a counterexample",
        seconds,
        residual=_short(leftovers[0]),
    )


def _approx(pairs, stmt, t0) -> CheckResult:
    """``a ≈ b`` with a closed-form ``a``: evaluated to 50 digits and compared with the tolerance."""
    tol = sp.sympify(stmt.tol)
    worst = sp.S.Zero
    for L, R in pairs:
        d = sp.sympify(L) - sp.sympify(R)
        if not d.is_number:
            return CheckResult(
                "undecided",
                "the approximation has free symbols; the numeric check decides",
                time.perf_counter() - t0,
            )
        v = abs(sp.N(d, _DIGITS))
        if not v.is_real:
            return CheckResult("fail", "the difference is not a real number", time.perf_counter() - t0)
        worst = max(worst, v)
    if worst <= tol:
        return CheckResult(
            "pass",
            f"|lhs - rhs| = {float(worst):.3g} <= {float(tol):g} (evaluated to {_DIGITS} digits)",
            time.perf_counter() - t0,
        )
    return CheckResult(
        "fail",
        f"|lhs - rhs| = {float(worst):.6g} exceeds the tolerance {float(tol):g} of the printed digits",
        time.perf_counter() - t0,
        residual=f"{float(worst):.6g}",
    )


_SMALL = 120  # operations: residuals this small are worth one sympy.simplify


def _last_resort(r):
    """``simplify`` on a small leftover residual (a text's relation, a short step); big ones are
    left to the counterexample search, since simplify's cost grows quickly with size."""
    if (
        sp.count_ops(r) > _SMALL
        or r.has(sp.Derivative, sp.Limit, sp.Subs, sp.Piecewise)
        or r.atoms(sp.core.function.AppliedUndef)
    ):
        return r
    out = sp.simplify(r)
    return out if out == 0 else r


def _gap(rel, a, b):
    return sp.sympify(a) - sp.sympify(b) if rel in (">", ">=") else sp.sympify(b) - sp.sympify(a)


def _dims_note(dims) -> str:
    if not dims:
        return ""
    return " at " + ", ".join(f"{k} = {v}" for k, v in dims.items())


def _short(e, limit: int = 300) -> str:
    s = sp.sstr(e)
    return s if len(s) <= limit else s[: limit - 3] + "..."
