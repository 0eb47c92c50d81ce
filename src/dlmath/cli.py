"""The ``dlmath`` command: ``list``, ``show ID``, ``check [ID ...] [--json]``, ``build``, ``serve``.

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


def _resolve(ids):
    """The topics named by ``ids`` (all, in page order, when empty); unknown ids are a usage error."""
    from .topics import TOPICS, UnknownTopicError, get_topic

    if not ids:
        return list(TOPICS)
    topics = []
    for topic_id in ids:
        try:
            topics.append(get_topic(topic_id))
        except UnknownTopicError as exc:
            raise _UsageError(str(exc)) from None
    return topics


def _color(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


# --- list ----------------------------------------------------------------------------------------


def _cmd_list(args) -> int:
    from .render.terminal import render_list
    from .topics import TOPICS

    print(render_list(TOPICS))
    return 0


def _add_list(sub) -> None:
    p = sub.add_parser(
        "list", help="one line per topic: id and title", description="List the topics in page order."
    )
    p.set_defaults(func=_cmd_list)


# --- show ----------------------------------------------------------------------------------------


def _cmd_show(args) -> int:
    (topic,) = _resolve([args.id])
    from .derive import check_topic
    from .render.terminal import render_topic

    report = check_topic(topic, seed=args.seed)
    print(render_topic(topic, report, color=_color(sys.stdout)))
    return 0 if report.passed else 1


def _add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="the derivation in the terminal, each step with its check result",
        description="Check one topic and print its derivation step by step with both verdicts.",
    )
    p.add_argument("id", help="topic id (see 'dlmath list')")
    p.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    p.set_defaults(func=_cmd_show)


# --- check ---------------------------------------------------------------------------------------


def _cmd_check(args) -> int:
    import json
    import time

    topics = _resolve(args.ids)
    from .derive import check_topic
    from .derive.report import reports_to_dict
    from .render.terminal import render_failures, render_table

    progress = _color(sys.stderr) and not args.json
    reports = []
    t0 = time.perf_counter()
    for k, topic in enumerate(topics, 1):
        if progress:
            print(f"\r\033[K[{k}/{len(topics)}] checking {topic.id} ...", end="", file=sys.stderr, flush=True)
        reports.append(check_topic(topic, seed=args.seed))
    if progress:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    ok = all(r.passed for r in reports)
    if args.json:
        print(
            json.dumps(
                reports_to_dict(reports, seconds=time.perf_counter() - t0, seed=args.seed, topics=topics),
                indent=2,
            )
        )
    else:
        color = _color(sys.stdout)
        print(render_table(reports, color=color))
        if not ok:
            print()
            print(render_failures(reports, color=color))
    return 0 if ok else 1


def _add_check(sub) -> None:
    p = sub.add_parser(
        "check",
        help="run every check (no cached verdicts); a table of results",
        description=(
            "Check each step and claim symbolically (SymPy) and numerically (random instances against "
            "the dlmath implementation). Exit status 0 only if everything passes."
        ),
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="topic ids (default: all, in page order)")
    p.add_argument("--json", action="store_true", help="print the full reports as JSON")
    p.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    p.set_defaults(func=_cmd_check)


# --- build, serve: the reference page (parsers and commands live in dlmath.render.commands) ----


def _add_build(sub) -> None:
    from .render.commands import add_build_parser

    add_build_parser(sub)


def _add_serve(sub) -> None:
    from .render.commands import add_serve_parser

    add_serve_parser(sub)


SUBCOMMANDS = [_add_list, _add_show, _add_check, _add_build, _add_serve]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlmath",
        description="The recurring math of deep learning: derivations checked by machine, next to the code.",
    )
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
