"""The built page in a real browser (headless Chromium via Playwright): it loads offline, without
console errors or network requests, every topic has its anchor, every formula is drawn once,
every figure is shown, failures are visible, and a screenshot is kept for a person to look at
(set DLMATH_SCREENSHOT_DIR to keep it somewhere other than pytest's temporary directory)."""

from __future__ import annotations

import threading

import pytest
from _browser import open_page, screenshot
from _fakes import make_reports, make_topics, passing_topic

from dlmath.render.page import build
from dlmath.render.serve import make_server


def _assert_rendered(page, topics) -> None:
    for topic in topics:
        assert page.locator(f'section[id="{topic.id}"]').count() == 1, topic.id
        assert page.locator(f'nav.toc a[href="#{topic.id}"]').count() == 1, topic.id
    boxes = page.locator(".math").count()
    assert boxes > 10
    assert page.locator(".math > mjx-container > svg").count() == boxes
    assert page.locator(".math > mjx-container > mjx-assistive-mml > math").count() == boxes
    assert page.locator("mjx-container").count() == boxes
    assert page.locator(".math > math").count() == 0
    assert page.locator("[data-mjx-error], mjx-merror").count() == 0
    images = page.locator("figure.figure img")
    assert images.count() == sum(t.figure is not None for t in topics)
    for k in range(images.count()):
        image = images.nth(k)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), image.get_attribute("src")
        assert len(image.get_attribute("alt")) > 40


@pytest.fixture(scope="module")
def fake_page(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    topics = make_topics()
    index = build(out, topics, make_reports(topics))
    opened = open_page(browser, index.as_uri())
    yield opened, topics
    opened.close()


def test_page_loads_without_console_errors(fake_page):
    opened, _ = fake_page
    assert opened.errors == []


def test_no_network_requests_beyond_file(fake_page):
    opened, _ = fake_page
    assert opened.requests, "the page made no requests at all (assets missing?)"
    assert [url for url in opened.requests if not url.startswith("file:")] == []


def test_anchors_formulas_and_figures_are_rendered(fake_page):
    opened, topics = fake_page
    _assert_rendered(opened.page, topics)


def test_every_link_on_the_page_leads_somewhere(fake_page):
    page = fake_page[0].page
    targets = page.eval_on_selector_all('a[href^="#"]', "links => links.map(a => a.hash.slice(1))")
    assert targets
    for target in set(targets):
        assert page.locator(f'[id="{target}"]').count() == 1, target


def test_failing_check_is_visibly_failing(fake_page):
    page = fake_page[0].page
    item = page.locator('[id="fake-wrong--wrong"]')
    assert "item-fail" in item.get_attribute("class")
    assert item.locator(".verdict-fail").inner_text() == "FAILING"
    assert item.locator("details").get_attribute("open") is not None
    assert "counterexample:" in item.locator("dl").inner_text()
    assert page.locator(".summary-fail").inner_text().startswith("Checks failing in: fake-wrong")
    passing = page.locator('[id="fake-wrong--right"] details')
    assert passing.get_attribute("open") is None
    assert not passing.locator("dl").is_visible()
    passing.locator("summary").click()
    assert passing.locator("dl").is_visible()


def test_snippet_output_is_shown(fake_page):
    page = fake_page[0].page
    assert page.locator('[id="fake-square"] pre.output').inner_text() == "slope at 1: 2.0"


def test_screenshot_taken(fake_page, tmp_path_factory):
    shot = screenshot(fake_page[0].page, tmp_path_factory, "fake-topics-page.png")
    assert shot.stat().st_size > 50_000


def test_served_page_renders_over_loopback(browser, tmp_path):
    out = tmp_path / "site"
    topics = [passing_topic()]
    build(out, topics, make_reports(topics))
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        opened = open_page(browser, origin + "/")
        _assert_rendered(opened.page, topics)
        assert opened.errors == []
        assert [url for url in opened.requests if not url.startswith(origin + "/")] == []
        opened.close()
    finally:
        server.shutdown()
        server.server_close()


def test_real_reference_page(browser, real_build, tmp_path_factory):
    """The page `dlmath build` writes from dlmath's own topics and checks."""
    from dlmath.topics import TOPICS

    index = real_build.out / "index.html"
    assert index.is_file(), real_build.stderr
    opened = open_page(browser, index.as_uri())
    try:
        _assert_rendered(opened.page, TOPICS)
        assert opened.errors == []
        assert [url for url in opened.requests if not url.startswith("file:")] == []
        assert opened.page.locator(".summary-fail").count() == (0 if real_build.returncode == 0 else 1)
        screenshot(opened.page, tmp_path_factory, "reference-page.png")
    finally:
        opened.close()
