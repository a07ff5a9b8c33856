"""Lesson 8's recomputations: the records it makes itself when a lesson has not been run.

When no candidate record of a source exists, a *producer* (:data:`PRODUCERS`, keyed by
``(lesson, name)`` of the record it writes) computes it by calling the same package functions
the lesson calls, with the lesson's settings where they are cheap and a smaller, stated setting
where they are not, and saves it under lesson 8's own name, never under the lesson's. A source
without a producer (the CNN+RNN hybrid, for instance) is simply reported missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import results
from ..tasks import ADDING_BASELINE_MSE
from .sources import LESSON


def _produce_complexity() -> dict:
    """Lesson 2's timing grids (same sizes, fewer repeats), its small-H grid and gradient check."""
    from ..complexity import fit_power_law, scaling_grid
    from ..gradcheck import gradient_check

    T_grid, H_grid, H_small = [25, 50, 100, 200, 400], [256, 362, 512, 724, 1024], [8, 16, 32, 64]
    times = {}
    for backend in ("numpy", "torch"):
        times[f"{backend}_T"] = scaling_grid("T", T_grid, hidden_size=128, input_size=16, batch=32,
                                             backend=backend, repeats=3, rounds=2)
        times[f"{backend}_H"] = scaling_grid("H", H_grid, seq_len=10, input_size=16, batch=32,
                                             backend=backend, repeats=3, rounds=2)
    fits = {k: fit_power_law(T_grid if k.endswith("_T") else H_grid, t) for k, t in times.items()}
    small = scaling_grid("H", H_small, seq_len=50, input_size=4, batch=4, backend="numpy",
                         repeats=3, rounds=2)
    report = gradient_check("rnn", input_size=3, hidden_size=4, seq_len=5, batch=2, seed=0)
    return {"T_grid": T_grid, "H_grid": H_grid, "H_small": H_small, "times": times,
            "exponents": {k: f.exponent for k, f in fits.items()},
            "r2": {k: f.r2 for k, f in fits.items()},
            "small_H_exponent": fit_power_law(H_small, small).exponent,
            "gradcheck_max_relative_error": report.max_relative_error,
            "setting": "lesson 2's grids, repeats=3, rounds=2 (lesson 2: 3 and 3)"}


def _produce_variants() -> dict:
    """Lesson 3's parameter counts, marked-value comparison and bidirectional comparison."""
    import torch

    from .. import variants
    from ..convert import numpy_from_torch
    from ..models import count_parameters

    rows = []
    for cell, module in [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
        for layers, bidirectional, bias in [(1, False, True), (2, False, True), (1, True, True),
                                            (3, True, True), (2, True, False)]:
            net = module(10, 32, num_layers=layers, bidirectional=bidirectional, bias=bias)
            rows.append({"cell": cell, "layers": layers, "bidirectional": bidirectional,
                         "bias": bias,
                         "formula": variants.param_count(cell, 10, 32, layers, bidirectional,
                                                         bias),
                         "torch.nn": count_parameters(net),
                         "numpy reference": sum(a.size for p in numpy_from_torch(net).params_list
                                                for a in p.values())})
    setting = dict(variants.MARKED_VALUE_DEFAULTS)
    lstm = variants.train_marked_value("lstm", seed=0)
    rnn_h = variants.matched_hidden_size(lstm.n_params, "rnn", 2)
    rnn = variants.train_marked_value("rnn", hidden_size=rnn_h, forget_bias=None, seed=0)
    _, test_y = variants.marked_value_test_set(setting["T"], p=setting["p"])
    T_avg, k, uni_h = 20, 2, 16
    bi_h = variants.matched_hidden_size(variants.model_param_count("lstm", 1, uni_h, 1),
                                        "lstm", 1, bidirectional=True)
    uni = variants.train_window_average("lstm", hidden_size=uni_h, T=T_avg, half_width=k, seed=0)
    bi = variants.train_window_average("lstm", hidden_size=bi_h, bidirectional=True, T=T_avg,
                                       half_width=k, seed=0)
    return {
        "parameter_counts": rows,
        "marked_value": {"setting": setting, "zero_mse": float((test_y ** 2).mean()),
                         "lstm": {"n_params": lstm.n_params, "test_mse": lstm.final_eval,
                                  "seconds": lstm.seconds},
                         "rnn": {"hidden_size": rnn_h, "n_params": rnn.n_params,
                                 "test_mse": rnn.final_eval, "seconds": rnn.seconds}},
        "bidirectional_task": {
            "task": "centred moving average", "T": T_avg, "half_width": k,
            "causal_floor": variants.window_average_floor(T_avg, k),
            "one_direction": {"hidden_size": uni_h, "n_params": uni.n_params,
                              "test_mse": uni.final_eval, "seconds": uni.seconds},
            "bidirectional": {"hidden_size": bi_h, "n_params": bi.n_params,
                              "test_mse": bi.final_eval, "seconds": bi.seconds}},
        "setting": "lesson 3's settings (same seeds, steps and sizes)"}


def _produce_gradient_flow() -> dict:
    """Lesson 4's rate check, gated cells' gradient at t = 0, the cliff and the clipping run."""
    from .. import cliff, gradflow
    from ..clipping import exploding_run

    rates = []
    for cell in ["rnn_tanh", "rnn_sigmoid"]:
        for sigma in [0.5, 1.0, 1.5, 4.0]:
            r = gradflow.gradient_flow(cell, sigma=sigma, seq_len=200, hidden_size=128, seed=0)
            rates.append({"cell": cell, "sigma_max": sigma, "gamma": r.gamma,
                          "theory": r.theory_rate, "measured": r.rate,
                          "grad_at_t0": float(r.norms[0])})
    gated = {label: gradflow.gradient_flow(cell, sigma=1.0, input_scale=1.0, forget_bias=bias,
                                           seed=0)
             for label, cell, bias in [("tanh RNN", "rnn_tanh", 0.0),
                                       ("LSTM, b_f = 0", "lstm", 0.0),
                                       ("LSTM, b_f = 1", "lstm", 1.0),
                                       ("LSTM, b_f = 5", "lstm", 5.0),
                                       ("GRU, b_z = 5", "gru", 5.0)]}
    saturation = []
    for sigma in [0.5, 1.0, 1.5, 2.0]:
        free = gradflow.gradient_flow("rnn_tanh", sigma=sigma, seed=0)
        driven = gradflow.gradient_flow("rnn_tanh", sigma=sigma, input_scale=1.0, seed=0)
        saturation.append({"sigma_max": sigma, "no_input": free.rate, "input_1": driven.rate,
                           "mean_tanh_prime": driven.derivative_mean})
    gauss = gradflow.gradient_flow("rnn_tanh", sigma=1.0, kind="gaussian", seed=0)
    plain = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=None)
    clipped = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=cliff.DEFAULT_THRESHOLD)
    steps = 600
    runs = {clip: exploding_run(clip, steps=steps, seed=0) for clip in (None, 1.0)}
    plain_run, clipped_run = runs[None], runs[1.0]
    return {
        "orthogonal_no_input_rates": rates,
        "saturation_rates": saturation,
        "gaussian_rate": {"sigma_max": gauss.sigma_max, "spectral_radius": gauss.spectral_radius,
                          "measured": gauss.rate},
        "gated_grad_at_t0": {label: float(r.norms[0]) for label, r in gated.items()},
        "gated_rates": {label: r.rate for label, r in gated.items()},
        "cliff": {"lr": plain.lr, "threshold": clipped.threshold,
                  "plain_max_grad_norm": float(plain.grad_norm.max()),
                  "plain_max_jump": plain.max_jump, "plain_final_loss": float(plain.loss[-1]),
                  "clipped_max_jump": clipped.max_jump,
                  "clipped_final_loss": float(clipped.loss[-1])},
        "training": {"plain_diverged_at_step": plain_run.diverged_at,
                     "plain_max_grad_norm": float(np.nanmax(plain_run.grad_norm)),
                     "clipped_loss_first_100": float(np.nanmean(clipped_run.loss[:100])),
                     "clipped_loss_last_100": float(np.nanmean(clipped_run.loss[-100:])),
                     "baseline": ADDING_BASELINE_MSE, "steps": steps,
                     "seconds": plain_run.seconds + clipped_run.seconds},
        "setting": "lesson 4's settings (same seeds, sizes and 600 SGD steps)"}


ADDING_SHORTER = dict(T=30, hidden_size=32, lr=1e-2, steps=500, eval_every=25)
"""How lesson 8's adding race differs from lesson 6's (:data:`rnncourse.experiments.ADDING_RACE`):
shorter sequences, a smaller model, a faster learning rate and fewer steps, so that it takes
seconds, not minutes. The rest of the budget (batch, test set, target, clipping) is lesson 6's."""

ADDING_MODELS = {"tanh RNN": {"cell": "rnn"}, "LSTM, b_f = 1": {"cell": "lstm", "forget_bias": 1.0},
                 "GRU": {"cell": "gru"}}
"""Lesson 8's contenders: lesson 6's, with the LSTM's forget bias at 1 (lesson 5)."""


def _produce_adding() -> dict:
    """RNN, LSTM and GRU on the adding problem, same budget (a small version of lesson 6's)."""
    from ..experiments import ADDING_RACE, adding_race

    return adding_race(ADDING_MODELS, {**ADDING_RACE, **ADDING_SHORTER}, seed=0)


def _produce_reversal() -> dict:
    """Lesson 7's reversal with and without attention: the same split, model and 150 steps."""
    from .. import seq2seq

    split = seq2seq.make_split(seq2seq.reversal_task(5, 12), n_train=10_000, n_test=1000, seed=0)
    out = {}
    for variant, kwargs in [("attention", {}), ("no attention", {"attention": None})]:
        model, r = seq2seq.fit(split, steps=150, seed=0, **kwargs)
        out[variant] = r.as_dict() | {"parameters": seq2seq.count_parameters(model)}
    return out


@dataclass(frozen=True)
class Producer:
    """Computes one record: ``compute() -> data``; ``source`` is the :data:`SOURCES` key it
    fills, ``what`` says in words what it recomputes and with which setting."""

    source: str
    compute: Callable[[], dict]
    what: str


PRODUCERS: dict[tuple[str, str], Producer] = {
    (LESSON, "02_core"): Producer(
        "complexity", _produce_complexity,
        "lesson 2's timing grids in T and H (numpy and torch, 3 repeats x 2 rounds instead of "
        "3 x 3), the small-H grid and the gradient check"),
    (LESSON, "03_core"): Producer(
        "variants", _produce_variants,
        "lesson 3's parameter counts, LSTM vs matched tanh RNN on the marked value, and the "
        "one-direction vs bidirectional LSTM on the centred moving average (same settings)"),
    (LESSON, "04_core"): Producer(
        "gradient_flow", _produce_gradient_flow,
        "lesson 4's per-step rates (orthogonal W_hh, no input; with inputs; Gaussian W_hh), "
        "gated cells' gradient at t = 0, the cliff and the 600-step clipped/unclipped run "
        "(same settings)"),
    (LESSON, "06_adding"): Producer(
        "adding", _produce_adding,
        "tanh RNN, LSTM (b_f = 1) and GRU on the adding problem with T = 30, H = 32, Adam 1e-2, "
        "at most 500 steps, stop at test MSE < 0.01 (lesson 6 runs a longer, larger race)"),
    (LESSON, "07_reversal"): Producer(
        "reversal", _produce_reversal,
        "lesson 7's digit reversal with and without attention (same split, model, 150 steps)"),
}
"""``(lesson, name)`` of the record a producer writes -> :class:`Producer`."""


def produce(lesson: str, name: str, folder=None) -> Path:
    """Compute the record ``(lesson, name)`` with its producer, save it, return the path."""
    key = (lesson, name)
    if key not in PRODUCERS:
        known = ", ".join(f"{a}/{b}" for a, b in PRODUCERS)
        raise ValueError(f"(lesson, name): expected one of {known}, got {lesson}/{name}")
    return results.save_result(lesson, name, PRODUCERS[key].compute(), folder)
