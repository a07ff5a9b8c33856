"""The rows lesson 8 reports: a claim checked (:class:`CheckRow`), a claim that could not be
(:class:`NotChecked`), and one trained model on one task (:class:`ModelRow`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..literature import Verdict

GATED_CELLS = ("lstm", "gru")
"""The recurrent cells with gates; ``"rnn"`` is the tanh RNN."""


@dataclass
class CheckRow:
    """One claim checked against a measured number: its :class:`~rnncourse.literature.Verdict`
    (agrees / partly / disagrees) and, unless it agrees, the ``reason``."""

    lesson: str
    claim: str
    expected: str
    measured: str
    verdict: Verdict
    source: str
    reason: str = ""

    def __post_init__(self):
        self.verdict = Verdict.of(self.verdict)

    @property
    def passed(self) -> bool:
        """The measurement agrees with the claim."""
        return self.verdict is Verdict.AGREES

    @property
    def explained(self) -> bool:
        """A verdict other than "agrees" that says why."""
        return self.verdict.needs_reason and bool(self.reason.strip())

    def as_dict(self) -> dict:
        return {"lesson": self.lesson, "claim": self.claim, "expected": self.expected,
                "measured": self.measured, "verdict": self.verdict.value,
                "source": self.source, "reason": self.reason}


@dataclass
class NotChecked:
    """A claim whose numbers were not available: which source, and why."""

    lesson: str
    claim: str
    reason: str


@dataclass
class ModelRow:
    """One trained model on one task: size, result, and what it cost. ``cell`` is its
    recurrent cell (``"rnn"``, ``"lstm"``, ``"gru"``: from the run's saved config, or what the
    lesson's record is about; ``None`` when the record does not say)."""

    task: str
    model: str
    params: int | None
    metric: str
    value: float
    baseline: float | None
    target: float | None
    steps: int | None
    steps_to_target: int | None
    seconds_to_target: float | None
    seconds: float | None
    source: str
    group: str = ""  # the SOURCES key of the record
    ms_per_step: float | None = None  # training time per step, evaluations excluded
    cell: str | None = None

    @property
    def gated(self) -> bool | None:
        """Whether the model's recurrent cell has gates (``None``: cell not recorded)."""
        return None if self.cell is None else self.cell in GATED_CELLS

    def as_dict(self) -> dict:
        return {"task": self.task, "model": self.model, "params": self.params,
                "metric": self.metric, "value": self.value, "baseline": self.baseline,
                "target": self.target, "steps": self.steps,
                "steps to target": self.steps_to_target,
                "s to target": self.seconds_to_target, "seconds": self.seconds,
                "ms/step": self.ms_per_step, "source": self.source}
