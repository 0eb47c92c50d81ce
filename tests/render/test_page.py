"""The page builder: deterministic, atomic, honest about failures, and strict about formulas."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _fakes import make_reports, make_topics

from dlmath.render.page import BuildError, build


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "site"
    build(out, make_topics(), make_reports(fail=True))
    return out


def test_build_writes_page_figures_and_assets(built):
    files = _tree(built)
    assert {"index.html", "assets/page.css", "assets/mathjax-config.js", "assets/mathjax/tex-svg.js"} <= set(
        files
    )
    assert {"figures/lse-overflow.svg", "figures/x-pow-x.svg"} <= set(files)
    page = files["index.html"].decode()
    for topic in make_topics():
        assert f'id="{topic.id}"' in page and f'href="#{topic.id}"' in page


def test_two_builds_are_byte_identical(built, tmp_path):
    again = tmp_path / "again"
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from _fakes import make_reports, make_topics\n"
        "from dlmath.render.page import build\n"
        "build(sys.argv[1], make_topics(), make_reports(fail=True))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(again), str(Path(__file__).parent)], check=True)
    assert _tree(again) == _tree(built)


def test_failing_check_is_shown_failing(built):
    page = (built / "index.html").read_text()
    item = re.search(r'<li class="item item-(\w+)" id="x-pow-x--diff">', page)
    assert item and item.group(1) == "fail"
    assert "FAILING" in page and "Checks failing in:" in page
    assert "counterexample: <code>x = 0.3</code>" in page


def test_passing_build_says_so(tmp_path):
    page = build(tmp_path / "ok", make_topics(), make_reports()).read_text()
    assert "every one passed" in page and "FAILING" not in page


def test_step_without_report_is_not_shown_as_passing(tmp_path):
    reports = make_reports()
    reports[1].items = [i for i in reports[1].items if i.id != "diff"]
    page = build(tmp_path / "p", make_topics(), reports).read_text()
    assert re.search(r'class="item item-fail" id="x-pow-x--diff"', page)
    assert "not checked" in page


def test_snippet_output_is_on_the_page(built):
    page = (built / "index.html").read_text()
    assert "1000.69314718" in page and "x^x at 1: 1.0" in page


def test_formulas_are_tex_for_mathjax(built):
    page = (built / "index.html").read_text()
    assert page.count(' mj">') > 10
    assert r'<div class="math math-display mj">\[\log y = x\log x\]</div>' in page


def _broken_topics():
    topics = make_topics()
    bad = dataclasses.replace(topics[1].steps[0], latex=r"\log y = \frac{x \log x")
    topics[1] = dataclasses.replace(topics[1], steps=(bad, *topics[1].steps[1:]))
    return topics


def test_broken_formula_fails_build_and_keeps_old_page(tmp_path):
    out = tmp_path / "site"
    build(out, make_topics(), make_reports())
    before = _tree(out)
    with pytest.raises(BuildError, match=r"x-pow-x/log.*does not typeset"):
        build(out, _broken_topics(), make_reports())
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_unknown_control_sequence_fails_build(tmp_path):
    topics = make_topics()
    topics[0] = dataclasses.replace(topics[0], claim=r"Broken: $\notacommand x$.")
    with pytest.raises(BuildError, match="notacommand"):
        build(tmp_path / "site", topics, make_reports())


def test_failing_snippet_fails_build(tmp_path):
    topics = make_topics()
    topics[1] = dataclasses.replace(topics[1], snippet="raise ValueError('boom')")
    with pytest.raises(BuildError, match="(?s)snippet of x-pow-x.*ValueError: boom"):
        build(tmp_path / "site", topics, make_reports())


def test_unknown_figure_fails_build(tmp_path):
    topics = make_topics()
    topics[1] = dataclasses.replace(topics[1], figure="no-such-figure")
    with pytest.raises(BuildError, match="unknown figure key 'no-such-figure'"):
        build(tmp_path / "site", topics, make_reports())


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError, match="refusing to replace"):
        build(precious, make_topics(), make_reports())
    assert (precious / "notes.txt").read_text() == "keep me"


def test_interrupted_build_leaves_old_page(tmp_path, monkeypatch):
    out = tmp_path / "site"
    build(out, make_topics(), make_reports())
    before = _tree(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dlmath.render.page.shutil.copyfile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(out, make_topics(), make_reports(fail=True))
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_page_html_is_small(built):
    assert (built / "index.html").stat().st_size < 300_000


def test_import_dlmath_stays_light():
    code = (
        "import sys, dlmath, dlmath.derive.model\n"
        "heavy = [m for m in ('matplotlib', 'sympy', 'scipy', 'pykatex') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_snippet_settings_do_not_leak_into_the_next_snippet(tmp_path):
    topics = make_topics()
    topics[0] = dataclasses.replace(
        topics[0], snippet="import numpy as np\nnp.set_printoptions(precision=2)\nprint(np.array([1/3]))"
    )
    topics[1] = dataclasses.replace(topics[1], snippet="import numpy as np\nprint(np.array([1/3]))")
    page = build(tmp_path / "site", topics, make_reports()).read_text()
    assert "[0.33]" in page and "[0.33333333]" in page


def test_step_whose_statement_cannot_be_printed_fails_build(tmp_path):
    class Unprintable:
        id, label, why = "bad", "Bad step", ""

        @property
        def latex(self):
            raise TypeError("no printer for this object")

    topics = make_topics()
    topics[1] = dataclasses.replace(topics[1], steps=(Unprintable(), *topics[1].steps))
    with pytest.raises(BuildError, match="'bad'.*no printer"):
        build(tmp_path / "site", topics, make_reports())
