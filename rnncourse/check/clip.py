"""Exercise ``clip_grad_norm`` (lesson 4): global-norm gradient clipping (Pascanu et al. 2013).

The reference is :func:`rnncourse.clipping.clip_grad_norm`.
"""

from __future__ import annotations

import numpy as np

from rnncourse.clipping import clip_grad_norm as reference_clip

from ._engine import Case, Exercise, Mistake, Problem
from ._spec import Spec

CASES = [  # (shapes, global norm, max_norm)
    ([(4, 3), (4,), (2, 4)], 5.0, 1.0),   # above the threshold
    ([(4, 3), (4,), (2, 4)], 0.5, 2.0),   # below: nothing to do
    ([(3, 3)], 10.0, 3.0),                # a single array
    ([(5,), (2, 2, 2)], 3.0, 2.5),        # just above
]


def _cases(options):
    cases = []
    for seed, (shapes, norm, max_norm) in enumerate(CASES):
        rng = np.random.default_rng([seed, 5])
        grads = [rng.normal(0.0, 1.0, shape) for shape in shapes]
        total = np.sqrt(sum(np.sum(g**2) for g in grads))
        grads = [g * (norm / total) for g in grads]
        d = {"grads": grads, "max_norm": max_norm}
        sizes = {"arrays": len(grads), "norm": norm, "max_norm": max_norm}
        cases.append(Case((grads, max_norm), ("grads", "max_norm"), sizes, d))
    return cases


def _reference(case):
    clipped, norm = reference_clip(case.data["grads"], case.data["max_norm"])
    out = {f"clipped[{k}]": g for k, g in enumerate(clipped)}
    out["norm"] = norm
    return out


def _is_scalar(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


def _is_arrays(value):
    return isinstance(value, (list, tuple)) and all(isinstance(v, np.ndarray) for v in value)


def _unpack(result, case):
    """``(clipped, norm)`` (a tuple or a list), or ``clipped`` alone; anything else gets a
    message naming the format it has."""
    n = len(case.data["grads"])
    norm = None
    if isinstance(result, (tuple, list)) and len(result) == 2 and _is_scalar(result[1]) and (
            isinstance(result[0], (list, tuple))):
        result, norm = result
    elif isinstance(result, (tuple, list)) and len(result) == 2 and _is_scalar(result[0]) and (
            isinstance(result[1], (list, tuple))):
        raise Problem("You returned `(norm, clipped)`: the check expects the clipped arrays "
                      "first, `return clipped, norm` (the lesson's order).")
    if isinstance(result, np.ndarray):
        raise Problem(f"Expected a list of {n} clipped arrays (one per input array), or "
                      f"`(clipped, norm)`; got a single numpy array of shape {result.shape}. "
                      "Keep the arrays apart: scale each one and return the list.")
    if not isinstance(result, (list, tuple)):
        raise Problem(f"Expected a list of {n} clipped arrays (one per input array), or "
                      f"`(clipped, norm)`; got a {type(result).__name__}.")
    if not _is_arrays(result):
        kinds = ", ".join(type(v).__name__ for v in result)
        raise Problem(f"Expected a list of {n} clipped arrays, or `(clipped, norm)` with a "
                      f"number as norm; got a {type(result).__name__} of {kinds}.")
    if len(result) != n:
        raise Problem(f"Expected one clipped array per input array ({n}), got {len(result)}.")
    out = {f"clipped[{k}]": g for k, g in enumerate(result)}
    if norm is not None:
        out["norm"] = norm
    return out


def mistakes():
    def norm(d):
        return float(np.sqrt(sum(np.sum(g**2) for g in d["grads"])))

    def scaled(scale_of):  # every array times one factor computed from (norm, max_norm)
        def fn(d):
            s = scale_of(norm(d), d["max_norm"])
            return {f"clipped[{k}]": g * s for k, g in enumerate(d["grads"])}
        return fn

    def per_array(d):
        return {f"clipped[{k}]": reference_clip([g], d["max_norm"])[0][0]
                for k, g in enumerate(d["grads"])}

    def value_clip(d):
        return {f"clipped[{k}]": np.clip(g, -d["max_norm"], d["max_norm"])
                for k, g in enumerate(d["grads"])}

    def norm_after(d):
        clipped, total = reference_clip(d["grads"], d["max_norm"])
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


def exercise(options):
    return Exercise(
        name="clip_grad_norm",
        call="f(grads, max_norm) -> (clipped, norm) or clipped",
        make_cases=_cases,
        reference=_reference,
        unpack=_unpack,
        output_dims=lambda name: None,
        input_dims={},
        mistakes=mistakes(),
        new_arrays=True,
    )


CLIP = Spec(
    name="clip_grad_norm",
    lesson="04_gradient_flow",
    exercise=exercise,
    solution=reference_clip,
    signature="grads, max_norm",
    doc=("Clip a list of gradient arrays by their global norm (Pascanu et al.).\n\n"
         "    Return (clipped, norm): new arrays, and the norm before clipping."),
    summary=("Check ``fn(grads, max_norm)`` (a list of arrays) returning ``(clipped, norm)`` or "
             "just ``clipped``: global-norm clipping after Pascanu et al. (2013)."),
)
