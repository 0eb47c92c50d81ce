"""The thread pool and per-thread scratch buffers behind the NumPy kernels (dlmath._parallel)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

from dlmath import _parallel, logsumexp, softmax_hvp


def _rng(seed):
    return np.random.default_rng(seed)


def test_concurrent_calls_from_several_threads_give_each_its_own_answer():
    # every call is big enough to use the pool, and the scratch buffers are per thread: calls on
    # different data from four Python threads at once must give the bits of a lone call
    xs = [
        (_rng(1).standard_normal((2000, 600)) * 5),
        (_rng(2).standard_normal((150_000, 8)) * 5).astype(np.float32),
        _rng(3).standard_normal(1_500_000) * 5,
    ]
    zs = [
        (_rng(4).standard_normal((48, 25_000)) * 3).astype(np.float32),
        _rng(5).standard_normal((200, 6000)) + 100,
    ]
    vs = [_rng(6).standard_normal(z.shape).astype(z.dtype) for z in zs]
    lse_ref = [logsumexp(x, axis=-1) for x in xs]
    hvp_ref = [softmax_hvp(z, v) for z, v in zip(zs, vs, strict=True)]
    failures = []

    def worker(k):
        for it in range(6):
            i, j = (k + it) % len(xs), (k + it) % len(zs)
            if not np.array_equal(logsumexp(xs[i], axis=-1), lse_ref[i]):
                failures.append(("logsumexp", k, i))
            if not np.array_equal(softmax_hvp(zs[j], vs[j]), hvp_ref[j]):
                failures.append(("softmax_hvp", k, j))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_softmax_hvp_does_not_depend_on_the_thread_count(monkeypatch):
    z = (_rng(7).standard_normal((128, 20_000)) * 4).astype(np.float32)
    v = _rng(8).standard_normal(z.shape).astype(np.float32)
    z[5, 3] = np.inf  # a block on the general path
    outs = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv("DLMATH_NUM_THREADS", n)
        outs.append(softmax_hvp(z, v))
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


_FORK_INPUT = _rng(9).standard_normal((4000, 1000))


def _lse_in_child(expected):
    os._exit(0 if np.array_equal(logsumexp(_FORK_INPUT, axis=-1), expected) else 1)


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork on this platform")
def test_a_forked_child_can_use_the_pool_again():
    # the parent's pool threads do not exist in a forked child (multiprocessing's default start
    # method on Linux before Python 3.14, DataLoader workers), but the executor's records said they
    # sat idle: the child queued work for them and waited forever
    expected = logsumexp(_FORK_INPUT, axis=-1)  # the parent's pool now exists and is idle
    assert _parallel._pool is not None or _parallel.num_threads() == 1
    with warnings.catch_warnings():
        # fork of a threaded process: Python 3.12+ and JAX (when imported) warn of deadlocks
        warnings.filterwarnings("ignore", message=".*fork", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*fork", category=RuntimeWarning)
        child = multiprocessing.get_context("fork").Process(target=_lse_in_child, args=(expected,))
        child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the forked child deadlocked in logsumexp")
    assert child.exitcode == 0


def test_rows_longer_than_a_block_leave_no_scratch_behind():
    # the per-thread scratch buffers are meant for cache-sized blocks (~1 MiB); a 2e6-long
    # softmax_hvp row used to leave a 16 MB buffer (and its row of ones) in the calling thread
    z = _rng(10).standard_normal((1, 2_000_000))
    v = _rng(11).standard_normal(z.shape)
    out = []

    def call():
        softmax_hvp(z, v)
        logsumexp(z, axis=-1)
        bufs = getattr(_parallel._scratch, "buffers", {})
        out.append(sum(b.nbytes for b in bufs.values()))

    t = threading.Thread(target=call)  # a fresh thread: its scratch holds only this call's
    t.start()
    t.join()
    assert out[0] <= 4 << 20


def test_hvp_overflow_detection_in_one_thread_does_not_reach_another():
    # softmax_hvp's blocks learn of an overflow from NumPy's errstate callback, which is per thread:
    # a call whose blocks overflow (logits near 80, no shift) must not send another thread's
    # blocks down the general path, which would change their bits
    za = (80.0 - _rng(12).random((32, 32_000))).astype(np.float32)
    va = (_rng(13).standard_normal(za.shape) * 1e3).astype(np.float32)
    zb = (_rng(14).standard_normal((32, 32_000)) * 4).astype(np.float32)
    vb = _rng(15).standard_normal(zb.shape).astype(np.float32)
    refs = {"a": softmax_hvp(za, va), "b": softmax_hvp(zb, vb)}
    failures = []

    def worker(name, z, v):
        for _ in range(8):
            if not np.array_equal(softmax_hvp(z, v), refs[name]):
                failures.append(name)

    args = [("a", za, va), ("b", zb, vb)] * 2
    threads = [threading.Thread(target=worker, args=a) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@pytest.mark.parametrize("earlier_call", [True, False], ids=["pool-exists", "first-call"])
def test_calls_during_interpreter_shutdown_run_on_the_calling_thread(earlier_call):
    # an atexit hook or finalizer may call dlmath after the thread pools were shut down: submit,
    # and on a first call even importing concurrent.futures.thread, raised RuntimeError
    code = (
        "import atexit, numpy as np\n"
        "from dlmath import logsumexp, softmax_hvp\n"
        "x = np.random.default_rng(0).standard_normal(3_000_000)\n"
        f"first = float(logsumexp(x)) if {earlier_call} else None\n"
        "def at_exit():\n"
        "    got = float(logsumexp(x))\n"
        "    assert first is None or got == first\n"
        "    assert np.isfinite(softmax_hvp(x.reshape(100, -1), x.reshape(100, -1))).all()\n"
        "    print('ok', got)\n"
        "atexit.register(at_exit)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.startswith("ok "), proc.stderr


def test_an_exception_in_any_task_reaches_the_caller_and_the_pool_keeps_working():
    # helpers that linger after a call join the next one; an error in a task they run must still
    # be raised by the caller, and the pool must serve later calls
    def boom():
        raise ZeroDivisionError("task 5")

    for _ in range(20):
        tasks = [(lambda: sum(range(2000))) for _ in range(12)]
        tasks[5] = boom
        with pytest.raises(ZeroDivisionError, match="task 5"):
            _parallel.run(tasks, 2)
    done = []
    _parallel.run([(lambda i=i: done.append(i)) for i in range(16)], 2)
    assert sorted(done) == list(range(16))


def test_a_finished_call_does_not_keep_its_arrays_alive():
    # a helper waits for the next call for a moment; it must not hold the last call's tasks (and
    # the arrays they reference) while it waits
    import gc
    import weakref

    x = _rng(16).standard_normal((400, 3000))
    ref = weakref.ref(x)
    logsumexp(x, axis=-1)
    del x
    gc.collect()
    assert ref() is None
