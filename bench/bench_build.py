"""Benchmark `dlmath build`: wall time of the whole command (imports, every check, figures, page)
and the size of what it writes, against the targets (<= 10 s on the 2-core machine; page HTML
without figures about 40 KB per topic: MathML for readers without JavaScript doubles the TeX).

    python bench/bench_build.py [--repeat N]

Each run is a fresh process, as a user would type it; the output directory is a temporary one.
A second table splits one in-process build into its parts (checks, figures, page assembly).
The figures and the kink table are drawn in a second process while the checks run, so on an idle 2-core machine the
wall time is close to the larger of the two; the CPU line shows the work when the machine is busy.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0
TARGET_HTML_BYTES = 600_000


def _command(out: Path) -> list[str]:
    cli = Path(__file__).resolve().parents[1] / "src" / "dlmath" / "cli.py"
    if cli.is_file() and "build" in cli.read_text():
        return [sys.executable, "-m", "dlmath.cli", "build", "-o", str(out)]
    code = f"from dlmath.render.page import build_reference; print(build_reference({str(out)!r})[0])"
    return [sys.executable, "-c", code]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sizes(out: Path) -> dict[str, int]:
    files = [p for p in out.rglob("*") if p.is_file()]
    return {
        "index.html": (out / "index.html").stat().st_size,
        "figures (all SVG)": sum(p.stat().st_size for p in files if p.parent.name == "figures"),
        "MathJax bundle": sum(p.stat().st_size for p in files if "mathjax" in p.parts),
        "whole directory": sum(p.stat().st_size for p in files),
    }


def _parts() -> dict[str, float]:
    code = """
import time, json
t0 = time.perf_counter()
from dlmath.topics import TOPICS
from dlmath.derive import check_topic
t1 = time.perf_counter()
reports = [check_topic(t) for t in TOPICS]
t2 = time.perf_counter()
from dlmath.render.figures import render_many
svgs = render_many(TOPICS)
t5 = time.perf_counter()
from dlmath.render.kinks import html_table
kinks = html_table()
t3 = time.perf_counter()
import tempfile, pathlib
from dlmath.render.page import build
with tempfile.TemporaryDirectory() as d:
    build(pathlib.Path(d) / "site", TOPICS, reports, svgs=svgs, kinks=kinks)
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "checks (sequential)": t2 - t1, "figures (sequential)": t5 - t2,
                  "kink table (imports torch, jax)": t3 - t5, "page (formulas, snippets, write)": t4 - t3}))
"""
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times: list[float] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        command = _command(out)
        for _ in range(args.repeat):
            before = _children_cpu()
            t0 = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            cpu.append(_children_cpu() - before)
            if not (out / "index.html").is_file():
                print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
                return 1
        sizes = _sizes(out)
        shutil.rmtree(out)
    best, median = min(times), statistics.median(times)
    shown = " ".join(["python", *command[1:5]]) if command[1] == "-m" else "build_reference(DIR)"
    print(f"command: {shown} DIR ({args.repeat} fresh processes; exit {done.returncode})")
    print(f"{'metric':32} {'measured':>14} {'target':>12}")
    print(f"{'build wall time, median':32} {median:13.2f}s {TARGET_SECONDS:11.1f}s")
    print(f"{'build wall time, best':32} {best:13.2f}s")
    print(f"{'CPU time, all processes (median)':32} {statistics.median(cpu):13.2f}s")
    print(f"{'load average at the end':32} {os.getloadavg()[0]:14.2f}")
    for name, size in sizes.items():
        target = f"{TARGET_HTML_BYTES / 1000:.0f} KB" if name == "index.html" else ""
        print(f"{name:32} {size / 1000:12.1f}KB {target:>12}")
    print()
    print(f"{'one in-process build, by part':32} {'seconds':>14}")
    for name, seconds in _parts().items():
        print(f"{name:32} {seconds:14.2f}")
    ok = median <= TARGET_SECONDS and sizes["index.html"] <= TARGET_HTML_BYTES
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
