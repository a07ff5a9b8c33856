"""The claims of lesson 7b's papers, each decided from the numbers lesson 7b saved.

Lesson 5's table of the literature (:mod:`rnncourse.literature`) holds the classic papers'
claims, checked in lesson 5. Four later papers are checked in lesson 7b, whose experiments take
a minute: Ba et al. 2016 (fast weights), Martin & Cundy 2018 (the parallel scan), Orvieto et al.
2023 (the LRU) and Feng et al. 2024 (minGRU). :func:`claims` turns lesson 7b's declared records
(:mod:`rnncourse.records`: ``recall``, ``scan_checks``, ``cost``, ``adding``, ``per_step``,
``gradient_rate``) into one :class:`~rnncourse.literature.Claim` per paper, its verdict decided
by the numbers; :func:`load_claims` reads those records from the results store, so that lesson
5 can show the rows once lesson 7b has run, and says which are missing otherwise.

Every function reads the record data as the store returns it (keys of dicts are text: the
number of pairs ``"16"``, the length ``"512"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from .literature import Claim, Verdict

__all__ = ["LESSON", "RECORDS", "FENG_SPEEDUP_512", "recall_claim", "scan_claim", "lru_claim",
           "mingru_claim", "claims", "LoadedClaims", "load_claims"]

LESSON = "07b_memory_and_long_sequences"
RECORDS = ("recall", "scan_checks", "cost", "adding", "per_step", "gradient_rate")
"""The records of lesson 7b the four claims read."""

FENG_SPEEDUP_512 = 175.0
"""Feng et al. 2024: minGRU's training step against a GRU's at length 512, on a GPU (read)."""


def _by_int(d: Mapping) -> dict[int, float]:
    return {int(k): float(v) for k, v in d.items()}


def recall_claim(recall: Mapping) -> Claim:
    """Ba et al. 2016 from lesson 7b's ``recall`` record: the memory must reach 95% at every
    number of pairs and beat the LSTM by more than 50 points at the most pairs (agrees); a
    smaller win is "partly", no win "disagrees"."""
    mem, lstm = _by_int(recall["memory_accuracy"]), _by_int(recall["lstm_accuracy"])
    most = max(mem)
    gap = mem[most] - lstm[most]
    n = recall["n_params"]
    measured = (f"{most} pairs: memory {mem[most]:.1%}, LSTM {lstm[most]:.1%} (chance 6.2%); "
                f"memory >= {min(mem.values()):.1%} at every number of pairs "
                f"({int(n['memory'])} vs {int(n['lstm'])} parameters)")
    form = ("our memory is the linear-attention form S_t = S_{t-1} + v_t k_t^T of learned "
            "projections of the input, not Ba et al.'s fast weights on a slow RNN's state, "
            "and the LSTM is matched in parameters, not in hidden units")
    if min(mem.values()) >= 0.95 and gap > 0.5:
        verdict, why = Verdict.AGREES, form
    elif gap > 0:
        verdict, why = Verdict.PARTLY, (f"the memory wins by only {gap:.0%} at {most} pairs; "
                                        + form)
    else:
        verdict, why = Verdict.DISAGREES, f"the LSTM does as well ({gap:+.0%}); " + form
    return Claim("ba2016", "a fast-weight (outer-product) memory retrieves recent "
                 "associations that an LSTM of the same size loses",
                 "associative recall, 2 to 16 pairs, same training budget (lesson 7b)",
                 measured, verdict, why)


def scan_claim(scan_checks: Mapping, cost: Mapping) -> Claim:
    """Martin & Cundy 2018 from ``scan_checks`` and ``cost``: the scan must equal the loop
    (1e-12) and beat it at both widths measured (agrees); beating it only on narrow channels is
    "partly" (on a CPU the gain is vectorisation, not depth); not beating it, "disagrees"."""
    err = max(float(v) for v in scan_checks.values())
    narrow = float(cost["speedup_longest"])
    wide = float(cost["wide_T1024"]["loop_over_scan"])
    longest = int(max(cost["T"]))
    measured = (f"scan = loop to {err:.0e}; loop / scan {narrow:.1f}x at T = {longest} with 64 "
                f"channels, {wide:.1f}x at T = 1024 with 4096 channels (CPU, one thread)")
    if err >= 1e-12:
        return Claim("martin2018", _SCAN_CLAIM, _SCAN_EXPERIMENT, measured, Verdict.DISAGREES,
                     f"the scan differs from the loop by {err:.1e}")
    if narrow > 1 and wide > 1:
        verdict, why = Verdict.AGREES, ("on a 2-core CPU the speed-up comes from vectorisation "
                                        "(a few large calls), not from depth")
    elif narrow > 1:
        verdict, why = Verdict.PARTLY, (
            "exact, and faster on narrow channels, but on a 2-core CPU the gain is "
            "vectorisation, not depth: with wide channels the loop's calls fill with work and "
            "the scan's extra passes over memory cost more than they save")
    else:
        verdict, why = Verdict.DISAGREES, "the loop is faster at every width measured here"
    return Claim("martin2018", _SCAN_CLAIM, _SCAN_EXPERIMENT, measured, verdict, why)


_SCAN_CLAIM = ("a linear recurrence can be computed over the sequence length by a parallel "
               "scan, exactly, and much faster than step by step")
_SCAN_EXPERIMENT = "Blelloch scan against the loop, T = 64 to 16384, values and gradients (7b)"


def _adding(adding: Mapping) -> dict[str, float]:
    return {name: float(r["test_mse"]) for name, r in adding.items()}


def lru_claim(adding: Mapping, gradient_rate: Mapping) -> Claim:
    """Orvieto et al. 2023 from ``adding`` and ``gradient_rate``: the LRU must solve the adding
    problem (test MSE < 0.05) at under half the better gated cell's MSE, with the gradient's
    per-step rate equal to ``|lambda|`` (1e-12) (agrees); beating the gated cells without
    solving it is "partly"."""
    mse = _adding(adding)
    gated = min(mse["gru"], mse["lstm"])
    err = float(gradient_rate["max_error"])
    measured = (f"test MSE at T = 256: LRU {mse['lru']:.4f}, GRU {mse['gru']:.4f}, LSTM "
                f"{mse['lstm']:.4f} (mean 0.1667); gradient rate = |lambda| to {err:.0e}")
    scope = ("one toy long-range task at T = 256, not the Long Range Arena, and no S4/S5 to "
             "compare with")
    if mse["lru"] < 0.05 and mse["lru"] < 0.5 * gated and err < 1e-12:
        verdict, why = Verdict.AGREES, scope
    elif mse["lru"] < gated:
        verdict, why = Verdict.PARTLY, (f"the LRU beats the gated cells but does not solve the "
                                        f"task (MSE {mse['lru']:.3f}); " + scope)
    else:
        verdict, why = Verdict.DISAGREES, ("on the same CPU budget the LRU does no better than "
                                           "the GRU or LSTM; " + scope)
    return Claim("orvieto2023", "a deep linear recurrence with diagonal complex eigenvalues, "
                 "exponential parameterisation, gamma normalisation and ring initialisation "
                 "learns long-range dependencies where RNNs fail",
                 "adding problem, T = 256, the same CPU-time budget for LRU, GRU, LSTM (7b)",
                 measured, verdict, why)


def mingru_claim(adding: Mapping, per_step: Mapping) -> Claim:
    """Feng et al. 2024 from ``adding`` and ``per_step``: a minGRU step faster than a GRU's by
    at least half the reported 175x at T = 512, and the task solved (agrees); faster by less,
    or solving it, "partly"; neither, "disagrees"."""
    mse = _adding(adding)
    steps = {int(T): row for T, row in per_step.items()}
    ratio = {T: float(row["gru"]) / float(row["mingru"]) for T, row in steps.items()}
    solved = mse["mingru"] < 0.05 and mse["mingru"] < 0.5 * min(mse["gru"], mse["lstm"])
    measured = (", ".join(f"GRU / minGRU step {ratio[T]:.1f}x at T = {T}" for T in sorted(ratio))
                + f"; adding T = 256: minGRU MSE {mse['mingru']:.4f} vs GRU {mse['gru']:.4f}")
    r512 = ratio.get(512, min(ratio.values()))
    if r512 >= FENG_SPEEDUP_512 / 2 and solved:
        verdict, why = Verdict.AGREES, ""
    elif r512 > 1 or solved:
        verdict, why = Verdict.PARTLY, (
            f"faster per step by {r512:.1f}x at T = 512, not {FENG_SPEEDUP_512:.0f}x: a CPU has no "
            f"idle lanes for the scan's depth, and torch.nn.GRU's loop is compiled code"
            + ("; it does learn the task where the GRU does not" if solved else ""))
    else:
        verdict, why = Verdict.DISAGREES, "no faster than the GRU and no better on the task"
    return Claim("feng2024", "minGRU (gates from the input only) trains in parallel with a "
                 "scan, 175x faster per step than a GRU at length 512, and performs comparably",
                 "training step at T = 512 and 2048 against torch.nn.GRU; adding problem at "
                 "T = 256 (7b)", measured, verdict, why)


def claims(records: Mapping[str, Mapping]) -> list[Claim]:
    """The four claims, from ``records``: record name -> data, the names of :data:`RECORDS`."""
    missing = [name for name in RECORDS if name not in records]
    if missing:
        raise KeyError(f"records: lesson 7b's {', '.join(missing)} missing")
    r = records
    return [recall_claim(r["recall"]), scan_claim(r["scan_checks"], r["cost"]),
            lru_claim(r["adding"], r["gradient_rate"]), mingru_claim(r["adding"], r["per_step"])]


@dataclass
class LoadedClaims:
    """What :func:`load_claims` found: the ``claims`` (empty when a record is missing), the
    record names ``missing``, and a ``message`` for the learner."""

    claims: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    message: str = ""


def load_claims(folder=None) -> LoadedClaims:
    """Lesson 7b's four claims from its records in the results store (``folder``: the
    course's default), or none, with a message naming what is missing."""
    from . import results

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", results.ResultsWarning)
        found = results.load_results(folder, lesson=LESSON).by_name()
    data = {name: found[name].data for name in RECORDS if name in found}
    missing = [name for name in RECORDS if name not in data]
    if missing:
        return LoadedClaims([], missing, (
            f"lesson 7b ({LESSON}) has not saved {', '.join(missing)} yet: its four claims "
            f"(Ba et al. 2016, Martin & Cundy 2018, Orvieto et al. 2023, Feng et al. 2024) "
            f"are checked there; run it, then this cell again, to see them here"))
    out = claims(data)
    return LoadedClaims(out, [], f"{len(out)} claims checked in lesson 7b, read from its records")
