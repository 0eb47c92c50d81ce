"""poisson_nll against PyTorch's poisson_nll_loss (log_input=True), mpmath at 50 digits, and its
gradient e^z - y under PyTorch and JAX autodiff."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from dlmath import poisson_nll


def mp_poisson(z, y, full=False):
    """e^z - y z (+ the Stirling term for y > 1), from the exact binary inputs at 50 digits."""
    with mpmath.workdps(50):
        z, y = mpmath.mpf(float(z)), mpmath.mpf(float(y))
        out = mpmath.exp(z) - y * z
        if full and y > 1:
            out += y * mpmath.log(y) - y + mpmath.log(2 * mpmath.pi * y) / 2
        return out


def data(seed=0, shape=(6, 5)):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * 2
    y = rng.poisson(np.exp(rng.standard_normal(shape)), size=shape).astype(np.float64)
    y.flat[:3] = (0.0, 1.0, 0.5)
    return z, y


def test_poisson_nll():
    # e^z - y z (+ y log y - y + log(2 pi y)/2 where y > 1), gradient e^z - y, minimum at z = log y
    z, y = data(1)
    for full in (False, True):
        ours = poisson_nll(z, y, full=full, reduction="none")
        exact = [float(mp_poisson(a, b, full)) for a, b in zip(z.ravel(), y.ravel(), strict=True)]
        np.testing.assert_allclose(ours.ravel(), exact, rtol=1e-15, atol=1e-15)
    with mpmath.workdps(50):  # full=True approximates -log p(y | e^z) = e^z - y z + log y!
        for yv in (3.0, 20.0, 500.0):
            exact = mpmath.exp(1) - yv + mpmath.loggamma(yv + 1)
            gap = float(exact) - float(poisson_nll([1.0], [yv], full=True))
            assert gap == pytest.approx(1 / (12 * yv), rel=0.02)  # Stirling's next term
    grid = np.linspace(-3, 5, 8001)
    assert grid[np.argmin(poisson_nll(grid, np.full_like(grid, 7.0), reduction="none"))] == pytest.approx(
        math.log(7.0), abs=1e-3
    )
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    poisson_nll(zt, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(zt.grad.numpy(), np.exp(z) - y, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_value_and_gradient_equal_torch(reduction, full):
    torch = pytest.importorskip("torch")
    z, y = data(2)
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.poisson_nll_loss(
        zt, torch.tensor(y), log_input=True, full=full, reduction=reduction
    )
    (ref if ref.ndim == 0 else ref.sum()).backward()
    zo = torch.tensor(z, requires_grad=True)
    ours = poisson_nll(zo, torch.tensor(y), full=full, reduction=reduction)
    (ours if ours.ndim == 0 else ours.sum()).backward()
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(zo.grad.numpy(), zt.grad.numpy(), rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_poisson_nll_at_large_and_small_log_rates(dtype):
    edge = 88.0 if dtype == np.float32 else 709.0
    z = np.array([-700.0, -80.0, -20.0, 0.0, 20.0, edge], dtype=dtype)
    y = np.array([0.0, 3.0, 1e6, 2.0, 0.0, 5.0], dtype=dtype)
    ours = poisson_nll(z, y, reduction="none", full=True)
    assert ours.dtype == dtype
    exact = np.array([float(mp_poisson(a, b, True)) for a, b in zip(z, y, strict=True)])
    np.testing.assert_allclose(ours, exact.astype(dtype), rtol=2 * np.finfo(dtype).eps)


def test_poisson_nll_overflow_is_inf_without_a_warning():
    out = poisson_nll(np.array([710.0, 100.0], dtype=np.float64), [1.0, 0.0], reduction="none")
    assert out[0] == math.inf and np.isfinite(out[1])
    assert poisson_nll(np.float32([89.0]), [0.0]) == np.float32(math.inf)  # e^89 > 3.4e38


def test_poisson_nll_limits_where_torch_gives_nan():
    torch = pytest.importorskip("torch")
    inf = math.inf
    z = np.array([-inf, -inf, inf, inf])
    y = np.array([0.0, 2.0, 0.0, 3.0])
    ours = poisson_nll(z, y, reduction="none")
    np.testing.assert_array_equal(ours, [0.0, inf, inf, inf])
    theirs = torch.nn.functional.poisson_nll_loss(torch.tensor(z), torch.tensor(y), reduction="none").numpy()
    assert np.isnan(theirs[0]) and np.isnan(theirs[3])
    zt = torch.tensor([-inf, 0.0, inf], requires_grad=True)
    poisson_nll(zt, torch.tensor([0.0, 1.0, 2.0]), reduction="sum").backward()
    assert not torch.isnan(zt.grad).any()


def test_poisson_nll_jax_grad_and_jit_and_nan_for_a_bad_target_inside_jit():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    z, y = data(3, (7,))
    g = jax.grad(lambda a: poisson_nll(a, jnp.asarray(y), full=True, reduction="sum"))(jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(g), np.exp(z) - y, rtol=1e-14, atol=1e-15)
    f = jax.jit(lambda a, b: poisson_nll(a, b, full=True))
    np.testing.assert_allclose(
        float(f(jnp.asarray(z), jnp.asarray(y))), poisson_nll(z, y, full=True), rtol=1e-15
    )
    bad = jax.jit(lambda a, b: poisson_nll(a, b, reduction="none"))(
        jnp.zeros(3), jnp.asarray([1.0, -1.0, jnp.inf])
    )
    assert np.isfinite(np.asarray(bad)[0]) and np.isnan(np.asarray(bad)[1:]).all()


def test_poisson_nll_backends_keep_kind_and_dtype(backend):
    z, y = data(4, (5,))
    for dtype in (np.float32, np.float64):
        zz = backend.asarray(z.astype(dtype))
        out = poisson_nll(zz, backend.asarray(y), full=True, reduction="none")
        assert backend.is_native(out) and out.dtype == zz.dtype
        np.testing.assert_allclose(
            backend.to_numpy(out), poisson_nll(z, y, full=True, reduction="none"), rtol=1e-6
        )
        np.testing.assert_array_equal(backend.to_numpy(zz), z.astype(dtype))


def test_poisson_nll_integer_targets_and_empty_input():
    assert poisson_nll([0.0, 1.0], np.array([2, 0])).dtype == np.float64
    assert np.isnan(poisson_nll(np.zeros(0), np.zeros(0)))
    assert float(poisson_nll(np.zeros(0), np.zeros(0), reduction="sum")) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"target": [1.0, -2.0]}, ValueError, r"poisson_nll: 'target' must be a finite count >= 0; got -2.0 at position \(1,\)"),
        ({"target": [math.inf, 1.0]}, ValueError, r"'target' must be a finite count >= 0; got inf at position \(0,\)"),
        ({"target": [math.nan, 1.0]}, ValueError, r"'target' must be a finite count >= 0; got nan"),
        ({"target": [[1.0, 2.0]]}, ValueError, r"'target' must have the shape of 'log_rate' \(2,\); got \(1, 2\)"),
        ({"full": 1}, TypeError, r"poisson_nll: 'full' must be a bool; got int 1"),
        ({"reduction": None}, ValueError, r"poisson_nll: 'reduction' must be one of 'none', 'sum', 'mean'; got None"),
        ({"target": ["a", "b"]}, TypeError, r"poisson_nll: argument 'target'"),
    ],
)  # fmt: skip
def test_poisson_nll_bad_arguments_name_function_argument_expected_and_received(kwargs, exc, pattern):
    args = {"target": [1.0, 2.0], **kwargs}
    with pytest.raises(exc, match=pattern):
        poisson_nll([0.0, 1.0], **args)


def test_poisson_nll_complex_log_rate_is_a_type_error():
    with pytest.raises(TypeError, match=r"poisson_nll: argument 'log_rate' must be real; got complex"):
        poisson_nll(np.array([1j]), [1.0])


def test_docstring_examples_run():
    import doctest

    import dlmath.poisson

    result = doctest.testmod(dlmath.poisson, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
