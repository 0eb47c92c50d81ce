"""Compiling display expressions to NumPy: finite differences and the compiled sides."""

from __future__ import annotations

import numpy as np
import sympy as sp

from dlmath.derive import notation as nt
from dlmath.derive.compiler import Compiler, fd_grad, fd_hessian


def test_fd_grad_and_hessian_match_analytic():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])

    def f(v):
        return 0.5 * v @ A @ v + np.sin(v[0])

    v = np.array([0.3, -1.2])
    np.testing.assert_allclose(fd_grad(f, v), A @ v + np.array([np.cos(0.3), 0.0]), rtol=1e-8)
    np.testing.assert_allclose(fd_hessian(f, v), A + np.diag([-np.sin(0.3), 0.0]), atol=1e-6)


def test_compiled_matrix_expression_is_shape_generic():
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w = nt.Matrix("X", n, d), nt.Vector("w", d)
    f = Compiler()(X.T * X * w)
    rng = np.random.default_rng(0)
    for shape in ((3, 2), (5, 4)):
        XX, ww = rng.normal(size=shape), rng.normal(size=(shape[1], 1))
        np.testing.assert_allclose(f({"X": XX, "w": ww}), XX.T @ XX @ ww, rtol=1e-14)
