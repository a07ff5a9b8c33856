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
# # Lesson 7 · Bidirectional models, attention, seq2seq and hybrids
#
# Up to now one recurrent network read a sequence left to right and answered from its last
# state. This lesson changes each of those three choices:
# reading in **both directions**, producing a **sequence** instead of one answer, and letting
# the answer **look back** at every input state instead of one summary vector (attention). At
# the end, a **convolution** in front of the recurrence cuts the number of sequential steps.
#
# By the end of this lesson you will have
# 1. measured what each half of a bidirectional state can see,
# 2. written down additive and multiplicative attention and checked their three defining
#    properties (weights sum to one, padding gets zero weight, the context is the weighted sum),
# 3. trained encoder-decoders with and without attention on digit reversal and date
#    normalisation with the same budget, and seen attention win: by a wide margin on reversal,
#    by learning twice as fast on dates,
# 4. read the learned alignments in an interactive heatmap, and checked that they are the ones
#    the tasks imply,
# 5. timed a CNN+RNN hybrid against a plain GRU,
# 6. a pointer to lesson 7b, where the network writes to a memory of its own.
#
# Everything trains on the CPU in well under a minute.

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

from rnncourse import attention, figstyle, hybrid, seq2seq
from rnncourse.explorers.attention import AttentionExplorer, alignment_figure
from rnncourse.results import save_result
from rnncourse.threads import set_threads

set_threads()  # one torch thread: small recurrent models are latency-bound
figstyle.use()  # the course's figure style for every plot below
SEED = 0
findings = {}  # every number this lesson measures, saved at the end for lesson 8

# %% [markdown]
# ## Bidirectional RNNs
#
# A forward RNN's state $\overrightarrow{h}_t$ summarises $x_1, \dots, x_t$; a second RNN run
# right to left gives $\overleftarrow{h}_t$, a summary of $x_t, \dots, x_T$. A bidirectional RNN
# (Schuster & Paliwal 1997) keeps both, with separate weights, and concatenates them:
#
# $$\overrightarrow{h}_t = f\big(\overrightarrow{W}_{hh}\,\overrightarrow{h}_{t-1} + \overrightarrow{W}_{xh}\,x_t + \overrightarrow{b}_h\big),\qquad
# \overleftarrow{h}_t = f\big(\overleftarrow{W}_{hh}\,\overleftarrow{h}_{t+1} + \overleftarrow{W}_{xh}\,x_t + \overleftarrow{b}_h\big),\qquad
# h_t = \big[\overrightarrow{h}_t;\ \overleftarrow{h}_t\big].$$
#
# So $h_t$ depends on the *whole* input, and most on the neighbourhood of $t$: the right
# representation of "the token at position $t$ in its context". It cannot be used where the
# future is not known yet (generating text, online prediction), which is why the decoders
# below stay one-directional.
#
# The claim "each half sees one side" is a statement about the Jacobian
# $\partial h_t / \partial x_j$: the forward half must have $\partial \overrightarrow{h}_t / \partial x_j = 0$
# for $j > t$, the backward half $\partial \overleftarrow{h}_t / \partial x_j = 0$ for $j < t$.
# Measured on a random bidirectional GRU ($T = 10$, $H = 8$ per direction):

# %%
torch.manual_seed(SEED)
bigru = torch.nn.GRU(3, 8, bidirectional=True)
x = torch.randn(10, 1, 3)
jac = torch.autograd.functional.jacobian(lambda inp: bigru(inp)[0][:, 0, :], x)  # (t, 16, j, 1, 3)
sens = jac[:, :, :, 0, :].abs().sum(dim=-1)                                    # (t, unit, j)
forward_sens, backward_sens = sens[:, :8].sum(dim=1), sens[:, 8:].sum(dim=1)   # (t, j)
future = torch.triu(torch.ones(10, 10, dtype=torch.bool), diagonal=1)          # j > t
assert forward_sens[future].max() == 0 and backward_sens[future.T].max() == 0
assert forward_sens[~future].min() > 0 and backward_sens[~future.T].min() > 0
print(f"forward half: |dh_t/dx_j| = 0 for all j > t, > 0 for j <= t (min {forward_sens[~future].min():.1e}); "
      f"backward half: the mirror image")

fig = figstyle.subplots(1, 2, subplot_titles=("forward half: |∂h→_t/∂x_j|",
                                              "backward half: |∂h←_t/∂x_j|"))
for col, s in ((1, forward_sens), (2, backward_sens)):
    fig.add_heatmap(z=np.log10(s.numpy() + 1e-12), zmin=-4, zmax=0.5, colorscale="Viridis",
                    showscale=col == 2, colorbar=figstyle.colorbar(fig, 1, 2, title="log10"),
                    row=1, col=col)
fig.update_xaxes(title_text="input position j")
fig.update_yaxes(title_text="state t", autorange="reversed")
fig.show()

# %% [markdown]
# The influence of $x_j$ also fades with the distance $|t - j|$ (the colours darken away from
# the diagonal): lesson 4's vanishing gradients, now in both directions.
#
# ## Attention
#
# A classic encoder-decoder (Cho et al. 2014; Sutskever et al. 2014) squeezes the whole source
# into one vector and asks the decoder to unpack it: the longer the source, the worse it gets.
# Attention (Bahdanau, Cho & Bengio 2015) keeps every encoder state $h_1, \dots, h_S$ and lets
# the decoder, at each output step $t$, take a fresh weighted average of them. With the decoder
# state $s$ as the **query**:
#
# $$e_{t,i} = \operatorname{score}(s_{t-1}, h_i), \qquad
# \alpha_{t,i} = \frac{\exp(e_{t,i})}{\sum_{j=1}^{S} \exp(e_{t,j})}, \qquad
# c_t = \sum_{i=1}^{S} \alpha_{t,i}\, h_i .$$
#
# The weights are positive and sum to one over the source: $\alpha_{t,\cdot}$ is a
# distribution over positions, the **alignment**, and $c_t$ the **context**. Three scores:
#
# | score | $e_{t,i}$ | parameters |
# |---|---|---|
# | additive (Bahdanau) | $v^\top \tanh(W s_{t-1} + U h_i)$ | $W \in \mathbb{R}^{A\times Q}$, $U \in \mathbb{R}^{A\times K}$, $v \in \mathbb{R}^{A}$ |
# | dot (Luong) | $s^\top h_i$ | none, needs $Q = K$ |
# | general (Luong) | $s^\top W_a h_i$ | $W_a \in \mathbb{R}^{Q \times K}$ |
#
# In a batch, sequences of different lengths are padded; padded positions must get exactly zero
# weight, which is done by setting their score to $-\infty$ before the softmax. Then a padded
# sequence gets the same weights as the same sequence cropped to its length.
#
# `rnncourse.attention.Attention` implements these equations (time-major like every sequence in
# the course: states $(S, B, K)$, weights $(S, B)$). Checked here on random tensors:

# %%
S, B, Q, K = 7, 3, 5, 6
gen = torch.Generator().manual_seed(SEED)
query, states = torch.randn(B, Q, generator=gen), torch.randn(S, B, K, generator=gen)
lengths = torch.tensor([7, 4, 2])
mask = torch.arange(S)[:, None] < lengths[None, :]          # (S, B), True at real tokens
att = attention.Attention(Q, K, "additive", attention_size=4)
ctx, alpha = att(query, states, mask)

assert torch.allclose(alpha.sum(dim=0), torch.ones(B))      # a distribution over positions
assert (alpha[~mask] == 0).all()                            # padding gets exactly zero weight
explicit = sum(alpha[i, :, None] * states[i] for i in range(S))
assert torch.allclose(ctx, explicit, atol=1e-6)             # c = sum_i alpha_i h_i
by_hand = torch.stack([att.v @ torch.tanh(att.W @ query[1] + att.U @ states[i, 1]) for i in range(4)])
assert torch.allclose(alpha[:4, 1], torch.softmax(by_hand, 0), atol=1e-6)  # the equation itself
cropped_ctx, cropped_alpha = att(query[1:2], states[:4, 1:2])              # sequence 1, cropped
assert torch.allclose(cropped_alpha[:, 0], alpha[:4, 1]) and torch.allclose(cropped_ctx, ctx[1:2])
print("weights of sequence 1 (length 4):", np.round(alpha[:, 1].detach().numpy(), 3))

# %% [markdown]
# ### Exercise: additive attention in numpy
#
# Write `my_additive_attention(query, states, mask, params)` for one query: `query` $(B, Q)$,
# `states` $(S, B, K)$, `mask` $(S, B)$ bools (True at real positions), `params` a dict with
# `W` $(A, Q)$, `U` $(A, K)$, `v` $(A,)$. Compute the scores $e_i = v^\top \tanh(W s + U h_i)$
# $(S, B)$, set the padded ones to $-\infty$, softmax over the source axis (axis 0; subtract
# the largest score first: one case has scores near 1000), and return `(context, weights)`,
# $(B, K)$ and $(S, B)$. The check says which positions of which sequence come out wrong.
# `check.show_solution("additive_attention")` shows the course's version once you have tried.

# %%
from rnncourse import check


def my_additive_attention(query, states, mask, params):
    # Your code here: scores, -inf at padding, a stable softmax over axis 0, the weighted sum.
    raise NotImplementedError


check.additive_attention(my_additive_attention)

# %%
from rnncourse.np_attention import additive_attention

assert check.additive_attention(additive_attention).passed  # the reference passes its own check

# %% [markdown]
# ## Two tasks with a known alignment
#
# To *check* an alignment we need tasks where we know which input each output comes from.
# Both are generated offline from a seed, character by character:
#
# * **digit reversal**: `40715` → `51704`, lengths 5 to 12. Output $j$ copies input
#   $S - 1 - j$: the alignment is the anti-diagonal.
# * **date normalisation**: `24 Nov 2026`, `24 November 2026`, `Nov 24, 2026` or `24.11.2026` →
#   `2026-11-24`. The year digits come from the year field, wherever the format puts it.
#
# 1000 held-out test examples per task never occur in the training set, and 300 validation
# examples occur in neither: the learning curves below are measured on the validation examples,
# the test examples are read once, after training.

# %%
reversal = seq2seq.reversal_task(5, 12)
dates = seq2seq.date_task()
rev_split = seq2seq.make_split(reversal, n_train=10_000, n_test=1000, seed=SEED, n_val=300)
date_split = seq2seq.make_split(dates, n_train=10_000, n_test=1000, seed=SEED, n_val=300)
for split in (rev_split, date_split):
    print(f"{split.task.name:>9}: " + ",  ".join(f"{s!r} -> {t!r}" for s, t in split.train[:4]))
assert all(t == s[::-1] for s, t in rev_split.test)
assert all(dates.reference(s) == t for s, t in date_split.test)
assert not {s for s, _ in rev_split.test} & {s for s, _ in rev_split.train}

# %% [markdown]
# ## The encoder-decoder, with and without attention
#
# `rnncourse.seq2seq.Seq2Seq` (GRUs, $H = 64$, embeddings of size 32): a bidirectional encoder
# gives $h_1, \dots, h_S$ ($K = 2H$) and the summary $h_{\text{sum}} = [\overrightarrow{h}_S; \overleftarrow{h}_1]$;
# the decoder starts from $s_0 = \tanh(W_b h_{\text{sum}} + b_b)$ and at each step
#
# $$c_t = \begin{cases} \sum_i \alpha_{t,i} h_i & \text{with attention (additive score, } A = 32)\\
# h_{\text{sum}} & \text{without (Cho et al. 2014: the same vector at every step)}\end{cases},\qquad
# s_t = \operatorname{GRU}\big([E y_{t-1};\ c_t],\ s_{t-1}\big),\qquad
# p(y_t) = \operatorname{softmax}\big(W_o [s_t; c_t] + b_o\big).$$
#
# Both variants have the same decoder input size; attention adds only $W, U, v$. Training:
# teacher forcing (the decoder is fed the true previous character), cross-entropy, Adam at
# $10^{-2}$ with a cosine decay over the second half, clipping at 1, batches of 64,
# **150 steps for every model**. Evaluation: greedy decoding (the model is fed its own
# previous output), scored by **exact match** of the whole string: the curve on the 300
# validation sources, the final number once on the 1000 test sources. The budget is fixed, so
# nothing is chosen from either.

# %%
STEPS = 150
runs = {}
for name, split, kwargs in [("reversal, attention", rev_split, {}),
                            ("reversal, no attention", rev_split, {"attention": None}),
                            ("dates, attention", date_split, {}),
                            ("dates, no attention", date_split, {"attention": None})]:
    runs[name] = seq2seq.fit(split, steps=STEPS, seed=SEED, progress=name, **kwargs)

print(f"{'model':<24} {'params':>7} {'steps':>6} {'seconds':>8} {'exact match':>12} {'95% at step':>12}")
for name, (model, r) in runs.items():
    print(f"{name:<24} {seq2seq.count_parameters(model):>7} {r.steps:>6} {r.train_seconds:>8.1f} "
          f"{r.test_accuracy:>12.3f} {str(r.steps_to_target):>12}")

fig = figstyle.figure(xaxis_title="training step", yaxis_title="exact match (300 validation)")
for k, (name, (_, r)) in enumerate(runs.items()):
    fig.add_scatter(x=r.eval_steps, y=r.accuracy, name=name, mode="lines+markers",
                    line=dict(color=figstyle.colour(k // 2),
                              dash="solid" if "no attention" not in name else "dot"))
figstyle.hline(fig, 0.95, "95% target", side="left")
fig.show()

# %%
for name, (model, r) in runs.items():
    task, variant = name.split(", ")
    findings.setdefault(task, {})[variant] = r.as_dict() | {
        "parameters": seq2seq.count_parameters(model)}
rev_att, rev_plain = runs["reversal, attention"][1], runs["reversal, no attention"][1]
date_att, date_plain = runs["dates, attention"][1], runs["dates, no attention"][1]
print(f"reversal: {rev_att.test_accuracy:.1%} exact with attention, {rev_plain.test_accuracy:.1%} "
      f"without, same {STEPS} steps")
print(f"dates: {date_att.test_accuracy:.1%} with attention, {date_plain.test_accuracy:.1%} without; "
      f"95% reached at step {date_att.steps_to_target} with attention, "
      f"{date_plain.steps_to_target} without")
assert rev_att.test_accuracy >= 0.95 and rev_plain.test_accuracy <= rev_att.test_accuracy - 0.3
assert date_att.test_accuracy >= 0.95
assert date_plain.steps_to_target is None or date_att.steps_to_target < date_plain.steps_to_target

# %% [markdown]
# With attention both tasks pass 95% of held-out strings fully correct within the budget. On
# reversal the same network without attention is far behind: every output digit needs a
# different input digit, and all of them must be packed into one 128-number vector and
# unpacked in reverse order. A longer run does not close that gap quickly: in the course's
# preparatory runs (not repeated here, to keep the lesson fast) a plain GRU encoder-decoder with
# $H = 64$ was still near 57% after 1500 steps at Adam $3 \cdot 10^{-3}$. Dates are different: the output is always 10
# characters and the fields sit in a handful of places, so the summary vector is enough and
# the plain model gets there too; attention gets there in about half the steps.
#
# ## Reading the alignment
#
# The weights $\alpha_{t,i}$ of a held-out example as a heatmap: rows are output characters
# (the last row is the end token), columns the source characters. Each axis is a position with
# the character as its label, so the repeated digits keep their own rows and columns.

# %%
rev_model, _ = runs["reversal, attention"]
date_model = runs["dates, attention"][0]
sources = [s for s, _ in rev_split.test]
outputs, weights = rev_model.translate(reversal, sources)
example = next(k for k, s in enumerate(sources) if len(s) == 12 and len(set(s)) < 12)
alignment_figure(sources[example], outputs[example], weights[example],
                 title=f"reversal of {sources[example]}: weight near the anti-diagonal").show()

# %% [markdown]
# The mass sits on the anti-diagonal, as the task implies. As a number: the **alignment mass**
# is the attention weight on the source position(s) each output character comes from
# (position $S - 1 - j$ for output $j$), averaged over the outputs of all 1000 held-out
# examples; "within ±1" also counts the two neighbours. A uniform spread over the source would
# score $1/S$ (printed as "uniform").

# %%
aligned = [reversal.aligned(s) for s in sources]
rev_exact = seq2seq.alignment_mass(weights, aligned)
rev_near = seq2seq.alignment_mass(weights, aligned, tolerance=1)
uniform = float(np.mean([1 / len(s) for s in sources]))
print(f"bidirectional encoder: {rev_exact:.2f} of the attention on the aligned digit, "
      f"{rev_near:.2f} within ±1 (uniform: {uniform:.2f})")
assert rev_near > 0.8 and rev_exact > 3 * uniform

# %% [markdown]
# ### What the bidirectional encoder buys
#
# Train the same attention model with a **one-directional** encoder. Its state $h_i$ has seen
# only $x_1, \dots, x_i$: it knows *which digit* came at $i$ but not *how far from the end* it
# is, which is what reversal needs to find the right position. The backward half of a
# bidirectional state knows exactly that.

# %%
uni_model, uni = seq2seq.fit(rev_split, steps=STEPS, seed=SEED, bidirectional=False,
                            progress="reversal, one direction")
_, uni_weights = uni_model.translate(reversal, sources)
uni_exact = seq2seq.alignment_mass(uni_weights, aligned)
uni_near = seq2seq.alignment_mass(uni_weights, aligned, tolerance=1)
shifted = [[[p + 1] for (p,) in rows] for rows in aligned]      # one position later
uni_next = seq2seq.alignment_mass(uni_weights, shifted)
rev_next = seq2seq.alignment_mass(weights, shifted)
print(f"one-directional encoder: exact match {uni.test_accuracy:.1%}; attention {uni_exact:.2f} on "
      f"the aligned digit, {uni_next:.2f} one position later, {uni_near:.2f} within ±1")
print(f"bidirectional encoder:   exact match {runs['reversal, attention'][1].test_accuracy:.1%}; "
      f"attention {rev_exact:.2f} on the aligned digit, {rev_next:.2f} one position later")
assert rev_exact > 1.5 * uni_exact and uni_next > uni_exact   # shifted peak without the backward half
assert runs["reversal, attention"][1].test_accuracy > uni.test_accuracy
findings["alignment"] = {"reversal_bidirectional": {"exact": rev_exact, "within_1": rev_near,
                                                    "next": rev_next},
                         "reversal_one_directional": {"exact": uni_exact, "within_1": uni_near,
                                                      "next": uni_next,
                                                      "exact_match": uni.test_accuracy,
                                                      "seconds": uni.train_seconds},
                         "uniform": uniform}

# %% [markdown]
# The one-directional model also aligns, but its peak sits mostly one position *after* the
# digit it copies: the state that has just read $x_i$ and then $x_{i+1}$ is where the model
# found a usable address. The bidirectional encoder puts the peak on the digit itself, and
# learns faster. Score alignments with a tolerance, or use a bidirectional encoder, before
# reading too much into a single column.
#
# ### Dates
#
# For dates the alignment is by **field**: the four year digits of the output should read the
# year field of the input, the month digits the month (a name or two digits), the day digits
# the day; the dashes have no source.

# %%
date_sources = [s for s, _ in date_split.test]
date_outputs, date_weights = date_model.translate(dates, date_sources)
date_mass = seq2seq.alignment_mass(date_weights, [dates.aligned(s) for s in date_sources])
print(f"dates: {date_mass:.2f} of the attention of year, month and day digits on the right field")
assert date_mass > 0.7
findings["alignment"]["dates_field_mass"] = date_mass
pick = next(k for k, s in enumerate(date_sources) if s[0].isalpha())   # "Nov 24, 2026" style
alignment_figure(date_sources[pick], date_outputs[pick], date_weights[pick],
                 title=f"{date_sources[pick]} → {date_outputs[pick]}").show()

# %% [markdown]
# ## The attention explorer
#
# Pick a held-out date from the list, or type your own in one of the four formats (try the same
# day in every format, a day without a leading zero, or a date outside 1950-2049). The output,
# whether it is correct, the alignment mass and the heatmap update as you type. Characters the
# model has never seen, an empty box or a too-long input show a message instead.

# %%
explorer = AttentionExplorer(date_model, dates, date_split.test, title="date normalisation")
display(explorer)

# %% [markdown]
# The course's tests drive the explorer the way you do: set a control, read the widgets.

# %%
explorer.text.value = "7 July 1969"
print(explorer.prediction, "|", explorer.weights.shape)
assert explorer.prediction == "1969-07-07" and explorer.weights.shape == (11, 11)
explorer.text.value = "7 July 1969!"
print(explorer.problem)  # the message the widget shows, as plain text
assert "unknown character" in explorer.problem and explorer.prediction is None
explorer.example.value = date_sources[0]
assert explorer.text.value == date_sources[0] and explorer.message.value == ""

# %% [markdown]
# ## A CNN+RNN hybrid
#
# A recurrence is sequential: $T$ steps cost $T$ dependent matrix products however many cores
# there are. A 1-d convolution is parallel over positions. Putting a strided convolution in
# front,
#
# $$z_k = \operatorname{ReLU}\Big(b + \sum_{m=0}^{k_w - 1} W_m\, x_{k s + m}\Big), \qquad k = 0, \dots, \Big\lfloor \tfrac{T - k_w}{s} \Big\rfloor,$$
#
# turns $T$ inputs into about $T/s$ feature vectors, each summarising a window of $k_w$
# neighbours, and a GRU reads those. It is the pattern of speech models (DeepSpeech 2) and of
# many sensor and text classifiers: the convolution finds local features, the recurrence
# connects them over long ranges.
#
# On the adding problem of lesson 6 ($T = 50$: add the two marked values; predicting the mean
# gives MSE $1/6$), a local feature is exactly what helps: $\operatorname{ReLU}(\text{value} +
# \text{marker} - 1)$ is the marked value and 0 elsewhere. Plain GRU ($H = 64$) against
# Conv1d (32 channels, kernel 5, stride 5) + GRU ($H = 32$), same 400 steps, same batches, Adam
# $3 \cdot 10^{-3}$, clipping at 1, MSE on 1000 fixed test sequences:

# %%
HYBRID_STEPS = 400
comparison = hybrid.compare(seq_len=50, steps=HYBRID_STEPS, seed=SEED, progress=True)
print(f"{'model':<8} {'params':>7} {'recurrent steps':>16} {'seconds':>8} {'ms/step':>8} {'test MSE':>9}")
for name, r in comparison.items():
    print(f"{name:<8} {r.n_params:>7} {hybrid.recurrent_steps(r.model, 50):>16} "
          f"{r.train_seconds:>8.1f} {r.ms_per_step:>8.1f} {r.final_eval:>9.4f}")

fig = figstyle.figure([go.Scatter(x=[s for s, _ in r.evals], y=[m for _, m in r.evals], name=name,
                                  mode="lines+markers") for name, r in comparison.items()],
                      xaxis_title="training step", yaxis_title="test MSE")
fig.update_yaxes(**figstyle.LOG)
figstyle.hline(fig, 1 / 6, "predict the mean")
fig.show()

# %% [markdown]
# Training seconds on a shared machine move with its load, so the speed claim uses the
# fastest of 15 forward + backward passes of each model on the same batch
# (`hybrid.step_seconds`): other processes can only add time, never remove it.

# %%
gru_run, hyb_run = comparison["gru"], comparison["hybrid"]
gru_step, hyb_step = (hybrid.step_seconds(r.model, seq_len=50) for r in (gru_run, hyb_run))
speedup = gru_step / hyb_step
print(f"hybrid: {hyb_run.n_params} parameters ({hyb_run.n_params / gru_run.n_params:.0%} of the GRU's), "
      f"{hybrid.recurrent_steps(hyb_run.model, 50)} recurrent steps instead of 50; forward + backward {1e3 * hyb_step:.1f} ms against "
      f"{1e3 * gru_step:.1f} ms ({speedup:.1f}x faster); test MSE {hyb_run.final_eval:.4f} against "
      f"{gru_run.final_eval:.4f}")
assert hyb_run.n_params < gru_run.n_params and speedup > 2
assert hyb_run.final_eval < 0.1 * (1 / 6) and hyb_run.final_eval <= 1.5 * gru_run.final_eval
findings["hybrid"] = {name: r.to_dict() | {"recurrent_steps": hybrid.recurrent_steps(r.model, 50),
                                           "fwd_bwd_seconds_min": t}
                      for (name, r), t in zip(comparison.items(), (gru_step, hyb_step))}
findings["hybrid"]["speedup_fwd_bwd"] = speedup

# %% [markdown]
# The hybrid reaches at least the GRU's accuracy with fewer parameters, a fifth of the
# sequential steps and a fraction of the time. The price is resolution: the GRU now sees one
# vector per window of 5 inputs, so a task that depends on the exact order *inside* a window
# (or on each single step, like the character-level language model of lesson 6) needs a smaller
# stride, overlapping windows, or no front-end at all.
#
# ## Further: memory-augmented networks
#
# Attention reads from a memory (the encoder states) that the network cannot change. A memory
# it **writes** to, and its relatives (Neural Turing Machines, memory networks, xLSTM's matrix
# memory), is the subject of the second half of this step:
# [lesson 7b, memory and long sequences](07b_memory_and_long_sequences.ipynb), which also trains
# the linear recurrences (minGRU, LRU) that brought RNNs back for long sequences.
#
# ## What this lesson measured
#
# The numbers above are saved for lesson 8, which compiles every lesson's findings.

# %%
findings["config"] = {"seq2seq_steps": STEPS, "hidden_size": 64, "batch_size": 64, "lr": 1e-2,
                      "hybrid_steps": HYBRID_STEPS, "seed": SEED}
for name in ("reversal", "dates", "alignment", "hybrid", "config"):
    path = save_result("07_advanced", name, findings[name])
print(f"saved {len(findings)} records to {path.parent}")

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
