"""Bad arguments raise ValueError / TypeError naming what was expected and what was given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.convert import NumpyModel, numpy_from_torch
from rnncourse.gradcheck import gradient_check, numerical_gradient
from rnncourse.np_gru import gru_forward, init_gru_params
from rnncourse.np_layers import (
    init_params,
    init_stacked_params,
    layer_forward,
    stacked_backward,
    stacked_forward,
)
from rnncourse.np_lstm import init_lstm_params, lstm_forward, lstm_step_backward
from rnncourse.np_rnn import init_rnn_params, rnn_backward, rnn_forward, rnn_step_forward

torch.set_num_threads(1)

P = init_rnn_params(3, 4, 0)  # I = 3, H = 4
X = np.zeros((5, 2, 3))
H0 = np.zeros((2, 4))


def test_wrong_rank_of_x():
    with pytest.raises(ValueError, match=r"x: expected 3 dimensions \(T, B, I\).*got 2"):
        rnn_forward(np.zeros((2, 3)), H0, P)
    with pytest.raises(ValueError, match=r"x: expected 2 dimensions \(B, I\).*got 3"):
        rnn_step_forward(X, H0, P)


def test_wrong_input_size():
    with pytest.raises(ValueError, match=r"x: expected shape .*got \(5, 2, 7\).*I, should be 3"):
        rnn_forward(np.zeros((5, 2, 7)), H0, P)


def test_h0_hidden_size_does_not_match_W_hh():
    with pytest.raises(ValueError, match=r"h0: expected shape \(B, H\) = \(2, 4\), got \(2, 5\)"):
        rnn_forward(X, np.zeros((2, 5)), P)
    with pytest.raises(ValueError, match=r"h0: .*got \(3, 4\).*B, should be 2"):
        rnn_forward(X, np.zeros((3, 4)), P)
    with pytest.raises(ValueError, match=r"c0: .*\(B, H\) = \(2, 4\), got \(2, 3\)"):
        lstm_forward(X, H0, np.zeros((2, 3)), init_lstm_params(3, 4, 0))


def test_inconsistent_weight_shapes():
    bad = dict(P, W_hh=np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"params\['W_hh'\]: expected shape \(H, H\) = \(4, 4\)"):
        rnn_forward(X, H0, bad)
    bad = dict(P, W_xh=np.zeros((3, 4)))  # transposed
    with pytest.raises(ValueError, match=r"params\['W_xh'\]: expected shape \(H, I\).*\(3, 4\)"):
        rnn_forward(X, H0, bad)
    bad = dict(P, b_h=np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"params\['b_h'\]: expected 1 dimensions \(H\)"):
        rnn_forward(X, H0, bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(value):
    x = X.copy()
    x[1, 0, 2] = value
    with pytest.raises(ValueError, match=r"x: expected finite values, got 1 NaN or inf"):
        rnn_forward(x, H0, P)
    bad = dict(P, W_hh=P["W_hh"].copy())
    bad["W_hh"][0, 0] = value
    with pytest.raises(ValueError, match=r"params\['W_hh'\]: expected finite values"):
        rnn_forward(X, H0, bad)
    h, cache = rnn_forward(X, H0, P)
    dh = np.zeros_like(h)
    dh[0, 0, 0] = value
    with pytest.raises(ValueError, match="dh: expected finite values"):
        rnn_backward(dh, cache)


def test_integer_dtype():
    with pytest.raises(TypeError, match="x: expected a floating-point array, got dtype int64"):
        rnn_forward(np.zeros((5, 2, 3), dtype=np.int64), H0, P)
    with pytest.raises(TypeError, match=r"params\['W_xh'\]: expected a floating-point.*int"):
        rnn_forward(X, H0, dict(P, W_xh=np.zeros((4, 3), dtype=int)))
    with pytest.raises(TypeError, match="h0: expected a numpy array of floats, got str"):
        rnn_forward(X, "zeros", P)


def test_unknown_cell_and_activation_and_form():
    msg = r"cell: expected one of \['rnn', 'lstm', 'gru'\], got 'transformer'"
    with pytest.raises(ValueError, match=msg):
        init_params("transformer", 3, 4, 0)
    with pytest.raises(ValueError, match=msg):
        stacked_forward("transformer", X, [P])
    with pytest.raises(ValueError, match=msg):
        gradient_check("transformer")
    with pytest.raises(ValueError, match=r"activation: expected one of \['tanh', 'relu', "
                                         r"'sigmoid'\], got 'softplus'"):
        rnn_forward(X, H0, P, "softplus")
    with pytest.raises(ValueError, match="activation: .*got 'gelu'"):
        layer_forward("rnn", X, H0, P, activation="gelu")
    with pytest.raises(ValueError, match=r"form: expected one of \['torch', 'seed'\], got 'cho'"):
        gru_forward(X, H0, init_gru_params(3, 4, 0), form="cho")
    with pytest.raises(TypeError, match="activation: expected one of .* got int"):
        rnn_forward(X, H0, P, 3)


def test_missing_and_unknown_param_keys():
    with pytest.raises(ValueError, match=r"expected keys \['W_xh', 'W_hh'.*missing \['W_hh'\]"):
        rnn_forward(X, H0, {"W_xh": P["W_xh"], "b_h": P["b_h"]})
    lstm = init_lstm_params(3, 4, 0)
    del lstm["b_f"]  # some biases but not all
    with pytest.raises(ValueError, match=r"missing \['b_f'\]"):
        lstm_forward(X, H0, H0, lstm)
    with pytest.raises(ValueError, match=r"unknown \['W_hy'\]"):
        rnn_forward(X, H0, dict(P, W_hy=np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"missing \['b_hn'\]"):
        gru_forward(X, H0, init_gru_params(3, 4, 0, form="seed"), form="torch")
    with pytest.raises(ValueError, match="seed-form GRU has no b_hn"):
        gru_forward(X, H0, init_gru_params(3, 4, 0), form="seed")
    with pytest.raises(TypeError, match="params: expected a dict of arrays, got list"):
        rnn_forward(X, H0, [P["W_xh"], P["W_hh"]])


def test_bad_caches_and_upstream_gradients():
    with pytest.raises(TypeError, match="cache: expected the cache returned by rnn_forward"):
        rnn_backward(np.zeros((5, 2, 4)), {"steps": []})
    _, cache = rnn_forward(X, H0, P)
    with pytest.raises(ValueError, match=r"dh: expected shape \(T, B, H\) = \(5, 2, 4\), got "
                                         r"\(5, 2, 3\)"):
        rnn_backward(np.zeros((5, 2, 3)), cache)
    with pytest.raises(TypeError, match="cache: expected the dict of lstm_step_forward"):
        lstm_step_backward(H0, H0, cache)
    with pytest.raises(ValueError, match="truncate: expected an int >= 1, got 0"):
        rnn_backward(np.zeros((5, 2, 4)), cache, truncate=0)
    with pytest.raises(TypeError, match="truncate: expected an int >= 1, got float"):
        rnn_backward(np.zeros((5, 2, 4)), cache, truncate=2.5)


def test_stacked_arguments():
    params_list = init_stacked_params("lstm", 3, 4, 0, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"params_list: expected num_layers \* num_directions "
                                         r"= 2 \* 2 = 4 dicts.*got 3"):
        stacked_forward("lstm", X, params_list[:3], num_layers=2, bidirectional=True)
    wrong = params_list[:2] + init_stacked_params("lstm", 3, 4, 1, bidirectional=True)
    with pytest.raises(ValueError, match=r"params_list\[2\] \(layer 1, forward\): expected 8 "
                                         r"input features \(D \* H = 2 \* 4.*got W_x.. with 3"):
        stacked_forward("lstm", X, wrong, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"h0: expected shape \(L\*D, B, H\) = \(4, 2, 4\)"):
        stacked_forward("lstm", X, params_list, h0=np.zeros((2, 2, 4)), num_layers=2,
                        bidirectional=True)
    with pytest.raises(ValueError, match="c0: only the LSTM has a cell state"):
        stacked_forward("rnn", X, [P], c0=np.zeros((1, 2, 4)))
    with pytest.raises(TypeError, match="bidirectional: expected a bool, got int"):
        stacked_forward("rnn", X, [P], bidirectional=1)
    _, _, _, cache = stacked_forward("lstm", X, params_list, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"d_output: expected shape \(T, B, D\*H\) = \(5, 2, 8\)"):
        stacked_backward(np.zeros((5, 2, 4)), cache)


def test_conversion_and_gradcheck_arguments():
    with pytest.raises(TypeError, match="module: expected a torch.nn.RNN/LSTM/GRU.*got str"):
        numpy_from_torch("lstm")
    with pytest.raises(ValueError, match=r"params_list: expected num_layers \* num_directions"):
        NumpyModel("rnn", 3, 4, [P, P])
    with pytest.raises(ValueError, match="reference: expected one of .*got 'symbolic'"):
        gradient_check("rnn", reference="symbolic")
    with pytest.raises(TypeError, match="x: expected a float numpy array"):
        numerical_gradient(lambda v: 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="hidden_size: expected an int >= 1, got 0"):
        init_rnn_params(3, 0, 0)
