"""Explicit forms: matrices spelled out, display nodes replaced by definitions, sums unrolled."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import notation as nt
from dlmath.derive.explicit import explicit

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def test_explicit_gradient_of_squared_error_is_hand_derivation():
    # The matrix gradient SymPy gets wrong (diff((x.T*x)[0,0], x) == 0) is taken entry by entry.
    g = explicit(nt.Grad(nt.Norm(y - X * w) ** 2 / 2, w), {n: 3, d: 2})
    Xe = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"X_{i}_{j}", real=True))
    we = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"w_{i}", real=True))
    ye = sp.Matrix(3, 1, lambda i, j: sp.Symbol(f"y_{i}", real=True))
    expected = Xe.T * (Xe * we - ye)
    assert (g - expected).applyfunc(sp.expand) == sp.zeros(2, 1)


def test_explicit_unrolls_sums_and_names_entries():
    i = sp.Symbol("i", integer=True)
    v = nt.Vector("v", n)
    e = explicit(sp.Sum(v[i, 0] ** 2, (i, 0, n - 1)), {n: 3})
    assert e == sum(sp.Symbol(f"v_{k}", real=True) ** 2 for k in range(3))
    assert nt.ENTRIES["v_2"] == ("v", 2, None)


def test_explicit_one_by_one_matrix_is_a_scalar():
    v = nt.Vector("v", n)
    e = explicit(v.T * v, {n: 2})
    assert e == sp.Symbol("v_0", real=True) ** 2 + sp.Symbol("v_1", real=True) ** 2


def test_explicit_hessian_of_logsumexp_is_softmax_covariance():
    z = nt.Vector("z", n)
    H = explicit(nt.Hess(nt.LSE(z), z), {n: 3})
    p = explicit(nt.Softmax(z), {n: 3})
    expected = sp.diag(*p) - p * p.T
    assert (H - expected).applyfunc(sp.cancel) == sp.zeros(3, 3)


def test_simplex_wlog_makes_the_last_entry_one_minus_the_rest():
    from dlmath.derive.explicit import simplex

    p = nt.Vector("p", n)
    e = explicit(p, {n: 3})
    subs = simplex("p")({s.name: s for s in e.free_symbols})
    values = [sp.sympify(v).xreplace(subs) for v in e]
    assert sp.expand(sum(values)) == 1
    assert all(v.is_positive for v in values[:-1])


def test_forall_instances_enumerate_index_ranges():
    from dlmath.derive.explicit import forall_instances

    i, j = sp.symbols("i j", integer=True)
    cases = forall_instances(((i, 0, n - 1), (j, 0, 1)), {n: 3})
    assert len(cases) == 6 and cases[-1] == {i: 2, j: 1}
