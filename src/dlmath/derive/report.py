"""Reports as plain data, for ``dlmath check --json``, with a documented schema.

The schema, ``dlmath-check/1``::

    {
      "schema": "dlmath-check/1",
      "dlmath_version": str, "seed": int, "passed": bool, "seconds": float,
      "counts": {"topics": int, "items": int, "proved": int, "numeric": int, "failed": int,
                 "text_issues": int},
      "topics": [{
        "topic_id": str, "title": str, "passed": bool, "seconds": float,
        "counts": {... as above, without "topics"},
        "items": [{
          "item_id": str, "kind": "step" | "claim" | "text", "label": str, "place": str,
          "latex": str, "passed": bool, "verdict": "proved" | "numeric" | "failed",
          "symbolic": CHECK, "numeric": CHECK
        }],
        "text_issues": [{"place": str, "fragment": str, "message": str}]
      }]
    }

where ``CHECK`` is ``{"status": "pass" | "fail" | "undecided" | "skipped" | "n/a", "detail": str,
"seconds": float, "residual": str | null, "counterexample": str | null, "rtol": float | null,
"atol": float | null, "instances": int, "largest_residual": float | null}``.
"""

from __future__ import annotations

from dataclasses import asdict

from .results import ItemReport, TopicReport

__all__ = ["SCHEMA", "item_to_dict", "report_to_dict", "reports_to_dict", "failure_lines"]

SCHEMA = "dlmath-check/1"


def item_to_dict(item: ItemReport) -> dict:
    return {
        "item_id": item.id,
        "kind": item.kind,
        "label": item.label,
        "place": item.place,
        "latex": item.latex,
        "passed": item.passed,
        "verdict": item.verdict,
        "symbolic": asdict(item.symbolic),
        "numeric": asdict(item.numeric),
    }


def _counts(reports: list[TopicReport]) -> dict:
    items = [i for r in reports for i in r.items]
    return {
        "items": len(items),
        "proved": sum(i.verdict == "proved" for i in items),
        "numeric": sum(i.verdict == "numeric" for i in items),
        "failed": sum(i.verdict == "failed" for i in items),
        "text_issues": sum(len(r.issues) for r in reports),
    }


def report_to_dict(report: TopicReport) -> dict:
    return {
        "topic_id": report.topic_id,
        "title": report.title,
        "passed": report.passed,
        "seconds": report.seconds,
        "counts": _counts([report]),
        "items": [item_to_dict(i) for i in report.items],
        "text_issues": [asdict(t) for t in report.issues],
    }


def reports_to_dict(reports: list[TopicReport], *, seconds: float | None = None, seed: int = 0) -> dict:
    from .. import __version__

    return {
        "schema": SCHEMA,
        "dlmath_version": __version__,
        "seed": seed,
        "passed": bool(reports) and all(r.passed for r in reports),
        "seconds": seconds if seconds is not None else sum(r.seconds for r in reports),
        "counts": {"topics": len(reports), **_counts(reports)},
        "topics": [report_to_dict(r) for r in reports],
    }


def failure_lines(report: TopicReport) -> list[str]:
    """One line per failing item or text issue: where, the residual, the counterexample."""
    out = []
    for item in report.items:
        if item.passed:
            continue
        out.append(
            f"{report.topic_id}/{item.id}: symbolic {item.symbolic.status}"
            f" (residual: {item.symbolic.residual or '-'}); numeric {item.numeric.status}"
            f" (counterexample: {item.numeric.counterexample or item.numeric.detail})"
        )
    for issue in report.issues:
        out.append(f"{report.topic_id}/{issue.place}: {issue.fragment!r}: {issue.message}")
    return out
