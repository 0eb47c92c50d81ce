"""Laplace noise gives the L1 loss, whose kink makes constant-step SGD jitter."""

from __future__ import annotations

import numpy as np

from ..derive import (
    Abs,
    Approx,
    Derivative,
    Eq,
    Figure,
    Grad,
    Limit,
    Lt,
    Max,
    Ne,
    Norm1,
    Piecewise,
    Rational,
    SignOf,
    Subs,
    Topic,
    exp,
    log,
    oo,
)
from ._plot import BLUE, GREEN, ORANGE, RED, powers_of_ten
from ._regression import noise_references, regression_model, residual, sample_regression

t = Topic(
    "laplace-l1",
    "Laplace noise gives the L1 loss",
    claim=(
        "Laplace noise makes maximum likelihood minimise $Norm1(y - X*w)$, whose subgradient keeps its size "
        "near the optimum, so constant-step SGD hovers at a distance proportional to the step; the Huber "
        "loss or a decaying step removes that."
    ),
    sizes=({"n": 4, "d": 1}, {"n": 6, "d": 2}, {"n": 9, "d": 3}),
    dims={"n": 3, "d": 2},
    implemented_by=(
        "dlmath.noise.Laplace",
        "dlmath.noise.Huber",
        "dlmath.sgd.sgd_linear",
        "dlmath.fit_linear",
    ),
)
b = t.scalar("b")
m = regression_model(t, "Laplace", b)
n, d, X, w, y, r = m.n, m.d, m.X, m.w, m.y, m.r
p, nll = m.p, m.nll
b_hat, delta, eta, eta_0, s_, t_0 = t.scalars("b_hat delta eta eta_0 s t_0")
t.assume(b > 0, delta > 0, eta > 0)
t.define(b_hat, Norm1(y - X * w) / n)
huber = t.let("huber", Piecewise((r**2 / 2, Abs(r) <= delta), (delta * (Abs(r) - delta / 2), True)))

# --- the experiment: SGD on a noise-free regression, the optimum known exactly ----------------------

_N, _STEPS = 200, 2000


def _distance(loss, schedule="constant", **kw):
    import functools

    @functools.lru_cache(maxsize=64)
    def run(step):
        from dlmath.sgd import make_regression, sgd_linear

        data, target = make_regression(_N, noise=0.0, seed=0)
        return sgd_linear(
            data, target, loss=loss, lr=float(step), schedule=schedule, steps=_STEPS, seed=1, **kw
        ).jitter

    return run


D_1 = t.measure("D_1", _distance("l1"))
D_2 = t.measure("D_2", _distance("l2"))
D_h = t.measure("D_h", _distance("huber", delta=0.1))
D_dec = t.measure("D_dec", _distance("l1", schedule="inverse"))
t.sample(eta=(0.0125, 0.1))


@t.sampler
def _sample(rng, size):
    scale = float(rng.uniform(0.3, 2.0))
    data = sample_regression(rng, size, lambda g, shape: g.laplace(0.0, scale, shape))
    res = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 3.0))
    return {**data, "b": scale, "r_i": res, "delta": float(rng.uniform(0.2, 2.0))}


_ref_density, _ref_nll, _ref_subgradient = noise_references("Laplace", "b")


def _ref_huber(vals):
    from dlmath.noise import Huber

    return [("dlmath.noise.Huber(delta).loss", Huber(delta=vals["delta"]).loss(vals["r_i"]))]


def _ref_sign(vals):
    from dlmath.noise import Laplace

    return [("|dlmath.noise.Laplace.dloss(r)|", abs(float(Laplace().dloss(vals["r_i"]))))]


def _ref_scale(vals):
    from dlmath.noise import Laplace

    return [("dlmath.noise.Laplace.fit_scale", Laplace().fit_scale(residual(vals)))]


_FD = {"rtol": 1e-6, "atol": 1e-7}

t.step(
    "density",
    Eq(p, exp(-Abs(r) / b) / (2 * b)),
    label="The density of one observation",
    why="The Laplace density at the residual; SymPy's `stats.Laplace` supplies the left side.",
    sizes=({},),
    seeds=6,
    rtol=1e-12,
    reference=_ref_density,
)
t.step(
    "nll",
    Eq(nll, n * log(2 * b) + Norm1(y - X * w) / b),
    label="Negative log-likelihood",
    why=(
        "Taking logs, $log(exp(-Abs(r_i)/b)) == -Abs(r_i)/b$: absolute residuals instead of squares. Dropping "
        "the constant $n*log(2*b)$ and the positive factor $1/b$ leaves the L1 loss $Norm1(y - X*w)$."
    ),
    simplify=("expand_log", "expand"),
    rtol=1e-11,
    reference=_ref_nll,
)
t.step(
    "subgradient",
    Eq(Grad(Norm1(y - X * w), w), -X.T * SignOf(y - X * w)),
    label="Subgradient",
    why=(
        "Where no residual is 0 each example contributes minus its features times the sign of its "
        "residual; at a zero residual any value between -1 and 1 may replace the sign (dlmath uses 0)."
    ),
    reference=_ref_subgradient,
    **_FD,
)
t.step(
    "no-fade",
    Eq(Abs(Derivative(Abs(r), r)), 1),
    label="The slope of the absolute value has size 1 however small the residual",
    why=(
        "Where $Ne(r_i, 0)$ the derivative of $Abs(r_i)$ is its sign. Under L2 the slope "
        "$Derivative(r_i**2/2, r_i) == r_i$ shrinks with the residual; under L1 it keeps full size until "
        "the residual changes sign."
    ),
    assume=[Ne(r, 0)],
    sizes=({},),
    seeds=6,
    reference=_ref_sign,
    against="lhs",
    **_FD,
)
t.step(
    "no-fade-limit",
    Eq(Limit(Abs(Derivative(Abs(r), r)), r, 0, "+"), 1),
    label="Even in the limit of a vanishing residual",
    why=(
        "The one-sided limit of the slope's size is 1, where the slope of $r_i**2/2$ goes to 0 with the "
        "residual: nothing slows the L1 steps down near the optimum."
    ),
    simplify=(),
    sizes=({},),
    seeds=2,
    **_FD,
)
t.claim(
    "hover-scales-with-step",
    Approx(D_1(eta) / D_1(eta / 2), 2, tol=Rational(1, 4)),
    label="Constant-step SGD on L1 hovers at a distance proportional to the step",
    why=(
        f"$D_1(eta)$ is the root mean square distance to the exact optimum over the last quarter of {_STEPS} "
        f"SGD steps with the constant step $eta$, on {_N} noise-free observations: halving the step halves "
        "the distance, which does not fade."
    ),
    seeds=2,
)
t.claim(
    "l2-converges",
    Lt(D_2(eta), D_1(eta) / 10**6),
    label="L2 converges instead",
    why=(
        "$D_2(eta)$ is the same distance for the L2 loss: its gradient fades with the residuals, so "
        "SGD settles on the optimum, more than a million times closer."
    ),
    seeds=2,
)
t.claim(
    "huber-converges",
    Lt(D_h(eta), D_1(eta) / 10**6),
    label="So does Huber",
    why="$D_h(eta)$ is the distance for the Huber loss with threshold one tenth: quadratic near 0, it fades too.",
    seeds=2,
)
t.claim(
    "decay-calms",
    Lt(D_dec(eta), D_1(eta) / 5),
    label="A decaying step calms L1",
    why=(
        "$D_dec(eta)$ is the distance for L1 with a step that decays like $eta_0/(1 + s/t_0)$, after the "
        "same number of steps: it keeps shrinking."
    ),
    seeds=2,
)
t.claim(
    "decay-to-zero",
    Eq(Limit(eta_0 / (1 + s_ / t_0), s_, oo), 0),
    label="The decaying step goes to 0",
    why="At step $s$ the step size $eta_0/(1 + s/t_0)$ falls like one over the number of steps.",
    simplify=(),
)
t.claim(
    "huber",
    Eq(huber, r**2 / 2 - Max(Abs(r) - delta, 0) ** 2 / 2),
    label="Huber: quadratic inside, linear outside",
    why=(
        "The Huber loss takes from $r_i**2/2$ the part of the parabola beyond the threshold $delta$, so it "
        "is the L2 loss near 0 and grows like L1 in the tails."
    ),
    simplify=("piecewise", "expand"),
    sizes=({},),
    seeds=6,
    rtol=1e-12,
    reference=_ref_huber,
    against="lhs",
)
for sign, suffix in ((1, ""), (-1, "-negative")):
    t.claim(
        f"huber-continuous{suffix}",
        Eq(Subs(r**2 / 2, r, sign * delta), Subs(delta * (Abs(r) - delta / 2), r, sign * delta)),
        label=f"The two Huber pieces meet at $Point(r_i, {sign}*delta)$",
        why=f"Both branches equal $Eq(Subs(r_i**2/2, r_i, {sign}*delta), delta**2/2)$ there.",
        simplify=("expand",),
        sizes=({},),
        seeds=6,
        rtol=1e-12,
    )
    t.claim(
        f"huber-slope-continuous{suffix}",
        Eq(
            Subs(Derivative(r**2 / 2, r), r, sign * delta),
            Subs(Derivative(delta * (Abs(r) - delta / 2), r), r, sign * delta),
        ),
        label=f"So do their slopes, at $Point(r_i, {sign}*delta)$",
        why=(
            f"Both slopes equal $Eq(Subs(Derivative(r_i**2/2, r_i), r_i, {sign}*delta), {sign}*delta)$, so the Huber "
            "gradient, the residual clipped to the threshold, is continuous and fades to 0 with the residual."
        ),
        sizes=({},),
        seeds=6,
        **_FD,
    )
t.claim(
    "scale-mle",
    Eq(Subs(Derivative(nll, b), b, b_hat), 0),
    label="The maximum-likelihood Laplace scale",
    why="Setting $Derivative(nll, b)$ to zero gives $b_hat == Norm1(y - X*w)/n$, the mean absolute residual.",
    simplify=("numerator",),
    reference=_ref_scale,
    against="b_hat",
    **_FD,
)

t.prose = """\
Change one assumption of the previous section, Gaussian noise to Laplace noise, and the same
likelihood argument produces the absolute-error loss. Laplace noise has heavier tails, so large
residuals are less surprising and cost only linearly: one outlier cannot drag the fit as far as
under squared error, and the fitted line follows the median of the data rather than its mean.

The price is the kink of $Abs(r_i)$ at zero. Its slope has size 1 everywhere except at 0, so the
subgradient of each example has the same size whether its residual is large or tiny. Gradient
descent on L2 slows down by itself as it approaches the optimum; on L1 nothing does, and
stochastic gradient descent with a constant step keeps overshooting, hovering around the optimum
at a distance proportional to the step even when the data have no noise at all.

Two standard fixes follow from the derivation. The Huber loss replaces the kink with a parabola of
half-width $delta$, so the gradient fades near zero like L2 while the tails stay linear like L1. A
decaying step, such as $eta_0/(1 + s/t_0)$, shrinks the overshoots over time. The checks run the
experiment with `dlmath.sgd_linear` to confirm all three behaviours.
"""

t.snippet = """\
from dlmath.sgd import jitter_experiment

runs = jitter_experiment(seed=0)
for name, run in runs.items():
    print(f"{name:11s} distance to optimum over the last quarter (RMS): {run.jitter:.2e}")
"""

_STYLES = {
    "l2": (BLUE, "L2, constant step"),
    "l1": (RED, "L1, constant step"),
    "l1-inverse": (ORANGE, "L1, decaying step"),
    "huber": (GREEN, "Huber, constant step"),
}


def _draw(fig, tex) -> None:
    from dlmath.sgd import jitter_experiment

    runs = jitter_experiment()
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    # Huber with a small threshold is L2 near the optimum, so the two curves coincide after the
    # transient: L2 is drawn last and dashed to keep both visible. Every third step is drawn.
    for name in ("l1", "l1-inverse", "huber", "l2"):
        color, label = _STYLES[name]
        steps = np.arange(0, runs[name].distance.size, 3)
        dash = "--" if name == "l2" else "-"
        ax1.semilogy(steps, runs[name].distance[steps], color=color, lw=1.0, ls=dash, label=label)
    ax1.set_xlabel("SGD step")
    ax1.set_ylabel("distance to the optimum")
    ax1.set_ylim(1e-5, 3.0)
    powers_of_ten(ax1.yaxis)
    fig.legend(loc="outside lower center", ncols=4, fontsize=8)
    for name in ("l1", "l1-inverse", "l2"):
        run = runs[name]
        tail = run.weights[-len(run.weights) // 4 :: 2] - run.optimum
        ax2.plot(tail[:, 0], tail[:, 1], ".", ms=2, color=_STYLES[name][0])
    ax2.plot([0], [0], "+", color="black", ms=10, mew=1.5)
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.set_title("late iterates around the optimum")
    ax2.set_xlabel("coordinate 1")
    ax2.set_ylabel("coordinate 2")


t.figure = Figure(
    _draw,
    alt=(
        "Left, on a log scale, the distance of the SGD iterate from the exact optimum over the steps on "
        "nearly noise-free data: with a constant step the L2 and Huber runs (which coincide once the "
        "residuals are small) fall to about one ten-thousandth, the L1 run stalls near one tenth, and L1 "
        "with a decaying step keeps falling slowly. Right, the late iterates around the optimum: the "
        "constant-step L1 run is a cloud around it, the others sit on it."
    ),
    caption=(
        "SGD on one data set under L2, L1 and Huber losses. The subgradient of L1 keeps its size however "
        "small the residual, so a constant step leaves it hovering; a decaying step or the smooth centre "
        "of Huber calms it."
    ),
    size=(8.0, 3.4),
)

TOPIC = t
