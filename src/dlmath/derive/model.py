"""The data a topic is made of, and the results its checks produce.

This module is the contract between the three layers: ``topics/`` builds :class:`Topic` objects,
``derive/`` checks them into :class:`TopicReport` objects, and ``render/`` (terminal, HTML page,
notebook) displays both. It imports nothing heavy: SymPy objects are built lazily by the
callables a topic holds, so ``dlmath list`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "undecided", "skipped"]


@dataclass(frozen=True)
class Assumption:
    """A condition the derivation relies on, e.g. ``x > 0`` or ``X^T X invertible``.

    ``latex`` is what the page shows; ``text`` is the plain-Unicode form for the terminal.
    How the assumption constrains the checks (SymPy symbol facts, the sampler of numeric
    instances) lives with the topic's builders.
    """

    latex: str
    text: str


@dataclass(frozen=True)
class Step:
    """One equation of a derivation, ``lhs = rhs``, checked symbolically and numerically.

    ``build`` returns the SymPy pair ``(lhs, rhs)`` when called; ``latex``/``text`` are
    generated from that pair (or tied to it by a check), never typed independently.
    ``numeric`` draws random instances and returns ``(lhs_value, rhs_value)`` pairs to compare.
    """

    id: str
    label: str
    why: str
    build: Callable[[], Any]
    numeric: Callable[..., Any] | None = None
    latex: str = ""
    text: str = ""


@dataclass(frozen=True)
class Claim:
    """A further statement about the result (e.g. "the Hessian is PSD"), checked like a step."""

    id: str
    label: str
    why: str
    check_symbolic: Callable[[], Any] | None = None
    check_numeric: Callable[..., Any] | None = None
    latex: str = ""
    text: str = ""


@dataclass(frozen=True)
class Topic:
    """One section of the reference: a derivation with its claims, prose and implementation."""

    id: str
    title: str
    claim: str
    assumptions: tuple[Assumption, ...]
    steps: tuple[Step, ...]
    claims: tuple[Claim, ...] = ()
    implemented_by: tuple[str, ...] = ()
    prose: str = ""
    snippet: str = ""
    figure: str | None = None


@dataclass
class CheckResult:
    """The verdict of one way of checking one step or claim."""

    status: Status
    detail: str = ""
    seconds: float = 0.0
    residual: str | None = None
    counterexample: str | None = None
    tolerance: float | None = None
    instances: int = 0


@dataclass
class ItemReport:
    """Both verdicts for one step or claim. It passes only if both ways passed (or the symbolic
    way was honestly ``undecided`` and the numeric way passed)."""

    id: str
    label: str
    kind: Literal["step", "claim", "implementation"]
    symbolic: CheckResult
    numeric: CheckResult

    @property
    def passed(self) -> bool:
        return self.numeric.status == "pass" and self.symbolic.status in ("pass", "undecided")


@dataclass
class TopicReport:
    topic_id: str
    items: list[ItemReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(i.passed for i in self.items)
