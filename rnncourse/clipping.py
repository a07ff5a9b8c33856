"""Gradient norm clipping: the reference function, and a training run that needs it.

``clip_grad_norm`` is the course's answer to lesson 4's exercise (Pascanu et al. 2013): treat all
gradients as one long vector ``g``; if ``||g|| > max_norm``, rescale every array by
``max_norm / ||g||``. The direction is kept, only the length is capped. torch's
``torch.nn.utils.clip_grad_norm_`` does the same in place.

``exploding_run`` trains a small tanh RNN whose recurrent matrix starts at ``sigma * Q`` (``Q``
orthogonal, ``sigma = 2``: past Pascanu's edge ``1/gamma = 1``) on the adding problem with plain
SGD, once per call, and records the loss and the gradient norm before clipping at every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import validate


def clip_grad_norm(grads, max_norm: float):
    """Clip a list of gradient arrays by their global norm: ``(clipped list, norm before)``.

    The inputs are not modified. ``max_norm`` must be a finite number > 0. A norm that is
    ``inf`` or ``nan`` is returned as is, and the arrays come back as ``nan``: no finite
    rescaling can repair them (torch warns or raises in that case).
    """
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads: expected a list of numpy arrays, got {type(grads).__name__}")
    arrays = [validate.as_float_array(f"grads[{i}]", g, finite=False)
              for i, g in enumerate(grads)]
    max_norm = validate.positive_float("max_norm", max_norm)
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in arrays))
    if not math.isfinite(total):
        return [np.full_like(g, np.nan) for g in arrays], total
    if total <= max_norm:
        return [g.copy() for g in arrays], total
    scale = max_norm / total
    return [g * scale for g in arrays], total


@dataclass
class TrainingRun:
    """Loss and gradient norm (before clipping) at every SGD step; ``nan`` once diverged."""

    clip: float | None
    loss: np.ndarray
    grad_norm: np.ndarray
    seconds: float

    @property
    def diverged_at(self) -> int | None:
        """First step whose loss or gradient is not finite, ``None`` if it never happened."""
        bad = np.flatnonzero(~(np.isfinite(self.loss) & np.isfinite(self.grad_norm)))
        return int(bad[0]) if bad.size else None


def adding_batch(batch: int, seq_len: int, generator):
    """The adding problem: ``(x, y)`` with ``x`` of shape ``(B, T, 2)`` (value, marker)."""
    import torch

    values = torch.rand(batch, seq_len, generator=generator)
    markers = torch.zeros(batch, seq_len)
    rows = torch.arange(batch)
    first = torch.randint(0, seq_len // 2, (batch,), generator=generator)
    second = torch.randint(seq_len // 2, seq_len, (batch,), generator=generator)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(1, keepdim=True)


def exploding_run(clip: float | None, *, steps: int = 200, seq_len: int = 10,
                  hidden_size: int = 32, sigma: float = 2.0, lr: float = 0.05,
                  batch: int = 64, seed: int = 0) -> TrainingRun:
    """Train a tanh RNN (``W_hh = sigma * Q``) on the adding problem with SGD, clipped or not.

    Both runs of a comparison see the same initial weights and the same batches (``seed``).
    After a non-finite loss the run stops and the rest of the record is ``nan``.
    """
    import time

    import torch

    if clip is not None:
        clip = validate.positive_float("clip", clip)
    steps = validate.positive_int("steps", steps)
    T = validate.positive_int("seq_len", seq_len, minimum=2)
    H = validate.positive_int("hidden_size", hidden_size)
    sigma = validate.positive_float("sigma", sigma)
    lr = validate.positive_float("lr", lr)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rnn = torch.nn.RNN(2, H, batch_first=True)
    head = torch.nn.Linear(H, 1)
    with torch.no_grad():
        q, r = torch.linalg.qr(torch.randn(H, H, generator=generator))
        rnn.weight_hh_l0.copy_(sigma * q * torch.sign(torch.diagonal(r)))
    parameters = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(parameters, lr=lr)
    loss_log, norm_log = np.full(steps, np.nan), np.full(steps, np.nan)
    start = time.perf_counter()
    for step in range(steps):
        x, y = adding_batch(batch, T, generator)
        out, _ = rnn(x)
        loss = torch.mean((head(out[:, -1]) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(parameters, math.inf if clip is None else clip)
        loss_log[step], norm_log[step] = loss.item(), norm.item()
        if not (math.isfinite(loss_log[step]) and math.isfinite(norm_log[step])):
            break
        optimizer.step()
    return TrainingRun(clip, loss_log, norm_log, time.perf_counter() - start)
