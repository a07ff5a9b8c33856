"""The model x task table: every trained model the records describe, its size, result and cost."""

from __future__ import annotations

from collections.abc import Mapping

from ..tasks import ADDING_BASELINE_MSE
from .course_checks import adding_runs
from .inventory import record_map
from .numbers import number, optional
from .rows import ModelRow
from .sources import data_of, source_label


def variants_rows(d, src) -> list[ModelRow]:
    """Lesson 3: LSTM against a matched tanh RNN on the marked value; one-direction against
    bidirectional LSTM on the centred moving average."""
    m = d["marked_value"]
    setting = m.get("setting", {})
    rows = [ModelRow(f"marked value (T = {setting.get('T', '?')})", name, int(r["n_params"]),
                     "test MSE", number(r["test_mse"]), optional(m, "zero_mse"), None,
                     optional(setting, "steps", int), None, None, optional(r, "seconds"), src,
                     cell=cell)
            for name, r, cell in (
                (f"LSTM, H = {setting.get('hidden_size', '?')}", m["lstm"], "lstm"),
                (f"tanh RNN, H = {m['rnn'].get('hidden_size', '?')}", m["rnn"], "rnn"))]
    b = d["bidirectional_task"]
    rows += [ModelRow(f"centred moving average (T = {b.get('T', '?')})",
                      f"LSTM {name}, H = {r.get('hidden_size', '?')}", int(r["n_params"]),
                      "test MSE", number(r["test_mse"]), optional(b, "causal_floor"), None, 300,
                      None, None, optional(r, "seconds"), src, cell="lstm")
             for name, r in (("one direction", b["one_direction"]),
                             ("bidirectional", b["bidirectional"]))]
    return rows


def adding_rows(d, src) -> list[ModelRow]:
    """An adding-problem race (lesson 6's, or lesson 8's smaller one): one row per cell."""
    setting = d["setting"]
    return [ModelRow(f"adding problem (T = {setting['T']})", label, optional(r, "n_params", int),
                     "best test MSE", number(r["best_eval"]), number(d["baseline"]),
                     number(setting["target"]), optional(r, "steps", int),
                     optional(r, "steps_to_target", int), optional(r, "seconds_to_target"),
                     optional(r, "seconds"), src, ms_per_step=optional(r, "ms_per_step"),
                     cell=r["config"]["cell"])
            for label, r in adding_runs(d).items()]


def seq2seq_rows(task: str):
    """Lesson 7's encoder-decoders on ``task``, with and without attention."""
    def rows(d, src) -> list[ModelRow]:
        return [ModelRow(task, f"GRU encoder-decoder, {variant}",
                         optional(r, "parameters", int), "exact match",
                         number(r["test_exact_match"]), None, 0.95,
                         optional(r, "train_steps", int), optional(r, "steps_to_target", int),
                         optional(r, "seconds_to_target"), optional(r, "seconds"), src,
                         cell="gru")
                for variant, r in d.items()
                if isinstance(r, Mapping) and "test_exact_match" in r]
    return rows


def hybrid_rows(d, src) -> list[ModelRow]:
    """Lesson 7's GRU against the Conv1d front-end + GRU on the adding problem."""
    names = {"gru": "GRU, H = 64", "hybrid": "Conv1d + GRU, H = 32"}
    return [ModelRow("adding problem (T = 50)", names[k], int(d[k]["n_params"]),
                     "test MSE", number(d[k]["final_eval"]), ADDING_BASELINE_MSE, None,
                     optional(d[k], "steps", int), None, None, optional(d[k], "seconds"), src,
                     ms_per_step=optional(d[k], "ms_per_step"), cell="gru")
            for k in names]


def summary_rows(d, src) -> list[ModelRow]:
    """Lesson 6's summary rows other than the adding race (read from its own record)."""
    return [ModelRow(str(r["experiment"]), str(r["model"]), optional(r, "params", int),
                     str(r["metric"]), number(r["value"]), optional(r, "baseline"),
                     optional(r, "target"), optional(r, "steps", int),
                     optional(r, "steps to target", int), None, optional(r, "seconds"), src,
                     ms_per_step=optional(r, "ms/step"))
            for r in d["rows"] if not str(r["experiment"]).startswith("adding")]


def speech_rows(d, src) -> list[ModelRow]:
    """Lesson 6's GRU on spoken digits by unseen voices (the baseline: averaged frames +
    logistic regression)."""
    r = d["gru_run"]
    return [ModelRow("spoken digits, unseen voices", "GRU, H = 64", optional(r, "n_params", int),
                     "test accuracy", number(d["gru"]), number(d["logistic"]), None,
                     optional(r, "steps", int), None, None, optional(r, "seconds"), src,
                     ms_per_step=optional(r, "ms_per_step"), cell="gru")]


ROW_MAKERS = {"variants": variants_rows, "adding": adding_rows, "forecast": summary_rows,
              "reversal": seq2seq_rows("digit reversal (5-12)"),
              "dates": seq2seq_rows("date normalisation"), "hybrid": hybrid_rows,
              "speech": speech_rows}
"""Source key -> the function that turns its record's data into rows, in the table's order."""


def model_rows(records) -> list[ModelRow]:
    """The model x task table from whatever records are there (missing ones add no rows)."""
    recs = record_map(records)
    out = []
    for source, make in ROW_MAKERS.items():
        rec = recs.get(source)
        if rec is None:
            continue
        try:
            rows = make(data_of(rec), source_label(rec))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # an incomplete record adds no rows; its checks say what is missing
        for row in rows:
            row.group = source
        out.extend(rows)
    return out
