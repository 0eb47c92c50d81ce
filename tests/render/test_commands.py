"""`dlmath build` and `dlmath serve` as commands: exit codes, messages, and a taken port reported
before any build work."""

from __future__ import annotations

import argparse
import socket

import pytest
from _fakes import make_reports, make_topics

from dlmath.render import commands, page


@pytest.fixture
def fake_reference(monkeypatch):
    calls = []

    def fake(out_dir, ids=None, *, fail=False):
        calls.append(out_dir)
        reports = make_reports(fail=fail)
        return page.build(out_dir, make_topics(), reports), reports

    monkeypatch.setattr(page, "build_reference", fake)
    return calls


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**kw)


def test_build_prints_where_and_exits_zero(fake_reference, tmp_path, capsys):
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"wrote {tmp_path / 'site' / 'index.html'}"


def test_build_exits_nonzero_when_a_check_fails(monkeypatch, tmp_path, capsys):
    def failing(out_dir, ids=None):
        reports = make_reports(fail=True)
        return page.build(out_dir, make_topics(), reports), reports

    monkeypatch.setattr(page, "build_reference", failing)
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 1
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "checks FAIL in x-pow-x" in captured.err
    assert (tmp_path / "site" / "index.html").is_file()


def test_build_error_exits_nonzero_and_says_why(monkeypatch, tmp_path, capsys):
    def broken(out_dir, ids=None):
        raise page.BuildError("formula in x-pow-x/log does not typeset")

    monkeypatch.setattr(page, "build_reference", broken)
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 1
    assert "does not typeset" in capsys.readouterr().err


def test_serve_reports_a_taken_port_before_building(fake_reference, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert commands.run_serve(_args(out=str(tmp_path / "site"), port=port)) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
    assert fake_reference == []


def test_serve_rejects_an_impossible_port(tmp_path, capsys):
    assert commands.run_serve(_args(out=str(tmp_path), port=70000)) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


def test_dlmath_build_on_the_real_topics(real_build):
    assert real_build.returncode == 0, real_build.stderr
    assert real_build.stdout.strip() == f"wrote {real_build.out / 'index.html'}"
    assert (real_build.out / "index.html").stat().st_size <= 300_000
    from dlmath.topics import TOPICS

    figures = {p.stem for p in (real_build.out / "figures").iterdir()}
    assert figures == {t.figure for t in TOPICS if t.figure}


def test_dlmath_help_lists_build_and_serve():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "build" in out.stdout and "serve" in out.stdout


def test_real_builds_are_byte_identical(real_build, tmp_path):
    import subprocess
    import sys

    again = tmp_path / "again"
    subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "build", "-o", str(again)], check=True, capture_output=True
    )

    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(again) == tree(real_build.out)


def test_unwritable_output_is_a_message_not_a_traceback(fake_reference, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert commands.run_build(_args(out=str(blocker / "site"))) == 1
    assert "the page was not written" in capsys.readouterr().err
