r"""Derives the polynomial coefficients and tables in ``csrc/vmath.h`` (run: ``python -m dlmath._kernels.minimax``).

Each polynomial interpolates its target function at the Chebyshev points of its interval, in
mpmath at 60 digits, and the monomial coefficients are rounded to binary64 (or binary32). Such an
interpolant is within a small factor of the minimax polynomial of its degree. The printed
``approx`` figure is the largest error of the *rounded* polynomial on a fine grid, against the
target, relative to the quantity it is added to; the error of the whole function in floating
point (this plus the rounding of each operation) is measured by ``tests/test_kernels.py``.

- ``exp``, table form (AVX-512): :math:`e^x = 2^{k/16}\,e^r`, :math:`|r| \le \ln 2/32`, with
  :math:`e^r - 1 \approx r + r^2 P(r)`, ``P`` of degree 5; the table holds :math:`2^{j/16}` as a
  sum of two doubles.
- ``exp``, no table (AVX2 and baseline): :math:`e^x = 2^k e^r`, :math:`|r| \le \ln 2/2`,
  ``P`` of degree 9.
- ``expf`` (binary32): :math:`|r| \le \ln 2/2`, ``P`` of degree 4.
- ``log1p``: with :math:`1 + x = 2^k f`, :math:`f \in [\sqrt2/2, \sqrt2)`, :math:`g = f - 1`,
  :math:`s = g/(2+g)`, :math:`w = s^2`: :math:`\log f = 2\operatorname{atanh} s = 2s + s R(w)`,
  :math:`R(w) = w\,Q(w)`, ``Q`` of degree 6 interpolating :math:`(2\operatorname{atanh}(s)/s - 2)/w`.
"""

from __future__ import annotations

import mpmath
import numpy as np

mp = mpmath.mp


def chebyshev_fit(f, a, b, degree):
    """Monomial coefficients (low to high) of the polynomial interpolating ``f`` at Chebyshev points of [a, b]."""
    n = degree + 1
    xs = [(a + b) / 2 + (b - a) / 2 * mpmath.cos(mpmath.pi * (2 * i + 1) / (2 * n)) for i in range(n)]
    A = mpmath.matrix([[x**j for j in range(n)] for x in xs])
    y = mpmath.matrix([f(x) for x in xs])
    return list(mpmath.lu_solve(A, y))


def _max_err(err, a, b, points=4001):
    return max(abs(err(a + (b - a) * mpmath.mpf(i) / (points - 1))) for i in range(points))


def _as(coeffs, dtype):
    return [float(np.dtype(dtype).type(float(c))) for c in coeffs]


def exp_fit(half_width, degree, dtype=np.float64):
    """``P`` with :math:`e^r - 1 - r \\approx r^2 P(r)` on ``[-h, h]`` (h widened by 1% for the rounding of k)."""
    h = mpmath.mpf(half_width) * mpmath.mpf("1.01")

    def g(r):
        if abs(r) < mpmath.mpf(10) ** (-mp.dps // 3):  # the middle Chebyshev point is ~1e-61, not 0
            return mpmath.mpf(1) / 2 + r / 6 + r**2 / 24
        return (mpmath.expm1(r) - r) / r**2

    c = _as(chebyshev_fit(g, -h, h, degree), dtype)

    def err(r):
        q = r + r**2 * mpmath.polyval(c[::-1], r)
        return (q - mpmath.expm1(r)) / mpmath.exp(r)

    return c, float(_max_err(err, -h, h))


def log1p_fit(degree):
    """``Q`` with :math:`2\\operatorname{atanh}(s) - 2s \\approx s\\,w\\,Q(w)`, :math:`w = s^2 \\le ((\\sqrt2-1)/(\\sqrt2+1))^2`."""
    smax = (mpmath.sqrt(2) - 1) / (mpmath.sqrt(2) + 1)
    wmax = smax**2 * mpmath.mpf("1.0001")

    def q(w):
        if w == 0:
            return mpmath.mpf(2) / 3
        s = mpmath.sqrt(w)
        return (2 * mpmath.atanh(s) / s - 2) / w

    c = _as(chebyshev_fit(q, mpmath.mpf(0), wmax, degree), np.float64)

    def err(w):
        s = mpmath.sqrt(w)
        approx = 2 * s + s * w * mpmath.polyval(c[::-1], w)
        exact = 2 * mpmath.atanh(s)
        return (approx - exact) / exact if w else mpmath.mpf(0)

    return c, float(_max_err(err, mpmath.mpf(0), wmax))


def exp2_table(bits):
    """``(hi, lo)``: :math:`2^{j/2^{bits}}` as a sum of two doubles, ``hi`` correctly rounded."""
    hi, lo = [], []
    for j in range(2**bits):
        v = mpmath.mpf(2) ** (mpmath.mpf(j) / 2**bits)
        h = float(v)
        hi.append(h)
        lo.append(float(v - h))
    return hi, lo


def split_constant(value, bits):
    """``(hi, lo)`` with ``hi`` holding ``bits`` significant bits of ``value`` (so ``k * hi`` is exact)."""
    m, e = mpmath.frexp(value)
    hi = mpmath.ldexp(mpmath.floor(mpmath.ldexp(m, bits)), e - bits)
    return float(hi), float(value - hi)


def main():
    with mpmath.workdps(60):
        ln2 = mpmath.log(2)
        for name, (h, d, dt) in {
            "exp, table of 16, P of degree 4": (ln2 / 32, 4, np.float64),
            "exp, table of 16, P of degree 5": (ln2 / 32, 5, np.float64),
            "exp, no table, P of degree 9": (ln2 / 2, 9, np.float64),
            "exp, no table, P of degree 10": (ln2 / 2, 10, np.float64),
            "expf, P of degree 4": (ln2 / 2, 4, np.float32),
            "expf, P of degree 5": (ln2 / 2, 5, np.float32),
        }.items():
            c, e = exp_fit(h, d, dt)
            print(f"{name}: approx {e:.3g}")
            for i, v in enumerate(c):
                print(f"  c{i + 2} = {v.hex()}  /* {v!r} */")
        c, e = log1p_fit(6)
        print(f"log1p Q (degree 6): approx {e:.3g}")
        for i, v in enumerate(c):
            print(f"  q{i} = {v.hex()}  /* {v!r} */")
        hi, lo = exp2_table(4)
        print("2^(j/16) hi:", ", ".join(v.hex() for v in hi))
        print("2^(j/16) lo:", ", ".join(v.hex() for v in lo))
        for label, val, bits in (
            ("ln2/16", ln2 / 16, 38),
            ("ln2", ln2, 42),
            ("ln2 (binary32, 16 bits)", ln2, 16),
        ):
            print(label, [v.hex() for v in split_constant(val, bits)])


if __name__ == "__main__":
    main()
