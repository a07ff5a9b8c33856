"""Exercises ``gru_step_forward`` and ``gru_step_backward`` (lesson 3): one GRU step in torch's
form, and its backward.

The references are :func:`rnncourse.np_gru.gru_step_forward` and
:func:`rnncourse.np_gru.gru_step_backward` with ``form="torch"``.
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_gru import gru_step_backward as reference_backward
from rnncourse.np_gru import gru_step_forward as reference_forward

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
    step_backward_exercise,
    swap_gates,
    transposed_mistakes,
    unpack_tuple,
    with_params,
    zero_biases,
)
from ._spec import Spec


def _reference(case):
    d = case.data
    h, _ = reference_forward(d["x"], d["h_prev"], d["params"], "torch", check=False)
    return {"h_next": h}


def _variant(d, mistake):
    """A WRONG torch-form GRU step: ``mistake`` names what is off (never None)."""
    assert mistake
    p = d["params"]
    act = {"r": sigmoid, "z": sigmoid, "n": np.tanh}
    if mistake.startswith("act_"):
        gate = mistake[4]
        act[gate] = sigmoid if act[gate] is np.tanh else np.tanh
    r, z = act["r"](preactivation(d, "r")), act["z"](preactivation(d, "z"))
    hn = d["h_prev"] @ p["W_hn"].T
    xn = d["x"] @ p["W_xn"].T + p["b_n"]
    if mistake == "b_hn_outside":
        n = act["n"](xn + p["b_hn"] + r * hn)
    else:
        n = act["n"](xn + r * (hn + p["b_hn"]))
    return {"h_next": (1.0 - z) * n + z * d["h_prev"]}


def mistakes():
    def ref(d, params, form="torch"):
        h, _ = reference_forward(d["x"], d["h_prev"], params, form, check=False)
        return {"h_next": h}

    def variant(name):
        return lambda d: _variant(d, name)

    def seed_form(d):
        return ref(d, {k: v for k, v in d["params"].items() if k != "b_hn"}, "seed")

    def z_flipped(d):  # sigma(-a) = 1 - sigma(a): negating z's parameters swaps z and 1 - z
        p = d["params"]
        return ref(d, with_params(p, W_xz=-p["W_xz"], W_hz=-p["W_hz"], b_z=-p["b_z"]))

    out = [
        Mistake("seed_form", "You wrote the seed form of Cho et al. (2014), "
                "n = tanh(W_xn x + W_hn (r * h) + b_n). This exercise asks for torch's form: the "
                "reset gate scales the recurrent product, "
                "`n = tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))`.", seed_form),
        Mistake("z_flipped", "z and 1 - z are swapped: torch's convention is "
                "`h_next = (1 - z) * n + z * h_prev` (z = 1 keeps the old state).", z_flipped),
        Mistake("b_hn_outside", "b_hn belongs inside the reset gate's product: "
                "`r * (h_prev @ W_hn.T + b_hn)`, not `r * (h_prev @ W_hn.T) + b_hn`.",
                variant("b_hn_outside")),
        Mistake("missing_b_hn", "You forgot b_hn inside the reset gate's product: "
                "`r * (h_prev @ W_hn.T + b_hn)`.",
                lambda d: ref(d, zero_biases(d["params"], ["b_hn"]))),
        Mistake("swap_r_z", "Wrong gate order: you swapped the reset gate r and the update "
                "gate z (each is computed with the other's weights).",
                lambda d: ref(d, swap_gates(d["params"], {"r": "z", "z": "r"}))),
    ]
    for gate in "rzn":
        right, wrong = ("tanh", "sigmoid") if gate == "n" else ("sigmoid", "tanh")
        out.append(Mistake(f"act_{gate}", f"Sigmoid and tanh swapped on the "
                           f"{GATE_NAMES[gate]}: it uses {right}, you applied {wrong}.",
                           variant(f"act_{gate}")))
    out += transposed_mistakes(ref, "rzn") + [
        Mistake("missing_bias", "You forgot the biases (b_r, b_z, b_n and b_hn).",
                lambda d: ref(d, zero_biases(d["params"]))),
    ]
    return out


def localise(case, call):
    """Probe each gate alone: z shows in h_next = (1 - z) + z * h_prev (n held at 1), n in
    h_next = n (z held at 0, r at 1), r in h_next = tanh(r * (h_prev @ W_hn.T + b_hn)) (z held
    at 0, no input term). Holding z at 0 assumes z is a sigmoid."""
    d = case.data
    p, x, h_prev = d["params"], d["x"], d["h_prev"]
    n_held = {**held(p, "n"), "b_hn": np.zeros_like(p["b_hn"])}
    z_off = held(p, "z", value=0)
    no_input = {**z_off, "W_xn": np.zeros_like(p["W_xn"]), "b_n": np.zeros_like(p["b_n"])}
    probes = {"z": ((x, h_prev, n_held), ("h_next",)),
              "n": ((x, h_prev, held(z_off, "r")), ("h_next",)),
              "r": ((x, h_prev, no_input), ("h_next",))}

    def reference(args):
        h, _ = reference_forward(*args, "torch", check=False)
        return {"h_next": h}

    return gate_probes(call, probes, reference,
                       "`n = tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))`, "
                       "`h_next = (1 - z) * n + z * h_prev`", "the others held at 0 or 1")


def exercise(options):
    return Exercise(
        name="gru_step_forward",
        call="f(x, h_prev, params) -> (h_next, cache)",
        make_cases=lambda o: gated_cases("rzn", ("b_hn",), False, 4),
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "cache")),
        output_dims=dims_table({"h_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=mistakes(),
        localise=localise,
    )


FORWARD = Spec(
    name="gru_step_forward",
    lesson="03_variants",
    exercise=exercise,
    solution=reference_forward,
    signature="x, h_prev, params",
    doc=("One GRU step in torch's form: n = tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + "
         "b_hn)).\n\n"
         "    x (B, I), h_prev (B, H); params W_xk, W_hk, b_k for k in r, z, n, and b_hn.\n"
         "    Return (h_next, cache): h_next = (1 - z) * n + z * h_prev."),
    summary="Check the torch-form GRU step ``fn(x, h_prev, params) -> (h_next, cache)``.",
)


# --- gru_step_backward ---------------------------------------------------------------------------

KEYS = tuple(f"{kind}{gate}" for gate in "rzn" for kind in ("W_x", "W_h", "b_")) + ("b_hn",)


def _backward_cases(options):
    cases = []
    for c in gated_cases("rzn", ("b_hn",), False, 7):
        d = c.data
        rng = np.random.default_rng([c.sizes["B"], c.sizes["H"], 7])
        d["dh_next"] = rng.normal(0.0, 1.0, d["h_prev"].shape)
        _, d["cache"] = reference_forward(d["x"], d["h_prev"], d["params"], "torch",
                                          check=False)
        cases.append(Case((d["dh_next"], d["cache"]), ("dh_next", "cache"), c.sizes, d))
    return cases


def _backward_outputs(dx, dh_prev, grads):
    return {"dx": dx, "dh_prev": dh_prev, **{"d" + k: v for k, v in grads.items()}}


def _backward_reference(case):
    d = case.data
    return _backward_outputs(*reference_backward(d["dh_next"], d["cache"]))


def _backward_variant(d, mistake):
    """A WRONG torch-form GRU step backward, written out: ``mistake`` names the slip."""
    assert mistake
    cache, p = d["cache"], d["params"]
    x, h_prev, r, z, n, hn = (cache[k] for k in ("x", "h_prev", "r", "z", "n", "hn"))
    dh = d["dh_next"]
    if mistake == "z_flipped":
        dn, dz, direct = dh * z, dh * (n - h_prev), dh * (1 - z)
    else:
        dn, dz, direct = dh * (1 - z), dh * (h_prev - n), dh * z
    if mistake == "no_direct_path":
        direct = np.zeros_like(dh)
    da_n = dn if mistake == "no_tanh_prime" else dn * (1 - n**2)
    dr = da_n * (hn - p["b_hn"] if mistake == "dr_without_b_hn" else hn)
    dhn = da_n if mistake == "dhn_without_r" else da_n * r
    grads = {"W_xn": da_n.T @ x, "b_n": da_n.sum(axis=0), "W_hn": dhn.T @ h_prev,
             "b_hn": dhn.sum(axis=0)}
    dx = da_n @ p["W_xn"]
    dh_prev = direct + dhn @ p["W_hn"]
    for gate, dgate, s in (("r", dr, r), ("z", dz, z)):
        da = dgate * s * (1 - s)
        grads[f"W_x{gate}"], grads[f"W_h{gate}"], grads[f"b_{gate}"] = (
            da.T @ x, da.T @ h_prev, da.sum(axis=0))
        dx = dx + da @ p[f"W_x{gate}"]
        dh_prev = dh_prev + da @ p[f"W_h{gate}"]
    return _backward_outputs(dx, dh_prev, grads)


def backward_mistakes():
    def v(name):
        return lambda d: _backward_variant(d, name)

    return [
        Mistake("z_flipped", "z and 1 - z are swapped: with `h_next = (1 - z) * n + z * "
                "h_prev`, `dn = dh_next * (1 - z)`, `dz = dh_next * (h_prev - n)` and the direct "
                "path is `dh_next * z`.", v("z_flipped")),
        Mistake("no_direct_path", "dh_prev misses the direct path `dh_next * z`: h_prev enters "
                "h_next itself, not only through the gates and n.", v("no_direct_path")),
        Mistake("no_tanh_prime", "You forgot to backpropagate through the candidate's tanh: "
                "`da_n = dn * (1 - n**2)`.", v("no_tanh_prime")),
        Mistake("dr_without_b_hn", "The reset gate scales `hn = h_prev @ W_hn.T + b_hn`, b_hn "
                "included: `dr = da_n * hn` (the cache keeps hn).", v("dr_without_b_hn")),
        Mistake("dhn_without_r", "The recurrent product is scaled by r: its gradient is "
                "`dhn = da_n * r`, which then gives dW_hn, db_hn and its part of dh_prev.",
                v("dhn_without_r")),
    ]


COURSE_CACHE = ("The check hands your function the course's cache: `gru_step_forward`'s dict "
                "with the keys x, h_prev, r, z, n, hn (= h_prev @ W_hn.T + b_hn), params, "
                "form.")


def backward_exercise(options):
    return step_backward_exercise("gru_step_backward", KEYS, make_cases=_backward_cases,
                                  reference=_backward_reference, mistakes=backward_mistakes(),
                                  error_note=COURSE_CACHE)


BACKWARD = Spec(
    name="gru_step_backward",
    lesson="03_variants",
    exercise=backward_exercise,
    solution=reference_backward,
    signature="dh_next, cache",
    doc=("Backward through one torch-form GRU step.\n\n"
         "    dh_next (B, H); cache from gru_step_forward (form 'torch').\n"
         "    Return (dx, dh_prev, grads): grads a dict with the keys of params, b_hn included."),
    summary=("Check the torch-form GRU step backward ``fn(dh_next, cache) -> (dx, dh_prev, "
             "grads)``, ``cache`` from the course's ``gru_step_forward``."),
)
