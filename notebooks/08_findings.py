# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8 · Findings: what the course measured, checked against theory
#
# Every lesson so far ended by saving what it measured to the course's results store
# (`rnncourse.results.save_result`). This lesson reads those records back, puts them side by
# side, and checks each number against what theory (or the lesson's own stated criterion)
# predicts, in one table: **claim, expected, measured, pass**.
#
# By the end of this lesson you will have
# 1. seen where every number comes from: a lesson's own run, or a recomputation made here,
# 2. read the checks table, every row of it asserted,
# 3. compared the models the course trained: parameters, seconds, steps to target, final result,
# 4. looked at the plots behind the checks: the cost fit, the gradient-rate check, gradient
#    norms and learning curves,
# 5. weighed cost against accuracy with the measured numbers,
# 6. exported the whole report as one HTML file that opens offline,
# 7. a short map of where sequence modelling went after RNNs.

# %%
import sys

if "google.colab" in sys.modules:  # Colab only: install this release once per runtime
    RELEASE = "0.2.0"
    try:
        from rnncourse.colab import prepare
    except ImportError:  # first lesson in this runtime: install, and stop on pip's error
        import importlib
        import subprocess

        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "rnncourse @ git+"
                              f"https://github.com/rnncourse/rnncourse@v{RELEASE}"],
                             capture_output=True, text=True)
        if pip.returncode:
            raise RuntimeError(f"pip could not install rnncourse {RELEASE}:\n{pip.stderr}") from None
        importlib.invalidate_caches()
        from rnncourse.colab import prepare
    prepare(RELEASE)

import html
import time

from IPython.display import HTML, display

from rnncourse import figstyle, findings
from rnncourse.results import results_folder
from rnncourse.threads import set_threads

set_threads()  # one torch thread: small recurrent models are latency-bound
figstyle.use()  # the course's figure style, and plotly's renderer loaded now, not at the first plot
START = time.perf_counter()

# %% [markdown]
# ## Where the numbers come from
#
# The findings are grouped by **source**: the timing grids of lesson 2, the variants of
# lesson 3, the gradient flow of lesson 4, the adding-problem race of lesson 6, and lesson 7's
# encoder-decoders and hybrid. For each source the lesson's **own record** is used when it
# exists (you ran that lesson). When it does not, this lesson **recomputes** it, by calling the
# same package functions the lesson calls, and saves the result under its own name
# (`08_findings/<lesson>_...`), never under the lesson's:
#
# | recomputed record | what, and with which setting |
# |---|---|
# | `08_findings/02_core` | lesson 2's timing grids in $T$ and $H$, numpy and torch, with 3 repeats × 2 rounds (lesson 2: 3 × 3), the small-$H$ grid, the gradient check |
# | `08_findings/03_core` | lesson 3's parameter counts, the LSTM against a matched tanh RNN on the marked value, the one-direction against the bidirectional LSTM (lesson 3's settings and seeds) |
# | `08_findings/04_core` | lesson 4's per-step rates (orthogonal $W_{hh}$, no input; with inputs; Gaussian), the gated cells' gradient at $t = 0$, the cliff, the 600-step run with and without clipping (lesson 4's settings) |
# | `08_findings/06_adding` | tanh RNN, LSTM ($b_f = 1$) and GRU on the adding problem, a **smaller race than lesson 6's**: $T = 30$, $H = 32$, Adam $10^{-2}$, at most 500 steps, stop at validation MSE < 0.01 (a seed of its own) |
# | `08_findings/07_reversal` | lesson 7's digit reversal with and without attention (same split, model and 150 steps) |
#
# Lesson 7's date task, alignment and CNN+RNN hybrid, lesson 6's full adding race ($T = 50$,
# $H = 64$), sunspot forecasts and character-level language model, lesson 2's truncation
# errors, lesson 3's equality checks against `torch.nn` and lesson 5's verdicts on the
# literature are *not* recomputed (together they would take minutes), nor are lesson 7b's
# records (the outer-product memory, the parallel scan's exactness and cost, minGRU and LRU on
# the adding problem, and its verdicts on four papers of lesson 5's table): their rows appear
# when those lessons have been run, and are listed as "not checked" otherwise. Every record has a
# declared schema (`rnncourse.records`), checked when a lesson saves it and again here when it
# is read: a record with a missing or renamed field never reaches a check. Each row of the
# table below names the record it read; "(recomputed here)" marks the numbers made by this
# lesson.

# %%
report = findings.compile_findings(verbose=True)
inventory = report.inventory
print(f"results folder: {inventory.folder}\n")
print("\n".join(inventory.lines()))
found = [k for k, s in inventory.status.items() if s == "found"]
computed = [k for k, s in inventory.status.items() if s == "computed"]
missing = [k for k, s in inventory.status.items() if s == "missing"]
print(f"\nfound {len(found)} ({', '.join(found) or 'none'}); computed here {len(computed)} "
      f"({', '.join(computed) or 'none'}) in {sum(inventory.seconds.values()):.1f} s; "
      f"missing {len(missing)} ({', '.join(missing) or 'none'})")
if inventory.extra:
    print("other records read:", ", ".join(f"{r.lesson}/{r.name}" for r in inventory.extra))
if inventory.skipped:
    print("unreadable files skipped:", ", ".join(str(p) for p in inventory.skipped))

# every source that has a producer is there now, found or computed
assert all(inventory.status[key] != "missing"
           for key in {p.source for p in findings.PRODUCERS.values()})

# %% [markdown]
# ## The checks
#
# One row per claim. "expected" is what theory predicts or what the lesson committed to before
# measuring; "measured" is the number in the record; "source" is the record. The verdict is
# one of three, the same as lesson 5's: **agrees**, **partly** or **disagrees**, and every
# verdict but "agrees" gives its reason. A course claim agrees when its measurement meets the
# expectation. Lesson 5's rows are its own verdicts on the literature: a "partly" there is a
# finding about a paper on our small tasks, with its reason, not a failing program.

# %%
display(HTML(report.checks_html()))
print(f"{len(report.checks)} checks: {report.verdicts()}")
for row in report.not_checked:
    print(f"not checked (lesson {row.lesson}): {row.claim}: {row.reason}")

# %% [markdown]
# Every row is asserted. The course's own checks (lessons 2, 3, 4, 6, 7 and 7b) must all agree;
# a lesson-5 verdict other than "agrees" is allowed only with its reason attached.

# %%
course_rows = [r for r in report.checks if r.lesson != "05"]
literature_rows = [r for r in report.checks if r.lesson == "05"]
for row in course_rows:
    assert row.passed, (row.claim, row.expected, row.measured, row.source)
qualified = [r for r in literature_rows if not r.passed]
for row in qualified:
    assert row.explained, row  # a literature claim that holds only partly, with its reason
    print(f"{row.verdict}: {row.claim}\n    measured: {row.measured}\n    {row.reason}")
always = ["linearly in T", "quadratically in H", "finite differences", "parameter count",
          "marked value", "causal floor", "gamma * sigma_max", "forget bias 5", "update bias 5",
          "cliff", "unclipped run diverges", "gated cells learn the adding problem",
          "digit reversal"]
for fragment in always:  # the rows this lesson can always compute, whatever was run before
    assert report.check(fragment).passed, fragment
print(f"all {len(course_rows)} course checks agree; lesson 5's {len(literature_rows)} literature "
      f"claims: {findings.verdict_summary([r.verdict for r in literature_rows])}, each verdict "
      f"but 'agrees' with its reason")

# %% [markdown]
# ## Cost: the complexity fit
#
# Lesson 2 counted $2TB(H^2 + HI)$ floating-point operations for the forward pass and twice
# that for BPTT: time linear in $T$ and quadratic in $H$ once $H \gg I$. The points are the
# measured times (the fastest of several runs, CPU time of this process), the dotted lines the
# fitted power laws.

# %%
findings.complexity_figure(report).show()
cost = report.inventory.records["complexity"].data["exponents"]
print("fitted exponents:", ", ".join(f"{k} {v:.2f}" for k, v in cost.items()))
assert all(0.85 <= v <= 1.15 for k, v in cost.items() if k.endswith("_T"))
assert all(1.5 <= v <= 2.5 for k, v in cost.items() if k.endswith("_H"))

# %% [markdown]
# ## Gradients: the rate check and what gates buy
#
# Lesson 4's bound $\|\partial L/\partial h_t\| \le (\gamma\,\sigma_{\max})^{T-t}\,
# \|\partial L/\partial h_T\|$ is exact for an orthogonal $W_{hh}$ with no input: every point
# should sit on the diagonal. Then the gradient that survives 200 steps, per cell, and the
# gradient norms of the training runs (before clipping).

# %%
findings.rate_figure(report).show()
findings.gradient_figure(report).show()
flow = report.inventory.records["gradient_flow"].data
worst = max(abs(r["measured"] / r["theory"] - 1) for r in flow["orthogonal_no_input_rates"])
kept = flow["gated_grad_at_t0"]
print(f"rate vs γ σ_max: largest deviation {worst:.2%}; ||dL/dh_0|| after 200 steps: "
      + ", ".join(f"{k} {v:.1e}" for k, v in kept.items()))
assert worst < 0.01
assert kept["LSTM, b_f = 5"] > 1e10 * kept["tanh RNN"] and kept["GRU, b_z = 5"] > 1e10 * kept["tanh RNN"]

# %% [markdown]
# ## Learning: loss curves and accuracy while training
#
# Left, the training loss of the adding-problem runs: the gated cells leave the line of
# "predict the mean" (MSE $1/6$), the tanh RNN does not. Right, held-out exact match of the
# encoder-decoders during training, with the 95% line.

# %%
findings.curves_figure(report).show()
adding = [r for r in report.models if r.group == "adding"]  # one row per cell of the race
print("adding problem, best validation MSE:", ", ".join(f"{r.model} {r.value:.4f}" for r in adding))
gated = [r for r in adding if r.gated]  # from each run's saved config: LSTM and GRU cells
plain = [r for r in adding if not r.gated]
assert gated and plain
assert all(r.value < r.target for r in gated)
assert all(r.value > 0.8 * r.baseline for r in plain)
print(f"steps to MSE < {adding[0].target}: "
      + ", ".join(f"{r.model} {r.steps_to_target}" for r in adding))
by_cell = {r.cell: r for r in adding}
assert by_cell["gru"].steps_to_target < by_cell["lstm"].steps_to_target  # the GRU first, as in lesson 6

# %% [markdown]
# ## Models and tasks
#
# Every trained model the records describe: its size, its result on the held-out set (and the
# baseline to beat: predicting 0, the causal floor, or predicting the mean), the steps and
# seconds it took to reach the target where there was one, and its training time. Seconds are
# wall time on a shared machine: read them as a rough guide, the step counts as the firmer number.

# %%
display(HTML(report.models_html()))
rows = {(r.task, r.model): r for r in report.models}
assert len(report.models) >= 9  # lessons 3, 6 and 7 at least
for r in report.models:
    if r.baseline is not None and r.metric.endswith("MSE") and "tanh RNN" not in r.model \
            and "one direction" not in r.model:
        assert r.value < r.baseline, (r.task, r.model, r.value, r.baseline)

# %% [markdown]
# ## Trade-offs: what each gain cost
#
# The same numbers, read as trade-offs. Each sentence below is computed from the table above.

# %%
findings.tradeoff_figure(report).show()


def pick(task_start, model_part):
    (row,) = [r for r in report.models if r.task.startswith(task_start) and model_part in r.model]
    return row


lstm_mv, rnn_mv = pick("marked value", "LSTM"), pick("marked value", "tanh RNN")
uni, bi = pick("centred", "one direction"), pick("centred", "bidirectional")
att, no_att = pick("digit reversal", ", attention"), pick("digit reversal", "no attention")
adding_rows = {r.model: r for r in report.models if r.group == "adding"}
print(f"* Gates, same parameter budget: LSTM {lstm_mv.params} vs tanh RNN {rnn_mv.params} "
      f"parameters on the marked value: test MSE {lstm_mv.value:.4f} vs {rnn_mv.value:.4f} "
      f"({rnn_mv.value / lstm_mv.value:.0f}x lower), in {lstm_mv.seconds:.1f} s against "
      f"{rnn_mv.seconds:.1f} s.")
print(f"* Bidirectional: {bi.params / uni.params - 1:+.0%} parameters, "
      f"{bi.seconds / uni.seconds:.1f}x the training time, test MSE "
      f"{uni.value / bi.value:.0f}x lower - when the task may read the future.")
print(f"* Attention: {att.params / no_att.params - 1:+.0%} parameters, "
      f"{att.seconds / no_att.seconds:.1f}x the training seconds, exact match "
      f"{att.value:.1%} vs {no_att.value:.1%} on reversal.")
for label, r in adding_rows.items():
    reached = (f"target at step {r.steps_to_target} ({r.seconds_to_target:.1f} s)"
               if r.steps_to_target else f"no target in {r.steps} steps ({r.seconds:.1f} s)")
    print(f"* Adding problem, {label}: {r.params} parameters, {r.ms_per_step:.1f} ms per "
          f"training step, {reached}, best MSE {r.value:.4f}")
hybrid = [r for r in report.models if "Conv1d" in r.model]
if hybrid:
    gru_row = pick("adding problem (T = 50)", "GRU, H = 64")
    print(f"* CNN+RNN hybrid: {hybrid[0].params} vs {gru_row.params} parameters, "
          f"{gru_row.seconds / hybrid[0].seconds:.1f}x less training time, MSE "
          f"{hybrid[0].value:.4f} vs {gru_row.value:.4f}.")
assert lstm_mv.params <= 1.1 * rnn_mv.params and lstm_mv.value < rnn_mv.value / 10
assert bi.params <= 1.05 * uni.params and bi.value < uni.value / 5
assert att.params <= 1.1 * no_att.params and att.value >= no_att.value + 0.3

# %% [markdown]
# What the numbers say, in words:
#
# * **Gating is the cheapest large gain.** At a matched parameter budget the LSTM solves tasks
#   the tanh RNN cannot start on. What it costs is not parameters but time per step: a gated
#   step does three or four matrix products where the tanh RNN does one. That shows at
#   $H = 64$ (lesson 6's race: compare the ms/step column) and hardly at $H = 32$, where the
#   fixed overhead of a step dominates (lesson 2's small-$H$ fit); a timing on a shared
#   machine is not asserted here. The reason is lesson 4's: the additive cell path keeps a gradient
#   that the tanh RNN loses at a geometric rate.
# * **Between LSTM and GRU, no rule.** On the adding problem the GRU usually gets there in fewer
#   steps and with fewer parameters than the LSTM; lesson 5 shows how much that varies with the
#   seed and the forget bias. Pick by measurement on your task.
# * **Structure beats size.** A bidirectional reader and attention each add a few percent of
#   parameters and buy an order of magnitude (bidirectional: MSE; attention: exact match) on
#   tasks whose structure they match, and nothing on tasks they do not (a forecaster cannot read
#   the future).
# * **Cost grows like $T H^2$.** Doubling $H$ quadruples time per step; long sequences cost
#   linearly and *sequentially*: the recurrence cannot be spread over cores. Shortening the
#   sequence (a strided convolution in front, lesson 7) is the cheapest speed-up when the task
#   allows it.
#
# ## The report, as one file
#
# `findings.write_report` writes the tables and every figure above into one HTML file with
# plotly.js embedded once, so it opens in a browser offline and can be mailed or archived.

# %%
path = findings.write_report(report=report)
text = path.read_text(encoding="utf-8")
size_mb = path.stat().st_size / 1e6
print(f"report written to {path} ({size_mb:.1f} MB)")
assert path.is_file() and path.parent == results_folder() / "08_findings"
assert "plotly.js v" in text and text.count("plotly.js v") == 1   # plotly.js inlined, once
assert '<script src="http' not in text                            # nothing fetched online
assert all(html.escape(r.measured) in text for r in report.checks)  # every row is in it

# %% [markdown]
# ## Where to go next
#
# The course stopped at models that read a sequence one step at a time. Two families took
# over most of their uses, and both are best understood against what you measured here:
#
# * **Transformers** (Vaswani et al. 2017) keep attention and drop the recurrence: every
#   position attends to every other one in one parallel step. That removes the sequential
#   cost (the $T$ dependent steps lesson 2 timed) and the long gradient paths (lesson 4), at a
#   cost quadratic in $T$ in time and memory. Most language models today are transformers.
# * **State-space models and linear recurrences** (S4, Gu et al. 2022; LRU, Orvieto et al.
#   2023; Mamba, Gu & Dao 2023; minGRU, Feng et al. 2024) are recurrences again, but *linear*
#   in the state, so they can be trained in parallel (as a convolution or a scan) and run step
#   by step at inference with a fixed-size state, like an RNN. Lesson 7b measured the small end
#   of this family (its rows above, when you ran it): the scan equals the loop to $10^{-12}$
#   with depth $2\log_2 T$, on this CPU it wins by vectorisation rather than depth, a minGRU
#   and an LRU solve the adding problem at $T = 256$ where the GRU and LSTM did not on the same
#   CPU budget, and the gradient of a diagonal linear recurrence shrinks by exactly $|\lambda|$
#   per step: lesson 4's problem, solved by construction.
#
# RNNs remain a good choice where a small, always-on model reads a stream one sample at a time
# (sensors, audio on a device, control), and the gradient arithmetic of this course is the
# vocabulary both newer families are described in. Transformers we have not measured here:
# that part is a pointer, not a finding.

# %%
elapsed = time.perf_counter() - START
print(f"lesson 8 ran in {elapsed:.1f} s ({sum(inventory.seconds.values()):.1f} s of it "
      f"recomputing {len(computed)} missing records)")

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
