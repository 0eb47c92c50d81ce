"""The ``dlmath`` command: ``list``, ``show ID|FILE``, ``check [ID|FILE ...] [--json]``, ``build``, ``serve``,
``kinks``.

Start-up imports :mod:`argparse` and the ``dlmath`` package (whose numerical API brings NumPy,
about 0.1 s), never SymPy, SciPy, matplotlib or the topics, so ``dlmath --help`` answers in well
under 0.2 s; each subcommand imports what it needs when it runs.

Exit status: 0 on success; 1 when a check fails; 2 for a usage error, including an unknown topic
id (the message names the closest ids).

Adding a subcommand: write ``_add_<name>(sub)`` that registers its parser and sets
``func`` to a ``(args) -> int`` function, and list it in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "SUBCOMMANDS"]


class _UsageError(Exception):
    """A user error that exits with status 2 and a one-line message."""


def _resolve(args_):
    """The topics named by ids or Python files (all registered ones, in page order, when empty).

    An unknown id, or a file that cannot be run or defines no topic, is a usage error.
    """
    from .derive import LoadError, load_file
    from .derive.loader import is_topic_file
    from .topics import TOPICS, UnknownTopicError, get_topic

    if not args_:
        return list(TOPICS)
    topics = []
    for arg in args_:
        if is_topic_file(arg):
            try:
                topics.extend(load_file(arg))
            except LoadError as exc:
                raise _UsageError(str(exc)) from None
            continue
        try:
            topics.append(get_topic(arg))
        except UnknownTopicError as exc:
            raise _UsageError(str(exc)) from None
    return topics


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _style(stream):
    from .render.terminal import style_for

    return style_for(stream)


# --- list ----------------------------------------------------------------------------------------


def _cmd_list(args) -> int:
    from .render.terminal import render_list
    from .topics import TOPICS

    print(render_list(TOPICS, style=_style(sys.stdout)))
    return 0


def _add_list(sub) -> None:
    p = sub.add_parser(
        "list", help="one line per topic: id and title", description="List the topics in page order."
    )
    p.set_defaults(func=_cmd_list)


# --- show ----------------------------------------------------------------------------------------


def _cmd_show(args) -> int:
    topics = _resolve([args.id])
    from .derive import check_topic
    from .render.terminal import render_topic

    ok = True
    for topic in topics:
        report = check_topic(topic, seed=args.seed)
        print(render_topic(topic, report, style=_style(sys.stdout)))
        ok = ok and report.passed
    return 0 if ok else 1


def _add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="the derivation in the terminal, each step with its check result",
        description="Check one topic (an id, or a Python file of your own) and print its derivation "
        "step by step with both verdicts.",
    )
    p.add_argument(
        "id", metavar="ID|FILE", help="topic id (see 'dlmath list') or a Python file defining topics"
    )
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random instances (default 0)")
    p.set_defaults(func=_cmd_show)


# --- check ---------------------------------------------------------------------------------------


def _cmd_check(args) -> int:
    import json
    import time

    topics = _resolve(args.ids)
    from .derive.check import check_topics
    from .derive.report import reports_to_dict
    from .render.terminal import render_failures, render_table

    err = _style(sys.stderr)
    live = err.color and not args.json

    def progress(done, total, report):
        if live:
            print(f"\r\033[K[{done}/{total}] {report.topic_id} checked", end="", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    reports = check_topics(topics, seed=args.seed, jobs=args.jobs, progress=progress)
    if live:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    ok = all(r.passed for r in reports)
    if args.json:
        print(
            json.dumps(reports_to_dict(reports, seconds=time.perf_counter() - t0, seed=args.seed), indent=2)
        )
    else:
        style = _style(sys.stdout)
        print(render_table(reports, style=style))
        if not ok:
            print()
            print(render_failures(reports, style=style))
    return 0 if ok else 1


def _jobs(text: str) -> int:
    value = _seed(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_check(sub) -> None:
    p = sub.add_parser(
        "check",
        help="run every check (no cached verdicts); a table of results",
        description=(
            "Check each step, claim and text relation symbolically (SymPy) and numerically (random "
            "instances, a counterexample search where SymPy cannot decide, the dlmath implementation), "
            "and every text for math that nothing checks. Arguments are topic ids or Python files "
            "defining topics of your own. Exit status 0 only if everything passes."
        ),
    )
    p.add_argument(
        "ids", nargs="*", metavar="ID|FILE", help="topic ids or files (default: every topic, in page order)"
    )
    p.add_argument(
        "--json", action="store_true", help="print the full reports as JSON (schema dlmath-check/1)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random instances (default 0)")
    p.add_argument("--jobs", type=_jobs, default=1, help="processes to check topics in (default 1)")
    p.set_defaults(func=_cmd_check)


# --- build, serve: the reference page (parsers and commands live in dlmath.render.commands) ----


def _add_build(sub) -> None:
    from .render.commands import add_build_parser

    add_build_parser(sub)


def _add_serve(sub) -> None:
    from .render.commands import add_serve_parser

    add_serve_parser(sub)


# --- kinks ---------------------------------------------------------------------------------------


def _cmd_kinks(args) -> int:
    from .render.kinks import terminal_table

    print(terminal_table(_style(sys.stdout)))
    return 0


def _add_kinks(sub) -> None:
    p = sub.add_parser(
        "kinks",
        help="what NumPy, PyTorch, JAX and dlmath return at the kinks, judged by the math",
        description="Run each kink and limit the topics discuss (the gradient of a norm at 0, LogSumExp "
        "of all -inf, a fully masked softmax row, 0 log 0, softplus at +-100, ...) in NumPy, PyTorch and "
        "JAX where they are installed, and in dlmath, and print each returned value with its verdict.",
    )
    p.set_defaults(func=_cmd_kinks)


SUBCOMMANDS = [_add_list, _add_show, _add_check, _add_build, _add_serve, _add_kinks]


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="dlmath",
        description="The recurring math of deep learning: derivations checked by machine, next to the code.",
    )
    parser.add_argument("--version", action="version", version=f"dlmath {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``dlmath`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _UsageError as exc:
        print(f"dlmath {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `dlmath show ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
