"""Hidden-state dynamics of a vanilla RNN: what W_hh does to the past.

Lesson 1 drives a small tanh RNN, ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)``, with
``W_hh = rho * Q`` for a random orthogonal ``Q``: every singular value of W_hh is then ``rho``,
so one number sets how strongly each step carries the previous state forward. The impulse
response measures it: nudge the first input and follow how far each later ``h_t`` moves.
Below ``rho = 1`` the nudge fades geometrically (at most by ``rho`` a step, since
``|tanh'| <= 1``); above it the state can keep it, until tanh saturates.
"""

from __future__ import annotations

import numpy as np

from . import validate
from .np_common import activation_derivative
from .np_rnn import rnn_forward


def random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """An ``(n, n)`` orthogonal matrix drawn uniformly (QR of a Gaussian, signs fixed)."""
    n = validate.positive_int("n", n)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def scaled_rnn_params(input_size: int, hidden_size: int, *, w_scale: float,
                      input_scale: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """RNN weights with ``W_hh = w_scale * Q`` (all singular values ``w_scale``).

    ``W_xh`` has entries ``N(0, input_scale^2 / I)``, so each unit's input drive has standard
    deviation about ``input_scale`` for inputs of unit variance. ``b_h`` is zero.
    """
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    w_scale = validate.positive_float("w_scale", w_scale, allow_zero=True)
    input_scale = validate.positive_float("input_scale", input_scale, allow_zero=True)
    rng = np.random.default_rng(seed)
    return {
        "W_xh": input_scale * rng.standard_normal((H, I)) / np.sqrt(I),
        "W_hh": w_scale * random_orthogonal(H, rng),
        "b_h": np.zeros(H),
    }


def hidden_states(x: np.ndarray, params: dict, activation: str = "tanh") -> np.ndarray:
    """All hidden states ``(T, B, H)`` for inputs ``x`` of shape ``(T, B, I)``, from h_0 = 0."""
    x = validate.array("x", x, [("T", None), ("B", None), ("I", None)])
    hidden = params["W_hh"].shape[0]
    h, _ = rnn_forward(x, np.zeros((x.shape[1], hidden)), params, activation)
    return h


def impulse_response(x: np.ndarray, params: dict, *, activation: str = "tanh") -> np.ndarray:
    """How far each ``h_t`` moves per unit of a nudge to the first input: ``||dh_t / dx_0 u||``.

    ``u`` is the unit vector along all ones (the same nudge to every input feature). The nudge
    is carried forward exactly, by the chain rule, not by finite differences (which bottom out
    near 1e-10, where float64 can no longer tell ``h'_t`` from ``h_t``):

        v_0 = f'(a_0) * (W_xh u),     v_t = f'(a_t) * (W_hh v_{t-1}),     response_t = ||v_t||

    Returns shape ``(T,)``, averaged over the batch.
    """
    x = validate.array("x", x, [("T", None), ("B", None), ("I", None)])
    h = hidden_states(x, params, activation)  # (T, B, H)
    slope = activation_derivative(h, activation)  # f'(a_t), read off h_t = f(a_t)
    u = np.ones(x.shape[2]) / np.sqrt(x.shape[2])
    v = slope[0] * (params["W_xh"] @ u)  # (B, H)
    response = np.empty(x.shape[0])
    response[0] = np.linalg.norm(v, axis=1).mean()
    with np.errstate(under="ignore"):
        for t in range(1, x.shape[0]):
            v = slope[t] * (v @ params["W_hh"].T)
            response[t] = np.linalg.norm(v, axis=1).mean()
    return response


def fitted_decay_rate(response: np.ndarray, start: int = 5) -> float:
    """Per-step factor of a geometric response: ``exp`` of the slope of ``log response``.

    Steps whose response is zero (below float64 resolution) are left out of the fit.
    """
    response = validate.as_float_array("response", response, finite=False)
    t = np.arange(response.size)
    keep = (t >= start) & (response > 0) & np.isfinite(response)
    if keep.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(t[keep], np.log(response[keep]), 1)
    return float(np.exp(slope))
