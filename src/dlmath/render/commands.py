"""The ``dlmath build`` and ``dlmath serve`` subcommands; ``dlmath.cli`` registers them.

Everything heavy (SymPy, matplotlib, the checks) is imported only when a command runs, so
``dlmath --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["DEFAULT_DIR", "add_build_parser", "add_serve_parser", "run_build", "run_serve"]

DEFAULT_DIR = "dlmath-reference"


def add_build_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "build",
        help="run every check, then write the offline reference page",
        description="Run every check, then write the reference page (index.html, figures, MathJax) "
        "into DIR, replacing a previous build in one step. Exits 1 if a check fails (the page is "
        "still written and shows the failure) or the page cannot be built.",
    )
    parser.add_argument(
        "-o", "--out", metavar="DIR", default=DEFAULT_DIR, help=f"output directory (default: {DEFAULT_DIR})"
    )
    _topics_option(parser)
    parser.set_defaults(func=run_build)
    return parser


def _topics_option(parser) -> None:
    parser.add_argument(
        "--topics",
        metavar="FILE",
        action="append",
        default=[],
        help="a Python file of your own topics to check and add to the page (may be repeated)",
    )


def add_serve_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve",
        help="build the reference page and serve it on 127.0.0.1",
        description="Build the reference page into DIR, then serve DIR on http://127.0.0.1:PORT/ "
        "(loopback only; nothing outside DIR is served) until Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=8000, metavar="N", help="port on 127.0.0.1 (default: 8000)"
    )
    parser.add_argument(
        "-o", "--out", metavar="DIR", default=DEFAULT_DIR, help=f"output directory (default: {DEFAULT_DIR})"
    )
    _topics_option(parser)
    parser.set_defaults(func=run_serve)
    return parser


class _Refused(Exception):
    """The build cannot start (an output directory it would not replace, a topics file that fails)."""


def _extra(files) -> list:
    from ..derive import LoadError, load_file

    topics = []
    for f in files:
        try:
            topics.extend(load_file(f))
        except LoadError as exc:
            raise _Refused(str(exc)) from None
    return topics


def _progress(done, total, report) -> None:
    state = "pass" if report.passed else "FAIL"
    print(
        f"[{done}/{total}] {report.topic_id}: {state} ({report.seconds:.1f} s)", file=sys.stderr, flush=True
    )


def _build(out: Path, files=()) -> tuple[Path | None, list]:
    """Check and build into ``out``; (index.html or None, reports). Refuses before any check."""
    from ._atomic import check_replaceable
    from .page import BuildError, build_reference

    try:
        check_replaceable(out.absolute())
        extra = _extra(files)
    except (FileExistsError, _Refused) as exc:
        print(f"dlmath build: the page was not written: {exc}", file=sys.stderr)
        return None, []
    try:
        index, reports = build_reference(out, extra=extra, progress=_progress)
    except (BuildError, OSError) as exc:
        print(f"dlmath build: the page was not written: {exc}", file=sys.stderr)
        return None, []
    return index, reports


def _report(reports) -> list[str]:
    """Print the summary of the checks; returns the ids of the topics that fail."""
    from .terminal import render_summary, style_for

    print(render_summary(reports, style=style_for(sys.stdout)), flush=True)
    failing = [r.topic_id for r in reports if not r.passed]
    if failing:
        print(
            f"dlmath: checks FAIL in {', '.join(failing)}; the page marks them as failing",
            file=sys.stderr,
        )
    return failing


def run_build(args: argparse.Namespace) -> int:
    index, reports = _build(Path(args.out), args.topics)
    if index is None:
        return 1
    failing = _report(reports)
    print(f"wrote {index}")
    return 1 if failing else 0


def run_serve(args: argparse.Namespace) -> int:
    """Take the port (so that a taken one is reported before any work), build, then listen: no
    request is answered before the page is complete."""
    from .serve import HOST, ServeError, make_server, run_until_interrupted

    if not 0 <= args.port <= 65535:
        print(f"dlmath serve: --port must be in 0..65535, got {args.port}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        server = make_server(out, args.port, must_exist=False, listen=False)
    except ServeError as exc:
        print(f"dlmath serve: {exc}", file=sys.stderr)
        return 1
    try:
        port = server.server_address[1]
        print(f"dlmath serve: building the page, then serving it at http://{HOST}:{port}/", file=sys.stderr)
        index, reports = _build(out, args.topics)
        if index is None:
            return 1
        _report(reports)
        try:
            server.listen()
        except ServeError as exc:
            print(f"dlmath serve: {exc}", file=sys.stderr)
            return 1
        run_until_interrupted(server, index.parent)
        return 0
    finally:
        server.server_close()  # also when the build fails; a second close is harmless
