"""The "cliff" of a one-unit recurrent network, and gradient descent with and without clipping.

The set-up follows Pascanu, Mikolov & Bengio (2013, section 3 and their figure of the error
surface): one unit, ``x_t = w * sigmoid(x_{t-1}) + b``, ``x_0 = 0.5``, 50 steps, and the loss
``L(w, b) = (x_50 - 0.7)^2``. For ``w > 4`` the map has two stable fixed points; where the
start switches from one basin of attraction to the other, ``x_50`` jumps, and so does the loss:
a wall whose slope grows exponentially with the number of steps. A gradient step that lands on
the wall is huge and throws the parameters far away; clipping the norm of the gradient bounds the
step to ``lr * threshold`` and keeps descent where it was.

Gradients are computed forward (the derivative of ``x_t`` with respect to ``w`` and ``b`` is
carried along the recurrence), vectorised over any grid of ``(w, b)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import validate
from .np_common import sigmoid

STEPS = 50
X0 = 0.5
TARGET = 0.7
W_RANGE = (2.0, 12.0)
B_RANGE = (-8.0, 0.0)
START = (6.0, -3.5)
DEFAULT_LR = 0.014
DEFAULT_THRESHOLD = 10.0
DESCENT_STEPS = 100


def loss_and_grad(w, b, *, seq_len: int = STEPS, x0: float = X0, target: float = TARGET):
    """``(L, dL/dw, dL/db)`` of ``L = (x_T - target)^2`` for arrays ``w``, ``b`` (broadcast)."""
    w = validate.as_float_array("w", _number_as_float(w))
    b = validate.as_float_array("b", _number_as_float(b))
    T = validate.positive_int("seq_len", seq_len)
    try:
        shape = np.broadcast_shapes(w.shape, b.shape)
    except ValueError:
        raise ValueError(f"w and b: expected shapes that broadcast, got {w.shape} and "
                         f"{b.shape}") from None
    x = np.full(shape, float(x0))
    dw = np.zeros(shape)
    db = np.zeros(shape)
    for _ in range(T):
        s = sigmoid(x)
        slope = w * s * (1 - s)
        dw = s + slope * dw
        db = 1.0 + slope * db
        x = w * s + b
    err = x - target
    return err ** 2, 2 * err * dw, 2 * err * db


def loss_surface(w_range=W_RANGE, b_range=B_RANGE, *, n: int = 161, seq_len: int = STEPS):
    """``(ws, bs, L)`` on an ``n x n`` grid: ``L[i, j]`` is the loss at ``(ws[j], bs[i])``."""
    n = validate.positive_int("n", n, minimum=2)
    ws = np.linspace(*_range("w_range", w_range), n)
    bs = np.linspace(*_range("b_range", b_range), n)
    loss, _, _ = loss_and_grad(ws[None, :], bs[:, None], seq_len=seq_len)
    return ws, bs, loss


def _number_as_float(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return float(value)
    return value


def _range(name, value):
    arr = validate.array(name, value, [("2", 2)])
    if not arr[0] < arr[1]:
        raise ValueError(f"{name}: expected (low, high) with low < high, got {tuple(arr)}")
    return float(arr[0]), float(arr[1])


@dataclass
class DescentPath:
    """Gradient descent on the cliff: parameters, loss and gradient norm at every step."""

    w: np.ndarray  # (steps + 1,)
    b: np.ndarray
    loss: np.ndarray  # loss at each visited point
    grad_norm: np.ndarray  # ||grad|| before clipping, at each visited point
    threshold: float | None
    lr: float

    @property
    def jumps(self) -> np.ndarray:
        """Length of every step taken in the (w, b) plane."""
        return np.hypot(np.diff(self.w), np.diff(self.b))

    @property
    def max_jump(self) -> float:
        return float(self.jumps.max()) if self.jumps.size else 0.0

    @property
    def n_clipped(self) -> int:
        """How many steps the threshold shortened."""
        if self.threshold is None:
            return 0
        return int(np.sum(self.grad_norm[:-1] > self.threshold))


def descent_path(*, lr: float = DEFAULT_LR, threshold: float | None = None,
                 start=START, steps: int = DESCENT_STEPS, seq_len: int = STEPS) -> DescentPath:
    """Plain gradient descent from ``start``; with ``threshold``, the gradient's norm is clipped.

    Clipping as in Pascanu et al. (2013): if ``||g|| > threshold``, ``g <- threshold g / ||g||``.
    A step that overflows stops the path there (the rest is ``nan``), it does not raise.
    """
    lr = validate.positive_float("lr", lr)
    if threshold is not None:
        threshold = validate.positive_float("threshold", threshold)
    steps = validate.positive_int("steps", steps)
    w0, b0 = _range_free("start", start)
    w, b = np.full(steps + 1, np.nan), np.full(steps + 1, np.nan)
    loss, norm = np.full(steps + 1, np.nan), np.full(steps + 1, np.nan)
    w[0], b[0] = w0, b0
    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            L, gw, gb = loss_and_grad(np.array(w[k]), np.array(b[k]), seq_len=seq_len)
            loss[k], norm[k] = float(L), float(np.hypot(gw, gb))
            if k == steps or not np.isfinite(norm[k]):
                break
            scale = 1.0
            if threshold is not None and norm[k] > threshold:
                scale = threshold / norm[k]
            w[k + 1] = w[k] - lr * scale * float(gw)
            b[k + 1] = b[k] - lr * scale * float(gb)
    return DescentPath(w, b, loss, norm, threshold, lr)


def _range_free(name, value):
    if isinstance(value, (tuple, list)):
        value = [_number_as_float(v) for v in value]
    arr = validate.array(name, value, [("2", 2)])
    return float(arr[0]), float(arr[1])
