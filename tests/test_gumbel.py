"""gumbel_max_sample: its draws follow softmax(logits) by a chi-squared test, for NumPy, PyTorch and JAX.

Every statistical test below uses a fixed seed and states its number of draws and classes; it
passes when the chi-squared p-value is above 1e-3 (for a correct sampler that fails for one seed
in a thousand, and these seeds are fixed), and the same test rejects a wrong distribution with
p < 1e-12, so it has the power to fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dlmath import gumbel_max_sample, softmax

LOGITS = np.array([1.5, 0.0, -1.0, -np.inf, 2.0, -3.0])  # 6 classes, one of them impossible
N = 200_000


def chi2_p(draws, probs):
    """The chi-squared p-value of the class counts in ``draws`` against ``probs`` (classes of
    probability 0 must never appear; they are left out of the statistic)."""
    counts = np.bincount(np.asarray(draws).ravel(), minlength=probs.size)
    assert counts.size == probs.size
    assert np.all(counts[probs == 0] == 0), counts
    keep = probs > 0
    return stats.chisquare(counts[keep], counts.sum() * probs[keep]).pvalue


def test_gumbel_max_sample():
    # P(argmax_k (z_k + G_k) = i) = softmax(z)_i: 200,000 draws over 6 classes, seed 0
    draws = gumbel_max_sample(np.tile(LOGITS, (N, 1)), rng=np.random.default_rng(0))
    assert draws.shape == (N,) and draws.dtype == np.intp
    p = softmax(LOGITS)
    assert chi2_p(draws, p) > 1e-3
    assert chi2_p(draws, softmax(LOGITS / 2)) < 1e-12  # the test can tell a wrong distribution


def test_torch_draws_follow_softmax():
    torch = pytest.importorskip("torch")
    z = torch.tensor(np.tile(LOGITS, (N, 1)), dtype=torch.float32)
    draws = gumbel_max_sample(z, rng=torch.Generator().manual_seed(0))
    assert isinstance(draws, torch.Tensor) and draws.dtype == torch.int64 and draws.shape == (N,)
    assert chi2_p(draws.numpy(), softmax(LOGITS)) > 1e-3


def test_jax_draws_follow_softmax_under_jit_with_typed_and_legacy_keys():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    z = jnp.asarray(np.tile(LOGITS, (N, 1)))
    draw = jax.jit(lambda a, k: gumbel_max_sample(a, rng=k))
    for key in (jax.random.key(0), jax.random.PRNGKey(1)):
        draws = draw(z, key)
        assert draws.shape == (N,) and jnp.issubdtype(draws.dtype, jnp.integer)
        assert chi2_p(np.asarray(draws), softmax(LOGITS)) > 1e-3
    np.testing.assert_array_equal(
        np.asarray(draw(z, jax.random.key(0))), np.asarray(draw(z, jax.random.key(0)))
    )


def test_array_api_strict_takes_a_numpy_generator():
    xp = pytest.importorskip("array_api_strict")
    z = xp.asarray(np.tile(LOGITS, (50_000, 1)))
    draws = gumbel_max_sample(z, rng=np.random.default_rng(3))
    assert draws.shape == (50_000,)
    assert chi2_p(np.from_dlpack(draws), softmax(LOGITS)) > 1e-3


def test_plus_inf_always_wins_and_ties_of_plus_inf_split_evenly():
    rng = np.random.default_rng(4)
    one = gumbel_max_sample(np.tile([0.0, np.inf, 50.0, -np.inf], (10_000, 1)), rng=rng)
    assert np.all(one == 1)
    two = gumbel_max_sample(np.tile([np.inf, 1e300, np.inf, 0.0], (40_000, 1)), rng=rng)
    assert chi2_p(two, np.array([0.5, 0.0, 0.5, 0.0])) > 1e-3


def test_huge_logit_gaps_never_overflow():
    z = np.tile([1e308, -1e308, 0.0], (1000, 1))
    assert np.all(gumbel_max_sample(z, rng=np.random.default_rng(5)) == 0)
    z32 = np.tile(np.float32([3e38, -3e38]), (1000, 1))
    assert np.all(gumbel_max_sample(z32, rng=np.random.default_rng(5)) == 0)


def test_batch_shape_and_reproducibility():
    z = np.random.default_rng(6).standard_normal((3, 4, 5))
    a = gumbel_max_sample(z, rng=np.random.default_rng(7))
    b = gumbel_max_sample(z, rng=np.random.default_rng(7))
    assert a.shape == (3, 4) and np.array_equal(a, b)
    rng = np.random.default_rng(8)
    first, second = (gumbel_max_sample(np.zeros((200, 10)), rng=rng) for _ in range(2))
    assert not np.array_equal(first, second)  # the generator advances
    assert gumbel_max_sample(np.zeros(3), rng=rng).shape == ()
    assert gumbel_max_sample(np.zeros((0, 3)), rng=rng).shape == (0,)


def test_half_precision_and_integer_logits():
    torch = pytest.importorskip("torch")
    z = torch.tensor(np.tile([0.0, 2.0, -1.0], (50_000, 1)), dtype=torch.float16)
    draws = gumbel_max_sample(z, rng=torch.Generator().manual_seed(9))
    assert chi2_p(draws.numpy(), softmax(np.array([0.0, 2.0, -1.0]))) > 1e-3
    assert gumbel_max_sample(np.array([[0, 5]]), rng=np.random.default_rng(0)).dtype == np.intp


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: np.random.RandomState(0), r"'rng' must be a numpy.random.Generator .* for NumPy or array-API logits; got numpy.random.mtrand.RandomState"),
        (lambda: 0, r"'rng' must be a numpy.random.Generator .*; got builtins.int"),
        (lambda: None, r"'rng' must be a numpy.random.Generator .*; got builtins.NoneType"),
    ],
)  # fmt: skip
def test_wrong_kind_of_rng_for_numpy_is_a_type_error_naming_rng(make, pattern):
    with pytest.raises(TypeError, match=rf"gumbel_max_sample: {pattern}"):
        gumbel_max_sample(np.zeros(3), rng=make())


def test_wrong_kind_of_rng_for_torch_and_jax_is_a_type_error_naming_rng():
    torch = pytest.importorskip("torch")
    with pytest.raises(
        TypeError, match=r"'rng' must be a torch.Generator on the logits' device .*; got numpy"
    ):
        gumbel_max_sample(torch.zeros(3), rng=np.random.default_rng(0))
    jax = pytest.importorskip("jax")
    with pytest.raises(TypeError, match=r"'rng' must be a JAX PRNG key .*; got torch._C.Generator"):
        gumbel_max_sample(jax.numpy.zeros(3), rng=torch.Generator())
    with pytest.raises(TypeError, match=r"'rng' must be a JAX PRNG key"):
        gumbel_max_sample(jax.numpy.zeros(3), rng=jax.numpy.zeros(2))  # float32, not a key


@pytest.mark.parametrize(
    ("logits", "pattern"),
    [
        ([[0.0, math.nan, 1.0]], r"'logits' must not be NaN; got NaN at position \(0, 1\)"),
        ([[0.0, 1.0], [-math.inf, -math.inf]], r"every logit of the row at position \(1,\) is -inf"),
        (0.5, r"'logits' must have at least one dimension \(the class axis\); got a 0-d array"),
        (np.zeros((2, 0)), r"'logits' has no classes"),
    ],
)
def test_bad_logits_are_value_errors_naming_the_position(logits, pattern):
    with pytest.raises(ValueError, match=rf"gumbel_max_sample: {pattern}"):
        gumbel_max_sample(logits, rng=np.random.default_rng(0))


def test_complex_logits_are_a_type_error():
    with pytest.raises(TypeError, match=r"gumbel_max_sample: argument 'logits' must be real"):
        gumbel_max_sample(np.array([1j, 0]), rng=np.random.default_rng(0))


def test_torch_generator_on_another_device_is_a_value_error():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device for a generator on another device than the logits")
    with pytest.raises(ValueError, match=r"'rng' is a torch.Generator on cuda"):
        gumbel_max_sample(torch.zeros(3), rng=torch.Generator(device="cuda"))
    z = torch.tensor(np.tile(LOGITS, (N, 1)), device="cuda")
    draws = gumbel_max_sample(z, rng=torch.Generator(device="cuda").manual_seed(0))
    assert draws.device == z.device and chi2_p(draws.cpu().numpy(), softmax(LOGITS)) > 1e-3


def test_docstring_examples_run():
    import doctest

    import dlmath.gumbel

    result = doctest.testmod(dlmath.gumbel, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
