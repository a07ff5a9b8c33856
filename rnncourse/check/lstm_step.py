"""Exercises ``lstm_step_forward`` and ``lstm_step_backward`` (lesson 3): one LSTM step, gates
i, f, g, o, and its backward.

The references are :func:`rnncourse.np_lstm.lstm_step_forward` and
:func:`rnncourse.np_lstm.lstm_step_backward`.
"""

from __future__ import annotations

import itertools

import numpy as np

from rnncourse.np_lstm import lstm_step_backward as reference_backward
from rnncourse.np_lstm import lstm_step_forward as reference_forward

from ._engine import Case, Exercise, Mistake
from ._shared import (
    GATE_NAMES,
    STEP_INPUTS,
    dims_table,
    gate_probes,
    gated_cases,
    held,
    preactivation,
    sigmoid,
    transposed_mistakes,
    unpack_tuple,
    zero_biases,
)
from ._spec import Spec


def _reference(case):
    d = case.data
    h, c, _ = reference_forward(d["x"], d["h_prev"], d["c_prev"], d["params"], check=False)
    return {"h_next": h, "c_next": c}


def _variant(d, mistake):
    """A WRONG LSTM step: ``mistake`` names what is off (never None)."""
    assert mistake
    act = {"i": sigmoid, "f": sigmoid, "g": np.tanh, "o": sigmoid}
    if mistake.startswith("act_"):
        gate = mistake[4]
        act[gate] = sigmoid if act[gate] is np.tanh else np.tanh
    i, f, g, o = (act[k](preactivation(d, k)) for k in "ifgo")
    c_prev = d["c_prev"]
    if mistake == "no_input_gate":
        c = f * c_prev + g
    elif mistake == "no_forget_gate":
        c = c_prev + i * g
    else:
        c = f * c_prev + i * g
    if mistake == "no_tanh_c":
        h = o * c
    elif mistake == "tanh_c_prev":
        h = o * np.tanh(c_prev)
    else:
        h = o * np.tanh(c)
    return {"h_next": h, "c_next": c}


def _gate_order(d, perm):
    """Gate a computed with the weights of gate perm[a]: the four pre-activations are computed
    once per case (23 orders are tried) and handed to the wrong gates."""
    if "_pre" not in d:
        d["_pre"] = {k: preactivation(d, k) for k in "ifgo"}
    pre = d["_pre"]
    i, f, o = (sigmoid(pre[perm[k]]) for k in "ifo")
    g = np.tanh(pre[perm["g"]])
    c = f * d["c_prev"] + i * g
    return {"h_next": o * np.tanh(c), "c_next": c}


def _perm_hint(perm):
    cycles = [(a, b) for a, b in perm.items() if a != b]
    if len(cycles) == 2 and perm[cycles[0][1]] == cycles[0][0]:
        a, b = cycles[0]
        return (f"Wrong gate order: you swapped the {GATE_NAMES[a]} and the {GATE_NAMES[b]} "
                f"(each is computed with the other's weights; {a} needs W_x{a}, W_h{a}, b_{a}).")
    uses = ", ".join(f"{a} uses the weights of {b}" for a, b in cycles)
    return f"Wrong gate order: {uses}. Each gate k needs its own W_xk, W_hk, b_k."


def mistakes():
    def ref(d, params):
        h, c, _ = reference_forward(d["x"], d["h_prev"], d["c_prev"], params, check=False)
        return {"h_next": h, "c_next": c}

    def variant(name):
        return lambda d: _variant(d, name)

    out = [
        Mistake("no_tanh_c", "h_t = o * tanh(c_t): you forgot the tanh on the cell state "
                "(c_next itself is right).", variant("no_tanh_c")),
        Mistake("tanh_c_prev", "h_t uses the *new* cell state: `o * tanh(c_next)`, not "
                "tanh(c_prev).", variant("tanh_c_prev")),
        Mistake("no_input_gate", "The candidate enters the cell through the input gate: "
                "`c_next = f * c_prev + i * g`; you added g without i.", variant("no_input_gate")),
        Mistake("no_forget_gate", "The old cell state passes through the forget gate: "
                "`c_next = f * c_prev + i * g`; you kept c_prev without f.",
                variant("no_forget_gate")),
    ]
    for gate in "ifgo":
        right, wrong = ("tanh", "sigmoid") if gate == "g" else ("sigmoid", "tanh")
        out.append(Mistake(f"act_{gate}", f"Sigmoid and tanh swapped on the "
                           f"{GATE_NAMES[gate]}: it uses {right}, you applied {wrong}.",
                           variant(f"act_{gate}")))
    for order in itertools.permutations("ifgo"):
        perm = dict(zip("ifgo", order))
        if order != tuple("ifgo"):
            out.append(Mistake("gate_order_" + "".join(order), _perm_hint(perm),
                               lambda d, perm=perm: _gate_order(d, perm)))
    out += transposed_mistakes(ref, "ifgo") + [
        Mistake("missing_bias", "You forgot the biases: every gate's pre-activation is "
                "`x @ W_xk.T + h_prev @ W_hk.T + b_k`.",
                lambda d: ref(d, zero_biases(d["params"]))),
    ]
    for gate in "ifgo":
        out.append(Mistake(f"missing_bias_{gate}", f"You forgot the bias b_{gate} of the "
                           f"{GATE_NAMES[gate]}.",
                           lambda d, g=gate: ref(d, zero_biases(d["params"], [f"b_{g}"]))))
    return out


def localise(case, call):
    """Probe each gate alone, holding others at 1: with c_prev = 0, c_next = i (g = o = 1) and
    c_next = g (i = 1); c_next = f * c_prev + 1 (i = g = 1); h_next = o * tanh(1) (i = g = 1,
    c_prev = 0)."""
    d = case.data
    p, x, h_prev, c_prev = d["params"], d["x"], d["h_prev"], d["c_prev"]
    zero = np.zeros_like(c_prev)
    probes = {"i": ((x, h_prev, zero, held(p, "g", "o")), ("c_next",)),
              "f": ((x, h_prev, c_prev, held(p, "i", "g", "o")), ("c_next",)),
              "g": ((x, h_prev, zero, held(p, "i", "o")), ("c_next",)),
              "o": ((x, h_prev, zero, held(p, "i", "g")), ("h_next",))}

    def reference(args):
        h, c, _ = reference_forward(*args, check=False)
        return {"h_next": h, "c_next": c}

    return gate_probes(call, probes, reference,
                       "`c_next = f * c_prev + i * g`, `h_next = o * tanh(c_next)`")


def exercise(options):
    return Exercise(
        name="lstm_step_forward",
        call="f(x, h_prev, c_prev, params) -> (h_next, c_next, cache)",
        make_cases=lambda o: gated_cases("ifgo", (), True, 3),
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "c_next", "cache")),
        output_dims=dims_table({"h_next": ("B", "H"), "c_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=mistakes(),
        localise=localise,
    )


FORWARD = Spec(
    name="lstm_step_forward",
    lesson="03_variants",
    exercise=exercise,
    solution=reference_forward,
    signature="x, h_prev, c_prev, params",
    doc=("One LSTM step (gates i, f, g, o).\n\n"
         "    x (B, I), h_prev and c_prev (B, H); params W_xk (H, I), W_hk (H, H), b_k (H,) for k "
         "in i, f, g, o.\n"
         "    Return (h_next, c_next, cache)."),
    summary="Check ``fn(x, h_prev, c_prev, params) -> (h_next, c_next, cache)``.",
)


# --- lstm_step_backward --------------------------------------------------------------------------

KEYS = tuple(f"{kind}{gate}" for gate in "ifgo" for kind in ("W_x", "W_h", "b_"))


def _backward_cases(options):
    cases = []
    for c in gated_cases("ifgo", (), True, 6):
        d = c.data
        rng = np.random.default_rng([c.sizes["B"], c.sizes["H"], 6])
        d["dh_next"] = rng.normal(0.0, 1.0, d["h_prev"].shape)
        d["dc_next"] = rng.normal(0.0, 1.0, d["h_prev"].shape)
        _, _, d["cache"] = reference_forward(d["x"], d["h_prev"], d["c_prev"], d["params"],
                                             check=False)
        cases.append(Case((d["dh_next"], d["dc_next"], d["cache"]),
                          ("dh_next", "dc_next", "cache"), c.sizes, d))
    return cases


def _outputs(dx, dh_prev, dc_prev, grads):
    return {"dx": dx, "dh_prev": dh_prev, "dc_prev": dc_prev,
            **{"d" + k: v for k, v in grads.items()}}


def _backward_reference(case):
    d = case.data
    return _outputs(*reference_backward(d["dh_next"], d["dc_next"], d["cache"]))


def _backward_variant(d, mistake):
    """A WRONG LSTM step backward, written out: ``mistake`` names the slip (never None)."""
    assert mistake
    cache, p = d["cache"], d["params"]
    i, f, g, o, tanh_c = (cache[k] for k in ("i", "f", "g", "o", "tanh_c"))
    dh, dc_next, c_prev = d["dh_next"], d["dc_next"], cache["c_prev"]
    through_h = dh * o * (1.0 - (cache["c_next"] ** 2 if mistake == "tanh_prime_of_c"
                                 else tanh_c ** 2))
    dc = {"no_dc_next": through_h, "no_h_path": dc_next}.get(mistake, dc_next + through_h)
    do = dh * (cache["c_next"] if mistake == "do_uses_c" else tanh_c)
    d_gate = {"i": dc * g, "f": dc * c_prev, "g": dc * i, "o": do}
    prime = {"i": i * (1 - i), "f": f * (1 - f), "g": 1 - g**2, "o": o * (1 - o)}
    if mistake.startswith("no_prime_"):
        prime[mistake[-1]] = 1.0
    da = {k: d_gate[k] * prime[k] for k in "ifgo"}
    grads = {}
    for k in "ifgo":
        grads[f"W_x{k}"] = da[k].T @ cache["x"]
        grads[f"W_h{k}"] = da[k].T @ cache["h_prev"]
        grads[f"b_{k}"] = da[k].sum(axis=0)
    dx = sum(da[k] @ p[f"W_x{k}"] for k in "ifgo")
    dh_prev = sum(da[k] @ p[f"W_h{k}"] for k in "ifgo")
    dc_prev = dc if mistake == "dc_prev_without_f" else dc * f
    return _outputs(dx, dh_prev, dc_prev, grads)


def backward_mistakes():
    def v(name):
        return lambda d: _backward_variant(d, name)

    out = [
        Mistake("no_dc_next", "The cell-state gradient from later steps is missing: "
                "`dc = dc_next + dh_next * o * (1 - tanh_c**2)`; you dropped dc_next.",
                v("no_dc_next")),
        Mistake("no_h_path", "c_next also reaches the loss through h_next = o * tanh(c_next): "
                "`dc = dc_next + dh_next * o * (1 - tanh_c**2)`; you kept only dc_next.",
                v("no_h_path")),
        Mistake("tanh_prime_of_c", "tanh' is read off tanh's output: `1 - tanh(c_next)**2`, "
                "not `1 - c_next**2`.", v("tanh_prime_of_c")),
        Mistake("do_uses_c", "h_next = o * tanh(c_next), so `do = dh_next * tanh(c_next)`, "
                "not `dh_next * c_next`.", v("do_uses_c")),
        Mistake("dc_prev_without_f", "c_next = f * c_prev + i * g, so `dc_prev = dc * f`: the "
                "forget gate scales the gradient carried back too.", v("dc_prev_without_f")),
    ]
    for gate in "ifgo":
        prime = "1 - g**2" if gate == "g" else f"{gate} * (1 - {gate})"
        out.append(Mistake(f"no_prime_{gate}", f"You forgot to backpropagate through the "
                           f"nonlinearity of the {GATE_NAMES[gate]}: da_{gate} = d{gate} * "
                           f"({prime}).", v(f"no_prime_{gate}")))
    return out


COURSE_CACHE = ("The check hands your function the course's cache: `lstm_step_forward`'s dict "
                "with the keys x, h_prev, c_prev, c_next, i, f, g, o, tanh_c, params (the gates "
                "after their nonlinearities).")


def backward_exercise(options):
    return Exercise(
        name="lstm_step_backward",
        call="f(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, grads)",
        make_cases=_backward_cases,
        reference=_backward_reference,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh_prev", "dc_prev", "grads"), KEYS),
        output_dims=dims_table({"dx": ("B", "I"), "dh_prev": ("B", "H"),
                                "dc_prev": ("B", "H")}),
        input_dims={**STEP_INPUTS, "dc_next": ("B", "H")},
        mistakes=backward_mistakes(),
        error_note=COURSE_CACHE,
    )


BACKWARD = Spec(
    name="lstm_step_backward",
    lesson="03_variants",
    exercise=backward_exercise,
    solution=reference_backward,
    signature="dh_next, dc_next, cache",
    doc=("Backward through one LSTM step.\n\n"
         "    dh_next, dc_next (B, H): the gradients reaching h_next and c_next; cache from "
         "lstm_step_forward.\n"
         "    Return (dx, dh_prev, dc_prev, grads): grads a dict with the keys of params."),
    summary=("Check ``fn(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, grads)``, ``cache`` "
             "from the course's ``lstm_step_forward``."),
)
