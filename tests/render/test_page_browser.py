"""The built page in a real browser (headless Chromium via Playwright): it loads offline, without
console errors or network requests, every topic has its anchor, every formula is drawn, every
figure is shown, and a screenshot is kept for a person to look at (set DLMATH_SCREENSHOT_DIR to
keep it somewhere other than pytest's temporary directory)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from _fakes import make_reports, make_topics

from dlmath.render.page import build
from dlmath.render.serve import make_server


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("html[data-math=ready]", timeout=30_000)
    page.wait_for_load_state("load")
    return context, page, requests, errors


def _screenshot(page, tmp_path_factory, name: str) -> Path:
    shots = Path(os.environ.get("DLMATH_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / name), full_page=True)
    return shots / name


def _assert_rendered(page, topics) -> None:
    for topic in topics:
        assert page.locator(f'section[id="{topic.id}"]').count() == 1, topic.id
        assert page.locator(f'nav.toc a[href="#{topic.id}"]').count() == 1, topic.id
    sources = page.locator(".mj").count()
    assert sources > 10
    assert page.locator(".mj > mjx-container > svg").count() == sources
    assert page.locator(".mj > mjx-container > mjx-assistive-mml > math").count() == sources
    assert page.locator("[data-mjx-error], mjx-merror").count() == 0
    images = page.locator("figure.figure img")
    assert images.count() == len({t.figure for t in topics if t.figure})
    for k in range(images.count()):
        image = images.nth(k)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), image.get_attribute("src")
        assert len(image.get_attribute("alt")) > 40


@pytest.fixture(scope="module")
def loaded(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    index = build(out, make_topics(), make_reports(fail=True))
    context, page, requests, errors = _open(browser, index.as_uri())
    shot = _screenshot(page, tmp_path_factory, "fake-topics-page.png")
    yield page, requests, errors, shot
    context.close()


def test_page_loads_without_console_errors(loaded):
    _, _, errors, _ = loaded
    assert errors == []


def test_no_network_requests_beyond_file(loaded):
    _, requests, _, _ = loaded
    assert requests, "the page made no requests at all (assets missing?)"
    assert [url for url in requests if not url.startswith("file:")] == []


def test_anchors_formulas_and_figures_are_rendered(loaded):
    page, *_ = loaded
    _assert_rendered(page, make_topics())
    assert page.locator(".mj:has-text('\\\\(')").count() == 0


def test_failing_check_is_visibly_failing(loaded):
    page, *_ = loaded
    item = page.locator('[id="x-pow-x--diff"]')
    assert "item-fail" in item.get_attribute("class")
    assert item.locator(".verdict-fail").inner_text() == "FAILING"
    assert item.locator("details").get_attribute("open") is not None
    assert "counterexample: x = 0.3" in item.locator("dl").inner_text()
    passing = page.locator('[id="x-pow-x--log"] details')
    assert passing.get_attribute("open") is None
    passing.locator("summary").click()
    assert passing.locator("dl").is_visible()


def test_screenshot_taken(loaded):
    *_, shot = loaded
    assert shot.stat().st_size > 50_000


def test_served_page_renders_over_loopback(browser, tmp_path):
    out = tmp_path / "site"
    build(out, make_topics(), make_reports())
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        context, page, requests, errors = _open(browser, origin + "/")
        _assert_rendered(page, make_topics())
        assert errors == []
        assert [url for url in requests if not url.startswith(origin + "/")] == []
        context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_real_reference_page(browser, real_build, tmp_path_factory):
    """The page `dlmath build` writes from dlmath's own topics and checks."""
    from dlmath.topics import TOPICS

    index = real_build.out / "index.html"
    assert index.is_file(), real_build.stderr
    context, page, requests, errors = _open(browser, index.as_uri())
    try:
        _assert_rendered(page, TOPICS)
        assert errors == []
        assert [url for url in requests if not url.startswith("file:")] == []
        assert page.locator(".summary-fail").count() == (0 if real_build.returncode == 0 else 1)
        _screenshot(page, tmp_path_factory, "reference-page.png")
    finally:
        context.close()
