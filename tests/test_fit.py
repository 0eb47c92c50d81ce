"""fit_linear checked against independent references: np.linalg.lstsq, the LAD linear programme solved by
SciPy's HiGHS, scipy.optimize.minimize on the Huber and Student-t objectives, and the optimality conditions."""

from __future__ import annotations

import dataclasses
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from dlmath.fit import ConditioningWarning, LinearFit, fit_linear
from dlmath.noise import Cauchy, Gaussian, Huber, Laplace, Logistic, StudentT


def rng(seed=0):
    return np.random.default_rng(seed)


def design(Xm, intercept):
    return np.column_stack([Xm, np.ones(len(Xm))]) if intercept else Xm


def lad_lp_optimum(X, y, intercept):
    """The LAD optimum through its LP dual, solved by HiGHS.

    min_b sum|y - Zb| = max { y'd : Z'd = 0, -1 <= d <= 1 } (LP strong duality); the dual has only
    k equality constraints, so HiGHS solves it quickly even for tens of thousands of rows.
    """
    Z = design(X, intercept)
    res = scipy.optimize.linprog(-y, A_eq=Z.T, b_eq=np.zeros(Z.shape[1]), bounds=(-1.0, 1.0), method="highs")
    assert res.status == 0
    return -res.fun


def test_lad_reference_primal_and_dual_agree():
    g = rng(11)
    X = g.standard_normal((60, 2))
    y = g.standard_normal(60)
    Z = design(X, True)
    n, k = Z.shape
    eye = scipy.sparse.identity(n, format="csr")
    A = scipy.sparse.hstack([scipy.sparse.csr_matrix(Z), eye, -eye])
    c = np.r_[np.zeros(k), np.ones(2 * n)]
    primal = scipy.optimize.linprog(
        c, A_eq=A, b_eq=y, bounds=[(None, None)] * k + [(0, None)] * (2 * n), method="highs"
    )
    assert primal.fun == pytest.approx(lad_lp_optimum(X, y, True), rel=1e-12)


# ------------------------------------------------------------------------------ Gaussian


@pytest.mark.parametrize("intercept", [True, False])
def test_gaussian_matches_numpy_lstsq(intercept):
    X = rng(1).standard_normal((300, 6))
    y = X @ rng(2).standard_normal(6) + 0.3 + rng(3).standard_normal(300)
    f = fit_linear(X, y, fit_intercept=intercept)
    ref = np.linalg.lstsq(design(X, intercept), y, rcond=None)[0]
    np.testing.assert_allclose(f.coef, ref[:6], rtol=1e-10, atol=1e-12)
    assert f.intercept == pytest.approx(ref[6] if intercept else 0.0, abs=1e-12)
    r = y - design(X, intercept) @ ref
    assert f.objective == pytest.approx(0.5 * np.sum(r * r), rel=1e-12)
    assert f.scale == pytest.approx(np.sqrt(np.mean(r * r)), rel=1e-12)
    assert f.method == "svd" and f.converged


@given(
    hnp.arrays(np.float64, st.tuples(st.integers(4, 30), st.integers(1, 3)), elements=st.floats(-100, 100)),
    st.integers(0, 2**32 - 1),
)
def test_gaussian_solves_the_normal_equation(X, seed):
    y = np.random.default_rng(seed).standard_normal(X.shape[0])
    f = fit_linear(X, y)
    Z = design(X, True)
    if np.linalg.matrix_rank(Z) < Z.shape[1]:
        return
    r = y - Z @ np.r_[f.coef, f.intercept]
    # X^T (Xw - y) = 0 up to rounding, relative to the sizes involved.
    assert np.all(np.abs(Z.T @ r) <= 1e-8 * (np.abs(Z).T @ np.abs(y) + 1))


def test_gaussian_vandermonde_ill_conditioned():
    x = np.linspace(0.0, 1.0, 400)
    X = np.vander(x, 13, increasing=True)[:, 1:]  # x, x^2, ..., x^12
    assert np.linalg.cond(design(X, True)) >= 1e8
    w = rng(4).uniform(-1, 1, 12)
    y = X @ w + 0.25
    f = fit_linear(X, y)
    np.testing.assert_allclose(f.coef, w, atol=1e-6)
    assert f.intercept == pytest.approx(0.25, abs=1e-6)


def test_normal_equations_warn_when_conditioning_loses_digits():
    x = np.linspace(0.0, 1.0, 400)
    X = np.vander(x, 13, increasing=True)[:, 1:]
    y = X @ np.ones(12)
    with pytest.warns(ConditioningWarning, match=r"cond\(X\^T X\) = .*significant digits are lost"):
        f = fit_linear(X, y, method="normal")
    assert f.method == "normal"


def test_normal_equations_agree_and_stay_quiet_when_well_conditioned():
    X = rng(5).standard_normal((200, 4))
    y = X @ np.arange(1.0, 5.0) + rng(6).standard_normal(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fit_linear(X, y, method="normal")
    g = fit_linear(X, y)
    np.testing.assert_allclose(f.coef, g.coef, rtol=1e-10)


def test_gaussian_exact_fit_has_zero_scale():
    X = rng(7).standard_normal((10, 2))
    f = fit_linear(X, X @ [1.0, 2.0] + 3.0)
    assert f.scale == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------------------ Laplace (exact LAD)


@pytest.mark.parametrize(
    ("n", "p", "seed"), [(7, 1, 0), (40, 3, 1), (300, 5, 2), (2000, 12, 3), (5000, 20, 4)]
)
@pytest.mark.parametrize("intercept", [True, False])
def test_lad_objective_equals_linear_programme_optimum(n, p, seed, intercept):
    g = rng(seed)
    X = g.standard_normal((n, p))
    y = X @ g.standard_normal(p) + g.laplace(size=n)
    f = fit_linear(X, y, noise="laplace", fit_intercept=intercept)
    opt = lad_lp_optimum(X, y, intercept)
    assert f.converged
    assert abs(f.objective - opt) <= 1e-9 * opt
    r = y - X @ f.coef - f.intercept
    assert f.objective == pytest.approx(np.sum(np.abs(r)), rel=1e-14)
    assert f.scale == pytest.approx(np.mean(np.abs(r)), rel=1e-14)


@given(
    st.integers(1, 60),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from(["continuous", "integer"]),
    st.integers(0, 2**32 - 1),
)
def test_lad_is_exact_on_random_small_problems(extra, p, intercept, kind, seed):
    g = rng(seed)
    n = p + int(intercept) + extra
    if p + int(intercept) == 0:
        return
    if kind == "integer":
        X = g.integers(-2, 3, (n, p)).astype(float)
        y = g.integers(-3, 4, n).astype(float)
    else:
        X = g.standard_normal((n, p))
        y = g.standard_cauchy(n)
    if np.linalg.matrix_rank(design(X, intercept)) < p + int(intercept):
        return
    f = fit_linear(X, y, noise="laplace", fit_intercept=intercept)
    opt = lad_lp_optimum(X, y, intercept)
    assert f.objective <= opt + 1e-9 * max(opt, 1e-300) + 1e-12
    assert f.converged


def test_lad_with_sample_reduction_equals_linear_programme_optimum():
    # Large enough for the Portnoy-Koenker subsample-and-glob path; outliers and leverage points included.
    g = rng(8)
    n = 30_000
    X = g.standard_normal((n, 3))
    X[:20] *= 50.0
    y = X @ [1.0, -2.0, 0.5] + g.standard_normal(n)
    y[g.random(n) < 0.05] += 100.0
    f = fit_linear(X, y, noise="laplace")
    assert f.method.startswith("preprocessed")
    assert f.converged
    opt = lad_lp_optimum(X, y, True)
    assert abs(f.objective - opt) <= 1e-9 * opt


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lad_on_tied_integer_data_is_optimal(seed):
    # Integer data make degenerate vertices: many residuals tie at exactly 0.
    g = rng(seed)
    X = g.integers(0, 3, (400, 3)).astype(float)
    y = g.integers(0, 5, 400).astype(float)
    f = fit_linear(X, y, noise="laplace")
    opt = lad_lp_optimum(X, y, True)
    assert abs(f.objective - opt) <= 1e-9 * max(opt, 1.0)
    assert f.converged


def test_lad_recovers_an_exact_fit_despite_outliers():
    X = rng(9).standard_normal((60, 2))
    y = X @ [2.0, -1.0] + 0.5
    y[::10] += 1000.0
    f = fit_linear(X, y, noise="laplace")
    np.testing.assert_allclose(f.coef, [2.0, -1.0], atol=1e-10)
    assert f.intercept == pytest.approx(0.5, abs=1e-10)


def test_lad_intercept_only_is_a_median():
    X = np.zeros((5, 0))
    f = fit_linear(X, [3.0, 9.0, 1.0, 4.0, 100.0], noise="laplace")
    assert f.intercept == pytest.approx(4.0, abs=1e-12)


# ------------------------------------------------------------------------------ Huber and Student-t


def huber_objective(beta, Z, y, k):
    r = y - Z @ beta
    a = np.abs(r)
    return np.sum(np.where(a <= k, 0.5 * r * r, k * (a - 0.5 * k)))


def huber_gradient(beta, Z, y, k):
    return -Z.T @ np.clip(y - Z @ beta, -k, k)


@pytest.mark.parametrize("seed", [0, 1])
def test_huber_fixed_scale_matches_generic_optimiser(seed):
    g = rng(seed)
    X = g.standard_normal((500, 4))
    y = X @ g.standard_normal(4) + 1.0 + g.standard_normal(500)
    y[g.random(500) < 0.1] += 30.0
    model = Huber(1.345)
    f = fit_linear(X, y, noise=model, scale=0.8)
    Z = design(X, True)
    k = 1.345 * 0.8
    ref = scipy.optimize.minimize(
        huber_objective,
        np.zeros(5),
        args=(Z, y, k),
        jac=huber_gradient,
        method="BFGS",
        options={"gtol": 1e-10},
    )
    assert f.converged
    assert f.objective <= ref.fun * (1 + 1e-12)
    np.testing.assert_allclose(np.r_[f.coef, f.intercept], ref.x, atol=1e-6)
    assert np.max(np.abs(huber_gradient(np.r_[f.coef, f.intercept], Z, y, k))) <= 1e-8 * len(y)
    assert f.scale == 0.8 and f.noise == Huber(1.345, 0.8)


def test_huber_joint_scale_is_a_stationary_point_of_the_likelihood():
    g = rng(3)
    X = g.standard_normal((800, 3))
    y = X @ [1.0, 2.0, 3.0] + 2.0 * g.standard_normal(800)
    y[:40] -= 50.0
    f = fit_linear(X, y, noise="huber")
    assert f.converged
    r = y - X @ f.coef - f.intercept
    assert f.scale == pytest.approx(Huber(1.345).fit_scale(r), rel=1e-8)
    k = 1.345 * f.scale
    assert np.max(np.abs(huber_gradient(np.r_[f.coef, f.intercept], design(X, True), y, k))) <= 1e-7 * len(y)
    np.testing.assert_allclose(f.coef, [1.0, 2.0, 3.0], atol=0.3)


@pytest.mark.parametrize("fixed", [0.6, None])
def test_logistic_fit_matches_generic_optimiser(fixed):
    g = rng(13)
    X = g.standard_normal((400, 3))
    y = X @ [1.0, -0.5, 2.0] + 0.3 + g.logistic(scale=0.6, size=400)
    f = fit_linear(X, y, noise="logistic", scale=fixed)
    assert f.converged and f.method == "newton"
    Z = design(X, True)

    def nll(theta):
        beta, log_s = theta[:-1], theta[-1]
        return -np.sum(Logistic(float(np.exp(log_s))).logpdf(y - Z @ beta))

    if fixed is None:
        start = np.r_[np.linalg.lstsq(Z, y, rcond=None)[0], 0.0]
        ref = scipy.optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-9})
        theta = np.r_[f.coef, f.intercept, np.log(f.scale)]
        assert nll(theta) <= ref.fun + 1e-9 * abs(ref.fun)
        np.testing.assert_allclose(theta, ref.x, atol=1e-5)
    else:
        obj = lambda beta: float(np.sum(Logistic(fixed).loss(y - Z @ beta)))  # noqa: E731
        ref = scipy.optimize.minimize(obj, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
        assert f.objective <= ref.fun * (1 + 1e-12)
        np.testing.assert_allclose(np.r_[f.coef, f.intercept], ref.x, atol=1e-6)


def test_cauchy_fit_is_student_t_with_one_degree_of_freedom():
    g = rng(14)
    X = g.standard_normal((300, 2))
    y = X @ [1.0, 1.0] + g.standard_cauchy(300)
    f = fit_linear(X, y, noise="cauchy")
    h = fit_linear(X, y, noise=StudentT(1.0), scale="mle")
    assert f.converged and isinstance(f.noise, Cauchy)
    np.testing.assert_allclose(f.coef, h.coef, rtol=1e-12)
    assert f.scale == pytest.approx(h.scale, rel=1e-12)
    # At a given scale as well.
    fc, ft = fit_linear(X, y, noise=Cauchy(0.5)), fit_linear(X, y, noise=StudentT(1.0, 0.5))
    np.testing.assert_allclose(fc.coef, ft.coef, rtol=1e-12)
    assert fc.scale == ft.scale == 0.5


def test_student_t_is_a_local_mle():
    g = rng(4)
    n = 600
    X = g.standard_normal((n, 2))
    y = X @ [0.5, -1.5] + 0.7 * g.standard_t(3.0, size=n)
    f = fit_linear(X, y, noise=StudentT(3.0), scale="mle")
    assert f.converged and f.method == "newton-mm"
    Z = design(X, True)

    def nll(theta):
        beta, log_s = theta[:-1], theta[-1]
        return -np.sum(StudentT(3.0, float(np.exp(log_s))).logpdf(y - Z @ beta))

    theta = np.r_[f.coef, f.intercept, np.log(f.scale)]
    ref = scipy.optimize.minimize(
        nll, theta + 0.05, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    )
    assert nll(theta) <= ref.fun + 1e-7
    # The gradient vanishes: central differences in every coordinate.
    h = 1e-6
    grad = [(nll(theta + h * e) - nll(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    assert np.max(np.abs(grad)) <= 1e-4


def test_student_t_ignores_gross_outliers():
    g = rng(5)
    X = g.standard_normal((400, 1))
    y = 3.0 * X[:, 0] + 0.1 * g.standard_normal(400)
    y[:40] = 1e4
    f = fit_linear(X, y, noise="student-t")
    assert f.coef[0] == pytest.approx(3.0, abs=0.05)


# ------------------------------------------------------------------------------ result object


def test_linear_fit_is_frozen_and_predicts():
    X = rng(6).standard_normal((20, 2))
    f = fit_linear(X, X @ [1.0, 1.0] + 2.0)
    assert isinstance(f, LinearFit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.intercept = 0.0
    np.testing.assert_allclose(f.predict(X[:3]), X[:3] @ [1.0, 1.0] + 2.0)
    assert {fld.name for fld in dataclasses.fields(f)} >= {
        "coef",
        "intercept",
        "scale",
        "objective",
        "n_iter",
        "converged",
        "method",
    }


@pytest.mark.parametrize("noise", ["gaussian", "laplace", "huber", "student-t", Gaussian(), Laplace(2.0)])
def test_integer_inputs_are_accepted(noise):
    X = np.arange(24).reshape(12, 2) % 5
    y = np.arange(12) % 7
    f = fit_linear(X, y, noise=noise)
    assert f.coef.dtype == np.float64 and f.coef.shape == (2,)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "pattern"),
    [
        (np.ones(5), np.ones(5), {}, r"fit_linear: 'X' must be a 2-D array .*got shape \(5,\)"),
        (np.ones((5, 2)), np.ones(4), {}, r"fit_linear: 'y' must have shape \(5,\) .*got shape \(4,\)"),
        (np.ones((5, 2)), np.ones((5, 1)), {}, r"'y' must have shape \(5,\)"),
        (
            np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 0.0]]),
            np.ones(3),
            {},
            r"'X' must be finite; found nan at index \(0, 1\)",
        ),
        (np.ones((3, 1)), np.array([1.0, np.inf, 0.0]), {}, r"'y' must be finite; found inf at index \(1,\)"),
        (
            np.ones((5, 1)),
            np.ones(5),
            {"noise": "gauss"},
            r"unknown noise model 'gauss'; expected one of 'gaussian', 'laplace', 'huber', 'student-t'",
        ),
        (
            np.ones((2, 2)),
            np.ones(2),
            {"noise": "laplace"},
            r"laplace noise needs at least as many samples as parameters; got n_samples=2 for 3 parameters \(2 features \+ intercept\)",
        ),
        (
            np.ones((5, 1)),
            np.ones(5),
            {"method": "qr"},
            r"unknown method 'qr' for gaussian noise; expected 'svd', 'normal'",
        ),
        (
            np.ones((5, 1)),
            np.ones(5),
            {"noise": "laplace", "method": "normal"},
            r"unknown method 'normal' for laplace noise",
        ),
        (
            np.ones((5, 1)),
            np.ones(5),
            {"scale": -1.0},
            r"fit_linear: 'scale' must be finite and > 0; got -1.0",
        ),
    ],
)
def test_bad_input_raises_named_value_error(X, y, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit_linear(X, y, **kwargs)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match=r"fit_linear: argument 'X' must be real"):
        fit_linear(np.ones((3, 1), dtype=complex), np.ones(3))
    with pytest.raises(TypeError, match=r"fit_linear: 'noise' must be a name or a dlmath.noise model"):
        fit_linear(np.ones((3, 1)), np.ones(3), noise=2)
    with pytest.raises(TypeError, match=r"'fit_intercept' must be True or False"):
        fit_linear(np.ones((3, 1)), np.ones(3), fit_intercept="yes")


def test_input_is_not_modified():
    X = rng(7).standard_normal((50, 3))
    y = rng(8).standard_normal(50)
    X0, y0 = X.copy(), y.copy()
    for noise in ("gaussian", "laplace", "huber", "student-t"):
        fit_linear(X, y, noise=noise)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("noise", ["laplace", "huber", "student-t", "logistic"])
def test_rank_deficient_design_zeroes_the_dependent_columns(noise):
    g = rng(12)
    x = g.standard_normal((300, 2))
    X = np.column_stack(
        [x[:, 0], 2.0 * x[:, 0], x[:, 1], np.full(300, 3.0)]
    )  # col 1 = 2 col 0; col 3 constant
    y = x @ [1.0, -1.0] + 0.5 + 0.1 * g.standard_normal(300)
    f = fit_linear(X, y, noise=noise)
    ref = fit_linear(X[:, [0, 2]], y, noise=noise)
    assert f.coef[1] == 0.0 and f.coef[3] == 0.0
    np.testing.assert_allclose(f.coef[[0, 2]], ref.coef, rtol=1e-10)
    assert f.objective == pytest.approx(ref.objective, rel=1e-12)
    assert f.converged


@pytest.mark.parametrize("noise", ["gaussian", "laplace", "huber", "student-t", "cauchy", "logistic"])
def test_exact_fit_has_zero_scale_and_no_warning(noise):
    X = np.array([[1.0], [2.0], [4.0]])
    f = fit_linear(X, 3.0 * X[:, 0] - 1.0, noise=noise)
    assert f.coef[0] == pytest.approx(3.0, abs=1e-10) and f.intercept == pytest.approx(-1.0, abs=1e-10)
    assert f.scale == pytest.approx(0.0, abs=1e-10) and f.objective == pytest.approx(0.0, abs=1e-18)


@pytest.mark.parametrize("noise", ["gaussian", "laplace", "huber", "student-t", "cauchy", "logistic"])
def test_no_parameters_only_fits_the_scale(noise):
    y = np.array([1.0, 2.0, 3.0, 4.0, 50.0])
    f = fit_linear(np.zeros((5, 0)), y, noise=noise, fit_intercept=False)
    assert f.coef.shape == (0,) and f.intercept == 0.0 and f.converged
    assert f.objective == pytest.approx(float(np.sum(f.noise.loss(y))), rel=1e-14)
    # Independent closed forms where they exist: RMS and mean |y|, r^2/2 and |r| summed.
    if noise == "gaussian":
        assert f.scale == pytest.approx(np.sqrt(np.mean(y * y)), rel=1e-14)
        assert f.objective == pytest.approx(0.5 * np.sum(y * y), rel=1e-14)
    if noise == "laplace":
        assert f.scale == pytest.approx(np.mean(np.abs(y)), rel=1e-14)
        assert f.objective == pytest.approx(np.sum(np.abs(y)), rel=1e-14)


def _hard_lad_case(name, n=60_000):
    g = rng(21)
    if name == "integer-ties":
        return g.integers(0, 4, (n, 5)).astype(float), g.integers(0, 10, n).astype(float)
    if name == "rare-dummy":  # 0/1 column with ~12 ones: random subsamples are rank-deficient
        X = np.column_stack([g.standard_normal((n, 4)), (g.random(n) < 2e-4).astype(float)])
        return X, X @ np.ones(5) + g.standard_normal(n)
    if name == "heteroscedastic":
        X = g.standard_normal((n, 4))
        return X, X @ np.ones(4) + g.standard_normal(n) * np.exp(2 * X[:, 0])
    n //= 2  # the HiGHS reference is slowest on this one
    X = g.standard_normal((n, 4)) * np.array([1e-2, 1.0, 1e2, 1e4])  # column scales over 6 decades
    return X, X @ np.ones(4) + g.standard_cauchy(n)


@pytest.mark.parametrize("name", ["integer-ties", "rare-dummy", "heteroscedastic", "scaled-cauchy"])
def test_lad_sample_reduction_on_hard_designs(name):
    X, y = _hard_lad_case(name)
    f = fit_linear(X, y, noise="laplace")
    assert f.method.startswith("preprocessed") and f.converged
    opt = lad_lp_optimum(X, y, True)
    assert abs(f.objective - opt) <= 1e-9 * opt


def test_importing_the_fitting_modules_loads_no_scipy():
    import subprocess
    import sys

    code = (
        "import sys, dlmath.noise, dlmath.fit, dlmath.sgd; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('scipy', 'sympy', 'matplotlib')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("noise", ["huber", "logistic", "student-t"])
@pytest.mark.parametrize("s", [1e-8, 1e8])
def test_m_estimators_are_equivariant_to_column_scaling(noise, s):
    g = rng(16)
    X = g.standard_normal((2000, 5))
    y = X @ g.standard_normal(5) + g.laplace(size=2000)
    base = fit_linear(X, y, noise=noise)
    f = fit_linear(X * s, y, noise=noise)
    assert f.converged and f.n_iter <= 5 * max(base.n_iter, 1)
    assert f.objective == pytest.approx(base.objective, rel=1e-10)
    np.testing.assert_allclose(f.coef * s, base.coef, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("s", [1e-12, 1e12])
@pytest.mark.parametrize("n", [3000, 60_000])
def test_lad_is_equivariant_to_column_scaling(s, n):
    g = rng(15)
    X = g.standard_normal((n, 5))
    y = X @ g.standard_normal(5) + g.laplace(size=n)
    base = fit_linear(X, y, noise="laplace")
    f = fit_linear(X * s, y, noise="laplace")
    assert f.converged
    assert f.objective == pytest.approx(base.objective, rel=1e-12)
    np.testing.assert_allclose(f.coef * s, base.coef, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("noise", [Huber(1.0), Logistic()], ids=["huber", "logistic"])
@pytest.mark.parametrize("scale", [1e-6, 1e-3])
def test_tiny_fixed_scale_converges_towards_the_lad_fit(noise, scale):
    # With the scale far below the residuals both losses are nearly sigma-multiples of |r|: the
    # Hessian is almost empty, so the solver must fall back on the LAD start and majorisation.
    g = rng(17)
    X = g.standard_normal((3000, 4))
    y = X @ g.standard_normal(4) + g.laplace(size=3000)
    f = fit_linear(X, y, noise=noise, scale=scale)
    lad = fit_linear(X, y, noise="laplace")
    assert f.converged
    at_lad = float(np.sum(f.noise.loss(y - X @ lad.coef - lad.intercept)))
    assert f.objective <= at_lad * (1 + 1e-12)
    np.testing.assert_allclose(f.coef, lad.coef, atol=1e-3)


@pytest.mark.parametrize("noise", ["gaussian", "laplace", "huber", "student-t", "logistic"])
@pytest.mark.parametrize(("cx", "cy"), [(1.0, 1e200), (1e200, 1.0), (1e-200, 1.0), (1.0, 1e-200)])
def test_extreme_magnitudes_fit_like_unit_data(noise, cx, cy):
    # Gram matrices would square 1e200 to inf and 1e-200 to 0; the data are rescaled by powers of 2.
    g = rng(18)
    X = g.standard_normal((200, 3))
    y = X @ [1.0, 2.0, 3.0] + g.laplace(size=200)
    base = fit_linear(X, y, noise=noise)
    f = fit_linear(X * cx, y * cy, noise=noise)
    assert f.converged
    np.testing.assert_allclose(f.coef * cx / cy, base.coef, rtol=1e-10, atol=1e-12)
    assert f.intercept / cy == pytest.approx(base.intercept, rel=1e-10, abs=1e-12)
    assert f.scale / cy == pytest.approx(base.scale, rel=1e-10)


NOISES = ["gaussian", "laplace", "huber", "student-t", "cauchy", "logistic"]


@given(
    st.integers(1, 30),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from(["normal", "integer", "scaled", "constant-column", "scaled-y"]),
    st.integers(0, 2**32 - 1),
)
def test_every_model_fits_awkward_data_without_warnings(n, p, intercept, kind, seed):
    # Ties, exact zeros, constant and all-zero columns, magnitudes from 1e-300 to 1e300.
    if n < p + int(intercept):
        return
    g = rng(seed)
    X = g.standard_normal((n, p))
    y = g.standard_normal(n)
    if kind == "integer":
        X, y = np.round(X), np.round(y)
    elif kind == "scaled":
        X = X * 10.0 ** g.integers(-300, 300, size=p)
    elif kind == "constant-column" and p:
        X[:, 0] = 3.0
    elif kind == "scaled-y":
        y = y * 10.0 ** float(g.integers(-300, 300))
    # Instances keep their scale, so against data of size 1e+-300 they are scales far from it.
    for noise in NOISES + [Huber(1.0), StudentT(3.0), Cauchy(), Logistic(), Huber(0.5, 1e-8), Logistic(1e8)]:
        f = fit_linear(X, y, noise=noise, fit_intercept=intercept)
        assert np.all(np.isfinite(f.coef)) and np.isfinite(f.intercept) and np.isfinite(f.scale)


@pytest.mark.parametrize("noise", NOISES)
def test_data_near_the_largest_double_fit_without_warnings(noise):
    # Rescaling by 2**1024 (the power above 1.7e308) overflowed with a RuntimeWarning.
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([1.7e308, -1.7e308, 1.7e308, -1.0e308])
    f = fit_linear(X, y, noise=noise)
    assert np.all(np.isfinite(f.coef)) and np.isfinite(f.intercept) and np.isfinite(f.scale)


@pytest.mark.parametrize("noise", NOISES)
def test_columns_far_from_zero_fit_like_centred_ones(noise):
    # x = 1e8 + noise is nearly parallel to the intercept column; the uncentred Gram matrices
    # lost its spread and the iterative fits stopped unconverged.
    g = rng(22)
    X = g.standard_normal((300, 2))
    y = X @ [1.0, -2.0] + 0.5 + g.laplace(size=300)
    shift = np.array([1e8, -3e5])
    base = fit_linear(X, y, noise=noise)
    f = fit_linear(X + shift, y, noise=noise)
    assert f.converged
    np.testing.assert_allclose(f.coef, base.coef, rtol=1e-6)
    assert f.intercept == pytest.approx(base.intercept - shift @ base.coef, rel=1e-6)
    np.testing.assert_allclose(f.predict(X + shift), base.predict(X), atol=1e-6)
    assert f.scale == pytest.approx(base.scale, rel=1e-6)
    assert f.objective == pytest.approx(base.objective, rel=1e-6)


def test_normal_equations_do_not_warn_for_column_scales_alone():
    # cond(X^T X) is 1e16 here only because the columns differ in size by 1e4 each; the Jacobi-scaled
    # Cholesky solve loses no digits, so no ConditioningWarning.
    g = rng(23)
    X = g.standard_normal((200, 3)) * [1e-4, 1.0, 1e4]
    y = X @ [1e4, 1.0, 1e-4] + g.standard_normal(200)
    assert np.linalg.cond(X.T @ X) > 1e15
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fit_linear(X, y, method="normal")
    np.testing.assert_allclose(f.coef, fit_linear(X, y).coef, rtol=1e-12)


@pytest.mark.parametrize("intercept", [True, False])
def test_gaussian_rank_deficient_design_gives_the_minimum_norm_coefficients(intercept):
    # Columns x and 3x: the scaled SVD split the weight 3:1 instead of 1:3 (minimum norm in the
    # caller's units); a constant column beside the intercept gets 0.
    g = rng(24)
    x = g.standard_normal((100, 2))
    X = np.column_stack([x[:, 0], 3.0 * x[:, 0], x[:, 1], np.full(100, 2.0)])
    y = x @ [1.0, 2.0] + 0.5 + g.standard_normal(100)
    f = fit_linear(X, y, fit_intercept=intercept)
    if intercept:
        ref = np.linalg.lstsq(X - X.mean(axis=0), y - y.mean(), rcond=None)[0]
    else:
        ref = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(f.coef, ref, rtol=1e-10, atol=1e-12)
    assert f.coef[1] == pytest.approx(3.0 * f.coef[0], rel=1e-10)


def test_predict_names_a_wrong_shape():
    f = fit_linear(rng(25).standard_normal((20, 2)), rng(26).standard_normal(20))
    np.testing.assert_allclose(f.predict([[1, 0], [0, 1]]), f.coef + f.intercept)
    for bad in (np.ones(2), np.ones((3, 3))):
        with pytest.raises(
            ValueError, match=r"LinearFit.predict: 'X' must be a 2-D array of shape \(n_samples, 2\)"
        ):
            f.predict(bad)


@pytest.mark.parametrize("c", [1.0, 1e-12, 1e-30])
def test_lad_vertex_certificate_is_scale_free(c):
    # From a poor start the vertex stage must pivot to the optimum whatever the size of y; with
    # an absolute tie threshold every residual of y ~ 1e-12 counted as 0 and the first vertex passed.
    from dlmath._lad import _design, _vertex

    g = rng(27)
    X = g.standard_normal((200, 3))
    y = X @ [1.0, 2.0, 3.0] + g.laplace(size=200)
    Z = _design(X, None, True)
    b, _, ok, _ = _vertex(Z, c * y, np.zeros(4), np.zeros(4))
    assert ok
    assert np.sum(np.abs(c * y - Z @ b)) / c == pytest.approx(lad_lp_optimum(X, y, True), rel=1e-9)


def test_conditioning_warning_identity_cond_of_gram_is_cond_squared():
    # ConditioningWarning's docstring: kappa(X^T X) = kappa(X)^2, the reason the normal equations
    # lose twice the digits of an orthogonal factorisation.
    X = np.vander(np.linspace(0.0, 1.0, 50), 5, increasing=True)
    assert np.linalg.cond(X.T @ X) == pytest.approx(np.linalg.cond(X) ** 2, rel=1e-6)
    assert "kappa(X^\\top X) = \\kappa(X)^2" in ConditioningWarning.__doc__


@pytest.mark.parametrize("noise", ["huber", "logistic", "student-t"])
@pytest.mark.parametrize("ones_column", [False, True], ids=["intercept", "column-of-ones"])
def test_targets_far_from_zero_converge_quickly(noise, ones_column):
    # y = 5e6 + signal: one ulp of the intercept moved the gradient by more than the tolerance and
    # the loss by more than the line search allowed, so Huber and logistic fits ran 200-400
    # iterations (up to 40 s) and reported converged=False.
    g = rng(28)
    n = 20_000
    X = g.standard_normal((n, 4)) * [1.0, 1.0, 1e-3, 1.0]
    y = X @ [1.0, 2.0, 3.0, 4.0] + g.laplace(size=n)
    base = fit_linear(X, y, noise=noise)
    if ones_column:
        f = fit_linear(np.column_stack([X, np.ones(n)]), y + 5e6, noise=noise, fit_intercept=False)
        coef, intercept = f.coef[:4], f.coef[4]
    else:
        f = fit_linear(X, y + 5e6, noise=noise)
        coef, intercept = f.coef, f.intercept
    assert f.converged and f.n_iter <= 20
    np.testing.assert_allclose(coef, base.coef, atol=1e-6)
    assert intercept - 5e6 == pytest.approx(base.intercept, abs=1e-6)
    assert f.scale == pytest.approx(base.scale, rel=1e-8)


# ------------------------------------------------------------------------------ the scale contract


def _outlier_data(seed, n=400, p=3, noise_scale=3.0):
    g = rng(seed)
    X = g.standard_normal((n, p))
    y = X @ g.standard_normal(p) + 0.7 + noise_scale * g.standard_normal(n)
    y[g.random(n) < 0.08] += 40.0
    return X, y


def test_huber_instance_minimises_torch_huber_loss_at_its_own_scale():
    # noise=Huber(delta=1.0) is torch.nn.HuberLoss(delta=1.0): the instance's scale 1 is used, not
    # a fitted one. Reference: scipy's BFGS on the torch loss, gradients by torch autograd.
    torch = pytest.importorskip("torch")
    X, y = _outlier_data(30)
    Z = torch.tensor(design(X, True))
    target = torch.tensor(y)
    huber = torch.nn.HuberLoss(delta=1.0, reduction="sum")

    def objective(beta):
        b = torch.tensor(beta, requires_grad=True)
        value = huber(Z @ b, target)
        value.backward()
        return float(value.detach()), b.grad.numpy().copy()

    start = np.linalg.lstsq(design(X, True), y, rcond=None)[0]
    ref = scipy.optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-10})
    f = fit_linear(X, y, noise=Huber(delta=1.0))
    assert f.converged and f.method == "semismooth-newton"
    assert f.scale == 1.0 and f.noise == Huber(1.0, 1.0)
    np.testing.assert_allclose(np.r_[f.coef, f.intercept], ref.x, atol=1e-6)
    assert f.objective <= ref.fun * (1 + 1e-12)
    assert f.objective == pytest.approx(objective(np.r_[f.coef, f.intercept])[0], rel=1e-12)
    # A name fits the scale jointly instead (about 3 here), which gives other coefficients.
    joint = fit_linear(X, y, noise=Huber(delta=1.0), scale="mle")
    assert joint.scale > 2.0 and np.max(np.abs(joint.coef - f.coef)) > 1e-3


def _student_objective(beta, Z, y, nu, sigma):
    r = y - Z @ beta
    return 0.5 * (nu + 1) * np.sum(np.log1p(r * r / (nu * sigma * sigma)))


def _student_gradient(beta, Z, y, nu, sigma):
    r = y - Z @ beta
    return -Z.T @ ((nu + 1) * r / (nu * sigma * sigma + r * r))


def _logistic_objective(beta, Z, y, _, sigma):
    u = (y - Z @ beta) / (2 * sigma)
    return 4 * sigma**2 * np.sum(np.logaddexp(u, -u) - np.log(2.0))  # log cosh u


def _logistic_gradient(beta, Z, y, _, sigma):
    return -Z.T @ (2 * sigma * np.tanh((y - Z @ beta) / (2 * sigma)))


@pytest.mark.parametrize(
    ("model", "objective", "gradient", "nu"),
    [
        (StudentT(3.0, 0.5), _student_objective, _student_gradient, 3.0),
        (StudentT(5.0, 4.0), _student_objective, _student_gradient, 5.0),
        (Cauchy(0.3), _student_objective, _student_gradient, 1.0),
        (Logistic(0.7), _logistic_objective, _logistic_gradient, None),
        (Logistic(6.0), _logistic_objective, _logistic_gradient, None),
    ],
    ids=repr,
)
def test_instances_minimise_their_documented_objective_at_their_own_scale(model, objective, gradient, nu):
    # Student-t: (nu+1)/2 sum log(1 + r^2/(nu sigma^2)); Cauchy: nu = 1; logistic: 4 sigma^2 sum
    # log cosh(r / 2 sigma); each written out here and minimised by scipy from least squares.
    X, y = _outlier_data(31, noise_scale=1.0)
    Z = design(X, True)
    args = (Z, y, nu, model.scale)
    start = np.linalg.lstsq(Z, y, rcond=None)[0]
    f = fit_linear(X, y, noise=model)
    beta = np.r_[f.coef, f.intercept]
    assert f.converged and f.scale == model.scale and f.noise == model
    assert f.objective == pytest.approx(objective(beta, *args), rel=1e-12)
    # Convex: the minimiser from least squares. Not convex: a local minimiser, so scipy starts
    # next to dlmath's answer and must find no lower point nearby.
    ref = scipy.optimize.minimize(
        objective,
        start if model.convex else beta + 0.01,
        args=args,
        jac=gradient,
        method="BFGS",
        options={"gtol": 1e-9},
    )
    np.testing.assert_allclose(beta, ref.x, atol=1e-6)
    assert f.objective <= ref.fun * (1 + 1e-12)
    assert np.max(np.abs(gradient(beta, *args))) <= 1e-7 * len(y)


def test_scale_keyword_overrides_an_instance_and_fixes_a_name():
    X, y = _outlier_data(32)
    by_name = fit_linear(X, y, noise="huber", scale=0.8)
    by_instance = fit_linear(X, y, noise=Huber(1.345, 7.0), scale=0.8)
    as_given = fit_linear(X, y, noise=Huber(1.345, 0.8))
    for f in (by_name, by_instance):
        np.testing.assert_allclose(f.coef, as_given.coef, rtol=1e-12)
        assert f.scale == 0.8 and f.noise == Huber(1.345, 0.8)
    # scale="mle" fits the scale of an instance jointly, keeping its shape parameter.
    mle = fit_linear(X, y, noise=Huber(1.345, 7.0), scale="mle")
    joint = fit_linear(X, y, noise="huber")
    np.testing.assert_allclose(mle.coef, joint.coef, rtol=1e-12)
    assert mle.scale == pytest.approx(joint.scale, rel=1e-12)
    r = y - X @ joint.coef - joint.intercept
    assert joint.scale == pytest.approx(Huber(1.345).fit_scale(r), rel=1e-8)


@pytest.mark.parametrize("model", [Gaussian(2.5), Laplace(0.25)], ids=repr)
def test_homogeneous_instances_report_their_given_scale_and_the_same_coefficients(model):
    X, y = _outlier_data(33)
    f = fit_linear(X, y, noise=model)
    ref = fit_linear(X, y, noise=model.name)
    np.testing.assert_allclose(f.coef, ref.coef, rtol=1e-12)
    assert f.scale == model.scale and ref.scale != model.scale
    assert f.objective == pytest.approx(ref.objective, rel=1e-14)  # r^2/2 and |r| do not depend on it


def test_no_parameters_with_an_instance_keeps_its_scale():
    y = np.array([1.0, 2.0, 3.0, 4.0, 50.0])
    f = fit_linear(np.zeros((5, 0)), y, noise=StudentT(3.0, 2.0), fit_intercept=False)
    assert f.scale == 2.0 and f.objective == pytest.approx(2.0 * np.sum(np.log1p(y * y / 12.0)), rel=1e-14)


@pytest.mark.parametrize(
    ("scale", "exc", "pattern"),
    [
        ("fit", ValueError, r"^fit_linear: 'scale' must be None, 'mle' or a finite real > 0; got 'fit'$"),
        (0.0, ValueError, r"^fit_linear: 'scale' must be finite and > 0; got 0.0$"),
        ([1.0], TypeError, r"^fit_linear: 'scale' must be a real number; got list \[1.0\]$"),
    ],
)
def test_bad_scale_is_named(scale, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fit_linear(np.ones((5, 1)), np.arange(5.0), noise="huber", scale=scale)


# ------------------------------------------------------------------------------ dispatch by capability


@dataclasses.dataclass(frozen=True)
class _RenamedStudent(StudentT):
    name = "huber"


@dataclasses.dataclass(frozen=True)
class _RenamedGaussian(Gaussian):
    name = "laplace"


@dataclasses.dataclass(frozen=True)
class _KinkedNonConvex(Laplace):
    name = "kinked"
    convex = False
    homogeneity = None


def test_the_solver_follows_the_model_facts_not_its_name():
    X, y = _outlier_data(34)
    assert fit_linear(X, y, noise=_RenamedStudent(3.0)).method == "newton-mm"
    assert fit_linear(X, y, noise=_RenamedGaussian()).method == "svd"
    assert fit_linear(X, y, noise=Laplace()).method.endswith("interior-point+vertex")
    assert fit_linear(X, y, noise=Logistic()).method == "newton"
    assert fit_linear(X, y, noise=Huber()).method == "semismooth-newton"
    np.testing.assert_allclose(
        fit_linear(X, y, noise=_RenamedStudent(3.0)).coef,
        fit_linear(X, y, noise=StudentT(3.0)).coef,
        rtol=1e-12,
    )


def test_a_model_no_solver_handles_raises_a_named_type_error():
    with pytest.raises(
        TypeError,
        match=r"^fit_linear: no solver for noise model _KinkedNonConvex\(scale=1.0\): expected a smooth loss, or one "
        r"homogeneous of degree 1 or 2; got convex=False, smooth=False, homogeneity=None$",
    ):
        fit_linear(np.ones((5, 1)), np.arange(5.0), noise=_KinkedNonConvex())


@pytest.mark.parametrize("model", [Huber(1.0), Logistic(), StudentT(3.0), Cauchy()], ids=repr)
@pytest.mark.parametrize(("c", "scale"), [(1e-300, 1e10), (1e-300, 1.0), (1e-280, 1e-12), (1e300, 1e-10)])
def test_fixed_scales_far_from_the_data_reach_their_limits(model, c, scale):
    # sigma beyond the data: rho ~ r^2/2 times a constant, so least squares. sigma below it: Huber and
    # logistic tend to (a multiple of) |r|, no better than the LAD fit; Student-t returns the LAD
    # start, whose exact zeros make the likelihood unbounded. scale / (the power of two that
    # rescales y) overflowed to inf or underflowed to 0 and the model refused it (ValueError); and
    # a Student-t scale far above the residuals stopped at the LAD start, reported converged.
    g = rng(35)
    X = g.standard_normal((200, 3))
    y = c * (X @ [1.0, -2.0, 0.5] + 0.3 + g.laplace(size=200))
    f = fit_linear(X, y, noise=model, scale=scale)
    assert f.converged and f.scale == scale
    beta = np.r_[f.coef, f.intercept]
    if scale > 1e6 * c:
        ls = np.linalg.lstsq(design(X, True), y / c, rcond=None)[0]
        np.testing.assert_allclose(beta / c, ls, rtol=1e-9, atol=1e-12)
    else:
        lad = fit_linear(X, y / c, noise="laplace")
        np.testing.assert_allclose(beta / c, np.r_[lad.coef, lad.intercept], atol=1e-3)
        if model.convex:  # (Student-t's loss at the LAD start is set by the rounding of its zeros)
            at_lad = float(np.sum(f.noise.loss(y - c * (X @ lad.coef + lad.intercept))))
            assert f.objective <= at_lad * (1 + 1e-9)


@pytest.mark.parametrize("noise", ["gaussian", "huber", "logistic", Gaussian(), Huber(1.0)], ids=repr)
def test_an_objective_past_the_largest_double_is_inf_without_a_warning(noise):
    # 29 residuals of about 1e154 have squares near 1e308; their sum overflowed in np.sum with a
    # RuntimeWarning (found by the awkward-data test with instances). Huber at scale 1 is linear
    # out there, so its objective stays finite.
    g = rng(29)
    X = g.standard_normal((29, 1))
    y = g.standard_normal(29) * 1e154
    f = fit_linear(X, y, noise=noise, fit_intercept=False)
    r = (y - X @ f.coef) / 1e154
    if noise == Huber(1.0):
        assert np.isfinite(f.objective)
    else:  # sum r^2/2 (times sigma^2-sized factors for the joint fits) exceeds the largest double
        assert 0.5 * np.sum(r * r) > np.finfo(float).max / 1e308 and f.objective == np.inf
