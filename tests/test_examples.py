"""The readers' derivations in examples/ pass `dlmath check`, and the README shows the short one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _check(*paths):
    return subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "check", *map(str, paths)], capture_output=True, text=True
    )


def test_there_is_a_short_and_a_matrix_calculus_example():
    names = {p.name for p in EXAMPLES}
    assert {"softplus.py", "ridge.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_passes_dlmath_check(path):
    out = _check(path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 1 topics pass" in out.stdout


def test_the_readme_shows_the_short_example_verbatim():
    short = (ROOT / "examples" / "softplus.py").read_text()
    assert len(short.splitlines()) < 30
    assert short.strip() in (ROOT / "README.md").read_text()


def test_a_deliberate_error_fails_naming_the_step_and_a_counterexample(tmp_path):
    wrong = tmp_path / "wrong.py"
    source = (ROOT / "examples" / "softplus.py").read_text()
    assert "Eq(exp(x) / (1 + exp(x)), sigmoid)" in source
    wrong.write_text(
        source.replace("Eq(exp(x) / (1 + exp(x)), sigmoid)", "Eq(exp(x) / (1 + exp(x)), 1 / (1 + exp(x)))")
    )
    out = _check(wrong)
    assert out.returncode == 1
    assert "softplus-slope / divide" in out.stdout and "counterexample: x = " in out.stdout
