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
# # Lesson 1 · Scope: what a recurrent network is
#
# A feed-forward network maps one input to one output. Many inputs are *sequences*: a weekly
# series of measurements, the characters of a sentence, the frames of a sound. A recurrent
# neural network (RNN) reads a sequence one step at a time and carries a **hidden state**
# from each step to the next: a fixed-size summary of everything it has read so far.
#
# By the end of this lesson you will have
# 1. written down the recurrence and the shape of every symbol in it,
# 2. fed a real series (atmospheric CO2 at Mauna Loa) through a small numpy RNN,
# 3. watched its hidden state, and measured how long a nudge to the input survives in it,
#    as a function of one number: the scale of the recurrent weights,
# 4. implemented one step yourself and had it checked.

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
from IPython.display import display

from rnncourse import check, figstyle
from rnncourse.data import load_co2
from rnncourse.dynamics import fitted_decay_rate, hidden_states, impulse_response, scaled_rnn_params
from rnncourse.explorers.hidden_state import HiddenStateExplorer
from rnncourse.np_rnn import rnn_forward, rnn_step_forward

SEED = 0
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## The recurrence
#
# At each time step $t = 1, \dots, T$ the network reads an input $x_t$ and updates its hidden
# state:
#
# $$h_t = f(W_{hh}\, h_{t-1} + W_{xh}\, x_t + b_h), \qquad y_t = g(W_{hy}\, h_t + b_y).$$
#
# | symbol | shape | what it is |
# |---|---|---|
# | $x_t$ | $(I,)$ | the input at step $t$ ($I$ features) |
# | $h_t$ | $(H,)$ | the hidden state after step $t$; $h_0$ is given (usually zeros) |
# | $W_{xh}$ | $(H, I)$ | input-to-hidden weights |
# | $W_{hh}$ | $(H, H)$ | hidden-to-hidden (recurrent) weights: the same matrix at every step |
# | $b_h$ | $(H,)$ | hidden bias |
# | $f$ | elementwise | the activation, usually $\tanh$ (also ReLU, sigmoid) |
# | $W_{hy}$, $b_y$ | $(O, H)$, $(O,)$ | hidden-to-output weights and bias |
# | $g$ | elementwise | output function: identity for regression, softmax for classes |
# | $y_t$ | $(O,)$ | the output at step $t$ |
#
# Two facts make it *recurrent*: the same weights are used at every step (so the model works
# for any length $T$), and $h_t$ depends on $h_{t-1}$, hence on all earlier inputs.
#
# In code we process a **batch** of $B$ sequences at once, so a step takes $x_t$ of shape
# $(B, I)$ and $h_{t-1}$ of shape $(B, H)$, and writes the products with transposes:
# `h_t = tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)`. A whole sequence is an array of shape
# $(T, B, I)$: time first, as in `torch.nn.RNN`.

# %% [markdown]
# ## A real sequence: CO2 at Mauna Loa
#
# Weekly measurements of atmospheric CO2 (parts per million) from 1958 to 2001, shipped with the
# course (public domain; sources in `rnncourse/data/README.md`; the 59 missing weeks are filled
# by linear interpolation). Two patterns are plain: a rising trend, and a yearly cycle as the
# northern hemisphere's plants grow and decay.

# %%
dates, co2 = load_co2()
print(f"{len(co2)} weekly values from {dates[0]} to {dates[-1]}, "
      f"{co2.min():.1f} to {co2.max():.1f} ppm")
figstyle.use()  # the course's figure style for every plot below
fig = figstyle.figure(go.Scatter(x=dates, y=co2, mode="lines", line=dict(width=1)),
                      title="Atmospheric CO2 at Mauna Loa (weekly)", yaxis_title="ppm")
fig.show()
assert len(co2) == 2284 and np.all(np.isfinite(co2))

# %% [markdown]
# ### From a series to inputs and targets
#
# The trend would dominate everything, so we model the *changes*. Weekly readings are noisy;
# averaging them over four weeks gives 13 values a year, and the change from one four-week
# period to the next shows the yearly cycle plainly. We standardise the changes with the mean
# and standard deviation of the training part only (the first 80% of the years), so that
# nothing about the test years leaks into the inputs.
#
# Then we cut windows of $T = 26$ steps (two years). The input is the window; the target at
# each step is the *next* change, so the model forecasts one step ahead all along the window
# (a many-to-many task).

# %%
periods = co2[: len(co2) // 4 * 4].reshape(-1, 4).mean(axis=1)  # 4-week means, 13 a year
changes = np.diff(periods)
split = int(0.8 * len(changes))
mean, std = changes[:split].mean(), changes[:split].std()
series = (changes - mean) / std


def windows(values, length):
    """Inputs (T, N, 1) and next-step targets (T, N, 1) from every window of a 1-D series."""
    starts = range(len(values) - length)
    x = np.stack([values[s:s + length] for s in starts], axis=1)[:, :, None]
    y = np.stack([values[s + 1:s + length + 1] for s in starts], axis=1)[:, :, None]
    return x, y


T = 26
x_train, y_train = windows(series[:split], T)
x_test, y_test = windows(series[split:], T)
print("train inputs", x_train.shape, "targets", y_train.shape, "| test inputs", x_test.shape)
assert x_train.shape[0] == T and x_train.shape[2] == 1
assert np.allclose(x_train[1:, :, 0], y_train[:-1, :, 0])  # targets are the inputs shifted by one

fig = figstyle.figure(go.Scatter(y=series[:104], mode="lines+markers", marker=dict(size=4)),
                      title="standardised 4-week change in CO2, first 8 years: the yearly cycle",
                      xaxis_title="step (4 weeks)")
fig.show()

# %% [markdown]
# ## Through a small numpy RNN
#
# A tanh RNN with $H = 32$ hidden units. We pick $W_{hh} = \rho\, Q$ with $Q$ a random orthogonal
# matrix, so that every singular value of $W_{hh}$ equals $\rho$: one number sets how strongly
# each step carries the past forward. (Lesson 4 shows why that number rules everything.)
# `rnn_forward` is the course's reference implementation: it loops over $t$ and applies the
# equation above.

# %%
H = 32
params = scaled_rnn_params(input_size=1, hidden_size=H, w_scale=0.9, input_scale=0.5, seed=SEED)
h, cache = rnn_forward(x_train, np.zeros((x_train.shape[1], H)), params, "tanh")
print("hidden states h:", h.shape, "= (T, B, H)")
assert h.shape == (T, x_train.shape[1], H) and np.all(np.abs(h) < 1)  # tanh keeps |h| < 1

heat = figstyle.figure(go.Heatmap(x=np.arange(1, T + 1), z=h[:, 0, :].T, zmin=-1, zmax=1,
                                  colorscale=figstyle.DIVERGING, colorbar=dict(title="h")),
                       title="h_t for the first training window (rows: units, columns: steps)",
                       xaxis_title="t (4-week step)", yaxis_title="unit")
heat.show()

# %% [markdown]
# Each unit (row) mixes the current input with its own past and its neighbours'. Some follow
# the seasonal swing, some lag it, some integrate it: the hidden state is a set of features of
# the *history*, not of the current step alone.
#
# ### The output layer: $y_t = W_{hy} h_t + b_y$
#
# Training all the weights is lesson 2's business (backpropagation through time). Here is a
# shortcut that already shows what the hidden state is worth: keep $W_{xh}, W_{hh}$ random
# and fit only the output layer, by least squares, to predict the next change from $h_t$
# (the idea behind *echo state networks*). $g$ is the identity: a regression. We compare with
# three forecasts that need no model: the training mean, "same change as last step", and the
# seasonal-naive "same change as one year (13 steps) ago".

# %%
WARMUP = 13  # skip the first year of each window, where h_t has seen little history


def features(x):
    h, _ = rnn_forward(x, np.zeros((x.shape[1], H)), params, "tanh")
    return h[WARMUP:].reshape(-1, H)


design = np.hstack([features(x_train), np.ones((x_train.shape[1] * (T - WARMUP), 1))])
targets = y_train[WARMUP:].reshape(-1)
solution = np.linalg.solve(design.T @ design + 1e-2 * np.eye(H + 1), design.T @ targets)
W_hy, b_y = solution[:H][None, :], solution[H:]

truth = y_test[WARMUP:].reshape(-1, 1)
pred = features(x_test) @ W_hy.T + b_y
mse = {
    "RNN + linear readout": float(np.mean((pred - truth) ** 2)),
    "training mean": float(np.mean((truth - targets.mean()) ** 2)),
    "same as last step": float(np.mean((x_test[WARMUP:].reshape(-1, 1) - truth) ** 2)),
    "same as a year ago": float(np.mean((x_test[WARMUP - 12:T - 12].reshape(-1, 1) - truth) ** 2)),
}
for name, value in mse.items():
    print(f"test MSE, {name:22s}: {value:.3f}")
assert mse["RNN + linear readout"] < 0.25 * mse["same as last step"]
assert mse["RNN + linear readout"] < 0.2 * mse["training mean"]

# %% [markdown]
# With *random* recurrent weights and a fitted output layer, the network forecasts the next
# change four times better than "same as last step" and about as well as the seasonal-naive
# forecast: the hidden state has kept a year of history in a form a linear readout can use.
# Lesson 6 trains every weight and compares with the seasonal-naive baseline properly.

# %% [markdown]
# ## Hidden-state dynamics: how long does the past survive?
#
# Nudge the very first input $x_1$ and follow how far each later $h_t$ moves, per unit of
# nudge: the **impulse response** $\lVert \partial h_t / \partial x_1 \rVert$. By the chain rule
# each step multiplies the perturbation by $\operatorname{diag}(\tanh'(a_t))\, W_{hh}$, which
# is how `impulse_response` computes it, exactly (a finite difference $(h'_t - h_t)/\varepsilon$
# would bottom out near $10^{-10}$, where float64 can no longer tell $h'_t$ from $h_t$). With
# $|\tanh'| \le 1$ and every singular value of $W_{hh}$ equal to $\rho$, the response shrinks at
# least as fast as $\rho^t$ when $\rho < 1$.

# %%
window = series[:104].reshape(-1, 1, 1)  # eight years as one sequence, batch of 1
rates = {}
response_fig = figstyle.figure(title="impulse response for four scales of W_hh", xaxis_title="t",
                               yaxis_title="||dh_t / dx_1||")
response_fig.update_yaxes(**figstyle.LOG)
for rho in (0.5, 0.9, 1.0, 2.0):
    p = scaled_rnn_params(1, H, w_scale=rho, input_scale=0.5, seed=SEED)
    response = impulse_response(window, p)
    rates[rho] = fitted_decay_rate(response)
    response_fig.add_trace(go.Scatter(x=np.arange(1, response.size + 1), y=response, mode="lines",
                                      name=f"rho = {rho}"))
    print(f"rho = {rho:3.1f}: response at t = {response.size} is {response[-1]:.1e} of the kick, "
          f"fitted per-step factor {rates[rho]:.3f}")
response_fig.show()

assert rates[0.5] <= 0.5 * 1.001 and rates[0.9] <= 0.9 * 1.001  # tanh' <= 1: at least rho^t decay
assert rates[0.5] < rates[0.9] < rates[1.0] < rates[2.0]
assert rates[2.0] > 1.05  # well above 1 the nudge grows: the dynamics are chaotic

# %% [markdown]
# With $\rho = 0.5$ the network forgets its first input within a couple of dozen steps: after
# eight years the effect is around $10^{-35}$ of the nudge. At $\rho = 1$ it still fades, since
# $\tanh' < 1$ wherever the units are driven away from zero. At $\rho = 2$ the nudge *grows*:
# the state is chaotic, and a tiny change in the first input decides what it looks like years
# later. Too large and every input matters forever; too small and nothing older than a few
# steps matters. Training has to find weights between the two: lesson 4 turns this into the
# vanishing/exploding gradient problem.
#
# ## Explore: steer the hidden state
#
# Drag $\rho$ and the input scale. Watch the heatmap (large inputs saturate the units at
# $\pm 1$) and the impulse response $\lVert \partial h_t / \partial x_1 \rVert$, plotted against
# the envelope $\rho^{t-1}$ (steps counted from $t = 1$, as above). Note how saturation
# (large inputs) makes memory *shorter*: where $\tanh$ is flat, $\tanh' \approx 0$ and the
# nudge is damped.

# %%
explorer = HiddenStateExplorer(series[:104, None], hidden_size=H, w_scale=0.9, seed=SEED)
display(explorer)

# %%
# What the explorer computes when its sliders move (this is how the course tests it, too).
explorer.input_scale.value = 1.0
explorer.w_scale.value = 0.5
calm = explorer.rate
explorer.input_scale.value = 4.0
saturated = explorer.rate
explorer.input_scale.value, explorer.w_scale.value = 1.0, 0.9
print(f"rho = 0.5: per-step factor {calm:.3f} with input scale 1, {saturated:.3f} with scale 4")
assert saturated < calm  # saturation shortens memory

# %% [markdown]
# ## Exercise: one step of the recurrence
#
# Write `rnn_step_forward(x, h_prev, params, activation="tanh")`: given $x_t$ of shape
# $(B, I)$, $h_{t-1}$ of shape $(B, H)$ and the weights in `params` (keys `W_xh`, `W_hh`,
# `b_h`), return `(h_next, cache)` where `h_next` has shape $(B, H)$ and `cache` holds what
# the backward step will need (lesson 2). Replace the `raise` with your code, run the cell
# below it, and read the verdict. `check.show_solution("rnn_step_forward")` shows the course's
# answer.

# %%
def my_rnn_step_forward(x, h_prev, params, activation="tanh"):
    # Your code here: compute the pre-activation a = ..., then h_next = tanh(a).
    raise NotImplementedError


check.rnn_step_forward(my_rnn_step_forward)

# %% [markdown]
# The check never stops the notebook: a stub gets "not implemented yet", a wrong answer gets a
# hint. Here is the hint for a classic slip, multiplying by $W_{xh}$ instead of $W_{xh}^\top$
# (with $I = H$ the shapes even line up, so numpy does not complain):

# %%
def transposed_rnn_step_forward(x, h_prev, params, activation="tanh"):
    a = x @ params["W_xh"] + h_prev @ params["W_hh"].T + params["b_h"]
    return np.tanh(a), None


verdict = check.rnn_step_forward(transposed_rnn_step_forward)
display(verdict)
assert not verdict.passed and "transpose" in verdict.message.lower()
assert check.rnn_step_forward(rnn_step_forward).passed  # the reference passes its own check

# %% [markdown]
# ## Sequence modelling: the shapes of a task
#
# The recurrence is the same in every RNN; what changes is where inputs enter and where outputs
# are read.
#
# | pattern | inputs → outputs | example | where in the course |
# |---|---|---|---|
# | many-to-many (aligned) | $x_1..x_T \to y_1..y_T$ | next-step forecasting (above), character-level language models | lessons 1, 6 |
# | many-to-one | $x_1..x_T \to y_T$ | the adding problem, sequence classification | lessons 4, 5, 6 |
# | one-to-many | $x \to y_1..y_T$ | generating text from a seed, captioning an image | lesson 6 (sampling) |
# | many-to-many (encoder-decoder) | $x_1..x_S \to y_1..y_T$, $S \ne T$ | reversal, date normalisation, translation | lesson 7 |
#
# **Next:** lesson 2 trains these weights: the forward pass and backpropagation through time by
# hand, checked against finite differences and autograd, and what they cost.

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
