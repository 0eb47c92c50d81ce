"""Laplace noise gives the L1 loss, whose kink makes constant-step SGD jitter."""

from __future__ import annotations

import functools

from ..derive.model import Assumption, CheckResult, Claim, Numeric, Statement, Step, Topic
from ._regression import noise_references, regression_model, residual, sample_regression

SIZES = ({"n": 4, "d": 1}, {"n": 6, "d": 2}, {"n": 9, "d": 3})
DIMS = {"n": 3, "d": 2}


@functools.cache
def _s():
    import sympy as sp

    from ..derive import notation as nt

    b = sp.Symbol("b", positive=True)
    m = regression_model("Laplace", b)
    b_hat = sp.Symbol("b_hat", positive=True)
    rr = sp.Symbol("r", real=True)
    rnz = sp.Symbol("r", real=True, nonzero=True)
    delta = sp.Symbol("delta", positive=True)
    t = sp.Symbol("t", nonnegative=True)
    eta0, t0 = sp.symbols("eta_0 t_0", positive=True)
    huber = sp.Piecewise((rr**2 / 2, sp.Abs(rr) <= delta), (delta * (sp.Abs(rr) - delta / 2), True))
    return sp, nt, m.n, m.d, m.X, m.w, m.y, b, b_hat, m.r, rr, rnz, delta, t, eta0, t0, m.p, m.nll, huber


def _sample(rng, size):
    b = float(rng.uniform(0.3, 2.0))
    vals = sample_regression(rng, size, lambda g, shape: g.laplace(0.0, b, shape))
    r = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 3.0))
    return {**vals, "b": b, "r_i": r, "r": r, "delta": float(rng.uniform(0.2, 2.0))}


_ref_density, _ref_nll, _ref_subgradient = noise_references("Laplace", "b")


def _ref_sign(vals):
    from dlmath.noise import Laplace

    return [("|dlmath.noise.Laplace.dloss(r)|", abs(float(Laplace().dloss(vals["r"]))))]


def _ref_huber(vals):
    from dlmath.noise import Huber

    return [("dlmath.noise.Huber(delta).loss", Huber(delta=vals["delta"]).loss(vals["r"]))]


def _ref_huber_edge(sign):
    def ref(vals):
        from dlmath.noise import Huber

        r = sign * vals["delta"]
        return [(f"dlmath.noise.Huber(delta).loss({sign:+d}·delta)", Huber(delta=vals["delta"]).loss(r))]

    return ref


def _ref_huber_slope(sign):
    def ref(vals):
        from dlmath.noise import Huber

        r = sign * vals["delta"]
        return [(f"dlmath.noise.Huber(delta).dloss({sign:+d}·delta)", Huber(delta=vals["delta"]).dloss(r))]

    return ref


def _ref_scale(vals):
    from dlmath.noise import Laplace

    return [("dlmath.noise.Laplace.fit_scale", Laplace().fit_scale(residual(vals)))]


def _density():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(p, sp.exp(-sp.Abs(r) / b) / (2 * b))


def _nll():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(
        nll, n * sp.log(2 * b) + nt.Norm1(y - X * w) / b, dims=DIMS, simplify=("expand_log", "expand")
    )


def _subgradient():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(nt.Grad(nt.Norm1(y - X * w), w), -X.T * nt.SignOf(y - X * w), dims=DIMS)


def _no_fade():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(sp.Abs(sp.Derivative(sp.Abs(rnz), rnz)), sp.S.One)


def _l2_fades():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(sp.Limit(sp.Abs(sp.Derivative(sp.Abs(rr), rr)), rr, 0, "+"), sp.S.One, simplify=())


def _huber_form():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(
        huber, rr**2 / 2 - sp.Max(sp.Abs(rr) - delta, 0) ** 2 / 2, simplify=("piecewise", "expand")
    )


def _huber_value(sign):
    """Both Huber branches agree at r = sign * delta."""

    def build():
        sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
        return Statement(
            sp.Subs(rr**2 / 2, rr, sign * delta),
            sp.Subs(delta * (sp.Abs(rr) - delta / 2), rr, sign * delta),
            simplify=("expand",),
        )

    return build


def _huber_slope(sign):
    """Both Huber branches have the same slope at r = sign * delta."""

    def build():
        sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
        return Statement(
            sp.Subs(sp.Derivative(rr**2 / 2, rr), rr, sign * delta),
            sp.Subs(sp.Derivative(delta * (sp.Abs(rr) - delta / 2), rr), rr, sign * delta),
        )

    return build


def _decay():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(sp.Limit(eta0 / (1 + t / t0), t, sp.oo), sp.S.Zero, simplify=())


def _scale():
    sp, nt, n, d, X, w, y, b, b_hat, r, rr, rnz, delta, t, eta0, t0, p, nll, huber = _s()
    return Statement(
        sp.Subs(sp.Derivative(nll, b), b, b_hat),
        sp.S.Zero,
        given={b_hat: nt.Norm1(y - X * w) / n},
        dims=DIMS,
        simplify=("numerator",),
    )


def _jitter(rng) -> CheckResult:
    """Run the SGD experiment: L1 with a constant step keeps jittering, L2/Huber/decay do not."""
    from dlmath.sgd import jitter_experiment

    lines, bad = [], []
    for seed in (int(rng.integers(0, 2**31)), int(rng.integers(0, 2**31))):
        runs = jitter_experiment(seed=seed, steps=1200)
        j = {k: v.jitter for k, v in runs.items()}
        lines.append(", ".join(f"{k} {v:.2g}" for k, v in j.items()) + f" (seed {seed})")
        if not (j["l1"] > 10 * j["l2"] and j["l1"] > 10 * j["huber"]):
            bad.append(
                f"seed {seed}: L1 jitter {j['l1']:.3g} is not 10x that of L2 {j['l2']:.3g} / Huber {j['huber']:.3g}"
            )
        if not j["l1-inverse"] < j["l1"] / 3:
            bad.append(f"seed {seed}: the decaying step leaves jitter {j['l1-inverse']:.3g} vs {j['l1']:.3g}")
    if bad:
        return CheckResult("fail", "; ".join(bad), counterexample=bad[0], instances=len(lines))
    return CheckResult(
        "pass",
        "dlmath.sgd.jitter_experiment, RMS distance to the optimum over the last quarter: "
        + "; ".join(lines),
        instances=len(lines),
    )


_FD = {"rtol": 1e-6, "atol": 1e-7}

TOPIC = Topic(
    id="laplace-l1",
    title="Laplace noise gives the L1 loss",
    claim=(
        r"Laplace noise makes maximum likelihood minimise $\sum_i |y_i - w^\top x_i|$, whose subgradient "
        "does not shrink near the optimum; constant-step SGD therefore jitters, and Huber or a decaying "
        "step calms it."
    ),
    assumptions=(
        Assumption(
            r"y_i = w^\top x_i + \varepsilon_i,\ \varepsilon_i \overset{\text{iid}}{\sim} \operatorname{Laplace}(0, b)",
            "yᵢ = wᵀxᵢ + εᵢ, εᵢ i.i.d. Laplace(0, b)",
        ),
        Assumption(r"b > 0,\ \delta > 0", "b > 0, δ > 0"),
        Assumption(
            r"y_i \ne w^\top x_i \text{ (else take any subgradient)}", "yᵢ ≠ wᵀxᵢ (else any subgradient)"
        ),
    ),
    steps=(
        Step(
            "density",
            "The density of one observation",
            "The Laplace density at the residual; SymPy's `stats.Laplace` supplies the left side.",
            _density,
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_density),
        ),
        Step(
            "nll",
            "Negative log-likelihood",
            r"The log of $e^{-|r_i|/b}$ is $-|r_i|/b$: absolute residuals instead of squares. Dropping "
            r"$n\log 2b$ and the factor $1/b$ leaves the L1 loss $\lVert y - Xw\rVert_1$.",
            _nll,
            Numeric(_sample, sizes=SIZES, rtol=1e-11, reference=_ref_nll),
        ),
        Step(
            "subgradient",
            "Subgradient",
            r"Where no residual is 0, $\partial |r_i| / \partial w = -\operatorname{sign}(r_i)\, x_i$; at a zero "
            r"residual any value in $[-1, 1]$ may replace the sign (dlmath uses 0).",
            _subgradient,
            Numeric(_sample, sizes=SIZES, reference=_ref_subgradient, **_FD),
        ),
        Step(
            "no-fade",
            "The slope of $|r|$ has size 1 however small $r$ is",
            r"Under L2 the per-example gradient $-x_i r_i$ shrinks with the residual; under L1 it keeps "
            "full size until the residual changes sign.",
            _no_fade,
            Numeric(_sample, sizes=({},), seeds=6, reference=_ref_sign, against="lhs", **_FD),
        ),
        Step(
            "no-fade-limit",
            r"Even in the limit $r \to 0$",
            "The one-sided limit of the slope's size is 1, not 0: nothing slows the steps down near the optimum.",
            _l2_fades,
            Numeric(_sample, sizes=({},), seeds=2, **_FD),
        ),
    ),
    claims=(
        Claim(
            "sgd-jitters",
            "Constant-step SGD on L1 keeps jittering",
            "Run SGD with a constant step on nearly noise-free data: the L1 iterates keep a distance of order "
            "the step size from the optimum, while L2 and Huber settle.",
            _decay,
            _jitter,
        ),
        Claim(
            "huber",
            "Huber: quadratic inside, linear outside",
            r"$\ell_\delta(r)$ equals $\frac12 r^2$ minus the part of the parabola beyond $\pm\delta$, so it is "
            "the L2 loss near 0 and grows like L1 in the tails.",
            _huber_form,
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_huber, against="lhs"),
        ),
        Claim(
            "huber-continuous",
            r"The two Huber pieces meet at $\delta$",
            r"Both branches equal $\delta^2/2$ at $r = \delta$.",
            _huber_value(1),
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_huber_edge(1)),
        ),
        Claim(
            "huber-continuous-negative",
            r"and at $-\delta$",
            r"By symmetry they also meet at $r = -\delta$, again at height $\delta^2/2$.",
            _huber_value(-1),
            Numeric(_sample, sizes=({},), seeds=6, rtol=1e-12, reference=_ref_huber_edge(-1)),
        ),
        Claim(
            "huber-derivative-continuous",
            r"So do their slopes, at $\delta$",
            r"Both slopes equal $\delta$ at $r = \delta$.",
            _huber_slope(1),
            Numeric(_sample, sizes=({},), seeds=6, reference=_ref_huber_slope(1), **_FD),
        ),
        Claim(
            "huber-derivative-continuous-negative",
            r"and at $-\delta$",
            r"Both slopes equal $-\delta$ at $r = -\delta$, so the Huber gradient $\operatorname{clip}(r, -\delta, \delta)$ "
            "is continuous and shrinks to 0 with the residual.",
            _huber_slope(-1),
            Numeric(_sample, sizes=({},), seeds=6, reference=_ref_huber_slope(-1), **_FD),
        ),
        Claim(
            "scale-mle",
            "The maximum-likelihood Laplace scale",
            r"Setting $\partial/\partial b$ of the negative log-likelihood to zero gives $\hat b = \frac1n\sum_i |r_i|$.",
            _scale,
            Numeric(_sample, sizes=SIZES, reference=_ref_scale, against="b_hat", **_FD),
        ),
    ),
    implemented_by=(
        "dlmath.noise.Laplace",
        "dlmath.noise.Huber",
        "dlmath.sgd.sgd_linear",
        "dlmath.fit_linear",
    ),
    prose="""\
Change one assumption of the previous section, Gaussian noise to Laplace noise, and the same
likelihood argument produces the absolute-error loss. Laplace noise has heavier tails, so large
residuals are less surprising and cost only linearly: one outlier cannot drag the fit as far as
under squared error, and the fitted line follows the median of the data rather than its mean.

The price is the kink of $|r|$ at zero. Its slope is $\\pm 1$ everywhere except at 0, so the
(sub)gradient of each example has the same size whether its residual is large or tiny. Gradient
descent on L2 slows down by itself as it approaches the optimum; on L1 nothing does, and
stochastic gradient descent with a constant step keeps overshooting and bouncing around the
optimum at a distance proportional to the step.

Two standard fixes follow from the derivation. The Huber loss replaces the kink with a parabola of
width $\\delta$, so the gradient fades near zero like L2 while the tails stay linear like L1. A
decaying learning rate, such as $\\eta_t = \\eta_0/(1 + t/t_0)$, shrinks the bounces over time.
The check runs the experiment with `dlmath.sgd_linear` to confirm both.
""",
    snippet="""\
from dlmath.sgd import jitter_experiment

runs = jitter_experiment(seed=0)
for name, run in runs.items():
    print(f"{name:11s} distance to optimum over the last quarter (RMS): {run.jitter:.2e}")
""",
    figure="sgd-jitter",
)
