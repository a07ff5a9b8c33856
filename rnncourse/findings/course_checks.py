"""The course's claims, each with the check that decides it from a record's numbers.

:data:`CHECKS` lists every claim lessons 2, 3, 4, 6, 7 and 7b make and lesson 8 re-checks: which
source it reads (:data:`~rnncourse.findings.sources.SOURCES`), the lesson, the claim, what
theory or the lesson's own criterion expects, and the function that measures it. A measuring
function takes the record's data and returns ``(measured, holds)``: the number(s) as text and
whether the expectation is met. It raises ``KeyError``/``TypeError``/``ValueError`` when the
data lacks the numbers, and the claim is then listed as not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..tasks import ADDING_BASELINE_MSE
from .numbers import number
from .rows import GATED_CELLS


def _time_exponents(d, axis):
    ex = {k[:-2]: number(v) for k, v in d["exponents"].items() if k.endswith("_" + axis)}
    if not ex:
        raise KeyError(f"exponents['*_{axis}']")
    return ex


def time_exponent_within(axis, lo, hi):
    def check(d):
        ex = _time_exponents(d, axis)
        return ", ".join(f"{b} {v:.2f}" for b, v in ex.items()), all(lo <= v <= hi
                                                                     for v in ex.values())
    return check


def gradient_check_error(d):
    e = number(d["gradcheck_max_relative_error"])
    return f"{e:.1e}", e < 1e-6


def small_h_exponent(d):
    e = number(d["small_H_exponent"])
    return f"exponent {e:.2f}", e < 1.0


def truncation_error_falls(d):
    err = {int(k): number(v) for k, v in d["truncation_relative_error"].items()}
    ks = sorted(err)
    values = [err[k] for k in ks]
    ok = values[-1] == 0.0 and all(a > b for a, b in zip(values[:-1], values[1:-1]))
    return ", ".join(f"k={k}: {err[k]:.1e}" for k in ks), ok


def parameter_formula_matches(d):
    rows = d["parameter_counts"]
    good = sum(int(r["formula"]) == int(r["torch.nn"]) for r in rows)
    if not rows:
        raise ValueError("no parameter counts")
    return f"{good}/{len(rows)} configurations equal", good == len(rows)


def parameter_ratios(d):
    one = {r["cell"]: int(r["formula"]) for r in d["parameter_counts"]
           if r["layers"] == 1 and not r["bidirectional"] and r["bias"]}
    lstm, gru = one["lstm"] / one["rnn"], one["gru"] / one["rnn"]
    return f"LSTM/RNN {lstm:.2f}, GRU/RNN {gru:.2f}", lstm == 4 and gru == 3


def marked_value_kept(d):
    m = d["marked_value"]
    lstm, rnn = number(m["lstm"]["test_mse"]), number(m["rnn"]["test_mse"])
    return (f"LSTM {lstm:.4f} ({m['lstm']['n_params']} params), tanh RNN {rnn:.4f} "
            f"({m['rnn']['n_params']} params)"), lstm < 0.01 and rnn > 10 * lstm


def bidirectional_beats_floor(d):
    b = d["bidirectional_task"]
    floor = number(b["causal_floor"])
    uni, bi = number(b["one_direction"]["test_mse"]), number(b["bidirectional"]["test_mse"])
    return (f"floor {floor:.4f}; one direction {uni:.4f} ({uni / floor:.2f} x floor), "
            f"bidirectional {bi:.5f} ({bi / floor:.3f} x floor)"), uni > 0.9 * floor and \
        bi < 0.2 * floor


def lstm_equals_torch(d):
    diffs = {k: number(v) for k, v in d["lstm_equals_torch"].items()}
    return f"max |diff| {max(diffs.values()):.1e}", max(diffs.values()) < 1e-12


def gru_forms_differ(d):
    g = d["gru_forms"]
    torch_form, seed_form = number(g["torch_form_vs_torch_nn"]), number(g["seed_form_vs_torch_nn"])
    return (f"torch form {torch_form:.1e}, seed form {seed_form:.3f}"), \
        torch_form < 1e-12 and seed_form > 1e-3


def rates_match_theory(d):
    rows = d["orthogonal_no_input_rates"]
    if not rows:
        raise ValueError("no rates")
    dev = [abs(number(r["measured"]) / number(r["theory"]) - 1) for r in rows]
    return f"largest deviation {100 * max(dev):.3f}% over {len(rows)} settings", max(dev) < 0.01


def gated_keeps_gradient(label):
    def check(d):
        g = d["gated_grad_at_t0"]
        gate, rnn = number(g[label]), number(g["tanh RNN"])
        return (f"{gate:.2e} vs tanh RNN {rnn:.2e} (ratio {gate / rnn:.1e})"
                if rnn > 0 else f"{gate:.2e} vs 0"), gate > 1e10 * rnn
    return check


def saturation_lowers_rate(d):
    rows = d["saturation_rates"]
    lower = all(number(r["input_1"]) < 0.9 * number(r["no_input"]) for r in rows)
    at15 = next(number(r["input_1"]) for r in rows if number(r["sigma_max"]) == 1.5)
    return f"with input: rate {at15:.3f} at sigma_max 1.5; all rates lowered: {lower}", \
        lower and at15 < 1


def gaussian_rate_follows_radius(d):
    g = d["gaussian_rate"]
    ratio = number(g["measured"]) / number(g["spectral_radius"])
    return (f"rate {number(g['measured']):.3f}, spectral radius "
            f"{number(g['spectral_radius']):.3f}, sigma_max {number(g['sigma_max']):.2f}"), \
        abs(ratio - 1) < 0.1


def clipping_caps_cliff_step(d):
    c = d["cliff"]
    jump, cj, bound = number(c["plain_max_jump"]), number(c["clipped_max_jump"]), \
        number(c["lr"]) * number(c["threshold"])
    return (f"unclipped jump {jump:.1f}, clipped {cj:.3f} (eta tau = {bound:.3f}); final loss "
            f"{number(c['plain_final_loss']):.3g} vs {number(c['clipped_final_loss']):.3g}"), \
        jump > 10 and cj <= bound * (1 + 1e-9) and \
        number(c["clipped_final_loss"]) < number(c["plain_final_loss"])


def clipping_keeps_learning(d):
    t = d["training"]
    stop = t["plain_diverged_at_step"]
    first, last = number(t["clipped_loss_first_100"]), number(t["clipped_loss_last_100"])
    big = number(t["plain_max_grad_norm"])
    return (f"unclipped: diverged at step {stop}, ||g|| up to {big:.1e}; clipped: loss "
            f"{first:.3f} -> {last:.3f}"), stop is not None and big > 1e6 and \
        last < 0.8 * first and last < ADDING_BASELINE_MSE


def adding_runs(d) -> dict:
    """The runs of an adding-race record (:class:`rnncourse.records.AddingRace`), by label."""
    runs = d["runs"]
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("no adding runs")
    return runs


def is_gated(run) -> bool:
    """Whether a saved run's cell has gates, from its config (never from its label)."""
    return run["config"]["cell"] in GATED_CELLS


def gated_cells_learn_adding(d):
    runs = adding_runs(d)
    target, baseline = number(d["setting"]["target"]), number(d["baseline"])
    gated = {k: number(r["best_eval"]) for k, r in runs.items() if is_gated(r)}
    plain = {k: number(r["best_eval"]) for k, r in runs.items() if not is_gated(r)}
    if not gated or not plain:
        raise KeyError("runs of both a gated cell and a tanh RNN")
    measured = "; ".join(f"{k} {v:.4f}" + (f" at step {runs[k]['steps_to_target']}"
                                          if runs[k].get("steps_to_target") else "")
                         for k, v in {**gated, **plain}.items())
    return measured, all(v < target for v in gated.values()) and \
        all(v > 0.8 * baseline for v in plain.values())


def _sunspot_rows(d) -> list:
    rows = [r for r in d["rows"] if str(r["experiment"]).startswith("sunspots")]
    if not rows:
        raise KeyError("sunspots rows")
    return rows


def forecasters_beat_naive(d):
    rows = _sunspot_rows(d)
    naive = number(rows[0]["baseline"])
    values = {r["model"]: number(r["value"]) for r in rows}
    best = min(values.values())
    measured = f"seasonal naive {naive:.3f}; " + ", ".join(f"{k} {v:.3f}"
                                                          for k, v in values.items())
    return measured, all(v < naive for v in values.values()) and best < 0.5 * naive


def char_lm_beats_unigram(d):
    bpc, unigram = number(d["bits_per_char"]), number(d["unigram_bits"])
    return f"{bpc:.3f} bits/char vs unigram {unigram:.3f}", bpc < unigram - 1.0


def _by_depth(d):
    runs = list(d["runs"].values())
    out = {}
    for r in runs:
        out.setdefault(str(r["config"]["cell"]), {})[int(r["config"]["num_layers"])] = r
    if not out:
        raise KeyError("runs")
    return out


def depth_costs_time_not_paying(d):
    by = _by_depth(d)
    parts, ok = [], True
    for cell, runs in by.items():
        lo, hi = runs[min(runs)], runs[max(runs)]
        parts.append(f"{cell}: {min(runs)} layer {number(lo['val_bpc']):.3f}, {max(runs)} layers "
                     f"{number(hi['val_bpc']):.3f} bits/char; CPU ms/step "
                     f"{number(lo['step_cpu_ms']):.1f} vs {number(hi['step_cpu_ms']):.1f}")
        ok = ok and hi["n_params"] > lo["n_params"] and \
            number(hi["step_cpu_ms"]) > 1.5 * number(lo["step_cpu_ms"]) and \
            number(lo["val_bpc"]) < number(hi["val_bpc"])
    return "; ".join(parts), ok


def dropout_narrows_gap(d):
    runs = d["runs"]
    none = next(r for r in runs.values() if not number(r["config"]["dropout"]))
    dropped = [r for r in runs.values() if number(r["config"]["dropout"])]
    if not dropped:
        raise KeyError("a run with dropout")
    gaps = ", ".join(f"{r['config']['dropout_mode']} {number(r['gap']):.2f}" for r in dropped)
    return (f"gap without dropout {number(none['gap']):.2f} bits/char; with: {gaps}"), \
        none["best_step"] < none["steps"] and \
        all(number(r["gap"]) < 0.75 * number(none["gap"]) for r in dropped)


def gru_hears_unseen_voices(d):
    gru, seeds = number(d["gru"]), [number(a) for a in d["gru_seeds"]]
    logistic, majority, margin = number(d["logistic"]), number(d["majority"]), number(d["margin"])
    return (f"GRU {gru:.1%} (seeds {', '.join(f'{a:.1%}' for a in seeds)}), averaged frames + "
            f"logistic regression {logistic:.1%}, majority {majority:.1%}; margin "
            f"{margin:.1%}"), \
        min(seeds) > 0.75 and min(seeds) > logistic + margin and logistic > majority + 0.2


def attention_solves_reversal(d):
    att = number(d["attention"]["test_exact_match"])
    plain = number(d["no attention"]["test_exact_match"])
    return f"attention {att:.1%}, no attention {plain:.1%}", att >= 0.95 and plain <= att - 0.3


def attention_learns_dates_faster(d):
    att, plain = d["attention"], d["no attention"]
    a, p = att["steps_to_target"], plain["steps_to_target"]
    return (f"attention {number(att['test_exact_match']):.1%} (95% at step {a}), no attention "
            f"{number(plain['test_exact_match']):.1%} (95% at step {p})"), \
        number(att["test_exact_match"]) >= 0.95 and a is not None and (p is None or a < p)


def alignment_as_implied(d):
    bi, uni = d["reversal_bidirectional"], d["reversal_one_directional"]
    uniform = number(d["uniform"])
    return (f"bidirectional: {number(bi['exact']):.2f} exact, {number(bi['within_1']):.2f} "
            f"within +-1 (uniform {uniform:.2f}); one-directional {number(uni['exact']):.2f} "
            f"exact"), \
        number(bi["within_1"]) > 0.8 and number(bi["exact"]) > 3 * uniform and \
        number(bi["exact"]) > 1.5 * number(uni["exact"])


def conv_front_end_pays(d):
    gru, hyb = d["gru"], d["hybrid"]
    speed = number(d["speedup_fwd_bwd"])
    return (f"{hyb['n_params']} vs {gru['n_params']} params, {speed:.1f}x faster, MSE "
            f"{number(hyb['final_eval']):.4f} vs {number(gru['final_eval']):.4f}"), \
        hyb["n_params"] < gru["n_params"] and speed > 2 and \
        number(hyb["final_eval"]) < 0.1 * ADDING_BASELINE_MSE and \
        number(hyb["final_eval"]) <= 1.5 * number(gru["final_eval"])


def memory_beats_lstm(d):
    mem = {int(k): number(v) for k, v in d["memory_accuracy"].items()}
    lstm = {int(k): number(v) for k, v in d["lstm_accuracy"].items()}
    most = max(mem)
    return (", ".join(f"{n} pairs: memory {mem[n]:.2f}, LSTM {lstm[n]:.2f}" for n in sorted(mem))
            ), min(mem.values()) >= 0.95 and mem[most] - lstm[most] > 0.5 and \
        mem[most] - lstm[most] > mem[min(mem)] - lstm[min(mem)]


def scan_equals_loop(d):
    err = max(number(v) for v in d.values())
    return f"max |scan - loop| {err:.1e} over {len(d)} checks", err < 1e-12


def scan_depth_logarithmic(d):
    import numpy as np

    T = np.array(d["T"], dtype=float)
    depth, work = np.array(d["blelloch_depth"], float), np.array(d["blelloch_work"], float)
    slope = float(np.polyfit(np.log2(T[1:]), depth[1:], 1)[0])
    return f"depth = {slope:.2f} log2 T + c; work <= {float(np.max(work / T)):.2f} T", \
        abs(slope - 2) < 1e-9 and bool(np.all(work <= 2 * T))


def scan_vectorises(d):
    fit = {k: number(v) for k, v in d["fit_exponent"].items()}
    tol = max(0.15, 2 * (number(d["noise"]) - 1))
    narrow, wide = number(d["speedup_longest"]), number(d["wide_T1024"]["loop_over_scan"])
    k1024 = d["T"].index(1024)
    narrow_1024 = number(d["sequential"][k1024]) / number(d["blelloch"][k1024])
    return (f"loop time ~ T^{fit['sequential']:.2f}, scan ~ T^{fit['blelloch']:.2f}; loop / scan "
            f"{narrow:.1f}x at T = {max(d['T'])}; at T = 1024 {narrow_1024:.1f}x (64 channels) "
            f"vs {wide:.1f}x (4096)"), abs(fit["sequential"] - 1) < tol and \
        fit["blelloch"] < 1 + tol and narrow > 3 and wide < narrow_1024


def linear_recurrences_solve_adding(d):
    mse = {m: number(r["test_mse"]) for m, r in d.items()}
    best_linear, best_gated = min(mse["mingru"], mse["lru"]), min(mse["gru"], mse["lstm"])
    return ", ".join(f"{m} {v:.4f}" for m, v in mse.items()), \
        best_linear < 0.05 and best_linear < 0.5 * best_gated


def mingru_step_faster(d):
    ratio = {int(T): number(r["gru"]) / number(r["mingru"]) for T, r in d.items()}
    if not ratio:
        raise ValueError("no step times")
    return ", ".join(f"T = {T}: {ratio[T]:.1f}x" for T in sorted(ratio)), \
        all(r > 1 for r in ratio.values())


def linear_rate_is_lambda(d):
    err = number(d["max_error"])
    return f"max |rate - |lambda|| {err:.1e}", err < 1e-12


@dataclass(frozen=True)
class Check:
    """One course claim: which ``source`` it reads, the ``lesson`` that makes it, the ``claim``,
    what theory or the lesson ``expected``, and ``measure(data) -> (measured text, holds)``."""

    source: str
    lesson: str
    claim: str
    expected: str
    measure: Callable


CHECKS: list[Check] = [
    Check("complexity", "02", "forward + BPTT time grows linearly in T",
          "exponent of T in [0.85, 1.15] (FLOPs 2TB(H^2 + HI))",
          time_exponent_within("T", 0.85, 1.15)),
    Check("complexity", "02", "forward + BPTT time grows quadratically in H (H >> I)",
          "exponent of H in [1.5, 2.5]", time_exponent_within("H", 1.5, 2.5)),
    Check("complexity", "02", "at small H the per-step overhead dominates",
          "exponent of H (8..64) < 1", small_h_exponent),
    Check("complexity", "02", "BPTT by hand equals finite differences",
          "max relative error < 1e-6", gradient_check_error),
    Check("complexity", "02", "truncated BPTT approaches the full gradient as k grows",
          "error falls with k, 0 once k >= T", truncation_error_falls),
    Check("variants", "03", "LSTM by hand equals torch.nn.LSTM",
          "max |difference| < 1e-12 (float64)", lstm_equals_torch),
    Check("variants", "03", "the two GRU forms are different functions of the same weights",
          "torch form = torch.nn (< 1e-12), seed form differs (> 1e-3)", gru_forms_differ),
    Check("variants", "03", "parameter count D[GH(I+H) + 2GH + (L-1)(GH(DH+H) + 2GH)]",
          "formula = torch.nn for every configuration", parameter_formula_matches),
    Check("variants", "03", "at the same H an LSTM costs 4x, a GRU 3x a tanh RNN",
          "ratios 4 and 3 (G = 4, 3, 1)", parameter_ratios),
    Check("variants", "03", "gates keep a marked value; a matched tanh RNN does not",
          "LSTM test MSE < 0.01, tanh RNN > 10x the LSTM's", marked_value_kept),
    Check("variants", "03", "a bidirectional model beats the causal floor",
          "one direction >= 0.9 x floor, bidirectional < 0.2 x floor", bidirectional_beats_floor),
    Check("gradient_flow", "04", "per-step gradient rate = gamma * sigma_max (orthogonal "
          "W_hh, no input)", "within 1% for tanh and sigmoid, sigma_max 0.5 to 4",
          rates_match_theory),
    Check("gradient_flow", "04", "saturation lowers the rate (sigma_max > 1/gamma is "
          "necessary, not sufficient, for exploding)",
          "with input every rate < 0.9 x without; < 1 at sigma_max 1.5", saturation_lowers_rate),
    Check("gradient_flow", "04", "a Gaussian W_hh's long-run rate follows its spectral radius",
          "rate / spectral radius within 10%", gaussian_rate_follows_radius),
    Check("gradient_flow", "04", "an LSTM with forget bias 5 keeps more gradient than a tanh "
          "RNN", "||dL/dh_0|| > 1e10 x the tanh RNN's (T = 200)",
          gated_keeps_gradient("LSTM, b_f = 5")),
    Check("gradient_flow", "04", "a GRU with update bias 5 keeps more gradient than a tanh RNN",
          "||dL/dh_0|| > 1e10 x the tanh RNN's (T = 200)", gated_keeps_gradient("GRU, b_z = 5")),
    Check("gradient_flow", "04", "clipping caps the step on the cliff",
          "clipped step <= eta tau; unclipped jumps > 10; clipped ends lower",
          clipping_caps_cliff_step),
    Check("gradient_flow", "04", "clipping keeps learning where the unclipped run diverges",
          "unclipped: inf/nan, ||g|| > 1e6; clipped: never diverges, last-100 loss < 0.8 x "
          "first-100 and < 1/6", clipping_keeps_learning),
    Check("adding", "06", "gated cells learn the adding problem; the tanh RNN stays near "
          "predicting the mean", "LSTM, GRU best test MSE < target; tanh RNN > 0.8 x 1/6",
          gated_cells_learn_adding),
    Check("forecast", "06", "recurrent forecasters beat the seasonal-naive baseline on "
          "sunspots", "every cell below the baseline's test MSE, the best below half of it",
          forecasters_beat_naive),
    Check("char_lm", "06", "a character-level LSTM learns more than letter frequencies",
          "held-out bits/char at least 1 bit below the unigram entropy", char_lm_beats_unigram),
    Check("depth", "06", "at the same CPU time, stacking layers costs time per step and does "
          "not pay in a short budget", "3 layers: more parameters, > 1.5x CPU per step, higher "
          "validation bits/char than 1 layer (LSTM and GRU)", depth_costs_time_not_paying),
    Check("dropout", "06", "dropout narrows the overfitting gap of a small-data char LSTM",
          "without dropout the validation loss turns up; with dropout (either kind) the gap "
          "at the last step < 0.75x the gap without", dropout_narrows_gap),
    Check("speech", "06", "a GRU recognises spoken digits from synthetic voices it never heard, "
          "better than averaged frames", "every seed > 75% and > logistic regression + margin "
          "(3 x the seed-to-seed difference, >= 5 points); logistic > majority + 20 points",
          gru_hears_unseen_voices),
    Check("reversal", "07", "attention solves digit reversal; the same model without it "
          "does not", "attention >= 95% exact match; without <= attention - 30 points",
          attention_solves_reversal),
    Check("dates", "07", "attention learns date normalisation faster",
          ">= 95% exact; reaches 95% at an earlier step than without",
          attention_learns_dates_faster),
    Check("alignment", "07", "the learned alignment is the one the task implies",
          "within +-1 > 0.8; exact > 3 x uniform and > 1.5 x the one-directional encoder's",
          alignment_as_implied),
    Check("hybrid", "07", "a Conv1d front-end cuts recurrent steps and time at no loss",
          "fewer params, fwd+bwd > 2x faster, MSE < 0.1 x 1/6 and <= 1.5 x the GRU's",
          conv_front_end_pays),
    Check("recall", "07b", "an outer-product memory solves associative recall; an LSTM of the "
          "same size falls behind as pairs are added",
          "memory >= 95% at every number of pairs; gap > 50 points at the most, and larger "
          "than at the fewest", memory_beats_lstm),
    Check("scan_checks", "07b", "the parallel scan equals the sequential loop",
          "values, complex values and gradients within 1e-12 (float64)", scan_equals_loop),
    Check("scan_counts", "07b", "the work-efficient scan has depth 2 log2 T and work < 2T",
          "depth slope 2 in log2 T; work <= 2T", scan_depth_logarithmic),
    Check("scan_cost", "07b", "on a CPU the scan wins by vectorisation, by less as the "
          "channels widen", "loop time ~ T (within the noise); loop / scan > 3 at the longest T; "
          "smaller with 4096 channels than with 64", scan_vectorises),
    Check("linear_adding", "07b", "minGRU or LRU, trained through the scan, solve the adding "
          "problem at T = 256 where GRU and LSTM do not, same CPU budget",
          "best linear test MSE < 0.05 and < half the best gated cell's",
          linear_recurrences_solve_adding),
    Check("per_step", "07b", "a minGRU training step is faster than a GRU's",
          "GRU / minGRU > 1 at T = 512 and 2048", mingru_step_faster),
    Check("linear_gradient", "07b", "a diagonal linear recurrence's gradient shrinks by "
          "exactly |lambda| per step", "per-step rate = |lambda| within 1e-12",
          linear_rate_is_lambda),
]
