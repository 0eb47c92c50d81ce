"""Noise models checked against scipy.stats densities, quadrature, hand values and the scale equations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from dlmath import noise
from dlmath.noise import Cauchy, Gaussian, Huber, Laplace, Logistic, StudentT

R = np.array([-50.0, -3.0, -1.0, -0.25, 0.0, 0.1, 0.7, 2.0, 40.0])


# ------------------------------------------------------------------------------ densities


@pytest.mark.parametrize(
    ("model", "ref"),
    [
        (Gaussian(2.5), scipy.stats.norm(scale=2.5)),
        (Laplace(0.7), scipy.stats.laplace(scale=0.7)),
        (StudentT(3.0, 1.5), scipy.stats.t(df=3.0, scale=1.5)),
        (StudentT(1.0), scipy.stats.cauchy()),
        (StudentT(0.5, 2.0), scipy.stats.t(df=0.5, scale=2.0)),
        (Cauchy(0.3), scipy.stats.cauchy(scale=0.3)),
        (Logistic(1.7), scipy.stats.logistic(scale=1.7)),
    ],
    ids=["gaussian", "laplace", "student-t", "cauchy-as-t", "student-t-heavy", "cauchy", "logistic"],
)
def test_logpdf_matches_scipy_stats(model, ref):
    np.testing.assert_allclose(model.logpdf(R), ref.logpdf(R), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(model.nll(R), -ref.logpdf(R), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("delta", [0.05, 0.5, 1.0, 1.345, 3.0, 8.0])
@pytest.mark.parametrize("scale", [0.3, 1.0, 4.0])
def test_huber_density_integrates_to_one(delta, scale):
    m = Huber(delta, scale)
    k = delta * scale
    f = lambda r: math.exp(float(m.logpdf(r)))  # noqa: E731
    # Split at the kinks so quad sees smooth pieces.
    total = (
        scipy.integrate.quad(f, -np.inf, -k)[0]
        + scipy.integrate.quad(f, -k, k)[0]
        + scipy.integrate.quad(f, k, np.inf)[0]
    )
    assert total == pytest.approx(1.0, abs=1e-10)


def test_huber_normalizer_limits():
    # Small delta: the two exponential tails dominate, Z ~ 2/delta; large delta: the Gaussian sqrt(2 pi).
    assert Huber(1e-6).normalizer == pytest.approx(2e6, rel=1e-6)
    assert Huber(40.0).normalizer == pytest.approx(math.sqrt(2 * math.pi), rel=1e-12)


def test_huber_density_inside_threshold_is_a_rescaled_normal():
    # Inside |r| <= delta*scale the Huber density is N(0, scale^2) times sqrt(2 pi) / Z(delta).
    m = Huber(1.5, 2.0)
    r = np.array([-2.9, 0.0, 1.0, 2.99])
    expected = scipy.stats.norm(scale=2.0).logpdf(r) + math.log(math.sqrt(2 * math.pi) / m.normalizer)
    np.testing.assert_allclose(m.logpdf(r), expected, rtol=1e-13)


# ------------------------------------------------------------------------------ losses and (sub)gradients


def test_losses_by_hand():
    r = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    assert Gaussian(7.0).loss(r).tolist() == [4.5, 0.125, 0.0, 0.125, 4.5]
    assert Laplace(7.0).loss(r).tolist() == [3.0, 0.5, 0.0, 0.5, 3.0]
    assert Huber(1.0).loss(r).tolist() == [2.5, 0.125, 0.0, 0.125, 2.5]
    # threshold delta*scale = 2: 2*(3 - 1) = 4
    assert Huber(1.0, 2.0).loss(r).tolist() == [4.0, 0.125, 0.0, 0.125, 4.0]
    np.testing.assert_allclose(StudentT(3.0).loss(r), 2.0 * np.log1p(r * r / 3.0), rtol=1e-15)


def test_dloss_by_hand_and_sign_of_zero():
    r = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    assert Gaussian().dloss(r).tolist() == r.tolist()
    assert Laplace().dloss(r).tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]
    assert Huber(1.0).dloss(r).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert Huber(1.0, 2.0).dloss(r).tolist() == [-2.0, -0.5, 0.0, 0.5, 2.0]
    np.testing.assert_allclose(StudentT(3.0).dloss(r), 4.0 * r / (3.0 + r * r), rtol=1e-15)


@pytest.mark.parametrize(
    "model",
    [Gaussian(1.3), Laplace(0.4), Huber(0.8, 1.7), StudentT(2.5, 0.6), Cauchy(0.7), Logistic(0.9)],
    ids=lambda m: m.name,
)
def test_dloss_is_central_difference_of_loss(model):
    r = np.array([-7.3, -1.1, -0.2, 0.3, 0.9, 5.5])  # away from the kinks
    h = 1e-6
    fd = (model.loss(r + h) - model.loss(r - h)) / (2 * h)
    np.testing.assert_allclose(model.dloss(r), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize(
    "model",
    [Gaussian(1.3), Laplace(0.4), Huber(0.8, 1.7), StudentT(2.5, 0.6), Cauchy(0.7), Logistic(0.9)],
    ids=lambda m: m.name,
)
def test_loss_is_nll_up_to_affine_map(model):
    r = np.linspace(-6, 6, 25)
    nll = model.nll(r) - model.nll(0.0)
    factor = {
        "gaussian": model.scale**2,
        "laplace": model.scale,
        "huber": model.scale**2,
        "logistic": 2 * model.scale**2,
    }.get(model.name, 1.0)
    np.testing.assert_allclose(model.loss(r), factor * nll, rtol=1e-12, atol=1e-12)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-3, 1e3),
    st.floats(1e-3, 1e2),
)
def test_huber_is_quadratic_inside_and_linear_outside(r, delta, scale):
    m = Huber(delta, scale)
    k = delta * scale
    value = float(m.loss(np.array([r]))[0])
    expected = 0.5 * r * r if abs(r) <= k else k * (abs(r) - 0.5 * k)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert float(m.dloss(np.array([r]))[0]) == pytest.approx(min(max(r, -k), k), rel=1e-15)


def test_gaussian_loss_is_half_of_torch_mse_loss():
    torch = pytest.importorskip("torch")
    r = np.linspace(-5, 5, 41)
    mse = torch.nn.MSELoss(reduction="none")(torch.asarray(r), torch.zeros(41, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(2.0 * Gaussian(3.0).loss(r), mse, rtol=1e-15)


def test_huber_matches_torch_huber_and_smooth_l1():
    torch = pytest.importorskip("torch")
    r = np.linspace(-5, 5, 41)
    m = Huber(0.75, 2.0)
    k = 1.5
    rt = torch.asarray(r)
    zero = torch.zeros_like(rt)
    hub = torch.nn.HuberLoss(reduction="none", delta=k)(rt, zero).numpy()
    sl1 = torch.nn.SmoothL1Loss(reduction="none", beta=k)(rt, zero).numpy()
    np.testing.assert_allclose(m.loss(r), hub, rtol=1e-14)
    np.testing.assert_allclose(m.loss(r) / k, sl1, rtol=1e-14)


def test_elementwise_methods_follow_the_array_kind_and_dtype(backend):
    r = backend.asarray(np.array([-2.0, 0.0, 0.5], dtype=np.float32))
    for model in (Gaussian(2.0), Laplace(), Huber(1.0), StudentT(3.0), Cauchy(), Logistic(0.5)):
        for method in ("logpdf", "nll", "loss", "dloss", "weight", "curvature"):
            out = getattr(model, method)(r)
            assert backend.is_native(out), (model.name, method)
            ref = getattr(model, method)(np.array([-2.0, 0.0, 0.5]))
            np.testing.assert_allclose(backend.to_numpy(out).astype(np.float64), ref, rtol=1e-6, atol=1e-7)
            assert str(out.dtype).endswith("float32")


def test_integer_residuals_promote_to_float():
    assert Laplace().loss(np.array([1, -2])).dtype == np.float64


# ------------------------------------------------------------------------------ scale MLEs


def test_closed_form_scale_mles():
    r = np.array([3.0, -4.0, 0.0, 1.0])
    assert Gaussian().fit_scale(r) == pytest.approx(math.sqrt(26 / 4), rel=1e-15)
    assert Laplace().fit_scale(r) == pytest.approx(2.0, rel=1e-15)


@pytest.mark.parametrize(
    "model", [Huber(1.345), Huber(0.3), StudentT(1.0), StudentT(5.0), Cauchy(), Logistic()], ids=repr
)
def test_scale_mle_maximises_the_likelihood(model):
    r = np.random.default_rng(3).standard_t(3, size=400) * 2.0
    s = model.fit_scale(r)

    def total(sigma):
        return float(np.sum(model.replace_scale(sigma).logpdf(r)))

    assert total(s) >= total(s * (1 + 1e-4))
    assert total(s) >= total(s * (1 - 1e-4))


def test_student_t_scale_mle_matches_scipy_fit():
    r = np.random.default_rng(4).standard_t(4, size=2000) * 0.7
    _, _, scipy_scale = scipy.stats.t.fit(r, f0=4.0, floc=0.0)
    assert StudentT(4.0).fit_scale(r) == pytest.approx(scipy_scale, rel=1e-4)


def test_logistic_scale_mle_matches_scipy_fit():
    r = np.random.default_rng(6).logistic(scale=0.4, size=3000)
    _, scipy_scale = scipy.stats.logistic.fit(r, floc=0.0)
    assert Logistic().fit_scale(r) == pytest.approx(scipy_scale, rel=1e-5)


def test_logistic_loss_is_quadratic_at_zero_and_linear_in_the_tails():
    m = Logistic(0.5)
    assert float(m.loss(1e-4)) == pytest.approx(0.5e-8, rel=1e-6)
    # Slope 2*sigma = 1 far out; no overflow for huge residuals.
    big = np.array([1e3, 1e300])
    assert np.all(np.isfinite(m.loss(big)))
    assert float(m.loss(2e3) - m.loss(1e3)) == pytest.approx(1e3, rel=1e-12)
    assert m.dloss(big).tolist() == [1.0, 1.0]


def test_cauchy_is_student_t_with_one_degree_of_freedom():
    r = np.linspace(-9, 9, 19)
    np.testing.assert_allclose(Cauchy(2.0).logpdf(r), StudentT(1.0, 2.0).logpdf(r), rtol=1e-15)
    assert Cauchy(2.0).df == 1.0 and Cauchy(2.0).replace_scale(3.0) == Cauchy(3.0)
    with pytest.raises(TypeError):
        Cauchy(df=2.0)


def test_scale_mle_recovers_the_true_scale():
    rng = np.random.default_rng(5)
    assert Gaussian().fit_scale(rng.normal(scale=3.0, size=200_000)) == pytest.approx(3.0, rel=0.01)
    assert Laplace().fit_scale(rng.laplace(scale=0.5, size=200_000)) == pytest.approx(0.5, rel=0.01)
    assert StudentT(3.0).fit_scale(2.0 * rng.standard_t(3.0, size=200_000)) == pytest.approx(2.0, rel=0.02)


def test_student_t_scale_is_zero_when_too_many_exact_zeros():
    assert StudentT(1.0).fit_scale([0.0, 0.0, 0.0, 1.0]) == 0.0
    assert Huber().fit_scale([0.0, 0.0]) == 0.0


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Huber(delta=-1.0), ["Huber", "delta", "> 0", "-1.0"]),
        (lambda: Huber(delta=float("inf")), ["Huber", "delta", "finite"]),
        (lambda: Gaussian(scale=0), ["Gaussian", "scale", "> 0", "0"]),
        (lambda: Laplace(scale=float("nan")), ["Laplace", "scale"]),
        (lambda: StudentT(df=0.0), ["StudentT", "df", "> 0"]),
    ],
)
def test_bad_hyper_parameters_raise_value_error_naming_them(build, words):
    with pytest.raises(ValueError) as info:
        build()
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("bad", ["1.0", None, True, 1 + 2j])
def test_non_numeric_hyper_parameters_raise_type_error(bad):
    with pytest.raises(TypeError, match=r"StudentT: 'scale' must be a real number"):
        StudentT(3.0, bad)


def test_complex_residuals_raise_type_error():
    with pytest.raises(TypeError, match=r"Laplace.loss: argument 'r' must be real"):
        Laplace().loss(np.array([1 + 1j]))


def test_fit_scale_rejects_empty_and_non_finite():
    with pytest.raises(ValueError, match=r"Gaussian.fit_scale: argument 'r' must hold at least one"):
        Gaussian().fit_scale([])
    with pytest.raises(ValueError, match=r"Huber.fit_scale: argument 'r' must be finite"):
        Huber().fit_scale([1.0, np.nan])


def test_get_model_resolves_names_and_lists_the_known_ones():
    assert noise.get_model("f", "Student_T") == StudentT()
    assert noise.get_model("f", "l1") == Laplace()
    with pytest.raises(ValueError, match=r"f: unknown noise model 'cauchyy'.*'gaussian', 'laplace', 'huber'"):
        noise.get_model("f", "cauchyy")
    with pytest.raises(TypeError, match=r"f: 'noise' must be a name or a dlmath.noise model"):
        noise.get_model("f", 3)


def test_models_are_immutable_values():
    m = Huber(1.0, 2.0)
    with pytest.raises(AttributeError):
        m.delta = 3.0
    assert m.replace_scale(3.0) == Huber(1.0, 3.0)
    assert m == Huber(1.0, 2.0)


ALL_MODELS = [
    Gaussian(),
    Laplace(),
    Huber(),
    StudentT(),
    Cauchy(),
    Logistic(),
    Gaussian(1e-3),
    StudentT(3, 1e-3),
]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("model", ALL_MODELS, ids=repr)
def test_extreme_residuals_overflow_quietly_and_keep_the_dtype(model, dtype):
    big = np.finfo(dtype).max
    r = np.array([-big, -1.0, 0.0, 0.5, big, np.inf, -np.inf], dtype=dtype)
    for method in ("logpdf", "nll", "loss", "dloss", "weight", "curvature"):
        out = getattr(model, method)(r)  # RuntimeWarnings are errors in this test suite
        assert out.dtype == dtype
        assert not np.any(np.isnan(out)), (method, out)
    assert np.all(model.nll(r[[0, 4, 5, 6]]) > model.nll(r[[2]]))


def test_nan_residuals_propagate():
    for model in ALL_MODELS:
        for method in ("loss", "dloss", "weight", "curvature"):
            assert np.isnan(getattr(model, method)(np.array([np.nan]))[0]), (model, method)


def test_signatures_show_the_residual_argument_only():
    import inspect

    assert list(inspect.signature(Huber.loss).parameters) == ["self", "r"]


@pytest.mark.parametrize(
    "model", [Gaussian(), Laplace(), Huber(), StudentT(), Cauchy(), Logistic()], ids=repr
)
@pytest.mark.parametrize("c", [1e-300, 1e-150, 1e150, 1e300])
def test_scale_mle_is_equivariant_at_extreme_magnitudes(model, c):
    r = np.random.default_rng(7).standard_t(3, size=50)
    assert model.fit_scale(c * r) == pytest.approx(c * model.fit_scale(r), rel=1e-12)


@pytest.mark.parametrize(
    ("df", "scale", "r"),
    [(1.0, 1.0, 1e200), (3.0, 1e-300, 1.0), (4.0, 2.0, -1e160), (0.5, 1e-200, 1e200), (2.0, 1.0, 0.3)],
)
def test_student_t_loss_stays_finite_beyond_the_range_of_the_square(df, scale, r):
    # (r/sigma)^2 overflowed to inf although the loss, a logarithm, is a few thousand at most.
    import mpmath

    with mpmath.workdps(50):
        t2 = (mpmath.mpf(r) / mpmath.mpf(scale)) ** 2 / mpmath.mpf(df)
        expected = float((mpmath.mpf(df) + 1) / 2 * mpmath.log1p(t2))
    m = StudentT(df, scale)
    assert float(m.loss(r)) == pytest.approx(expected, rel=1e-13)
    assert float(m.logpdf(r)) == pytest.approx(m._log_norm() - expected, rel=1e-13)


def test_student_t_loss_in_float32_stays_finite():
    r = np.array([1e30, -3e38], dtype=np.float32)
    out = Cauchy().loss(r)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 2.0 * np.log(np.abs(r.astype(np.float64))), rtol=1e-6)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_logistic_loss_at_extreme_scales_has_no_inf_times_zero(scale):
    # 4 sigma^2 alone under- or overflows: the loss of a unit residual came out 0 or NaN.
    import mpmath

    r = np.array([1.0, -3.0, 0.25 * scale, 7.0 * scale])
    # cosh(u) - 1 ~ u^2/2 is 1e-601 at sigma = 1e300: 700 digits keep it.
    with mpmath.workdps(700):
        s = mpmath.mpf(scale)
        expected = [float(4 * s * s * mpmath.log(mpmath.cosh(mpmath.mpf(v) / (2 * s)))) for v in r]
    np.testing.assert_allclose(Logistic(scale).loss(r), expected, rtol=1e-13)


@pytest.mark.parametrize("delta", [1e-10, 1e-20, 1e-100, 1e-300])
def test_huber_scale_mle_for_tiny_delta_is_delta_times_mean_absolute_residual(delta):
    # Every |r|/sigma is beyond delta, so the equation reads delta * mean|r| / sigma = 1. The old
    # search gave up 40 e-folds below the smallest residual and returned 0 for delta < 1e-17.
    r = np.array([1.0, -2.0, 3.0])
    assert Huber(delta).fit_scale(r) == pytest.approx(delta * 2.0, rel=1e-12)


def test_student_t_scale_mle_at_the_fraction_of_zeros_where_the_root_disappears():
    # nu = 1: a root exists exactly when fewer than half of the residuals are 0. With three of five
    # non-zero (|r| = 1), (3/5) * 2 t^2 / (1 + t^2) = 1 gives t^2 = 5, sigma = 1/sqrt(5).
    assert StudentT(1.0).fit_scale([0.0, 0.0, 1.0, -1.0, 1.0]) == pytest.approx(5**-0.5, rel=1e-13)
    assert StudentT(1.0).fit_scale([0.0, 0.0, 1.0, -1.0]) == 0.0
    # Just past the boundary the root is small but positive, found without overflow warnings.
    s = StudentT(1.0).fit_scale([0.0] * 1000 + [1.0] * 1001)
    assert s == pytest.approx(1.0 / math.sqrt(2001.0), rel=1e-12)  # (1001/2001) 2t^2/(1+t^2) = 1


def test_cauchy_errors_name_cauchy_not_its_base_class():
    with pytest.raises(ValueError, match=r"^Cauchy: 'scale' must be finite and > 0; got -1.0"):
        Cauchy(-1.0)
    with pytest.raises(ValueError, match=r"^Cauchy.fit_scale: argument 'r' must hold at least one"):
        Cauchy().fit_scale([])
    with pytest.raises(TypeError, match=r"^Cauchy.loss: argument 'r' must be real"):
        Cauchy().loss(np.array([1j]))


@pytest.mark.parametrize("delta", [1e-320, 1e-200, 1e-8, 0.3, 0.999, 1.0, 2.5])
def test_huber_log_normalizer_matches_mpmath_even_where_z_overflows(delta):
    # Z = sqrt(2 pi) erf(delta/sqrt 2) + (2/delta) exp(-delta^2/2); 2/delta overflowed below 1e-308
    # and logpdf was -inf everywhere.
    import mpmath

    with mpmath.workdps(50):
        d = mpmath.mpf(delta)
        z = mpmath.sqrt(2 * mpmath.pi) * mpmath.erf(d / mpmath.sqrt(2)) + 2 / d * mpmath.exp(-(d**2) / 2)
        expected = float(mpmath.log(z))
    m = Huber(delta)
    assert m._log_normalizer() == pytest.approx(expected, rel=1e-14)
    assert float(m.logpdf(0.0)) == pytest.approx(-expected, rel=1e-14)


def test_unknown_noise_name_error_names_the_argument():
    with pytest.raises(
        ValueError, match=r"^fit_linear: unknown noise model 'gauss'; .* for argument 'noise'$"
    ):
        noise.get_model("fit_linear", "gauss")


@pytest.mark.parametrize(
    "model",
    [Gaussian(1.3), Laplace(0.4), Huber(0.8, 1.7), StudentT(2.5, 0.6), Cauchy(0.7), Logistic(0.9)],
    ids=repr,
)
def test_torch_autograd_of_loss_is_dloss_without_nan(model):
    # The guarded branches (where on clipped input) must keep PyTorch's gradient finite, also at 0
    # and at residuals whose square overflows.
    torch = pytest.importorskip("torch")
    r = np.array([-1e30, -5.0, -0.3, 1e-8, 0.3, 5.0, 1e30])
    rt = torch.tensor(r, requires_grad=True)
    model.loss(rt).sum().backward()
    np.testing.assert_allclose(rt.grad.numpy(), model.dloss(r), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    "model",
    [
        StudentT(3e-203, 1e-292),  # sigma * sqrt(nu) underflows to 0
        StudentT(1e-283, 1e-108),  # sigma * nu underflows in the gradient
        StudentT(2e269, 1e297),  # sigma * sqrt(nu) overflows to inf
        Huber(1e-283, 1e-109),  # the threshold delta * sigma underflows to 0
        Cauchy(1e-300),
    ],
    ids=repr,
)
def test_parameters_at_the_ends_of_the_float_range_give_no_nan(model):
    r = np.array([-np.inf, -1e300, -1.0, -1e-300, 0.0, 1e-320, 1.0, 1e300, np.inf])
    for method in ("logpdf", "loss", "dloss", "weight", "curvature"):
        out = getattr(model, method)(r)
        assert not np.any(np.isnan(out)), (method, out)
    assert float(model.dloss(0.0)) == 0.0 and float(model.loss(0.0)) == 0.0
    assert model.loss(np.array([np.inf]))[0] == np.inf


def test_scale_mle_with_a_root_below_the_exponent_range_raises_no_overflow_error():
    # Cauchy: 2 of 3 residuals non-zero, one of them 1e-320, puts the root near 1e-320, where
    # exp(-log sigma) overflowed (math range error).
    s = Cauchy().fit_scale([1.0, 1e-320, 0.0])
    assert 0.0 <= s < 1e-290


# ------------------------------------------------------------------------------ weight, curvature, capabilities

MODELS_AT_SCALE = [
    Gaussian(1.3),
    Laplace(0.4),
    Huber(0.8, 1.7),
    StudentT(2.5, 0.6),
    Cauchy(0.7),
    Logistic(0.9),
]
AWAY_FROM_KINKS = np.array([-7.3, -1.1, -0.2, 0.3, 0.9, 5.5])


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_weight_times_r_is_dloss(model):
    r = np.random.default_rng(8).standard_normal(200) * 5.0
    np.testing.assert_allclose(model.weight(r) * r, model.dloss(r), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(
    ("model", "at_zero"),
    [
        (Gaussian(1.3), 1.0),
        (Laplace(0.4), math.inf),
        (Huber(0.8, 1.7), 1.0),
        (StudentT(2.5, 0.6), 3.5 / (2.5 * 0.36)),
        (Cauchy(0.7), 2.0 / 0.49),
        (Logistic(0.9), 1.0),
    ],
    ids=repr,
)
def test_weight_at_zero_is_the_limit_of_dloss_over_r(model, at_zero):
    # psi(r)/r at r = 0 is its limit: psi'(0) for the smooth models, +inf for Laplace.
    assert float(model.weight(0.0)) == pytest.approx(at_zero, rel=1e-14)
    tiny = np.array([1e-9, -1e-9])
    np.testing.assert_allclose(
        model.dloss(tiny) / tiny, at_zero if math.isfinite(at_zero) else 1e9, rtol=1e-8
    )
    if model.smooth:
        assert float(model.curvature(0.0)) == pytest.approx(at_zero, rel=1e-14)


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_curvature_is_central_difference_of_dloss(model):
    h = 1e-6
    fd = (model.dloss(AWAY_FROM_KINKS + h) - model.dloss(AWAY_FROM_KINKS - h)) / (2 * h)
    np.testing.assert_allclose(model.curvature(AWAY_FROM_KINKS), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_torch_autograd_of_dloss_is_curvature(model):
    torch = pytest.importorskip("torch")
    rt = torch.tensor(AWAY_FROM_KINKS, requires_grad=True)
    model.dloss(rt).sum().backward()
    np.testing.assert_allclose(rt.grad.numpy(), model.curvature(AWAY_FROM_KINKS), rtol=1e-12, atol=1e-300)


def test_weight_and_curvature_by_hand():
    r = np.array([-4.0, -1.0, -0.3, 0.0, 0.5, 2.0, 9.0])
    v, s = 2.5, 0.6
    q = v * s * s + r * r
    np.testing.assert_allclose(StudentT(v, s).weight(r), (v + 1) / q, rtol=1e-14)
    np.testing.assert_allclose(StudentT(v, s).curvature(r), (v + 1) * (v * s * s - r * r) / q**2, rtol=1e-13)
    np.testing.assert_allclose(Cauchy(0.7).weight(r), 2.0 / (0.49 + r * r), rtol=1e-14)
    k = 0.8 * 1.7
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(Huber(0.8, 1.7).weight(r), np.minimum(1.0, k / np.abs(r)), rtol=1e-15)
    assert Huber(0.8, 1.7).curvature(r).tolist() == (np.abs(r) <= k).astype(float).tolist()
    u = r / (2 * 0.9)
    with np.errstate(invalid="ignore"):
        tanh_u_over_u = np.where(u == 0, 1.0, np.tanh(u) / u)
    np.testing.assert_allclose(Logistic(0.9).weight(r), tanh_u_over_u, rtol=1e-14)
    np.testing.assert_allclose(Logistic(0.9).curvature(r), 1.0 / np.cosh(u) ** 2, rtol=1e-14)
    assert Gaussian(1.3).weight(r).tolist() == [1.0] * 7 and Gaussian(1.3).curvature(r).tolist() == [1.0] * 7
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(Laplace(0.4).weight(r), 1.0 / np.abs(r), rtol=1e-15)
    assert Laplace(0.4).curvature(r).tolist() == [0.0] * 7


def test_curvature_at_the_kinks_is_the_stated_one_sided_value():
    # Huber: psi = clip(r, -k, k) has slope 1 inside and 0 outside; curvature takes the inside value
    # at |r| = k. Laplace: psi = sign jumps at 0; curvature is 0 there, its value on both sides.
    m = Huber(0.8, 1.7)
    k = m.delta * m.scale
    assert m.kinks == (-k, k)
    assert m.curvature(np.array([-k, k])).tolist() == [1.0, 1.0]
    h = 1e-7
    for kink in m.kinks:
        left = (float(m.dloss(kink)) - float(m.dloss(kink - h))) / h
        right = (float(m.dloss(kink + h)) - float(m.dloss(kink))) / h
        assert {round(left, 6), round(right, 6)} == {0.0, 1.0}
    lap = Laplace(0.4)
    assert lap.kinks == (0.0,) and float(lap.curvature(0.0)) == 0.0
    assert float(lap.dloss(1e-12)) - float(lap.dloss(-1e-12)) == 2.0
    for smooth in (Gaussian(), StudentT(), Cauchy(), Logistic()):
        assert smooth.kinks == ()


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_convexity_claim_jensen_holds_or_has_a_counterexample(model):
    # convex: rho(l a + (1 - l) b) <= l rho(a) + (1 - l) rho(b) on random points; not convex: some
    # random triple breaks it.
    g = np.random.default_rng(9)
    a, b = g.standard_normal((2, 20_000)) * 10.0
    lam = g.random(20_000)
    lhs = model.loss(lam * a + (1 - lam) * b)
    rhs = lam * model.loss(a) + (1 - lam) * model.loss(b)
    slack = 1e-12 * (1.0 + np.abs(rhs))
    if model.convex:
        assert np.all(lhs <= rhs + slack)
    else:
        assert np.any(lhs > rhs + slack)
    assert model.convex == isinstance(model, (Gaussian, Laplace, Huber, Logistic))


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_smoothness_claim_one_sided_derivatives_agree_everywhere_or_not(model):
    # smooth: rho is differentiable, so its one-sided difference quotients agree, also at 0 and at
    # the kinks of psi; Laplace's differ at 0 (-1 and +1).
    h = 1e-7
    points = [0.0, *model.kinks, 0.37, -2.1]
    gaps = [
        abs(
            (float(model.loss(x + h)) - float(model.loss(x))) / h
            - (float(model.loss(x)) - float(model.loss(x - h))) / h
        )
        for x in points
    ]
    if model.smooth:
        assert max(gaps) < 1e-5
    else:
        assert max(gaps) == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_homogeneity_claim(model):
    # rho(c r) = |c|^d rho(r) for every real c when homogeneity is d (then rho = rho(1) |r|^d);
    # otherwise rho(2r)/rho(r) changes with r, so no degree fits.
    g = np.random.default_rng(10)
    r = g.standard_normal(500) * 4.0
    c = g.standard_normal(500) * 3.0
    d = model.homogeneity
    if d is not None:
        np.testing.assert_allclose(model.loss(c * r), np.abs(c) ** d * model.loss(r), rtol=1e-13)
        np.testing.assert_allclose(model.loss(r), float(model.loss(1.0)) * np.abs(r) ** d, rtol=1e-13)
    else:
        ratios = model.loss(np.array([0.2, 20.0])) / model.loss(np.array([0.1, 10.0]))
        assert abs(ratios[0] - ratios[1]) > 0.1
    assert d == {Gaussian: 2, Laplace: 1}.get(type(model))


@pytest.mark.parametrize(
    ("model", "bound"),
    [
        (Gaussian(1.3), math.inf),
        (Laplace(0.4), 1.0),
        (Huber(0.8, 1.7), 0.8 * 1.7),
        (StudentT(2.5, 0.6), 3.5 / (2 * math.sqrt(2.5) * 0.6)),
        (Cauchy(0.7), 1.0 / 0.7),
        (Logistic(0.9), 1.8),
    ],
    ids=repr,
)
def test_dloss_bound_is_the_supremum_of_the_absolute_dloss(model, bound):
    assert model.dloss_bound == pytest.approx(bound, rel=1e-14)
    r = np.concatenate([np.linspace(-60, 60, 200_001), [1e6, -1e6]])
    top = float(np.max(np.abs(model.dloss(r))))
    if math.isfinite(bound):
        assert top <= bound * (1 + 1e-14) and top >= bound * (1 - 1e-6)
    else:
        assert float(model.dloss(1e300)) == 1e300
    if isinstance(model, StudentT):  # the peak is at |r| = sigma sqrt(nu)
        assert float(model.dloss(model.scale * math.sqrt(model.df))) == pytest.approx(bound, rel=1e-14)


@pytest.mark.parametrize("model", MODELS_AT_SCALE, ids=repr)
def test_losses_are_even_and_irls_quadratics_majorise_them(model):
    # weight(r) = psi(r)/r non-increasing in |r| makes rho(r0) + weight(r0) (r^2 - r0^2) / 2 an upper
    # bound of rho touching it at r0: the reason an IRLS step never raises the loss.
    g = np.random.default_rng(11)
    r = g.standard_normal(5000) * 6.0
    np.testing.assert_array_equal(model.loss(-r), model.loss(r))
    grid = np.linspace(1e-3, 50.0, 5001)
    assert np.all(np.diff(model.weight(grid)) <= 1e-15)
    r0 = g.standard_normal(5000) * 6.0
    upper = model.loss(r0) + 0.5 * model.weight(r0) * (r * r - r0 * r0)
    assert np.all(upper >= model.loss(r) - 1e-12 * (1 + np.abs(upper)))


@pytest.mark.parametrize(
    ("model", "kappa"),
    [
        (Huber(1.345), 1.0),
        (Huber(0.3, 2.0), 1.0),
        (StudentT(3.0, 0.5), 1.0),
        (Cauchy(4.0), 1.0),
        (Logistic(2.0), 2.0),
    ],
    ids=repr,
)
def test_scale_equation_is_t_times_the_derivative_of_the_unit_nll(model, kappa):
    # The likelihood equation mean h(|r|/sigma) = 1 has h(t) = t g'(t) with g the NLL at unit scale,
    # and the unit-scale loss is kappa g (Logistic: 2 g); so h = t psi_1(t) / kappa and
    # t h'(t) = h + t^2 psi_1'(t) / kappa.
    unit = model.replace_scale(1.0)
    t = np.linspace(0.05, 12.0, 240)  # the root search evaluates h at non-zero residuals only
    h, th = model._scale_equation(t)
    np.testing.assert_allclose(h, t * unit.dloss(t) / kappa, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(th, h + t * t * unit.curvature(t) / kappa, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("model", MODELS_AT_SCALE + [StudentT(1e-3, 1e-100), Huber(1e-200, 1e100)], ids=repr)
def test_fast_finite_loss_form_equals_the_guarded_one(model):
    # _loss_finite is what the fitters call on rescaled residuals; it must be the same function there.
    r = np.random.default_rng(12).standard_normal(1000) * 3.0 * model.scale
    np.testing.assert_allclose(model._loss_finite(np, r), model.loss(r), rtol=1e-13, atol=1e-300)
