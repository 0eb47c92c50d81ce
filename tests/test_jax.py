"""dlmath inside JAX programs (src/dlmath/_jax.py): custom_jvp derivatives against the formulas,
jit, vmap and grad, quiet under jax.debug_nans/debug_infs on finite input, NaN for a bad label
under jit, and the peers jax.nn and optax on the same inputs.

On the CPU the primal values come from the compiled kernels as XLA custom calls
(src/dlmath/_jax_xla.py); elsewhere, and without the kernels, from JAX composites. Tests marked
with the ``path`` fixture run on both (the composite forced by turning the custom calls off)."""

from __future__ import annotations

import numpy as np
import pytest

import dlmath

jax = pytest.importorskip("jax", reason="the JAX adapter needs JAX")
jnp = pytest.importorskip("jax.numpy")


@pytest.fixture(autouse=True)
def x64():
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", prev)


@pytest.fixture(params=["kernels", "composite"])
def path(request, monkeypatch):
    """Run a test on the kernels' custom calls (where the kernels are in use) and on the JAX
    composites that other devices run."""
    from dlmath import _jax_xla

    if request.param == "kernels" and not _jax_xla._ready():
        pytest.skip("the compiled kernels are off (DLMATH_KERNELS=numpy) or not built")
    if request.param == "composite":
        monkeypatch.setattr(_jax_xla, "usable", lambda x, axes: False)
    return request.param


def data(seed=0, shape=(4, 6)):
    r = np.random.default_rng(seed)
    return (
        jnp.asarray(r.standard_normal(shape) * 3),
        jnp.asarray(r.integers(0, shape[-1], shape[:-1])),
        jnp.asarray(r.random(shape)),
    )


def _calls():
    z, t, y = data()
    return {
        "logsumexp(ones(4))": lambda: dlmath.logsumexp(jnp.ones(4)),
        "logsumexp of a 0-d array": lambda: dlmath.logsumexp(jnp.float64(1.5)),
        "logsumexp b": lambda: dlmath.logsumexp(z, axis=-1, b=y),
        "logsumexp where": lambda: dlmath.logsumexp(z, axis=-1, where=y > 0.1),
        "smooth_max": lambda: dlmath.smooth_max(z, axis=-1, temperature=0.1),
        "softmax": lambda: dlmath.softmax(z, temperature=0.5),
        "log_softmax": lambda: dlmath.log_softmax(z),
        "cross_entropy": lambda: dlmath.cross_entropy(z, t),
        "cross_entropy probabilities": lambda: dlmath.cross_entropy(z, y),
        "cross_entropy options": lambda: dlmath.cross_entropy(
            z, t, weight=y[0], ignore_index=1, label_smoothing=0.1, where=y[:, 0] > 0.2
        ),
        "cross_entropy_grad": lambda: dlmath.cross_entropy_grad(z, t),
        "softmax_hvp": lambda: dlmath.softmax_hvp(z, y),
        "grad of logsumexp": lambda: jax.grad(lambda a: dlmath.logsumexp(a))(z),
        "grad of cross_entropy": lambda: jax.grad(lambda a: dlmath.cross_entropy(a, t))(z),
        "grad in the target": lambda: jax.grad(lambda b: dlmath.cross_entropy(z, b))(y),
        "jit cross_entropy": lambda: jax.jit(lambda a, b: dlmath.cross_entropy(a, b))(z, t),
        "jit grad of log_softmax": lambda: jax.jit(jax.grad(lambda a: dlmath.log_softmax(a).sum()))(z),
    }


@pytest.mark.parametrize("flag", ["jax_debug_nans", "jax_debug_infs"])
@pytest.mark.parametrize("name", list(_calls()))
def test_finite_input_trips_neither_debug_nans_nor_debug_infs(flag, name, path):
    # JAX's own regression tests (#7390, #7634) catch a logsumexp whose untaken branch builds inf/NaN
    f = _calls()[name]
    jax.config.update(flag, True)
    try:
        out = f()
    finally:
        jax.config.update(flag, False)
    assert all(np.isfinite(np.asarray(a)).all() for a in jax.tree_util.tree_leaves(out))


def test_a_bad_label_under_jit_is_nan_never_a_number(path):
    z, t, y = data(1)
    bad = t.at[2].set(6)
    loss = jax.jit(lambda a, b: dlmath.cross_entropy(a, b))(z, bad)
    assert np.isnan(float(loss))
    per = jax.jit(lambda a, b: dlmath.cross_entropy(a, b, reduction="none"))(z, bad)
    assert np.isnan(per[2]) and np.isfinite(np.delete(np.asarray(per), 2)).all()
    g = jax.jit(lambda a, b: dlmath.cross_entropy_grad(a, b))(z, bad)
    assert np.isnan(g[2]).all() and np.isfinite(np.delete(np.asarray(g), 2, axis=0)).all()
    # the derivative taken through the loss is NaN for that example too, not a plausible row
    g = jax.jit(jax.grad(lambda a, b: dlmath.cross_entropy(a, b, reduction="sum")))(z, bad)
    assert np.isnan(g[2]).all() and np.isfinite(np.delete(np.asarray(g), 2, axis=0)).all()
    negative = jax.jit(lambda a, b: dlmath.cross_entropy(a, b, reduction="none"))(z, y.at[1, 3].set(-0.5))
    assert np.isnan(negative[1]) and np.isfinite(negative[0])
    with pytest.raises(ValueError, match=r"target index 6 at position \(2,\) is out of range for 6 classes"):
        dlmath.cross_entropy(z, bad)


def test_custom_jvp_rules_are_the_derivations(path):
    z, t, y = data(2)
    xd = jnp.asarray(np.random.default_rng(3).standard_normal(z.shape))
    p = np.asarray(dlmath.softmax(np.asarray(z)))
    _, lse_dot = jax.jvp(lambda a: dlmath.logsumexp(a, axis=-1), (z,), (xd,))
    np.testing.assert_allclose(lse_dot, (p * xd).sum(-1), rtol=1e-13)
    _, p_dot = jax.jvp(lambda a: dlmath.softmax(a, temperature=0.5), (z,), (xd,))
    p2 = np.asarray(dlmath.softmax(np.asarray(z), temperature=0.5))
    np.testing.assert_allclose(
        p_dot, p2 * (xd - (p2 * xd).sum(-1, keepdims=True)) / 0.5, rtol=1e-12, atol=1e-15
    )
    _, l_dot = jax.jvp(dlmath.log_softmax, (z,), (xd,))
    np.testing.assert_allclose(l_dot, xd - (p * xd).sum(-1, keepdims=True), rtol=1e-12, atol=1e-14)
    g = jax.grad(lambda a: dlmath.cross_entropy(a, y, reduction="sum"))(z)
    np.testing.assert_allclose(g, np.asarray(y).sum(-1, keepdims=True) * p - y, rtol=1e-12, atol=1e-14)
    gy = jax.grad(lambda b: dlmath.cross_entropy(z, b, reduction="sum"))(y)
    np.testing.assert_allclose(gy, -np.asarray(dlmath.log_softmax(np.asarray(z))), rtol=1e-13)
    hv = jax.jvp(jax.grad(lambda a: dlmath.logsumexp(a, axis=-1).sum()), (z,), (xd,))[1]
    np.testing.assert_allclose(dlmath.softmax_hvp(z, xd), hv, rtol=1e-12, atol=1e-14)


def test_grad_of_lse_with_weights_and_sign():
    x = jnp.array([0.5, -1.0, 2.0, 0.0])
    b = jnp.array([1.0, -2.0, 0.5, 0.0])
    gx, gb = jax.grad(lambda a, c: dlmath.logsumexp(a, b=c, return_sign=True)[0], argnums=(0, 1))(x, b)
    s = float(np.sum(np.asarray(b) * np.exp(np.asarray(x))))
    np.testing.assert_allclose(gx, np.asarray(b) * np.exp(np.asarray(x)) / s, rtol=1e-13)
    np.testing.assert_allclose(gb, np.exp(np.asarray(x)) / s, rtol=1e-13)


def test_vmap_equals_a_loop(path):
    z, t, _ = data(4, (3, 5, 7))
    for f in (
        dlmath.cross_entropy,
        lambda a, b: dlmath.cross_entropy_grad(a, b, reduction="sum"),
        lambda a, b: dlmath.logsumexp(a, axis=0),
    ):
        got = jax.vmap(f)(z, t)
        np.testing.assert_allclose(got, np.stack([f(z[i], t[i]) for i in range(3)]), rtol=1e-13)


def test_the_peers_on_the_same_inputs():
    z, t, y = data(5, (5, 8))
    m = y > 0.3
    np.testing.assert_allclose(dlmath.logsumexp(z, axis=1), jax.nn.logsumexp(z, axis=1), rtol=1e-14)
    np.testing.assert_allclose(
        dlmath.logsumexp(z, axis=1, where=m), jax.nn.logsumexp(z, axis=1, where=m), rtol=1e-14
    )
    b = y - 0.4
    v, s = dlmath.logsumexp(z, axis=1, b=b, return_sign=True)
    vr, sr = jax.nn.logsumexp(z, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(v, vr, rtol=1e-12)
    np.testing.assert_array_equal(s, sr)
    np.testing.assert_allclose(
        dlmath.softmax(z, where=m), jax.nn.softmax(z, where=m), rtol=1e-14, atol=1e-300
    )
    np.testing.assert_allclose(dlmath.log_softmax(z, where=m), jax.nn.log_softmax(z, where=m), rtol=1e-14)
    optax = pytest.importorskip("optax", reason="optax is the reference for the cross-entropy's where")
    np.testing.assert_allclose(
        dlmath.cross_entropy(z, t, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(z, t),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        dlmath.cross_entropy(z, y, reduction="none"), optax.softmax_cross_entropy(z, y), rtol=1e-13
    )
    keep = m.at[jnp.arange(5), t].set(True)  # every label names a kept class
    np.testing.assert_allclose(
        dlmath.cross_entropy(z, t, where=keep, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(z, t, where=keep),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        dlmath.cross_entropy(z, y, where=m, reduction="none"),
        optax.softmax_cross_entropy(z, y, where=m),
        rtol=1e-13,
    )
    rows = jnp.array([True, False, True, True, False])
    np.testing.assert_allclose(
        dlmath.cross_entropy(z, t, where=rows, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(z, t, where=rows),
        rtol=1e-13,
    )
    g = jax.grad(lambda a: dlmath.cross_entropy(a, t, reduction="sum"))(z)
    go = jax.grad(lambda a: optax.softmax_cross_entropy_with_integer_labels(a, t).sum())(z)
    np.testing.assert_allclose(g, go, rtol=1e-12, atol=1e-15)


def test_half_precision_is_computed_in_float32_and_rounded_once():
    jax.config.update("jax_enable_x64", False)
    x = jnp.asarray(np.random.default_rng(6).standard_normal((8, 300)) * 3, jnp.bfloat16)
    ref = jax.nn.softmax(x.astype(jnp.float32)).astype(jnp.bfloat16)
    got = dlmath.softmax(x)
    assert got.dtype == jnp.bfloat16
    assert np.mean(np.asarray(got == ref)) > 0.99
    assert dlmath.logsumexp(x, axis=-1).dtype == jnp.bfloat16
    assert dlmath.cross_entropy(x, jnp.zeros(8, jnp.int32)).dtype == jnp.bfloat16


# ----------------------------------------------------------------------------- accuracy of both paths

_ROWS32 = [
    [0.0, -20.0, -30.0],  # LSE 2e-9: the small terms must not be rounded against the maximum's 1
    [0.0, -1e-7, -30.0],  # two entries a hair apart
    [3.0, 3.0, 3.0],  # ties: three exact ones
    [88.0, 87.5, -1e30],  # near float32's exp overflow, and a hugely negative entry
    [1e-40, 0.0, -1e-40],  # denormal differences from the maximum
    [-5.0, -np.inf, 2.0],  # -inf takes no part
    [12.0, 11.0, 10.0],
]


def _mp_lse(row):
    import mpmath

    mpmath.mp.dps = 50
    terms = [mpmath.e ** mpmath.mpf(float(v)) for v in row if v != -np.inf]
    return mpmath.log(mpmath.fsum(terms))


@pytest.mark.parametrize("special", [None, [np.inf, 1.0, 0.0]], ids=["finite", "a +inf row beside"])
def test_float32_logsumexp_and_log_softmax_are_accurate_on_either_path(special, path):
    # where every maximum is finite the state is computed by arithmetic alone (_jax._state); a row
    # with +inf sends the whole call to _lse_core's formulas: both must give the same accurate rows
    import mpmath

    rows = [*_ROWS32, special] if special else _ROWS32
    x = jnp.asarray(np.array(rows, dtype=np.float32))
    for f in (lambda a: dlmath.logsumexp(a, axis=-1), jax.jit(lambda a: dlmath.logsumexp(a, axis=-1))):
        got = np.asarray(f(x), dtype=np.float64)
        for i, row in enumerate(_ROWS32):
            ref = float(_mp_lse(row))
            assert abs(got[i] - ref) <= 2 * np.spacing(np.float32(abs(ref))), (row, got[i], ref)
    ls = np.asarray(jax.jit(dlmath.log_softmax)(x), dtype=np.float64)
    for i, row in enumerate(_ROWS32):
        lse = _mp_lse(row)
        for j, v in enumerate(row):
            if v == -np.inf:
                assert ls[i, j] == -np.inf
                continue
            ref = float(mpmath.mpf(float(v)) - lse)
            # v - LSE carries the rounding of v and LSE themselves (float32 inputs are exact)
            tol = 2 * np.spacing(np.float32(max(abs(ref), abs(float(lse)))))
            assert abs(ls[i, j] - ref) <= tol, (row, j, ls[i, j], ref)
    if special:
        assert float(f(x)[-1]) == np.inf


def test_gradients_on_either_path_are_the_softmax(path):
    x = np.array(_ROWS32[:5], dtype=np.float64)
    for extra in (None, [np.inf, 0.0, 0.0]):
        xs = np.vstack([x, extra]) if extra else x
        g = np.asarray(jax.grad(lambda a: dlmath.logsumexp(a, axis=-1)[:5].sum())(jnp.asarray(xs)))[:5]
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        np.testing.assert_allclose(g, e / e.sum(axis=-1, keepdims=True), rtol=1e-14, atol=1e-300)


def test_a_confident_right_prediction_keeps_its_tiny_loss(path):
    # -log softmax(z)_0 = log1p(e^-50); LSE(z) - z_0 rounds it to 0 (optax gives 0)
    import mpmath

    z = jnp.asarray([[50.0, 0.0]])
    t = jnp.asarray([0])
    with mpmath.workdps(50):
        ref = float(mpmath.log1p(mpmath.exp(-50)))
    for f in (dlmath.cross_entropy, jax.jit(lambda a, b: dlmath.cross_entropy(a, b))):
        assert float(f(z, t)) == pytest.approx(ref, rel=1e-14)
    # the gradient p - e_t: its target entry p_t - 1 comes from the rounded p_t on this path
    g = jax.grad(lambda a: dlmath.cross_entropy(a, t))(z)
    np.testing.assert_allclose(np.asarray(g), [[-ref, ref]], rtol=1e-13, atol=1e-16)


# ----------------------------------------------------------------------------- the kernels in XLA


def test_jitted_programs_call_the_kernels_on_the_cpu():
    from dlmath import _jax_xla

    if not _jax_xla._ready():
        pytest.skip("the compiled kernels are off (DLMATH_KERNELS=numpy) or not built")
    z, t, _ = data(7, (6, 9))
    cases = {
        "dlmath_lse": lambda a: dlmath.logsumexp(a, axis=-1),
        "dlmath_lse_softmax": jax.grad(lambda a: jnp.sum(dlmath.logsumexp(a, axis=-1) * a[:, 0])),
        "dlmath_softmax": lambda a: dlmath.softmax(a, temperature=0.5),
        "dlmath_log_softmax": dlmath.log_softmax,
        "dlmath_xent_index": lambda a: dlmath.cross_entropy(a, t),
        "dlmath_xent_grad_index": jax.grad(lambda a: dlmath.cross_entropy(a, t)),
        "dlmath_softmax_bwd": jax.grad(lambda a: jnp.sum(dlmath.softmax(a) * a)),
        "dlmath_log_softmax_bwd_p": jax.grad(lambda a: jnp.sum(dlmath.log_softmax(a) * a)),
    }
    for target, f in cases.items():
        hlo = jax.jit(f).lower(z).compile().as_text()
        assert f'custom_call_target="{target}"' in hlo, target
    # rows of more than 16 entries take the loss and its gradient from one call, whose loss has
    # the loss call's bits
    zw, tw, _ = data(7, (6, 40))
    loss_w = jax.jit(lambda a: dlmath.cross_entropy(a, tw, reduction="none"))
    both = jax.jit(
        jax.value_and_grad(lambda a: jnp.sum(dlmath.cross_entropy(a, tw, reduction="none") * a[:, 0]))
    )
    hlo = both.lower(zw).compile().as_text()
    assert 'custom_call_target="dlmath_xent_loss_grad_index"' in hlo
    assert 'custom_call_target="dlmath_xent_index"' not in hlo
    for dt in (jnp.float32, jnp.float64):
        a = zw.astype(dt)
        value, _ = jax.jit(lambda a: jax.vjp(lambda b: dlmath.cross_entropy(b, tw, reduction="none"), a))(a)
        np.testing.assert_array_equal(np.asarray(value), np.asarray(loss_w(a)))
        # the LogSumExp's reverse mode: one call for the value and p, the value with lse's bits
        value, _ = jax.jit(lambda a: jax.vjp(lambda b: dlmath.logsumexp(b, axis=-1), a))(a)
        np.testing.assert_array_equal(
            np.asarray(value), np.asarray(jax.jit(lambda b: dlmath.logsumexp(b, axis=-1))(a))
        )
    # a reduction over another axis, or a mask, is not the kernels' rows: XLA's own loops
    other = jax.jit(lambda a: dlmath.logsumexp(a, axis=0)).lower(z).compile().as_text()
    assert "dlmath_" not in other
    masked = jax.jit(lambda a: dlmath.softmax(a, where=a > 0)).lower(z).compile().as_text()
    assert "dlmath_" not in masked


def test_the_composite_path_is_jax_alone(monkeypatch):
    from dlmath import _jax_xla

    monkeypatch.setattr(_jax_xla, "usable", lambda x, axes: False)
    z, t, _ = data(7, (6, 9))
    hlo = jax.jit(jax.grad(lambda a: dlmath.cross_entropy(a, t) + dlmath.logsumexp(a))).lower(z).as_text()
    assert "dlmath_" not in hlo


def test_the_kernels_give_a_row_with_a_bad_index_nan():
    # dlmath's own callers pass valid indices only; the custom call still must not read out of
    # bounds or give a number for an index it cannot use
    from dlmath import _jax_xla

    if not _jax_xla._ready():
        pytest.skip("the compiled kernels are off (DLMATH_KERNELS=numpy) or not built")
    z, t, _ = data(8, (5, 7))
    for bad_t in (t.at[1].set(7), t.at[1].set(-1), t.astype(jnp.int32).at[3].set(2**31 - 1)):
        i = int(np.flatnonzero(np.asarray(bad_t) != np.asarray(t))[0])
        loss = jax.jit(lambda a, b: _jax_xla.xent_index(a, b, None))(z, bad_t)
        grad = jax.jit(lambda a, b: _jax_xla.xent_grad_index(a, b, None))(z, bad_t)
        loss2, grad2 = jax.jit(lambda a, b: _jax_xla.xent_loss_grad_index(a, b, None))(z, bad_t)
        ref = np.asarray(dlmath.cross_entropy(np.asarray(z), np.asarray(t), reduction="none"))
        gref = np.asarray(dlmath.cross_entropy_grad(np.asarray(z), np.asarray(t), reduction="sum"))
        ok = np.arange(5) != i
        for lo, g in ((loss, grad), (loss2, grad2)):
            assert np.isnan(lo[i]) and np.isnan(g[i]).all()
            np.testing.assert_allclose(np.asarray(lo)[ok], ref[ok], rtol=1e-14)
            np.testing.assert_allclose(np.asarray(g)[ok], gref[ok], rtol=1e-13, atol=1e-16)


def test_second_derivatives_through_the_kernels_are_the_hvp(path):
    z, t, _ = data(9, (3, 5))
    v = jnp.asarray(np.random.default_rng(10).standard_normal(z.shape))
    hv = jax.jvp(jax.grad(lambda a: dlmath.cross_entropy(a, t, reduction="sum")), (z,), (v,))[1]
    np.testing.assert_allclose(hv, dlmath.softmax_hvp(np.asarray(z), np.asarray(v)), rtol=1e-12, atol=1e-15)
    h = jax.hessian(lambda a: dlmath.logsumexp(a))(z[0])
    p = np.asarray(dlmath.softmax(np.asarray(z[0])))
    np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)
    h3 = jax.jacfwd(jax.hessian(lambda a: dlmath.log_softmax(a)[0]))(z[0])
    # log p_0 = x_0 - LSE: its third derivatives are minus LSE's,
    # T_ijk = p_i d_ijk - p_i p_j d_jk - p_i p_k d_ij - p_i p_j d_ik + 2 p_i p_j p_k
    eye = np.eye(5)
    third = (
        np.einsum("i,ij,ik->ijk", p, eye, eye)
        - np.einsum("i,j,jk->ijk", p, p, eye)
        - np.einsum("i,k,ij->ijk", p, p, eye)
        - np.einsum("i,j,ik->ijk", p, p, eye)
        + 2 * np.einsum("i,j,k->ijk", p, p, p)
    )
    np.testing.assert_allclose(h3, -third, rtol=1e-10, atol=1e-13)


def test_a_first_call_from_inside_jit_registers_the_kernels():
    # the handlers' one-time check runs a call of its own: asked first from inside a trace it must
    # still run (not be staged into the caller's program and fail there, leaving the kernels off)
    import subprocess
    import sys

    from dlmath import _jax_xla

    if not _jax_xla._ready():
        pytest.skip("the compiled kernels are off (DLMATH_KERNELS=numpy) or not built")
    code = (
        "import jax, jax.numpy as jnp, dlmath\n"
        "hlo = jax.jit(lambda a: dlmath.logsumexp(a, axis=-1)).lower(jnp.ones((4, 5))).as_text()\n"
        "print('dlmath_lse' in hlo)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_vector_jacobian_products_are_the_transposed_jacobians(tau, path):
    # reverse mode runs the softmax's Jacobian as a primitive of its own (the backward kernel on
    # the CPU): J^T g = p (g - p.g)/tau for the softmax, (g - p sum g)/tau for its log, also
    # batched under vmap and inside jit
    z, _, _ = data(11, (4, 7))
    g = jnp.asarray(np.random.default_rng(12).standard_normal(z.shape))
    p = np.asarray(dlmath.softmax(np.asarray(z), temperature=tau))
    G = np.asarray(g)
    want = {
        False: p * (G - (p * G).sum(-1, keepdims=True)) / tau,
        True: (G - p * G.sum(-1, keepdims=True)) / tau,
    }
    for log, f in ((False, dlmath.softmax), (True, dlmath.log_softmax)):
        fn = lambda a, f=f: f(a, temperature=tau)  # noqa: E731
        vjp = jax.vjp(fn, z)[1](g)[0]
        np.testing.assert_allclose(vjp, want[log], rtol=1e-12, atol=1e-15)
        jitted = jax.jit(lambda a, c, fn=fn: jax.vjp(fn, a)[1](c)[0])(z, g)
        np.testing.assert_allclose(jitted, want[log], rtol=1e-12, atol=1e-15)
        batched = jax.vmap(lambda c, fn=fn: jax.vjp(fn, z)[1](c)[0])(jnp.stack([g, 2 * g]))
        np.testing.assert_allclose(batched[1], 2 * want[log], rtol=1e-12, atol=1e-15)
        # and forward mode: J v
        jv = jax.jvp(fn, (z,), (g,))[1]
        ref = want[False] if not log else (G - (p * G).sum(-1, keepdims=True)) / tau
        np.testing.assert_allclose(jv, ref, rtol=1e-12, atol=1e-15)


def test_second_derivatives_of_softmax_and_log_softmax_are_the_closed_forms(path):
    # the Jacobian primitive's derivative in p: reverse then forward mode (hessian) for softmax,
    # forward twice for log-softmax, against
    #   d2 p_i / dx_j dx_k = p_i [(d_ij - p_j)(d_ik - p_k) - p_j (d_jk - p_k)],
    #   d2 log p_i / dx_j dx_k = -(p_j d_jk - p_j p_k)   (the same for every i)
    z, _, _ = data(13, (1, 5))
    x = z[0]
    p = np.asarray(dlmath.softmax(np.asarray(x)))
    eye = np.eye(5)
    a = eye - p[None, :]  # a[i, j] = d_ij - p_j
    want = p[:, None, None] * (a[:, :, None] * a[:, None, :] - (p[:, None] * a)[None, :, :])
    np.testing.assert_allclose(jax.hessian(dlmath.softmax)(x), want, rtol=1e-11, atol=1e-14)
    hess_lse = np.diag(p) - np.outer(p, p)
    got = jax.jacfwd(jax.jacfwd(dlmath.log_softmax))(x)
    np.testing.assert_allclose(got, -np.broadcast_to(hess_lse, (5, 5, 5)), rtol=1e-11, atol=1e-14)
