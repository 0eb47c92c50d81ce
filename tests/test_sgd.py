"""The SGD experiment: L1 with a constant step jitters, L2 does not, and a decaying step or Huber cures L1."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dlmath.fit import fit_linear
from dlmath.noise import Cauchy, Gaussian, Huber, Laplace, Logistic
from dlmath.sgd import SGDResult, jitter_experiment, make_regression, sgd_linear


@pytest.fixture(scope="module")
def runs():
    return jitter_experiment()


@pytest.fixture(scope="module")
def data():
    return make_regression(200, noise=1e-3, seed=0)


def test_l1_constant_step_jitters_and_l2_does_not(runs):
    l1, l2 = runs["l1"], runs["l2"]
    assert l1.jitter > 50 * l2.jitter
    # Of the order of the step size: each L1 update moves w by lr * |x_i|.
    assert 0.1 * 0.05 < l1.jitter < 10 * 0.05


def test_l1_jitter_does_not_fade_while_l2_fades(runs):
    l1, l2 = runs["l1"], runs["l2"]
    # L1: the spread over the middle and over the end of the run are alike.
    assert l1.window_jitter(0.75, 1.0) > 0.5 * l1.window_jitter(0.25, 0.5)
    # L2: the distance to the optimum falls by orders of magnitude from the start.
    assert l2.window_jitter(0.75, 1.0) < 1e-2 * l2.distance[0]
    assert l1.window_jitter(0.75, 1.0) > 0.02 * l1.distance[0]


def test_decaying_step_removes_the_l1_jitter(runs):
    assert runs["l1-inverse"].jitter < 0.2 * runs["l1"].jitter


@pytest.mark.parametrize("schedule", ["inverse", "inverse-sqrt"])
def test_decaying_schedules_shrink_the_l1_jitter_over_time(data, schedule):
    X, y = data
    res = sgd_linear(X, y, loss="l1", lr=0.05, schedule=schedule, steps=3000)
    assert res.window_jitter(0.75, 1.0) < 0.6 * res.window_jitter(0.1, 0.25)


def test_huber_removes_the_jitter(runs):
    assert runs["huber"].jitter < 0.05 * runs["l1"].jitter


def test_the_optimum_is_the_exact_minimiser_of_the_full_loss(runs, data):
    X, y = data
    np.testing.assert_allclose(
        runs["l1"].optimum, fit_linear(X, y, noise="laplace", fit_intercept=False).coef
    )
    np.testing.assert_allclose(runs["l2"].optimum, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)


def test_loss_history_is_the_full_data_loss_of_each_iterate(runs, data):
    X, y = data
    res = runs["l1"]
    for t in (0, 10, res.weights.shape[0] - 1):
        assert res.loss[t] == pytest.approx(np.mean(np.abs(y - X @ res.weights[t])), rel=1e-12)
    assert runs["l2"].loss[-1] < 1e-3 * runs["l2"].loss[0]


def test_result_shapes_and_learning_rates(data):
    X, y = data
    res = sgd_linear(X, y, loss="l2", lr=0.1, schedule="inverse", steps=50, t0=10.0)
    assert isinstance(res, SGDResult)
    assert res.weights.shape == (51, 2) and res.loss.shape == (51,) and res.distance.shape == (51,)
    np.testing.assert_allclose(res.lr, 0.1 / (1 + np.arange(50) / 10.0))
    res = sgd_linear(X, y, loss="l2", lr=0.1, schedule="inverse-sqrt", steps=50, t0=10.0)
    np.testing.assert_allclose(res.lr, 0.1 / np.sqrt(1 + np.arange(50) / 10.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.jitter = 0.0


def test_first_step_by_hand():
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([1.0, 2.0])
    seed = 0
    i = int(np.random.default_rng(seed).integers(0, 2, size=(1, 1))[0, 0])
    for loss, g in (("l2", y[i]), ("l1", np.sign(y[i])), ("huber", min(y[i], 0.5))):
        res = sgd_linear(X, y, loss=loss, lr=0.1, steps=1, seed=seed, delta=0.5)
        np.testing.assert_allclose(res.weights[1], 0.1 * g * X[i])


def test_minibatch_step_averages_the_batch():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, -2.0, 4.0])
    res = sgd_linear(X, y, loss="l1", lr=0.3, steps=1, batch_size=4, seed=5)
    idx = np.random.default_rng(5).integers(0, 3, size=(1, 4))[0]
    np.testing.assert_allclose(res.weights[1], 0.3 / 4 * (X[idx].T @ np.sign(y[idx])))


def test_same_seed_same_run_and_different_seed_different_run(data):
    X, y = data
    a = sgd_linear(X, y, loss="l1", steps=300, seed=3, batch_size=2)
    b = sgd_linear(X, y, loss="l1", steps=300, seed=3, batch_size=2)
    c = sgd_linear(X, y, loss="l1", steps=300, seed=4, batch_size=2)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_inputs_are_not_modified(data):
    X, y = data
    X0, y0 = X.copy(), y.copy()
    sgd_linear(X, y, loss="huber", steps=20, batch_size=3)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        (
            {"loss": "l3"},
            ValueError,
            r"sgd_linear: unknown loss 'l3'; expected one of 'l2', 'l1', 'huber' or a dlmath.noise model$",
        ),
        ({"loss": 3}, ValueError, r"sgd_linear: unknown loss 3; expected one of 'l2', 'l1', 'huber'"),
        (
            {"loss": "l1", "schedule": "cosine"},
            ValueError,
            r"unknown schedule 'cosine'; expected one of 'constant', 'inverse', 'inverse-sqrt'",
        ),
        ({"loss": "l1", "lr": 0.0}, ValueError, r"sgd_linear: 'lr' must be finite and > 0; got 0.0"),
        ({"loss": "l1", "steps": 0}, ValueError, r"sgd_linear: 'steps' must be an int >= 1; got 0"),
        ({"loss": "l1", "steps": 2.5}, TypeError, r"sgd_linear: 'steps' must be an int; got float 2.5"),
        ({"loss": "l1", "batch_size": -1}, ValueError, r"'batch_size' must be an int >= 1; got -1"),
        ({"loss": "huber", "delta": -1.0}, ValueError, r"'delta' must be finite and > 0"),
    ],
)
def test_bad_arguments_are_named(data, kwargs, exc, pattern):
    X, y = data
    with pytest.raises(exc, match=pattern):
        sgd_linear(X, y, **kwargs)


def test_starting_point_is_used_and_checked(data):
    X, y = data
    res = sgd_linear(X, y, loss="l2", steps=3, w0=[1.0, -1.0])
    np.testing.assert_array_equal(res.weights[0], [1.0, -1.0])
    with pytest.raises(
        ValueError, match=r"sgd_linear: 'w0' must be a finite vector of shape \(2,\); got \(3,\)"
    ):
        sgd_linear(X, y, loss="l2", w0=[1.0, 2.0, 3.0])


def test_bad_data_is_named():
    with pytest.raises(ValueError, match=r"sgd_linear: 'y' must have shape \(3,\)"):
        sgd_linear(np.ones((3, 1)), np.ones(2), loss="l2")
    with pytest.raises(ValueError, match=r"sgd_linear: 'X' must be finite"):
        sgd_linear(np.array([[np.nan], [1.0]]), np.ones(2), loss="l2")


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_diverging_run_is_flagged_without_warnings(data, batch_size):
    X, y = data
    res = sgd_linear(X, y, loss="l2", lr=50.0, steps=3000, batch_size=batch_size)
    assert res.diverged and not np.isfinite(res.jitter)
    # Sign-based L1 steps stay bounded by lr * |x| whatever lr is.
    assert not sgd_linear(X, y, loss="l1", lr=50.0, steps=300, batch_size=batch_size).diverged


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"seed": -1}, ValueError, r"sgd_linear: 'seed' must be an int >= 0; got -1"),
        ({"seed": 1.5}, TypeError, r"sgd_linear: 'seed' must be an int; got float 1.5"),
        (
            {"w0": [np.nan, 1.0]},
            ValueError,
            r"sgd_linear: 'w0' must be a finite vector of shape \(2,\); got \[nan",
        ),
    ],
)
def test_bad_seed_and_start_are_named(data, kwargs, exc, pattern):
    # NumPy's own messages named neither sgd_linear nor the argument.
    X, y = data
    with pytest.raises(exc, match=pattern):
        sgd_linear(X, y, loss="l1", **kwargs)


def test_fewer_samples_than_features_is_named_by_sgd_linear():
    g = np.random.default_rng(0)
    with pytest.raises(
        ValueError, match=r"sgd_linear: .*at least as many samples as features; got 'X' of shape \(3, 5\)"
    ):
        sgd_linear(g.standard_normal((3, 5)), g.standard_normal(3), loss="l2")


def test_window_jitter_checks_its_window_and_never_averages_nothing(data):
    X, y = data
    res = sgd_linear(X, y, loss="l1", steps=7)  # 8 iterates: [0.95, 1) holds the last one only
    assert res.window_jitter(0.95, 1.0) == pytest.approx(res.distance[-1], rel=1e-15)
    for start, stop in ((1.0, 1.0), (0.5, 0.2), (-0.1, 0.5), (0.0, 1.5)):
        with pytest.raises(ValueError, match=r"SGDResult.window_jitter: 'start' and 'stop' must satisfy"):
            res.window_jitter(start, stop)


@pytest.mark.parametrize(
    ("name", "model"),
    [("l2", Gaussian()), ("l1", Laplace()), ("huber", Huber(delta=0.1))],
    ids=["l2", "l1", "huber"],
)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_named_loss_is_its_noise_model_at_scale_one(data, name, model, batch_size):
    X, y = data
    by_name = sgd_linear(X, y, loss=name, delta=0.1, steps=400, batch_size=batch_size)
    by_model = sgd_linear(X, y, loss=model, steps=400, batch_size=batch_size)
    np.testing.assert_array_equal(by_name.weights, by_model.weights)
    np.testing.assert_array_equal(by_name.optimum, by_model.optimum)
    np.testing.assert_array_equal(by_name.loss, by_model.loss)
    assert by_name.loss_name == name and by_model.loss_name == repr(model)


@pytest.mark.parametrize("model", [Logistic(0.05), Cauchy(0.5), Huber(1.0, 0.02)], ids=repr)
def test_a_noise_model_instance_drives_the_steps_at_its_own_scale(data, model):
    X, y = data
    i = int(np.random.default_rng(0).integers(0, X.shape[0], size=(1, 1))[0, 0])
    res = sgd_linear(X, y, loss=model, lr=0.1, steps=300)
    # First step by hand: psi(y_i) from the documented formulas, at w0 = 0.
    s = model.scale
    psi = {
        Logistic: lambda r: 2 * s * np.tanh(r / (2 * s)),
        Cauchy: lambda r: 2 * r / (s * s + r * r),
        Huber: lambda r: np.clip(r, -model.delta * s, model.delta * s),
    }[type(model)]
    np.testing.assert_allclose(res.weights[1], 0.1 * psi(y[i]) * X[i], rtol=1e-14)
    np.testing.assert_allclose(res.optimum, fit_linear(X, y, noise=model, fit_intercept=False).coef)
    for t in (0, 150, 300):
        assert res.loss[t] == pytest.approx(float(np.mean(model.loss(y - X @ res.weights[t]))), rel=1e-12)
