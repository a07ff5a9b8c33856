"""Exercise ``lstm_step_forward`` (lesson 3): one LSTM step, gates i, f, g, o.

The reference is :func:`rnncourse.np_lstm.lstm_step_forward`.
"""

from __future__ import annotations

import itertools

import numpy as np

from rnncourse.np_lstm import lstm_step_forward as reference_forward

from ._engine import Exercise, Mistake
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
