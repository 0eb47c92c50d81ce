"""Explicit forms: matrices spelled out, display nodes replaced by definitions, sums unrolled."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import notation as nt
from dlmath.derive.explicit import explicit, forall_instances

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)


def _entry(name, i, j=None):
    return sp.Symbol(f"{name}__{i}" if j is None else f"{name}__{i}__{j}", real=True)


def test_explicit_gradient_of_squared_error_is_hand_derivation():
    # The matrix gradient SymPy gets wrong (diff((x.T*x)[0,0], x) == 0) is taken entry by entry.
    g = explicit(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), {n: 3, d: 2})
    Xe = sp.Matrix(3, 2, lambda i, j: _entry("X", i, j))
    we = sp.Matrix(2, 1, lambda i, j: _entry("w", i))
    ye = sp.Matrix(3, 1, lambda i, j: _entry("y", i))
    assert (g - Xe.T * (Xe * we - ye)).applyfunc(sp.expand) == sp.zeros(2, 1)


def test_entry_symbols_name_their_matrix_and_position_without_a_table():
    i = sp.Symbol("i", integer=True)
    v = nt.Vector("v", n)
    e = explicit(sp.Sum(v[i, 0] ** 2, (i, 0, n - 1)), {n: 3})
    assert e == sum(_entry("v", k) ** 2 for k in range(3))
    assert nt.entry_of(_entry("v", 2)) == ("v", 2, None)
    assert nt.entry_of(_entry("X", 1, 0)) == ("X", 1, 0)
    assert nt.entry_of(sp.Symbol("w_hat")) is None
    assert nt.entries_of(e.free_symbols, "v") == [_entry("v", k) for k in range(3)]


def test_explicit_one_by_one_matrix_is_a_scalar():
    v = nt.Vector("v", n)
    assert explicit(v.T * v, {n: 2}) == _entry("v", 0) ** 2 + _entry("v", 1) ** 2


def test_explicit_hessian_of_logsumexp_is_softmax_covariance():
    z = nt.Vector("z", n)
    H = explicit(nt.Hess(nt.LSE(z), z), {n: 3})
    p = explicit(nt.Softmax(z), {n: 3})
    assert (H - (sp.diag(*p) - p * p.T)).applyfunc(sp.cancel) == sp.zeros(3, 3)


def test_a_common_factor_of_a_norm_comes_out_of_the_root():
    t = sp.Symbol("t", real=True)
    u = nt.Vector("u", n)
    e = explicit(nt.Norm(t * u), {n: 2})
    assert e == sp.Abs(t) * sp.sqrt(_entry("u", 0) ** 2 + _entry("u", 1) ** 2)


def test_rewrite_acts_inside_a_named_quantity_before_evaluation():
    f = sp.Function("f")
    a = sp.Symbol("a", real=True)
    q = nt.defined("q", "q", lambda rec, v: f(rec(v)), a)
    assert explicit(sp.Derivative(q, a)).has(sp.Derivative)
    square = lambda e: e.replace(lambda s: getattr(s, "func", None) == f, lambda s: s.args[0] ** 2)  # noqa: E731
    assert explicit(sp.Derivative(q, a), rewrite=square) == 2 * a


def test_forall_instances_enumerate_index_ranges():
    i, j = sp.symbols("i j", integer=True)
    cases = forall_instances(((i, 0, n - 1), (j, 0, 1)), {n: 3})
    assert len(cases) == 6 and cases[-1] == {i: 2, j: 1}
