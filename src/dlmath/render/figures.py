"""The page's figures: deterministic matplotlib SVGs, one per key, each with alt text and a caption.

Determinism: figures are drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot state) under
a fixed ``svg.hashsalt`` (stable clip-path and glyph ids), ``svg.fonttype = "path"`` (text as
paths, so the browser's fonts do not matter), and with the SVG ``Date`` metadata removed. Every
random number comes from a seeded generator. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FIGURES", "FigureSpec", "get_figure", "render_many", "render_svg", "start_rendering"]

_RC = {
    "svg.hashsalt": "dlmath-reference",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}
_BLUE, _ORANGE, _GREEN, _RED, _GREY = "#1f5fa8", "#d9730d", "#2e8540", "#b3261e", "#6b7780"


@dataclass(frozen=True)
class FigureSpec:
    key: str
    alt: str
    caption: str
    draw: Callable[[object], None]
    size: tuple[float, float] = (8.0, 3.0)

    def render(self) -> str:
        return render_svg(self.draw, self.size)


def render_svg(draw: Callable[[object], None], size: tuple[float, float]) -> str:
    """Call ``draw(fig)`` on a fresh figure and return the SVG text, byte-stable across runs."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _powers_of_ten(axis) -> None:
    """Label a log axis 10⁻³ with Unicode superscripts: mathtext labels cost ~20 ms each to lay out."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def label(value, _pos) -> str:
        exponent = int(round(np.log10(value))) if value > 0 else 0
        return f"10{str(exponent).translate(_SUPERSCRIPT)}" if np.isclose(value, 10.0**exponent) else ""

    axis.set_major_locator(LogLocator(base=10.0))
    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(NullFormatter())


# --- one function per figure --------------------------------------------------------------------


def _sgd_jitter(fig) -> None:
    from dlmath.sgd import jitter_experiment

    runs = jitter_experiment()
    styles = {
        "l2": (_BLUE, "L2, constant step"),
        "l1": (_RED, "L1, constant step"),
        "l1-inverse": (_ORANGE, "L1, decaying step $\\eta_0/(1+t/t_0)$"),
        "huber": (_GREEN, "Huber ($\\delta = 0.1$), constant step"),
    }
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    # Huber with a small delta is L2 near the optimum, so the two curves coincide after the
    # transient: L2 is drawn last and dashed to keep both visible.
    # Every third step is drawn: the jitter stays visible and the SVG stays small.
    for name in ("l1", "l1-inverse", "huber", "l2"):
        color, label = styles[name]
        t = np.arange(0, runs[name].distance.size, 3)
        dash = "--" if name == "l2" else "-"
        ax1.semilogy(t, runs[name].distance[t], color=color, lw=1.0, ls=dash, label=label)
    ax1.set_xlabel("SGD step $t$")
    ax1.set_ylabel("$\\|w_t - w^\\star\\|_2$")
    ax1.set_title("distance to the optimum")
    ax1.set_ylim(1e-5, 3.0)
    _powers_of_ten(ax1.yaxis)
    fig.legend(loc="outside lower center", ncols=4, fontsize=8)
    for name in ("l1", "l1-inverse", "l2"):
        run = runs[name]
        tail = run.weights[-len(run.weights) // 4 :: 2] - run.optimum
        color, label = styles[name]
        ax2.plot(tail[:, 0], tail[:, 1], ".", ms=2, color=color)
    ax2.plot([0], [0], "+", color="black", ms=10, mew=1.5)
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.set_title("late iterates $w_t - w^\\star$")
    ax2.set_xlabel("coordinate 1")
    ax2.set_ylabel("coordinate 2")


def _noise_densities(fig) -> None:
    from dlmath import noise
    from dlmath.fit import fit_linear

    ax1, ax2, ax3 = fig.subplots(1, 3)
    r = np.linspace(-4, 4, 401)
    gauss, laplace, huber = noise.Gaussian(1.0), noise.Laplace(1.0), noise.Huber(1.0)
    ax1.plot(r, np.exp(gauss.logpdf(r)), color=_BLUE, label="Gaussian")
    ax1.plot(r, np.exp(laplace.logpdf(r)), color=_RED, label="Laplace")
    ax1.set_title("noise density $p(\\varepsilon)$")
    ax1.legend(loc="upper right")
    ax2.plot(r, gauss.loss(r), color=_BLUE, label="L2: $r^2/2$")
    ax2.plot(r, laplace.loss(r), color=_RED, label="L1: $|r|$")
    ax2.plot(r, huber.loss(r), color=_GREEN, ls="--", label="Huber, $\\delta=1$")
    ax2.set_ylim(0, 5)
    ax2.set_title("loss $= -\\log p$ + const")
    ax2.legend(loc="upper center")
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 10, 40))
    y = 1.0 + 0.5 * x + 0.4 * rng.normal(size=x.size)
    y[-4:] -= 6.0
    X = x[:, None]
    grid = np.linspace(0, 10, 2)
    ax3.scatter(x, y, s=10, color=_GREY, label="data (4 outliers)")
    for kind, color, label in (("gaussian", _BLUE, "L2 fit"), ("laplace", _RED, "L1 fit")):
        fit = fit_linear(X, y, noise=kind)
        ax3.plot(grid, fit.intercept + float(np.ravel(fit.coef)[0]) * grid, color=color, label=label)
    ax3.set_title("fits with outliers")
    ax3.legend(loc="lower left")


def _softmax_hessian_heatmap(fig) -> None:
    from dlmath import softmax, softmax_hessian

    z = np.array([2.0, 1.0, 0.2, -0.5, -1.5])
    p = softmax(z)
    H = softmax_hessian(z)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.0, 1.25, 1.1])
    ax1.bar(np.arange(1, 6), p, color=_BLUE)
    ax1.set_title("$p = \\mathrm{softmax}(z)$")
    ax1.set_xlabel("class $k$")
    ax1.set_xticks(np.arange(1, 6))
    lim = float(np.max(np.abs(H)))
    im = ax2.imshow(H, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax2.set_title("$H = \\mathrm{diag}(p) - pp^\\top$")
    ax2.set_xticks(range(5), [str(k) for k in range(1, 6)])
    ax2.set_yticks(range(5), [str(k) for k in range(1, 6)])
    ax2.grid(False)
    for side in ("top", "right"):
        ax2.spines[side].set_visible(True)
    fig.colorbar(im, ax=ax2, shrink=0.8)
    eig = np.linalg.eigvalsh(H)
    ax3.stem(np.arange(1, 6), eig, basefmt=" ")
    ax3.axhline(0, color=_GREY, lw=1)
    ax3.set_ylim(-0.03, 1.15 * float(eig.max()))
    ax3.set_title("eigenvalues: all $\\geq 0$, one $= 0$")
    ax3.set_xlabel("index (ascending)")
    ax3.set_xticks(np.arange(1, 6))


def _smooth_max_temperature(fig) -> None:
    from dlmath import smooth_max

    ax1, ax2 = fig.subplots(1, 2)
    x = np.linspace(-3, 3, 601)
    pairs = np.stack([x, np.zeros_like(x)], axis=-1)
    ax1.plot(x, np.maximum(x, 0.0), color="black", lw=2, label="$\\max(x, 0)$")
    for tau, color in ((1.0, _RED), (0.5, _ORANGE), (0.2, _GREEN), (0.05, _BLUE)):
        ax1.plot(
            x, smooth_max(pairs, axis=-1, temperature=tau), color=color, lw=1.2, label=f"$\\tau = {tau:g}$"
        )
    ax1.set_title("$\\tau \\log(e^{x/\\tau} + e^{0})$ lies above the max")
    ax1.set_xlabel("$x$")
    ax1.legend(loc="upper left")
    tau = np.logspace(-3, 0.5, 200)
    for gap, color in ((0.0, _RED), (0.5, _ORANGE), (2.0, _BLUE)):
        correction = tau * np.log1p(np.exp(-gap / tau))
        ax2.loglog(tau, correction, color=color, label=f"$a - b = {gap:g}$")
    ax2.set_title("gap to the max, $\\tau\\log(1+e^{-(a-b)/\\tau})$")
    ax2.set_xlabel("temperature $\\tau$")
    ax2.set_ylim(1e-6, 5)
    _powers_of_ten(ax2.xaxis)
    _powers_of_ten(ax2.yaxis)
    ax2.legend(loc="lower right")


def _lse_overflow(fig) -> None:
    from dlmath import logsumexp

    ax1, ax2 = fig.subplots(1, 2)
    for ax, dtype, top, edge in ((ax1, np.float32, 120.0, 88.72), (ax2, np.float64, 760.0, 709.78)):
        t = np.linspace(top - 100.0, top, 401).astype(dtype)
        x = np.stack([t, np.zeros_like(t)], axis=-1)
        with np.errstate(over="ignore"):
            naive = np.log(np.sum(np.exp(x), axis=-1))
        stable = np.asarray(logsumexp(x, axis=-1))
        shown = np.where(np.isfinite(naive), naive, np.nan)
        ax.plot(t, stable, color=_BLUE, lw=3, alpha=0.5, label="stable: $m + \\log\\sum e^{x_i - m}$")
        ax.plot(t, shown, color=_RED, lw=1.4, label="naive: $\\log\\sum e^{x_i}$")
        ax.axvline(edge, color=_GREY, ls="--", lw=1)
        ax.annotate(
            f"naive gives inf\npast {edge}",
            xy=(edge, float(stable[0])),
            xytext=(6, 0),
            textcoords="offset points",
            color=_RED,
            fontsize=8,
        )
        ax.set_title(f"LSE$([t, 0])$ in {np.dtype(dtype).name}")
        ax.set_xlabel("$t$")
    ax1.legend(loc="upper left")


def _x_pow_x(fig) -> None:
    ax = fig.subplots()
    x = np.linspace(0.02, 2.0, 500)
    f = x**x
    ax.plot(x, f, color=_BLUE, label="$x^x$")
    ax.plot(x, f * (np.log(x) + 1.0), color=_RED, label="$\\frac{d}{dx}x^x = x^x(\\log x + 1)$")
    xm = np.exp(-1.0)
    ax.plot([xm], [xm**xm], "o", color="black", ms=4)
    ax.axvline(xm, color=_GREY, ls=":", lw=1)
    ax.annotate("minimum at $x = 1/e$", xy=(xm, xm**xm), xytext=(6, 10), textcoords="offset points")
    ax.axhline(0, color=_GREY, lw=1)
    ax.set_xlabel("$x > 0$")
    ax.set_ylim(-2.5, 4.5)
    ax.legend(loc="upper left")


def _norm_cone(fig) -> None:
    from dlmath import norm_grad, safe_norm

    ax1, ax2 = fig.subplots(1, 2)
    g = np.linspace(-2, 2, 161)
    X1, X2 = np.meshgrid(g, g)
    pts = np.stack([X1, X2], axis=-1)
    norms = np.asarray(safe_norm(pts, axis=-1))
    cs = ax1.contour(X1, X2, norms, levels=[0.5, 1.0, 1.5, 2.0, 2.5], colors=_BLUE, linewidths=1)
    ax1.clabel(cs, fontsize=7)
    q = np.linspace(-1.5, 1.5, 7)
    Q1, Q2 = np.meshgrid(q, q)
    arrows = np.asarray(norm_grad(np.stack([Q1, Q2], axis=-1), axis=-1))
    ax1.quiver(Q1, Q2, arrows[..., 0], arrows[..., 1], color=_RED, scale=12, width=0.006)
    ax1.plot([0], [0], "o", color="black", ms=4)
    ax1.set_aspect("equal")
    ax1.set_title("level sets of $\\|x\\|_2$; arrows $x/\\|x\\|_2$")
    t = np.linspace(-1, 1, 401)
    ax2.plot(t, np.abs(t), color="black", lw=2, label="$\\|t\\,u\\|_2 = |t|$ (cusp)")
    for eps, color in ((1e-2, _ORANGE), (1e-1, _GREEN)):
        ax2.plot(
            t, np.sqrt(t**2 + eps), color=color, label=f"$\\sqrt{{t^2 + \\epsilon}}$, $\\epsilon={eps:g}$"
        )
    ax2.set_title("slice through 0 along a unit direction $u$")
    ax2.set_xlabel("$t$")
    ax2.legend(loc="upper center")


def _inverse_slopes(fig) -> None:
    ax = fig.subplots()
    x = np.linspace(-2.5, 1.6, 300)
    y = np.linspace(0.05, 5.0, 300)
    ax.plot(x, np.exp(x), color=_BLUE, label="$f(x) = e^x$")
    ax.plot(y, np.log(y), color=_RED, label="$f^{-1}(y) = \\log y$")
    ax.plot([-2.5, 5], [-2.5, 5], color=_GREY, ls=":", lw=1, label="$y = x$")
    x0 = 0.8
    y0 = np.exp(x0)
    s = np.linspace(-0.9, 0.9, 2)
    ax.plot(x0 + s, y0 + y0 * s, color=_BLUE, lw=1, ls="--")
    ax.plot(y0 + s * y0, x0 + s, color=_RED, lw=1, ls="--")
    ax.plot([x0, y0], [y0, x0], "o", color="black", ms=4)
    ax.annotate(
        f"slope $f'(x_0) = e^{{{x0:g}}} \\approx {y0:.2f}$",
        xy=(x0, y0),
        xytext=(-2.3, 3.1),
        arrowprops={"arrowstyle": "-", "color": _GREY, "lw": 0.8},
    )
    ax.annotate(
        f"slope $1/f'(x_0) \\approx {1 / y0:.2f}$",
        xy=(y0, x0),
        xytext=(2.2, -0.6),
        arrowprops={"arrowstyle": "-", "color": _GREY, "lw": 0.8},
    )
    ax.set_aspect("equal")
    ax.set_xlim(-2.5, 5)
    ax.set_ylim(-2.5, 5)
    ax.legend(loc="upper left")


FIGURES: dict[str, FigureSpec] = {
    spec.key: spec
    for spec in (
        FigureSpec(
            "sgd-jitter",
            "Left, on a log scale, the distance of the SGD iterate from the exact optimum over 2000 "
            "steps on nearly noise-free data: with a constant step the L2 and Huber runs (which coincide "
            "once the residuals are small) fall to about 1e-4, the L1 run stalls near 1e-1, and L1 with a "
            "decaying step keeps falling slowly. Right, the late iterates around the optimum: the constant-step "
            "L1 run is a cloud around it, the others sit on it.",
            "SGD on one data set under L2, L1 and Huber losses. L1's subgradient keeps its size however "
            "small the residual, so a constant step leaves it jittering; a decaying step or Huber's "
            "smooth centre calms it.",
            _sgd_jitter,
            (8.0, 3.4),
        ),
        FigureSpec(
            "noise-densities",
            "Three panels: the Gaussian density is flatter-topped with thinner tails than the Laplace "
            "density; the corresponding losses are a parabola (L2), a V shape (L1) and the Huber curve "
            "between them; on data with four low outliers the L2 line is dragged down while the L1 line "
            "follows the bulk of the points.",
            "Gaussian noise gives the L2 loss and Laplace noise the L1 loss; L1's linear tails make its "
            "fit robust to outliers.",
            _noise_densities,
            (9.0, 3.0),
        ),
        FigureSpec(
            "softmax-hessian-heatmap",
            "Left, a bar chart of five softmax probabilities. Middle, a heat map of the 5 by 5 Hessian "
            "diag(p) minus p p transpose: positive on the diagonal, negative off it. Right, its five "
            "eigenvalues: all non-negative, the smallest exactly zero.",
            "The softmax cross-entropy Hessian for $z = (2, 1, 0.2, -0.5, -1.5)$: a covariance matrix, "
            "so positive semi-definite, with the all-ones vector in its null space.",
            _softmax_hessian_heatmap,
            (9.0, 3.0),
        ),
        FigureSpec(
            "smooth-max-temperature",
            "Left, the hard max of x and 0 drawn as a kinked line, with smooth max curves for "
            "temperatures 1, 0.5, 0.2 and 0.05 lying above it and approaching it as the temperature "
            "shrinks. Right, on log-log axes, the gap to the max against temperature for three gaps "
            "between the arguments: it falls like tau log 2 when they are equal and much faster otherwise.",
            "Smooth max is strictly above the max and converges to it as $\\tau \\to 0^+$.",
            _smooth_max_temperature,
        ),
        FigureSpec(
            "lse-overflow",
            "Two panels for float32 and float64. The stable LogSumExp of [t, 0] is a straight line; "
            "the naive formula follows it until t passes about 88.72 in float32 and 709.78 in float64, "
            "where it becomes infinite and the red curve stops.",
            "The naive $\\log\\sum e^{x_i}$ overflows at the dtype's limit; shifting by the maximum does not.",
            _lse_overflow,
        ),
        FigureSpec(
            "x-pow-x",
            "x to the power x for x between 0 and 2, with its derivative x^x (log x + 1); the derivative "
            "crosses zero at x = 1/e, where x^x has its minimum.",
            "$x^x$ and its derivative from logarithmic differentiation; the minimum sits at $x = 1/e$.",
            _x_pow_x,
            (5.5, 3.2),
        ),
        FigureSpec(
            "norm-cone",
            "Left, circular level sets of the Euclidean norm in the plane with unit arrows pointing "
            "radially outward, the gradient x over its norm. Right, a slice through the origin: the "
            "absolute value with a sharp corner at zero, and two smoothed curves square root of t "
            "squared plus epsilon that are rounded there.",
            "The norm is a cone: its gradient $x/\\lVert x\\rVert_2$ has unit length everywhere except the "
            "tip, where the cusp leaves it undefined; $\\sqrt{\\lVert x\\rVert^2 + \\epsilon}$ rounds the tip.",
            _norm_cone,
        ),
        FigureSpec(
            "inverse-slopes",
            "The exponential and the logarithm drawn as mirror images across the line y = x, with "
            "tangent lines at the mirrored points (0.8, e^0.8) and (e^0.8, 0.8); the slopes are about "
            "2.23 and its reciprocal, about 0.45.",
            "Mirroring a graph across $y = x$ swaps rise and run, so the inverse's slope is the reciprocal.",
            _inverse_slopes,
            (5.0, 4.6),
        ),
    )
}


def render_many(keys) -> dict[str, str]:
    """Render several figures by key; the SVG text by key."""
    return {key: get_figure(key).render() for key in keys}


def get_figure(key: str) -> FigureSpec:
    """The figure named ``key``; an unknown key raises ``ValueError`` listing the known ones."""
    try:
        return FIGURES[key]
    except KeyError:
        raise ValueError(f"unknown figure key {key!r}; known figures: {', '.join(FIGURES)}") from None


class _Drawing:
    """Figures being drawn in a separate Python process; see :func:`start_rendering`."""

    def __init__(self, keys: list[str]) -> None:
        import subprocess
        import sys

        self.keys = keys
        self._worker = subprocess.Popen(
            [sys.executable, "-m", "dlmath.render.figures", *keys],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def result(self) -> dict[str, str]:
        """Wait for the SVGs by key; ``ValueError`` with the worker's error output if it failed."""
        import json

        out, err = self._worker.communicate()
        if self._worker.returncode != 0:
            raise ValueError(f"drawing the figures {self.keys} failed:\n{err.strip()}")
        return json.loads(out)

    def cancel(self) -> None:
        if self._worker.poll() is None:
            self._worker.kill()
        self._worker.communicate()


def start_rendering(keys) -> _Drawing:
    """Start drawing ``keys`` in a fresh Python process and return at once.

    A separate interpreter rather than a fork, so the drawing inherits no thread pools (BLAS,
    dlmath's LSE kernel) in an unknown state and works whatever the caller's main module is.
    """
    return _Drawing(list(keys))


if __name__ == "__main__":
    import json
    import sys

    json.dump(render_many(sys.argv[1:]), sys.stdout)
