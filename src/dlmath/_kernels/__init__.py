r"""The compiled row kernels behind one Python face, and the switch to the NumPy path.

Every kernel works on the rows of a 2-D array ``x`` of shape ``(R, K)`` whose rows are contiguous
(unit stride along ``K``; any row stride), of dtype float64, float32, float16 or bfloat16 (an
``ml_dtypes.bfloat16`` NumPy array, what JAX hands over). float16 and bfloat16 rows are widened
to float32; float32 rows take float32 exponentials with every sum in float64, except the
LogSumExp itself, which uses float64 exponentials so that it is rounded once (on AVX2, a cheaper
float64 exponential first, with a bound on the result's error: a row that the bound leaves between
two roundings is summed again with the accurate one). Work is spread over
:mod:`dlmath._parallel`'s threads by whole rows (very long rows of :func:`lse_rows` by fixed
spans, merged in a fixed order), so results do not depend on ``DLMATH_NUM_THREADS``. The GIL is
released inside the kernels.

- ``lse_rows(x, out=None)``: :math:`\mathrm{LSE}(x_i) = m_i + \operatorname{log1p}(r_i)` per row, in x's dtype;
- ``lse_state_rows(x)``: the state ``(m, r)`` per row (float64); ``merge(m, r)`` merges states;
- ``lse_softmax_rows(x)``: ``(lse, p)``, the LSE and the softmax from one pass over each row;
- ``softmax_rows(x, out=None, *, log=False, temperature=1.0)``: softmax or log-softmax of each row;
- ``xent_rows(x, target, *, dtype=None, lse=False)``: per-row cross-entropy (and the LSE);
- ``xent_grad_rows(x, target, out=None, *, scale=1.0, loss=False, dtype=None)``:
  :math:`s\,((\sum_k y_k)\,p - y)`; ``loss=True`` fuses the loss, reading the logits once;
- ``hvp_rows(z, v, out=None)``: :math:`p\odot v - p\,(p^\top v)` per row.

``target`` is a 1-D integer array of class indices (one per row) or an ``(R, K)`` array of
non-negative weights of x's dtype. An index out of range, or a weight that is negative or not
finite, raises :class:`IndexError` / :class:`ValueError` naming the first bad row; the public
functions catch that and report it in their own words.

The C entry points themselves (``dlmath._kernels._native``) take addresses as ints
(``tensor.data_ptr()``) or as any object with the buffer protocol, sizes, row strides in elements
and the dtype codes of :data:`DTYPES`; ``csrc/rows.h`` documents them. :func:`call` runs one of
them over rows given by address, on the same threads as the functions above: that is how
:mod:`dlmath._torch_rows` hands torch CPU tensors to the kernels without a copy.

The extension chooses its instruction set at import (AVX-512, AVX2+FMA, or a portable baseline,
by ``__builtin_cpu_supports``); ``DLMATH_SIMD=avx2|baseline`` forces a lower one and
``DLMATH_KERNELS=numpy`` turns the kernels off (the library then takes its NumPy path, as it does,
with one warning, when the extension is missing).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings

import numpy as np

from .. import _parallel

__all__ = [
    "available",
    "isa",
    "isas",
    "use_isa",
    "off",
    "lse_rows",
    "softmax_backward_rows",
    "lse_state_rows",
    "lse_softmax_rows",
    "merge",
    "softmax_rows",
    "xent_rows",
    "xent_grad_rows",
    "hvp_rows",
    "call",
]

ISAS = ("avx512", "avx2", "baseline")
DTYPES = {"float64": 0, "float32": 1, "float16": 2, "bfloat16": 3}
_CODES = {np.dtype(name): code for name, code in DTYPES.items() if name != "bfloat16"}
_TARGETS = {np.dtype(np.int64): 0, np.dtype(np.int32): 1}
SPAN = 1 << 16  # rows of lse_rows longer than 2 SPAN are reduced in spans of SPAN elements

_lib = None
_loaded = False
_off = False


def _load():
    global _lib, _loaded
    _loaded = True
    if os.environ.get("DLMATH_KERNELS", "").strip().lower() == "numpy":
        return
    try:
        from . import _native as mod
    except ImportError as exc:
        warnings.warn(
            f"dlmath: the compiled kernels are not available ({exc}); using the NumPy path, which is "
            "several times slower. Reinstall dlmath where a C compiler is present to build them "
            "(set DLMATH_KERNELS=numpy to choose the NumPy path and silence this warning).",
            UserWarning,
            stacklevel=4,
        )
        return
    want = os.environ.get("DLMATH_SIMD", "").strip().lower()
    if want:
        if want not in ISAS:
            warnings.warn(
                f"dlmath: DLMATH_SIMD={want!r} is not one of {', '.join(ISAS)}; using {mod.isa()}",
                UserWarning,
                stacklevel=4,
            )
        else:
            have = mod.isas()
            lower = [i for i in ISAS[ISAS.index(want) :] if i in have]
            mod.set_isa(lower[0])
    _lib = mod


def available() -> bool:
    """True when the compiled kernels are in use (built, loadable, and not turned off)."""
    if not _loaded:
        _load()
    return _lib is not None and not _off


def isa() -> str:
    """The instruction set the kernels run: ``"avx512"``, ``"avx2"``, ``"baseline"``, or ``"numpy"``."""
    return _lib.isa() if available() else "numpy"


def xla_handlers(threads: int) -> dict:
    """The kernels as XLA custom-call handlers (``csrc/xla_ffi.h``): name -> PyCapsule, for
    ``jax.ffi.register_ffi_target``; a call may use up to ``threads`` threads."""
    return _lib_or_raise().xla_handlers(threads)


def isas() -> tuple[str, ...]:
    """The instruction sets this CPU can run, best first (empty without the kernels)."""
    return tuple(_lib.isas()) if available() else ()


@contextlib.contextmanager
def use_isa(name: str):
    """Run the kernels with instruction set ``name`` inside the block (for tests and benchmarks)."""
    if not available():
        raise RuntimeError("dlmath: the compiled kernels are not in use")
    prev = _lib.set_isa(name)
    try:
        yield
    finally:
        _lib.set_isa(prev)


@contextlib.contextmanager
def off():
    """Take the NumPy path inside the block (for tests that compare the two paths in one process)."""
    global _off
    prev, _off = _off, True
    try:
        yield
    finally:
        _off = prev


# ----------------------------------------------------------------------------- argument checks


def _code(a, name):
    code = _CODES.get(a.dtype)
    if code is None and a.dtype.name == "bfloat16" and a.dtype.itemsize == 2:
        code = _CODES[a.dtype] = DTYPES["bfloat16"]  # ml_dtypes' dtype, seen for the first time
    if code is None:
        raise TypeError(f"{name}: dtype {a.dtype} is not one of {', '.join(DTYPES)} (native byte order)")
    return code


def _matrix(a, name="x"):
    """``(R, K, row stride in elements)`` of a 2-D array with contiguous rows."""
    if type(a) is not np.ndarray or a.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D NumPy array; got {type(a).__name__} {getattr(a, 'shape', '')}"
        )
    R, K = a.shape
    if R == 0 or K == 0:
        return R, K, K
    item = a.itemsize
    s0, s1 = a.strides
    if K > 1 and s1 != item:
        raise ValueError(f"{name} must have contiguous rows (stride {item} along axis 1); got {a.strides}")
    if R > 1 and s0 % item:
        raise ValueError(f"{name}: row stride {s0} is not a multiple of the item size {item}")
    return R, K, (s0 // item if R > 1 else K)


_HUGE = 8 << 20  # bytes: a fresh output this large is advised onto huge pages (csrc/module.c)


def fresh(addr: int, nbytes: int) -> None:
    """Before a kernel first writes a just-allocated buffer of ``nbytes`` at ``addr``: for a large
    one, ask the OS for transparent huge pages, which spares most of the page faults (advice
    only; the contents and the result do not change)."""
    if nbytes >= _HUGE and available():
        _lib.advise_huge(addr, nbytes)


def _out(out, shape, dtype, name="out"):
    if out is None:
        out = np.empty(shape, dtype)
        fresh(out.ctypes.data, out.nbytes)
        return out
    if type(out) is not np.ndarray or out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{name} must have shape {shape} and dtype {dtype}; got {out.shape} {out.dtype}")
    return out  # a read-only out is refused by the buffer protocol in the call


def _target(x, target):
    """``(kind, target, code or row stride)`` of an index or weight target for the rows of x."""
    R, K = x.shape
    code = _TARGETS.get(target.dtype)
    if code is not None or target.dtype.kind in "iu":
        t = np.ascontiguousarray(target if code is not None else target.astype(np.int64))
        if t.shape != (R,):
            raise ValueError(f"target indices must have shape {(R,)}; got {t.shape}")
        return "index", t, _TARGETS[t.dtype]
    if target.dtype != x.dtype or target.shape != x.shape:
        raise ValueError(f"target weights must have x's shape {x.shape} and dtype {x.dtype}")
    return "prob", target, _matrix(target, "target")[2]


# ----------------------------------------------------------------------------- running over rows


def _run(fn, R, K, pre, post):
    """``fn(*pre, r0, r1, *post)`` over all rows, on the native pool's threads (``csrc/pool.h``);
    the first bad row reported, or -1.

    The calling thread and up to ``num_threads() - 1`` pool threads claim chunks of rows from a
    shared counter until none are left, all in C (which decides the split, ``dl_split`` in
    ``csrc/module.c``, the same for calls from XLA): no thread comes back for the GIL during a
    call. Every row is computed whole by one thread: the bits do not depend on the thread count.
    """
    return fn(*pre, 0, R, *post, _parallel.num_threads())


def _lib_or_raise():
    if not available():
        raise RuntimeError("dlmath: the compiled kernels are not in use")
    return _lib


def call(name, R, K, pre, post):
    """Run the C entry point ``name`` over ``R`` rows of ``K`` elements, as
    ``name(*pre, r0, r1, *post)`` on the pool's threads (see :func:`_run`), with every array given
    by address (an int such as ``tensor.data_ptr()``) and its row stride in elements, as
    ``csrc/rows.h`` lists the arguments. Returns the first bad row (cross-entropy), or -1.

    The caller keeps the memory alive and checks shapes, dtypes and strides: addresses are trusted.
    """
    return _run(getattr(_lib_or_raise(), name), R, K, pre, post)


# ----------------------------------------------------------------------------- LogSumExp


def lse_state_rows(x):
    """The LogSumExp state ``(m, r)`` of every row (float64): ``m`` the maximum, ``r`` the sum of
    :math:`e^{x_k - m}` over the entries other than one occurrence of ``m``, so that
    :math:`\\mathrm{LSE} = m + \\operatorname{log1p}(r)`. Non-finite rows: ``(NaN, 0)`` where NaN is
    present, else ``(+-inf, 0)``."""
    lib = _lib_or_raise()
    code = _code(x, "lse_state_rows")
    R, K, ld = _matrix(x)
    m = np.empty(R)
    r = np.empty(R)
    if K > 2 * SPAN:
        return _long_states(x, m, r)
    _run(lib.lse_state, R, K, (code, x, K, ld), (m, r))
    return m, r


def _long_states(x, m, r):
    """States of rows longer than 2 SPAN: each row in spans of SPAN elements (the last one longer),
    merged in order; the spans, not the threads, fix the result."""
    code = DTYPES[x.dtype.name]
    R, K = x.shape
    q = K // SPAN
    ms = np.empty((R, q))
    rs = np.empty((R, q))
    tasks = []
    for i in range(R):
        body = x[i, : (q - 1) * SPAN].reshape(q - 1, SPAN)
        for s0 in range(0, q - 1, 8):
            s1 = min(s0 + 8, q - 1)
            tasks.append((code, body, SPAN, SPAN, s0, s1, ms[i], rs[i]))
        last = x[i, (q - 1) * SPAN :][None, :]
        tasks.append((code, last, K - (q - 1) * SPAN, SPAN, 0, 1, ms[i, q - 1 :], rs[i, q - 1 :]))
    jobs = [(lambda t=t: _lib.lse_state(*t)) for t in tasks]
    _parallel.run(jobs, min(_parallel.num_threads(), len(jobs)), spin=_lib.spin_while)
    return merge(ms, rs, out=(m, r))


def merge(m, r, out=None):
    """Merge states ``(m_i, r_i)`` along the last axis, in order: with ``M = max m_i`` (first
    occurrence ``j``), :math:`(M,\\; r_j + \\sum_{i \\ne j} (1 + r_i) e^{m_i - M})`."""
    lib = _lib_or_raise()
    m = np.ascontiguousarray(m, dtype=np.float64)
    r = np.ascontiguousarray(r, dtype=np.float64)
    lead = m.shape[:-1]
    mo, ro = out if out is not None else (np.empty(lead), np.empty(lead))
    lib.merge(m, r, math.prod(lead), m.shape[-1], mo, ro)
    return mo, ro


def lse_rows(x, out=None):
    """``out[i] = log(sum_k exp(x[i, k]))`` in x's dtype (empty row: -inf; NaN: NaN; +inf: +inf)."""
    lib = _lib_or_raise()
    code = _code(x, "lse_rows")
    R, K, ld = _matrix(x)
    out = _out(out, (R,), x.dtype)
    if K > 2 * SPAN:
        m, r = _long_states(x, np.empty(R), np.empty(R))
        lse = np.empty(R)
        lib.vlog1p(r, lse, R)
        lse += m
        with np.errstate(over="ignore"):  # float64 -> float16/32 rounds once, to inf past the range
            out[...] = lse
        return out
    _run(lib.lse, R, K, (code, x, K, ld), (out, code))
    return out


def lse_softmax_rows(x):
    """``(lse, p)``: :func:`lse_rows` (the same bits) and the softmax of each row, from one pass
    over a row of 17 to 2048 entries with a finite maximum (its LogSumExp's exponentials, rounded
    to x's dtype and scaled, are p; within about one ulp, as :func:`softmax_rows`, though not
    its bits); other rows take the two kernels. For the derivative of the LogSumExp."""
    lib = _lib_or_raise()
    code = _code(x, "lse_softmax_rows")
    R, K, ld = _matrix(x)
    if K > 2 * SPAN:
        return lse_rows(x), softmax_rows(x)
    lse = _out(None, (R,), x.dtype)
    p = _out(None, x.shape, x.dtype)
    _run(lib.lse_softmax, R, K, (code, x, K, ld), (lse, code, p, _matrix(p, "out")[2]))
    return lse, p


# ----------------------------------------------------------------------------- softmax and cross-entropy


def softmax_rows(x, out=None, *, log=False, temperature=1.0):
    """Softmax of each row of ``x / temperature`` (or its log) into ``out`` (x's shape and dtype).

    A row of all -inf gives NaN; +inf entries share the mass equally (the limit), as in
    :func:`dlmath.softmax`."""
    lib = _lib_or_raise()
    code = _code(x, "softmax_rows")
    R, K, ld = _matrix(x)
    out = _out(out, x.shape, x.dtype)
    ldo = _matrix(out, "out")[2]
    _run(lib.softmax, R, K, (code, x, K, ld), (out, ldo, 1.0 / temperature, 1 if log else 0))
    return out


def _raise_bad(kind, bad):
    if kind == "index":
        raise IndexError(f"target index of row {bad} is out of range")
    raise ValueError(f"target weights of row {bad} are negative or not finite")


def xent_rows(x, target, *, dtype=None, lse=False):
    """Per-row cross-entropy ``loss[i] = -sum_k y_ik log softmax(x_i)_k`` (float64 or ``dtype``);
    ``lse=True`` returns ``(loss, lse)``, the LSE of each row saved for a backward pass."""
    lib = _lib_or_raise()
    code = _code(x, "xent_rows")
    R, K, ld = _matrix(x)
    loss = np.empty(R, np.float64 if dtype is None else dtype)
    z = np.empty(R, loss.dtype) if lse else None
    kind, t, tc = _target(x, target)
    fn = lib.xent_index if kind == "index" else lib.xent_prob
    bad = _run(fn, R, K, (code, x, K, ld, t, tc), (loss, 0 if z is None else z, _code(loss, "dtype")))
    if bad >= 0:
        _raise_bad(kind, bad)
    return (loss, z) if lse else loss


def xent_grad_rows(x, target, out=None, *, scale=1.0, loss=False, dtype=None):
    """Gradient of the per-row cross-entropy, ``scale ((sum_k y_k) p - y)``, into ``out`` (x's
    shape and dtype). ``loss=True`` fuses the loss: the logits are read once for both, and
    ``(grad, loss, lse)`` is returned (per-row results in float64 or ``dtype``)."""
    lib = _lib_or_raise()
    code = _code(x, "xent_grad_rows")
    R, K, ld = _matrix(x)
    out = _out(out, x.shape, x.dtype)
    ldo = _matrix(out, "out")[2]
    kind, t, tc = _target(x, target)
    odt = np.dtype(np.float64 if dtype is None else dtype)
    lo = np.empty(R, odt) if loss else None
    z = np.empty(R, odt) if loss else None
    fn = lib.xent_grad_index if kind == "index" else lib.xent_grad_prob
    post = (float(scale), out, ldo, 0 if lo is None else lo, 0 if z is None else z, _CODES.get(odt, code))
    bad = _run(fn, R, K, (code, x, K, ld, t, tc), post)
    if bad >= 0:
        _raise_bad(kind, bad)
    return (out, lo, z) if loss else out


def hvp_rows(z, v, out=None):
    """``out[i] = p_i * v_i - p_i (p_i . v_i)`` with ``p_i = softmax(z_i)``: the softmax Hessian
    (that of the cross-entropy for a unit-mass target) times ``v``, row by row."""
    lib = _lib_or_raise()
    code = _code(z, "hvp_rows")
    R, K, ld = _matrix(z, "z")
    if v.shape != z.shape or v.dtype != z.dtype:
        raise ValueError(f"v must have z's shape {z.shape} and dtype {z.dtype}; got {v.shape} {v.dtype}")
    ldv = _matrix(v, "v")[2]
    out = _out(out, z.shape, z.dtype)
    ldo = _matrix(out, "out")[2]
    _run(lib.hvp, R, K, (code, z, K, ld, v, ldv), (out, ldo))
    return out


def softmax_backward_rows(y, g, out=None, *, log=False, temperature=1.0):
    """The backward of :func:`softmax_rows` from its output ``y`` and the cotangent ``g``:
    ``y * (g - sum(y * g)) / temperature`` per row, or for the log-softmax
    ``(g - exp(y) * sum(g)) / temperature``; sums and products in float64, rounded once."""
    lib = _lib_or_raise()
    code = _code(y, "softmax_backward_rows")
    R, K, ld = _matrix(y, "y")
    if g.shape != y.shape or g.dtype != y.dtype:
        raise ValueError(f"g must have y's shape {y.shape} and dtype {y.dtype}; got {g.shape} {g.dtype}")
    ldg = _matrix(g, "g")[2]
    out = _out(out, y.shape, y.dtype)
    ldo = _matrix(out, "out")[2]
    _run(lib.softmax_bwd, R, K, (code, y, K, ld, g, ldg), (out, ldo, 1.0 / temperature, 1 if log else 0))
    return out
