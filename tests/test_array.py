"""The shared input rules of the numerical API (src/dlmath/_array.py), exercised through public functions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dlmath
from dlmath import _array

REDUCTIONS = [dlmath.logsumexp, dlmath.smooth_max, dlmath.safe_norm]
ELEMENTWISE = [dlmath.softmax, dlmath.log_softmax, dlmath.norm_grad]


@pytest.mark.parametrize("f", REDUCTIONS + ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtype_in_same_dtype_out(f, dtype):
    assert f(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)).dtype == dtype


@pytest.mark.parametrize("f", REDUCTIONS + ELEMENTWISE)
@pytest.mark.parametrize("x", [[1, 2, 3], [True, False, True], np.array([1, 2], np.int8)])
def test_integers_and_bools_promote_to_float64(f, x):
    assert f(x).dtype == np.float64


@pytest.mark.parametrize("f", REDUCTIONS + ELEMENTWISE)
def test_complex_is_a_type_error_naming_the_function(f):
    with pytest.raises(TypeError, match=rf"^{f.__name__}: argument 'x' must be real; got complex"):
        f(np.array([1 + 2j]))


@pytest.mark.parametrize("f", REDUCTIONS + ELEMENTWISE)
def test_strings_are_a_type_error(f):
    with pytest.raises(TypeError, match=rf"^{f.__name__}: argument 'x' must be a real numeric array"):
        f(np.array(["a", "b"]))


@pytest.mark.parametrize("f", REDUCTIONS)
@pytest.mark.parametrize(
    "axis, exc, pattern",
    [
        (
            2,
            ValueError,
            r"'axis' 2 is out of range for an array with 2 dimensions \(expected -2 <= axis < 2\)",
        ),
        (-3, ValueError, r"'axis' -3 is out of range"),
        ((0, 0), ValueError, r"'axis' contains a repeated axis: \(0, 0\)"),
        (1.5, TypeError, r"'axis' must be None, an int or a tuple of ints; got 1.5"),
        (True, TypeError, r"'axis' must be None, an int or a tuple of ints; got True"),
    ],
)
def test_bad_axis_names_function_expected_and_received(f, axis, exc, pattern):
    with pytest.raises(exc, match=rf"^{f.__name__}: {pattern}"):
        f(np.ones((2, 3)), axis=axis)


@pytest.mark.parametrize("f", [dlmath.smooth_max, dlmath.softmax, dlmath.log_softmax])
@pytest.mark.parametrize(
    "tau, exc",
    [(0.0, ValueError), (-1.0, ValueError), (np.inf, ValueError), (np.nan, ValueError), ("1", TypeError)],
)
def test_bad_temperature_is_named(f, tau, exc):
    with pytest.raises(exc, match=rf"^{f.__name__}: 'temperature' must be"):
        f(np.ones(3), temperature=tau)


def test_mixing_kinds_of_array_is_a_type_error():
    torch = pytest.importorskip("torch", reason="needs two array libraries")
    jnp = pytest.importorskip("jax.numpy", reason="needs two array libraries")
    with pytest.raises(TypeError):
        dlmath.softmax_hvp(torch.zeros(3), jnp.zeros(3))


def test_namespace_of_plain_python_input_is_numpy():
    xp, (a,) = _array.get_namespace([1.0, 2.0])
    assert xp is np and isinstance(a, np.ndarray)


def test_import_is_light():
    code = (
        "import sys, dlmath; heavy = [m for m in ('sympy', 'scipy', 'matplotlib', 'torch', 'jax') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_listed_by_hand():
    for name in dlmath.__all__:
        assert callable(getattr(dlmath, name)) or hasattr(getattr(dlmath, name), "__name__"), name


@pytest.mark.parametrize(
    "module", ["dlmath.lse", "dlmath.xent", "dlmath.norm", "dlmath.noise", "dlmath.fit", "dlmath.sgd"]
)
def test_docstring_examples_run(module):
    # STYLE: every docstring example runs; nothing else in the test suite executes them
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result


@pytest.mark.parametrize(
    ("f", "x", "kwargs", "expected"),
    [
        # x / temperature overflows; the shifted (x - max) / temperature does not
        (dlmath.smooth_max, [1e300, 0.0], {"temperature": 1e-10}, 1e300),
        (dlmath.smooth_max, [-1e308, 1e308], {"temperature": 0.5}, 1e308),
        (dlmath.softmax, [1e300, 0.0], {"temperature": 1e-10}, [1.0, 0.0]),
        (dlmath.log_softmax, [1e300, 0.0], {"temperature": 1e-10}, [0.0, -np.inf]),
        # a float16 result past float16's range rounds to -inf in the final cast
        (dlmath.log_softmax, np.array([1.0, -1e4], dtype=np.float16), {"temperature": 1e-3}, [0.0, -np.inf]),
    ],
)
def test_no_runtime_warning_escapes_at_the_range_limits(f, x, kwargs, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(x, **kwargs)
    np.testing.assert_array_equal(out, expected)


def test_no_runtime_warning_escapes_from_the_generic_path():
    # array-api-strict runs on NumPy: its x - max overflows to -inf and must stay silent too
    import warnings

    xs = pytest.importorskip("array_api_strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dlmath.logsumexp(xs.asarray([-1e308, 1e308]))
    assert float(out) == 1e308


@pytest.mark.parametrize("f", ELEMENTWISE)
def test_empty_class_axis_returns_a_new_empty_array(f):
    x = np.zeros((3, 0))
    out = f(x)
    assert out.shape == (3, 0) and out.dtype == np.float64
    assert out is not x and not np.shares_memory(out, x)


def test_casts_back_to_a_narrow_dtype_round_to_inf_without_a_warning():
    # float16 holds at most 65504: a larger true result is inf, as IEEE rounding says
    assert float(dlmath.smooth_max(np.array([60000.0, 1.0], np.float16), temperature=1e30)) == np.inf
    out = dlmath.softmax_hvp(np.zeros(3, np.float16), np.array([2e5, 0.0, 0.0], np.float32))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), [2e5 * 2 / 9, -2e5 / 9, -2e5 / 9], rtol=2e-3)
    assert dlmath.softmax_hvp(np.zeros(3, np.float32), np.array([1e300, 0.0, 0.0])).dtype == np.float32


@pytest.mark.parametrize(
    ("call", "argname"),
    [
        (lambda: __import__("dlmath").logsumexp([[1, 2], [3]]), "x"),
        (lambda: __import__("dlmath").softmax([[1.0], [2.0, 3.0]]), "x"),
        (lambda: __import__("dlmath").cross_entropy([[1, 2], [3]], [0, 1]), "logits"),
        (lambda: __import__("dlmath").cross_entropy([[1.0, 2.0]], [[1.0], [0.0, 1.0]]), "target"),
    ],
)
def test_ragged_input_is_a_dlmath_error_naming_the_argument(call, argname):
    with pytest.raises(ValueError, match=rf"'{argname}' must be a rectangular array") as info:
        call()
    assert "setting an array element" not in str(info.value).split("(")[0]
