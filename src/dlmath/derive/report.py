"""Reports as plain data (for ``dlmath check --json`` and the page), and a one-line failure summary."""

from __future__ import annotations

from dataclasses import asdict

from .model import ItemReport, TopicReport

__all__ = ["item_to_dict", "report_to_dict", "reports_to_dict", "failure_lines"]


def item_to_dict(item: ItemReport) -> dict:
    return {
        "id": item.id,
        "label": item.label,
        "kind": item.kind,
        "passed": item.passed,
        "symbolic": asdict(item.symbolic),
        "numeric": asdict(item.numeric),
    }


def report_to_dict(report: TopicReport) -> dict:
    return {
        "topic_id": report.topic_id,
        "passed": report.passed,
        "seconds": report.seconds,
        "items": [item_to_dict(i) for i in report.items],
    }


def reports_to_dict(
    reports: list[TopicReport], *, seconds: float | None = None, seed: int = 0, topics=None
) -> dict:
    """All reports as JSON-ready data; with ``topics``, each item also carries its checked LaTeX."""
    out = {
        "passed": bool(reports) and all(r.passed for r in reports),
        "seed": seed,
        "seconds": seconds if seconds is not None else sum(r.seconds for r in reports),
        "topics": [report_to_dict(r) for r in reports],
    }
    for topic, data in zip(topics or (), out["topics"], strict=False):
        latex = {item.id: item.latex for item in topic.steps + topic.claims}
        data["title"] = topic.title
        for item in data["items"]:
            item["latex"] = latex.get(item["id"], "")
    return out


def failure_lines(report: TopicReport) -> list[str]:
    """One line per failing item: topic, item, symbolic residual, numeric counterexample."""
    out = []
    for item in report.items:
        if item.passed:
            continue
        out.append(
            f"{report.topic_id}/{item.id}: symbolic {item.symbolic.status}"
            f" (residual: {item.symbolic.residual or '-'}); numeric {item.numeric.status}"
            f" (counterexample: {item.numeric.counterexample or item.numeric.detail})"
        )
    return out
