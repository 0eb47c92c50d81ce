"""The cases of the kink table: the kinks and limits the topics discuss, what the math says at each,
how a returned value is judged against it, and what each framework runs there.

Each case is run by :func:`dlmath.render.kinks.collect`; an implementation is a function of an
environment holding the imported modules (``np``, ``torch``, ``jax``, ``jnp``, ``dlmath``), so
that nothing here imports PyTorch or JAX. The dlmath column calls dlmath's public functions;
where it needs a gradient it differentiates them with PyTorch, else JAX, else uses the dlmath
function that states the answer directly.

Verdicts: ``right`` (the math's value, within 4 ulp in the case's dtype, or an allowed choice
such as any subgradient), ``convention`` (a number where the math has none), ``NaN`` and ``inf``
(where the math has a finite value), ``wrong`` (another number).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

__all__ = ["Impl", "Case", "CASES", "close_to", "subgradient", "undefined", "show_number"]

ULPS = 4
INF = math.inf


@dataclass(frozen=True)
class Impl:
    how: (
        str | Callable[[SimpleNamespace], str]
    )  # what runs, as the notes print it (may depend on what imports)
    run: Callable[[SimpleNamespace], object] | None  # None: the framework has no such function


@dataclass(frozen=True)
class Case:
    id: str
    label: str
    math: str  # the right answer, short: the table's second column
    why: str  # how the right answer is decided
    judge: Callable[[np.ndarray], tuple[str, str]]  # a value -> (verdict, detail)
    impls: dict[str, Impl]  # by column


def show_number(x: float) -> str:
    """A number as the table shows it: nan, inf, an integer, or 4 significant digits."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


# ----------------------------------------------------------------------------- judging values


def close_to(expected, dtype):
    """Right within ``ULPS`` ulp of ``expected`` (exact, in float64) in ``dtype``; equal infinities match."""
    want = np.asarray(expected, dtype=np.float64)

    def judge(v):
        v = np.asarray(v, dtype=np.float64)
        if v.shape != want.shape:
            return "wrong", f"shape {v.shape}, expected {want.shape}"
        if np.isnan(v).any():
            return "NaN", ""
        if (np.isinf(v) & (v != want)).any():
            return "inf", ""
        with np.errstate(invalid="ignore", over="ignore"):
            spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
            off = np.where(v == want, 0.0, np.abs(v - want) / spacing)
        if (off <= ULPS).all():
            return "right", ""
        lost = (v == 0) & (want != 0)
        if lost.any():
            return "wrong", f"0 where the value is {show_number(float(want[lost].ravel()[0]))}"
        return "wrong", f"{show_number(float(np.nanmax(np.where(np.isnan(off), np.inf, off))))} ulp off"

    return judge


def subgradient(radius=1.0):
    """Right for any finite ``g`` with ``‖g‖ ≤ radius``: a point of the subdifferential."""

    def judge(v):
        v = np.asarray(v, dtype=np.float64)
        if np.isnan(v).any():
            return "NaN", ""
        if not np.isfinite(v).all():
            return "inf", ""
        norm = float(np.sqrt(np.sum(v * v)))
        return (
            ("right", "")
            if norm <= radius * (1 + 1e-6)
            else ("wrong", f"length {show_number(norm)} > {radius:g}")
        )

    return judge


def undefined(v):
    """The math has no value: NaN says so; a number is a convention."""
    v = np.asarray(v, dtype=np.float64)
    return ("right", "") if np.isnan(v).any() else ("convention", "")


# ----------------------------------------------------------------------------- the cases


def _sig_grad(z):
    return math.exp(-abs(z)) / (1 + math.exp(-abs(z))) ** 2


def _f32(e, values):
    return e.np.array(values, dtype=np.float32)


def _torch_grad(e, f, x, dtype=None):
    t = e.torch.tensor(x, dtype=dtype or e.torch.float32, requires_grad=True)
    f(t).sum().backward()
    return t.grad


def _torch_grad2(e, f, x):
    t = e.torch.tensor(x, dtype=e.torch.float32, requires_grad=True)
    (g,) = e.torch.autograd.grad(f(t).sum(), t, create_graph=True)
    (h,) = e.torch.autograd.grad(g.sum(), t)
    return h


def _dl_grad(e, f, x, fallback):
    """The gradient of the dlmath function ``f`` at ``x`` under PyTorch, else JAX, else ``fallback()``."""
    if e.torch is not None:
        return _torch_grad(e, f, x)
    if e.jax is not None:
        return e.jax.grad(lambda t: f(t).sum())(e.jnp.asarray(x, dtype=e.jnp.float32))
    return fallback()


def _dl_sig_grad(e, z):
    sp = e.dlmath.softplus
    if e.torch is not None:
        return _torch_grad2(e, sp, [z])[0]
    if e.jax is not None:
        return e.jax.grad(e.jax.grad(lambda t: sp(t)))(e.jnp.float32(z))
    ls = e.dlmath.log_sigmoid
    return np.exp(ls(np.float32(z)) + ls(np.float32(-z)))


def _naive_softmax(e, x):
    ex = e.np.exp(x - e.np.max(x))
    return ex / e.np.sum(ex)


def _masked_softmax_dlmath(e):
    import inspect

    if "where" not in inspect.signature(e.dlmath.softmax).parameters:
        return None
    return e.dlmath.softmax(_f32(e, [1.0, 2.0]), where=np.array([False, False]))


_ZERO2 = [0.0, 0.0]
_NEG_INF2 = [-INF, -INF]


def _autodiff(e):
    return "PyTorch's autograd" if e.torch is not None else "JAX's grad" if e.jax is not None else None


def _dl_how(differentiated, fallback):
    """What the dlmath column runs for a gradient: ``differentiated`` under autodiff, else ``fallback``."""
    return lambda e: f"{differentiated} under {_autodiff(e)}" if _autodiff(e) else fallback


CASES: tuple[Case, ...] = (
    Case(
        "norm-grad-zero", "∇‖x‖ at x = 0", "‖g‖ ≤ 1",
        "‖x‖ has a cusp at 0: no gradient, and every g with ‖g‖ ≤ 1 is a subgradient (0 is the usual pick).",
        subgradient(),
        {
            "NumPy": Impl("x / np.linalg.norm(x), the formula x/‖x‖", lambda e: _f32(e, _ZERO2) / e.np.linalg.norm(_f32(e, _ZERO2))),
            "PyTorch": Impl("torch.linalg.vector_norm, backward", lambda e: _torch_grad(e, e.torch.linalg.vector_norm, _ZERO2)),
            "JAX": Impl("jax.grad(jnp.linalg.norm)", lambda e: e.jax.grad(e.jnp.linalg.norm)(e.jnp.zeros(2))),
            "dlmath": Impl(_dl_how("safe_norm", "norm_grad (no autodiff framework is installed)"),
                           lambda e: _dl_grad(e, e.dlmath.safe_norm, _ZERO2, lambda: e.dlmath.norm_grad(_f32(e, _ZERO2)))),
        },
    ),
    Case(
        "abs-grad-zero", "d|x|/dx at x = 0", "g ∈ [−1, 1]",
        "|x| has a corner at 0: every slope between −1 and 1 is a subgradient.",
        subgradient(),
        {
            "NumPy": Impl("x / np.abs(x), the formula x/|x|", lambda e: _f32(e, 0.0) / e.np.abs(_f32(e, 0.0))),
            "PyTorch": Impl("torch.abs, backward", lambda e: _torch_grad(e, e.torch.abs, 0.0)),
            "JAX": Impl("jax.grad(jnp.abs)", lambda e: e.jax.grad(e.jnp.abs)(e.jnp.float32(0.0))),
            "dlmath": Impl(_dl_how("safe_norm of the 1-vector (x)", "norm_grad of the 1-vector (x)"),
                           lambda e: _dl_grad(e, e.dlmath.safe_norm, [0.0], lambda: e.dlmath.norm_grad(_f32(e, [0.0])))[0]),
        },
    ),
    Case(
        "lse-all-neg-inf", "LSE(−∞, −∞)", "−inf",
        "log(e^−∞ + e^−∞) = log 0 = −∞: every term is 0, which the max-shift must not turn into NaN.",
        close_to(-INF, np.float32),
        {
            "NumPy": Impl("np.log(np.sum(np.exp(x)))", lambda e: e.np.log(e.np.sum(e.np.exp(_f32(e, _NEG_INF2))))),
            "PyTorch": Impl("torch.logsumexp", lambda e: e.torch.logsumexp(e.torch.tensor(_NEG_INF2), 0)),
            "JAX": Impl("jax.nn.logsumexp", lambda e: e.jax.nn.logsumexp(e.jnp.asarray(_NEG_INF2))),
            "dlmath": Impl("logsumexp", lambda e: e.dlmath.logsumexp(_f32(e, _NEG_INF2))),
        },
    ),
    Case(
        "lse-grad-all-neg-inf", "∇LSE at (−∞, −∞)", "undefined",
        "∇LSE = softmax, which is 0/0 here; along (t, t) it tends to (½, ½), along (t, 2t) to (1, 0): no limit.",
        undefined,
        {
            "NumPy": Impl("np.exp(x - x.max()) / np.sum(...), the naive softmax", lambda e: _naive_softmax(e, _f32(e, _NEG_INF2))),
            "PyTorch": Impl("torch.logsumexp, backward", lambda e: _torch_grad(e, lambda t: e.torch.logsumexp(t, 0), _NEG_INF2)),
            "JAX": Impl("jax.grad(jax.nn.logsumexp)", lambda e: e.jax.grad(e.jax.nn.logsumexp)(e.jnp.asarray(_NEG_INF2))),
            "dlmath": Impl(_dl_how("logsumexp", "softmax (no autodiff framework is installed)"),
                           lambda e: _dl_grad(e, e.dlmath.logsumexp, _NEG_INF2, lambda: e.dlmath.softmax(_f32(e, _NEG_INF2)))),
        },
    ),
    Case(
        "masked-softmax-row", "softmax, every entry masked", "undefined",
        "Softmax of (1, 2) with both entries masked out: there is no distribution to return; zeros (no mass anywhere) is the useful convention.",
        undefined,
        {
            "NumPy": Impl("the naive softmax of np.where(mask, x, -inf)",
                          lambda e: _naive_softmax(e, e.np.where(np.array([False, False]), _f32(e, [1.0, 2.0]), -INF))),
            "PyTorch": Impl("torch.softmax(x.masked_fill(~mask, -inf))",
                            lambda e: e.torch.softmax(e.torch.tensor([1.0, 2.0]).masked_fill(e.torch.tensor([True, True]), -INF), 0)),
            "JAX": Impl("jax.nn.softmax(x, where=mask)", lambda e: e.jax.nn.softmax(e.jnp.asarray([1.0, 2.0]), where=e.jnp.asarray([False, False]))),
            "dlmath": Impl("softmax(x, where=mask)", _masked_softmax_dlmath),
        },
    ),
    Case(
        "xent-zero-log-zero", "CE, y = (0, 1), z = (−∞, 0)", "0",
        "Cross-entropy −Σ y_k log p_k with p = (0, 1): the class of target 0 adds nothing (0·log 0 = 0), the other log 1 = 0.",
        close_to(0.0, np.float32),
        {
            "NumPy": Impl("-np.sum(y * (z - np.log(np.sum(np.exp(z)))))",
                          lambda e: -e.np.sum(_f32(e, [0.0, 1.0]) * (_f32(e, [-INF, 0.0]) - e.np.log(e.np.sum(e.np.exp(_f32(e, [-INF, 0.0]))))))),
            "PyTorch": Impl("torch.nn.functional.cross_entropy with probability targets",
                            lambda e: e.torch.nn.functional.cross_entropy(e.torch.tensor([[-INF, 0.0]]), e.torch.tensor([[0.0, 1.0]]))),
            "JAX": Impl("-jnp.sum(y * jax.nn.log_softmax(z)) (JAX has no cross-entropy of its own)",
                        lambda e: -e.jnp.sum(e.jnp.asarray([0.0, 1.0]) * e.jax.nn.log_softmax(e.jnp.asarray([-INF, 0.0])))),
            "dlmath": Impl("cross_entropy", lambda e: e.dlmath.cross_entropy(_f32(e, [[-INF, 0.0]]), _f32(e, [[0.0, 1.0]]))),
        },
    ),
)  # fmt: skip


def _pointwise_case(id_, label, z, exact, why, numpy_how, numpy_f, torch_f, jax_f, dl_f, dtype="float32"):
    return Case(
        id_, label, show_number(float(np.asarray(exact, dtype=dtype))), why, close_to(exact, np.dtype(dtype)),
        {
            "NumPy": Impl(numpy_how, lambda e: numpy_f(e, e.np.asarray(z, dtype=dtype))),
            "PyTorch": Impl(torch_f[0], lambda e: torch_f[1](e, e.torch.tensor(z, dtype=getattr(e.torch, dtype)))),
            "JAX": Impl(jax_f[0], lambda e: jax_f[1](e, e.jnp.asarray(z, dtype=dtype))),
            "dlmath": Impl(dl_f[0], lambda e: dl_f[1](e, e.np.asarray(z, dtype=dtype))),
        },
    )  # fmt: skip


_SP = ("np.log1p(np.exp(z))", lambda e, z: e.np.log1p(e.np.exp(z)))
_LS = ("np.log(1 / (1 + np.exp(-z)))", lambda e, z: e.np.log(1 / (1 + e.np.exp(-z))))
_SG = (
    "s * (1 - s), s = 1 / (1 + np.exp(-z))",
    lambda e, z: (1 / (1 + e.np.exp(-z))) * (1 - 1 / (1 + e.np.exp(-z))),
)


def _softplus_case(z):
    exact = max(z, 0) + math.log1p(math.exp(-abs(z)))
    return _pointwise_case(
        f"softplus-{z:+.0f}", f"softplus({z:g}), float32", z, exact,
        f"log(1 + e^z) = max(z, 0) + log1p(e^−|z|): {'z + e^−100' if z > 0 else 'e^−100, a float32 subnormal'}.",
        *_SP, ("torch.nn.functional.softplus", lambda e, t: e.torch.nn.functional.softplus(t)),
        ("jax.nn.softplus", lambda e, t: e.jax.nn.softplus(t)), ("softplus", lambda e, t: e.dlmath.softplus(t)),
    )  # fmt: skip


def _log_sigmoid_case(z):
    exact = min(z, 0) - math.log1p(math.exp(-abs(z)))
    return _pointwise_case(
        f"log-sigmoid-{z:+.0f}", f"log σ({z:g}), float32", z, exact,
        f"log σ(z) = −softplus(−z): {'−e^−100, a float32 subnormal' if z > 0 else 'z − e^−100'}.",
        *_LS, ("torch.nn.functional.logsigmoid", lambda e, t: e.torch.nn.functional.logsigmoid(t)),
        ("jax.nn.log_sigmoid", lambda e, t: e.jax.nn.log_sigmoid(t)), ("log_sigmoid", lambda e, t: e.dlmath.log_sigmoid(t)),
    )  # fmt: skip


def _sigmoid_grad_case(z):
    return _pointwise_case(
        f"sigmoid-grad-{z:+.0f}", f"σ′({z:g}), float32", z, _sig_grad(z),
        "σ′(z) = σ(z) σ(−z) = e^−|z| / (1 + e^−|z|)²; σ(40) rounds to 1, so σ(1 − σ) gives 0 on that side.",
        *_SG, ("torch.sigmoid, backward", lambda e, t: _torch_grad(e, e.torch.sigmoid, float(t))),
        ("jax.grad(jax.nn.sigmoid)", lambda e, t: e.jax.grad(e.jax.nn.sigmoid)(t)),
        (_dl_how("the second derivative of softplus", "exp(log_sigmoid(z) + log_sigmoid(−z))"),
         lambda e, t: _dl_sig_grad(e, float(t))),
    )  # fmt: skip


_HALF_LSE = math.log(2) + 12
CASES = CASES + tuple(_softplus_case(z) for z in (100.0, -100.0))
CASES = CASES + tuple(_log_sigmoid_case(z) for z in (100.0, -100.0))
CASES = CASES + tuple(_sigmoid_grad_case(z) for z in (40.0, -40.0))
CASES = CASES + (
    _pointwise_case(
        "lse-float16", "LSE(12, 12), float16", [12.0, 12.0], _HALF_LSE,
        "log(2 e¹²) = 12 + log 2, but e¹² = 162755 is past float16's largest number, 65504: exp must come after the shift.",
        "np.log(np.sum(np.exp(x)))", lambda e, x: e.np.log(e.np.sum(e.np.exp(x))),
        ("torch.logsumexp", lambda e, t: e.torch.logsumexp(t, 0)), ("jax.nn.logsumexp", lambda e, t: e.jax.nn.logsumexp(t)),
        ("logsumexp", lambda e, t: e.dlmath.logsumexp(t)), dtype="float16",
    ),
    Case(
        "softmax-float16", "softmax(12, 12), float16", "[0.5, 0.5]",
        "Equal logits share the mass equally; the unshifted e¹² overflows float16, and inf/inf is NaN.",
        close_to([0.5, 0.5], np.float16),
        {
            "NumPy": Impl("np.exp(x) / np.sum(np.exp(x))", lambda e: e.np.exp(np.float16([12, 12])) / e.np.sum(e.np.exp(np.float16([12, 12])))),
            "PyTorch": Impl("torch.softmax", lambda e: e.torch.softmax(e.torch.tensor([12.0, 12.0], dtype=e.torch.float16), 0)),
            "JAX": Impl("jax.nn.softmax", lambda e: e.jax.nn.softmax(e.jnp.asarray([12.0, 12.0], dtype="float16"))),
            "dlmath": Impl("softmax", lambda e: e.dlmath.softmax(np.float16([12, 12]))),
        },
    ),
)  # fmt: skip
