"""``RNN``, ``LSTM`` and ``GRU`` written from scratch, drop-in twins of ``torch.nn``'s.

Same constructor, same ``forward(input, hx=None)``, same return values, same parameter names,
shapes and initialisation as ``torch.nn.RNN/LSTM/GRU``, so
``ours.load_state_dict(torch_module.state_dict())`` just works (and :func:`from_torch` /
:func:`to_torch` convert whole modules). Inside there is no ``torch.nn`` recurrent kernel: each
layer and direction runs the equations of ``docs/conventions.md`` through one of two
implementations of the same computation, picked by ``backward=``:

* ``"manual"`` (default): hand-written BPTT in an ``autograd.Function``
  (:mod:`rnncourse.torch_bptt`): forward + backward about 1.1x the time of ``torch.nn.LSTM``
  and faster than ``torch.nn.RNN``/``GRU`` on the course's CPU (``benchmarks/bench_cells.py``);
* ``"autograd"``: the readable per-step cells of :mod:`rnncourse.torch_steps`, differentiated
  by autograd (slower, but differentiable twice).

``dropout`` acts between stacked layers in training mode, as in torch.nn
(``dropout_mode="standard"``: a fresh mask for every element at every time step). The course
adds ``dropout_mode="variational"`` (Gal & Ghahramani 2016): one mask per sequence and unit,
the same at every time step, on the output of every layer but the last *and* on the state
``h_{t-1}`` that each layer's recurrent product reads (``W_hh (m * h_{t-1})``; the state itself
is carried unmasked), all at rate ``dropout``, so it acts with one layer too. The masks are
drawn from torch's global generator in a fixed order, per layer: the recurrent mask ``(B, H)``
of each direction, then (except after the last layer) the output mask ``(B, D*H)``; kept
units are scaled by ``1 / (1 - dropout)``. A layer with a recurrent mask runs through the
autograd path (:mod:`rnncourse.torch_steps`), whatever ``backward`` says.

Extras the course needs: ``RNN(nonlinearity="sigmoid")`` for the vanishing-gradient lesson, and
``GRU(form="seed")``, the candidate of Cho et al. (2014) ``n = tanh(W_xn x + b_in + W_hn (r*h))``.
The seed form has no ``b_hn``: ``bias_hh_l{k}`` keeps torch's shape ``(3H,)`` so state dicts stay
interchangeable, but its n-chunk is never read. It is set to zero at initialisation and its
gradient is exactly zero, so optimisers leave it at zero and the state dict says what the model
computes (a non-zero value loaded into it is kept and ignored).
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from rnncourse import torch_bptt, torch_steps
from rnncourse.validate import boolean, check_shape, choice

__all__ = ["RNN", "LSTM", "GRU", "from_torch", "to_torch", "DROPOUT_MODES", "dropout_mask"]

BACKWARDS = ("manual", "autograd")
DROPOUT_MODES = ("standard", "variational")
NONLINEARITIES = ("tanh", "relu", "sigmoid")
GRU_FORMS = ("torch", "seed")


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int >= 1, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value}")


def _check_float_tensor(name, value, dtype):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    if value.dtype != dtype:
        raise TypeError(
            f"{name}: expected dtype {dtype} (the parameters' dtype; convert the tensor or the "
            f"model with .to()), got dtype {value.dtype}"
        )


def dropout_mask(shape, p: float, *, dtype=None, device=None) -> torch.Tensor:
    """A dropout mask: each entry ``1 / (1 - p)`` with probability ``1 - p``, else 0 (drawn
    from torch's global generator)."""
    keep = torch.full(shape, 1.0 - p, dtype=dtype, device=device)
    return torch.bernoulli(keep) / (1.0 - p)


class _RecurrentBase(nn.Module):
    """What RNN, LSTM and GRU share: parameters, argument checks, the layer/direction loop."""

    _gates = 1

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, backward="manual",
                 dropout_mode="standard", device=None, dtype=None):
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        _check_size("num_layers", num_layers)
        boolean("bias", bias)
        boolean("batch_first", batch_first)
        boolean("bidirectional", bidirectional)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"dropout: expected a number in [0, 1], got {type(dropout).__name__}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout: expected a number in [0, 1], got {dropout}")
        choice("dropout_mode", dropout_mode, DROPOUT_MODES)
        if dropout == 1 and dropout_mode == "variational":
            raise ValueError("dropout: expected a number in [0, 1) with dropout_mode="
                             "'variational' (a mask that keeps nothing cannot be rescaled), "
                             "got 1")
        if dropout > 0 and num_layers == 1 and dropout_mode == "standard":
            warnings.warn(
                "dropout acts between stacked layers (after all but the last), so it does nothing "
                f"with num_layers=1; got dropout={dropout}", stacklevel=3,
            )
        choice("backward", backward, BACKWARDS)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.dropout_mode = dropout_mode
        self.bidirectional = bidirectional
        self.proj_size = 0
        self.backward = backward
        factory = {"device": device, "dtype": dtype}
        G = self._gates * hidden_size
        D = 2 if bidirectional else 1
        # Registered in torch.nn's order so that reset_parameters draws the same numbers.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * D
            for direction in range(D):
                sfx = f"l{layer}" + ("_reverse" if direction else "")
                self.register_parameter(
                    f"weight_ih_{sfx}", nn.Parameter(torch.empty(G, layer_input, **factory)))
                self.register_parameter(
                    f"weight_hh_{sfx}", nn.Parameter(torch.empty(G, hidden_size, **factory)))
                if bias:
                    self.register_parameter(
                        f"bias_ih_{sfx}", nn.Parameter(torch.empty(G, **factory)))
                    self.register_parameter(
                        f"bias_hh_{sfx}", nn.Parameter(torch.empty(G, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every parameter uniform in ``[-1/sqrt(H), 1/sqrt(H)]``."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Nothing to do (no cuDNN weight buffer); present so torch.nn code runs unchanged."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_parameters(self, layer: int, direction: int = 0):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of one layer and direction.

        The biases are None when the model has no bias."""
        sfx = f"l{layer}" + ("_reverse" if direction else "")
        return (
            getattr(self, f"weight_ih_{sfx}"),
            getattr(self, f"weight_hh_{sfx}"),
            getattr(self, f"bias_ih_{sfx}", None),
            getattr(self, f"bias_hh_{sfx}", None),
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.dropout_mode != "standard":
            s += f", dropout_mode={self.dropout_mode!r}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + self._extra_repr_tail() + f", backward={self.backward!r}"

    def _extra_repr_tail(self) -> str:
        return ""

    # --- forward ---------------------------------------------------------------------------

    def _check_input(self, input):
        """Return ``(x time-major (T, B, I), unbatched)``."""
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise TypeError(
                "input: expected a tensor (T, B, I); PackedSequence is not supported by the "
                "rnncourse cells (pad the batch instead)"
            )
        dtype = next(self.parameters()).dtype
        _check_float_tensor("input", input, dtype)
        I = self.input_size
        if input.dim() == 2:
            check_shape("input", input, [("T", None), ("I", I)])
            x, unbatched = input.unsqueeze(1), True
        elif input.dim() == 3:
            dims = [("B", None), ("T", None), ("I", I)] if self.batch_first else [
                ("T", None), ("B", None), ("I", I)]
            check_shape("input", input, dims)
            x = input.transpose(0, 1) if self.batch_first else input
            unbatched = False
        else:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ValueError(
                f"input: expected 3 dimensions {layout} (or 2, (T, I), for one unbatched "
                f"sequence) with I = {I}, got {input.dim()} with shape {tuple(input.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"input: expected at least one time step and one sequence, got shape "
                f"{tuple(input.shape)}"
            )
        return x, unbatched

    def _check_state(self, name, state, batch, unbatched, dtype):
        """Return the state as ``(L*D, B, H)``; zeros when ``state`` is None."""
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if state is None:
            return torch.zeros(LD, batch, H, dtype=dtype, device=next(self.parameters()).device)
        _check_float_tensor(name, state, dtype)
        if unbatched:
            check_shape(name, state, [("num_layers*num_directions", LD), ("H", H)])
            return state.unsqueeze(1)
        check_shape(name, state, [("num_layers*num_directions", LD), ("B", batch), ("H", H)])
        return state

    def _split_hx(self, hx, batch, unbatched, dtype):
        h0 = self._check_state("hx", hx, batch, unbatched, dtype)
        return h0, None

    def _run_layer(self, impl, x, h0, c0, w_ih, w_hh, b_ih, b_hh, h_mask=None):
        raise NotImplementedError

    def forward(self, input, hx=None):
        x, unbatched = self._check_input(input)
        choice("backward", self.backward, BACKWARDS)
        choice("dropout_mode", self.dropout_mode, DROPOUT_MODES)
        impl = torch_bptt if self.backward == "manual" else torch_steps
        variational = bool(self.dropout) and self.training and self.dropout_mode == "variational"
        h0, c0 = self._split_hx(hx, x.shape[1], unbatched, x.dtype)
        B, H, p = x.shape[1], self.hidden_size, self.dropout
        h_n, c_n = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                w_ih, w_hh, b_ih, b_hh = self.layer_parameters(layer, direction)
                seq = layer_input.flip(0) if direction else layer_input
                h_mask = dropout_mask((B, H), p, dtype=x.dtype, device=x.device) \
                    if variational else None  # (B, H): one mask for every time step
                hs, c_last = self._run_layer(
                    torch_steps if variational else impl, seq, h0[k],
                    None if c0 is None else c0[k], w_ih, w_hh, b_ih, b_hh, h_mask)
                h_n.append(hs[-1])
                c_n.append(c_last)
                outputs.append(hs.flip(0) if direction else hs)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            if variational and layer < self.num_layers - 1:  # (1, B, D*H): the same at every t
                layer_input = layer_input * dropout_mask(
                    (1, B, layer_input.shape[2]), p, dtype=x.dtype, device=x.device)
            elif self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output, h_n = layer_input, torch.stack(h_n)
        c_n = None if c0 is None else torch.stack(c_n)
        if unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, h_n) if c_n is None else (output, (h_n, c_n))


class RNN(_RecurrentBase):
    """Elman RNN, ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, like ``torch.nn.RNN``.

    ``nonlinearity`` is ``"tanh"``, ``"relu"`` or ``"sigmoid"`` (the last has no torch.nn twin).
    """

    _gates = 1

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, backward="manual",
                 dropout_mode="standard", device=None, dtype=None):
        choice("nonlinearity", nonlinearity, NONLINEARITIES)
        self.nonlinearity = nonlinearity
        super().__init__(f"RNN_{nonlinearity.upper()}", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, backward=backward,
                         dropout_mode=dropout_mode, device=device, dtype=dtype)

    def _extra_repr_tail(self):
        return "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"

    def _run_layer(self, impl, x, h0, c0, w_ih, w_hh, b_ih, b_hh, h_mask=None):
        return impl.rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, self.nonlinearity,
                              **_mask_arg(h_mask)), None


class LSTM(_RecurrentBase):
    """Long short-term memory, gates packed i, f, g, o, like ``torch.nn.LSTM`` (no projections).

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``.
    """

    _gates = 4

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, backward="manual",
                 dropout_mode="standard", device=None, dtype=None):
        if proj_size != 0:
            raise ValueError(
                f"proj_size: expected 0 (the rnncourse LSTM has no projection), got {proj_size}")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, backward=backward, dropout_mode=dropout_mode,
                         device=device, dtype=dtype)

    def _split_hx(self, hx, batch, unbatched, dtype):
        if hx is None:
            return (self._check_state("hx[0]", None, batch, unbatched, dtype),
                    self._check_state("hx[1]", None, batch, unbatched, dtype))
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            got = f"a {type(hx).__name__}" + (
                f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
            raise TypeError(f"hx: expected a tuple (h_0, c_0) of two tensors, got {got}")
        return (self._check_state("hx[0] (h_0)", hx[0], batch, unbatched, dtype),
                self._check_state("hx[1] (c_0)", hx[1], batch, unbatched, dtype))

    def _run_layer(self, impl, x, h0, c0, w_ih, w_hh, b_ih, b_hh, h_mask=None):
        return impl.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, **_mask_arg(h_mask))


class GRU(_RecurrentBase):
    """Gated recurrent unit, gates packed r, z, n, like ``torch.nn.GRU``.

    ``form="torch"`` (default) is torch.nn's candidate
    ``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``;
    ``form="seed"`` is Cho et al.'s ``n = tanh(W_in x + b_in + W_hn (r*h))``, where the n-chunk
    of every ``bias_hh`` (``b_hn``) is unused: zero from initialisation on, gradient always zero.
    """

    _gates = 3

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, form="torch", backward="manual",
                 dropout_mode="standard", device=None, dtype=None):
        choice("form", form, GRU_FORMS)
        self.form = form
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, backward=backward, dropout_mode=dropout_mode,
                         device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.form == "seed" and self.bias:
            H = self.hidden_size
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if name.startswith("bias_hh"):
                        p[2 * H :].zero_()

    def _extra_repr_tail(self):
        return "" if self.form == "torch" else f", form={self.form!r}"

    def _run_layer(self, impl, x, h0, c0, w_ih, w_hh, b_ih, b_hh, h_mask=None):
        return impl.gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, self.form,
                              **_mask_arg(h_mask)), None


def _mask_arg(h_mask):
    """``h_mask`` goes to the autograd path only (the hand-written backward has no mask)."""
    return {} if h_mask is None else {"h_mask": h_mask}


# --- conversion to and from torch.nn ----------------------------------------------------------

_TORCH_CLASSES = {"RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def _config(module):
    return dict(num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
                dropout=module.dropout, bidirectional=module.bidirectional)


def _copy_into(target, source):
    target.load_state_dict(source.state_dict())
    target.train(source.training)
    return target


def from_torch(module: nn.Module, *, backward: str = "manual") -> _RecurrentBase:
    """An rnncourse ``RNN``/``LSTM``/``GRU`` with the configuration and weights of a torch.nn one.

    Same dtype, device and train/eval mode; the global random state is left untouched.
    """
    if not isinstance(module, nn.RNNBase) or module.mode not in _TORCH_CLASSES:
        raise TypeError(
            "module: expected a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, "
            f"got {type(module).__name__}"
        )
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"module: expected an LSTM without projection (proj_size=0), got "
            f"proj_size={module.proj_size}"
        )
    p = next(module.parameters())
    kwargs = dict(_config(module), backward=backward, device=p.device, dtype=p.dtype)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropout with one layer: torch.nn already warned
        if module.mode == "LSTM":
            ours = LSTM(module.input_size, module.hidden_size, **kwargs)
        elif module.mode == "GRU":
            ours = GRU(module.input_size, module.hidden_size, **kwargs)
        else:
            ours = RNN(module.input_size, module.hidden_size,
                       nonlinearity=module.nonlinearity, **kwargs)
    return _copy_into(ours, module)


def to_torch(module: _RecurrentBase) -> nn.Module:
    """The ``torch.nn.RNN``/``LSTM``/``GRU`` with the configuration and weights of one of ours.

    Raises ValueError for the two variants torch.nn does not have: ``RNN(nonlinearity=
    "sigmoid")`` and ``GRU(form="seed")``.
    """
    if not isinstance(module, _RecurrentBase):
        raise TypeError(
            "module: expected an rnncourse RNN, LSTM or GRU, got " + type(module).__name__)
    if module.mode == "RNN_SIGMOID":
        raise ValueError(
            "module: torch.nn.RNN has no sigmoid nonlinearity (expected 'tanh' or 'relu'), "
            "got nonlinearity='sigmoid'"
        )
    if module.mode == "GRU" and module.form != "torch":
        raise ValueError(
            "module: torch.nn.GRU has no seed form (its candidate is n = tanh(W_in x + b_in + "
            f"r * (W_hn h + b_hn))): expected form='torch', got form={module.form!r}"
        )
    if module.dropout_mode == "variational" and module.dropout:
        raise ValueError(
            "module: torch.nn has no variational dropout (one mask for all time steps); "
            f"expected dropout_mode='standard' or dropout=0, got dropout={module.dropout} with "
            "dropout_mode='variational'")
    p = next(module.parameters())
    kwargs = dict(_config(module), device=p.device, dtype=p.dtype)
    if module.mode.startswith("RNN"):
        kwargs["nonlinearity"] = module.nonlinearity
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _TORCH_CLASSES[module.mode](module.input_size, module.hidden_size, **kwargs)
    return _copy_into(theirs, module)
