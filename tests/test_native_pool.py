"""The compiled kernels' native thread pool (csrc/pool.h) and the softmax backward kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from dlmath import _kernels

pytestmark = pytest.mark.skipif(
    not _kernels.available(), reason="the compiled kernels are off (DLMATH_KERNELS=numpy) or not built"
)


def _rng(seed):
    return np.random.default_rng(seed)


def _reference_backward(x, g, log, tau):
    """The backward of softmax (log-softmax) of x / tau, in extended precision (x87 long double where
    NumPy has it), rounded to float64 at the end."""
    X, G = x.astype(np.longdouble) / np.longdouble(tau), g.astype(np.longdouble)
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    if log:
        return ((G - p * G.sum(-1, keepdims=True)) / np.longdouble(tau)).astype(np.float64)
    return (p * (G - (p * G).sum(-1, keepdims=True)) / np.longdouble(tau)).astype(np.float64)


@pytest.mark.parametrize("tau", [1.0, 0.3])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=["float64", "float32", "float16"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 33), (600, 1000)], ids=str)
@pytest.mark.parametrize("spread", [3, 40])
def test_softmax_backward_is_the_vector_jacobian_product(shape, dtype, log, tau, spread):
    # spread 40 puts entries of y below -87 in most rows, where e^y needs its clamp
    x = (_rng(1).standard_normal(shape) * spread).astype(dtype)
    g = _rng(2).standard_normal(shape).astype(dtype)
    y = _kernels.softmax_rows(x, log=log, temperature=tau)
    got = _kernels.softmax_backward_rows(y, g, log=log, temperature=tau).astype(np.float64)
    ref = _reference_backward(x, g, log, tau)
    # y carries one rounding of its dtype, which the product passes on; for the log-softmax e^y
    # turns the absolute error of y = x/tau - LSE (about eps (|x/tau| + |y|)) into a relative one
    # of p, times sum(g)
    eps = np.finfo(dtype).eps
    G, Y = np.abs(g.astype(np.float64)), np.abs(y.astype(np.float64))
    scale = G.max(axis=-1, keepdims=True)
    # the row's sum (of g, or of y g) is taken in binary64 in an order the instruction set sets
    # (lanes, then a tree): within K u sum|terms| of the exact sum, u = 2^-53, whatever the order
    K = shape[-1]
    if log:
        p = np.exp(-Y)
        X = np.abs(x.astype(np.float64)).max(axis=-1, keepdims=True) / tau
        scale = scale + np.abs(g.astype(np.float64).sum(-1, keepdims=True)) * p * (1 + X + Y)
        summed = p * G.sum(-1, keepdims=True)
    else:
        summed = Y * (Y * G).sum(-1, keepdims=True)
    bound = (8 * eps * scale + K * 2.0**-53 * summed) / tau
    assert np.all(np.abs(got - ref) <= bound + 1e-300)


def test_softmax_backward_takes_the_formula_literally_for_non_finite_entries():
    y = np.array([[0.25, 0.75, 0.0], [0.5, 0.5, 0.0]])
    g = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 0.0]])
    got = _kernels.softmax_backward_rows(y, g)
    with np.errstate(invalid="ignore"):
        ref = y * (g - (y * g).sum(-1, keepdims=True))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    # a log-softmax output of -inf (probability 0) passes the cotangent through unchanged
    with np.errstate(divide="ignore"):
        ly = np.log(np.array([[0.5, 0.5, 0.0]]))
        got = _kernels.softmax_backward_rows(ly, np.array([[1.0, 2.0, 3.0]]), log=True)
    np.testing.assert_allclose(got, [[1.0 - 3.0, 2.0 - 3.0, 3.0]], rtol=1e-15)


def test_softmax_backward_of_binary32_rows_whose_sum_leaves_binary32s_range():
    # sum(g) = 1.2e40 is beyond binary32, though each g_k - e^{y_k} sum(g) is 0 up to rounding:
    # such a row must take the wide lanes, not turn the sum into inf
    K = 40
    y = np.full((1, K), np.log(np.float32(1) / K), np.float32)
    g = np.full((1, K), 3e38, np.float32)
    got = _kernels.softmax_backward_rows(y, g, log=True).astype(np.float64)
    ref = g.astype(np.float64) - np.exp(y.astype(np.float64)) * g.astype(np.float64).sum()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-7 * 3e38)


def test_softmax_backward_checks_its_arguments():
    y = np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        _kernels.softmax_backward_rows(y, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="dtype"):
        _kernels.softmax_backward_rows(y, np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("n", ["1", "2", "3", "5"])
def test_the_bits_do_not_depend_on_the_thread_count(n, monkeypatch):
    x = (_rng(3).standard_normal((2000, 300)) * 4).astype(np.float32)
    g = _rng(4).standard_normal(x.shape).astype(np.float32)
    t = _rng(5).integers(0, 300, 2000)
    monkeypatch.setenv("DLMATH_NUM_THREADS", "1")
    ref = [_kernels.softmax_backward_rows(x, g), _kernels.xent_grad_rows(x, t), _kernels.lse_rows(x)]
    monkeypatch.setenv("DLMATH_NUM_THREADS", n)
    got = [_kernels.softmax_backward_rows(x, g), _kernels.xent_grad_rows(x, t), _kernels.lse_rows(x)]
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_first_bad_row_is_reported_whichever_thread_finds_it(monkeypatch):
    monkeypatch.setenv("DLMATH_NUM_THREADS", "2")
    x = _rng(6).standard_normal((4000, 200))
    t = _rng(7).integers(0, 200, 4000)
    t[[3100, 1777, 3999]] = 200  # several threads' chunks hold a bad index; the smallest row wins
    with pytest.raises(IndexError, match="row 1777"):
        _kernels.xent_rows(x, t)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: the pool is not used")
def test_the_pool_starts_native_threads_only_when_asked(monkeypatch):
    monkeypatch.setenv("DLMATH_NUM_THREADS", "2")
    _kernels.softmax_rows(np.ones((1000, 1000)))
    assert _kernels._lib.pool_threads() >= 1
    before = _kernels._lib.pool_threads()
    monkeypatch.setenv("DLMATH_NUM_THREADS", "1")
    _kernels.softmax_rows(np.ones((1000, 1000)))
    assert _kernels._lib.pool_threads() == before


def test_calls_from_several_python_threads_at_once_give_each_its_own_answer(monkeypatch):
    # one call holds the pool at a time; a call that finds it busy runs on its own thread
    monkeypatch.setenv("DLMATH_NUM_THREADS", "2")
    xs = [(_rng(10 + k).standard_normal((700, 500)) * 3).astype(np.float32) for k in range(4)]
    refs = [_kernels.softmax_rows(x) for x in xs]
    failures = []

    def worker(k):
        for it in range(20):
            i = (k + it) % len(xs)
            if not np.array_equal(_kernels.softmax_rows(xs[i]), refs[i]):
                failures.append((k, it))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []


_FORK_CHILD = """
import os, numpy as np
os.environ["DLMATH_NUM_THREADS"] = "2"
from dlmath import _kernels
x = np.random.default_rng(20).standard_normal((3000, 400))
expected = _kernels.softmax_rows(x)  # the parent's pool threads now exist
pid = os.fork()
if pid == 0:
    ok = np.array_equal(_kernels.softmax_rows(x), expected) and _kernels._lib.pool_threads() >= 1
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_runs_the_kernels_on_a_fresh_pool():
    # the parent's pool threads do not exist in the child; it must neither wait for them nor hand
    # them work. In a fresh interpreter: forking this one (JAX and torch threads running) warns.
    out = subprocess.run([sys.executable, "-c", _FORK_CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_linger_is_set_in_microseconds_and_not_below_zero():
    old = _kernels._lib.set_linger(50)
    try:
        assert _kernels._lib.set_linger(old) == 50
        with pytest.raises(ValueError, match="at least 0"):
            _kernels._lib.set_linger(-1)
    finally:
        _kernels._lib.set_linger(old)


def test_a_large_fresh_output_advised_onto_huge_pages_holds_the_same_bits():
    # outputs of 8 MiB and more are advised onto transparent huge pages before the kernel writes
    # them (advice only): the result must not depend on it, nor may a buffer's contents change
    x = (_rng(11).standard_normal((600, 4000)) * 3).astype(np.float32)  # 9.6 MB
    assert x.nbytes >= _kernels._HUGE
    into = np.full_like(x, np.nan)
    np.testing.assert_array_equal(_kernels.softmax_rows(x), _kernels.softmax_rows(x, into))
    kept = x.copy()
    _kernels._lib.advise_huge(kept.ctypes.data, kept.nbytes)
    np.testing.assert_array_equal(kept, x)
