"""Additive (Bahdanau) attention in numpy: the equations of :mod:`rnncourse.attention`, written
out for one query, as lesson 7's exercise asks for them.

``e_i = v^T tanh(W s + U h_i)``, ``alpha = softmax(e)`` over the real (unmasked) source
positions (exactly 0 at padded ones), ``c = sum_i alpha_i h_i``. Time-major like every sequence
in the course: ``query (B, Q)``, ``states (S, B, K)``, ``mask (S, B)`` bool (True at real
positions); ``params`` a dict with ``W (A, Q)``, ``U (A, K)``, ``v (A,)``. ``tests/
test_np_attention.py`` checks it against :class:`rnncourse.attention.Attention`.
"""

from __future__ import annotations

import numpy as np

from . import validate

__all__ = ["additive_attention"]


def additive_attention(query, states, mask, params):
    """One additive attention step: ``(context (B, K), weights (S, B))``.

    The softmax subtracts each column's largest real score first (the weights do not change),
    so scores of any size are safe; padded positions get ``-inf`` before it.
    """
    if not isinstance(params, dict) or any(k not in params for k in ("W", "U", "v")):
        raise TypeError(f"params: expected a dict with the keys W (A, Q), U (A, K), v (A,), got "
                        f"{type(params).__name__}"
                        + (f" with keys {sorted(params)}" if isinstance(params, dict) else ""))
    v = validate.array("params['v']", params["v"], [("A", None)])
    A = v.shape[0]
    W = validate.array("params['W']", params["W"], [("A", A), ("Q", None)])
    U = validate.array("params['U']", params["U"], [("A", A), ("K", None)])
    states = validate.array("states", states, [("S", None), ("B", None), ("K", U.shape[1])])
    S, B, _ = states.shape
    query = validate.array("query", query, [("B", B), ("Q", W.shape[1])])
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask: expected a bool numpy array (S, B), True at real positions, got "
                        f"{type(mask).__name__}"
                        + (f" of dtype {mask.dtype}" if isinstance(mask, np.ndarray) else ""))
    if mask.shape != (S, B):
        raise ValueError(f"mask: expected shape (S, B) = {(S, B)}, got {mask.shape}")
    if not mask.any(axis=0).all():
        raise ValueError("mask: expected at least one real (True) position per sequence")

    hidden = np.tanh((query @ W.T)[None] + states @ U.T)   # (S, B, A)
    scores = np.where(mask, hidden @ v, -np.inf)            # (S, B), -inf at padding
    scores = scores - scores.max(axis=0, keepdims=True)     # stable: the largest is 0
    e = np.exp(scores)                                      # exactly 0 at padding
    weights = e / e.sum(axis=0, keepdims=True)              # (S, B), each column sums to 1
    context = np.einsum("sb,sbk->bk", weights, states)      # (B, K) = sum_i alpha_i h_i
    return context, weights
