"""Everything together: :func:`compile_findings` reads the store and makes :class:`Findings`."""

from __future__ import annotations

from dataclasses import dataclass

from ..literature import Verdict, verdict_summary
from ..tables import format_table
from .checking import check_records
from .html_tables import html_table
from .inventory import Inventory, gather
from .model_table import model_rows
from .rows import CheckRow, ModelRow, NotChecked

CHECK_COLUMNS = ["lesson", "claim", "expected", "measured", "verdict", "source", "reason"]
MODEL_COLUMNS = ["task", "model", "params", "metric", "value", "baseline", "target",
                 "steps to target", "s to target", "seconds", "ms/step", "source"]


@dataclass
class Findings:
    """What :func:`compile_findings` compiled: ``inventory``, ``checks``, ``not_checked``,
    ``models`` (the model x task table)."""

    inventory: Inventory
    checks: list[CheckRow]
    not_checked: list[NotChecked]
    models: list[ModelRow]

    def with_verdict(self, verdict) -> list[CheckRow]:
        """The check rows with this verdict (``"agrees"``, ``"partly"``, ``"disagrees"``)."""
        verdict = Verdict.of(verdict)
        return [r for r in self.checks if r.verdict is verdict]

    @property
    def failed(self) -> list[CheckRow]:
        """The rows whose measurement disagrees with their claim."""
        return self.with_verdict(Verdict.DISAGREES)

    def verdicts(self) -> str:
        """``"33 agree, 2 partly, 0 disagree"``."""
        return verdict_summary([r.verdict for r in self.checks])

    def check(self, fragment: str) -> CheckRow:
        """The check row whose claim contains ``fragment`` (exactly one)."""
        hits = [r for r in self.checks if fragment in r.claim]
        if len(hits) != 1:
            raise ValueError(f"fragment: expected text found in exactly one claim, got "
                             f"{len(hits)} matches for {fragment!r}")
        return hits[0]

    def checks_text(self) -> str:
        """The checks as a Markdown table (without the reasons)."""
        if not self.checks:
            return "(no checks)"
        return format_table([r.as_dict() for r in self.checks], CHECK_COLUMNS[:-1])

    def models_text(self) -> str:
        """The model x task table as Markdown (without the source column)."""
        if not self.models:
            return "(no models)"
        return format_table([r.as_dict() for r in self.models], MODEL_COLUMNS[:-1])

    def checks_html(self) -> str:
        """The checks as an HTML table, each verdict coloured (agrees green, partly amber,
        disagrees red) and followed by its reason."""
        return html_table([r.as_dict() for r in self.checks], CHECK_COLUMNS)

    def models_html(self) -> str:
        """The model x task table as HTML."""
        return html_table([r.as_dict() for r in self.models], MODEL_COLUMNS)


def compile_findings(folder=None, *, compute_missing: bool = True,
                     verbose: bool = False) -> Findings:
    """Read the results store (computing missing records unless ``compute_missing=False``)
    and compile the checks and the model x task table."""
    inv = gather(folder, compute_missing=compute_missing, verbose=verbose)
    rows, skipped = check_records(inv)
    return Findings(inv, rows, skipped, model_rows(inv))
