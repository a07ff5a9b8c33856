"""The LSTM in numpy float64: the course's reference implementation.

Equations (``docs/conventions.md``), one step on a batch, rows are examples::

    i = sigma(x @ W_xi.T + h_prev @ W_hi.T + b_i)     # input gate      (B, H)
    f = sigma(x @ W_xf.T + h_prev @ W_hf.T + b_f)     # forget gate     (B, H)
    g = tanh (x @ W_xg.T + h_prev @ W_hg.T + b_g)     # candidate       (B, H)
    o = sigma(x @ W_xo.T + h_prev @ W_ho.T + b_o)     # output gate     (B, H)
    c_next = f * c_prev + i * g
    h_next = o * tanh(c_next)

``W_x.`` are (H, I), ``W_h.`` (H, H), ``b_.`` (H,) (absent without bias). Sequences are
time-major: x (T, B, I), h and c (T, B, H).
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate
from rnncourse.np_rnn import check_cache, check_params, check_truncate, init_uniform, sigmoid

LSTM_GATES = ("i", "f", "g", "o")


def _preactivation(x, h_prev, params, gate):
    """``x @ W_x<gate>.T + h_prev @ W_h<gate>.T (+ b_<gate>)``, (B, H)."""
    a = x @ params[f"W_x{gate}"].T + h_prev @ params[f"W_h{gate}"].T
    if f"b_{gate}" in params:
        a = a + params[f"b_{gate}"]
    return a


def init_lstm_params(input_size: int, hidden_size: int, rng_or_seed, bias: bool = True,
                     forget_bias: float = 0.0) -> dict:
    """Random LSTM parameters with the keys of the conventions (torch's uniform initialisation).

    ``forget_bias`` is added to ``b_f`` (1.0 is the classic trick that starts the forget gate
    near sigma(1) = 0.73, so the cell remembers by default); it needs ``bias=True``.
    """
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    shapes = {}
    for gate in LSTM_GATES:
        shapes[f"W_x{gate}"] = (H, I)
        shapes[f"W_h{gate}"] = (H, H)
        if bias:
            shapes[f"b_{gate}"] = (H,)
    params = init_uniform(shapes, H, rng_or_seed)
    if forget_bias:
        if not bias:
            raise ValueError(f"forget_bias: expected 0.0 when bias=False, got {forget_bias}")
        params["b_f"] = params["b_f"] + float(forget_bias)
    return params


def lstm_step_forward(x, h_prev, c_prev, params, *, check=True):
    """One LSTM step.

    Args:
        x: (B, I); h_prev, c_prev: (B, H); params: the LSTM dict (see the module docstring).
        check: validate the arguments (the sequence functions check once, then pass False).

    Returns:
        ``(h_next, c_next, cache)``: both (B, H); ``cache`` a dict with ``x``, ``h_prev``,
        ``c_prev``, the gates ``i``, ``f``, ``g``, ``o`` (each (B, H), after their
        nonlinearity), ``c_next``, ``tanh_c`` = tanh(c_next) and ``params``.
    """
    if check:
        H, I, _ = check_params(params, LSTM_GATES)
        x = validate.array("x", x, [("B", None), ("I", I)])
        h_prev = validate.array("h_prev", h_prev, [("B", x.shape[0]), ("H", H)])
        c_prev = validate.array("c_prev", c_prev, [("B", x.shape[0]), ("H", H)])

    i = sigmoid(_preactivation(x, h_prev, params, "i"))
    f = sigmoid(_preactivation(x, h_prev, params, "f"))
    g = np.tanh(_preactivation(x, h_prev, params, "g"))
    o = sigmoid(_preactivation(x, h_prev, params, "o"))
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c

    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "g": g, "o": o,
             "c_next": c_next, "tanh_c": tanh_c, "params": params}
    return h_next, c_next, cache


def lstm_step_backward(dh_next, dc_next, cache):
    """Backward through one LSTM step.

    Args:
        dh_next: dL/dh_next, (B, H), the total gradient reaching this step's h.
        dc_next: dL/dc_next, (B, H), the gradient reaching c_next from *later* steps (and
            from the loss if it reads c); the part through h_next is added here.
        cache: the cache of :func:`lstm_step_forward`.

    Returns:
        ``(dx, dh_prev, dc_prev, grads)``: dx (B, I), dh_prev and dc_prev (B, H), ``grads``
        with the keys of ``params``.
    """
    if not isinstance(cache, dict) or "tanh_c" not in cache:
        raise TypeError(
            f"cache: expected the dict of lstm_step_forward, got {type(cache).__name__}")
    x, h_prev, c_prev = cache["x"], cache["h_prev"], cache["c_prev"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    params = cache["params"]
    dh_next = validate.array("dh_next", dh_next, [("B", i.shape[0]), ("H", i.shape[1])])
    dc_next = validate.array("dc_next", dc_next, [("B", i.shape[0]), ("H", i.shape[1])])

    # h_next = o * tanh(c_next): c_next gets dh_next * o * tanh', on top of what came from t+1.
    dc = dc_next + dh_next * o * (1.0 - tanh_c**2)
    do = dh_next * tanh_c
    # c_next = f * c_prev + i * g
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dc_prev = dc * f
    # Through the nonlinearities, from their outputs: sigma' = s (1 - s), tanh' = 1 - t^2.
    da = {"i": di * i * (1.0 - i),
          "f": df * f * (1.0 - f),
          "g": dg * (1.0 - g**2),
          "o": do * o * (1.0 - o)}

    grads = {}
    dx = np.zeros(x.shape)            # (B, I): the four gates' contributions add up
    dh_prev = np.zeros(h_prev.shape)  # (B, H)
    for gate in LSTM_GATES:  # each gate is its own affine map of x and h_prev
        grads[f"W_x{gate}"] = da[gate].T @ x          # (H, I)
        grads[f"W_h{gate}"] = da[gate].T @ h_prev     # (H, H)
        if f"b_{gate}" in params:
            grads[f"b_{gate}"] = da[gate].sum(axis=0)  # (H,)
        dx += da[gate] @ params[f"W_x{gate}"]
        dh_prev += da[gate] @ params[f"W_h{gate}"]
    grads = {key: grads[key] for key in params}  # same key order as params
    return dx, dh_prev, dc_prev, grads


def lstm_forward(x, h0, c0, params):
    """Run the LSTM over a sequence.

    Args:
        x: (T, B, I) time-major; h0, c0: (B, H); params: the LSTM dict.

    Returns:
        ``(h, c, cache)``: h and c (T, B, H), every step's states (``h[-1]``, ``c[-1]`` are the
        final ones). ``cache`` is a dict with ``kind="lstm_forward"``, ``steps`` (the T step
        caches), ``h0``, ``c0``, ``h``, ``c``, ``params`` and ``gates``: a dict ``{"i", "f",
        "g", "o"}`` of (T, B, H) arrays, e.g. ``cache["gates"]["f"][t]`` is the forget gate at
        step t (ready to plot).
    """
    H, I, _ = check_params(params, LSTM_GATES)
    x = validate.array("x", x, [("T", None), ("B", None), ("I", I)])
    T, B, _ = x.shape
    h0 = validate.array("h0", h0, [("B", B), ("H", H)])
    c0 = validate.array("c0", c0, [("B", B), ("H", H)])

    h = np.zeros((T, B, H))
    c = np.zeros((T, B, H))
    gates = {gate: np.zeros((T, B, H)) for gate in LSTM_GATES}
    steps = []
    h_prev, c_prev = h0, c0
    for t in range(T):
        h_prev, c_prev, step_cache = lstm_step_forward(x[t], h_prev, c_prev, params, check=False)
        h[t], c[t] = h_prev, c_prev
        for gate in LSTM_GATES:
            gates[gate][t] = step_cache[gate]
        steps.append(step_cache)
    cache = {"kind": "lstm_forward", "steps": steps, "h0": h0, "c0": c0, "h": h, "c": c,
             "gates": gates, "params": params}
    return h, c, cache


def lstm_backward(dh, cache, dc_n=None, truncate=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Args:
        dh: (T, B, H), the gradient of the loss with respect to each ``h[t]`` coming directly
            from the loss (BPTT adds the recurrent part).
        cache: the cache of :func:`lstm_forward`.
        dc_n: optional (B, H), the gradient of the loss with respect to the final cell state
            ``c[-1]`` (when the loss reads it, e.g. a state handed to a decoder).
        truncate: None, or k: h and c carry no gradient from step t back into step t-1 when
            ``t % k == 0`` (torch's detach every k steps; t = 0 counts, so dh0 = dc0 = 0).

    Returns:
        ``(dx, dh0, dc0, grads)``: dx (T, B, I), dh0 and dc0 (B, H), grads like ``params``.
    """
    cache = check_cache("cache", cache, "lstm_forward")
    k = check_truncate(truncate)
    T, B, H = cache["h"].shape
    dh = validate.array("dh", dh, [("T", T), ("B", B), ("H", H)])
    dc_carry = np.zeros((B, H)) if dc_n is None else validate.array(
        "dc_n", dc_n, [("B", B), ("H", H)]).copy()
    I = cache["params"]["W_xi"].shape[1]

    dx = np.zeros((T, B, I))
    grads = {key: np.zeros_like(value) for key, value in cache["params"].items()}
    dh_carry = np.zeros((B, H))  # dL/dh_t through step t+1
    for t in reversed(range(T)):
        dx[t], dh_prev, dc_prev, step_grads = lstm_step_backward(
            dh[t] + dh_carry, dc_carry, cache["steps"][t])
        for key in grads:
            grads[key] += step_grads[key]
        if k is not None and t % k == 0:
            # (h_{t-1}, c_{t-1}) were detached: the chain stops here.
            dh_prev, dc_prev = np.zeros_like(dh_prev), np.zeros_like(dc_prev)
        dh_carry, dc_carry = dh_prev, dc_prev
    return dx, dh_carry, dc_carry, grads
