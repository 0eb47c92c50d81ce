r"""The counterexample search: where SymPy cannot decide a statement, try hard to break it.

Random instances say little about an inequality that is tight somewhere, or an identity that
fails only on a thin set. So for an undecided statement the numeric check becomes a search over
the stated domain (:class:`.domain.Domain`):

1. the domain's special points, each on a random background: 0, the edges of every interval,
   equal scalars, a vector equal to another (or its negative, or twice it), a vanishing vector,
   a huge one, a vertex of the simplex;
2. random points of the domain;
3. local optimisation (:func:`nelder_mead`, derivative-free, so kinks do not stop it) of the
   violation from the worst points found, in unconstrained parameters mapped onto the domain.

The violation is measured in units of the tolerance: for ``=`` the error over
``atol + rtol·max(|lhs|, |rhs|)``, for ``>=`` the gap below ``-tol``, for ``>`` a gap that is not
clearly positive. A candidate is confirmed at 50 digits on the explicit form before it is
reported, so a strict inequality that is merely tight in floating point is not "broken" by
rounding.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import sympy as sp

from .domain import Domain, apply_special
from .numeric import Sides, instance_text
from .results import CheckResult

__all__ = ["search"]

_RANDOM = 24
_STARTS = 2
_FEVALS = 100
_DIGITS = 50


_UNDEFINED = 1e6  # a side is not a real number at the point: a candidate, confirmed exactly


def _score(rel, L, R, rtol, atol, tol):
    """Violation of ``L rel R`` in units of the tolerance (> 1 is a violation).

    A side that is not a real number (NaN) at a point of the stated domain is a candidate too: the
    statement claims something there. Exact evaluation then tells a true singularity from a
    floating-point one (an overflow, a finite difference beside a kink).
    """
    L = np.asarray(L, dtype=np.float64).reshape(-1)
    R = np.asarray(R, dtype=np.float64).reshape(-1)
    if L.size != R.size:
        return math.inf
    if np.any(np.isnan(L) | np.isnan(R)):
        return _UNDEFINED
    inf_l, inf_r = np.isinf(L), np.isinf(R)
    if rel == "!=":
        if np.any(inf_l & (L == R)):
            return _UNDEFINED
        bound = atol + rtol * np.maximum(np.abs(L), np.abs(R))
        return float(np.max(bound / np.maximum(np.abs(L - R), 1e-300)))
    if rel in ("=", "≈"):
        if np.any(inf_l != inf_r) or np.any(inf_l & (L != R)):
            return _UNDEFINED
        both = ~inf_l
        if not np.any(both):
            return 0.0
        bound = atol + rtol * np.maximum(np.abs(L[both]), np.abs(R[both]))
        if rel == "≈":
            bound = bound + float(tol)
        return float(np.max(np.abs(L[both] - R[both]) / bound))
    with np.errstate(invalid="ignore"):
        gap = L - R if rel in (">", ">=") else R - L
    if np.any(np.isnan(gap)):
        return _UNDEFINED
    finite = np.isfinite(gap)
    scale = atol + rtol * np.maximum(np.abs(np.where(finite, L, 0.0)), np.abs(np.where(finite, R, 0.0)))
    gap = np.where(finite, gap, np.sign(gap) * np.inf)
    if rel in (">", "<"):
        # gap <= 0 breaks it; a gap within the tolerance of 0 is a candidate, confirmed exactly
        return float(np.max(1.0 - gap / scale))
    return float(np.max(-gap / scale))


def specials(stmt, sides, domain, size, rtol, atol, *, seed: int = 0, confirm=None) -> CheckResult | None:
    """The domain's special points (edges, 0, ties, equal or vanishing vectors) on one random
    background at ``size``: a failing result at the first confirmed violation, else None."""
    rng = np.random.default_rng([seed, 577])
    size = dict(size)
    run = _Search(sides, domain, size, stmt.relation, rtol, atol, stmt.tol)
    space = domain.space(size, sides.scalars, sides.matrices)
    base = _base(domain, rng, size, sides, space)
    if base is None:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for edit in space.specials:
            vals = apply_special(base, edit)
            score = run.value(vals)
            if score is not None and score > 1.0:
                exact = _confirmed(confirm, vals, size)
                if exact:
                    return CheckResult(
                        "fail",
                        f"fails at a special point of the stated domain ({exact})",
                        counterexample=instance_text({k: v for k, v in vals.items() if k not in size}),
                        rtol=rtol,
                        atol=atol,
                        instances=run.count,
                    )
    return None


class _Search:
    def __init__(self, sides: Sides, domain: Domain, size: dict, rel, rtol, atol, tol):
        self.sides, self.domain, self.size = sides, domain, size
        self.rel, self.rtol, self.atol, self.tol = rel, rtol, atol, tol
        self.count = 0
        self.worst = (-math.inf, None)

    def value(self, vals):
        if self.domain.violated(vals) is not None:
            return None
        full = {**vals, **self.size}
        try:
            full = self.sides.complete(vals, self.size)
            L, R = self.sides(full, self.size)
            s = _score(self.rel, L, R, self.rtol, self.atol, self.tol)
        except (ZeroDivisionError, np.linalg.LinAlgError):
            s = _UNDEFINED  # a singular matrix or a division by zero: the statement is undefined there
        except (ValueError, OverflowError, FloatingPointError):
            return None
        if math.isnan(s):
            return None
        self.count += 1
        if s > self.worst[0]:
            self.worst = (s, full)
        return s


def search(
    stmt, sides: Sides, domain: Domain, sizes, rtol, atol, *, seed: int = 0, confirm=None
) -> CheckResult:
    """Search ``domain`` at each of ``sizes`` for a point where ``stmt`` fails.

    ``confirm(vals, size)`` recomputes the violation exactly (or returns None if it cannot); a
    candidate it does not confirm is not a counterexample.
    """
    t0 = time.perf_counter()
    rel = stmt.relation
    total, checked = 0, []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, size in enumerate(sizes):
            size = dict(size)
            rng = np.random.default_rng([seed, 991, k])
            run = _Search(sides, domain, size, rel, rtol, atol, stmt.tol)
            space = domain.space(size, sides.scalars, sides.matrices)
            base = _base(domain, rng, size, sides, space)
            for edit in space.specials:
                if base is not None:
                    run.value(apply_special(base, edit))
                for _ in range(2):
                    other = _base(domain, rng, size, sides, space)
                    if other is not None:
                        run.value(apply_special(other, edit))
            thetas = [rng.normal(0.0, 1.5, space.dim) for _ in range(_RANDOM)]
            scored = []
            for th in thetas:
                s = run.value(space.to_values(th))
                if s is not None:
                    scored.append((s, th))
            scored.sort(key=lambda t: -t[0])
            if space.dim:
                for _, th in scored[:_STARTS]:

                    def objective(t, run=run, space=space):
                        s = run.value(space.to_values(t))
                        return 1e300 if s is None else -s

                    nelder_mead(objective, th, maxfev=_FEVALS)
                    if run.worst[0] > 1.0 and _confirmed(confirm, run.worst[1], size):
                        break
            total += run.count
            checked.append(size)
            score, vals = run.worst
            if score > 1.0 and vals is not None:
                exact = _confirmed(confirm, vals, size)
                if exact:
                    return CheckResult(
                        "fail",
                        f"the search over the stated domain found a counterexample ({exact})",
                        time.perf_counter() - t0,
                        counterexample=instance_text({k: v for k, v in vals.items() if k not in size}),
                        rtol=rtol,
                        atol=atol,
                        instances=total,
                    )
    where = ", ".join("/".join(f"{k}={v}" for k, v in s.items()) for s in checked if s) or "scalars"
    return CheckResult(
        "pass",
        f"searched {total} points of the stated domain ({where}): its special points (edges, 0, "
        f"ties, equal or vanishing vectors), random points and {_STARTS} local optimisations of the "
        f"violation each; no counterexample (rtol {rtol:g}, atol {atol:g})",
        time.perf_counter() - t0,
        rtol=rtol,
        atol=atol,
        instances=total,
    )


def _base(domain, rng, size, sides, space):
    try:
        return domain.sample(rng, size, sides.scalars, sides.matrices)
    except ValueError:
        return space.to_values(rng.normal(0.0, 1.0, space.dim)) if space.dim else {}


def _confirmed(confirm, vals, size) -> str | None:
    """The exact verdict on a float candidate: a description if it is a counterexample.

    A candidate that cannot be evaluated exactly is not reported: floating point alone is not
    trusted at the extremes where candidates come from (overflow, finite differences at a kink).
    """
    if confirm is None:
        return "in floating point"
    try:
        return confirm(vals, size)
    except (ZeroDivisionError, sp.matrices.exceptions.NonInvertibleMatrixError) as exc:
        return f"the statement is undefined there ({type(exc).__name__}: {exc})"
    except Exception:
        return None


def exact_violation(stmt, refine, explicit_sides, rtol: float = 0.0, atol: float = 0.0):
    """A ``confirm`` function for :func:`search`: the residual at the point, to 50 digits, beyond the
    tolerance (the point's own values are floats: a relation that needs them to sum to 1 holds only
    to their rounding)."""

    def confirm(vals, size):
        dims = {}
        for side in (stmt.lhs, stmt.rhs, *stmt.given.values()):
            for s in sp.sympify(side).atoms(sp.Symbol):
                if s.name in size:
                    dims[s] = size[s.name]
        pairs = explicit_sides(stmt, dims)
        subs = _exact_point(pairs, vals)
        worst = None
        for L, R in pairs:
            for a, b in zip(_entries(L), _entries(R), strict=True):
                a = sp.N(sp.sympify(a).xreplace(subs), _DIGITS)
                b = sp.N(sp.sympify(b).xreplace(subs), _DIGITS)
                if not (a.is_number and b.is_number):
                    return None  # the exact form kept free symbols: no exact verdict
                bad = _exact_bad(stmt.relation, a, b, stmt.tol, rtol, atol)
                if bad:
                    worst = bad
        return worst

    return confirm


def _entries(e):
    return list(e) if isinstance(e, sp.MatrixBase) else [e]


def _exact_point(pairs, vals) -> dict:
    """The explicit symbols of ``pairs`` bound to the exact binary values of the point (as rationals,
    so SymPy's evaluation to 50 digits can raise its working precision where terms cancel)."""
    from .notation import entry_of

    subs = {}
    for L, R in pairs:
        for s in sp.sympify(L).free_symbols | sp.sympify(R).free_symbols:
            where = entry_of(s)
            if where is None:
                if s.name in vals:
                    subs[s] = sp.Rational(float(np.asarray(vals[s.name]).reshape(-1)[0]))
                continue
            name, i, j = where
            if name in vals:
                arr = np.asarray(vals[name], dtype=float)
                v = arr.reshape(-1)[i] if j is None else arr[i, j]
                subs[s] = sp.Rational(float(v))
    return subs


def _exact_bad(rel, a, b, tol, rtol, atol) -> str | None:
    d = a - b
    if not d.is_real:
        return f"a side is not a real number there: {a} vs {b}"
    scale = max(abs(a), abs(b))
    bound = (
        sp.Float(atol) + sp.Float(rtol) * scale + sp.Float(10) ** (-(_DIGITS - 10)) * max(scale, sp.Float(1))
    )
    if rel == "=" and abs(d) > bound:
        return f"the sides differ by {float(d):.6g} there"
    if rel == "!=" and abs(d) <= sp.Float(10) ** (-(_DIGITS - 10)) * max(scale, sp.Float(1)):
        return "the two sides are equal there"
    if rel == "≈" and abs(d) > sp.sympify(tol) + bound:
        return f"the sides differ by {float(d):.6g}, beyond the tolerance {float(tol):g}"
    gap = d if rel in (">", ">=") else -d
    if rel in (">", "<") and gap <= sp.Float(10) ** (-(_DIGITS - 10)) * max(scale, sp.Float(1)):
        return (
            "the two sides are equal there, so the strict inequality fails"
            if gap >= 0
            else f"the gap is {float(gap):.6g} there"
        )
    if rel in (">=", "<=") and gap < -bound:
        return f"the gap is {float(gap):.6g} there"
    return None


def nelder_mead(f, x0, *, maxfev: int, step: float = 0.5):
    """Minimise ``f`` from ``x0`` by the Nelder–Mead simplex method, at most ``maxfev`` evaluations.

    Derivative-free, so the kinks of ``|x|`` or ``max`` do not stall it; the standard coefficients
    (reflection 1, expansion 2, contraction 1/2, shrink 1/2).
    """
    x0 = np.asarray(x0, dtype=float)
    n = x0.size
    pts = [x0] + [x0 + step * np.eye(n)[k] for k in range(n)]
    vals = [f(p) for p in pts]
    used = n + 1
    while used < maxfev:
        order = np.argsort(vals)
        pts = [pts[k] for k in order]
        vals = [vals[k] for k in order]
        centre = np.mean(pts[:-1], axis=0)
        worst = pts[-1]
        refl = centre + (centre - worst)
        fr = f(refl)
        used += 1
        if fr < vals[0]:
            exp_pt = centre + 2.0 * (centre - worst)
            fe = f(exp_pt)
            used += 1
            pts[-1], vals[-1] = (exp_pt, fe) if fe < fr else (refl, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = refl, fr
        else:
            inner = centre + 0.5 * (worst - centre)
            fc = f(inner)
            used += 1
            if fc < vals[-1]:
                pts[-1], vals[-1] = inner, fc
            else:
                best = pts[0]
                pts = [best] + [best + 0.5 * (p - best) for p in pts[1:]]
                vals = [vals[0]] + [f(p) for p in pts[1:]]
                used += n
        if max(vals) - min(vals) < 1e-14 and np.max(np.abs(np.array(pts) - pts[0])) < 1e-12:
            break
    k = int(np.argmin(vals))
    return pts[k], vals[k]
