"""Opening a built page in headless Chromium, and asking axe-core about it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class Opened:
    context: object
    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.context.close()


def open_page(
    browser, url: str, *, width: int = 1280, scheme: str = "light", javascript: bool = True
) -> Opened:
    """``url`` at a viewport ``width`` px wide in the ``scheme`` colour scheme; with JavaScript, once
    MathJax has drawn every formula. Requests and console errors are recorded."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, java_script_enabled=javascript
    )
    opened = Opened(context, None)
    context.on("request", lambda request: opened.requests.append(request.url))
    page = context.new_page()
    page.on("console", lambda msg: opened.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    page.goto(url)
    if javascript:
        page.wait_for_selector("html[data-math=ready]", timeout=60_000)
    page.wait_for_load_state("load")
    opened.page = page
    return opened


def screenshot(page, tmp_path_factory, name: str, *, full_page: bool = True) -> Path:
    """Keep a screenshot for a person to look at (in ``DLMATH_SCREENSHOT_DIR`` if set)."""
    shots = Path(os.environ.get("DLMATH_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / name), full_page=full_page)
    return shots / name


def axe_violations(page) -> tuple[int, str]:
    """(number of axe-core violations on ``page``, axe's report of them)."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("the accessibility tests need axe-core: pip install axe-playwright-python")
    results = Axe().run(page)
    return results.violations_count, results.generate_report()
