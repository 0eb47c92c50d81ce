"""The losses three topics derive are PyTorch's: label smoothing, binary cross-entropy, Poisson NLL.

Each test evaluates the topic's own checked expression (its explicit form, compiled) and compares
it, value and gradient, with the PyTorch function the topic's prose names. The topics' own checks
compare the same expressions with dlmath; these tests are skipped, and say so, where torch is
missing.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dlmath.derive.explicit import explicit, substitute
from dlmath.derive.notation import entry_of
from dlmath.topics import get_topic

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _compiled(topic_id: str, what, dims: dict, given=None):
    """The topic's named expression (or ``what`` itself, with the definitions ``given``) made explicit
    at ``dims``, as a NumPy function of a dict of values (vectors and scalars by name)."""
    topic = get_topic(topic_id)
    expr = topic.names[what] if isinstance(what, str) else substitute(what, dict(given or {}))
    sizes = {topic.names[k]: v for k, v in dims.items()}
    ex = explicit(expr, sizes)
    symbols = sorted(sp.sympify(ex).free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(symbols, ex, "numpy")

    def run(vals):
        args = []
        for s in symbols:
            where = entry_of(s)
            args.append(vals[s.name] if where is None else np.ravel(vals[where[0]])[where[1]])
        return np.asarray(fn(*args), dtype=float)

    return run


def _fd(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = h
        g.flat[k] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("classes", [3, 5])
def test_label_smoothing_loss_and_gradient_are_torch_cross_entropy(eps, classes):
    rng = np.random.default_rng(classes)
    loss = _compiled("label-smoothing", "L", {"K": classes})
    step = next(i for i in get_topic("label-smoothing").steps if i.id == "gradient")
    gradient = _compiled("label-smoothing", step.statement.rhs, {"K": classes}, step.statement.given)
    for _ in range(3):
        z = rng.normal(0.0, 2.0, classes)
        label = int(rng.integers(classes))
        y = np.eye(classes)[label]
        zt = torch.tensor(z[None, :], dtype=torch.float64, requires_grad=True)
        ref = F.cross_entropy(zt, torch.tensor([label]), label_smoothing=eps, reduction="sum")
        ref.backward()
        derived = float(loss({"z": z, "y": y, "epsilon": eps}))
        assert derived == pytest.approx(float(ref.detach()), rel=1e-12, abs=1e-12)
        derived_grad = gradient({"z": z, "y": y, "epsilon": eps}).ravel()  # the step's p - q
        np.testing.assert_allclose(zt.grad.numpy()[0], derived_grad, rtol=1e-10, atol=1e-12)
        fd = _fd(lambda v, y=y: float(loss({"z": v, "y": y, "epsilon": eps})), z)
        np.testing.assert_allclose(fd, derived_grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_bernoulli_loss_is_torch_binary_cross_entropy_with_logits(target):
    topic = get_topic("bernoulli-bce")
    ell = _compiled("bernoulli-bce", "ell", {})
    softplus_form = sp.lambdify(
        (topic.names["z"], topic.names["y"]),
        topic.names["softplus"] - topic.names["y"] * topic.names["z"],
        "numpy",
    )
    for z in (-30.0, -3.0, -0.2, 0.0, 1.5, 30.0):
        zt = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        ref = F.binary_cross_entropy_with_logits(
            zt, torch.tensor([target], dtype=torch.float64), reduction="sum"
        )
        ref.backward()
        assert float(softplus_form(z, target)) == pytest.approx(float(ref.detach()), rel=1e-12, abs=1e-12)
        if abs(z) < 20:  # the textbook form loses digits where a probability rounds to 0 or 1
            assert float(ell({"z": z, "y": target})) == pytest.approx(
                float(ref.detach()), rel=1e-10, abs=1e-12
            )
        sigma = 1 / (1 + np.exp(-z))
        assert float(zt.grad[0]) == pytest.approx(sigma - target, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("full", [False, True])
def test_poisson_loss_is_torch_poisson_nll_loss(full):
    topic = get_topic("poisson-nll")
    z_, y_ = topic.names["z"], topic.names["y"]
    code = sp.lambdify((z_, y_), sp.exp(z_) - y_ * z_, "numpy")
    stirling = sp.lambdify(y_, topic.names["stirling"], "numpy")
    rng = np.random.default_rng(4)
    for _ in range(10):
        z = float(rng.normal(0.0, 1.5))
        y = float(rng.poisson(5.0))
        zt = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        yt = torch.tensor([y], dtype=torch.float64)
        ref = F.poisson_nll_loss(zt, yt, log_input=True, full=full, reduction="sum")
        ref.backward()
        derived = float(code(z, y)) + (float(stirling(y)) if full and y > 1 else 0.0)
        assert derived == pytest.approx(float(ref.detach()), rel=1e-12, abs=1e-12)
        assert float(zt.grad[0]) == pytest.approx(np.exp(z) - y, rel=1e-12, abs=1e-12)
