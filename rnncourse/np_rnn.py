"""The vanilla (Elman) RNN in numpy float64: the course's reference implementation.

Equations (``docs/conventions.md``), one step on a batch, rows are examples::

    a_t = x_t @ W_xh.T + h_{t-1} @ W_hh.T + b_h        # (B, H)
    h_t = f(a_t)                                        # f in {tanh, relu, sigmoid}

Shapes: ``x_t`` (B, I), ``h_t`` (B, H), ``W_xh`` (H, I), ``W_hh`` (H, H), ``b_h`` (H,); a sequence
is time-major, ``x`` (T, B, I) in, ``h`` (T, B, H) out. Without bias the dict has no ``b_h`` key
and the gradients have none either.

Every forward function returns a cache, every backward function takes it back: CS231n's pattern.
The caches are plain dicts whose keys are documented in each docstring.

The activations, the argument checks and the initialisation the three cells share live in
:mod:`rnncourse.np_common`.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate
from rnncourse.np_common import (  # noqa: F401  (ACTIVATIONS, sigmoid: also read from here)
    ACTIVATIONS,
    activation_derivative,
    activation_forward,
    check_cache,
    check_params,
    check_truncate,
    init_uniform,
    sigmoid,
)

RNN_GATES = ("h",)  # the key suffixes: W_xh, W_hh, b_h


# --- parameters --------------------------------------------------------------------------------

def init_rnn_params(input_size: int, hidden_size: int, rng_or_seed, bias: bool = True) -> dict:
    """Random RNN parameters ``{W_xh (H, I), W_hh (H, H), b_h (H,)}`` (no ``b_h`` if not bias).

    torch's initialisation: every entry uniform in ``[-1/sqrt(H), 1/sqrt(H)]``.
    """
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    shapes = {"W_xh": (H, I), "W_hh": (H, H)}
    if validate.boolean("bias", bias):
        shapes["b_h"] = (H,)
    return init_uniform(shapes, H, rng_or_seed)


# --- one step ----------------------------------------------------------------------------------

def rnn_step_forward(x, h_prev, params, activation="tanh", *, check=True):
    """One RNN step: ``h_next = f(x @ W_xh.T + h_prev @ W_hh.T + b_h)``.

    Args:
        x: input at this step, (B, I).
        h_prev: previous hidden state, (B, H).
        params: ``{"W_xh": (H, I), "W_hh": (H, H), "b_h": (H,)}`` (``b_h`` optional).
        activation: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        check: validate the arguments (the sequence functions check once, then pass False).

    Returns:
        ``(h_next, cache)``: ``h_next`` (B, H); ``cache`` a dict with ``x`` (B, I), ``h_prev``
        (B, H), ``h_next`` (B, H), ``params`` and ``activation``: all the backward step needs.
    """
    if check:
        validate.choice("activation", activation, ACTIVATIONS)
        H, I, _ = check_params(params, RNN_GATES)
        x = validate.array("x", x, [("B", None), ("I", I)])
        h_prev = validate.array("h_prev", h_prev, [("B", x.shape[0]), ("H", H)])

    a = x @ params["W_xh"].T + h_prev @ params["W_hh"].T  # (B, H) pre-activation
    if "b_h" in params:
        a = a + params["b_h"]
    h_next = activation_forward(a, activation)

    cache = {"x": x, "h_prev": h_prev, "h_next": h_next, "params": params,
             "activation": activation}
    return h_next, cache


def rnn_step_backward(dh_next, cache):
    """Backward through one RNN step.

    Args:
        dh_next: dL/dh_next, (B, H): the *total* gradient reaching this step's output.
        cache: the cache of :func:`rnn_step_forward`.

    Returns:
        ``(dx, dh_prev, grads)``: dx (B, I), dh_prev (B, H), and ``grads`` with the keys of
        ``params`` (dW_xh (H, I), dW_hh (H, H), db_h (H,)).
    """
    if not isinstance(cache, dict) or "h_next" not in cache:
        raise TypeError(f"cache: expected the dict of rnn_step_forward, got {type(cache).__name__}")
    x, h_prev, h_next, params = cache["x"], cache["h_prev"], cache["h_next"], cache["params"]
    dh_next = validate.array("dh_next", dh_next, [("B", h_next.shape[0]), ("H", h_next.shape[1])])

    # Through h = f(a): f' is read off the output h_next.
    da = dh_next * activation_derivative(h_next, cache["activation"])  # (B, H)

    # a = x W_xh^T + h_prev W_hh^T + b: each weight gradient sums over the batch rows.
    grads = {"W_xh": da.T @ x,           # (H, I)
             "W_hh": da.T @ h_prev}      # (H, H): pairs da_t with h_{t-1}, what this step read
    if "b_h" in params:
        grads["b_h"] = da.sum(axis=0)    # (H,)
    dx = da @ params["W_xh"]             # (B, I)
    dh_prev = da @ params["W_hh"]        # (B, H)
    return dx, dh_prev, grads


# --- a whole sequence --------------------------------------------------------------------------

def rnn_forward(x, h0, params, activation="tanh"):
    """Run the RNN over a sequence.

    Args:
        x: inputs, (T, B, I), time-major.
        h0: initial state, (B, H).
        params: as in :func:`rnn_step_forward`.
        activation: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.

    Returns:
        ``(h, cache)``: ``h`` (T, B, H) the states h_1..h_T (``h[t]`` is the state after reading
        ``x[t]``); ``cache`` a dict with ``kind="rnn_forward"``, ``steps`` (the T step caches, in
        order), ``h0`` (B, H), ``h`` (T, B, H), ``params`` and ``activation``.
    """
    validate.choice("activation", activation, ACTIVATIONS)
    H, I, _ = check_params(params, RNN_GATES)
    x = validate.array("x", x, [("T", None), ("B", None), ("I", I)])
    T, B, _ = x.shape
    h0 = validate.array("h0", h0, [("B", B), ("H", H)])

    dtype = np.result_type(x, h0, *params.values())  # float32 in, float32 out
    h = np.zeros((T, B, H), dtype)
    steps = []
    h_prev = h0
    for t in range(T):
        h_prev, step_cache = rnn_step_forward(x[t], h_prev, params, activation, check=False)
        h[t] = h_prev
        steps.append(step_cache)
    cache = {"kind": "rnn_forward", "steps": steps, "h0": h0, "h": h, "params": params,
             "activation": activation}
    return h, cache


def rnn_backward(dh, cache, truncate=None):
    """Backpropagation through time for :func:`rnn_forward`.

    Args:
        dh: (T, B, H), ``dh[t]`` = the gradient of the loss with respect to ``h[t]`` coming
            *directly* from the loss; BPTT adds what flows back from later steps.
        cache: the cache of :func:`rnn_forward`.
        truncate: None for full BPTT, or k: the gradient is not carried from step t back into
            h_{t-1} when ``t % k == 0`` (torch's ``h = h.detach()`` every k steps). t = 0
            counts, so with truncation ``dh0`` is zero.

    Returns:
        ``(dx, dh0, grads)``: dx (T, B, I), dh0 (B, H), grads with the keys of ``params``.
    """
    cache = check_cache("cache", cache, "rnn_forward")
    k = check_truncate(truncate)
    T, B, H = cache["h"].shape
    dh = validate.array("dh", dh, [("T", T), ("B", B), ("H", H)])
    I = cache["params"]["W_xh"].shape[1]

    dtype = np.result_type(cache["h"], dh)
    dx = np.zeros((T, B, I), dtype)
    grads = {key: np.zeros_like(value, dtype=dtype) for key, value in cache["params"].items()}
    dh_carry = np.zeros((B, H), dtype)  # dL/dh_t through step t+1 (none after the last)
    for t in reversed(range(T)):
        # Equation (1): total gradient at h_t = direct part + part carried from step t+1.
        dx[t], dh_prev, step_grads = rnn_step_backward(dh[t] + dh_carry, cache["steps"][t])
        for key in grads:
            grads[key] += step_grads[key]  # the weights are shared: contributions add up
        if k is not None and t % k == 0:
            dh_prev = np.zeros_like(dh_prev)  # h_{t-1} was detached: nothing flows into it
        dh_carry = dh_prev
    dh0 = dh_carry
    return dx, dh0, grads
