"""Exercise ``temporal_softmax_loss`` (lesson 6): the masked mean cross-entropy over a sequence
of logits, and its gradient.

The reference is :func:`rnncourse.np_softmax_loss.temporal_softmax_loss`; the catalogue's
variants rescale or re-mask the reference's answer (the loss is a mean over the counted steps).
"""

from __future__ import annotations

import numpy as np

from rnncourse.np_softmax_loss import temporal_softmax_loss as reference_loss

from ._engine import Case, Exercise, Mistake
from ._shared import unpack_tuple
from ._spec import Spec

SIZES = [(4, 3, 5, 0.0), (1, 2, 6, 0.0), (5, 1, 4, 0.0), (3, 2, 7, 1000.0)]  # (T, B, V, offset)


def _cases(options):
    cases = []
    for seed, (T, B, V, offset) in enumerate(SIZES):
        rng = np.random.default_rng([seed, 10])
        logits = offset + rng.normal(0.0, 3.0, (T, B, V))  # softmax ignores the offset
        targets = rng.integers(0, V, (T, B))
        mask = np.ones((T, B), bool) if T == 1 else rng.random((T, B)) > 0.3
        mask.flat[0] = True
        d = {"logits": logits, "targets": targets, "mask": mask}
        sizes = {"T": T, "B": B, "V": V, "masked": int((~mask).sum())}
        if offset:
            sizes["logits near"] = int(offset)
        cases.append(Case((logits, targets, mask), ("logits", "targets", "mask"), sizes, d))
    return cases


def _reference(case):
    d = case.data
    loss, dlogits = reference_loss(d["logits"], d["targets"], d["mask"])
    return {"loss": loss, "dlogits": dlogits}


def _scaled(d, factor_of):
    loss, dlogits = reference_loss(d["logits"], d["targets"], d["mask"])
    T, B, _ = d["logits"].shape
    c = factor_of(int(d["mask"].sum()), T, B)
    return {"loss": loss * c, "dlogits": dlogits * c}


def _mask_ignored(d):
    loss, dlogits = reference_loss(d["logits"], d["targets"], np.ones(d["mask"].shape, bool))
    return {"loss": loss, "dlogits": dlogits}


def _grad_not_masked(d):
    out = _reference(Case((), (), {}, d))
    _, everywhere = reference_loss(d["logits"], d["targets"], np.ones(d["mask"].shape, bool))
    out["dlogits"] = everywhere * d["mask"].size / d["mask"].sum()
    return out


def _no_onehot(d):
    out = _reference(Case((), (), {}, d))
    onehot = np.eye(d["logits"].shape[-1])[d["targets"]]
    out["dlogits"] = out["dlogits"] + onehot * d["mask"][..., None] / d["mask"].sum()
    return out


def mistakes():
    return [
        Mistake("mask_ignored", "The mask is ignored: padded steps (mask False) must not count, "
                "neither in the loss nor in its gradient.", _mask_ignored),
        Mistake("mean_over_all", "You divided by all T * B steps: the mean is over the steps "
                "that count, `mask.sum()`.", lambda d: _scaled(d, lambda n, T, B: n / (T * B))),
        Mistake("divided_by_batch", "You divided by the batch size B (CS231n's convention); this "
                "exercise takes torch's: the mean over the steps that count, `mask.sum()`.",
                lambda d: _scaled(d, lambda n, T, B: n / B)),
        Mistake("sum", "You summed the losses: take the mean over the steps that count (divide "
                "the loss and its gradient by `mask.sum()`).",
                lambda d: _scaled(d, lambda n, T, B: n)),
        Mistake("grad_not_masked", "The loss is right but its gradient is not masked: steps "
                "with mask False get zero gradient (`dlogits *= mask[..., None]`).",
                _grad_not_masked),
        Mistake("no_onehot", "dlogits = softmax - onehot(targets): you left out the one-hot "
                "part (subtract 1 at each target class).", _no_onehot),
    ]


def exercise(options):
    return Exercise(
        name="temporal_softmax_loss",
        call="f(logits, targets, mask) -> (loss, dlogits)",
        make_cases=_cases,
        reference=_reference,
        unpack=lambda r, c: unpack_tuple(r, ("loss", "dlogits")),
        output_dims=lambda name: ("T", "B", "V") if name == "dlogits" else None,
        input_dims={"logits": ("T", "B", "V"), "targets": ("T", "B"), "mask": ("T", "B")},
        mistakes=mistakes(),
        nan_hint="exp overflows beyond about 709: subtract each row's maximum from the logits "
                 "first (softmax does not change), `z - z.max(axis=-1, keepdims=True)`.",
        error_note="The check calls your function with logits (T, B, V) floats, targets (T, B) "
                   "ints and mask (T, B) bools; the last case has logits near 1000, so subtract "
                   "each row's maximum before exp.",
    )


LOSS = Spec(
    name="temporal_softmax_loss",
    lesson="06_experiments",
    exercise=exercise,
    solution=reference_loss,
    signature="logits, targets, mask",
    doc=("Masked mean cross-entropy over a sequence: the mean, over the steps with mask True, of "
         "-log softmax(logits[t, b])[targets[t, b]].\n\n"
         "    logits (T, B, V), targets (T, B) ints, mask (T, B) bools.\n"
         "    Return (loss, dlogits): a float, and its gradient (T, B, V)."),
    summary="Check ``fn(logits, targets, mask) -> (loss, dlogits)``, the masked mean.",
)
