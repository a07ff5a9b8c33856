"""The exercises: random cases, the reference's answers, and how to read the learner's return.

Cases are fixed (seeded) so that a verdict is reproducible. The first case of every exercise is
square (I == H) with B > 1, so that a transposed weight shows up as wrong values, which the
mistake catalogue can name, rather than as a shape error; the others cover B = 1, I != H and,
for sequences, T = 1.
"""

from __future__ import annotations

import importlib

import numpy as np

from . import _mistakes
from ._engine import Case, Exercise, Problem

STEP_SIZES = [(3, 4, 4), (1, 3, 5), (4, 6, 2), (2, 5, 3)]       # (B, I, H)
SEQ_SIZES = [(4, 3, 4, 4), (1, 2, 3, 5), (5, 1, 3, 2), (3, 2, 2, 3)]  # (T, B, I, H)
SCALE = 0.5  # weights and states of this size keep tanh and sigmoid away from saturation


def _np(name):
    return importlib.import_module(f"rnncourse.{name}")


def _params(rng, gates, I, H, extra=()):
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


def _dims_table(table):
    return lambda name: table.get(name, _grad_dims(name))


def unpack_tuple(result, names, grad_keys=()):
    """``{name: value}`` from the learner's tuple; ``cache`` is skipped, ``grads`` flattened."""
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


# --- RNN ----------------------------------------------------------------------------------------

def _rnn_step_cases(options):
    cases = []
    for activation in options.get("activations", ("tanh",)):
        for seed, (B, I, H) in enumerate(STEP_SIZES):
            rng = np.random.default_rng([seed, 1])
            d = {"x": rng.normal(0.0, 1.0, (B, I)), "h_prev": rng.normal(0.0, SCALE, (B, H)),
                 "params": _params(rng, "h", I, H), "activation": activation,
                 "dh_next": rng.normal(0.0, 1.0, (B, H))}
            sizes = {"B": B, "I": I, "H": H}
            if activation != "tanh":
                sizes["activation"] = activation
            cases.append((d, sizes))
    return cases


def _rnn_step_forward_cases(options):
    return [Case((d["x"], d["h_prev"], d["params"], d["activation"]),
                 ("x", "h_prev", "params", "activation"), sizes, d)
            for d, sizes in _rnn_step_cases(options)]


def _rnn_step_backward_cases(options):
    forward = options.get("forward")
    step = _np("np_rnn").rnn_step_forward
    cases = []
    for d, sizes in _rnn_step_cases(options):
        d["h_next"], d["ref_cache"] = step(d["x"], d["h_prev"], d["params"], d["activation"])
        cache = d["ref_cache"]
        if forward is not None:
            try:
                _, cache = forward(d["x"], d["h_prev"], d["params"], d["activation"])
            except Exception as exc:
                raise Problem(f"Your forward function raised {type(exc).__name__}: {exc}; the "
                              "check needs it to build the caches (or leave out `forward=` to "
                              "use the course's caches).") from None
        cases.append(Case((d["dh_next"], cache), ("dh_next", "cache"), sizes, d))
    return cases


def _rnn_backward_cases(options):
    np_rnn = _np("np_rnn")
    cases = []
    for seed, (T, B, I, H) in enumerate(SEQ_SIZES):
        rng = np.random.default_rng([seed, 2])
        d = {"x": rng.normal(0.0, 1.0, (T, B, I)), "h0": rng.normal(0.0, SCALE, (B, H)),
             "params": _params(rng, "h", I, H), "dh": rng.normal(0.0, 1.0, (T, B, H))}
        _, cache = np_rnn.rnn_forward(d["x"], d["h0"], d["params"], "tanh")
        steps, h = [], d["h0"]
        for t in range(T):  # the step caches, for the mistake catalogue
            h, step_cache = np_rnn.rnn_step_forward(d["x"][t], h, d["params"], "tanh")
            steps.append(step_cache)
        d["cache"], d["steps"] = cache, steps
        cases.append(Case((d["dh"], cache), ("dh", "cache"), {"T": T, "B": B, "I": I, "H": H},
                          d))
    return cases


def _rnn_step_forward_ref(case):
    d = case.data
    h, _ = _np("np_rnn").rnn_step_forward(d["x"], d["h_prev"], d["params"], d["activation"])
    return {"h_next": h}


def _rnn_step_backward_ref(case):
    d = case.data
    dx, dh_prev, grads = _np("np_rnn").rnn_step_backward(d["dh_next"], d["ref_cache"])
    return {"dx": dx, "dh_prev": dh_prev, **{"d" + k: v for k, v in grads.items()}}


def _rnn_backward_ref(case):
    d = case.data
    dx, dh0, grads = _np("np_rnn").rnn_backward(d["dh"], d["cache"])
    return {"dx": dx, "dh0": dh0, **{"d" + k: v for k, v in grads.items()}}


RNN_KEYS = ("W_xh", "W_hh", "b_h")
STEP_INPUTS = {"x": ("B", "I"), "h_prev": ("B", "H"), "c_prev": ("B", "H"),
               "dh_next": ("B", "H")}


def rnn_step_forward_exercise(activations=("tanh",)):
    return Exercise(
        name="rnn_step_forward",
        call="f(x, h_prev, params, activation) -> (h_next, cache)",
        make_cases=lambda o: _rnn_step_forward_cases({"activations": activations, **o}),
        reference=_rnn_step_forward_ref,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "cache")),
        output_dims=_dims_table({"h_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=_mistakes.rnn_forward_mistakes(activations),
    )


def rnn_step_backward_exercise():
    return Exercise(
        name="rnn_step_backward",
        call="f(dh_next, cache) -> (dx, dh_prev, grads)",
        make_cases=_rnn_step_backward_cases,
        reference=_rnn_step_backward_ref,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh_prev", "grads"), RNN_KEYS),
        output_dims=_dims_table({"dx": ("B", "I"), "dh_prev": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=_mistakes.rnn_step_backward_mistakes(),
    )


def rnn_backward_exercise():
    return Exercise(
        name="rnn_backward",
        call="f(dh, cache) -> (dx, dh0, grads)",
        make_cases=_rnn_backward_cases,
        reference=_rnn_backward_ref,
        unpack=lambda r, c: unpack_tuple(r, ("dx", "dh0", "grads"), RNN_KEYS),
        output_dims=_dims_table({"dx": ("T", "B", "I"), "dh0": ("B", "H")}),
        input_dims={"dh": ("T", "B", "H")},
        mistakes=_mistakes.rnn_backward_mistakes(),
    )


# --- LSTM and GRU -------------------------------------------------------------------------------

LSTM_SIZES = [(3, 4, 4), (1, 3, 5), (2, 5, 3), (4, 2, 6)]


def _gated_cases(gates, extra, with_c, salt):
    cases = []
    for seed, (B, I, H) in enumerate(LSTM_SIZES):
        rng = np.random.default_rng([seed, salt])
        d = {"x": rng.normal(0.0, 1.0, (B, I)), "h_prev": rng.normal(0.0, SCALE, (B, H)),
             "c_prev": rng.normal(0.0, 1.0, (B, H)), "params": _params(rng, gates, I, H, extra)}
        if with_c:
            args, names = (d["x"], d["h_prev"], d["c_prev"], d["params"]), (
                "x", "h_prev", "c_prev", "params")
        else:
            args, names = (d["x"], d["h_prev"], d["params"]), ("x", "h_prev", "params")
        cases.append(Case(args, names, {"B": B, "I": I, "H": H}, d))
    return cases


def _lstm_ref(case):
    d = case.data
    h, c, _ = _np("np_lstm").lstm_step_forward(d["x"], d["h_prev"], d["c_prev"], d["params"])
    return {"h_next": h, "c_next": c}


def _gru_ref(case):
    d = case.data
    h, _ = _np("np_gru").gru_step_forward(d["x"], d["h_prev"], d["params"], "torch")
    return {"h_next": h}


def lstm_step_forward_exercise():
    return Exercise(
        name="lstm_step_forward",
        call="f(x, h_prev, c_prev, params) -> (h_next, c_next, cache)",
        make_cases=lambda o: _gated_cases("ifgo", (), True, 3),
        reference=_lstm_ref,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "c_next", "cache")),
        output_dims=_dims_table({"h_next": ("B", "H"), "c_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=_mistakes.lstm_forward_mistakes(),
    )


def gru_step_forward_exercise():
    return Exercise(
        name="gru_step_forward",
        call="f(x, h_prev, params) -> (h_next, cache)",
        make_cases=lambda o: _gated_cases("rzn", ("b_hn",), False, 4),
        reference=_gru_ref,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "cache")),
        output_dims=_dims_table({"h_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=_mistakes.gru_forward_mistakes(),
    )


# --- gradient norm clipping ---------------------------------------------------------------------

CLIP_CASES = [  # (shapes, global norm, max_norm)
    ([(4, 3), (4,), (2, 4)], 5.0, 1.0),   # above the threshold
    ([(4, 3), (4,), (2, 4)], 0.5, 2.0),   # below: nothing to do
    ([(3, 3)], 10.0, 3.0),                # a single array
    ([(5,), (2, 2, 2)], 3.0, 2.5),        # just above
]


def _clip_cases(options):
    cases = []
    for seed, (shapes, norm, max_norm) in enumerate(CLIP_CASES):
        rng = np.random.default_rng([seed, 5])
        grads = [rng.normal(0.0, 1.0, shape) for shape in shapes]
        total = np.sqrt(sum(np.sum(g**2) for g in grads))
        grads = [g * (norm / total) for g in grads]
        d = {"grads": grads, "max_norm": max_norm}
        sizes = {"arrays": len(grads), "norm": norm, "max_norm": max_norm}
        cases.append(Case((grads, max_norm), ("grads", "max_norm"), sizes, d))
    return cases


def _clip_ref(case):
    clipped, norm = _np("clipping").clip_grad_norm(case.data["grads"], case.data["max_norm"])
    out = {f"clipped[{k}]": g for k, g in enumerate(clipped)}
    out["norm"] = norm
    return out


def _is_scalar(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


def _clip_unpack(result, case):
    n = len(case.data["grads"])
    norm = None
    if isinstance(result, tuple) and len(result) == 2 and _is_scalar(result[1]) and isinstance(
            result[0], (list, tuple)):
        result, norm = result
    if isinstance(result, np.ndarray) or not isinstance(result, (list, tuple)):
        raise Problem(f"Expected a list of {n} clipped arrays (one per input array), or "
                      f"`(clipped, norm)`; got a {type(result).__name__}.")
    if len(result) != n:
        raise Problem(f"Expected one clipped array per input array ({n}), got {len(result)}.")
    out = {f"clipped[{k}]": g for k, g in enumerate(result)}
    if norm is not None:
        out["norm"] = norm
    return out


def clip_grad_norm_exercise():
    return Exercise(
        name="clip_grad_norm",
        call="f(grads, max_norm) -> (clipped, norm) or clipped",
        make_cases=_clip_cases,
        reference=_clip_ref,
        unpack=_clip_unpack,
        output_dims=lambda name: None,
        input_dims={},
        mistakes=_mistakes.clip_mistakes(),
    )
