"""Lesson 3's helpers: parameter-count formulas against torch.nn, the two tasks, gate traces."""

import itertools

import numpy as np
import pytest
import torch

from rnncourse import variants
from rnncourse.convert import numpy_from_torch
from rnncourse.models import SequenceRegressor, count_parameters
from rnncourse.np_lstm import init_lstm_params, lstm_forward

torch.set_num_threads(1)

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


# --- parameter counts -------------------------------------------------------------------------

@pytest.mark.parametrize("cell", list(MODULES))
@pytest.mark.parametrize("input_size,hidden_size", [(1, 1), (3, 5), (7, 2), (16, 16)])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True),
                                                      (3, True)])
@pytest.mark.parametrize("bias", [True, False])
def test_param_count_equals_torch_nn(cell, input_size, hidden_size, num_layers, bidirectional,
                                     bias):
    net = MODULES[cell](input_size, hidden_size, num_layers=num_layers,
                        bidirectional=bidirectional, bias=bias)
    assert variants.param_count(cell, input_size, hidden_size, num_layers, bidirectional,
                                bias) == count_parameters(net)


@pytest.mark.parametrize("cell,num_layers,bidirectional,bias",
                         list(itertools.product(MODULES, [1, 2], [False, True], [True, False])))
def test_merged_count_equals_the_numpy_reference(cell, num_layers, bidirectional, bias):
    net = MODULES[cell](4, 6, num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    in_reference = sum(a.size for p in numpy_from_torch(net).params_list for a in p.values())
    assert variants.param_count(cell, 4, 6, num_layers, bidirectional, bias,
                                biases="merged") == in_reference


def test_param_count_by_hand():
    # LSTM, I = 3, H = 4: 4*4*(3+4) + 2*4*4 = 112 + 32
    assert variants.param_count("lstm", 3, 4) == 144
    # two bidirectional GRU layers, I = 2, H = 3: layer 1 reads 6 features
    per0 = 3 * 3 * (2 + 3) + 2 * 3 * 3
    per1 = 3 * 3 * (6 + 3) + 2 * 3 * 3
    assert variants.param_count("gru", 2, 3, 2, True) == 2 * (per0 + per1)
    assert variants.param_count("rnn", 5, 7, bias=False) == 7 * 5 + 7 * 7


@pytest.mark.parametrize("cell", list(MODULES))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_model_param_count_equals_the_regressor(cell, bidirectional, num_layers):
    model = SequenceRegressor(cell, 3, 5, 2, num_layers=num_layers, bidirectional=bidirectional,
                              seed=0)
    assert variants.model_param_count(cell, 3, 5, 2, num_layers, bidirectional) == \
        count_parameters(model)


@pytest.mark.parametrize("budget", [50, 393, 1233, 5000])
@pytest.mark.parametrize("cell,bidirectional", [("rnn", False), ("lstm", True), ("gru", False)])
def test_matched_hidden_size_is_the_closest(budget, cell, bidirectional):
    H = variants.matched_hidden_size(budget, cell, 2, bidirectional=bidirectional)
    gap = abs(variants.model_param_count(cell, 2, H, 1, bidirectional=bidirectional) - budget)
    for other in range(1, 200):
        n = variants.model_param_count(cell, 2, other, 1, bidirectional=bidirectional)
        assert gap <= abs(n - budget)


def test_lesson_budgets():
    assert variants.model_param_count("lstm", 2, 8, 1) == 393
    assert variants.matched_hidden_size(1233, "lstm", 1, bidirectional=True) == 11


@pytest.mark.parametrize("call,error,words", [
    (lambda: variants.param_count("cnn", 3, 4), ValueError, ["cell", "'rnn'", "'cnn'"]),
    (lambda: variants.param_count("lstm", 0, 4), ValueError, ["input_size", ">= 1", "0"]),
    (lambda: variants.param_count("lstm", 3, 2.5), TypeError, ["hidden_size", "int", "float"]),
    (lambda: variants.param_count("lstm", 3, 4, bidirectional="yes"), TypeError,
     ["bidirectional", "bool", "str"]),
    (lambda: variants.param_count("gru", 3, 4, biases="both"), ValueError,
     ["biases", "'torch'", "'both'"]),
    (lambda: variants.matched_hidden_size(-3, "rnn", 2), ValueError, ["budget", "-3"]),
    (lambda: variants.model_param_count("rnn", 2, 3, 0), ValueError, ["output_size", "0"]),
])
def test_bad_arguments_name_expected_and_given(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# --- marked value -----------------------------------------------------------------------------

def test_marked_value_shapes_and_dtype():
    x, y = variants.marked_value_batch(5, 11, 0)
    assert x.shape == (11, 5, 2) and y.shape == (11, 5, 1)
    assert x.dtype == y.dtype == torch.float32


def test_marked_value_target_is_the_latest_marked_value():
    x, y = variants.marked_value_batch(300, 30, np.random.default_rng(3), p=0.2)
    values, markers = x[..., 0].numpy(), x[..., 1].numpy()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert values.min() >= -1 and values.max() <= 1
    for b in range(300):
        held = 0.0
        for t in range(30):
            if markers[t, b]:
                held = values[t, b]
            assert y[t, b, 0].item() == pytest.approx(held)


def test_marked_value_every_step_marked_copies_the_input():
    x, y = variants.marked_value_batch(4, 9, 1, p=1.0)
    assert torch.all(x[..., 1] == 1) and torch.equal(y[..., 0], x[..., 0])


def test_marked_value_marker_rate_and_seed():
    x, _ = variants.marked_value_batch(2000, 40, 5, p=0.08)
    assert x[..., 1].mean().item() == pytest.approx(0.08, abs=0.005)
    a, b = variants.marked_value_test_set(20, 10), variants.marked_value_test_set(20, 10)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = variants.marked_value_test_set(20, 10, seed=1)
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(p=0.0), ValueError, ["p", "(0, 1]", "0.0"]),
    (dict(p=1.5), ValueError, ["p", "1.5"]),
    (dict(p="0.1"), TypeError, ["p", "number", "str"]),
])
def test_marked_value_bad_p(kwargs, error, words):
    with pytest.raises(error) as info:
        variants.marked_value_batch(2, 5, 0, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_marked_value_bad_rng_and_sizes():
    with pytest.raises(TypeError, match="rng"):
        variants.marked_value_batch(2, 5, "seed")
    with pytest.raises(ValueError, match="T"):
        variants.marked_value_batch(2, 0, 0)
    with pytest.raises(TypeError, match="seed"):
        variants.marked_value_test_set(5, seed=1.5)


def test_train_marked_value_runs_seeded():
    a = variants.train_marked_value(steps=5, n_test=20)
    b = variants.train_marked_value(steps=5, n_test=20)
    assert a.steps == 5 and a.losses == b.losses and a.n_params == 393
    r = variants.train_marked_value("gru", hidden_size=3, forget_bias=1.0, steps=3, n_test=10)
    assert r.n_params == variants.model_param_count("gru", 2, 3, 1)  # forget_bias ignored


# --- centred moving average --------------------------------------------------------------------

def test_window_average_shapes_and_formula():
    x, y = variants.window_average_batch(3, 8, 0, half_width=2)
    assert x.shape == y.shape == (8, 3, 1) and x.dtype == torch.float32
    xs = x[..., 0].double().numpy()
    for t in range(8):
        window = xs[max(0, t - 2):t + 3].sum(axis=0) / 5
        np.testing.assert_allclose(y[t, :, 0].numpy(), window, rtol=1e-6, atol=1e-7)


def test_window_average_depends_on_later_inputs():
    x, y = variants.window_average_batch(1, 6, 0, half_width=1)
    x2 = x.clone()
    x2[5] += 0.5  # change the last input only
    padded = torch.cat([torch.zeros(1, 1, 1), x2, torch.zeros(1, 1, 1)])
    y2 = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    assert torch.allclose(y2[:4], y[:4]) and not torch.allclose(y2[4], y[4])


@pytest.mark.parametrize("T,k", [(20, 2), (5, 1), (3, 4)])
def test_window_average_floor_matches_the_best_causal_predictor(T, k):
    x, y = variants.window_average_batch(200_000, T, 0, half_width=k)
    xs, ys = x[..., 0].double().numpy(), y[..., 0].double().numpy()
    padded = np.concatenate([np.zeros((k, xs.shape[1])), xs])
    causal = np.stack([padded[t:t + k + 1].sum(axis=0) for t in range(T)]) / (2 * k + 1)
    mse = float(np.mean((causal - ys) ** 2))
    assert mse == pytest.approx(variants.window_average_floor(T, k), rel=0.02)


def test_window_average_floor_by_hand():
    # T = 3, k = 1: future terms 1, 1, 0; each leaves (1/3) / 9
    assert variants.window_average_floor(3, 1) == pytest.approx((2 / 3) / 9 / 3)


def test_window_average_bad_arguments():
    with pytest.raises(ValueError, match="half_width: expected an int >= 1, got 0"):
        variants.window_average_batch(2, 5, 0, half_width=0)
    with pytest.raises(TypeError, match="half_width"):
        variants.window_average_floor(5, 1.0)
    with pytest.raises(ValueError, match="T"):
        variants.window_average_floor(0)


# --- gate traces ------------------------------------------------------------------------------

@pytest.fixture
def lstm():
    params = init_lstm_params(2, 5, 0)
    rng = np.random.default_rng(0)
    head = {"W_hy": rng.normal(size=(1, 5)), "b_y": rng.normal(size=(1,))}
    return params, head, rng.normal(size=(9, 3, 2))


def test_gate_trace_is_the_numpy_reference(lstm):
    params, head, x = lstm
    r = variants.gate_trace(params, head, x)
    h, c, cache = lstm_forward(x, np.zeros((3, 5)), np.zeros((3, 5)), params)
    np.testing.assert_array_equal(r.h, h)
    np.testing.assert_array_equal(r.c, c)
    for gate in "ifgo":
        np.testing.assert_array_equal(getattr(r, gate), cache["gates"][gate])
    np.testing.assert_allclose(r.prediction, h @ head["W_hy"].T + head["b_y"])
    assert r.forget_shift == 0.0


def test_gate_trace_shift_moves_only_the_forget_gate(lstm):
    params, head, x = lstm
    before = {k: v.copy() for k, v in params.items()}
    low, high = variants.gate_trace(params, head, x, -2), variants.gate_trace(params, head, x, 3)
    assert high.f.mean() > low.f.mean()
    np.testing.assert_array_equal(low.i[0], high.i[0])  # the first step does not see the shift
    for key, value in before.items():
        np.testing.assert_array_equal(params[key], value)  # params are left alone


def test_gate_trace_accepts_tensors_and_mse(lstm):
    params, head, x = lstm
    r = variants.gate_trace(params, head, torch.tensor(x, dtype=torch.float32))
    assert r.prediction.shape == (9, 3, 1)
    y = torch.zeros(9, 3, 1)
    assert r.mse(y) == pytest.approx(float(np.mean(r.prediction ** 2)))
    with pytest.raises(ValueError, match="y"):
        r.mse(np.zeros((9, 3, 2)))


def test_gate_trace_bad_arguments(lstm):
    params, head, x = lstm
    with pytest.raises(ValueError, match="biases"):
        variants.gate_trace(init_lstm_params(2, 5, 0, bias=False), head, x)
    with pytest.raises(TypeError, match="forget_shift: expected a number, got str"):
        variants.gate_trace(params, head, x, "1")
    with pytest.raises(ValueError, match="forget_shift"):
        variants.gate_trace(params, head, x, float("inf"))
    with pytest.raises(ValueError, match="x"):
        variants.gate_trace(params, head, np.zeros((9, 3, 4)))
    with pytest.raises(ValueError, match="W_hy"):
        variants.gate_trace(params, {"W_hy": np.zeros((1, 4)), "b_y": np.zeros(1)}, x)
    with pytest.raises(ValueError, match="head"):
        variants.gate_trace(params, {"W_hy": np.zeros((1, 5))}, x)


def test_lstm_arrays_round_trip():
    model = SequenceRegressor("lstm", 2, 4, 1, output="all", seed=0)
    params, head = variants.lstm_arrays(model)
    x = torch.randn(6, 3, 2)
    with torch.no_grad():
        want = model(x).double().numpy()
    got = variants.gate_trace(params, head, x).prediction
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_lstm_arrays_rejects_other_models():
    with pytest.raises(TypeError, match="LSTM core"):
        variants.lstm_arrays(SequenceRegressor("gru", 2, 4, 1, seed=0))
    with pytest.raises(TypeError, match="LSTM core"):
        variants.lstm_arrays(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="num_layers=2"):
        variants.lstm_arrays(SequenceRegressor("lstm", 2, 4, 1, num_layers=2, seed=0))
