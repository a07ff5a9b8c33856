"""Lesson 3's helpers: parameter counts, two small tasks, and the gates of a trained LSTM.

Parameter counts
----------------
One layer and direction of a cell with ``G`` blocks (RNN 1, GRU 3, LSTM 4), input size ``I``
and hidden size ``H`` holds ``G*H*I`` input weights, ``G*H*H`` recurrent weights and, in
torch.nn, two bias vectors ``bias_ih`` and ``bias_hh`` of ``G*H`` each::

    per_layer(I) = G*H*(I + H) + 2*G*H
    total = D * (per_layer(I) + (L - 1) * per_layer(D*H))     # D = 2 if bidirectional

Layer ``k > 0`` reads the previous layer's output, ``D*H`` features wide. The numpy reference
keeps one bias per gate (``b_ih + b_hh`` merged), ``G*H`` per layer and direction, plus the
GRU's ``b_hn`` (``H``), which cannot be merged. :func:`param_count` computes both,
:func:`model_param_count` adds the linear head of :class:`rnncourse.models.SequenceRegressor`,
and :func:`matched_hidden_size` picks the hidden size whose count is closest to a budget.

Tasks
-----
* **Marked value** (:func:`marked_value_batch`): each step is ``(value ~ U[-1, 1], marker)``,
  a step is marked with probability ``p``; at every step the target is the value at the most
  recent marker (0 before the first). The network must *write* at a marker, *keep* between
  markers, and *erase* at the next marker: what the LSTM's gates are for. Predicting 0 gives
  MSE 1/3 times the share of steps after a first marker.
* **Centred moving average** (:func:`window_average_batch`): ``x_t ~ U[-1, 1]`` and
  ``y_t = (x_{t-k} + ... + x_{t+k}) / (2k + 1)`` (zeros outside the sequence). The target
  depends on ``k`` *later* inputs: a one-directional model cannot know them, so its MSE is at
  least :func:`window_average_floor`; a bidirectional model can reach 0.

Gates
-----
:func:`gate_trace` runs the numpy reference :func:`rnncourse.np_lstm.lstm_forward` (float64) on
trained weights, optionally with the forget-gate bias shifted, and returns every gate, the cell
and hidden states and the prediction of the linear head.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from . import validate
from .np_common import check_params
from .np_lstm import LSTM_GATES, lstm_forward
from .tasks import as_generator

__all__ = ["GATE_BLOCKS", "param_count", "model_param_count", "matched_hidden_size",
           "marked_value_batch", "marked_value_test_set", "MARKED_VALUE_DEFAULTS",
           "train_marked_value", "lstm_arrays", "window_average_batch",
           "window_average_test_set", "window_average_floor", "train_window_average",
           "GateTrace", "gate_trace"]

GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
"""Blocks of ``H`` rows in ``weight_ih``: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o)."""

BIASES = ("torch", "merged")


# --- parameter counts -------------------------------------------------------------------------

def param_count(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                bidirectional: bool = False, bias: bool = True, biases: str = "torch") -> int:
    """Number of parameters of a recurrent core, from the formula (no module built).

    ``biases="torch"`` counts torch.nn's two bias vectors per layer and direction (what
    ``sum(p.numel() for p in torch.nn.LSTM(...).parameters())`` gives); ``"merged"`` counts the
    numpy reference's one bias per gate (plus the GRU's ``b_hn``).
    """
    validate.choice("cell", cell, tuple(GATE_BLOCKS))
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    L = validate.positive_int("num_layers", num_layers)
    D = 2 if validate.boolean("bidirectional", bidirectional) else 1
    validate.boolean("bias", bias)
    validate.choice("biases", biases, BIASES)
    G = GATE_BLOCKS[cell]
    if not bias:
        per_bias = 0
    elif biases == "torch":
        per_bias = 2 * G * H
    else:
        per_bias = G * H + (H if cell == "gru" else 0)

    def per_layer(n_in):
        return G * H * (n_in + H) + per_bias

    return D * (per_layer(I) + (L - 1) * per_layer(D * H))


def model_param_count(cell: str, input_size: int, hidden_size: int, output_size: int,
                      num_layers: int = 1, bidirectional: bool = False) -> int:
    """:func:`param_count` plus the linear head ``(D*H -> output_size)`` of
    :class:`rnncourse.models.SequenceRegressor`."""
    O = validate.positive_int("output_size", output_size)
    core = param_count(cell, input_size, hidden_size, num_layers, bidirectional)
    D = 2 if bidirectional else 1
    return core + D * hidden_size * O + O


def matched_hidden_size(budget: int, cell: str, input_size: int, output_size: int = 1,
                        num_layers: int = 1, bidirectional: bool = False) -> int:
    """The hidden size whose :func:`model_param_count` is closest to ``budget`` (ties: smaller)."""
    budget = validate.positive_int("budget", budget)
    best, best_gap = 1, None
    for H in range(1, 4097):
        n = model_param_count(cell, input_size, H, output_size, num_layers, bidirectional)
        gap = abs(n - budget)
        if best_gap is None or gap < best_gap:
            best, best_gap = H, gap
        if n > budget:
            break
    return best


# --- marked value -----------------------------------------------------------------------------

def _probability(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number in (0, 1], got {type(value).__name__}")
    if not 0 < value <= 1:
        raise ValueError(f"{name}: expected a number in (0, 1], got {value}")
    return float(value)


def marked_value_batch(batch: int, T: int, rng, *, p: float = 0.08):
    """A batch of the marked-value task: ``(x, y)``, float32, time-major.

    ``x`` is ``(T, B, 2)``: channel 0 the values ``U[-1, 1]``, channel 1 the markers (each step
    marked with probability ``p``). ``y`` is ``(T, B, 1)``: at every step the value at the most
    recent marked step, the current one included (0 before the first marker).
    """
    batch = validate.positive_int("batch", batch)
    T = validate.positive_int("T", T)
    p = _probability("p", p)
    rng = as_generator(rng)
    values = rng.uniform(-1.0, 1.0, size=(T, batch))
    markers = (rng.random((T, batch)) < p).astype(np.float64)
    y = np.zeros((T, batch))
    held = np.zeros(batch)
    for t in range(T):
        held = np.where(markers[t] > 0, values[t], held)
        y[t] = held
    x = np.stack([values, markers], axis=-1)
    return (torch.from_numpy(x.astype(np.float32)),
            torch.from_numpy(y[..., None].astype(np.float32)))


def marked_value_test_set(T: int, n: int = 500, seed: int = 1234, *, p: float = 0.08):
    """A fixed marked-value test set of ``n`` sequences (same arguments, same tensors)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int >= 0, got {type(seed).__name__}")
    return marked_value_batch(n, T, np.random.default_rng(int(seed)), p=p)


MARKED_VALUE_DEFAULTS = dict(T=40, p=0.08, hidden_size=8, steps=400, batch=32, lr=2e-2,
                             forget_bias=1.0, clip=1.0)
"""The setting lesson 3 trains in about two seconds: LSTM, H = 8, 393 parameters."""


def train_marked_value(cell: str = "lstm", *, hidden_size: int = 8, T: int = 40,
                       p: float = 0.08, steps: int = 400, batch: int = 32, lr: float = 2e-2,
                       forget_bias: float | None = 1.0, clip: float = 1.0, seed: int = 0,
                       n_test: int = 500, progress: bool | str = False):
    """Train a :class:`~rnncourse.models.SequenceRegressor` (``output="all"``) on the marked-value
    task; return the :class:`~rnncourse.train.TrainResult` (test MSE in ``final_eval``).

    ``forget_bias`` applies to the LSTM only (pass None otherwise). Seeded; one torch thread.
    """
    from torch.nn import functional as F

    from .models import SequenceRegressor
    from .train import eval_on, train

    test_x, test_y = marked_value_test_set(T, n_test, p=p)
    fb = forget_bias if cell == "lstm" else None
    return train(lambda: SequenceRegressor(cell, 2, hidden_size, 1, output="all",
                                           forget_bias=fb, seed=seed),
                 lambda rng: marked_value_batch(batch, T, rng, p=p), F.mse_loss,
                 steps=steps, lr=lr, clip=clip, seed=seed, progress=progress,
                 eval_fn=eval_on(test_x, test_y, F.mse_loss), eval_every=steps,
                 config={"task": "marked value", "T": T, "p": p, "batch": batch})


@functools.lru_cache(maxsize=4)
def _cached_marked_value(steps: int, seed: int):
    return train_marked_value(steps=steps, seed=seed)


def lstm_arrays(model) -> tuple[dict, dict]:
    """``(params, head)`` in float64 numpy from a one-layer, one-direction LSTM regressor.

    ``params`` has the conventions' LSTM keys (biases merged, via
    :func:`rnncourse.convert.numpy_from_torch`); ``head`` has ``W_hy`` (O, H) and ``b_y`` (O,).
    """
    from .convert import numpy_from_torch

    core = getattr(model, "core", None)
    head = getattr(model, "head", None)
    if core is None or head is None or getattr(core, "mode", None) != "LSTM":
        raise TypeError(f"model: expected a SequenceRegressor with an LSTM core, got "
                        f"{type(model).__name__}")
    if core.num_layers != 1 or core.bidirectional:
        raise ValueError(f"model: expected one layer and one direction, got num_layers="
                         f"{core.num_layers}, bidirectional={core.bidirectional}")
    params = numpy_from_torch(core).params_list[0]
    out = {"W_hy": head.weight.detach().to(torch.float64).numpy().copy(),
           "b_y": head.bias.detach().to(torch.float64).numpy().copy()}
    return params, out


# --- centred moving average (needs the future) --------------------------------------------------

def window_average_batch(batch: int, T: int, rng, *, half_width: int = 2):
    """A batch of the centred-moving-average task: ``(x, y)``, float32, ``(T, B, 1)`` each.

    ``y_t = (x_{t-k} + ... + x_{t+k}) / (2k + 1)`` with ``k = half_width``, values outside the
    sequence counted as 0.
    """
    batch = validate.positive_int("batch", batch)
    T = validate.positive_int("T", T)
    k = validate.positive_int("half_width", half_width)
    rng = as_generator(rng)
    x = rng.uniform(-1.0, 1.0, size=(T, batch))
    padded = np.concatenate([np.zeros((k, batch)), x, np.zeros((k, batch))])
    y = sum(padded[j:j + T] for j in range(2 * k + 1)) / (2 * k + 1)
    return (torch.from_numpy(x[..., None].astype(np.float32)),
            torch.from_numpy(y[..., None].astype(np.float32)))


def window_average_test_set(T: int, n: int = 1000, seed: int = 1234, *, half_width: int = 2):
    """A fixed test set of the centred-moving-average task."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int >= 0, got {type(seed).__name__}")
    return window_average_batch(n, T, np.random.default_rng(int(seed)), half_width=half_width)


def window_average_floor(T: int, half_width: int = 2) -> float:
    """The smallest MSE a model that reads ``x`` left to right can reach, averaged over steps.

    At step ``t`` the best causal guess is the known part of the window; the ``min(k, T-1-t)``
    future terms are independent with variance 1/3 each, so the error is their variance over
    ``(2k + 1)^2``.
    """
    T = validate.positive_int("T", T)
    k = validate.positive_int("half_width", half_width)
    future = np.minimum(k, T - 1 - np.arange(T))
    return float(np.mean(future / 3.0) / (2 * k + 1) ** 2)



def train_window_average(cell: str = "lstm", *, hidden_size: int = 16,
                         bidirectional: bool = False, T: int = 20, half_width: int = 2,
                         steps: int = 300, batch: int = 32, lr: float = 1e-2, clip: float = 1.0,
                         seed: int = 0, n_test: int = 1000):
    """Train a :class:`~rnncourse.models.SequenceRegressor` (``output="all"``, one or two
    directions) on the centred moving average; return the :class:`~rnncourse.train.TrainResult`
    (test MSE on :func:`window_average_test_set` in ``final_eval``, the model in ``.model``).

    Lesson 3's comparison of a one-directional and a bidirectional model, and lesson 8's
    recomputation of it, both call this. Seeded; one torch thread.
    """
    from torch.nn import functional as F

    from .models import SequenceRegressor
    from .train import eval_on, train

    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional: expected a bool, got {type(bidirectional).__name__}")
    test_x, test_y = window_average_test_set(T, n_test, half_width=half_width)
    return train(lambda: SequenceRegressor(cell, 1, hidden_size, 1, bidirectional=bidirectional,
                                           output="all", seed=seed),
                 lambda rng: window_average_batch(batch, T, rng, half_width=half_width),
                 F.mse_loss, steps=steps, lr=lr, clip=clip, seed=seed, progress=False,
                 eval_fn=eval_on(test_x, test_y, F.mse_loss), eval_every=steps,
                 config={"task": "centred moving average", "T": T, "half_width": half_width,
                         "batch": batch, "bidirectional": bidirectional})

# --- the gates of a trained LSTM ----------------------------------------------------------------

@dataclass
class GateTrace:
    """One run of an LSTM over ``x`` (T, B, I): every gate, state and the head's prediction.

    ``i``, ``f``, ``g``, ``o``, ``c``, ``h`` are (T, B, H); ``prediction`` is (T, B, O);
    ``forget_shift`` is what was added to ``b_f``.
    """

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray
    prediction: np.ndarray
    forget_shift: float

    def mse(self, y) -> float:
        """Mean squared error of the prediction against ``y`` (same shape; array or tensor)."""
        if isinstance(y, torch.Tensor):
            y = y.detach().to(torch.float64).numpy()
        y = validate.array("y", y, [("T", self.prediction.shape[0]),
                                    ("B", self.prediction.shape[1]),
                                    ("O", self.prediction.shape[2])])
        return float(np.mean((self.prediction - y) ** 2))


def _head(head, H):
    validate.param_dict("head", head, ["W_hy", "b_y"])
    W = validate.array("head['W_hy']", head["W_hy"], [("O", None), ("H", H)])
    b = validate.array("head['b_y']", head["b_y"], [("O", W.shape[0])])
    return W, b


def gate_trace(params, head, x, forget_shift: float = 0.0) -> GateTrace:
    """Run :func:`rnncourse.np_lstm.lstm_forward` from zero states with ``b_f + forget_shift``.

    Args:
        params: an LSTM dict with biases (the conventions' keys, float64).
        head: ``{"W_hy": (O, H), "b_y": (O,)}``, the linear read-out ``y_t = W_hy h_t + b_y``.
        x: (T, B, I) time-major (a torch tensor or an array).
        forget_shift: added to every unit's forget-gate bias.
    """
    H, I, has_bias = check_params(params, LSTM_GATES)
    if not has_bias:
        raise ValueError("params: expected an LSTM with biases (b_f is what the shift moves), "
                         "got one without")
    if isinstance(forget_shift, bool) or not isinstance(
            forget_shift, (int, float, np.integer, np.floating)):
        raise TypeError(f"forget_shift: expected a number, got {type(forget_shift).__name__}")
    if not np.isfinite(forget_shift):
        raise ValueError(f"forget_shift: expected a finite number, got {forget_shift}")
    W, b = _head(head, H)
    if isinstance(x, torch.Tensor):
        x = x.detach().to(torch.float64).numpy()
    x = validate.array("x", x, [("T", None), ("B", None), ("I", I)])
    shifted = dict(params)
    shifted["b_f"] = params["b_f"] + float(forget_shift)
    zeros = np.zeros((x.shape[1], H))
    h, c, cache = lstm_forward(x, zeros, zeros, shifted)
    gates = cache["gates"]
    return GateTrace(gates["i"], gates["f"], gates["g"], gates["o"], c, h, h @ W.T + b,
                     float(forget_shift))
