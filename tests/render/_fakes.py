"""Small fake topics and reports, so the page can be built and tested without the real engine."""

from __future__ import annotations

from dataclasses import dataclass

from dlmath.derive.model import Assumption, CheckResult, ItemReport, Topic, TopicReport


@dataclass(frozen=True)
class FakeStep:
    """What the page reads from a step or claim: id, label, why, and the LaTeX the engine prints."""

    id: str
    label: str
    why: str
    latex: str
    where_latex: tuple[str, ...] = ()


def make_topics() -> list[Topic]:
    lse = Topic(
        id="logsumexp",
        title="The LogSumExp stability trick",
        claim="Subtracting the maximum $m$ before exponentiating leaves $\\mathrm{LSE}(x)$ unchanged.",
        assumptions=(
            Assumption(r"x \in \mathbb{R}^n", "x in R^n"),
            Assumption(r"m = \max_i x_i", "m = max x"),
        ),
        steps=(
            FakeStep(
                "shift",
                "Factor out $e^m$",
                "Every term shares the factor $e^m$.",
                r"\log\sum_i e^{x_i} = \log\Big(e^m \sum_i e^{x_i - m}\Big)",
            ),
            FakeStep(
                "stable",
                "Take the log of the product",
                "The logarithm turns the product into a sum.",
                r"\log\Big(e^m \sum_i e^{x_i - m}\Big) = m + \log\sum_i e^{x_i - m}",
            ),
        ),
        claims=(
            FakeStep(
                "grad",
                "Its gradient is the softmax",
                "",
                r"\nabla_x \mathrm{LSE}(x) = \mathrm{softmax}(x)",
            ),
        ),
        implemented_by=("logsumexp",),
        prose="The naive form overflows once some $x_i$ passes about $709.78$ in float64.\n\n"
        "The stable form never exponentiates a positive number, and costs one extra pass: `max`.",
        snippet="import numpy as np\nimport dlmath\nprint(dlmath.logsumexp(np.array([1000.0, 1000.0])))",
        figure="lse-overflow",
    )
    xpx = Topic(
        id="x-pow-x",
        title="The derivative of $x^x$",
        claim="For $x > 0$, $\\frac{d}{dx}x^x = x^x(\\log x + 1)$.",
        assumptions=(Assumption("x > 0", "x > 0"),),
        steps=(
            FakeStep("log", "Take logs", "", r"\log y = x\log x", (r"y = x^x",)),
            FakeStep("diff", "Differentiate", "", r"\frac{y'}{y} = \log x + 1"),
        ),
        snippet="print('x^x at 1:', 1.0 ** 1.0)",
        figure="x-pow-x",
    )
    return [lse, xpx]


def _ok(instances: int = 0) -> CheckResult:
    return CheckResult(
        "pass",
        "simplify(lhs - rhs) == 0" if not instances else "max abs error 2.2e-16",
        instances=instances,
        tolerance=1e-12 if instances else None,
    )


def make_reports(fail: bool = False) -> list[TopicReport]:
    lse = TopicReport(
        "logsumexp",
        [
            ItemReport("shift", "Factor out e^m", "step", _ok(), _ok(64)),
            ItemReport(
                "stable",
                "Take the log of the product",
                "step",
                CheckResult("undecided", "SymPy could not decide"),
                _ok(64),
            ),
            ItemReport("grad", "Its gradient is the softmax", "claim", _ok(), _ok(32)),
            ItemReport(
                "impl",
                "logsumexp matches the derived form",
                "implementation",
                CheckResult("undecided", "numeric only"),
                _ok(48),
            ),
        ],
    )
    diff_numeric = (
        CheckResult(
            "fail",
            "relative error 0.5",
            residual="-1",
            counterexample="x = 0.3",
            tolerance=1e-9,
            instances=20,
        )
        if fail
        else _ok(20)
    )
    xpx = TopicReport(
        "x-pow-x",
        [
            ItemReport("log", "Take logs", "step", _ok(), _ok(20)),
            ItemReport(
                "diff",
                "Differentiate",
                "step",
                CheckResult("fail", residual="-1") if fail else _ok(),
                diff_numeric,
            ),
        ],
    )
    return [lse, xpx]
