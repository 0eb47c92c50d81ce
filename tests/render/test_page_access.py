"""What a reader touches, on the page `dlmath build` writes from the registry: a phone's width,
the keyboard, axe-core, a printer, a browser without JavaScript, and dark mode."""

from __future__ import annotations

import pytest
from _browser import axe_violations, open_page, screenshot

PHONE, DESKTOP = 390, 1280

_SCROLL_BOXES = """() => [...document.querySelectorAll('body *')].filter(e => {
    const s = getComputedStyle(e);
    return ['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
}).map(e => ({tag: e.tagName, css: e.className, tabindex: e.tabIndex, label: e.getAttribute('aria-label')}))"""


@pytest.fixture(scope="module")
def real_page(browser, real_build):
    """The real page at a width, in a colour scheme, with or without JavaScript, opened once each."""
    index = real_build.out / "index.html"
    assert index.is_file(), real_build.stderr
    opened = {}

    def get(width=DESKTOP, scheme="light", javascript=True):
        key = (width, scheme, javascript)
        if key not in opened:
            opened[key] = open_page(
                browser, index.as_uri(), width=width, scheme=scheme, javascript=javascript
            )
        return opened[key].page

    yield get
    for o in opened.values():
        o.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_nothing_scrolls_sideways(real_page, width, javascript):
    page = real_page(width, javascript=javascript)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_on_a_phone_every_box_that_scrolls_is_reachable_by_keyboard(real_page):
    boxes = real_page(PHONE).evaluate(_SCROLL_BOXES)
    assert boxes, "nothing scrolls at 390 px: the test would prove nothing"
    assert [b for b in boxes if b["tabindex"] < 0 or not b["label"]] == []
    assert {b["tag"] for b in boxes} >= {"DIV", "PRE"}


def test_a_formula_that_overflows_scrolls_with_the_arrow_keys(browser, real_build):
    opened = open_page(browser, (real_build.out / "index.html").as_uri(), width=PHONE)
    try:
        page = opened.page
        index = page.evaluate(
            "() => [...document.querySelectorAll('.math[tabindex]')]"
            ".findIndex(e => e.scrollWidth > e.clientWidth + 40)"
        )
        assert index >= 0
        box = page.locator(".math[tabindex]").nth(index)
        box.focus()
        assert box.evaluate("e => e === document.activeElement && e.scrollLeft === 0")
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        assert box.evaluate("e => e.scrollLeft") > 0
    finally:
        opened.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_axe_finds_no_violations(real_page, width, scheme):
    count, report = axe_violations(real_page(width, scheme))
    assert count == 0, report


def _luminance(page, selector: str, prop: str) -> float:
    rgb = page.evaluate(
        f"() => getComputedStyle(document.querySelector('{selector}')).{prop}.match(/\\d+/g).slice(0, 3)"
    )
    return sum(w * int(c) / 255 for w, c in zip((0.2126, 0.7152, 0.0722), rgb, strict=True))


def test_dark_mode_follows_the_system(real_page):
    light, dark = real_page(DESKTOP, "light"), real_page(DESKTOP, "dark")
    assert _luminance(light, "body", "backgroundColor") > 0.9 > 0.3 > _luminance(light, "body", "color")
    assert _luminance(dark, "body", "backgroundColor") < 0.1 < 0.7 < _luminance(dark, "body", "color")
    assert _luminance(dark, ".claim", "color") > 0.7


def test_with_javascript_each_formula_is_drawn_once_by_mathjax(real_page):
    page = real_page(DESKTOP)
    boxes = page.locator(".math").count()
    assert boxes > 100
    assert page.locator(".math > mjx-container").count() == boxes == page.locator("mjx-container").count()
    assert page.locator(".math > math").count() == 0


def test_without_javascript_formulas_are_mathml_not_tex(real_page, tmp_path_factory):
    page = real_page(PHONE, javascript=False)
    boxes = page.locator(".math").count()
    assert boxes > 100
    assert page.locator(".math > math").count() == boxes
    assert page.locator("mjx-container").count() == 0
    sizes = page.eval_on_selector_all(".math > math", "ms => ms.map(m => m.getBoundingClientRect().width)")
    assert min(sizes) > 0
    text = page.locator("main").inner_text()
    for tex in ("\\frac", "\\left", "\\log", "\\(", "\\["):
        assert tex not in text
    screenshot(page, tmp_path_factory, "reference-page-390px-no-javascript.png")


def test_printing_shows_every_checks_evidence(browser, real_build):
    opened = open_page(browser, (real_build.out / "index.html").as_uri())
    try:
        page = opened.page
        closed = page.locator("details.check:not([open]) > dl")
        assert closed.count() > 50
        assert not closed.first.is_visible()
        page.emulate_media(media="print")
        hidden = page.eval_on_selector_all(
            "details.check > dl", "dls => dls.filter(d => !d.checkVisibility()).length"
        )
        assert hidden == 0
        assert closed.first.is_visible() and closed.last.is_visible()
        assert "random instances" in closed.first.inner_text()
        assert page.pdf(format="A4").startswith(b"%PDF")
    finally:
        opened.close()


def test_phone_screenshot_taken(real_page, tmp_path_factory):
    shot = screenshot(real_page(PHONE), tmp_path_factory, "reference-page-390px.png")
    assert shot.stat().st_size > 50_000
