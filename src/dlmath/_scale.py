r"""The maximum-likelihood scale of a location-scale noise model, for given residuals.

For a density :math:`p_\sigma(r) = p_1(r/\sigma)/\sigma` the log-likelihood of residuals
:math:`r_1, \dots, r_n` is :math:`\sum_i \log p_1(r_i/\sigma) - n\log\sigma`; with
:math:`g = -\log p_1` its derivative in :math:`\log\sigma` vanishes where

.. math:: \frac1n\sum_i h\bigl(|r_i|/\sigma\bigr) = 1,\qquad h(t) = t\,g'(t),

the likelihood equation each iterative model of :mod:`dlmath.noise` states as its ``h``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["solve_scale", "rms", "mean_abs"]


def solve_scale(hd, absr: np.ndarray, start: float | None = None, sup_h: float = math.inf) -> float:
    r"""The root :math:`\sigma` of :math:`\frac1n\sum_i h(|r_i|/\sigma) = 1`.

    ``hd(t)`` returns :math:`(h(t), t\,h'(t))` for :math:`h` non-decreasing on :math:`[0, \infty)`
    with :math:`h(0) = 0`, so the left side falls monotonically in :math:`\sigma`. Newton's method
    in :math:`u = \log\sigma` runs from ``start`` (default: the RMS of the residuals), keeping the
    bracket that the signs seen so far give and bisecting it whenever a step would leave it.
    ``sup_h`` is :math:`\lim_{t\to\infty} h(t)`: as :math:`\sigma \to 0` the left side tends to
    ``sup_h`` times the fraction of non-zero residuals, so there is no root, and 0 is returned
    (the likelihood is unbounded there), exactly when that limit is :math:`\le 1`.

    ``absr`` holds finite absolute residuals (a float64 vector).
    """
    top = float(np.max(absr, initial=0.0))
    if top == 0.0:
        return 0.0
    # The root is scale-equivariant: solve for residuals divided by their maximum, so that no
    # square over- or underflows, and scale back.
    absr = absr / top
    start = start / top if start else None
    nz = absr[absr > 0]
    n = absr.size
    if sup_h * nz.size <= n:
        return 0.0

    def phi(u):
        # Far from the root t = |r|/sigma can pass 1e154, so squares overflow; each hd is written
        # so that inf there gives the right limit, and the warnings are not the caller's concern.
        with np.errstate(over="ignore", divide="ignore", under="ignore", invalid="ignore"):
            h, th = hd(nz * (math.exp(-u) if u > -700.0 else math.inf))
        return float(np.sum(h)) / n - 1.0, -float(np.sum(th)) / n

    u = math.log(start) if start else 0.5 * math.log(float(np.mean(absr * absr)))
    lo, hi = -math.inf, math.inf
    # Steps of at most 4 in log(sigma) before a bracket exists: 400 iterations reach any root in
    # the float64 range (a Huber delta of 1e-300 puts it near log(1e-300) = -690).
    for _ in range(400):
        f, df = phi(u)
        if abs(f) <= 1e-14:  # the mean of h is 1 to rounding: sigma is as good as it gets
            break
        if f > 0:
            lo = u
        else:
            hi = u
        new = u - f / df if df < 0 else u + (1.0 if f > 0 else -1.0)
        new = min(max(new, u - 4.0), u + 4.0)  # no wild jumps before a bracket exists
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(lo + hi) else (u + 1.0 if f > 0 else u - 1.0)
        done = abs(new - u) <= 1e-13 * max(1.0, abs(u)) or hi - lo <= 1e-14 * max(1.0, abs(u))
        u = new
        if done:
            break
    return top * math.exp(u)


def rms(absr: np.ndarray) -> float:
    r""":math:`(\frac1n\sum_i r_i^2)^{1/2}` with no square over- or underflowing (the Gaussian scale MLE)."""
    top = float(np.max(absr, initial=0.0))
    if top == 0.0:
        return 0.0
    b = absr / top
    return top * float(np.sqrt(np.mean(b * b)))


def mean_abs(absr: np.ndarray) -> float:
    r""":math:`\frac1n\sum_i |r_i|` without overflow of the sum (the Laplace scale MLE)."""
    top = float(np.max(absr, initial=0.0))
    return top * float(np.mean(absr / top)) if top > 0 else 0.0
