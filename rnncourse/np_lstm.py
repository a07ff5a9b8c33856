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
from rnncourse.np_common import check_cache, check_params, check_truncate, init_uniform, sigmoid

LSTM_GATES = ("i", "f", "g", "o")


def cell_update(f, c_prev, i, g):
    """``c_next = f * c_prev + i * g``: the memory keeps the part ``f`` and adds ``i * g``.

    The one definition of the LSTM's cell update. Only ``*`` and ``+``, so it takes numpy arrays
    and torch tensors alike: the numpy step, the torch step (:mod:`rnncourse.torch_steps`), the
    gradient check's autograd reference and :mod:`rnncourse.gradflow` all call it. The sequence
    functions that write into preallocated storage (:func:`lstm_forward` here,
    :mod:`rnncourse.torch_bptt`) spell it out in place instead, for speed, and are tested
    against the step.
    """
    return f * c_prev + i * g


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
    bias = validate.boolean("bias", bias)
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
    c_next = cell_update(f, c_prev, i, g)
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
    dx = np.zeros_like(da["i"], shape=x.shape)            # (B, I): the four gates add up
    dh_prev = np.zeros_like(da["i"], shape=h_prev.shape)  # (B, H)
    for gate in LSTM_GATES:  # each gate is its own affine map of x and h_prev
        grads[f"W_x{gate}"] = da[gate].T @ x          # (H, I)
        grads[f"W_h{gate}"] = da[gate].T @ h_prev     # (H, H)
        if f"b_{gate}" in params:
            grads[f"b_{gate}"] = da[gate].sum(axis=0)  # (H,)
        dx += da[gate] @ params[f"W_x{gate}"]
        dh_prev += da[gate] @ params[f"W_h{gate}"]
    grads = {key: grads[key] for key in params}  # same key order as params
    return dx, dh_prev, dc_prev, grads


def _stacked_weights(params):
    """The four gates' weights on top of each other, in the order i, f, g, o (torch.nn's layout).

    Returns ``(W_x (4H, I), W_h (4H, H), b (4H,) or None)``: row block k is gate
    ``LSTM_GATES[k]``, so ``x @ W_x.T`` holds the four gates' input products side by side.
    """
    W_x = np.concatenate([params[f"W_x{gate}"] for gate in LSTM_GATES])
    W_h = np.concatenate([params[f"W_h{gate}"] for gate in LSTM_GATES])
    b = (np.concatenate([params[f"b_{gate}"] for gate in LSTM_GATES])
         if "b_i" in params else None)
    return W_x, W_h, b


def _sigmoid_in_place(a):
    """``a <- 1 / (1 + exp(-a))``, elementwise, without temporaries.

    Below a = -709 (float64), exp(-a) overflows to inf and 1 / inf = 0 is the right limit, so
    the overflow is expected and not reported; the same for exp(-a) underflowing to 0.
    """
    np.negative(a, out=a)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(a, out=a)
    a += 1.0
    np.reciprocal(a, out=a)


def _sigmoid_to_tanh(s):
    """``s <- 2 s - 1``: turns ``s = sigma(2a)`` into ``tanh(a)`` (tanh(a) = 2 sigma(2a) - 1)."""
    s *= 2.0
    s -= 1.0


def lstm_forward(x, h0, c0, params):
    """Run the LSTM over a sequence: the numbers of :func:`lstm_step_forward` applied T times.

    The loop is organised for speed (the tests check it against the step functions to rounding):

    * the four gates' weights are stacked into one (4H, I) and one (4H, H) matrix, as torch.nn
      stores them, so a step makes one recurrent product instead of four;
    * the input products ``x_t @ W_x.T`` of *all* steps are one product before the loop, because
      they do not depend on h. Only ``h_{t-1} @ W_h.T`` has to wait for the previous step: that
      product, T times, is the sequential part the cost O(T (H^2 + HI)) is made of;
    * each step's pre-activations become its gates in place, in one (T, B, 4H) array.

    Args:
        x: (T, B, I) time-major; h0, c0: (B, H); params: the LSTM dict.

    Returns:
        ``(h, c, cache)``: h and c (T, B, H), every step's states (``h[-1]``, ``c[-1]`` are the
        final ones). ``cache`` is a dict with ``kind="lstm_forward"``, ``x``, ``h0``, ``c0``,
        ``h``, ``c``, ``tanh_c`` (T, B, H), ``params`` and ``gates``: a dict ``{"i", "f", "g",
        "o"}`` of (T, B, H) arrays, e.g. ``cache["gates"]["f"][t]`` is the forget gate at step t
        (ready to plot).
    """
    H, I, _ = check_params(params, LSTM_GATES)
    x = validate.array("x", x, [("T", None), ("B", None), ("I", I)])
    T, B, _ = x.shape
    h0 = validate.array("h0", h0, [("B", B), ("H", H)])
    c0 = validate.array("c0", c0, [("B", B), ("H", H)])

    W_x, W_h, b = _stacked_weights(params)
    dtype = np.result_type(x, h0, c0, W_x, W_h)  # float64 in the lessons; float32 stays float32
    # (T, B, 4H): the input part of every pre-activation, gate k in columns k*H:(k+1)*H.
    gates = (x.reshape(T * B, I) @ W_x.T).astype(dtype, copy=False).reshape(T, B, 4 * H)
    i, f, g, o = (gates[:, :, k * H:(k + 1) * H] for k in range(4))  # views, (T, B, H)
    h, c, tanh_c = (np.empty((T, B, H), dtype) for _ in range(3))
    h_prev, c_prev = h0, c0
    for t in range(T):
        gates[t] += h_prev @ W_h.T          # + the recurrent part
        if b is not None:
            gates[t] += b                   # now the pre-activations
        # One exp pass makes all four gates: g = tanh(a) is computed as 2 sigma(2a) - 1, the
        # same function (exact up to rounding), so sigma runs once over the whole (B, 4H) block.
        g[t] *= 2.0
        _sigmoid_in_place(gates[t])
        _sigmoid_to_tanh(g[t])
        # cell_update(f, c_prev, i, g), in place: no temporaries in the loop
        np.multiply(f[t], c_prev, out=c[t])     # c_t = f * c_{t-1} + i * g
        c[t] += i[t] * g[t]
        np.multiply(c[t], 2.0, out=tanh_c[t])   # tanh(c_t), the same way
        _sigmoid_in_place(tanh_c[t])
        _sigmoid_to_tanh(tanh_c[t])
        np.multiply(o[t], tanh_c[t], out=h[t])  # h_t = o * tanh(c_t)
        h_prev, c_prev = h[t], c[t]
    cache = {"kind": "lstm_forward", "x": x, "h0": h0, "c0": c0, "h": h, "c": c,
             "tanh_c": tanh_c, "gates": {"i": i, "f": f, "g": g, "o": o}, "params": params}
    return h, c, cache


def lstm_backward(dh, cache, dc_n=None, truncate=None):
    """Backpropagation through time for :func:`lstm_forward`.

    The numbers of :func:`lstm_step_backward` applied from t = T-1 down to 0, organised like the
    forward: inside the loop only what the chain needs (the gradient of the pre-activations
    ``da_t`` (B, 4H) and ``dh_{t-1} = da_t @ W_h``); the weight gradients sum
    ``da_t.T @ x_t`` and ``da_t.T @ h_{t-1}`` over all steps, so they are one product each after
    the loop, and so is dx.

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
    x, h, c, tanh_c, params = cache["x"], cache["h"], cache["c"], cache["tanh_c"], cache["params"]
    T, B, H = h.shape
    I = x.shape[2]
    dh = validate.array("dh", dh, [("T", T), ("B", B), ("H", H)])
    dtype = np.result_type(h, dh)
    dc_carry = np.zeros((B, H), dtype) if dc_n is None else validate.array(
        "dc_n", dc_n, [("B", B), ("H", H)]).astype(dtype)
    gates = cache["gates"]
    i, f, g, o = gates["i"], gates["f"], gates["g"], gates["o"]
    W_x, W_h, _ = _stacked_weights(params)

    da = np.empty((T, B, 4 * H), dtype)  # dL/d(pre-activations), gate k in columns k*H:(k+1)*H
    da_i, da_f, da_g, da_o = (da[:, :, k * H:(k + 1) * H] for k in range(4))
    dh_carry = np.zeros((B, H), dtype)  # dL/dh_t through step t+1
    for t in reversed(range(T)):
        c_prev = c[t - 1] if t > 0 else cache["c0"]
        dh_t = dh[t] + dh_carry
        # h_t = o * tanh(c_t): c_t gets dh_t * o * tanh', on top of what came from t+1.
        dc = dc_carry + dh_t * o[t] * (1.0 - tanh_c[t] ** 2)
        # c_t = f * c_{t-1} + i * g, then through each nonlinearity, from its output:
        # sigma' = s (1 - s), tanh' = 1 - t^2.
        np.multiply(dc * g[t], i[t] * (1.0 - i[t]), out=da_i[t])
        np.multiply(dc * c_prev, f[t] * (1.0 - f[t]), out=da_f[t])
        np.multiply(dc * i[t], 1.0 - g[t] ** 2, out=da_g[t])
        np.multiply(dh_t * tanh_c[t], o[t] * (1.0 - o[t]), out=da_o[t])
        dh_carry = da[t] @ W_h  # the four gates' contributions to dh_{t-1}, summed by the product
        dc_carry = dc * f[t]
        if k is not None and t % k == 0:
            # (h_{t-1}, c_{t-1}) were detached: the chain stops here.
            dh_carry, dc_carry = np.zeros((B, H), dtype), np.zeros((B, H), dtype)

    # Sums over all T steps (and the batch), as single products on (T*B)-row matrices.
    da_rows = da.reshape(T * B, 4 * H)
    dx = (da_rows @ W_x).reshape(T, B, I)
    dW_x = da_rows.T @ x.reshape(T * B, I)                                 # (4H, I)
    dW_h = np.zeros((4 * H, H), dtype)                                     # (4H, H)
    if T > 0:  # T = 0 (an empty sequence): no step, no gradient, dc_n passes to c0 unchanged
        dW_h += da[0].T @ cache["h0"]
    if T > 1:
        dW_h += da_rows[B:].T @ h[:-1].reshape((T - 1) * B, H)
    db = da_rows.sum(axis=0)                                               # (4H,)
    grads = {}
    for n, gate in enumerate(LSTM_GATES):
        rows = slice(n * H, (n + 1) * H)
        grads[f"W_x{gate}"] = dW_x[rows]
        grads[f"W_h{gate}"] = dW_h[rows]
        if f"b_{gate}" in params:
            grads[f"b_{gate}"] = db[rows]
    grads = {key: grads[key] for key in params}  # same key order as params
    return dx, dh_carry, dc_carry, grads
