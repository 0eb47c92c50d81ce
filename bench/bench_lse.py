"""Benchmark: dlmath.logsumexp against SciPy, PyTorch (2 threads), JAX (jit) and the one-read floor.

Run ``python bench/bench_lse.py`` (``--quick`` for small sizes, ``--repeat N`` for more samples).
Every figure is the median wall time of ``--repeat`` calls after one warm-up call; the ratios are
peer time / dlmath time (above 1: dlmath is faster) and dlmath time / floor time, where the floor is
one read of the array (``np.max``). ``softmax_hvp`` is compared with its own floor (read logits and
``v``, write the result: ``np.add(a, b, out=c)``) and with a PyTorch autodiff HVP (double backward
through cross-entropy, never forming the Hessian).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def median_time(fn, repeat):
    return medians({"f": fn}, repeat)["f"]


def medians(fns, repeat):
    """Median seconds per call of each callable, timed round-robin after one warm-up call each.

    Interleaving the peers means a burst of load from elsewhere on the machine slows them alike,
    so the ratios stay fair even when the absolute figures move.
    """
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def import_time(repeat=5):
    """Median wall time of ``import dlmath`` in a fresh interpreter (the interpreter's start excluded)."""
    code = "import time; t = time.perf_counter(); import dlmath; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def lse_cases(quick):
    rng = np.random.default_rng(0)
    if quick:
        shapes = [
            ("(a) 1e5 float64", (10**5,), np.float64, None),
            ("(b) (256, 32000) float32, axis -1", (256, 32000), np.float32, -1),
            ("(c) (1e4, 8) float64, axis -1", (10**4, 8), np.float64, -1),
        ]
    else:
        shapes = [
            ("(a) 1e7 float64", (10**7,), np.float64, None),
            ("(b) (4096, 32000) float32, axis -1", (4096, 32000), np.float32, -1),
            ("(c) (1e6, 8) float64, axis -1", (10**6, 8), np.float64, -1),
        ]
    for name, shape, dtype, axis in shapes:
        yield name, (rng.standard_normal(shape) * 4).astype(dtype), axis


def peers(x, axis):
    """name -> zero-argument callable, for every peer that is installed."""
    import scipy.special

    import dlmath

    fns = {
        "dlmath": lambda: dlmath.logsumexp(x, axis=axis),
        "scipy": lambda: scipy.special.logsumexp(x, axis=axis),
    }
    try:
        import torch

        torch.set_num_threads(2)
        xt = torch.from_numpy(x)
        dim = tuple(range(x.ndim)) if axis is None else axis
        fns["torch"] = lambda: torch.logsumexp(xt, dim=dim)
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        xj = jnp.asarray(x)
        f = jax.jit(lambda a: jax.nn.logsumexp(a, axis=axis))
        fns["jax"] = lambda: f(xj).block_until_ready()
    except ImportError:
        pass
    fns["floor"] = lambda: np.max(x, axis=axis)
    return fns


def hvp_row(quick, repeat):
    """softmax_hvp on a (B, K) float32 batch: dlmath, the read-two-write-one floor, PyTorch autodiff."""
    try:
        from dlmath import softmax_hvp
    except ImportError:
        return None, None
    rng = np.random.default_rng(1)
    B, K = (32, 32000) if quick else (256, 32000)
    z = (rng.standard_normal((B, K)) * 4).astype(np.float32)
    v = rng.standard_normal((B, K)).astype(np.float32)
    out = np.empty_like(z)
    fns = {"dlmath": lambda: softmax_hvp(z, v), "floor": lambda: np.add(z, v, out=out)}
    note = None
    try:
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(2)
        zt, vt = torch.from_numpy(z), torch.from_numpy(v)
        target = torch.from_numpy(rng.integers(0, K, size=B))

        def torch_hvp():
            # Hessian of the summed cross-entropy times v by double backward: O(K) memory per row,
            # no dense Hessian (the target's term is linear in z, so this is the softmax Hessian)
            zz = zt.clone().requires_grad_(True)
            loss = F.cross_entropy(zz, target, reduction="sum")
            (g,) = torch.autograd.grad(loss, zz, create_graph=True)
            (h,) = torch.autograd.grad(g, zz, grad_outputs=vt)
            return h

        fns["torch"] = torch_hvp
        note = dense_hessian_note(torch, F, K, B)
    except ImportError:
        pass
    return (f"softmax_hvp ({B}, {K}) float32", medians(fns, repeat)), note


def dense_hessian_note(torch, F, K, B, k_small=4000):
    """The dense autodiff Hessian (torch.func.hessian) of one row at a small K, extrapolated as K^2."""
    z = torch.randn(k_small)
    t = torch.tensor(3)
    hess = torch.func.hessian(lambda a: F.cross_entropy(a[None], t[None]))
    hess(z)
    t0 = time.perf_counter()
    hess(z)
    sec = time.perf_counter() - t0
    scale = (K / k_small) ** 2
    return (
        f"dense torch.func.hessian, one row at K={k_small}: {sec * 1e3:.1f} ms; extrapolated as K^2 "
        f"(not measured) to K={K}: ~{sec * scale:.1f} s and {4 * K * K / 2**30:.1f} GiB per row, "
        f"~{sec * scale * B / 60:.0f} min for the {B}-row batch"
    )


def fmt(s):
    return "—" if s is None else (f"{s * 1e3:8.2f} ms" if s < 1 else f"{s:8.3f} s ")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, seconds)")
    ap.add_argument("--repeat", type=int, default=None, help="timed calls per cell (default 7, quick 3)")
    args = ap.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)

    cols = ["dlmath", "scipy", "torch", "jax", "floor"]
    rows = []
    for name, x, axis in lse_cases(args.quick):
        fns = peers(x, axis)
        rows.append((f"logsumexp {name}", medians(fns, repeat)))
    hvp, note = hvp_row(args.quick, repeat)
    if hvp is not None:
        rows.append(hvp)

    width = max(len(r[0]) for r in rows)
    head = f"{'case':<{width}} " + " ".join(f"{c:>11}" for c in cols)
    head += "   scipy/dl  torch/dl  jax/dl  dl/floor"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"median of {repeat} calls, peers interleaved; numpy {np.__version__}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f} at the start"
    )
    print(head)
    print("-" * len(head))
    for name, t in rows:
        cells = " ".join(f"{fmt(t.get(c)):>11}" for c in cols)
        d = t["dlmath"]
        ratios = [t[c] / d if c in t else None for c in ("scipy", "torch", "jax")]
        ratios.append(d / t["floor"])
        print(
            f"{name:<{width}} {cells}   "
            + "  ".join("    —   " if r is None else f"{r:8.2f}" for r in ratios)
        )
    if note:
        print(note)
    print(f"import dlmath (fresh interpreter, median of 5): {import_time() * 1e3:.1f} ms (target < 150 ms)")


if __name__ == "__main__":
    main()
