"""What the Gaussian and Laplace topics share: the linear model, its noise, likelihood and data.

Both derive a loss from ``y = Xw + ε`` with i.i.d. noise; only the distribution differs. The
noise is an assumption of the topic (:class:`Noise`) and also the source of the density: the
density of one observation comes from :mod:`sympy.stats`, the independent reference the
derivations start from.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import sympy as sp

from ..derive.assumptions import FunctionIs

_NAMES = {"Normal": r"\mathcal{N}", "Laplace": r"\operatorname{Laplace}"}
_TEXT = {"Normal": "N", "Laplace": "Laplace"}


class _NoiseNode(sp.Basic):
    """Display of the model assumption ``y_i = w^T x_i + ε_i``, ``ε_i`` i.i.d. from a distribution."""

    def _param(self, printer):
        dist, scale = self.args[0].name, self.args[1]
        return printer._print(scale**2 if dist == "Normal" else scale)

    def _latex(self, printer):
        dist = self.args[0].name
        return (
            r"y_i = w^{\top} x_i + \varepsilon_i,\ \varepsilon_i \overset{\text{iid}}{\sim} "
            rf"{_NAMES[dist]}(0, {self._param(printer)})"
        )

    def _sympystr(self, printer):
        dist = self.args[0].name
        return f"yᵢ = wᵀxᵢ + εᵢ, εᵢ i.i.d. {_TEXT[dist]}(0, {self._param(printer)})"


class Noise(FunctionIs):
    """The noise model as an assumption: the density ``f_eps(value, scale)`` is that of ``distribution``.

    The derivation names the density only as ``f_eps``; this assumption binds it to the density
    from :mod:`sympy.stats`, so without it the density steps have nothing to agree with.
    """

    def __init__(self, distribution: str, scale):
        import sympy.stats

        at, s = sp.Dummy("at", real=True), sp.Dummy("s", positive=True)
        density = sympy.stats.density(getattr(sympy.stats, distribution)("epsilon", 0, s))(at)
        super().__init__(_NoiseNode(sp.Symbol(distribution), scale), "f_eps", sp.Lambda((at, s), density))


def regression_model(t, distribution: str, scale):
    """Declare the linear model on topic ``t``: symbols, the noise assumption, density and NLL.

    Returns a namespace with ``n, d, X, w, y`` (display symbols), ``r`` (one residual ``r_i``),
    ``noise`` (the assumption), ``p`` (the density of one observation, :math:`p(y_i \\mid x_i, w)`)
    and ``nll`` (the negative log-likelihood of the data set, :math:`-\\log L(w)`).
    """

    n, d = t.dim("n"), t.dim("d")
    X, w, y = t.matrix("X", n, d), t.vector("w", d), t.vector("y", n)
    r = t.scalar("r_i")
    f_eps = t.function("f_eps")
    noise = Noise(distribution, scale)
    t.assume(noise)

    def nll_definition(rec, XX, ww, yy, ss):
        res = rec(yy) - rec(XX) * rec(ww)
        return -sum(sp.log(f_eps(res[k], ss)) for k in range(res.shape[0]))

    p = t.quantity("p", r"p(y_i \mid x_i, w)", "p(yᵢ | xᵢ, w)", lambda rec, v, s: f_eps(v, s), r, scale)
    nll = t.quantity("nll", r"-\log L(w)", "−log L(w)", nll_definition, X, w, y, scale)
    return SimpleNamespace(n=n, d=d, X=X, w=w, y=y, r=r, noise=noise, p=p, nll=nll)


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
