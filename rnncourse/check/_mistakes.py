"""Catalogues of known mistakes, one list per exercise.

Each entry is a deliberately WRONG variant of the course's reference: most are the reference
itself called on transformed inputs (transposed or swapped weights, a zeroed bias, a rescaled
upstream gradient: the backward steps are linear in it), a few are written out because no input
transformation produces them (a sigmoid where a tanh belongs). None of them computes the right
answer: the right answer always comes from ``rnncourse.np_*`` and ``rnncourse.clipping``.
Order matters: the first entry that reproduces the learner's outputs names the mistake.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._engine import Mistake

GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g",
              "o": "output gate o", "r": "reset gate r", "z": "update gate z",
              "n": "candidate n"}


def _np(name):
    import importlib
    return importlib.import_module(f"rnncourse.{name}")


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _with(params, **changes):
    out = dict(params)
    out.update(changes)
    return out


def _transposed(params, prefix):
    return {k: (v.T if k.startswith(prefix) else v) for k, v in params.items()}


def _zero_biases(params, keys=None):
    return {k: (np.zeros_like(v) if k.startswith("b_") and (keys is None or k in keys) else v)
            for k, v in params.items()}


def _swap_gates(params, perm):
    """Gate ``a`` computed with the weights of gate ``perm[a]``."""
    out = dict(params)
    for a, b in perm.items():
        for kind in ("W_x", "W_h", "b_"):
            if f"{kind}{b}" in params:
                out[f"{kind}{a}"] = params[f"{kind}{b}"]
    return out


TRANSPOSE_X = ("You multiplied by {W} where the transpose is needed: a weight of shape (H, I) "
               "acts on column vectors, so a batch of rows x (B, I) needs `x @ {T}.T` (with "
               "I == H the shapes fit either way, so numpy does not complain).")
TRANSPOSE_H = ("You multiplied by {W} where the transpose is needed: a weight of shape (H, H) "
               "acts on column vectors, so a batch of rows h_prev (B, H) needs `h_prev @ {T}.T` "
               "(a square matrix fits either way, so numpy does not complain).")


def _transposed_mistakes(ref, gates):
    """Transposed-weight mistakes of a gated cell (LSTM, GRU)."""
    xs = ", ".join(f"W_x{k}" for k in gates)
    hs = ", ".join(f"W_h{k}" for k in gates)
    both = ("All weights are used without their transpose: "
            + TRANSPOSE_X.format(W="the input weights", T="W_xk")
            + " Same for `h_prev @ W_hk.T`.")
    return [
        Mistake("transposed_weights", both, lambda d: ref(d, _transposed(d["params"], "W_"))),
        Mistake("transposed_W_x", TRANSPOSE_X.format(W=f"the input weights {xs}", T="W_xk"),
                lambda d: ref(d, _transposed(d["params"], "W_x"))),
        Mistake("transposed_W_h", TRANSPOSE_H.format(W=f"the recurrent weights {hs}", T="W_hk"),
                lambda d: ref(d, _transposed(d["params"], "W_h"))),
    ]


# --- RNN step forward --------------------------------------------------------------------------

def rnn_forward_mistakes(activations):
    def ref(d, params=None, activation=None):
        h, _ = _np("np_rnn").rnn_step_forward(
            d["x"], d["h_prev"], d["params"] if params is None else params,
            d["activation"] if activation is None else activation)
        return {"h_next": h}

    def tr(prefix):
        return lambda d: ref(d, _transposed(d["params"], prefix))

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
                lambda d: ref(d, _with(d["params"], W_xh=d["params"]["W_hh"],
                                       W_hh=d["params"]["W_xh"]))),
        Mistake("missing_bias", "You forgot the bias: add `params['b_h']` to the "
                "pre-activation before the nonlinearity.", lambda d: ref(d, _zero_biases(
                    d["params"]))),
        Mistake("no_recurrence", "h_prev is ignored: the pre-activation needs "
                "`h_prev @ W_hh.T` as well as `x @ W_xh.T`.",
                lambda d: ref(d, _with(d["params"], W_hh=0 * d["params"]["W_hh"]))),
        Mistake("no_input", "x is ignored: the pre-activation needs `x @ W_xh.T`.",
                lambda d: ref(d, _with(d["params"], W_xh=0 * d["params"]["W_xh"]))),
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


# --- RNN step backward -------------------------------------------------------------------------

def _rnn_back(d, dh_next=None, params=None):
    cache = d["ref_cache"] if params is None else {**d["ref_cache"], "params": params}
    dx, dh_prev, grads = _np("np_rnn").rnn_step_backward(
        d["dh_next"] if dh_next is None else dh_next, cache)
    out = {"dx": dx, "dh_prev": dh_prev}
    out.update({"d" + k: v for k, v in grads.items()})
    return out


def _rnn_da(d):
    """dL/da row by row from the reference: with one batch row of dh_next kept, db_h = da[b]."""
    dh = d["dh_next"]
    rows = []
    for b in range(dh.shape[0]):
        masked = np.zeros_like(dh)
        masked[b] = dh[b]
        rows.append(_rnn_back(d, masked)["db_h"])
    return np.stack(rows)


def rnn_step_backward_mistakes():
    def rescaled(factor):  # the backward step is linear in dh_next: da' = dh * wrong / right
        def fn(d):
            h, h_prev = d["h_next"], d["h_prev"]
            return _rnn_back(d, d["dh_next"] * factor(h, h_prev) / (1.0 - h**2))
        return fn

    def replace(**outputs):
        def fn(d):
            out = _rnn_back(d)
            da = _rnn_da(d)
            p = d["params"]
            for key, make in outputs.items():
                out[key] = make(da, d, p)
            return out
        return fn

    return [
        Mistake("no_activation_derivative", "You forgot to backpropagate through the tanh: "
                "da = dh_next * (1 - h_next**2) (tanh' read off the output), not dh_next itself.",
                rescaled(lambda h, hp: np.ones_like(h))),
        Mistake("derivative_precedence", "Operator precedence in tanh': it is "
                "`1 - h_next**2`, not `(1 - h_next)**2`.", rescaled(lambda h, hp: (1 - h)**2)),
        Mistake("derivative_of_h_prev", "tanh' belongs to this step's output: "
                "`1 - h_next**2`, not `1 - h_prev**2`.", rescaled(lambda h, hp: 1 - hp**2)),
        Mistake("sigmoid_derivative", "You used the sigmoid's derivative h (1 - h); for tanh "
                "it is `1 - h_next**2`.", rescaled(lambda h, hp: h * (1 - h))),
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
        Mistake("swapped_dx_dh_prev", "dx and dh_prev are computed with each other's weights: "
                "`dx = da @ W_xh`, `dh_prev = da @ W_hh`.",
                replace(dx=lambda da, d, p: da @ p["W_hh"],
                        dh_prev=lambda da, d, p: da @ p["W_xh"])),
    ]


# --- RNN backward through time ----------------------------------------------------------------

def _bptt_variant(d, mistake):
    """A WRONG backpropagation through time, built from the reference step backward."""
    back = _np("np_rnn").rnn_step_backward
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
        total = direct if mistake == "no_carry" else direct + carry
        dx[t], carry, step_grads = back(total, steps[t])
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


def rnn_backward_mistakes():
    def v(name):
        return lambda d: _bptt_variant(d, name)

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
        Mistake("dx_reversed", "dx is in reverse time order: you collected it while looping "
                "backwards; reverse it (`dxs[::-1]`) or write `dx[t] = ...`.", v("dx_reversed")),
    ]


# --- LSTM step forward ------------------------------------------------------------------------

def _pre(d, gate, params=None):
    p = d["params"] if params is None else params
    a = d["x"] @ p[f"W_x{gate}"].T + d["h_prev"] @ p[f"W_h{gate}"].T
    return a + p[f"b_{gate}"] if f"b_{gate}" in p else a


def _lstm_variant(d, mistake):
    """A WRONG LSTM step: ``mistake`` names what is off (never None)."""
    assert mistake
    act = {"i": _sigmoid, "f": _sigmoid, "g": np.tanh, "o": _sigmoid}
    if mistake.startswith("act_"):
        gate = mistake[4]
        act[gate] = _sigmoid if act[gate] is np.tanh else np.tanh
    i, f, g, o = (act[k](_pre(d, k)) for k in "ifgo")
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


def _perm_hint(perm):
    cycles = [(a, b) for a, b in perm.items() if a != b]
    if len(cycles) == 2 and perm[cycles[0][1]] == cycles[0][0]:
        a, b = cycles[0]
        return (f"Wrong gate order: you swapped the {GATE_NAMES[a]} and the {GATE_NAMES[b]} "
                f"(each is computed with the other's weights; {a} needs W_x{a}, W_h{a}, b_{a}).")
    uses = ", ".join(f"{a} uses the weights of {b}" for a, b in cycles)
    return f"Wrong gate order: {uses}. Each gate k needs its own W_xk, W_hk, b_k."


def lstm_forward_mistakes():
    def ref(d, params):
        h, c, _ = _np("np_lstm").lstm_step_forward(d["x"], d["h_prev"], d["c_prev"], params)
        return {"h_next": h, "c_next": c}

    def variant(name):
        return lambda d: _lstm_variant(d, name)

    mistakes = [
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
        mistakes.append(Mistake(f"act_{gate}", f"Sigmoid and tanh swapped on the "
                                f"{GATE_NAMES[gate]}: it uses {right}, you applied {wrong}.",
                                variant(f"act_{gate}")))
    for order in itertools.permutations("ifgo"):
        perm = dict(zip("ifgo", order))
        if order != tuple("ifgo"):
            mistakes.append(Mistake("gate_order_" + "".join(order), _perm_hint(perm),
                                    lambda d, perm=perm: ref(d, _swap_gates(d["params"], perm))))
    mistakes += _transposed_mistakes(ref, "ifgo") + [
        Mistake("missing_bias", "You forgot the biases: every gate's pre-activation is "
                "`x @ W_xk.T + h_prev @ W_hk.T + b_k`.",
                lambda d: ref(d, _zero_biases(d["params"]))),
    ]
    for gate in "ifgo":
        mistakes.append(Mistake(f"missing_bias_{gate}", f"You forgot the bias b_{gate} of the "
                                f"{GATE_NAMES[gate]}.",
                                lambda d, g=gate: ref(d, _zero_biases(d["params"], [f"b_{g}"]))))
    return mistakes


# --- GRU step forward (torch form) --------------------------------------------------------------

def _gru_variant(d, mistake):
    """A WRONG torch-form GRU step: ``mistake`` names what is off (never None)."""
    assert mistake
    p = d["params"]
    act = {"r": _sigmoid, "z": _sigmoid, "n": np.tanh}
    if mistake.startswith("act_"):
        gate = mistake[4]
        act[gate] = _sigmoid if act[gate] is np.tanh else np.tanh
    r, z = act["r"](_pre(d, "r")), act["z"](_pre(d, "z"))
    hn = d["h_prev"] @ p["W_hn"].T
    xn = d["x"] @ p["W_xn"].T + p["b_n"]
    if mistake == "b_hn_outside":
        n = act["n"](xn + p["b_hn"] + r * hn)
    else:
        n = act["n"](xn + r * (hn + p["b_hn"]))
    return {"h_next": (1.0 - z) * n + z * d["h_prev"]}


def gru_forward_mistakes():
    def ref(d, params, form="torch"):
        h, _ = _np("np_gru").gru_step_forward(d["x"], d["h_prev"], params, form)
        return {"h_next": h}

    def variant(name):
        return lambda d: _gru_variant(d, name)

    def seed_form(d):
        return ref(d, {k: v for k, v in d["params"].items() if k != "b_hn"}, "seed")

    def z_flipped(d):  # sigma(-a) = 1 - sigma(a): negating z's parameters swaps z and 1 - z
        p = d["params"]
        return ref(d, _with(p, W_xz=-p["W_xz"], W_hz=-p["W_hz"], b_z=-p["b_z"]))

    mistakes = [
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
                lambda d: ref(d, _zero_biases(d["params"], ["b_hn"]))),
        Mistake("swap_r_z", "Wrong gate order: you swapped the reset gate r and the update "
                "gate z (each is computed with the other's weights).",
                lambda d: ref(d, _swap_gates(d["params"], {"r": "z", "z": "r"}))),
    ]
    for gate in "rzn":
        right, wrong = ("tanh", "sigmoid") if gate == "n" else ("sigmoid", "tanh")
        mistakes.append(Mistake(f"act_{gate}", f"Sigmoid and tanh swapped on the "
                                f"{GATE_NAMES[gate]}: it uses {right}, you applied {wrong}.",
                                variant(f"act_{gate}")))
    mistakes += _transposed_mistakes(ref, "rzn") + [
        Mistake("missing_bias", "You forgot the biases (b_r, b_z, b_n and b_hn).",
                lambda d: ref(d, _zero_biases(d["params"]))),
    ]
    return mistakes


# --- gradient norm clipping ---------------------------------------------------------------------

def clip_mistakes():
    def norm(d):
        return float(np.sqrt(sum(np.sum(g**2) for g in d["grads"])))

    def scaled(scale_of):  # every array times one factor computed from (norm, max_norm)
        def fn(d):
            s = scale_of(norm(d), d["max_norm"])
            return {f"clipped[{k}]": g * s for k, g in enumerate(d["grads"])}
        return fn

    def per_array(d):
        clip = _np("clipping").clip_grad_norm
        return {f"clipped[{k}]": clip([g], d["max_norm"])[0][0] for k, g in enumerate(d["grads"])}

    def value_clip(d):
        return {f"clipped[{k}]": np.clip(g, -d["max_norm"], d["max_norm"])
                for k, g in enumerate(d["grads"])}

    def norm_after(d):
        clipped, total = _np("clipping").clip_grad_norm(d["grads"], d["max_norm"])
        out = {f"clipped[{k}]": g for k, g in enumerate(clipped)}
        out["norm"] = min(total, d["max_norm"])
        return out

    def no_sqrt(d):
        out = scaled(lambda n, m: m / n**2 if n**2 > m else 1.0)(d)
        out["norm"] = norm(d) ** 2
        return out

    return [
        Mistake("per_array", "You clipped each array by its own norm. Pascanu et al. clip the "
                "global norm: ||g|| = sqrt(sum over all arrays of sum(g**2)), then every array "
                "is scaled by the same factor max_norm / ||g||, which keeps the direction of g.",
                per_array),
        Mistake("always_rescale", "You rescaled although the norm was below the threshold: "
                "clip only when ||g|| > max_norm, otherwise return the gradients unchanged.",
                scaled(lambda n, m: m / n)),
        Mistake("never_clip", "Nothing was clipped although ||g|| > max_norm: then every array "
                "must be multiplied by max_norm / ||g||.", scaled(lambda n, m: 1.0)),
        Mistake("value_clip", "You clipped each entry to [-max_norm, max_norm] (value clipping); "
                "norm clipping rescales whole arrays by max_norm / ||g|| instead, keeping the "
                "direction of the gradient.", value_clip),
        Mistake("no_sqrt", "The norm is the *square root* of the sum of squares: you used the "
                "sum of squares itself.", no_sqrt),
        Mistake("unit_norm", "You divided by ||g|| but forgot to multiply by max_norm: the "
                "clipped gradient has length max_norm, not 1.",
                scaled(lambda n, m: 1.0 / n if n > m else 1.0)),
        Mistake("inverted_ratio", "The scale factor is upside down: max_norm / ||g||, not "
                "||g|| / max_norm.", scaled(lambda n, m: n / m if n > m else 1.0)),
        Mistake("norm_after", "Return the norm *before* clipping (the one worth logging), not "
                "after.", norm_after),
    ]
