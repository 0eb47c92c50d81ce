"""softplus, log_sigmoid and binary_cross_entropy against mpmath (50 digits, computed here from the
exact binary inputs), PyTorch, JAX and SciPy.

Errors are counted in ulps of the output dtype at the exact value (2**-1074 or 2**-149 for a
subnormal), so a correctly rounded result is within 0.5 ulp.
"""

from __future__ import annotations

import functools
import math

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmath import binary_cross_entropy, log_sigmoid, softplus

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
DTYPES = [pytest.param(F32, id="float32"), pytest.param(F64, id="float64")]

# ----------------------------------------------------------------------------- mpmath reference


@functools.cache
def mp_softplus(x: float):
    """log(1 + e^x) of the exact binary value x, at 50 digits (log1p keeps e^x for x << 0)."""
    with mpmath.workdps(50):
        return mpmath.log1p(mpmath.exp(mpmath.mpf(x)))


def mp_log_sigmoid(x: float):
    return -mp_softplus(-x)


def ulp(exact, dtype):
    """The spacing of ``dtype`` at ``exact``: 2**(e - p) for |exact| in [2**(e-1), 2**e), at least the
    smallest subnormal."""
    p, emin = (53, -1074) if dtype == F64 else (24, -149)
    if exact == 0:
        return mpmath.mpf(2) ** emin
    _, e = mpmath.frexp(abs(exact))
    return mpmath.mpf(2) ** max(e - p, emin)


def ulp_errors(got, xs, ref, dtype):
    got = np.asarray(got)
    assert got.dtype == dtype
    with mpmath.workdps(50):
        return np.array(
            [
                float(abs(mpmath.mpf(float(g)) - ref(float(x))) / ulp(ref(float(x)), dtype))
                for g, x in zip(got.ravel(), np.asarray(xs).ravel(), strict=True)
            ]
        )


def _edges():
    """Points where softplus, log-sigmoid or a peer changes regime, for float64 and float32."""
    f32 = np.finfo(np.float32)
    f64 = np.finfo(np.float64)
    pts = [
        0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-20, 1e-8, 1e-3, 0.5, 1.0, math.log(2),
        math.log(f64.max), np.nextafter(math.log(f64.max), 0), np.nextafter(math.log(f64.max), 1000),
        math.log(f64.tiny), math.log(5e-324), -745.1332191019411, 745.2,
        float(np.log(np.float32(f32.max))), float(np.log(np.float32(f32.tiny))), -103.97207641601562,
        15.9, 16.63, 17.0, 20.0, 20.02, 36.04, 36.7, 37.0, 88.8, 104.0, 709.8, 710.0, 800.0,
        1e4, 1e30, 1e300, float(f64.max), float(f32.max), float(f32.tiny), float(f32.smallest_subnormal),
    ]  # fmt: skip
    pts = np.array(pts)
    return np.concatenate([pts, -pts])


def grid(dtype):
    """A dense grid of [-800, 800], a denser one of [-40, 40], every log(2**k) inside, and the edges."""
    xs = np.concatenate(
        [
            np.linspace(-800, 800, 16001),
            np.linspace(-40, 40, 10241),
            np.arange(-1154, 1155) * math.log(2),
            _edges(),
        ]
    )
    with np.errstate(over="ignore"):
        xs = xs.astype(dtype)
    return np.unique(xs[np.isfinite(xs)])


def adversarial(dtype):
    with np.errstate(over="ignore"):
        xs = _edges().astype(dtype)
    ks = np.arange(-1154, 1155, 17) * math.log(2)
    return np.unique(np.concatenate([xs[np.isfinite(xs)], ks.astype(dtype)]))


# ----------------------------------------------------------------------------- docstring identities


def test_softplus():
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), its slope is sigma(z), and softplus(z) - softplus(-z) = z
    z = np.array([-700.0, -30.0, -2.5, -1e-9, 0.0, 1e-9, 0.7, 19.0, 40.0, 700.0])
    with mpmath.workdps(350):  # 1 + e^-700 needs 305 digits before the log
        exact = [mpmath.log(1 + mpmath.exp(mpmath.mpf(v))) for v in z]
    np.testing.assert_allclose(softplus(z), [float(e) for e in exact], rtol=2.3e-16, atol=0)
    sp, sm = softplus(z), softplus(-z)
    assert np.all(np.abs((sp - sm) - z) <= 2.3e-16 * (sp + sm))  # the subtraction rounds at their scale
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    softplus(zt).sum().backward()
    np.testing.assert_allclose(zt.grad.numpy(), 1 / (1 + np.exp(-z)), rtol=1e-15, atol=0)


def test_log_sigmoid():
    # log sigma(z) = -softplus(-z) = min(z, 0) - log1p(e^-|z|), its slope sigma(-z)
    z = np.array([-700.0, -30.0, -2.5, 0.0, 0.7, 19.0, 40.0, 700.0])
    with mpmath.workdps(350):
        exact = [mpmath.log(1 / (1 + mpmath.exp(-mpmath.mpf(v)))) for v in z]
    np.testing.assert_allclose(log_sigmoid(z), [float(e) for e in exact], rtol=2.3e-16, atol=0)
    np.testing.assert_array_equal(log_sigmoid(z), -softplus(-z))
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    log_sigmoid(zt).sum().backward()
    np.testing.assert_allclose(zt.grad.numpy(), 1 / (1 + np.exp(z)), rtol=1e-15, atol=0)


def test_binary_cross_entropy():
    # -y log s - (1-y) log(1-s) = softplus(z) - y z = (1-y) softplus(z) + y softplus(-z), gradient s - y;
    # with pos_weight w: -w y log s - (1-y) log(1-s), gradient (1 + (w-1) y) s - w y
    z = np.array([-12.0, -1.5, 0.0, 0.25, 3.0, 9.0])
    y = np.array([0.0, 1.0, 0.5, 0.3, 1.0, 0.0])
    w = 2.5
    with mpmath.workdps(50):
        s = [1 / (1 + mpmath.exp(-mpmath.mpf(v))) for v in z]
        plain = [-b * mpmath.log(a) - (1 - b) * mpmath.log(1 - a) for a, b in zip(s, y, strict=True)]
        weighted = [-w * b * mpmath.log(a) - (1 - b) * mpmath.log(1 - a) for a, b in zip(s, y, strict=True)]
        closed = [mpmath.log1p(mpmath.exp(v)) - b * v for v, b in zip(z, y, strict=True)]
    got = binary_cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(got, [float(v) for v in plain], rtol=1e-15)
    np.testing.assert_allclose(got, [float(v) for v in closed], rtol=1e-15)
    got_w = binary_cross_entropy(z, y, pos_weight=w, reduction="none")
    np.testing.assert_allclose(got_w, [float(v) for v in weighted], rtol=1e-15)
    torch = pytest.importorskip("torch")
    for pw, expected in ((None, [float(a) - b for a, b in zip(s, y, strict=True)]),
                         (w, [(1 + (w - 1) * b) * float(a) - w * b for a, b in zip(s, y, strict=True)])):  # fmt: skip
        zt = torch.tensor(z, requires_grad=True)
        binary_cross_entropy(zt, torch.tensor(y), pos_weight=pw, reduction="sum").backward()
        np.testing.assert_allclose(zt.grad.numpy(), expected, rtol=1e-14, atol=1e-17)


# ----------------------------------------------------------------------------- accuracy: 1 ulp


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("f", "ref"), [(softplus, mp_softplus), (log_sigmoid, mp_log_sigmoid)])
def test_within_one_ulp_of_mpmath_from_minus_800_to_800(f, ref, dtype):
    xs = grid(dtype)
    err = ulp_errors(f(xs), xs, ref, dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= 1.0, f"{f.__name__}({xs[worst]!r}) is {err[worst]:.3f} ulp off"
    assert np.mean(err <= 0.5 + 1e-9) > 0.999  # and correctly rounded nearly everywhere


def test_special_values():
    inf, nan = math.inf, math.nan
    z = np.array([inf, -inf, nan, -0.0])
    np.testing.assert_array_equal(softplus(z), [inf, 0.0, nan, math.log(2)])
    np.testing.assert_array_equal(log_sigmoid(z), [0.0, -inf, nan, -math.log(2)])
    assert softplus(np.float64(1e308)) == 1e308 and softplus(np.float64(-1e308)) == 0.0


def _peers(dtype, which):
    """The peers that compute ``which`` ("softplus" or "log_sigmoid"), as NumPy-in NumPy-out functions."""
    import scipy.special

    out = {}
    if which == "softplus":
        out["scipy.special.softplus"] = scipy.special.softplus
        out["numpy.logaddexp(0, z)"] = lambda x: np.logaddexp(dtype.type(0), x)
    else:
        out["scipy.special.log_expit"] = scipy.special.log_expit
    try:
        import torch

        tf = torch.nn.functional.softplus if which == "softplus" else torch.nn.functional.logsigmoid
        out["torch"] = lambda x: tf(torch.from_numpy(x)).numpy()
    except ImportError:  # pragma: no cover - depends on the environment
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jf = jax.nn.softplus if which == "softplus" else jax.nn.log_sigmoid
        out["jax"] = lambda x: np.asarray(jf(x))
    except ImportError:  # pragma: no cover - depends on the environment
        pass
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("f", "ref"), [(softplus, mp_softplus), (log_sigmoid, mp_log_sigmoid)])
def test_at_least_as_accurate_as_the_best_peer_on_adversarial_inputs(f, ref, dtype):
    xs = adversarial(dtype)
    ours = ulp_errors(f(xs), xs, ref, dtype)
    peers = {name: ulp_errors(g(xs), xs, ref, dtype) for name, g in _peers(dtype, f.__name__).items()}
    best = np.min(np.stack(list(peers.values())), axis=0)
    worse = np.flatnonzero(ours > best + 1e-9)
    assert worse.size == 0, [(float(xs[i]), ours[i], best[i]) for i in worse]
    assert ours.max() <= 0.5 + 1e-3


# ----------------------------------------------------------------------------- where the peers lose digits


def test_torch_float64_softplus_returns_z_past_20_and_loses_five_digits():
    torch = pytest.importorskip("torch")
    z = np.array([20.02, 25.0, 30.0])
    theirs = ulp_errors(torch.nn.functional.softplus(torch.from_numpy(z)).numpy(), z, mp_softplus, F64)
    assert theirs[0] > 5e5 and theirs[1] > 3e3 and theirs[2] > 20  # threshold=20: z itself, e^-z dropped
    assert ulp_errors(softplus(z), z, mp_softplus, F64).max() <= 0.5 + 1e-3
    assert ulp_errors(softplus(torch.from_numpy(z)).numpy(), z, mp_softplus, F64).max() <= 1.0


def test_torch_float32_logsigmoid_at_100_is_more_than_one_ulp_off():
    torch = pytest.importorskip("torch")
    z = np.array([100.0], dtype=np.float32)  # log sigma(100) = -e^-100, a float32 subnormal
    theirs = ulp_errors(torch.nn.functional.logsigmoid(torch.from_numpy(z)).numpy(), z, mp_log_sigmoid, F32)
    assert theirs[0] > 1.4
    assert ulp_errors(log_sigmoid(z), z, mp_log_sigmoid, F32)[0] <= 0.5
    assert ulp_errors(log_sigmoid(torch.from_numpy(z)).numpy(), z, mp_log_sigmoid, F32)[0] <= 0.5


def test_jax_softplus_loses_digits_in_float32_and_flushes_subnormals():
    jax = pytest.importorskip("jax")
    z = np.array([-0.45, -88.0], dtype=np.float32)
    theirs = ulp_errors(np.asarray(jax.nn.softplus(z)), z, mp_softplus, F32)
    assert theirs[0] > 2.0  # XLA's float32 exp and log1p
    assert np.asarray(jax.nn.softplus(z))[1] == 0  # e^-88 = 6.05e-39 is subnormal: flushed to zero
    assert float(mp_softplus(-88.0)) == pytest.approx(6.0546e-39, rel=1e-4)
    assert ulp_errors(softplus(z), z, mp_softplus, F32).max() <= 0.5


def test_jax_float64_softplus_is_two_ulp_off_at_minus_0_81():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    z = np.array([-0.8100000000000023])
    assert ulp_errors(np.asarray(jax.nn.softplus(z)), z, mp_softplus, F64)[0] > 1.9
    assert ulp_errors(softplus(z), z, mp_softplus, F64)[0] <= 0.5


def test_scipy_and_numpy_logaddexp_are_more_than_one_ulp_off_at_minus_2_06():
    import scipy.special

    z = np.array([-2.0600000000000023])
    assert ulp_errors(scipy.special.softplus(z), z, mp_softplus, F64)[0] > 1.2
    assert ulp_errors(np.logaddexp(0.0, z), z, mp_softplus, F64)[0] > 1.2
    assert ulp_errors(softplus(z), z, mp_softplus, F64)[0] <= 0.5


def test_naive_formulas_overflow_where_softplus_does_not():
    z = np.array([89.0, -89.0], dtype=np.float32)
    with np.errstate(over="ignore", divide="ignore"):
        naive_sp = np.log1p(np.exp(z))
        naive_ls = np.log(1 / (1 + np.exp(-z)))
    assert naive_sp[0] == np.inf and naive_ls[1] == -np.inf
    np.testing.assert_array_equal(softplus(z)[0], np.float32(89.0))
    np.testing.assert_array_equal(log_sigmoid(z)[1], np.float32(-89.0))


# ----------------------------------------------------------------------------- other backends


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("f", "ref"), [(softplus, mp_softplus), (log_sigmoid, mp_log_sigmoid)])
def test_torch_and_jax_paths_against_mpmath(f, ref, dtype):
    """float32 works in float64 there, so it is correctly rounded (JAX flushes subnormals to 0); float64
    is as good as the framework's own exp and log1p: measured 1.5 ulp (torch) and 2.01 ulp (JAX)."""
    xs = grid(dtype)[::7]
    with mpmath.workdps(50):
        normal = np.array([abs(ref(float(x))) >= np.finfo(dtype).tiny for x in xs])
    torch = pytest.importorskip("torch")
    err = ulp_errors(f(torch.from_numpy(xs)).numpy(), xs, ref, dtype)
    assert err.max() <= (0.5 + 1e-3 if dtype == F32 else 1.6)
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    got = np.asarray(f(jax.numpy.asarray(xs)))
    err = ulp_errors(got, xs, ref, dtype)
    assert err[normal].max() <= (0.5 + 1e-3 if dtype == F32 else 2.1)
    assert np.all(got[~normal] == 0)


def test_backends_keep_kind_dtype_and_input(backend):
    x0 = np.array([-3.0, 0.0, 2.5, 40.0])
    for dtype in (np.float32, np.float64):
        x = backend.asarray(x0.astype(dtype))
        for f in (softplus, log_sigmoid):
            out = f(x)
            assert backend.is_native(out) and out.dtype == x.dtype
            np.testing.assert_allclose(backend.to_numpy(out), f(x0).astype(dtype), rtol=1e-6)
        np.testing.assert_array_equal(backend.to_numpy(x), x0.astype(dtype))


def test_array_api_strict_device_without_float64_works_in_float32():
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray([-100.0, 0.5, 3.0], dtype=xp.float32, device=xp.Device("no_float64"))
    out = softplus(x)
    assert out.dtype == xp.float32 and out.device == x.device
    back = np.from_dlpack(out.to_device(xp.Device("CPU_DEVICE")))
    np.testing.assert_array_equal(back, softplus(np.float32([-100, 0.5, 3])))


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_precisions_compute_in_float32_and_keep_their_dtype(name):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, name)
    z = torch.tensor([-20.0, -3.0, 0.0, 5.0, 20.0]).to(dt)
    for f in (softplus, log_sigmoid):
        out = f(z)
        assert out.dtype == dt
        exact = f(z.to(torch.float64)).to(dt)
        assert torch.equal(out, exact)
    assert softplus(np.float16(11.5)).dtype == np.float16 and softplus(np.float16(12.0)) == np.float16(12.0)


@pytest.mark.parametrize("f", [softplus, log_sigmoid])
def test_ints_and_bools_promote_to_the_default_float(f):
    assert f([1, 2]).dtype == np.float64 and f(np.array([True, False])).dtype == np.float64
    torch = pytest.importorskip("torch")
    assert f(torch.tensor([1, 2])).dtype == torch.get_default_dtype()


@pytest.mark.parametrize("f", [softplus, log_sigmoid])
def test_complex_and_strings_are_type_errors_naming_function_and_argument(f):
    with pytest.raises(TypeError, match=rf"{f.__name__}: argument 'z' must be real; got complex"):
        f(np.array([1 + 2j]))
    with pytest.raises(TypeError, match=rf"{f.__name__}: argument 'z'"):
        f(np.array(["a"]))


def test_numpy_zero_d_input_gives_a_zero_d_array():
    out = softplus(np.float32(1.0))
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float32


# ----------------------------------------------------------------------------- autodiff


def test_torch_gradient_is_sigmoid_everywhere_half_at_zero_never_nan():
    torch = pytest.importorskip("torch")
    z0 = np.array([-math.inf, -800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0, math.inf])
    z = torch.tensor(z0, requires_grad=True)
    softplus(z).sum().backward()
    with mpmath.workdps(50):
        sig = [float(1 / (1 + mpmath.exp(-mpmath.mpf(v)))) if math.isfinite(v) else float(v > 0) for v in z0]
    np.testing.assert_allclose(z.grad.numpy(), sig, rtol=1e-15, atol=0)
    assert z.grad[4] == 0.5
    z = torch.tensor(z0, requires_grad=True)
    log_sigmoid(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), sig[::-1], rtol=1e-15, atol=0)


def test_torch_second_derivative_is_accurate_at_plus_and_minus_40():
    # sigma'(z) = e^-|z| / (1 + e^-|z|)^2; sigma(z) (1 - sigma(z)) rounds to 0 at z = +40
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float64):
        z = torch.tensor([-40.0, 40.0], dtype=dtype, requires_grad=True)
        (g,) = torch.autograd.grad(softplus(z).sum(), z, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), z)
        exact = math.exp(-40) / (1 + math.exp(-40)) ** 2
        np.testing.assert_allclose(h.numpy(), [exact, exact], rtol=4 * float(torch.finfo(dtype).eps))
        s = torch.sigmoid(z.detach())
        assert (s * (1 - s))[1] == 0  # the naive formula


def test_jax_grad_and_jit():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    z = jnp.asarray([-jnp.inf, -40.0, 0.0, 3.0, jnp.inf])
    g = jax.vmap(jax.grad(softplus))(z)
    np.testing.assert_allclose(np.asarray(g), [0.0, 1 / (1 + math.exp(40)), 0.5, 1 / (1 + math.exp(-3)), 1.0])
    np.testing.assert_allclose(np.asarray(jax.jit(log_sigmoid)(z)), log_sigmoid(np.asarray(z)))
    h = jax.grad(jax.grad(softplus))(40.0)
    np.testing.assert_allclose(float(h), math.exp(-40) / (1 + math.exp(-40)) ** 2, rtol=1e-14)


@given(hnp.arrays(np.float64, st.integers(0, 20), elements=st.floats(-750, 750)))
def test_softplus_minus_its_reflection_is_z_and_bounds_hold(z):
    sp = softplus(z)
    assert np.all(sp >= np.maximum(z, 0)) and np.all(sp <= np.maximum(z, 0) + math.log(2) + 1e-15)
    sm = softplus(-z)
    assert np.all(np.abs((sp - sm) - z) <= 2.3e-16 * (sp + sm))
    assert np.all(log_sigmoid(z) <= 0)


# ----------------------------------------------------------------------------- binary cross-entropy


def mp_bce(z, y, w=1.0):
    """-(w y log sigma(z) + (1 - y) log(1 - sigma(z))) at 50 digits, from the exact inputs."""
    with mpmath.workdps(50):
        yy = mpmath.mpf(float(y))
        return w * yy * mp_softplus(-float(z)) + (1 - yy) * mp_softplus(float(z))


def _torch_bce(z, y, **kw):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    zt = torch.tensor(z, requires_grad=True)
    pw = kw.pop("pos_weight", None)
    loss = F.binary_cross_entropy_with_logits(
        zt, torch.tensor(y), pos_weight=None if pw is None else torch.tensor(pw), **kw
    )
    (loss if loss.ndim == 0 else loss.sum()).backward()
    return loss.detach().numpy(), zt.grad.numpy()


def _our_bce(z, y, **kw):
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    pw = kw.pop("pos_weight", None)
    loss = binary_cross_entropy(
        zt, torch.tensor(y), pos_weight=None if pw is None else torch.tensor(pw), **kw
    )
    (loss if loss.ndim == 0 else loss.sum()).backward()
    return loss.detach().numpy(), zt.grad.numpy()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("pw_shape", [None, (), (5,), (4, 1), (4, 5)])
def test_bce_value_and_gradient_equal_torch(reduction, pw_shape):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((4, 5)) * 6
    y = rng.random((4, 5))
    y[0] = rng.integers(0, 2, 5)
    kw = {"reduction": reduction}
    if pw_shape is not None:
        kw["pos_weight"] = rng.random(pw_shape) * 3
    ours, g_ours = _our_bce(z, y, **dict(kw))
    theirs, g_theirs = _torch_bce(z, y, **dict(kw))
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(binary_cross_entropy(z, y, **kw), ours, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_on_adversarial_logits_is_exact_where_torch_cancels(dtype):
    big = 1e4 if dtype == F64 else 80.0
    z = np.array([-big, -700.0, -100.0, -30.0, -17.0, 0.0, 17.0, 30.0, 100.0, 700.0, big])
    if dtype == F32:
        z = np.clip(z, -103.0, 103.0)
    z = z.astype(dtype)
    for yv in (0.0, 1.0, 0.5, 1e-3):
        y = np.full_like(z, yv)
        ours = binary_cross_entropy(z, y, reduction="none")
        with mpmath.workdps(50):
            exact = [mp_bce(a, b) for a, b in zip(z, y, strict=True)]
        err = np.array(
            [float(abs(mpmath.mpf(float(o)) - e) / ulp(e, dtype)) for o, e in zip(ours, exact, strict=True)]
        )
        assert err.max() <= 2.0, (yv, z[np.argmax(err)], err.max())
        theirs, g_theirs = _torch_bce(z, y, reduction="none")
        eps = np.finfo(dtype).eps
        # torch's (1 - y) z - log sigma(z) is accurate to eps |z|, not to the size of the loss
        np.testing.assert_allclose(ours, theirs, rtol=4 * eps, atol=4 * eps * float(np.abs(z).max()))
        _, g_ours = _our_bce(z, y, reduction="none")
        np.testing.assert_allclose(g_ours, g_theirs, rtol=4 * eps, atol=4 * eps)


def test_torch_bce_loses_digits_at_z_minus_30_target_0():
    z, y = np.array([-30.0]), np.array([0.0])
    theirs, _ = _torch_bce(z, y)
    exact = float(mp_softplus(-30.0))
    assert abs(theirs - exact) / exact > 1e-2
    assert float(binary_cross_entropy(z, y)) == exact


def test_bce_limits_at_infinite_logits_where_torch_gives_nan():
    inf = math.inf
    z = np.array([inf, -inf, inf, -inf])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(binary_cross_entropy(z, y, reduction="none"), [0.0, 0.0, inf, inf])
    theirs, _ = _torch_bce(z, y, reduction="none")
    assert np.isnan(theirs[:2]).all()
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    binary_cross_entropy(zt, torch.tensor(y), reduction="sum").backward()
    assert torch.isfinite(zt.grad).all()


def test_bce_jit_and_grad_in_jax_and_nan_for_a_bad_target_inside_jit():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    z = np.array([-3.0, 0.5, 4.0])
    y = np.array([0.0, 0.25, 1.0])
    f = jax.jit(lambda a, b: binary_cross_entropy(a, b, pos_weight=2.0, reduction="sum"))
    np.testing.assert_allclose(
        float(f(jnp.asarray(z), jnp.asarray(y))), binary_cross_entropy(z, y, pos_weight=2.0, reduction="sum")
    )
    g = jax.grad(lambda a: binary_cross_entropy(a, jnp.asarray(y), pos_weight=2.0, reduction="sum"))(
        jnp.asarray(z)
    )
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(np.asarray(g), (1 + y) * s - 2 * y, rtol=1e-14)
    bad = jax.jit(lambda a, b: binary_cross_entropy(a, b, reduction="none"))(
        jnp.asarray(z), jnp.asarray([0.0, 1.5, 1.0])
    )
    assert np.isnan(np.asarray(bad)[1]) and np.isfinite(np.asarray(bad)[[0, 2]]).all()


def test_bce_dtypes_and_empty_mean():
    z = np.array([0.5, -1.0], dtype=np.float32)
    assert binary_cross_entropy(z, np.array([1.0, 0.0])).dtype == np.float32
    assert binary_cross_entropy(z, np.array([True, False])).dtype == np.float32
    assert binary_cross_entropy(np.array([1, 2]), np.array([1, 0])).dtype == np.float64
    assert np.isnan(binary_cross_entropy(np.zeros(0), np.zeros(0)))
    assert binary_cross_entropy(np.zeros((0, 3)), np.zeros((0, 3)), reduction="none").shape == (0, 3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"target": [0.5, 1.2]}, ValueError, r"binary_cross_entropy: 'target' must be in \[0, 1\]; got 1.2 at position \(1,\)"),
        ({"target": [math.nan, 1.0]}, ValueError, r"'target' must be in \[0, 1\]; got nan at position \(0,\)"),
        ({"target": [-0.1, 1.0]}, ValueError, r"'target' must be in \[0, 1\]; got -0.1"),
        ({"target": [0.5]}, ValueError, r"'target' must have the logits' shape \(2,\); got \(1,\)"),
        ({"pos_weight": [1.0, 2.0, 3.0]}, ValueError, r"'pos_weight' must broadcast to the logits' shape \(2,\); got shape \(3,\)"),
        ({"pos_weight": [[1.0], [2.0]]}, ValueError, r"'pos_weight' must broadcast to the logits' shape"),
        ({"pos_weight": -1.0}, ValueError, r"'pos_weight' must be finite and >= 0; got -1.0"),
        ({"pos_weight": math.inf}, ValueError, r"'pos_weight' must be finite and >= 0; got inf"),
        ({"reduction": "avg"}, ValueError, r"'reduction' must be one of 'none', 'sum', 'mean'; got 'avg'"),
        ({"target": [1j, 0]}, TypeError, r"binary_cross_entropy: argument 'target' must be real"),
    ],
)  # fmt: skip
def test_bce_bad_arguments_name_function_argument_expected_and_received(kwargs, exc, pattern):
    args = {"target": [0.5, 1.0], **kwargs}
    with pytest.raises(exc, match=pattern):
        binary_cross_entropy([0.0, 1.0], **args)


def test_bce_mixed_kinds_are_a_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"'logits' and 'target' must be the same kind of array"):
        binary_cross_entropy(np.zeros(2), torch.zeros(2))
    jax = pytest.importorskip("jax")
    with pytest.raises(
        TypeError, match=r"binary_cross_entropy: argument 'pos_weight' must be a real numeric"
    ):
        binary_cross_entropy(torch.zeros(2), torch.zeros(2), pos_weight=jax.numpy.ones(2))


def test_docstring_examples_run():
    import doctest

    import dlmath.bernoulli

    result = doctest.testmod(dlmath.bernoulli, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
    assert {"softplus", "log_sigmoid", "binary_cross_entropy"} <= set(dlmath.__all__)
