"""LaTeX and Unicode printing of display expressions."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import notation as nt

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)


def test_latex_uses_top_and_vector_subscripts():
    i = sp.Symbol("i", integer=True)
    assert nt.latex(X.T * y) == r"X^{\top} y"
    assert nt.latex(y[i, 0]) == "y_{i}"
    assert nt.latex(nt.Grad(nt.Norm(w), w)) == r"\nabla_{w} \left\lVert w \right\rVert_{2}"
