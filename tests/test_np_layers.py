"""Stacked and bidirectional layers, conversion to and from torch, truncated BPTT."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _np_helpers import assert_grads_close, random_problem, random_torch_module
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnncourse.convert import NumpyModel, numpy_from_torch, torch_from_numpy
from rnncourse.gradcheck import autograd_gradients
from rnncourse.np_layers import (
    init_params,
    layer_backward,
    layer_forward,
    stacked_backward,
    stacked_forward,
)

torch.set_num_threads(1)

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
sizes = dict(T=st.integers(1, 4), B=st.integers(1, 3), I=st.integers(1, 4), H=st.integers(1, 4),
             L=st.integers(1, 3), bidirectional=st.booleans(), bias=st.booleans(),
             seed=st.integers(0, 10_000))


@settings(max_examples=25, deadline=None)
@given(case=st.sampled_from(CASES), batch_first=st.booleans(), **sizes)
def test_stacked_forward_matches_torch_nn(case, T, B, I, H, L, bidirectional, bias, seed,
                                          batch_first):
    cell, activation = case
    module = random_torch_module(cell, I, H, seed=seed, num_layers=L,
                                 bidirectional=bidirectional, bias=bias,
                                 batch_first=batch_first, activation=activation)
    model = numpy_from_torch(module)
    assert (model.cell, model.activation, model.num_layers, model.batch_first) == (
        cell, activation, L, batch_first)
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    h0 = rng.standard_normal((L * D, B, H))
    c0 = rng.standard_normal((L * D, B, H))
    hx_np = (h0, c0) if cell == "lstm" else h0
    hx_t = (torch.tensor(h0), torch.tensor(c0)) if cell == "lstm" else torch.tensor(h0)
    out, hx = model(x, hx_np)
    with torch.no_grad():
        t_out, t_hx = module(torch.tensor(x), hx_t)
    np.testing.assert_allclose(out, t_out.numpy(), rtol=0, atol=1e-10)
    if cell == "lstm":
        np.testing.assert_allclose(hx[0], t_hx[0].numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(hx[1], t_hx[1].numpy(), rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(hx, t_hx.numpy(), rtol=0, atol=1e-10)
    # and back: torch_from_numpy rebuilds a module computing the same thing
    with torch.no_grad():
        again, _ = torch_from_numpy(model)(torch.tensor(x), hx_t)
    np.testing.assert_allclose(again.numpy(), t_out.numpy(), rtol=0, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(case=st.sampled_from(CASES), **sizes)
def test_stacked_backward_matches_torch_nn_autograd(case, T, B, I, H, L, bidirectional, bias,
                                                    seed):
    cell, activation = case
    D = 2 if bidirectional else 1
    params_list, x, h0, c0, d_out, dh_n, dc_n = random_problem(
        cell, I=I, H=H, T=T, B=B, L=L, D=D, seed=seed, bias=bias)
    _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, L, bidirectional, activation)
    got = stacked_backward(d_out, cache, dh_n=dh_n, dc_n=dc_n)
    want = autograd_gradients(cell, x, params_list, h0, c0, d_out, dh_n, dc_n, num_layers=L,
                              bidirectional=bidirectional, activation=activation,
                              backend="torch.nn")
    assert_grads_close(got, want, rtol=1e-8)


@pytest.mark.parametrize("cell,activation,form", [("rnn", "sigmoid", "torch"),
                                                  ("gru", "tanh", "seed")])
def test_stacked_bidirectional_sigmoid_rnn_and_seed_gru_match_autograd(cell, activation, form):
    params_list, x, h0, c0, d_out, dh_n, dc_n = random_problem(
        cell, I=3, H=4, T=5, B=2, L=2, D=2, seed=3, form=form)
    _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, 2, True, activation, form)
    got = stacked_backward(d_out, cache, dh_n=dh_n)
    want = autograd_gradients(cell, x, params_list, h0, c0, d_out, dh_n, num_layers=2,
                              bidirectional=True, activation=activation, form=form)
    assert_grads_close(got, want, rtol=1e-8)


def _detached_autograd_layer(cell, x, h0, c0, params, dh, dc_n, k, activation="tanh"):
    """Autograd through torch.nn's own cells, stepping by hand with h.detach() every k steps."""
    I, H = x.shape[2], h0.shape[1]
    model = NumpyModel(cell, I, H, [params], activation=activation)
    module = torch_from_numpy(model)
    cls = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
    kw = {"nonlinearity": activation} if cell == "rnn" else {}
    step = cls(I, H, dtype=torch.float64, **kw)
    step.load_state_dict({name[:-3]: p for name, p in module.state_dict().items()})
    tx = torch.tensor(x, requires_grad=True)
    h = th0 = torch.tensor(h0, requires_grad=True)
    c = tc0 = torch.tensor(c0, requires_grad=True) if cell == "lstm" else None
    outs = []
    for t in range(x.shape[0]):
        if t % k == 0:
            h = h.detach()
            c = c.detach() if c is not None else None
        if cell == "lstm":
            h, c = step(tx[t], (h, c))
        else:
            h = step(tx[t], h)
        outs.append(h)
    loss = (torch.stack(outs) * torch.tensor(dh)).sum()
    if cell == "lstm":
        loss = loss + (c * torch.tensor(dc_n)).sum()
    loss.backward()

    def g(t):
        return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy()

    from rnncourse.convert import numpy_grads_from_torch
    for name, p in step.named_parameters():  # copy the cell's grads into the layer's names
        module.get_parameter(name + "_l0").grad = p.grad
    return g(tx), g(th0)[None], (g(tc0)[None] if cell == "lstm" else None), \
        numpy_grads_from_torch(module)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("k", [1, 2, 3, 7, 12])
def test_truncated_bptt_matches_detach_every_k_steps(case, k):
    cell, activation = case
    T = 7
    params_list, x, h0, c0, d_out, _, dc_n = random_problem(cell, I=3, H=4, T=T, B=2, seed=k)
    h, c, cache = layer_forward(cell, x, h0[0], params_list[0],
                                None if c0 is None else c0[0], activation)
    dx, dh0, dc0, grads = layer_backward(d_out, cache, dc_n=None if dc_n is None else dc_n[0],
                                         truncate=k)
    want = _detached_autograd_layer(cell, x, h0[0], None if c0 is None else c0[0],
                                    params_list[0], d_out, None if dc_n is None else dc_n[0],
                                    k, activation)
    got = (dx, dh0[None], None if dc0 is None else dc0[None], [grads])
    assert_grads_close(got, want, rtol=1e-8)
    # t = 0 is a cut too: the initial state gets no gradient
    assert not np.any(dh0)
    full = layer_backward(d_out, cache, dc_n=None if dc_n is None else dc_n[0])[3]
    if k >= T:  # one chunk: the parameter gradients are exactly the full BPTT ones
        for key in grads:
            np.testing.assert_array_equal(grads[key], full[key])
    else:  # a real cut: some gradient changes
        assert any(not np.allclose(grads[key], full[key]) for key in grads)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_truncated_stacked_bidirectional_matches_autograd(cell):
    params_list, x, h0, c0, d_out, dh_n, dc_n = random_problem(
        cell, I=2, H=3, T=6, B=2, L=2, D=2, seed=4)
    _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, 2, True)
    got = stacked_backward(d_out, cache, dh_n=dh_n, dc_n=dc_n, truncate=4)
    want = autograd_gradients(cell, x, params_list, h0, c0, d_out, dh_n, dc_n, num_layers=2,
                              bidirectional=True, truncate=4)
    assert_grads_close(got, want, rtol=1e-8)


def test_reverse_direction_reads_the_sequence_backwards():
    rng = np.random.default_rng(0)
    params = [init_params("rnn", 2, 3, rng) for _ in range(2)]
    x = rng.standard_normal((4, 1, 2))
    out, h_n, _, _ = stacked_forward("rnn", x, params, bidirectional=True)
    h_rev, _, _ = layer_forward("rnn", x[::-1], np.zeros((1, 3)), params[1])
    np.testing.assert_array_equal(out[:, :, 3:], h_rev[::-1])  # re-reversed in time
    np.testing.assert_array_equal(h_n[1], h_rev[-1])           # final state: after x[0]
    np.testing.assert_array_equal(h_n[1], out[0, :, 3:])


def test_conversion_round_trip_and_bias_split():
    module = random_torch_module("gru", 3, 4, seed=1, num_layers=2, bidirectional=True)
    model = numpy_from_torch(module)
    p = model.params_list[3]  # layer 1, reverse
    sd = module.state_dict()
    assert p["W_xn"].shape == (4, 8) and p["W_xn"].dtype == np.float64
    np.testing.assert_array_equal(p["W_hz"], sd["weight_hh_l1_reverse"][4:8].numpy())
    np.testing.assert_array_equal(
        p["b_r"], (sd["bias_ih_l1_reverse"][:4] + sd["bias_hh_l1_reverse"][:4]).numpy())
    np.testing.assert_array_equal(p["b_n"], sd["bias_ih_l1_reverse"][8:].numpy())
    np.testing.assert_array_equal(p["b_hn"], sd["bias_hh_l1_reverse"][8:].numpy())
    back = torch_from_numpy(model)
    assert torch.equal(back.state_dict()["bias_hh_l0"][:8], torch.zeros(8, dtype=torch.float64))
    again = numpy_from_torch(back)
    for a, b in zip(model.params_list, again.params_list):
        assert list(a) == list(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_torch_from_numpy_refuses_what_torch_nn_lacks():
    rnn = NumpyModel("rnn", 2, 3, [init_params("rnn", 2, 3, 0)], activation="sigmoid")
    with pytest.raises(ValueError, match="sigmoid"):
        torch_from_numpy(rnn)
    gru = NumpyModel("gru", 2, 3, [init_params("gru", 2, 3, 0, form="seed")], form="seed")
    with pytest.raises(ValueError, match="seed"):
        torch_from_numpy(gru)


class _LookalikeGRU(nn.Module):
    """Not a torch.nn.GRU: only torch.nn's parameter names and attributes (a seed-form GRU)."""

    def __init__(self):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = 2, 3, 1
        self.bidirectional, self.batch_first, self.bias = False, False, True
        self.mode, self.form = "GRU", "seed"
        g = torch.Generator().manual_seed(0)
        for name, shape in [("weight_ih_l0", (9, 2)), ("weight_hh_l0", (9, 3)),
                            ("bias_ih_l0", (9,)), ("bias_hh_l0", (9,))]:
            self.register_parameter(name, nn.Parameter(
                torch.rand(shape, generator=g, dtype=torch.float64)))
        with torch.no_grad():
            self.bias_hh_l0[6:] = 0


def test_numpy_from_torch_reads_any_module_with_torch_nn_names():
    model = numpy_from_torch(_LookalikeGRU())
    assert model.cell == "gru" and model.form == "seed"
    assert "b_hn" not in model.params_list[0]
    sd = _LookalikeGRU().state_dict()
    np.testing.assert_array_equal(model.params_list[0]["b_n"], sd["bias_ih_l0"][6:].numpy())
    with pytest.raises(TypeError, match="missing"):
        numpy_from_torch(nn.Linear(2, 3))


def test_numpy_from_torch_on_rnncourse_torch_cells():
    torch_cells = pytest.importorskip("rnncourse.torch_cells")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))
    for ours in (torch_cells.RNN(3, 4, nonlinearity="sigmoid", num_layers=2,
                                 dtype=torch.float64),
                 torch_cells.GRU(3, 4, form="seed", bidirectional=True, dtype=torch.float64)):
        model = numpy_from_torch(ours)
        out, _ = model(x)
        with torch.no_grad():
            want, _ = ours(torch.tensor(x))
        np.testing.assert_allclose(out, want.numpy(), rtol=0, atol=1e-10)
