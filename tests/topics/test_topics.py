"""The eight topics: complete, in page order, passing their checks, with runnable snippets."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

from dlmath.derive import check_topic
from dlmath.topics import TOPICS, UnknownTopicError, closest_ids, get_topic

IDS = [
    "gaussian-l2",
    "laplace-l1",
    "softmax-hessian",
    "smooth-max",
    "logsumexp",
    "x-pow-x",
    "norm-gradient",
    "inverse-derivative",
]
FIGURES = {
    "gaussian-l2": "noise-densities",
    "laplace-l1": "sgd-jitter",
    "softmax-hessian": "softmax-hessian-heatmap",
    "smooth-max": "smooth-max-temperature",
    "logsumexp": "lse-overflow",
    "x-pow-x": "x-pow-x",
    "norm-gradient": "norm-cone",
    "inverse-derivative": "inverse-slopes",
}


def test_topics_in_page_order():
    assert [t.id for t in TOPICS] == IDS


def test_get_topic_and_closest_ids():
    assert get_topic("logsumexp").id == "logsumexp"
    with pytest.raises(UnknownTopicError) as info:
        get_topic("softmax-hesian")
    assert info.value.suggestions[0] == "softmax-hessian"
    assert "softmax-hessian" in str(info.value)
    assert closest_ids("norm-grad")[0] == "norm-gradient"
    assert closest_ids("zzzz") == []


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_is_complete(topic):
    assert topic.title and topic.claim and topic.assumptions
    assert len(topic.steps) >= 3
    assert len(topic.prose.strip().split("\n\n")) >= 3, "a few paragraphs of the project's own prose"
    assert topic.figure == FIGURES[topic.id]
    ids = [i.id for i in topic.steps + topic.claims]
    assert len(ids) == len(set(ids))
    for item in topic.steps + topic.claims:
        assert item.label and item.why
        assert item.numeric is not None, f"{topic.id}/{item.id} has no numeric check"
        assert item.latex and "$" not in item.latex
        assert item.text


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_checks_pass(topic):
    report = check_topic(topic, seed=0)
    failing = [(i.id, i.symbolic, i.numeric) for i in report.items if not i.passed]
    assert report.passed, failing
    for item in report.items:
        assert item.numeric.instances >= 1
        if item.symbolic.status == "undecided":
            assert "numeric check decides" in item.symbolic.detail


def test_topic_checks_pass_with_another_seed():
    for topic in TOPICS:
        assert check_topic(topic, seed=12345).passed, topic.id


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_snippet_runs_and_prints(topic):
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with contextlib.redirect_stdout(out):
            exec(compile(topic.snippet, f"<snippet {topic.id}>", "exec"), {"__name__": "__snippet__"})
    assert out.getvalue().strip()


def test_topics_import_without_sympy():
    code = "import sys, dlmath.topics; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- independent references for individual claims ------------------------------------------


def test_softmax_hessian_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    from dlmath import softmax_hessian

    z = np.array([1.5, -0.3, 0.2, 2.0])
    H = torch.autograd.functional.hessian(
        lambda t: torch.logsumexp(t, 0), torch.tensor(z, dtype=torch.float64)
    )
    np.testing.assert_allclose(softmax_hessian(z), H.numpy(), atol=1e-14)


def test_safe_norm_autodiff_gradient_at_zero_is_zero():
    torch = pytest.importorskip("torch")
    from dlmath import safe_norm

    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    safe_norm(x).backward()
    assert torch.equal(x.grad, torch.zeros(3, dtype=torch.float64))


def test_smooth_max_bounds_with_mpmath():
    mpmath = pytest.importorskip("mpmath")
    x = [3.0, 2.5, -1.0]
    with mpmath.workdps(50):
        for tau in (2.0, 0.5, 0.01):
            smax = tau * mpmath.log(sum(mpmath.exp(mpmath.mpf(v) / tau) for v in x))
            assert max(x) < smax <= max(x) + tau * mpmath.log(len(x))


def test_overflow_thresholds_with_mpmath():
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(30):
        t64 = mpmath.log((2 - mpmath.mpf(2) ** -52) * mpmath.mpf(2) ** 1023)
        t32 = mpmath.log((2 - mpmath.mpf(2) ** -23) * mpmath.mpf(2) ** 127)
    assert abs(float(t64) - float(np.log(np.finfo(np.float64).max))) < 1e-12
    assert abs(float(t32) - float(np.log(np.float64(np.finfo(np.float32).max)))) < 1e-6
    assert 709.78 < float(t64) < 709.79 and 88.72 < float(t32) < 88.73
