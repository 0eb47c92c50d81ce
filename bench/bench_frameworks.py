"""Benchmark: dlmath inside PyTorch and JAX programs, beside each framework's own ops, in one run.

Run ``python bench/bench_frameworks.py`` (``--quick`` for the small shape only, ``--only torch`` or
``--only jax``, ``--no-memory`` to skip the memory cases). It prints the CPU's vector extensions,
then, for float32 logits of shape (512, 1000) and (4096, 32000):

- PyTorch (CPU tensors, torch's own threads): ``torch.logsumexp``, ``torch.softmax``,
  ``torch.log_softmax`` and ``F.cross_entropy`` against ``dlmath.logsumexp``, ``softmax``,
  ``log_softmax`` and ``cross_entropy``, forward alone and forward + backward (``backward`` with
  a fixed cotangent; the input's ``.grad`` reset to None between calls);
- JAX (``jax.jit``, CPU): ``jax.nn.logsumexp``, ``softmax``, ``log_softmax`` and optax's
  ``softmax_cross_entropy_with_integer_labels`` (skipped, with a message, without optax), forward
  and ``jax.grad`` of ``sum(f(x) * c)`` for a fixed random cotangent ``c``;
- extra peak memory of one forward + backward, for each library, at (512, 32000) and (4096, 32000):
  the peak resident set size of a fresh process during the call (``VmHWM``, reset just before
  it through ``/proc/self/clear_refs``) minus its resident size just before, with the inputs (and a first call at a tiny shape) already in memory.

Each figure is the median of blocks of back-to-back calls, the libraries alternating block by block
(both frameworks' worker threads spin for a while after a call, so interleaving call by call would
time each library partly on the other's spinning threads). Ratios are dlmath time / peer time
(at most 1.1 for torch and 1.2 for JAX is the goal; below 1: dlmath is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench_lse import cpu_line

SHAPES = {"full": [(512, 1000), (4096, 32000)], "quick": [(512, 1000)]}
MEMORY_SHAPES = {"full": [(512, 32000), (4096, 32000)], "quick": [(512, 32000)]}
FUNCS = ("logsumexp", "softmax", "log_softmax", "cross_entropy")


def blocks(fns, budget=1.0, rounds=5):
    """Median seconds per call of each callable: ``rounds`` blocks of back-to-back calls per
    callable, the callables alternating block by block, after one warm-up call each."""
    first = {}
    for k, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        first[k] = time.perf_counter() - t0
    per_block = max(1, min(200, int(budget / rounds / max(max(first.values()), 1e-6))))
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            for _ in range(per_block):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def fmt(sec):
    return f"{sec * 1e3:.3f} ms" if sec < 0.1 else f"{sec * 1e3:.1f} ms"


# ----------------------------------------------------------------------------- PyTorch


def torch_calls(shape, func, library):
    """``(forward, forward_backward)`` callables for one case, with their inputs bound."""
    import torch
    import torch.nn.functional as F

    import dlmath

    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g) * 3
    t = torch.randint(0, shape[1], (shape[0],), generator=g)
    xr = x.clone().requires_grad_()
    ours = library == "dlmath"
    if func == "logsumexp":
        f = (lambda a: dlmath.logsumexp(a, axis=-1)) if ours else (lambda a: torch.logsumexp(a, -1))
        cot = torch.randn(shape[0], generator=g)
    elif func == "softmax":
        f = dlmath.softmax if ours else (lambda a: torch.softmax(a, -1))
        cot = torch.randn(shape, generator=g)
    elif func == "log_softmax":
        f = dlmath.log_softmax if ours else (lambda a: torch.log_softmax(a, -1))
        cot = torch.randn(shape, generator=g)
    else:
        f = (lambda a: dlmath.cross_entropy(a, t)) if ours else (lambda a: F.cross_entropy(a, t))
        cot = torch.ones(())

    def forward():
        with torch.no_grad():
            return f(x)

    def forward_backward():
        f(xr).backward(cot)
        xr.grad = None

    return forward, forward_backward


def bench_torch(shapes):
    import torch

    print(f"\n## PyTorch {torch.__version__} on CPU tensors ({torch.get_num_threads()} threads), float32")
    print("| case | torch fwd | dlmath fwd | ratio | torch fwd+bwd | dlmath fwd+bwd | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for shape in shapes:
        for func in FUNCS:
            tf, tb = torch_calls(shape, func, "torch")
            df, db = torch_calls(shape, func, "dlmath")
            fw = blocks({"torch": tf, "dlmath": df})
            bw = blocks({"torch": tb, "dlmath": db})
            print(
                f"| {func} {shape} | {fmt(fw['torch'])} | {fmt(fw['dlmath'])} | {fw['dlmath'] / fw['torch']:.2f} "
                f"| {fmt(bw['torch'])} | {fmt(bw['dlmath'])} | {bw['dlmath'] / bw['torch']:.2f} |",
                flush=True,
            )


# ----------------------------------------------------------------------------- memory

_MEMORY_CHILD = r"""
import json, sys
sys.path.insert(0, {bench!r})
from bench_frameworks import torch_calls
shape, func, library = tuple({shape!r}), {func!r}, {library!r}
_, tiny = torch_calls((4, 8), func, library)
tiny()
_, fb = torch_calls(shape, func, library)

def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])

# Reset the peak resident size (VmHWM) to the present one, so the peak read after the call is the
# call's own and not the imports' or the input generation's (Linux; proc(5), clear_refs).
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_kb("VmRSS")
fb()
peak = status_kb("VmHWM")
print(json.dumps({{"extra_mb": (peak - before) / 1024}}))
"""


def extra_peak_mb(shape, func, library):
    code = _MEMORY_CHILD.format(
        bench=os.path.dirname(os.path.abspath(__file__)), shape=shape, func=func, library=library
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["extra_mb"]


def bench_memory(shapes):
    print(
        "\n## Extra peak memory of one forward + backward (PyTorch CPU tensors, float32; RSS, fresh process)"
    )
    print("| case | torch | dlmath |")
    print("| --- | --- | --- |")
    for shape in shapes:
        for func in FUNCS:
            t, d = extra_peak_mb(shape, func, "torch"), extra_peak_mb(shape, func, "dlmath")
            print(f"| {func} {shape} | {t:.0f} MB | {d:.0f} MB |", flush=True)


# ----------------------------------------------------------------------------- JAX


def bench_jax(shapes):
    import jax
    import jax.numpy as jnp

    import dlmath

    try:
        import optax
    except ImportError:
        optax = None
        print("\noptax is not installed: the cross-entropy rows compare with jax.nn only (pip install optax)")
    print(f"\n## JAX {jax.__version__} (jit, CPU), float32")
    print("| case | peer | peer fwd | dlmath fwd | ratio | peer grad | dlmath grad | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for shape in shapes:
        key = jax.random.PRNGKey(0)
        x = jax.random.normal(key, shape, jnp.float32) * 3
        t = jax.random.randint(key, (shape[0],), 0, shape[1])
        cases = {
            "logsumexp": (
                "jax.nn",
                lambda a: jax.nn.logsumexp(a, axis=-1),
                lambda a: dlmath.logsumexp(a, axis=-1),
            ),
            "softmax": ("jax.nn", jax.nn.softmax, dlmath.softmax),
            "log_softmax": ("jax.nn", jax.nn.log_softmax, dlmath.log_softmax),
        }
        if optax is not None:
            cases["cross_entropy"] = (
                "optax",
                lambda a, t=t: optax.softmax_cross_entropy_with_integer_labels(a, t).mean(),
                lambda a, t=t: dlmath.cross_entropy(a, t),
            )
        for func, (peer, pf, df) in cases.items():
            fns, grads = {}, {}
            # the VJP with a fixed cotangent c, as the PyTorch rows' backward: the gradient of
            # <f(x), c> (a summed output's cotangent of ones would let XLA fold away a reduction
            # of the backward, which no training step has)
            c = jax.random.normal(jax.random.PRNGKey(1), jax.eval_shape(pf, x).shape, jnp.float32)
            for name, f in (("peer", pf), ("dlmath", df)):
                jf = jax.jit(f)
                jg = jax.jit(jax.grad(lambda a, c, f=f: jnp.sum(f(a) * c)))
                fns[name] = lambda jf=jf, x=x: jf(x).block_until_ready()
                grads[name] = lambda jg=jg, x=x, c=c: jg(x, c).block_until_ready()
            fw, gw = blocks(fns), blocks(grads)
            print(
                f"| {func} {shape} | {peer} | {fmt(fw['peer'])} | {fmt(fw['dlmath'])} | {fw['dlmath'] / fw['peer']:.2f} "
                f"| {fmt(gw['peer'])} | {fmt(gw['dlmath'])} | {gw['dlmath'] / gw['peer']:.2f} |",
                flush=True,
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the (512, 1000) shape only")
    ap.add_argument("--only", choices=("torch", "jax"), help="one framework")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory cases")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    from dlmath import _kernels

    print(cpu_line())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dlmath kernels: {_kernels.isa()}; load average {load:.2f}; Python {sys.version.split()[0]}")
    if args.only in (None, "torch"):
        bench_torch(SHAPES[mode])
        if not args.no_memory:
            bench_memory(MEMORY_SHAPES[mode])
    if args.only in (None, "jax"):
        bench_jax(SHAPES[mode])


if __name__ == "__main__":
    main()
