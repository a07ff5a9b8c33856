"""Exercises ``linear_recurrence`` and ``memory_forward`` (lesson 7b): the linear recurrence
``h_t = a_t * h_{t-1} + b_t`` a parallel scan computes, and the outer-product memory
``S_t = decay S_{t-1} + v_t k_t^T``, ``y_t = S_t q_t`` (fast weights, linear attention).

The references are :func:`rnncourse.scan.sequential` and :func:`rnncourse.memory.memory_forward`,
the step-by-step definitions.
"""

from __future__ import annotations

import numpy as np

from rnncourse.memory import memory_forward as reference_memory
from rnncourse.scan import sequential as reference_recurrence

from ._engine import Case, Exercise, Mistake
from ._shared import unpack_tuple
from ._spec import Spec

# --- linear_recurrence -------------------------------------------------------------------------

RECURRENCE_SIZES = [(4, 3, 4), (1, 2, 5), (5, 1, 3), (3, 2, 6)]  # (T, B, H)


def _recurrence_cases(options):
    cases = []
    for seed, (T, B, H) in enumerate(RECURRENCE_SIZES):
        rng = np.random.default_rng([seed, 12])
        a = rng.uniform(-1.0, 1.0, (T, B, H))
        b = rng.normal(0.0, 1.0, (T, B, H))
        h0 = rng.normal(0.0, 1.0, (B, H))
        d = {"a": a, "b": b, "h0": h0}
        cases.append(Case((a, b, h0), ("a", "b", "h0"), {"T": T, "B": B, "H": H}, d))
    return cases


def _recurrence_reference(case):
    d = case.data
    return {"h": reference_recurrence(d["a"], d["b"], d["h0"])}


def _recurrence_variant(d, mistake):
    """A WRONG recurrence loop (``mistake`` names the slip)."""
    a, b, h0 = d["a"], d["b"], d["h0"]
    T = a.shape[0]
    hs, h = [], h0
    if mistake == "combine_order":  # (a, b) o (a', b') = (a a', a b' + b): the maps reversed
        acc_a, acc_b = a[0], a[0] * h0 + b[0]
        hs.append(acc_b)
        for t in range(1, T):
            acc_b = acc_b + acc_a * b[t]
            acc_a = acc_a * a[t]
            hs.append(acc_b)
        return {"h": np.stack(hs)}
    for t in range(T):
        if mistake == "no_carry":
            h_new = a[t] * h0 + b[t]
        elif mistake == "a_on_b":
            h_new = a[t] * (h + b[t])
        elif mistake == "a_shift_wrap":  # a[t-1] as written: a[-1] at t = 0
            h_new = a[t - 1] * h + b[t]
        else:
            h_new = a[t] * h + b[t]
        hs.append(h if mistake == "h0_first" else h_new)
        h = h_new
    return {"h": np.stack(hs)}


def recurrence_mistakes():
    def v(name):
        return lambda d: _recurrence_variant(d, name)

    return [
        Mistake("h0_ignored", "h0 is ignored: the first step is `h_1 = a_1 * h0 + b_1`, "
                "starting from the given h0, not from zeros.",
                lambda d: {"h": reference_recurrence(d["a"], d["b"])}),
        Mistake("no_carry", "Every step starts from h0: the state must be carried, "
                "`h = a[t] * h + b[t]`, so that step t reads h_{t-1}.", v("no_carry")),
        Mistake("a_on_b", "a_t multiplies the previous state only: `a[t] * h + b[t]`, not "
                "`a[t] * (h + b[t])`.", v("a_on_b")),
        Mistake("h0_first", "Off-by-one over time: h[t] must be the state *after* step t "
                "(h_1..h_T); yours starts with h0 and drops the last state.", v("h0_first")),
        Mistake("a_shift_wrap", "Off-by-one over time: step t uses `a[t-1]`, which at t = 0 is "
                "`a[-1]`, numpy's last step (negative indices wrap around, so nothing fails); "
                "step t uses a[t] and b[t].", v("a_shift_wrap")),
        Mistake("combine_order", "The steps are composed in the wrong order: doing (a, b) "
                "first and then (a', b') gives `(a' a, a' b + b')` (the later a' scales the "
                "earlier b), not `(a a', a b' + b)`. The operator is associative but not "
                "commutative.", v("combine_order")),
    ]


def recurrence_exercise(options):
    return Exercise(
        name="linear_recurrence",
        call="f(a, b, h0) -> h",
        make_cases=_recurrence_cases,
        reference=_recurrence_reference,
        unpack=lambda r, c: {"h": r},
        output_dims=lambda name: ("T", "B", "H"),
        input_dims={"a": ("T", "B", "H"), "b": ("T", "B", "H"), "h0": ("B", "H")},
        mistakes=recurrence_mistakes(),
    )


RECURRENCE = Spec(
    name="linear_recurrence",
    lesson="07b_memory_and_long_sequences",
    exercise=recurrence_exercise,
    solution=reference_recurrence,
    signature="a, b, h0",
    doc=("The linear recurrence h_t = a_t * h_{t-1} + b_t (elementwise), t = 1..T, from h0.\n\n"
         "    a, b (T, B, H); h0 (B, H).\n"
         "    Return h (T, B, H): h[t] the state after step t (h[0] = a[0] * h0 + b[0])."),
    summary="Check the linear recurrence ``fn(a, b, h0) -> h`` (``h_t = a_t * h_{t-1} + b_t``).",
)


# --- memory_forward ------------------------------------------------------------------------------

MEMORY_SIZES = [(4, 3, 4, 4, 0.9), (1, 2, 3, 5, 0.5), (5, 1, 2, 3, 1.0), (3, 2, 5, 2, 0.8)]
# (T, B, D_k, D_v, decay): the first square (D_k == D_v, where a transposed outer product fits)


def _memory_cases(options):
    cases = []
    for seed, (T, B, Dk, Dv, decay) in enumerate(MEMORY_SIZES):
        rng = np.random.default_rng([seed, 13])
        k, q = rng.normal(0.0, 1.0, (T, B, Dk)), rng.normal(0.0, 1.0, (T, B, Dk))
        v = rng.normal(0.0, 1.0, (T, B, Dv))
        d = {"k": k, "v": v, "q": q, "decay": decay}
        cases.append(Case((k, v, q, decay), ("k", "v", "q", "decay"),
                          {"T": T, "B": B, "D_k": Dk, "D_v": Dv, "decay": decay}, d))
    return cases


def _memory_reference(case):
    d = case.data
    y, S = reference_memory(d["k"], d["v"], d["q"], d["decay"])
    return {"y": y, "S": S}


def _memory_variant(d, mistake):
    """A WRONG memory loop (``mistake`` names the slip)."""
    k, v, q, decay = d["k"], d["v"], d["q"], d["decay"]
    T, B, Dk = k.shape
    Dv = v.shape[2]
    S = np.zeros((B, Dk, Dv) if mistake == "outer_transposed" else (B, Dv, Dk))
    ys = []
    for t in range(T):
        write = (k[t][:, :, None] * v[t][:, None, :] if mistake == "outer_transposed"
                 else v[t][:, :, None] * k[t][:, None, :])
        before = S
        if mistake == "decay_after_write":
            S = decay * (S + write)
        elif mistake == "no_decay":
            S = S + write
        else:
            S = decay * S + write
        read = before if mistake == "read_before_write" else S
        key = k[t] if mistake == "read_with_key" else q[t]
        if mistake == "read_transposed":
            ys.append(np.einsum("bvk,bv->bk", read, key))
        else:
            ys.append(np.einsum("bvk,bk->bv", read, key))
    return {"y": np.stack(ys), "S": S}


def memory_mistakes():
    def v(name):
        return lambda d: _memory_variant(d, name)

    return [
        Mistake("read_before_write", "You read before writing: y_t = S_t q_t reads the memory "
                "*after* step t's write (so a key can be read back at the step it is "
                "written); yours reads S_{t-1}.", v("read_before_write")),
        Mistake("outer_transposed", "The write is the outer product `v_t k_t^T` (D_v, D_k): "
                "`v[t][:, :, None] * k[t][:, None, :]`; yours is `k_t v_t^T` (with D_k == D_v "
                "the shapes fit either way).", v("outer_transposed")),
        Mistake("read_transposed", "The read is `S_t q_t` (D_v, D_k) @ (D_k,): "
                "`np.einsum('bvk,bk->bv', S, q[t])`; yours multiplies by S_t's transpose.",
                v("read_transposed")),
        Mistake("decay_after_write", "The decay applies to the old memory only: `S = decay * S "
                "+ v_t k_t^T`; yours decays the new write too.", v("decay_after_write")),
        Mistake("no_decay", "The decay is missing: `S = decay * S + v_t k_t^T`.", v("no_decay")),
        Mistake("read_with_key", "The read uses the query: `y_t = S_t q_t`; yours reads with "
                "the key k_t.", v("read_with_key")),
    ]


def memory_exercise(options):
    return Exercise(
        name="memory_forward",
        call="f(k, v, q, decay) -> (y, S)",
        make_cases=_memory_cases,
        reference=_memory_reference,
        unpack=lambda r, c: unpack_tuple(r, ("y", "S")),
        output_dims=lambda name: ("T", "B", "D_v") if name == "y" else ("B", "D_v", "D_k"),
        input_dims={"k": ("T", "B", "D_k"), "v": ("T", "B", "D_v"), "q": ("T", "B", "D_k")},
        mistakes=memory_mistakes(),
    )


MEMORY = Spec(
    name="memory_forward",
    lesson="07b_memory_and_long_sequences",
    exercise=memory_exercise,
    solution=reference_memory,
    signature="k, v, q, decay",
    doc=("The outer-product memory: S_t = decay * S_{t-1} + v_t k_t^T (S_0 = 0), y_t = S_t q_t."
         "\n\n    k, q (T, B, D_k); v (T, B, D_v); decay a number in (0, 1].\n"
         "    Return (y, S): y (T, B, D_v) every read, S (B, D_v, D_k) the final memory."),
    summary="Check the outer-product memory ``fn(k, v, q, decay) -> (y, S)``.",
)
