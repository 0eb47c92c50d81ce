"""Benchmark: the LogSumExp family, cross-entropy and the softmax HVP against SciPy, PyTorch
(2 threads), JAX (jit) and the memory floor, in one run.

Run ``python bench/bench_lse.py`` (``--quick`` for small sizes, ``--repeat N`` for more samples,
``--only NAME`` for one function). Every figure is the median wall time of ``--repeat`` calls after
one warm-up call (more calls for cheap cases, up to 0.5 s each), the peers timed round-robin so
that load from elsewhere slows them alike (``--sequential``: each one's calls back to back, as a
loop calling one library sees it; PyTorch's and JAX's worker threads spin for a while after a
call, and dlmath's wait 300 us, so round-robin timing of small cases moves with the order). The ratios are peer time / dlmath time (above 1: dlmath is faster) and dlmath time / floor time.

Floors: ``np.max(x, axis)`` (one read) for reductions; ``np.negative(x, out=o)`` into a buffer
allocated once (one read, one write) for softmax, log-softmax and the cross-entropy gradient;
``np.add(z, v, out=o)`` (two reads, one write) for the HVP. dlmath, PyTorch and JAX allocate their
outputs on every call, the floors do not.

The column ``dlmath avx2`` is dlmath with its AVX2 kernels forced on this CPU (``use_isa``): on an
AVX-512 host that is the AVX2 code path, not an AVX2 machine (whose memory and clock differ).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

SEQUENTIAL = False  # --sequential: each callable's calls back to back instead of round-robin

CASES = {
    "full": [
        ("(512, 1000) float32", (512, 1000), np.float32, -1),
        ("(4096, 32000) float32", (4096, 32000), np.float32, -1),
        ("(1e6, 8) float64", (10**6, 8), np.float64, -1),
        ("1e7 float64, axis=None", (10**7,), np.float64, None),
    ],
    "quick": [
        ("(512, 1000) float32", (512, 1000), np.float32, -1),
        ("(256, 32000) float32", (256, 32000), np.float32, -1),
        ("(1e5, 8) float64", (10**5, 8), np.float64, -1),
        ("1e6 float64, axis=None", (10**6,), np.float64, None),
    ],
}


def medians(fns, repeat, budget=0.5):
    """Median seconds per call of each callable, timed round-robin after one warm-up call each.

    Cheap cases get more rounds (up to ``budget`` seconds per callable, at most 200 rounds), so a
    burst of load elsewhere moves their medians less."""
    first = {}
    for k, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        first[k] = time.perf_counter() - t0
    repeat = max(repeat, min(200, int(budget / max(max(first.values()), 1e-6))))
    times = {k: [] for k in fns}
    if SEQUENTIAL:
        for k, fn in fns.items():
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        return {k: statistics.median(v) for k, v in times.items()}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def cpu_line():
    """The CPU model and the vector extensions that matter here, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine(), "x86_64"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    want = [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512dq",
        "avx512bw",
        "avx512vl",
        "avx512_bf16",
    ]
    have = [f for f in want if f in flags]
    return f"{model}; {os.cpu_count()} CPUs; vector extensions: {' '.join(have) or 'unknown'}"


def import_time(repeat=5):
    code = "import time; t = time.perf_counter(); import dlmath; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(runs)


class Peers:
    """Lazily imported peers; each ``fns_*`` returns name -> zero-argument callable for one case."""

    def __init__(self):
        import dlmath
        from dlmath import _kernels

        self.dl, self.k = dlmath, _kernels
        self.avx2 = _kernels.available() and "avx2" in _kernels.isas() and _kernels.isa() != "avx2"
        try:
            import torch
            import torch.nn.functional as F

            torch.set_num_threads(2)
            self.torch, self.F = torch, F
        except ImportError:
            self.torch = None
        try:
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            self.jax, self.jnp = jax, jnp
        except ImportError:
            self.jax = None

    def _with_avx2(self, fns, key, fn):
        fns[key] = fn
        if self.avx2:

            def forced():
                with self.k.use_isa("avx2"):
                    return fn()

            fns["dlmath avx2"] = forced

    def _jit(self, f, *arrays):
        g = self.jax.jit(f)
        args = [self.jnp.asarray(a) for a in arrays]
        return lambda: self.jax.block_until_ready(g(*args))

    def reduction(self, x, axis):
        import scipy.special

        fns = {}
        self._with_avx2(fns, "dlmath", lambda: self.dl.logsumexp(x, axis=axis))
        fns["scipy"] = lambda: scipy.special.logsumexp(x, axis=axis)
        if self.torch:
            xt = self.torch.from_numpy(x)
            dim = tuple(range(x.ndim)) if axis is None else axis
            fns["torch"] = lambda: self.torch.logsumexp(xt, dim=dim)
        if self.jax:
            fns["jax"] = self._jit(lambda a: self.jax.nn.logsumexp(a, axis=axis), x)
        fns["floor"] = lambda: np.max(x, axis=axis)
        return fns

    def normalisation(self, x, axis, log):
        import scipy.special

        name = "log_softmax" if log else "softmax"
        ax = -1 if axis is None else axis
        fns = {}
        self._with_avx2(fns, "dlmath", lambda: getattr(self.dl, name)(x, axis=ax))
        fns["scipy"] = lambda: getattr(scipy.special, name)(x, axis=ax)
        if self.torch:
            xt = self.torch.from_numpy(x)
            fns["torch"] = lambda: getattr(self.torch, name)(xt, dim=ax)
        if self.jax:
            fns["jax"] = self._jit(lambda a: getattr(self.jax.nn, name)(a, axis=ax), x)
        buf = np.empty_like(x)
        fns["floor"] = lambda: np.negative(x, out=buf)
        return fns

    def cross_entropy(self, x, target):
        """loss and gradient: dlmath's two calls; PyTorch's forward + backward; JAX's value_and_grad."""
        dl = self.dl
        fns = {}
        self._with_avx2(
            fns, "dlmath", lambda: (dl.cross_entropy(x, target), dl.cross_entropy_grad(x, target))
        )
        if self.torch:
            torch, F = self.torch, self.F
            xt, tt = torch.from_numpy(x), torch.from_numpy(target)

            def torch_fb():
                z = xt.detach().requires_grad_(True)
                loss = F.cross_entropy(z, tt)
                loss.backward()
                return loss, z.grad

            fns["torch"] = torch_fb
        if self.jax:
            jax, jnp = self.jax, self.jnp

            def ce(z, t):
                lp = jax.nn.log_softmax(z, axis=-1)
                return -jnp.mean(jnp.take_along_axis(lp, t[:, None], axis=-1))

            fns["jax"] = self._jit(jax.value_and_grad(ce), x, target)
        buf = np.empty_like(x)
        fns["floor"] = lambda: np.negative(x, out=buf)
        return fns

    def hvp(self, z, v):
        fns = {}
        self._with_avx2(fns, "dlmath", lambda: self.dl.softmax_hvp(z, v))
        if self.torch:
            torch, F = self.torch, self.F
            zt, vt = torch.from_numpy(z), torch.from_numpy(v)
            target = torch.zeros(z.shape[0], dtype=torch.long)

            def torch_hvp():
                # double backward through the summed cross-entropy (its target term is linear in z)
                zz = zt.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(
                    F.cross_entropy(zz, target, reduction="sum"), zz, create_graph=True
                )
                return torch.autograd.grad(g, zz, grad_outputs=vt)[0]

            fns["torch"] = torch_hvp
        if self.jax:
            jax = self.jax

            def hv(zz, vv):
                return jax.jvp(lambda a: jax.nn.softmax(a, axis=-1), (zz,), (vv,))[1]

            fns["jax"] = self._jit(hv, z, v)
        out = np.empty_like(z)
        fns["floor"] = lambda: np.add(z, v, out=out)
        return fns


def fmt(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:7.1f} us"
    return f"{s * 1e3:7.2f} ms" if s < 1 else f"{s:7.3f} s "


def rows_for(peers, args):
    rng = np.random.default_rng(0)
    cases = CASES["quick" if args.quick else "full"]
    only = args.only
    for label, shape, dtype, axis in cases:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        if only in (None, "logsumexp"):
            yield f"logsumexp {label}", peers.reduction(x, axis)
        if only in (None, "softmax"):
            yield f"softmax {label}", peers.normalisation(x, axis, log=False)
        if only in (None, "log_softmax"):
            yield f"log_softmax {label}", peers.normalisation(x, axis, log=True)
        if only in (None, "cross_entropy") and axis is not None:
            t = rng.integers(0, shape[-1], size=shape[0])
            yield f"cross_entropy + grad {label}", peers.cross_entropy(x, t)
        del x
    if only in (None, "softmax_hvp"):
        B, K = (32, 32000) if args.quick else (256, 32000)
        z = (rng.standard_normal((B, K)) * 4).astype(np.float32)
        v = rng.standard_normal((B, K)).astype(np.float32)
        yield f"softmax_hvp ({B}, {K}) float32", peers.hvp(z, v)


def overhead_rows(peers):
    """Calls on 8 elements: the fixed cost of a call."""
    dl = peers.dl
    x = np.linspace(-1.0, 1.0, 8)
    x2 = x[None, :]
    t = np.array([3])
    return {
        "np.max (8)": lambda: np.max(x),
        "logsumexp": lambda: dl.logsumexp(x),
        "softmax": lambda: dl.softmax(x),
        "log_softmax": lambda: dl.log_softmax(x),
        "cross_entropy": lambda: dl.cross_entropy(x2, t),
        "cross_entropy_grad": lambda: dl.cross_entropy_grad(x2, t),
        "softmax_hvp": lambda: dl.softmax_hvp(x2, x2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, seconds)")
    ap.add_argument("--repeat", type=int, default=None, help="timed calls per cell (default 7, quick 3)")
    ap.add_argument(
        "--sequential",
        action="store_true",
        help="time each library's calls back to back (its threads stay warm; no other library's spinning threads)",
    )
    ap.add_argument(
        "--only",
        default=None,
        help="one function: logsumexp, softmax, log_softmax, cross_entropy, softmax_hvp",
    )
    args = ap.parse_args(argv)
    global SEQUENTIAL
    SEQUENTIAL = args.sequential
    repeat = args.repeat or (3 if args.quick else 7)
    peers = Peers()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(cpu_line())
    print(
        f"dlmath kernels: {peers.k.isa()} (available: {', '.join(peers.k.isas()) or 'none'}); numpy "
        f"{np.__version__}, python {sys.version.split()[0]}; median of {repeat}+ calls, "
        f"{'each back to back' if SEQUENTIAL else 'peers interleaved'}; "
        f"load average {load:.2f} at the start"
    )
    cols = ["dlmath"] + (["dlmath avx2"] if peers.avx2 else []) + ["scipy", "torch", "jax", "floor"]
    ratio_cols = ["torch/dl", "jax/dl", "dl/floor"] + (
        ["torch/avx2", "jax/avx2", "avx2/floor"] if peers.avx2 else []
    )
    width = 46
    head = (
        f"{'case':<{width}} "
        + " ".join(f"{c:>11}" for c in cols)
        + "  "
        + " ".join(f"{c:>10}" for c in ratio_cols)
    )
    print(head)
    print("-" * len(head))
    for name, fns in rows_for(peers, args):
        t = medians(fns, repeat)
        cells = " ".join(f"{fmt(t.get(c)):>11}" for c in cols)
        ratios = []
        for d in ["dlmath"] + (["dlmath avx2"] if peers.avx2 else []):
            for peer in ("torch", "jax"):
                ratios.append(t[peer] / t[d] if peer in t else None)
            ratios.append(t[d] / t["floor"])
        print(
            f"{name:<{width}} {cells}  "
            + " ".join("       —  " if r is None else f"{r:10.2f}" for r in ratios)
        )
        sys.stdout.flush()
    if args.only is None:
        t = medians(overhead_rows(peers), 1000, budget=0)
        print("calls on 8 elements: " + ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in t.items()))
        print(
            f"import dlmath (fresh interpreter, median of 5): {import_time() * 1e3:.1f} ms (target < 150 ms)"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else "")


if __name__ == "__main__":
    main()
