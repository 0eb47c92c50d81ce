"""Gaussian noise leads to the L2 loss, the normal equation and least squares."""

from __future__ import annotations

import functools

from ..derive.model import Assumption, Claim, Numeric, Statement, Step, Topic
from ._regression import noise_references, regression_model, residual, sample_regression

SIZES = ({"n": 4, "d": 1}, {"n": 6, "d": 2}, {"n": 9, "d": 3})
DIMS = {"n": 3, "d": 2}


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    sigma = sp.Symbol("sigma", positive=True)
    m = regression_model("Normal", sigma)
    w_hat = nt.Vector("w_hat", m.d)
    sigma_hat = sp.Symbol("sigma_hat", positive=True)
    sq = nt.Norm(m.y - m.X * m.w) ** 2 / 2
    return sp, nt, m.n, m.d, m.X, m.w, m.y, w_hat, sigma, sigma_hat, m.r, m.p, m.nll, sq


def _sample(rng, size):
    sigma = float(rng.uniform(0.3, 2.0))
    vals = sample_regression(rng, size, lambda g, shape: sigma * g.normal(0.0, 1.0, shape))
    return {**vals, "sigma": sigma, "r_i": float(rng.normal(0.0, 2.0))}


_ref_density, _ref_nll, _ref_grad = noise_references("Gaussian", "sigma")


def _ref_fit(vals):
    from dlmath.fit import fit_linear

    fit = fit_linear(vals["X"], vals["y"].ravel(), noise="gaussian", fit_intercept=False)
    return [("dlmath.fit_linear(noise='gaussian').coef", fit.coef)]


def _ref_scale(vals):
    from dlmath.noise import Gaussian

    return [("dlmath.noise.Gaussian.fit_scale", Gaussian().fit_scale(residual(vals)))]


def _density():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    norm_const = sp.Pow(sp.UnevaluatedExpr(2 * sp.pi * sigma**2), sp.Rational(-1, 2), evaluate=False)
    return Statement(p, sp.Mul(norm_const, sp.exp(-(r**2) / (2 * sigma**2)), evaluate=False))


def _nll():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    rhs = n / 2 * sp.log(2 * sp.pi * sigma**2) + nt.Norm(y - X * w) ** 2 / (2 * sigma**2)
    return Statement(nll, rhs, dims=DIMS, simplify=("expand_log", "expand"))


def _drop_constants():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    return Statement(nt.Grad(nll, w), nt.Grad(sq, w) / sigma**2, dims=DIMS, simplify=("expand_log", "expand"))


def _gradient():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    return Statement(nt.Grad(sq, w), X.T * (X * w - y), dims=DIMS)


def _normal_equation():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    return Statement(
        X.T * X * w_hat,
        X.T * y,
        given={w_hat: sp.Inverse(X.T * X) * X.T * y},
        dims=DIMS,
        simplify=("numerator",),
    )


def _stationary():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    at_hat = nt.At(nt.Grad(sq, w), w, w_hat)
    # one feature keeps the symbolic inverse small; the normal-equation step covers d = 2
    return Statement(
        at_hat,
        sp.ZeroMatrix(d, 1),
        given={w_hat: sp.Inverse(X.T * X) * X.T * y},
        dims={"n": 3, "d": 1},
        simplify=("numerator",),
    )


def _scale():
    sp, nt, n, d, X, w, y, w_hat, sigma, sigma_hat, r, p, nll, sq = _s()
    return Statement(
        sp.Subs(sp.Derivative(nll, sigma), sigma, sigma_hat),
        sp.S.Zero,
        given={sigma_hat: sp.sqrt(nt.Norm(y - X * w) ** 2 / n)},
        dims=DIMS,
        simplify=("numerator",),
    )


_FD = {"rtol": 1e-6, "atol": 1e-7}

TOPIC = Topic(
    id="gaussian-l2",
    title="Gaussian noise leads straight to the L2 loss",
    claim=(
        r"If $y_i = w^\top x_i + \varepsilon_i$ with i.i.d. $\varepsilon_i \sim \mathcal{N}(0, \sigma^2)$, maximising "
        r"the likelihood minimises $\frac12\lVert y - Xw\rVert^2$, solved by $\hat w = (X^\top X)^{-1}X^\top y$."
    ),
    assumptions=(
        Assumption(
            r"y_i = w^\top x_i + \varepsilon_i,\ \varepsilon_i \overset{\text{iid}}{\sim} \mathcal{N}(0, \sigma^2)",
            "yᵢ = wᵀxᵢ + εᵢ, εᵢ i.i.d. N(0, σ²)",
        ),
        Assumption(r"r_i = y_i - w^\top x_i", "rᵢ = yᵢ − wᵀxᵢ"),
        Assumption(r"\sigma > 0", "σ > 0"),
        Assumption(r"X^\top X \text{ invertible}", "XᵀX invertible"),
    ),
    steps=(
        Step(
            "density",
            "The density of one observation",
            r"Given $x_i$ and $w$, $y_i$ is $w^\top x_i$ plus Gaussian noise, so its density is the normal "
            r"density at the residual $r_i$ (SymPy's `stats.Normal` supplies the left side).",
            _density,
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_density),
        ),
        Step(
            "nll",
            "Negative log-likelihood",
            "Independence makes the likelihood a product; its negative log is a sum of one constant per "
            "observation and the squared residuals scaled by $1/(2\\sigma^2)$.",
            _nll,
            Numeric(_sample, sizes=SIZES, rtol=1e-11, reference=_ref_nll),
        ),
        Step(
            "drop-constants",
            "Dropping constants keeps the minimiser",
            r"The term $\frac{n}{2}\log(2\pi\sigma^2)$ does not depend on $w$ and $1/\sigma^2$ is a positive "
            r"factor, so the gradients are proportional and vanish together: minimise $\frac12\lVert y - Xw\rVert^2$.",
            _drop_constants,
            Numeric(_sample, sizes=SIZES, **_FD),
        ),
        Step(
            "gradient",
            "Gradient",
            r"Differentiate the squared residuals: $\nabla_w = -\sum_i x_i r_i = X^\top(Xw - y)$.",
            _gradient,
            Numeric(_sample, sizes=SIZES, reference=_ref_grad, **_FD),
        ),
        Step(
            "normal-equation",
            "The normal equation and its solution",
            r"Setting the gradient to zero gives $X^\top X w = X^\top y$; when $X^\top X$ is invertible its "
            "unique solution is the least-squares estimate, checked against `dlmath.fit_linear`.",
            _normal_equation,
            Numeric(_sample, sizes=SIZES, rtol=1e-8, atol=1e-10, reference=_ref_fit, against="w_hat"),
        ),
        Step(
            "stationary",
            "The solution is a stationary point",
            "The gradient of the squared error vanishes at $\\hat w$; the loss is convex, so it is the minimum.",
            _stationary,
            Numeric(_sample, sizes=SIZES, rtol=1e-6, atol=1e-6),
        ),
    ),
    claims=(
        Claim(
            "scale-mle",
            "The maximum-likelihood noise scale",
            r"Setting $\partial/\partial\sigma$ of the negative log-likelihood to zero gives "
            r"$\hat\sigma^2 = \frac1n \sum_i r_i^2$, the mean squared residual.",
            _scale,
            Numeric(_sample, sizes=SIZES, reference=_ref_scale, against="sigma_hat", **_FD),
        ),
    ),
    implemented_by=("dlmath.noise.Gaussian", "dlmath.fit_linear"),
    prose="""\
Squared error is not an arbitrary choice: it is what maximum likelihood gives when the noise
around a linear prediction is Gaussian. Taking the negative log of a product of normal densities
turns the exponent $-r_i^2/(2\\sigma^2)$ into a sum of squared residuals, and everything else is a
constant that does not move the minimiser.

The gradient $X^\\top(Xw - y)$ is linear in $w$, so setting it to zero gives a linear system, the
normal equation. When the features are linearly independent ($X^\\top X$ invertible) it has exactly
one solution, ordinary least squares. In code one solves it with a QR or SVD factorisation rather
than by forming $(X^\\top X)^{-1}$, which squares the condition number; `dlmath.fit_linear` uses
the SVD by default.

The same likelihood also estimates the noise level: the best $\\sigma^2$ is the mean squared
residual. Reading a loss function as a noise model this way tells you what it assumes, and what
to change when the assumption fails (heavy tails, outliers: the next section).
""",
    snippet="""\
import numpy as np
from dlmath.fit import fit_linear

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = X @ np.array([1.5, -0.5]) + 0.3 * rng.normal(size=200)
fit = fit_linear(X, y, noise="gaussian", fit_intercept=False)
w_normal = np.linalg.solve(X.T @ X, X.T @ y)
print("fit_linear     :", np.round(fit.coef, 4), "sigma =", round(fit.scale, 4))
print("normal equation:", np.round(w_normal, 4))
""",
    figure="noise-densities",
)
