"""Gradient checks: is a BPTT gradient right, and if not, *where* is it wrong?

* :func:`numerical_gradient`: centered finite differences of any function, entry by entry.
* :func:`gradient_check`: draws a random model and input, puts a random linear loss on every
  output (and the final states), and compares the analytic gradient of every parameter, of the
  input and of the initial states with finite differences, or with torch autograd (float64).
  The :class:`GradCheckReport` gives each array's worst relative error and names the worst
  entry: parameter, gate, layer and direction, time step (for the input) and index.
* :func:`autograd_gradients`: the same gradients from torch autograd, through ``torch.nn``
  where it has the model, else through a torch transcription of the equations.

Relative error of one entry: ``|a - n| / max(|a| + |n|, tiny)`` (a analytic, n reference).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from rnncourse import validate
from rnncourse.convert import NumpyModel, numpy_grads_from_torch, torch_from_numpy
from rnncourse.np_common import ACTIVATIONS, check_truncate
from rnncourse.np_layers import (
    CELLS,
    init_stacked_params,
    stacked_backward,
    stacked_forward,
    step_forward,
)
from rnncourse.np_lstm import cell_update

REFERENCES = ("finite differences", "autograd")
GATE_NAMES = {"i": "input gate", "f": "forget gate", "g": "candidate (g)", "o": "output gate",
              "r": "reset gate", "z": "update gate", "n": "candidate (n)"}
TINY = 1e-12
# Finite differences in float64 with eps = 1e-6 carry about 1e-10..1e-9 of rounding noise in
# absolute terms, so entries much smaller than that cannot be judged relatively: against finite
# differences the denominator's floor is 1e-2, i.e. errors below tolerance * 1e-2 always pass.
TINY_FD = 1e-2


def gate_of(key: str) -> str | None:
    """The gate a parameter key belongs to: ``W_hf`` -> "forget gate", ``b_hn`` -> "candidate
    (n)"; None for the plain RNN's ``W_xh, W_hh, b_h`` and for non-parameters."""
    if key == "b_hn":
        return GATE_NAMES["n"]
    if key.startswith(("W_x", "W_h")):
        return GATE_NAMES.get(key[3:])
    if key.startswith("b_"):
        return GATE_NAMES.get(key[2:])
    return None


def relative_error(a, b, tiny: float = TINY) -> np.ndarray:
    """Elementwise ``|a - b| / max(|a| + |b|, tiny)``: 0 when both are 0, at most 1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), tiny)


def numerical_gradient(f: Callable, x: np.ndarray, eps: float = 1e-6, df=None) -> np.ndarray:
    """Centered finite differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every i.

    Args:
        f: called as ``f(x)``; returns a scalar, or an array when ``df`` is given.
        x: float array, perturbed **in place** one entry at a time (so ``f`` may also read it
            through a closure) and restored afterwards, even if ``f`` raises.
        eps: the step. 1e-6 balances the O(eps^2) truncation error against rounding
            (about 1e-16 / eps) in float64.
        df: optional upstream gradient, same shape as ``f(x)``: then the result is the gradient
            of ``sum(df * f(x))``. The difference of the two outputs is taken *before* the sum,
            which keeps rounding error small.

    Returns:
        The gradient, same shape as ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x: expected a float numpy array (perturbed in place), got "
                        f"{type(x).__name__}" + (f" of dtype {x.dtype}"
                                                 if isinstance(x, np.ndarray) else ""))
    eps = validate.positive_float("eps", eps)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + eps
            f_plus = np.asarray(f(x), dtype=float)
            x[idx] = old - eps
            f_minus = np.asarray(f(x), dtype=float)
        finally:
            x[idx] = old
        diff = f_plus - f_minus
        if df is None:
            if diff.size != 1:
                raise ValueError(f"f: expected a scalar when df is None, got shape {diff.shape}")
            grad[idx] = diff.item() / (2 * eps)
        else:
            grad[idx] = np.sum(diff * df) / (2 * eps)
    return grad


# --- the report --------------------------------------------------------------------------------

@dataclass
class GradCheckEntry:
    """How well one array's gradient agrees with the reference.

    ``name`` is the display name, ``array`` the key (``"x"``, ``"h0"``, ``"c0"`` or a parameter
    key such as ``"W_hf"``), ``layer`` and ``direction`` (``"forward"``/``"reverse"``) locate a
    parameter in a stack, ``gate`` is read from the key. ``index`` is the worst entry, with its
    ``time_step`` for the input x, and ``analytic`` / ``numeric`` its two values.
    ``step_errors[t]``, where the check failed, is the largest relative error of step t's own
    contribution to this gradient (see :mod:`rnncourse.gradcheck_steps`).
    """

    name: str
    array: str
    layer: int | None
    direction: str | None
    gate: str | None
    max_relative_error: float
    max_abs_error: float
    index: tuple
    time_step: int | None
    analytic: float
    numeric: float
    step_errors: list | None = None  # per time step: the error of that step's own contribution

    def where(self) -> str:
        parts = [self.name]
        if self.gate:
            parts.append(f"({self.gate})")
        parts.append(f"index {self.index}")
        if self.time_step is not None:
            parts.append(f"time step t={self.time_step}")
        return " ".join(parts)


@dataclass
class GradCheckReport:
    """Per-array agreement of an analytic gradient with a reference; ``passed`` if every
    relative error is at most ``tolerance``. ``worst`` is the entry with the largest error;
    where the check failed, ``steps`` says at which time step (and in which gate) the error
    enters, and :meth:`enters` says it in words."""

    cell: str
    config: dict
    reference: str
    tolerance: float
    entries: list = field(default_factory=list)
    steps: object = None  # a gradcheck_steps.StepBreakdown where the check failed
    passed: bool = field(init=False)

    def __post_init__(self):
        self.passed = bool(self.max_relative_error <= self.tolerance)

    @property
    def max_relative_error(self) -> float:
        return max((e.max_relative_error for e in self.entries), default=0.0)

    @property
    def worst(self) -> GradCheckEntry | None:
        return max(self.entries, key=lambda e: e.max_relative_error, default=None)

    def entry(self, name: str) -> GradCheckEntry:
        """The entry with display name ``name`` (e.g. ``"W_hf"`` or ``"x"``)."""
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"name: expected one of {[e.name for e in self.entries]}, got {name!r}")

    def failing(self) -> list:
        return [e for e in self.entries if e.max_relative_error > self.tolerance]

    def enters(self) -> str | None:
        """Where the error enters, in words: time step and gate (None when not known)."""
        b = self.steps
        if b is None:
            return None
        if b.enters is not None:
            params = [a for a in b.arrays if a != "x"]
            gates = sorted({gate_of(a) for a in params if gate_of(a)},
                           key=list(GATE_NAMES.values()).index)
            where = f"in the {' and the '.join(gates)} ({', '.join(params)})" if gates else (
                f"in {', '.join(b.arrays)}")
            return (f"error enters at time step t={b.enters}, {where}: that step's own "
                    "contribution is wrong, given the right gradient arriving at it")
        carried = "dh_prev" + (", dc_prev" if self.cell == "lstm" else "")
        if b.carry is not None:
            return (f"every step's own contribution is right; the error is in what step "
                    f"t={b.carry} carries back to step t={b.carry - 1} ({carried})")
        if not b.note and {e.array for e in self.failing()} <= {"h0", "c0"}:
            return ("every step's own contribution is right; the error is in what step t=0 "
                    f"carries back to the initial state ({carried}, i.e. dh0"
                    f"{', dc0' if self.cell == 'lstm' else ''})")
        return b.note or None

    def _step_lines(self) -> list[str]:
        b = self.steps
        if b is None or not b.errors:
            return []
        lines = ["per time step (largest relative error of each step's own contribution):"]
        for e in self.failing():
            if e.step_errors is None:
                continue
            cells = "  ".join(f"t={t} {err:.1e}{' <--' if err > self.tolerance else ''}"
                              for t, err in enumerate(e.step_errors))
            lines.append(f"  {e.name:<8} {cells}")
        return lines

    def _title(self) -> str:
        cfg = ", ".join(f"{k}={v}" for k, v in self.config.items())
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"Gradient check of {self.cell} ({cfg}) against {self.reference}: {verdict}, "
                f"max relative error {self.max_relative_error:.2e} (tolerance "
                f"{self.tolerance:.0e})")

    def __str__(self) -> str:
        lines = [self._title(), f"{'array':<28} {'gate':<16} {'max rel err':>11}  worst at"]
        for e in self.entries:
            at = f"{e.index}" + (f" t={e.time_step}" if e.time_step is not None else "")
            flag = "  <-- FAIL" if e.max_relative_error > self.tolerance else ""
            lines.append(f"{e.name:<28} {e.gate or '-':<16} {e.max_relative_error:>11.2e}  "
                         f"{at}{flag}")
        w = self.worst
        if w is not None:
            lines.append(f"worst: {w.where()}: analytic {w.analytic:.10g}, {self.reference} "
                         f"{w.numeric:.10g}")
        lines += self._step_lines()
        if self.enters():
            lines.append(self.enters())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GradCheckReport(cell={self.cell!r}, passed={self.passed}, "
                f"max_relative_error={self.max_relative_error:.2e})")

    def _repr_html_(self) -> str:
        esc = html.escape
        color = "#1a7f37" if self.passed else "#cf222e"
        rows = []
        for e in self.entries:
            bad = e.max_relative_error > self.tolerance
            style = ' style="background:#ffebe9"' if bad else ""
            t = "" if e.time_step is None else str(e.time_step)
            rows.append(
                f"<tr{style}><td><code>{esc(e.name)}</code></td><td>{esc(e.gate or '')}</td>"
                f"<td>{e.max_relative_error:.2e}</td><td>{esc(str(e.index))}</td><td>{t}</td>"
                f"<td>{e.analytic:.6g}</td><td>{e.numeric:.6g}</td></tr>")
        w = self.worst
        summary = "" if w is None else f"<p>Worst: {esc(w.where())}.</p>"
        if self._step_lines():
            summary += "<pre>" + esc("\n".join(self._step_lines())) + "</pre>"
        if self.enters():
            summary += f"<p><b>{esc(self.enters()[0].upper() + self.enters()[1:])}.</b></p>"
        return (f'<div><p style="color:{color}"><b>{esc(self._title())}</b></p>'
                "<table><tr><th>array</th><th>gate</th><th>max rel. error</th><th>worst index"
                f"</th><th>t</th><th>analytic</th><th>{esc(self.reference)}</th></tr>"
                + "".join(rows) + f"</table>{summary}</div>")


def _entry(name, array, layer, direction, analytic, reference, tiny, time_axis):
    analytic = np.asarray(analytic, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if analytic.shape != reference.shape:
        raise ValueError(f"{name}: the analytic gradient has shape {analytic.shape}, expected "
                         f"{reference.shape} (the shape of the array)")
    rel = relative_error(analytic, reference, tiny)
    index = tuple(int(i) for i in np.unravel_index(np.argmax(rel), rel.shape)) if rel.size else ()
    return GradCheckEntry(
        name=name, array=array, layer=layer, direction=direction, gate=gate_of(array),
        max_relative_error=float(rel.max(initial=0.0)),
        max_abs_error=float(np.max(np.abs(analytic - reference), initial=0.0)),
        index=index, time_step=index[0] if time_axis and index else None,
        analytic=float(analytic[index]) if rel.size else 0.0,
        numeric=float(reference[index]) if rel.size else 0.0)


def compare_gradients(cell, analytic, reference, *, num_layers=1, bidirectional=False,
                      reference_name="finite differences", tolerance=1e-6, tiny=TINY,
                      config=None) -> GradCheckReport:
    """A report comparing two gradient tuples ``(dx, dh0, dc0, grads_list)``.

    Both are laid out as :func:`stacked_backward` returns them; dc0 is None except for the LSTM.
    """
    D = 2 if bidirectional else 1
    dx, dh0, dc0, grads = analytic
    rx, rh0, rc0, rgrads = reference
    entries = []
    for j, ref_params in enumerate(rgrads):
        layer, direction = j // D, ("reverse" if j % D else "forward")
        missing = [k for k in ref_params if k not in grads[j]]
        if missing:
            raise ValueError(f"grads_list[{j}]: expected keys {list(ref_params)}, missing "
                             f"{missing}")
        for key in ref_params:
            name = key if (num_layers == 1 and D == 1) else f"{key} [layer {layer}, {direction}]"
            entries.append(_entry(name, key, layer, direction, grads[j][key], ref_params[key],
                                  tiny, False))
    entries.append(_entry("x", "x", None, None, dx, rx, tiny, True))
    entries.append(_entry("h0", "h0", None, None, dh0, rh0, tiny, False))
    if rc0 is not None:
        entries.append(_entry("c0", "c0", None, None, dc0, rc0, tiny, False))
    return GradCheckReport(cell, dict(config or {}), reference_name, float(tolerance), entries)


# --- finite differences of the (possibly truncated) forward pass --------------------------------

def _detached_forward(cell, x, params_list, h0, c0, L, D, activation, form, k, frozen):
    """The stacked forward pass in which the state entering step t of every run is the constant
    ``frozen[j][t]`` whenever ``t % k == 0``: what ``h = h.detach()`` every k steps computes,
    as a function whose ordinary derivative is the truncated BPTT gradient."""
    layer_input = x
    finals = []
    for layer in range(L):
        outputs = []
        for direction in range(D):
            j = layer * D + direction
            run = layer_input[::-1] if direction else layer_input
            h, c = h0[j], (None if c0 is None else c0[j])
            hs = []
            for t in range(run.shape[0]):
                if t % k == 0:
                    h, c = frozen[j][t]
                h, c, _ = step_forward(cell, run[t], h, params_list[j], c, activation, form)
                hs.append(h)
            hs = np.stack(hs)
            finals.append((h, c))
            outputs.append(hs[::-1] if direction else hs)
        layer_input = np.concatenate(outputs, axis=-1)
    h_n = np.stack([h for h, _ in finals])
    c_n = np.stack([c for _, c in finals]) if cell == "lstm" else None
    return layer_input, h_n, c_n


def _frozen_states(cache, cell):
    """For every run j and step t, a copy of the (h, c) entering step t in the nominal pass."""
    frozen = []
    for layer_cache in cache["layers"]:
        h_in = np.concatenate([layer_cache["h0"][None], layer_cache["h"][:-1]]).copy()
        if cell == "lstm":
            c_in = np.concatenate([layer_cache["c0"][None], layer_cache["c"][:-1]]).copy()
            frozen.append([(h_in[t], c_in[t]) for t in range(len(h_in))])
        else:
            frozen.append([(h_in[t], None) for t in range(len(h_in))])
    return frozen


def finite_difference_gradients(cell, x, params_list, h0, c0, d_output, dh_n=None, dc_n=None, *,
                                num_layers=1, bidirectional=False, activation="tanh",
                                form="torch", truncate=None, eps=1e-6):
    """Finite-difference gradients of ``L = sum(d_output * output) + sum(dh_n * h_n) +
    sum(dc_n * c_n)`` with respect to every parameter, x, h0 (and c0), laid out like
    :func:`stacked_backward`'s result. With ``truncate`` the states entering the cut steps are
    held at their values, so the result is the truncated gradient. The arrays are perturbed in
    place and restored."""
    L, D = num_layers, 2 if bidirectional else 1
    k = check_truncate(truncate)
    frozen = None
    if k is not None:
        _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, L, bidirectional,
                                         activation, form)
        frozen = _frozen_states(cache, cell)

    def outputs(_):
        if frozen is None:
            out, h_n, c_n, _ = stacked_forward(cell, x, params_list, h0, c0, L, bidirectional,
                                               activation, form)
        else:
            out, h_n, c_n = _detached_forward(cell, x, params_list, h0, c0, L, D, activation,
                                              form, k, frozen)
        parts = [out.ravel(), h_n.ravel()] + ([c_n.ravel()] if c_n is not None else [])
        return np.concatenate(parts)

    B, H = x.shape[1], h0.shape[-1]
    df = np.concatenate([d_output.ravel(),
                         (np.zeros((L * D, B, H)) if dh_n is None else dh_n).ravel()]
                        + ([(np.zeros((L * D, B, H)) if dc_n is None else dc_n).ravel()]
                           if cell == "lstm" else []))
    grads = [{key: numerical_gradient(outputs, p[key], eps, df) for key in p}
             for p in params_list]
    dx = numerical_gradient(outputs, x, eps, df)
    dh0 = numerical_gradient(outputs, h0, eps, df)
    dc0 = numerical_gradient(outputs, c0, eps, df) if cell == "lstm" else None
    return dx, dh0, dc0, grads


# --- autograd ----------------------------------------------------------------------------------

def _torch_step(cell, x, h, c, p, activation, form):
    """The equations of docs/conventions.md on torch tensors (autograd records them)."""
    def pre(gate):
        a = x @ p[f"W_x{gate}"].T + h @ p[f"W_h{gate}"].T
        return a + p[f"b_{gate}"] if f"b_{gate}" in p else a

    if cell == "rnn":
        f = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
        return f(pre("h")), None
    if cell == "lstm":
        i, f, o = torch.sigmoid(pre("i")), torch.sigmoid(pre("f")), torch.sigmoid(pre("o"))
        g = torch.tanh(pre("g"))
        c = cell_update(f, c, i, g)  # f * c + i * g
        return o * torch.tanh(c), c
    r, z = torch.sigmoid(pre("r")), torch.sigmoid(pre("z"))
    if form == "torch":
        hn = h @ p["W_hn"].T + (p["b_hn"] if "b_hn" in p else 0.0)
        a = x @ p["W_xn"].T + r * hn
    else:
        a = x @ p["W_xn"].T + (r * h) @ p["W_hn"].T
    n = torch.tanh(a + p["b_n"] if "b_n" in p else a)
    return (1 - z) * n + z * h, None


def _torch_stacked(cell, x, params, h0, c0, L, D, activation, form, k):
    layer_input, h_n, c_n = x, [], []
    for layer in range(L):
        outputs = []
        for direction in range(D):
            j = layer * D + direction
            run = torch.flip(layer_input, [0]) if direction else layer_input
            h, c = h0[j], (c0[j] if c0 is not None else None)
            hs = []
            for t in range(run.shape[0]):
                if k is not None and t % k == 0:  # truncated BPTT, the torch way
                    h = h.detach()
                    c = c.detach() if c is not None else None
                h, c = _torch_step(cell, run[t], h, c, params[j], activation, form)
                hs.append(h)
            hs = torch.stack(hs)
            h_n.append(h)
            c_n.append(c)
            outputs.append(torch.flip(hs, [0]) if direction else hs)
        layer_input = torch.cat(outputs, dim=-1)
    return layer_input, torch.stack(h_n), (torch.stack(c_n) if cell == "lstm" else None)


def autograd_gradients(cell, x, params_list, h0, c0, d_output, dh_n=None, dc_n=None, *,
                       num_layers=1, bidirectional=False, activation="tanh", form="torch",
                       truncate=None, backend="auto"):
    """Gradients of the linear loss of :func:`finite_difference_gradients` by torch autograd
    in float64, laid out like :func:`stacked_backward`'s result.

    ``backend="torch.nn"`` runs ``torch.nn.RNN/LSTM/GRU`` (built by :func:`torch_from_numpy`):
    an implementation independent of this package. ``"equations"`` runs a torch transcription
    of the equations with ``h.detach()`` every ``truncate`` steps; it is the only option for
    the sigmoid RNN, the seed-form GRU and truncation. ``"auto"`` picks torch.nn when it can.
    """
    validate.choice("backend", backend, ("auto", "torch.nn", "equations"))
    k = check_truncate(truncate)
    L, D = num_layers, 2 if bidirectional else 1
    nn_can = k is None and not (cell == "rnn" and activation == "sigmoid") and not (
        cell == "gru" and form == "seed")
    if backend == "auto":
        backend = "torch.nn" if nn_can else "equations"
    if backend == "torch.nn" and not nn_can:
        raise ValueError("backend: torch.nn has no sigmoid RNN, no seed-form GRU and no "
                         "truncation; expected backend='equations' or 'auto', got 'torch.nn'")
    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0, requires_grad=True)
    tc0 = torch.tensor(c0, requires_grad=True) if cell == "lstm" else None
    if backend == "torch.nn":
        bias = any(key.startswith("b_") for key in params_list[0])
        model = NumpyModel(cell, x.shape[2], h0.shape[-1], params_list, num_layers=L,
                           bidirectional=bidirectional, bias=bias, activation=activation,
                           form=form)
        module = torch_from_numpy(model)
        out, hx = module(tx, (th0, tc0) if cell == "lstm" else th0)
        h_n, c_n = hx if cell == "lstm" else (hx, None)
    else:
        tparams = [{key: torch.tensor(v, requires_grad=True) for key, v in p.items()}
                   for p in params_list]
        out, h_n, c_n = _torch_stacked(cell, tx, tparams, th0, tc0, L, D, activation, form, k)
    loss = (out * torch.tensor(d_output)).sum()
    if dh_n is not None:
        loss = loss + (h_n * torch.tensor(dh_n)).sum()
    if dc_n is not None and c_n is not None:
        loss = loss + (c_n * torch.tensor(dc_n)).sum()
    loss.backward()

    def grad(t):
        return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy().copy()

    if backend == "torch.nn":
        grads = numpy_grads_from_torch(module)
    else:
        grads = [{key: grad(v) for key, v in p.items()} for p in tparams]
    return grad(tx), grad(th0), (grad(tc0) if tc0 is not None else None), grads


# --- the one-call check ------------------------------------------------------------------------

def random_stacked_problem(cell, *, I, H, T, B, num_layers=1, bidirectional=False, seed=0,
                           bias=True, form="torch"):
    """Random weights, inputs, initial states and upstream gradients for a stacked model.

    Returns ``(params_list, x, h0, c0, d_output, dh_n, dc_n)`` drawn from ``seed``; ``c0`` and
    ``dc_n`` are None unless ``cell == "lstm"``. Initial states are scaled by 0.5 so that tanh
    is not saturated from the first step.
    """
    L, D = num_layers, 2 if bidirectional else 1
    rng = np.random.default_rng(seed)
    params_list = init_stacked_params(cell, I, H, rng, L, bidirectional, bias, form)
    x = rng.standard_normal((T, B, I))
    h0 = 0.5 * rng.standard_normal((L * D, B, H))
    c0 = 0.5 * rng.standard_normal((L * D, B, H)) if cell == "lstm" else None
    d_output = rng.standard_normal((T, B, D * H))
    dh_n = rng.standard_normal((L * D, B, H))
    dc_n = rng.standard_normal((L * D, B, H)) if cell == "lstm" else None
    return params_list, x, h0, c0, d_output, dh_n, dc_n


def gradient_check(cell, *, input_size=3, hidden_size=4, seq_len=5, batch=2, seed=0,
                   num_layers=1, bidirectional=False, activation="tanh", form="torch",
                   bias=True, truncate=None, reference="finite differences", eps=1e-6,
                   tolerance=None, tiny=None, backward=None) -> GradCheckReport:
    """Check BPTT on a random model against finite differences (or autograd).

    Draws (from ``seed``) a stacked model of ``cell`` with torch's initialisation, an input
    x (T, B, I), initial states h0 (and c0) (L*D, B, H), and a random linear loss
    ``L = sum(w * output) + sum(w_h * h_n) (+ sum(w_c * c_n))``; computes the gradient of L with
    respect to every parameter, x, h0 (and c0) by ``backward`` (default
    :func:`stacked_backward`) and compares every entry with the reference.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``; sizes, ``num_layers``, ``bidirectional``,
            ``activation`` (RNN), ``form`` (GRU), ``bias``: the model.
        truncate: None, or k for truncated BPTT (the reference then holds the states entering
            the cut steps constant, which is what ``detach`` does).
        reference: ``"finite differences"`` (default) or ``"autograd"`` (torch float64).
        eps: finite-difference step. tolerance: largest relative error that passes (default
            1e-6 against finite differences, 1e-8 against autograd). tiny: floor of the
            relative error's denominator ``max(|a| + |n|, tiny)`` (default ``TINY_FD`` = 1e-2
            against finite differences, whose absolute rounding noise is about 1e-9, and
            ``TINY`` = 1e-12 against autograd); it is part of the report's config.
        backward: a function with :func:`stacked_backward`'s signature, called as
            ``backward(d_output, cache, dh_n=..., dc_n=..., truncate=...)``: check your own.

    Returns:
        A :class:`GradCheckReport` (``print`` it, or display it in a notebook). Where it fails
        (one layer, one direction, no truncation), each step's own contribution is checked too:
        the report then gives every failing array's error per time step and names the step and
        gate where the error enters (:mod:`rnncourse.gradcheck_steps`).
    """
    validate.choice("cell", cell, CELLS)
    validate.choice("activation", activation, ACTIVATIONS)
    validate.choice("form", form, ("torch", "seed"))
    validate.choice("reference", reference, REFERENCES)
    I = validate.positive_int("input_size", input_size)
    H = validate.positive_int("hidden_size", hidden_size)
    T = validate.positive_int("seq_len", seq_len)
    B = validate.positive_int("batch", batch)
    L = validate.positive_int("num_layers", num_layers)
    check_truncate(truncate)
    if tolerance is None:
        tolerance = 1e-6 if reference == "finite differences" else 1e-8
    if tiny is None:
        tiny = TINY_FD if reference == "finite differences" else TINY
    tiny = validate.positive_float("tiny", tiny)
    tolerance = validate.positive_float("tolerance", tolerance)
    if backward is None:
        backward = stacked_backward
    elif not callable(backward):
        raise TypeError(f"backward: expected a function like stacked_backward, got "
                        f"{type(backward).__name__}")

    params_list, x, h0, c0, d_output, dh_n, dc_n = random_stacked_problem(
        cell, I=I, H=H, T=T, B=B, num_layers=L, bidirectional=bidirectional, seed=seed,
        bias=bias, form=form)
    kw = dict(num_layers=L, bidirectional=bidirectional, activation=activation, form=form,
              truncate=truncate)

    _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, L, bidirectional,
                                     activation, form)
    analytic = backward(d_output, cache, dh_n=dh_n, dc_n=dc_n, truncate=truncate)
    if not (isinstance(analytic, tuple) and len(analytic) == 4):
        raise TypeError("backward: expected it to return (dx, dh0, dc0, grads_list), got "
                        f"{type(analytic).__name__}")
    if reference == "finite differences":
        ref = finite_difference_gradients(cell, x, params_list, h0, c0, d_output, dh_n, dc_n,
                                          eps=eps, **kw)
    else:
        ref = autograd_gradients(cell, x, params_list, h0, c0, d_output, dh_n, dc_n, **kw)

    config = dict(I=I, H=H, T=T, B=B)
    if L > 1:
        config["num_layers"] = L
    if bidirectional:
        config["bidirectional"] = True
    if cell == "rnn":
        config["activation"] = activation
    if cell == "gru":
        config["form"] = form
    if not bias:
        config["bias"] = False
    if truncate is not None:
        config["truncate"] = truncate
    config["tiny"] = tiny
    report = compare_gradients(cell, analytic, ref, num_layers=L, bidirectional=bidirectional,
                               reference_name=reference, tolerance=tolerance, tiny=tiny,
                               config=config)
    if not report.passed and L == 1 and not bidirectional and truncate is None:
        from rnncourse.gradcheck_steps import step_breakdown  # it imports this module

        report.steps = step_breakdown(cell, x, params_list, h0, c0, d_output, dh_n, dc_n,
                                      backward, activation=activation, form=form,
                                      tolerance=tolerance, tiny=tiny)
        for e in report.entries:
            e.step_errors = report.steps.errors.get(e.array)
    return report
