"""The course's sequence tasks, generated offline and seeded.

Every generator takes a ``numpy.random.Generator`` (or an int seed) and returns torch tensors.
Sequences are time-major, ``(T, B, I)``, unless ``batch_first=True`` asks for ``(B, T, I)``.
Generation uses numpy only, so a seed gives the same data on every torch version.

Tasks
-----
* **Adding problem** (modern form of Le et al. 2015, Arjovsky et al. 2016): each step is a pair
  ``(value ~ U[0, 1], marker)``; exactly two markers are 1, one in the first half and one in
  the second half of the sequence; the target is the sum of the two marked values. Predicting
  the mean (1.0) gives ``MSE = Var(X1 + X2) = 1/6`` (:data:`ADDING_BASELINE_MSE`).
* **Copy memory** (Arjovsky et al. 2016): 10 symbols drawn from 8, ``T`` blanks (the last of
  them replaced by a delimiter), then 10 blanks during which the model must recall the symbols;
  length ``T + 20``. A model without memory predicts blank and then a uniform guess:
  ``10 ln 8 / (T + 20)`` nats per step (:func:`copy_baseline`, 0.173 for ``T = 100``).
* **Forecasting a real series**: :func:`make_windows` cuts a series into (window, next values)
  pairs, splits in time and normalises with statistics of the training part only;
  :func:`seasonal_naive_error` is the "same as one season ago" baseline to beat.
* **Character-level text**: :class:`Vocab`, :func:`char_batch`, :func:`char_test_set` and
  :func:`unigram_entropy_bits`, the bits-per-character of a model that knows only how often each
  character occurs.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import validate
from .vocab import Vocab

__all__ = [
    "ADDING_BASELINE_MSE", "adding_batch", "adding_test_set",
    "COPY_BLANK", "COPY_DELIMITER", "copy_batch", "copy_test_set", "copy_baseline", "copy_loss",
    "copy_accuracy", "sequence_cross_entropy",
    "ForecastData", "make_windows", "seasonal_naive", "seasonal_naive_error",
    "Vocab", "char_split", "char_batch", "char_test_set", "unigram_entropy_bits",
    "nats_to_bits", "as_generator",
]

ADDING_BASELINE_MSE = 1.0 / 6.0
"""MSE of always predicting the mean target 1.0: ``Var(X1 + X2) = 2 * 1/12``."""

COPY_BLANK = 0
"""Token id of the blank in the copy task; symbols are 1..n_symbols, the delimiter follows."""
COPY_DELIMITER = 9
"""Token id of the delimiter with the default 8 symbols (``n_symbols + 1`` in general)."""


def as_generator(rng) -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``; turn an int seed into one."""
    return validate.generator("rng", rng)


# --- adding problem ---------------------------------------------------------------------------

def adding_batch(batch: int, T: int, rng, *, batch_first: bool = False):
    """A batch of the adding problem: ``(x, y)``.

    ``x`` is float32 ``(T, B, 2)`` (``(B, T, 2)`` with ``batch_first``): channel 0 the values
    ``U[0, 1]``, channel 1 the markers (exactly two 1s per sequence, one in each half).
    ``y`` is float32 ``(B, 1)``, the sum of the two marked values.
    """
    batch = validate.positive_int("batch", batch)
    T = validate.positive_int("T", T, minimum=2)
    validate.boolean("batch_first", batch_first)
    rng = as_generator(rng)
    values = rng.random((batch, T))
    first = rng.integers(0, T // 2, size=batch)
    second = rng.integers(T // 2, T, size=batch)
    markers = np.zeros((batch, T))
    rows = np.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)  # (B, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]
    if not batch_first:
        x = x.transpose(1, 0, 2)
    return (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(y.astype(np.float32)))


def adding_test_set(T: int, n: int = 1000, seed: int = 1234, *, batch_first: bool = False):
    """A fixed adding-problem test set of ``n`` sequences: same ``(T, seed)``, same tensors."""
    return adding_batch(n, T, np.random.default_rng(validate.seed("seed", seed)),
                        batch_first=batch_first)


# --- copy memory ------------------------------------------------------------------------------

def copy_baseline(T: int, n_symbols: int = 8, n_remember: int = 10) -> float:
    """Cross-entropy (nats per step) of the memoryless strategy on the copy task.

    Predict blank everywhere except the last ``n_remember`` steps, and there a uniform guess over
    the ``n_symbols``: ``n_remember * ln(n_symbols) / (T + 2 * n_remember)``.
    """
    T = validate.positive_int("T", T)
    n_symbols = validate.positive_int("n_symbols", n_symbols, minimum=2)
    n_remember = validate.positive_int("n_remember", n_remember)
    return n_remember * math.log(n_symbols) / (T + 2 * n_remember)


def copy_batch(batch: int, T: int, rng, *, n_symbols: int = 8, n_remember: int = 10,
               one_hot: bool = True, batch_first: bool = False):
    """A batch of the copy-memory task (Arjovsky et al. 2016): ``(x, y)``, length ``L = T + 20``.

    Tokens: 0 blank, 1..n_symbols the symbols, ``n_symbols + 1`` the delimiter. The input is the
    ``n_remember`` symbols, ``T - 1`` blanks, the delimiter, ``n_remember`` blanks; the target is
    ``T + n_remember`` blanks then the symbols. ``x`` is float32 one-hot ``(L, B, n_symbols + 2)``
    (int64 ``(L, B)`` with ``one_hot=False``); ``y`` is int64 ``(L, B)``; batch first on request.
    """
    batch = validate.positive_int("batch", batch)
    T = validate.positive_int("T", T)
    n_symbols = validate.positive_int("n_symbols", n_symbols, minimum=2)
    n_remember = validate.positive_int("n_remember", n_remember)
    validate.boolean("one_hot", one_hot)
    validate.boolean("batch_first", batch_first)
    rng = as_generator(rng)
    L = T + 2 * n_remember
    symbols = rng.integers(1, n_symbols + 1, size=(batch, n_remember))
    x = np.zeros((batch, L), dtype=np.int64)
    x[:, :n_remember] = symbols
    x[:, n_remember + T - 1] = n_symbols + 1
    y = np.zeros((batch, L), dtype=np.int64)
    y[:, -n_remember:] = symbols
    if not batch_first:
        x, y = x.T, y.T
    x_t = torch.from_numpy(np.ascontiguousarray(x))
    y_t = torch.from_numpy(np.ascontiguousarray(y))
    if one_hot:
        x_t = F.one_hot(x_t, n_symbols + 2).to(torch.float32)
    return x_t, y_t


def copy_test_set(T: int, n: int = 1000, seed: int = 1234, **kwargs):
    """A fixed copy-task test set of ``n`` sequences (keyword arguments as :func:`copy_batch`)."""
    return copy_batch(n, T, np.random.default_rng(validate.seed("seed", seed)), **kwargs)


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats) over every step and sequence.

    ``logits`` ``(T, B, C)`` (or ``(B, T, C)``), ``targets`` int64 of the same leading shape.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"logits, targets: expected torch tensors, got "
                        f"{type(logits).__name__} and {type(targets).__name__}")
    if logits.dim() != targets.dim() + 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits, targets: expected logits of shape targets.shape + (C,), got "
            f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    if targets.dtype != torch.int64:
        raise TypeError(f"targets: expected int64 class ids, got dtype {targets.dtype}")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


copy_loss = sequence_cross_entropy
"""The copy task's loss: :func:`sequence_cross_entropy` over all ``T + 20`` steps."""


def copy_accuracy(logits, targets, n_remember: int = 10, *, batch_first: bool = False) -> float:
    """Fraction of the last ``n_remember`` steps (the recall) predicted exactly.

    ``logits`` float ``(L, B, C)`` and ``targets`` int ``(L, B)`` (``(B, L, C)`` and ``(B, L)``
    with ``batch_first``), torch tensors or numpy arrays. The shapes must agree exactly: a
    ``(L, 1)`` target against ``(L, B, C)`` logits would broadcast to a wrong number.
    """
    logits = _as_tensor("logits", logits, "f")
    targets = _as_tensor("targets", targets, "iu")
    n_remember = validate.positive_int("n_remember", n_remember)
    validate.boolean("batch_first", batch_first)
    layout = ("B", "L") if batch_first else ("L", "B")
    if logits.dim() != 3:
        raise ValueError(f"logits: expected 3 dimensions ({', '.join(layout)}, C), got shape "
                         f"{tuple(logits.shape)}")
    if tuple(targets.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"targets: expected shape ({', '.join(layout)}) = "
                         f"{tuple(logits.shape[:2])} like logits {tuple(logits.shape)}, got "
                         f"{tuple(targets.shape)}")
    if batch_first:
        logits, targets = logits.transpose(0, 1), targets.transpose(0, 1)
    if n_remember > logits.shape[0]:
        raise ValueError(f"n_remember: expected at most the sequence length "
                         f"{logits.shape[0]}, got {n_remember}")
    pred = logits[-n_remember:].argmax(-1)
    return float((pred == targets[-n_remember:]).float().mean())


def _as_tensor(name, value, kinds):
    """A torch tensor (numpy arrays are wrapped) whose dtype is float (``"f"``) or int."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in kinds:
            raise TypeError(f"{name}: expected {'a float' if kinds == 'f' else 'an int'} array, "
                            f"got dtype {value.dtype}")
        return torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch tensor or numpy array, got "
                        f"{type(value).__name__}")
    ok = value.is_floating_point() if kinds == "f" else not (
        value.is_floating_point() or value.is_complex() or value.dtype == torch.bool)
    if not ok:
        raise TypeError(f"{name}: expected {'a float' if kinds == 'f' else 'an int'} tensor, "
                        f"got {value.dtype}")
    return value


# --- forecasting a real series ----------------------------------------------------------------

@dataclass
class ForecastData:
    """Windows of a series, split in time, normalised with training statistics.

    ``x_train`` float32 ``(window, N, 1)`` (time-major; ``(N, window, 1)`` if ``batch_first``),
    ``y_train`` float32 ``(N, horizon)``: the ``horizon`` values after each window. The same for
    ``x_test``/``y_test``: every test *target* lies at or after ``split`` (a test window may
    read training values as input, never the other way round). ``target_index`` arrays give the
    position in the series of every target. Values are ``(v - mean) / std``, with ``mean`` and
    ``std`` from ``series[:split]`` only.

    With a validation period (``make_windows(..., val_fraction=...)``) ``x_val``/``y_val`` are
    the windows whose targets lie in ``[val_split, split)``, the years just before the test
    period; training targets then end before ``val_split``, and ``mean``/``std`` come from
    ``series[:val_split]``. Without one they are None.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    train_index: np.ndarray
    test_index: np.ndarray
    series: np.ndarray
    split: int
    window: int
    horizon: int
    mean: float
    std: float
    batch_first: bool = False
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    val_index: np.ndarray | None = None
    val_split: int | None = None

    def part(self, name: str):
        """``(x, y, target_index)`` of ``"train"``, ``"val"`` or ``"test"``."""
        validate.choice("part", name, PARTS)
        if name == "val" and self.x_val is None:
            raise ValueError("part: this ForecastData has no validation period (make_windows("
                             "..., val_fraction=...)); expected 'train' or 'test', got 'val'")
        return {"train": (self.x_train, self.y_train, self.train_index),
                "val": (self.x_val, self.y_val, self.val_index),
                "test": (self.x_test, self.y_test, self.test_index)}[name]

    def normalise(self, values):
        """Original units -> model units."""
        return (values - self.mean) / self.std

    def denormalise(self, values):
        """Model units -> original units (works on numpy arrays and tensors)."""
        return values * self.std + self.mean

    def batch(self, batch: int, rng):
        """A random batch of training windows ``(x, y)`` (for :func:`rnncourse.train.train`)."""
        batch = validate.positive_int("batch", batch)
        rows = as_generator(rng).integers(0, self.y_train.shape[0], size=batch)
        rows_t = torch.from_numpy(rows)
        axis = 0 if self.batch_first else 1
        return self.x_train.index_select(axis, rows_t), self.y_train[rows_t]


PARTS = ("train", "val", "test")


def _windows(z, starts, window, horizon):
    idx = starts[:, None] + np.arange(window)[None, :]
    tgt = starts[:, None] + window + np.arange(horizon)[None, :]
    return z[idx], z[tgt], tgt


def make_windows(series, window: int, *, horizon: int = 1, train_fraction: float = 0.8,
                 split: int | None = None, stride: int = 1,
                 batch_first: bool = False, val_fraction: float | None = None) -> ForecastData:
    """Cut ``series`` (1-D, finite) into (``window`` inputs, next ``horizon`` values) pairs.

    The series is split in time at ``split`` (default ``int(train_fraction * len)``): training
    windows lie entirely before it, test targets entirely after it. Mean and standard deviation
    come from ``series[:split]`` only, so nothing from the future leaks into the training data.
    ``val_fraction`` (of the whole series) moves the last ``int(val_fraction * len)`` values
    before ``split`` into a validation period: its targets are ``x_val``/``y_val``, training
    targets end before it, and the statistics come from the training values alone.
    """
    s = validate.as_float_array("series", series)
    validate.check_shape("series", s, [("N", None)])
    window = validate.positive_int("window", window)
    horizon = validate.positive_int("horizon", horizon)
    stride = validate.positive_int("stride", stride)
    validate.boolean("batch_first", batch_first)
    n = len(s)
    if split is None:
        train_fraction = validate.positive_float("train_fraction", train_fraction)
        if not train_fraction < 1:
            raise ValueError(f"train_fraction: expected a number in (0, 1), got {train_fraction}")
        split = int(train_fraction * n)
    else:
        split = validate.positive_int("split", split)
    if split < window + horizon + 1:
        raise ValueError(f"split: expected at least window + horizon + 1 = "
                         f"{window + horizon + 1} training values, got {split}")
    if n - split < horizon:
        raise ValueError(f"split: expected at least horizon = {horizon} values after the split "
                         f"(series of length {n}), got split {split}")
    train_end = split
    if val_fraction is not None:
        val_fraction = validate.positive_float("val_fraction", val_fraction)
        train_end = split - int(val_fraction * n)
        if train_end < window + horizon + 1 or train_end >= split:
            raise ValueError(f"val_fraction: expected a validation period of at least one value "
                             f"that leaves window + horizon + 1 = {window + horizon + 1} "
                             f"training values, got {val_fraction} ({split - train_end} of "
                             f"the {split} values before the test period)")
    mean = float(s[:train_end].mean())
    std = float(s[:train_end].std())
    if std == 0:
        raise ValueError("series: the training part is constant (std 0), cannot normalise")
    z = (s - mean) / std
    train_starts = np.arange(0, train_end - window - horizon + 1, stride)
    # first target at or after split: start + window >= split
    test_starts = np.arange(max(split - window, 0), n - window - horizon + 1, stride)
    xs, ys, ti = _windows(z, train_starts, window, horizon)
    xt, yt, te = _windows(z, test_starts, window, horizon)
    val = {}
    if val_fraction is not None:  # targets in [train_end, split), whole horizon before split
        val_starts = np.arange(max(train_end - window, 0), split - window - horizon + 1, stride)
        xv, yv, ve = _windows(z, val_starts, window, horizon)
        val = dict(x_val=None, y_val=torch.from_numpy(yv.astype(np.float32)), val_index=ve,
                   val_split=train_end)

    def tensor_x(a):
        a = a[:, :, None]
        if not batch_first:
            a = a.transpose(1, 0, 2)
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return ForecastData(
        x_train=tensor_x(xs), y_train=torch.from_numpy(ys.astype(np.float32)),
        x_test=tensor_x(xt), y_test=torch.from_numpy(yt.astype(np.float32)),
        train_index=ti, test_index=te, series=s.copy(), split=split, window=window,
        horizon=horizon, mean=mean, std=std, batch_first=batch_first,
        **(val | {"x_val": tensor_x(xv)} if val else {}))


def seasonal_naive(data: ForecastData, season: int, *, part: str = "test") -> np.ndarray:
    """Seasonal-naive forecasts ``y_hat[t] = y[t - season]`` for every target of ``part``.

    Returned in the model's (normalised) units, shape ``(N, horizon)`` like ``y_test``. The value
    one season back is known at forecast time as long as ``horizon <= season``.
    """
    if not isinstance(data, ForecastData):
        raise TypeError(f"data: expected a ForecastData, got {type(data).__name__}")
    season = validate.positive_int("season", season)
    if season < data.horizon:
        raise ValueError(f"season: expected at least horizon = {data.horizon} (the value one "
                         f"season back must be known when forecasting), got {season}")
    index = data.part(part)[2]
    if index.min() - season < 0:
        raise ValueError(f"season: {season} reaches before the start of the series "
                         f"(first target at {int(index.min())})")
    return data.normalise(data.series[index - season])


def seasonal_naive_error(data: ForecastData, season: int, *, part: str = "test",
                         metric: str = "mse", units: str = "normalised") -> float:
    """Error of :func:`seasonal_naive` on ``part``: ``"mse"``, ``"rmse"`` or ``"mae"``.

    ``units="normalised"`` matches a model's loss on ``y_test``; ``"original"`` is in the
    series' own units (ppm, sunspots).
    """
    validate.choice("metric", metric, ["mse", "rmse", "mae"])
    validate.choice("units", units, ["normalised", "original"])
    pred = seasonal_naive(data, season, part=part)
    truth = data.part(part)[1].numpy().astype(np.float64)
    err = pred - truth
    if units == "original":
        err = err * data.std
    if metric == "mae":
        return float(np.abs(err).mean())
    mse = float(np.mean(err ** 2))
    return math.sqrt(mse) if metric == "rmse" else mse


# --- character-level text ---------------------------------------------------------------------

def _ids(name, ids):
    if isinstance(ids, torch.Tensor):
        ids = ids.numpy()
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected an int numpy array (use Vocab.encode), got "
                        f"{type(ids).__name__}" + (f" of dtype {ids.dtype}"
                                                   if isinstance(ids, np.ndarray) else ""))
    validate.check_shape(name, ids, [("N", None)])
    return ids


def char_split(ids, train_fraction: float = 0.9, val_fraction: float | None = None):
    """Split encoded text in time: ``(train_ids, test_ids)``, the test part is the end.

    With ``val_fraction`` the held-out end is cut in two: ``(train_ids, val_ids, test_ids)``,
    the validation text (``int(val_fraction * len)`` ids) first, the test text after it; the
    training text is the same as without.
    """
    ids = _ids("ids", ids)
    train_fraction = validate.positive_float("train_fraction", train_fraction)
    if not train_fraction < 1:
        raise ValueError(f"train_fraction: expected a number in (0, 1), got {train_fraction}")
    cut = int(train_fraction * len(ids))
    if val_fraction is None:
        return ids[:cut], ids[cut:]
    val_fraction = validate.positive_float("val_fraction", val_fraction)
    val_cut = cut + int(val_fraction * len(ids))
    if not cut < val_cut < len(ids):
        raise ValueError(f"val_fraction: expected less than 1 - train_fraction = "
                         f"{1 - train_fraction:.3g} (some test text must remain), got "
                         f"{val_fraction}")
    return ids[:cut], ids[cut:val_cut], ids[val_cut:]


def char_batch(ids, batch: int, T: int, rng, *, batch_first: bool = False):
    """Random windows of encoded text: ``(x, y)`` int64 ``(T, B)``, ``y`` is ``x`` shifted by one.

    ``y[t]`` is the character after ``x[t]`` (the next-character target).
    """
    ids = _ids("ids", ids)
    batch = validate.positive_int("batch", batch)
    T = validate.positive_int("T", T)
    validate.boolean("batch_first", batch_first)
    if len(ids) < T + 1:
        raise ValueError(f"T: expected at most len(ids) - 1 = {len(ids) - 1}, got {T}")
    starts = as_generator(rng).integers(0, len(ids) - T, size=batch)
    idx = starts[:, None] + np.arange(T + 1)[None, :]
    w = ids[idx].astype(np.int64)  # (B, T+1)
    x, y = w[:, :-1], w[:, 1:]
    if not batch_first:
        x, y = x.T, y.T
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def char_test_set(ids, T: int, *, batch_first: bool = False):
    """Consecutive non-overlapping windows covering ``ids`` (the tail that does not fit is
    dropped): ``(x, y)`` int64 ``(T, N)``, deterministic."""
    ids = _ids("ids", ids)
    T = validate.positive_int("T", T)
    validate.boolean("batch_first", batch_first)
    n = (len(ids) - 1) // T
    if n < 1:
        raise ValueError(f"T: expected at most len(ids) - 1 = {len(ids) - 1}, got {T}")
    x = ids[: n * T].reshape(n, T).astype(np.int64)
    y = ids[1 : n * T + 1].reshape(n, T).astype(np.int64)
    if not batch_first:
        x, y = x.T, y.T
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def unigram_entropy_bits(text) -> float:
    """Entropy of the character frequencies of ``text`` (str or id array), in bits per character.

    This is the cross-entropy of the best model that ignores context: a character-level model
    is learning something only once it goes below it.
    """
    if isinstance(text, str):
        if not text:
            raise ValueError("text: expected a non-empty string, got ''")
        counts = np.array(list(Counter(text).values()), dtype=np.float64)
    else:
        ids = _ids("text", text)
        if ids.size == 0:
            raise ValueError("text: expected a non-empty sequence, got 0 ids")
        counts = np.unique(ids, return_counts=True)[1].astype(np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def nats_to_bits(nats: float) -> float:
    """Convert a cross-entropy in nats (torch's unit) to bits: divide by ln 2."""
    return float(nats) / math.log(2)
