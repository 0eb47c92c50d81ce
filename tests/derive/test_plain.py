"""One-line printing for terminals and alt text: Unicode, and ASCII where Unicode cannot print."""

from __future__ import annotations

import sympy as sp

from dlmath.derive import notation as nt
from dlmath.derive.plain import ascii_inline, inline, symbol_text

x, sigma = sp.symbols("x sigma", real=True)
n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)


def test_symbol_names_print_as_mathematics():
    assert symbol_text("sigma_hat") == "σ\u0302"
    assert symbol_text("eta_0") == "η₀"
    assert symbol_text("z__1") == "z₁"
    assert symbol_text("X__1__2", unicode=False) == "X[1,2]"


def test_expressions_read_as_written():
    assert inline(sp.Derivative(x**x, x)) == "d/dx xˣ"
    assert inline(nt.Norm(y - X * w) ** 2 / 2) == "‖y − Xw‖²/2"
    assert inline(sp.Eq(sp.log(x**x), x * sp.log(x), evaluate=False)) == "log(xˣ) = x·log(x)"
    assert inline(sp.exp(-(x**2) / (2 * sigma**2))) == "e^(-x²/(2·σ²))"


def test_ascii_has_no_unicode_at_all():
    for e in (
        sp.Derivative(x**x, x),
        nt.Norm(y - X * w) ** 2 / 2,
        sp.Ge(nt.Norm(w), nt.Dot(w, w), evaluate=False),
        nt.Grad(nt.LSE(w), w),
        nt.SumEntries(y),
    ):
        out = ascii_inline(e)
        assert out.isascii(), out
    assert ascii_inline(sp.Ge(x, sigma, evaluate=False)) == "x >= sigma"
