"""Lesson 6's experiments: RNN, LSTM and GRU on the same budget, and one summary row per run.

Every runner goes through the course's one training loop (:func:`rnncourse.train.train`): seeded,
one torch thread, gradient norms recorded before clipping, early stop at a target. Each returns
the :class:`~rnncourse.train.TrainResult`, ready for :func:`rnncourse.results.save_result`.

* **Adding problem** (:func:`adding_run`, :func:`compare_adding`): one layer, ``H = 64``, batches
  of 64 fresh sequences, Adam at 3e-3, clipping at 1, stop at validation MSE < 0.01 (1000 fixed
  sequences of seed :data:`ADDING_VAL_SEED`), test MSE once at the end (1000 sequences of
  another seed, :data:`ADDING_TEST_SEED`) (the modern form of the task, Le et al. 2015 and
  Arjovsky et al. 2016, where predicting the mean gives MSE = Var(X1 + X2) = 1/6).
* **Forecasting a real series** (:func:`forecast_run`, :func:`predict`,
  :func:`persistence_error`): windows of a series (:func:`rnncourse.tasks.make_windows`),
  one-step-ahead forecasts, against the seasonal-naive and the no-change baselines.
* **Character-level language model** (:func:`char_data`, :func:`char_lm_run`,
  :func:`samples`): bits per character on held-out text against the unigram entropy.
* **Summary** (:func:`summary_row`, :func:`format_table`): one row per run, a Markdown table.

**Validation, then test once.** Every choice a runner makes (a stopping point, the best
weights) reads the validation split only, through ``train``'s ``eval_fn``: the validation seed
of the adding problem, the years just before the test period of a series, the first half of the
held-out text. The test number is ``result.test_metric``, computed once after the run
(``tests/test_selection.py`` poisons the test data and checks that no choice changes).

Which recurrent core is fastest was measured here (one thread, ``T = 50``, ``H = 64``, batch 64,
one Adam step, both cores in the same run): the course's LSTM takes 1.2x the time of
``torch.nn.LSTM``, ``torch.nn.GRU`` 1.85x the time of the course's GRU (2026-11-29; the same
order at ``T = 30``, ``H = 32``), both RNNs about the same. ``core="auto"`` picks the faster
one (:data:`FAST_CORE`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import tasks, validate
from .models import CELLS, CORES, DROPOUT_MODES, CharLM, SequenceRegressor
from .parallel import run_each, worker_count
from .tables import format_table
from .train import TrainResult, eval_on, train

__all__ = [
    "FAST_CORE", "core_for", "ADDING_VAL_SEED", "ADDING_TEST_SEED", "adding_run",
    "compare_adding", "ADDING_RACE", "adding_race",
    "steps_or_none", "median_steps", "first_below",
    "forecast_run", "predict", "persistence_error",
    "CharData", "char_data", "char_lm_run", "bits_per_char", "samples", "word_fraction",
    "summary_row", "format_table",
]

FAST_CORE = {"rnn": "torch", "lstm": "torch", "gru": "course"}
"""The faster recurrent core for each cell with one torch thread (measured, see above)."""


def core_for(cell: str, core: str = "auto") -> str:
    """``core`` itself, or with ``"auto"`` the faster core for ``cell`` (:data:`FAST_CORE`)."""
    validate.choice("cell", cell, CELLS)
    if core == "auto":
        return FAST_CORE[cell]
    validate.choice("core", core, (*CORES, "auto"))
    return core


def _forget_bias(cell, forget_bias):
    if forget_bias is None:
        return None
    if cell != "lstm":
        raise ValueError(f"forget_bias: only an LSTM has a forget gate; expected None for "
                         f"cell={cell!r}, got {forget_bias!r}")
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
        raise TypeError(f"forget_bias: expected a number or None, got "
                        f"{type(forget_bias).__name__}")
    return float(forget_bias)


# --- adding problem ---------------------------------------------------------------------------

ADDING_VAL_SEED = 4321
"""Seed of the adding problem's validation sequences (early stopping reads these only)."""
ADDING_TEST_SEED = 1234
"""Seed of its test sequences (:func:`rnncourse.tasks.adding_test_set`'s default), read once."""


@functools.lru_cache(maxsize=8)
def _adding_test(T: int, n: int, seed: int = ADDING_TEST_SEED):
    return tasks.adding_test_set(T, n, seed=seed)


def adding_run(cell: str = "gru", *, T: int = 50, hidden_size: int = 64, steps: int = 1500,
               lr: float = 3e-3, batch: int = 64, clip: float | None = 1.0, seed: int = 0,
               forget_bias: float | None = None, core: str = "auto", target: float | None = 0.01,
               n_test: int = 1000, eval_every: int = 50, progress: bool = False) -> TrainResult:
    """Train a one-layer ``cell`` regressor on the adding problem of length ``T``.

    Fresh batches of ``batch`` sequences every step; validation MSE on ``n_test`` fixed sequences
    (seed :data:`ADDING_VAL_SEED`) every ``eval_every`` steps; the run stops at the first
    validation MSE below ``target`` (``None``: run all ``steps``); then the test MSE on
    ``n_test`` sequences of seed :data:`ADDING_TEST_SEED`, once (``result.test_metric``).
    ``forget_bias`` sets the LSTM's forget-gate bias at initialisation (``None``:
    torch's default, 0). The model's weights and the batches both come from ``seed``.
    """
    validate.choice("cell", cell, CELLS)
    core = core_for(cell, core)
    T = validate.positive_int("T", T, minimum=2)
    H = validate.positive_int("hidden_size", hidden_size)
    batch = validate.positive_int("batch", batch)
    n_test = validate.positive_int("n_test", n_test)
    seed = validate.seed("seed", seed)
    fb = _forget_bias(cell, forget_bias)
    val_x, val_y = _adding_test(T, n_test, ADDING_VAL_SEED)
    test_x, test_y = _adding_test(T, n_test, ADDING_TEST_SEED)
    return train(lambda: SequenceRegressor(cell, 2, H, 1, forget_bias=fb, core=core, seed=seed),
                 lambda rng: tasks.adding_batch(batch, T, rng), F.mse_loss,
                 steps=steps, lr=lr, clip=clip, seed=seed, progress=progress,
                 eval_fn=eval_on(val_x, val_y, F.mse_loss), eval_every=eval_every,
                 target=target, test_fn=eval_on(test_x, test_y, F.mse_loss),
                 config={"task": "adding", "T": T, "batch": batch, "cell": cell, "core": core,
                         "hidden_size": H, "forget_bias": fb, "n_test": n_test})


def compare_adding(models: Mapping[str, Mapping], *, seeds: Sequence[int] = (0,),
                   desc: str = "adding problem runs", **kwargs) -> dict[str, list[TrainResult]]:
    """Run :func:`adding_run` for every model and seed, same budget for all.

    ``models`` maps a label to the arguments that differ (``{"LSTM": {"cell": "lstm"},
    "LSTM b_f=1": {"cell": "lstm", "forget_bias": 1.0}}``); ``kwargs`` are shared. Returns
    ``{label: [result for each seed]}``. The runs go to several CPU cores at once where there
    are any to spare (:func:`rnncourse.parallel.run_each`, under a progress bar titled ``desc``);
    every number but the timings is the same as one run after the other.
    """
    if not isinstance(models, Mapping) or not models:
        raise TypeError(f"models: expected a non-empty dict label -> adding_run arguments, got "
                        f"{type(models).__name__}" + (" (empty)" if isinstance(models, Mapping)
                                                      else ""))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(f"seeds: expected a non-empty list of ints, got {seeds!r}")
    seeds = [validate.seed("seed", s) for s in seeds]
    calls = []
    for label, own in models.items():
        if not isinstance(own, Mapping):
            raise TypeError(f"models[{label!r}]: expected a dict of adding_run arguments, got "
                            f"{type(own).__name__}")
        clash = sorted(set(own) & (set(kwargs) | {"seed"}))
        if clash:
            raise ValueError(f"models[{label!r}]: expected arguments not shared in kwargs "
                             f"(nor 'seed'), got {clash} in both")
        calls += [{**own, **kwargs, "seed": s} for s in seeds]
    # The runs share nothing, so they may go to several cores at once (rnncourse.parallel),
    # under one bar titled desc over the runs, which replaces each run's own.
    # One after the other, each run shows its own bar when asked (and none over the runs).
    shared = worker_count(len(calls)) > 1
    if shared:
        calls = [{**c, "progress": False} for c in calls]
    results = iter(run_each(adding_run, calls, desc=desc, progress=shared))
    return {label: [next(results) for _ in seeds] for label in models}


ADDING_RACE = dict(T=50, hidden_size=64, steps=1500, lr=3e-3, batch=64, clip=1.0, target=0.01,
                   n_test=1000, eval_every=50)
"""Lesson 6's adding-problem race: the budget every cell gets (:func:`adding_race`)."""


def adding_race(models: Mapping[str, Mapping], setting: Mapping, *, seed: int = 0,
                progress: bool = False, desc: str = "adding problem runs") -> dict:
    """One run of every model on the adding problem with the same ``setting`` (``adding_run``
    arguments, such as :data:`ADDING_RACE`) and ``seed`` (:func:`compare_adding`, whose progress
    bar is titled ``desc``).

    Returns the record lessons 6 and 8 save (:class:`rnncourse.records.AddingRace`):
    ``{"setting", "baseline" (1/6), "runs": {label: TrainResult}}``.
    """
    if not isinstance(setting, Mapping):
        raise TypeError(f"setting: expected a dict of adding_run arguments, got "
                        f"{type(setting).__name__}")
    runs = compare_adding(models, seeds=(seed,), **setting, progress=progress, desc=desc)
    return {"setting": dict(setting), "baseline": tasks.ADDING_BASELINE_MSE,
            "runs": {label: r[0] for label, r in runs.items()}}


def steps_or_none(results: Sequence[TrainResult]) -> list[int | None]:
    """``steps_to_target`` of every run (``None`` where the target was not reached)."""
    return [r.steps_to_target for r in results]


def median_steps(results: Sequence[TrainResult]) -> float:
    """Median steps to target over runs; a run that never reached it counts as ``inf``."""
    if not results:
        raise ValueError("results: expected at least one TrainResult, got none")
    values = [math.inf if s is None else float(s) for s in steps_or_none(results)]
    return float(np.median(values))


def first_below(result: TrainResult, threshold: float) -> int | None:
    """The first evaluated step whose metric is below ``threshold`` (``None`` if none was).

    With the adding problem's ``threshold = 0.1``: the step at which a run leaves the plateau
    at the baseline ``1/6``, long before it reaches the target.
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"result: expected a TrainResult, got {type(result).__name__}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"threshold: expected a number, got {type(threshold).__name__}")
    return next((int(step) for step, metric in result.evals if metric < threshold), None)


# --- forecasting ------------------------------------------------------------------------------

def forecast_run(data: tasks.ForecastData, cell: str = "lstm", *, hidden_size: int = 32,
                 steps: int = 600, lr: float = 3e-3, batch: int = 64,
                 clip: float | None = 1.0, seed: int = 0, core: str = "auto",
                 eval_every: int = 100, patience: int | None = None,
                 progress: bool = False) -> TrainResult:
    """Train a ``cell`` regressor on the training windows of ``data``.

    With a validation period (``make_windows(..., val_fraction=...)``): validation MSE
    (normalised units, the same as :func:`rnncourse.tasks.seasonal_naive_error`) every
    ``eval_every`` steps and after the last, the weights of the best validation MSE kept
    (``result.best_step``; ``patience`` evaluations without a new best stop the run early),
    and the test MSE once at the end (``result.test_metric``). Without one (older use): the
    test MSE every ``eval_every`` steps, all ``steps``, nothing chosen."""
    if not isinstance(data, tasks.ForecastData):
        raise TypeError(f"data: expected a ForecastData (tasks.make_windows), got "
                        f"{type(data).__name__}")
    validate.choice("cell", cell, CELLS)
    core = core_for(cell, core)
    H = validate.positive_int("hidden_size", hidden_size)
    batch = validate.positive_int("batch", batch)
    seed = validate.seed("seed", seed)
    test_fn = eval_on(data.x_test, data.y_test, F.mse_loss)
    if data.x_val is None:
        if patience is not None:
            raise ValueError("patience: early stopping needs a validation period (make_windows("
                             "..., val_fraction=...)); got data without one")
        selection = dict(eval_fn=test_fn)
    else:
        selection = dict(eval_fn=eval_on(data.x_val, data.y_val, F.mse_loss), test_fn=test_fn,
                         restore_best=True, patience=patience)
    return train(lambda: SequenceRegressor(cell, 1, H, data.horizon, core=core,
                                           batch_first=data.batch_first, seed=seed),
                 lambda rng: data.batch(batch, rng), F.mse_loss, steps=steps, lr=lr, clip=clip,
                 seed=seed, progress=progress, eval_every=eval_every, **selection,
                 config={"task": "forecast", "window": data.window, "horizon": data.horizon,
                         "cell": cell, "core": core, "hidden_size": H, "batch": batch})


def predict(model: torch.nn.Module, data: tasks.ForecastData, *, part: str = "test",
            units: str = "original") -> np.ndarray:
    """The model's forecasts for every window of ``part``, ``(N, horizon)`` float64, in the
    series' own units (``units="original"``) or the model's (``"normalised"``)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, tasks.ForecastData):
        raise TypeError(f"data: expected a ForecastData, got {type(data).__name__}")
    validate.choice("units", units, ["normalised", "original"])
    x = data.part(part)[0]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x).numpy().astype(np.float64)
    finally:
        model.train(was_training)
    return data.denormalise(out) if units == "original" else out


def persistence_error(data: tasks.ForecastData, *, part: str = "test",
                      metric: str = "mse") -> float:
    """Error of the no-change forecast (every future value = the window's last value), in
    normalised units like :func:`rnncourse.tasks.seasonal_naive_error`."""
    if not isinstance(data, tasks.ForecastData):
        raise TypeError(f"data: expected a ForecastData, got {type(data).__name__}")
    validate.choice("metric", metric, ["mse", "rmse", "mae"])
    x, y, _ = data.part(part)
    y = y.numpy().astype(np.float64)
    last = (x[:, -1, 0] if data.batch_first else x[-1, :, 0]).numpy().astype(np.float64)
    err = y - last[:, None]
    if metric == "mae":
        return float(np.abs(err).mean())
    mse = float(np.mean(err ** 2))
    return math.sqrt(mse) if metric == "rmse" else mse


# --- character-level language model -----------------------------------------------------------

@dataclass
class CharData:
    """Encoded text split in time: the first ``train_fraction`` to train on, the rest held out.

    ``test_x``/``test_y`` are consecutive windows of the held-out text (``(T, N)`` int64);
    ``unigram_bits`` is the entropy of the held-out text's own character frequencies: the
    bits per character of the best model that ignores context, fitted on the test text itself
    (so slightly optimistic, which makes it a harder baseline to beat). With
    ``char_data(..., val_fraction=...)`` the held-out text is cut in two: ``val_ids`` (and its
    windows ``val_x``/``val_y``) first, read by every choice, then ``test_ids``, read once.
    """

    vocab: tasks.Vocab
    train_ids: np.ndarray
    test_ids: np.ndarray
    test_x: torch.Tensor
    test_y: torch.Tensor
    unigram_bits: float
    val_ids: np.ndarray | None = None
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None


def char_data(text: str, *, train_fraction: float = 0.9, val_fraction: float | None = None,
              test_window: int = 100) -> CharData:
    """Vocabulary, split and held-out windows of ``text`` (see :class:`CharData`)."""
    vocab = tasks.Vocab(text)
    ids = vocab.encode(text)
    parts = tasks.char_split(ids, train_fraction, val_fraction)
    train_ids, test_ids = parts[0], parts[-1]
    test_x, test_y = tasks.char_test_set(test_ids, test_window)
    val = {}
    if val_fraction is not None:
        val_x, val_y = tasks.char_test_set(parts[1], test_window)
        val = dict(val_ids=parts[1], val_x=val_x, val_y=val_y)
    return CharData(vocab, train_ids, test_ids, test_x, test_y,
                    tasks.unigram_entropy_bits(test_ids), **val)


def char_lm_run(data: CharData, cell: str = "lstm", *, hidden_size: int = 128,
                embedding_dim: int | None = 32, T: int = 64, batch: int = 32, steps: int = 450,
                lr: float = 1e-2, clip: float | None = 1.0, seed: int = 0, core: str = "auto",
                eval_every: int = 150, num_layers: int = 1, dropout: float = 0.0,
                dropout_mode: str = "standard", train_chars: int | None = None,
                restore_best: bool = False, train_points: list | None = None,
                progress: bool | str = False) -> TrainResult:
    """Train a :class:`~rnncourse.models.CharLM` on random windows of ``T`` characters of the
    training text (its first ``train_chars`` only, if given); the evaluation metric is the
    cross-entropy in **nats** per character (:func:`bits_per_char` converts). Runs all ``steps``.

    With a validation text (``char_data(..., val_fraction=...)``) the curve is measured on it,
    ``restore_best`` keeps the weights of its best point, and the test text is read once at the
    end (``result.test_metric``); without one the curve is on the test text and nothing is
    chosen. ``num_layers``, ``dropout`` and ``dropout_mode`` are :class:`~rnncourse.models.
    CharLM`'s (``"variational"`` needs ``core="course"``, which it then picks).
    ``train_points`` (a list): at every evaluation, the cross-entropy on the training text
    itself (consecutive windows like the validation text's, as many) is appended to it; it is
    only recorded, never read by a choice.
    """
    if not isinstance(data, CharData):
        raise TypeError(f"data: expected a CharData (experiments.char_data), got "
                        f"{type(data).__name__}")
    validate.choice("cell", cell, CELLS)
    validate.choice("dropout_mode", dropout_mode, DROPOUT_MODES)
    if dropout_mode == "variational" and core == "auto":
        core = "course"
    core = core_for(cell, core)
    H = validate.positive_int("hidden_size", hidden_size)
    T = validate.positive_int("T", T)
    batch = validate.positive_int("batch", batch)
    seed = validate.seed("seed", seed)
    validate.boolean("restore_best", restore_best)
    train_ids = data.train_ids
    if train_chars is not None:
        train_ids = train_ids[:validate.positive_int("train_chars", train_chars, minimum=T + 1)]
    V = len(data.vocab)
    test_fn = eval_on(data.test_x, data.test_y, tasks.sequence_cross_entropy)
    if data.val_x is None:
        if restore_best:
            raise ValueError("restore_best: choosing the best point needs a validation text "
                             "(char_data(..., val_fraction=...)); got data without one")
        selection = dict(eval_fn=test_fn)
    else:
        val_fn = eval_on(data.val_x, data.val_y, tasks.sequence_cross_entropy)
        if train_points is not None:
            tx, ty = tasks.char_test_set(train_ids, data.val_x.shape[0])
            n = data.val_x.shape[1]
            train_fn = eval_on(tx[:, :n], ty[:, :n], tasks.sequence_cross_entropy)
            plain_val_fn = val_fn

            def val_fn(model):  # the validation metric decides; the training one is recorded
                train_points.append(train_fn(model))
                return plain_val_fn(model)

            val_fn.__qualname__ = plain_val_fn.__qualname__
        selection = dict(eval_fn=val_fn, test_fn=test_fn, restore_best=restore_best)
    return train(lambda: CharLM(V, H, cell, num_layers, embedding_dim=embedding_dim, core=core,
                                dropout=dropout, dropout_mode=dropout_mode, seed=seed),
                 lambda rng: tasks.char_batch(train_ids, batch, T, rng),
                 tasks.sequence_cross_entropy, steps=steps, lr=lr, clip=clip, seed=seed,
                 progress=progress, eval_every=eval_every, **selection,
                 config={"task": "char LM", "cell": cell, "core": core, "hidden_size": H,
                         "embedding_dim": embedding_dim, "T": T, "batch": batch,
                         "vocab_size": V, "num_layers": num_layers, "dropout": dropout,
                         "dropout_mode": dropout_mode, "train_chars": len(train_ids)})


def bits_per_char(nats: float) -> float:
    """A cross-entropy in nats per character (torch's unit) in bits per character."""
    if isinstance(nats, bool) or not isinstance(nats, (int, float, np.floating)):
        raise TypeError(f"nats: expected a number, got {type(nats).__name__}")
    return tasks.nats_to_bits(nats)


def samples(model: CharLM, vocab: tasks.Vocab, prompt: str, *,
            temperatures: Sequence[float] = (0.5, 1.0, 1.5), length: int = 200,
            seed: int = 0) -> dict[float, str]:
    """``{temperature: prompt + generated text}``, each sampled with the same ``seed``."""
    if not isinstance(model, CharLM):
        raise TypeError(f"model: expected a CharLM, got {type(model).__name__}")
    if not isinstance(vocab, tasks.Vocab):
        raise TypeError(f"vocab: expected a tasks.Vocab, got {type(vocab).__name__}")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt: expected a non-empty str, got {prompt!r}")
    if isinstance(temperatures, (str, bytes)) or not isinstance(temperatures, Sequence) \
            or not temperatures:
        raise TypeError(f"temperatures: expected a non-empty list of numbers, got "
                        f"{temperatures!r}")
    ids = vocab.encode(prompt)
    return {float(t): prompt + vocab.decode(model.generate(ids, length, temperature=t,
                                                            seed=seed))
            for t in temperatures}


def word_fraction(sample: str, reference: str) -> float:
    """Fraction of the words of ``sample`` (runs of letters and apostrophes, lower-cased) that
    occur in ``reference``: how much of a generated text is spelled like the training text."""
    import re

    for name, text in (("sample", sample), ("reference", reference)):
        if not isinstance(text, str):
            raise TypeError(f"{name}: expected a str, got {type(text).__name__}")
    pattern = re.compile(r"[a-z']+")
    words = [w.strip("'") for w in pattern.findall(sample.lower())]
    words = [w for w in words if w]
    if not words:
        raise ValueError(f"sample: expected at least one word, got {sample[:40]!r}")
    known = {w.strip("'") for w in pattern.findall(reference.lower())}
    return sum(w in known for w in words) / len(words)


# --- summary ----------------------------------------------------------------------------------

class _RunView:
    """The fields :func:`summary_row` reads, from a run's :meth:`TrainResult.to_dict`."""

    def __init__(self, run: Mapping):
        for key in ("n_params", "steps", "seconds", "ms_per_step", "steps_to_target"):
            if key not in run:
                raise TypeError(f"result: expected a TrainResult or its to_dict(), got a dict "
                                f"without {key!r}")
            setattr(self, key, run[key])


def summary_row(experiment: str, model: str, result: TrainResult | Mapping, *, metric: str,
                value: float, baseline: float | None = None, target: float | None = None) -> dict:
    """One row of the summary table: what ran, how long, how far it got.

    ``metric`` names the number ``value`` (e.g. ``"test MSE"``, ``"bits/char"``); ``baseline`` is
    the number to beat in the same unit; ``steps to target`` is filled when the run had one.
    """
    if isinstance(result, Mapping) and not isinstance(result, TrainResult):
        result = _RunView(result)  # a run as plain data (TrainResult.to_dict())
    elif not isinstance(result, TrainResult):
        raise TypeError(f"result: expected a TrainResult or its to_dict(), got "
                        f"{type(result).__name__}")
    for name, text in (("experiment", experiment), ("model", model), ("metric", metric)):
        if not isinstance(text, str):
            raise TypeError(f"{name}: expected a str, got {type(text).__name__}")
    for name, number in (("value", value), ("baseline", baseline), ("target", target)):
        if number is not None and (isinstance(number, bool)
                                   or not isinstance(number, (int, float, np.floating))):
            raise TypeError(f"{name}: expected a number, got {type(number).__name__}")
    return {"experiment": experiment, "model": model, "params": result.n_params,
            "steps": result.steps, "seconds": round(result.seconds, 2),
            "ms/step": round(result.ms_per_step, 1) if result.ms_per_step else None,
            "steps to target": result.steps_to_target, "metric": metric,
            "value": float(value), "baseline": None if baseline is None else float(baseline),
            "beats baseline": None if baseline is None else bool(value < baseline),
            "target": target}
