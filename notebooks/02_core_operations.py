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
# # Lesson 2 · Core operations: the forward pass, backpropagation through time, and their cost
#
# Training an RNN needs the gradient of a loss with respect to weights that are used at
# *every* time step. Backpropagation through time (BPTT) is ordinary backpropagation applied
# to the network unrolled over the sequence. This lesson
# 1. draws the unrolled computation graph and runs the forward pass by hand,
# 2. derives BPTT step by step, with each equation next to the line of code computing it,
# 3. checks the result against finite differences and against PyTorch's autograd,
# 4. shows what truncating BPTT to k steps trades away,
# 5. counts the cost, $O(T(H^2 + HI))$, and *measures* it.

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

from rnncourse import check, figstyle
from rnncourse.complexity import fit_power_law, rnn_flops, scaling_grid
from rnncourse.explorers.complexity import ComplexityExplorer
from rnncourse.gradcheck import gradient_check
from rnncourse.np_rnn import (
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)
from rnncourse.results import save_result
from rnncourse.threads import set_threads

set_threads(1)  # small recurrent steps are latency-bound: one thread is fastest here
figstyle.use()  # the course's figure style for every plot below
SEED = 0
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## Unrolling: one graph per sequence
#
# The recurrence $h_t = \tanh(a_t)$, $a_t = W_{hh} h_{t-1} + W_{xh} x_t + b_h$, applied
# $T$ times, is a feed-forward graph $T$ layers deep in which every layer shares the same
# weights. Below, $T = 4$: blue nodes are inputs, green hidden states, orange per-step losses.
# Every arrow into $h_t$ from $h_{t-1}$ is a multiplication by the *same* $W_{hh}$.

# %%
def unrolled_graph(steps=4):
    nodes = {}
    for t in range(1, steps + 1):
        nodes[f"x{t}"] = (t, 0)
        nodes[f"h{t}"] = (t, 1)
        nodes[f"L{t}"] = (t, 2)
    nodes["h0"] = (0, 1)
    edges = [(f"x{t}", f"h{t}", "W_xh") for t in range(1, steps + 1)]
    edges += [(f"h{t - 1}", f"h{t}", "W_hh") for t in range(1, steps + 1)]
    edges += [(f"h{t}", f"L{t}", "W_hy") for t in range(1, steps + 1)]
    fig = go.Figure()
    for a, b, label in edges:
        (xa, ya), (xb, yb) = nodes[a], nodes[b]
        fig.add_annotation(x=xb, y=yb, ax=xa, ay=ya, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, standoff=14, startstandoff=14)
        fig.add_annotation(x=(xa + xb) / 2, y=(ya + yb) / 2, text=label, showarrow=False,
                           font=dict(size=10, color="gray"), yshift=8)
    colour = {"x": figstyle.BLUE, "h": figstyle.GREEN, "L": figstyle.ORANGE}
    fig.add_trace(go.Scatter(
        x=[p[0] for p in nodes.values()], y=[p[1] for p in nodes.values()],
        text=list(nodes), mode="markers+text", textposition="middle center",
        marker=dict(size=34, color=[colour[name[0]] for name in nodes]),
        textfont=dict(color="white"), hoverinfo="skip"))
    fig.update_layout(height=300, showlegend=False, xaxis_visible=False, yaxis_visible=False,
                      margin=dict(l=10, r=10, t=10, b=10))
    return fig


unrolled_graph().show()

# %% [markdown]
# ## The forward pass by hand
#
# A network small enough to follow every number: $H = 2$, $I = 1$, $T = 3$, a batch of one.

# %%
small = {"W_xh": np.array([[0.5], [-1.0]]), "W_hh": np.array([[0.9, -0.2], [0.3, 0.4]]),
         "b_h": np.array([0.1, 0.0])}
xs = np.array([1.0, 0.5, -1.0]).reshape(3, 1, 1)
h_prev = np.zeros((1, 2))
for t in range(3):
    a = xs[t] @ small["W_xh"].T + h_prev @ small["W_hh"].T + small["b_h"]
    h_prev = np.tanh(a)
    print(f"t={t + 1}: a_t = {np.round(a[0], 4)}  h_t = tanh(a_t) = {np.round(h_prev[0], 4)}")

h_ref, _ = rnn_forward(xs, np.zeros((1, 2)), small, "tanh")
assert np.allclose(h_ref[-1], h_prev)  # the reference loop computes exactly this

# %% [markdown]
# ## Backpropagation through time, step by step
#
# Let the loss be a sum over steps, $L = \sum_t \ell_t(h_t)$ (for example $\ell_t$ the error of
# the output $y_t = W_{hy} h_t + b_y$). Write $g_t = \partial \ell_t / \partial h_t$ for the
# gradient that reaches $h_t$ *directly* from its own loss term: that is the array `dh[t]`
# the backward functions receive. But $h_t$ also influences the loss through $h_{t+1}$,
# $h_{t+2}, \dots$ The **total** gradient collects both:
#
# $$\delta h_t \equiv \frac{\partial L}{\partial h_t} = g_t + W_{hh}^\top\,\delta a_{t+1},
# \qquad \delta h_T = g_T. \tag{1}$$
#
# Through $h_t = \tanh(a_t)$ (elementwise, $\tanh' = 1 - \tanh^2$):
#
# $$\delta a_t = \delta h_t \odot (1 - h_t^2). \tag{2}$$
#
# Each $a_t$ uses the weights once, so each step *adds* its share; the same $\delta a_t$ also
# flows into the input and into the previous state:
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \delta a_t\, h_{t-1}^\top,\quad
# \frac{\partial L}{\partial W_{xh}} = \sum_{t=1}^{T} \delta a_t\, x_t^\top,\quad
# \frac{\partial L}{\partial b_h} = \sum_{t=1}^{T} \delta a_t,\quad
# \frac{\partial L}{\partial x_t} = W_{xh}^\top \delta a_t,\quad
# \frac{\partial L}{\partial h_{t-1}}\Big|_{\text{via } a_t} = W_{hh}^\top \delta a_t. \tag{3}$$
#
# The indices matter: $\delta a_t$ pairs with $h_{t-1}$ (what step $t$ *read*), never with $h_t$.
# With a batch in rows the products transpose: `dW_hh += da.T @ h_prev`, `dx = da @ W_xh`,
# `dh_prev = da @ W_hh`. Equations (2) and (3) are one backward step; the loop over time is
# equation (1): walk backwards, adding the gradient carried from step $t+1$ (`dh_carry`) to the
# direct one, `dh[t]`. You will write both in the exercises at the end of this lesson; the
# course's own versions, `rnn_step_backward` and `rnn_backward`, are used below to check the
# derivation, and `check.show_solution("rnn_step_backward")` shows their source once you have
# tried.
#
# ## Checking the gradient: finite differences and autograd
#
# A derivation is a claim; check it. The centered difference
# $\frac{L(\theta + \epsilon) - L(\theta - \epsilon)}{2\epsilon}$ approximates each partial
# derivative with error $O(\epsilon^2)$. `gradient_check` perturbs *every* entry of every
# parameter, of the input and of $h_0$, and reports the worst relative error
# $|a - n| / (|a| + |n|)$ with the parameter, gate, time step and index where it occurs.

# %%
report = gradient_check("rnn", input_size=3, hidden_size=4, seq_len=5, batch=2, seed=SEED)
display(report)
assert report.passed and report.max_relative_error < 1e-6

# %% [markdown]
# PyTorch's autograd builds the same graph and differentiates it for us. Same weights, same
# inputs, float64: the two must agree to rounding error.

# %%
T_, B_, I_, H_ = 6, 3, 4, 5
params = init_rnn_params(I_, H_, rng)
x = rng.standard_normal((T_, B_, I_))
h0 = rng.standard_normal((B_, H_))
dh = rng.standard_normal((T_, B_, H_))  # the loss is L = sum(dh * h): dL/dh_t = dh[t]

h, cache = rnn_forward(x, h0, params, "tanh")
dx, dh0, grads = rnn_backward(dh, cache)

tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
state, outs = th0, []
for t in range(T_):
    state = torch.tanh(tx[t] @ tparams["W_xh"].T + state @ tparams["W_hh"].T + tparams["b_h"])
    outs.append(state)
(torch.stack(outs) * torch.tensor(dh)).sum().backward()

worst = max(np.max(np.abs(grads[k] - tparams[k].grad.numpy())) for k in params)
worst = max(worst, np.max(np.abs(dx - tx.grad.numpy())), np.max(np.abs(dh0 - th0.grad.numpy())))
print(f"largest difference between BPTT by hand and autograd: {worst:.1e}")
assert worst < 1e-12

# %% [markdown]
# ## Truncated BPTT: what it trades
#
# On a long sequence (a book, a year of sensor data) the full backward pass needs every
# cached $h_t$ in memory and runs as long as the forward pass. **Truncated** BPTT cuts the
# chain every $k$ steps: the gradient is not carried from step $t$ back into step $t-1$ when
# $t$ is a multiple of $k$ (in torch: `h = h.detach()` every $k$ steps). Cost and memory per
# update drop to $O(k)$ steps; the price is that no dependency longer than $k$ steps can be
# learned, because its gradient is never computed. How far from the true gradient is it?

# %%
T_long = 64
params = init_rnn_params(4, 16, np.random.default_rng(SEED))
x = np.random.default_rng(1).standard_normal((T_long, 8, 4))
h, cache = rnn_forward(x, np.zeros((8, 16)), params, "tanh")
dh = np.zeros_like(h)
dh[-1] = 1.0  # the loss reads only the last state: a long-range dependency
_, _, full = rnn_backward(dh, cache)
error = {}
for k in (1, 4, 8, 16, 32, T_long):
    _, _, truncated = rnn_backward(dh, cache, truncate=k)
    error[k] = np.linalg.norm(truncated["W_xh"] - full["W_xh"]) / np.linalg.norm(full["W_xh"])
    print(f"k = {k:2d}: dL/dW_xh is off by {error[k]:.2e} of its size")
assert error[T_long] == 0.0  # k >= T: nothing is cut
assert error[1] > error[4] > error[8] > error[16] > error[32]  # longer windows come closer

# %% [markdown]
# With $k = 1$ only the last step's direct contribution survives; as $k$ grows the truncated
# gradient approaches the full one, and from $k \ge T$ it *is* the full one. With these small
# random weights the contributions of distant steps are tiny anyway (they vanish, lesson 4),
# which is why truncation works well in practice for short-range structure.
#
# ## Exercises
#
# **1.** Write `rnn_step_backward(dh_next, cache)`, returning `(dx, dh_prev, grads)` with
# `grads` a dict like `params`. The check hands it the caches of the course's `rnn_step_forward`
# (a dict with the keys `x, h_prev, h_next, params, activation`) for tanh, relu and sigmoid, so
# read $f'$ off `h_next` according to `cache["activation"]`. If your `rnn_step_forward` from
# lesson 1 keeps another cache, paste it above and pass it too:
# `check.rnn_step_backward(my_rnn_step_backward, forward=my_rnn_step_forward)`. **2.** Write
# `rnn_backward(dh, cache)` from the step functions (`cache["steps"][t]` is step t's cache). The
# checks compare with the reference on random cases and say *which* gradient and *which* time
# step is off.

# %%
def my_rnn_step_backward(dh_next, cache):
    # Your code here: da = dh_next * f'(a), f' read off h_next (tanh: 1 - h_next**2); then
    # equations (3).
    raise NotImplementedError


check.rnn_step_backward(my_rnn_step_backward)

# %%
def my_rnn_backward(dh, cache):
    # Your code here: loop t = T-1 ... 0, add the carried gradient to dh[t] (equation 1).
    raise NotImplementedError


check.rnn_backward(my_rnn_backward)

# %% [markdown]
# The most common bug in a full backward pass is to forget that the gradient *accumulates*:
# overwriting `dW_hh` at each step instead of adding to it. The check localises it:

# %%
def overwriting_rnn_backward(dh, cache):
    T = dh.shape[0]
    dh_carry = np.zeros_like(dh[0])
    dxs = []
    for t in reversed(range(T)):
        dx_t, dh_carry, step_grads = rnn_step_backward(dh[t] + dh_carry, cache["steps"][t])
        grads = step_grads  # bug: should add the contributions of all steps
        dxs.append(dx_t)
    return np.stack(dxs[::-1]), dh_carry, grads


verdict = check.rnn_backward(overwriting_rnn_backward)
display(verdict)
assert not verdict.passed and "accumulat" in verdict.message.lower()
assert check.rnn_backward(rnn_backward).passed

# %% [markdown]
# **3.** Write the forward loop itself, `rnn_forward(x, h0, params, activation="tanh")`: `x` is
# $(T, B, I)$, `h0` is $(B, H)$; return `(h, cache)` with `h` of shape $(T, B, H)$, `h[t]` the
# state *after* reading `x[t]`, and `cache` whatever your backward pass needs (the step caches,
# say). **4.** Write the centred finite difference a gradient check is made of,
# `numerical_gradient(f, x, eps)`: for every entry $i$ of `x`,
# $(f(x + \epsilon e_i) - f(x - \epsilon e_i)) / (2\epsilon)$, perturbing one entry at a time and
# putting it back. The check uses $\epsilon = 10^{-3}$, where a one-sided difference is visibly
# worse. **5.** Write truncated BPTT, `rnn_backward_truncated(dh, cache, k)`: the gradient is cut
# between step $t-1$ and step $t$ whenever $t \bmod k = 0$ ($t$ from 0, so $t = 0$ counts).

# %%
def my_rnn_forward(x, h0, params, activation="tanh"):
    # Your code here: h = h0; for each t, h = one step from x[t] and h; collect the states.
    raise NotImplementedError


check.rnn_forward(my_rnn_forward)

# %%
def my_numerical_gradient(f, x, eps=1e-6):
    # Your code here: for idx in np.ndindex(x.shape): x[idx] += eps, ..., then restore x[idx].
    raise NotImplementedError


check.numerical_gradient(my_numerical_gradient)

# %%
def my_rnn_backward_truncated(dh, cache, k):
    # Your code here: your rnn_backward, the carry zeroed after step t when t % k == 0.
    raise NotImplementedError


check.rnn_backward_truncated(my_rnn_backward_truncated)

# %%
from rnncourse.gradcheck import numerical_gradient

assert check.rnn_forward(rnn_forward).passed  # the references pass their own checks
assert check.rnn_step_backward(rnn_step_backward).passed
assert check.numerical_gradient(numerical_gradient).passed
assert check.rnn_backward_truncated(lambda dh, cache, k: rnn_backward(dh, cache, truncate=k)).passed

# %% [markdown]
# ## What it costs: count, then measure
#
# One step does two matrix products, $(B, H)\cdot(H, H)$ and $(B, I)\cdot(I, H)$: that is
# $2B(H^2 + HI)$ floating-point operations (one multiply and one add per weight per example).
# Over $T$ steps the forward pass costs $2TB(H^2 + HI)$, and BPTT twice that again
# (one product for $\delta h_{t-1}$ and $\partial L/\partial x_t$, one for the weight
# gradients). So the **prediction** is: time linear in $T$, quadratic in $H$ once $H \gg I$,
# linear in $I$.
#
# Now measure. Each point is the fastest of several runs of forward + BPTT (the minimum, since
# interference from other programs only ever adds time), with the grid visited in interleaved
# rounds, in alternating directions, so that a burst of load elsewhere cannot bend one end of a
# curve. Each round on its own is a full measurement of the exponent: how far the rounds'
# exponents spread is the noise of this machine right now, printed below, and each check allows
# three times that noise (never less than its stated margin). On a busy machine more rounds are
# measured, up to twice as many. The sizes ($H = 128$, $B = 32$ while $T$ varies) are large enough
# that the work of the steps outweighs the fixed cost of one call (building and freeing torch's
# autograd graph, about a tenth of a millisecond): at $H = 64$, $B = 16$ that fixed cost
# flattened the shortest sequences' times and the torch exponent in $T$ wandered between 0.83
# and 0.99 from run to run.

# %%
from tqdm.auto import tqdm

from rnncourse.complexity import measure_scaling

T_grid = [25, 50, 100, 200, 400]
H_grid = [256, 362, 512, 724, 1024]
expected = {"T": 1.0, "H": 2.0}  # the FLOP count's exponents
floor = {"T": 0.15, "H": 0.5}  # the margin each check allows on a quiet machine
cap = {"T": 0.5, "H": 0.9}  # beyond this a check could no longer tell 1 from 2 from 3
settings = {"T": dict(hidden_size=128, input_size=16, batch=32),
            "H": dict(seq_len=10, input_size=16, batch=32)}
measured = {}
for backend, axis in tqdm([("numpy", "T"), ("torch", "T"), ("numpy", "H"), ("torch", "H")],
                          desc="timing the forward + BPTT grids"):
    measured[(backend, axis)] = measure_scaling(
        axis, T_grid if axis == "T" else H_grid, backend=backend, repeats=3, rounds=5,
        floor=floor[axis], **settings[axis])
timings = {key: m.times for key, m in measured.items()}
fits = {key: m.fit for key, m in measured.items()}
for (backend, axis), m in measured.items():
    print(f"{backend:5s}: time ∝ {axis}^{m.exponent:.2f}; {m.summary(floor[axis])}")

# %%
fig = figstyle.subplots(1, 2, subplot_titles=("vary T (H = 128)", "vary H (T = 10)"),
                        title="forward + BPTT time: measured (points) against predicted (lines)")
for (backend, axis), times in timings.items():
    sizes = np.array(T_grid if axis == "T" else H_grid)
    col, colour = (1 if axis == "T" else 2), figstyle.colour(0 if backend == "numpy" else 1)
    fig.add_scatter(x=sizes, y=times, mode="markers", name=backend, legendgroup=backend,
                    showlegend=axis == "T", marker=dict(color=colour, size=8), row=1, col=col)
    predicted = times[0] * (sizes / sizes[0]) ** (1 if axis == "T" else 2)
    fig.add_scatter(x=sizes, y=predicted, mode="lines", line=dict(dash="dot", color=colour),
                    name=f"{backend}, predicted", legendgroup=backend, showlegend=axis == "T",
                    row=1, col=col)
fig.update_xaxes(**figstyle.LOG)
fig.update_yaxes(**figstyle.LOG)
fig.update_xaxes(title_text="T", row=1, col=1)
fig.update_xaxes(title_text="H", row=1, col=2)
fig.update_yaxes(title_text="seconds", row=1, col=1)
fig.show()

for (backend, axis), m in measured.items():
    tolerance = m.tolerance(floor[axis])
    assert tolerance <= cap[axis], (f"{backend}, {axis}: this machine was too noisy to tell "
                                    f"the exponent ({m.summary(floor[axis])}); rerun the cell")
    assert abs(m.exponent - expected[axis]) <= tolerance, m.summary(floor[axis])

# %% [markdown]
# The exponents land where the FLOP count says: about 1 in $T$ and about 2 in $H$. Not exactly
# 2: from run to run this machine gave between 1.55 and 2.05 for $H$ from 256 to 1024, because
# the smallest sizes still carry a share of fixed cost (the Python loop, memory traffic) that
# the largest do not, which flattens the curve. So the check above accepts $[1.5, 2.5]$, which
# still tells quadratic from linear (1) and from cubic (3).
#
# **Where the model breaks down.** At small $H$ the arithmetic is tiny and the fixed cost of
# every step (a Python loop iteration, a few numpy calls of a few microseconds each) dominates:
# time is then nearly *independent* of $H$. Fit the same law on small sizes and the exponent
# collapses:

# %%
H_small = [8, 16, 32, 64]
small_times = scaling_grid("H", H_small, seq_len=50, input_size=4, batch=4, backend="numpy",
                           repeats=3, rounds=2)
small_fit = fit_power_law(H_small, small_times)
per_step_us = 1e6 * small_times[0] / 50
print(f"H in {H_small}: time ∝ H^{small_fit.exponent:.2f}; about {per_step_us:.0f} µs per "
      f"step of forward + BPTT at H=8, whatever the arithmetic")
assert small_fit.exponent < 1.0

# %% [markdown]
# That overhead is also why `torch.nn.RNN` (a compiled loop) beats a Python loop at small sizes,
# and why the gap closes as $H$ grows and the matrix products take over.
#
# ## Explore the cost
#
# Move $T$, $H$ and $I$. The label shows the predicted FLOPs and a time measured on the spot;
# the star is this setting on the log-log plot, the dots are the grid measured above, and the
# dotted line is FLOPs divided by the grid's rate. Small settings sit above the line:
# overheads.

# %%
grid_flops = [rnn_flops(10, H, 16, 32, backward=True) for H in H_grid]
explorer = ComplexityExplorer(grid_flops, timings[("numpy", "H")], batch=8)
display(explorer)

# %%
explorer.hidden_size.value = 512
big = explorer.flops
explorer.hidden_size.value = 64
assert big == rnn_flops(explorer.seq_len.value, 512, explorer.input_size.value, 8, backward=True)
assert explorer.flops < big and explorer.seconds > 0

# %% [markdown]
# ## Saved for lesson 8
#
# The fitted exponents and the timings go to the course's results store, where lesson 8
# compiles them with everything else the course measured.

# %%
path = save_result("02_core_operations", "complexity", {
    "T_grid": T_grid, "H_grid": H_grid, "H_small": H_small,
    "times": {f"{b}_{a}": timings[(b, a)] for (b, a) in timings},
    "exponents": {f"{b}_{a}": fits[(b, a)].exponent for (b, a) in fits},
    "r2": {f"{b}_{a}": fits[(b, a)].r2 for (b, a) in fits},
    "small_H_exponent": small_fit.exponent,
    "gradcheck_max_relative_error": report.max_relative_error,
    "truncation_relative_error": {str(k): v for k, v in error.items()},
})
print(f"saved to {path}")

# %% [markdown]
# **Next:** lesson 3 replaces the tanh cell with gated ones, LSTM and GRU, and makes their
# gates visible.

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
