"""Convert between torch recurrent modules and the numpy reference (float64 parameter dicts).

torch packs the gates of a layer in one matrix, ``weight_ih_l{k}`` (G*H, I) with G = 1 (RNN),
4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), and keeps two biases, ``bias_ih`` and ``bias_hh``.
The numpy dicts of ``docs/conventions.md`` hold one matrix per gate, sliced out of the packed
ones (same orientation, no transpose), and one bias per gate, the sum ``b_ih + b_hh``, except
the GRU candidate in the torch form, where ``b_hn`` sits inside ``r * (W_hn h + b_hn)``:
``b_n = b_in`` and ``b_hn`` is kept separately.

:func:`numpy_from_torch` reads any module with torch.nn's parameter names and attributes
(``input_size``, ``hidden_size``, ``num_layers``, ``bidirectional``, ``batch_first``, ``bias``,
``mode`` and/or ``nonlinearity``; a GRU's ``form`` if it has one), so it works for
``torch.nn.RNN/LSTM/GRU`` and for rnncourse's from-scratch twins alike.
:func:`torch_from_numpy` builds the torch.nn module back.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnncourse import validate
from rnncourse.np_common import ACTIVATIONS
from rnncourse.np_layers import CELLS, check_params_list, stacked_forward

GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
_ATTRIBUTES = ("input_size", "hidden_size", "num_layers", "bidirectional", "batch_first", "bias")


@dataclass
class NumpyModel:
    """A recurrent model as numpy float64 parameter dicts, with torch.nn's configuration.

    ``params_list[layer * D + direction]`` holds the dict of one layer and direction (D = 2 when
    bidirectional) with the conventions' keys. ``activation`` is read by the RNN only, ``form``
    by the GRU only. Call it like the torch module: ``output, h_n = model(x)`` (LSTM:
    ``output, (h_n, c_n) = model(x, (h0, c0))``); ``x`` is (T, B, I), or (B, T, I) when
    ``batch_first``.
    """

    cell: str
    input_size: int
    hidden_size: int
    params_list: list = field(repr=False)
    num_layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False
    bias: bool = True
    activation: str = "tanh"
    form: str = "torch"

    def __post_init__(self):
        validate.choice("cell", self.cell, CELLS)
        validate.choice("activation", self.activation, ACTIVATIONS)
        validate.choice("form", self.form, ("torch", "seed"))
        validate.positive_int("input_size", self.input_size)
        validate.positive_int("hidden_size", self.hidden_size)
        validate.positive_int("num_layers", self.num_layers)
        for name in ("bidirectional", "batch_first", "bias"):
            validate.boolean(name, getattr(self, name))
        D = 2 if self.bidirectional else 1
        H = check_params_list(self.cell, self.params_list, self.input_size, self.num_layers, D,
                               self.form)
        if H != self.hidden_size:
            raise ValueError(f"params_list: expected hidden size {self.hidden_size}, got {H}")

    def forward(self, x, hx=None):
        """Like the torch module's forward: ``(output, h_n)`` or ``(output, (h_n, c_n))``."""
        x = validate.as_float_array("x", x)
        validate.check_shape("x", x, [("B", None), ("T", None), ("I", self.input_size)]
                             if self.batch_first else
                             [("T", None), ("B", None), ("I", self.input_size)])
        if self.batch_first:
            x = x.transpose(1, 0, 2)  # the numpy code is time-major
        h0, c0 = self._split_hx(hx)
        output, h_n, c_n, _ = stacked_forward(
            self.cell, x, self.params_list, h0, c0, self.num_layers, self.bidirectional,
            self.activation, self.form)
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        return (output, (h_n, c_n)) if self.cell == "lstm" else (output, h_n)

    __call__ = forward

    def _split_hx(self, hx):
        """``(h0, c0)`` from ``hx``: a pair ``(h_0, c_0)`` for the LSTM, one array otherwise."""
        if hx is None:
            return None, None
        if self.cell == "lstm":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                got = f"a {type(hx).__name__}" + (
                    f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
                raise TypeError(f"hx: expected a tuple (h_0, c_0) of two arrays "
                                f"(num_layers * num_directions, B, H) for the LSTM, got {got}")
            return hx
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"hx: expected one array h_0 (num_layers * num_directions, B, H) "
                            f"for the {self.cell.upper()}, got a {type(hx).__name__} (only the "
                            f"LSTM takes a pair)")
        return hx, None


def _suffix(layer, direction):
    return f"l{layer}" + ("_reverse" if direction else "")


def _describe(module):
    """(cell, activation, form) of a module with torch.nn's attributes, or TypeError."""
    missing = [a for a in _ATTRIBUTES if not hasattr(module, a)]
    if not hasattr(module, "state_dict") or missing:
        raise TypeError(
            "module: expected a torch.nn.RNN/LSTM/GRU or a module with their attributes "
            f"{list(_ATTRIBUTES)} and parameter names, got {type(module).__name__}"
            + (f" (missing {missing})" if missing else ""))
    mode = getattr(module, "mode", None) or type(module).__name__.upper()
    if mode.startswith("RNN"):
        activation = getattr(module, "nonlinearity", None) or (
            mode.split("_", 1)[1].lower() if "_" in mode else "tanh")
        validate.choice("nonlinearity", activation, ACTIVATIONS)
        return "rnn", activation, "torch"
    if mode.startswith("LSTM"):
        if getattr(module, "proj_size", 0):
            raise ValueError(f"module: expected an LSTM without projection (proj_size=0), got "
                             f"proj_size={module.proj_size}")
        return "lstm", "tanh", "torch"
    if mode.startswith("GRU"):
        form = getattr(module, "form", "torch")
        validate.choice("form", form, ("torch", "seed"))
        return "gru", "tanh", form
    raise TypeError(f"module: expected mode RNN_TANH, RNN_RELU, LSTM or GRU, got {mode!r}")


def _split_layer(cell, form, tensors, H, bias_of):
    """One layer/direction's numpy dict from its packed arrays.

    ``bias_of(k, b_ih, b_hh)`` combines the k-th gate's two bias chunks: their sum for weights,
    ``b_ih``'s chunk alone for gradients (dL/db_ih = dL/d(b_ih + b_hh)).
    """
    w_ih, w_hh, b_ih, b_hh = tensors
    params = {}
    for k, gate in enumerate(GATES[cell]):
        rows = slice(k * H, (k + 1) * H)
        params[f"W_x{gate}"] = w_ih[rows].copy()
        params[f"W_h{gate}"] = w_hh[rows].copy()
        if b_ih is not None:
            if cell == "gru" and gate == "n":
                params["b_n"] = b_ih[rows].copy()
            else:
                params[f"b_{gate}"] = bias_of(b_ih[rows], b_hh[rows])
    if b_ih is not None and cell == "gru" and form == "torch":
        params["b_hn"] = b_hh[2 * H:].copy()
    # Conventions' key order: W_x., W_h., b_. gate by gate, b_hn last.
    order = [f"{p}{g}" for g in GATES[cell] for p in ("W_x", "W_h", "b_")] + ["b_hn"]
    return {key: params[key] for key in order if key in params}


def _layer_arrays(module, get):
    """For every (layer, direction): (w_ih, w_hh, b_ih, b_hh) as float64 numpy arrays."""
    state = dict(module.named_parameters())
    D = 2 if module.bidirectional else 1
    out = []
    for layer in range(module.num_layers):
        for direction in range(D):
            sfx = _suffix(layer, direction)
            names = [f"weight_ih_{sfx}", f"weight_hh_{sfx}"]
            if module.bias:
                names += [f"bias_ih_{sfx}", f"bias_hh_{sfx}"]
            missing = [n for n in names if n not in state]
            if missing:
                raise ValueError(f"module: expected parameters {names}, missing {missing}")
            arrays = [get(state[n]) for n in names]
            out.append(tuple(arrays) + (None, None) * (not module.bias))
    return out


def _to_numpy(tensor):
    return tensor.detach().cpu().to(dtype=torch.float64).numpy().copy()


def numpy_from_torch(module) -> NumpyModel:
    """The :class:`NumpyModel` (float64) with the configuration and weights of ``module``.

    ``module`` is a ``torch.nn.RNN`` (tanh or relu), ``torch.nn.LSTM`` (no projection) or
    ``torch.nn.GRU``, any number of layers, one or two directions, with or without bias, or any
    module with the same attributes and parameter names (e.g. ``rnncourse.torch_cells``, whose
    ``RNN(nonlinearity="sigmoid")`` and ``GRU(form="seed")`` convert too). For the seed-form GRU,
    the n-chunk of ``bias_hh`` has no place in the equations and is dropped (a warning says so
    if it is not zero).
    """
    cell, activation, form = _describe(module)
    H = module.hidden_size
    arrays = _layer_arrays(module, _to_numpy)
    if cell == "gru" and form == "seed" and module.bias:
        if any(np.any(b_hh[2 * H:] != 0) for _, _, _, b_hh in arrays):
            warnings.warn("module: seed-form GRU with a non-zero n-chunk in bias_hh; the seed "
                          "form has no b_hn, so it is ignored", stacklevel=2)
    params_list = [_split_layer(cell, form, a, H, lambda bi, bh: bi + bh) for a in arrays]
    return NumpyModel(cell, int(module.input_size), int(H), params_list,
                      num_layers=int(module.num_layers), bidirectional=bool(module.bidirectional),
                      batch_first=bool(module.batch_first), bias=bool(module.bias),
                      activation=activation, form=form)


def numpy_grads_from_torch(module) -> list:
    """The ``.grad`` of every parameter of ``module`` as numpy dicts in the conventions' keys.

    Same layout as ``numpy_from_torch(module).params_list``. A summed bias ``b = b_ih + b_hh``
    has the gradient of either part; ``b_n`` is ``b_in``'s and ``b_hn`` is ``b_hn``'s. A
    parameter without ``.grad`` (not reached by the loss) counts as zero.
    """
    cell, _, form = _describe(module)

    def grad(p):
        return _to_numpy(p.grad) if p.grad is not None else np.zeros(tuple(p.shape))

    arrays = _layer_arrays(module, grad)
    return [_split_layer(cell, form, a, module.hidden_size, lambda bi, bh: bi.copy())
            for a in arrays]


def torch_from_numpy(model: NumpyModel, *, dtype=None):
    """The ``torch.nn.RNN/LSTM/GRU`` (float64 unless ``dtype``) computing what ``model`` does.

    Biases: ``bias_ih = b`` and ``bias_hh = 0`` for every gate, except the GRU candidate:
    ``bias_ih_n = b_n``, ``bias_hh_n = b_hn``. Raises ValueError for the two variants torch.nn
    does not have, the sigmoid RNN and the seed-form GRU.
    """
    if not isinstance(model, NumpyModel):
        raise TypeError(f"model: expected a NumpyModel (see numpy_from_torch), got "
                        f"{type(model).__name__}")
    if model.cell == "rnn" and model.activation == "sigmoid":
        raise ValueError("model: torch.nn.RNN has no sigmoid nonlinearity (expected activation "
                         "'tanh' or 'relu'), got activation='sigmoid'")
    if model.cell == "gru" and model.form != "torch":
        raise ValueError("model: torch.nn.GRU has only the torch form n = tanh(W_in x + b_in + "
                         "r * (W_hn h + b_hn)); expected form='torch', got form="
                         f"{model.form!r}")
    dtype = torch.float64 if dtype is None else dtype
    kwargs = dict(num_layers=model.num_layers, bias=model.bias, batch_first=model.batch_first,
                  bidirectional=model.bidirectional, dtype=dtype)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream untouched
        if model.cell == "rnn":
            module = nn.RNN(model.input_size, model.hidden_size,
                            nonlinearity=model.activation, **kwargs)
        elif model.cell == "lstm":
            module = nn.LSTM(model.input_size, model.hidden_size, **kwargs)
        else:
            module = nn.GRU(model.input_size, model.hidden_size, **kwargs)

    H, D = model.hidden_size, 2 if model.bidirectional else 1
    gates = GATES[model.cell]
    state = {}
    for j, params in enumerate(model.params_list):
        sfx = _suffix(j // D, j % D)
        state[f"weight_ih_{sfx}"] = np.concatenate([params[f"W_x{g}"] for g in gates])
        state[f"weight_hh_{sfx}"] = np.concatenate([params[f"W_h{g}"] for g in gates])
        if model.bias:
            state[f"bias_ih_{sfx}"] = np.concatenate([params[f"b_{g}"] for g in gates])
            b_hh = np.zeros(len(gates) * H)
            if model.cell == "gru":
                b_hh[2 * H:] = params["b_hn"]
            state[f"bias_hh_{sfx}"] = b_hh
    module.load_state_dict({k: torch.tensor(v, dtype=dtype) for k, v in state.items()})
    return module
