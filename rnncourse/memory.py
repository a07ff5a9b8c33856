"""An outer-product memory (fast weights, linear attention): a matrix the network writes to.

Equations (``lambda`` in (0, 1] the decay, ``k_t, q_t`` keys and queries of size D_k, ``v_t``
values of size D_v)::

    S_t = lambda S_{t-1} + v_t k_t^T           (D_v, D_k): write the pair (k_t, v_t)   (1)
    y_t = S_t q_t                               (D_v,): read with the query q_t         (2)

Unrolled, ``y_t = sum_{s<=t} lambda^(t-s) (k_s . q_t) v_s``: the read is a weighted sum of the
stored values, weighted by how well each stored key matches the query. That is linear attention
(no softmax), Ba et al.'s (2016) fast weights (their fast weight matrix ``A_t = lambda A_{t-1} +
eta h_t h_t^T`` is (1) with keys = values = hidden states), and the matrix memory of xLSTM's
mLSTM with fixed gates. With orthonormal keys, ``S_t k_s = lambda^(t-s) v_s`` exactly: n pairs
fit in D_k >= n dimensions without interference.

(1) is a linear recurrence on the matrix state, ``a_t = lambda`` and ``b_t = v_t k_t^T``, so
the same scan as :mod:`rnncourse.scan` computes all ``S_t`` at once (:func:`memory_torch`).

Shapes (time-major): ``k, q`` ``(T, B, D_k)``, ``v`` ``(T, B, D_v)``; ``y`` ``(T, B, D_v)``;
``S`` ``(B, D_v, D_k)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import scan, validate

__all__ = ["memory_forward", "memory_torch", "memory_read_last", "read_weights", "FastWeightRecall"]


def _decay(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"decay: expected a number in (0, 1], got {type(value).__name__}")
    if not 0 < value <= 1:
        raise ValueError(f"decay: expected a number in (0, 1], got {value}")
    return float(value)


def memory_forward(k, v, q, decay: float = 1.0, S0=None):
    """Equations (1)-(2) step by step (numpy, the definition): ``(y (T, B, D_v), S_T)``."""
    k = validate.array("k", k, [("T", None), ("B", None), ("D_k", None)])
    T, B, Dk = k.shape
    v = validate.array("v", v, [("T", T), ("B", B), ("D_v", None)])
    q = validate.array("q", q, [("T", T), ("B", B), ("D_k", Dk)])
    decay = _decay(decay)
    Dv = v.shape[2]
    S = np.zeros((B, Dv, Dk)) if S0 is None else validate.array(
        "S0", S0, [("B", B), ("D_v", Dv), ("D_k", Dk)]).copy()
    y = np.empty((T, B, Dv))
    for t in range(T):
        S = decay * S + v[t][:, :, None] * k[t][:, None, :]  # (B, D_v, D_k)
        y[t] = np.einsum("bvk,bk->bv", S, q[t])
    return y, S


def _check_torch(name, x, dims):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor {dims}, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name}: expected 3 dimensions {dims}, got shape {tuple(x.shape)}")


def memory_torch(k, v, q, decay: float = 1.0, *, method: str = "blelloch"):
    """Equations (1)-(2) for all t at once: the scan over the matrix states.

    Returns ``(y (T, B, D_v), S (T, B, D_v, D_k))``, every ``S_t`` (memory T B D_v D_k).
    ``method`` is passed to :func:`rnncourse.scan.linear_recurrence` (``"sequential"`` is the
    reference loop).
    """
    _check_torch("k", k, "(T, B, D_k)")
    _check_torch("v", v, "(T, B, D_v)")
    _check_torch("q", q, "(T, B, D_k)")
    if v.shape[:2] != k.shape[:2] or q.shape != k.shape:
        raise ValueError(f"k, v, q: expected k and q (T, B, D_k) and v (T, B, D_v) with the same "
                         f"T and B, got k {tuple(k.shape)}, v {tuple(v.shape)}, q "
                         f"{tuple(q.shape)}")
    decay = _decay(decay)
    writes = v[:, :, :, None] * k[:, :, None, :]  # (T, B, D_v, D_k): b_t = v_t k_t^T
    a = torch.full_like(writes, decay)
    S = scan.linear_recurrence(a, writes, method=method)
    y = torch.einsum("tbvk,tbk->tbv", S, q)
    return y, S


def memory_read_last(k, v, q_last, decay: float = 1.0):
    """``y_T = S_T q_T = sum_s decay^(T-s) (k_s . q_T) v_s`` only (torch): ``(B, D_v)``.

    The same number as ``memory_torch(...)[0][-1]`` without forming any ``S_t``: what a model
    that reads once, at the end, needs (T D_k + T D_v work per sequence instead of T D_v D_k).
    """
    _check_torch("k", k, "(T, B, D_k)")
    _check_torch("v", v, "(T, B, D_v)")
    if q_last.dim() != 2 or q_last.shape != k.shape[1:] or v.shape[:2] != k.shape[:2]:
        raise ValueError(f"k, v, q_last: expected (T, B, D_k), (T, B, D_v) and (B, D_k), got "
                         f"{tuple(k.shape)}, {tuple(v.shape)} and {tuple(q_last.shape)}")
    decay = _decay(decay)
    T = k.shape[0]
    ages = torch.arange(T - 1, -1, -1, dtype=k.dtype, device=k.device)  # T - s
    weights = decay**ages[:, None] * torch.einsum("tbk,bk->tb", k, q_last)  # (T, B)
    return torch.einsum("tb,tbv->bv", weights, v)


def read_weights(k, q_final) -> np.ndarray:
    """How much each stored pair contributes to a read: ``k_s . q`` for every s, ``(B, T)``.

    With ``decay = 1`` the read is ``sum_s (k_s . q) v_s``; these are its weights.
    """
    k = torch.as_tensor(k)
    q_final = torch.as_tensor(q_final)
    return torch.einsum("tbk,bk->bt", k, q_final).detach().cpu().numpy()


class FastWeightRecall(nn.Module):
    """Associative recall with an outer-product memory: write every step, read at the last.

    ``k_t = W_k x_t``, ``v_t = W_v x_t``, ``q_t = W_q x_t`` (no biases; ``D = memory_size``),
    equations (1)-(2) read once at the end (:func:`memory_read_last`), then
    ``logits = W_o y_T + b_o``. Input ``(T, B, I)``, output
    ``(B, n_classes)``. Parameters: ``3 D I + n_classes (D + 1)``.
    """

    def __init__(self, input_size: int, memory_size: int, n_classes: int, decay: float = 1.0):
        super().__init__()
        I = validate.positive_int("input_size", input_size)
        D = validate.positive_int("memory_size", memory_size)
        C = validate.positive_int("n_classes", n_classes)
        self.decay = _decay(decay)
        self.key = nn.Linear(I, D, bias=False)
        self.value = nn.Linear(I, D, bias=False)
        self.query = nn.Linear(I, D, bias=False)
        self.out = nn.Linear(D, C)

    def parts(self, x):
        """``(k, v, q)``, each ``(T, B, D)``, for input ``x`` ``(T, B, I)``."""
        return self.key(x), self.value(x), self.query(x)

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"x: expected a tensor (T, B, I), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
        k, v, q = self.parts(x)
        return self.out(memory_read_last(k, v, q[-1], self.decay))  # (B, C)
