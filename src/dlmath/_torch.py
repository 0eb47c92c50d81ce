r"""dlmath's functions as registered torch ops (namespace ``dlmath``), each over the last dimension.

``torch.library.custom_op`` with, for every op, a fake implementation (shapes for
``torch.compile`` and meta tensors), a vmap rule (batch dimensions moved in front, where every op
already batches) and the derivative from the derivations:

.. math::
    \nabla_x \mathrm{LSE} = \mathrm{softmax}(x), \qquad
    J_{\mathrm{softmax}}^\top g = p \odot g - p\,(p^\top g), \qquad
    J_{\log\mathrm{softmax}}^\top g = g - p \textstyle\sum_k g_k,

.. math::
    \nabla_z \mathrm{CE} = \Bigl(\sum_k y_k\Bigr) p - y, \qquad
    \nabla_y \mathrm{CE} = -\log \mathrm{softmax}(z), \qquad
    \nabla_z^2 \mathrm{CE}\,u = \Bigl(\sum_k y_k\Bigr)\bigl(p \odot u - p\,(p^\top u)\bigr),

and, for :math:`h = p \odot v - p\,(p^\top v)`, :math:`\nabla_v (u^\top h) = Hu` and
:math:`\nabla_z (u^\top h) = H\bigl(u \odot (v - p^\top v) - (u^\top p)\,v\bigr)`, so derivatives
of every order stay inside these ops. Forward mode takes the same formulas as ``jvp`` rules
(the softmax's and the HVP's Jacobians are symmetric, so there they are the backward's), on the
``autograd.Function`` twins below: eager dual tensors and ``torch.func.jvp``/``jacfwd``/``hessian``
work; the registered op itself has no forward-mode formula (``torch.library`` has no place for
one). The softmax backward is an op of its own
(``dlmath::softmax_backward``, the formula above on the saved output, with its own derivative), so
a forward and backward run on the same compiled kernels and thread pool. The bodies are in
:mod:`dlmath._torch_rows`: the compiled kernels on CPU tensors, torch operations elsewhere.

Each op has a callable of the same name without ``_op`` (``logsumexp``, ``softmax``, ...), which
the public functions use (see :func:`_dispatch`): the op itself under ``torch.compile``, on fake
and meta tensors, tensor subclasses and dispatch modes; while a ``torch.func`` transform is
active, an ``autograd.Function`` twin with the same setup and backward and a generated vmap rule,
since ``register_autograd`` does not reach ``torch.func.grad``/``jacrev`` yet (PyTorch issues
#168393, #170834); and for plain eager calls an ``autograd.Function`` around the op's body, which
spares the custom-op dispatch (tens of microseconds of Python per call), or the body alone where
autograd records nothing (no input requires grad, or grad is off).
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as _fwad
from torch import Tensor

from . import _torch_rows as rows

__all__ = ["logsumexp", "softmax", "softmax_backward", "xent", "xent_grad", "hvp"]

_RED = rows.REDUCTIONS


_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
_legacy_batched = torch._C._functorch.is_legacy_batchedtensor
_functional = torch._C._functorch.is_functionaltensor


def _plain(args):
    """True when every tensor argument is an ordinary tensor and no mode or compiler is watching:
    the op's body can then run without the dispatcher (the results are the same)."""
    for a in args:
        if isinstance(a, Tensor) and (
            type(a) is not Tensor or a.is_meta or _wrapped(a) or _legacy_batched(a) or _functional(a)
        ):
            return False
    return not (torch._C._len_torch_dispatch_stack() or torch._C._is_torch_function_mode_enabled())


def _untracked(args):
    """True when autograd records nothing for this call: no input requires grad (or grad is off)
    and no forward-mode level is open. ``autograd.Function.apply`` then only costs its Python."""
    if _fwad._current_level >= 0:
        return False
    if not torch.is_grad_enabled():
        return True
    return not any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _save(ctx, *tensors):
    """Save ``tensors`` for the backward and, where forward mode may ask (a dual level open or a
    ``torch.func`` transform active), for the ``jvp`` too."""
    ctx.save_for_backward(*tensors)
    if _fwad._current_level >= 0 or torch._C._are_functorch_transforms_active():
        ctx.save_for_forward(*tensors)


def _tangent(t):
    """The tangent ``t`` contiguous, as the bodies return their outputs: torch requires a tangent
    in its primal's layout where the output is then viewed (a moved axis)."""
    return t.contiguous()


def _dispatch(op, body, setup, backward, jvp):
    """The op, with an ``autograd.Function`` twin for ``torch.func`` transforms and one for plain
    eager calls, as one callable. The twins also carry the forward-mode rule ``jvp``
    (``torch.func.jvp``, ``jacfwd``, ``hessian``, dual tensors), which ``register_autograd`` has
    no place for.

    ``torch.func`` transforms take the twin whose forward is the op (``register_autograd`` does
    not reach them). Plain eager calls on ordinary tensors take a twin whose forward is the op's
    body: the same computation and derivative without the custom-op dispatch, which costs tens
    of microseconds of Python per call, as much as a (512, 1000) softmax. Compiled code, fake and
    meta tensors, tensor subclasses and dispatch modes always see the registered op.
    """
    members = {
        "setup_context": staticmethod(setup),
        "backward": staticmethod(backward),
        "jvp": staticmethod(jvp),
    }
    twin = type(
        f"{op._name}_function",
        (torch.autograd.Function,),
        {"forward": staticmethod(lambda *args: op(*args)), "generate_vmap_rule": True, **members},
    )

    def forward(ctx, *args):  # the ctx-first form: with setup_context, apply() binds by inspect.signature
        out = body(*args)
        setup(ctx, args, out)
        return out

    eager = type(
        f"{op._name}_eager",
        (torch.autograd.Function,),
        {"forward": staticmethod(forward), "backward": staticmethod(backward), "jvp": staticmethod(jvp)},
    )

    def call(*args):
        if torch._C._are_functorch_transforms_active():
            return twin.apply(*args)
        if not torch.compiler.is_compiling() and _plain(args):  # the compiler stops at the first test
            if _untracked(args):
                return body(*args)
            return eager.apply(*args)
        return op(*args)

    return call


def _front(x, bdim, size):
    """``x`` with its vmap dimension in front (an unbatched ``x`` expanded to ``size``)."""
    if bdim is None:
        return x.expand(size, *x.shape)
    return x.movedim(bdim, 0)


# ----------------------------------------------------------------------------- LogSumExp


@torch.library.custom_op("dlmath::logsumexp", mutates_args=())
def logsumexp_op(x: Tensor) -> Tensor:
    """LSE of the last dimension."""
    return rows.lse(x)


@logsumexp_op.register_fake
def _(x):
    return x.new_empty(x.shape[:-1])


def _lse_setup(ctx, inputs, output):
    _save(ctx, inputs[0])


def _first_order(*tensors):
    """True in a backward that records no graph (no ``create_graph``) on ordinary tensors: the
    bodies can then be called directly, since nothing will differentiate them again."""
    return not torch.is_grad_enabled() and _plain(tensors)


def _lse_backward(ctx, g):
    (x,) = ctx.saved_tensors
    if _first_order(x, g):
        return rows.normalise(x, 1.0, False).mul_(g.unsqueeze(-1))
    return g.unsqueeze(-1) * softmax(x, 1.0, False)


def _lse_jvp(ctx, dx):
    r""":math:`d\,\mathrm{LSE} = p^\top dx`."""
    (x,) = ctx.saved_tensors
    return _tangent((softmax(x, 1.0, False) * dx).sum(-1))


logsumexp_op.register_autograd(_lse_backward, setup_context=_lse_setup)
logsumexp = _dispatch(logsumexp_op, rows.lse, _lse_setup, _lse_backward, _lse_jvp)


@logsumexp_op.register_vmap
def _(info, in_dims, x):
    return logsumexp_op(_front(x, in_dims[0], info.batch_size)), 0


# ----------------------------------------------------------------------------- softmax, log-softmax


@torch.library.custom_op("dlmath::softmax", mutates_args=())
def softmax_op(x: Tensor, temperature: float, log: bool) -> Tensor:
    """Softmax (``log``: log-softmax) of ``x / temperature`` over the last dimension."""
    return rows.normalise(x, temperature, log)


@softmax_op.register_fake
def _(x, temperature, log):
    return torch.empty_like(x)


def _softmax_setup(ctx, inputs, output):
    ctx.temperature, ctx.log = inputs[1], inputs[2]
    _save(ctx, output)


def _softmax_backward(ctx, g):
    (out,) = ctx.saved_tensors
    if _first_order(out, g):
        return rows.normalise_backward(out, g, ctx.temperature, ctx.log), None, None
    return softmax_backward(out, g, ctx.temperature, ctx.log), None, None


def _softmax_jvp(ctx, dx, _t, _l):
    r"""The softmax's Jacobian is symmetric, so :math:`J\,dx` is the backward's formula;
    the log-softmax's is :math:`(dx - (p^\top dx)\,\mathbf 1)/\tau`."""
    (y,) = ctx.saved_tensors
    if ctx.log:
        return _tangent((dx - (torch.exp(y) * dx).sum(-1, keepdim=True)) / ctx.temperature)
    return _tangent(softmax_backward(y, dx, ctx.temperature, False))


softmax_op.register_autograd(_softmax_backward, setup_context=_softmax_setup)
softmax = _dispatch(softmax_op, rows.normalise, _softmax_setup, _softmax_backward, _softmax_jvp)


@softmax_op.register_vmap
def _(info, in_dims, x, temperature, log):
    return softmax_op(_front(x, in_dims[0], info.batch_size), temperature, log), 0


@torch.library.custom_op("dlmath::softmax_backward", mutates_args=())
def softmax_backward_op(y: Tensor, g: Tensor, temperature: float, log: bool) -> Tensor:
    """:math:`J^\\top g` of softmax (``log``: log-softmax) of ``x / temperature`` from its output
    ``y``: ``y * (g - sum(y * g)) / temperature``, or ``(g - exp(y) * sum(g)) / temperature``."""
    return rows.normalise_backward(y, g, temperature, log)


@softmax_backward_op.register_fake
def _(y, g, temperature, log):
    return torch.empty_like(y)


def _softmax_backward_setup(ctx, inputs, output):
    y, g, ctx.temperature, ctx.log = inputs
    _save(ctx, y, g)


def _softmax_backward_backward(ctx, u):
    """With :math:`c = y^\\top g`: :math:`\\partial_g = y \\odot (u - y^\\top u)/\\tau` (the op
    itself), :math:`\\partial_y = (u \\odot (g - c) - g\\,(u^\\top y))/\\tau`; for the log-softmax,
    :math:`\\partial_g = (u - (e^y)^\\top u)/\\tau` and :math:`\\partial_y = -e^y \\odot u \\sum_k g_k/\\tau`."""
    y, g = ctx.saved_tensors
    tau = ctx.temperature
    gy = gg = None
    if ctx.log:
        e = torch.exp(y)
        if ctx.needs_input_grad[1]:
            gg = (u - (e * u).sum(-1, keepdim=True)) / tau
        if ctx.needs_input_grad[0]:
            gy = -(e * u) * (g.sum(-1, keepdim=True) / tau)
    else:
        if ctx.needs_input_grad[1]:
            gg = softmax_backward(y, u, tau, False)
        if ctx.needs_input_grad[0]:
            c = (y * g).sum(-1, keepdim=True)
            gy = (u * (g - c) - g * (u * y).sum(-1, keepdim=True)) / tau
    return gy, gg, None, None


def _softmax_backward_jvp(ctx, dy, dg, _t, _l):
    r"""For :math:`h = y \odot (g - y^\top g)/\tau`: :math:`dh = y \odot (dg - y^\top dg)/\tau +
    (dy \odot (g - y^\top g) - y\,(dy^\top g))/\tau`; for :math:`h = (g - e^y \sum_k g_k)/\tau`:
    :math:`dh = (dg - e^y \sum_k dg_k - e^y \odot dy \sum_k g_k)/\tau`."""
    y, g = ctx.saved_tensors
    tau = ctx.temperature
    out = None
    if ctx.log:
        e = torch.exp(y)
        if dg is not None:
            out = (dg - e * dg.sum(-1, keepdim=True)) / tau
        if dy is not None:
            part = -(e * dy) * (g.sum(-1, keepdim=True) / tau)
            out = part if out is None else out + part
    else:
        if dg is not None:
            out = softmax_backward(y, dg, tau, False)
        if dy is not None:
            c = (y * g).sum(-1, keepdim=True)
            part = (dy * (g - c) - y * (dy * g).sum(-1, keepdim=True)) / tau
            out = part if out is None else out + part
    return _tangent(out)


softmax_backward_op.register_autograd(_softmax_backward_backward, setup_context=_softmax_backward_setup)
softmax_backward = _dispatch(
    softmax_backward_op,
    rows.normalise_backward,
    _softmax_backward_setup,
    _softmax_backward_backward,
    _softmax_backward_jvp,
)


@softmax_backward_op.register_vmap
def _(info, in_dims, y, g, temperature, log):
    B = info.batch_size
    return softmax_backward_op(_front(y, in_dims[0], B), _front(g, in_dims[1], B), temperature, log), 0


# ----------------------------------------------------------------------------- cross-entropy


@torch.library.custom_op("dlmath::cross_entropy", mutates_args=())
def xent_op(logits: Tensor, target: Tensor, reduction: int, check: bool) -> Tensor:
    """Cross-entropy of the rows of ``logits`` against class indices or weights, reduced by
    ``("none", "sum", "mean")[reduction]``; NaN for a bad target (``check``: raise on the CPU)."""
    return rows.xent(logits, target, _RED[reduction], check)


@xent_op.register_fake
def _(logits, target, reduction, check):
    return logits.new_empty(logits.shape[:-1] if reduction == 0 else ())


def _xent_setup(ctx, inputs, output):
    logits, target, reduction, _ = inputs
    ctx.reduction = reduction
    _save(ctx, logits, target)


def _mean_factor(ctx, logits):
    if ctx.reduction == 2:
        n = logits.numel() // logits.shape[-1] if logits.shape[-1] else 0
        return 1.0 / n if n else 1.0
    return 1.0


def _xent_backward(ctx, g):
    logits, target = ctx.saved_tensors
    f = _mean_factor(ctx, logits)
    grad = rows.xent_grad if _first_order(logits, target, g) else xent_grad
    gz = grad(logits, target, g, f, False) if ctx.needs_input_grad[0] else None
    gt = None
    if ctx.needs_input_grad[1]:
        gt = -(g.unsqueeze(-1) if g.dim() else g) * f * softmax(logits, 1.0, True)
    return gz, gt, None, None


def _xent_jvp(ctx, dz, dt, _r, _c):
    r"""Per row :math:`d\,\mathrm{CE} = ((\sum_k y_k) p - y)^\top dz - \log \mathrm{softmax}(z)^\top dy`,
    then reduced as the loss is."""
    logits, target = ctx.saved_tensors
    per = None
    if dz is not None:
        unit = torch.ones((), dtype=logits.dtype, device=logits.device)
        per = (xent_grad(logits, target, unit, 1.0, False) * dz).sum(-1)
    if dt is not None and target.dtype.is_floating_point:
        # torch passes zeros for a target without a tangent: a masked class (log p = -inf) adds 0
        part = -torch.where(dt == 0, 0.0, softmax(logits, 1.0, True) * dt).sum(-1)
        per = part if per is None else per + part
    if per is None:
        per = logits.new_zeros(logits.shape[:-1])
    return _tangent(per if ctx.reduction == 0 else per.sum() * _mean_factor(ctx, logits))


xent_op.register_autograd(_xent_backward, setup_context=_xent_setup)
xent = _dispatch(
    xent_op,
    lambda z, t, red, check: rows.xent(z, t, _RED[red], check),
    _xent_setup,
    _xent_backward,
    _xent_jvp,
)


@xent_op.register_vmap
def _(info, in_dims, logits, target, reduction, check):
    B = info.batch_size
    z, t = _front(logits, in_dims[0], B), _front(target, in_dims[1], B)
    per = xent_op(z, t, 0, False)
    if reduction == 0:
        return per, 0
    dims = tuple(range(1, per.dim()))
    total = per.sum(dims) if dims else per
    if reduction == 2:
        n = per[0].numel()
        total = total / n if n else total * float("nan")
    return total, 0


@torch.library.custom_op("dlmath::cross_entropy_backward", mutates_args=())
def xent_grad_op(logits: Tensor, target: Tensor, scale: Tensor, factor: float, check: bool) -> Tensor:
    """``factor * scale * ((sum_k y_k) p - y)`` per row; ``scale`` 0-d or of the batch shape (a
    float ``factor`` beside it spares the backward of a mean one tensor operation)."""
    return rows.xent_grad(logits, target, scale, factor, check)


@xent_grad_op.register_fake
def _(logits, target, scale, factor, check):
    return torch.empty_like(logits)


def _xent_grad_setup(ctx, inputs, output):
    logits, target, scale, factor, _ = inputs
    ctx.factor = factor
    _save(ctx, logits, target, scale)


def _xent_grad_backward(ctx, u):
    logits, target, scale = ctx.saved_tensors
    prob = target.dtype.is_floating_point
    s = (scale.unsqueeze(-1) if scale.dim() else scale) * ctx.factor
    mass = target.sum(-1, keepdim=True) if prob else 1.0
    gz = gt = gs = None
    if ctx.needs_input_grad[0]:
        gz = hvp(logits, u) * (s * mass)
    if prob and ctx.needs_input_grad[1]:
        p = softmax(logits, 1.0, False)
        gt = s * ((p * u).sum(-1, keepdim=True) - u)
    if ctx.needs_input_grad[2]:
        unit = xent_grad(logits, target, torch.ones((), dtype=logits.dtype), ctx.factor, False)
        gs = (unit * u).sum(-1)
        gs = gs.sum() if scale.dim() == 0 else gs
    return gz, gt, gs, None, None


def _xent_grad_jvp(ctx, dz, dt, ds, _f, _c):
    r"""For :math:`G = f s ((\sum_k y_k) p - y)`: :math:`dG = f s (\sum_k y_k)\, H dz +
    f s ((\sum_k dy_k) p - dy) + f\,ds\,((\sum_k y_k) p - y)`, with :math:`H dz` the HVP."""
    logits, target, scale = ctx.saved_tensors
    prob = target.dtype.is_floating_point
    s = (scale.unsqueeze(-1) if scale.dim() else scale) * ctx.factor
    out = None
    if dz is not None:
        mass = target.sum(-1, keepdim=True) if prob else 1.0
        out = hvp(logits, dz) * (s * mass)
    if prob and dt is not None:
        part = s * (softmax(logits, 1.0, False) * dt.sum(-1, keepdim=True) - dt)
        out = part if out is None else out + part
    if ds is not None:
        part = xent_grad(logits, target, ds, ctx.factor, False)
        out = part if out is None else out + part
    return torch.zeros_like(logits) if out is None else _tangent(out)


xent_grad_op.register_autograd(_xent_grad_backward, setup_context=_xent_grad_setup)
xent_grad = _dispatch(xent_grad_op, rows.xent_grad, _xent_grad_setup, _xent_grad_backward, _xent_grad_jvp)


@xent_grad_op.register_vmap
def _(info, in_dims, logits, target, scale, factor, check):
    B = info.batch_size
    z, t = _front(logits, in_dims[0], B), _front(target, in_dims[1], B)
    s = scale if in_dims[2] is None else scale.movedim(in_dims[2], 0)
    if in_dims[2] is not None and s.dim() == 1:
        s = s.reshape(B, *([1] * (z.dim() - 2))).expand(z.shape[:-1])
    return xent_grad_op(z, t, s, factor, False), 0


# ----------------------------------------------------------------------------- softmax HVP


@torch.library.custom_op("dlmath::softmax_hvp", mutates_args=())
def hvp_op(z: Tensor, v: Tensor) -> Tensor:
    """:math:`p \\odot v - p\\,(p^\\top v)` over the last dimension, :math:`p = \\mathrm{softmax}(z)`."""
    return rows.hvp(z, v)


@hvp_op.register_fake
def _(z, v):
    return torch.empty_like(z)


def _hvp_setup(ctx, inputs, output):
    _save(ctx, *inputs)


def _hvp_backward(ctx, u):
    z, v = ctx.saved_tensors
    gz = gv = None
    if ctx.needs_input_grad[1]:
        gv = hvp(z, u)
    if ctx.needs_input_grad[0]:
        p = softmax(z, 1.0, False)
        c = (p * v).sum(-1, keepdim=True)
        w = u * (v - c) - (u * p).sum(-1, keepdim=True) * v
        gz = hvp(z, w)
    return gz, gv


def _hvp_jvp(ctx, dz, dv):
    r""":math:`h = \nabla_z (p^\top v)`, so its Jacobian in :math:`z` is a Hessian, symmetric,
    and :math:`dh` is the backward's formula applied to the tangents."""
    z, v = ctx.saved_tensors
    out = None
    if dv is not None:
        out = hvp(z, dv)
    if dz is not None:
        p = softmax(z, 1.0, False)
        c = (p * v).sum(-1, keepdim=True)
        part = hvp(z, dz * (v - c) - (dz * p).sum(-1, keepdim=True) * v)
        out = part if out is None else out + part
    return _tangent(out)


hvp_op.register_autograd(_hvp_backward, setup_context=_hvp_setup)
hvp = _dispatch(hvp_op, rows.hvp, _hvp_setup, _hvp_backward, _hvp_jvp)


@hvp_op.register_vmap
def _(info, in_dims, z, v):
    B = info.batch_size
    return hvp_op(_front(z, in_dims[0], B), _front(v, in_dims[1], B)), 0
