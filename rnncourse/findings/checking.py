"""Records into rows: every course claim of :data:`~.course_checks.CHECKS` decided from its
record, and lesson 5's own verdicts on the literature carried over, each with its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..literature import Verdict
from .course_checks import CHECKS
from .inventory import Inventory, record_map
from .rows import CheckRow, NotChecked
from .sources import data_of, record_label, source_label

_LACKING = (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError, AttributeError,
            StopIteration)
"""What a measuring function raises when a record lacks the numbers it needs."""


def literature_rows(extra: Sequence) -> list[CheckRow]:
    """Lesson 5's verdicts (records of lesson 5 holding ``claims``, :class:`~rnncourse.records.
    Literature`) as rows, with the claims lesson 6 checks (``06_experiments/literature``) and
    lesson 7b's record ``claims`` (the four later papers of lesson 5's table, checked there):
    all are rows of lesson 5's table, the verdict and reason the checking lesson's own, its
    reasons marked with that lesson ("lesson 6: ...", "lesson 7b: ...")."""
    rows = []
    for rec in extra:
        by = "7b" if rec.lesson.startswith("07b") else str(int(rec.lesson[:2]))
        if not rec.lesson.startswith(("05", "06", "07b")) or not isinstance(rec.data, Mapping) \
                or not isinstance(rec.data.get("claims"), list):
            continue
        for c in rec.data["claims"]:
            paper = str(c.get("paper", ""))
            verdict = Verdict.of(c["verdict"], f"{record_label(rec)}: claims[].verdict")
            rows.append(CheckRow(
                "05", f"{paper}: {c['claim']}" if paper else str(c["claim"]),
                f"the paper's claim holds in: {c.get('experiment', '?')}",
                str(c.get("measured", "")), verdict, record_label(rec),
                reason=f"lesson {by}: {c.get('why', '')}".strip() if verdict.needs_reason
                else ""))
    return rows


def check_records(records, extra: Sequence = ()) -> tuple[list[CheckRow], list[NotChecked]]:
    """Every check of :data:`CHECKS` whose source is in ``records`` (an :class:`Inventory` or
    a dict source -> Record or plain data dict); ``extra`` records of lesson 5 holding a
    ``claims`` list add their verdicts. Returns ``(rows, not_checked)``.

    A course claim whose measurement meets its expectation *agrees*; one that does not
    *disagrees*, with the expectation it missed as its reason.
    """
    recs = record_map(records)
    if isinstance(records, Inventory) and not extra:
        extra = records.extra
    rows, skipped = [], []
    for c in CHECKS:
        rec = recs.get(c.source)
        if rec is None:
            skipped.append(NotChecked(c.lesson, c.claim, f"no {c.source} record"))
            continue
        data = data_of(rec)
        if not isinstance(data, Mapping):
            raise TypeError(f"records[{c.source!r}]: expected a Record or a dict, got "
                            f"{type(data).__name__}")
        try:
            measured, holds = c.measure(data)
        except _LACKING as e:
            skipped.append(NotChecked(c.lesson, c.claim,
                                      f"{source_label(rec)} lacks the numbers ({e!r})"))
            continue
        verdict = Verdict.AGREES if holds else Verdict.DISAGREES
        rows.append(CheckRow(c.lesson, c.claim, c.expected, measured, verdict, source_label(rec),
                             reason="" if holds else f"expected {c.expected}"))
    rows.extend(literature_rows(extra))
    rows.sort(key=lambda r: r.lesson)
    return rows, skipped
