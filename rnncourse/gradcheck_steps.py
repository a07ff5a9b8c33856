"""Where a wrong BPTT gradient enters: each time step's own contribution, checked alone.

A weight is shared by all steps, so its gradient is a sum over t of step t's contribution, and
an error made at one step t0 also reaches every earlier step through the gradient carried back
(dh_prev, dc_prev). The total gradient therefore shows the error smeared over all gates and
steps up to t0, and its worst entry may sit anywhere. To find where the error *enters*, check
each step alone:

1. the gradient arriving at step t's output from the right answer: ``dL/dh_t`` (and
   ``dL/dc_t``), by torch autograd in float64 on the rest of the sequence (steps t+1..T-1,
   started from the nominal state);
2. the backward under test on the prefix ``x[:t+1]``, with that gradient placed on its final
   state, no other loss, and the chain cut just before step t (``truncate=t``, what
   ``h.detach()`` does): it returns step t's contribution alone;
3. the same contribution by autograd, compared entry by entry.

Backward passes are linear in the gradient they receive, so a slip at step t0 shows in step
t0's contribution and in no other. Where every contribution is right but the totals are not,
the slip is in what one step carries back to the previous: the smallest uncut prefix whose
gradient is wrong names that step. Single-layer, unidirectional runs without truncation.
(``gradcheck`` imports this module when a check fails, not at its top: this one imports
``gradcheck``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnncourse.gradcheck import autograd_gradients, relative_error
from rnncourse.np_layers import stacked_forward

__all__ = ["StepBreakdown", "step_breakdown"]


@dataclass
class StepBreakdown:
    """Per array (``"x"`` or a parameter key), the largest relative error of each step's own
    contribution (``errors[name][t]``); ``enters`` the latest step whose contribution is wrong
    (the first a backward pass visits) and ``arrays`` the arrays wrong there; or, when every
    contribution is right, ``carry`` the step whose gradient carried back to step ``carry - 1``
    is wrong. ``note`` says why a breakdown could not be made."""

    errors: dict = field(default_factory=dict)
    enters: int | None = None
    arrays: list = field(default_factory=list)
    carry: int | None = None
    note: str = ""


def _reference(cell, x, params_list, h0, c0, d_output, dh_n, dc_n, activation, form, truncate):
    return autograd_gradients(cell, x, params_list, h0, c0, d_output, dh_n, dc_n,
                              activation=activation, form=form, truncate=truncate,
                              backend="equations")


def _arriving(cell, x, params_list, states, d_output, dh_n, dc_n, activation, form):
    """``dL/dh_t`` and ``dL/dc_t`` (None but for the LSTM) for every t: the direct gradient plus
    what the right backward pass carries back from the rest of the sequence."""
    T = x.shape[0]
    h, c = states
    arriving = []
    for t in range(T):
        if t == T - 1:
            dh_t = d_output[t] + (0.0 if dh_n is None else dh_n[0])
            dc_t = None if c is None else (np.zeros_like(h[t]) if dc_n is None else dc_n[0])
        else:
            _, dh0, dc0, _ = _reference(cell, x[t + 1:], params_list, h[t][None],
                                        None if c is None else c[t][None], d_output[t + 1:],
                                        dh_n, dc_n, activation, form, None)
            dh_t = d_output[t] + dh0[0]
            dc_t = None if c is None else dc0[0]
        arriving.append((dh_t, dc_t))
    return arriving


def _errors(got, want, tiny, t):
    errors = {"x": float(relative_error(got[0][t], want[0][t], tiny).max(initial=0.0))}
    for key, value in want[3][0].items():
        errors[key] = float(relative_error(got[3][0][key], value, tiny).max(initial=0.0))
    return errors


def step_breakdown(cell, x, params_list, h0, c0, d_output, dh_n, dc_n, backward, *,
                   activation="tanh", form="torch", tolerance=1e-6, tiny=1e-12) -> StepBreakdown:
    """Check each step's contribution of ``backward`` (``stacked_backward``'s signature) alone;
    see the module docstring. ``h0``, ``c0``, ``dh_n``, ``dc_n`` are (1, B, H) or None."""
    T, B, _ = x.shape
    H = h0.shape[-1]
    _, _, _, cache = stacked_forward(cell, x, params_list, h0, c0, 1, False, activation, form)
    layer = cache["layers"][0]
    states = (layer["h"], layer["c"] if cell == "lstm" else None)
    arriving = _arriving(cell, x, params_list, states, d_output, dh_n, dc_n, activation, form)
    out = StepBreakdown(errors={})
    prefixes = []
    for t in range(T):
        dh_t, dc_t = arriving[t]
        px, zeros = x[:t + 1], np.zeros((t + 1, B, H))
        up_h, up_c = dh_t[None], (None if dc_t is None else dc_t[None])
        _, _, _, prefix_cache = stacked_forward(cell, px, params_list, h0, c0, 1, False,
                                                activation, form)
        prefixes.append((px, zeros, up_h, up_c, prefix_cache))
        cut = t if t > 0 else None
        want = _reference(cell, px, params_list, h0, c0, zeros, up_h, up_c, activation, form,
                          cut)
        try:
            got = backward(zeros, prefix_cache, dh_n=up_h, dc_n=up_c, truncate=cut)
            errors = _errors(got, want, tiny, t)
        except Exception as exc:  # e.g. a backward without truncation
            return StepBreakdown(note=f"no per-step breakdown: the backward raised "
                                      f"{type(exc).__name__} on a prefix with truncate={cut}")
        for name, value in errors.items():
            out.errors.setdefault(name, []).append(value)
    wrong_at = [t for t in range(T) if any(out.errors[n][t] > tolerance for n in out.errors)]
    if wrong_at:
        out.enters = wrong_at[-1]
        out.arrays = [n for n in out.errors if out.errors[n][out.enters] > tolerance]
        return out
    for t in range(1, T):  # every step right alone: which step carries a wrong gradient back?
        px, zeros, up_h, up_c, prefix_cache = prefixes[t]
        want = _reference(cell, px, params_list, h0, c0, zeros, up_h, up_c, activation, form,
                          None)
        got = backward(zeros, prefix_cache, dh_n=up_h, dc_n=up_c, truncate=None)
        # A wrong carry from step t into step t-1 makes the steps before t wrong: dx, weights.
        parts = [(got[0], want[0])] + [(got[3][0][k], v) for k, v in want[3][0].items()]
        if max(float(relative_error(a, b, tiny).max(initial=0.0)) for a, b in parts) \
                > tolerance:
            out.carry = t
            break
    return out
