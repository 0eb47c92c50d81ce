"""Every relation in the topics' explanations (titles, labels, ``why`` texts, prose) is tied to a check.

Formulas a reader sees in a step are printed from checked statements; the sentences around them
are typed by hand. Each math fragment there that states a relation (``=``, ``\\le``, ``>``, ...)
must be listed below: as a relation with a numeric check on random instances, or as a definition
or condition (which asserts nothing to compute). Bare expressions and symbols are names, not
claims. An edited or new relation that is in neither list fails
``test_every_relation_is_accounted_for``; see ``test_claims.py`` for the claim sentences.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from dlmath.topics import TOPICS

RNG = np.random.default_rng(7)
REL = re.compile(r"=|\\le(?![a-z])|\\leq|\\ge(?![a-z])|\\geq|\\ne(?![a-z])|<|>|\\approx|\\gg")


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def _close(a, b, rtol=1e-9, atol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _data(n=9, d=3):
    X, w = RNG.normal(size=(n, d)), RNG.normal(size=d)
    return X, w, X @ w + RNG.normal(size=n)


def _grad_sq():
    X, w, y = _data()
    r = y - X @ w
    loss = lambda v: 0.5 * np.sum((y - X @ v) ** 2)  # noqa: E731
    fd = np.array([_fd(lambda t, k=k: loss(np.r_[w[:k], t, w[k + 1 :]]), w[k]) for k in range(3)])
    _close(fd, -(X * r[:, None]).sum(axis=0), rtol=1e-6)
    _close(-(X * r[:, None]).sum(axis=0), X.T @ (X @ w - y))


def _normal_eq():
    from dlmath.fit import fit_linear

    X, _, y = _data()
    w = fit_linear(X, y, fit_intercept=False).coef
    _close(X.T @ X @ w, X.T @ y, rtol=1e-9, atol=1e-9)


def _sigma_hat():
    from dlmath.noise import Gaussian

    r = RNG.normal(size=11)
    _close(Gaussian().fit_scale(r) ** 2, np.mean(r**2))


def _l1_subgradient():
    X, w, y = _data()
    f = lambda v, i: abs(y[i] - X[i] @ v)  # noqa: E731
    for i in range(3):
        fd = np.array([_fd(lambda t, k=k, i=i: f(np.r_[w[:k], t, w[k + 1 :]], i), w[k]) for k in range(3)])
        _close(fd, -np.sign(y[i] - X[i] @ w) * X[i], rtol=1e-6)


def _b_hat():
    from dlmath.noise import Laplace

    r = RNG.normal(size=11)
    _close(Laplace().fit_scale(r), np.mean(np.abs(r)))


def _log_softmax_entry():
    from dlmath import log_softmax, logsumexp

    z = RNG.normal(size=6)
    _close(log_softmax(z), z - logsumexp(z))


def _one_hot_moments(which):
    def check():
        from dlmath import softmax

        p = softmax(RNG.normal(size=4))
        onehots = np.eye(4)
        mean = sum(p[k] * onehots[k] for k in range(4))
        second = sum(p[k] * np.outer(onehots[k], onehots[k]) for k in range(4))
        if which == "mean":
            _close(mean, p)
        else:
            _close(second, np.diag(p))

    return check


def _rows_zero():
    from dlmath import softmax

    p = softmax(RNG.normal(size=5))
    H = np.diag(p) - np.outer(p, p)
    _close(H @ np.ones(5), p - p * (p @ np.ones(5)), atol=1e-15)
    _close(H @ np.ones(5), 0, atol=1e-15)


def _smooth_max_bounds():
    from dlmath import smooth_max

    for n in (2, 6):
        x, tau = RNG.normal(size=n), RNG.uniform(0.05, 2)
        s = float(smooth_max(x, temperature=tau))
        assert x.max() <= s <= x.max() + tau * math.log(n) + 1e-12


def _factor_exp():
    a, b = RNG.normal(size=2)
    _close(np.exp(a) + np.exp(b), np.exp(a) * (1 + np.exp(b - a)))


def _factor_sum():
    x, m = RNG.normal(size=5), RNG.normal()
    _close(np.sum(np.exp(x)), np.exp(m) * np.sum(np.exp(x - m)))


def _lse_partial():
    from dlmath import softmax

    x = RNG.normal(size=4)
    lse = lambda v: np.log(np.sum(np.exp(v)))  # noqa: E731
    fd = np.array([_fd(lambda t, k=k: lse(np.r_[x[:k], t, x[k + 1 :]]), x[k]) for k in range(4)])
    _close(fd, np.exp(x) / np.sum(np.exp(x)), rtol=1e-6)
    _close(softmax(x), np.exp(x) / np.sum(np.exp(x)))


def _log_softmax_vector():
    from dlmath import log_softmax, logsumexp, softmax

    x = RNG.normal(size=5)
    _close(np.log(softmax(x)), x - logsumexp(x) * np.ones(5))
    _close(log_softmax(x), x - logsumexp(x))


def _power_rule():
    for x, n in zip(RNG.uniform(0.2, 3, 5), RNG.integers(1, 6, 5), strict=True):
        _close(_fd(lambda t, n=n: t**n, x), n * x ** (n - 1), rtol=1e-6)


def _exp_rule():
    for x, a in zip(RNG.uniform(-2, 2, 5), RNG.uniform(0.2, 4, 5), strict=True):
        _close(_fd(lambda t, a=a: a**t, x), a**x * math.log(a), rtol=1e-6)


def _xx_log():
    for x in RNG.uniform(0.05, 4, 5):
        _close(math.log(x**x), x * math.log(x), atol=1e-14)
        _close(x**x, math.exp(x * math.log(x)))


def _score():
    f = lambda t: 2 + math.sin(t)  # noqa: E731  any positive f
    for x in RNG.uniform(-2, 2, 5):
        _close(_fd(lambda t: math.log(f(t)), x), _fd(f, x) / f(x), rtol=1e-6)


def _xlogx_derivative():
    for x in RNG.uniform(0.05, 4, 5):
        _close(_fd(lambda t: t * math.log(t), x), math.log(x) + x * (1 / x), rtol=1e-6)


def _log_derivative_of_xx():
    for x in RNG.uniform(0.05, 3, 5):
        y, dy = x**x, _fd(lambda t: t**t, x)
        _close(_fd(lambda t: math.log(t**t), x), dy / y, rtol=1e-6)


def _minimum_at_inverse_e():
    x = 1 / math.e
    assert abs(math.log(x) + 1) < 1e-15
    assert abs(x - 0.368) < 5e-4
    assert abs(_fd(lambda t: t**t, x)) < 1e-8


def _norm_partial():
    x = RNG.normal(size=4)
    for k in range(4):
        fd = _fd(lambda t, k=k: np.linalg.norm(np.r_[x[:k], t, x[k + 1 :]]), x[k])
        _close(fd, 2 * x[k] / (2 * math.sqrt(np.sum(x**2))), rtol=1e-6)


def _norm_scaling():
    u = RNG.normal(size=3)
    for t in RNG.normal(size=5):
        _close(np.linalg.norm(t * u), abs(t) * np.linalg.norm(u))


def _cauchy_schwarz():
    for _ in range(50):
        x, u = RNG.normal(size=4), RNG.normal(size=4)
        assert np.linalg.norm(x) >= u @ x / np.linalg.norm(u) - 1e-12


def _softplus_pair():
    f = lambda x: math.log1p(math.exp(x))  # noqa: E731
    finv = lambda y: math.log(math.expm1(y))  # noqa: E731
    for y in RNG.uniform(0.05, 6, 5):
        _close(f(finv(y)), y)
        _close(_fd(f, finv(y)) * _fd(finv, y), 1.0, rtol=1e-6)


def _exp_log_slope():
    for y in RNG.uniform(0.05, 10, 5):
        _close(1 / math.exp(math.log(y)), 1 / y)


def _tanh_slope():
    for x in RNG.normal(size=5):
        _close(_fd(math.tanh, x), 1 - math.tanh(x) ** 2, rtol=1e-6)
    for y in RNG.uniform(-0.9, 0.9, 5):
        _close(_fd(math.atanh, y), 1 / (1 - y**2), rtol=1e-6)


def _sigmoid_slopes():
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    logit = lambda y: math.log(y / (1 - y))  # noqa: E731
    for x in RNG.normal(size=5):
        _close(_fd(sig, x), sig(x) * (1 - sig(x)), rtol=1e-6)
    for y in RNG.uniform(0.05, 0.95, 5):
        _close(_fd(logit, y), 1 / (y * (1 - y)), rtol=1e-6)


def _cube_flat_at_zero():
    assert abs(_fd(lambda x: x**3, 0.0)) < 1e-10


CHECKED = {
    r"\nabla_w = -\sum_i x_i r_i = X^\top(Xw - y)": _grad_sq,
    r"X^\top X w = X^\top y": _normal_eq,
    r"\hat\sigma^2 = \frac1n \sum_i r_i^2": _sigma_hat,
    r"\partial |r_i| / \partial w = -\operatorname{sign}(r_i)\, x_i": _l1_subgradient,
    r"\hat b = \frac1n\sum_i |r_i|": _b_hat,
    r"\log p_k = z_k - \operatorname{LSE}(z)": _log_softmax_entry,
    "E[e] = p": _one_hot_moments("mean"),
    r"E[ee^\top] = \operatorname{diag}(p)": _one_hot_moments("second"),
    r"H\mathbf{1} = p - p\,(p^\top \mathbf{1}) = 0": _rows_zero,
    r"\max_i x_i \le \tau\operatorname{LSE}(x/\tau) \le \max_i x_i + \tau\log n": _smooth_max_bounds,
    r"e^{a} + e^{b} = e^{a}(1 + e^{b - a})": _factor_exp,
    r"\sum_i e^{x_i} = e^{m}\sum_i e^{x_i - m}": _factor_sum,
    r"\partial_{x_k} \log\sum_i e^{x_i} = e^{x_k} / \sum_i e^{x_i}": _lse_partial,
    r"\log \operatorname{softmax}(x) = x - \operatorname{LSE}(x)\,\mathbf{1}": _log_softmax_vector,
    r"\frac{d}{dx}x^n = nx^{n-1}": _power_rule,
    r"\frac{d}{dx}a^x = a^x\log a": _exp_rule,
    r"\log x^x = x\log x": _xx_log,
    r"x^x = e^{x\log x}": _xx_log,
    r"\nabla \log f = \nabla f / f": _score,
    r"(x\log x)' = \log x + x \cdot \frac{1}{x}": _xlogx_derivative,
    r"\frac{d}{dx}\log y = y'/y": _log_derivative_of_xx,
    r"\log x = -1": _minimum_at_inverse_e,
    r"x = 1/e \approx 0.368": _minimum_at_inverse_e,
    "x = 1/e": _minimum_at_inverse_e,
    r"\partial_{x_k} \sqrt{\sum_i x_i^2} = \frac{2x_k}{2\sqrt{\sum_i x_i^2}}": _norm_partial,
    r"\lVert tu\rVert = |t|\,\lVert u\rVert": _norm_scaling,
    r"\lVert x\rVert \ge u^\top x / \lVert u\rVert": _cauchy_schwarz,
    "f(f^{-1}(y)) = y": _softplus_pair,
    r"f'(f^{-1}(y)) \cdot (f^{-1})'(y) = 1": _softplus_pair,
    r"f'(f^{-1}(y))\,(f^{-1})'(y) = 1": _softplus_pair,
    r"1/e^{\log y} = 1/y": _exp_log_slope,
    r"f' = 1 - \tanh^2": _tanh_slope,
    r"\operatorname{atanh}'(y) = 1/(1 - y^2)": _tanh_slope,
    r"\sigma' = \sigma(1 - \sigma)": _sigmoid_slopes,
    r"\operatorname{logit}'(y) = 1/(y(1 - y))": _sigmoid_slopes,
    "f'(0) = 0": _cube_flat_at_zero,
}

# Definitions and conditions: they introduce a name or restrict a case, and assert nothing.
DEFINITIONS = {
    r"\eta_t = \eta_0/(1 + t/t_0)",
    r"r = \delta",
    r"r = -\delta",
    r"\mathcal{L}(z) = -\sum_k y_k \log p_k",
    "P(e = e_k) = p_k",
    r"a \ge b",
    "a > b",
    "a = b",
    r"x \le 0",
    "x > 0",
    "y = x^x",
    r"u \ne 0",
    r"\lVert x\rVert^2 \gg \epsilon",
    "x = f^{-1}(y)",
    r"s = \operatorname{softplus}(\theta)",
    r"f'(x) \ne 0",
    r"f = \exp",
    r"f^{-1} = \log",
    "y > 0",
    r"f = \tanh",
    "|y| < 1",
    r"f(x) = \log(1 + e^x)",
    r"\sigma(x) = 1/(1 + e^{-x})",
    "f(x) = x^3",
}


def _relations():
    for topic in TOPICS:
        items = topic.steps + topic.claims
        for text in (topic.title, topic.prose, *(i.why for i in items), *(i.label for i in items)):
            for m in re.finditer(r"\$\$?(.+?)\$\$?", text, re.S):
                if REL.search(m.group(1)):
                    yield topic.id, m.group(1)


def test_every_relation_is_accounted_for():
    unknown = sorted({(t, f) for t, f in _relations() if f not in CHECKED and f not in DEFINITIONS})
    assert not unknown, f"relations in the explanations without a check: {unknown}"


def test_no_stale_entries():
    present = {f for _, f in _relations()}
    assert set(CHECKED) | DEFINITIONS <= present


@pytest.mark.parametrize("fragment", sorted(CHECKED))
def test_relation_holds(fragment):
    CHECKED[fragment]()
