"""The GRU in numpy float64, in its two published forms: the course's reference implementation.

Equations (``docs/conventions.md``), one step on a batch, rows are examples::

    r = sigma(x @ W_xr.T + h_prev @ W_hr.T + b_r)               # reset gate   (B, H)
    z = sigma(x @ W_xz.T + h_prev @ W_hz.T + b_z)               # update gate  (B, H)
    form="torch":  n = tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))
    form="seed":   n = tanh(x @ W_xn.T + (r * h_prev) @ W_hn.T + b_n)   # Cho et al. (2014)
    h_next = (1 - z) * n + z * h_prev

The torch form resets *after* the recurrent product (so the product can be computed for all gates
at once, which is why torch and cuDNN use it); the seed form resets the state *before* it. They
are different functions of the same weights (see :func:`gru_forms_difference`). The torch form
with bias has the extra key ``b_hn`` (H,); the seed form never has it.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate
from rnncourse.np_common import check_cache, check_params, check_truncate, init_uniform, sigmoid

GRU_GATES = ("r", "z", "n")
GRU_FORMS = ("torch", "seed")


def check_gru_params(params, form, name="params"):
    """Check a GRU dict for ``form``; return ``(H, I, has_bias)``."""
    validate.choice("form", form, GRU_FORMS)
    if form == "seed" and isinstance(params, dict) and "b_hn" in params:
        raise ValueError(
            f"{name}: the seed-form GRU has no b_hn (its candidate is tanh(W_xn x + W_hn (r*h) + "
            f"b_n)); expected keys without 'b_hn', got {sorted(params)} - drop b_hn or use "
            "form='torch'"
        )
    return check_params(params, GRU_GATES, ("b_hn",) if form == "torch" else (), name)


def init_gru_params(input_size: int, hidden_size: int, rng_or_seed, bias: bool = True,
                    form: str = "torch") -> dict:
    """Random GRU parameters for ``form`` (torch's uniform initialisation); b_hn in torch form."""
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    validate.choice("form", form, GRU_FORMS)
    bias = validate.boolean("bias", bias)
    shapes = {}
    for gate in GRU_GATES:
        shapes[f"W_x{gate}"] = (H, I)
        shapes[f"W_h{gate}"] = (H, H)
        if bias:
            shapes[f"b_{gate}"] = (H,)
    if bias and form == "torch":
        shapes["b_hn"] = (H,)
    return init_uniform(shapes, H, rng_or_seed)


def _affine(x, W_x, h, W_h, b):
    a = x @ W_x.T + h @ W_h.T
    return a if b is None else a + b


def gru_step_forward(x, h_prev, params, form="torch", *, check=True):
    """One GRU step.

    Args:
        x: (B, I); h_prev: (B, H); params: the GRU dict of ``form``.
        form: ``"torch"`` or ``"seed"`` (module docstring).
        check: validate the arguments (the sequence functions check once, then pass False).

    Returns:
        ``(h_next, cache)``: h_next (B, H); ``cache`` a dict with ``x``, ``h_prev``, the gates
        ``r``, ``z``, ``n`` (B, H), ``hn`` (torch form: ``h_prev @ W_hn.T + b_hn``, the product
        the reset gate scales) or ``rh`` (seed form: ``r * h_prev``), ``params`` and ``form``.
    """
    if check:
        H, I, _ = check_gru_params(params, form)
        x = validate.array("x", x, [("B", None), ("I", I)])
        h_prev = validate.array("h_prev", h_prev, [("B", x.shape[0]), ("H", H)])
    p = params

    r = sigmoid(_affine(x, p["W_xr"], h_prev, p["W_hr"], p.get("b_r")))
    z = sigmoid(_affine(x, p["W_xz"], h_prev, p["W_hz"], p.get("b_z")))
    cache = {"x": x, "h_prev": h_prev, "params": params, "form": form}
    if form == "torch":
        hn = h_prev @ p["W_hn"].T                     # recurrent product first ...
        if "b_hn" in p:
            hn = hn + p["b_hn"]
        a_n = x @ p["W_xn"].T + r * hn                # ... then scaled by the reset gate
        cache["hn"] = hn
    else:
        rh = r * h_prev                               # reset the state first ...
        a_n = x @ p["W_xn"].T + rh @ p["W_hn"].T      # ... then the recurrent product
        cache["rh"] = rh
    if "b_n" in p:
        a_n = a_n + p["b_n"]
    n = np.tanh(a_n)
    h_next = (1.0 - z) * n + z * h_prev

    cache.update(r=r, z=z, n=n)
    return h_next, cache


def gru_step_backward(dh_next, cache):
    """Backward through one GRU step.

    Args:
        dh_next: dL/dh_next, (B, H), the total gradient reaching this step's output.
        cache: the cache of :func:`gru_step_forward`.

    Returns:
        ``(dx, dh_prev, grads)``: dx (B, I), dh_prev (B, H), grads with the keys of ``params``.
    """
    if not isinstance(cache, dict) or "z" not in cache or "form" not in cache:
        raise TypeError(f"cache: expected the dict of gru_step_forward, got {type(cache).__name__}")
    x, h_prev, p = cache["x"], cache["h_prev"], cache["params"]
    r, z, n = cache["r"], cache["z"], cache["n"]
    dh_next = validate.array("dh_next", dh_next, [("B", z.shape[0]), ("H", z.shape[1])])
    grads = {}

    # h_next = (1 - z) * n + z * h_prev
    dn = dh_next * (1.0 - z)
    dz = dh_next * (h_prev - n)
    dh_prev = dh_next * z                  # the direct, gated path (the GRU's "highway")

    da_n = dn * (1.0 - n**2)               # through tanh
    grads["W_xn"] = da_n.T @ x
    dx = da_n @ p["W_xn"]
    if "b_n" in p:
        grads["b_n"] = da_n.sum(axis=0)
    if cache["form"] == "torch":
        hn = cache["hn"]                   # a_n = ... + r * hn, hn = h_prev W_hn^T + b_hn
        dr = da_n * hn
        dhn = da_n * r
        grads["W_hn"] = dhn.T @ h_prev
        if "b_hn" in p:
            grads["b_hn"] = dhn.sum(axis=0)
        dh_prev = dh_prev + dhn @ p["W_hn"]
    else:
        rh = cache["rh"]                   # a_n = ... + rh W_hn^T, rh = r * h_prev
        grads["W_hn"] = da_n.T @ rh
        drh = da_n @ p["W_hn"]
        dr = drh * h_prev
        dh_prev = dh_prev + drh * r

    da_r = dr * r * (1.0 - r)              # through the sigmoids
    da_z = dz * z * (1.0 - z)
    for gate, da in (("r", da_r), ("z", da_z)):
        grads[f"W_x{gate}"] = da.T @ x
        grads[f"W_h{gate}"] = da.T @ h_prev
        if f"b_{gate}" in p:
            grads[f"b_{gate}"] = da.sum(axis=0)
        dx = dx + da @ p[f"W_x{gate}"]
        dh_prev = dh_prev + da @ p[f"W_h{gate}"]
    grads = {key: grads[key] for key in p}  # same key order as params
    return dx, dh_prev, grads


def gru_forward(x, h0, params, form="torch"):
    """Run the GRU over a sequence.

    Args:
        x: (T, B, I) time-major; h0: (B, H); params: the GRU dict of ``form``.

    Returns:
        ``(h, cache)``: h (T, B, H); ``cache`` a dict with ``kind="gru_forward"``, ``steps``
        (T step caches), ``h0``, ``h``, ``params``, ``form`` and ``gates``: ``{"r", "z", "n"}``
        of (T, B, H) arrays (``cache["gates"]["z"][t]`` is the update gate at step t).
    """
    H, I, _ = check_gru_params(params, form)
    x = validate.array("x", x, [("T", None), ("B", None), ("I", I)])
    T, B, _ = x.shape
    h0 = validate.array("h0", h0, [("B", B), ("H", H)])

    dtype = np.result_type(x, h0, *params.values())  # float32 in, float32 out
    h = np.zeros((T, B, H), dtype)
    gates = {gate: np.zeros((T, B, H), dtype) for gate in GRU_GATES}
    steps = []
    h_prev = h0
    for t in range(T):
        h_prev, step_cache = gru_step_forward(x[t], h_prev, params, form, check=False)
        h[t] = h_prev
        for gate in GRU_GATES:
            gates[gate][t] = step_cache[gate]
        steps.append(step_cache)
    cache = {"kind": "gru_forward", "steps": steps, "h0": h0, "h": h, "params": params,
             "form": form, "gates": gates}
    return h, cache


def gru_backward(dh, cache, truncate=None):
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        dh: (T, B, H), the gradient of the loss with respect to each ``h[t]`` coming directly
            from the loss.
        cache: the cache of :func:`gru_forward`.
        truncate: None, or k: no gradient from step t into h_{t-1} when ``t % k == 0`` (t = 0
            counts, so dh0 = 0 with truncation).

    Returns:
        ``(dx, dh0, grads)``: dx (T, B, I), dh0 (B, H), grads like ``params``.
    """
    cache = check_cache("cache", cache, "gru_forward")
    k = check_truncate(truncate)
    T, B, H = cache["h"].shape
    dh = validate.array("dh", dh, [("T", T), ("B", B), ("H", H)])
    I = cache["params"]["W_xr"].shape[1]

    dtype = np.result_type(cache["h"], dh)
    dx = np.zeros((T, B, I), dtype)
    grads = {key: np.zeros_like(value, dtype=dtype) for key, value in cache["params"].items()}
    dh_carry = np.zeros((B, H), dtype)
    for t in reversed(range(T)):
        dx[t], dh_prev, step_grads = gru_step_backward(dh[t] + dh_carry, cache["steps"][t])
        for key in grads:
            grads[key] += step_grads[key]
        if k is not None and t % k == 0:
            dh_prev = np.zeros_like(dh_prev)
        dh_carry = dh_prev
    return dx, dh_carry, grads


def gru_forms_difference(x, h0, params) -> float:
    """Largest |h_torch - h_seed| over all steps when both forms run on the same weights.

    ``params`` is a torch-form dict; the seed form reads the same arrays except ``b_hn``, which
    it does not have. Even with ``b_hn = 0`` the two differ, because ``r * (W_hn h)`` (torch)
    and ``W_hn (r * h)`` (seed) are equal only when W_hn is diagonal or r is the same for every
    unit: the torch form scales each unit's *summed* recurrent input, the seed form scales each
    *source* unit before the sum. The difference grows with the spread of r and the size of
    W_hn's off-diagonal entries.

    Args:
        x: (T, B, I); h0: (B, H); params: torch-form GRU dict.

    Returns:
        ``max |h_torch - h_seed|`` (a float >= 0).
    """
    h_torch, _ = gru_forward(x, h0, params, form="torch")
    seed_params = {key: value for key, value in params.items() if key != "b_hn"}
    h_seed, _ = gru_forward(x, h0, seed_params, form="seed")
    return float(np.max(np.abs(h_torch - h_seed)))
