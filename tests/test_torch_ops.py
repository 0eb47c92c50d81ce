"""dlmath inside PyTorch programs: the registered ops (src/dlmath/_torch.py, _torch_rows.py,
_torch_api.py) against torch's own functions and autograd, under opcheck, gradcheck, vmap,
torch.func, meta tensors and torch.compile(fullgraph=True)."""

from __future__ import annotations

import math

import pytest

import dlmath
from dlmath import _kernels

torch = pytest.importorskip("torch", reason="the torch ops need PyTorch")
F = torch.nn.functional
ops = pytest.importorskip("dlmath._torch")


def rng(seed=0):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0, dtype=torch.float64, scale=2.0):
    return torch.randn(shape, generator=rng(seed), dtype=dtype) * scale


def labels(n, k, seed=1):
    return torch.randint(0, k, (n,), generator=rng(seed))


def probs(*shape, seed=2, dtype=torch.float64):
    return torch.rand(shape, generator=rng(seed), dtype=dtype)


# torch's forward mode (on the first dual tensor of a process) and torch.compile load parts of
# themselves through torch.jit.script, which warns: torch's own setup, plain torch.softmax does it too
torch_jit_setup = pytest.mark.filterwarnings("ignore:`torch.jit.script.*` is deprecated:DeprecationWarning")


# ----------------------------------------------------------------------------- the ops themselves


def _op_cases():
    x = randn(5, 7)
    t = labels(5, 7)
    y = probs(5, 7)
    v = randn(5, 7, seed=3)
    x3 = randn(2, 3, 6, seed=4)
    return [
        ("logsumexp", ops.logsumexp_op, (x,)),
        ("logsumexp 3-d", ops.logsumexp_op, (x3,)),
        ("softmax", ops.softmax_op, (x, 0.5, False)),
        ("log_softmax", ops.softmax_op, (x3, 1.0, True)),
        ("cross_entropy mean", ops.xent_op, (x, t, 2, False)),
        ("cross_entropy none, weights", ops.xent_op, (x, y, 0, False)),
        ("cross_entropy sum, weights", ops.xent_op, (x, y, 1, False)),
        (
            "cross_entropy_backward 0-d scale",
            ops.xent_grad_op,
            (x, t, torch.tensor(0.3, dtype=torch.float64), 0.5, False),
        ),
        ("cross_entropy_backward row scale", ops.xent_grad_op, (x, y, probs(5, seed=5), 1.0, False)),
        ("softmax_hvp", ops.hvp_op, (x, v)),
        ("softmax_backward", ops.softmax_backward_op, (torch.softmax(x / 0.5, -1), v, 0.5, False)),
        (
            "log_softmax_backward",
            ops.softmax_backward_op,
            (torch.log_softmax(x3, -1), randn(2, 3, 6), 1.0, True),
        ),
    ]


@pytest.mark.parametrize("name, op, args", _op_cases(), ids=[c[0] for c in _op_cases()])
def test_opcheck_passes_for_every_op(name, op, args):
    args = tuple(
        a.clone().requires_grad_(a.dtype.is_floating_point) if isinstance(a, torch.Tensor) else a
        for a in args
    )
    torch.library.opcheck(op, args)


_EAGER = {  # the callable the public functions use, and its registered op
    "logsumexp": (ops.logsumexp, ops.logsumexp_op),
    "softmax": (ops.softmax, ops.softmax_op),
    "softmax_backward": (ops.softmax_backward, ops.softmax_backward_op),
    "cross_entropy": (ops.xent, ops.xent_op),
    "cross_entropy_backward": (ops.xent_grad, ops.xent_grad_op),
    "softmax_hvp": (ops.hvp, ops.hvp_op),
}


@pytest.mark.parametrize("name, op, args", _op_cases(), ids=[c[0] for c in _op_cases()])
def test_plain_eager_calls_equal_the_registered_op_with_gradients_of_two_orders(name, op, args):
    # eager calls on ordinary tensors skip the custom-op dispatch; the values, the gradients and
    # the gradients of the gradients must be the op's, bit for bit
    fast = next(f for f, o in _EAGER.values() if o is op)

    def run(f):
        leaves = [
            a.clone().requires_grad_(a.dtype.is_floating_point) if isinstance(a, torch.Tensor) else a
            for a in args
        ]
        out = f(*leaves)
        tensors = [a for a in leaves if isinstance(a, torch.Tensor) and a.requires_grad]
        first = torch.autograd.grad(out.sum(), tensors, create_graph=True, allow_unused=True)
        used = [(a, g) for a, g in zip(tensors, first, strict=True) if g is not None]
        second = torch.autograd.grad(
            sum((g * g).sum() for _, g in used), [a for a, _ in used], allow_unused=True
        )
        return [out, *[g for _, g in used], *[g for g in second if g is not None]]

    for a, b in zip(run(fast), run(op), strict=True):
        assert torch.equal(a, b)


# ----------------------------------------------------------------------------- values against torch

X = randn(6, 9, scale=3.0)
T = labels(6, 9)
Y = probs(6, 9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x: dlmath.logsumexp(x, axis=-1), lambda x: torch.logsumexp(x, -1)),
        (lambda x: dlmath.logsumexp(x, axis=0, keepdims=True), lambda x: torch.logsumexp(x, 0, keepdim=True)),
        (lambda x: dlmath.logsumexp(x), lambda x: torch.logsumexp(x.reshape(-1), 0)),
        (lambda x: dlmath.softmax(x), lambda x: torch.softmax(x, -1)),
        (lambda x: dlmath.softmax(x, axis=0, temperature=0.5), lambda x: torch.softmax(x / 0.5, 0)),
        (lambda x: dlmath.log_softmax(x), lambda x: torch.log_softmax(x, -1)),
        (lambda x: dlmath.log_softmax(x.T, axis=0), lambda x: torch.log_softmax(x.T, 0)),
        (lambda x: dlmath.cross_entropy(x, T), lambda x: F.cross_entropy(x, T)),
        (
            lambda x: dlmath.cross_entropy(x, Y.to(x.dtype), reduction="sum"),
            lambda x: F.cross_entropy(x, Y.to(x.dtype), reduction="sum"),
        ),
        (
            lambda x: dlmath.cross_entropy(x.T, T, axis=0, reduction="none"),
            lambda x: F.cross_entropy(x, T, reduction="none"),
        ),
    ],
)
def test_values_and_gradients_equal_torch(ours, theirs, dtype):
    xa = X.to(dtype).clone().requires_grad_()
    xb = X.to(dtype).clone().requires_grad_()
    a, b = ours(xa), theirs(xb)
    tol = 1e-12 if dtype == torch.float64 else 2e-6
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    cot = torch.randn(a.shape, generator=rng(7), dtype=dtype)
    a.backward(cot)
    b.backward(cot)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=tol, atol=tol)


@torch_jit_setup
@pytest.mark.parametrize(
    "f",
    [
        lambda x: dlmath.logsumexp(x, axis=-1),
        lambda x: dlmath.logsumexp(x, axis=(0, 1)),
        lambda x: dlmath.smooth_max(x, axis=0, temperature=0.3),
        lambda x: dlmath.softmax(x, temperature=0.7),
        lambda x: dlmath.log_softmax(x, axis=0),
        lambda x: dlmath.log_softmax(x, temperature=0.4),
        lambda x: dlmath.cross_entropy(x, T[:5] % 7),
        lambda x: dlmath.cross_entropy(x, Y[:5, :7], reduction="none"),
        lambda x: dlmath.cross_entropy_grad(x, T[:5] % 7),
        lambda x: dlmath.cross_entropy_grad(x, Y[:5, :7], reduction="sum"),
        lambda x: dlmath.softmax_hvp(x, Y[:5, :7]),
        lambda x: dlmath.cross_entropy(x, T[:5] % 7, weight=Y[0, :7], ignore_index=3, label_smoothing=0.2),
        lambda x: dlmath.cross_entropy(
            x, Y[:5, :7], weight=Y[1, :7], label_smoothing=0.1, where=Y[:5, :7] > 0.2
        ),
        lambda x: dlmath.logsumexp(x, axis=1, b=Y[0, :7] + 0.1),
        lambda x: dlmath.logsumexp(x, axis=1, where=Y[:5, :7] > 0.2),
    ],
    ids=[
        "logsumexp",
        "logsumexp all",
        "smooth_max",
        "softmax",
        "log_softmax",
        "log_softmax temperature",
        "cross_entropy",
        "cross_entropy probabilities",
        "cross_entropy_grad",
        "cross_entropy_grad probabilities",
        "softmax_hvp",
        "cross_entropy weight ignore smoothing",
        "cross_entropy probabilities weight smoothing where",
        "logsumexp b",
        "logsumexp where",
    ],
)
def test_gradcheck_batched_and_second_order(f):
    x = randn(5, 7, seed=11).requires_grad_()
    assert torch.autograd.gradcheck(
        f, (x,), check_batched_grad=True, check_forward_ad=True, check_batched_forward_grad=True
    )
    assert torch.autograd.gradgradcheck(f, (x,))


@torch_jit_setup
def test_gradient_in_a_probability_target_is_minus_log_softmax_also_where_it_is_zero():
    z = randn(4, 6, seed=12)
    y = probs(4, 6, seed=13)
    y[0, 2] = 0.0
    y[3] = 0.0
    ya, yb = y.clone().requires_grad_(), y.clone().requires_grad_()
    dlmath.cross_entropy(z, ya, reduction="sum").backward()
    F.cross_entropy(z, yb, reduction="sum").backward()
    torch.testing.assert_close(ya.grad, -torch.log_softmax(z, -1), rtol=1e-13, atol=0)
    torch.testing.assert_close(ya.grad, yb.grad, rtol=1e-13, atol=0)
    y_pos = (y + 0.1).requires_grad_()  # finite differences step around each entry: keep them >= 0
    assert torch.autograd.gradcheck(
        lambda yy: dlmath.cross_entropy(z, yy), (y_pos,), check_batched_grad=True, check_forward_ad=True
    )


def test_hessian_by_torch_func_jacrev_twice_is_the_softmax_hessian():
    z = randn(5, seed=14)
    H = torch.func.jacrev(torch.func.jacrev(lambda a: dlmath.logsumexp(a)))(z)
    torch.testing.assert_close(H, torch.as_tensor(dlmath.softmax_hessian(z.numpy())), rtol=1e-13, atol=1e-15)
    Hc = torch.func.jacrev(torch.func.jacrev(lambda a: dlmath.cross_entropy(a[None], torch.tensor([2]))))(z)
    torch.testing.assert_close(Hc, H, rtol=1e-13, atol=1e-15)


def test_hvp_is_the_double_backward_of_lse():
    z = randn(3, 8, seed=15).requires_grad_()
    v = randn(3, 8, seed=16)
    (g,) = torch.autograd.grad(dlmath.logsumexp(z, axis=-1).sum(), z, create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), z)
    torch.testing.assert_close(dlmath.softmax_hvp(z.detach(), v), hv, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------------------- vmap, meta, compile


def test_vmap_equals_a_loop_over_the_batch():
    xb = randn(3, 5, 7, seed=17)
    tb = torch.stack([labels(5, 7, seed=s) for s in range(3)])
    for f in (
        lambda a, b: dlmath.cross_entropy(a, b),
        lambda a, b: dlmath.cross_entropy(a, b, reduction="sum"),
        lambda a, b: dlmath.cross_entropy_grad(a, b),
        lambda a, b: dlmath.logsumexp(a, axis=0),
        lambda a, b: dlmath.softmax(a, axis=0),
        lambda a, b: dlmath.cross_entropy(a, b, ignore_index=2, label_smoothing=0.1),
    ):
        got = torch.func.vmap(f)(xb, tb)
        torch.testing.assert_close(
            got, torch.stack([f(xb[i], tb[i]) for i in range(3)]), rtol=1e-13, atol=1e-15
        )
    g = torch.func.vmap(torch.func.grad(lambda a, b: dlmath.cross_entropy(a, b)))(xb, tb)
    torch.testing.assert_close(g, torch.stack([dlmath.cross_entropy_grad(xb[i], tb[i]) for i in range(3)]))


def test_a_bad_label_under_vmap_is_nan_for_its_example_only():
    xb = randn(3, 5, 7, seed=18)
    tb = torch.stack([labels(5, 7, seed=s) for s in range(3)])
    tb[1, 2] = 7
    out = torch.func.vmap(lambda a, b: dlmath.cross_entropy(a, b))(xb, tb)
    assert torch.isnan(out[1]) and torch.isfinite(out[[0, 2]]).all()
    per = torch.func.vmap(lambda a, b: dlmath.cross_entropy(a, b, reduction="none"))(xb, tb)
    assert torch.isnan(per[1, 2]) and torch.isfinite(per).sum() == 14


def test_meta_tensors_give_shapes_and_dtypes():
    z = torch.empty(4, 10, device="meta")
    t = torch.empty(4, dtype=torch.long, device="meta")
    assert dlmath.cross_entropy(z, t).shape == ()
    assert dlmath.cross_entropy(z, t, reduction="none").shape == (4,)
    assert dlmath.cross_entropy_grad(z, t).shape == (4, 10)
    assert dlmath.logsumexp(z, axis=1).shape == (4,)
    assert dlmath.softmax(z).device.type == "meta"
    assert dlmath.log_softmax(z, dtype=torch.float64).dtype == torch.float64
    assert dlmath.softmax_hvp(z, z).shape == (4, 10)


def _breaks(f, *args):
    import torch._dynamo

    torch._dynamo.reset()
    return torch._dynamo.explain(f)(*args).graph_break_count


@torch_jit_setup
def test_torch_compile_fullgraph_has_no_graph_break_and_matches_eager():
    z = randn(6, 9, seed=19).requires_grad_()
    t = labels(6, 9, seed=20)

    def loss(a, b):
        return (
            dlmath.cross_entropy(a, b)
            + dlmath.cross_entropy(
                a, b, weight=torch.ones(9, dtype=a.dtype), ignore_index=1, label_smoothing=0.1
            )
            + dlmath.logsumexp(a, axis=-1).sum()
            + dlmath.log_softmax(a).sum()
            + dlmath.softmax(a, where=a > 0).sum()
        )

    assert _breaks(loss, z, t) == 0
    compiled = torch.compile(loss, fullgraph=True)
    got = compiled(z, t)
    ref = loss(z, t)
    torch.testing.assert_close(got, ref)
    (g1,) = torch.autograd.grad(got, z)
    (g2,) = torch.autograd.grad(ref, z)
    torch.testing.assert_close(g1, g2)
    bad = t.clone()
    bad[0] = 99
    assert torch.isnan(compiled(z, bad))
    with pytest.raises(ValueError, match=r"target index 99 at position \(0,\) is out of range for 9 classes"):
        loss(z, bad)


# ----------------------------------------------------------------------------- the CPU kernels' glue


def test_labels_are_never_copied_to_the_host(monkeypatch):
    import dlmath._array

    def refuse(a):
        raise AssertionError("to_numpy called")

    monkeypatch.setattr(dlmath._array, "to_numpy", refuse)
    z = randn(8, 5, dtype=torch.float32).requires_grad_()
    t = labels(8, 5)
    dlmath.cross_entropy(z, t).backward()
    dlmath.cross_entropy_grad(z.detach(), t)
    dlmath.cross_entropy(z.detach(), probs(8, 5, dtype=torch.float32))


def test_the_kernels_read_the_tensor_in_place(monkeypatch):
    if not _kernels.available():
        pytest.skip("the compiled kernels are not in use")
    seen = []
    real = _kernels.call

    def spy(name, R, K, pre, post):
        seen.append(pre[1])
        return real(name, R, K, pre, post)

    monkeypatch.setattr(_kernels, "call", spy)
    z = randn(16, 40, dtype=torch.float32)
    dlmath.softmax(z)
    dlmath.logsumexp(z, axis=-1)
    dlmath.cross_entropy(z, labels(16, 40))
    assert seen == [z.data_ptr()] * 3
    zt = randn(40, 16, dtype=torch.float32).T  # columns: made contiguous once
    torch.testing.assert_close(dlmath.softmax(zt), torch.softmax(zt.contiguous(), -1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_kernels_and_the_torch_composite_agree(dtype):
    z = randn(7, 300, seed=21, dtype=torch.float32).to(dtype)
    t = labels(7, 300, seed=22)
    y = probs(7, 300, seed=23).to(dtype)
    v = randn(7, 300, seed=24).to(dtype)
    fns = [
        lambda: dlmath.logsumexp(z, axis=-1),
        lambda: dlmath.softmax(z, temperature=0.5),
        lambda: dlmath.log_softmax(z),
        lambda: dlmath.cross_entropy(z, t, reduction="none"),
        lambda: dlmath.cross_entropy(z, y),
        lambda: dlmath.cross_entropy_grad(z, t),
        lambda: dlmath.softmax_hvp(z, v),
    ]
    eps = torch.finfo(dtype).eps
    for f in fns:
        fast = f()
        with _kernels.off():
            slow = f()
        assert fast.dtype == slow.dtype == dtype
        scale = slow.abs().max().double()
        assert (fast.double() - slow.double()).abs().max() <= 4 * eps * max(float(scale), 1.0)


def test_bfloat16_is_computed_in_float32_and_rounded_once():
    x = randn(64, 500, seed=25, dtype=torch.float32).to(torch.bfloat16)
    ref = torch.softmax(x.double(), -1)
    got = dlmath.softmax(x)
    assert got.dtype == torch.bfloat16
    ulp = torch.finfo(torch.bfloat16).eps * ref.abs()
    err = (got.double() - ref).abs()
    assert (err <= 0.5 * ulp + 1e-30).float().mean() > 0.99 and (err <= ulp).all()
    lse = dlmath.logsumexp(x, axis=-1)
    torch.testing.assert_close(lse, torch.logsumexp(x.double(), -1).to(torch.bfloat16), rtol=0, atol=0)
    y = probs(64, 500, seed=26).to(torch.bfloat16)
    loss = dlmath.cross_entropy(x, y, reduction="none")  # a bfloat16 target used to raise TypeError
    ref_loss = F.cross_entropy(x.double(), y.double(), reduction="none").to(torch.bfloat16)
    torch.testing.assert_close(loss, ref_loss, rtol=2 * 2**-8, atol=0)
    mixed = dlmath.cross_entropy(x.float(), y, reduction="none")
    torch.testing.assert_close(mixed, F.cross_entropy(x.double(), y.double(), reduction="none").float())


def test_mean_over_an_empty_batch_is_nan_attached_to_autograd():
    z = torch.zeros(0, 3, requires_grad=True)
    t = torch.zeros(0, dtype=torch.long)
    out = dlmath.cross_entropy(z, t)
    assert math.isnan(float(out.detach())) and out.requires_grad
    out.backward()
    assert z.grad.shape == (0, 3)
    assert math.isnan(float(F.cross_entropy(z, t).detach()))


def test_softmax_dtype_is_torch_dtype():
    x = randn(3, 5, dtype=torch.float32)
    for f, ref in ((dlmath.softmax, torch.softmax), (dlmath.log_softmax, torch.log_softmax)):
        got = f(x, dtype=torch.float64)
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, ref(x, -1, dtype=torch.float64), rtol=1e-14, atol=1e-15)
    with pytest.raises(TypeError, match=r"softmax: 'dtype' must be a floating torch dtype"):
        dlmath.softmax(x, dtype=torch.int64)


def test_inference_mode_and_no_grad():
    x = randn(4, 6, dtype=torch.float32)
    with torch.inference_mode():
        a = dlmath.cross_entropy(x, labels(4, 6))
    with torch.no_grad():
        b = dlmath.cross_entropy(x.requires_grad_(), labels(4, 6))
    assert not b.requires_grad
    torch.testing.assert_close(a, b)


def test_calls_autograd_does_not_track_equal_the_op_and_carry_no_graph():
    # with no input requiring grad (or grad off) a plain eager call runs the op's body alone
    x, t = randn(5, 7, dtype=torch.float32), labels(5, 7)
    for f, op, args in [
        (ops.softmax, ops.softmax_op, (x, 0.5, False)),
        (ops.softmax, ops.softmax_op, (x, 1.0, True)),
        (ops.logsumexp, ops.logsumexp_op, (x,)),
        (ops.xent, ops.xent_op, (x, t, 2, False)),
    ]:
        out = f(*args)
        assert torch.equal(out, op(*args)) and out.grad_fn is None and not out.requires_grad
        with torch.no_grad():
            assert torch.equal(f(x.clone().requires_grad_(), *args[1:]), out)
    tracked = ops.softmax(x.clone().requires_grad_(), 1.0, False)
    assert tracked.grad_fn is not None


@torch_jit_setup
@pytest.mark.parametrize("name, op, args", _op_cases(), ids=[c[0] for c in _op_cases()])
def test_forward_mode_of_every_op_in_every_input_passes_gradcheck(name, op, args):
    # dual tensors take the eager twin's jvp; the batched check runs it under vmap (the functorch twin)
    fast = next(f for f, o in _EAGER.values() if o is op)
    leaves = tuple(
        a.clone().requires_grad_(a.dtype.is_floating_point) if isinstance(a, torch.Tensor) else a
        for a in args
    )
    assert torch.autograd.gradcheck(
        fast, leaves, check_forward_ad=True, check_backward_ad=False, check_batched_forward_grad=True
    )


@torch_jit_setup
def test_dual_tensors_carry_the_tangent_of_torch_own_functions():
    import torch.autograd.forward_ad as fwad

    x, v = randn(3, 4, seed=40), randn(3, 4, seed=41)
    t = labels(3, 4)
    cases = [
        (lambda a: dlmath.softmax(a, temperature=0.5), lambda a: torch.softmax(a / 0.5, -1)),
        (lambda a: dlmath.log_softmax(a, axis=0), lambda a: torch.log_softmax(a, 0)),
        (lambda a: dlmath.logsumexp(a, axis=-1), lambda a: torch.logsumexp(a, -1)),
        (lambda a: dlmath.cross_entropy(a, t), lambda a: F.cross_entropy(a, t)),
    ]
    for ours, theirs in cases:
        with fwad.dual_level(), torch.no_grad():
            a = fwad.unpack_dual(ours(fwad.make_dual(x, v)))
            b = fwad.unpack_dual(theirs(fwad.make_dual(x, v)))
        torch.testing.assert_close(a.primal, b.primal, rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(a.tangent, b.tangent, rtol=1e-12, atol=1e-14)


@torch_jit_setup
def test_torch_func_hessian_forward_over_reverse_equals_torch_own_ops():
    z = randn(4, 6, seed=42)
    t = labels(4, 6)
    y = probs(4, 6, seed=43)
    for ours, theirs in [
        (lambda a: dlmath.cross_entropy(a, t), lambda a: F.cross_entropy(a, t)),
        (
            lambda a: dlmath.cross_entropy(a, y, reduction="sum"),
            lambda a: F.cross_entropy(a, y, reduction="sum"),
        ),
        (
            lambda a: dlmath.cross_entropy(a, t, label_smoothing=0.2, ignore_index=1),
            lambda a: F.cross_entropy(a, t, label_smoothing=0.2, ignore_index=1),
        ),
        (
            lambda a: (dlmath.softmax(a, temperature=0.7) ** 3).sum(),
            lambda a: (torch.softmax(a / 0.7, -1) ** 3).sum(),
        ),
        (lambda a: dlmath.log_softmax(a).square().sum(), lambda a: torch.log_softmax(a, -1).square().sum()),
    ]:
        H = torch.func.hessian(ours)(z)
        torch.testing.assert_close(H, torch.func.hessian(theirs)(z), rtol=1e-11, atol=1e-13)
    # the third derivative of the LSE, forward over forward over reverse
    w = randn(5, seed=44)
    D3 = torch.func.jacfwd(torch.func.jacfwd(torch.func.jacrev(dlmath.logsumexp)))(w)
    ref = torch.func.jacfwd(torch.func.jacfwd(torch.func.jacrev(lambda a: torch.logsumexp(a, 0))))(w)
    torch.testing.assert_close(D3, ref, rtol=1e-11, atol=1e-13)
