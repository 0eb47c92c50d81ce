"""Checking a topic: every step and claim, symbolically and numerically, into a :class:`TopicReport`.

Nothing is cached between calls: each call builds the statements' explicit forms, compiles them
and draws fresh instances from ``seed``. An exception inside a check is a failure of that check,
reported with its message, never a crash of the whole run.
"""

from __future__ import annotations

import time
import traceback

import numpy as np

from .model import CheckResult, Claim, ItemReport, Numeric, Step, Topic, TopicReport


def _dims(stmt) -> dict:
    import sympy as sp

    if not stmt.dims:
        return {}
    names = {}
    for e in (stmt.lhs, stmt.rhs, *stmt.given.values()):
        for s in sp.sympify(e).atoms(sp.Symbol):
            names.setdefault(s.name, s)
    return {names[k]: v for k, v in stmt.dims.items() if k in names}


def _error(exc: BaseException, t0: float) -> CheckResult:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return CheckResult(
        "fail", f"the check raised {type(exc).__name__}: {exc}{where}", time.perf_counter() - t0
    )


def check_item(topic: Topic, item: Step | Claim, *, seed: int = 0) -> ItemReport:
    """Both verdicts on one step or claim of ``topic``."""
    from . import numeric, symbolic

    kind = "step" if isinstance(item, Step) else "claim"
    t0 = time.perf_counter()
    try:
        stmt = item.statement()
    except Exception as exc:
        bad = _error(exc, t0)
        return ItemReport(
            item.id, item.label, kind, bad, CheckResult("fail", "the statement could not be built")
        )
    try:
        sym = symbolic.decide(stmt, _dims(stmt), seed=seed)
    except Exception as exc:
        sym = _error(exc, t0)
    t1 = time.perf_counter()
    key = f"{topic.id}/{item.id}"
    try:
        if isinstance(item.numeric, Numeric):
            num = numeric.check(stmt, item.numeric, seed=seed, key=key)
        elif item.numeric is not None:
            num = item.numeric(np.random.default_rng([seed, 7]))
            num.seconds = time.perf_counter() - t1
        else:
            num = CheckResult("skipped", "this item has no numeric check, so it cannot pass")
    except Exception as exc:
        num = _error(exc, t1)
    return ItemReport(item.id, item.label, kind, sym, num)


def check_topic(topic: Topic, *, seed: int = 0) -> TopicReport:
    """Check every step and claim of ``topic``; ``report.passed`` is the overall verdict."""
    t0 = time.perf_counter()
    report = TopicReport(topic.id)
    for item in topic.steps + topic.claims:
        report.items.append(check_item(topic, item, seed=seed))
    report.seconds = time.perf_counter() - t0
    return report
