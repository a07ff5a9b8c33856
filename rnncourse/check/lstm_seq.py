"""Exercise ``lstm_backward`` (lesson 3): backpropagation through time for the LSTM over a
sequence, with the cell-state gradient carried back alongside the hidden-state one.

The reference is :func:`rnncourse.np_lstm.lstm_backward` on the cache of
:func:`rnncourse.np_lstm.lstm_forward`; the catalogue's wrong variants are loops over the
reference's step backward (:func:`rnncourse.np_lstm.lstm_step_backward`) with one classic slip
each.
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_lstm import lstm_backward as reference_backward
from rnncourse.np_lstm import lstm_forward as reference_forward
from rnncourse.np_lstm import lstm_step_backward as reference_step_backward

from ._engine import Case, Exercise, Mistake
from ._shared import SCALE, SEQ_SIZES, dims_table, random_params, step_fit, unpack_tuple
from ._spec import Spec

KEYS = tuple(f"{kind}{gate}" for gate in "ifgo" for kind in ("W_x", "W_h", "b_"))


def _step_caches(cache):
    """Step t's cache as ``lstm_step_forward`` makes it, read off the sequence cache."""
    x, h, c, gates = cache["x"], cache["h"], cache["c"], cache["gates"]
    steps = []
    for t in range(x.shape[0]):
        steps.append({"x": x[t], "h_prev": h[t - 1] if t else cache["h0"],
                      "c_prev": c[t - 1] if t else cache["c0"],
                      **{k: gates[k][t] for k in "ifgo"}, "c_next": c[t],
                      "tanh_c": cache["tanh_c"][t], "params": cache["params"]})
    return steps


def _cases(options):
    cases = []
    for seed, (T, B, I, H) in enumerate(SEQ_SIZES):
        rng = np.random.default_rng([seed, 11])
        x = rng.normal(0.0, 1.0, (T, B, I))
        h0, c0 = rng.normal(0.0, SCALE, (B, H)), rng.normal(0.0, 1.0, (B, H))
        params = random_params(rng, "ifgo", I, H)
        dh = rng.normal(0.0, 1.0, (T, B, H))
        _, _, cache = reference_forward(x, h0, c0, params)
        d = {"x": x, "h0": h0, "c0": c0, "params": params, "dh": dh, "cache": cache,
             "steps": _step_caches(cache)}
        cases.append(Case((dh, cache), ("dh", "cache"), {"T": T, "B": B, "I": I, "H": H}, d))
    return cases


def _outputs(dx, dh0, dc0, grads):
    return {"dx": dx, "dh0": dh0, "dc0": dc0, **{"d" + k: v for k, v in grads.items()}}


def _reference(case):
    d = case.data
    return _outputs(*reference_backward(d["dh"], d["cache"]))


def _variant(d, mistake):
    """A WRONG LSTM BPTT, built from the reference step backward (``mistake`` the slip)."""
    dh, steps = d["dh"], d["steps"]
    T, B, H = dh.shape
    zero = np.zeros((B, H))
    dx = np.zeros(d["x"].shape)
    dh_carry, dc_carry = zero, zero
    grads, per_step = {}, {}
    order = list(reversed(range(T)))
    if mistake == "skip_last":
        order = order[1:]
    elif mistake == "skip_first":
        order = order[:-1]
    for t in order:
        direct = dh[t]
        if mistake == "carry_only" and t != T - 1:
            direct = zero
        elif mistake == "dh_shift_earlier_wrap":  # dh[t-1] as written: dh[-1] at t = 0
            direct = dh[t - 1]
        total = direct if mistake == "no_dh_carry" else direct + dh_carry
        dc_in = zero if mistake == "no_dc_carry" else dc_carry
        step = steps[t]
        if t == 0 and mistake == "c_prev_wrap":  # c[t-1] as written: c[-1] at t = 0
            step = {**step, "c_prev": d["cache"]["c"][-1]}
        elif t == 0 and mistake == "h_prev_wrap":
            step = {**step, "h_prev": d["cache"]["h"][-1]}
        dx[t], dh_carry, dc_carry, step_grads = reference_step_backward(total, dc_in, step)
        if mistake == "dc_carry_without_f":
            dc_carry = dc_carry / step["f"]
        per_step[t] = step_grads
        for key, value in step_grads.items():
            grads[key] = grads.get(key, 0) + value
    if mistake == "overwrite_grads":  # the last step the loop visited: t = 0
        grads = per_step[order[-1]]
    elif mistake == "keep_first_visited":  # only t = T-1
        grads = per_step[order[0]]
    if mistake == "dx_reversed":
        dx = dx[::-1]
    return _outputs(dx, dh_carry, dc_carry, grads)


ACCUMULATE = ("The weight gradients are not accumulated over time: every gate's W_xk, W_hk and "
              "b_k are shared by all steps, so each gradient is the sum of every step's "
              "contribution (`grads[k] += step_grads[k]`); yours hold only step {t} ")


def mistakes():
    def v(name):
        return lambda d: _variant(d, name)

    return [
        Mistake("no_dc_carry", "The cell-state gradient is not carried back: step t's "
                "`dc_next` is the `dc_prev` that step t+1 returned (zero only at t = T-1); "
                "you started every step from zero. The cell state is the LSTM's long path "
                "back, so its gradient must travel too.", v("no_dc_carry")),
        Mistake("no_dh_carry", "The hidden-state gradient from later steps is not carried "
                "back: the gradient reaching h_t is `dh[t] + dh_carry`, where dh_carry is the "
                "dh_prev returned by step t+1.", v("no_dh_carry")),
        Mistake("dc_carry_without_f", "c_t = f_t * c_{t-1} + i_t * g_t, so the cell-state "
                "gradient carried to step t-1 is `dc * f_t`: the forget gate scales it (the "
                "step backward's dc_prev already does).", v("dc_carry_without_f")),
        Mistake("c_prev_wrap", "At t = 0 the previous cell state is c0, not `c[t-1]`: at t = 0 "
                "that is `c[-1]`, numpy's last step T-1 (negative indices wrap around, so "
                "nothing fails). Use `c[t-1] if t > 0 else cache['c0']`; the forget gate's "
                "gradient df = dc * c_prev shows it.", v("c_prev_wrap")),
        Mistake("h_prev_wrap", "At t = 0 the previous hidden state is h0, not `h[t-1]`: at "
                "t = 0 that is `h[-1]`, numpy's last step T-1 (negative indices wrap around). "
                "Use `h[t-1] if t > 0 else cache['h0']`; the recurrent weight gradients "
                "`da.T @ h_prev` show it.", v("h_prev_wrap")),
        Mistake("overwrite_grads", ACCUMULATE.format(t="t = 0") + "(the last one your loop "
                "visited: each step overwrote the previous ones).", v("overwrite_grads")),
        Mistake("keep_first_visited", ACCUMULATE.format(t="t = T-1") + "(the first one your "
                "loop visited).", v("keep_first_visited")),
        Mistake("carry_only", "Only dh[T-1] enters your backward pass: dh[t] is the loss's "
                "direct gradient at every step; add it at each step t (`dh[t] + dh_carry`).",
                v("carry_only")),
        Mistake("skip_last", "Off-by-one over time: your loop skips the last step t = T-1; "
                "loop over `reversed(range(T))`.", v("skip_last")),
        Mistake("skip_first", "Off-by-one over time: your loop stops before t = 0; step 0 "
                "must run too, and dh0 and dc0 are what it sends back.", v("skip_first")),
        Mistake("dh_shift_earlier_wrap", "Off-by-one over time: step t is paired with "
                "`dh[t-1]`, which at t = 0 is `dh[-1]` (negative indices wrap around); use "
                "dh[t] with step t.", v("dh_shift_earlier_wrap")),
        Mistake("dx_reversed", "dx is in reverse time order: you collected it while looping "
                "backwards; reverse it (`dxs[::-1]`) or write `dx[t] = ...`.", v("dx_reversed")),
    ]


def _step_contributions(d):
    """Each step's own contribution to every weight gradient, in the right backward pass."""
    dh, steps = d["dh"], d["steps"]
    dh_carry = dc_carry = np.zeros_like(dh[0])
    contributions = [None] * dh.shape[0]
    for t in reversed(range(dh.shape[0])):
        _, dh_carry, dc_carry, step_grads = reference_step_backward(dh[t] + dh_carry, dc_carry,
                                                                    steps[t])
        contributions[t] = {"d" + k: v for k, v in step_grads.items()}
    return contributions


def _one_step_lines(case, call):
    """Run the learner's function on the first step alone (T = 1): right there means the error
    is in what is carried between steps; wrong there, name the gates whose weight gradients
    are off."""
    d = case.data
    if "_one_step" not in d:  # built once per case (a learner re-runs a check many times)
        _, _, cache = reference_forward(d["x"][:1], d["h0"], d["c0"], d["params"])
        d["_one_step"] = (d["dh"][:1], cache, _outputs(*reference_backward(d["dh"][:1], cache)))
    dh, cache, want = d["_one_step"]
    got = call((dh, cache))
    if not got:
        return []
    if any(k not in got or got[k].shape != want[k].shape for k in want):
        return []
    off = [k for k in want if not np.allclose(got[k], want[k], rtol=1e-5, atol=1e-7)]
    if not off:
        return ["On the first step alone (T = 1) your function is right: the error is in what "
                "is carried from step to step (dh and dc between steps, or the loop's "
                "indices)."]
    wrong = [g for g in "ifgo" if any(f"d{k}{g}" in off for k in ("W_x", "W_h", "b_"))]
    right = [g for g in "ifgo" if g not in wrong]
    line = f"On the first step alone (T = 1), {_names_of(off)} {'is' if len(off) == 1 else 'are'}" \
           " already wrong"
    if wrong and right:
        line += (f": the weight gradients of gate{'s' if len(wrong) > 1 else ''} "
                 f"{', '.join(wrong)} are wrong, those of {', '.join(right)} right; look at "
                 f"d(pre-activation) of {'those gates' if len(wrong) > 1 else 'that gate'}")
    return [line + "."]


def _names_of(keys):
    keys = list(keys)
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def localise(case, call):
    """Which gates are off on one step, and which steps' contributions the gradients hold."""
    d = case.data
    if "_contributions" not in d:
        d["_contributions"] = _step_contributions(d)
    return _one_step_lines(case, call) + step_fit(call(case.args), d["_contributions"])


COURSE_CACHE = ("The check hands your function the course's cache from `lstm_forward`: a dict "
                "with x (T, B, I), h0 and c0 (B, H), h, c and tanh_c (T, B, H), gates (a dict "
                "of i, f, g, o, each (T, B, H), after their nonlinearities) and params. Step t's "
                "previous states are h[t-1], c[t-1] for t > 0 and h0, c0 at t = 0; with them "
                "you can rebuild step t's cache for `lstm_step_backward`.")


def exercise(options):
    return Exercise(
        name="lstm_backward",
        call="f(dh, cache) -> (dx, dh0, dc0, grads)",
        make_cases=_cases,
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh0", "dc0", "grads"), KEYS),
        output_dims=dims_table({"dx": ("T", "B", "I"), "dh0": ("B", "H"), "dc0": ("B", "H")}),
        input_dims={"dh": ("T", "B", "H")},
        mistakes=mistakes(),
        error_note=COURSE_CACHE,
        localise=localise,
    )


BACKWARD = Spec(
    name="lstm_backward",
    lesson="03_variants",
    exercise=exercise,
    solution=reference_backward,
    signature="dh, cache",
    doc=("Backpropagation through time for the LSTM: from t = T-1 down to 0, carry both dh and "
         "dc back.\n\n"
         "    dh (T, B, H): the loss's direct gradient at every h_t; cache from lstm_forward.\n"
         "    Return (dx, dh0, dc0, grads): dx (T, B, I), dh0 and dc0 (B, H), grads summed over "
         "time."),
    summary=("Check LSTM BPTT ``fn(dh, cache) -> (dx, dh0, dc0, grads)``, ``cache`` from the "
             "course's ``lstm_forward``."),
)
