"""The edges an independent suite found (issue 16), each tested over its whole class.

1. in-place ops on the outputs of the from-scratch torch modules, gradients against torch.nn;
2. ``NumpyModel``'s ``hx``; 3. ``tasks.copy_accuracy``'s inputs; 4. parameter dicts of lists and
ragged inputs; 5. float32 in, float32 out with default states; 6. empty sequences (T = 0);
7. seeds, flags, prompts and sizes that must not be taken silently; 9. property-based tests
beyond small sizes: the step functions against ``torch.nn.*Cell`` (saturated inputs too) and the
edges above over random configurations.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnncourse import gradflow, models, np_layers, tasks, torch_cells, torch_steps
from rnncourse.attention import Attention
from rnncourse.convert import numpy_from_torch
from rnncourse.np_gru import gru_forward, gru_step_forward, init_gru_params
from rnncourse.np_lstm import init_lstm_params, lstm_forward, lstm_step_forward
from rnncourse.np_rnn import init_rnn_params, rnn_forward, rnn_step_forward

torch.set_num_threads(1)
F64 = torch.float64
CELLS = ("rnn", "lstm", "gru")
NN = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
OURS = {"rnn": torch_cells.RNN, "lstm": torch_cells.LSTM, "gru": torch_cells.GRU}


# --- 1. in-place ops on the outputs -----------------------------------------------------------

def _pair(cell, I, H, *, layers, batch_first, bidirectional, backward, seed=0):
    torch.manual_seed(seed)
    config = dict(num_layers=layers, batch_first=batch_first, bidirectional=bidirectional,
                  dtype=F64)
    ref = NN[cell](I, H, **config)
    ours = OURS[cell](I, H, backward=backward, **config)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _modify(op, output, lengths, batch_first):
    """What a training script does to the output before the loss, in place."""
    time_axis = 1 if batch_first else 0
    T = output.shape[time_axis]
    steps = torch.arange(T)[:, None]  # (T, 1)
    pad = steps >= lengths[None, :]  # (T, B): True past each sequence's end
    if batch_first:
        pad = pad.T
    if op == "masked_fill_":
        output.masked_fill_(pad.unsqueeze(-1), 0.0)
    elif op == "slice":
        index = (slice(None), 0) if batch_first else (0,)
        output[index] = 0.0  # the first step's states
        output[..., :1] = 2.0 * output[..., :1].detach()
    elif op == "iadd":
        output += 1.0
        output *= 0.5
    else:  # "state": the final states too
        output.add_(1.0)
    return output


def _grads_with_inplace(module, x, lengths, op, batch_first, seed):
    x = x.detach().clone().requires_grad_()
    output, state = module(x)
    output = _modify(op, output, lengths, batch_first)
    states = state if isinstance(state, tuple) else (state,)
    if op == "state":
        for s in states:
            s.mul_(3.0)
    g = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=F64)).sum()
               for t in (output, *states))
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    grads["input"] = x.grad
    return output.detach(), grads


def _check_inplace(cell, backward, op, batch_first, bidirectional, layers, T, B, I, H, seed):
    ref, ours = _pair(cell, I, H, layers=layers, batch_first=batch_first,
                      bidirectional=bidirectional, backward=backward, seed=seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g, dtype=F64)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    want_out, want = _grads_with_inplace(ref, x, lengths, op, batch_first, seed)
    got_out, got = _grads_with_inplace(ours, x, lengths, op, batch_first, seed)
    torch.testing.assert_close(got_out, want_out, rtol=0, atol=1e-10)
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-9, msg=name)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backward", ["manual", "autograd"])
@pytest.mark.parametrize("op", ["masked_fill_", "slice", "iadd", "state"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_inplace_ops_on_outputs_give_torch_nns_gradients(cell, backward, op, batch_first):
    _check_inplace(cell, backward, op, batch_first, bidirectional=False, layers=1, T=5, B=3,
                   I=2, H=4, seed=1)


@pytest.mark.parametrize("cell", CELLS)
def test_inplace_ops_through_stacked_bidirectional_layers(cell):
    _check_inplace(cell, "manual", "masked_fill_", True, bidirectional=True, layers=2, T=6, B=3,
                   I=3, H=2, seed=2)


@settings(max_examples=12, deadline=None)
@given(cell=st.sampled_from(CELLS), op=st.sampled_from(["masked_fill_", "slice", "iadd", "state"]),
       batch_first=st.booleans(), bidirectional=st.booleans(), layers=st.integers(1, 3),
       T=st.integers(1, 9), B=st.integers(1, 4), I=st.integers(1, 6), H=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_property_inplace_ops_any_configuration(cell, op, batch_first, bidirectional, layers, T,
                                                B, I, H, seed):
    _check_inplace(cell, "manual", op, batch_first, bidirectional, layers, T, B, I, H, seed)


# --- 2. NumpyModel's hx --------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_numpy_model_hx_is_checked_by_name(cell):
    torch.manual_seed(0)
    ref = NN[cell](3, 4, num_layers=2, dtype=F64)
    model = numpy_from_torch(ref)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    h0 = np.random.default_rng(1).standard_normal((2, 2, 4))
    if cell == "lstm":
        for hx in (h0, [h0], (h0, h0, h0)):
            with pytest.raises(TypeError, match=r"hx: expected a tuple \(h_0, c_0\)"):
                model(x, hx)
        out, (h_n, c_n) = model(x, (h0, 2 * h0))
        ref_out, (ref_h, ref_c) = ref(torch.tensor(x), (torch.tensor(h0), torch.tensor(2 * h0)))
        np.testing.assert_allclose(c_n, ref_c.detach().numpy(), atol=1e-12)
    else:
        with pytest.raises(TypeError, match=r"hx: expected one array h_0"):
            model(x, (h0, h0))
        out, h_n = model(x, h0)
        ref_out, ref_h = ref(torch.tensor(x), torch.tensor(h0))
    np.testing.assert_allclose(out, ref_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(h_n, ref_h.detach().numpy(), atol=1e-12)


# --- 3. copy_accuracy ----------------------------------------------------------------------

def test_copy_accuracy_checks_and_handles_its_inputs():
    x, y = tasks.copy_batch(4, 5, 0)  # (L, B) targets, L = 25
    rng = torch.Generator().manual_seed(0)
    logits = torch.randn(*y.shape, 10, generator=rng)
    logits[-3:].scatter_(2, y[-3:].unsqueeze(-1), 50.0)  # the last 3 recall steps right
    exact = float((logits[-10:].argmax(-1) == y[-10:]).float().mean())
    assert exact >= 0.3
    assert tasks.copy_accuracy(logits, y) == exact
    assert tasks.copy_accuracy(logits.numpy(), y.numpy()) == exact  # numpy in
    assert tasks.copy_accuracy(logits.transpose(0, 1), y.T, batch_first=True) == exact
    with pytest.raises(ValueError, match=r"targets: expected shape \(L, B\) = \(25, 4\)"):
        tasks.copy_accuracy(logits, y[:, :1])  # (L, 1) against (L, B, C): no broadcasting
    with pytest.raises(ValueError, match=r"targets: expected shape \(B, L\) = \(25, 4\)"):
        tasks.copy_accuracy(logits, y.T.contiguous(), batch_first=True)  # layouts mixed up
    with pytest.raises(ValueError, match=r"targets: expected shape \(L, B\) = \(4, 25\)"):
        tasks.copy_accuracy(logits.transpose(0, 1), y)  # batch-first logits, flag forgotten
    with pytest.raises(TypeError, match="targets: expected an int"):
        tasks.copy_accuracy(logits, y.float())
    with pytest.raises(TypeError, match="logits: expected a torch tensor or numpy array"):
        tasks.copy_accuracy(logits.tolist(), y)
    with pytest.raises(ValueError, match=r"logits: expected 3 dimensions \(L, B, C\)"):
        tasks.copy_accuracy(logits[0], y[0])
    with pytest.raises(ValueError, match="n_remember: expected at most the sequence length 25"):
        tasks.copy_accuracy(logits, y, n_remember=26)


# --- 4. parameter dicts of lists, ragged inputs ------------------------------------------------

def _forwards():
    """Every public numpy function that reads a parameter dict: params, run(params, x), x."""
    seq, step = np.zeros((3, 2, 2)), np.zeros((2, 2))  # (T, B, I) and (B, I), I = 2
    h = np.zeros((2, 4))
    return {
        "rnn": (init_rnn_params(2, 4, 0), lambda p, x: rnn_forward(x, h, p), seq),
        "rnn_step": (init_rnn_params(2, 4, 0), lambda p, x: rnn_step_forward(x, h, p), step),
        "lstm": (init_lstm_params(2, 4, 0), lambda p, x: lstm_forward(x, h, h, p), seq),
        "lstm_step": (init_lstm_params(2, 4, 0), lambda p, x: lstm_step_forward(x, h, h, p),
                      step),
        "gru": (init_gru_params(2, 4, 0), lambda p, x: gru_forward(x, h, p), seq),
        "gru_step": (init_gru_params(2, 4, 0), lambda p, x: gru_step_forward(x, h, p), step),
        "layer": (init_lstm_params(2, 4, 0),
                  lambda p, x: np_layers.layer_forward("lstm", x, None, p), seq),
        "stacked": (init_gru_params(2, 4, 0),
                    lambda p, x: np_layers.stacked_forward("gru", x, [p]), seq),
        "gradflow": (init_lstm_params(2, 4, 0),
                     lambda p, x: gradflow.state_gradients("lstm", p, x), step),  # x (T, I)
        "jacobian": (init_rnn_params(2, 4, 0), lambda p, x: gradflow.jacobian_norms(p, x), step),
    }


def _ragged(x):
    """``x`` as nested lists with one row one entry short."""
    rows = x.tolist()
    inner = rows
    while isinstance(inner[-1][-1], list):
        inner = inner[-1]
    inner[-1] = inner[-1][:-1]
    return rows


@pytest.mark.parametrize("name", sorted(_forwards()))
def test_parameter_lists_and_ragged_inputs_are_named(name):
    params, run, x = _forwards()[name]
    run(params, x)  # the arrays themselves are fine
    run(params, x.tolist())  # and so is a rectangular list
    for key in params:
        as_lists = dict(params)
        as_lists[key] = params[key].tolist()
        with pytest.raises(TypeError, match=rf"\['{key}'\]: expected a numpy array, got list"):
            run(as_lists, x)
    with pytest.raises(ValueError, match=r"x: expected a rectangular array .*ragged list"):
        run(params, _ragged(x))


# --- 5. float32 in, float32 out --------------------------------------------------------------

def _float32_params(cell, I, H, layers, bidirectional, seed):
    params = np_layers.init_stacked_params(cell, I, H, seed, num_layers=layers,
                                           bidirectional=bidirectional)
    return [{k: v.astype(np.float32) for k, v in p.items()} for p in params]


def _check_float32(cell, T, B, I, H, layers, bidirectional, seed):
    params = _float32_params(cell, I, H, layers, bidirectional, seed)
    x = np.random.default_rng(seed).standard_normal((T, B, I)).astype(np.float32)
    out, h_n, c_n, cache = np_layers.stacked_forward(cell, x, params, num_layers=layers,
                                                     bidirectional=bidirectional)
    dx, dh0, dc0, grads = np_layers.stacked_backward(np.ones_like(out), cache,
                                                     dh_n=np.ones_like(h_n))
    arrays = {"output": out, "h_n": h_n, "c_n": c_n, "dx": dx, "dh0": dh0, "dc0": dc0}
    arrays.update({f"grads[{j}][{k}]": v for j, g in enumerate(grads) for k, v in g.items()})
    h, c, layer_cache = np_layers.layer_forward(cell, x, None, params[0])
    ldx, ldh0, ldc0, lgrads = np_layers.layer_backward(np.ones_like(h), layer_cache)
    arrays.update({"layer h": h, "layer c": c, "layer dx": ldx, "layer dh0": ldh0,
                   "layer dc0": ldc0, **{f"layer grads[{k}]": v for k, v in lgrads.items()}})
    for name, a in arrays.items():
        if a is not None:
            assert a.dtype == np.float32, name
    # and float32 computes the same numbers as float64, to float32's precision
    out64, *_ = np_layers.stacked_forward(
        cell, x.astype(np.float64), [{k: v.astype(np.float64) for k, v in p.items()}
                                     for p in params], num_layers=layers,
        bidirectional=bidirectional)
    np.testing.assert_allclose(out, out64, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_float32_in_float32_out_with_default_states(cell, bidirectional):
    _check_float32(cell, T=4, B=2, I=3, H=5, layers=2, bidirectional=bidirectional, seed=0)


@settings(max_examples=10, deadline=None)
@given(cell=st.sampled_from(CELLS), T=st.integers(1, 10), B=st.integers(1, 4),
       I=st.integers(1, 8), H=st.integers(1, 8), layers=st.integers(1, 4),
       bidirectional=st.booleans(), seed=st.integers(0, 2**16))
def test_property_float32_any_configuration(cell, T, B, I, H, layers, bidirectional, seed):
    _check_float32(cell, T, B, I, H, layers, bidirectional, seed)


# --- 6. T = 0 ----------------------------------------------------------------------------------

def _check_empty(cell, B, I, H, seed):
    params = np_layers.init_params(cell, I, H, seed)
    rng = np.random.default_rng(seed)
    x = np.zeros((0, B, I))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    h, c, cache = np_layers.layer_forward(cell, x, h0, params, c0 if cell == "lstm" else None)
    assert h.shape == (0, B, H)
    dc_n = rng.standard_normal((B, H)) if cell == "lstm" else None
    dx, dh0, dc0, grads = np_layers.layer_backward(np.zeros((0, B, H)), cache, dc_n)
    assert dx.shape == (0, B, I)
    np.testing.assert_array_equal(dh0, np.zeros((B, H)))
    if cell == "lstm":
        np.testing.assert_array_equal(dc0, dc_n)  # c_T = c_0: its gradient passes unchanged
    assert grads.keys() == params.keys()
    for key, g in grads.items():
        assert g.shape == params[key].shape and not g.any(), key


@pytest.mark.parametrize("cell", CELLS)
def test_empty_sequence_backward_for_every_cell(cell):
    _check_empty(cell, B=2, I=3, H=4, seed=0)


@settings(max_examples=10, deadline=None)
@given(cell=st.sampled_from(CELLS), B=st.integers(1, 5), I=st.integers(1, 8),
       H=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_property_empty_sequence_any_size(cell, B, I, H, seed):
    _check_empty(cell, B, I, H, seed)


# --- 7. seeds, flags, prompts, sizes -----------------------------------------------------------

INITS = {
    "rnn": init_rnn_params, "lstm": init_lstm_params, "gru": init_gru_params,
    "init_params": lambda I, H, seed, **kw: np_layers.init_params("gru", I, H, seed, **kw),
    "init_stacked_params": lambda I, H, seed, **kw: np_layers.init_stacked_params(
        "lstm", I, H, seed, num_layers=2, **kw),
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_names_its_seed_and_refuses_non_bool_bias(name):
    init = INITS[name]
    for seed, error in (("abc", TypeError), (2.5, TypeError), (True, TypeError),
                        ([1, 2], TypeError), (-1, ValueError)):
        with pytest.raises(error, match="rng_or_seed: expected a numpy.random.Generator or an "
                                        "int seed >= 0"):
            init(3, 4, seed)
    for bias in ("no", 0, 1, None):
        with pytest.raises(TypeError, match="bias: expected a bool"):
            init(3, 4, 0, bias=bias)
    a, b = init(3, 4, 7), init(3, 4, np.random.default_rng(7))  # int seed = its Generator
    first = a[0] if isinstance(a, list) else a
    second = b[0] if isinstance(b, list) else b
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_generate_refuses_float_prompts_instead_of_truncating():
    lm = models.CharLM(5, 8, "gru", seed=0)
    for prompt in ([1.7, 2.2], np.array([1.0, 2.0]), torch.tensor([1.5]), [True, False]):
        with pytest.raises(TypeError, match="prompt: expected int ids"):
            lm.generate(prompt, 3)
    with pytest.raises(TypeError, match="prompt: expected a sequence of int ids, got a str"):
        lm.generate("ab", 3)
    with pytest.raises(ValueError, match="prompt: expected a non-empty 1-D sequence"):
        lm.generate([], 3)
    with pytest.raises(TypeError, match="seed: expected an int >= 0"):
        lm.generate([1, 2], 3, seed=1.5)
    ids = lm.generate([1, 2], 4, seed=3)
    assert ids == lm.generate(np.array([1, 2]), 4, seed=3) == lm.generate(
        torch.tensor([1, 2]), 4, seed=3)


@pytest.mark.parametrize("argument", ["query_size", "key_size", "attention_size"])
def test_attention_sizes_are_type_checked(argument):
    sizes = {"query_size": 4, "key_size": 4, "attention_size": 3}
    for value in (True, 2.5, "3", np.float64(3.0)):
        with pytest.raises(TypeError, match=f"{argument}: expected an int >= 1"):
            Attention(**{**sizes, argument: value})
    with pytest.raises(ValueError, match=f"{argument}: expected an int >= 1, got 0"):
        Attention(**{**sizes, argument: 0})
    assert Attention(**{**sizes, argument: np.int64(2)}) is not None


# --- 9. the step functions against torch.nn.*Cell, saturated inputs too ------------------------

NN_CELLS = {"rnn_tanh": nn.RNNCell, "rnn_relu": nn.RNNCell, "lstm": nn.LSTMCell,
            "gru": nn.GRUCell}


def _nn_cell(kind, I, H, bias, seed, scale):
    torch.manual_seed(seed)
    extra = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
    cell = NN_CELLS[kind](I, H, bias=bias, dtype=F64, **extra)
    with torch.no_grad():
        for p in cell.parameters():
            p.mul_(scale)  # scale 30: most gates saturate at 0 or 1
    return cell


def _torch_step(kind, cell, x, h, c):
    """The course's torch step function with the nn.*Cell's weights (autograd records it)."""
    x_proj = torch_steps.project_inputs(x[None], cell.weight_ih, cell.bias_ih)[0]
    if kind.startswith("rnn"):
        return torch_steps.rnn_cell(x_proj, h, cell.weight_hh, cell.bias_hh, kind[4:]), None
    if kind == "lstm":
        return torch_steps.lstm_cell(x_proj, h, c, cell.weight_hh, cell.bias_hh)
    return torch_steps.gru_cell(x_proj, h, cell.weight_hh, cell.bias_hh), None


def _numpy_step(kind, cell, x, h, c):
    """The numpy step function with the nn.*Cell's weights, converted to the dict layout."""
    H = cell.hidden_size
    gates = {"rnn_tanh": "h", "rnn_relu": "h", "lstm": "ifgo", "gru": "rzn"}[kind]
    w_ih, w_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    params = {}
    for k, gate in enumerate(gates):
        rows = slice(k * H, (k + 1) * H)
        params[f"W_x{gate}"], params[f"W_h{gate}"] = w_ih[rows], w_hh[rows]
        if cell.bias:
            b_ih, b_hh = cell.bias_ih.detach().numpy()[rows], cell.bias_hh.detach().numpy()[rows]
            if kind == "gru" and gate == "n":
                params["b_n"], params["b_hn"] = b_ih, b_hh  # b_hn sits inside r * (...)
            else:
                params[f"b_{gate}"] = b_ih + b_hh
    x, h = x.numpy(), h.numpy()
    if kind.startswith("rnn"):
        return rnn_step_forward(x, h, params, kind[4:])[0], None
    if kind == "lstm":
        h_next, c_next, _ = lstm_step_forward(x, h, c.numpy(), params)
        return h_next, c_next
    return gru_step_forward(x, h, params, "torch")[0], None


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(sorted(NN_CELLS)), B=st.integers(1, 6), I=st.integers(1, 12),
       H=st.integers(1, 12), bias=st.booleans(), scale=st.sampled_from([1.0, 30.0]),
       seed=st.integers(0, 2**16))
def test_property_step_functions_match_torch_nn_cells(kind, B, I, H, bias, scale, seed):
    cell = _nn_cell(kind, I, H, bias, seed, scale)
    g = torch.Generator().manual_seed(seed)
    x = (scale * torch.randn(B, I, generator=g, dtype=F64)).requires_grad_()
    h = torch.randn(B, H, generator=g, dtype=F64).requires_grad_()
    c = torch.randn(B, H, generator=g, dtype=F64).requires_grad_() if kind == "lstm" else None
    want = cell(x, (h, c)) if kind == "lstm" else (cell(x, h), None)
    got = _torch_step(kind, cell, x, h, c)
    np_got = _numpy_step(kind, cell, x.detach(), h.detach(), None if c is None else c.detach())
    for w, t, n in zip(want, got, np_got):
        if w is None:
            continue
        torch.testing.assert_close(t, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(n, w.detach().numpy(), rtol=0, atol=1e-12)
    # gradients of the same loss through the torch step and through torch.nn's cell
    weights = torch.randn(B, H, generator=g, dtype=F64)
    leaves = [x, h, *([c] if c is not None else []), *cell.parameters()]

    def grads_of(outputs):
        loss = sum((o * weights).sum() for o in outputs if o is not None)
        return torch.autograd.grad(loss, leaves, allow_unused=True)

    for w, t in zip(grads_of(want), grads_of(got)):
        if w is None:
            assert t is None or not t.any()
        else:
            torch.testing.assert_close(t, w, rtol=0, atol=1e-10)


# --- 9. the modules against torch.nn, sizes beyond the small property tests --------------------

@settings(max_examples=8, deadline=None)
@given(cell=st.sampled_from(CELLS), T=st.integers(5, 14), B=st.integers(1, 5),
       I=st.integers(5, 10), H=st.integers(5, 10), layers=st.integers(3, 4),
       bidirectional=st.booleans(), batch_first=st.booleans(),
       backward=st.sampled_from(["manual", "autograd"]), scale=st.sampled_from([1.0, 20.0]),
       seed=st.integers(0, 2**16))
def test_property_large_modules_match_torch_nn(cell, T, B, I, H, layers, bidirectional,
                                               batch_first, backward, scale, seed):
    ref, ours = _pair(cell, I, H, layers=layers, batch_first=batch_first,
                      bidirectional=bidirectional, backward=backward, seed=seed)
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn((B, T, I) if batch_first else (T, B, I), generator=g, dtype=F64)
    results = []
    for module in (ref, ours):
        xi = x.clone().requires_grad_()
        output, state = module(xi)
        states = state if isinstance(state, tuple) else (state,)
        gw = torch.Generator().manual_seed(seed + 1)
        loss = sum((t * torch.randn(t.shape, generator=gw, dtype=F64)).sum()
                   for t in (output, *states))
        loss.backward()
        results.append(([output.detach(), *[s.detach() for s in states]],
                        [xi.grad, *[p.grad for p in module.parameters()]]))
    (want_values, want_grads), (got_values, got_grads) = results
    for w, t in zip(want_values, got_values):
        torch.testing.assert_close(t, w, rtol=0, atol=1e-10)
    for w, t in zip(want_grads, got_grads):
        torch.testing.assert_close(t, w, rtol=1e-9, atol=1e-8)
