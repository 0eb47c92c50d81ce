"""The built page in a real browser (headless Chromium via Playwright): it loads offline, without
console errors or network requests, every topic has its anchor, every formula is drawn, every
figure is shown, and a screenshot is kept for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _fakes import make_reports, make_topics

from dlmath.render.page import build


@pytest.fixture(scope="module")
def loaded(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    index = build(out, make_topics(), make_reports(fail=True))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(index.as_uri())
    page.wait_for_selector("html[data-math=ready]", timeout=20_000)
    page.wait_for_load_state("load")
    shots = Path(os.environ.get("DLMATH_SCREENSHOT_DIR", tmp_path_factory.mktemp("shots")))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "reference-page.png"
    page.screenshot(path=str(shot), full_page=True)
    yield page, requests, errors, shot
    context.close()


def test_page_loads_without_console_errors(loaded):
    _, _, errors, _ = loaded
    assert errors == []


def test_no_network_requests_beyond_file(loaded):
    _, requests, _, _ = loaded
    assert requests, "the page made no requests at all (assets missing?)"
    assert [url for url in requests if not url.startswith("file:")] == []


def test_every_topic_has_an_anchor_and_a_toc_entry(loaded):
    page, *_ = loaded
    for topic in make_topics():
        assert page.locator(f"section#{topic.id}").count() == 1
        assert page.locator(f'nav.toc a[href="#{topic.id}"]').count() == 1


def test_every_formula_is_typeset(loaded):
    page, *_ = loaded
    sources = page.locator(".mj").count()
    drawn = page.locator(".mj mjx-container svg").count()
    assert sources > 10 and drawn == sources
    assert page.locator("[data-mjx-error], mjx-merror").count() == 0
    assert page.locator(".mj:has-text('\\\\(')").count() == 0


def test_figures_are_shown_with_alt_text(loaded):
    page, *_ = loaded
    images = page.locator("figure.figure img")
    assert images.count() == sum(1 for t in make_topics() if t.figure)
    for k in range(images.count()):
        image = images.nth(k)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert len(image.get_attribute("alt")) > 40


def test_failing_check_is_visibly_failing(loaded):
    page, *_ = loaded
    item = page.locator("#x-pow-x--diff")
    assert "item-fail" in item.get_attribute("class")
    assert item.locator(".verdict-fail").inner_text() == "FAILING"
    item.locator("summary").click()
    assert "counterexample" in item.locator("dl").inner_text()


def test_screenshot_taken(loaded):
    *_, shot = loaded
    assert shot.stat().st_size > 50_000
