"""The derivation engine: topics as data, each step checked by SymPy and on random instances.

Importing this package is cheap; SymPy is imported when a check or a rendering runs.
"""

from __future__ import annotations

from .model import (
    Assumption,
    CheckResult,
    Claim,
    ItemReport,
    Numeric,
    Statement,
    Step,
    Topic,
    TopicReport,
)

__all__ = [
    "Assumption",
    "CheckResult",
    "Claim",
    "ItemReport",
    "Numeric",
    "Statement",
    "Step",
    "Topic",
    "TopicReport",
    "check_item",
    "check_topic",
]


def check_topic(topic, *, seed: int = 0):
    """Check every step and claim of ``topic`` and return a :class:`TopicReport`."""
    from .check import check_topic as _check_topic

    return _check_topic(topic, seed=seed)


def check_item(topic, item, *, seed: int = 0):
    """Check one step or claim of ``topic`` and return an :class:`ItemReport`."""
    from .check import check_item as _check_item

    return _check_item(topic, item, seed=seed)
