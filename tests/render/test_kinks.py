"""The kink table: the verdicts NumPy's textbook formulas and dlmath earn are the ones the math gives,
a framework that does not import is "not installed", and `dlmath kinks` prints the table."""

from __future__ import annotations

import importlib
import inspect
import math
import sys
from html.parser import HTMLParser

import mpmath
import numpy as np
import pytest

import dlmath
from dlmath import cli
from dlmath.render import kink_cases, kinks
from dlmath.render.kink_cases import CASES, Case, Impl, close_to, show_number, subgradient, undefined
from dlmath.render.terminal import Style

# What the math says each NumPy textbook formula returns (float32 unless stated), worked out by hand:
NUMPY_VERDICTS = {
    "norm-grad-zero": "NaN",  # 0 / 0
    "abs-grad-zero": "NaN",  # 0 / 0
    "lse-all-neg-inf": "right",  # log(0 + 0) = -inf
    "lse-grad-all-neg-inf": "right",  # exp(-inf - -inf) = exp(nan): NaN, and the gradient has no value
    "masked-softmax-row": "right",  # the same NaN
    "xent-zero-log-zero": "NaN",  # 0 * log 0 = 0 * -inf
    "softplus-+100": "inf",  # e^100 > 3.4e38 overflows float32
    "softplus--100": "right",  # log1p of the subnormal e^-100 is itself
    "log-sigmoid-+100": "wrong",  # 1 + e^-100 rounds to 1: log 1 = 0, not -e^-100
    "log-sigmoid--100": "inf",  # 1 / (1 + inf) = 0: log 0 = -inf, not -100
    "sigmoid-grad-+40": "wrong",  # s = 1 exactly, s (1 - s) = 0
    "sigmoid-grad--40": "right",  # s = e^-40 (1 - ...), 1 - s = 1
    "lse-float16": "inf",  # e^12 = 162755 > 65504
    "softmax-float16": "NaN",  # inf / inf
}
# dlmath: every stable form gives the value, and the gradient of LSE at a row of all -inf, which has
# none, is NaN under PyTorch, JAX and NumPy alike (the softmax of such a row)
DLMATH_VERDICTS = dict.fromkeys(NUMPY_VERDICTS, "right")


@pytest.fixture(scope="module")
def table():
    return kinks.collect()


def _by_id(table):
    return {row.case.id: dict(zip(kinks.COLUMNS, row.cells, strict=True)) for row in table.rows}


def test_every_case_has_an_expected_verdict():
    assert [c.id for c in CASES] == list(NUMPY_VERDICTS)
    assert all(set(c.impls) == set(kinks.COLUMNS) for c in CASES)


def test_numpy_verdicts_are_what_the_math_says(table):
    got = {cid: cells["NumPy"].verdict for cid, cells in _by_id(table).items()}
    assert got == NUMPY_VERDICTS


def test_dlmath_verdicts_are_what_the_math_says(table):
    got = {cid: cells["dlmath"].verdict for cid, cells in _by_id(table).items()}
    expected = dict(DLMATH_VERDICTS)
    if "where" in inspect.signature(dlmath.softmax).parameters:
        assert got.pop("masked-softmax-row") in ("right", "convention")
    else:
        masked = _by_id(table)["masked-softmax-row"]["dlmath"]
        assert (masked.value, masked.verdict, masked.detail) == ("—", "—", "not in this version of dlmath")
        got.pop("masked-softmax-row")
    expected.pop("masked-softmax-row")
    assert got == expected


def _mp(case_id):
    """The exact value of each numeric case, at 50 digits, independent of the code under test."""
    with mpmath.workdps(50):
        e100, e40 = mpmath.exp(-100), mpmath.exp(-40)
        return {
            "softplus-+100": 100 + mpmath.log1p(e100),
            "softplus--100": mpmath.log1p(e100),
            "log-sigmoid-+100": -mpmath.log1p(e100),
            "log-sigmoid--100": -100 - mpmath.log1p(e100),
            "sigmoid-grad-+40": e40 / (1 + e40) ** 2,
            "sigmoid-grad--40": e40 / (1 + e40) ** 2,
            "lse-float16": 12 + mpmath.log(2),
        }.get(case_id)


@pytest.mark.parametrize("case", [c for c in CASES if _mp(c.id) is not None], ids=lambda c: c.id)
def test_the_math_column_is_the_exact_value_rounded_to_the_dtype(case):
    dtype = np.float16 if "float16" in case.label else np.float32
    exact = float(_mp(case.id))
    assert case.math == show_number(float(dtype(exact)))
    assert case.judge(np.asarray(dtype(exact))) == ("right", "")
    steps = [dtype(exact)]
    for _ in range(6):
        steps.append(np.nextafter(steps[-1], dtype(np.inf)))
    assert case.judge(np.asarray(steps[3])) == ("right", "")  # at most 3.5 ulp from the exact value
    assert case.judge(np.asarray(steps[6]))[0] == "wrong"  # at least 5.5 ulp


def test_judges():
    j = close_to(-math.inf, np.float32)
    assert (
        j(np.float32(-np.inf)) == ("right", "")
        and j(np.float32(np.nan))[0] == "NaN"
        and j(np.float32(3))[0] == "wrong"
    )
    assert close_to(1.0, np.float32)(np.float32(np.inf))[0] == "inf"
    assert close_to(1e-40, np.float32)(np.float32(0)) == ("wrong", "0 where the value is 1e-40")
    assert close_to([0.5, 0.5], np.float16)(np.float16([0.5, 0.5])) == ("right", "")
    assert close_to([0.5, 0.5], np.float16)(np.float16([0.5]))[0] == "wrong"
    g = subgradient()
    assert g(np.zeros(2))[0] == "right" and g(np.array([0.6, 0.8]))[0] == "right"
    assert g(np.array([1.0, 1.0]))[0] == "wrong" and g(np.array([np.nan, 0]))[0] == "NaN"
    assert undefined(np.array([np.nan, np.nan]))[0] == "right" and undefined(np.zeros(2))[0] == "convention"


def _without(monkeypatch, missing):
    def fake_import(name):
        if name.split(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return importlib.import_module(name)

    monkeypatch.setattr(kinks, "_import", fake_import)


@pytest.mark.parametrize("missing", [("torch",), ("jax",), ("torch", "jax")])
def test_a_framework_that_does_not_import_is_not_installed(monkeypatch, missing):
    _without(monkeypatch, missing)
    table = kinks.collect()
    column = {"torch": "PyTorch", "jax": "JAX"}
    for name in missing:
        assert table.versions[column[name]] == "not installed"
        assert {row.cells[kinks.COLUMNS.index(column[name])].verdict for row in table.rows} == {
            "not installed"
        }
    dl = {row.case.id: row.cells[-1] for row in table.rows}
    expected = dict(DLMATH_VERDICTS)
    if missing == ("torch", "jax"):
        assert dl["norm-grad-zero"].how.startswith("norm_grad")  # no autodiff: the dlmath subgradient
    elif missing == ("torch",):
        assert dl["norm-grad-zero"].how == "safe_norm under JAX's grad"
    expected.pop("masked-softmax-row")
    assert {cid: dl[cid].verdict for cid in expected} == expected
    assert "not installed" in kinks.terminal_table(Style(), table)
    assert "not installed" in kinks.html_table(table)


def test_a_framework_whose_import_fails_otherwise_is_named_not_hidden(monkeypatch):
    def broken(name):
        if name == "jax":
            raise RuntimeError("jaxlib version mismatch")
        return importlib.import_module(name)

    monkeypatch.setattr(kinks, "_import", broken)
    table = kinks.collect()
    assert table.versions["JAX"] == "fails to import: RuntimeError"
    assert {row.cells[2].verdict for row in table.rows} == {"fails to import: RuntimeError"}


def test_with_neither_module_importable_the_table_still_builds(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" raises ImportError
    monkeypatch.setitem(sys.modules, "jax", None)
    table = kinks.collect()
    assert table.versions["PyTorch"] == table.versions["JAX"] == "not installed"
    assert table.rows[0].cells[-1].verdict == "right"


def test_an_exception_is_the_cell_and_a_missing_function_a_dash():
    def boom(e):
        raise ZeroDivisionError("no")

    case = Case("t", "test", "1", "why", close_to(1.0, np.float64), {
        "NumPy": Impl("boom", boom), "PyTorch": Impl("none", None),
        "JAX": Impl("np.float64(1)", lambda e: np.float64(1.0)), "dlmath": Impl("dlmath", lambda e: None),
    })  # fmt: skip
    (row,) = kinks.collect(cases=(case,)).rows
    numpy, torch, jax, dl = row.cells
    assert (numpy.value, numpy.verdict, numpy.detail) == (
        "ZeroDivisionError",
        "raises ZeroDivisionError",
        "no",
    )
    assert torch.verdict == "—" or torch.verdict == "not installed"
    assert jax.verdict in ("right", "not installed") and dl.verdict == "—"


def test_terminal_table_ascii_and_colour(table):
    plain = kinks.terminal_table(Style(unicode=False), table)
    plain.encode("ascii")
    assert "norm's gradient at 0" in plain and "\033[" not in plain and plain.isascii()
    coloured = kinks.terminal_table(Style(color=True), table)
    assert "\033[32mright" in coloured and "\033[31mNaN" in coloured
    lines = kinks.terminal_table(Style(width=100), table).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("case"))
    assert lines[header].split() == ["case", "the", "math", *kinks.COLUMNS]
    assert max(len(line) for line in lines[header : header + 2 * len(CASES) + 1]) <= 100


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_table_is_captioned_scoped_and_in_a_focusable_scroll_box(table):
    out = kinks.html_table(table)
    parser = _Tags()
    parser.feed(out)
    tags = parser.tags
    box = tags[0]
    assert box[0] == "div" and box[1]["class"] == "table-scroll" and box[1]["tabindex"] == "0"
    assert box[1]["role"] == "region" and box[1]["aria-label"]
    assert [t for t, _ in tags].count("caption") == 1
    scopes = [a.get("scope") for t, a in tags if t == "th"]
    assert scopes.count("col") == 2 + len(kinks.COLUMNS) and scopes.count("row") == len(CASES)
    cells = [a["class"] for t, a in tags if t == "td" and a.get("class", "").startswith("verdict-")]
    assert len(cells) == len(CASES) * len(kinks.COLUMNS)
    assert "verdict-nan" in cells and "verdict-right" in cells
    assert '<code class="kinks-value">[nan, nan]</code>' in out
    assert ".table-scroll" in kinks.CSS


def test_html_escapes_what_it_shows():
    case = Case("x", "a < b & c", "<1>", "why <script>", close_to(1.0, np.float64),
                {c: Impl("f<g>", lambda e: np.float64(1.0)) for c in kinks.COLUMNS})  # fmt: skip
    out = kinks.html_table(kinks.collect(cases=(case,)))
    assert "a &lt; b &amp; c" in out and "<script>" not in out and "f&lt;g&gt;" in out


def test_dlmath_kinks_prints_the_table_and_exits_0(capsys):
    assert cli.main(["kinks"]) == 0
    out = capsys.readouterr().out
    assert "What each framework returns at the kinks" in out
    assert "norm's gradient at 0" in out and "softplus at -100, float32" in out
    assert "\033[" not in out  # not a TTY


def test_help_registers_kinks_without_importing_frameworks():
    import subprocess

    code = (
        "import sys; from dlmath import cli; cli._parser().parse_args(['kinks']); "
        "print(sorted(m for m in ('torch', 'jax', 'dlmath.render.kinks', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert kink_cases.__name__ == "dlmath.render.kink_cases"


def test_the_table_types_no_math_that_the_engine_does_not_check():
    from dlmath.derive.text import lint
    from dlmath.render.kink_cases import CASES

    for case in CASES:
        for text in (case.label, case.math, case.why):
            assert lint(text) == [], (case.id, text)


def _as_value(text):
    """The math column as a number or a list of numbers, or None where it is words."""
    import json

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return json.loads(text)
    except ValueError:
        return None


def test_every_math_column_that_is_a_value_is_judged_right_by_its_own_case():
    # the column is typed beside the judge: a mistyped value ("1" for 0 log 0) must not stand. The
    # values shown to 4 digits are checked against mpmath above instead.
    numeric = [c for c in CASES if _as_value(c.math) is not None and _mp(c.id) is None]
    assert {"lse-all-neg-inf", "xent-zero-log-zero", "softmax-float16"} <= {c.id for c in numeric}
    for case in numeric:
        assert case.judge(np.asarray(_as_value(case.math))) == ("right", ""), case.id
