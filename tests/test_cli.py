"""The dlmath command: list, show, check (tables, --json, files of one's own), exit statuses,
fast --help, and how it prints: colour only on a TTY and never with NO_COLOR, wrapped to the
terminal's width, ASCII where the terminal cannot print Unicode."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

import dlmath
from dlmath import cli
from dlmath.topics import TOPICS

sys.path.insert(0, str(Path(__file__).parent / "render"))
from _fakes import user_file  # noqa: E402

SMALL = min(TOPICS, key=lambda t: len(t.steps) + len(t.claims))
WORDY = max(TOPICS, key=lambda t: len(t.texts()["claim"].plain()))
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TERMINAL_ENV = ("COLUMNS", "LINES", "NO_COLOR", "PYTHONIOENCODING")
_CHECK_FIELDS = {"status", "detail", "residual", "counterexample", "rtol", "atol", "largest_residual"}


def run(*args, env=None):
    environ = {k: v for k, v in os.environ.items() if k not in _TERMINAL_ENV} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "dlmath.cli", *args], capture_output=True, text=False, env=environ
    )


def in_terminal(*args, columns: int = 100, env=None, timeout: float = 300) -> tuple[int, str]:
    """Run ``dlmath ARGS`` on a pseudo-terminal ``columns`` wide; (exit status, what it showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in _TERMINAL_ENV} | (env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlmath.cli", *args], stdin=slave, stdout=slave, stderr=slave, env=environ
    )
    os.close(slave)
    chunks = []
    try:
        while select.select([master], [], [], timeout)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if proc.poll() is None and not chunks:
            proc.kill()
        status = proc.wait(timeout)
        os.close(master)
    return status, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _status(args) -> int:
    try:
        return cli.main(args)
    except SystemExit as exc:
        return exc.code


# --- start-up -----------------------------------------------------------------------------------


def test_help_does_not_import_sympy():
    code = (
        "import sys; from dlmath import cli; cli._parser(); "
        "print(sorted(m for m in ('sympy', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_every_subcommand():
    out = run("--help")
    assert out.returncode == 0
    listed = out.stdout.decode().split("COMMAND", 2)[-1]
    for command in ("list", "show", "check", "build", "serve"):
        assert f"    {command} " in listed


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.decode() == f"dlmath {dlmath.__version__}\n"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["show"],
        ["show", "--seed", "-1", SMALL.id],
        ["show", "--seed", "one", SMALL.id],
        ["check", "--jobs", "0"],
        ["serve", "--port", "http"],
        ["show", "no/such/file.py"],
    ],
    ids=lambda a: " ".join(a) or "(nothing)",
)
def test_bad_arguments_are_usage_errors(args, capsys):
    assert _status(args) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_an_unknown_id_exits_2_naming_the_closest(topic, capsys):
    typo = topic.id[:-1] + ("q" if topic.id[-1] != "q" else "z")
    assert cli.main(["show", typo]) == 2
    err = capsys.readouterr().err
    assert f"unknown topic {typo!r}" in err and topic.id in err.split("did you mean", 1)[1]
    assert cli.main(["check", SMALL.id, typo]) == 2


# --- list, show, check ----------------------------------------------------------------------------


def test_list_names_every_topic_in_page_order(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [t.id for t in TOPICS]
    for line, topic in zip(lines, TOPICS, strict=True):
        assert line.split(None, 1)[1] == topic.texts()["title"].plain()


def test_show_prints_steps_with_verdicts(capsys):
    assert cli.main(["show", SMALL.id]) == 0
    out = capsys.readouterr().out
    texts = SMALL.texts()
    assert out.startswith(f"{texts['title'].plain()}  [{SMALL.id}]")
    for item in SMALL.steps + SMALL.claims:
        assert " ".join(texts[f"{item.kind} {item.id}: label"].plain().split()) in " ".join(out.split())
    assert out.count("symbolic  ✓ pass") + out.count("symbolic  ? undecided") >= len(SMALL.steps)
    assert "$" not in out.split("Derivation")[0]
    assert "\033[" not in out


def test_check_prints_a_table_and_exits_0(capsys):
    assert cli.main(["check", SMALL.id]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == "topic items proved numeric only text issues time".split()
    assert out.splitlines()[1].split()[0] == SMALL.id
    assert "all 1 topics pass" in out


def test_check_json_follows_its_schema(capsys):
    assert cli.main(["check", SMALL.id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "dlmath-check/1" and data["dlmath_version"] == dlmath.__version__
    assert data["passed"] is True and data["counts"]["topics"] == 1
    (topic,) = data["topics"]
    assert topic["topic_id"] == SMALL.id and topic["text_issues"] == []
    assert len(topic["items"]) == topic["counts"]["items"] == len(SMALL.items)
    for item in topic["items"]:
        assert {"item_id", "kind", "label", "place", "latex", "passed", "verdict"} <= set(item)
        for way in ("symbolic", "numeric"):
            assert _CHECK_FIELDS <= set(item[way])
        numeric = item["numeric"]
        assert numeric["status"] == "pass" and numeric["counterexample"] is None
        assert isinstance(numeric["rtol"], float) and isinstance(numeric["atol"], float)
        assert numeric["instances"] > 0


def test_console_entry_point_runs():
    out = run("check", SMALL.id)
    assert out.returncode == 0, out.stderr
    assert SMALL.id in out.stdout.decode()


# --- a file of one's own --------------------------------------------------------------------------


def test_check_a_file_of_ones_own(tmp_path, capsys):
    assert cli.main(["check", user_file(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:2] == ["my-exp", "1/1"]


def test_show_a_file_of_ones_own(tmp_path, capsys):
    assert cli.main(["show", user_file(tmp_path)]) == 0
    assert "[my-exp]" in capsys.readouterr().out


def test_a_failing_check_exits_1_and_says_where_and_why(tmp_path, capsys):
    assert cli.main(["check", user_file(tmp_path, rhs="exp(x) + 1")]) == 1
    out = capsys.readouterr().out
    assert "NOT all 1 topics pass" in out
    assert "my-exp / self (step)" in out and "residual:" in out and "counterexample:" in out


def test_json_of_a_failing_check_carries_the_evidence_as_fields(tmp_path, capsys):
    assert cli.main(["check", "--json", user_file(tmp_path, rhs="exp(x) + 1")]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False and data["counts"]["failed"] == 1
    (item,) = data["topics"][0]["items"]
    assert item["item_id"] == "self" and item["verdict"] == "failed"
    assert item["numeric"]["status"] == "fail" and "x" in item["numeric"]["counterexample"]
    assert item["symbolic"]["status"] == "fail" and item["symbolic"]["residual"]


def test_math_that_nothing_checks_fails_check_naming_topic_place_and_fragment(tmp_path, capsys):
    mine = user_file(tmp_path, prose=r"Its series is $\sum_k x^k/k!$, summed over all $k$.")
    assert cli.main(["check", mine]) == 1
    out = capsys.readouterr().out
    assert "my-exp / prose paragraph 1" in out
    assert r"$\sum_k x^k/k!$" in out and "hand-typed TeX" in out
    assert cli.main(["check", "--json", mine]) == 1
    (issue, *_) = json.loads(capsys.readouterr().out)["topics"][0]["text_issues"]
    assert issue["place"] == "prose paragraph 1" and issue["fragment"] == r"$\sum_k x^k/k!$"


def test_a_file_that_fails_to_run_is_a_usage_error(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('nope')\n")
    assert cli.main(["check", str(broken)]) == 2
    assert "RuntimeError: nope" in capsys.readouterr().err


# --- the terminal -----------------------------------------------------------------------------------


def test_colour_only_on_a_terminal_and_never_with_no_color():
    status, shown = in_terminal("check", SMALL.id)
    assert status == 0 and "\x1b[32m" in shown
    status, shown = in_terminal("check", SMALL.id, env={"NO_COLOR": "1"})
    assert status == 0 and "\x1b[" not in shown and "all 1 topics pass" in shown
    piped = run("check", SMALL.id)
    assert piped.returncode == 0 and b"\x1b[" not in piped.stdout + piped.stderr


@pytest.mark.parametrize("columns", [80, 120])
def test_show_wraps_to_the_terminals_width_between_words(columns):
    status, shown = in_terminal("show", WORDY.id, columns=columns, env={"NO_COLOR": "1"})
    assert status == 0, shown
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= columns
    claim = " ".join(WORDY.texts()["claim"].plain().split())
    assert len(claim) > 120
    start = lines.index("") + 1
    end = lines.index("", start)
    assert " ".join(lines[start:end]) == claim
    assert max(len(line) for line in lines[start:end]) > columns - 25


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_a_terminal_that_cannot_print_unicode_gets_ascii(topic):
    out = run("show", topic.id, env={"PYTHONIOENCODING": "cp1252", "COLUMNS": "80"})
    assert out.returncode == 0, out.stderr.decode("cp1252")
    assert b"Traceback" not in out.stderr
    assert out.stdout.isascii()
    text = out.stdout.decode("ascii")
    assert f"[{topic.id}]" in text and "symbolic  ok pass" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_failing_check_is_printable_on_a_cp1252_terminal(tmp_path):
    out = run("check", user_file(tmp_path, rhs="exp(x) + 1"), env={"PYTHONIOENCODING": "cp1252"})
    assert out.returncode == 1 and b"Traceback" not in out.stderr
    assert out.stdout.isascii() and b"counterexample:" in out.stdout
