"""The dlmath command: list, show, check (--json), exit statuses, fast --help."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time

import pytest
import sympy as sp

from dlmath import cli


def run(*args):
    return subprocess.run([sys.executable, "-m", "dlmath.cli", *args], capture_output=True, text=True)


def test_help_does_not_import_sympy():
    code = "import sys; from dlmath import cli; cli._parser(); print(sorted(m for m in ('sympy', 'scipy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_is_quick():
    best = min(_timed(["--help"]) for _ in range(3))
    # The budget is 0.2 s on an idle machine; allow for a loaded CI box.
    assert best < 1.0


def _timed(args):
    t0 = time.perf_counter()
    out = run(*args)
    assert out.returncode == 0
    assert "check" in out.stdout
    return time.perf_counter() - t0


def test_list(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines][:2] == ["gaussian-l2", "laplace-l1"]
    assert len(lines) == 8
    assert "x-pow-x             The derivative of xˣ" in lines


def test_show_prints_steps_with_verdicts(capsys):
    assert cli.main(["show", "x-pow-x"]) == 0
    out = capsys.readouterr().out
    assert "The derivative of xˣ  [x-pow-x]" in out and "Multiply back by xˣ" in out
    assert "$" not in out.split("Derivation")[0]  # the title's TeX is printed as Unicode
    assert "symbolic  ✓ pass" in out and "numeric   ✓ pass" in out
    assert "\033[" not in out  # no colour when stdout is not a TTY


def test_unknown_id_exits_2_with_suggestion(capsys):
    assert cli.main(["show", "logsumexpp"]) == 2
    err = capsys.readouterr().err
    assert "unknown topic 'logsumexpp'" in err and "did you mean logsumexp" in err
    assert cli.main(["check", "x-pow-x", "smoth-max"]) == 2
    assert "smooth-max" in capsys.readouterr().err


def test_check_table_and_exit_0(capsys):
    assert cli.main(["check", "x-pow-x", "inverse-derivative"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["topic", "steps", "symbolic", "numeric", "time"]
    assert "all 2 topics pass" in out


def test_check_json(capsys):
    assert cli.main(["check", "logsumexp", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    (topic,) = data["topics"]
    assert topic["topic_id"] == "logsumexp"
    item = topic["items"][0]
    assert item["latex"].startswith(r"\operatorname{LSE}")
    assert {"status", "detail", "residual", "counterexample", "tolerance", "instances"} <= set(
        item["numeric"]
    )


def test_check_exit_1_on_failure_with_details(capsys, monkeypatch):
    from dlmath.topics import get_topic

    topic = get_topic("x-pow-x")
    x = sp.Symbol("x", positive=True)
    step = topic.steps[-1]
    bad = dataclasses.replace(step, build=lambda: dataclasses.replace(step.statement(), rhs=x**x * sp.log(x)))
    broken = dataclasses.replace(topic, steps=(*topic.steps[:-1], bad))
    monkeypatch.setattr(cli, "_resolve", lambda ids: [broken])
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "NOT all 1 topics pass" in out
    assert "x-pow-x / result" in out and "residual:" in out and "counterexample:" in out


def test_console_entry_point_runs():
    out = run("check", "x-pow-x")
    assert out.returncode == 0, out.stderr
    assert "x-pow-x" in out.stdout


@pytest.mark.parametrize("args", [[], ["frobnicate"]])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


# --- terminal rendering ------------------------------------------------------------------------


def test_tex_to_text_reads_like_math():
    from dlmath.render.terminal import tex_to_text

    assert tex_to_text(r"$\nabla_x \lVert x\rVert_2 = x/\lVert x\rVert_2$") == "∇ₓ ‖x‖₂ = x/‖x‖₂"
    assert tex_to_text(r"$X^\top X$ and $\sum_k y_k$") == "Xᵀ X and Σₖ yₖ"
    assert tex_to_text(r"$\tau \to 0^+$, $e^{-(a-b)}$") == "τ → 0⁺, e^(-(a-b))"
    assert tex_to_text(r"$\operatorname{softmax}(z)$") == "softmax(z)"


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"$\hat\sigma^2 = \frac1n \sum_i r_i^2$", "σ̂² = 1/n Σᵢ rᵢ²"),
        (r"$\hat b = \frac1n\sum_i |r_i|$", "b̂ = 1/n Σᵢ |rᵢ|"),
        (r"beyond $\pm\delta$", "beyond ±δ"),
        (r"$\ell_\delta(r)$", "ℓ_δ(r)"),
        (r"$m = \max_i x_i$", "m = maxᵢ xᵢ"),
        (r"$\max_i x_i \le \tau\operatorname{LSE}(x/\tau)$", "maxᵢ xᵢ ≤ τ LSE(x/τ)"),
        (r"$\log\sum_i e^{x_i} = e^{m}\sum_i e^{x_i - m}$", "log Σᵢ e^(xᵢ) = eᵐ Σᵢ e^(xᵢ - m)"),
        (r"$\frac{d}{dx}x^n = nx^{n-1}$", "d/dx xⁿ = nxⁿ⁻¹"),
        (r"$t\mapsto tu$", "t ↦ tu"),
    ],
)
def test_tex_to_text_handles_the_topics_macros(tex, text):
    from dlmath.render.terminal import tex_to_text

    assert tex_to_text(tex) == text


def test_table_colours_only_on_request():
    from dlmath.derive.model import CheckResult, ItemReport, TopicReport
    from dlmath.render.terminal import render_table

    ok = CheckResult("pass")
    reports = [
        TopicReport("a", [ItemReport("s", "S", "step", ok, ok)], 0.5),
        TopicReport("b", [ItemReport("s", "S", "step", CheckResult("undecided"), CheckResult("fail"))], 0.25),
    ]
    plain = render_table(reports)
    assert "\033[" not in plain
    assert "NOT all 2 topics pass" in plain
    row_b = next(line for line in plain.splitlines() if line.startswith("b "))
    assert row_b.split()[:4] == ["b", "0/1", "1", "?"]
    assert "\033[31m" in render_table(reports, color=True)
