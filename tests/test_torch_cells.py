"""The from-scratch torch cells against torch.nn: values, gradients, training, conversion,
errors."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnncourse import torch_bptt, torch_steps
from rnncourse.torch_cells import GRU, LSTM, RNN, from_torch, to_torch

torch.set_num_threads(1)
F64 = torch.float64

# kind -> (torch.nn class, our class, extra constructor arguments)
KINDS = {
    "rnn_tanh": (nn.RNN, RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, LSTM, {}),
    "gru": (nn.GRU, GRU, {}),
}
BACKWARDS = ("manual", "autograd")


def make_pair(kind, I, H, layers=1, bias=True, batch_first=False, bidirectional=False,
              backward="manual", seed=0):
    tcls, ocls, extra = KINDS[kind]
    torch.manual_seed(seed)
    config = dict(num_layers=layers, bias=bias, batch_first=batch_first,
                  bidirectional=bidirectional, dtype=F64, **extra)
    ref = tcls(I, H, **config)
    ours = ocls(I, H, backward=backward, **config)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def make_data(kind, T, B, I, H, layers, bidirectional, batch_first, with_hx, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(shape, generator=g, dtype=F64)
    LD = layers * (2 if bidirectional else 1)
    if not with_hx:
        return x, None
    h0 = torch.randn(LD, B, H, generator=g, dtype=F64)
    if kind == "lstm":
        return x, (h0, torch.randn(LD, B, H, generator=g, dtype=F64))
    return x, h0


def leaves(x, hx):
    """Fresh leaf copies of the input and initial state that require grad."""
    x = x.detach().clone().requires_grad_()
    if hx is None:
        return x, None
    if isinstance(hx, tuple):
        return x, tuple(s.detach().clone().requires_grad_() for s in hx)
    return x, hx.detach().clone().requires_grad_()


def flat_states(result):
    """``(output, h_n[, c_n])`` from either return shape."""
    output, state = result
    return (output, *state) if isinstance(state, tuple) else (output, state)


def weighted_loss(tensors, seed=123):
    g = torch.Generator().manual_seed(seed)
    return sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in tensors)


def gradients(module, x, hx):
    x, hx = leaves(x, hx)
    outs = flat_states(module(x, hx))
    weighted_loss(outs).backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    grads["input"] = x.grad
    if isinstance(hx, tuple):
        grads["h0"], grads["c0"] = hx[0].grad, hx[1].grad
    elif hx is not None:
        grads["h0"] = hx.grad
    return outs, grads


configs = st.fixed_dictionaries({
    "kind": st.sampled_from(sorted(KINDS)),
    "T": st.integers(1, 4),
    "B": st.integers(1, 3),
    "I": st.integers(1, 4),
    "H": st.integers(1, 4),
    "layers": st.integers(1, 3),
    "bias": st.booleans(),
    "batch_first": st.booleans(),
    "bidirectional": st.booleans(),
    "with_hx": st.booleans(),
    "backward": st.sampled_from(BACKWARDS),
    "seed": st.integers(0, 2**16),
})


def _pair_and_data(c):
    ref, ours = make_pair(c["kind"], c["I"], c["H"], c["layers"], c["bias"], c["batch_first"],
                          c["bidirectional"], c["backward"], seed=c["seed"])
    x, hx = make_data(c["kind"], c["T"], c["B"], c["I"], c["H"], c["layers"],
                      c["bidirectional"], c["batch_first"], c["with_hx"], c["seed"])
    return ref, ours, x, hx


@settings(max_examples=25, deadline=None)
@given(configs)
def test_outputs_and_final_states_match_torch_nn(c):
    ref, ours, x, hx = _pair_and_data(c)
    expected, got = flat_states(ref(x, hx)), flat_states(ours(x, hx))
    assert len(expected) == len(got)
    for e, g in zip(expected, got):
        assert g.shape == e.shape and g.dtype == e.dtype
        torch.testing.assert_close(g, e, rtol=0, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(configs)
def test_every_gradient_matches_torch_nn_autograd(c):
    ref, ours, x, hx = _pair_and_data(c)
    _, expected = gradients(ref, x, hx)
    _, got = gradients(ours, x, hx)
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-8, msg=name)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_both_backward_paths_agree_on_a_bigger_case(kind):
    """T=7, two layers, bidirectional: long enough for BPTT through many steps."""
    grads = {}
    for backward in BACKWARDS:
        _, ours = make_pair(kind, 5, 6, layers=2, bidirectional=True, backward=backward)
        x, hx = make_data(kind, 7, 3, 5, 6, 2, True, False, True, seed=1)
        grads[backward] = gradients(ours, x, hx)[1]
    for name, g in grads["manual"].items():
        torch.testing.assert_close(g, grads["autograd"][name], rtol=0, atol=1e-10, msg=name)


# --- variants torch.nn does not have: sigmoid RNN, seed-form GRU -------------------------------


def _variant(cls, backward, **kwargs):
    torch.manual_seed(3)
    return cls(3, 4, num_layers=2, bidirectional=True, backward=backward, dtype=F64, **kwargs)


@pytest.mark.parametrize("cls, kwargs", [(RNN, {"nonlinearity": "sigmoid"}),
                                         (GRU, {"form": "seed"}),
                                         (GRU, {"form": "seed", "bias": False})])
def test_variants_manual_backward_matches_autograd(cls, kwargs):
    manual, auto = _variant(cls, "manual", **kwargs), _variant(cls, "autograd", **kwargs)
    x, h0 = make_data("gru", 5, 2, 3, 4, 2, True, False, True, seed=4)
    (out_m, h_m), g_m = gradients(manual, x, h0)
    (out_a, h_a), g_a = gradients(auto, x, h0)
    torch.testing.assert_close(out_m, out_a, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_m, h_a, rtol=0, atol=1e-12)
    for name in g_a:
        torch.testing.assert_close(g_m[name], g_a[name], rtol=0, atol=1e-10, msg=name)


@pytest.mark.parametrize("form", ["torch", "seed"])
def test_manual_gru_passes_gradcheck(form):
    torch.manual_seed(5)
    H = 3
    args = [torch.randn(4, 2, 2, dtype=F64), torch.randn(2, H, dtype=F64),
            torch.randn(3 * H, 2, dtype=F64), torch.randn(3 * H, H, dtype=F64),
            torch.randn(3 * H, dtype=F64), torch.randn(3 * H, dtype=F64)]
    args = [a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda *a: torch_bptt.gru_layer(*a, form=form), args)


def test_seed_form_follows_the_cho_equations():
    """One step written out with named weight slices (docs/conventions.md)."""
    torch.manual_seed(6)
    gru = GRU(3, 4, form="seed", dtype=F64)
    with torch.no_grad():
        gru.bias_hh_l0.normal_()  # a non-zero b_hn must make no difference
    x, h = torch.randn(1, 2, 3, dtype=F64), torch.randn(1, 2, 4, dtype=F64)
    W, U = gru.weight_ih_l0.split(4), gru.weight_hh_l0.split(4)
    b, c = gru.bias_ih_l0.split(4), gru.bias_hh_l0.split(4)
    x0, h0 = x[0], h[0]
    r = torch.sigmoid(x0 @ W[0].T + b[0] + h0 @ U[0].T + c[0])
    z = torch.sigmoid(x0 @ W[1].T + b[1] + h0 @ U[1].T + c[1])
    n = torch.tanh(x0 @ W[2].T + b[2] + (r * h0) @ U[2].T)
    expected = (1 - z) * n + z * h0
    for backward in BACKWARDS:
        gru.backward = backward
        out, h_n = gru(x, h)
        torch.testing.assert_close(out[0], expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(h_n[0], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_seed_form_leaves_b_hn_unused_and_zero(backward):
    gru = GRU(2, 3, num_layers=2, bidirectional=True, form="seed", backward=backward, dtype=F64)
    names = [n for n, _ in gru.named_parameters() if n.startswith("bias_hh")]
    assert len(names) == 4
    for name in names:
        assert torch.all(getattr(gru, name)[6:] == 0)
    x = torch.randn(4, 2, 2, dtype=F64)
    gru(x)[0].square().sum().backward()
    for name in names:
        assert torch.all(getattr(gru, name).grad[6:] == 0)
        assert torch.any(getattr(gru, name).grad[:6] != 0)


# --- initialisation, attributes, conversion ------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bias", [True, False])
def test_initialisation_and_names_are_torch_nns(kind, bias):
    tcls, ocls, extra = KINDS[kind]
    torch.manual_seed(7)
    ref = tcls(3, 5, num_layers=2, bias=bias, bidirectional=True, **extra)
    torch.manual_seed(7)
    ours = ocls(3, 5, num_layers=2, bias=bias, bidirectional=True, **extra)
    ref_params, our_params = dict(ref.named_parameters()), dict(ours.named_parameters())
    assert list(our_params) == list(ref_params)
    for name, p in ref_params.items():
        assert torch.equal(our_params[name], p), name
    for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                 "dropout", "bidirectional"):
        assert getattr(ours, attr) == getattr(ref, attr), attr


def test_modes():
    assert RNN(2, 3).mode == "RNN_TANH"
    assert RNN(2, 3, nonlinearity="relu").mode == "RNN_RELU"
    assert RNN(2, 3, nonlinearity="sigmoid").mode == "RNN_SIGMOID"
    assert LSTM(2, 3).mode == "LSTM"
    assert GRU(2, 3, form="seed").mode == "GRU"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_from_torch_and_to_torch_roundtrip(kind):
    tcls, _, extra = KINDS[kind]
    ref = tcls(3, 4, num_layers=2, batch_first=True, bidirectional=True, dtype=F64, **extra)
    ref.eval()
    rng_before = torch.random.get_rng_state()
    ours = from_torch(ref)
    back = to_torch(ours)
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert type(back) is tcls and not ours.training and not back.training
    for module in (ours, back):
        for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "bidirectional"):
            assert getattr(module, attr) == getattr(ref, attr)
    for name, p in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], p) and torch.equal(back.state_dict()[name], p)
    x = torch.randn(2, 5, 3, dtype=F64)
    for e, g in zip(flat_states(ref(x)), flat_states(ours(x))):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-10)


def test_to_torch_refuses_what_torch_nn_lacks():
    with pytest.raises(ValueError, match="torch.nn.RNN has no sigmoid"):
        to_torch(RNN(2, 3, nonlinearity="sigmoid"))
    with pytest.raises(ValueError, match="torch.nn.GRU has no seed form"):
        to_torch(GRU(2, 3, form="seed"))
    with pytest.raises(TypeError, match="expected an rnncourse RNN, LSTM or GRU, got LSTM"):
        to_torch(nn.LSTM(2, 3))
    with pytest.raises(TypeError, match="expected a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU"):
        from_torch(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(nn.LSTM(2, 4, proj_size=2))


def test_float32_matches_torch_nn():
    torch.manual_seed(8)
    ref = nn.LSTM(8, 16, num_layers=2)
    ours = from_torch(ref)
    x = torch.randn(20, 4, 8)
    (out_r, (h_r, c_r)), (out_o, (h_o, c_o)) = ref(x), ours(x)
    for got, expected in [(out_o, out_r), (h_o, h_r), (c_o, c_r)]:
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    out_r.sum().backward()
    out_o.sum().backward()
    for (name, p), q in zip(ref.named_parameters(), ours.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_unbatched_input_like_torch_nn(kind, backward):
    ref, ours = make_pair(kind, 3, 4, layers=2, bidirectional=True, backward=backward)
    x = torch.randn(5, 3, dtype=F64)
    h0 = torch.randn(4, 4, dtype=F64)
    hx = (h0, torch.randn(4, 4, dtype=F64)) if kind == "lstm" else h0
    for args in [(x,), (x, hx)]:
        expected, got = flat_states(ref(*args)), flat_states(ours(*args))
        for e, g in zip(expected, got):
            assert g.shape == e.shape
            torch.testing.assert_close(g, e, rtol=0, atol=1e-10)


# --- training ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("backward", BACKWARDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_optimizer_steps_train_like_torch_nn(kind, backward, optimizer):
    ref, ours = make_pair(kind, 3, 5, layers=2, backward=backward, seed=9)
    head_r, head_o = nn.Linear(5, 1, dtype=F64), nn.Linear(5, 1, dtype=F64)
    head_o.load_state_dict(head_r.state_dict())
    g = torch.Generator().manual_seed(10)
    x, y = torch.randn(6, 4, 3, generator=g, dtype=F64), torch.randn(6, 4, 1, generator=g,
                                                                      dtype=F64)

    def train(rnn, head):
        params = list(rnn.parameters()) + list(head.parameters())
        opt = (torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
               if optimizer == "sgd" else torch.optim.Adam(params, lr=0.01))
        losses = []
        for _ in range(6):
            opt.zero_grad()
            loss = ((head(rnn(x)[0]) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    losses_r, losses_o = train(ref, head_r), train(ours, head_o)
    assert losses_o == pytest.approx(losses_r, rel=0, abs=1e-10)
    assert losses_r[-1] < losses_r[0]
    for (name, p), q in zip(ref.named_parameters(), ours.parameters()):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-9, msg=name)


def test_dropout_between_layers():
    ref, ours = make_pair("lstm", 3, 4, layers=2)
    ref.dropout = ours.dropout = 0.5
    x = torch.randn(6, 2, 3, dtype=F64)
    ref.eval()
    ours.eval()
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=0, atol=1e-10)
    ours.train()
    torch.manual_seed(0)
    a = ours(x)[0]
    torch.manual_seed(1)
    b = ours(x)[0]
    assert not torch.allclose(a, b)


# --- the hand-written backward's contract ------------------------------------------------------


def test_manual_path_refuses_double_backward_autograd_path_allows_it():
    x = torch.randn(3, 2, 2, dtype=F64, requires_grad=True)
    manual = LSTM(2, 3, dtype=F64)
    auto = LSTM(2, 3, backward="autograd", dtype=F64)
    (g,) = torch.autograd.grad(auto(x)[0].sum(), x, create_graph=True)
    g.sum().backward()
    with pytest.raises(RuntimeError, match="differentiable once only"):
        torch.autograd.grad(manual(x)[0].sum(), x, create_graph=True)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_reused_buffers_never_change_kept_results(kind):
    """Outputs kept from one call survive later calls; a retained graph backpropagates twice."""
    _, ours = make_pair(kind, 3, 4, layers=2)
    x1, x2 = torch.randn(5, 2, 3, dtype=F64), torch.randn(5, 2, 3, dtype=F64)
    out1 = ours(x1)[0]
    kept = out1.detach().clone()
    loss = out1.sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in ours.parameters()]
    for _ in range(3):
        ours(x2)[0].sum().backward()
    ours.zero_grad()
    assert torch.equal(out1, kept)
    loss.backward()
    for p, g in zip(ours.parameters(), first):
        assert torch.equal(p.grad, g)


def test_layer_functions_of_both_modules_agree():
    torch.manual_seed(11)
    T, B, I, H = 4, 2, 3, 5
    x, h0, c0 = (torch.randn(T, B, I, dtype=F64), torch.randn(B, H, dtype=F64),
                 torch.randn(B, H, dtype=F64))
    w_ih, w_hh = torch.randn(4 * H, I, dtype=F64), torch.randn(4 * H, H, dtype=F64)
    b_ih, b_hh = torch.randn(4 * H, dtype=F64), torch.randn(4 * H, dtype=F64)
    hs_a, c_a = torch_steps.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    hs_m, c_m = torch_bptt.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    torch.testing.assert_close(hs_m, hs_a, rtol=0, atol=1e-12)
    torch.testing.assert_close(c_m, c_a, rtol=0, atol=1e-12)
    h1, c1 = torch_steps.lstm_cell(torch_steps.project_inputs(x, w_ih, b_ih)[0], h0, c0, w_hh,
                                   b_hh)
    torch.testing.assert_close(hs_a[0], h1)
    hs_1, c_1 = torch_bptt.lstm_layer(x[:1], h0, c0, w_ih, w_hh, b_ih, b_hh)
    torch.testing.assert_close(hs_1[0], h1, rtol=0, atol=1e-12)
    torch.testing.assert_close(c_1, c1, rtol=0, atol=1e-12)


# --- errors that name expected and given ---------------------------------------------------------


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_bad_inputs_are_refused_clearly(cls):
    model = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"expected 3 dimensions \(T, B, I\).*got 4"):
        model(torch.randn(2, 2, 2, 3))
    with pytest.raises(ValueError, match=r"input: expected shape \(T, B, I\) = \(\?, \?, 3\), "
                                         r"got \(5, 2, 7\)"):
        model(torch.randn(5, 2, 7))
    with pytest.raises(TypeError, match="input: expected a floating-point tensor, got dtype "
                                        "torch.int64"):
        model(torch.ones(5, 2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="expected dtype torch.float32.*got dtype torch.float64"):
        model(torch.randn(5, 2, 3, dtype=F64))
    with pytest.raises(TypeError, match="expected a torch.Tensor, got ndarray"):
        model(torch.randn(5, 2, 3).numpy())
    x = torch.randn(5, 2, 3)
    bad_h = torch.zeros(1, 2, 4)
    hx = (bad_h, torch.zeros(2, 2, 4)) if cls is LSTM else bad_h
    with pytest.raises(ValueError, match=r"expected shape \(num_layers\*num_directions, B, H\) = "
                                         r"\(2, 2, 4\), got \(1, 2, 4\)"):
        model(x, hx)
    bad_b = torch.zeros(2, 3, 4)
    hx = (torch.zeros(2, 2, 4), bad_b) if cls is LSTM else bad_b
    with pytest.raises(ValueError, match=r"= \(2, 2, 4\), got \(2, 3, 4\)"):
        model(x, hx)


def test_lstm_state_must_be_a_pair():
    model = LSTM(3, 4)
    with pytest.raises(TypeError, match=r"hx: expected a tuple \(h_0, c_0\) of two tensors, got "
                                        r"a Tensor"):
        model(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))


def test_batch_first_error_names_the_layout():
    with pytest.raises(ValueError, match=r"\(B, T, I\)"):
        GRU(3, 4, batch_first=True)(torch.randn(3))


@pytest.mark.parametrize("make, error, message", [
    (lambda: RNN(3, 4, nonlinearity="softsign"), ValueError,
     r"nonlinearity: expected one of \['tanh', 'relu', 'sigmoid'\], got 'softsign'"),
    (lambda: GRU(3, 4, form="cho"), ValueError,
     r"form: expected one of \['torch', 'seed'\], got 'cho'"),
    (lambda: LSTM(3, 4, backward="numpy"), ValueError,
     r"backward: expected one of \['manual', 'autograd'\], got 'numpy'"),
    (lambda: LSTM(3, 0), ValueError, "hidden_size: expected an int >= 1, got 0"),
    (lambda: LSTM(3.0, 4), TypeError, "input_size: expected an int >= 1, got float"),
    (lambda: GRU(3, 4, num_layers=0), ValueError, "num_layers: expected an int >= 1, got 0"),
    (lambda: RNN(3, 4, bias=1), TypeError, "bias: expected a bool, got int"),
    (lambda: LSTM(3, 4, dropout=1.5), ValueError, r"dropout: expected a number in \[0, 1\]"),
    (lambda: LSTM(3, 4, proj_size=2), ValueError, "proj_size: expected 0"),
])
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_benchmark_is_importable_and_reports_ratios(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_cells.py"
    spec = importlib.util.spec_from_file_location("bench_cells", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(["--rounds", "1", "--per-block", "1", "--cells", "GRU", "LSTM", "--json",
                         str(tmp_path / "bench.json"), "--size", "2", "3", "2", "3"])
    assert [(r["cell"], r["impl"]) for r in report["results"]] == [
        (cell, impl) for cell in ("GRU", "LSTM") for impl in bench.IMPLS]
    assert [r["ratio"] for r in report["results"] if r["impl"] == "torch.nn"] == [1.0, 1.0]
    assert all(r["median_s"] > 0 for r in report["results"])
    assert json.loads((tmp_path / "bench.json").read_text()) == report
    with pytest.raises(ValueError, match="impls: expected 'torch.nn' first"):
        bench.run_benchmark(impls=("manual",))


def test_workspace_hands_out_only_free_buffers():
    ws = torch_bptt.Workspace()
    like = torch.zeros(1, dtype=F64)
    a = ws.empty((4, 5), like)
    b = ws.empty((4, 5), like)
    assert a.data_ptr() != b.data_ptr()  # a is in use
    ptr_a, ptr_b = a.data_ptr(), b.data_ptr()
    row = a[1]
    del a
    c = ws.empty((4, 5), like)
    assert c.data_ptr() not in (ptr_a, ptr_b)  # a row of a keeps it busy; b is alive
    del row, b, c
    assert ws.empty((4, 5), like).data_ptr() == ptr_a  # free again: reused
    assert ws.empty((4, 5), like.float()).dtype == torch.float32
    ws.clear()
    big = torch_bptt.Workspace(max_bytes=8)
    assert big.empty((4, 5), like).shape == (4, 5) and not big._pool
