"""The compiled row kernels (dlmath._kernels): vector exp/log1p against mpmath, every instruction set
against the others and against float64/mpmath references, dtypes, threads, errors and memory."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tracemalloc

import mpmath
import numpy as np
import pytest
import scipy.special

import dlmath
from dlmath import _kernels

pytestmark = pytest.mark.skipif(
    not _kernels.available(), reason="the compiled kernels are off (DLMATH_KERNELS=numpy) or not built"
)

ISAS = _kernels.isas() if _kernels.available() else ()


def _rng(seed):
    return np.random.default_rng(seed)


def _addr(a):
    return a.__array_interface__["data"][0]


def vexp(x):
    out = np.empty_like(x)
    _kernels._lib.vexp(_kernels.DTYPES[x.dtype.name], _addr(x), _addr(out), x.size)
    return out


def vlog1p(x):
    out = np.empty_like(x)
    _kernels._lib.vlog1p(_addr(x), _addr(out), x.size)
    return out


def test_the_best_instruction_set_of_this_cpu_is_chosen():
    assert ISAS[-1] == "baseline" and set(ISAS) <= set(_kernels.ISAS)
    flags = set()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":")[1].split() for line in f if line.startswith("flags")), [])
    has512 = {"avx512f", "avx512dq", "avx512bw", "avx512vl", "fma", "f16c"} <= set(flags)
    has2 = {"avx2", "fma", "f16c"} <= set(flags)
    if flags:
        assert ("avx512" in ISAS) == has512 and ("avx2" in ISAS) == has2
    forced = os.environ.get("DLMATH_SIMD")
    expected = forced if forced in ISAS else ISAS[0]
    assert _kernels.isa() == expected


# ----------------------------------------------------------------------------- exp and log1p


def _mp_reference(f, xs, dtype, dps=40):
    """``(hi, res)``: f(x) at ``dps`` digits rounded to float64, and the rest in units of the spacing
    of ``dtype`` at the rounded value (for subnormal results, the smallest subnormal)."""
    hi = np.empty(len(xs))
    res = np.empty(len(xs))
    tiny = np.finfo(dtype).smallest_subnormal
    with mpmath.workdps(dps):
        for i, x in enumerate(xs):
            v = f(mpmath.mpf(float(x)))
            hi[i] = float(v)
            if not mpmath.isfinite(v) or abs(hi[i]) > np.finfo(dtype).max:
                res[i] = 0.0
                continue
            spacing = max(float(np.spacing(abs(dtype(hi[i])))), float(tiny))
            res[i] = float((v - mpmath.mpf(hi[i])) / spacing)
    return hi, res


def _ulps(got, hi, res, dtype):
    """|got - exact| in units of the spacing at the rounded exact value (got - hi is exact: Sterbenz)."""
    rounded = hi.astype(dtype)
    spacing = np.maximum(np.spacing(np.abs(rounded)), np.finfo(dtype).smallest_subnormal).astype(np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs((got.astype(np.float64) - hi) / spacing - res)
    return np.where((got == hi) & np.isinf(hi), 0.0, err)  # equal infinities


def _exp_points(dtype):
    rng = _rng(0)
    if dtype == np.float64:
        lo_, hi_, sub = -745.2, 709.79, -708.4  # results below 2^-1022 from x < -708.4
    else:
        lo_, hi_, sub = -103.98, 88.73, -87.34
    xs = np.concatenate(
        [
            rng.uniform(lo_, hi_, 40000),
            rng.uniform(-1, 1, 10000),
            rng.uniform(lo_, sub, 10000),  # subnormal results
            rng.uniform(hi_ - 1.5, hi_, 5000),  # the overflow edge
            np.linspace(-20, 20, 4001),
        ]
    ).astype(dtype)
    return xs[np.isfinite(xs)]


EXP_BOUND = {"avx512": 0.55, "avx2": 0.70, "baseline": 0.70}  # ulp, normal binary64 results


@pytest.fixture(scope="module")
def exp64_reference():
    xs = _exp_points(np.float64)
    return xs, *_mp_reference(mpmath.exp, xs, np.float64)


@pytest.fixture(scope="module")
def exp32_reference():
    xs = _exp_points(np.float32)
    return xs, *_mp_reference(mpmath.exp, xs, np.float32)


@pytest.mark.parametrize("isa", ISAS)
def test_exp_binary64_error_bound_against_mpmath(isa, exp64_reference):
    xs, hi, lo = exp64_reference
    with _kernels.use_isa(isa):
        got = vexp(xs)
    finite = hi <= np.finfo(np.float64).max
    np.testing.assert_array_equal(got[~finite], np.inf)  # past the overflow edge
    err = _ulps(got[finite], hi[finite], lo[finite], np.float64)
    normal = hi[finite] >= np.finfo(np.float64).tiny
    assert err[normal].max() <= EXP_BOUND[isa], err[normal].max()
    assert err[~normal].max() <= 0.8  # subnormal results: rounded twice, within 0.8 of 2^-1074
    assert (~normal).sum() > 5000


@pytest.mark.parametrize("isa", ISAS)
def test_exp_binary32_error_bound_against_mpmath(isa, exp32_reference):
    xs, hi, lo = exp32_reference
    with _kernels.use_isa(isa):
        got = vexp(xs)
    finite = hi <= np.finfo(np.float32).max
    np.testing.assert_array_equal(got[~finite], np.inf)
    err = _ulps(got[finite], hi[finite], lo[finite], np.float32)
    normal = hi[finite] >= np.finfo(np.float32).tiny
    assert err[normal].max() <= 0.70, err[normal].max()
    assert err[~normal].max() <= 0.8
    assert (~normal).sum() > 5000


@pytest.mark.parametrize("isa", ISAS)
def test_exp_lite_of_non_positive_arguments_is_within_2e_14(isa, exp64_reference):
    # the binary64 exp that the LogSumExp of binary32 rows uses: x <= 0, relative error below 2e-14
    # (a correctly rounded binary32 result needs 6e-14) down to -708, where a binary32 result cannot
    # see the term (it is below 2^-1021 of the max's 1)
    xs, hi, res = exp64_reference
    keep = (xs <= 0) & (xs >= -708)
    out = np.empty(int(keep.sum()))
    with _kernels.use_isa(isa):
        _kernels._lib.vexp(4, np.ascontiguousarray(xs[keep]), out, out.size)
    rel = _ulps(out, hi[keep], res[keep], np.float64) * np.spacing(hi[keep]) / hi[keep]
    assert rel.max() <= 2e-14, rel.max()
    with _kernels.use_isa(isa):
        _kernels._lib.vexp(4, np.array([0.0, -np.inf, np.nan, -800.0]), out[:4], 4)
    assert out[0] == 1 and out[1] <= 2**-1021 and np.isnan(out[2]) and out[3] <= 2**-1021


@pytest.mark.parametrize("isa", ISAS)
def test_exp_fast_of_non_positive_arguments_is_within_3e_10(isa, exp64_reference):
    # the binary64 exp that the rounding-checked LogSumExp of binary32 rows sums first (vexp codes
    # 7 and 8, the second without the clamp): its error bound is the check's (DL_EXP_FAST_EPS in
    # vmath.h); on AVX-512 and the baseline it is exp_lite itself
    xs, hi, res = exp64_reference
    keep = (xs <= 0) & (xs >= -708)
    a = np.ascontiguousarray(xs[keep])
    outs = {code: np.empty_like(a) for code in (4, 7, 8)}
    with _kernels.use_isa(isa):
        for code, out in outs.items():
            _kernels._lib.vexp(code, a, out, a.size)
    rel = _ulps(outs[7], hi[keep], res[keep], np.float64) * np.spacing(hi[keep]) / hi[keep]
    assert rel.max() <= 3e-10, rel.max()
    np.testing.assert_array_equal(outs[8], outs[7])
    if isa == "avx2":
        assert rel.max() > 1e-11  # the cheaper polynomial is in use here
    else:
        np.testing.assert_array_equal(outs[7], outs[4])
    out = np.empty(4)
    with _kernels.use_isa(isa):
        _kernels._lib.vexp(7, np.array([0.0, -np.inf, np.nan, -800.0]), out, 4)
    assert out[0] == 1 and out[1] <= 2**-1021 and np.isnan(out[2]) and out[3] <= 2**-1021


@pytest.mark.parametrize("isa", ISAS)
def test_exp_without_its_clamp_gives_the_same_bits_on_its_domain(isa):
    # the forms that a chunk whose arguments all lie in [-708, 0] takes (codes 5 and 6 of vexp)
    xs = np.concatenate([_rng(31).uniform(-708, 0, 20000), [0.0, -708.0, -1e-300, np.nan]])
    outs = {}
    with _kernels.use_isa(isa):
        for code in (0, 4, 5, 6):
            outs[code] = np.empty_like(xs)
            _kernels._lib.vexp(code, xs, outs[code], xs.size)
    np.testing.assert_array_equal(outs[5], outs[0])
    np.testing.assert_array_equal(outs[6], outs[4])
    assert np.isnan(outs[5][-1]) and np.isnan(outs[6][-1])


@pytest.mark.parametrize("isa", ISAS)
def test_binary32_exp_without_its_clamp_gives_the_same_bits_on_its_domain(isa):
    # the form that softmax, log-softmax and cross-entropy rows take where every shifted entry
    # lies in [-87, 0] (vexp code 9): no clamp, and on AVX2 one power of two instead of two
    xs = np.concatenate([_rng(32).uniform(-87, 0, 40000), [0.0, -87.0, -1e-30, -86.99999, np.nan]]).astype(
        np.float32
    )
    out, nc = np.empty_like(xs), np.empty_like(xs)
    with _kernels.use_isa(isa):
        _kernels._lib.vexp(1, xs, out, xs.size)
        _kernels._lib.vexp(9, xs, nc, xs.size)
    np.testing.assert_array_equal(nc, out)
    assert np.isnan(nc[-1])


@pytest.mark.parametrize("isa", ISAS)
def test_exp_special_values_and_the_edges_of_the_range(isa):
    f64 = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 709.782712893384, 709.7827128933841])
    f64_sub = np.array([-745.1332191019411, -745.1332191019412, -1000.0, 5e-324, -5e-324])
    f32 = np.array([0.0, np.inf, -np.inf, np.nan, 88.72283, 88.722839, -103.9, -104.0], np.float32)
    with _kernels.use_isa(isa):
        edge = float(mpmath.exp(709.782712893384))  # the largest x with a finite exp
        np.testing.assert_array_equal(vexp(f64), [1, 1, np.inf, 0, np.nan, edge, np.inf])
        np.testing.assert_array_equal(vexp(f64_sub), [5e-324, 0, 0, 1, 1])
        got = vexp(f32)
    np.testing.assert_array_equal(got[:4], [1, np.inf, 0, np.nan])
    assert np.isfinite(got[4]) and got[5] == np.inf
    assert got[6] == np.float32(1.4e-45) and got[7] == 0


@pytest.fixture(scope="module")
def log1p_reference():
    rng = _rng(1)
    xs = np.concatenate(
        [
            np.expm1(rng.uniform(-36, 709, 20000)),
            rng.uniform(-1, 1, 10000),
            -1 + np.ldexp(rng.random(3000), -rng.integers(1, 52, 3000)),  # close to -1
            np.ldexp(rng.random(3000), -rng.integers(20, 1074, 3000)),  # tiny and subnormal
            rng.uniform(0.4, 3.0, 5000),  # where 1 + x and the correction c matter most
            [np.finfo(np.float64).max, 5e-324, -5e-324],
        ]
    )
    return xs, *_mp_reference(mpmath.log1p, xs, np.float64)


@pytest.mark.parametrize("isa", ISAS)
def test_log1p_error_bound_against_mpmath(isa, log1p_reference):
    xs, hi, lo = log1p_reference
    with _kernels.use_isa(isa):
        got = vlog1p(xs)
    err = _ulps(got, hi, lo, np.float64)
    assert err.max() <= 0.8, (err.max(), xs[err.argmax()])
    with _kernels.use_isa(isa):
        sp = vlog1p(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -1.5, 1e-310]))
    np.testing.assert_array_equal(sp, [0.0, 0.0, np.inf, np.nan, np.nan, -np.inf, np.nan, 1e-310])
    assert np.signbit(sp[1])


# ----------------------------------------------------------------------------- the rows, on every instruction set


def _softmax64(x, tau=1.0):
    x = x.astype(np.float64) / tau
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _softmax_ld(x, tau=1.0):
    """``(p, d)`` in long double: the softmax of x/tau and the shifted d = (x - max)/tau."""
    x = x.astype(np.longdouble)
    d = (x - x.max(-1, keepdims=True)) / np.longdouble(tau)
    e = np.exp(d)
    return e / e.sum(-1, keepdims=True), d


def _matrix(shape, dtype, seed, scale=4.0):
    x = (_rng(seed).standard_normal(shape) * scale).astype(dtype)
    if shape[0] >= 4:
        x[0, 0] = np.inf
        x[1, :] = -np.inf
        x[2, 1 % shape[1]] = np.nan
        x[3, :] = x[3, 0]  # every entry a tie
    return x


SHAPES = [(9, 1), (7, 3), (33, 17), (5, 64), (4, 1000), (4, 20000)]


def _each_isa(fn):
    out = {}
    for isa in ISAS:
        with _kernels.use_isa(isa):
            out[isa] = fn()
    return out


def _close_in_ulps(a, b, scale, dtype, ulps):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    tol = ulps * np.maximum(np.spacing(np.asarray(scale, dtype=dtype)).astype(np.float64), 1e-300)
    with np.errstate(invalid="ignore"):
        return same | (np.abs(a - b) <= tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lse_rows_every_isa_is_accurate_and_agrees(shape, dtype):
    x = _matrix(shape, dtype, 2)
    got = _each_isa(lambda: _kernels.lse_rows(x))
    xl = x.astype(np.longdouble)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = xl.max(-1, keepdims=True)
        e = np.exp(xl - np.where(np.isfinite(m), m, 0))
        ref = np.where(np.isfinite(m[:, 0]), m[:, 0] + np.log(e.sum(-1)), m[:, 0])
        cond = (e * np.abs(xl)).sum(-1) / e.sum(-1)
    ref = np.where(np.isnan(x).any(-1), np.nan, ref)
    scale = np.maximum(np.abs(ref), np.nan_to_num(cond)).astype(dtype)
    bound = 1.5 if dtype == np.float64 else 0.5 + 1e-6
    for isa, out in got.items():
        assert out.dtype == dtype
        fin = np.isfinite(ref)
        np.testing.assert_array_equal(out[~fin], ref[~fin].astype(dtype))
        err = np.abs(out[fin].astype(np.longdouble) - ref[fin]) / np.spacing(scale[fin]).astype(np.longdouble)
        assert err.max() <= bound, (isa, err.max())


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_softmax_rows_every_isa_agrees_with_float64_and_each_other(shape, dtype, log):
    x = _matrix(shape, dtype, 3)
    x[np.isnan(x).any(-1)] = 0.5  # the special rows are checked against the public edge values elsewhere
    tau = 0.7
    got = _each_isa(lambda: _kernels.softmax_rows(x, log=log, temperature=tau))
    fin = np.isfinite(x).all(-1)  # rows with +-inf: the same limit on every instruction set, below
    p, d = _softmax_ld(x[fin], tau)
    ref = d - np.log(np.exp(d).sum(-1, keepdims=True)) if log else p
    cond = (p * np.abs(d)).sum(-1, keepdims=True)
    eps = float(np.finfo(dtype).eps)
    # the rounding of x - M and of 1/tau moves e^d by up to |d| u (the condition of exp) and
    # log1p(r) by up to sum_k p_k |d_k| u; on top: the exponentials (< 0.7 ulp), the scaling
    if log:
        tol = 3 * eps * (np.abs(ref) + np.abs(d) + cond)
    else:
        tol = (3 + 2 * np.abs(d)) * eps * ref
    for isa, out in got.items():
        assert out.dtype == dtype
        err = np.abs(out[fin] - ref)
        assert (err <= tol + 1e-300).all(), (isa, (err / (tol + 1e-300)).max())
    first = got[ISAS[0]]
    for out in got.values():
        np.testing.assert_array_equal(out[~fin], first[~fin])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES[1:], ids=str)
def test_cross_entropy_rows_every_isa_agrees_with_float64(shape, dtype):
    x = (_rng(4).standard_normal(shape) * 5).astype(dtype)
    t = _rng(5).integers(0, shape[1], shape[0])
    y = _rng(6).random(shape).astype(dtype)
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    ls = scipy.special.log_softmax(xd, axis=-1)
    loss_i = -ls[np.arange(shape[0]), t]
    loss_p = -(yd * ls).sum(-1)
    g_i = _softmax64(x)
    g_i[np.arange(shape[0]), t] -= 1
    g_p = yd.sum(-1, keepdims=True) * _softmax64(x) - yd
    eps = np.finfo(dtype).eps
    for isa in ISAS:
        with _kernels.use_isa(isa):
            np.testing.assert_allclose(_kernels.xent_rows(x, t), loss_i, rtol=4 * eps, atol=4 * eps)
            np.testing.assert_allclose(_kernels.xent_rows(x, y), loss_p, rtol=8 * eps * shape[1] ** 0.5)
            gi, li, zi = _kernels.xent_grad_rows(x, t, scale=0.25, loss=True)
            np.testing.assert_allclose(gi, 0.25 * g_i, rtol=4 * eps, atol=eps)
            np.testing.assert_allclose(li, loss_i, rtol=4 * eps, atol=4 * eps)
            np.testing.assert_allclose(zi, scipy.special.logsumexp(xd, -1), rtol=4 * eps)
            gp, lp, _ = _kernels.xent_grad_rows(x, y, loss=True)
            np.testing.assert_allclose(gp, g_p, rtol=8 * eps, atol=8 * eps * shape[1])
            np.testing.assert_allclose(lp, loss_p, rtol=8 * eps * shape[1] ** 0.5)
            np.testing.assert_array_equal(_kernels.xent_grad_rows(x, t, scale=0.25), gi)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES[1:], ids=str)
def test_hvp_rows_every_isa_agrees_with_float64(shape, dtype):
    z = (_rng(7).standard_normal(shape) * 3).astype(dtype)
    v = _rng(8).standard_normal(shape).astype(dtype)
    p, d = _softmax_ld(z)
    vd = v.astype(np.longdouble)
    ref = p * vd - p * (p * vd).sum(-1, keepdims=True)
    # each p_k is off by up to (c + |d_k|) u (the rounding of z - M, then exp and scaling), and p.v is
    # a sum of terms of both signs, so its error is relative to sum_k p_k |v_k| |...|, not to |p.v|
    w = (4 + 2 * np.abs(d)) * float(np.finfo(dtype).eps)
    tol = p * (w * np.abs(vd) + (w * p * np.abs(vd)).sum(-1, keepdims=True))
    for isa in ISAS:
        with _kernels.use_isa(isa):
            got = _kernels.hvp_rows(z, v)
        assert (np.abs(got - ref) <= tol + 1e-300).all(), isa


def test_confident_prediction_gradient_keeps_one_minus_p_without_cancellation():
    # the target at the maximum: p_t - 1 = -r/(1 + r), here -e^-50/(1 + e^-50); p_t - 1 computed
    # from a rounded p_t would be 0 (float64) or a multiple of 2^-24 (float32)
    for dtype in (np.float64, np.float32):
        x = np.array([[50.0, 0.0, -10.0]], dtype=dtype)
        with mpmath.workdps(40):
            r = mpmath.exp(-50) + mpmath.exp(-60)
            ref = float(-r / (1 + r))
        for isa in ISAS:
            with _kernels.use_isa(isa):
                g = _kernels.xent_grad_rows(x, np.array([0]))
            assert g[0, 0] == pytest.approx(ref, rel=4 * float(np.finfo(dtype).eps)), (dtype, isa)


# ----------------------------------------------------------------------------- states and merges


def test_lse_is_m_plus_log1p_r_of_its_state():
    x = _rng(9).standard_normal((50, 300)) * 6
    m, r = _kernels.lse_state_rows(x)
    np.testing.assert_array_equal(m, x.max(-1))
    np.testing.assert_allclose(m + np.log1p(r), scipy.special.logsumexp(x, -1), rtol=2e-16, atol=0)
    assert (r >= 0).all() and (r <= x.shape[1] - 1).all()


def test_merge_of_span_states_equals_the_state_of_the_whole():
    # (m1, r1) + (m2, r2) = (m1, r1 + (1 + r2) e^{m2 - m1}) for m1 >= m2, in any grouping
    x = _rng(10).standard_normal(5000) * 8
    parts = [x[:1000], x[1000:1700], x[1700:]]
    ms, rs = zip(*[_kernels.lse_state_rows(p[None, :]) for p in parts], strict=True)
    m, r = _kernels.merge(np.concatenate(ms), np.concatenate(rs))
    whole_m, whole_r = _kernels.lse_state_rows(x[None, :])
    assert float(m) == whole_m[0]
    assert float(r) == pytest.approx(whole_r[0], rel=4e-16)
    with mpmath.workdps(50):
        ref = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in x))
    assert abs(float(m) + math.log1p(float(r)) - ref) <= 2**-52 * abs(ref)


def test_long_rows_are_reduced_in_spans_with_the_same_answer_on_any_thread_count(monkeypatch):
    x = (_rng(11).standard_normal((3, 5 * _kernels.SPAN + 123)) * 5).astype(np.float32)
    x[1, 3 * _kernels.SPAN + 7] = np.nan
    outs = []
    for n in ("1", "2", "5"):
        monkeypatch.setenv("DLMATH_NUM_THREADS", n)
        outs.append(_kernels.lse_rows(x))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    ref = scipy.special.logsumexp(x.astype(np.float64), axis=-1).astype(np.float32)
    np.testing.assert_array_equal(np.isnan(outs[0]), [False, True, False])
    np.testing.assert_array_equal(outs[0][[0, 2]], ref[[0, 2]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, t: _kernels.softmax_rows(x),
        lambda x, t: _kernels.softmax_rows(x, log=True),
        lambda x, t: _kernels.xent_rows(x, t),
        lambda x, t: _kernels.xent_grad_rows(x, t, scale=0.5),
        lambda x, t: _kernels.hvp_rows(x, x[::-1].copy()),
    ],
    ids=["softmax", "log_softmax", "xent", "xent_grad", "hvp"],
)
def test_rows_do_not_depend_on_the_thread_count(fn, monkeypatch):
    x = (_rng(12).standard_normal((3000, 257)) * 4).astype(np.float32)
    t = _rng(13).integers(0, 257, 3000)
    outs = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv("DLMATH_NUM_THREADS", n)
        outs.append(fn(x, t))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("isa", ISAS)
def test_every_float16_value_survives_a_one_element_lse(isa):
    # LSE of one element is the element: float16 -> float32 -> float64 -> float16 exactly (NaN stays
    # NaN; -0 gives +0 = -0 + log1p(0), as log(exp(-0)) does)
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(-1, 1)
    with _kernels.use_isa(isa):
        out = _kernels.lse_rows(x)
    same = (out.view(np.uint16) == x[:, 0].view(np.uint16)) | (np.isnan(out) & np.isnan(x[:, 0]))
    np.testing.assert_array_equal(np.flatnonzero(~same), [0x8000])
    assert out[0x8000] == 0 and not np.signbit(out[0x8000])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("K", [5, 16, 17, 300, 2048, 2049])
def test_lse_and_softmax_from_one_pass_are_the_two_kernels(isa, dtype, K):
    # the LSE has lse_rows' bits (its rounding check included); p is the softmax against an
    # 80-bit reference: within 2 ulps (the roundings of e and of the scaling) for float32 and
    # float16 rows of one pass, whose shifts d = x - M and sums are exact or in float64; the
    # others (softmax_rows, float32 shifts) add the rounding of d (exp's condition number |d|),
    # and float64 rows that too and the row's sum's (within K/8 of u = 2^-53)
    x = (_rng(40).standard_normal((150, K)) * 4).astype(dtype)
    x[0] = -np.inf
    x[1, 0] = np.inf
    x[2, 1] = np.nan
    x[3, : min(K, 3)] = x[3].max()  # ties
    x[4, 1:] = -np.inf
    x[5, 1:] = x[5, 0] - 800 if dtype == np.float64 else x[5, 0] - 100  # terms past the clamp
    with _kernels.use_isa(isa):
        lse, p = _kernels.lse_softmax_rows(x)
        np.testing.assert_array_equal(lse, _kernels.lse_rows(x))
        np.testing.assert_array_equal(p[:3], _kernels.softmax_rows(x[:3]))
    assert p.dtype == dtype and lse.dtype == dtype
    xl = x[3:].astype(np.longdouble)
    d = xl - xl.max(axis=1, keepdims=True)
    ref = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    err = np.abs(p[3:] - ref) / np.spacing(np.maximum(ref, np.finfo(dtype).tiny).astype(dtype))
    one_pass = 16 < K <= 2048
    bound = 2 + 2 * np.abs(d) + K / 4 if dtype == np.float64 else 2 if one_pass else 2 + 2 * np.abs(d)
    assert np.all(err <= bound), err.max()


@pytest.mark.parametrize("isa", ISAS)
def test_float16_rows_are_the_float32_rows_rounded_once(isa):
    x = (_rng(14).standard_normal((40, 300)) * 3).astype(np.float16)
    v = _rng(15).standard_normal((40, 300)).astype(np.float16)
    with _kernels.use_isa(isa):
        for f in (
            lambda a: _kernels.softmax_rows(a),
            lambda a: _kernels.softmax_rows(a, log=True),
            lambda a: _kernels.hvp_rows(a, v if a.dtype == np.float16 else v.astype(np.float32)),
        ):
            np.testing.assert_array_equal(f(x), f(x.astype(np.float32)).astype(np.float16))
        # the LogSumExp itself is computed in float64 for float16 too, and rounded once
        ref = scipy.special.logsumexp(x.astype(np.float64), axis=-1)
        np.testing.assert_array_equal(_kernels.lse_rows(x), ref.astype(np.float16))
        # the cross-entropy family: per-row results in float64 from the widened rows, the gradient
        # rounded once from float32
        x32 = x.astype(np.float32)
        for target in (_rng(30).integers(0, 300, 40), np.abs(v)):
            t32 = target if target.dtype.kind == "i" else target.astype(np.float32)
            np.testing.assert_array_equal(_kernels.xent_rows(x, target), _kernels.xent_rows(x32, t32))
            g, loss, lse = _kernels.xent_grad_rows(x, target, scale=0.5, loss=True)
            g32, loss32, lse32 = _kernels.xent_grad_rows(x32, t32, scale=0.5, loss=True)
            np.testing.assert_array_equal(g, g32.astype(np.float16))
            np.testing.assert_array_equal(loss, loss32)
            np.testing.assert_array_equal(lse, lse32)


def test_bfloat16_rows_are_computed_in_float32():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays come from ml_dtypes")
    bf16 = ml_dtypes.bfloat16
    bits = np.arange(1 << 16, dtype=np.uint16).view(bf16).reshape(-1, 1)
    for isa in ISAS:
        with _kernels.use_isa(isa):
            one = _kernels.lse_rows(bits)
            same = (one.view(np.uint16) == bits[:, 0].view(np.uint16)) | (
                np.isnan(one.astype(np.float32)) & np.isnan(bits[:, 0].astype(np.float32))
            )
            np.testing.assert_array_equal(np.flatnonzero(~same), [0x8000])  # -0 gives +0
            x = (_rng(16).standard_normal((20, 100)) * 3).astype(bf16)
            t = _rng(17).integers(0, 100, 20)
            got = _kernels.softmax_rows(x)
            assert got.dtype == bf16
            ref = _kernels.softmax_rows(x.astype(np.float32)).astype(bf16)
            np.testing.assert_array_equal(got.astype(np.float32), ref.astype(np.float32))
            g = _kernels.xent_grad_rows(x, t)
            np.testing.assert_array_equal(
                g.astype(np.float32),
                _kernels.xent_grad_rows(x.astype(np.float32), t).astype(bf16).astype(np.float32),
            )
            np.testing.assert_allclose(
                _kernels.lse_rows(x).astype(np.float64),
                scipy.special.logsumexp(x.astype(np.float64), axis=-1),
                rtol=2**-8,
            )


# ----------------------------------------------------------------------------- the two paths


def _agree(a, b, tol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        return (np.isnan(a) & np.isnan(b)) | (a == b) | (np.abs(a - b) <= tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=["float64", "float32", "float16"])
def test_kernel_and_numpy_paths_agree_on_every_public_function(dtype):
    # LSE: both paths round a float64 value once for float16/32 (equal but for a near-tie) and keep
    # m + log1p(r) in float64 (2 ulps). The normalisations and the cross-entropy family differ by the
    # rounding of their exponentials and sums: 8 ulps at the condition scale (for the HVP that is
    # p (|v| + sum p|v|), as p.v cancels), float16 results are rounded from float32 on both paths.
    x = _matrix((300, 61), dtype, 26, scale=6.0)
    x[np.isnan(x).any(-1)] = 1.0
    t = _rng(27).integers(0, 61, 300)
    y = _rng(28).random(x.shape).astype(dtype)
    v = _rng(29).standard_normal(x.shape).astype(dtype)
    eps = float(np.finfo(dtype).eps)
    ulps = {np.float64: 8, np.float32: 8, np.float16: 2}[dtype]
    p = _softmax64(np.where(np.isfinite(x).all(-1, keepdims=True), x, 0))
    hvp_scale = p * (np.abs(v) + (p * np.abs(v)).sum(-1, keepdims=True))
    fns = {
        "logsumexp": lambda: dlmath.logsumexp(x, axis=-1),
        "logsumexp all": lambda: dlmath.logsumexp(x[4:]),
        "softmax": lambda: dlmath.softmax(x, temperature=0.5),
        "log_softmax": lambda: dlmath.log_softmax(x, axis=0),
        "cross_entropy index": lambda: dlmath.cross_entropy(x, t, reduction="none"),
        "cross_entropy weights": lambda: dlmath.cross_entropy(x, y, reduction="sum"),
        "cross_entropy_grad index": lambda: dlmath.cross_entropy_grad(x, t),
        "cross_entropy_grad weights": lambda: dlmath.cross_entropy_grad(x, y, reduction="none"),
        "softmax_hvp": lambda: dlmath.softmax_hvp(x, v),
    }
    big = np.abs(x[np.isfinite(x)]).max()
    for name, f in fns.items():
        fast = f()
        with _kernels.off():
            slow = f()
        assert type(fast) is type(slow) and fast.dtype == slow.dtype and fast.shape == slow.shape, name
        mag = np.abs(np.asarray(slow, np.float64))
        mag = np.where(np.isfinite(mag), mag, 0.0)
        if name.startswith("logsumexp"):
            tol = (2 if dtype == np.float64 else 1) * np.maximum(mag, big) * eps
        elif name == "softmax_hvp":
            tol = ulps * eps * hvp_scale
        elif "grad" in name:
            tol = ulps * eps * mag.max()
        else:  # log-probabilities: their size and the shifted logits' (the condition scale)
            tol = ulps * eps * np.maximum(mag, big if name != "softmax" else 0)
        ok = _agree(fast, slow, tol)
        assert ok.all(), (name, np.argwhere(~ok)[:3])


# ----------------------------------------------------------------------------- the Python face


def test_face_checks_its_arguments():
    x = np.zeros((3, 4))
    with pytest.raises(TypeError, match="lse_rows: dtype int64 is not one of"):
        _kernels.lse_rows(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(TypeError, match="native byte order"):
        _kernels.softmax_rows(x.astype(">f8"))
    with pytest.raises(ValueError, match="contiguous rows"):
        _kernels.softmax_rows(np.zeros((4, 6))[:, ::2])
    with pytest.raises(ValueError, match="2-D"):
        _kernels.lse_rows(np.zeros(4))
    with pytest.raises(ValueError, match="out must have shape"):
        _kernels.softmax_rows(x, out=np.empty((3, 4), np.float32))
    with pytest.raises(IndexError, match="row 2"):
        _kernels.xent_rows(x, np.array([0, 3, 4]))
    with pytest.raises(IndexError, match="row 0"):
        _kernels.xent_grad_rows(x, np.array([-1, 0, 0], dtype=np.int32))
    with pytest.raises(ValueError, match="row 1"):
        _kernels.xent_rows(x, np.array([[0, 1, 0, 0], [0, np.nan, 0, 0], [1, 0, 0, 0.0]]))
    with pytest.raises(ValueError, match="row 2"):
        _kernels.xent_grad_rows(x, np.array([[0, 1, 0, 0], [0, 1, 0, 0], [1, 0, -1e-300, 0.0]]))


def test_face_takes_strided_rows_and_writes_into_out():
    big = _rng(18).standard_normal((10, 12))
    view = big[::2, :7]  # row stride 24 elements, rows of 7
    out = np.full((10, 7), np.nan)
    got = _kernels.softmax_rows(view, out=out[::2])
    assert got.base is out or got is out[::2] or np.shares_memory(got, out)
    np.testing.assert_array_equal(out[::2], _kernels.softmax_rows(view.copy()))
    assert np.isnan(out[1::2]).all()


def test_kernels_never_write_past_the_rows_they_are_given():
    x = _rng(19).standard_normal((6, 37)).astype(np.float32)
    guard = np.full((8, 37), 7.0, np.float32)
    _kernels.softmax_rows(x, out=guard[1:7])
    _kernels.xent_grad_rows(x, np.zeros(6, dtype=np.int64), out=guard[1:7])
    _kernels.hvp_rows(x, x, out=guard[1:7])
    assert (guard[0] == 7).all() and (guard[7] == 7).all()


# ----------------------------------------------------------------------------- memory


def _peak(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize(
    "f",
    [
        lambda z, t, v: dlmath.softmax(z),
        lambda z, t, v: dlmath.log_softmax(z),
        lambda z, t, v: dlmath.cross_entropy_grad(z, t),
        lambda z, t, v: dlmath.softmax_hvp(z, v),
    ],
    ids=["softmax", "log_softmax", "cross_entropy_grad", "softmax_hvp"],
)
def test_public_functions_allocate_their_output_and_little_else(f):
    z = (_rng(20).standard_normal((512, 2000)) * 3).astype(np.float32)
    t = _rng(21).integers(0, 2000, 512)
    v = _rng(22).standard_normal(z.shape).astype(np.float32)
    peak, out = _peak(lambda: f(z, t, v))
    assert out.nbytes <= peak <= out.nbytes + (1 << 20)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_reductions_allocate_no_input_sized_temporary(reduction):
    z = (_rng(23).standard_normal((512, 2000)) * 3).astype(np.float32)
    t = _rng(24).integers(0, 2000, 512)
    y = _rng(25).random(z.shape).astype(np.float32)
    for f in (lambda: dlmath.logsumexp(z, axis=-1), lambda: dlmath.cross_entropy(z, t, reduction=reduction)):
        assert _peak(f)[0] <= 1 << 20
    assert _peak(lambda: dlmath.cross_entropy(z, y, reduction=reduction))[0] <= 1 << 20


# ----------------------------------------------------------------------------- the switches


def _run(code, **env):
    full = {**os.environ, **env}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_environment_switches_choose_the_path():
    code = "import dlmath._kernels as k, numpy as np, dlmath; dlmath.logsumexp(np.ones(3)); print(k.isa())"
    assert _run(code, DLMATH_KERNELS="numpy").stdout.strip() == "numpy"
    assert _run(code, DLMATH_SIMD="baseline").stdout.strip() == "baseline"
    if "avx2" in ISAS:
        assert _run(code, DLMATH_SIMD="avx2").stdout.strip() == "avx2"
    proc = _run(code, DLMATH_SIMD="sse9")
    assert proc.stdout.strip() == ISAS[0] and "DLMATH_SIMD='sse9' is not one of" in proc.stderr


def test_a_missing_extension_warns_once_and_the_numpy_path_answers():
    code = (
        "import sys, warnings\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'dlmath._kernels._native': raise ImportError('blocked for the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, dlmath\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    a = dlmath.logsumexp(np.array([0.0, -40.0]))\n"
        "    b = dlmath.softmax(np.array([1.0, 2.0]))\n"
        "msgs = [str(x.message) for x in w]\n"
        "assert len(msgs) == 1 and 'compiled kernels are not available' in msgs[0], msgs\n"
        "assert a == 4.248354255291589e-18 and abs(b.sum() - 1) < 1e-15\n"
        "import dlmath._kernels as k; print(k.isa())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DLMATH_KERNELS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "numpy"
