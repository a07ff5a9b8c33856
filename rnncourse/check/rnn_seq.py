"""Exercises ``rnn_forward`` and ``rnn_backward`` (lesson 2): the RNN over a sequence, and
backpropagation through time.

The references are :func:`rnncourse.np_rnn.rnn_forward` and :func:`rnncourse.np_rnn.rnn_backward`
(on the cache of ``rnn_forward``); the catalogues' wrong variants are loops over the reference's
step functions with one classic slip each.
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_rnn import rnn_backward as reference_backward
from rnncourse.np_rnn import rnn_forward as reference_forward
from rnncourse.np_rnn import rnn_step_backward as reference_step_backward
from rnncourse.np_rnn import rnn_step_forward

from ._engine import Case, Exercise, Mistake
from ._shared import (
    SCALE,
    SEQ_SIZES,
    dims_table,
    random_params,
    step_fit,
    transposed,
    unpack_tuple,
    zero_biases,
)
from ._spec import Spec

KEYS = ("W_xh", "W_hh", "b_h")


def _cases(options):
    cases = []
    for seed, (T, B, I, H) in enumerate(SEQ_SIZES):
        rng = np.random.default_rng([seed, 2])
        d = {"x": rng.normal(0.0, 1.0, (T, B, I)), "h0": rng.normal(0.0, SCALE, (B, H)),
             "params": random_params(rng, "h", I, H), "dh": rng.normal(0.0, 1.0, (T, B, H))}
        _, cache = reference_forward(d["x"], d["h0"], d["params"], "tanh")
        steps, h = [], d["h0"]
        for t in range(T):  # the step caches, for the mistake catalogue
            h, step_cache = rnn_step_forward(d["x"][t], h, d["params"], "tanh", check=False)
            steps.append(step_cache)
        d["cache"], d["steps"] = cache, steps
        cases.append(Case((d["dh"], cache), ("dh", "cache"), {"T": T, "B": B, "I": I, "H": H},
                          d))
    return cases


# --- rnn_forward ---------------------------------------------------------------------------------

def _forward_cases(options):
    return [Case((c.data["x"], c.data["h0"], c.data["params"], "tanh"),
                 ("x", "h0", "params", "activation"), c.sizes, c.data) for c in _cases(options)]


def _forward_reference(case):
    h, _ = reference_forward(case.data["x"], case.data["h0"], case.data["params"], "tanh")
    return {"h": h}


def _loop(d, mistake=None, params=None):
    """A WRONG sequence loop over the reference step (``mistake`` names the slip)."""
    p = d["params"] if params is None else params
    x, h = d["x"], d["h0"]
    hs = []
    for t in range(x.shape[0]):
        start = d["h0"] if mistake == "no_carry" else h
        h, _ = rnn_step_forward(x[0] if mistake == "x0_always" else x[t], start, p, "tanh",
                                check=False)
        hs.append(h)
    if mistake == "h0_first":  # the states h_0..h_{T-1}: h0 stored, the last one dropped
        hs = [d["h0"]] + hs[:-1]
    return {"h": np.stack(hs)}


def forward_mistakes():
    return [
        Mistake("no_carry", "Every step starts from h0: the state must be carried, "
                "`h = step(x[t], h, ...)`, so that step t reads h_{t-1}.",
                lambda d: _loop(d, "no_carry")),
        Mistake("x0_always", "Every step reads x[0]: step t reads `x[t]`.",
                lambda d: _loop(d, "x0_always")),
        Mistake("h0_first", "Off-by-one over time: h[t] must be the state *after* reading x[t] "
                "(h_1..h_T); yours starts with h0 and drops the last state.",
                lambda d: _loop(d, "h0_first")),
        Mistake("transposed_W_hh", "The recurrent weight is used without its transpose: "
                "`h @ W_hh.T` (a square matrix fits either way, so numpy does not complain).",
                lambda d: _loop(d, params=transposed(d["params"], "W_hh"))),
        Mistake("transposed_W_xh", "The input weight is used without its transpose: "
                "`x[t] @ W_xh.T`.", lambda d: _loop(d, params=transposed(d["params"], "W_xh"))),
        Mistake("missing_bias", "You forgot the bias b_h in the step.",
                lambda d: _loop(d, params=zero_biases(d["params"]))),
    ]


def forward_exercise(options):
    return Exercise(
        name="rnn_forward",
        call="f(x, h0, params, activation) -> (h, cache)",
        make_cases=_forward_cases,
        reference=_forward_reference,
        unpack=lambda r, c: unpack_tuple(r, ("h", "cache")),
        output_dims=dims_table({"h": ("T", "B", "H")}),
        input_dims={"x": ("T", "B", "I"), "h0": ("B", "H")},
        mistakes=forward_mistakes(),
    )


FORWARD = Spec(
    name="rnn_forward",
    lesson="02_core_operations",
    exercise=forward_exercise,
    solution=reference_forward,
    signature='x, h0, params, activation="tanh"',
    doc=("The RNN over a sequence: h_t = f(x[t] @ W_xh.T + h_{t-1} @ W_hh.T + b_h).\n\n"
         "    x (T, B, I), h0 (B, H).\n"
         "    Return (h, cache): h (T, B, H) the states after each step (h[t] after reading "
         "x[t]), cache what the backward pass needs (e.g. the step caches)."),
    summary="Check the sequence loop ``fn(x, h0, params, activation) -> (h, cache)``.",
)


# --- rnn_backward --------------------------------------------------------------------------------

def _reference(case):
    d = case.data
    dx, dh0, grads = reference_backward(d["dh"], d["cache"])
    return {"dx": dx, "dh0": dh0, **{"d" + k: v for k, v in grads.items()}}


def _variant(d, mistake):
    """A WRONG backpropagation through time, built from the reference step backward."""
    dh, steps = d["dh"], d["steps"]
    T, B, H = dh.shape
    dx = np.zeros(d["x"].shape)
    grads, per_step = {}, {}
    carry = np.zeros((B, H))
    order = list(reversed(range(T)))
    if mistake == "skip_last":
        order = order[1:]
    elif mistake == "skip_first":
        order = order[:-1]
    zero = np.zeros((B, H))
    for t in order:
        direct = dh[t]
        if mistake == "carry_only" and t != T - 1:
            direct = zero
        elif mistake == "dh_shift_later":
            direct = dh[t + 1] if t + 1 < T else zero
        elif mistake == "dh_shift_earlier":
            direct = dh[t - 1] if t > 0 else zero
        elif mistake == "dh_shift_earlier_wrap":  # dh[t-1] as written: dh[-1] at t = 0
            direct = dh[t - 1]
        total = direct if mistake == "no_carry" else direct + carry
        dx[t], carry, step_grads = reference_step_backward(total, steps[t])
        per_step[t] = step_grads
        for key, value in step_grads.items():
            grads[key] = grads.get(key, 0) + value
    if mistake == "overwrite_grads":  # the last step the loop visited: t = 0
        grads = per_step[order[-1]]
    elif mistake == "keep_first_visited":  # only t = T-1
        grads = per_step[order[0]]
    if mistake == "dx_reversed":
        dx = dx[::-1]
    out = {"dx": dx, "dh0": carry}
    out.update({"d" + k: v for k, v in grads.items()})
    return out


ACCUMULATE = ("The weight gradients are not accumulated over time: W_xh, W_hh and b_h are shared "
              "by all steps, so each gradient is the sum of every step's contribution "
              "(`grads[k] += step_grads[k]`); yours hold only the contribution of step {t} ")


def mistakes():
    def v(name):
        return lambda d: _variant(d, name)

    return [
        Mistake("overwrite_grads", ACCUMULATE.format(t="t = 0") + "(the last one your loop "
                "visited: each step overwrote the previous ones).", v("overwrite_grads")),
        Mistake("keep_first_visited", ACCUMULATE.format(t="t = T-1") + "(the first one your "
                "loop visited).", v("keep_first_visited")),
        Mistake("no_carry", "The gradient from later steps is not carried back: the total "
                "gradient at h_t is `dh[t] + dh_carry`, where dh_carry is the dh_prev returned by "
                "step t+1.", v("no_carry")),
        Mistake("carry_only", "Only dh[T-1] enters your backward pass: dh[t] is the loss's direct "
                "gradient at every step; add it at each step t (`dh[t] + dh_carry`).",
                v("carry_only")),
        Mistake("skip_last", "Off-by-one over time: your loop skips the last step t = T-1 "
                "(`range(T - 1)` stops one early); loop over `reversed(range(T))`.",
                v("skip_last")),
        Mistake("skip_first", "Off-by-one over time: your loop stops before t = 0 (e.g. "
                "`range(T - 1, 0, -1)`); step 0 must run too, and dh0 is what it sends back.",
                v("skip_first")),
        Mistake("dh_shift_later", "Off-by-one over time: step t's cache is paired with dh[t+1]; "
                "use dh[t] with `cache['steps'][t]`.", v("dh_shift_later")),
        Mistake("dh_shift_earlier", "Off-by-one over time: step t's cache is paired with "
                "dh[t-1]; use dh[t] with `cache['steps'][t]`.", v("dh_shift_earlier")),
        Mistake("dh_shift_earlier_wrap", "Off-by-one over time: step t's cache is paired with "
                "`dh[t-1]`, which at t = 0 is `dh[-1]`, numpy's last step T-1 (negative indices "
                "wrap around, so nothing fails); use dh[t] with `cache['steps'][t]`.",
                v("dh_shift_earlier_wrap")),
        Mistake("dx_reversed", "dx is in reverse time order: you collected it while looping "
                "backwards; reverse it (`dxs[::-1]`) or write `dx[t] = ...`.", v("dx_reversed")),
    ]


def _step_contributions(d):
    """Each step's own contribution to every weight gradient, in the right backward pass."""
    dh, steps = d["dh"], d["steps"]
    carry = np.zeros_like(dh[0])
    contributions = [None] * dh.shape[0]
    for t in reversed(range(dh.shape[0])):
        _, carry, step_grads = reference_step_backward(dh[t] + carry, steps[t])
        contributions[t] = {"d" + k: v for k, v in step_grads.items()}
    return contributions


def localise(case, call):
    """Which steps' contributions the learner's weight gradients hold (:func:`step_fit`)."""
    return step_fit(call(case.args), _step_contributions(case.data))


COURSE_CACHE = ("The check hands your function the course's cache from `rnn_forward`: a dict "
                "whose `cache['steps'][t]` is step t's cache (`rnn_step_forward`'s dict with the "
                "keys x, h_prev, h_next, params, activation), so "
                "`rnn_step_backward(dh_t, cache['steps'][t])` is the step backward.")


def exercise(options):
    return Exercise(
        name="rnn_backward",
        call="f(dh, cache) -> (dx, dh0, grads)",
        make_cases=_cases,
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh0", "grads"), KEYS),
        output_dims=dims_table({"dx": ("T", "B", "I"), "dh0": ("B", "H")}),
        input_dims={"dh": ("T", "B", "H")},
        mistakes=mistakes(),
        error_note=COURSE_CACHE,
        localise=localise,
    )


BACKWARD = Spec(
    name="rnn_backward",
    lesson="02_core_operations",
    exercise=exercise,
    solution=reference_backward,
    signature="dh, cache",
    doc=("Backpropagation through time.\n\n"
         "    dh (T, B, H): the loss's direct gradient at every h_t; cache from rnn_forward.\n"
         "    Return (dx, dh0, grads): dx (T, B, I), dh0 (B, H), grads summed over time."),
    summary=("Check full BPTT ``fn(dh, cache) -> (dx, dh0, grads)``, ``cache`` from the course's "
             "``rnn_forward`` (its ``cache[\"steps\"][t]`` are the step caches)."),
)


# --- truncated BPTT ------------------------------------------------------------------------------

TRUNCATE = [2, 1, 2, 3]  # k for each case of SEQ_SIZES (the T = 1 case: k = 1)


def _truncated_cases(options):
    cases = []
    for c, k in zip(_cases(options), TRUNCATE):
        c.data["k"] = k
        cases.append(Case((c.data["dh"], c.data["cache"], k), ("dh", "cache", "k"),
                          {**c.sizes, "k": k}, c.data))
    return cases


def _truncated_reference(case):
    d = case.data
    dx, dh0, grads = reference_backward(d["dh"], d["cache"], truncate=d["k"])
    return {"dx": dx, "dh0": dh0, **{"d" + key: v for key, v in grads.items()}}


def _truncated_variant(d, mistake):
    """A WRONG truncated BPTT: the cut in the wrong place (``mistake``)."""
    dh, steps, k = d["dh"], d["steps"], d["k"]
    carry = np.zeros_like(dh[0])
    dx, grads = np.zeros(d["x"].shape), {}
    for t in reversed(range(dh.shape[0])):
        if mistake == "cut_late" and t % k == 0:
            carry = np.zeros_like(carry)  # cut between t and t+1
        dx[t], carry, step_grads = reference_step_backward(dh[t] + carry, steps[t])
        for key, value in step_grads.items():
            grads[key] = grads.get(key, 0) + value
        if mistake == "dh0_kept" and t % k == 0 and t > 0:
            carry = np.zeros_like(carry)
    return {"dx": dx, "dh0": carry, **{"d" + key: v for key, v in grads.items()}}


def truncated_mistakes():
    def v(name):
        return lambda d: _truncated_variant(d, name)

    return [
        Mistake("dh0_kept", "t = 0 counts too (0 % k == 0): with truncation the chain is cut "
                "before step 0 as well, so dh0 is zero; yours carries a gradient into h0.",
                v("dh0_kept")),
        Mistake("cut_late", "The cut is one step off: when t % k == 0 the gradient is cut "
                "between step t-1 and step t, i.e. zero the carry *after* step t's backward "
                "(what `h = h.detach()` before step t does), not before it (nor after step t "
                "when `(t + 1) % k == 0`).", v("cut_late")),
        Mistake("no_cut", "Nothing was cut: with truncation every k steps the carried gradient "
                "is set to zero after step t's backward whenever `t % k == 0`.",
                lambda d: _truncated_variant(d, "none")),
    ]


def truncated_exercise(options):
    return Exercise(
        name="rnn_backward_truncated",
        call="f(dh, cache, k) -> (dx, dh0, grads)",
        make_cases=_truncated_cases,
        reference=_truncated_reference,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh0", "grads"), KEYS),
        output_dims=dims_table({"dx": ("T", "B", "I"), "dh0": ("B", "H")}),
        input_dims={"dh": ("T", "B", "H")},
        mistakes=truncated_mistakes(),
        error_note=COURSE_CACHE,
    )


TRUNCATED = Spec(
    name="rnn_backward_truncated",
    lesson="02_core_operations",
    exercise=truncated_exercise,
    solution=reference_backward,
    signature="dh, cache, k",
    doc=("Truncated BPTT over k steps: the gradient is cut between step t-1 and step t whenever "
         "t % k == 0 (t counted from 0), as `h = h.detach()` every k steps.\n\n"
         "    dh (T, B, H), cache from rnn_forward, k >= 1.\n"
         "    Return (dx, dh0, grads)."),
    summary="Check truncated BPTT ``fn(dh, cache, k) -> (dx, dh0, grads)`` (cut where t % k == 0).",
)
