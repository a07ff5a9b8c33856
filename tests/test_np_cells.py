"""The numpy cells (one layer, one direction): forward against torch.nn, BPTT against autograd
and finite differences, caches, the two GRU forms and the output layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _np_helpers import assert_grads_close, random_problem
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncourse.convert import NumpyModel, torch_from_numpy
from rnncourse.gradcheck import autograd_gradients, numerical_gradient
from rnncourse.np_gru import (
    gru_backward,
    gru_forms_difference,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    init_gru_params,
)
from rnncourse.np_lstm import (
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from rnncourse.np_rnn import (
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
)

torch.set_num_threads(1)

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def _single_layer(cell, x, h0, c0, params, activation="tanh", form="torch"):
    """Run the cell's own sequence function: (h, c or None)."""
    if cell == "rnn":
        return rnn_forward(x, h0, params, activation)[0], None
    if cell == "lstm":
        h, c, _ = lstm_forward(x, h0, c0, params)
        return h, c
    return gru_forward(x, h0, params, form)[0], None


@settings(max_examples=20, deadline=None)
@given(case=st.sampled_from(CASES), T=st.integers(1, 4), B=st.integers(1, 3),
       I=st.integers(1, 4), H=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 999))
def test_cell_forward_matches_torch_nn(case, T, B, I, H, bias, seed):
    cell, activation = case
    params_list, x, h0, c0, *_ = random_problem(cell, I=I, H=H, T=T, B=B, seed=seed, bias=bias)
    h, c = _single_layer(cell, x, h0[0], None if c0 is None else c0[0], params_list[0],
                         activation)
    module = torch_from_numpy(NumpyModel(cell, I, H, params_list, bias=bias,
                                         activation=activation))
    with torch.no_grad():
        if cell == "lstm":
            out, (h_n, c_n) = module(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
            np.testing.assert_allclose(c[-1], c_n[0].numpy(), rtol=0, atol=1e-10)
        else:
            out, h_n = module(torch.tensor(x), torch.tensor(h0))
    assert h.shape == (T, B, H)
    np.testing.assert_allclose(h, out.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(h[-1], h_n[0].numpy(), rtol=0, atol=1e-10)


def _cell_backward(cell, dh, x, h0, c0, params, dc_n, activation="tanh", form="torch",
                   truncate=None):
    """(dx, dh0[None], dc0[None] or None, [grads]) in stacked_backward's layout."""
    if cell == "rnn":
        _, cache = rnn_forward(x, h0, params, activation)
        dx, dh0, grads = rnn_backward(dh, cache, truncate=truncate)
        return dx, dh0[None], None, [grads]
    if cell == "lstm":
        _, _, cache = lstm_forward(x, h0, c0, params)
        dx, dh0, dc0, grads = lstm_backward(dh, cache, dc_n=dc_n, truncate=truncate)
        return dx, dh0[None], dc0[None], [grads]
    _, cache = gru_forward(x, h0, params, form)
    dx, dh0, grads = gru_backward(dh, cache, truncate=truncate)
    return dx, dh0[None], None, [grads]


@pytest.mark.parametrize("cell,activation,form", [
    ("rnn", "tanh", "torch"), ("rnn", "relu", "torch"), ("rnn", "sigmoid", "torch"),
    ("lstm", "tanh", "torch"), ("gru", "tanh", "torch"), ("gru", "tanh", "seed")])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_backward_matches_autograd(cell, activation, form, bias):
    params_list, x, h0, c0, d_out, _, dc_n = random_problem(
        cell, I=3, H=5, T=6, B=2, seed=11, bias=bias, form=form)
    got = _cell_backward(cell, d_out, x, h0[0], None if c0 is None else c0[0], params_list[0],
                         None if dc_n is None else dc_n[0], activation, form)
    # dh on the outputs only, plus dc_n on the LSTM's final cell state.
    want = autograd_gradients(cell, x, params_list, h0, c0, d_out, None, dc_n,
                              activation=activation, form=form)
    assert_grads_close(got, want, rtol=1e-8)


def _torch_seed_gru_and_sigmoid_rnn(cell, x, h0, params, dh):
    """An independent transcription (not rnncourse.gradcheck's) of the two cells torch.nn lacks."""
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tx, th = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    h, outs = th, []
    for t in range(x.shape[0]):
        if cell == "rnn":
            h = torch.sigmoid(tx[t] @ tp["W_xh"].T + h @ tp["W_hh"].T + tp["b_h"])
        else:
            r = torch.sigmoid(tx[t] @ tp["W_xr"].T + h @ tp["W_hr"].T + tp["b_r"])
            z = torch.sigmoid(tx[t] @ tp["W_xz"].T + h @ tp["W_hz"].T + tp["b_z"])
            n = torch.tanh(tx[t] @ tp["W_xn"].T + (r * h) @ tp["W_hn"].T + tp["b_n"])
            h = (1 - z) * n + z * h
        outs.append(h)
    torch.stack(outs).mul(torch.tensor(dh)).sum().backward()
    return tx.grad.numpy(), th.grad.numpy(), {k: v.grad.numpy() for k, v in tp.items()}


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_sigmoid_rnn_and_seed_gru_match_independent_autograd(cell):
    rng = np.random.default_rng(5)
    params = (init_rnn_params(3, 4, rng) if cell == "rnn"
              else init_gru_params(3, 4, rng, form="seed"))
    x, h0, dh = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4)), \
        rng.standard_normal((5, 2, 4))
    if cell == "rnn":
        _, cache = rnn_forward(x, h0, params, "sigmoid")
        dx, dh0, grads = rnn_backward(dh, cache)
    else:
        _, cache = gru_forward(x, h0, params, "seed")
        dx, dh0, grads = gru_backward(dh, cache)
    tdx, tdh0, tgrads = _torch_seed_gru_and_sigmoid_rnn(cell, x, h0, params, dh)
    np.testing.assert_allclose(dx, tdx, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(dh0, tdh0, rtol=1e-8, atol=1e-13)
    assert set(grads) == set(tgrads)
    for key in grads:
        np.testing.assert_allclose(grads[key], tgrads[key], rtol=1e-8, atol=1e-13, err_msg=key)


def _step_fd_check(forward, backward, inputs, upstream, names):
    """Check a step backward against finite differences of its forward, input by input."""
    outs = forward(*inputs)
    cache = outs[-1]
    analytic = backward(*upstream, cache)
    for name, arr in zip(names, inputs[:-1]):
        num = numerical_gradient(
            lambda _: np.concatenate([o.ravel() for o in forward(*inputs)[:-1]]), arr,
            df=np.concatenate([u.ravel() for u in upstream]))
        got = analytic[names.index(name)]
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-9, err_msg=name)
    grads = analytic[-1]
    for key, value in inputs[-1].items():
        num = numerical_gradient(
            lambda _: np.concatenate([o.ravel() for o in forward(*inputs)[:-1]]), value,
            df=np.concatenate([u.ravel() for u in upstream]))
        np.testing.assert_allclose(grads[key], num, rtol=1e-6, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_rnn_step_backward_finite_differences(activation):
    rng = np.random.default_rng(1)
    params = init_rnn_params(3, 4, rng)
    x, h, dh = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), \
        rng.standard_normal((2, 4))
    _step_fd_check(lambda x_, h_, p: rnn_step_forward(x_, h_, p, activation),
                   rnn_step_backward, (x, h, params), (dh,), ["x", "h_prev"])


def test_lstm_step_backward_finite_differences():
    rng = np.random.default_rng(2)
    params = init_lstm_params(3, 4, rng)
    x, h, c = (rng.standard_normal(s) for s in ((2, 3), (2, 4), (2, 4)))
    dh, dc = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    _step_fd_check(lstm_step_forward, lstm_step_backward, (x, h, c, params), (dh, dc),
                   ["x", "h_prev", "c_prev"])


@pytest.mark.parametrize("form", ["torch", "seed"])
def test_gru_step_backward_finite_differences(form):
    rng = np.random.default_rng(3)
    params = init_gru_params(3, 4, rng, form=form)
    x, h, dh = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), \
        rng.standard_normal((2, 4))
    _step_fd_check(lambda x_, h_, p: gru_step_forward(x_, h_, p, form), gru_step_backward,
                   (x, h, params), (dh,), ["x", "h_prev"])


def test_sequence_is_the_steps_in_order():
    rng = np.random.default_rng(4)
    params = init_rnn_params(2, 3, rng)
    x, h0 = rng.standard_normal((4, 2, 2)), rng.standard_normal((2, 3))
    h, cache = rnn_forward(x, h0, params, "tanh")
    h_prev = h0
    for t in range(4):
        h_prev, _ = rnn_step_forward(x[t], h_prev, params, "tanh")
        np.testing.assert_array_equal(h[t], h_prev)
        assert cache["steps"][t]["h_next"] is not None
    assert len(cache["steps"]) == 4


def test_lstm_gates_in_cache_are_the_equations():
    rng = np.random.default_rng(6)
    params = init_lstm_params(3, 4, rng, forget_bias=1.0)
    x, h0, c0 = rng.standard_normal((5, 2, 3)), np.zeros((2, 4)), np.zeros((2, 4))
    h, c, cache = lstm_forward(x, h0, c0, params)
    gates = cache["gates"]
    assert set(gates) == {"i", "f", "g", "o"} and gates["f"].shape == (5, 2, 4)
    h_prev = h[1]
    f2 = sigmoid(x[2] @ params["W_xf"].T + h_prev @ params["W_hf"].T + params["b_f"])
    np.testing.assert_allclose(gates["f"][2], f2, atol=1e-15)
    np.testing.assert_allclose(c[2], gates["f"][2] * c[1] + gates["i"][2] * gates["g"][2],
                               atol=1e-15)
    np.testing.assert_allclose(h[2], gates["o"][2] * np.tanh(c[2]), atol=1e-15)
    # forget_bias shifts b_f: the forget gate starts mostly open
    assert gates["f"][0].mean() > 0.6


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("truncate", [None, 1, 2, 3])
@pytest.mark.parametrize("with_dc_n", [False, True])
def test_lstm_sequence_is_its_steps(bias, truncate, with_dc_n):
    """lstm_forward / lstm_backward (stacked gates, hoisted products) compute exactly what a loop
    of the readable step pair computes, truncation and a gradient on c[-1] included."""
    rng = np.random.default_rng(12)
    T, B, I, H = 7, 3, 4, 5
    params = init_lstm_params(I, H, rng, bias=bias)
    x = rng.standard_normal((T, B, I))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dh, dc_n = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    dc_n = dc_n if with_dc_n else None

    h, c, cache = lstm_forward(x, h0, c0, params)
    dx, dh0, dc0, grads = lstm_backward(dh, cache, dc_n=dc_n, truncate=truncate)

    steps, h_prev, c_prev = [], h0, c0
    for t in range(T):
        h_prev, c_prev, step_cache = lstm_step_forward(x[t], h_prev, c_prev, params)
        np.testing.assert_allclose(h[t], h_prev, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(c[t], c_prev, rtol=1e-13, atol=1e-15)
        for gate in "ifgo":
            np.testing.assert_allclose(cache["gates"][gate][t], step_cache[gate], rtol=1e-13,
                                       atol=1e-15)
        steps.append(step_cache)
    want_dx, want = np.zeros_like(x), {k: np.zeros_like(v) for k, v in params.items()}
    dh_carry, dc_carry = np.zeros((B, H)), (np.zeros((B, H)) if dc_n is None else dc_n)
    for t in reversed(range(T)):
        want_dx[t], dh_carry, dc_carry, step_grads = lstm_step_backward(
            dh[t] + dh_carry, dc_carry, steps[t])
        for key in want:
            want[key] += step_grads[key]
        if truncate is not None and t % truncate == 0:
            dh_carry, dc_carry = np.zeros((B, H)), np.zeros((B, H))
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dh0, dh_carry, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dc0, dc_carry, rtol=1e-12, atol=1e-14)
    assert list(grads) == list(params)
    for key in params:
        np.testing.assert_allclose(grads[key], want[key], rtol=1e-12, atol=1e-13, err_msg=key)


def test_lstm_sequence_keeps_float32_and_saturates_quietly():
    rng = np.random.default_rng(13)
    params = init_lstm_params(3, 4, rng)
    x, dh = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 4))
    zeros = np.zeros((2, 4))
    h64, c64, cache64 = lstm_forward(x, zeros, zeros, params)
    got64 = lstm_backward(dh, cache64)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    f32 = [a.astype(np.float32) for a in (x, zeros, zeros, dh)]
    h32, c32, cache32 = lstm_forward(*f32[:3], p32)
    got32 = lstm_backward(f32[3], cache32)
    assert h32.dtype == c32.dtype == got32[0].dtype == got32[1].dtype == np.float32
    assert all(v.dtype == np.float32 for v in got32[3].values())
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got32[0], got64[0], rtol=1e-4, atol=1e-5)
    # Pre-activations in the thousands: exp overflows inside the sigmoid; the gates must come out
    # saturated (exactly 0 or 1, tanh exactly +-1) with no warning and no NaN.
    huge = {k: 1e4 * v for k, v in params.items()}
    with np.errstate(all="raise"):
        h, c, cache = lstm_forward(x, zeros, zeros, huge)
        _, _, _, grads = lstm_backward(dh, cache)
    sigmoid_gates = np.concatenate([cache["gates"][gate].ravel() for gate in "ifo"])
    assert np.all((sigmoid_gates >= 0) & (sigmoid_gates <= 1))
    assert np.mean((sigmoid_gates == 0) | (sigmoid_gates == 1)) > 0.9
    assert np.mean(np.abs(cache["gates"]["g"]) == 1) > 0.9
    assert np.all(np.isfinite(h)) and all(np.all(np.isfinite(v)) for v in grads.values())


def test_gru_gates_in_cache_and_seed_candidate():
    rng = np.random.default_rng(7)
    params = init_gru_params(3, 4, rng, form="seed")
    x, h0 = rng.standard_normal((3, 2, 3)), rng.standard_normal((2, 4))
    h, cache = gru_forward(x, h0, params, "seed")
    r, z, n = (cache["gates"][k] for k in "rzn")
    n1 = np.tanh(x[1] @ params["W_xn"].T + (r[1] * h[0]) @ params["W_hn"].T + params["b_n"])
    np.testing.assert_allclose(n[1], n1, atol=1e-15)
    np.testing.assert_allclose(h[1], (1 - z[1]) * n[1] + z[1] * h[0], atol=1e-15)


def test_gru_forms_differ_on_the_same_weights_even_with_b_hn_zero():
    rng = np.random.default_rng(8)
    params = init_gru_params(3, 6, rng, form="torch")
    params["b_hn"] = np.zeros(6)
    x, h0 = rng.standard_normal((10, 4, 3)), rng.standard_normal((4, 6))
    diff = gru_forms_difference(x, h0, params)
    assert diff > 1e-3  # a real difference, not rounding
    # ... and it is r * (W_hn h) versus W_hn (r * h): with a diagonal W_hn they coincide.
    params["W_hn"] = np.diag(np.diag(params["W_hn"]))
    assert gru_forms_difference(x, h0, params) < 1e-14
    # with one unit, r is a scalar per example, so the forms are the same function too
    p1 = init_gru_params(3, 1, rng)
    p1["b_hn"] = np.zeros(1)
    assert gru_forms_difference(x, h0[:, :1], p1) < 1e-14


def test_init_matches_torch_bounds_and_bias_flag():
    p = init_rnn_params(3, 16, 0)
    assert set(p) == {"W_xh", "W_hh", "b_h"} and p["W_xh"].shape == (16, 3)
    assert max(np.abs(v).max() for v in p.values()) <= 1 / np.sqrt(16)
    assert set(init_rnn_params(3, 4, 0, bias=False)) == {"W_xh", "W_hh"}
    assert "b_hn" in init_gru_params(3, 4, 0) and "b_hn" not in init_gru_params(3, 4, 0,
                                                                                 form="seed")
    assert not any(k.startswith("b") for k in init_lstm_params(2, 3, 0, bias=False))
    same_seed = init_rnn_params(3, 4, 5)["W_hh"], init_rnn_params(3, 4, 5)["W_hh"]
    np.testing.assert_array_equal(*same_seed)
    # no bias key in, no bias key out
    _, cache = rnn_forward(np.ones((2, 1, 3)), np.zeros((1, 4)), init_rnn_params(3, 4, 0, False))
    assert set(rnn_backward(np.ones((2, 1, 4)), cache)[2]) == {"W_xh", "W_hh"}


def test_sigmoid_is_stable():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])
    a = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(a), torch.sigmoid(torch.tensor(a)).numpy(), rtol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequences_compute_in_float32_when_given_float32(cell):
    """float64 is the lessons' dtype; float32 in stays float32 (the benchmark compares numpy with
    torch.nn in the same dtype), and agrees with float64 to float32's precision."""
    from rnncourse import np_layers

    rng = np.random.default_rng(14)
    params = np_layers.init_params(cell, 3, 4, rng)
    x, dh = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 4))
    zeros = np.zeros((2, 4))
    results = {}
    for dtype in (np.float32, np.float64):
        p = {k: v.astype(dtype) for k, v in params.items()}
        z = zeros.astype(dtype)
        h, _, cache = np_layers.layer_forward(cell, x.astype(dtype), z, p, c0=z)
        dx, dh0, _, grads = np_layers.layer_backward(dh.astype(dtype), cache)
        assert {a.dtype for a in (h, dx, dh0, *grads.values())} == {np.dtype(dtype)}
        results[dtype] = (h, dx, grads)
    (h32, dx32, g32), (h64, dx64, g64) = results[np.float32], results[np.float64]
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)
    for key in g64:
        np.testing.assert_allclose(g32[key], g64[key], rtol=1e-4, atol=1e-5, err_msg=key)
