"""Temporal softmax cross-entropy with a mask, in numpy float64: lesson 6's exercise reference.

A sequence model emits logits ``z`` (T, B, V) for T steps of B sequences over V classes; the
targets ``y`` (T, B) are class ids and the mask (T, B) says which steps count (padding does
not). The loss is the mean over the counted steps of ``-log softmax(z)[y]``, as
``torch.nn.functional.cross_entropy(..., ignore_index=...)`` computes it, and its gradient is
``(softmax(z) - onehot(y)) * mask / count``. The softmax subtracts each row's maximum first, so
large logits do not overflow.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate


def temporal_softmax_loss(logits, targets, mask):
    """``(loss, dlogits)``: the masked mean cross-entropy and its gradient (T, B, V).

    Args:
        logits: (T, B, V) floats. targets: (T, B) ints in 0..V-1. mask: (T, B) bools (or 0/1);
            at least one step must count.
    """
    logits = validate.array("logits", logits, [("T", None), ("B", None), ("V", None)])
    T, B, V = logits.shape
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu" or targets.shape != (T, B):
        raise ValueError(f"targets: expected integer class ids of shape (T, B) = {(T, B)}, got "
                         f"dtype {targets.dtype}, shape {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(f"targets: expected class ids in 0..{V - 1}")
    mask = np.asarray(mask)
    if mask.shape != (T, B):
        raise ValueError(f"mask: expected shape (T, B) = {(T, B)}, got {mask.shape}")
    mask = mask.astype(bool)
    count = int(mask.sum())
    if count == 0:
        raise ValueError("mask: expected at least one step that counts, got none")

    shifted = logits - logits.max(axis=-1, keepdims=True)          # (T, B, V), max 0 per row
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]  # (T, B)
    loss = float(-(picked * mask).sum() / count)

    dlogits = np.exp(log_p)                                         # softmax
    np.put_along_axis(dlogits, targets[..., None],
                      np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1.0, axis=-1)
    dlogits *= mask[..., None] / count
    return loss, dlogits
