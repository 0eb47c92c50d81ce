"""Benchmark `dlmath check` and `dlmath --help`: wall time of the whole command, imports included.

    python bench/bench_check.py [--repeat N]

Targets: `dlmath check` over every registered topic <= 8 s (14 topics; it was 5 s for the first
eight) and `dlmath --help` <= 0.2 s on the 2-core machine, where `check` runs its topics in two
processes. Each run is a fresh process, as a user would type it (the `dlmath` console
script when installed, else `python -m dlmath.cli`). The machine's load average is printed
beside the figures, because on a shared 2-core box it moves them more than any code change; the
CPU time of the child (user + system) is printed too, as the figure that load does not inflate.
A second table times each topic in one process (its checks only, imports excluded).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"check": 8.0, "--help": 0.2}


def _command(args: list[str]) -> list[str]:
    script = Path(sys.executable).with_name("dlmath")
    if script.is_file():
        return [str(script), *args]
    found = shutil.which("dlmath")
    return [found, *args] if found else [sys.executable, "-m", "dlmath.cli", *args]


def _run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(_command(args), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"dlmath {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _per_topic() -> list[tuple[str, float]]:
    from dlmath.derive import check_topic
    from dlmath.topics import TOPICS

    check_topic(TOPICS[-1])  # warm the imports (SymPy, lambdify's printers) outside the timings
    rows = []
    for topic in TOPICS:
        t0 = time.perf_counter()
        report = check_topic(topic)
        rows.append((topic.id, time.perf_counter() - t0, report.passed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per command (default 5)")
    args = parser.parse_args()

    print(f"command: {' '.join(_command(['...']))}   load average: {os.getloadavg()[0]:.2f}")
    print(f"{'command':16s} {'min wall':>9s} {'median':>8s} {'min CPU':>8s} {'target':>7s}  verdict")
    for name, argv in (("dlmath --help", ["--help"]), ("dlmath check", ["check"])):
        runs = [_run(argv) for _ in range(args.repeat)]
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        target = TARGETS[argv[0]]
        verdict = "ok" if min(walls) <= target else "OVER"
        print(
            f"{name:16s} {min(walls):8.3f}s {statistics.median(walls):7.3f}s {min(cpus):7.3f}s {target:6.1f}s  {verdict}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'topic (in process)':22s} {'seconds':>8s}  passed")
    total = 0.0
    for topic_id, seconds, passed in _per_topic():
        total += seconds
        print(f"{topic_id:22s} {seconds:8.3f}  {passed}")
    print(f"{'total':22s} {total:8.3f}")


if __name__ == "__main__":
    main()
