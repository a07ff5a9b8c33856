"""Exercises ``rnn_step_forward`` and ``rnn_step_backward`` (lessons 1 and 2): one RNN step.

The reference is :mod:`rnncourse.np_rnn`; the cases are seeded, the first one square (I == H,
B > 1) so that a transposed weight shows as wrong values the catalogue can name rather than as a
shape error.
"""

from __future__ import annotations

import io

import numpy as np

from rnncourse.np_rnn import rnn_step_backward as reference_backward
from rnncourse.np_rnn import rnn_step_forward as reference_forward

from ._engine import Case, Exercise, Mistake, Problem, call_copied, close
from ._shared import (
    SCALE,
    STEP_INPUTS,
    STEP_SIZES,
    TRANSPOSE_H,
    TRANSPOSE_X,
    dims_table,
    random_params,
    step_backward_exercise,
    transposed,
    unpack_tuple,
    with_params,
    zero_biases,
)
from ._spec import Option, Spec

KEYS = ("W_xh", "W_hh", "b_h")
ACTIVATIONS = ("tanh", "relu", "sigmoid")


def _cases(activations):
    cases = []
    for activation in activations:
        for seed, (B, I, H) in enumerate(STEP_SIZES):
            rng = np.random.default_rng([seed, 1])
            d = {"x": rng.normal(0.0, 1.0, (B, I)), "h_prev": rng.normal(0.0, SCALE, (B, H)),
                 "params": random_params(rng, "h", I, H), "activation": activation,
                 "dh_next": rng.normal(0.0, 1.0, (B, H))}
            sizes = {"B": B, "I": I, "H": H}
            if activation != "tanh" or len(activations) > 1:
                sizes["activation"] = activation
            cases.append((d, sizes))
    return cases


def _read_activations(activations):
    if isinstance(activations, str):
        activations = (activations,)
    if not isinstance(activations, (tuple, list)) or not activations or any(
            a not in ACTIVATIONS for a in activations):
        raise Problem(f"activations: expected a tuple of names from {ACTIVATIONS}, got "
                      f"{activations!r}.")
    return tuple(activations)


def _read_forward(forward):
    if forward is not None and not callable(forward):
        raise Problem(f"forward: expected your forward step function (or None for the course's "
                      f"caches), got a value of type {type(forward).__name__}.")
    return forward


# --- rnn_step_forward --------------------------------------------------------------------------

def _forward_cases(options):
    return [Case((d["x"], d["h_prev"], d["params"], d["activation"]),
                 ("x", "h_prev", "params", "activation"), sizes, d)
            for d, sizes in _cases(options["activations"])]


def _forward_reference(case):
    d = case.data
    h, _ = reference_forward(d["x"], d["h_prev"], d["params"], d["activation"], check=False)
    return {"h_next": h}


def forward_mistakes():
    def ref(d, params=None, activation=None):
        h, _ = reference_forward(
            d["x"], d["h_prev"], d["params"] if params is None else params,
            d["activation"] if activation is None else activation, check=False)
        return {"h_next": h}

    def tr(prefix):
        return lambda d: ref(d, transposed(d["params"], prefix))

    def no_activation(d):
        if d["activation"] != "tanh":
            return None
        return {"h_next": np.arctanh(ref(d)["h_next"])}  # the pre-activation itself

    mistakes = [
        Mistake("transposed_weights", "Both weights are used without their transpose: "
                + TRANSPOSE_X.format(W="W_xh", T="W_xh") + " Same for `h_prev @ W_hh.T`.",
                tr("W_")),
        Mistake("transposed_W_xh", TRANSPOSE_X.format(W="W_xh", T="W_xh"), tr("W_xh")),
        Mistake("transposed_W_hh", TRANSPOSE_H.format(W="W_hh", T="W_hh"), tr("W_hh")),
        Mistake("swapped_weights", "W_xh and W_hh are swapped: W_xh multiplies the input x, "
                "W_hh the previous state h_prev.",
                lambda d: ref(d, with_params(d["params"], W_xh=d["params"]["W_hh"],
                                             W_hh=d["params"]["W_xh"]))),
        Mistake("missing_bias", "You forgot the bias: add `params['b_h']` to the "
                "pre-activation before the nonlinearity.", lambda d: ref(d, zero_biases(
                    d["params"]))),
        Mistake("no_recurrence", "h_prev is ignored: the pre-activation needs "
                "`h_prev @ W_hh.T` as well as `x @ W_xh.T`.",
                lambda d: ref(d, with_params(d["params"], W_hh=0 * d["params"]["W_hh"]))),
        Mistake("no_input", "x is ignored: the pre-activation needs `x @ W_xh.T`.",
                lambda d: ref(d, with_params(d["params"], W_xh=0 * d["params"]["W_xh"]))),
        Mistake("no_activation", "You forgot the nonlinearity: h_next = tanh(a), not the "
                "pre-activation a itself.", no_activation),
        Mistake("ignored_activation", "You ignored the `activation` argument and always used "
                "tanh: apply the function it names ('tanh', 'relu' or 'sigmoid').",
                lambda d: None if d["activation"] == "tanh" else ref(d, activation="tanh")),
    ]
    for other in ("sigmoid", "relu"):  # tanh where another is asked: ignored_activation
        mistakes.append(Mistake(
            f"activation_{other}", f"Wrong nonlinearity: you applied {other}, but h_next = f(a) "
            "with f the one named by the `activation` argument ('tanh' unless stated).",
            lambda d, other=other: None if d["activation"] == other else ref(d, activation=other)))
    return mistakes


def forward_exercise(options):
    return Exercise(
        name="rnn_step_forward",
        call="f(x, h_prev, params, activation) -> (h_next, cache)",
        make_cases=_forward_cases,
        reference=_forward_reference,
        unpack=lambda r, c: unpack_tuple(r, ("h_next", "cache")),
        output_dims=dims_table({"h_next": ("B", "H")}),
        input_dims=STEP_INPUTS,
        mistakes=forward_mistakes(),
    )


FORWARD = Spec(
    name="rnn_step_forward",
    lesson="01_scope",
    exercise=forward_exercise,
    solution=reference_forward,
    signature='x, h_prev, params, activation="tanh"',
    doc=("One RNN step: h_next = f(x @ W_xh.T + h_prev @ W_hh.T + b_h).\n\n"
         "    x (B, I), h_prev (B, H); params W_xh (H, I), W_hh (H, H), b_h (H,).\n"
         "    Return (h_next, cache): h_next (B, H), cache what the backward step needs."),
    summary=("Check ``fn(x, h_prev, params, activation) -> (h_next, cache)``; tanh unless "
             "``activations`` lists more (``(\"tanh\", \"relu\", \"sigmoid\")``)."),
    options=(Option("activations", ("tanh",), _read_activations),),
)


# --- rnn_step_backward -------------------------------------------------------------------------

def _own_caches(forward, d):
    """The cache of the learner's own forward step on copies of the case's inputs."""
    names = ("x", "h_prev", "params", "activation")
    args = tuple(d[n] for n in names)
    result, exc, changed, _ = call_copied(forward, args, names, io.StringIO())
    if exc is not None:
        raise Problem(f"Your forward function raised {type(exc).__name__}: {exc}; the check "
                      "needs it to build the caches (or leave out `forward=` to use the "
                      "course's caches).")
    if changed:
        raise Problem(f"Your forward function changed its input {', '.join(changed)} in place "
                      "(e.g. with `+=` or `h_prev[:] = ...`): the caller's arrays must stay "
                      "intact, and a cache holding a modified h_prev gives wrong gradients. "
                      "Build new arrays instead.")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Problem("Your forward function must return `(h_next, cache)` like "
                      "`rnn_step_forward`; the check passes the cache to your backward.")
    h_next, cache = result
    if not close(h_next, d["h_next"]):
        raise Problem(f"Your forward function's h_next is wrong with activation="
                      f"{d['activation']!r}, so its caches cannot be trusted: check it first "
                      "with `check.rnn_step_forward(my_rnn_step_forward, activations=(\"tanh\", "
                      "\"relu\", \"sigmoid\"))`, or check a tanh-only backward with "
                      "`activations=(\"tanh\",)`.")
    return cache


def _backward_cases(options):
    forward = options.get("forward")
    cases = []
    for d, sizes in _cases(options["activations"]):
        d["h_next"], d["ref_cache"] = reference_forward(d["x"], d["h_prev"], d["params"],
                                                        d["activation"], check=False)
        cache = d["ref_cache"] if forward is None else _own_caches(forward, d)
        cases.append(Case((d["dh_next"], cache), ("dh_next", "cache"), sizes, d))
    return cases


def _backward_reference(case):
    d = case.data
    dx, dh_prev, grads = reference_backward(d["dh_next"], d["ref_cache"])
    return {"dx": dx, "dh_prev": dh_prev, **{"d" + k: v for k, v in grads.items()}}


def _back(d, dh_next=None, params=None):
    cache = d["ref_cache"] if params is None else {**d["ref_cache"], "params": params}
    dx, dh_prev, grads = reference_backward(d["dh_next"] if dh_next is None else dh_next, cache)
    out = {"dx": dx, "dh_prev": dh_prev}
    out.update({"d" + k: v for k, v in grads.items()})
    return out


def _da(d):
    """dL/da row by row from the reference: with one batch row of dh_next kept, db_h = da[b]."""
    dh = d["dh_next"]
    rows = []
    for b in range(dh.shape[0]):
        masked = np.zeros_like(dh)
        masked[b] = dh[b]
        rows.append(_back(d, masked)["db_h"])
    return np.stack(rows)




def _from_da(d, da):
    """All five outputs of a step whose (wrong) dL/da is ``da``: the rest is linear in it."""
    p = d["params"]
    return {"dx": da @ p["W_xh"], "dh_prev": da @ p["W_hh"], "dW_xh": da.T @ d["x"],
            "dW_hh": da.T @ d["h_prev"], "db_h": da.sum(axis=0)}


def backward_mistakes():
    def wrong_da(factor, only=None):  # da = dh_next * factor(h_next, h_prev, activation)
        def fn(d):
            if only is not None and d["activation"] not in only:
                return None
            return _from_da(d, d["dh_next"] * factor(d["h_next"], d["h_prev"]))
        return fn

    def replace(**outputs):
        def fn(d):
            out = _back(d)
            da = _da(d)
            p = d["params"]
            for key, make in outputs.items():
                out[key] = make(da, d, p)
            return out
        return fn

    return [
        Mistake("no_activation_derivative", "You forgot to backpropagate through the "
                "nonlinearity: da = dh_next * f'(a), with f' read off the output (tanh: "
                "`1 - h_next**2`, relu: `(h_next > 0)`, sigmoid: `h_next * (1 - h_next)`), not "
                "dh_next itself.", wrong_da(lambda h, hp: np.ones_like(h))),
        Mistake("tanh_derivative_always", "You used tanh's derivative `1 - h_next**2` for every "
                "activation: f' depends on `cache['activation']` (relu: `(h_next > 0)`, "
                "sigmoid: `h_next * (1 - h_next)`).",
                wrong_da(lambda h, hp: 1 - h**2, only=("relu", "sigmoid"))),
        Mistake("derivative_precedence", "Operator precedence in tanh': it is "
                "`1 - h_next**2`, not `(1 - h_next)**2`.",
                wrong_da(lambda h, hp: (1 - h)**2, only=("tanh",))),
        Mistake("derivative_of_h_prev", "f' belongs to this step's output: "
                "`1 - h_next**2`, not `1 - h_prev**2`.",
                wrong_da(lambda h, hp: 1 - hp**2, only=("tanh",))),
        Mistake("sigmoid_derivative", "You used the sigmoid's derivative h (1 - h); for tanh "
                "it is `1 - h_next**2`.", wrong_da(lambda h, hp: h * (1 - h), only=("tanh",))),
        Mistake("dx_transposed", "dx: multiply by W_xh itself, not its transpose. The forward "
                "computed `x @ W_xh.T`, so `dx = da @ W_xh` (B, I).",
                replace(dx=lambda da, d, p: da @ p["W_xh"].T)),
        Mistake("dh_prev_transposed", "dh_prev: multiply by W_hh itself, not its transpose. The "
                "forward computed `h_prev @ W_hh.T`, so `dh_prev = da @ W_hh`.",
                replace(dh_prev=lambda da, d, p: da @ p["W_hh"].T)),
        Mistake("dW_hh_h_next", "dW_hh pairs da with the state this step *read*, h_prev: "
                "`dW_hh = da.T @ h_prev`, not h_next.",
                replace(dW_hh=lambda da, d, p: da.T @ d["h_next"])),
        Mistake("db_mean", "db_h sums the batch's contributions (`da.sum(axis=0)`); you "
                "averaged them.", replace(db_h=lambda da, d, p: da.mean(axis=0))),
    ]


COURSE_CACHE = ("The check hands your function the course's caches: `rnn_step_forward`'s dict "
                "with the keys x, h_prev, h_next, params, activation (read them as "
                "`cache['h_next']`). If your own forward builds its cache differently (a tuple, "
                "other keys), pass it as well: `check.rnn_step_backward(my_rnn_step_backward, "
                "forward=my_rnn_step_forward)`.")


def backward_exercise(options):
    return step_backward_exercise("rnn_step_backward", KEYS, make_cases=_backward_cases,
                                  reference=_backward_reference, mistakes=backward_mistakes(),
                                  error_note=("" if options.get("forward") is not None
                                              else COURSE_CACHE))


BACKWARD = Spec(
    name="rnn_step_backward",
    lesson="02_core_operations",
    exercise=backward_exercise,
    solution=reference_backward,
    signature="dh_next, cache",
    doc=("Backward through one RNN step.\n\n"
         "    dh_next (B, H); cache from the forward step (its activation says which f').\n"
         "    Return (dx, dh_prev, grads): dx (B, I), dh_prev (B, H), grads a dict with the keys "
         "of params."),
    summary=("Check ``fn(dh_next, cache) -> (dx, dh_prev, grads)`` with the activations "
             "``activations`` (all three unless told).\n\n"
             "The caches come from the course's ``rnn_step_forward`` (a dict with ``x``, "
             "``h_prev``, ``h_next``, ``params``, ``activation``), or from ``forward`` (your own "
             "forward step, called on copies) if given."),
    options=(Option("forward", None, _read_forward),
             Option("activations", ACTIVATIONS, _read_activations)),
)
