"""safe_norm and norm_grad: range safety against mpmath, autodiff at and away from 0 in PyTorch and
JAX (the PyTorch #2421 NaN), and the identity grad ||x|| = x / ||x||."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlmath


def mp_norm(x):
    with mpmath.workdps(50):
        return float(mpmath.sqrt(mpmath.fsum(mpmath.mpf(float(v)) ** 2 for v in np.ravel(x))))


@pytest.mark.parametrize(
    "x",
    [
        [3e300, 4e300],
        [1e308, 1e308, 1e308],
        [3e-300, 4e-300],
        [5e-324, 5e-324, 1e-323],
        [1e-200, 1e200],
        [1.0, 2.0, 3.0],
        [-7e-310, 2e-310],
    ],
)
def test_safe_norm_extreme_float64_is_correctly_rounded_to_a_few_ulps(x):
    ref = mp_norm(x)
    got = float(dlmath.safe_norm(np.array(x)))
    assert abs(got - ref) <= 2 * np.spacing(ref)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_safe_norm_low_precision_extremes(dtype):
    info = np.finfo(dtype)
    x = np.array([info.max / 2, info.max / 2], dtype=dtype)
    ref = mp_norm(x.astype(np.float64))
    got = dlmath.safe_norm(x)
    assert got.dtype == dtype
    assert abs(float(got) - ref) <= 2 * float(np.spacing(dtype(ref)))
    tiny = np.array([info.smallest_subnormal] * 4, dtype=dtype)
    assert float(dlmath.safe_norm(tiny)) == pytest.approx(2 * float(info.smallest_subnormal), rel=0.5)


# NumPy squares underflow below ~1e-154, so it is a reference only away from there
moderate = st.floats(-1e3, 1e3).filter(lambda v: v == 0 or abs(v) > 1e-100)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=moderate))
def test_safe_norm_equals_numpy_linalg_norm_per_axis(x):
    for axis in (None, 0, 1, (0, 1)):
        np.testing.assert_allclose(
            dlmath.safe_norm(x, axis=axis), np.linalg.norm(x, axis=axis), rtol=1e-14, atol=1e-300
        )
    np.testing.assert_allclose(
        dlmath.safe_norm(x, axis=1, keepdims=True), np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-14
    )


def test_safe_norm_edge_values():
    assert float(dlmath.safe_norm([np.inf, 1.0])) == np.inf
    assert float(dlmath.safe_norm([-np.inf, 1.0])) == np.inf
    assert np.isnan(dlmath.safe_norm([np.nan, 1.0]))
    assert np.isnan(dlmath.safe_norm([np.nan, np.inf]))
    assert float(dlmath.safe_norm([0.0, 0.0])) == 0.0
    np.testing.assert_array_equal(dlmath.safe_norm(np.zeros((0, 3)), axis=0), np.zeros(3))
    np.testing.assert_array_equal(
        dlmath.safe_norm(np.array([[1e308, 1e308], [0, 0]]), axis=1), [np.sqrt(2) * 1e308, 0.0]
    )


def test_safe_norm_errors_name_the_function():
    with pytest.raises(TypeError, match="safe_norm: argument 'x' must be real; got complex"):
        dlmath.safe_norm(np.ones(3, complex))
    with pytest.raises(ValueError, match="safe_norm: 'axis' 3 is out of range"):
        dlmath.safe_norm(np.ones((2, 2)), axis=3)
    with pytest.raises(ValueError, match="norm_grad: 'axis' contains a repeated axis"):
        dlmath.norm_grad(np.ones((2, 2)), axis=(0, 0))


# --------------------------------------------------------------------------- gradients


@given(hnp.arrays(np.float64, st.integers(1, 8), elements=moderate))
def test_norm_grad_is_x_over_norm_or_zero(x):
    g = dlmath.norm_grad(x)
    n = np.linalg.norm(x)
    if n == 0:
        np.testing.assert_array_equal(g, 0.0)
    else:
        np.testing.assert_allclose(g, x / n, rtol=1e-14, atol=1e-300)
        assert np.linalg.norm(g) == pytest.approx(1.0, rel=1e-14)


def test_norm_grad_matches_central_differences():
    x = np.random.default_rng(0).standard_normal(7)
    d = np.random.default_rng(1).standard_normal(7)
    eps = 1e-6
    fd = (dlmath.safe_norm(x + eps * d) - dlmath.safe_norm(x - eps * d)) / (2 * eps)
    assert float(dlmath.norm_grad(x) @ d) == pytest.approx(float(fd), rel=1e-8)


def test_norm_grad_where_the_norm_overflows_and_with_infinities():
    np.testing.assert_allclose(dlmath.norm_grad([1.5e308, 1.5e308]), [2**-0.5, 2**-0.5], rtol=1e-15)
    np.testing.assert_allclose(dlmath.norm_grad([np.inf, 1.0, -np.inf]), [2**-0.5, 0.0, -(2**-0.5)])


def test_norm_grad_per_axis_slices():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(dlmath.norm_grad(x, axis=1), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(dlmath.norm_grad(x), x / 5.0)


torch = pytest.importorskip("torch", reason="PyTorch autodiff checks")


@pytest.mark.parametrize("shape", [(3,), (2, 4)])
def test_torch_gradient_at_zero_is_exactly_zero_not_nan(shape):
    x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    dlmath.safe_norm(x).backward()
    assert torch.equal(x.grad, torch.zeros(shape, dtype=torch.float64))
    # the textbook formula gives NaN here (PyTorch #2421)
    y = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    torch.sqrt((y * y).sum()).backward()
    assert torch.isnan(y.grad).all()


def test_torch_gradient_away_from_zero_is_x_over_norm():
    x0 = np.array([[1e-200, -3e-200], [2e200, 5e199]])
    x = torch.tensor(x0, requires_grad=True)
    dlmath.safe_norm(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), dlmath.norm_grad(x0, axis=1), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy()[0], x0[0] / mp_norm(x0[0]), rtol=1e-14)


def test_torch_second_derivative_at_zero_is_finite():
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(dlmath.safe_norm(x), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(h).all()


def test_jax_gradient_at_zero_and_away_and_under_jit():
    jax = pytest.importorskip("jax", reason="JAX autodiff checks")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g0 = jax.jit(jax.grad(dlmath.safe_norm))(jnp.zeros(4))
    np.testing.assert_array_equal(np.asarray(g0), 0.0)
    x = np.array([3.0, -4.0, 12.0])
    g = jax.grad(dlmath.safe_norm)(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), x / 13.0, rtol=1e-15)


def test_backends_agree_with_numpy(backend):
    x = np.array([[3.0, 4.0, 0.0], [1e300, -1e300, 2e300], [0.0, 0.0, 0.0]])
    for axis in (None, 1):
        n = dlmath.safe_norm(backend.asarray(x), axis=axis)
        assert backend.is_native(n)
        np.testing.assert_allclose(backend.to_numpy(n), dlmath.safe_norm(x, axis=axis), rtol=1e-15)
        g = dlmath.norm_grad(backend.asarray(x), axis=axis)
        np.testing.assert_allclose(backend.to_numpy(g), dlmath.norm_grad(x, axis=axis), rtol=1e-15)


def test_inputs_are_not_mutated():
    x = np.array([3.0, 4.0])
    dlmath.safe_norm(x)
    dlmath.norm_grad(x)
    np.testing.assert_array_equal(x, [3.0, 4.0])
