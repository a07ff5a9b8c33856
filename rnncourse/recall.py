"""Associative recall (Ba et al. 2016; Arora et al.'s 2023 MQAR asks several queries at once).

A sequence shows ``n_pairs`` (key, value) pairs, one pair per step, then a query: one of the
keys, alone. The answer is the value stored with it. Keys are distinct within a sequence, drawn
from ``n_keys`` symbols; values from ``n_values`` symbols (repeats allowed).

Input ``x`` is float32 ``(T, B, n_keys + n_values)`` with ``T = n_pairs + 1``: a step is
``[one_hot(key); one_hot(value)]``, the query step ``[one_hot(key); 0]``. Target ``y`` is int64
``(B,)``. A model that guesses scores ``1 / n_values`` (:func:`chance`).

:class:`LSTMRecall` is the baseline: ``torch.nn.LSTM`` reading the sequence, a linear layer on
its last state. :func:`lstm_size_for` picks its hidden size so that it has as many parameters as
a given model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import validate
from .tasks import as_generator

__all__ = ["recall_batch", "recall_test_set", "chance", "accuracy", "LSTMRecall",
           "lstm_recall_params", "lstm_size_for"]


def _sizes(n_pairs, n_keys, n_values):
    n_pairs = validate.positive_int("n_pairs", n_pairs)
    n_keys = validate.positive_int("n_keys", n_keys)
    n_values = validate.positive_int("n_values", n_values, minimum=2)
    if n_pairs > n_keys:
        raise ValueError(f"n_pairs: keys are distinct within a sequence, so n_pairs <= n_keys = "
                         f"{n_keys}; got {n_pairs}")
    return n_pairs, n_keys, n_values


def recall_batch(batch: int, n_pairs: int, rng, *, n_keys: int = 32, n_values: int = 16,
                 return_tokens: bool = False):
    """A batch ``(x (T, B, n_keys + n_values), y (B,))``; with ``return_tokens`` also the
    ``keys (B, n_pairs)``, ``values (B, n_pairs)`` and the index ``asked (B,)`` of the pair
    queried."""
    batch = validate.positive_int("batch", batch)
    n_pairs, n_keys, n_values = _sizes(n_pairs, n_keys, n_values)
    rng = as_generator(rng)
    keys = np.argsort(rng.random((batch, n_keys)), axis=1)[:, :n_pairs]  # distinct keys
    values = rng.integers(0, n_values, size=(batch, n_pairs))
    asked = rng.integers(0, n_pairs, size=batch)
    rows = np.arange(batch)
    T = n_pairs + 1
    x = np.zeros((T, batch, n_keys + n_values), dtype=np.float32)
    for s in range(n_pairs):
        x[s, rows, keys[:, s]] = 1.0
        x[s, rows, n_keys + values[:, s]] = 1.0
    x[n_pairs, rows, keys[rows, asked]] = 1.0
    y = values[rows, asked]
    out = (torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))
    if return_tokens:
        return out + (keys, values, asked)
    return out


def recall_test_set(n_pairs: int, n: int = 1000, seed: int = 1234, **kwargs):
    """A fixed set of ``n`` sequences (same arguments, same tensors)."""
    return recall_batch(n, n_pairs, np.random.default_rng(seed), **kwargs)


def chance(n_values: int = 16) -> float:
    """Accuracy of a guess: ``1 / n_values``."""
    return 1.0 / validate.positive_int("n_values", n_values, minimum=2)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of sequences whose predicted value (arg max of ``logits (B, C)``) is ``y``."""
    if logits.dim() != 2 or y.shape != logits.shape[:1]:
        raise ValueError(f"logits, y: expected (B, C) and (B,), got {tuple(logits.shape)} and "
                         f"{tuple(y.shape)}")
    return float((logits.argmax(dim=1) == y).float().mean())


class LSTMRecall(nn.Module):
    """``torch.nn.LSTM(I, H)`` over ``x (T, B, I)``, then ``Linear(H, n_classes)`` on ``h_T``."""

    def __init__(self, input_size: int, hidden_size: int, n_classes: int):
        super().__init__()
        self.lstm = nn.LSTM(validate.positive_int("input_size", input_size),
                            validate.positive_int("hidden_size", hidden_size))
        self.out = nn.Linear(hidden_size, validate.positive_int("n_classes", n_classes))

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h[-1])


def lstm_recall_params(input_size: int, hidden_size: int, n_classes: int) -> int:
    """Parameters of :class:`LSTMRecall`: ``4 H (I + H + 2) + C (H + 1)``."""
    I, H, C = input_size, hidden_size, n_classes
    return 4 * H * (I + H + 2) + C * (H + 1)


def lstm_size_for(n_params: int, input_size: int, n_classes: int) -> int:
    """The hidden size whose :class:`LSTMRecall` has the parameter count closest to
    ``n_params``."""
    n_params = validate.positive_int("n_params", n_params)
    sizes = np.arange(1, 2048)
    counts = np.array([lstm_recall_params(input_size, int(h), n_classes) for h in sizes])
    return int(sizes[np.argmin(np.abs(counts - n_params))])
