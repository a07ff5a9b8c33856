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
# # Lesson 3 · Variants: RNN, LSTM, GRU, bidirectional and deep
#
# Lessons 1 and 2 used the plain recurrence $h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b_h)$.
# Almost every recurrent network in practice is one of two *gated* cells instead, the LSTM or
# the GRU, often stacked in layers and run in both directions. This lesson writes each of them
# down, equation by equation next to the code, and checks every claim against `torch.nn`.
#
# By the end of this lesson you will have
# 1. computed an LSTM and a GRU by hand from the equations, on weights copied out of
#    `torch.nn.LSTM` and `torch.nn.GRU`, and matched them to float64 precision,
# 2. measured how far apart the two published forms of the GRU are,
# 3. counted parameters with a formula and checked it against `torch.nn` for every cell, stacked
#    and bidirectional,
# 4. trained a small LSTM to remember a marked value and watched its gates work, live, in a
#    heatmap explorer,
# 5. made the layout of `h_n` for deep and bidirectional networks concrete, and measured a
#    bidirectional model beating a one-directional one when the answer depends on the future,
# 6. implemented one LSTM step and one GRU step yourself and had them checked.

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

import numpy as np
import plotly.graph_objects as go
import torch
from IPython.display import display
from tqdm.auto import tqdm

from rnncourse import check, figstyle, variants
from rnncourse.convert import numpy_from_torch
from rnncourse.explorers.gates import GatesExplorer
from rnncourse.models import count_parameters
from rnncourse.np_gru import gru_forms_difference, gru_step_forward, init_gru_params
from rnncourse.np_lstm import lstm_forward, lstm_step_forward
from rnncourse.np_rnn import sigmoid
from rnncourse.results import save_result
from rnncourse.threads import set_threads
from rnncourse.torch_cells import from_torch

set_threads()  # one torch thread: small recurrent models are latency-bound
figstyle.use()  # the course's figure style for every plot below
SEED = 0
findings = {}  # every number this lesson measures, saved at the end for lesson 8

# %% [markdown]
# ## The LSTM, equation by equation
#
# The plain RNN rewrites its whole state at every step through a squashing function, and
# lesson 4 shows what that does to gradients: they shrink geometrically. The **long short-term
# memory** (Hochreiter & Schmidhuber 1997; the forget gate is from Gers et al. 2000) adds a
# second state, the **cell** $c_t$, which is changed only by *adding* to it and *scaling* it.
# Three gates, each a sigmoid in $(0, 1)$ computed from $x_t$ and $h_{t-1}$, decide per unit how
# much to forget, how much to write and how much to show; $\odot$ is the elementwise product.
#
# | equation | meaning | numpy, one batch step |
# |---|---|---|
# | $i_t = \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i)$ | input gate: how much to write | `i = sigmoid(x @ W_xi.T + h @ W_hi.T + b_i)` |
# | $f_t = \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f)$ | forget gate: how much to keep | `f = sigmoid(x @ W_xf.T + h @ W_hf.T + b_f)` |
# | $g_t = \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g)$ | candidate: what to write | `g = np.tanh(x @ W_xg.T + h @ W_hg.T + b_g)` |
# | $o_t = \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o)$ | output gate: how much to show | `o = sigmoid(x @ W_xo.T + h @ W_ho.T + b_o)` |
# | $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ | cell: keep some, add some | `c = f * c + i * g` |
# | $h_t = o_t \odot \tanh(c_t)$ | hidden state: a gated view of the cell | `h = o * np.tanh(c)` |
#
# Rows of the batch are examples, so $W x_t$ becomes `x @ W.T` (`docs/conventions.md`).
# `torch.nn.LSTM` stores the four input matrices stacked in one `weight_ih_l0` of shape
# $(4H, I)$, in the order **i, f, g, o**, the recurrent ones in `weight_hh_l0` $(4H, H)$, and
# two bias vectors whose sum is the bias of the equations. Below, the weights are copied out of a
# `torch.nn.LSTM` by slicing, and the six lines run over a sequence.

# %%
I, H, T, B = 3, 4, 7, 2
torch.manual_seed(SEED)
torch_lstm = torch.nn.LSTM(I, H, dtype=torch.float64)
x = torch.randn(T, B, I, dtype=torch.float64)
with torch.no_grad():
    out_torch, (h_n_torch, c_n_torch) = torch_lstm(x)

W_xi, W_xf, W_xg, W_xo = np.split(torch_lstm.weight_ih_l0.detach().numpy(), 4)  # (H, I) each
W_hi, W_hf, W_hg, W_ho = np.split(torch_lstm.weight_hh_l0.detach().numpy(), 4)  # (H, H) each
b_i, b_f, b_g, b_o = np.split((torch_lstm.bias_ih_l0 + torch_lstm.bias_hh_l0).detach().numpy(), 4)

h, c = np.zeros((B, H)), np.zeros((B, H))
by_hand = []
for x_t in x.numpy():
    i = sigmoid(x_t @ W_xi.T + h @ W_hi.T + b_i)   # i_t = σ(W_xi x_t + W_hi h_{t-1} + b_i)
    f = sigmoid(x_t @ W_xf.T + h @ W_hf.T + b_f)   # f_t = σ(W_xf x_t + W_hf h_{t-1} + b_f)
    g = np.tanh(x_t @ W_xg.T + h @ W_hg.T + b_g)   # g_t = tanh(W_xg x_t + W_hg h_{t-1} + b_g)
    o = sigmoid(x_t @ W_xo.T + h @ W_ho.T + b_o)   # o_t = σ(W_xo x_t + W_ho h_{t-1} + b_o)
    c = f * c + i * g                              # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h = o * np.tanh(c)                             # h_t = o_t ⊙ tanh(c_t)
    by_hand.append(h)
by_hand = np.stack(by_hand)                        # (T, B, H)

lstm_by_hand_diff = float(np.abs(by_hand - out_torch.numpy()).max())
cell_diff = float(np.abs(c - c_n_torch[0].numpy()).max())
print(f"by hand vs torch.nn.LSTM: max |Δh| = {lstm_by_hand_diff:.1e} over {T} steps, "
      f"final |Δc| = {cell_diff:.1e}")
assert lstm_by_hand_diff < 1e-12 and cell_diff < 1e-12

# %% [markdown]
# The course's numpy reference, `rnncourse.np_lstm.lstm_forward`, computes the same lines (with
# a cache for the backward pass, lesson 2), organised for speed the way `torch.nn` organises
# them: the four gates' weights stacked into one $(4H, I)$ and one $(4H, H)$ matrix, and the
# input products of all $T$ steps done as one product before the loop, since only
# $h_{t-1} W_h^\top$ has to wait for the previous step. Its tests check it against a loop of
# `lstm_step_forward`. And `rnncourse.convert.numpy_from_torch` does the
# slicing above for any `torch.nn` module. The course's own torch cell, `rnncourse.torch_cells.LSTM`
# (no `torch.nn` recurrent kernel inside), takes the same weights with `from_torch`:

# %%
reference = numpy_from_torch(torch_lstm)          # float64 dicts with the conventions' keys
params_np = reference.params_list[0]
print("numpy reference keys:", list(params_np))
h_ref, _, _ = lstm_forward(x.numpy(), np.zeros((B, H)), np.zeros((B, H)), params_np)
ours = from_torch(torch_lstm)                     # rnncourse.torch_cells.LSTM, weights copied
with torch.no_grad():
    out_ours, _ = ours(x)
reference_diff = float(np.abs(h_ref - out_torch.numpy()).max())
ours_diff = float((out_ours - out_torch).abs().max())
print(f"numpy reference vs torch.nn.LSTM: {reference_diff:.1e}; "
      f"rnncourse.torch_cells.LSTM vs torch.nn.LSTM: {ours_diff:.1e}")
assert reference_diff < 1e-12 and ours_diff < 1e-12
findings["lstm_equals_torch"] = {"by_hand": lstm_by_hand_diff, "numpy_reference": reference_diff,
                                 "torch_cells": ours_diff}

# %% [markdown]
# ## The GRU, and its two forms
#
# The **gated recurrent unit** (Cho et al. 2014) has no separate cell: one **update gate** $z_t$
# interpolates between the old state and a candidate $n_t$, and a **reset gate** $r_t$ decides
# how much of the old state the candidate may use. Two gates instead of three, three weight
# blocks instead of four.
#
# | equation | meaning |
# |---|---|
# | $r_t = \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r)$ | reset gate |
# | $z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z)$ | update gate ($z = 1$ keeps the old state) |
# | seed form (Cho et al.): $n_t = \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n)$ | reset the state, *then* multiply |
# | torch form: $n_t = \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$ | multiply, *then* reset the product |
# | $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$ | interpolate |
#
# `torch.nn.GRU` (and cuDNN) use the second form: the product $W_{hn} h_{t-1}$ no longer depends
# on $r_t$, so all three recurrent products can be computed in one matrix multiply. It also
# keeps a bias $b_{hn}$ *inside* the reset, which cannot be merged with $b_n$. (Some papers,
# e.g. Chung et al. 2014, swap the roles of $z$ and $1 - z$; that is the same model with the
# update gate's weights negated.) Both forms, by hand, on the weights of one `torch.nn.GRU`:

# %%
torch.manual_seed(SEED)
torch_gru = torch.nn.GRU(I, H, dtype=torch.float64)
with torch.no_grad():
    out_gru, _ = torch_gru(x)
W_xr, W_xz, W_xn = np.split(torch_gru.weight_ih_l0.detach().numpy(), 3)  # torch order r, z, n
W_hr, W_hz, W_hn = np.split(torch_gru.weight_hh_l0.detach().numpy(), 3)
b_ir, b_iz, b_in = np.split(torch_gru.bias_ih_l0.detach().numpy(), 3)
b_hr, b_hz, b_hn = np.split(torch_gru.bias_hh_l0.detach().numpy(), 3)
b_r, b_z, b_n = b_ir + b_hr, b_iz + b_hz, b_in  # b_hn stays apart


def gru_by_hand(x, form):
    h, states = np.zeros((x.shape[1], W_hr.shape[0])), []
    for x_t in x:
        r = sigmoid(x_t @ W_xr.T + h @ W_hr.T + b_r)              # r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)
        z = sigmoid(x_t @ W_xz.T + h @ W_hz.T + b_z)              # z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)
        if form == "torch":
            n = np.tanh(x_t @ W_xn.T + b_n + r * (h @ W_hn.T + b_hn))  # n_t, torch form
        else:
            n = np.tanh(x_t @ W_xn.T + (r * h) @ W_hn.T + b_n)     # n_t, seed form (Cho et al.)
        h = (1 - z) * n + z * h                                   # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
        states.append(h)
    return np.stack(states)


torch_form_diff = float(np.abs(gru_by_hand(x.numpy(), "torch") - out_gru.numpy()).max())
seed_form_diff = float(np.abs(gru_by_hand(x.numpy(), "seed") - out_gru.numpy()).max())
print(f"torch form by hand vs torch.nn.GRU: {torch_form_diff:.1e}")
print(f"seed form by hand vs torch.nn.GRU:  {seed_form_diff:.3f}  (same weights, different model)")
assert torch_form_diff < 1e-12 and seed_form_diff > 1e-3
# the reference's function computes the same number (it drops b_hn for the seed form, as we did)
gru_params = numpy_from_torch(torch_gru).params_list[0]
assert abs(gru_forms_difference(x.numpy(), np.zeros((B, H)), gru_params) - seed_form_diff) < 1e-12

# %% [markdown]
# How different are the two forms? $r \odot (W_{hn} h)$ scales each unit's *summed* recurrent
# input; $W_{hn}(r \odot h)$ scales each *source* unit before the sum. They agree exactly when
# $W_{hn}$ is diagonal (then both are $r_j w_{jj} h_j$), and drift apart as the off-diagonal
# weights grow. `gru_forms_difference` measures the largest $|h^{\text{torch}}_t - h^{\text{seed}}_t|$
# over a sequence ($T = 50$, $H = 16$, $b_{hn} = 0$ so that only the placement of the reset
# differs), for $W_{hn}$ scaled by a factor:

# %%
rng = np.random.default_rng(SEED)
xs = rng.normal(size=(50, 4, 5))
base = init_gru_params(5, 16, SEED)
base["b_hn"] = np.zeros(16)
h0 = np.zeros((4, 16))
form_gaps = {}
for scale in [0.0, 0.5, 1.0, 2.0, 4.0]:
    scaled = dict(base, W_hn=scale * base["W_hn"])
    form_gaps[f"{scale:g}"] = gru_forms_difference(xs, h0, scaled)
diagonal = dict(base, W_hn=4.0 * np.diag(np.diag(base["W_hn"])) + np.eye(16))
diagonal_gap = gru_forms_difference(xs, h0, diagonal)
for scale, gap in form_gaps.items():
    print(f"W_hn × {scale:<3}: max |h_torch - h_seed| = {gap:.4f}")
print(f"diagonal W_hn: {diagonal_gap:.1e}")
assert form_gaps["0"] < 1e-15 and diagonal_gap < 1e-12
assert form_gaps["4"] > form_gaps["1"] > form_gaps["0.5"] > 1e-3
findings["gru_forms"] = {"torch_form_vs_torch_nn": torch_form_diff,
                         "seed_form_vs_torch_nn": seed_form_diff,
                         "gap_by_W_hn_scale": form_gaps, "diagonal_W_hn_gap": diagonal_gap}

# %% [markdown]
# The two forms are different functions of the same weights: weights trained in one form do not
# carry over to the other, and a GRU "from the paper" and a `torch.nn.GRU` with the same numbers
# in them compute different things. Frameworks chose the torch form for speed. The exercise at
# the end asks for the torch form, and the check recognises the seed form when you write it by
# mistake.
#
# ## Counting parameters
#
# A cell with $G$ weight blocks ($G = 1$ for the RNN, 3 for the GRU, 4 for the LSTM), input size
# $I$ and hidden size $H$ has, per layer and direction,
#
# $$\underbrace{G H I}_{W_{x\cdot}} + \underbrace{G H^2}_{W_{h\cdot}} +
# \underbrace{2 G H}_{\texttt{bias\_ih},\ \texttt{bias\_hh}} .$$
#
# A stack of $L$ layers with $D$ directions ($D = 2$ bidirectional) repeats this $D$ times per
# layer, and every layer after the first reads the $D H$ features of the layer below:
#
# $$N = D\,\big[\,G H (I + H) + 2GH \;+\; (L - 1)\,(G H (DH + H) + 2GH)\,\big].$$
#
# torch's two bias vectors are redundant (only their sum matters, except the GRU's $b_{hn}$):
# the numpy reference merges them and has $GH$ fewer per layer and direction (plus $H$ for the
# GRU's $b_{hn}$). `variants.param_count` is the formula; below it is checked against
# `torch.nn` for every cell and shape, and the merged count against the numpy reference's dicts.

# %%
rows = []
for cell, module in [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
    for layers, bidirectional, bias in [(1, False, True), (2, False, True), (1, True, True),
                                        (3, True, True), (2, True, False)]:
        net = module(10, 32, num_layers=layers, bidirectional=bidirectional, bias=bias)
        formula = variants.param_count(cell, 10, 32, layers, bidirectional, bias)
        counted = count_parameters(net)
        merged = variants.param_count(cell, 10, 32, layers, bidirectional, bias, biases="merged")
        in_reference = sum(a.size for p in numpy_from_torch(net).params_list for a in p.values())
        assert formula == counted and merged == in_reference, (cell, layers, bidirectional)
        rows.append({"cell": cell, "layers": layers, "bidirectional": bidirectional,
                     "bias": bias, "formula": formula, "torch.nn": counted,
                     "numpy reference": in_reference})
print(f"{'cell':<5} {'L':>2} {'bidir':>6} {'bias':>5} {'formula':>8} {'torch.nn':>9} "
      f"{'numpy ref':>10}   (I = 10, H = 32)")
for r in rows:
    print(f"{r['cell']:<5} {r['layers']:>2} {str(r['bidirectional']):>6} {str(r['bias']):>5} "
          f"{r['formula']:>8} {r['torch.nn']:>9} {r['numpy reference']:>10}")
one = {r["cell"]: r["formula"] for r in rows if r["layers"] == 1 and not r["bidirectional"]}
print(f"one layer: LSTM / RNN = {one['lstm'] / one['rnn']:.0f}, GRU / RNN = "
      f"{one['gru'] / one['rnn']:.0f}")
assert one["lstm"] == 4 * one["rnn"] and one["gru"] == 3 * one["rnn"]
findings["parameter_counts"] = rows

# %% [markdown]
# At the same $H$ an LSTM costs 4 times and a GRU 3 times a plain RNN. Comparisons between cells
# are fair only at a matched *parameter* budget: `variants.matched_hidden_size` finds the $H$
# whose count, head included, is closest to a target. We use it below.
#
# ## Gates at work: remembering a marked value
#
# A task where gating matters. Each step brings a value in $[-1, 1]$ and a marker bit; about one
# step in twelve is marked. At *every* step the network must output the value of the most recent
# marked step (0 before the first). It has to **write** at a marker, **keep** the value unchanged
# through the unmarked steps, and **erase** it at the next marker: exactly what the input and
# forget gates are for. We train an LSTM with $H = 8$ (393 parameters, forget bias initialised to
# 1) and, for comparison, a tanh RNN with the same number of parameters, on the same batches.

# %%
setting = variants.MARKED_VALUE_DEFAULTS
lstm_run = variants.train_marked_value("lstm", seed=SEED, progress="LSTM, marked value")
rnn_h = variants.matched_hidden_size(lstm_run.n_params, "rnn", 2)
rnn_run = variants.train_marked_value("rnn", hidden_size=rnn_h, forget_bias=None, seed=SEED,
                                     progress="tanh RNN, marked value")
test_x, test_y = variants.marked_value_test_set(setting["T"], p=setting["p"])
zero_mse = float((test_y ** 2).mean())
print(f"predicting 0: test MSE {zero_mse:.3f}")
for name, run in [("LSTM, H = 8", lstm_run), (f"tanh RNN, H = {rnn_h}", rnn_run)]:
    print(f"{name:<16} {run.n_params} parameters, {run.steps} steps in {run.seconds:.1f} s: "
          f"test MSE {run.final_eval:.4f}")
assert lstm_run.n_params == 393 and lstm_run.final_eval < 0.01
assert rnn_run.final_eval > 10 * lstm_run.final_eval
assert abs(rnn_run.n_params - lstm_run.n_params) < 0.1 * lstm_run.n_params
findings["marked_value"] = {"setting": dict(setting), "zero_mse": zero_mse,
                           "lstm": {"n_params": lstm_run.n_params, "test_mse": lstm_run.final_eval,
                                    "seconds": lstm_run.seconds},
                           "rnn": {"hidden_size": rnn_h, "n_params": rnn_run.n_params,
                                   "test_mse": rnn_run.final_eval, "seconds": rnn_run.seconds}}

# %% [markdown]
# To look inside, the trained weights are converted to float64 numpy dicts
# (`variants.lstm_arrays`, which uses `numpy_from_torch`) and run through the numpy reference
# `lstm_forward`, whose cache keeps every gate at every step. First, check that the reference
# reproduces the trained torch model; then compare the gates at marked and unmarked steps:

# %%
params, head = variants.lstm_arrays(lstm_run.model)
trace = variants.gate_trace(params, head, test_x)             # numpy, float64
with torch.no_grad():
    torch_prediction = lstm_run.model(test_x).numpy()          # torch, float32
prediction_gap = float(np.abs(trace.prediction - torch_prediction).max())
print(f"numpy reference vs the trained torch model on {test_x.shape[1]} sequences: "
      f"max |Δy| = {prediction_gap:.1e} (float32 rounding); test MSE {trace.mse(test_y):.4f}")
assert prediction_gap < 1e-4

marked = test_x[..., 1].numpy() > 0                  # (T, N): which steps carry a marker
f_units, i_units = trace.f.mean(axis=2), trace.i.mean(axis=2)  # mean over the 8 units
gate_means = {"f_marked": float(f_units[marked].mean()), "f_unmarked": float(f_units[~marked].mean()),
              "i_marked": float(i_units[marked].mean()), "i_unmarked": float(i_units[~marked].mean())}
print(f"forget gate: {gate_means['f_marked']:.2f} at marked steps, {gate_means['f_unmarked']:.2f} "
      f"elsewhere; input gate: {gate_means['i_marked']:.2f} at marked steps, "
      f"{gate_means['i_unmarked']:.2f} elsewhere")
assert gate_means["f_marked"] < gate_means["f_unmarked"] - 0.2   # erase at a marker
assert gate_means["i_marked"] > gate_means["i_unmarked"] + 0.15  # write at a marker
findings["marked_value"]["gate_means"] = gate_means

# %% [markdown]
# ## The gates explorer
#
# One test sequence at a time. Top: the input values (grey), the marked steps (red diamonds),
# the target (green steps) and the LSTM's prediction (blue dots). Below, one heatmap per
# quantity, one row per unit, time left to right: the forget gate $f_t$, the input gate $i_t$,
# the output gate $o_t$ (yellow = open, 1; dark = closed, 0), the cell state $c_t$ and the
# hidden state $h_t$. The slider *adds* a shift to every unit's trained forget bias $b_f$;
# 0 is the trained model.
#
# Things to try:
# - Find the marked steps in the $f_t$ and $i_t$ rows: at a marker the forget gate closes (the
#   old value is erased) and the input gate opens (the new one is written), in most units at
#   once. Between markers the gates settle to a steady pattern.
# - Step through the examples: the pattern is the same whatever the values are.
# - Shift the forget bias up (+2, +4): $f_t$ turns yellow, the old value is never erased, and
#   the cell *accumulates* every write: watch "largest |c_t|" and the prediction drift away.
#   That is Gers et al.'s (2000) observation: without a working forget gate the cell grows
#   without bound.
# - Shift it down (−2, −4): $f_t$ turns dark and the network forgets within a step or two; the
#   prediction decays towards 0 soon after each marker.

# %%
examples_x, examples_y = variants.marked_value_test_set(setting["T"], 8, seed=7, p=setting["p"])
# the first live figure of the lesson takes a few seconds to build (plotly's widget loads once)
with tqdm(total=1, desc="gates explorer: gate traces of 8 examples, live figure") as bar:
    explorer = GatesExplorer.from_model(lstm_run.model, examples_x, examples_y,
                                        title="LSTM (H = 8) trained on the marked-value task")
    bar.update(1)
display(explorer)

# %% [markdown]
# The course's tests drive the explorer as you do, by setting a control and reading what it
# drew: raising the forget bias raises the mean forget gate shown.

# %%
f_trained = explorer.trace.f.mean()
explorer.forget_bias.value = 4.0
f_raised, c_raised = explorer.trace.f.mean(), np.abs(explorer.trace.c).max()
explorer.forget_bias.value = 0.0
print(f"mean forget gate on this example: {f_trained:.3f} trained, {f_raised:.3f} with b_f + 4 "
      f"(largest |c_t| {c_raised:.2f})")
assert f_raised > f_trained + 0.2

# %% [markdown]
# The same sweep on all 500 test sequences, measured: for each shift, the mean forget gate, the
# test MSE and the largest cell value.

# %%
sweep = []
for shift in [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 6.0]:
    t = variants.gate_trace(params, head, test_x, shift)
    sweep.append({"shift": shift, "mean_f": float(t.f.mean()), "mse": t.mse(test_y),
                  "max_abs_c": float(np.abs(t.c).max())})
    print(f"b_f {shift:+.0f}: mean f = {t.f.mean():.3f}, test MSE = {t.mse(test_y):.4f}, "
          f"largest |c| = {np.abs(t.c).max():.2f}")
by_shift = {row["shift"]: row for row in sweep}
assert all(a["mean_f"] < b["mean_f"] for a, b in zip(sweep, sweep[1:]))
assert min(sweep, key=lambda row: row["mse"])["shift"] == 0.0
assert by_shift[-2.0]["mse"] > 10 * by_shift[0.0]["mse"]  # forgetting too fast ...
assert by_shift[2.0]["mse"] > 10 * by_shift[0.0]["mse"]   # ... or never erasing
assert by_shift[6.0]["max_abs_c"] > 3 * by_shift[0.0]["max_abs_c"]
findings["forget_bias_sweep"] = sweep

# %% [markdown]
# The trained forget bias is a balance: lower it and the memory leaks away, raise it and old
# values are never erased and the cell keeps growing. Training found the balance; the forget-bias
# *initialisation* of 1 (Jozefowicz et al. 2015; Keras's `unit_forget_bias`) only chooses where
# the search starts, near "remember by default".
#
# ## Deep and bidirectional networks: shapes and the layout of `h_n`
#
# **Deep**: `num_layers=L` stacks $L$ recurrent layers; layer $k > 0$ reads the outputs
# $h^{(k-1)}_1, \dots, h^{(k-1)}_T$ of the layer below as its inputs. **Bidirectional**: each
# layer runs twice, once left to right and once right to left, each direction with its own
# weights (`_reverse` in the names), and the two outputs are concatenated, so the layer above
# sees $D H$ features. With `x` of shape $(T, B, I)$, `torch.nn` returns
#
# - `output`: $(T, B, D H)$, the **top** layer's states at every step, `[forward, reverse]`,
#   both in forward time order;
# - `h_n` (and `c_n` for the LSTM): $(L D, B, H)$, the **final** state of each layer and
#   direction, index `layer * D + direction`: 0 = layer 0 forward, 1 = layer 0 reverse,
#   2 = layer 1 forward, ... `h_n.view(L, D, B, H)` makes the two indices explicit.
#
# "Final" means final *for that direction*: the reverse direction finishes at $t = 0$. So
# `output[-1]` holds the forward direction's final state but the reverse direction's *first*
# state (it has read only $x_{T-1}$). Concretely, for $L = 2$, $D = 2$:

# %%
L, D = 2, 2
torch.manual_seed(SEED)
deep = torch.nn.LSTM(I, H, num_layers=L, bidirectional=True, dtype=torch.float64)
with torch.no_grad():
    output, (h_n, c_n) = deep(x)
print(f"x {tuple(x.shape)} -> output {tuple(output.shape)}, h_n {tuple(h_n.shape)}, "
      f"c_n {tuple(c_n.shape)}")
for name, p in deep.named_parameters():
    if name.startswith("weight_ih"):
        print(f"  {name:<22} {tuple(p.shape)}")
assert output.shape == (T, B, D * H) and h_n.shape == c_n.shape == (L * D, B, H)
assert deep.weight_ih_l1.shape == (4 * H, D * H)  # layer 1 reads both directions of layer 0

top_forward, top_reverse = h_n.view(L, D, B, H)[L - 1]     # = h_n[2], h_n[3]
assert torch.equal(top_forward, h_n[2]) and torch.equal(top_reverse, h_n[3])
assert torch.equal(output[-1, :, :H], top_forward)   # forward: final state at the last step
assert torch.equal(output[0, :, H:], top_reverse)    # reverse: final state at the FIRST step
reverse_gap = float((output[-1, :, H:] - top_reverse).abs().max())
print(f"output[-1, :, H:] vs h_n[3] (reverse half at the last step vs its final state): "
      f"differ by up to {reverse_gap:.3f}")
assert reverse_gap > 1e-2

# %% [markdown]
# `h_n[0]` and `h_n[1]` belong to layer 0, whose outputs never appear in `output`. To see them,
# run layer 0 alone with the same weights: its final states are `h_n[0]` and `h_n[1]`, and its
# output, fed to layer 1 alone, reproduces `output`. The numpy reference (`np_layers`, through
# `numpy_from_torch`) computes the whole stack the same way.

# %%
weights = deep.state_dict()
layer0 = torch.nn.LSTM(I, H, bidirectional=True, dtype=torch.float64)
layer1 = torch.nn.LSTM(D * H, H, bidirectional=True, dtype=torch.float64)
layer0.load_state_dict({k: v for k, v in weights.items() if "_l0" in k})
layer1.load_state_dict({k.replace("_l1", "_l0"): v for k, v in weights.items() if "_l1" in k})
with torch.no_grad():
    out0, (h0_n, _) = layer0(x)
    out1, (h1_n, _) = layer1(out0)
assert torch.equal(out0[-1, :, :H], h_n[0]) and torch.equal(out0[0, :, H:], h_n[1])
assert torch.allclose(out1, output, atol=1e-14) and torch.allclose(h1_n, h_n[2:], atol=1e-14)
out_np, (h_n_np, c_n_np) = numpy_from_torch(deep)(x.numpy())
stack_gap = float(max(np.abs(out_np - output.numpy()).max(), np.abs(h_n_np - h_n.numpy()).max()))
print(f"layer by layer = the stack; numpy reference vs torch.nn: {stack_gap:.1e}")
assert stack_gap < 1e-12
findings["h_n_layout"] = {"num_layers": L, "directions": D, "reverse_half_vs_h_n": reverse_gap,
                          "numpy_vs_torch": stack_gap}

# %% [markdown]
# For a one-label-per-sequence model, use `h_n`, not `output[-1]`: the course's
# `SequenceRegressor` concatenates `h_n[-D:]`, the top layer's final state in each direction.
#
# ## When the answer depends on the future
#
# A per-step task that a left-to-right reader cannot solve: inputs $x_t \sim U[-1, 1]$, target
# the **centred moving average** $y_t = (x_{t-2} + \dots + x_{t+2}) / 5$. At step $t$ a
# one-directional model has not seen $x_{t+1}$ and $x_{t+2}$; the best it can do is the known
# part, and each missing term leaves variance $\tfrac13 / 25$. Averaged over $T = 20$ steps that
# is a floor of $\approx 0.025$ on its MSE (`variants.window_average_floor`, exact for this
# task). A bidirectional model reads the future through its reverse direction and can reach 0.
# Both are LSTMs with a linear read-out at every step, about 1,240 parameters each
# (one direction with $H = 16$, two with the matched $H$), the same batches, steps and learning
# rate.

# %%
T_avg, k = 20, 2
floor = variants.window_average_floor(T_avg, k)
avg_x, avg_y = variants.window_average_test_set(T_avg, half_width=k)
uni_h = 16
budget = variants.model_param_count("lstm", 1, uni_h, 1)
bi_h = variants.matched_hidden_size(budget, "lstm", 1, bidirectional=True)
runs = {}
for name, hidden, bidirectional in [("one direction", uni_h, False), ("bidirectional", bi_h, True)]:
    # the course's training loop: 300 steps, batches of 32, Adam at 1e-2, clipping at 1
    runs[name] = variants.train_window_average("lstm", hidden_size=hidden,
                                               bidirectional=bidirectional, T=T_avg,
                                               half_width=k, seed=SEED)
    assert runs[name].n_params == variants.model_param_count("lstm", 1, hidden, 1,
                                                             bidirectional=bidirectional)
uni, bi = runs["one direction"], runs["bidirectional"]
print(f"causal floor {floor:.4f}; predicting 0: {float((avg_y ** 2).mean()):.4f}")
for name, run in runs.items():
    print(f"{name:<14} {run.n_params} parameters, {run.seconds:.1f} s: test MSE "
          f"{run.final_eval:.5f} ({run.final_eval / floor:.3f} × the floor)")
assert uni.final_eval > 0.9 * floor and bi.final_eval < 0.2 * floor
assert abs(bi.n_params - uni.n_params) < 0.05 * uni.n_params

with torch.no_grad():
    per_step = {name: ((run.model(avg_x) - avg_y) ** 2).mean(dim=(1, 2)).numpy()
                for name, run in runs.items()}
future = np.minimum(k, T_avg - 1 - np.arange(T_avg))
uni_steps = per_step["one direction"]
on_floor = float(uni_steps[:T_avg - k].mean())       # steps with k future terms still unseen
print(f"one direction: MSE {on_floor:.4f} over steps 0..{T_avg - k - 1} (floor there "
      f"{1 / 3 * k / (2 * k + 1) ** 2:.4f}), {uni_steps[-1]:.4f} at the last step")
assert abs(on_floor / (k / 3 / (2 * k + 1) ** 2) - 1) < 0.1 and uni_steps[-1] < 0.25 * on_floor
fig = figstyle.figure([go.Scatter(y=future / 3 / (2 * k + 1) ** 2, name="causal floor",
                                  line=dict(dash="dash", color=figstyle.GREY))]
                      + [go.Scatter(y=err, name=name, mode="lines+markers")
                         for name, err in per_step.items()],
                      xaxis_title="time step t", yaxis_title="test MSE at step t",
                      title="the one-directional model sits on the floor until the future runs out")
fig.show()
findings["bidirectional_task"] = {
    "task": "centred moving average", "T": T_avg, "half_width": k, "causal_floor": floor,
    "one_direction": {"hidden_size": uni_h, "n_params": uni.n_params, "test_mse": uni.final_eval,
                      "seconds": uni.seconds},
    "bidirectional": {"hidden_size": bi_h, "n_params": bi.n_params, "test_mse": bi.final_eval,
                      "seconds": bi.seconds}}

# %% [markdown]
# The one-directional model's error follows the floor step by step and drops only at the last
# two steps, where the window runs past the end of the sequence and there is no future left to
# miss. A bidirectional model is for tasks where the whole sequence is available before any
# output is needed: tagging, classification, the encoder of a translation model (lesson 7). It
# cannot generate text or forecast, where the future is exactly what is unknown.
#
# ## Exercise 1: one LSTM step
#
# Write `my_lstm_step_forward(x, h_prev, c_prev, params)`: `x` is $(B, I)$, `h_prev` and
# `c_prev` are $(B, H)$, `params` has the keys `W_xk` $(H, I)$, `W_hk` $(H, H)$ and `b_k`
# $(H,)$ for each gate `k` in `i, f, g, o`. Return `(h_next, c_next, cache)`, where `cache` holds
# whatever a backward step would need (the four gates, at least; the check reads only `h_next`
# and `c_next`). The table at the top of the lesson has every line. Replace the `raise` with your code and run the cell; the check says
# "not implemented yet" for the stub, and what is off otherwise.

# %%
def my_lstm_step_forward(x, h_prev, c_prev, params):
    # Your code here: the four gates, then c_next, then h_next.
    raise NotImplementedError


check.lstm_step_forward(my_lstm_step_forward)

# %% [markdown]
# The check recognises the common slips. A classic one: $h_t = o_t \odot c_t$, forgetting the
# $\tanh$ on the cell state (the cell is right, so only `h_next` differs):

# %%
def tanh_forgotten_lstm_step(x, h_prev, c_prev, params):
    def gate(k, act):
        return act(x @ params[f"W_x{k}"].T + h_prev @ params[f"W_h{k}"].T + params[f"b_{k}"])
    i, f, g, o = gate("i", sigmoid), gate("f", sigmoid), gate("g", np.tanh), gate("o", sigmoid)
    c_next = f * c_prev + i * g
    return o * c_next, c_next, {"i": i, "f": f, "g": g, "o": o}


verdict = check.lstm_step_forward(tanh_forgotten_lstm_step)
display(verdict)
assert not verdict.passed and verdict.details["mistake"] == "no_tanh_c"
assert "tanh" in verdict.message
assert check.lstm_step_forward(lstm_step_forward).passed  # the reference passes its own check

# %% [markdown]
# ## Exercise 1b: back through one LSTM step
#
# Write `my_lstm_step_backward(dh_next, dc_next, cache)` for the course's `lstm_step_forward`
# (its cache holds `x, h_prev, c_prev, c_next, i, f, g, o, tanh_c, params`). `dc_next` is the
# cell-state gradient from later steps; $c_t$ also reaches the loss through
# $h_t = o_t \odot \tanh(c_t)$, so $\delta c_t = \delta c_{\text{next}} +
# \delta h_t \odot o_t \odot (1 - \tanh^2 c_t)$. Return `(dx, dh_prev, dc_prev, grads)`.

# %%
def my_lstm_step_backward(dh_next, dc_next, cache):
    # Your code here: dc, then each gate's d(pre-activation), then the products.
    raise NotImplementedError


check.lstm_step_backward(my_lstm_step_backward)

# %%
from rnncourse.np_lstm import lstm_step_backward

assert check.lstm_step_backward(lstm_step_backward).passed  # the reference passes its own check

# %% [markdown]
# ## Exercise 1c: back through time in an LSTM
#
# Write `my_lstm_backward(dh, cache)` for the course's `lstm_forward`: `dh` $(T, B, H)$ is the
# loss's direct gradient at every $h_t$; the cache holds `x`, `h0`, `c0`, `h`, `c`, `tanh_c`,
# `gates` (a dict of `i, f, g, o`, each $(T, B, H)$) and `params`. Loop from $t = T-1$ down to
# 0 and carry **two** gradients back: `dh_carry` into $h_{t-1}$ and `dc_carry` into $c_{t-1}$
# (the step backward's `dc_prev`, the cell's long path). Step $t$'s previous states are
# `h[t-1]`, `c[t-1]`, except at $t = 0$, where they are `h0` and `c0` (numpy's `c[-1]` is the
# *last* step). Return `(dx, dh0, dc0, grads)`, the weight gradients summed over time. You may
# call `lstm_step_backward` on a step cache you rebuild from the sequence cache.
# `check.show_solution("lstm_backward")` shows the course's version once you have tried.

# %%
def my_lstm_backward(dh, cache):
    # Your code here: for t = T-1 .. 0, one step backward with (dh[t] + dh_carry, dc_carry).
    raise NotImplementedError


check.lstm_backward(my_lstm_backward)

# %%
from rnncourse.np_lstm import lstm_backward

assert check.lstm_backward(lstm_backward).passed  # the reference passes its own check

# %% [markdown]
# ## Exercise 2: one GRU step, torch form
#
# Write `my_gru_step_forward(x, h_prev, params)`: `params` has `W_xk`, `W_hk`, `b_k` for `k` in
# `r, z, n` and `b_hn` $(H,)$; use the **torch form**,
# $n_t = \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$, and
# $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$. Return `(h_next, cache)`.

# %%
def my_gru_step_forward(x, h_prev, params):
    # Your code here: r and z, then the candidate n, then h_next.
    raise NotImplementedError


check.gru_step_forward(my_gru_step_forward)

# %% [markdown]
# Writing the seed form of Cho et al., the other correct GRU, is the mistake this check is most
# likely to meet; it says so:

# %%
def seed_form_gru_step(x, h_prev, params):
    def gate(k):
        return sigmoid(x @ params[f"W_x{k}"].T + h_prev @ params[f"W_h{k}"].T + params[f"b_{k}"])
    r, z = gate("r"), gate("z")
    n = np.tanh(x @ params["W_xn"].T + (r * h_prev) @ params["W_hn"].T + params["b_n"])
    return (1 - z) * n + z * h_prev, {"r": r, "z": z, "n": n}


verdict = check.gru_step_forward(seed_form_gru_step)
display(verdict)
assert not verdict.passed and verdict.details["mistake"] == "seed_form"
assert "seed form" in verdict.message
assert check.gru_step_forward(gru_step_forward).passed  # the reference passes its own check

# %% [markdown]
# ## Exercise 2b: back through one GRU step
#
# Write `my_gru_step_backward(dh_next, cache)` for the torch form (the cache of
# `gru_step_forward` holds `x, h_prev, r, z, n, hn, params, form`, with
# `hn = h_prev @ W_hn.T + b_hn`, the product the reset gate scales). Remember the direct path:
# $h_{t-1}$ enters $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$ itself. Return
# `(dx, dh_prev, grads)`, `grads` with `b_hn` too.

# %%
def my_gru_step_backward(dh_next, cache):
    # Your code here: dn, dz and the direct path, then through tanh and the sigmoids.
    raise NotImplementedError


check.gru_step_backward(my_gru_step_backward)

# %%
from rnncourse.np_gru import gru_step_backward

assert check.gru_step_backward(gru_step_backward).passed  # the reference passes its own check

# %% [markdown]
# ## What this lesson measured
#
# The numbers above are saved for lesson 8, which compiles every lesson's findings.

# %%
path = save_result("03_variants", "variants", findings)
print(f"saved {len(findings)} groups of measurements to {path}")

# %% [markdown]
# **Next:** lesson 4 follows the gradient back through time and shows why the LSTM's additive
# cell keeps it alive where the plain RNN loses it.

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
