"""Embedding lookup in numpy float64: the course's reference for lesson 6's exercise.

An embedding is a table ``W`` of shape (V, D): row v is the vector of token v. The forward pass
reads rows, the backward pass adds each upstream gradient into the row it was read from, so a
token that occurs several times collects the sum of its gradients (``np.add.at``; a plain
``dW[idx] += dout`` would keep only one of the repeated rows). torch's ``nn.Embedding`` is the
same map.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate


def _indices(idx, V):
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"idx: expected an integer array of token ids, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        raise ValueError(f"idx: expected token ids in 0..{V - 1}, got values from {idx.min()} to "
                         f"{idx.max()}")
    return idx


def embedding_forward(idx, W):
    """``out[..., :] = W[idx[...]]``: idx any shape of ints in 0..V-1, W (V, D); returns
    ``(out, cache)``, out of shape ``idx.shape + (D,)``, cache ``{"idx", "W"}``."""
    W = validate.array("W", W, [("V", None), ("D", None)])
    idx = _indices(idx, W.shape[0])
    return W[idx], {"idx": idx, "W": W}


def embedding_backward(dout, cache):
    """dL/dW (V, D) from dL/dout (``idx.shape + (D,)``): every row of dout is added into the row
    of W it was read from, repeated tokens accumulating."""
    idx, W = cache["idx"], cache["W"]
    dout = validate.array("dout", dout, [(f"idx.shape[{k}]", n) for k, n in enumerate(idx.shape)]
                          + [("D", W.shape[1])])
    dW = np.zeros_like(W)
    np.add.at(dW, idx.reshape(-1), dout.reshape(-1, W.shape[1]))
    return dW
