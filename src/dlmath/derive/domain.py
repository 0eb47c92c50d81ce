r"""The stated domain of a topic's symbols, as the numeric checks see it.

Built from the assumptions (:mod:`.assumptions`): each scalar symbol gets the interval its bounds
allow, ``a >= b`` ties two scalars, and entrywise predicates (``Simplex(p)``, ``Nonneg(y)``) shape
vectors. A :class:`Domain` does three things with it:

- :meth:`Domain.sample` draws random instances inside it (a topic may choose the distribution of
  any symbol, or supply a whole sampler; every sample is then checked against every assumption,
  and one outside them is an error, never silently used);
- :meth:`Domain.violated` says which assumption a given sample breaks;
- :meth:`Domain.space` maps unconstrained parameters onto it and lists its special points (the
  boundary, 0, equal arguments, a vector equal to another, a vanishing vector), which is where
  the counterexample search of :mod:`.search` looks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import assumptions as A

__all__ = ["Domain", "Space", "SampleError", "free_names"]


class SampleError(ValueError):
    """A sample falls outside the stated domain (a sampler that contradicts the assumptions)."""


def free_names(*exprs, dims=()) -> tuple[list[sp.Symbol], list[sp.MatrixSymbol]]:
    """The free scalar symbols and matrix symbols of ``exprs``, dimensions and entries excluded."""
    scalars, matrices = {}, {}
    dims = {getattr(d, "name", d) for d in dims}
    for e in exprs:
        e = sp.sympify(e)
        for s in e.free_symbols:
            if isinstance(s, sp.MatrixSymbol):
                matrices[s.name] = s
            elif isinstance(s, sp.Symbol) and s.name not in dims and not s.is_integer:
                scalars[s.name] = s
        for m in e.atoms(sp.MatrixSymbol):
            matrices[m.name] = m
    return (
        [scalars[k] for k in sorted(scalars)],
        [matrices[k] for k in sorted(matrices)],
    )


@dataclass
class _Interval:
    lo: float = -math.inf
    lo_open: bool = True
    hi: float = math.inf
    hi_open: bool = True

    def clip(self, rel, value):
        v = float(value)
        if rel in (">", ">="):
            if v > self.lo or (v == self.lo and rel == ">"):
                self.lo, self.lo_open = v, rel == ">"
        elif rel in ("<", "<="):
            if v < self.hi or (v == self.hi and rel == "<"):
                self.hi, self.hi_open = v, rel == "<"

    def draw(self, rng) -> float:
        lo, hi = self.lo, self.hi
        if math.isinf(lo) and math.isinf(hi):
            return float(rng.normal(0.0, 2.0))
        if math.isinf(hi):
            return lo + float(rng.lognormal(0.0, 1.0))
        if math.isinf(lo):
            return hi - float(rng.lognormal(0.0, 1.0))
        return lo + (hi - lo) * float(rng.uniform(0.02, 0.98))

    def from_theta(self, t: float) -> float:
        lo, hi = self.lo, self.hi
        if math.isinf(lo) and math.isinf(hi):
            return 2.0 * t
        if math.isinf(hi):
            return lo + math.exp(min(t, 700.0))
        if math.isinf(lo):
            return hi - math.exp(min(t, 700.0))
        return lo + (hi - lo) / (1.0 + math.exp(-max(min(t, 700.0), -700.0)))

    def specials(self) -> list[float]:
        """0, +-1 and the edges (just inside an open one), wherever they lie in the interval."""
        out = []
        # moderate magnitudes: a wrong formula shows there, and exact confirmation stays cheap
        for v in (0.0, 1.0, -1.0, 1e-4, -1e-4, 40.0, -40.0):
            if self.contains(v):
                out.append(v)
        for edge, is_open, direction in ((self.lo, self.lo_open, 1), (self.hi, self.hi_open, -1)):
            if math.isfinite(edge):
                out.append(edge + direction * 1e-9 * max(1.0, abs(edge)) if is_open else edge)
        return out

    def contains(self, v: float) -> bool:
        ok_lo = v > self.lo if self.lo_open else v >= self.lo
        ok_hi = v < self.hi if self.hi_open else v <= self.hi
        return ok_lo and ok_hi


@dataclass
class Space:
    """Unconstrained parameters ``theta`` (length ``dim``) onto the domain, and its special points."""

    dim: int
    to_values: Callable[[np.ndarray], dict]
    specials: list[dict]


class Domain:
    """The domain of a topic's (or an item's) symbols; see the module docstring.

    ``distributions`` maps symbol names to how to draw them (``(lo, hi)`` for uniform, or a
    callable ``(rng, shape) -> value``); ``sampler(rng, size)`` may draw several at once (a
    regression data set); whatever neither covers is drawn from the assumptions' bounds.
    ``evaluate(expr, values)`` computes a display expression numerically (for conditions such as
    ``Invertible(X.T*X)``).
    """

    def __init__(self, assumptions, *, distributions=None, sampler=None, evaluate=None):
        self.assumptions = list(assumptions)
        self.distributions = dict(distributions or {})
        self.sampler = sampler
        self.evaluate = evaluate
        self.intervals: dict[str, _Interval] = {}
        self.orders: list[A.Order] = []
        self.entry_kind: dict[str, str] = {}
        for a in self.assumptions:
            if isinstance(a, A.Bound):
                self.intervals.setdefault(a.symbol.name, _Interval()).clip(a.rel, a.value)
            elif isinstance(a, A._TwoSided):
                iv = self.intervals.setdefault(a.symbol.name, _Interval())
                iv.clip(">" if a.rel == "<" else ">=", -a.value)
                iv.clip(a.rel, a.value)
            elif isinstance(a, A.Order):
                self.orders.append(a)
            elif isinstance(a, A.SimplexAssumption):
                self.entry_kind[a.matrix.name] = "simplex"
            elif isinstance(a, A.PositiveAssumption):
                self.entry_kind[a.matrix.name] = "positive"
            elif isinstance(a, A.NonnegAssumption):
                self.entry_kind.setdefault(a.matrix.name, "nonneg")

    # --- sampling ---------------------------------------------------------------------------

    def interval(self, name: str) -> _Interval:
        return self.intervals.get(name, _Interval())

    def _draw_matrix(self, rng, name, shape):
        kind = self.entry_kind.get(name)
        if kind == "simplex":
            return rng.dirichlet(np.ones(int(np.prod(shape)))).reshape(shape)
        if kind == "positive":
            return rng.lognormal(0.0, 1.0, shape)
        if kind == "nonneg":
            return np.abs(rng.normal(0.0, 1.5, shape))
        return rng.normal(0.0, 1.5, shape)

    def _draw(self, rng, name, shape):
        how = self.distributions.get(name)
        if how is None:
            return self._draw_matrix(rng, name, shape) if shape else self.interval(name).draw(rng)
        if isinstance(how, tuple):
            v = rng.uniform(float(how[0]), float(how[1]), shape or None)
        else:
            v = how(rng, shape)
        return np.asarray(v, dtype=float).reshape(shape) if shape else float(v)

    def sample(self, rng, size: dict, scalars, matrices, *, tries: int = 20) -> dict:
        """One instance of every symbol in ``scalars`` and ``matrices`` (at sizes ``size``)."""
        message = None
        for _ in range(tries):
            vals = dict(self.sampler(rng, dict(size))) if self.sampler is not None else {}
            for m in matrices:
                if m.name not in vals:
                    vals[m.name] = self._draw(rng, m.name, shape_of(m, size))
            lowers = {o.upper.name: o for o in self._orders(scalars)}
            for s in scalars:
                if s.name not in vals and s.name not in lowers:
                    vals[s.name] = self._draw(rng, s.name, ())
            for s in scalars:
                o = lowers.get(s.name)
                if s.name not in vals and o is not None:
                    base = vals.get(o.lower.name, self._draw(rng, o.lower.name, ()))
                    vals[o.lower.name] = base
                    vals[s.name] = base + float(rng.lognormal(-0.5, 1.0))
            broken = self._broken(vals)
            if broken is None:
                return vals
            a, message = broken
            if not isinstance(a, (A.Condition, A.InvertibleAssumption)) and not getattr(a, "redraw", False):
                # a bound the sampler did not respect is the sampler's error: say so, never retry it away
                break
        raise SampleError(f"a sample falls outside the stated domain: {message}")

    def _broken(self, values: dict):
        for a in self.assumptions:
            msg = a.violated(values, self.evaluate)
            if msg:
                return a, msg
        return None

    def violated(self, values: dict) -> str | None:
        """The first assumption the sample ``values`` breaks, as a message, else None."""
        broken = self._broken(values)
        return None if broken is None else broken[1]

    # --- the counterexample search's view ---------------------------------------------------

    def _orders(self, scalars):
        names = {s.name for s in scalars}
        return [o for o in self.orders if o.upper.name in names and o.lower.name in names]

    def space(self, size: dict, scalars, matrices) -> Space:
        """Parameters onto the domain at ``size``, with the domain's special points."""
        lowers = {o.upper.name: o for o in self._orders(scalars)}
        layout = []  # (name, kind, shape, offset, count)
        k = 0
        for m in matrices:
            shape = shape_of(m, size)
            n = int(np.prod(shape))
            layout.append((m.name, "matrix", shape, k, n))
            k += n
        for s in scalars:
            layout.append((s.name, "order" if s.name in lowers else "scalar", (), k, 1))
            k += 1

        def to_values(theta):
            vals = {}
            for name, kind, shape, off, n in layout:
                t = np.asarray(theta[off : off + n], dtype=float)
                if kind == "matrix":
                    vals[name] = _matrix_from(self.entry_kind.get(name), t).reshape(shape)
                elif kind == "scalar":
                    vals[name] = self.interval(name).from_theta(float(t[0]))
            for name, kind, _, off, _ in layout:
                if kind == "order":
                    o = lowers[name]
                    base = vals.get(o.lower.name, 0.0)
                    gap = math.exp(min(float(theta[off]), 700.0)) if o.strict else float(theta[off]) ** 2
                    vals[name] = base + gap
            return vals

        return Space(k, to_values, self._specials(size, scalars, matrices))

    def _specials(self, size, scalars, matrices) -> list[dict]:
        """Edits to apply to a random point: one special value, or one special relation, each."""
        out: list[dict] = []
        orders = self._orders(scalars)
        for s in scalars:
            if any(o.upper.name == s.name for o in orders):
                continue
            for v in self.interval(s.name).specials():
                out.append({s.name: v})
        for o in orders:
            out.append({o.upper.name: ("tie", o.lower.name, o.strict)})
        names = [s.name for s in scalars if not any(o.upper.name == s.name for o in orders)]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                out.append({a: ("same", b)})
        for m in matrices:
            kind = self.entry_kind.get(m.name)
            if kind == "simplex":
                out.append({m.name: ("vertex",)})
                out.append({m.name: ("uniform",)})
                continue
            out.append({m.name: ("scale", 1e-4)})
            out.append({m.name: ("scale", 40.0)})
            if kind is None:
                out.append({m.name: ("zero",)})
        for i, a in enumerate(matrices):
            for b in matrices[i + 1 :]:
                if shape_of(a, size) == shape_of(b, size):
                    for mult in (1.0, -1.0, 2.0):
                        out.append({a.name: ("like", b.name, mult)})
                        out.append({b.name: ("like", a.name, mult)})
        return out


def apply_special(vals: dict, edit: dict) -> dict:
    """A copy of ``vals`` with one special edit (see :meth:`Domain._specials`) applied."""
    out = dict(vals)
    for name, how in edit.items():
        if not isinstance(how, tuple):
            out[name] = how
            continue
        tag = how[0]
        cur = np.asarray(out.get(name, 0.0), dtype=float)
        if tag == "tie":
            out[name] = out[how[1]] + (1e-9 * max(1.0, abs(out[how[1]])) if how[2] else 0.0)
        elif tag == "same":
            out[name] = out[how[1]]
        elif tag == "vertex":
            e = np.zeros_like(cur)
            e.reshape(-1)[0] = 1.0
            out[name] = e
        elif tag == "uniform":
            out[name] = np.full_like(cur, 1.0 / cur.size)
        elif tag == "scale":
            out[name] = cur * how[1]
        elif tag == "zero":
            out[name] = np.zeros_like(cur)
        elif tag == "like":
            out[name] = how[2] * np.asarray(out[how[1]], dtype=float)
    return out


def _matrix_from(kind, t):
    if kind == "simplex":
        e = np.exp(t - t.max())
        return e / e.sum()
    if kind == "positive":
        return np.exp(np.minimum(t, 700.0))
    if kind == "nonneg":
        return t * t
    return 1.5 * t


def shape_of(m, size: dict) -> tuple[int, ...]:
    """The concrete shape of matrix symbol ``m`` at dimension sizes ``size`` (by name)."""
    subs = {}
    for d in m.shape:
        for s in sp.sympify(d).free_symbols:
            if s.name in size:
                subs[s] = size[s.name]
    shape = tuple(int(sp.sympify(d).xreplace(subs)) for d in m.shape)
    return shape
