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


def exploding_run(clip: float | None, *, steps: int = 200, seq_len: int = 10,
                  hidden_size: int = 32, sigma: float = 2.0, lr: float = 0.1,
                  batch: int = 64, seed: int = 0, progress: bool | str = False) -> TrainingRun:
    """Train a tanh RNN (``W_hh = sigma * Q``) on the adding problem with SGD, clipped or not.

    The course's one training loop (:func:`rnncourse.train.train`) does the work; both runs of
    a comparison see the same initial weights and the same batches (``seed``). After a
    non-finite loss the run stops and the rest of the record is ``nan``.
    """
    import torch

    from .dynamics import random_orthogonal
    from .models import SequenceRegressor
    from .tasks import adding_batch
    from .train import train

    if clip is not None:
        clip = validate.positive_float("clip", clip)
    steps = validate.positive_int("steps", steps)
    T = validate.positive_int("seq_len", seq_len, minimum=2)
    H = validate.positive_int("hidden_size", hidden_size)
    sigma = validate.positive_float("sigma", sigma)
    lr = validate.positive_float("lr", lr)

    def build():
        model = SequenceRegressor("rnn", 2, H, 1, seed=seed)
        q = random_orthogonal(H, np.random.default_rng(seed))
        with torch.no_grad():
            model.core.weight_hh_l0.copy_(torch.as_tensor(sigma * q, dtype=torch.float32))
        return model

    result = train(build, lambda rng: adding_batch(batch, T, rng), torch.nn.functional.mse_loss,
                   steps=steps, lr=lr, optimizer="sgd", clip=clip, seed=seed, progress=progress)
    loss_log, norm_log = np.full(steps, np.nan), np.full(steps, np.nan)
    done = len(result.losses)
    loss_log[:done] = result.losses
    norm_log[:len(result.grad_norms)] = result.grad_norms
    return TrainingRun(clip, loss_log, norm_log, result.seconds)
