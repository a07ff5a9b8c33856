"""A CNN+RNN hybrid: a strided Conv1d front-end shortens the sequence before a GRU reads it.

:class:`ConvGRU` computes ``z = ReLU(Conv1d(x))`` with kernel ``k`` and stride ``s``: ``T``
inputs become ``floor((T - k) / s) + 1`` feature vectors, each from a window of ``k``
neighbouring inputs. A GRU then runs over those, so the recurrence takes about ``T / s``
sequential steps instead of ``T``. The convolution is parallel over positions and the recurrence
is not, which is where the time goes for small models on a CPU.

It has the interface of :class:`rnncourse.models.SequenceRegressor` (time-major ``(T, B, I)``
in, ``(B, O)`` out), so :func:`rnncourse.train.train` and the tasks of :mod:`rnncourse.tasks`
(the adding problem of lesson 6) work unchanged; :func:`compare` trains a plain GRU and the
hybrid on the adding problem with the same budget.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.nn import functional as F

from . import models, tasks, train
from .validate import positive_int

__all__ = ["ConvGRU", "recurrent_steps", "step_seconds", "compare"]


class ConvGRU(nn.Module):
    """``Conv1d(kernel, stride) -> ReLU -> GRU -> linear head on the last state``.

    ``forward(x (T, B, I)) -> (B, output_size)``; the GRU runs over
    :meth:`recurrent_steps` ``(T)`` positions.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *,
                 channels: int = 32, kernel_size: int = 5, stride: int = 5):
        super().__init__()
        self.input_size = positive_int("input_size", input_size)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        self.stride = positive_int("stride", stride)
        self.conv = nn.Conv1d(input_size, positive_int("channels", channels), kernel_size,
                              stride=stride)
        self.gru = nn.GRU(channels, positive_int("hidden_size", hidden_size))
        self.head = nn.Linear(hidden_size, positive_int("output_size", output_size))

    def recurrent_steps(self, seq_len: int) -> int:
        """How many steps the GRU takes for an input of ``seq_len`` steps."""
        return (seq_len - self.kernel_size) // self.stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected 3 dimensions (T, B, I) with I = {self.input_size}, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[0] < self.kernel_size:
            raise ValueError(f"x: expected at least kernel_size = {self.kernel_size} time steps, "
                             f"got {x.shape[0]}")
        z = torch.relu(self.conv(x.permute(1, 2, 0)))  # (B, C, T')
        _, h = self.gru(z.permute(2, 0, 1))            # time-major again: (T', B, C)
        return self.head(h[-1])


def recurrent_steps(model: nn.Module, seq_len: int) -> int:
    """Sequential recurrent steps ``model`` takes for ``seq_len`` inputs (``seq_len`` unless
    the model shortens the sequence first)."""
    seq_len = positive_int("seq_len", seq_len)
    return model.recurrent_steps(seq_len) if hasattr(model, "recurrent_steps") else seq_len


def step_seconds(model: nn.Module, *, seq_len: int = 50, batch_size: int = 64,
                 repeats: int = 15) -> float:
    """The fastest of ``repeats`` forward + backward passes on one adding-problem batch.

    The minimum, not the mean: on a shared machine other processes only ever add time, so the
    minimum is the best estimate of what the model itself costs.
    """
    repeats = positive_int("repeats", repeats)
    x, y = tasks.adding_batch(batch_size, seq_len, 0)
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up
        start = time.perf_counter()
        F.mse_loss(model(x), y).backward()
        best = min(best, time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return best


def compare(*, seq_len: int = 50, steps: int = 400, batch_size: int = 64, lr: float = 3e-3,
            clip: float = 1.0, seed: int = 0, gru_hidden: int = 64, hybrid_hidden: int = 32,
            channels: int = 32, kernel_size: int = 5, stride: int = 5,
            eval_every: int = 50, progress: bool = False) -> dict:
    """Train a plain GRU and a :class:`ConvGRU` on the adding problem, same steps, same batches.

    Returns ``{"gru": TrainResult, "hybrid": TrainResult}`` (:class:`rnncourse.train.TrainResult`,
    with the model in ``.model``), evaluated by MSE on :func:`rnncourse.tasks.adding_test_set`.
    ``progress`` shows a bar for each model's training.
    """
    test_x, test_y = tasks.adding_test_set(seq_len)
    eval_fn = train.eval_on(test_x, test_y, F.mse_loss)

    def batch(rng):
        return tasks.adding_batch(batch_size, seq_len, rng)

    builders = {
        "gru": lambda: models.SequenceRegressor("gru", 2, gru_hidden, 1),
        "hybrid": lambda: ConvGRU(2, hybrid_hidden, 1, channels=channels,
                                  kernel_size=kernel_size, stride=stride),
    }
    return {name: train.train(build, batch, F.mse_loss, steps=steps, lr=lr, clip=clip, seed=seed,
                              eval_fn=eval_fn, eval_every=eval_every,
                              progress=f"training the {name}" if progress else False,
                              config={"task": "adding", "T": seq_len, "batch": batch_size})
            for name, build in builders.items()}
