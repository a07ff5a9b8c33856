"""Where lesson 8's numbers come from: the records each group of checks reads.

A *source* (a key of :data:`SOURCES`) names the records one group of checks reads, in order of
preference: the lesson's own record first, then lesson 8's recomputation
(``08_findings/<lesson>_...``). Every record is declared in :mod:`rnncourse.records`, so a
source always gets the fields its checks read, or no record at all.
"""

from __future__ import annotations

from ..results import Record

LESSON = "08_findings"
"""The results-store name of lesson 8: its recomputed records are saved under it."""

SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "complexity": (("02_core_operations", "complexity"), (LESSON, "02_core")),
    "variants": (("03_variants", "variants"), (LESSON, "03_core")),
    "gradient_flow": (("04_gradient_flow", "gradient_flow"), (LESSON, "04_core")),
    "adding": (("06_experiments", "adding_T50"), (LESSON, "06_adding")),
    "forecast": (("06_experiments", "summary"),),
    "char_lm": (("06_experiments", "sonnets_char_lm"),),
    "depth": (("06_experiments", "deep_depth"),),
    "dropout": (("06_experiments", "deep_dropout"),),
    "speech": (("06_experiments", "speech_digits"),),
    "reversal": (("07_advanced", "reversal"), (LESSON, "07_reversal")),
    "dates": (("07_advanced", "dates"),),
    "alignment": (("07_advanced", "alignment"),),
    "hybrid": (("07_advanced", "hybrid"),),
    "recall": (("07b_memory_and_long_sequences", "recall"),),
    "scan_checks": (("07b_memory_and_long_sequences", "scan_checks"),),
    "scan_counts": (("07b_memory_and_long_sequences", "counts"),),
    "scan_cost": (("07b_memory_and_long_sequences", "cost"),),
    "linear_adding": (("07b_memory_and_long_sequences", "adding"),),
    "per_step": (("07b_memory_and_long_sequences", "per_step"),),
    "linear_gradient": (("07b_memory_and_long_sequences", "gradient_rate"),),
}
"""Source key -> candidate records ``(lesson, name)``, the lesson's own first."""


def record_label(record: Record) -> str:
    """``"06_experiments/adding_T50"``: where a record lives in the results store."""
    return f"{record.lesson}/{record.name}"


def source_label(record) -> str:
    """The "source" column of a row: the record's label, marked when lesson 8 recomputed it
    (``"given"`` for plain data handed in without a record)."""
    if record is None:
        return "?"
    if isinstance(record, Record):
        return record_label(record) + (" (recomputed here)" if record.lesson == LESSON else "")
    return "given"


def data_of(record):
    """A record's data (a plain dict handed in instead of a record is its own data)."""
    return record.data if isinstance(record, Record) else record
