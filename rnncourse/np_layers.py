"""One interface over the three numpy cells, and stacked / bidirectional layers like torch.nn.

* :func:`layer_forward` / :func:`layer_backward`: one layer, one direction, any cell.
* :func:`stacked_forward` / :func:`stacked_backward`: ``num_layers`` layers, one or two
  directions, with torch.nn's layout: ``params_list[layer * D + direction]`` (D = 2 when
  bidirectional), layer k > 0 reads the previous layer's output (D * H features), the reverse
  direction reads the sequence backwards and its outputs are put back in forward time order, the
  output concatenates [forward, reverse] on the last axis, and ``h_n[layer * D + direction]`` is
  each run's final state (for the reverse direction: its state after reading x[0]).
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate
from rnncourse.np_common import ACTIVATIONS, check_cache, check_params
from rnncourse.np_gru import (
    GRU_FORMS,
    check_gru_params,
    gru_backward,
    gru_forward,
    gru_step_forward,
    init_gru_params,
)
from rnncourse.np_lstm import (
    LSTM_GATES,
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
)
from rnncourse.np_rnn import (
    RNN_GATES,
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_forward,
)

CELLS = ("rnn", "lstm", "gru")
_FORWARD_KINDS = {"rnn_forward": "rnn", "lstm_forward": "lstm", "gru_forward": "gru"}


def _check_common(cell, activation, form):
    validate.choice("cell", cell, CELLS)
    validate.choice("activation", activation, ACTIVATIONS)
    validate.choice("form", form, GRU_FORMS)


def check_cell_params(cell, params, form="torch", name="params"):
    """Check a parameter dict for ``cell`` (and GRU ``form``); return ``(H, I, has_bias)``."""
    validate.choice("cell", cell, CELLS)
    if cell == "rnn":
        return check_params(params, RNN_GATES, name=name)
    if cell == "lstm":
        return check_params(params, LSTM_GATES, name=name)
    return check_gru_params(params, form, name=name)


def init_params(cell, input_size, hidden_size, rng_or_seed, bias=True, form="torch",
                forget_bias=0.0) -> dict:
    """Random parameters of one layer of ``cell`` (torch's uniform initialisation).

    ``form`` matters for the GRU only (b_hn in the torch form), ``forget_bias`` for the LSTM only.
    """
    validate.choice("cell", cell, CELLS)
    if cell == "rnn":
        return init_rnn_params(input_size, hidden_size, rng_or_seed, bias=bias)
    if cell == "lstm":
        return init_lstm_params(input_size, hidden_size, rng_or_seed, bias=bias,
                                forget_bias=forget_bias)
    return init_gru_params(input_size, hidden_size, rng_or_seed, bias=bias, form=form)


def init_stacked_params(cell, input_size, hidden_size, rng_or_seed, num_layers=1,
                        bidirectional=False, bias=True, form="torch", forget_bias=0.0) -> list:
    """``params_list`` for :func:`stacked_forward`: L * D dicts in torch's order."""
    L = validate.positive_int("num_layers", num_layers)
    D = 2 if validate.boolean("bidirectional", bidirectional) else 1
    H = validate.positive_int("hidden_size", hidden_size)
    rng = validate.generator("rng_or_seed", rng_or_seed)
    return [init_params(cell, input_size if layer == 0 else D * H, H, rng, bias, form,
                        forget_bias)
            for layer in range(L) for _ in range(D)]


def step_forward(cell, x, h_prev, params, c_prev=None, activation="tanh", form="torch"):
    """One step of any cell: ``(h_next, c_next, cache)``, c_next None unless cell is "lstm".

    x (B, I), h_prev and c_prev (B, H); see :func:`rnn_step_forward` and friends for the caches.
    """
    _check_common(cell, activation, form)
    if cell == "rnn":
        h_next, cache = rnn_step_forward(x, h_prev, params, activation)
        return h_next, None, cache
    if cell == "lstm":
        if c_prev is None:
            raise ValueError("c_prev: expected an array (B, H) for the LSTM, got None")
        return lstm_step_forward(x, h_prev, c_prev, params)
    h_next, cache = gru_step_forward(x, h_prev, params, form)
    return h_next, None, cache


def _dtype(x, params_list):
    """The dtype a run computes in: that of the input and the parameters together."""
    return np.result_type(x, *(value for params in params_list for value in params.values()))


def layer_forward(cell, x, h0, params, c0=None, activation="tanh", form="torch"):
    """One layer, one direction, of any cell over a sequence.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        x: (T, B, I); h0, c0: (B, H) or None for zeros (c0 is read by the LSTM only).
        params: the cell's dict; activation: RNN only; form: GRU only.

    Returns:
        ``(h, c, cache)``: h (T, B, H); c (T, B, H) for the LSTM, else None; cache the cell's
        sequence cache (its ``kind`` tells :func:`layer_backward` which cell it was).
    """
    _check_common(cell, activation, form)
    if h0 is None or (cell == "lstm" and c0 is None):  # zeros of the right size: find H
        H, _, _ = check_cell_params(cell, params, form)
        x = validate.as_float_array("x", x)
        B = x.shape[1] if x.ndim == 3 else 1  # a wrong rank is reported by the cell's check
        dtype = _dtype(x, [params])  # float32 in, float32 zeros: the run stays float32
        h0 = np.zeros((B, H), dtype) if h0 is None else h0
        c0 = np.zeros((B, H), dtype) if c0 is None else c0
    if cell == "rnn":
        h, cache = rnn_forward(x, h0, params, activation)
        return h, None, cache
    if cell == "lstm":
        return lstm_forward(x, h0, c0, params)
    h, cache = gru_forward(x, h0, params, form)
    return h, None, cache


def layer_backward(dh, cache, dc_n=None, truncate=None):
    """BPTT for :func:`layer_forward`: ``(dx, dh0, dc0, grads)``, dc0 None unless LSTM.

    dh (T, B, H) is the direct gradient on every h[t]; dc_n (B, H) optional, LSTM only, the
    gradient on the final cell state; truncate as in :func:`rnn_backward`.
    """
    kind = cache.get("kind") if isinstance(cache, dict) else None
    if kind not in _FORWARD_KINDS:
        raise TypeError(
            f"cache: expected the cache of layer_forward (kind one of {list(_FORWARD_KINDS)}), "
            f"got {kind if kind is not None else type(cache).__name__!r}")
    if kind == "lstm_forward":
        return lstm_backward(dh, cache, dc_n=dc_n, truncate=truncate)
    if dc_n is not None:
        raise ValueError(f"dc_n: only the LSTM has a cell state, expected None for {kind}")
    if kind == "rnn_forward":
        dx, dh0, grads = rnn_backward(dh, cache, truncate=truncate)
    else:
        dx, dh0, grads = gru_backward(dh, cache, truncate=truncate)
    return dx, dh0, None, grads


def check_params_list(cell, params_list, input_size, L, D, form):
    """Every dict right for its place: layer 0 reads I inputs, later layers D * H."""
    if not isinstance(params_list, (list, tuple)):
        raise TypeError(
            f"params_list: expected a list of {L * D} parameter dicts, got "
            f"{type(params_list).__name__}")
    if len(params_list) != L * D:
        raise ValueError(
            f"params_list: expected num_layers * num_directions = {L} * {D} = {L * D} dicts "
            f"(torch order: index = layer * {D} + direction), got {len(params_list)}")
    H = None
    for j, params in enumerate(params_list):
        where = f"params_list[{j}] (layer {j // D}, {'reverse' if j % D else 'forward'})"
        H_j, I_j, _ = check_cell_params(cell, params, form, name=where)
        H = H_j if H is None else H
        if H_j != H:
            raise ValueError(f"{where}: expected hidden size H = {H} like params_list[0], "
                             f"got H = {H_j}")
        expected_I = input_size if j < D else D * H
        if I_j != expected_I:
            what = "the input size of x" if j < D else f"D * H = {D} * {H} (the layer below)"
            raise ValueError(f"{where}: expected {expected_I} input features ({what}), got "
                             f"W_x.. with {I_j} columns")
    return H


def stacked_forward(cell, x, params_list, h0=None, c0=None, num_layers=1, bidirectional=False,
                    activation="tanh", form="torch"):
    """A stack of ``num_layers`` layers, optionally bidirectional, exactly like torch.nn.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        x: (T, B, I), time-major (convert batch-first input with ``x.transpose(1, 0, 2)``).
        params_list: L * D dicts, ``params_list[layer * D + direction]`` (D = 2 if bidirectional).
        h0, c0: (L * D, B, H) or None for zeros; c0 for the LSTM only.
        activation: RNN only; form: GRU only.

    Returns:
        ``(output, h_n, c_n, cache)``: output (T, B, D * H) the top layer's states, [forward,
        reverse] concatenated on the last axis; h_n (L * D, B, H) each run's final state; c_n
        the same for the LSTM, else None; cache a dict with ``kind="stacked_forward"``, ``cell``,
        ``num_layers``, ``bidirectional``, ``shape`` (T, B, I, H) and ``layers``: the L * D
        layer caches, in params_list order, each over its own run (reversed time for the
        reverse direction).
    """
    _check_common(cell, activation, form)
    L = validate.positive_int("num_layers", num_layers)
    D = 2 if validate.boolean("bidirectional", bidirectional) else 1
    x = validate.as_float_array("x", x)
    validate.check_shape("x", x, [("T", None), ("B", None), ("I", None)])
    T, B, I = x.shape
    if T == 0:
        raise ValueError("x: expected at least one time step (T >= 1), got T = 0")
    H = check_params_list(cell, params_list, I, L, D, form)
    h0 = None if h0 is None else validate.array("h0", h0, [("L*D", L * D), ("B", B), ("H", H)])
    if cell == "lstm":
        c0 = None if c0 is None else validate.array(
            "c0", c0, [("L*D", L * D), ("B", B), ("H", H)])
    elif c0 is not None:
        raise ValueError(f"c0: only the LSTM has a cell state, expected None for {cell!r}")
    # float32 in, float32 out: the zeros and the final states take the run's dtype.
    dtype = np.result_type(_dtype(x, params_list), *(s for s in (h0, c0) if s is not None))
    h0 = np.zeros((L * D, B, H), dtype) if h0 is None else h0
    if cell == "lstm" and c0 is None:
        c0 = np.zeros((L * D, B, H), dtype)

    h_n = np.zeros((L * D, B, H), dtype)
    c_n = np.zeros((L * D, B, H), dtype) if cell == "lstm" else None
    layers = []
    layer_input = x
    for layer in range(L):
        outputs = []
        for direction in range(D):
            j = layer * D + direction
            # The reverse direction is the same computation on the time-reversed sequence.
            run_input = layer_input[::-1] if direction else layer_input
            h, c, layer_cache = layer_forward(cell, run_input, h0[j], params_list[j],
                                              None if c0 is None else c0[j], activation, form)
            layers.append(layer_cache)
            h_n[j] = h[-1]  # the last state of the run (reverse: after reading x[0])
            if c_n is not None:
                c_n[j] = c[-1]
            outputs.append(h[::-1] if direction else h)  # back to forward time order
        layer_input = np.concatenate(outputs, axis=-1)  # (T, B, D * H)
    cache = {"kind": "stacked_forward", "cell": cell, "num_layers": L,
             "bidirectional": bidirectional, "shape": (T, B, I, H), "layers": layers}
    return layer_input, h_n, c_n, cache


def stacked_backward(d_output, cache, dh_n=None, dc_n=None, truncate=None):
    """BPTT through :func:`stacked_forward`.

    Args:
        d_output: (T, B, D * H), dL/d output.
        cache: the cache of :func:`stacked_forward`.
        dh_n, dc_n: (L * D, B, H) or None, the gradients on the final states (dc_n LSTM only).
        truncate: None or k, applied to every layer and direction over its own run (for the
            reverse direction, k steps of reversed time), as in :func:`rnn_backward`.

    Returns:
        ``(dx, dh0, dc0, grads_list)``: dx (T, B, I); dh0 (L * D, B, H); dc0 the same for the
        LSTM, else None; grads_list the L * D gradient dicts in params_list order.
    """
    cache = check_cache("cache", cache, "stacked_forward")
    cell, L = cache["cell"], cache["num_layers"]
    D = 2 if cache["bidirectional"] else 1
    T, B, I, H = cache["shape"]
    d_out = validate.array("d_output", d_output, [("T", T), ("B", B), ("D*H", D * H)])
    if dh_n is not None:
        dh_n = validate.array("dh_n", dh_n, [("L*D", L * D), ("B", B), ("H", H)])
    if dc_n is not None:
        if cell != "lstm":
            raise ValueError(f"dc_n: only the LSTM has a cell state, expected None for {cell!r}")
        dc_n = validate.array("dc_n", dc_n, [("L*D", L * D), ("B", B), ("H", H)])

    dtype = np.result_type(cache["layers"][0]["h"], d_out)
    dh0 = np.zeros((L * D, B, H), dtype)
    dc0 = np.zeros((L * D, B, H), dtype) if cell == "lstm" else None
    grads_list = [None] * (L * D)
    for layer in reversed(range(L)):  # top layer first: its input gradient feeds the one below
        d_input = None
        for direction in range(D):
            j = layer * D + direction
            dh_dir = d_out[..., direction * H:(direction + 1) * H]
            # In the run's own time order (reversed for the reverse direction).
            dh_run = (dh_dir[::-1] if direction else dh_dir).copy()
            if dh_n is not None:
                dh_run[-1] += dh_n[j]  # h_n[j] is the run's last state
            dx_run, dh0[j], dc0_j, grads_list[j] = layer_backward(
                dh_run, cache["layers"][j], None if dc_n is None else dc_n[j], truncate)
            if dc0 is not None:
                dc0[j] = dc0_j
            dx_dir = dx_run[::-1] if direction else dx_run
            d_input = dx_dir if d_input is None else d_input + dx_dir  # both read the input
        d_out = d_input
    return d_out, dh0, dc0, grads_list
