"""What checks produce: a verdict per way of checking, per item, per topic.

An item *passes* when its numeric check passes and SymPy either proved it or honestly could not
decide it (``undecided``: then the numeric check is a search for a counterexample over the stated
domain) or does not apply (``n/a``: a statement about floating-point results or measured
quantities). Its *verdict* says which: ``proved`` (by SymPy, and confirmed numerically),
``numeric`` (checked numerically only) or ``failed``. A topic passes when every item passes and no
text of it holds math that is not checked (:class:`TextIssue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Status", "CheckResult", "ItemReport", "TextIssue", "TopicReport"]

Status = Literal["pass", "fail", "undecided", "skipped", "n/a"]


@dataclass
class CheckResult:
    """The verdict of one way of checking one item.

    ``largest_residual`` is the largest ``|lhs - rhs|`` the numeric check saw (equalities);
    ``rtol``/``atol`` the tolerance it compared with; ``counterexample`` a point where the
    statement fails, as text.
    """

    status: Status
    detail: str = ""
    seconds: float = 0.0
    residual: str | None = None
    counterexample: str | None = None
    rtol: float | None = None
    atol: float | None = None
    instances: int = 0
    largest_residual: float | None = None


@dataclass
class ItemReport:
    """Both verdicts for one item (step, claim or text relation)."""

    id: str
    label: str
    kind: Literal["step", "claim", "text"]
    symbolic: CheckResult
    numeric: CheckResult
    place: str = ""
    latex: str = ""

    @property
    def passed(self) -> bool:
        return self.numeric.status == "pass" and self.symbolic.status in ("pass", "undecided", "n/a")

    @property
    def verdict(self) -> Literal["proved", "numeric", "failed"]:
        if not self.passed:
            return "failed"
        return "proved" if self.symbolic.status == "pass" else "numeric"


@dataclass
class TextIssue:
    """Math in a text (prose, label, caption, ...) that no check ties to the derivation."""

    place: str
    fragment: str
    message: str


@dataclass
class TopicReport:
    topic_id: str
    items: list[ItemReport] = field(default_factory=list)
    issues: list[TextIssue] = field(default_factory=list)
    seconds: float = 0.0
    title: str = ""
    topic: object = field(default=None, repr=False, compare=False)  # set by Topic.check, for display

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(i.passed for i in self.items) and not self.issues

    def count(self, verdict: str) -> int:
        return sum(i.verdict == verdict for i in self.items)

    def _repr_markdown_(self) -> str:
        from .display import report_markdown

        return report_markdown(self)

    def __repr__(self) -> str:
        state = "pass" if self.passed else "FAIL"
        return (
            f"<TopicReport {self.topic_id!r}: {state}; {len(self.items)} items, {self.count('proved')} proved, "
            f"{self.count('numeric')} numeric only, {self.count('failed')} failed, {len(self.issues)} text issues>"
        )
