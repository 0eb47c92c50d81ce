"""Fixtures for the page tests: the real reference built once by `dlmath build`, and a headless
Chromium (skipped, with the reason, where it is missing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _chromium() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (pip install playwright)"
    if _chromium() is None:
        return "Chromium is not installed at /usr/bin/chromium nor on PATH (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing()
    if reason:
        pytest.skip(f"browser tests need Chromium and Playwright: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(_chromium()),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@dataclass
class RealBuild:
    out: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> RealBuild:
    """`dlmath build -o DIR` run once, as a user would, on dlmath's own topics."""
    out = tmp_path_factory.mktemp("real") / "site"
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "build", "-o", str(out)], capture_output=True, text=True
    )
    return RealBuild(out, done.returncode, done.stdout, done.stderr, time.perf_counter() - t0)
