"""Lesson 6: deep and regularised character models, at the same time budget and on a validation
split.

* :func:`depth_study`: 1, 2 and 3 stacked layers of LSTM and GRU, every model given the same
  **time** budget. A budget in seconds of wall time would make the result depend on how busy
  the machine is, so the cost of a step is its **CPU time** (one torch thread: what an idle
  core would take, since waiting for the CPU is not counted), measured for every model together
  by :func:`step_costs`: interleaved rounds, one step of each model per round, and the least
  time of each (a busy neighbour, another process on the core, only ever adds). Each model
  gets ``budget / cost`` steps. Validation bits per character, parameters and time per step
  come back for each.
* :func:`dropout_study`: no dropout, dropout between layers and on the inputs and outputs with a
  fresh mask at every step (Zaremba, Sutskever & Vinyals 2014) and variational dropout, one mask
  for all time steps (Gal & Ghahramani 2016), on a small training text so that the model can
  overfit: training and validation curves, and the overfitting gap (validation minus training
  bits per character at the best validation point).

Every run is one call of :func:`char_run`, a module-level function, so the runs go through
:func:`rnncourse.parallel.run_each` together with any other runs of the lesson. Nothing here
reads the test text: the choices (best step) use the validation text, and the test number
is the run's ``test_metric``, read once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from . import heap, tasks, validate
from .experiments import CharData, bits_per_char, char_lm_run
from .models import CharLM
from .threads import chosen_threads
from .train import make_optimizer

__all__ = ["DEPTH", "DROPOUT", "DROPOUT_MODELS", "StepCosts", "step_costs", "step_cpu_seconds",
           "char_run", "depth_calls",
           "dropout_calls", "depth_table", "dropout_table", "zaremba_verdict"]

DEPTH = dict(hidden_size=48, embedding_dim=16, T=32, batch=32, lr=1e-2, cpu_budget=1.0,
             eval_every=25, layers=(1, 2, 3), cells=("lstm", "gru"))
"""The depth comparison: the same CPU-time budget (seconds) for every cell and depth."""

DROPOUT = dict(cell="lstm", num_layers=2, hidden_size=64, embedding_dim=16, T=32, batch=32,
               lr=1e-2, steps=200, eval_every=20, train_chars=5000, p=0.3)
"""The dropout comparison: a 2-layer LSTM on the first 5000 training characters only."""

DROPOUT_MODELS = {"no dropout": None, "dropout (Zaremba et al.)": "standard",
                  "variational (Gal & Ghahramani)": "variational"}
"""Label -> ``dropout_mode`` (None: no dropout)."""


def _training_step(model, opt, data: CharData, batch: int, T: int, rng) -> float:
    """One training step (forward, backward, clip, Adam) of ``model``; its thread's CPU seconds."""
    x, y = tasks.char_batch(data.train_ids, batch, T, rng)
    t0 = time.thread_time()
    opt.zero_grad(set_to_none=True)
    loss = tasks.sequence_cross_entropy(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return time.thread_time() - t0


class StepCosts(dict):
    """Label -> CPU seconds of one training step (the least of the rounds), with ``rounds`` and
    ``spread``: the largest ratio, over the models, of a model's median round to its least."""

    def __init__(self, costs: Mapping[str, float], rounds: int, spread: float):
        super().__init__(costs)
        self.rounds, self.spread = rounds, spread

    def summary(self) -> str:
        """One line for the lesson's output: how the costs were measured and how noisy."""
        return (f"CPU time per step: the least of {self.rounds} interleaved rounds (one step of "
                f"each model per round); a model's median round was at most "
                f"{100 * (self.spread - 1):.0f}% above its least")


def step_costs(data: CharData, setting: Mapping = DEPTH, *, seed: int = 0,
               rounds: int = 8) -> StepCosts:
    """CPU seconds of one training step of every model of :func:`depth_calls` (``setting``),
    measured together: after a warm-up step each, ``rounds`` rounds of one step per model, in
    turn, on one torch thread; each model's cost is its least round. Measured in turn, a burst
    of load on the machine falls on every model alike instead of on the one measured then."""
    from .experiments import core_for

    rounds = validate.positive_int("rounds", rounds, minimum=1)
    s = dict(setting)
    calls = depth_calls(data, s, seed=seed)
    old = torch.get_num_threads()
    torch.set_num_threads(chosen_threads())
    try:
        models = {}
        for c in calls:
            model = CharLM(len(data.vocab), c["hidden_size"], c["cell"], c["num_layers"],
                           embedding_dim=c["embedding_dim"], core=core_for(c["cell"]),
                           seed=seed)
            models[c["label"]] = (model, make_optimizer("adam", model.parameters(), c["lr"]))
        rng = np.random.default_rng(seed)
        times = {label: [] for label in models}
        for k in range(rounds + 1):
            for label, (model, opt) in models.items():
                t = _training_step(model, opt, data, s["batch"], s["T"], rng)
                if k:  # round 0 warms up
                    times[label].append(t)
    finally:
        torch.set_num_threads(old)
        del models
        heap.release()
    spread = max(float(np.median(t)) / min(t) for t in times.values())
    return StepCosts({label: min(t) for label, t in times.items()}, rounds, spread)


def step_cpu_seconds(data: CharData, cell: str, num_layers: int, *, hidden_size: int,
                     embedding_dim: int, T: int, batch: int, lr: float, core: str = "auto",
                     repeats: int = 6, seed: int = 0) -> float:
    """Least CPU time of the calling thread for one training step (forward, backward, clip,
    Adam) of this model, after one warm-up step: the time the step takes on an idle core (time
    taken by others only adds). :func:`step_costs` measures several models fairly."""
    from .experiments import core_for

    repeats = validate.positive_int("repeats", repeats, minimum=1)
    old = torch.get_num_threads()
    torch.set_num_threads(chosen_threads())
    try:
        model = CharLM(len(data.vocab), hidden_size, cell, num_layers,
                       embedding_dim=embedding_dim, core=core_for(cell, core), seed=seed)
        opt = make_optimizer("adam", model.parameters(), lr)
        rng = np.random.default_rng(seed)
        times = [_training_step(model, opt, data, batch, T, rng) for _ in range(repeats + 1)]
    finally:
        torch.set_num_threads(old)
    return min(times[1:])


def char_run(data: CharData, *, cell: str = "lstm", num_layers: int = 1, hidden_size: int,
             embedding_dim: int, T: int, batch: int, lr: float, eval_every: int,
             steps: int | None = None, cpu_budget: float | None = None, dropout: float = 0.0,
             dropout_mode: str = "standard", train_chars: int | None = None,
             train_curve: bool = False, keep_model: bool = False, seed: int = 0,
             label: str = "", step_cpu_s: float | None = None) -> dict:
    """One character-model run, as plain data (picklable, ready for the results store).

    Give ``steps``, or ``cpu_budget`` (seconds): then ``steps = budget / cost``, the cost of a
    step being ``step_cpu_s`` (from :func:`step_costs`) or, without it, measured here
    (:func:`step_cpu_seconds`).
    Returns the run (:meth:`~rnncourse.train.TrainResult.to_dict`) with ``label``,
    ``step_cpu_ms`` (measured when a budget is given), ``val_bpc`` (the best point of the
    validation curve; its weights are kept), ``val_curve`` and, with ``train_curve``, the
    training text's bits per character at the same steps (``train_curve``), ``gap`` (validation
    minus training at the end of the run, the same step for every model) and ``test_bpc``
    (read once, at the end); ``keep_model`` adds the trained model (``"model"``).
    """
    if not isinstance(data, CharData) or data.val_x is None:
        raise TypeError("data: expected a CharData with a validation text (char_data(..., "
                        f"val_fraction=...)), got {type(data).__name__}"
                        + (" without one" if isinstance(data, CharData) else ""))
    if (steps is None) == (cpu_budget is None):
        raise ValueError(f"steps, cpu_budget: expected exactly one of them, got steps={steps!r}, "
                         f"cpu_budget={cpu_budget!r}")
    if step_cpu_s is not None and cpu_budget is None:
        raise ValueError(f"step_cpu_s: given ({step_cpu_s!r}) without a cpu_budget to divide")
    step_cpu = None
    if cpu_budget is not None:
        cpu_budget = validate.positive_float("cpu_budget", cpu_budget)
        step_cpu = (validate.positive_float("step_cpu_s", step_cpu_s) if step_cpu_s is not None
                    else step_cpu_seconds(data, cell, num_layers, hidden_size=hidden_size,
                                          embedding_dim=embedding_dim, T=T, batch=batch, lr=lr,
                                          seed=seed))
        steps = max(eval_every, int(cpu_budget / step_cpu))
    points = [] if train_curve else None
    result = char_lm_run(data, cell, hidden_size=hidden_size, embedding_dim=embedding_dim, T=T,
                         batch=batch, steps=steps, lr=lr, seed=seed, eval_every=eval_every,
                         num_layers=num_layers, dropout=dropout, dropout_mode=dropout_mode,
                         train_chars=train_chars, restore_best=True, train_points=points)
    out = result.to_dict()
    out["label"] = label
    out["step_cpu_ms"] = None if step_cpu is None else 1000 * step_cpu
    out["val_curve"] = [[s, bits_per_char(m)] for s, m in result.evals]
    out["val_bpc"] = bits_per_char(result.best_eval)
    out["test_bpc"] = bits_per_char(result.test_metric)
    if train_curve:
        curve = [[s, bits_per_char(m)] for (s, _), m in zip(result.evals, points)]
        out["train_curve"] = curve
        out["train_bpc_at_best"] = dict(curve)[result.best_step]
        out["gap"] = out["val_curve"][-1][1] - curve[-1][1]  # at the last step: overfitting
    if keep_model:
        out["model"] = result.model
    del result, points
    heap.release()  # the run's freed batches and activations go back to the system
    return out


def depth_calls(data: CharData, setting: Mapping = DEPTH, *, seed: int = 0,
                costs: Mapping[str, float] | None = None) -> list[dict]:
    """:func:`char_run` arguments for every cell and depth of ``setting`` (:data:`DEPTH`); with
    ``costs`` (:func:`step_costs`, by label) each run's step cost is that one."""
    s = dict(setting)
    cells, layers = s.pop("cells"), s.pop("layers")
    calls = [dict(data=data, cell=cell, num_layers=n, seed=seed,
                  label=f"{cell.upper()}, {n} layer{'s' if n > 1 else ''}", **s)
             for cell in cells for n in layers]
    if costs is not None:
        missing = [c["label"] for c in calls if c["label"] not in costs]
        if missing:
            raise ValueError(f"costs: expected a cost for every depth run, missing {missing}")
        for c in calls:
            c["step_cpu_s"] = float(costs[c["label"]])
    return calls


def dropout_calls(data: CharData, setting: Mapping = DROPOUT, *, seed: int = 0) -> list[dict]:
    """:func:`char_run` arguments for every model of :data:`DROPOUT_MODELS`."""
    s = dict(setting)
    p = s.pop("p")
    return [dict(data=data, seed=seed, label=label, train_curve=True,
                 dropout=0.0 if mode is None else p, dropout_mode=mode or "standard", **s)
            for label, mode in DROPOUT_MODELS.items()]


def depth_table(runs: Sequence[Mapping]) -> list[dict]:
    """One row per depth run: label, parameters, steps, CPU ms per step, validation bpc."""
    return [{"model": r["label"], "layers": r["config"]["num_layers"],
             "params": r["n_params"], "steps": r["steps"],
             "CPU ms/step": round(r["step_cpu_ms"], 2), "val bits/char": round(r["val_bpc"], 3)}
            for r in runs]


def dropout_table(runs: Sequence[Mapping]) -> list[dict]:
    """One row per dropout run: the best validation point, training and validation bits per
    char at the end, and the gap between them (the overfitting)."""
    return [{"model": r["label"], "best step": r["best_step"],
             "best val bits/char": round(r["val_bpc"], 3),
             "final train bits/char": round(r["train_curve"][-1][1], 3),
             "final val bits/char": round(r["val_curve"][-1][1], 3), "gap": round(r["gap"], 3)}
            for r in runs]


def zaremba_verdict(runs: Mapping[str, Mapping]) -> tuple[str, str]:
    """``(verdict, why)`` for Zaremba et al.'s claim from the dropout runs by label: *agrees*
    when dropout both narrows the gap and lowers the best validation bits per char, *partly*
    when it does one of the two, *disagrees* when it does neither."""
    none, drop = runs["no dropout"], runs["dropout (Zaremba et al.)"]
    narrower = drop["gap"] < none["gap"]
    better = drop["val_bpc"] < none["val_bpc"]
    if narrower and better:
        return "agrees", ""
    if narrower:
        return "partly", ("dropout narrows the overfitting gap, but within this small budget "
                          "the model without dropout still reaches a lower validation loss: "
                          "dropout slows learning, and Zaremba et al. trained for many epochs "
                          "on a large model, where the regularisation pays off")
    if better:
        return "partly", "validation improves, but the gap does not narrow at this scale"
    return "disagrees", "neither the gap nor the validation loss improves at this scale"
