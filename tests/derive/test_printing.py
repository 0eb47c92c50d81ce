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
    assert nt.latex(nt.Grad(nt.Norm(w), w)) == r"\nabla_{w} \lVert w \rVert_{2}"


def test_hat_names_print_with_a_hat():
    w_hat = nt.Vector("w_hat", d)
    assert nt.latex(X.T * X * w_hat) == r"X^{\top} X \hat{w}"
    assert nt.latex(sp.Symbol("sigma_hat")) == r"\hat{\sigma}"
    assert nt.pretty(sp.Symbol("sigma_hat") + 1) == "σ̂ + 1"


def test_pretty_is_readable_unicode():
    assert nt.pretty(X.T * y) == "Xᵀ⋅y"
    assert nt.pretty(nt.Grad(nt.Norm(w), w)) == "∇_w ‖w‖"
    assert nt.latex(sp.HadamardProduct(y, y)) == r"y \odot y"


def test_sums_print_positive_terms_first():
    a, b = sp.symbols("a b", real=True)
    residual = y - X * w
    assert nt.pretty(nt.Norm(residual)) == "‖y - X⋅w‖"
    assert nt.latex(nt.Norm(residual)) == r"\lVert y - X w \rVert_{2}"
    assert nt.pretty(X.T * (X * w - y)) == "Xᵀ⋅(X⋅w - y)"
    assert nt.latex(sp.exp(b - a)) == "e^{b - a}"
    assert nt.pretty(b - a) == "b - a"
    # all-negative sums keep SymPy's order; the printed object is the checked one, unchanged
    assert nt.pretty(-a - b) == "-a - b"
    assert residual == y - X * w


def test_max_prints_as_max_in_the_terminal():
    a, b = sp.symbols("a b", real=True)
    assert nt.pretty(sp.Max(a, b)) == "max(a, b)"
    assert nt.pretty(sp.Min(a, b)) == "min(a, b)"


def test_where_clause_keeps_a_multiline_right_side_aligned():
    from dlmath.derive.model import Item, Statement

    w_hat = nt.Vector("w_hat", d)
    solution = (X.T * X) ** -1 * X.T * y
    step = Item("s", "step", Statement(X.T * X * w_hat, X.T * y, given={w_hat: solution}))
    (where,) = step.where_text
    rows = where.splitlines()
    assert len(rows) == 2 and rows[1].startswith("w\u0302 = (Xᵀ⋅X)") and rows[0].strip() == "-1"


def test_a_defined_name_with_a_minus_is_parenthesized_under_a_derivative():
    sigma = sp.Symbol("sigma", positive=True)
    nll = nt.defined(r"-\log L(w)", "−log L(w)", lambda rec: sigma)
    assert nt.latex(sp.Derivative(nll, sigma)) == r"\frac{d}{d \sigma} \left(-\log L(w)\right)"
    plain = nt.defined(r"L(w)", "L(w)", lambda rec: sigma)
    assert nt.latex(sp.Derivative(plain, sigma)) == r"\frac{d}{d \sigma} L(w)"


def test_norm_bars_stretch_only_around_tall_content():
    # MathJax draws \left\lVert x \right\rVert around a short x as small detached bars
    assert nt.latex(nt.Norm(w)) == r"\lVert w \rVert_{2}"
    assert nt.latex(nt.Norm1(y - X * w)) == r"\lVert y - X w \rVert_{1}"
    tall = nt.latex(nt.Norm(w / sp.Symbol("tau", positive=True)))
    assert tall.startswith(r"\left\lVert \frac") and tall.endswith(r"\right\rVert_{2}")


def test_a_negative_matrix_term_prints_with_a_minus_not_plus_minus():
    k = sp.Symbol("k", integer=True, positive=True)
    p, v = nt.Vector("p", k), nt.Vector("v", k)
    hvp = sp.HadamardProduct(p, v) - nt.Dot(p, v) * p
    assert nt.latex(hvp) == r"p \odot v - \left(p^{\top} v\right) p"
    assert nt.pretty(hvp) == "p ⊙ v - pᵀv⋅p"
    assert nt.latex(v - nt.LSE(v) * sp.OneMatrix(k, 1)) == r"v - \operatorname{LSE}(v) \mathbf{1}"


def test_function_nodes_use_plain_parentheses_around_short_arguments():
    # MathJax leaves a gap between \operatorname{f} and \left(
    assert nt.latex(nt.LSE(w)) == r"\operatorname{LSE}(w)"
    assert nt.latex(nt.Softmax(w)) == r"\operatorname{softmax}(w)"
    assert nt.latex(nt.Diag(w)) == r"\operatorname{diag}(w)"
    tau = sp.Symbol("tau", positive=True)
    assert nt.latex(nt.LSE(w / tau)) == r"\operatorname{LSE}\left( \frac{w}{\tau} \right)"


def test_a_vector_over_a_scalar_prints_as_a_fraction_inside_tall_norm_bars():
    k = sp.Symbol("k", integer=True, positive=True)
    x, tau = nt.Vector("x", k), sp.Symbol("tau", positive=True)
    assert nt.latex(nt.LSE(x / tau)) == r"\operatorname{LSE}\left( \frac{x}{\tau} \right)"
    assert nt.pretty(x / tau) == "x\n─\nτ"
    unit = nt.Norm(nt.Norm(x) ** -1 * x)
    assert nt.latex(unit) == r"\left\lVert \frac{x}{\lVert x \rVert_{2}} \right\rVert_{2}"
    assert nt.pretty(unit).splitlines() == ["‖  x  ‖", "‖ ─── ‖", "‖ ‖x‖ ‖"]
    assert nt.pretty(nt.Norm1(x / tau)).splitlines()[-1] == "‖ τ ‖₁"


def test_a_total_mass_prints_before_the_factor_it_weights():
    k = sp.Symbol("k", integer=True, positive=True)
    z, yv = nt.Vector("z", k), nt.Vector("y", k)
    loss = nt.SumEntries(yv) * nt.LSE(z) - nt.Dot(yv, z)
    assert nt.pretty(loss) == "(Σₖ yₖ)⋅LSE(z) - yᵀz"
    assert nt.latex(loss) == r"\left(\textstyle\sum_{k} y_{k}\right) \operatorname{LSE}(z) - y^{\top} z"


def test_the_derivative_of_a_product_is_parenthesized():
    assert nt.latex(sp.Derivative(x * sp.log(x), x)) == r"\frac{d}{d x} \left(x \log{\left(x \right)}\right)"
    assert nt.latex(sp.Derivative(x**x, x)) == r"\frac{d}{d x} x^{x}"


def test_a_sum_with_a_tall_term_prints_on_several_lines_without_error():
    k = sp.Symbol("K", integer=True, positive=True)
    a = nt.Vector("a", k)
    rows = nt.pretty(a + sp.OneMatrix(k, 1) / k).splitlines()
    assert len(rows) == 3 and "a" in rows[1]


def test_an_inner_product_of_differences_keeps_its_parentheses():
    k = sp.Symbol("K", integer=True, positive=True)
    a, b, c, e = (nt.Vector(s, k) for s in "abce")
    assert nt.latex(nt.Dot(a - b, c - e)) == r"\left(a - b\right)^{\top} \left(c - e\right)"
    assert nt.pretty(nt.Dot(a - b, c)) == "(a - b)ᵀc"
    assert nt.pretty(nt.Dot(a, b)) == "aᵀb"
