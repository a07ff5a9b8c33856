"""The output layer ``y = g(h @ W_hy.T + b_y)`` and two losses, in numpy float64.

``W_hy`` is (O, H), ``b_y`` (O,) (optional). ``h`` may be one step (B, H) or a whole sequence
(T, B, H): the same weights act on every step, so the sequence case is the same formula over
the leading axes and the weight gradients sum over them.
"""

from __future__ import annotations

import numpy as np

from rnncourse import validate
from rnncourse.np_rnn import sigmoid

OUTPUT_ACTIVATIONS = ("identity", "tanh", "sigmoid", "softmax")


def softmax(a: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; subtracting the max first avoids overflow, same result."""
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _check_output_params(params):
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    has_bias = "b_y" in params
    validate.param_dict("params", params, ["W_hy"] + (["b_y"] if has_bias else []),
                        optional=() if has_bias else ["b_y"])
    W = validate.array("params['W_hy']", params["W_hy"], [("O", None), ("H", None)])
    if has_bias:
        validate.array("params['b_y']", params["b_y"], [("O", W.shape[0])])
    return W.shape


def output_forward(h, params, g="identity"):
    """``y = g(h @ W_hy.T + b_y)``, g applied elementwise (softmax: over the last axis).

    Args:
        h: (B, H) or (T, B, H).
        params: ``{"W_hy": (O, H), "b_y": (O,)}`` (``b_y`` optional).
        g: ``"identity"``, ``"tanh"``, ``"sigmoid"`` or ``"softmax"``.

    Returns:
        ``(y, cache)``: y (B, O) or (T, B, O); cache a dict with ``h``, ``y``, ``g``, ``params``.
    """
    validate.choice("g", g, OUTPUT_ACTIVATIONS)
    O, H = _check_output_params(params)
    h = validate.as_float_array("h", h)
    if h.ndim not in (2, 3):
        raise ValueError(
            f"h: expected 2 dimensions (B, H) or 3 (T, B, H) with H = {H}, got {h.ndim} with "
            f"shape {tuple(h.shape)}")
    validate.check_shape("h", h, [("T", None)] * (h.ndim - 2) + [("B", None), ("H", H)])

    a = h @ params["W_hy"].T  # (..., O)
    if "b_y" in params:
        a = a + params["b_y"]
    if g == "identity":
        y = a
    elif g == "tanh":
        y = np.tanh(a)
    elif g == "sigmoid":
        y = sigmoid(a)
    else:
        y = softmax(a)
    return y, {"h": h, "y": y, "g": g, "params": params}


def output_backward(dy, cache):
    """Backward through :func:`output_forward`.

    Args:
        dy: dL/dy, same shape as y.
        cache: the cache of :func:`output_forward`.

    Returns:
        ``(dh, grads)``: dh like h; grads ``{"W_hy": (O, H), "b_y": (O,)}`` (keys of params).
    """
    if not isinstance(cache, dict) or "g" not in cache or "y" not in cache:
        raise TypeError(f"cache: expected the dict of output_forward, got {type(cache).__name__}")
    h, y, g, params = cache["h"], cache["y"], cache["g"], cache["params"]
    dy = validate.array("dy", dy, [(f"axis{k}", n) for k, n in enumerate(y.shape)])

    if g == "identity":
        da = dy
    elif g == "tanh":
        da = dy * (1.0 - y**2)
    elif g == "sigmoid":
        da = dy * y * (1.0 - y)
    else:  # softmax Jacobian diag(y) - y y^T applied to dy, row by row
        da = y * (dy - np.sum(dy * y, axis=-1, keepdims=True))

    # Flatten the leading axes: every (t, b) row is one use of the shared weights.
    da2 = da.reshape(-1, da.shape[-1])
    h2 = h.reshape(-1, h.shape[-1])
    grads = {"W_hy": da2.T @ h2}
    if "b_y" in params:
        grads["b_y"] = da2.sum(axis=0)
    dh = da @ params["W_hy"]
    return dh, grads


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of ``softmax(logits)`` against ``targets``, and its gradient.

    Args:
        logits: (..., C) unnormalised scores, e.g. (B, C) or (T, B, C).
        targets: either integer class ids of shape (...) (logits' shape without the last axis),
            or float probability vectors of the same shape as ``logits``.

    Returns:
        ``(loss, dlogits)``: the mean over all positions of ``-sum_c p_c log softmax(logits)_c``
        and its gradient ``(softmax(logits) - p) / N``, shape of logits.
    """
    logits = validate.as_float_array("logits", logits)
    if logits.ndim < 1:
        raise ValueError("logits: expected at least 1 dimension (..., C), got a scalar")
    targets_arr = np.asarray(targets)
    if targets_arr.dtype.kind in "iu":
        validate.check_shape("targets", targets_arr,
                             [(f"axis{k}", n) for k, n in enumerate(logits.shape[:-1])])
        C = logits.shape[-1]
        if targets_arr.size and (targets_arr.min() < 0 or targets_arr.max() >= C):
            raise ValueError(
                f"targets: expected class ids in [0, {C - 1}], got values in "
                f"[{targets_arr.min()}, {targets_arr.max()}]")
        p = np.eye(C)[targets_arr]
    else:
        p = validate.array("targets", targets,
                           [(f"axis{k}", n) for k, n in enumerate(logits.shape)])
    N = int(np.prod(logits.shape[:-1]))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = float(-np.sum(p * log_probs) / N)
    dlogits = (np.exp(log_probs) * p.sum(axis=-1, keepdims=True) - p) / N
    return loss, dlogits


def mse(y, target):
    """Mean squared error ``mean((y - target)^2)`` (torch's MSELoss) and its gradient.

    Returns:
        ``(loss, dy)`` with ``dy = 2 (y - target) / y.size``, shape of y.
    """
    y = validate.as_float_array("y", y)
    target = validate.array("target", target, [(f"axis{k}", n) for k, n in enumerate(y.shape)])
    diff = y - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size
