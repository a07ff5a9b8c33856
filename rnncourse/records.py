"""What each lesson saves for the lessons after it: one declared schema per record, with a version.

The results store (:mod:`rnncourse.results`) keeps one JSON file per record, ``(lesson, name)``.
A record that another lesson reads is declared here, in :data:`RECORD_TYPES`: its
:class:`RecordType` names the ``TypedDict`` its data must match and the schema's version.
:func:`rnncourse.results.save_result` checks the data against it before writing (a lesson that
renames or drops a field fails when it saves, with a message naming the field), writes the
schema's name and version into the file, and :func:`rnncourse.results.load_results` checks both
again when it reads the file (a file of an older version, or one that does not match, is
skipped with a warning that says why).

What a schema declares
----------------------
The fields other lessons may rely on, with their types: ``float`` (an int is a float too;
``NaN`` and infinities are allowed), ``int``, ``str``, ``bool``, ``X | None``, ``list[X]``,
``dict[str, X]``, another ``TypedDict``, ``Any``. Every declared field is required unless it is
marked ``NotRequired``. A record may carry more fields than its schema lists (lesson 3 saves
more than lesson 8 reads); those are saved as they are and nobody may rely on them.

Changing a schema
-----------------
Rename or retype a field: change the ``TypedDict``, raise the :class:`RecordType`'s
``version``, and update every reader. Files written under the old version are then skipped
with a warning telling the learner to run the lesson again, never read with the wrong fields.

Which names a lesson may save
-----------------------------
A lesson with declared records (every course lesson, ``02_core_operations`` ...) may save only
declared names; a name ending in ``*`` declares a family (lesson 6 saves ``sunspots_GRU``,
``sunspots_LSTM``, ... as ``sunspots_*``). Any other lesson name (a learner's own experiments,
``"my_runs"``) is saved as free-form data, without a schema.
"""

import types
import typing
from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = [
    "RecordError", "RecordType", "RECORD_TYPES", "record_type", "declared_lessons",
    "check_data", "TrainRun", "Complexity", "ComplexityRecomputed", "Variants",
    "VariantsRecomputed", "GradientFlow", "Literature", "ClaimRecord", "AddingRace",
    "AddingSetting", "AddingRun", "AddingConfig", "Summary", "SummaryRow", "CharLM",
    "Seq2SeqPair", "Seq2SeqRun", "Alignment", "Hybrid", "DepthRun", "DeepDepth", "DropoutRun",
    "DeepDropout", "SpeechDigits", "Recall", "ScanCounts", "ScanCost", "LinearAddingRun",
    "GradientRate",
]


class RecordError(ValueError):
    """Data that does not match its record's declared schema, or a file of another version."""


# --- training runs -----------------------------------------------------------------------------

class _RunFields(TypedDict):
    losses: list[float]
    grad_norms: list[float]
    evals: list[list[float]]  # [step, metric] pairs
    steps: int
    steps_to_target: int | None
    seconds: float
    seconds_to_target: float | None
    train_seconds: float
    ms_per_step: float | None
    n_params: int
    final_loss: float | None
    final_eval: float | None
    best_eval: float | None
    diverged: bool
    diverged_at: int | None


class TrainRun(_RunFields):
    """:meth:`rnncourse.train.TrainResult.to_dict`: one training run."""

    config: dict[str, Any]


# --- lesson 2: cost ----------------------------------------------------------------------------

class ComplexityRecomputed(TypedDict):
    """Forward + BPTT timings on grids of T and H, per backend (``numpy_T``, ``torch_H``, ...),
    their power-law fits, the small-H fit and a gradient check (lesson 8's recomputation)."""

    T_grid: list[int]
    H_grid: list[int]
    H_small: list[int]
    times: dict[str, list[float]]
    exponents: dict[str, float]
    r2: dict[str, float]
    small_H_exponent: float
    gradcheck_max_relative_error: float


class Complexity(ComplexityRecomputed):
    """Lesson 2's record: the recomputed fields and truncated BPTT's error per window ``k``."""

    truncation_relative_error: dict[str, float]


# --- lesson 3: variants ------------------------------------------------------------------------

ParameterCount = TypedDict("ParameterCount", {
    "cell": str, "layers": int, "bidirectional": bool, "bias": bool, "formula": int,
    "torch.nn": int})


class SizedRun(TypedDict):
    n_params: int
    test_mse: float
    seconds: float


class MatchedRun(SizedRun):
    hidden_size: int


class MarkedValue(TypedDict):
    setting: dict[str, Any]
    zero_mse: float
    lstm: SizedRun
    rnn: MatchedRun


class BidirectionalTask(TypedDict):
    T: int
    half_width: int
    causal_floor: float
    one_direction: MatchedRun
    bidirectional: MatchedRun


class VariantsRecomputed(TypedDict):
    """Parameter counts, the marked value (LSTM against a matched tanh RNN) and the
    one-direction against the bidirectional LSTM (lesson 8's recomputation)."""

    parameter_counts: list[ParameterCount]
    marked_value: MarkedValue
    bidirectional_task: BidirectionalTask


class GRUForms(TypedDict):
    torch_form_vs_torch_nn: float
    seed_form_vs_torch_nn: float


class Variants(VariantsRecomputed):
    """Lesson 3's record: the recomputed fields and the comparisons with torch.nn."""

    lstm_equals_torch: dict[str, float]
    gru_forms: GRUForms


# --- lesson 4: gradient flow -------------------------------------------------------------------

class RateRow(TypedDict):
    cell: str
    sigma_max: float
    gamma: float
    theory: float
    measured: float
    grad_at_t0: float


class SaturationRow(TypedDict):
    sigma_max: float
    no_input: float
    input_1: float


class GaussianRate(TypedDict):
    sigma_max: float
    spectral_radius: float
    measured: float


class Cliff(TypedDict):
    lr: float
    threshold: float
    plain_max_jump: float
    clipped_max_jump: float
    plain_final_loss: float
    clipped_final_loss: float


class ClippedTraining(TypedDict):
    plain_diverged_at_step: int | None
    plain_max_grad_norm: float
    clipped_loss_first_100: float
    clipped_loss_last_100: float


class GradientFlow(TypedDict):
    """Lesson 4's per-step rates, the gated cells' gradient at t = 0, the cliff, clipping."""

    orthogonal_no_input_rates: list[RateRow]
    saturation_rates: list[SaturationRow]
    gaussian_rate: GaussianRate
    gated_grad_at_t0: dict[str, float]
    gated_rates: dict[str, float]
    cliff: Cliff
    training: ClippedTraining


# --- lesson 5: the literature ------------------------------------------------------------------

class ClaimRecord(TypedDict):
    """:meth:`rnncourse.literature.Claim.to_dict`; ``verdict`` is a
    :class:`~rnncourse.literature.Verdict` value (``"agrees"``, ``"partly"``, ``"disagrees"``)."""

    paper: str
    claim: str
    experiment: str
    measured: str
    verdict: str
    why: str


class Literature(TypedDict):
    """Lesson 5's record: every claim with its verdict (and its experiments' numbers)."""

    claims: list[ClaimRecord]


# --- lesson 6: experiments ---------------------------------------------------------------------

class AddingSetting(TypedDict):
    """The budget every cell of an adding-problem race gets."""

    T: int
    hidden_size: int
    steps: int
    lr: float
    batch: int
    target: float
    n_test: int
    eval_every: int


class AddingConfig(TypedDict):
    """What :func:`rnncourse.experiments.adding_run` records of a run's set-up (among more)."""

    cell: str  # "rnn" (tanh), "lstm", "gru"
    T: int
    hidden_size: int


class AddingRun(_RunFields):
    """One run of an adding-problem race."""

    config: AddingConfig


class AddingRace(TypedDict):
    """Cells on the adding problem, one budget (``setting``): ``runs`` by display label; whether
    a run's cell is gated is its ``config["cell"]``, never its label."""

    setting: AddingSetting
    baseline: float
    runs: dict[str, AddingRun]


SummaryRow = TypedDict("SummaryRow", {
    "experiment": str, "model": str, "params": int | None, "steps": int, "seconds": float,
    "ms/step": float | None, "steps to target": int | None, "metric": str, "value": float,
    "baseline": float | None, "target": float | None})


class Summary(TypedDict):
    """Lesson 6's summary table (:func:`rnncourse.experiments.summary_row` rows)."""

    rows: list[SummaryRow]


class CharLM(TrainRun):
    """Lesson 6's character-level language model: its run and held-out bits per character."""

    bits_per_char: float
    unigram_bits: float


class DepthRun(TrainRun):
    """One character model of lesson 6's depth comparison (:func:`rnncourse.deep.char_run`)."""

    label: str
    step_cpu_ms: float
    val_bpc: float
    test_bpc: float
    val_curve: list[list[float]]


class DeepDepth(TypedDict):
    """1, 2, 3 layers of LSTM and GRU at the same CPU-time budget, by label."""

    setting: dict[str, Any]
    runs: dict[str, DepthRun]


class DropoutRun(TrainRun):
    """One run of lesson 6's dropout comparison: curves on the training and validation text."""

    label: str
    val_bpc: float
    test_bpc: float
    val_curve: list[list[float]]
    train_curve: list[list[float]]
    gap: float  # validation minus training bits/char at the last step


class DeepDropout(TypedDict):
    """No dropout, dropout (Zaremba et al. 2014) and variational dropout, by label."""

    setting: dict[str, Any]
    runs: dict[str, DropoutRun]


class SpeechDigits(TypedDict):
    """Lesson 6's spoken digits: test accuracy on voices never heard in training (majority,
    averaged frames + logistic regression, the GRU's seeds and their mean), what validation
    chose, and the seed-to-seed difference the asserted margin is built on."""

    voices: dict[str, list[str]]
    utterances: dict[str, int]
    majority: float
    logistic: float
    logistic_weight_decay: float
    gru: float
    gru_seeds: list[float]
    gru_lr: float
    gru_validation: dict[str, float]
    seed_spread: float
    margin: float
    gru_run: TrainRun


# --- lesson 7: advanced ------------------------------------------------------------------------

class Seq2SeqRun(TypedDict):
    """One encoder-decoder run (:meth:`rnncourse.seq2seq.Seq2SeqResult.as_dict` and its size)."""

    train_steps: int
    seconds: float
    test_exact_match: float
    curve_steps: list[int]
    curve_exact_match: list[float]
    steps_to_target: int | None
    seconds_to_target: float | None
    parameters: int


Seq2SeqPair = TypedDict("Seq2SeqPair", {"attention": Seq2SeqRun, "no attention": Seq2SeqRun})
Seq2SeqPair.__doc__ = "The same encoder-decoder with and without attention on one task."


class AlignmentScore(TypedDict):
    exact: float
    within_1: float


class Alignment(TypedDict):
    """How often the largest attention weight sits on the source position the task implies."""

    reversal_bidirectional: AlignmentScore
    reversal_one_directional: AlignmentScore
    uniform: float


class Hybrid(TypedDict):
    """A GRU against a Conv1d front-end + GRU on the adding problem (T = 50)."""

    gru: TrainRun
    hybrid: TrainRun
    speedup_fwd_bwd: float


# --- lesson 7b: memory and long sequences ------------------------------------------------------

class Recall(TypedDict):
    """Associative recall: test accuracy of the outer-product memory and of the matched LSTM
    per number of pairs (keys: the number of pairs, as text), their parameter counts and the
    trained memory's read weights on one sequence of 8 pairs."""

    pairs: list[int]
    memory_accuracy: dict[str, float]
    lstm_accuracy: dict[str, float]
    gap: dict[str, float]
    n_params: dict[str, int]
    memory_steps: dict[str, int]
    lstm_lr: dict[str, float]
    read_weights: list[list[float]]
    diagonal_share: float


class ScanCounts(TypedDict):
    """Combines (work) and dependent rounds (depth) of the Blelloch scan, per T."""

    T: list[int]
    blelloch_work: list[int]
    blelloch_depth: list[int]


class ScanTimes(TypedDict):
    """:func:`rnncourse.long_range.scan_timings`: CPU seconds per T of each method."""

    T: list[int]
    sequential: list[float]
    blelloch: list[float]
    cumsum: list[float]
    spread: dict[str, list[float]]


class WideScanTimes(ScanTimes):
    loop_over_scan: float


class ScanCost(ScanTimes):
    """The loop against the scan, 64 channels (``T``: the lengths timed), the power-law
    exponents (T >= 1024), the timing noise, the loop / scan ratio at the longest T, and the
    same at T = 1024 with 4096 channels."""

    fit_exponent: dict[str, float]
    noise: float
    speedup_longest: float
    wide_T1024: WideScanTimes


class LinearAddingRun(TrainRun):
    """One model of lesson 7b's adding problem (T = 256): its run, test MSE and CPU s/step."""

    test_mse: float
    cpu_s_per_step: float


class GradientRate(TypedDict):
    """Per-step rate of ``|dL/dx_t|`` of a diagonal linear recurrence against ``|lambda|``."""

    max_error: float
    abs_lambda: list[float]


# --- the table ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordType:
    """A declared record: ``(lesson, name)`` (``name`` ending in ``*``: a family of names), the
    ``schema`` its data matches (a ``TypedDict`` or a type such as ``dict[str, Any]``) and the
    schema's ``version``."""

    lesson: str
    name: str
    schema: Any
    version: int = 1

    @property
    def schema_name(self) -> str:
        return getattr(self.schema, "__name__", None) or repr(self.schema)

    def matches(self, lesson: str, name: str) -> bool:
        if lesson != self.lesson:
            return False
        return name.startswith(self.name[:-1]) if self.name.endswith("*") else name == self.name


RECORD_TYPES: tuple[RecordType, ...] = (
    RecordType("02_core_operations", "complexity", Complexity),
    RecordType("03_variants", "variants", Variants),
    RecordType("04_gradient_flow", "gradient_flow", GradientFlow),
    RecordType("05_literature", "race", dict[str, list[TrainRun]]),
    RecordType("05_literature", "literature", Literature, version=2),  # 2: verdict, not agrees
    RecordType("06_experiments", "adding_T50", AddingRace),
    RecordType("06_experiments", "adding_T100_*", TrainRun),
    RecordType("06_experiments", "sunspots_*", TrainRun),
    RecordType("06_experiments", "sonnets_char_lm", CharLM),
    RecordType("06_experiments", "sonnets_samples", dict[str, Any]),
    RecordType("06_experiments", "summary", Summary),
    RecordType("06_experiments", "deep_depth", DeepDepth),
    RecordType("06_experiments", "deep_dropout", DeepDropout),
    RecordType("06_experiments", "literature", Literature),  # claims that join lesson 5's
    RecordType("06_experiments", "speech_digits", SpeechDigits),
    RecordType("07_advanced", "reversal", Seq2SeqPair),
    RecordType("07_advanced", "dates", Seq2SeqPair),
    RecordType("07_advanced", "alignment", Alignment),
    RecordType("07_advanced", "hybrid", Hybrid),
    RecordType("07_advanced", "config", dict[str, Any]),
    RecordType("07b_memory_and_long_sequences", "recall", Recall),
    RecordType("07b_memory_and_long_sequences", "scan_checks", dict[str, float]),
    RecordType("07b_memory_and_long_sequences", "counts", ScanCounts),
    RecordType("07b_memory_and_long_sequences", "cost", ScanCost),
    RecordType("07b_memory_and_long_sequences", "adding", dict[str, LinearAddingRun]),
    RecordType("07b_memory_and_long_sequences", "per_step", dict[str, dict[str, float]]),
    RecordType("07b_memory_and_long_sequences", "gradient_rate", GradientRate),
    RecordType("07b_memory_and_long_sequences", "claims", Literature),
    RecordType("07b_memory_and_long_sequences", "config", dict[str, Any]),
    RecordType("08_findings", "02_core", ComplexityRecomputed),
    RecordType("08_findings", "03_core", VariantsRecomputed),
    RecordType("08_findings", "04_core", GradientFlow),
    RecordType("08_findings", "06_adding", AddingRace),
    RecordType("08_findings", "07_reversal", Seq2SeqPair),
)
"""Every record a course lesson saves."""


def declared_lessons() -> set[str]:
    """The lessons whose every record is declared."""
    return {t.lesson for t in RECORD_TYPES}


def record_type(lesson: str, name: str) -> RecordType | None:
    """The declared :class:`RecordType` of ``(lesson, name)``, or ``None`` (free-form data).

    Raises :class:`RecordError` for an undeclared name of a lesson that declares its records.
    """
    for t in RECORD_TYPES:
        if t.matches(lesson, name):
            return t
    if lesson in declared_lessons():
        known = ", ".join(t.name for t in RECORD_TYPES if t.lesson == lesson)
        raise RecordError(f"name: {lesson} saves only declared records ({known}), got {name!r}; "
                          f"declare it in rnncourse.records.RECORD_TYPES")
    return None


# --- checking data against a schema ------------------------------------------------------------

def _type_name(tp) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _given(value) -> str:
    return "None" if value is None else type(value).__name__


def check_data(schema, value, where: str = "data") -> None:
    """Raise :class:`RecordError` naming the field (``where``, then the path inside it) where
    ``value`` does not match ``schema``."""
    if schema is Any:
        return
    if typing.is_typeddict(schema):
        if not isinstance(value, dict):
            raise RecordError(f"{where}: expected a dict ({schema.__name__}), got {_given(value)}")
        hints = typing.get_type_hints(schema)
        missing = [k for k in hints if k in schema.__required_keys__ and k not in value]
        if missing:
            raise RecordError(f"{where}: missing field{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(repr(k) for k in missing)} (declared by "
                              f"{schema.__name__})")
        for key, tp in hints.items():
            if key in value:
                check_data(tp, value[key], f"{where}[{key!r}]")
        return
    origin, args = typing.get_origin(schema), typing.get_args(schema)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return
        if len(options) == 1:  # X | None given something: X's own message says where
            return check_data(options[0], value, where)
        for option in options:
            try:
                return check_data(option, value, where)
            except RecordError:
                continue
        raise RecordError(f"{where}: expected {_type_name(schema)}, got {_given(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(f"{where}: expected {_type_name(schema)}, got {_given(value)}")
        for i, item in enumerate(value):
            check_data(args[0], item, f"{where}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordError(f"{where}: expected {_type_name(schema)}, got {_given(value)}")
        for key, item in value.items():
            check_data(args[1], item, f"{where}[{key!r}]")
        return
    ok = {
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
        type(None): value is None,
    }
    if schema not in ok:
        raise TypeError(f"schema: cannot check values against {schema!r}")
    if not ok[schema]:
        raise RecordError(f"{where}: expected {_type_name(schema)}, got {_given(value)}"
                          + (f" ({value!r})" if isinstance(value, (str, int, float)) else ""))
