"""Lesson 8: the course's own measurements compiled into checks, tables, plots and a report.

::

    from rnncourse import findings
    report = findings.compile_findings()      # reads the results store, computes what is missing
    print(report.checks_text())               # claim | expected from theory | measured | pass
    path = findings.export_html(report=report)  # one self-contained HTML file

Where the numbers come from
---------------------------
Every lesson saves what it measured with :func:`rnncourse.results.save_result`. A *source*
(:data:`SOURCES`) names the records one group of checks reads, in order of preference: the
lesson's own record first, then lesson 8's recomputation (``08_findings/<lesson>_...``). The
first readable one wins, so numbers from a full lesson run are used whenever they exist.

When no candidate exists, a *producer* (:data:`PRODUCERS`, keyed by ``(lesson, name)`` of the
record it writes) computes it by calling the same package functions the lesson calls, with the
lesson's settings where they are cheap and a smaller, stated setting where they are not, and
saves it under lesson 8's own name, never under the lesson's. A source without a producer (the
CNN+RNN hybrid, for instance) is simply reported missing: its checks are listed as not checked.

Checks
------
:func:`check_records` turns records into :class:`CheckRow`: the claim, what theory (or the
lesson's stated criterion) expects, what was measured, pass or fail, and the record it came from.
A record that lacks the numbers a check needs gives a :class:`NotChecked` entry instead of an
error. Lesson 5's own verdicts on the literature (``agrees`` yes / partly / no, with its reason)
are carried over as rows; a "partly" or "no" there is a documented exception, not a failure of
the code.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import results as _results

__all__ = [
    "LESSON", "SOURCES", "PRODUCERS", "Producer", "Inventory", "CheckRow", "NotChecked",
    "ModelRow", "Findings", "find_records", "produce", "gather", "check_records",
    "model_rows", "compile_findings", "format_table", "complexity_figure", "rate_figure",
    "gradient_figure", "curves_figure", "tradeoff_figure", "figures", "export_html",
]

LESSON = "08_findings"
ADDING_BASELINE = 1 / 6
"""Test MSE of predicting the mean on the adding problem: Var(X1 + X2) = 1/6."""

SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "complexity": (("02_core_operations", "complexity"), (LESSON, "02_core")),
    "variants": (("03_variants", "variants"), (LESSON, "03_core")),
    "gradient_flow": (("04_gradient_flow", "gradient_flow"), (LESSON, "04_core")),
    "adding": (("06_experiments", "adding_T50_*"), (LESSON, "06_adding")),
    "forecast": (("06_experiments", "summary"),),
    "char_lm": (("06_experiments", "sonnets_char_lm"),),
    "reversal": (("07_advanced", "reversal"), (LESSON, "07_reversal")),
    "dates": (("07_advanced", "dates"),),
    "alignment": (("07_advanced", "alignment"),),
    "hybrid": (("07_advanced", "hybrid"),),
}
"""Source key -> candidate records ``(lesson, name)``, the lesson's own first. A name ending in
``*`` gathers every record of that lesson whose name starts with the rest (lesson 6 saves one
record per run) into ``{"runs": {suffix: data}, "target", "setting"}``."""


def _combine(lesson: str, pattern: str, members: list) -> _results.Record:
    prefix = pattern[:-1]
    runs = {r.name[len(prefix):]: r.data for r in members}
    config = next((d.get("config") for d in runs.values() if isinstance(d.get("config"), dict)),
                  {})
    return _results.Record(lesson, pattern, max(r.timestamp for r in members), {},
                           {"runs": runs, "target": config.get("target"),
                            "setting": {k: config.get(k) for k in ("T", "hidden_size", "lr",
                                                                   "batch", "steps")
                                        if k in config}},
                           members[0].path.parent)


def _label(record) -> str:
    return f"{record.lesson}/{record.name}"


# --- producers ----------------------------------------------------------------------------------

def _produce_complexity() -> dict:
    """Lesson 2's timing grids (same sizes, fewer repeats), its small-H grid and gradient check."""
    from .complexity import fit_power_law, scaling_grid
    from .gradcheck import gradient_check

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

    from . import variants
    from .convert import numpy_from_torch
    from .models import count_parameters

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
    from . import cliff, gradflow
    from .clipping import exploding_run

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
                     "baseline": ADDING_BASELINE, "steps": steps,
                     "seconds": plain_run.seconds + clipped_run.seconds},
        "setting": "lesson 4's settings (same seeds, sizes and 600 SGD steps)"}


ADDING_SETTING = dict(T=30, hidden_size=32, lr=1e-2, steps=500, eval_every=25, target=0.01,
                      batch=64, n_test=1000)
"""Lesson 8's smaller adding-problem race (lesson 6 runs the full one): seconds, not minutes."""

ADDING_MODELS = {"tanh RNN": {"cell": "rnn"}, "LSTM, b_f = 1": {"cell": "lstm", "forget_bias": 1.0},
                 "GRU": {"cell": "gru"}}


def _produce_adding() -> dict:
    """RNN, LSTM and GRU on the adding problem, same budget (a small version of lesson 6's)."""
    from .experiments import adding_run

    runs = {label: adding_run(**own, **ADDING_SETTING, seed=0).to_dict()
            for label, own in ADDING_MODELS.items()}
    return {"setting": dict(ADDING_SETTING), "baseline": ADDING_BASELINE,
            "target": ADDING_SETTING["target"], "runs": runs}


def _produce_reversal() -> dict:
    """Lesson 7's reversal with and without attention: the same split, model and 150 steps."""
    from . import seq2seq

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
    return _results.save_result(lesson, name, PRODUCERS[key].compute(), folder)


# --- finding records ------------------------------------------------------------------------------

@dataclass
class Inventory:
    """Which record each source uses: ``records[key]`` (a :class:`~rnncourse.results.Record`,
    absent when missing), ``status[key]`` (``"found"``, ``"computed"`` or ``"missing"``),
    ``seconds[key]`` for the computed ones, ``skipped`` unreadable files, ``extra`` every
    other record of lessons 2 to 7 that was read, ``folder``."""

    records: dict
    status: dict
    seconds: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    folder: Path | None = None

    def lines(self) -> list[str]:
        """One line per source: where its numbers come from."""
        out = []
        for key, status in self.status.items():
            if status == "missing":
                wanted = " or ".join(f"{a}/{b}" for a, b in SOURCES[key])
                out.append(f"{key:<14} missing   (no {wanted}; its checks are listed as not "
                           f"checked)")
                continue
            rec = self.records[key]
            how = (f"computed here in {self.seconds.get(key, 0.0):.1f} s" if status == "computed"
                   else "found" if rec.lesson != LESSON else "found (recomputed by lesson 8 "
                   "earlier)")
            out.append(f"{key:<14} {how:<22} {_label(rec)}")
        return out


def _check_keys(keys) -> list[str]:
    if keys is None:
        return list(SOURCES)
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise TypeError(f"keys: expected a list of source names or None, got "
                        f"{type(keys).__name__}")
    unknown = [k for k in keys if k not in SOURCES]
    if unknown:
        raise ValueError(f"keys: expected names from {list(SOURCES)}, got {unknown}")
    return list(keys)


def _load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _results.ResultsWarning)
        loaded = _results.load_results(folder)
    return {(r.lesson, r.name): r for r in loaded}, list(loaded.skipped)


def find_records(folder=None, keys=None) -> Inventory:
    """Which record each source would use, without computing anything."""
    return gather(folder, keys=keys, compute_missing=False)


def gather(folder=None, *, keys=None, compute_missing: bool = True,
           verbose: bool = False) -> Inventory:
    """Find the record of every source (``keys``: a subset of :data:`SOURCES`); with
    ``compute_missing``, run the producer of each missing one that has a producer, save its
    record, and use it. Unreadable files are skipped (listed in ``skipped``), never fatal."""
    keys = _check_keys(keys)
    if not isinstance(compute_missing, bool):
        raise TypeError(f"compute_missing: expected a bool, got {type(compute_missing).__name__}")
    root = _results.results_folder(folder, create=False)
    by_key, skipped = _load(folder)
    inv = Inventory({}, {}, skipped=skipped, folder=root)
    used = set()
    for key in keys:
        found = None
        for lesson, name in SOURCES[key]:
            if name.endswith("*"):
                members = [r for (les, n), r in sorted(by_key.items())
                           if les == lesson and n.startswith(name[:-1])]
                if members:
                    found = _combine(lesson, name, members)
                    used |= {(r.lesson, r.name) for r in members}
                    break
            elif (lesson, name) in by_key:
                found = by_key[(lesson, name)]
                break
        if found is not None:
            inv.records[key], inv.status[key] = found, "found"
            continue
        target = next((c for c in SOURCES[key] if c in PRODUCERS), None)
        if target is None or not compute_missing:
            inv.status[key] = "missing"
            continue
        if verbose:
            print(f"computing {key} ({target[0]}/{target[1]}): {PRODUCERS[target].what} ...",
                  flush=True)
        start = time.perf_counter()
        produce(*target, folder=folder)
        inv.seconds[key] = time.perf_counter() - start
        rec = _results.load_results(folder, lesson=target[0], name=target[1])[-1]
        inv.records[key], inv.status[key] = rec, "computed"
    used |= {(r.lesson, r.name) for r in inv.records.values()}
    inv.extra = [r for k, r in sorted(by_key.items())
                 if k not in used and k[0][:2].isdigit() and "02" <= k[0][:2] <= "07"]
    return inv


# --- checks ------------------------------------------------------------------------------------

@dataclass
class CheckRow:
    """One claim checked against a measured number."""

    lesson: str
    claim: str
    expected: str
    measured: str
    passed: bool
    source: str
    note: str = ""  # why a row that does not pass is a documented exception

    @property
    def documented(self) -> bool:
        return not self.passed and bool(self.note.strip())

    def as_dict(self) -> dict:
        return {"lesson": self.lesson, "claim": self.claim, "expected": self.expected,
                "measured": self.measured, "pass": "pass" if self.passed else "FAIL",
                "source": self.source, "note": self.note}


@dataclass
class NotChecked:
    """A claim whose numbers were not available: which source, and why."""

    lesson: str
    claim: str
    reason: str


def _f(x) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"expected a number, got {x!r}")
    return float(x)


def _exponents(d, axis):
    ex = {k[:-2]: _f(v) for k, v in d["exponents"].items() if k.endswith("_" + axis)}
    if not ex:
        raise KeyError(f"exponents['*_{axis}']")
    return ex


def _c_exponent(axis, lo, hi):
    def check(d):
        ex = _exponents(d, axis)
        return ", ".join(f"{b} {v:.2f}" for b, v in ex.items()), all(lo <= v <= hi
                                                                     for v in ex.values())
    return check


def _c_gradcheck(d):
    e = _f(d["gradcheck_max_relative_error"])
    return f"{e:.1e}", e < 1e-6


def _c_small_h(d):
    e = _f(d["small_H_exponent"])
    return f"exponent {e:.2f}", e < 1.0


def _c_truncation(d):
    err = {int(k): _f(v) for k, v in d["truncation_relative_error"].items()}
    ks = sorted(err)
    values = [err[k] for k in ks]
    ok = values[-1] == 0.0 and all(a > b for a, b in zip(values[:-1], values[1:-1]))
    return ", ".join(f"k={k}: {err[k]:.1e}" for k in ks), ok


def _c_param_formula(d):
    rows = d["parameter_counts"]
    good = sum(int(r["formula"]) == int(r["torch.nn"]) for r in rows)
    if not rows:
        raise ValueError("no parameter counts")
    return f"{good}/{len(rows)} configurations equal", good == len(rows)


def _c_param_ratio(d):
    one = {r["cell"]: int(r["formula"]) for r in d["parameter_counts"]
           if r["layers"] == 1 and not r["bidirectional"] and r["bias"]}
    lstm, gru = one["lstm"] / one["rnn"], one["gru"] / one["rnn"]
    return f"LSTM/RNN {lstm:.2f}, GRU/RNN {gru:.2f}", lstm == 4 and gru == 3


def _c_marked(d):
    m = d["marked_value"]
    lstm, rnn = _f(m["lstm"]["test_mse"]), _f(m["rnn"]["test_mse"])
    return (f"LSTM {lstm:.4f} ({m['lstm']['n_params']} params), tanh RNN {rnn:.4f} "
            f"({m['rnn']['n_params']} params)"), lstm < 0.01 and rnn > 10 * lstm


def _c_bidirectional(d):
    b = d["bidirectional_task"]
    floor = _f(b["causal_floor"])
    uni, bi = _f(b["one_direction"]["test_mse"]), _f(b["bidirectional"]["test_mse"])
    return (f"floor {floor:.4f}; one direction {uni:.4f} ({uni / floor:.2f} x floor), "
            f"bidirectional {bi:.5f} ({bi / floor:.3f} x floor)"), uni > 0.9 * floor and \
        bi < 0.2 * floor


def _c_lstm_torch(d):
    diffs = {k: _f(v) for k, v in d["lstm_equals_torch"].items()}
    return f"max |diff| {max(diffs.values()):.1e}", max(diffs.values()) < 1e-12


def _c_gru_forms(d):
    g = d["gru_forms"]
    torch_form, seed_form = _f(g["torch_form_vs_torch_nn"]), _f(g["seed_form_vs_torch_nn"])
    return (f"torch form {torch_form:.1e}, seed form {seed_form:.3f}"), \
        torch_form < 1e-12 and seed_form > 1e-3


def _c_rates(d):
    rows = d["orthogonal_no_input_rates"]
    if not rows:
        raise ValueError("no rates")
    dev = [abs(_f(r["measured"]) / _f(r["theory"]) - 1) for r in rows]
    return f"largest deviation {100 * max(dev):.3f}% over {len(rows)} settings", max(dev) < 0.01


def _c_gated(label):
    def check(d):
        g = d["gated_grad_at_t0"]
        gate, rnn = _f(g[label]), _f(g["tanh RNN"])
        return (f"{gate:.2e} vs tanh RNN {rnn:.2e} (ratio {gate / rnn:.1e})"
                if rnn > 0 else f"{gate:.2e} vs 0"), gate > 1e10 * rnn
    return check


def _c_saturation(d):
    rows = d["saturation_rates"]
    lower = all(_f(r["input_1"]) < 0.9 * _f(r["no_input"]) for r in rows)
    at15 = next(_f(r["input_1"]) for r in rows if _f(r["sigma_max"]) == 1.5)
    return f"with input: rate {at15:.3f} at sigma_max 1.5; all rates lowered: {lower}", \
        lower and at15 < 1


def _c_gaussian(d):
    g = d["gaussian_rate"]
    ratio = _f(g["measured"]) / _f(g["spectral_radius"])
    return (f"rate {_f(g['measured']):.3f}, spectral radius {_f(g['spectral_radius']):.3f}, "
            f"sigma_max {_f(g['sigma_max']):.2f}"), abs(ratio - 1) < 0.1


def _c_cliff(d):
    c = d["cliff"]
    jump, cj, bound = _f(c["plain_max_jump"]), _f(c["clipped_max_jump"]), \
        _f(c["lr"]) * _f(c["threshold"])
    return (f"unclipped jump {jump:.1f}, clipped {cj:.3f} (eta tau = {bound:.3f}); final loss "
            f"{_f(c['plain_final_loss']):.3g} vs {_f(c['clipped_final_loss']):.3g}"), \
        jump > 10 and cj <= bound * (1 + 1e-9) and \
        _f(c["clipped_final_loss"]) < _f(c["plain_final_loss"])


def _c_clip_training(d):
    t = d["training"]
    stop = t["plain_diverged_at_step"]
    first, last = _f(t["clipped_loss_first_100"]), _f(t["clipped_loss_last_100"])
    big = _f(t["plain_max_grad_norm"])
    return (f"unclipped: diverged at step {stop}, ||g|| up to {big:.1e}; clipped: loss "
            f"{first:.3f} -> {last:.3f}"), stop is not None and big > 1e6 and \
        last < 0.8 * first and last < ADDING_BASELINE


def _adding_runs(d) -> dict:
    runs = d["runs"]
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("no adding runs")
    return runs


def _is_gated(label: str) -> bool:
    low = label.lower()
    return "lstm" in low or "gru" in low


def _c_adding(d):
    runs = _adding_runs(d)
    target = _f(d.get("target", 0.01))
    gated = {k: _f(r["best_eval"]) for k, r in runs.items() if _is_gated(k)}
    plain = {k: _f(r["best_eval"]) for k, r in runs.items() if not _is_gated(k)}
    if not gated or not plain:
        raise KeyError("runs of both a gated cell and a tanh RNN")
    measured = "; ".join(f"{k} {v:.4f}" + (f" at step {runs[k]['steps_to_target']}"
                                          if runs[k].get("steps_to_target") else "")
                         for k, v in {**gated, **plain}.items())
    return measured, all(v < target for v in gated.values()) and \
        all(v > 0.8 * ADDING_BASELINE for v in plain.values())


def _forecast_rows(d) -> list:
    rows = [r for r in d["rows"] if str(r["experiment"]).startswith("sunspots")]
    if not rows:
        raise KeyError("sunspots rows")
    return rows


def _c_forecast(d):
    rows = _forecast_rows(d)
    naive = _f(rows[0]["baseline"])
    values = {r["model"]: _f(r["value"]) for r in rows}
    best = min(values.values())
    measured = f"seasonal naive {naive:.3f}; " + ", ".join(f"{k} {v:.3f}"
                                                          for k, v in values.items())
    return measured, all(v < naive for v in values.values()) and best < 0.5 * naive


def _c_char_lm(d):
    bpc, unigram = _f(d["bits_per_char"]), _f(d["unigram_bits"])
    return f"{bpc:.3f} bits/char vs unigram {unigram:.3f}", bpc < unigram - 1.0


def _c_reversal(d):
    att, plain = _f(d["attention"]["test_exact_match"]), _f(d["no attention"]["test_exact_match"])
    return f"attention {att:.1%}, no attention {plain:.1%}", att >= 0.95 and plain <= att - 0.3


def _c_dates(d):
    att, plain = d["attention"], d["no attention"]
    a, p = att["steps_to_target"], plain["steps_to_target"]
    return (f"attention {_f(att['test_exact_match']):.1%} (95% at step {a}), no attention "
            f"{_f(plain['test_exact_match']):.1%} (95% at step {p})"), \
        _f(att["test_exact_match"]) >= 0.95 and a is not None and (p is None or a < p)


def _c_alignment(d):
    bi, uni = d["reversal_bidirectional"], d["reversal_one_directional"]
    uniform = _f(d["uniform"])
    return (f"bidirectional: {_f(bi['exact']):.2f} exact, {_f(bi['within_1']):.2f} within +-1 "
            f"(uniform {uniform:.2f}); one-directional {_f(uni['exact']):.2f} exact"), \
        _f(bi["within_1"]) > 0.8 and _f(bi["exact"]) > 3 * uniform and \
        _f(bi["exact"]) > 1.5 * _f(uni["exact"])


def _c_hybrid(d):
    gru, hyb = d["gru"], d["hybrid"]
    speed = _f(d["speedup_fwd_bwd"])
    return (f"{hyb['n_params']} vs {gru['n_params']} params, {speed:.1f}x faster, MSE "
            f"{_f(hyb['final_eval']):.4f} vs {_f(gru['final_eval']):.4f}"), \
        hyb["n_params"] < gru["n_params"] and speed > 2 and \
        _f(hyb["final_eval"]) < 0.1 * ADDING_BASELINE and \
        _f(hyb["final_eval"]) <= 1.5 * _f(gru["final_eval"])


@dataclass(frozen=True)
class _Check:
    source: str
    lesson: str
    claim: str
    expected: str
    fn: Callable


CHECKS: list[_Check] = [
    _Check("complexity", "02", "forward + BPTT time grows linearly in T",
           "exponent of T in [0.85, 1.15] (FLOPs 2TB(H^2 + HI))", _c_exponent("T", 0.85, 1.15)),
    _Check("complexity", "02", "forward + BPTT time grows quadratically in H (H >> I)",
           "exponent of H in [1.5, 2.5]", _c_exponent("H", 1.5, 2.5)),
    _Check("complexity", "02", "at small H the per-step overhead dominates",
           "exponent of H (8..64) < 1", _c_small_h),
    _Check("complexity", "02", "BPTT by hand equals finite differences",
           "max relative error < 1e-6", _c_gradcheck),
    _Check("complexity", "02", "truncated BPTT approaches the full gradient as k grows",
           "error falls with k, 0 once k >= T", _c_truncation),
    _Check("variants", "03", "LSTM by hand equals torch.nn.LSTM",
           "max |difference| < 1e-12 (float64)", _c_lstm_torch),
    _Check("variants", "03", "the two GRU forms are different functions of the same weights",
           "torch form = torch.nn (< 1e-12), seed form differs (> 1e-3)", _c_gru_forms),
    _Check("variants", "03", "parameter count D[GH(I+H) + 2GH + (L-1)(GH(DH+H) + 2GH)]",
           "formula = torch.nn for every configuration", _c_param_formula),
    _Check("variants", "03", "at the same H an LSTM costs 4x, a GRU 3x a tanh RNN",
           "ratios 4 and 3 (G = 4, 3, 1)", _c_param_ratio),
    _Check("variants", "03", "gates keep a marked value; a matched tanh RNN does not",
           "LSTM test MSE < 0.01, tanh RNN > 10x the LSTM's", _c_marked),
    _Check("variants", "03", "a bidirectional model beats the causal floor",
           "one direction >= 0.9 x floor, bidirectional < 0.2 x floor", _c_bidirectional),
    _Check("gradient_flow", "04", "per-step gradient rate = gamma * sigma_max (orthogonal "
           "W_hh, no input)", "within 1% for tanh and sigmoid, sigma_max 0.5 to 4", _c_rates),
    _Check("gradient_flow", "04", "saturation lowers the rate (sigma_max > 1/gamma is "
           "necessary, not sufficient, for exploding)",
           "with input every rate < 0.9 x without; < 1 at sigma_max 1.5", _c_saturation),
    _Check("gradient_flow", "04", "a Gaussian W_hh's long-run rate follows its spectral radius",
           "rate / spectral radius within 10%", _c_gaussian),
    _Check("gradient_flow", "04", "an LSTM with forget bias 5 keeps more gradient than a tanh "
           "RNN", "||dL/dh_0|| > 1e10 x the tanh RNN's (T = 200)", _c_gated("LSTM, b_f = 5")),
    _Check("gradient_flow", "04", "a GRU with update bias 5 keeps more gradient than a tanh RNN",
           "||dL/dh_0|| > 1e10 x the tanh RNN's (T = 200)", _c_gated("GRU, b_z = 5")),
    _Check("gradient_flow", "04", "clipping caps the step on the cliff",
           "clipped step <= eta tau; unclipped jumps > 10; clipped ends lower", _c_cliff),
    _Check("gradient_flow", "04", "clipping keeps learning where the unclipped run diverges",
           "unclipped: inf/nan, ||g|| > 1e6; clipped: never diverges, last-100 loss < 0.8 x "
           "first-100 and < 1/6", _c_clip_training),
    _Check("adding", "06", "gated cells learn the adding problem; the tanh RNN stays near "
           "predicting the mean", "LSTM, GRU best test MSE < target; tanh RNN > 0.8 x 1/6",
           _c_adding),
    _Check("forecast", "06", "recurrent forecasters beat the seasonal-naive baseline on "
           "sunspots", "every cell below the baseline's test MSE, the best below half of it",
           _c_forecast),
    _Check("char_lm", "06", "a character-level LSTM learns more than letter frequencies",
           "held-out bits/char at least 1 bit below the unigram entropy", _c_char_lm),
    _Check("reversal", "07", "attention solves digit reversal; the same model without it "
           "does not", "attention >= 95% exact match; without <= attention - 30 points",
           _c_reversal),
    _Check("dates", "07", "attention learns date normalisation faster",
           ">= 95% exact; reaches 95% at an earlier step than without", _c_dates),
    _Check("alignment", "07", "the learned alignment is the one the task implies",
           "within +-1 > 0.8; exact > 3 x uniform and > 1.5 x the one-directional encoder's",
           _c_alignment),
    _Check("hybrid", "07", "a Conv1d front-end cuts recurrent steps and time at no loss",
           "fewer params, fwd+bwd > 2x faster, MSE < 0.1 x 1/6 and <= 1.5 x the GRU's",
           _c_hybrid),
]


def _as_record_map(records) -> dict:
    if isinstance(records, Inventory):
        return dict(records.records)
    if not isinstance(records, Mapping):
        raise TypeError(f"records: expected an Inventory or a dict source -> Record, got "
                        f"{type(records).__name__}")
    return dict(records)


def _source_label(rec) -> str:
    if rec is None:
        return "?"
    if isinstance(rec, _results.Record):
        return _label(rec) + (" (recomputed here)" if rec.lesson == LESSON else "")
    return "given"


def _data(rec):
    return rec.data if isinstance(rec, _results.Record) else rec


def _literature_rows(extra) -> list[CheckRow]:
    rows = []
    for rec in extra:
        if not rec.lesson.startswith("05"):
            continue
        claims = rec.data.get("claims") if isinstance(rec.data, Mapping) else None
        if not isinstance(claims, list):
            continue
        for c in claims:
            if not isinstance(c, Mapping) or "claim" not in c or "agrees" not in c:
                continue
            agrees = str(c["agrees"])
            paper = str(c.get("paper", ""))
            rows.append(CheckRow("05", f"{paper}: {c['claim']}" if paper else str(c["claim"]),
                                 f"the paper's claim holds in: {c.get('experiment', '?')}",
                                 str(c.get("measured", "")), agrees == "yes", _label(rec),
                                 note="" if agrees == "yes" else
                                 f"lesson 5: agrees {agrees}: {c.get('why', '')}".strip()))
    return rows


def check_records(records, extra: Sequence = ()) -> tuple[list[CheckRow], list[NotChecked]]:
    """Every check of :data:`CHECKS` whose source is in ``records`` (an :class:`Inventory` or
    a dict source -> Record or plain data dict); ``extra`` records of lesson 5 holding a
    ``claims`` list add their verdicts. Returns ``(rows, not_checked)``."""
    recs = _as_record_map(records)
    if isinstance(records, Inventory) and not extra:
        extra = records.extra
    rows, skipped = [], []
    for c in CHECKS:
        rec = recs.get(c.source)
        if rec is None:
            skipped.append(NotChecked(c.lesson, c.claim, f"no {c.source} record"))
            continue
        data = _data(rec)
        if not isinstance(data, Mapping):
            raise TypeError(f"records[{c.source!r}]: expected a Record or a dict, got "
                            f"{type(data).__name__}")
        try:
            measured, passed = c.fn(data)
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError,
                AttributeError, StopIteration) as e:
            skipped.append(NotChecked(c.lesson, c.claim,
                                      f"{_source_label(rec)} lacks the numbers ({e!r})"))
            continue
        rows.append(CheckRow(c.lesson, c.claim, c.expected, measured, bool(passed),
                             _source_label(rec)))
    rows.extend(_literature_rows(extra))
    rows.sort(key=lambda r: r.lesson)
    return rows, skipped


# --- the model x task table -------------------------------------------------------------------

@dataclass
class ModelRow:
    """One trained model on one task: size, result, and what it cost."""

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

    def as_dict(self) -> dict:
        return {"task": self.task, "model": self.model, "params": self.params,
                "metric": self.metric, "value": self.value, "baseline": self.baseline,
                "target": self.target, "steps": self.steps,
                "steps to target": self.steps_to_target,
                "s to target": self.seconds_to_target, "seconds": self.seconds,
                "ms/step": self.ms_per_step, "source": self.source}


def _opt(d, key, cast=float):
    v = d.get(key) if isinstance(d, Mapping) else None
    return None if v is None else cast(v)


def model_rows(records) -> list[ModelRow]:
    """The model x task table from whatever records are there (missing ones add no rows)."""
    recs = _as_record_map(records)
    out = []

    def add(source, fn):
        rec = recs.get(source)
        if rec is None:
            return
        try:
            rows = fn(_data(rec), _source_label(rec))
            for row in rows:
                row.group = source
            out.extend(rows)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # an incomplete record adds no rows; its checks say what is missing

    def variants_rows(d, src):
        m = d["marked_value"]
        s = m.get("setting", {})
        rows = [ModelRow("marked value (T = 40)", name, int(r["n_params"]), "test MSE",
                         _f(r["test_mse"]), _opt(m, "zero_mse"), None, _opt(s, "steps", int),
                         None, None, _opt(r, "seconds"), src)
                for name, r in (("LSTM, H = 8", m["lstm"]),
                                (f"tanh RNN, H = {m['rnn'].get('hidden_size', '?')}", m["rnn"]))]
        b = d["bidirectional_task"]
        rows += [ModelRow(f"centred moving average (T = {b.get('T', 20)})",
                          f"LSTM {name}, H = {r.get('hidden_size', '?')}", int(r["n_params"]),
                          "test MSE", _f(r["test_mse"]), _opt(b, "causal_floor"), None, 300,
                          None, None, _opt(r, "seconds"), src)
                 for name, r in (("one direction", b["one_direction"]),
                                 ("bidirectional", b["bidirectional"]))]
        return rows

    def adding_rows(d, src):
        T = d.get("setting", {}).get("T", "?") if isinstance(d.get("setting"), Mapping) else "?"
        return [ModelRow(f"adding problem (T = {T})", label, _opt(r, "n_params", int),
                         "best test MSE", _f(r["best_eval"]), ADDING_BASELINE,
                         _opt(d, "target"), _opt(r, "steps", int),
                         _opt(r, "steps_to_target", int), _opt(r, "seconds_to_target"),
                         _opt(r, "seconds"), src, ms_per_step=_opt(r, "ms_per_step"))
                for label, r in _adding_runs(d).items()]

    def seq2seq_rows(task):
        def rows(d, src):
            return [ModelRow(task, f"GRU encoder-decoder, {variant}",
                             _opt(r, "parameters", int), "exact match",
                             _f(r["test_exact_match"]), None, 0.95, _opt(r, "train_steps", int),
                             _opt(r, "steps_to_target", int), _opt(r, "seconds_to_target"),
                             _opt(r, "seconds"), src)
                    for variant, r in d.items() if isinstance(r, Mapping)
                    and "test_exact_match" in r]
        return rows

    def hybrid_rows(d, src):
        names = {"gru": "GRU, H = 64", "hybrid": "Conv1d + GRU, H = 32"}
        return [ModelRow("adding problem (T = 50)", names[k], int(d[k]["n_params"]),
                         "test MSE", _f(d[k]["final_eval"]), ADDING_BASELINE, None,
                         _opt(d[k], "steps", int), None, None, _opt(d[k], "seconds"), src,
                         ms_per_step=_opt(d[k], "ms_per_step"))
                for k in names]

    add("variants", variants_rows)
    add("adding", adding_rows)
    def summary_rows(d, src):
        return [ModelRow(str(r["experiment"]), str(r["model"]), _opt(r, "params", int),
                         str(r["metric"]), _f(r["value"]), _opt(r, "baseline"),
                         _opt(r, "target"), _opt(r, "steps", int),
                         _opt(r, "steps to target", int), None, _opt(r, "seconds"), src,
                         ms_per_step=_opt(r, "ms/step"))
                for r in d["rows"] if not str(r["experiment"]).startswith("adding")]

    add("forecast", summary_rows)
    add("reversal", seq2seq_rows("digit reversal (5-12)"))
    add("dates", seq2seq_rows("date normalisation"))
    add("hybrid", hybrid_rows)
    return out


# --- everything together ----------------------------------------------------------------------

@dataclass
class Findings:
    """What :func:`compile_findings` compiled: ``inventory``, ``checks``, ``not_checked``,
    ``models`` (the model x task table)."""

    inventory: Inventory
    checks: list[CheckRow]
    not_checked: list[NotChecked]
    models: list[ModelRow]

    @property
    def failed(self) -> list[CheckRow]:
        return [r for r in self.checks if not r.passed]

    def check(self, fragment: str) -> CheckRow:
        """The check row whose claim contains ``fragment`` (exactly one)."""
        hits = [r for r in self.checks if fragment in r.claim]
        if len(hits) != 1:
            raise ValueError(f"fragment: expected text found in exactly one claim, got "
                             f"{len(hits)} matches for {fragment!r}")
        return hits[0]

    def checks_text(self) -> str:
        return format_table([{k: v for k, v in r.as_dict().items() if k != "note"}
                             for r in self.checks])

    def models_text(self) -> str:
        return format_table([r.as_dict() for r in self.models], _MODEL_COLUMNS[:-1])

    def checks_html(self) -> str:
        """The checks as an HTML table (pass in green, FAIL in red)."""
        return _html_table([r.as_dict() for r in self.checks], _CHECK_COLUMNS)

    def models_html(self) -> str:
        """The model x task table as HTML."""
        return _html_table([r.as_dict() for r in self.models], _MODEL_COLUMNS)


_CHECK_COLUMNS = ["lesson", "claim", "expected", "measured", "pass", "source", "note"]
_MODEL_COLUMNS = ["task", "model", "params", "metric", "value", "baseline", "target",
                  "steps to target", "s to target", "seconds", "ms/step", "source"]


def compile_findings(folder=None, *, compute_missing: bool = True,
                     verbose: bool = False) -> Findings:
    """Read the results store (computing missing records unless ``compute_missing=False``)
    and compile the checks and the model x task table."""
    inv = gather(folder, compute_missing=compute_missing, verbose=verbose)
    rows, skipped = check_records(inv)
    return Findings(inv, rows, skipped, model_rows(inv))


def _cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> str:
    """A plain-text table of ``rows`` (dicts) with ``columns`` (default: the first row's)."""
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows: expected a list of dicts, got {type(rows).__name__}")
    if not rows:
        return "(no rows)"
    columns = list(rows[0]) if columns is None else list(columns)
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [min(60, max(len(c), *(len(row[i]) for row in cells)))
              for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


# --- figures ----------------------------------------------------------------------------------

def _findings_arg(report) -> Findings:
    if not isinstance(report, Findings):
        raise TypeError(f"report: expected a Findings (compile_findings), got "
                        f"{type(report).__name__}")
    return report


def complexity_figure(report: Findings):
    """Measured forward + BPTT times on log-log axes with the fitted power laws."""
    import plotly.graph_objects as go

    from .complexity import fit_power_law

    report = _findings_arg(report)
    rec = report.inventory.records.get("complexity")
    fig = go.Figure()
    if rec is not None:
        d = rec.data
        for key, times in d.get("times", {}).items():
            sizes = np.array(d["T_grid"] if key.endswith("_T") else d["H_grid"], dtype=float)
            fit = fit_power_law(sizes, times)
            fig.add_scatter(x=sizes, y=times, mode="markers", name=f"{key}: measured")
            fig.add_scatter(x=sizes, y=fit.predict(sizes), mode="lines", line=dict(dash="dot"),
                            name=f"{key}: ∝ {key[-1]}^{fit.exponent:.2f}")
    fig.update_layout(title="forward + BPTT time against T (H = 128) and H (T = 10)",
                      xaxis_type="log", yaxis_type="log", xaxis_title="T or H",
                      yaxis_title="seconds", height=360, margin=dict(l=60, r=20, t=40, b=40))
    return fig


def rate_figure(report: Findings):
    """The gradient-rate check: measured per-step rate against gamma * sigma_max."""
    import plotly.graph_objects as go

    report = _findings_arg(report)
    rec = report.inventory.records.get("gradient_flow")
    fig = go.Figure()
    if rec is not None:
        rows = rec.data.get("orthogonal_no_input_rates", [])
        for cell in sorted({r["cell"] for r in rows}):
            mine = [r for r in rows if r["cell"] == cell]
            fig.add_scatter(x=[r["theory"] for r in mine], y=[r["measured"] for r in mine],
                            mode="markers", marker=dict(size=10), name=cell,
                            text=[f"σ_max = {r['sigma_max']}" for r in mine])
        fig.add_scatter(x=[0.1, 5], y=[0.1, 5], mode="lines", name="measured = γ σ_max",
                        line=dict(dash="dash", color="#777777"))
    fig.update_layout(title="per-step gradient rate: measured against γ σ_max",
                      xaxis_type="log", yaxis_type="log", xaxis_title="γ σ_max (theory)",
                      yaxis_title="fitted rate", height=340, margin=dict(l=60, r=20, t=40, b=40))
    return fig


def gradient_figure(report: Findings):
    """Left: ||dL/dh_0|| after 200 steps per cell. Right: gradient norms during training."""
    from plotly.subplots import make_subplots

    report = _findings_arg(report)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "||∂L/∂state_0|| after 200 steps (σ_max = 1, inputs)",
        "gradient norm during training (before clipping)"))
    rec = report.inventory.records.get("gradient_flow")
    if rec is not None and "gated_grad_at_t0" in rec.data:
        g = rec.data["gated_grad_at_t0"]
        fig.add_bar(x=list(g), y=list(g.values()), name="||∂L/∂h_0||", row=1, col=1,
                    showlegend=False)
    for label, r in _training_curves(report):
        norms = r.get("grad_norms") or []
        if norms:
            fig.add_scatter(y=norms, mode="lines", name=label, row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text="training step", row=1, col=2)
    fig.update_layout(height=360, margin=dict(l=60, r=20, t=40, b=40))
    return fig


def _training_curves(report: Findings) -> list[tuple[str, dict]]:
    out = []
    rec = report.inventory.records.get("adding")
    if rec is not None:
        for label, r in rec.data.get("runs", {}).items():
            out.append((f"adding: {label}", r))
    rec = report.inventory.records.get("hybrid")
    if rec is not None:
        for k in ("gru", "hybrid"):
            if isinstance(rec.data.get(k), Mapping):
                out.append((f"adding T=50: {k}", rec.data[k]))
    return out


def curves_figure(report: Findings):
    """Left: training loss of the adding-problem runs. Right: exact match while training
    the encoder-decoders."""
    from plotly.subplots import make_subplots

    report = _findings_arg(report)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss (MSE)",
                                                        "held-out exact match while training"))
    for label, r in _training_curves(report):
        losses = r.get("losses") or []
        if losses:
            fig.add_scatter(y=losses, mode="lines", name=label, row=1, col=1)
    fig.add_hline(y=ADDING_BASELINE, line=dict(dash="dash", color="#999999"), row=1, col=1)
    for key in ("reversal", "dates"):
        rec = report.inventory.records.get(key)
        if rec is None:
            continue
        for variant, r in rec.data.items():
            if isinstance(r, Mapping) and "curve_steps" in r:
                fig.add_scatter(x=r["curve_steps"], y=r["curve_exact_match"],
                                mode="lines+markers", name=f"{key}: {variant}", row=1, col=2)
    fig.add_hline(y=0.95, line=dict(dash="dash", color="#999999"), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="training step")
    fig.update_layout(height=360, margin=dict(l=60, r=20, t=40, b=40))
    return fig


def tradeoff_figure(report: Findings):
    """Parameters against training seconds, one marker per model, labelled with its result."""
    import plotly.graph_objects as go

    report = _findings_arg(report)
    fig = go.Figure()
    by_task: dict[str, list[ModelRow]] = {}
    for r in report.models:
        if r.params and r.seconds:
            by_task.setdefault(r.task, []).append(r)
    for task, rows in by_task.items():
        fig.add_scatter(x=[r.params for r in rows], y=[r.seconds for r in rows],
                        mode="markers+text", name=task, marker=dict(size=11),
                        text=[f"{r.model}: {r.metric} {r.value:.3g}" for r in rows],
                        textposition="top center", textfont=dict(size=9))
    fig.update_layout(title="what each model cost: parameters and training seconds",
                      xaxis_type="log", yaxis_type="log", xaxis_title="parameters",
                      yaxis_title="training seconds", height=420,
                      margin=dict(l=60, r=20, t=40, b=40))
    return fig


def figures(report: Findings) -> dict:
    """Every figure of the report, by title."""
    return {"complexity fit": complexity_figure(report),
            "gradient-rate check": rate_figure(report),
            "gradient norms": gradient_figure(report),
            "learning curves": curves_figure(report),
            "cost and accuracy": tradeoff_figure(report)}


# --- the HTML report ----------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
"""


def _html_table(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    out = ["<table><tr>" + "".join(f"<th style='text-align:left'>{html.escape(c)}</th>"
                                   for c in columns) + "</tr>"]
    for r in rows:
        cells = []
        for c in columns:
            text = _cell(r.get(c))
            cls = ""
            if c == "pass":
                cls = (' style="background:#e6f4e6;font-weight:bold"' if text == "pass"
                       else ' style="background:#fbe3e3;font-weight:bold"')
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"


def _html_path(path, folder) -> Path:
    if path is None:
        return _results.results_folder(folder) / LESSON / "report.html"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or Path ending in .html, or None, got "
                        f"{type(path).__name__}")
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path: expected a file name ending in .html, got {str(path)!r}")
    return path


def export_html(path=None, *, report: Findings | None = None, folder=None) -> Path:
    """Write the findings as one self-contained HTML file and return its path.

    ``path`` defaults to ``<results folder>/08_findings/report.html``. ``report`` defaults to
    :func:`compile_findings` of ``folder`` without computing anything. plotly.js is embedded
    once (with the first figure), so the file opens offline in any browser.
    """
    target = _html_path(path, folder)
    if report is None:
        report = compile_findings(folder, compute_missing=False)
    report = _findings_arg(report)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    n_pass = sum(r.passed for r in report.checks)
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<title>rnncourse: findings</title>", f"<style>{_STYLE}</style></head><body>",
        "<h1>rnncourse: what the course measured, checked against theory</h1>",
        f"<p>Generated {now}. {n_pass} of {len(report.checks)} checks pass; "
        f"{sum(r.documented for r in report.checks)} documented exceptions (see their notes); "
        f"{len(report.failed) - sum(r.documented for r in report.checks)} unexplained failures; "
        f"{len(report.not_checked)} not checked (record missing).</p>",
        "<h2>Where the numbers come from</h2><pre>"
        + html.escape("\n".join(report.inventory.lines())) + "</pre>",
        "<h2>Checks</h2>", report.checks_html(),
    ]
    if report.not_checked:
        parts.append("<h3>Not checked</h3><ul>" + "".join(
            f"<li>lesson {html.escape(n.lesson)}: {html.escape(n.claim)} "
            f"({html.escape(n.reason)})</li>" for n in report.not_checked) + "</ul>")
    parts += ["<h2>Models and tasks</h2>", report.models_html(), "<h2>Figures</h2>"]
    for k, (title, fig) in enumerate(figures(report).items()):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(k == 0)))
    parts.append("</body></html>")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts), encoding="utf-8")
    return target
