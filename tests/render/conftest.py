"""A headless Chromium for the page tests, skipped with the reason when it is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (pip install playwright)"
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing()
    if reason:
        pytest.skip(f"browser tests need Chromium and Playwright: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
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
