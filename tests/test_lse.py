"""The LogSumExp family (logsumexp, smooth_max, softmax, log_softmax) against independent references.

Accuracy is measured against mpmath at 60 digits, computed here from the exact binary values of the
inputs, and compared with SciPy's and PyTorch's errors on the same inputs. Errors are counted in
ulps of the output dtype at the scale ``max(|LSE|, sum_i p_i |x_i|)``: the second term is the
condition scale (a relative rounding of the inputs moves the result by up to ``u * sum_i p_i |x_i|``),
which only matters where the result cancels to near 0 (log-probabilities), and equals ``|LSE|`` or
less everywhere else.
"""

from __future__ import annotations

import contextlib
import functools
import math

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmath import _kernels, _lse_kernel, log_softmax, logsumexp, smooth_max, softmax

FUNCS = [logsumexp, smooth_max, softmax, log_softmax]
REDUCTIONS = [logsumexp, smooth_max]
NORMALISATIONS = [softmax, log_softmax]

# ----------------------------------------------------------------------------- mpmath reference


def mp_lse(values, counts=None):
    """``(LSE, sum_i p_i |x_i|)`` of the exact binary values, at 60 digits.

    Equal values are grouped (``counts`` gives multiplicities), so a 10**6-element input built
    from a few thousand distinct values costs a few thousand mpmath exponentials.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    counts = np.ones(values.shape, dtype=np.int64) if counts is None else np.asarray(counts)
    if values.size and not np.isnan(values).any():  # one exponential per distinct value
        values, inverse = np.unique(values, return_inverse=True)
        counts = np.bincount(inverse, weights=counts).astype(np.int64)
    with mpmath.workdps(60):
        if values.size == 0 or np.all(values == -np.inf):
            return -math.inf, 0.0
        if np.isnan(values).any():
            return math.nan, 0.0
        if (values == np.inf).any():
            return math.inf, 0.0
        keep = values > -np.inf
        xs = [mpmath.mpf(float(v)) for v in values[keep]]
        cs = [int(c) for c in counts[keep]]
        top = max(xs)
        ws = [c * mpmath.exp(x - top) for x, c in zip(xs, cs, strict=True)]
        total = mpmath.fsum(ws)
        lse = top + mpmath.log(total)
        cond = mpmath.fsum(w * abs(x) for w, x in zip(ws, xs, strict=True)) / total
        return lse, float(cond)


def ulp_error(got, ref, cond, dtype):
    """``|got - ref|`` in ulps of ``dtype`` at the scale ``max(|ref|, cond)``; 0 for equal specials."""
    got = float(got)
    if math.isnan(got) or math.isinf(got) or not mpmath.isfinite(ref):
        same = (math.isnan(got) and mpmath.isnan(ref)) or got == ref
        return 0.0 if same else math.inf
    scale = max(abs(float(ref)), cond)
    unit = float(np.spacing(dtype.type(scale))) if scale > 0 else float(np.finfo(dtype).smallest_subnormal)
    with mpmath.workdps(60):
        return float(abs(mpmath.mpf(got) - ref) / unit)


def scipy_lse(x):
    import scipy.special

    return scipy.special.logsumexp(x)


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - PyTorch is a test dependency
        return None
    return torch


def torch_lse(x):
    torch = _torch()
    return torch.logsumexp(torch.from_numpy(np.ascontiguousarray(x)), dim=0).item()


def _rng(seed):
    return np.random.default_rng(seed)


def _cases():
    """name -> (values, counts or None, build(dtype) -> the array fed to every implementation)."""
    rng = _rng(20240611)
    distinct = np.round(rng.standard_normal(2000) * 4, 3)
    counts = rng.integers(1, 1000, size=distinct.size)
    big_order = rng.permutation(int(counts.sum()))
    probs = rng.dirichlet(np.full(1000, 0.3))
    sub_probs = rng.dirichlet(np.ones(50)) * 0.37
    return {
        "dominant [0, -40]": [0.0, -40.0],
        "dominant [0, -20, -30]": [0.0, -20.0, -30.0],
        "dominant [1, -39] (shifted)": [1.0, -39.0],
        "dominant [0] + 1000 x -40": [0.0] + [-40.0] * 1000,
        "dominant [-3, -50, -45]": [-3.0, -50.0, -45.0],
        "overflow [1000, 1000]": [1000.0, 1000.0],
        "overflow [1000, 999, 990]": [1000.0, 999.0, 990.0],
        "overflow [710, 709.5, -inf]": [710.0, 709.5, -np.inf],
        "underflow [-1000, -1001]": [-1000.0, -1001.0],
        "huge [1e300, 1e300] (f32: 3e38)": "huge",
        "many equal: 1e5 x 3.7": [3.7] * 100_000,
        "many equal: 1000 x 0": [0.0] * 1000,
        "ties at the top [2, 2, 2, -1]": [2.0, 2.0, 2.0, -1.0],
        "-inf mixed [-inf, 0, -inf, -40]": [-np.inf, 0.0, -np.inf, -40.0],
        "-inf mixed [-inf, 1.5, 1.5]": [-np.inf, 1.5, 1.5],
        "length 1 [2.5]": [2.5],
        "length 1 [-7e3]": [-7000.0],
        "length 1e6 from 2000 distinct values": (distinct, counts, big_order),
        "log-probabilities (1000, Dirichlet)": np.log(probs),
        "log-probabilities of a 0.37-mass subset": np.log(sub_probs),
        "log-probabilities, peaked": np.log(np.array([1 - 3e-6, 1e-6, 2e-6])),
    }


CASES = _cases()


def _materialise(spec, dtype):
    """The input array in ``dtype`` and its exact reference ``(values, counts)``."""
    if isinstance(spec, str):  # "huge": the largest finite values the dtype holds
        big = 1e300 if dtype == np.float64 else 3e38
        x = np.array([big, big, big / 2], dtype=dtype)
        return x, (x, None)
    if isinstance(spec, tuple):
        distinct, counts, order = spec
        d = distinct.astype(dtype)
        x = np.repeat(d, counts)[order]
        return x, (d, counts)
    x = np.asarray(spec, dtype=np.float64).astype(dtype)
    return x, (x, None)


# the compiled kernels on every instruction set this CPU runs, or the NumPy path without them
PATHS = _kernels.isas() if _kernels.available() else ("numpy",)


def _on(path):
    return contextlib.nullcontext() if path == "numpy" else _kernels.use_isa(path)


@functools.cache
def _adversarial(case, dtype):
    x, (values, counts) = _materialise(CASES[case], dtype)
    return x, mp_lse(values, counts)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_lse_adversarial_accuracy_beats_scipy_and_torch(case, dtype, path):
    x, (ref, cond) = _adversarial(case, dtype)
    dt = np.dtype(dtype)
    with _on(path):
        ours = logsumexp(x)
    assert ours.dtype == dt
    err = ulp_error(ours, ref, cond, dt)
    peers = {"scipy": ulp_error(scipy_lse(x), ref, cond, dt)}
    if _torch() is not None:
        peers["torch"] = ulp_error(torch_lse(x), ref, cond, dt)
    best = min(peers.values())
    msg = f"{case} {dt}: dlmath {err:.3g} ulp, peers {peers}"
    # at least as accurate as the best peer (up to the final rounding), and within 2 ulps everywhere
    assert err <= max(best, 1.0), msg
    assert err <= 2.0, msg
    if "torch" not in peers:  # pragma: no cover - PyTorch is a test dependency
        pytest.skip("PyTorch is not installed: compared with SciPy only")


def test_lse_torch_float32_dominant_term_is_the_known_failure():
    # the example: PyTorch loses e^-40 against 1 in float32; dlmath keeps it
    torch = pytest.importorskip("torch", reason="documents a PyTorch failure")
    x = np.array([0.0, -40.0], dtype=np.float32)
    ref, cond = mp_lse(x)
    t = torch.logsumexp(torch.from_numpy(x), dim=0).item()
    assert ulp_error(t, ref, 0.0, np.dtype(np.float32)) > 1e6
    assert ulp_error(logsumexp(x), ref, 0.0, np.dtype(np.float32)) <= 0.5


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("shape", [(3000, 5), (40, 3000), (6, 200_000)], ids=["narrow", "wide", "long"])
def test_lse_rows_of_every_kernel_path_are_accurate(shape, dtype):
    # narrow (K < 32, transposed), wide and long rows (cut into blocks, then merged), many rows
    # spread over threads; the reference is the shifted formula in 80-bit long double, and the
    # error is in ulps at the condition scale (see the module docstring). float16/32 are computed
    # in float64, so they round correctly; float64 keeps the final m + log1p(r) roundings.
    x = (_rng(7).standard_normal(shape) * 5).astype(dtype)
    x[0, :] = -np.inf
    x[1, 0] = np.inf
    x[2, 1] = np.nan
    x[3, :2] = x[3, 2]  # ties
    xl = x[4:].astype(np.longdouble)
    m = np.max(xl, axis=-1, keepdims=True)
    e = np.exp(xl - m)
    ref = m[:, 0] + np.log(np.sum(e, axis=-1))
    cond = np.sum(e * np.abs(xl), axis=-1) / np.sum(e, axis=-1)
    got = logsumexp(x, axis=-1)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got[:3], [-np.inf, np.inf, np.nan])
    scale = np.maximum(np.abs(ref), cond).astype(dtype)
    err = np.abs(got[4:] - ref) / np.spacing(scale).astype(np.longdouble)
    assert err.max() <= (1.5 if dtype == np.float64 else 0.5 + 1e-6)


def _lse_longdouble(x):
    xl = x.astype(np.longdouble)
    m = xl.max(axis=1, keepdims=True)
    e = np.exp(xl - m)
    return m[:, 0] + np.log(e.sum(axis=1)), (e * np.abs(xl)).sum(axis=1) / e.sum(axis=1)


@pytest.mark.parametrize("isa", _kernels.isas() if _kernels.available() else ())
def test_float32_lse_rounds_correctly_on_rows_near_a_rounding_boundary(isa):
    # On AVX2 the kernel first sums with a cheaper exponential (relative error 3e-10) and redoes a
    # row whose error bound straddles a rounding boundary of float32: among 2e5 random rows some
    # hundreds lie that close to one. Every row must still round as the 80-bit reference does, on
    # every ISA, for rows within one chunk and rows of two.
    rng = _rng(5)
    x = (rng.standard_normal((200_000, 24)) * rng.choice([0.3, 1.0, 3.0], (200_000, 1))).astype(np.float32)
    wide = np.ascontiguousarray(np.repeat(x[:2000], 100, axis=1))  # 2400 entries: two chunks
    with _kernels.use_isa(isa):
        got, got_wide = _kernels.lse_rows(x), _kernels.lse_rows(wide)
    np.testing.assert_array_equal(got, _lse_longdouble(x)[0].astype(np.float32))
    np.testing.assert_array_equal(got_wide, _lse_longdouble(wide)[0].astype(np.float32))


@pytest.mark.parametrize("isa", _kernels.isas() if _kernels.available() else ())
def test_float32_lse_of_log_probabilities_keeps_its_bound(isa):
    # rows of log-probabilities: an LSE near 0, whose ulp is far below the cheaper sum's error
    # bound, so on AVX2 every such row is redone (and, after one block, summed carefully at once);
    # the result is within 0.5 ulp at the condition scale, as every float32 LSE
    x = (_rng(6).standard_normal((3000, 300)) * 3).astype(np.float32)
    ref, _ = _lse_longdouble(x)
    x = (x.astype(np.longdouble) - ref[:, None]).astype(np.float32)
    ref, cond = _lse_longdouble(x)
    assert np.all(np.abs(ref) < 1e-5)
    with _kernels.use_isa(isa):
        got = _kernels.lse_rows(x)
    scale = np.maximum(np.abs(ref), cond).astype(np.float32)
    err = np.abs(got - ref) / np.spacing(scale).astype(np.longdouble)
    assert err.max() <= 0.5 + 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_lse_mixed_rows_choose_their_own_shift(dtype):
    # one array holding rows that need the max-shift and rows that do not, in both layouts
    rows = [[0.0, -40.0], [1000.0, 999.0], [-np.inf, -np.inf], [650.0, 0.0], [-650.0, -651.0], [3.0, 3.0]]
    for pad in (0, 40):  # K = 2 (narrow kernel) and K = 42 (wide kernel)
        x = np.array([r + [-np.inf] * pad for r in rows], dtype=dtype)
        got = logsumexp(x, axis=-1)
        for row, g in zip(x, got, strict=True):
            ref, cond = mp_lse(row)
            assert ulp_error(g, ref, cond, np.dtype(dtype)) <= 1.0, (row[:2], g)


@pytest.mark.parametrize("layout", ["reversed", "fortran", "strided"])
def test_lse_of_non_contiguous_views_equals_contiguous_copies(layout):
    base = _rng(11).standard_normal((64, 40)) * 6
    view = {"reversed": base[::-1, ::-1], "fortran": np.asfortranarray(base), "strided": base[::2, ::3]}[
        layout
    ]
    for axis in (None, 0, -1):
        np.testing.assert_array_equal(logsumexp(view, axis=axis), logsumexp(view.copy(order="C"), axis=axis))


def test_lse_does_not_depend_on_the_thread_count(monkeypatch):
    x = _rng(3).standard_normal((300_000, 8)) * 3
    y = _rng(4).standard_normal(3_000_000) * 3
    outs = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv("DLMATH_NUM_THREADS", n)
        outs.append((logsumexp(x, axis=-1), logsumexp(y)))
    for a, b in outs[1:]:
        np.testing.assert_array_equal(a, outs[0][0])
        assert b == outs[0][1]


def test_log_softmax_keeps_tiny_complements():
    x = np.array([0.0, -40.0, -45.0])
    with mpmath.workdps(60):
        xs = [mpmath.mpf(v) for v in x]
        z = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs))
        ref = [float(v - z) for v in xs]
        pref = [float(mpmath.exp(v - z)) for v in xs]
    np.testing.assert_allclose(log_softmax(x), ref, rtol=2**-52, atol=0)
    np.testing.assert_allclose(softmax(x), pref, rtol=2**-51, atol=0)
    np.testing.assert_allclose(log_softmax(x.astype(np.float32)), np.float32(ref), rtol=2**-23, atol=0)


def test_smooth_max_of_two_numbers_is_a_plus_log1p():
    a, b, tau = 3.0, 1.0, 0.25
    with mpmath.workdps(60):
        ref = a + tau * mpmath.log1p(mpmath.exp(-(a - b) / tau))
    assert ulp_error(smooth_max([a, b], temperature=tau), ref, 0.0, np.dtype(np.float64)) <= 1.0


# ----------------------------------------------------------------------------- properties

f64 = st.floats(-300, 300, allow_nan=False, width=64)


def vectors(min_size=1, max_size=30, elements=f64):
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=elements)


@given(vectors(), st.floats(-500, 500))
def test_lse_shift_invariance(x, c):
    lhs = logsumexp(x + c)
    rhs = logsumexp(x) + c
    # x + c and the sum are rounded: a few units of the largest magnitude involved
    scale = np.max(np.abs(x)) + abs(c) + abs(rhs)
    assert abs(lhs - rhs) <= 8 * np.finfo(np.float64).eps * scale


@given(vectors(), st.floats(1e-3, 1e3))
def test_smooth_max_between_max_and_max_plus_tau_log_n(x, tau):
    s = smooth_max(x, temperature=tau)
    mx = np.max(x)
    slack = 4 * np.finfo(np.float64).eps * (abs(mx) + tau * math.log(x.size) + 1e-300)
    assert mx - slack <= s <= mx + tau * math.log(x.size) + slack


@given(vectors())
def test_lse_is_at_least_the_max_and_at_most_max_plus_log_n(x):
    s = logsumexp(x)
    assert np.max(x) <= s <= np.max(x) + math.log(x.size) * (1 + 1e-15) + 1e-13


@given(vectors(2, 20, st.floats(-30, 30)), st.data())
def test_softmax_is_the_gradient_of_lse(x, data):
    # central differences in one random unit direction t: <softmax(x), t> ~ (L(x+ht) - L(x-ht)) / 2h
    t = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1, 1)))
    norm = np.linalg.norm(t)
    if norm < 1e-3:
        t = np.ones_like(x)
        norm = np.linalg.norm(t)
    t = t / norm
    h = 1e-5
    fd = (logsumexp(x + h * t) - logsumexp(x - h * t)) / (2 * h)
    # truncation <= h^2 |L'''| / 6 <= 1e-10; rounding <= 2 eps |L| / h ~ 3e-10 for |L| <= 40
    assert abs(fd - softmax(x) @ t) <= 1e-9


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=f64),
    st.data(),
)
def test_softmax_is_a_distribution(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    p = softmax(x, axis=axis)
    assert np.all((p >= 0) & (p <= 1))
    n = x.shape[axis]
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=0, atol=(n + 1) * np.finfo(np.float64).eps)


@given(vectors(1, 30, st.floats(-50, 50)), st.floats(0.1, 10))
def test_log_softmax_is_log_of_softmax(x, tau):
    p = softmax(x, temperature=tau)
    lp = log_softmax(x, temperature=tau)
    assert np.all(lp <= 0)
    ok = p > 1e-280
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(lp[ok], np.log(p[ok]), rtol=1e-13, atol=4e-15)


AXES = [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("f", REDUCTIONS, ids=lambda f: f.__name__)
def test_reduction_axis_equals_moving_axes_last(f, dtype, axis, keepdims):
    x = (_rng(5).standard_normal((3, 4, 5)) * 3).astype(dtype)
    got = f(x, axis=axis, keepdims=keepdims)
    axes = tuple(range(3)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(sorted(a % 3 for a in axes))  # a set of axes: (2, 0) means (0, 2)
    rest = [i for i in range(3) if i not in axes]
    moved = np.transpose(x, rest + list(axes)).reshape([x.shape[i] for i in rest] + [-1])
    ref = f(moved, axis=-1)
    if keepdims:
        ref = ref.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
    assert got.dtype == dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f", NORMALISATIONS, ids=lambda f: f.__name__)
def test_normalisation_axis_equals_moving_axes_last(f, dtype, axis):
    x = (_rng(6).standard_normal((3, 4, 5)) * 3).astype(dtype)
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(a % 3 for a in axes)
    rest = [i for i in range(3) if i not in axes]
    order = rest + list(axes)
    moved = np.transpose(x, order)
    flat = moved.reshape([x.shape[i] for i in rest] + [-1])
    ref = f(flat, axis=-1).reshape(moved.shape)
    ref = np.transpose(ref, np.argsort(order))
    got = f(x, axis=axis)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)


# ----------------------------------------------------------------------------- edge values


@pytest.mark.parametrize("f", REDUCTIONS, ids=lambda f: f.__name__)
def test_edge_values_of_reductions(f):
    inf, nan = math.inf, math.nan
    assert f(np.array([])) == -inf
    np.testing.assert_array_equal(f(np.zeros((3, 0)), axis=-1), [-inf] * 3)
    np.testing.assert_array_equal(f(np.zeros((0, 3)), axis=0), [-inf] * 3)
    assert f(np.zeros((0, 3)), axis=-1).shape == (0,)
    assert f(np.array([-inf, -inf])) == -inf
    assert f(np.array([inf, 1.0, -inf])) == inf
    assert f(np.array([inf, inf])) == inf
    assert np.isnan(f(np.array([nan, 1.0])))
    assert np.isnan(f(np.array([nan, inf])))
    assert np.isnan(f(np.array([-inf, nan])))
    np.testing.assert_array_equal(
        f(np.array([[1.0, nan], [-inf, -inf], [inf, 0.0]]), axis=1), [nan, -inf, inf]
    )


def test_edge_values_of_normalisations():
    inf, nan = math.inf, math.nan
    np.testing.assert_array_equal(softmax(np.array([inf, 0.0, inf])), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(log_softmax(np.array([-inf, 0.0])), [-inf, 0.0])
    assert np.isnan(softmax(np.array([-inf, -inf]))).all()
    assert np.isnan(log_softmax(np.array([nan, 0.0]))).all()
    assert softmax(np.zeros((2, 0))).shape == (2, 0)
    assert log_softmax(np.zeros((0,))).shape == (0,)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtype_in_same_dtype_out(f, dtype):
    assert f(np.array([[1.0, 2.0, 3.0]], dtype=dtype), axis=-1).dtype == dtype


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [[1, 2, 3], [True, False], np.arange(4, dtype=np.uint8)], ids=str)
def test_ints_and_bools_promote_to_float64(f, x):
    out = f(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, f(np.asarray(x, dtype=np.float64)), rtol=0, atol=0)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_complex_is_a_type_error_naming_function_and_argument(f):
    with pytest.raises(TypeError, match=rf"{f.__name__}: argument 'x' must be real; got complex"):
        f(np.array([1 + 1j]))


@pytest.mark.parametrize(
    "axis, exc, pattern",
    [
        (2, ValueError, r"'axis' 2 is out of range .* 2 dimensions \(expected -2 <= axis < 2\)"),
        ((0, 0), ValueError, r"'axis' contains a repeated axis: \(0, 0\)"),
        (1.5, TypeError, r"'axis' must be None, an int or a tuple of ints; got 1.5"),
        (True, TypeError, r"'axis' must be None, an int or a tuple of ints; got True"),
    ],
)
@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_bad_axis_names_function_argument_expected_and_received(f, axis, exc, pattern):
    with pytest.raises(exc, match=rf"^{f.__name__}: {pattern}"):
        f(np.zeros((2, 3)), axis=axis)


@pytest.mark.parametrize("tau", [0.0, -1.0, math.inf, math.nan])
@pytest.mark.parametrize("f", [smooth_max, softmax, log_softmax], ids=lambda f: f.__name__)
def test_bad_temperature_names_function_argument_expected_and_received(f, tau):
    with pytest.raises(ValueError, match=rf"^{f.__name__}: 'temperature' must be finite and > 0; got {tau}"):
        f(np.zeros(3), temperature=tau)


@pytest.mark.parametrize("tau", ["1", None, True, np.array([1.0])], ids=repr)
def test_non_numeric_temperature_is_a_type_error(tau):
    with pytest.raises(TypeError, match=r"^smooth_max: 'temperature' must be a real number; got"):
        smooth_max(np.zeros(3), temperature=tau)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_inputs_are_not_mutated(f, backend):
    x = np.array([[3.0, -np.inf, 1.0, 3.0], [1e3, -1e3, 0.0, np.nan]] + [[0.5] * 4] * 40)
    keep = x.copy()
    xb = backend.asarray(x)
    f(xb, axis=-1)
    np.testing.assert_array_equal(backend.to_numpy(xb), keep)
    np.testing.assert_array_equal(x, keep)


# ----------------------------------------------------------------------------- backends and autodiff

BACKEND_INPUT = np.array([[0.0, -40.0, 3.0, 3.0], [1000.0, 999.0, -np.inf, 0.0], [-np.inf] * 4, [2.0] * 4])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "f, kwargs",
    [
        (logsumexp, {"axis": -1}),
        (logsumexp, {"axis": None}),
        (logsumexp, {"axis": (0, 1), "keepdims": True}),
        (smooth_max, {"axis": 1, "temperature": 0.5}),
        (softmax, {"axis": 0}),
        (log_softmax, {"axis": -1, "temperature": 2.0}),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v),
)
def test_backends_agree_with_numpy(backend, f, kwargs, dtype):
    x = BACKEND_INPUT.astype(dtype)
    if f in NORMALISATIONS:
        x = x[[0, 1, 3]]  # a row of all -inf has no softmax
    ref = f(x, **kwargs)
    out = f(backend.asarray(x), **kwargs)
    assert backend.is_native(out), type(out)
    got = backend.to_numpy(out)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got, ref, rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("x", [[0.3, -1.2, 2.0, 2.0], [1.5, 1.5, 1.5], [0.0, -40.0, 5.0]], ids=str)
def test_torch_autograd_of_lse_is_softmax(x):
    torch = pytest.importorskip("torch", reason="PyTorch autodiff check")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    logsumexp(xt).backward()
    np.testing.assert_allclose(xt.grad.numpy(), softmax(np.array(x)), rtol=1e-15, atol=1e-300)
    # batched, along a non-last axis, and through smooth_max's temperature
    xb = torch.tensor([x, x[::-1]], dtype=torch.float64, requires_grad=True)
    smooth_max(xb.T, axis=0, temperature=0.5).sum().backward()
    p = softmax(np.array([x, x[::-1]]) / 0.5, axis=-1)
    np.testing.assert_allclose(xb.grad.numpy(), p, rtol=1e-14, atol=1e-300)


def test_jax_grad_and_jit_of_lse_is_softmax():
    jax = pytest.importorskip("jax", reason="JAX autodiff check")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x = np.array([[0.3, -1.2, 2.0, 2.0], [1.5, 1.5, 1.5, 1.5], [0.0, -40.0, 5.0, -np.inf]])
    g = jax.grad(lambda z: logsumexp(z, axis=-1).sum())(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), softmax(x), rtol=1e-15, atol=1e-300)
    assert np.isfinite(np.asarray(g)).all()
    jit_lse = jax.jit(lambda z: logsumexp(z, axis=-1))
    np.testing.assert_allclose(np.asarray(jit_lse(jnp.asarray(x))), logsumexp(x, axis=-1), rtol=1e-15)
    gj = jax.jit(jax.grad(lambda z: log_softmax(z)[0]))(jnp.asarray(x[0]))
    np.testing.assert_allclose(np.asarray(gj), np.eye(4)[0] - softmax(x[0]), rtol=1e-14, atol=1e-15)


def test_kernel_merge_is_associative_on_partial_states():
    # the (max, sum of shifted exponentials) state merges in any grouping
    x = _rng(9).standard_normal(1000) * 10
    parts = np.array_split(x, 7)
    states = [_lse_kernel.lse_state(p[None, :]) for p in parts]
    m = np.array([s[0][0] for s in states])
    r = np.array([s[1][0] for s in states])
    one = _lse_kernel.merge(m, r)
    a = _lse_kernel.merge(m[:3], r[:3])
    b = _lse_kernel.merge(m[3:], r[3:])
    two = _lse_kernel.merge(np.array([a[0], b[0]]), np.array([a[1], b[1]]))
    assert one[0] == two[0] == x.max()
    ref, _ = mp_lse(x)
    for mm, rr in (one, two):
        assert ulp_error(mm + math.log1p(rr), ref, 0.0, np.dtype(np.float64)) <= 1.0


def test_lse_float16_beyond_its_range_rounds_to_inf_without_a_warning():
    # 9e6 entries of float16's largest value: LSE = 65504 + log(9e6) = 65520.01, past the rounding
    # boundary 65520, so the correctly rounded float16 answer is inf; the float64 -> float16 cast
    # of the result used to emit "overflow encountered in cast"
    x = np.full(9_000_000, 65504.0, dtype=np.float16)
    got = logsumexp(x)
    assert got.dtype == np.float16 and got == np.inf
    x2 = x.reshape(9, 1_000_000)[:1]  # 1e6 entries: 65517.8, still finite
    assert logsumexp(x2) == np.float16(65504.0 + math.log(1e6))


def test_lse_long_double_keeps_its_range_and_big_endian_takes_the_float64_kernel():
    # the float64 kernel turned finite long doubles beyond 1.8e308 into inf; '>f8' is float64 with
    # another byte order, and took the unshifted float16/32 branch (a few ulps off)
    if np.finfo(np.longdouble).max > 1e4000:
        x = np.array(["1e4000", "1"], dtype=np.longdouble)
        got = logsumexp(x)
        assert got.dtype == np.longdouble and got == x[0]
    y = _rng(12).standard_normal((5, 40)) * 3
    for axis in (None, -1, 0):
        big = logsumexp(y.astype(">f8"), axis=axis)
        assert np.dtype(big.dtype) == np.float64
        np.testing.assert_array_equal(big, logsumexp(y, axis=axis))


# ----------------------------------------------------------------------------- SciPy's and JAX's options


def _scipy_lse(*args, **kwargs):
    import scipy.special

    with np.errstate(divide="ignore", invalid="ignore"):
        return scipy.special.logsumexp(*args, **kwargs)


@pytest.mark.parametrize(
    "a, b",
    [
        ([1.0, 2.0], [1.0, -1.0]),  # negative sum: (log|s|, -1)
        ([1.0, 2.0, 3.0], [3.0, -1.0, 0.5]),
        ([0.0, -40.0], [1.0, 1.0]),  # the dominant term keeps its companion: log1p
        ([1.0, 1.0], [1.0, -1.0]),  # an exact zero: (-inf, 0)
        ([np.inf, 2.0], [0.0, 1.0]),  # b = 0 leaves an inf out
        ([np.nan, 2.0], [0.0, 1.0]),  # and a NaN
        ([np.inf, 1.0], [-1.0, 1.0]),  # (inf, -1)
        ([np.inf, np.inf], [1.0, -1.0]),  # inf - inf: NaN
        ([1000.0, 1000.0], [2.0, 3.0]),
        ([-1000.0, -1001.0], [1.0, -1.0]),
        ([1.0, 2.0], [np.nan, 1.0]),
        ([1.0, 2.0], [np.inf, 1.0]),
    ],
    ids=str,
)
def test_weights_and_sign_equal_scipy(a, b):
    a, b = np.array(a), np.array(b)
    got = logsumexp(a, b=b, return_sign=True)
    ref = _scipy_lse(a, b=b, return_sign=True)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-15)
    np.testing.assert_array_equal(got[1], ref[1])
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(logsumexp(a, b=b), _scipy_lse(a, b=b), rtol=1e-15)


def test_weights_are_exact_where_scipy_is_and_broadcast():
    with mpmath.workdps(50):
        ref = float(mpmath.log(2 * mpmath.exp(0) + 3 * mpmath.exp(-45)))
    assert float(logsumexp(np.array([0.0, -45.0]), b=np.array([2.0, 3.0]))) == pytest.approx(ref, rel=1e-16)
    x = _rng(30).standard_normal((3, 4))
    b = _rng(31).random(4)
    np.testing.assert_allclose(logsumexp(x, axis=1, b=b), _scipy_lse(x, axis=1, b=b), rtol=1e-14)
    np.testing.assert_allclose(
        logsumexp(x, axis=0, b=b[None] - 0.5, keepdims=True, return_sign=True),
        _scipy_lse(x, axis=0, b=b[None] - 0.5, keepdims=True, return_sign=True),
        rtol=1e-13,
    )
    grown = logsumexp(np.zeros(4), b=np.ones((2, 4)), axis=-1)  # b broadcasts x, as in SciPy
    np.testing.assert_allclose(grown, [math.log(4)] * 2, rtol=1e-15)


def test_empty_sum_has_sign_zero_where_scipy_says_minus_one():
    val, sign = logsumexp(np.zeros(0), return_sign=True)
    assert val == -math.inf and sign == 0.0
    assert _scipy_lse(np.zeros(0), return_sign=True)[1] == -1.0  # the peers disagree; JAX gives 0
    val, sign = logsumexp(np.array([-np.inf, -np.inf]), b=np.array([1.0, 2.0]), return_sign=True)
    assert val == -math.inf and sign == 0.0


def test_weight_dtypes():
    x32 = np.array([1.0, 2.0], np.float32)
    assert logsumexp(x32, b=np.array([1, 2])).dtype == np.float32  # integer weights take x's dtype
    assert logsumexp(x32, b=np.array([1.0, 2.0])).dtype == np.float64  # a wider float widens
    with pytest.raises(TypeError, match=r"logsumexp: 'where' must be a boolean mask; got dtype int"):
        logsumexp(x32, where=np.array([1, 0]))
    with pytest.raises(ValueError, match=r"logsumexp: 'x' \(2,\), 'b' \(3,\) do not broadcast together"):
        logsumexp(x32, b=np.ones(3))


def test_where_leaves_entries_out_and_an_empty_slice_is_minus_inf():
    x = _rng(32).standard_normal((4, 6)) * 3
    keep = _rng(33).random((4, 6)) > 0.4
    keep[1] = False
    got = logsumexp(x, axis=1, where=keep)
    for i in range(4):
        ref = _scipy_lse(x[i][keep[i]]) if keep[i].any() else -math.inf
        assert got[i] == pytest.approx(ref, rel=1e-15) if keep[i].any() else got[i] == -math.inf
    np.testing.assert_allclose(logsumexp(x, where=keep), _scipy_lse(x[keep]), rtol=1e-15)
    val, sign = logsumexp(x, axis=1, where=keep, return_sign=True)
    np.testing.assert_array_equal(sign, [1.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("f", NORMALISATIONS, ids=lambda f: f.__name__)
def test_normalisations_with_where_as_jax(f):
    x = _rng(34).standard_normal((4, 6)) * 3
    keep = _rng(35).random((4, 6)) > 0.4
    keep[2] = False
    keep[3] = True
    got = f(x, where=keep)
    masked = 0.0 if f is softmax else -math.inf
    for i in (0, 1, 3):
        np.testing.assert_allclose(got[i][keep[i]], f(x[i][keep[i]]), rtol=1e-14)
        np.testing.assert_array_equal(got[i][~keep[i]], masked)
    np.testing.assert_array_equal(got[2], masked)  # nothing kept: JAX's answer (torch.masked: NaN)
    col = f(x, axis=0, where=keep[0])  # a mask broadcast along the other axis
    np.testing.assert_allclose(col[:, keep[0]], f(x[:, keep[0]], axis=0), rtol=1e-14)


@pytest.mark.parametrize("f", NORMALISATIONS, ids=lambda f: f.__name__)
def test_dtype_casts_first_as_torch(f):
    x = (_rng(36).standard_normal((3, 5)) * 3).astype(np.float32)
    got = f(x, dtype=np.float64)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, f(x.astype(np.float64)))
    with pytest.raises(TypeError, match=rf"^{f.__name__}: 'dtype' must be a real floating dtype; got"):
        f(x, dtype=np.int32)


def test_numpy_bfloat16_is_computed_in_float32_and_rounded_once():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="NumPy's bfloat16 comes from ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    x = (_rng(37).standard_normal((16, 300)) * 3).astype(bf16)
    x64 = x.astype(np.float64)
    for f, ref in (
        (lambda a: logsumexp(a, axis=-1), lambda a: logsumexp(a, axis=-1)),
        (softmax, softmax),
        (log_softmax, log_softmax),
    ):
        got = f(x)
        assert got.dtype == bf16
        exact = ref(x64).astype(bf16)
        assert np.mean(got == exact) > 0.99
        assert np.all(
            np.abs(got.astype(np.float64) - exact.astype(np.float64)) <= np.abs(ref(x64)) * 2**-7 + 1e-30
        )


@pytest.mark.parametrize(
    "f, kwargs",
    [
        (logsumexp, {"axis": 1, "b": "b"}),
        (logsumexp, {"axis": None, "b": "b", "return_sign": True}),
        (logsumexp, {"axis": 1, "where": "mask"}),
        (softmax, {"where": "mask", "temperature": 0.5}),
        (log_softmax, {"axis": 0, "where": "mask"}),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v),
)
def test_options_agree_on_every_backend(backend, f, kwargs):
    x = _rng(38).standard_normal((4, 5)) * 3
    extra = {"b": _rng(39).standard_normal((4, 5)), "mask": _rng(40).random((4, 5)) > 0.3}
    kw = {k: extra[v] if isinstance(v, str) else v for k, v in kwargs.items()}
    with np.errstate(invalid="ignore"):
        ref = f(x, **kw)
    out = f(
        backend.asarray(x),
        **{k: backend.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()},
    )
    for a, r in zip(
        out if isinstance(out, tuple) else (out,), ref if isinstance(ref, tuple) else (ref,), strict=True
    ):
        assert backend.is_native(a)
        np.testing.assert_allclose(backend.to_numpy(a), r, rtol=1e-13, atol=1e-300)
