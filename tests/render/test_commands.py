"""`dlmath build` and `dlmath serve` as commands: what they print and where, exit codes, refusing
before any work, and a server that answers only once the page is complete."""

from __future__ import annotations

import argparse
import http.client
import signal
import socket
import subprocess
import sys
import threading

import pytest
from _fakes import make_reports, make_topics, passing_topic, user_file

from dlmath.render import commands, page
from dlmath.topics import TOPICS


def _install(monkeypatch, make) -> list:
    """``build_reference`` on small topics made by ``make``; returns the list of builds it ran."""
    calls = []

    def fake(out_dir, ids=None, *, extra=(), progress=None):
        calls.append(out_dir)
        topics = make()
        reports = make_reports(topics)
        for k, topic in enumerate(topics, 1):
            progress(k, len(topics), reports[topic.id])
        return page.build(out_dir, topics, reports), list(reports.values())

    monkeypatch.setattr(page, "build_reference", fake)
    return calls


@pytest.fixture
def fake_reference(monkeypatch):
    """A passing and a failing topic."""
    return _install(monkeypatch, make_topics)


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"topics": [], **kw})


def test_build_reports_progress_then_the_summary_then_where(monkeypatch, tmp_path, capsys):
    _install(monkeypatch, lambda: [passing_topic()])
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("[1/1] fake-square: pass (")
    assert captured.out.splitlines() == [
        "all 1 topics pass: 3 checked statements, 3 proved symbolically, 0 checked numerically only",
        f"wrote {tmp_path / 'site' / 'index.html'}",
    ]


def test_build_exits_nonzero_when_a_check_fails(fake_reference, tmp_path, capsys):
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 1
    captured = capsys.readouterr()
    assert "[2/2] fake-wrong: FAIL" in captured.err
    assert "NOT all 2 topics pass" in captured.out and "wrote" in captured.out
    assert "checks FAIL in fake-wrong" in captured.err
    assert (tmp_path / "site" / "index.html").is_file()


def test_build_error_exits_nonzero_and_says_why(monkeypatch, tmp_path, capsys):
    def broken(out_dir, **kwargs):
        raise page.BuildError("formula in x-pow-x/log does not typeset")

    monkeypatch.setattr(page, "build_reference", broken)
    assert commands.run_build(_args(out=str(tmp_path / "site"))) == 1
    assert "does not typeset" in capsys.readouterr().err


def test_build_refuses_a_directory_it_did_not_write_before_any_check(fake_reference, tmp_path, capsys):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert commands.run_build(_args(out=str(foreign))) == 1
    assert fake_reference == []
    err = capsys.readouterr().err
    assert "refusing to replace" in err and "[1/" not in err
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_unwritable_output_is_a_message_not_a_traceback(fake_reference, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert commands.run_build(_args(out=str(blocker / "site"))) == 1
    assert "the page was not written" in capsys.readouterr().err


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


# --- the real commands, on the registry ---------------------------------------------------------


def test_dlmath_build_on_the_registry(real_build):
    assert real_build.returncode == 0, real_build.stderr
    progress = [line for line in real_build.stderr.splitlines() if line.startswith("[")]
    assert [line.split(":")[0] for line in progress] == [
        f"[{k}/{len(TOPICS)}] {t.id}" for k, t in enumerate(TOPICS, 1)
    ]
    *summary, where = real_build.stdout.splitlines()
    assert " ".join(summary).startswith(f"all {len(TOPICS)} topics pass: ")
    assert where == f"wrote {real_build.out / 'index.html'}"
    figures = {p.stem for p in (real_build.out / "figures").iterdir()}
    assert figures == {t.id for t in TOPICS if t.figure is not None}


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_real_builds_are_byte_identical(real_build, tmp_path):
    again = tmp_path / "again"
    subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "build", "-o", str(again)], check=True, capture_output=True
    )
    assert _tree(again) == _tree(real_build.out)


def test_build_adds_the_topics_of_a_file(tmp_path):
    mine = user_file(tmp_path)
    out = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "dlmath.cli", "build", "-o", str(out), "--topics", mine],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"[{len(TOPICS) + 1}/{len(TOPICS) + 1}] my-exp: pass" in done.stderr
    text = (out / "index.html").read_text(encoding="utf-8")
    assert '<section class="topic" id="my-exp"' in text and 'href="#my-exp"' in text
    assert f"<code>{mine}</code>" in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_the_address_and_answers_only_once_the_page_is_built(tmp_path):
    port, out = _free_port(), tmp_path / "site"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlmath.cli", "serve", "--port", str(port), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(300, proc.kill)
    watchdog.start()
    try:
        assert proc.stderr.readline().strip().endswith(f"serving it at http://127.0.0.1:{port}/")
        assert proc.stderr.readline().startswith(f"[1/{len(TOPICS)}] ")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert proc.stdout.readline().startswith(f"all {len(TOPICS)} topics pass")
        line = proc.stdout.readline()
        while line and not line.startswith("serving"):
            line = proc.stdout.readline()
        assert line.strip() == f"serving {out} at http://127.0.0.1:{port}/ (Ctrl-C stops)"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == (out / "index.html").read_bytes()
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_the_real_page_ends_with_the_kink_table_the_build_measured(real_build):
    assert real_build.returncode == 0, real_build.stderr
    page = (real_build.out / "index.html").read_text()
    section = page[page.index('<section class="topic" id="kinks"') :]
    assert '<table class="kinks">' in section and "PyTorch" in section and "JAX" in section
    assert 'href="#kinks"' in page  # the contents list it
    assert section.count("<tr") >= 12
