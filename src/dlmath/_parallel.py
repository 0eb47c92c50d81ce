"""The small thread pool and per-thread scratch buffers behind dlmath's NumPy kernels.

NumPy releases the GIL inside ufuncs and reductions, so cache-sized blocks of one array can be
processed by a few threads at once. Kernels write each block's result to its own slot and merge
in a fixed order, so answers never depend on thread timing. ``DLMATH_NUM_THREADS`` caps the
threads (default: the CPUs this process may use, at most 8).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "run", "scratch"]

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_scratch = threading.local()


def scratch(slot: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """This thread's scratch array for ``slot``, reused across calls (at most ~1 MiB per slot).

    Fresh blocks of a few hundred KiB come from ``mmap`` once the allocator has handed large
    chunks back to the system (another library's big temporaries do that), and touching them
    costs a page fault per 4 KiB: several ms per call, more than some whole reductions.
    """
    cache = getattr(_scratch, "buffers", None)
    if cache is None:
        cache = _scratch.buffers = {}
    size = 1
    for n in shape:
        size *= n
    buf = cache.get(slot)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = cache[slot] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def num_threads() -> int:
    env = os.environ.get("DLMATH_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, min(os.cpu_count() or 1, 8))


def _forget_pool_after_fork() -> None:
    """In a forked child the pool's threads are gone, but its bookkeeping says they sit idle:
    ``submit`` would queue work for no thread and the caller would wait for it forever."""
    global _pool, _pool_lock, _state_lock, _current, _lingering
    _pool = None
    _pool_lock = threading.Lock()
    _state_lock = threading.Lock()
    _current = None
    _lingering = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _get_pool(n: int) -> ThreadPoolExecutor:
    global _pool
    # imported here: at interpreter shutdown the import itself raises (it registers an atexit hook)
    from concurrent.futures import ThreadPoolExecutor

    with _pool_lock:
        if _pool is None or _pool._max_workers < n:
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="dlmath")
        return _pool


class _Run:
    """One call's tasks, taken by the caller and by at most ``slots`` helpers."""

    __slots__ = ("tasks", "lock", "idle", "active", "slots", "error")

    def __init__(self, tasks, slots):
        self.tasks = iter(tasks)
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.active = 0
        self.slots = slots
        self.error = None

    def work(self):
        while True:
            with self.lock:
                task = next(self.tasks, None)
                if task is None:
                    self.tasks = iter(())  # let go of the tasks (and the arrays they hold)
                    return
            try:
                task()
            except BaseException as exc:  # re-raised by the caller in wait()
                with self.lock:
                    self.error = self.error or exc
                    self.tasks = iter(())

    def join(self):
        with self.lock:
            if self.slots == 0:
                return
            self.slots -= 1
            self.active += 1
        try:
            self.work()
        finally:
            with self.lock:
                self.active -= 1
                if self.active == 0:
                    self.idle.notify_all()

    def wait(self):
        with self.lock:
            while self.active:
                self.idle.wait()
        if self.error is not None:
            raise self.error


# A helper that finishes its share waits _LINGER_US for the next call, spinning in C with the GIL
# released on _gen (bumped when a call is published), before it goes back to sleep in the pool:
# waking a sleeping thread takes ~20-50 us here, a large part of a 200 us call.
_LINGER_US = 300
_state_lock = threading.Lock()
_gen = np.zeros(1, dtype=np.int64)
_current: _Run | None = None
_lingering = 0


def _spinner():
    from . import _kernels

    return _kernels._lib.spin_while if _kernels.available() else None


def _helper(run: _Run) -> None:
    global _lingering
    while True:
        run.join()
        run = None
        spin = _spinner()
        if spin is None:
            return
        with _state_lock:
            seen = int(_gen[0])
            _lingering += 1
        spin(_gen, seen, _LINGER_US)
        with _state_lock:
            _lingering -= 1
            if int(_gen[0]) == seen or _current is None:
                return
            run = _current


def run(tasks: list, workers: int | None = None) -> None:
    """Run zero-argument callables on ``workers`` threads (default: one per task), this one included.

    The calling thread takes tasks from the same queue as the pool's threads instead of waiting:
    a pool thread that is slow to wake (its core was idle; under a hypervisor that can take
    milliseconds) then costs nothing, as the caller simply takes more of the tasks. Helpers still
    waiting from the previous call join at once; the pool is asked only for the rest.
    """
    global _current
    workers = len(tasks) if workers is None else min(workers, len(tasks))
    if workers <= 1:
        for t in tasks:
            t()
        return
    r = _Run(tasks, workers - 1)
    with _state_lock:
        _current = r
        _gen[0] += 1
        waiting = min(_lingering, workers - 1)
    try:
        pool = _get_pool(workers - 1)
        for _ in range(workers - 1 - waiting):
            pool.submit(_helper, r)
    except RuntimeError:
        pass  # the interpreter is shutting down (atexit, finalizers): this thread does it all
    try:
        r.work()
    finally:
        r.wait()
        with _state_lock:
            if _current is r:
                _current = None
