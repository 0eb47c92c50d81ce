"""Benchmark: dlmath.softplus and binary_cross_entropy against NumPy, SciPy, PyTorch and JAX (jit).

Run ``python bench/bench_bernoulli.py`` (``--quick`` for small sizes, ``--repeat N`` for more
samples). Every figure is the median wall time of ``--repeat`` calls after one warm-up call, the
peers timed round-robin; the ratio is dlmath time / peer time. What the ratio buys: dlmath's NumPy
float64 path works in long double (0.5 ulp against the peers' 1.1-2.0 ulp, ``tests/test_bernoulli.py``),
float32 in float64.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import dlmath


def medians(fns, repeat):
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _peers_softplus(z):
    import scipy.special

    out = {
        "numpy logaddexp(0, z)": lambda: np.logaddexp(z.dtype.type(0), z),
        "scipy softplus": lambda: scipy.special.softplus(z),
    }
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        zt = torch.from_numpy(z)
        out["torch softplus"] = lambda: torch.nn.functional.softplus(zt)
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        zj = jax.numpy.asarray(z)
        f = jax.jit(jax.nn.softplus)
        out["jax softplus (jit)"] = lambda: f(zj).block_until_ready()
    except ImportError:
        pass
    return out


def _peers_bce(z, y):
    out = {}
    try:
        import torch

        zt, yt = torch.from_numpy(z), torch.from_numpy(y)
        out["torch bce_with_logits"] = lambda: torch.nn.functional.binary_cross_entropy_with_logits(zt, yt)
        out["dlmath bce (torch)"] = lambda: dlmath.binary_cross_entropy(zt, yt)
    except ImportError:
        pass
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 elements instead of 10^7")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    n = 10**5 if args.quick else 10**7
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f}, numpy {np.__version__}, {n:.0e} elements")
    for dtype in (np.float32, np.float64):
        z = (rng.standard_normal(n) * 20).astype(dtype)
        t = medians({"dlmath softplus": lambda z=z: dlmath.softplus(z), **_peers_softplus(z)}, args.repeat)
        ours = t.pop("dlmath softplus")
        print(f"\nsoftplus, {np.dtype(dtype).name}: dlmath {ours * 1e3:.1f} ms")
        for name, s in t.items():
            print(f"  {name:24s} {s * 1e3:8.1f} ms   dlmath / peer {ours / s:5.2f}")
        y = rng.random(n).astype(dtype)
        t = medians(
            {"dlmath bce": lambda z=z, y=y: dlmath.binary_cross_entropy(z, y), **_peers_bce(z, y)},
            args.repeat,
        )
        ours = t.pop("dlmath bce")
        print(f"binary_cross_entropy, {np.dtype(dtype).name}: dlmath {ours * 1e3:.1f} ms")
        for name, s in t.items():
            print(f"  {name:24s} {s * 1e3:8.1f} ms   dlmath / peer {ours / s:5.2f}")


if __name__ == "__main__":
    main()
