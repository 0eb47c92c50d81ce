"""Gaussian noise leads to the L2 loss, the normal equation and least squares."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive import (
    At,
    Derivative,
    Eq,
    Figure,
    Grad,
    Hess,
    Inverse,
    Invertible,
    Norm,
    Rational,
    Subs,
    Topic,
    UnevaluatedExpr,
    ZeroMatrix,
    exp,
    log,
    pi,
    sqrt,
)
from ._plot import BLUE, GREEN, GREY, RED
from ._regression import noise_references, regression_model, residual, sample_regression

t = Topic(
    "gaussian-l2",
    "Gaussian noise leads straight to the L2 loss",
    claim=(
        "If the noise around a linear prediction is i.i.d. Gaussian, maximising the likelihood "
        "minimises $sq$, and the minimiser is $w_hat == Inverse(X.T*X)*X.T*y$."
    ),
    sizes=({"n": 4, "d": 1}, {"n": 6, "d": 2}, {"n": 9, "d": 3}),
    dims={"n": 3, "d": 2},
    implemented_by=("dlmath.noise.Gaussian", "dlmath.fit_linear"),
)
sigma = t.scalar("sigma")
m = regression_model(t, "Normal", sigma)
n, d, X, w, y, r = m.n, m.d, m.X, m.w, m.y, m.r
p, nll = m.p, m.nll
w_hat, v = t.vector("w_hat", d), t.vector("v", d)
sigma_hat = t.scalar("sigma_hat")
sq = t.let("sq", Norm(y - X * w) ** 2 / 2)
t.assume(sigma > 0, Invertible(X.T * X))
t.define(w_hat, Inverse(X.T * X) * X.T * y)
t.define(sigma_hat, sqrt(Norm(y - X * w) ** 2 / n))


@t.sampler
def _sample(rng, size):
    s = float(rng.uniform(0.3, 2.0))
    data = sample_regression(rng, size, lambda g, shape: s * g.normal(0.0, 1.0, shape))
    return {**data, "sigma": s, "r_i": float(rng.normal(0.0, 2.0))}


_ref_density, _ref_nll, _ref_grad = noise_references("Gaussian", "sigma")


def _ref_fit(vals):
    from dlmath.fit import fit_linear

    fit = fit_linear(vals["X"], vals["y"].ravel(), noise="gaussian", fit_intercept=False)
    return [("dlmath.fit_linear(noise='gaussian').coef", fit.coef)]


def _ref_scale(vals):
    from dlmath.noise import Gaussian

    return [("dlmath.noise.Gaussian.fit_scale", Gaussian().fit_scale(residual(vals)))]


_FD = {"rtol": 1e-6, "atol": 1e-7}

t.step(
    "density",
    Eq(
        p,
        sp.Pow(UnevaluatedExpr(2 * pi * sigma**2), Rational(-1, 2), evaluate=False)
        * exp(-(r**2) / (2 * sigma**2)),
    ),
    label="The density of one observation",
    why=(
        "Given the features and $w$, an observation is its prediction plus Gaussian noise, so its density "
        "is the normal density at the residual $r_i$ (SymPy's `stats.Normal` supplies the left side)."
    ),
    sizes=({},),
    seeds=6,
    rtol=1e-12,
    reference=_ref_density,
)
t.step(
    "nll",
    Eq(nll, n / 2 * log(2 * pi * sigma**2) + Norm(y - X * w) ** 2 / (2 * sigma**2)),
    label="Negative log-likelihood",
    why=(
        "Independence makes the likelihood a product; its negative log is a sum of one constant per "
        "observation and the squared residuals scaled by $1/(2*sigma**2)$."
    ),
    simplify=("expand_log", "expand"),
    rtol=1e-11,
    reference=_ref_nll,
)
t.step(
    "drop-constants",
    Eq(Grad(nll, w), Grad(sq, w) / sigma**2),
    label="Dropping constants keeps the minimiser",
    why=(
        "Less its constant term, $nll - n/2*log(2*pi*sigma**2) == Norm(y - X*w)**2/(2*sigma**2)$, a term "
        "that does not move with $w$, and $1/sigma**2$ is a positive factor, so the two gradients vanish "
        "together: minimise $sq$."
    ),
    simplify=("expand_log", "expand"),
    **_FD,
)
t.step(
    "gradient",
    Eq(Grad(sq, w), X.T * (X * w - y)),
    label="Gradient",
    why="Differentiate the squared residuals through $y - X*w$: $Grad(sq, w) == -X.T*(y - X*w)$.",
    reference=_ref_grad,
    **_FD,
)
t.step(
    "normal-equation",
    Eq(X.T * X * w_hat, X.T * y),
    label="The normal equation and its solution",
    why=(
        "Setting the gradient to zero gives the normal equation; where $Invertible(X.T*X)$ its unique "
        "solution is the least-squares estimate $w_hat == Inverse(X.T*X)*X.T*y$, checked against "
        "`dlmath.fit_linear`."
    ),
    simplify=("numerator",),
    rtol=1e-8,
    atol=1e-10,
    reference=_ref_fit,
    against="w_hat",
)
t.step(
    "stationary",
    Eq(At(Grad(sq, w), w, w_hat), ZeroMatrix(d, 1)),
    label="The solution is a stationary point",
    why="The gradient of the squared error vanishes at $Point(w, w_hat)$.",
    # one feature keeps the symbolic inverse small; the normal-equation step covers d = 2
    dims={"n": 3, "d": 1},
    simplify=("numerator",),
    rtol=1e-6,
    atol=1e-6,
)
t.claim(
    "convex",
    Eq(Hess(sq, w), X.T * X),
    label="The curvature is $X.T*X$",
    why=(
        "A Gram matrix: $v.T*X.T*X*v == Norm(X*v)**2$, never negative, so the loss is convex and its "
        "stationary point is the minimum."
    ),
    rtol=1e-5,
    atol=1e-5,
)
t.claim(
    "scale-mle",
    Eq(Subs(Derivative(nll, sigma), sigma, sigma_hat), 0),
    label="The maximum-likelihood noise scale",
    why=(
        "Setting $Derivative(nll, sigma)$ to zero gives $sigma_hat**2 == Norm(y - X*w)**2/n$, the mean "
        "squared residual."
    ),
    simplify=("numerator",),
    reference=_ref_scale,
    against="sigma_hat",
    **_FD,
)

t.prose = """\
Squared error is not an arbitrary choice: it is what maximum likelihood gives when the noise
around a linear prediction is Gaussian. Taking the negative log of a product of normal densities
turns each exponent $-r_i**2/(2*sigma**2)$ into a squared residual, and everything else is a
constant that does not move the minimiser.

The gradient $X.T*(X*w - y)$ is linear in $w$, so setting it to zero gives a linear system, the
normal equation $X.T*X*w_hat == X.T*y$. When the features are linearly independent
($Invertible(X.T*X)$) it has exactly one solution, ordinary least squares. In code one solves it
with a QR or SVD factorisation rather than by forming $Inverse(X.T*X)$, which squares the
condition number; `dlmath.fit_linear` uses the SVD by default.

The same likelihood also estimates the noise level: its maximiser over the scale is $sigma_hat$,
the root mean squared residual. Reading a loss function as a noise model this way tells you what it
assumes, and what to change when the assumption fails (heavy tails, outliers: the next section).
"""

t.snippet = """\
import numpy as np
from dlmath.fit import fit_linear

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = X @ np.array([1.5, -0.5]) + 0.3 * rng.normal(size=200)
fit = fit_linear(X, y, noise="gaussian", fit_intercept=False)
w_normal = np.linalg.solve(X.T @ X, X.T @ y)
print("fit_linear     :", np.round(fit.coef, 4), "sigma =", round(fit.scale, 4))
print("normal equation:", np.round(w_normal, 4))
"""

_OUTLIERS = 4


def _draw(fig, tex) -> None:
    from dlmath import noise
    from dlmath.fit import fit_linear

    ax1, ax2, ax3 = fig.subplots(1, 3)
    res = np.linspace(-4, 4, 401)
    gauss, laplace, huber = noise.Gaussian(1.0), noise.Laplace(1.0), noise.Huber(1.0)
    ax1.plot(res, np.exp(gauss.logpdf(res)), color=BLUE, label="Gaussian")
    ax1.plot(res, np.exp(laplace.logpdf(res)), color=RED, label="Laplace")
    ax1.set_title("noise density")
    ax1.legend(loc="upper right")
    ax2.plot(res, gauss.loss(res), color=BLUE, label="L2 (Gaussian)")
    ax2.plot(res, laplace.loss(res), color=RED, label="L1 (Laplace)")
    ax2.plot(res, huber.loss(res), color=GREEN, ls="--", label="Huber, threshold 1")
    ax2.set_ylim(0, 5)
    ax2.set_title("loss: the negative log-density")
    ax2.legend(loc="upper center")
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 10, 40))
    yy = 1.0 + 0.5 * x + 0.4 * rng.normal(size=x.size)
    yy[-_OUTLIERS:] -= 6.0
    grid = np.linspace(0, 10, 2)
    ax3.scatter(x, yy, s=10, color=GREY, label=f"data ({_OUTLIERS} outliers)")
    for kind, color, label in (("gaussian", BLUE, "L2 fit"), ("laplace", RED, "L1 fit")):
        fit = fit_linear(x[:, None], yy, noise=kind)
        ax3.plot(grid, fit.intercept + float(np.ravel(fit.coef)[0]) * grid, color=color, label=label)
    ax3.set_title("fits with outliers")
    ax3.legend(loc="lower left")


t.figure = Figure(
    _draw,
    alt=(
        "Three panels: the Gaussian density is flatter-topped with thinner tails than the Laplace "
        "density; the corresponding losses are a parabola (L2), a V shape (L1) and the Huber curve "
        f"between them; on data with {_OUTLIERS} low outliers the L2 line is dragged down while the L1 line "
        "follows the bulk of the points."
    ),
    caption=(
        "Gaussian noise gives the L2 loss and Laplace noise the L1 loss; the linear tails of L1 make its "
        "fit robust to outliers."
    ),
    size=(9.0, 3.0),
)

TOPIC = t
