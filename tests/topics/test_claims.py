"""Every formula in a topic's one-sentence claim is tied to a check.

The steps' formulas are printed from the statements the engine checks; a claim sentence is typed
by hand, so each of its math fragments must appear below: either as a formula with a numeric
check (its two sides, or the expression against the dlmath function, on random instances), or as
a plain symbol, condition or model assumption. A new or edited formula that is in neither list
fails ``test_every_claim_fragment_is_accounted_for``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from dlmath.topics import TOPICS

RNG = np.random.default_rng(20261126)


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def _normal_equation():
    from dlmath.fit import fit_linear

    X = RNG.normal(size=(12, 3))
    y = RNG.normal(size=12)
    w_hat = np.linalg.inv(X.T @ X) @ X.T @ y
    np.testing.assert_allclose(w_hat, fit_linear(X, y, fit_intercept=False).coef, rtol=1e-9)


def _half_squared_error():
    from dlmath.noise import Gaussian

    X, w, y = RNG.normal(size=(7, 2)), RNG.normal(size=2), RNG.normal(size=7)
    np.testing.assert_allclose(
        0.5 * np.linalg.norm(y - X @ w) ** 2, Gaussian().loss(y - X @ w).sum(), rtol=1e-12
    )


def _absolute_error():
    from dlmath.noise import Laplace

    X, w, y = RNG.normal(size=(7, 2)), RNG.normal(size=2), RNG.normal(size=7)
    np.testing.assert_allclose(np.sum(np.abs(y - X @ w)), Laplace().loss(y - X @ w).sum(), rtol=1e-12)


def _gradient_p_minus_y():
    from dlmath import cross_entropy_grad, softmax

    z = RNG.normal(size=5)
    y = np.eye(5)[2]
    np.testing.assert_allclose(cross_entropy_grad(z, y, reduction="sum"), softmax(z) - y, atol=1e-15)


def _hessian_diag_minus_outer():
    from dlmath import softmax, softmax_hessian

    z = RNG.normal(size=5)
    p = softmax(z)
    np.testing.assert_allclose(softmax_hessian(z), np.diag(p) - np.outer(p, p), atol=1e-15)


def _smooth_max_two():
    for _ in range(20):
        a, b, tau = RNG.normal(scale=3), RNG.normal(scale=3), RNG.uniform(0.05, 3)
        lhs = tau * np.log(np.exp(a / tau) + np.exp(b / tau))
        mid = max(a, b) + tau * np.log1p(np.exp(-abs(a - b) / tau))
        assert abs(lhs - mid) <= 1e-9 * max(1.0, abs(lhs))
        assert mid > max(a, b)


def _smooth_max_gap():
    from dlmath import smooth_max

    for n in (2, 5, 30):
        x, tau = RNG.normal(size=n), RNG.uniform(0.05, 2)
        assert 0 < float(smooth_max(x, temperature=tau)) - x.max() <= tau * np.log(n) + 1e-12


def _lse_shift():
    x, m = RNG.normal(scale=3, size=6), RNG.normal(scale=5)
    np.testing.assert_allclose(np.log(np.sum(np.exp(x))), m + np.log(np.sum(np.exp(x - m))), rtol=1e-12)


def _xx_derivative():
    for x in RNG.uniform(0.05, 4, size=10):
        np.testing.assert_allclose(_fd(lambda t: t**t, x), x**x * (np.log(x) + 1), rtol=1e-6)


def _xx_log():
    for x in RNG.uniform(0.05, 4, size=10):
        np.testing.assert_allclose(np.log(x**x), x * np.log(x), rtol=1e-12, atol=1e-15)


def _norm_gradient():
    from dlmath import norm_grad

    x = RNG.normal(size=4)
    fd = np.array([_fd(lambda t, k=k: np.linalg.norm(np.r_[x[:k], t, x[k + 1 :]]), x[k]) for k in range(4)])
    np.testing.assert_allclose(fd, x / np.linalg.norm(x), rtol=1e-6)
    np.testing.assert_allclose(norm_grad(x), x / np.linalg.norm(x), rtol=1e-15)


def _inverse_slope():
    inverse = lambda y: np.log(np.expm1(y))  # noqa: E731  softplus^-1
    forward_slope = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731  softplus'
    for y in RNG.uniform(0.05, 6, size=10):
        np.testing.assert_allclose(_fd(inverse, y), 1 / forward_slope(inverse(y)), rtol=1e-6)


CHECKED = {
    r"\hat w = (X^\top X)^{-1}X^\top y": _normal_equation,
    r"\frac12\lVert y - Xw\rVert^2": _half_squared_error,
    r"\sum_i |y_i - w^\top x_i|": _absolute_error,
    "p - y": _gradient_p_minus_y,
    r"\operatorname{diag}(p) - pp^\top": _hessian_diag_minus_outer,
    r"\tau\log(e^{a/\tau} + e^{b/\tau}) = \max(a, b) + \tau\log(1 + e^{-|a-b|/\tau}) > \max(a, b)": _smooth_max_two,
    r"\tau\log n": _smooth_max_gap,
    r"\log\sum_i e^{x_i} = m + \log\sum_i e^{x_i - m}": _lse_shift,
    r"\frac{d}{dx} x^x = x^x(\log x + 1)": _xx_derivative,
    r"\log x^x = x\log x": _xx_log,
    r"\nabla_x \lVert x\rVert_2 = x / \lVert x\rVert_2": _norm_gradient,
    r"(f^{-1})'(y) = 1 / f'(f^{-1}(y))": _inverse_slope,
}

# Symbols, conditions and model assumptions: nothing to compute.
PLAIN = {
    r"y_i = w^\top x_i + \varepsilon_i",
    r"\varepsilon_i \sim \mathcal{N}(0, \sigma^2)",
    "p",
    "n",
    "m",
    r"m = \max_i x_i",
    r"\tau \to 0^+",
    "x > 0",
    r"x \ne 0",
    "x = 0",
    "y = f(x)",
    r"f'(x) \ne 0",
}


def _fragments():
    for topic in TOPICS:
        for m in re.finditer(r"\$(.+?)\$", topic.claim):
            yield topic.id, m.group(1)


def test_every_claim_fragment_is_accounted_for():
    unknown = [(tid, frag) for tid, frag in _fragments() if frag not in CHECKED and frag not in PLAIN]
    assert not unknown, f"claim formulas without a check: {unknown}"


@pytest.mark.parametrize("fragment", sorted(CHECKED))
def test_claim_formula_holds(fragment):
    assert fragment in {frag for _, frag in _fragments()}, "stale entry: the claim no longer says this"
    CHECKED[fragment]()
