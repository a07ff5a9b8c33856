"""What several exercise families share: random parameters, reading a returned tuple, and the
building blocks of mistake catalogues (transposed, swapped or zeroed weights).

Nothing here computes a right answer: the right answers come from the course's reference code,
which each family module imports.
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_common import sigmoid

from ._engine import Case, Exercise, Mistake, Problem

STEP_SIZES = [(3, 4, 4), (1, 3, 5), (4, 6, 2), (2, 5, 3)]       # (B, I, H)
SEQ_SIZES = [(4, 3, 4, 4), (1, 2, 3, 5), (5, 1, 3, 2), (3, 2, 2, 3)]  # (T, B, I, H)
SCALE = 0.5  # weights and states of this size keep tanh and sigmoid away from saturation
STEP_INPUTS = {"x": ("B", "I"), "h_prev": ("B", "H"), "c_prev": ("B", "H"),
               "dh_next": ("B", "H")}
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g",
              "o": "output gate o", "r": "reset gate r", "z": "update gate z",
              "n": "candidate n"}

__all__ = ["GATED_SIZES", "GATE_NAMES", "SCALE", "SEQ_SIZES", "STEP_INPUTS", "STEP_SIZES",
           "TRANSPOSE_H", "TRANSPOSE_X", "dims_table", "gate_probes", "gated_cases", "held",
           "preactivation", "random_params", "sigmoid", "step_fit", "swap_gates", "transposed",
           "transposed_mistakes", "unpack_tuple", "with_params", "zero_biases"]


def random_params(rng, gates, I, H, extra=()):
    """``W_xk (H, I)``, ``W_hk (H, H)``, ``b_k (H,)`` for every gate k, plus ``extra`` biases."""
    p = {}
    for gate in gates:
        p[f"W_x{gate}"] = rng.normal(0.0, SCALE, (H, I))
        p[f"W_h{gate}"] = rng.normal(0.0, SCALE, (H, H))
        p[f"b_{gate}"] = rng.normal(0.0, SCALE, H)
    for key in extra:
        p[key] = rng.normal(0.0, SCALE, H)
    return p


def _grad_dims(name):
    key = name[1:] if name.startswith("d") else name
    if key.startswith("W_x"):
        return ("H", "I")
    if key.startswith("W_h"):
        return ("H", "H")
    if key.startswith("b_"):
        return ("H",)
    return None


def dims_table(table):
    """Output name -> axis symbols: ``table`` first, then the parameter-gradient convention."""
    return lambda name: table.get(name, _grad_dims(name))


def unpack_tuple(result, names, grad_keys=()):
    """``{name: value}`` from the learner's tuple (or list); ``cache`` is skipped, ``grads``
    flattened into ``dW_xh, ...``."""
    what = f"({', '.join(names)})"
    if not isinstance(result, (tuple, list)):
        kind = (f"a single numpy array of shape {result.shape}" if isinstance(result, np.ndarray)
                else f"a {type(result).__name__}")
        raise Problem(f"Expected your function to return a tuple {what}, got {kind}. End it with "
                      f"`return {', '.join(names)}`.")
    if len(result) != len(names):
        raise Problem(f"Expected your function to return a tuple of {len(names)} {what}, got a "
                      f"{type(result).__name__} of {len(result)}.")
    out = {}
    for name, value in zip(names, result):
        if name == "cache":
            continue
        if name == "grads":
            keys = ", ".join(grad_keys)
            if not isinstance(value, dict):
                raise Problem(f"grads: expected a dict with the keys of params ({keys}), got a "
                              f"{type(value).__name__}.")
            missing = [k for k in grad_keys if k not in value]
            if missing:
                raise Problem(f"grads is missing the key{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(map(repr, missing))}: it needs the same keys as params "
                              f"({keys}).")
            out.update({"d" + k: value[k] for k in grad_keys})
        else:
            out[name] = value
    return out


def step_backward_exercise(name, keys, **parts):
    """The exercise of a step backward ``f(dh_next, cache) -> (dx, dh_prev, grads)`` (the RNN's
    and the GRU's): ``keys`` are the parameters' names, ``parts`` the rest of its Exercise."""
    return Exercise(
        name=name,
        call="f(dh_next, cache) -> (dx, dh_prev, grads)",
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh_prev", "grads"), keys),
        output_dims=dims_table({"dx": ("B", "I"), "dh_prev": ("B", "H")}),
        input_dims=STEP_INPUTS,
        **parts,
    )


GATED_SIZES = [(3, 4, 4), (1, 3, 5), (2, 5, 3), (4, 2, 6)]  # (B, I, H)


def gated_cases(gates, extra, with_c, salt):
    cases = []
    for seed, (B, I, H) in enumerate(GATED_SIZES):
        rng = np.random.default_rng([seed, salt])
        d = {"x": rng.normal(0.0, 1.0, (B, I)), "h_prev": rng.normal(0.0, SCALE, (B, H)),
             "c_prev": rng.normal(0.0, 1.0, (B, H)),
             "params": random_params(rng, gates, I, H, extra)}
        if with_c:
            args, names = (d["x"], d["h_prev"], d["c_prev"], d["params"]), (
                "x", "h_prev", "c_prev", "params")
        else:
            args, names = (d["x"], d["h_prev"], d["params"]), ("x", "h_prev", "params")
        cases.append(Case(args, names, {"B": B, "I": I, "H": H}, d))
    return cases


# --- building blocks of the catalogues ----------------------------------------------------------

def with_params(params, **changes):
    out = dict(params)
    out.update(changes)
    return out


def transposed(params, prefix):
    return {k: (v.T if k.startswith(prefix) else v) for k, v in params.items()}


def zero_biases(params, keys=None):
    return {k: (np.zeros_like(v) if k.startswith("b_") and (keys is None or k in keys) else v)
            for k, v in params.items()}


def swap_gates(params, perm):
    """Gate ``a`` computed with the weights of gate ``perm[a]``."""
    out = dict(params)
    for a, b in perm.items():
        for kind in ("W_x", "W_h", "b_"):
            if f"{kind}{b}" in params:
                out[f"{kind}{a}"] = params[f"{kind}{b}"]
    return out


def preactivation(d, gate, params=None):
    """``x @ W_xk.T + h_prev @ W_hk.T + b_k`` of gate k, for a catalogue's wrong variants."""
    p = d["params"] if params is None else params
    a = d["x"] @ p[f"W_x{gate}"].T + d["h_prev"] @ p[f"W_h{gate}"].T
    return a + p[f"b_{gate}"] if f"b_{gate}" in p else a


TRANSPOSE_X = ("You multiplied by {W} where the transpose is needed: a weight of shape (H, I) "
               "acts on column vectors, so a batch of rows x (B, I) needs `x @ {T}.T` (with "
               "I == H the shapes fit either way, so numpy does not complain).")
TRANSPOSE_H = ("You multiplied by {W} where the transpose is needed: a weight of shape (H, H) "
               "acts on column vectors, so a batch of rows h_prev (B, H) needs `h_prev @ {T}.T` "
               "(a square matrix fits either way, so numpy does not complain).")


def transposed_mistakes(ref, gates):
    """Transposed-weight mistakes of a gated cell (LSTM, GRU)."""
    xs = ", ".join(f"W_x{k}" for k in gates)
    hs = ", ".join(f"W_h{k}" for k in gates)
    both = ("All weights are used without their transpose: "
            + TRANSPOSE_X.format(W="the input weights", T="W_xk")
            + " Same for `h_prev @ W_hk.T`.")
    return [
        Mistake("transposed_weights", both, lambda d: ref(d, transposed(d["params"], "W_"))),
        Mistake("transposed_W_x", TRANSPOSE_X.format(W=f"the input weights {xs}", T="W_xk"),
                lambda d: ref(d, transposed(d["params"], "W_x"))),
        Mistake("transposed_W_h", TRANSPOSE_H.format(W=f"the recurrent weights {hs}", T="W_hk"),
                lambda d: ref(d, transposed(d["params"], "W_h"))),
    ]


# --- localising a gated cell's error: one gate at a time ----------------------------------------

HELD = 30.0  # a bias this large holds a gate at 1 (sigmoid(30) = tanh(30) = 1 to 1e-13)


def held(params, *gates, value=1):
    """``params`` with each of ``gates`` held at ``value`` whatever its input: weights 0,
    bias +-HELD. Held at 1 a gate is 1 with a sigmoid or a tanh alike; held at 0 only a
    sigmoid gives 0."""
    out = dict(params)
    for gate in gates:
        out[f"W_x{gate}"] = np.zeros_like(params[f"W_x{gate}"])
        out[f"W_h{gate}"] = np.zeros_like(params[f"W_h{gate}"])
        out[f"b_{gate}"] = np.full_like(params[f"b_{gate}"], HELD if value else -HELD)
    return out


def gate_probes(call, probes, reference, combination,
                held_note="the others held at 1"):
    """Run the learner's step and the reference on probes that leave one gate free and hold
    others fixed; name the gates whose probe comes out wrong.

    ``probes`` maps a gate to ``(args, keys)``: the arguments of its probe and the outputs that
    show that gate; ``reference(args)`` and the learner's ``call(args)`` return
    ``{output: array}``. A probe cannot separate two slips that act together (a swapped pair of
    gates shows in both), so its verdict is a pointer, not a proof.
    """
    wrong, right = [], []
    for gate, (args, keys) in probes.items():
        got = call(args)
        want = reference(args)
        if got is None or any(k not in got or got[k].shape != want[k].shape for k in keys):
            return []
        off = max(float(np.max(np.abs(got[k] - want[k]))) for k in keys)
        ok = all(np.allclose(got[k], want[k], rtol=1e-5, atol=1e-7) for k in keys)
        (right if ok else wrong).append((gate, off))
    if not wrong:
        return [f"Each gate comes out right when probed alone ({held_note} through their "
                f"biases): the error is in how they are combined ({combination})."]
    named = ", ".join(f"the {GATE_NAMES[g]} (off by up to {off:.3g})" for g, off in wrong)
    fine = ", ".join(GATE_NAMES[g] for g, _ in right)
    return [f"Probing one gate at a time ({held_note} through their biases): wrong with {named}"
            + (f"; right with the {fine}." if fine else ".")]


# --- localising a BPTT error: which steps' contributions a weight gradient holds ----------------

def _times(weights):
    """``t = 2 missing``, ``t = 0 counted 2 times`` from per-step weights w_t
    (the learner's gradient = sum_t w_t * contribution_t)."""
    parts = []
    for t, w in enumerate(weights):
        if abs(w - 1.0) < 1e-6:
            continue
        if abs(w) < 1e-6:
            parts.append(f"t = {t} missing")
        elif abs(w - round(w)) < 1e-6:
            parts.append(f"t = {t} counted {int(round(w))} times")
        else:
            parts.append(f"t = {t} weighted {w:.3g}")
    return ", ".join(parts)


def step_fit(got, contributions):
    """Which steps' contributions the learner's weight gradients ``got`` hold: fit them as a
    combination of the right per-step ``contributions`` (a list over t of ``{dW: array}``);
    a line when the fit is exact and not the right one, else nothing."""
    if not got:
        return []
    keys = [k for k in contributions[0] if k in got]
    if not keys or any(got[k].shape != contributions[0][k].shape for k in keys):
        return []
    basis = np.stack([np.concatenate([c[k].ravel() for k in keys]) for c in contributions], 1)
    target = np.concatenate([got[k].ravel() for k in keys])
    weights, *_ = np.linalg.lstsq(basis, target, rcond=None)
    if not np.allclose(basis @ weights, target, rtol=1e-6, atol=1e-9) or np.allclose(
            weights, 1.0, atol=1e-6):
        return []
    return [f"Your {', '.join(keys)} add up the steps' contributions as: {_times(weights)} "
            "(every step t = 0..T-1 should count once)."]
