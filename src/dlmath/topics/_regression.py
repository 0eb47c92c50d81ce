"""What the Gaussian and Laplace topics share: the linear model, its likelihood and its sampler.

Both derive a loss from ``y = Xw + ε`` with i.i.d. noise; only the noise distribution differs.
The density comes from :mod:`sympy.stats`, the independent reference the derivations start from.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def regression_model(distribution: str, scale):
    """Symbols and named quantities of the linear model with ``sympy.stats`` noise ``distribution``.

    Returns a namespace with ``n, d, X, w, y`` (display symbols), ``r`` (one residual),
    ``p`` (the density of one observation, :math:`p(y_i \\mid x_i, w)`) and ``nll`` (the negative
    log-likelihood of the data set, :math:`-\\log L(w)`), both defined through the density.
    """
    import sympy as sp
    import sympy.stats

    from ..derive import notation as nt

    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, y = nt.Matrix("X", n, d), nt.Vector("w", d), nt.Vector("y", n)
    r = sp.Symbol("r_i", real=True)
    # one density, instantiated by substitution: building it per entry is slow
    at = sp.Dummy("at", real=True)
    base = sympy.stats.density(getattr(sympy.stats, distribution)("epsilon", 0, scale))(at)

    def pdf(value, s):
        return base.xreplace({at: value, scale: s})

    def nll_definition(rec, XX, ww, yy, ss):
        res = rec(yy) - rec(XX) * rec(ww)
        return -sum(sp.log(pdf(res[k], ss)) for k in range(res.shape[0]))

    p = nt.defined(r"p(y_i \mid x_i, w)", "p(yᵢ | xᵢ, w)", lambda rec, v, s: pdf(v, s), r, scale)
    nll = nt.defined(r"-\log L(w)", "−log L(w)", nll_definition, X, w, y, scale)
    return SimpleNamespace(n=n, d=d, X=X, w=w, y=y, r=r, p=p, nll=nll)


def sample_regression(rng, size, noise) -> dict:
    """``X, w`` standard normal and ``y = Xw + noise(rng, shape)``, shaped like the symbols."""
    n, d = size.get("n", 3), size.get("d", 2)
    X = rng.normal(0.0, 1.0, (n, d))
    w = rng.normal(0.0, 1.0, (d, 1))
    return {"X": X, "w": w, "y": X @ w + noise(rng, (n, 1))}


def residual(vals) -> np.ndarray:
    """``y - Xw`` of an instance, as a flat array."""
    return (vals["y"] - vals["X"] @ vals["w"]).ravel()


def noise_references(model: str, scale: str):
    """``(density, nll, grad)``: the references a regression topic checks its first steps against.

    Each maps an instance to ``[(label, value)]`` from the :mod:`dlmath.noise` class ``model``
    (``"Gaussian"``, ``"Laplace"``), built with the instance's scale ``vals[scale]``: the density
    of one residual, the summed negative log-likelihood, and the gradient ``-Xᵀ dloss(r)``.
    """

    def make(*args):
        from dlmath import noise

        return getattr(noise, model)(*args)

    def density(vals):
        return [(f"exp(dlmath.noise.{model}.logpdf)", np.exp(make(vals[scale]).logpdf(vals["r_i"])))]

    def nll(vals):
        return [(f"sum of dlmath.noise.{model}.nll", np.sum(make(vals[scale]).nll(residual(vals))))]

    def grad(vals):
        return [(f"-Xᵀ dlmath.noise.{model}.dloss(r)", -vals["X"].T @ make().dloss(residual(vals)))]

    return density, nll, grad
