"""What the three numpy cells (``np_rnn``, ``np_lstm``, ``np_gru``) and the layers share.

The activations and their derivatives, the checks of a parameter dict, a cache and a truncation
length, and torch.nn's uniform initialisation. One definition each; the cell modules import them
from here, and so does any other module that needs a numerically safe sigmoid.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate

ACTIVATIONS = ("tanh", "relu", "sigmoid")


# --- activations -------------------------------------------------------------------------------

def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-a))``, elementwise.

    Written with ``e = exp(-|a|)`` (never overflows, unlike ``exp(-a)`` for ``a < -709``):
    ``1 / (1 + e)`` for a >= 0 and the equal ``e / (1 + e)`` for a < 0, which stays accurate
    to the last digit even deep in the tail, where ``1 - tiny`` would lose it.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def activation_forward(a: np.ndarray, activation: str) -> np.ndarray:
    """``f(a)`` elementwise for ``activation`` in ``ACTIVATIONS``; same shape as ``a``."""
    if activation == "tanh":
        return np.tanh(a)
    if activation == "relu":
        return np.maximum(a, 0.0)
    if activation == "sigmoid":
        return sigmoid(a)
    raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {activation!r}")


def activation_derivative(h: np.ndarray, activation: str) -> np.ndarray:
    """``f'(a)`` expressed from the *output* ``h = f(a)``, which is what the cache keeps.

    tanh' = 1 - h^2, sigmoid' = h (1 - h), relu' = 1 where h > 0 else 0 (0 at the kink, as torch).
    """
    if activation == "tanh":
        return 1.0 - h**2
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    if activation == "sigmoid":
        return h * (1.0 - h)
    raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {activation!r}")


# --- argument checks shared by the three cells ------------------------------------------------

def check_params(params, gates, extra_biases=(), name: str = "params") -> tuple[int, int, bool]:
    """Check a cell's parameter dict and return ``(H, I, has_bias)``.

    ``gates`` are the key suffixes: ``("h",)`` for the RNN (``W_xh, W_hh, b_h``), ``("i", "f",
    "g", "o")`` for the LSTM, ``("r", "z", "n")`` for the GRU; ``extra_biases`` are bias keys
    beyond ``b_<gate>`` (the torch-form GRU's ``b_hn``). A dict has either all bias keys or none.
    """
    weights = [f"W_x{s}" for s in gates] + [f"W_h{s}" for s in gates]
    biases = [f"b_{s}" for s in gates] + list(extra_biases)
    if not isinstance(params, dict):
        raise TypeError(f"{name}: expected a dict of arrays, got {type(params).__name__}")
    has_bias = any(k in params for k in biases)
    validate.param_dict(name, params, weights + (biases if has_bias else []),
                        optional=() if has_bias else biases)
    # H and I come from the first gate's weights; every other array must agree with them.
    W_h0 = validate.array(f"{name}['W_h{gates[0]}']", params[f"W_h{gates[0]}"],
                          [("H", None), ("H", None)])
    H = W_h0.shape[0]
    W_x0 = validate.array(f"{name}['W_x{gates[0]}']", params[f"W_x{gates[0]}"],
                          [("H", H), ("I", None)])
    I = W_x0.shape[1]
    for s in gates:
        validate.array(f"{name}['W_x{s}']", params[f"W_x{s}"], [("H", H), ("I", I)])
        validate.array(f"{name}['W_h{s}']", params[f"W_h{s}"], [("H", H), ("H", H)])
    if has_bias:
        for k in biases:
            validate.array(f"{name}['{k}']", params[k], [("H", H)])
    return H, I, has_bias


def check_cache(name: str, cache, kind: str) -> dict:
    """A cache must be the dict a forward function of ``kind`` returned."""
    if not isinstance(cache, dict) or cache.get("kind") != kind:
        got = cache.get("kind") if isinstance(cache, dict) else type(cache).__name__
        raise TypeError(f"{name}: expected the cache returned by {kind}, got {got!r}")
    return cache


def check_truncate(truncate) -> int | None:
    """``None`` (full BPTT) or an int k >= 1."""
    if truncate is None:
        return None
    return validate.positive_int("truncate", truncate)


# --- parameters --------------------------------------------------------------------------------

def init_uniform(shapes: dict, hidden_size: int, rng_or_seed) -> dict:
    """Every array uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` (torch.nn's initialisation), in order.

    ``rng_or_seed``: a ``numpy.random.Generator`` (used as it is) or an int seed >= 0.
    """
    rng = validate.generator("rng_or_seed", rng_or_seed)
    bound = 1.0 / np.sqrt(hidden_size)
    return {k: rng.uniform(-bound, bound, size=shape) for k, shape in shapes.items()}
