"""Small sequence models: a recurrent core and a linear head.

The core is ``torch.nn.RNN/LSTM/GRU`` by default (fast native kernels). ``core="course"`` uses
the course's own :mod:`rnncourse.torch_cells` (same constructor, same parameter names), which
also offers ``nonlinearity="sigmoid"`` for the RNN.

* :class:`SequenceRegressor`: real-valued output from the last step (``output="last"``,
  ``(B, O)``) or from every step (``output="all"``, ``(T, B, O)``).
* :class:`SequenceClassifier`: per-step logits ``(T, B, C)`` (copy task, tagging).
* :class:`CharLM`: a character-level language model on int ids, with :meth:`CharLM.generate`.

Every model takes ``seed=`` to make its initial weights reproducible without touching torch's
global random state, and ``forget_bias=`` to set the LSTM forget-gate bias at initialisation.
``dropout_mode="variational"`` (``core="course"`` only) is Gal & Ghahramani's dropout, one mask
for all time steps (:mod:`rnncourse.torch_cells`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from . import validate

__all__ = ["CELLS", "CORES", "DROPOUT_MODES", "make_core", "set_forget_bias", "count_parameters",
           "seeded", "SequenceRegressor", "SequenceClassifier", "CharLM"]

CELLS = ("rnn", "lstm", "gru")
CORES = ("torch", "course")
DROPOUT_MODES = ("standard", "variational")


@contextlib.contextmanager
def seeded(seed):
    """Seed torch inside the block only (global random state restored afterwards).

    ``seed`` None leaves torch's random state alone; otherwise an int >= 0.
    """
    if seed is None:
        yield
        return
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected None or an int >= 0, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed: expected None or an int >= 0, got {seed}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def make_core(cell: str, input_size: int, hidden_size: int, *, num_layers: int = 1,
              bidirectional: bool = False, nonlinearity: str = "tanh", batch_first: bool = False,
              dropout: float = 0.0, core: str = "torch",
              dropout_mode: str = "standard") -> nn.Module:
    """Build the recurrent core: ``torch.nn.RNN/LSTM/GRU`` or the ``rnncourse.torch_cells`` twin.

    ``nonlinearity`` applies to ``cell="rnn"`` only (``"sigmoid"`` needs ``core="course"``).
    ``dropout_mode="variational"`` needs ``core="course"`` (torch.nn has no such dropout).
    """
    validate.choice("cell", cell, CELLS)
    validate.choice("core", core, CORES)
    validate.positive_int("input_size", input_size)
    validate.positive_int("hidden_size", hidden_size)
    validate.positive_int("num_layers", num_layers)
    validate.boolean("bidirectional", bidirectional)
    validate.boolean("batch_first", batch_first)
    dropout = validate.positive_float("dropout", dropout, allow_zero=True)
    if dropout >= 1:
        raise ValueError(f"dropout: expected a number in [0, 1), got {dropout}")
    validate.choice("dropout_mode", dropout_mode, DROPOUT_MODES)
    if dropout_mode == "variational" and core != "course":
        raise ValueError("dropout_mode: 'variational' exists only in the course's cells; "
                         "expected 'standard' with core='torch' (or pass core='course'), got "
                         "'variational'")
    nonlins = ("tanh", "relu", "sigmoid") if core == "course" else ("tanh", "relu")
    if cell == "rnn":
        if nonlinearity == "sigmoid" and core == "torch":
            raise ValueError("nonlinearity: 'sigmoid' exists only in the course's cells; "
                             "expected one of ['tanh', 'relu'] with core='torch' "
                             "(or pass core='course'), got 'sigmoid'")
        validate.choice("nonlinearity", nonlinearity, nonlins)
    elif nonlinearity != "tanh":
        raise ValueError(f"nonlinearity: only cell='rnn' takes one; expected 'tanh' (the default) "
                         f"for cell={cell!r}, got {nonlinearity!r}")
    if core == "course":
        from . import torch_cells as lib  # lazy: written alongside this module
    else:
        lib = nn
    cls = {"rnn": lib.RNN, "lstm": lib.LSTM, "gru": lib.GRU}[cell]
    variational = dropout_mode == "variational"
    kwargs = dict(num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional,
                  dropout=dropout if num_layers > 1 or variational else 0.0)
    if variational:
        kwargs["dropout_mode"] = dropout_mode
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    return cls(input_size, hidden_size, **kwargs)


def set_forget_bias(lstm: nn.Module, value: float) -> None:
    """Set the LSTM forget-gate bias to ``value`` in every layer and direction.

    torch keeps two biases per gate; the effective forget bias is their sum, so the f-chunk
    (rows ``H:2H``, gate order i, f, g, o) of ``bias_ih`` is set to ``value`` and that of
    ``bias_hh`` to 0.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"forget_bias: expected a number, got {type(value).__name__}")
    H = lstm.hidden_size
    found = False
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H : 2 * H].fill_(float(value))
                found = True
            elif name.startswith("bias_hh"):
                p[H : 2 * H].zero_()
    if not found:
        raise ValueError("forget_bias: the LSTM has no biases (bias=False)")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (only those with ``requires_grad`` unless told otherwise)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _prompt_ids(prompt) -> torch.Tensor:
    """A prompt as a 1-D int64 tensor; floats such as ``[1.7, 2.2]`` are refused, not truncated."""
    if isinstance(prompt, torch.Tensor):
        ids = prompt.detach().cpu().numpy()
    elif isinstance(prompt, (str, bytes)):
        raise TypeError("prompt: expected a sequence of int ids, got a str (encode it with a "
                        "Vocab first)")
    else:
        ids = np.asarray(list(prompt) if not isinstance(prompt, np.ndarray) else prompt)
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"prompt: expected int ids, got dtype {ids.dtype} (ids are not rounded)")
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"prompt: expected a non-empty 1-D sequence of ids, got shape "
                         f"{ids.shape}")
    return torch.from_numpy(ids.astype(np.int64))


def _last_state(h_n, num_layers, bidirectional):
    """Final hidden state of the top layer, both directions concatenated: ``(B, D*H)``."""
    if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
        h_n = h_n[0]
    D = 2 if bidirectional else 1
    top = h_n[-D:]  # (D, B, H): forward's last step, backward's first step
    return torch.cat(list(top), dim=-1)


class _Recurrent(nn.Module):
    def __init__(self, cell, input_size, hidden_size, out_features, *, num_layers, bidirectional,
                 forget_bias, nonlinearity, batch_first, dropout, core, dropout_mode="standard"):
        super().__init__()
        self.cell = cell
        self.batch_first = batch_first
        self.core_kind = core
        self.core = make_core(cell, input_size, hidden_size, num_layers=num_layers,
                              bidirectional=bidirectional, nonlinearity=nonlinearity,
                              batch_first=batch_first, dropout=dropout, core=core,
                              dropout_mode=dropout_mode)
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError(f"forget_bias: only an LSTM has a forget gate; expected None "
                                 f"for cell={cell!r}, got {forget_bias!r}")
            set_forget_bias(self.core, forget_bias)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), out_features)

    def run(self, x, hx=None):
        """``(core_outputs, h_n)``: ``core_outputs`` ``(T, B, D*H)``, ``h_n`` as torch.nn."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ValueError(f"x: expected 3 dimensions {layout}, got shape {tuple(x.shape)}")
        if x.shape[-1] != self.core.input_size:
            raise ValueError(f"x: expected input size I = {self.core.input_size} on the last "
                             f"axis, got shape {tuple(x.shape)}")
        return self.core(x, hx)


class SequenceRegressor(_Recurrent):
    """Recurrent core + linear head for real-valued targets.

    ``forward(x)`` with ``x`` ``(T, B, I)`` (``(B, T, I)`` if ``batch_first``) returns ``(B, O)``
    from the final state (``output="last"``; with ``bidirectional`` the forward direction's last
    step and the backward direction's first step) or ``(T, B, O)`` at every step
    (``output="all"``).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, bidirectional: bool = False, forget_bias=None,
                 nonlinearity: str = "tanh", *, output: str = "last", batch_first: bool = False,
                 dropout: float = 0.0, core: str = "torch", seed: int | None = None):
        validate.choice("output", output, ("last", "all"))
        validate.positive_int("output_size", output_size)
        with seeded(seed):
            super().__init__(cell, input_size, hidden_size, output_size, num_layers=num_layers,
                             bidirectional=bidirectional, forget_bias=forget_bias,
                             nonlinearity=nonlinearity, batch_first=batch_first, dropout=dropout,
                             core=core)
        self.output = output

    def forward(self, x: torch.Tensor, hx=None) -> torch.Tensor:
        out, h_n = self.run(x, hx)
        if self.output == "all":
            return self.head(out)
        return self.head(_last_state(h_n, self.core.num_layers, self.core.bidirectional))


class SequenceClassifier(SequenceRegressor):
    """Per-step logits ``(T, B, C)`` (``output="all"``) or one label per sequence
    (``output="last"``, ``(B, C)``). Train with :func:`rnncourse.tasks.sequence_cross_entropy`.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_classes: int,
                 num_layers: int = 1, bidirectional: bool = False, forget_bias=None,
                 nonlinearity: str = "tanh", *, output: str = "all", batch_first: bool = False,
                 dropout: float = 0.0, core: str = "torch", seed: int | None = None):
        validate.positive_int("num_classes", num_classes, minimum=2)
        super().__init__(cell, input_size, hidden_size, num_classes, num_layers, bidirectional,
                         forget_bias, nonlinearity, output=output, batch_first=batch_first,
                         dropout=dropout, core=core, seed=seed)


class CharLM(nn.Module):
    """Character-level language model: ids ``(T, B)`` -> next-character logits ``(T, B, V)``.

    Input characters are one-hot vectors (``embedding_dim=None``, as in Karpathy's char-rnn) or
    learned embeddings of size ``embedding_dim``.

    ``dropout`` acts on the non-recurrent connections, as Zaremba et al. (2014) regularise an
    LSTM language model: on the input vectors, between stacked layers and on the top layer's
    output before the read-out. ``dropout_mode="standard"`` draws a fresh mask at every time
    step; ``"variational"`` (``core="course"``) one mask per sequence for all time steps there,
    and one on the recurrent state of every layer too (Gal & Ghahramani 2016). In eval mode
    (:func:`rnncourse.train.evaluate`, :meth:`generate`) nothing is dropped.
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm",
                 num_layers: int = 1, *, embedding_dim: int | None = None, forget_bias=None,
                 nonlinearity: str = "tanh", batch_first: bool = False, dropout: float = 0.0,
                 core: str = "torch", dropout_mode: str = "standard", seed: int | None = None):
        super().__init__()
        self.vocab_size = validate.positive_int("vocab_size", vocab_size, minimum=2)
        self.dropout = validate.positive_float("dropout", dropout, allow_zero=True)
        self.dropout_mode = validate.choice("dropout_mode", dropout_mode, DROPOUT_MODES)
        with seeded(seed):
            if embedding_dim is None:
                self.embed = None
                in_size = vocab_size
            else:
                in_size = validate.positive_int("embedding_dim", embedding_dim)
                self.embed = nn.Embedding(vocab_size, in_size)
            self.rnn = _Recurrent(cell, in_size, hidden_size, vocab_size, num_layers=num_layers,
                                  bidirectional=False, forget_bias=forget_bias,
                                  nonlinearity=nonlinearity, batch_first=batch_first,
                                  dropout=dropout, core=core, dropout_mode=dropout_mode)
        self.batch_first = batch_first

    def _drop(self, v):
        """Dropout on a non-recurrent connection ``v`` (``(T, B, F)``, or ``(B, T, F)``)."""
        if not (self.training and self.dropout):
            return v
        if self.dropout_mode == "standard":
            return nn.functional.dropout(v, self.dropout, training=True)
        from .torch_cells import dropout_mask

        shape = (v.shape[0], 1, v.shape[2]) if self.batch_first else (1, *v.shape[1:])
        return v * dropout_mask(shape, self.dropout, dtype=v.dtype, device=v.device)

    def _inputs(self, ids):
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"ids: expected a torch.Tensor of int64 ids, got {type(ids).__name__}")
        if ids.dtype != torch.int64:
            raise TypeError(f"ids: expected dtype int64 (character ids), got {ids.dtype}")
        if ids.dim() != 2:
            layout = "(B, T)" if self.batch_first else "(T, B)"
            raise ValueError(f"ids: expected 2 dimensions {layout}, got shape {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(f"ids: expected ids in [0, {self.vocab_size}), got "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        if self.embed is None:
            return nn.functional.one_hot(ids, self.vocab_size).to(torch.float32)
        return self.embed(ids)

    def forward_with_state(self, ids: torch.Tensor, hx=None):
        """``(logits, h_n)``: carry ``h_n`` into the next call to continue a text."""
        out, h_n = self.rnn.run(self._drop(self._inputs(ids)), hx)
        return self.rnn.head(self._drop(out)), h_n

    def forward(self, ids: torch.Tensor, hx=None) -> torch.Tensor:
        return self.forward_with_state(ids, hx)[0]

    @torch.no_grad()
    def generate(self, prompt, length: int, *, temperature: float = 1.0,
                 seed: int = 0) -> list[int]:
        """Sample ``length`` ids after the ``prompt`` ids (a non-empty list or 1-D array).

        ``temperature`` < 1 sharpens, > 1 flattens the distribution. Seeded, and leaves torch's
        global random state alone.
        """
        length = validate.positive_int("length", length, minimum=0)
        temperature = validate.positive_float("temperature", temperature)
        seed = validate.seed("seed", seed)
        prompt = _prompt_ids(prompt)
        was_training = self.training
        self.eval()
        gen = torch.Generator().manual_seed(seed)
        try:
            ids = prompt[:, None] if not self.batch_first else prompt[None, :]
            logits, h = self.forward_with_state(ids)
            last = logits[-1, 0] if not self.batch_first else logits[0, -1]
            out = []
            for _ in range(length):
                probs = torch.softmax(last / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
                out.append(nxt)
                logits, h = self.forward_with_state(torch.tensor([[nxt]]), h)
                last = logits[0, 0]
        finally:
            self.train(was_training)
        return out
