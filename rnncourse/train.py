"""The one training loop of the course.

::

    from rnncourse import models, tasks, train
    test_x, test_y = tasks.adding_test_set(T=50)
    result = train.train(
        lambda: models.SequenceRegressor("gru", 2, 64, 1),
        lambda rng: tasks.adding_batch(64, 50, rng),
        torch.nn.functional.mse_loss,
        steps=2000, lr=3e-3, clip=1.0, seed=0,
        eval_fn=train.eval_on(test_x, test_y, torch.nn.functional.mse_loss), target=0.01)

What it guarantees:

* **Seeded.** ``seed`` seeds torch (inside ``torch.random.fork_rng``, so the caller's global
  random state is left as it was) and a ``numpy.random.Generator`` handed to ``make_batch``.
  Pass the model as a zero-argument function (``lambda: Model(...)``) and its initialisation
  becomes part of the seeded run too. Same seed, same numbers, step for step.
* **Threads set deliberately.** ``torch.set_num_threads(threads)`` for the run, the previous
  value restored afterwards. By default 1 (small recurrent models are latency-bound), or
  ``$RNNCOURSE_TORCH_THREADS`` when set (``make bench`` compares 1 and 2 that way).
* **Honest records.** ``grad_norms`` are the global gradient norms *before* clipping. A
  non-finite loss or gradient stops the run with ``diverged=True``; the bad value is recorded
  and no exception is raised.
* **Early stop.** With ``eval_fn`` and ``target`` the run stops at the first evaluation whose
  metric is below ``target``; ``steps_to_target`` and ``seconds_to_target`` say when.
  ``goal="max"`` is for a metric such as accuracy (reached at ``>= target``), and
  ``stop_at_target=False`` runs every step anyway (the same budget for every model).
* **Early stopping on validation data.** ``eval_fn`` is the *validation* metric: every choice
  the loop makes reads it and nothing else. ``restore_best=True`` keeps the weights of the best
  evaluation (``result.best_step``) and puts them back after the run; ``patience=k`` stops once
  ``k`` evaluations in a row have not improved on the best. ``test_fn`` (the test metric) runs
  once, after the last step and after the best weights are back, so a test number can never
  choose a stopping point (``tests/test_selection.py``).
* **What seq2seq needs too.** ``forward(model, inputs)`` says how a batch is fed (a decoder gets
  the target prefix: teacher forcing), ``lr_schedule(step)`` scales ``lr`` step by step
  (:func:`cosine_decay`), and ``test_fn(model)`` evaluates once after the last step
  (``result.test_metric``). :func:`rnncourse.seq2seq.train` is this loop with those options.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import validate
from .models import count_parameters
from .threads import chosen_threads

__all__ = ["TrainResult", "train", "evaluate", "eval_on", "OPTIMIZERS", "make_optimizer",
           "cosine_decay", "GOALS"]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
GOALS = ("min", "max")  # is a smaller or a larger evaluation metric better


@dataclass
class TrainResult:
    """What a :func:`train` run measured.

    ``losses[k]`` and ``grad_norms[k]`` belong to step ``k + 1`` (``grad_norms`` before clipping,
    empty if ``log_grad_norm=False``). ``evals`` is a list of ``(step, metric)``. ``seconds`` is
    the wall time of the whole run (evaluations included), ``train_seconds`` the part spent in
    training steps (``train_seconds_to_target`` likewise). ``test_metric`` is what ``test_fn``
    measured after the last step (None without one).
    """

    losses: list[float]
    grad_norms: list[float]
    evals: list[tuple[int, float]]
    steps_to_target: int | None
    seconds: float
    seconds_to_target: float | None
    train_seconds: float
    n_params: int
    config: dict
    diverged: bool = False
    diverged_at: int | None = None
    train_seconds_to_target: float | None = None
    test_metric: float | None = None
    best_step: int | None = None
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def steps(self) -> int:
        """Number of steps run (fewer than asked after early stop or divergence)."""
        return len(self.losses)

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    @property
    def final_eval(self) -> float | None:
        return self.evals[-1][1] if self.evals else None

    @property
    def best_eval(self) -> float | None:
        finite = [m for _, m in self.evals if math.isfinite(m)]
        if not finite:
            return None
        return max(finite) if self.config.get("goal") == "max" else min(finite)

    @property
    def eval_steps(self) -> list[int]:
        """The steps at which ``eval_fn`` ran (the x axis of the learning curve)."""
        return [s for s, _ in self.evals]

    @property
    def eval_values(self) -> list[float]:
        """What ``eval_fn`` measured at those steps."""
        return [m for _, m in self.evals]

    @property
    def ms_per_step(self) -> float | None:
        return 1000 * self.train_seconds / self.steps if self.steps else None

    def to_dict(self) -> dict:
        """Plain data (lists, floats, ints, strings) for :func:`rnncourse.results.save_result`."""
        return {
            "losses": list(self.losses),
            "grad_norms": list(self.grad_norms),
            "evals": [[int(s), float(m)] for s, m in self.evals],
            "steps": self.steps,
            "steps_to_target": self.steps_to_target,
            "seconds": self.seconds,
            "seconds_to_target": self.seconds_to_target,
            "train_seconds": self.train_seconds,
            "ms_per_step": self.ms_per_step,
            "n_params": self.n_params,
            "final_loss": self.final_loss,
            "final_eval": self.final_eval,
            "best_eval": self.best_eval,
            "diverged": self.diverged,
            "diverged_at": self.diverged_at,
            "train_seconds_to_target": self.train_seconds_to_target,
            "test_metric": self.test_metric,
            "best_step": self.best_step,
            "config": dict(self.config),
        }

    def __repr__(self) -> str:
        parts = [f"steps={self.steps}", f"final_loss={_fmt(self.final_loss)}"]
        if self.evals:
            parts.append(f"final_eval={_fmt(self.final_eval)}")
        if self.config.get("target") is not None:
            parts.append(f"steps_to_target={self.steps_to_target}")
        if self.diverged:
            parts.append(f"diverged_at={self.diverged_at}")
        parts += [f"seconds={self.seconds:.2f}", f"n_params={self.n_params}"]
        return f"TrainResult({', '.join(parts)})"


def _fmt(v):
    return "None" if v is None else f"{v:.4g}"


def make_optimizer(name: str, params, lr: float, **kwargs) -> torch.optim.Optimizer:
    """``"adam"``, ``"adamw"``, ``"sgd"`` or ``"rmsprop"`` over ``params``, learning rate ``lr``.

    The update runs as grouped (``foreach``) kernels unless ``kwargs`` says otherwise: on a CPU
    torch defaults to one small kernel per tensor and step, and for the course's small models the
    grouped update gave the same numbers about 0.5 ms faster per step (10-15% of a step).
    """
    validate.choice("optimizer", name, OPTIMIZERS)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
           "rmsprop": torch.optim.RMSprop}[name]
    kwargs.setdefault("foreach", True)
    return cls(params, lr=lr, **kwargs)


def cosine_decay(steps: int, decay_start: float = 0.5) -> Callable[[int], float]:
    """An ``lr_schedule``: factor 1 for the first ``decay_start`` fraction of ``steps``, then a
    cosine down towards 0 over the rest (``decay_start=1``: constant)."""
    steps = validate.positive_int("steps", steps)
    if isinstance(decay_start, bool) or not isinstance(decay_start, (int, float)) \
            or not 0 <= decay_start <= 1:
        raise ValueError(f"decay_start: expected a number in [0, 1], got {decay_start!r}")
    first_decay = int(decay_start * steps)

    def schedule(step: int) -> float:
        if step <= first_decay:
            return 1.0
        fraction = (step - first_decay) / (steps - first_decay + 1)
        return 0.5 * (1 + math.cos(math.pi * fraction))

    schedule.__qualname__ = f"cosine_decay(steps={steps}, decay_start={decay_start})"
    return schedule


def _grad_norm(params) -> float:
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads])))


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def evaluate(model: nn.Module, inputs, targets, metric: Callable, *,
             batch_size: int | None = None) -> float:
    """``metric(model(inputs), targets)`` as a float, without gradients, in eval mode.

    With ``batch_size`` the inputs are split along the batch axis (axis 1 time-major, 0 if the
    model is ``batch_first``), the targets along axis 0 (``(B, O)``) or 1 (per-step ``(T, B)``),
    and the batch-size weighted mean of the metric is returned (exact for means over sequences
    such as MSE and cross-entropy).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not callable(metric):
        raise TypeError(f"metric: expected a function (output, target) -> number, got "
                        f"{type(metric).__name__}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if batch_size is None:
                return float(metric(model(inputs), targets))
            batch_size = validate.positive_int("batch_size", batch_size)
            axis = 0 if getattr(model, "batch_first", False) else 1
            n = inputs.shape[axis]
            per_step = axis == 1 and targets.dim() >= 2 and targets.shape[:2] == inputs.shape[:2]
            t_axis = 1 if per_step else 0
            total, count = 0.0, 0
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                x = inputs.narrow(axis, start, size)
                y = targets.narrow(t_axis, start, size)
                total += float(metric(model(x), y)) * size
                count += size
            return total / count
    finally:
        model.train(was_training)


def eval_on(inputs, targets, metric: Callable, *, batch_size: int | None = None) -> Callable:
    """An ``eval_fn`` for :func:`train`: ``model -> evaluate(model, inputs, targets, metric)``."""
    if not callable(metric):
        raise TypeError(f"metric: expected a function (output, target) -> number, got "
                        f"{type(metric).__name__}")

    def eval_fn(model):
        return evaluate(model, inputs, targets, metric, batch_size=batch_size)

    eval_fn.__qualname__ = f"eval_on({_name(metric)})"
    return eval_fn


def train(model, make_batch: Callable, loss_fn: Callable, *, steps: int, lr: float,
          optimizer: str = "adam", optimizer_kwargs: dict | None = None,
          clip: float | None = None, seed: int = 0, threads: int | None = None,
          eval_fn: Callable | None = None, eval_every: int = 50, target: float | None = None,
          progress: bool | str = True, log_grad_norm: bool = True,
          config: dict | None = None, forward: Callable | None = None,
          lr_schedule: Callable | None = None, goal: str = "min", stop_at_target: bool = True,
          test_fn: Callable | None = None, restore_best: bool = False,
          patience: int | None = None) -> TrainResult:
    """Train ``model`` for up to ``steps`` steps; return a :class:`TrainResult`.

    ``model``: an ``nn.Module``, or a zero-argument function returning one (built inside the
    seeded run, so its initial weights are reproducible; ``result.model`` holds it).
    ``make_batch(rng) -> (x, y)`` draws a fresh batch from the ``numpy.random.Generator``
    ``rng``; ``loss_fn(model(x), y)`` is a scalar tensor. ``clip`` is the maximum global
    gradient norm (``torch.nn.utils.clip_grad_norm_``), ``None`` for no clipping.
    ``eval_fn(model) -> float`` runs every ``eval_every`` steps and after the last one (see
    :func:`eval_on`); with ``target`` the run stops once the metric is below it (``goal="max"``:
    at or above it; ``stop_at_target=False``: it only records when). ``config`` adds your own
    entries (task, T, batch size...) to ``result.config``. ``forward(model, x)`` replaces
    ``model(x)``; ``lr_schedule(step)`` multiplies ``lr`` at step ``step`` (1-based);
    ``test_fn(model) -> float`` runs once after the last step, into ``result.test_metric``.
    ``restore_best`` (needs ``eval_fn``) ends the run with the weights of its best evaluation
    (``result.best_step``); ``patience`` (an int >= 1, needs ``eval_fn``) stops the run after
    that many evaluations without a new best: early stopping on the validation metric.
    """
    steps = validate.positive_int("steps", steps)
    lr = validate.positive_float("lr", lr)
    validate.choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer_kwargs is not None and not isinstance(optimizer_kwargs, dict):
        raise TypeError(f"optimizer_kwargs: expected a dict or None, got "
                        f"{type(optimizer_kwargs).__name__}")
    if clip is not None:
        clip = validate.positive_float("clip", clip)
    seed = validate.seed("seed", seed)
    threads = chosen_threads() if threads is None else validate.positive_int("threads", threads)
    eval_every = validate.positive_int("eval_every", eval_every)
    if not callable(make_batch):
        raise TypeError(f"make_batch: expected a function rng -> (inputs, targets), got "
                        f"{type(make_batch).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a function (output, target) -> scalar tensor, got "
                        f"{type(loss_fn).__name__}")
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(f"eval_fn: expected a function model -> float or None, got "
                        f"{type(eval_fn).__name__}")
    if target is not None:
        if eval_fn is None:
            raise ValueError("target: early stopping compares the evaluation metric with the "
                             "target; expected an eval_fn as well, got eval_fn=None")
        if isinstance(target, bool) or not isinstance(target, (int, float, np.floating)):
            raise TypeError(f"target: expected a number or None, got {type(target).__name__}")
        target = float(target)
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config: expected a dict or None, got {type(config).__name__}")
    if not isinstance(progress, (bool, str)):
        raise TypeError(f"progress: expected a bool or a description (str), got "
                        f"{type(progress).__name__}")
    validate.boolean("log_grad_norm", log_grad_norm)
    validate.boolean("stop_at_target", stop_at_target)
    validate.choice("goal", goal, GOALS)
    validate.boolean("restore_best", restore_best)
    if patience is not None:
        patience = validate.positive_int("patience", patience)
    if (restore_best or patience is not None) and eval_fn is None:
        raise ValueError("restore_best, patience: early stopping reads the validation metric; "
                         "expected an eval_fn as well, got eval_fn=None")
    for name, fn in (("forward", forward), ("lr_schedule", lr_schedule), ("test_fn", test_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}: expected a function or None, got {type(fn).__name__}")
    extra = {}  # the options below enter the config only when used (older records unchanged)
    if forward is not None:
        extra["forward"] = _name(forward)
    if lr_schedule is not None:
        extra["lr_schedule"] = _name(lr_schedule)
    if goal != "min":
        extra["goal"] = goal
    if not stop_at_target:
        extra["stop_at_target"] = False
    if test_fn is not None:
        extra["test_fn"] = _name(test_fn)
    if restore_best:
        extra["restore_best"] = True
    if patience is not None:
        extra["patience"] = patience
    options = {"forward": forward, "lr_schedule": lr_schedule, "goal": goal,
               "stop_at_target": stop_at_target, "test_fn": test_fn,
               "restore_best": restore_best, "patience": patience}
    if not isinstance(model, nn.Module) and not callable(model):
        raise TypeError(f"model: expected a torch.nn.Module or a function returning one, got "
                        f"{type(model).__name__}")

    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if not isinstance(model, nn.Module):
                model = model()
                if not isinstance(model, nn.Module):
                    raise TypeError(f"model: the function returned a {type(model).__name__}, "
                                    f"expected a torch.nn.Module")
            return _loop(model, make_batch, loss_fn, steps=steps, lr=lr, optimizer=optimizer,
                         optimizer_kwargs=optimizer_kwargs or {}, clip=clip, seed=seed,
                         threads=threads, eval_fn=eval_fn, eval_every=eval_every,
                         target=target, progress=progress, log_grad_norm=log_grad_norm,
                         extra=extra | (config or {}), **options)
    finally:
        torch.set_num_threads(old_threads)


def _loop(model, make_batch, loss_fn, *, steps, lr, optimizer, optimizer_kwargs, clip, seed,
          threads, eval_fn, eval_every, target, progress, log_grad_norm, extra, forward,
          lr_schedule, goal, stop_at_target, test_fn, restore_best, patience):
    rng = np.random.default_rng(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model: expected trainable parameters, got none")
    opt = make_optimizer(optimizer, params, lr, **optimizer_kwargs)
    n_params = count_parameters(model)
    config = {
        "model": type(model).__name__, "make_batch": _name(make_batch),
        "loss_fn": _name(loss_fn), "steps": steps, "lr": lr, "optimizer": optimizer,
        "optimizer_kwargs": dict(optimizer_kwargs), "clip": clip, "seed": seed,
        "threads": threads, "eval_fn": None if eval_fn is None else _name(eval_fn),
        "eval_every": eval_every, "target": target, "n_params": n_params,
        "torch": torch.__version__, "machine": platform.machine(),
    }
    config.update(extra)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        desc = progress if isinstance(progress, str) else "train"
        bar = tqdm(total=steps, desc=desc, leave=True, mininterval=0.5)

    losses: list[float] = []
    norms: list[float] = []
    evals: list[tuple[int, float]] = []
    steps_to_target = seconds_to_target = train_seconds_to_target = None
    diverged, diverged_at = False, None
    best_step, best_metric, best_state, since_best = None, None, None, 0
    train_seconds = 0.0
    start = time.perf_counter()
    model.train()
    try:
        for step in range(1, steps + 1):
            t0 = time.perf_counter()
            if lr_schedule is not None:
                for group in opt.param_groups:
                    group["lr"] = lr * lr_schedule(step)
            x, y = make_batch(rng)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x) if forward is None else forward(model, x), y)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise TypeError(f"loss_fn: expected a scalar tensor, got "
                                f"{type(loss).__name__}"
                                + (f" of shape {tuple(loss.shape)}"
                                   if isinstance(loss, torch.Tensor) else ""))
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):
                if log_grad_norm:
                    norms.append(float("nan"))
                diverged, diverged_at = True, step
                train_seconds += time.perf_counter() - t0
                break
            loss.backward()
            if clip is not None:
                norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
            elif log_grad_norm:
                norm = _grad_norm(params)
            else:
                norm = 0.0
            if log_grad_norm:
                norms.append(norm)
            if (clip is not None or log_grad_norm) and not math.isfinite(norm):
                diverged, diverged_at = True, step
                train_seconds += time.perf_counter() - t0
                break
            opt.step()
            train_seconds += time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            if eval_fn is not None and (step % eval_every == 0 or step == steps):
                metric = float(eval_fn(model))
                model.train()
                evals.append((step, metric))
                if math.isfinite(metric) and (best_metric is None or (
                        metric > best_metric if goal == "max" else metric < best_metric)):
                    best_step, best_metric, since_best = step, metric, 0
                    if restore_best:
                        best_state = {k: v.detach().clone()
                                      for k, v in model.state_dict().items()}
                else:
                    since_best += 1
                if bar is not None:
                    bar.set_postfix(loss=f"{value:.4g}", eval=f"{metric:.4g}", refresh=False)
                if target is not None and steps_to_target is None and (
                        metric >= target if goal == "max" else metric < target):
                    steps_to_target = step
                    seconds_to_target = time.perf_counter() - start
                    train_seconds_to_target = train_seconds
                    if stop_at_target:
                        break
                if patience is not None and since_best >= patience:
                    break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    test_metric = None if test_fn is None else float(test_fn(model))
    seconds = time.perf_counter() - start
    return TrainResult(losses=losses, grad_norms=norms, evals=evals,
                       steps_to_target=steps_to_target, seconds=seconds,
                       seconds_to_target=seconds_to_target, train_seconds=train_seconds,
                       n_params=n_params, config=config, diverged=diverged,
                       diverged_at=diverged_at, train_seconds_to_target=train_seconds_to_target,
                       test_metric=test_metric, best_step=best_step, model=model)
