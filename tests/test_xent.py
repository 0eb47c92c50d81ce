"""Cross-entropy, its gradient, the softmax Hessian and the HVP, checked against independent references:
PyTorch's ``F.cross_entropy`` and autograd, mpmath, finite differences, and the Hessian's own identities."""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlmath

torch = pytest.importorskip("torch", reason="PyTorch is the reference for cross-entropy")
F = torch.nn.functional

finite = st.floats(-30, 30, allow_nan=False, width=64)


def logits_arrays(min_k=1, max_k=12):
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(min_k, max_k)),
        elements=finite,
    )


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- cross-entropy values


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_equals_torch_integer_targets(reduction):
    z = rng(1).standard_normal((9, 5)) * 4
    t = rng(2).integers(0, 5, size=9)
    ours = dlmath.cross_entropy(z, t, reduction=reduction)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(t), reduction=reduction).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_equals_torch_soft_targets(reduction):
    z = rng(3).standard_normal((7, 4)) * 3
    y = rng(4).random((7, 4))
    y /= y.sum(-1, keepdims=True)
    ours = dlmath.cross_entropy(z, y, reduction=reduction)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), reduction=reduction).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-15)


@given(logits_arrays(), st.data())
def test_cross_entropy_and_grad_equal_torch_autograd(z, data):
    n, k = z.shape
    t = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    zt = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zt, torch.tensor(t))
    loss.backward()
    np.testing.assert_allclose(dlmath.cross_entropy(z, t), loss.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dlmath.cross_entropy_grad(z, t), zt.grad.numpy(), rtol=1e-10, atol=1e-14)


@given(logits_arrays(), st.data())
def test_cross_entropy_grad_soft_targets_equals_torch_autograd(z, data):
    y = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 3)))
    zt = torch.tensor(z, requires_grad=True)
    F.cross_entropy(zt, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(
        dlmath.cross_entropy_grad(z, y, reduction="sum"), zt.grad.numpy(), rtol=1e-9, atol=1e-12
    )


def test_cross_entropy_grad_unnormalised_target_is_mass_times_p_minus_y():
    z = np.array([0.3, -1.2, 2.0])
    y = np.array([0.5, 1.5, 1.0])  # mass 3
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(dlmath.cross_entropy_grad(z, y), 3 * p - y, rtol=1e-14)


def test_cross_entropy_confident_prediction_keeps_tiny_loss():
    # -log softmax(z)_0 = log1p(e^-50): naive log(sum(exp)) - z_0 rounds it to 0
    z = np.array([[50.0, 0.0]])
    with mpmath.workdps(50):
        ref = float(mpmath.log1p(mpmath.exp(-50)))
    got = float(dlmath.cross_entropy(z, [0]))
    assert got == pytest.approx(ref, rel=1e-14)
    assert got > 0


def test_cross_entropy_grad_of_a_confident_correct_prediction_is_minus_r_over_one_plus_r():
    # the docstring's p_t - 1 = -r/(1 + r), r = e^-50 + e^-60: p_t rounds to 1, p_t - 1 to 0
    if not dlmath._kernels.available():
        pytest.skip("the NumPy path forms p_t - 1 from the rounded p_t")
    with mpmath.workdps(40):
        r = mpmath.exp(-50) + mpmath.exp(-60)
        ref = float(-r / (1 + r))
    for dtype in (np.float64, np.float32):
        g = dlmath.cross_entropy_grad(np.array([[50.0, 0.0, -10.0]], dtype=dtype), [0])
        assert g[0, 0] == pytest.approx(ref, rel=4 * float(np.finfo(dtype).eps))
        assert g[0, 1] == pytest.approx(float(mpmath.exp(-50) / (1 + r)), rel=4 * float(np.finfo(dtype).eps))


def test_cross_entropy_huge_logits_do_not_overflow():
    z = np.array([[1e4, 1e4 - 1.0, -1e4]])
    got = float(dlmath.cross_entropy(z, [1]))
    with mpmath.workdps(50):
        zs = [mpmath.mpf(v) for v in z[0]]
        ref = float(mpmath.log(sum(mpmath.exp(v - zs[0]) for v in zs)) + zs[0] - zs[1])
    assert got == pytest.approx(ref, rel=1e-14)


def test_cross_entropy_class_axis_equals_moving_axis_last():
    z = rng(5).standard_normal((3, 6, 4))
    t = rng(6).integers(0, 6, size=(3, 4))
    a = dlmath.cross_entropy(z, t, axis=1, reduction="none")
    b = dlmath.cross_entropy(np.moveaxis(z, 1, -1), t, reduction="none")
    np.testing.assert_allclose(a, b, rtol=1e-15)
    ga = dlmath.cross_entropy_grad(z, t, axis=1)
    gb = dlmath.cross_entropy_grad(np.moveaxis(z, 1, -1), t)
    np.testing.assert_allclose(ga, np.moveaxis(gb, -1, 1), rtol=1e-15)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(t), reduction="none").numpy()  # torch: class axis 1
    np.testing.assert_allclose(a, ref, rtol=1e-13)


def test_cross_entropy_grad_matches_central_differences_in_a_random_direction():
    z = rng(7).standard_normal((4, 6))
    y = rng(8).random((4, 6))
    d = rng(9).standard_normal((4, 6))
    eps = 1e-6
    fd = (dlmath.cross_entropy(z + eps * d, y) - dlmath.cross_entropy(z - eps * d, y)) / (2 * eps)
    assert float(np.sum(dlmath.cross_entropy_grad(z, y) * d)) == pytest.approx(float(fd), rel=1e-7)


# --------------------------------------------------------------------------- errors


def test_out_of_range_index_names_the_index_and_its_position():
    with pytest.raises(ValueError, match=r"cross_entropy: target index 7 at position \(1, 2\).*5 classes"):
        dlmath.cross_entropy(np.zeros((2, 3, 5)), np.array([[0, 1, 2], [3, 4, 7]]))
    with pytest.raises(ValueError, match=r"target index -1 at position \(0,\)"):
        dlmath.cross_entropy_grad(np.zeros((2, 5)), np.array([-1, 0]))


@pytest.mark.parametrize(
    "target, pattern",
    [
        (np.array([0, 1, 2]), r"integer class-index 'target' must have .*\(2,\); got \(3,\)"),
        (np.ones((2, 4)), r"probability 'target' must have the logits' shape \(2, 3\); got \(2, 4\)"),
        (np.array([[1.0, -0.5, 0.5], [1, 0, 0]]), r"finite and non-negative; got -0.5 at position \(0, 1\)"),
        (np.array([[np.nan, 0, 1], [1, 0, 0]]), r"finite and non-negative; got nan at position \(0, 0\)"),
    ],
)
def test_bad_target_is_a_named_value_error(target, pattern):
    with pytest.raises(ValueError, match=pattern):
        dlmath.cross_entropy(np.zeros((2, 3)), target)


def test_bad_reduction_lists_the_choices():
    with pytest.raises(
        ValueError, match=r"cross_entropy: 'reduction' must be one of 'none', 'sum', 'mean'; got 'avg'"
    ):
        dlmath.cross_entropy(np.zeros((2, 3)), [0, 1], reduction="avg")


def test_complex_logits_and_tuple_axis_are_type_errors():
    with pytest.raises(TypeError, match="cross_entropy: argument 'logits' must be real"):
        dlmath.cross_entropy(np.zeros((2, 3), complex), [0, 1])
    with pytest.raises(TypeError, match="softmax_hvp: 'axis' must be a single int"):
        dlmath.softmax_hvp(np.zeros((2, 3)), np.zeros((2, 3)), axis=(0, 1))
    for axis in (True, 1.5, None):  # not "None, an int or a tuple": a class axis is one int
        with pytest.raises(TypeError, match=rf"^cross_entropy: 'axis' must be a single int; got {axis}$"):
            dlmath.cross_entropy(np.zeros((2, 3)), [0, 1], axis=axis)
    with pytest.raises(ValueError, match="softmax_hessian: 'axis' 2 is out of range"):
        dlmath.softmax_hessian(np.zeros((2, 3)), axis=2)


def test_hvp_shape_mismatch_is_named():
    with pytest.raises(
        ValueError, match=r"softmax_hvp: 'v' must have the logits' shape \(2, 3\); got \(3,\)"
    ):
        dlmath.softmax_hvp(np.zeros((2, 3)), np.zeros(3))


# --------------------------------------------------------------------------- Hessian and HVP


@given(hnp.arrays(np.float64, st.integers(1, 10), elements=finite))
def test_softmax_hessian_symmetric_psd_rows_sum_to_zero(z):
    H = dlmath.softmax_hessian(z)
    np.testing.assert_allclose(H, H.T, atol=0)
    np.testing.assert_allclose(H.sum(axis=1), 0, atol=1e-15)
    assert np.linalg.eigvalsh(H).min() >= -1e-15


def test_softmax_hessian_is_the_covariance_of_a_one_hot_draw():
    # E[e e^T] - E[e] E[e]^T computed by enumerating the K outcomes, weighted by p (mpmath, 40 digits)
    z = [0.7, -1.1, 2.3, 0.0]
    with mpmath.workdps(40):
        zz = [mpmath.mpf(v) for v in z]
        s = sum(mpmath.exp(v) for v in zz)
        p = [mpmath.exp(v) / s for v in zz]
        cov = [[(p[i] if i == j else 0) - p[i] * p[j] for j in range(4)] for i in range(4)]
        ref = np.array([[float(c) for c in row] for row in cov])
    np.testing.assert_allclose(dlmath.softmax_hessian(np.array(z)), ref, rtol=1e-14, atol=1e-16)


def test_softmax_hessian_equals_torch_autograd_hessian():
    z = rng(10).standard_normal(6)
    y = np.eye(6)[2]

    def f(zz):
        return F.cross_entropy(zz[None], torch.tensor(y)[None])

    H_ref = torch.autograd.functional.hessian(f, torch.tensor(z)).numpy()
    np.testing.assert_allclose(dlmath.softmax_hessian(z), H_ref, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_mass_times_lse_minus_target_dot_logits():
    # the module docstring's identity, for a target that does not sum to 1 (mass 2.5)
    z = rng(12).standard_normal((4, 5)) * 3
    y = rng(13).random((4, 5))
    y *= 2.5 / y.sum(-1, keepdims=True)
    expected = 2.5 * dlmath.logsumexp(z, axis=-1) - (y * z).sum(-1)
    np.testing.assert_allclose(dlmath.cross_entropy(z, y, reduction="none"), expected, rtol=1e-13)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(expected, ref, rtol=1e-13)


def test_cross_entropy_hessian_is_mass_times_softmax_hessian():
    # the module docstring's curvature for an unnormalised target: (sum_k y_k)(diag(p) - p p^T)
    z = rng(14).standard_normal(5)
    y = np.array([0.5, 1.5, 0.0, 1.0, 0.25])

    def f(zz):
        return F.cross_entropy(zz[None], torch.tensor(y)[None])

    H_ref = torch.autograd.functional.hessian(f, torch.tensor(z)).numpy()
    np.testing.assert_allclose(y.sum() * dlmath.softmax_hessian(z), H_ref, rtol=1e-12, atol=1e-15)


def test_softmax_hessian_batches_with_class_axis_last():
    z = rng(11).standard_normal((3, 5, 2))
    H = dlmath.softmax_hessian(z, axis=1)
    assert H.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(H[1, 0], dlmath.softmax_hessian(z[1, :, 0]), rtol=1e-15)


@given(logits_arrays(max_k=16), st.data())
def test_hvp_equals_dense_hessian_times_v(z, data):
    v = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(-5, 5)))
    H = dlmath.softmax_hessian(z)
    np.testing.assert_allclose(
        dlmath.softmax_hvp(z, v), np.einsum("bij,bj->bi", H, v), rtol=1e-10, atol=1e-14
    )


def test_hvp_matches_difference_of_gradients():
    z = rng(12).standard_normal((3, 8))
    v = rng(13).standard_normal((3, 8))
    y = rng(14).integers(0, 8, 3)
    eps = 1e-6
    g = lambda zz: dlmath.cross_entropy_grad(zz, y, reduction="none")  # noqa: E731
    fd = (g(z + eps * v) - g(z - eps * v)) / (2 * eps)
    np.testing.assert_allclose(dlmath.softmax_hvp(z, v), fd, rtol=1e-6, atol=1e-9)


def test_hvp_equals_torch_double_backward_on_a_large_batch():
    # big enough to take the blocked, threaded NumPy path
    z = rng(15).standard_normal((64, 20000)).astype(np.float32) * 3
    v = rng(16).standard_normal((64, 20000)).astype(np.float32)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    lse = torch.logsumexp(zt, dim=-1).sum()
    (g,) = torch.autograd.grad(lse, zt, create_graph=True)
    (hv,) = torch.autograd.grad((g * torch.tensor(v, dtype=torch.float64)).sum(), zt)
    ours = dlmath.softmax_hvp(z, v)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, hv.numpy(), rtol=2e-4, atol=1e-8)


def test_hvp_class_axis_and_non_finite_rows():
    z = rng(17).standard_normal((5, 4))
    v = rng(18).standard_normal((5, 4))
    np.testing.assert_allclose(dlmath.softmax_hvp(z.T, v.T, axis=0), dlmath.softmax_hvp(z, v).T, rtol=1e-15)
    # a +inf logit: p is one-hot in the limit, so Hv = 0
    out = dlmath.softmax_hvp(np.array([[np.inf, 0.0, 1.0]]), np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(out, 0.0)


# --------------------------------------------------------------------------- dtypes and backends


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    z = rng(19).standard_normal((3, 4)).astype(dtype)
    t = np.array([0, 1, 3])
    assert dlmath.cross_entropy(z, t).dtype == dtype
    assert dlmath.cross_entropy_grad(z, t).dtype == dtype
    assert dlmath.softmax_hessian(z).dtype == dtype
    assert dlmath.softmax_hvp(z, z).dtype == dtype


def test_integer_logits_promote_to_float64():
    assert dlmath.cross_entropy(np.array([[1, 2, 3]]), [2]).dtype == np.float64


def test_inputs_are_not_mutated():
    z = rng(20).standard_normal((4, 3))
    y = rng(21).random((4, 3))
    z0, y0 = z.copy(), y.copy()
    for f in (dlmath.cross_entropy, dlmath.cross_entropy_grad):
        f(z, y)
    dlmath.softmax_hvp(z, y)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(y, y0)


def test_backends_agree_with_numpy(backend):
    z = rng(22).standard_normal((4, 5))
    t = np.array([0, 4, 2, 1])
    y = rng(23).random((4, 5))
    v = rng(24).standard_normal((4, 5))
    cases = [
        (dlmath.cross_entropy, (z, t)),
        (dlmath.cross_entropy, (z, y)),
        (dlmath.cross_entropy_grad, (z, t)),
        (dlmath.cross_entropy_grad, (z, y)),
        (dlmath.softmax_hessian, (z,)),
        (dlmath.softmax_hvp, (z, v)),
    ]
    for f, args in cases:
        out = f(*[backend.asarray(a) for a in args])
        assert backend.is_native(out), (f.__name__, type(out))
        np.testing.assert_allclose(backend.to_numpy(out), f(*args), rtol=1e-12, atol=1e-15)


def test_torch_autograd_through_cross_entropy_equals_its_grad():
    z = torch.tensor(rng(25).standard_normal((3, 4)), requires_grad=True)
    t = torch.tensor([1, 0, 3])
    dlmath.cross_entropy(z, t).backward()
    np.testing.assert_allclose(
        z.grad.numpy(), dlmath.cross_entropy_grad(z.detach().numpy(), t.numpy()), rtol=1e-12
    )


def test_jax_grad_and_jit_through_cross_entropy():
    jax = pytest.importorskip("jax", reason="JAX autodiff check")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    z = rng(26).standard_normal((3, 4))
    y = rng(27).random((3, 4))
    g = jax.jit(jax.grad(lambda zz: dlmath.cross_entropy(zz, jnp.asarray(y))))(jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(g), dlmath.cross_entropy_grad(z, y), rtol=1e-12)
    hv = jax.jit(dlmath.softmax_hvp)(jnp.asarray(z), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(hv), dlmath.softmax_hvp(z, y), rtol=1e-12)


def test_mean_of_an_empty_batch_is_nan_like_torch():
    out = dlmath.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert math.isnan(float(out))
    assert math.isnan(float(F.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))))


def test_hvp_v_of_another_kind_of_array_is_a_named_type_error():
    with pytest.raises(
        TypeError, match=r"^softmax_hvp: 'logits' and 'v' must be the same kind of array; got numpy"
    ):
        dlmath.softmax_hvp(np.zeros(3), torch.zeros(3))
    # array-likes and NumPy arrays beside torch logits are converted, as for the target
    out = dlmath.softmax_hvp(torch.zeros(2, dtype=torch.float64), np.array([1.0, -1.0]))
    assert isinstance(out, torch.Tensor) and out.tolist() == [0.5, -0.5]


@pytest.mark.parametrize("f", [dlmath.softmax_hessian, lambda z: dlmath.softmax_hvp(z, z)])
def test_scalar_logits_name_the_argument(f):
    with pytest.raises(
        ValueError, match=r"'logits' must have at least one dimension \(the class axis\); got a 0-d"
    ):
        f(np.float64(1.0))


def _dense_free_hvp_reference(z, v):
    """p*v - p*(p.v) in float64 from float64 copies of the inputs."""
    z = z.astype(np.float64)
    v = v.astype(np.float64)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p * v - p * (p * v).sum(-1, keepdims=True)


@pytest.mark.parametrize("offset", [0.0, -200.0, 500.0])
def test_hvp_kernel_with_and_without_the_max_shift(offset):
    # offset 0 keeps every row max in [0, 80], where the kernel skips the shift; the others need it
    z = rng(31).standard_normal((48, 30000)) * 2 + 3 + offset
    v = rng(32).standard_normal((48, 30000))
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        zd, vd = z.astype(dtype), v.astype(dtype)
        ref = _dense_free_hvp_reference(zd, vd)  # from the rounded inputs the kernel sees
        got = dlmath.softmax_hvp(zd, vd)
        assert got.dtype == dtype
        assert np.abs(got - ref).max() <= tol * np.abs(ref).max()


def test_hvp_unshifted_logits_near_80_do_not_overflow_the_sum():
    # row maxima in [0, 80] skip the shift; e^80 = 5.5e34, so in float32 the sum of 32000 such
    # terms overflowed to inf and every row came out NaN (the float64 reference is finite)
    z = (80.0 - rng(33).random((4, 32000))).astype(np.float32)
    v = rng(34).standard_normal((4, 32000)).astype(np.float32)
    ref = _dense_free_hvp_reference(z.astype(np.float64), v.astype(np.float64))
    got = dlmath.softmax_hvp(z, v)
    assert np.isfinite(got).all()
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize(
    ("z", "v", "dtype"),
    [
        ([80.0, 79.0], [1e5, -1e5], np.float32),  # unshifted: e^80 * 1e5 overflows in e.v
        ([80.0, 75.0], [1e4, -1e4], np.float32),  # unshifted: (v - c) * e^80 overflows
        ([0.0, 0.0], [3e38, 3e38], np.float32),  # e.v = 6e38 overflows; Hv = 0
        ([0.0, 5.0], [3.3e38, -3.3e38], np.float32),  # v - c = 6.6e38 overflows; Hv = +-4.4e36
        ([0.0, 5.0], [1.7e308, -1.7e308], np.float64),
    ],
)
def test_hvp_of_large_v_is_finite_where_the_exact_value_is(z, v, dtype):
    # |Hv_k| = p_k |v_k - p.v| <= max|v| / 2: only intermediates can overflow, and they used to,
    # giving NaN or inf
    z, v = np.array([z], dtype=dtype), np.array([v], dtype=dtype)
    ref = _dense_free_hvp_reference(z.astype(np.float64), v.astype(np.float64))
    got = dlmath.softmax_hvp(z, v)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref.astype(dtype), rtol=1e-5 if dtype == np.float32 else 1e-13)


# --------------------------------------------------------------------------- PyTorch's options


def _with_ignored(t, ignore):
    t = t.copy()
    if ignore is not None:
        t[[1, 4]] = ignore
    return t


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("ignore", [None, 2, -100], ids=["no-ignore", "ignore=2", "ignore=-100"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0], ids=["eps=0", "eps=0.1", "eps=1"])
def test_class_index_options_equal_torch(reduction, weighted, ignore, eps):
    z = rng(40).standard_normal((7, 5)) * 2
    t = _with_ignored(rng(41).integers(0, 5, 7), ignore)
    w = rng(42).random(5) + 0.2 if weighted else None
    kw = dict(reduction=reduction, weight=w, ignore_index=ignore, label_smoothing=eps)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(
        zt,
        torch.tensor(t),
        weight=None if w is None else torch.tensor(w),
        ignore_index=-100 if ignore is None else ignore,
        reduction=reduction,
        label_smoothing=eps,
    )
    np.testing.assert_allclose(dlmath.cross_entropy(z, t, **kw), ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    ref.sum().backward()  # for "none": the sum of each example's gradient of its own loss
    np.testing.assert_allclose(dlmath.cross_entropy_grad(z, t, **kw), zt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("eps", [0.0, 0.25], ids=["eps=0", "eps=0.25"])
def test_probability_target_options_equal_torch(reduction, weighted, eps):
    z = rng(43).standard_normal((6, 4)) * 2
    y = rng(44).random((6, 4))
    w = rng(45).random(4) + 0.2 if weighted else None
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(
        zt,
        torch.tensor(y),
        weight=None if w is None else torch.tensor(w),
        reduction=reduction,
        label_smoothing=eps,
    )
    kw = dict(reduction=reduction, weight=w, label_smoothing=eps)
    np.testing.assert_allclose(dlmath.cross_entropy(z, y, **kw), ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    ref.sum().backward()
    np.testing.assert_allclose(dlmath.cross_entropy_grad(z, y, **kw), zt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_minus_100_is_an_ordinary_index_unless_ignore_index_says_so():
    # PyTorch's default ignore_index is -100; dlmath's is None, so -100 is out of range
    z = rng(46).standard_normal((3, 4))
    t = np.array([0, -100, 3])
    with pytest.raises(
        ValueError, match=r"target index -100 at position \(1,\) is out of range for 4 classes"
    ):
        dlmath.cross_entropy(z, t)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(t)).item()
    assert float(dlmath.cross_entropy(z, t, ignore_index=-100)) == pytest.approx(ref, rel=1e-14)


def test_mean_with_every_example_ignored_is_nan_like_torch():
    z = rng(47).standard_normal((3, 4))
    t = np.array([1, 1, 1])
    assert math.isnan(float(dlmath.cross_entropy(z, t, ignore_index=1)))
    assert math.isnan(float(F.cross_entropy(torch.tensor(z), torch.tensor(t), ignore_index=1)))
    assert float(dlmath.cross_entropy(z, t, ignore_index=1, reduction="sum")) == 0.0
    np.testing.assert_array_equal(dlmath.cross_entropy_grad(z, t, ignore_index=1, reduction="sum"), 0.0)


@pytest.mark.parametrize(
    "kwargs, target, exc, pattern",
    [
        ({"ignore_index": 0}, "prob", ValueError, r"'ignore_index' applies to class-index targets"),
        (
            {"label_smoothing": 1.5},
            "index",
            ValueError,
            r"'label_smoothing' must be between 0.0 and 1.0; got 1.5",
        ),
        ({"label_smoothing": "0.1"}, "index", TypeError, r"'label_smoothing' must be a real number"),
        ({"ignore_index": 1.0}, "index", TypeError, r"'ignore_index' must be an int or None; got 1.0"),
        (
            {"weight": np.ones(3)},
            "index",
            ValueError,
            r"'weight' must have shape \(4,\), one per class; got \(3,\)",
        ),
        (
            {"where": np.ones((2, 2), bool)},
            "index",
            ValueError,
            r"'where' must have the logits' shape \(3, 4\)",
        ),
        ({"where": np.ones(3)}, "index", TypeError, r"'where' must be a boolean mask"),
    ],
)
def test_bad_options_are_named_errors(kwargs, target, exc, pattern):
    z = np.zeros((3, 4))
    t = np.array([0, 1, 2]) if target == "index" else np.full((3, 4), 0.25)
    with pytest.raises(exc, match=rf"^cross_entropy: {pattern}"):
        dlmath.cross_entropy(z, t, **kwargs)


def test_where_removes_classes_and_examples():
    z = rng(48).standard_normal((4, 5)) * 2
    t = np.array([0, 2, 4, 1])
    keep = np.ones((4, 5), bool)
    keep[0, [1, 3]] = False
    keep[2] = False  # nothing kept: loss 0, not in the mean
    per = dlmath.cross_entropy(z, t, where=keep, reduction="none")
    ref0 = -(z[0, 0] - np.log(np.exp(z[0, [0, 2, 4]]).sum()))
    assert per[0] == pytest.approx(ref0, rel=1e-14) and per[2] == 0.0
    np.testing.assert_allclose(
        per[[1, 3]], dlmath.cross_entropy(z[[1, 3]], t[[1, 3]], reduction="none"), rtol=1e-15
    )
    assert float(dlmath.cross_entropy(z, t, where=keep)) == pytest.approx(per.sum() / 3, rel=1e-14)
    g = dlmath.cross_entropy_grad(z, t, where=keep, reduction="none")
    np.testing.assert_array_equal(g[2], 0.0)
    np.testing.assert_array_equal(g[0, [1, 3]], 0.0)
    rows = np.array([True, False, True, True])
    assert float(dlmath.cross_entropy(z, t, where=rows)) == pytest.approx(
        float(dlmath.cross_entropy(z[rows], t[rows])), rel=1e-14
    )
    keep[1, 2] = False  # the label of example 1 is masked out
    with pytest.raises(
        ValueError, match=r"target index 2 at position \(1,\) names a class that 'where' leaves out"
    ):
        dlmath.cross_entropy(z, t, where=keep)


def test_grad_of_the_options_matches_central_differences():
    z = rng(49).standard_normal((5, 6))
    t = np.array([0, 3, 5, 3, 1])
    w = rng(50).random(6) + 0.5
    keep = rng(51).random((5, 6)) > 0.2
    keep[np.arange(5), t] = True
    kw = dict(weight=w, ignore_index=1, label_smoothing=0.2, where=keep)
    d = rng(52).standard_normal(z.shape)
    h = 1e-6
    fd = (dlmath.cross_entropy(z + h * d, t, **kw) - dlmath.cross_entropy(z - h * d, t, **kw)) / (2 * h)
    assert float(np.sum(dlmath.cross_entropy_grad(z, t, **kw) * d)) == pytest.approx(float(fd), rel=1e-7)


def test_options_agree_on_every_backend(backend):
    z = rng(53).standard_normal((5, 6))
    t = np.array([0, 3, 5, 3, 1])
    y = rng(54).random((5, 6))
    w = rng(55).random(6) + 0.5
    keep = rng(56).random((5, 6)) > 0.2
    keep[np.arange(5), t] = True
    for target, kw in (
        (t, dict(weight=w, ignore_index=3, label_smoothing=0.1)),
        (t, dict(where=keep, reduction="none")),
        (y, dict(weight=w, label_smoothing=0.3, where=keep)),
    ):
        for f in (dlmath.cross_entropy, dlmath.cross_entropy_grad):
            ref = f(z, target, **kw)
            args = {k: backend.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
            out = f(backend.asarray(z), backend.asarray(target), **args)
            assert backend.is_native(out)
            np.testing.assert_allclose(backend.to_numpy(out), ref, rtol=1e-12, atol=1e-15)
