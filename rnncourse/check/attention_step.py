"""Exercise ``additive_attention`` (lesson 7): the scores ``e_i = v^T tanh(W s + U h_i)``, the
masked softmax over the source positions and the context ``c = sum_i alpha_i h_i``.

The reference is :func:`rnncourse.np_attention.additive_attention` (tested against
:class:`rnncourse.attention.Attention`).
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_attention import additive_attention as reference_attention

from ._engine import Case, Exercise, Mistake
from ._shared import unpack_tuple
from ._spec import Spec

SIZES = [(4, 3, 4, 4, 4, None), (1, 2, 3, 5, 2, None), (5, 1, 3, 2, 4, None),
         (3, 2, 2, 3, 5, 1000.0)]
# (S, B, Q, K, A, largest |score|): the first square (Q == K == A); the last with v scaled so
# that the scores reach +-1000, where exp overflows unless the largest score is subtracted first


def _cases(options):
    cases = []
    for seed, (S, B, Q, K, A, largest) in enumerate(SIZES):
        rng = np.random.default_rng([seed, 14])
        params = {"W": rng.normal(0.0, 0.7, (A, Q)), "U": rng.normal(0.0, 0.7, (A, K)),
                  "v": rng.normal(0.0, 1.0, A)}
        query, states = rng.normal(0.0, 1.0, (B, Q)), rng.normal(0.0, 1.0, (S, B, K))
        if largest:
            e = np.tanh((query @ params["W"].T)[None] + states @ params["U"].T) @ params["v"]
            params["v"] = params["v"] * (largest / np.abs(e).max())
        lengths = rng.integers(1, S + 1, B)
        lengths[0] = S
        if B > 1:
            lengths[-1] = max(1, S - 2)  # padding in every case with S > 1 and B > 1
        mask = np.arange(S)[:, None] < lengths[None, :]
        d = {"query": query, "states": states, "mask": mask, "params": params}
        sizes = {"S": S, "B": B, "Q": Q, "K": K, "A": A, "padded": int((~mask).sum())}
        if largest:
            sizes["scores up to"] = int(largest)
        cases.append(Case((query, states, mask, params), ("query", "states", "mask", "params"),
                          sizes, d))
    return cases


def _reference(case):
    d = case.data
    c, w = reference_attention(d["query"], d["states"], d["mask"], d["params"])
    return {"context": c, "weights": w}


def _variant(d, mistake):
    """A WRONG attention step (``mistake`` names the slip)."""
    p, s, h, mask = d["params"], d["query"], d["states"], d["mask"]
    W = p["W"].T if mistake == "transposed_W" else p["W"]
    U = p["U"].T if mistake == "transposed_U" else p["U"]
    pre = (s @ W.T)[None] + h @ U.T
    e = (pre if mistake == "no_tanh" else np.tanh(pre)) @ p["v"]    # (S, B)
    if mistake == "mask_zero_score":
        e = e * mask
    elif mistake not in ("mask_ignored", "mask_after_softmax"):
        e = np.where(mask, e, -np.inf)
    axis = 1 if mistake == "softmax_over_batch" else 0
    z = np.exp(e - e.max(axis=axis, keepdims=True))
    w = z / z.sum(axis=axis, keepdims=True)
    if mistake == "mask_after_softmax":
        w = w * mask
    c = np.einsum("sb,sbk->bk", w, h)
    if mistake == "context_mean":
        c = h.mean(axis=0)
    return {"context": c, "weights": w}


def mistakes():
    def v(name):
        return lambda d: _variant(d, name)

    return [
        Mistake("softmax_over_batch", "The softmax runs over the wrong axis: the weights are a "
                "distribution over the source positions, axis 0 of the (S, B) scores "
                "(`e.max(axis=0)`, `.sum(axis=0)`), not over the batch.",
                v("softmax_over_batch")),
        Mistake("mask_ignored", "The mask is ignored: padded positions (mask False) must get "
                "weight exactly 0; set their scores to -inf before the softmax "
                "(`np.where(mask, e, -np.inf)`).", v("mask_ignored")),
        Mistake("mask_after_softmax", "The mask is applied after the softmax: the weights of "
                "the real positions then no longer sum to 1. Set the padded scores to -inf "
                "*before* the softmax, so the sum runs over real positions only.",
                v("mask_after_softmax")),
        Mistake("mask_zero_score", "The padded scores are set to 0, not -inf: exp(0) = 1, so "
                "padding still gets weight. Use `np.where(mask, e, -np.inf)`.",
                v("mask_zero_score")),
        Mistake("no_tanh", "e_i = v^T tanh(W s + U h_i): you forgot the tanh.", v("no_tanh")),
        Mistake("transposed_W", "W (A, Q) is used without its transpose: the query's part is "
                "`query @ W.T` (with A == Q the shapes fit either way).", v("transposed_W")),
        Mistake("transposed_U", "U (A, K) is used without its transpose: the states' part is "
                "`states @ U.T` (with A == K the shapes fit either way).", v("transposed_U")),
        Mistake("context_mean", "The context is the *weighted* sum `sum_i alpha_i h_i` "
                "(`np.einsum('sb,sbk->bk', weights, states)`), not the plain mean of the "
                "states.", v("context_mean")),
    ]


def localise(case, call):
    """Where the weights go wrong: at padded positions, in the column sums, or at which
    source positions of which sequence."""
    got = call(case.args)
    if not got or "weights" not in got:
        return []
    w = got["weights"]
    want = _reference(case)["weights"]
    mask = case.data["mask"]
    if w.shape != want.shape or not np.all(np.isfinite(w)):
        return []
    lines = []
    if (~mask).any() and np.any(np.abs(w[~mask]) > 1e-12):
        lines.append(f"Your weights are not 0 at the padded positions (mask False): up to "
                     f"{float(np.max(np.abs(w[~mask]))):.3g}.")
    sums = w.sum(axis=0)
    if not np.allclose(sums, 1.0, rtol=1e-6, atol=1e-9):
        lines.append(f"Your weights do not sum to 1 over the source positions: the columns sum "
                     f"to {', '.join(f'{x:.3g}' for x in sums)}.")
    bad = [(i, b) for i in range(w.shape[0]) for b in range(w.shape[1])
           if mask[i, b] and not np.isclose(w[i, b], want[i, b], rtol=1e-5, atol=1e-7)]
    if bad:
        where = ", ".join(f"(i={i}, b={b})" for i, b in bad[:6]) + (" ..." if len(bad) > 6 else "")
        lines.append(f"Weights wrong at {len(bad)} real position{'s' if len(bad) > 1 else ''} "
                     f"(source position i, sequence b): {where}.")
    return lines


def exercise(options):
    return Exercise(
        name="additive_attention",
        call="f(query, states, mask, params) -> (context, weights)",
        make_cases=_cases,
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("context", "weights")),
        output_dims=lambda name: ("B", "K") if name == "context" else ("S", "B"),
        input_dims={"query": ("B", "Q"), "states": ("S", "B", "K"), "mask": ("S", "B")},
        mistakes=mistakes(),
        localise=localise,
        nan_hint="exp overflows beyond about 709: subtract each column's largest real score "
                 "before exp (the weights do not change), `e - e.max(axis=0, keepdims=True)`.",
        error_note="The check calls your function with query (B, Q), states (S, B, K), mask "
                   "(S, B) bools (True at real positions) and params a dict with W (A, Q), "
                   "U (A, K) and v (A,).",
    )


ATTENTION = Spec(
    name="additive_attention",
    lesson="07_advanced",
    exercise=exercise,
    solution=reference_attention,
    signature="query, states, mask, params",
    doc=("Additive attention: e_i = v^T tanh(W s + U h_i), weights = softmax over the real "
         "positions, context = sum_i weights_i h_i.\n\n"
         "    query (B, Q), states (S, B, K), mask (S, B) bools (True at real positions); params "
         "W (A, Q), U (A, K), v (A,).\n"
         "    Return (context, weights): context (B, K), weights (S, B) (0 at padding, each "
         "column summing to 1)."),
    summary="Check additive attention ``fn(query, states, mask, params) -> (context, weights)``.",
)
