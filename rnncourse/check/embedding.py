"""Exercises ``embedding_forward`` and ``embedding_backward`` (lesson 6): reading rows of an
embedding table, and adding the gradients back into them (repeated tokens accumulate).

The references are :mod:`rnncourse.np_embedding`.
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_embedding import embedding_backward as reference_backward
from rnncourse.np_embedding import embedding_forward as reference_forward

from ._engine import Case, Exercise, Mistake
from ._shared import unpack_tuple
from ._spec import Spec

SIZES = [(4, 3, 6, 5), (1, 2, 7, 3), (5, 1, 4, 6), (3, 2, 3, 2)]  # (T, B, V, D): few tokens


def _cases(options):
    cases = []
    for seed, (T, B, V, D) in enumerate(SIZES):
        rng = np.random.default_rng([seed, 9])
        idx = rng.integers(0, V, (T, B))
        idx.flat[-1] = idx.flat[0]  # at least one repeated token
        W = rng.normal(0.0, 1.0, (V, D))
        d = {"idx": idx, "W": W, "dout": rng.normal(0.0, 1.0, (T, B, D))}
        d["out"], d["cache"] = reference_forward(idx, W)
        cases.append((d, {"T": T, "B": B, "V": V, "D": D}))
    return cases


def _forward_reference(case):
    return {"out": reference_forward(case.data["idx"], case.data["W"])[0]}


def forward_mistakes():
    return [
        Mistake("off_by_one", "Off by one: token v is row v of W (`W[idx]`), not row v - 1 "
                "(ids start at 0).", lambda d: {"out": d["W"][d["idx"] - 1]}),
    ]


def forward_exercise(options):
    return Exercise(
        name="embedding_forward",
        call="f(idx, W) -> (out, cache)",
        make_cases=lambda o: [Case((d["idx"], d["W"]), ("idx", "W"), s, d)
                              for d, s in _cases(o)],
        reference=_forward_reference,
        unpack=lambda r, c: unpack_tuple(r, ("out", "cache")),
        output_dims=lambda name: ("T", "B", "D"),
        input_dims={"idx": ("T", "B"), "W": ("V", "D")},
        mistakes=forward_mistakes(),
    )


FORWARD = Spec(
    name="embedding_forward",
    lesson="06_experiments",
    exercise=forward_exercise,
    solution=reference_forward,
    signature="idx, W",
    doc=("Embedding lookup: out[t, b] = W[idx[t, b]].\n\n"
         "    idx (T, B) integer token ids; W (V, D).\n"
         "    Return (out, cache): out (T, B, D), cache what the backward needs."),
    summary="Check the embedding lookup ``fn(idx, W) -> (out, cache)``.",
)


def _backward_reference(case):
    return {"dW": reference_backward(case.data["dout"], case.data["cache"])}


def _overwritten(d):
    dW = np.zeros_like(d["W"])
    dW[d["idx"]] += d["dout"]  # fancy-index assignment: a repeated token keeps one row only
    return {"dW": dW}


def _averaged(d):
    dW = reference_backward(d["dout"], d["cache"])
    counts = np.bincount(d["idx"].ravel(), minlength=d["W"].shape[0])
    return {"dW": dW / np.maximum(counts, 1)[:, None]}


def backward_mistakes():
    return [
        Mistake("not_accumulated", "Repeated tokens must accumulate: `dW[idx] += dout` keeps only "
                "one of the rows of a token that occurs twice (numpy's fancy indexing does not "
                "add up repeats). Use `np.add.at(dW, idx.ravel(), dout.reshape(-1, D))`, or a "
                "loop.", _overwritten),
        Mistake("averaged", "You averaged the gradients of a repeated token: each occurrence "
                "adds its gradient, so sum them.", _averaged),
    ]


def backward_exercise(options):
    return Exercise(
        name="embedding_backward",
        call="f(dout, cache) -> dW",
        make_cases=lambda o: [Case((d["dout"], d["cache"]), ("dout", "cache"), s, d)
                              for d, s in _cases(o)],
        reference=_backward_reference,
        unpack=lambda r, c: {"dW": r},
        output_dims=lambda name: ("V", "D"),
        input_dims={"dout": ("T", "B", "D")},
        mistakes=backward_mistakes(),
        error_note="The check hands your function the course's cache: `embedding_forward`'s "
                   "dict with the keys idx and W.",
    )


BACKWARD = Spec(
    name="embedding_backward",
    lesson="06_experiments",
    exercise=backward_exercise,
    solution=reference_backward,
    signature="dout, cache",
    doc=("Gradient of the embedding table.\n\n"
         "    dout (T, B, D); cache from embedding_forward.\n"
         "    Return dW (V, D): each dout[t, b] added into row idx[t, b] (repeats add up)."),
    summary="Check the embedding backward ``fn(dout, cache) -> dW`` (repeated tokens add up).",
)
