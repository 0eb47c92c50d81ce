"""The page builder: deterministic, atomic, honest about failures, and strict about formulas."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _fakes import failing_topic, make_reports, make_topics, passing_topic

from dlmath.render import page as page_module
from dlmath.render.mathtex import FormulaError, math_html, split_relations
from dlmath.render.page import BuildError, build
from dlmath.topics import TOPICS

_ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">(.*?)</annotation>', re.DOTALL)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fakes():
    topics = make_topics()
    return topics, make_reports(topics)


@pytest.fixture(scope="module")
def built(fakes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "site"
    build(out, *fakes)
    return out


def _html(out: Path) -> str:
    return (out / "index.html").read_text(encoding="utf-8")


def test_build_writes_page_figures_and_assets(built, fakes):
    files = _tree(built)
    assert {"index.html", "assets/page.css", "assets/mathjax-config.js", "assets/mathjax/tex-svg.js"} <= set(
        files
    )
    topics, _ = fakes
    assert {f"figures/{t.id}.svg" for t in topics if t.figure} == {
        f for f in files if f.startswith("figures/")
    }
    text = files["index.html"].decode()
    for topic in topics:
        assert f'id="{topic.id}"' in text and f'href="#{topic.id}"' in text


def test_two_builds_are_byte_identical(built, tmp_path):
    again = tmp_path / "again"
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from _fakes import make_reports, make_topics\n"
        "from dlmath.render.page import build\n"
        "topics = make_topics()\n"
        "build(sys.argv[1], topics, make_reports(topics))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(again), str(Path(__file__).parent)], check=True)
    assert _tree(again) == _tree(built)


def test_failing_check_is_shown_failing(built):
    text = _html(built)
    item = re.search(r'<li class="item item-(\w+)" id="fake-wrong--wrong">', text)
    assert item and item.group(1) == "fail"
    assert re.search(r'<li class="item item-pass" id="fake-wrong--right">', text)
    assert "FAILING" in text and "Checks failing in:" in text and 'href="#fake-wrong"' in text
    record = text[text.index('id="fake-wrong--wrong"') :].split("</li>", 1)[0]
    assert '<details class="check" open>' in record
    assert "counterexample: <code>" in record


def test_passing_build_says_so(tmp_path):
    topics = [passing_topic()]
    text = build(tmp_path / "ok", topics, make_reports(topics)).read_text(encoding="utf-8")
    assert "every one passed" in text and "FAILING" not in text


def test_item_without_report_is_not_shown_as_passing(tmp_path):
    topics = [passing_topic()]
    reports = make_reports(topics)
    reports["fake-square"].items = [i for i in reports["fake-square"].items if i.id != "at-one"]
    text = build(tmp_path / "p", topics, reports).read_text(encoding="utf-8")
    assert re.search(r'class="item item-fail" id="fake-square--at-one"', text)
    assert "not checked" in text


def test_snippet_output_is_on_the_page(built):
    text = _html(built)
    assert "slope at 1: 2.0" in text and "3 * 2**2 = 12" in text


def test_formulas_are_mathml_carrying_their_tex(built):
    text = _html(built)
    boxes = re.findall(r'<(?:div|span) class="math math-(?:display|inline)[^"]*"[^>]*><math', text)
    assert len(boxes) == text.count("<math") > 10
    assert len(_ANNOTATION.findall(text)) == len(boxes)
    assert r"\frac{d}{d x} x^{2} = 2 x" in html.unescape(text)


def test_display_formulas_and_code_boxes_are_focusable(built):
    text = _html(built)
    displays = re.findall(r'<div class="math math-display"([^>]*)>', text)
    assert displays and all('tabindex="0"' in a and 'aria-label="formula"' in a for a in displays)
    pres = re.findall(r"<pre ([^>]*)>", text)
    assert pres and all('tabindex="0"' in a and "aria-label=" in a for a in pres)


def test_a_long_inline_formula_is_split_after_its_relations():
    x = r"\tau \log{\left(e^{\frac{a}{\tau}} + e^{\frac{b}{\tau}} \right)}"
    y = r"\tau \log{\left(1 + e^{- \frac{\left|{a - b}\right|}{\tau}} \right)} + \max\left(a, b\right)"
    out = math_html(f"{x} = {y} > \\max\\left(a, b\\right)", display=False, where="t")
    assert out.count("<math") == 3 and out.count("<wbr>") == 2
    assert [html.unescape(t) for t in _ANNOTATION.findall(out)] == [
        f"{x} ={{}}",
        f"{y} >{{}}",
        r"\max\left(a, b\right)",
    ]


@pytest.mark.parametrize(
    ("tex", "pieces"),
    [
        ("a = b", ["a ={}", "b"]),
        (r"a \leq b < c", [r"a \leq{}", "b <{}", "c"]),
        (r"f\left(x = 1\right) = 2", [r"f\left(x = 1\right) ={}", "2"]),
        (r"\sum_{i=1}^{n} x_i \geq 0", [r"\sum_{i=1}^{n} x_i \geq{}", "0"]),
        (r"\begin{cases} 1 & x = 0 \end{cases} = y", [r"\begin{cases} 1 & x = 0 \end{cases} ={}", "y"]),
        ("x =", ["x ="]),
        ("a + b", ["a + b"]),
    ],
)
def test_split_relations_cuts_only_outside_groups(tex, pieces):
    assert split_relations(tex) == pieces


def test_a_short_inline_formula_is_one_plain_box():
    out = math_html("x > 0", display=False, where="t")
    assert out.startswith('<span class="math math-inline"><math>') and "tabindex" not in out


def test_formulas_in_a_link_are_never_focusable():
    out = math_html(
        r"a + b + c + d + e + f + g + h + i + j + k = 1", display=False, where="t", focusable=False
    )
    assert "math-wide" in out and "tabindex" not in out


def test_unknown_control_sequence_fails_and_names_where():
    with pytest.raises(FormulaError, match=r"(?s)formula in fake/step does not typeset.*notacommand"):
        math_html(r"\notacommand x", display=True, where="fake/step")


def test_broken_formula_fails_build_and_keeps_old_page(tmp_path, monkeypatch, fakes):
    out = tmp_path / "site"
    topics = [passing_topic()]
    build(out, topics, make_reports(topics))
    before = _tree(out)
    real = page_module.step_latex
    monkeypatch.setattr(
        page_module, "step_latex", lambda item: r"\frac{x" if item.id == "at-one" else real(item)
    )
    topics = [passing_topic()]
    with pytest.raises(BuildError, match=r"fake-square/at-one.*does not typeset"):
        build(out, topics, make_reports(topics))
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_failing_snippet_fails_build(tmp_path):
    topic = failing_topic()
    topic.snippet = "raise ValueError('boom')"
    with pytest.raises(BuildError, match="(?s)snippet of fake-wrong.*ValueError: boom"):
        build(tmp_path / "site", [topic], make_reports([topic]))


def test_snippet_settings_do_not_leak_into_the_next_snippet(tmp_path):
    first, second = passing_topic(), failing_topic()
    first.snippet = "import numpy as np\nnp.set_printoptions(precision=2)\nprint(np.array([1/3]))"
    second.snippet = "import numpy as np\nprint(np.array([1/3]))"
    text = build(tmp_path / "site", [first, second], make_reports([first, second])).read_text()
    assert "[0.33]" in text and "[0.33333333]" in text


def test_refuses_to_replace_a_foreign_directory(tmp_path, fakes):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError, match="refusing to replace"):
        build(precious, *fakes)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_interrupted_build_leaves_old_page(tmp_path, monkeypatch, fakes):
    out = tmp_path / "site"
    build(out, *fakes)
    before = _tree(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dlmath.render.page.shutil.copyfile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(out, *fakes)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_step_whose_statement_cannot_be_printed_fails_build(tmp_path, monkeypatch):
    from dlmath.derive.model import Item

    def unprintable(self):
        raise TypeError("no printer for this object")

    topic = passing_topic()
    reports = make_reports([topic])
    monkeypatch.setattr(Item, "latex", property(unprintable))
    with pytest.raises(BuildError, match="'power-rule'.*no printer"):
        build(tmp_path / "site", [topic], reports)


def test_import_dlmath_stays_light():
    code = (
        "import sys, dlmath, dlmath.render.mathtex, dlmath.render.serve\n"
        "heavy = [m for m in ('matplotlib', 'sympy', 'scipy', 'pykatex') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the page dlmath build writes from the registry ----------------------------------------------


def test_real_page_is_small(real_build):
    # MathML is about twice the size of the TeX it replaced: about 40 kB per topic, and gzip (as any
    # server sends it) takes the page to about a tenth of that.
    import gzip

    data = (real_build.out / "index.html").read_bytes()
    assert len(data) < 50_000 * len(TOPICS)
    assert len(gzip.compress(data)) < 120_000


def test_every_anchor_on_the_real_page_resolves(real_build):
    text = _html(real_build.out)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    targets = set(re.findall(r'href="#([^"]*)"', text))
    assert targets and targets <= ids, sorted(targets - ids)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_every_formula_of_each_topic_typesets(real_build, topic):
    import pykatex

    text = _html(real_build.out)
    start = text.index(f'<section class="topic" id="{topic.id}"')
    section = text[start : text.index("</section>", start)]
    formulas = [html.unescape(t) for t in _ANNOTATION.findall(section)]
    assert formulas, topic.id
    for tex in formulas:
        pykatex.renderToString(tex, output=pykatex.OUTPUT_MATHML, throwOnError=True)
    assert "$" not in re.sub(r"<[^>]+>", "", section.split('<div class="snippet">')[0])
