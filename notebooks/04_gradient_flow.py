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
# # Lesson 4 · Gradient flow: vanishing and exploding gradients
#
# Lesson 2 computed the gradient of a loss by backpropagation through time (BPTT). This lesson
# asks how that gradient *travels*: how much of the learning signal produced at step $T$ is
# still there when it reaches step $t$, far back in the sequence. The answer is a product of
# $T - t$ matrices, and products of matrices shrink or grow geometrically. That single fact
# explains why a plain RNN cannot learn long-range dependencies, why LSTMs and GRUs can, and
# why training sometimes blows up.
#
# By the end of this lesson you will have
# 1. derived $\partial h_T / \partial h_t$ as a product of Jacobians and bounded its norm by
#    $(\gamma\,\sigma_{\max}(W_{hh}))^{T-t}$,
# 2. measured the per-step rate and matched it to $\gamma\,\sigma_{\max}$ within 1%,
# 3. steered a live explorer across the edge $\sigma_{\max} = 1/\gamma$,
# 4. seen why an LSTM with a large forget-gate bias keeps its gradient,
# 5. watched gradient descent fall off a cliff, and clipping stop it, on a toy surface and in a
#    real training run, and implemented clipping yourself.

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
from plotly.subplots import make_subplots

from rnncourse import check, cliff, figstyle, gradflow
from rnncourse.explorers.gradient_flow import CliffExplorer, GradientFlowExplorer
from rnncourse.results import save_result
from rnncourse.threads import set_threads

set_threads()  # one torch thread: small recurrent models are latency-bound
figstyle.use()  # the course's figure style for every plot below
SEED = 0
findings = {}  # every number this lesson measures, saved at the end for lesson 8

# %% [markdown]
# ## The gradient is a product of Jacobians
#
# A vanilla RNN computes $a_k = W_{hh} h_{k-1} + W_{xh} x_k + b_h$ and $h_k = f(a_k)$. One step
# changes $h_{k-1}$ into $h_k$ with the Jacobian
#
# $$\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}\!\big(f'(a_k)\big)\, W_{hh}.$$
#
# A loss read at the last step, $L(h_T)$, reaches $h_t$ through every step in between, so by the
# chain rule
#
# $$\frac{\partial L}{\partial h_t} = \Big(\frac{\partial h_T}{\partial h_t}\Big)^{\!\top}
# \frac{\partial L}{\partial h_T}, \qquad
# \frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}\!\big(f'(a_k)\big)\,W_{hh}
# = J_T J_{T-1} \cdots J_{t+1}.$$
#
# **The bound.** Let $\gamma = \max_a |f'(a)|$: $\gamma = 1$ for $\tanh$ ($\tanh'(a) = 1 - \tanh^2 a$,
# largest at 0) and for ReLU, $\gamma = 1/4$ for the logistic sigmoid ($\sigma' = \sigma(1-\sigma)$,
# largest at 0). The spectral norm of a diagonal matrix is its largest entry, and norms are
# submultiplicative, so each factor has $\|J_k\| \le \gamma\,\sigma_{\max}(W_{hh})$ and
#
# $$\Big\|\frac{\partial h_T}{\partial h_t}\Big\| \le \big(\gamma\,\sigma_{\max}(W_{hh})\big)^{T-t},
# \qquad \Big\|\frac{\partial L}{\partial h_t}\Big\| \le \big(\gamma\,\sigma_{\max}\big)^{T-t}
# \Big\|\frac{\partial L}{\partial h_T}\Big\|.$$
#
# **Pascanu, Mikolov & Bengio (2013).** If $\sigma_{\max} < 1/\gamma$ the bound decays
# geometrically, so the gradient *must* vanish: $\sigma_{\max} < 1/\gamma$ is **sufficient** for
# vanishing. If the gradient explodes, the bound must grow, so $\sigma_{\max} > 1/\gamma$ is
# **necessary** for exploding, but not sufficient: saturated units have $f'(a_k) \ll \gamma$.
#
# Below, the product is built explicitly for a small RNN ($H = 8$, Gaussian $W_{hh}$ with
# $\sigma_{\max} = 1.2$, inputs of scale 1), next to the gradient of the loss $L = v \cdot h_T$
# ($\|v\| = 1$) computed by BPTT and the bound.

# %%
T_small = 40
params = gradflow.make_params("rnn_tanh", 8, sigma=1.2, kind="gaussian", input_size=3, seed=SEED)
x = gradflow.make_inputs(T_small, 3, 1.0, seed=SEED)
jacobian = gradflow.jacobian_norms(params, x, activation="tanh")      # ||dh_T/dh_t||_2
bptt = gradflow.state_gradients("rnn_tanh", params, x).norms         # ||dL/dh_t||, L = v.h_T
sigma_max = np.linalg.norm(params["W_hh"], 2)
bound = 10 ** gradflow.log10_bound(1.0, sigma_max, T_small)          # (gamma sigma_max)^(T-t)

assert np.all(bptt <= jacobian * (1 + 1e-12)) and np.all(jacobian <= bound * (1 + 1e-12))
print(f"sigma_max(W_hh) = {sigma_max:.3f}; at t = 0: ||dL/dh_0|| = {bptt[0]:.2e} <= "
      f"||dh_T/dh_0|| = {jacobian[0]:.2e} <= bound {bound[0]:.2e}")

t = np.arange(T_small + 1)
fig = go.Figure([go.Scatter(x=t, y=bound, name="bound (γ σ_max)^(T−t)", line=dict(dash="dash")),
                 go.Scatter(x=t, y=jacobian, name="||∂h_T/∂h_t|| (explicit product)"),
                 go.Scatter(x=t, y=bptt, name="||∂L/∂h_t|| (BPTT)", line=dict(dash="dot"))])
fig.update_layout(yaxis_type="log", xaxis_title="t", yaxis_exponentformat="power",
                  title="the bound holds at every step, and is far from tight here")
fig.show()

# %% [markdown]
# The bound holds at every $t$, but the gradient decays although $\sigma_{\max} = 1.2 > 1$: the
# inputs push units into the flat part of $\tanh$, and a Gaussian matrix stretches only a few
# directions by $\sigma_{\max}$. To see the bound *reached*, remove both effects.
#
# ## When the bound is exact
#
# Take $W_{hh} = \sigma Q$ with $Q$ orthogonal: every singular value is $\sigma$. With no input
# and $h_0 = 0$ a tanh RNN stays at $h_t = 0$, where $\tanh'(0) = 1 = \gamma$, so every Jacobian is
# $\sigma Q$ and $\|\partial L / \partial h_t\| = \sigma^{T-t}$ exactly. The sigmoid RNN is
# centred the same way (bias $b_h = -W_{hh}\,\tfrac12\mathbf 1$, $h_0 = \tfrac12\mathbf 1$, so
# $a_t = 0$ and $\sigma'(a_t) = 1/4$): its rate should be $\sigma / 4$.
#
# `gradflow.gradient_flow` builds such a network ($H = 128$, $T = 200$), backpropagates
# $L = v \cdot h_T$, and fits the per-step rate $\rho$ in
# $\|\partial L/\partial h_t\| \approx C \rho^{T-t}$ by least squares on the logarithm.

# %%
rates = []
for cell in ["rnn_tanh", "rnn_sigmoid"]:
    for sigma in [0.5, 1.0, 1.5, 4.0]:
        r = gradflow.gradient_flow(cell, sigma=sigma, seq_len=200, hidden_size=128, seed=SEED)
        rates.append({"cell": cell, "sigma_max": sigma, "gamma": r.gamma, "theory": r.theory_rate,
                      "measured": r.rate, "grad_at_t0": float(r.norms[0])})
        assert abs(r.rate / r.theory_rate - 1) < 0.01, (cell, sigma, r.rate, r.theory_rate)

print(f"{'cell':<12} {'σ_max':>6} {'γ·σ_max':>8} {'measured':>9} {'||dL/dh_0||':>12}")
for row in rates:
    print(f"{row['cell']:<12} {row['sigma_max']:>6.2f} {row['theory']:>8.4f} "
          f"{row['measured']:>9.4f} {row['grad_at_t0']:>12.2e}")
findings["orthogonal_no_input_rates"] = rates

# %% [markdown]
# Within 1% (in fact to float64 precision), the measured rate is $\gamma\,\sigma_{\max}$: the
# tanh RNN keeps its gradient exactly at $\sigma_{\max} = 1$; the sigmoid RNN needs
# $\sigma_{\max} = 4$ for that. Over 200 steps, a rate of 0.5 leaves $10^{-60}$ of the signal
# and a rate of 1.5 multiplies it by $10^{35}$: there is no middle ground at long range.
#
# ## Saturation lowers the rate
#
# Now feed inputs of standard deviation 1. The units leave 0, $\tanh'(a_k) < 1$, and every
# Jacobian shrinks. Crossing $\sigma_{\max} = 1/\gamma$ no longer guarantees explosion: that is
# the "necessary, not sufficient" half of Pascanu et al.'s statement.

# %%
saturation = []
for sigma in [0.5, 1.0, 1.5, 2.0]:
    free = gradflow.gradient_flow("rnn_tanh", sigma=sigma, seed=SEED)
    driven = gradflow.gradient_flow("rnn_tanh", sigma=sigma, input_scale=1.0, seed=SEED)
    saturation.append({"sigma_max": sigma, "no_input": free.rate, "input_1": driven.rate,
                       "mean_tanh_prime": driven.derivative_mean})
    assert driven.rate < 0.9 * free.rate
    print(f"σ_max = {sigma:.1f}: rate {free.rate:.3f} without input, {driven.rate:.3f} with "
          f"input scale 1 (mean tanh' = {driven.derivative_mean:.2f})")
findings["saturation_rates"] = saturation
assert saturation[2]["input_1"] < 1.0  # sigma_max = 1.5 > 1/gamma, yet the gradient vanishes

# %% [markdown]
# With inputs, even $\sigma_{\max} = 1.5$ gives a rate below 1: the gradient vanishes. For a
# Gaussian $W_{hh}$ the long-run rate follows the **spectral radius** (the largest
# $|\lambda_i|$), which is about half of $\sigma_{\max}$ for such a matrix: the bound uses
# $\sigma_{\max}$ because it must hold for every step, not only in the long run.

# %%
gauss = gradflow.gradient_flow("rnn_tanh", sigma=1.0, kind="gaussian", seed=SEED)
print(f"Gaussian W_hh, σ_max = {gauss.sigma_max:.2f}: spectral radius "
      f"{gauss.spectral_radius:.3f}, measured rate {gauss.rate:.3f}")
assert abs(gauss.rate / gauss.spectral_radius - 1) < 0.1 and gauss.rate < 0.8 * gauss.sigma_max
findings["gaussian_rate"] = {"sigma_max": gauss.sigma_max, "spectral_radius": gauss.spectral_radius,
                             "measured": gauss.rate}

# %% [markdown]
# ## The gradient-flow explorer
#
# Every control recomputes a full forward and backward pass ($T$ up to 1000, $H = 128$) and
# redraws. The left plot is $\|\partial L/\partial h_t\|$ on a log axis with the bound dashed;
# the right plot shows the singular values of $W_{hh}$ and the line $1/\gamma$. Above the plots:
# the fitted rate next to $\gamma\,\sigma_{\max}$, and which of Pascanu's conditions holds.
#
# Things to try:
# - Drag $\sigma$ across 1 with the arrow keys (step 0.05): the curve tilts from decay to
#   growth. Switch to the sigmoid: the edge moves to 4.
# - Raise the input scale: the rate falls below $\gamma\,\sigma_{\max}$ (saturation).
# - Choose Gaussian: the singular values spread out; set "σ sets" to spectral radius and
#   compare the fitted rate with it.
# - Choose LSTM, input scale 1, and raise the forget bias from 0 to 5.
# - Precision is float32 by default, as in training: push $\sigma$ to 3 and $T$ to 400 and
#   watch the gradient overflow to `inf` (red triangles at the top of the clipped axis); with
#   $\sigma = 0.3$ it underflows to 0 instead. float64 postpones both, it does not remove them.

# %%
explorer = GradientFlowExplorer(seed=SEED)
display(explorer)

# %% [markdown]
# The course's tests drive the explorer the same way you do: set a control, read the figure.

# %%
explorer.sigma.value = 0.95
below = explorer.result
explorer.sigma.value = 1.05
above = explorer.result
print(f"σ = 0.95: rate {below.rate:.3f}, ||dL/dh_0|| = {below.norms[0]:.1e}; "
      f"σ = 1.05: rate {above.rate:.3f}, ||dL/dh_0|| = {above.norms[0]:.1e}")
assert below.norms[0] < 1e-3 < 1e3 < above.norms[0]
explorer.sigma.value = 1.0

# %% [markdown]
# ## Gates: an additive path for the gradient
#
# The LSTM's cell state is updated by addition, $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, so
# along the cell state one step multiplies the gradient by the forget gate:
#
# $$\frac{\partial c_t}{\partial c_{t-1}} = \operatorname{diag}(f_t) + (\text{terms through } h_{t-1}),
# \qquad f_t = \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f).$$
#
# No $W_{hh}$ and no $\tanh'$ on this path: the rate is about $f_t$, which the forget bias
# $b_f$ sets. With $b_f = 0$, $f_t \approx \sigma(0) = 0.5$ and the gradient halves every step;
# with $b_f = 5$, $f_t \approx \sigma(5) = 0.993$, and the cell path alone keeps
# $0.993^{200} \approx 0.26$ of the gradient after 200 steps. The GRU's
# update gate $z$ plays the same role ($h_t = (1 - z) \odot n + z \odot h_{t-1}$; we set its bias
# $b_z$). For the gated cells the plotted norm is that of the whole state gradient,
# $(\partial L/\partial h_t, \partial L/\partial c_t)$ for the LSTM. Same $T = 200$, same inputs
# (scale 1), every recurrent block with $\sigma_{\max} = 1$:

# %%
gated = {}
for label, cell, bias in [("tanh RNN", "rnn_tanh", 0.0), ("LSTM, b_f = 0", "lstm", 0.0),
                          ("LSTM, b_f = 1", "lstm", 1.0), ("LSTM, b_f = 5", "lstm", 5.0),
                          ("GRU, b_z = 5", "gru", 5.0)]:
    gated[label] = gradflow.gradient_flow(cell, sigma=1.0, input_scale=1.0, forget_bias=bias,
                                          seed=SEED)
for label, r in gated.items():
    print(f"{label:<14} rate {r.rate:.4f}   ||dL/dh_0|| = {r.norms[0]:.2e}")

rnn_t0, lstm_t0 = gated["tanh RNN"].norms[0], gated["LSTM, b_f = 5"].norms[0]
print(f"the LSTM with b_f = 5 keeps {lstm_t0 / rnn_t0:.1e} times more gradient at t = 0")
assert lstm_t0 > 1e10 * rnn_t0 and lstm_t0 > 1e10 * gated["LSTM, b_f = 0"].norms[0]
findings["gated_grad_at_t0"] = {label: float(r.norms[0]) for label, r in gated.items()}
findings["gated_rates"] = {label: r.rate for label, r in gated.items()}

fig = go.Figure([go.Scatter(x=np.arange(201), y=r.norms, name=label) for label, r in gated.items()])
fig.update_layout(yaxis_type="log", xaxis_title="t", yaxis_title="||∂L/∂state_t||",
                  yaxis_exponentformat="power")
fig.show()

# %% [markdown]
# ## Exploding gradients: the cliff
#
# Vanishing gradients make learning slow; exploding gradients make it *unstable*. Pascanu et al.
# (2013) show it on a network of one unit, $x_t = w\,\sigma(x_{t-1}) + b$ with $x_0 = 0.5$, run for
# 50 steps, with loss $L(w, b) = (x_{50} - 0.7)^2$. For $w > 4$ the map has two stable fixed
# points; where the start switches from one basin to the other, $x_{50}$ jumps. The loss surface
# has a **wall**: flat on both sides, with a slope that grows like the gradient itself,
# exponentially in the number of steps.
#
# A gradient step of size $\eta\,\|g\|$ that lands on the wall is enormous and throws the
# parameters far away. **Norm clipping** bounds the step:
#
# $$g \leftarrow \begin{cases} g & \text{if } \|g\| \le \tau \\
# \tau\, g / \|g\| & \text{if } \|g\| > \tau \end{cases}$$
#
# It keeps the direction and caps the length at $\eta\,\tau$. Below, both paths start at the
# same point with learning rate $\eta$; the white one is clipped at $\tau$. Move $\eta$: the red
# path hits the wall only for some learning rates (the wall is thin, so hitting it is luck), and
# when it does it is thrown off the map; the clipped path never is.

# %%
cliff_explorer = CliffExplorer()
display(cliff_explorer)

# %% [markdown]
# The default setting of the explorer, recomputed here so that moving the sliders above does
# not change what this cell checks:

# %%
plain = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=None)
clipped = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=cliff.DEFAULT_THRESHOLD)
wall = int(np.argmax(plain.grad_norm))
print(f"learning rate {plain.lr}: without clipping, step {wall} lands on the wall "
      f"(||g|| = {plain.grad_norm[wall]:.0f}) and jumps {plain.max_jump:.1f} in (w, b); "
      f"final loss {plain.loss[-1]:.3g}")
print(f"clipped at τ = {clipped.threshold:g}: largest step {clipped.max_jump:.3f} "
      f"(= η τ at most), final loss {clipped.loss[-1]:.3g}")
assert plain.grad_norm.max() > 100 * clipped.threshold and plain.max_jump > 10
assert clipped.max_jump <= clipped.lr * clipped.threshold * (1 + 1e-9)
assert clipped.loss[-1] < plain.loss[-1]
findings["cliff"] = {"lr": plain.lr, "threshold": clipped.threshold,
                     "plain_max_grad_norm": float(plain.grad_norm.max()),
                     "plain_max_jump": plain.max_jump, "plain_final_loss": float(plain.loss[-1]),
                     "clipped_max_jump": clipped.max_jump,
                     "clipped_final_loss": float(clipped.loss[-1])}

# %% [markdown]
# ## Clipping in a real training run
#
# The same thing happens in real training. A tanh RNN ($H = 32$) starts with
# $W_{hh} = 2Q$, past the edge $1/\gamma = 1$, and learns the adding problem ($T = 10$: sum the
# two marked values of a sequence; predicting the mean gives a loss of $1/6 \approx 0.167$) with
# plain SGD at learning rate 0.1, using the course's training loop (`rnncourse.train.train`).
# Two runs from the same weights on the same batches: one
# unclipped, one clipped at $\tau = 1$ (the value Pascanu et al.'s code used).

# %%
from rnncourse.clipping import exploding_run

# the unclipped run diverges within a few dozen steps; the clipped one trains all 600 (a bar)
runs = {"no clipping": exploding_run(None, steps=600, seed=SEED),
        "clipped at 1.0": exploding_run(1.0, steps=600, seed=SEED, progress="SGD, clipped at 1.0")}
plain_run, clipped_run = runs["no clipping"], runs["clipped at 1.0"]
fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "gradient norm before clipping"))
for (label, run), colour in zip(runs.items(), [figstyle.VERMILLION, figstyle.BLUE]):
    steps = np.arange(run.loss.size)
    fig.add_scatter(x=steps, y=run.loss, name=label, line=dict(color=colour), row=1, col=1)
    fig.add_scatter(x=steps, y=run.grad_norm, name=label, line=dict(color=colour), row=1, col=2,
                    showlegend=False)
fig.update_yaxes(type="log", exponentformat="power")
fig.update_xaxes(title_text="SGD step")
fig.show()

stop = plain_run.diverged_at
early = np.nanmean(clipped_run.loss[:100])
late = np.nanmean(clipped_run.loss[-100:])
print(f"no clipping: the gradient norm grows to {np.nanmax(plain_run.grad_norm):.1e} and the "
      f"loss is inf/nan from step {stop} on")
print(f"clipped at 1.0: loss {early:.3f} (first 100 steps) -> {late:.3f} (last 100), never "
      f"diverges; {clipped_run.seconds:.1f} s for 600 steps")
assert stop is not None and np.nanmax(plain_run.grad_norm) > 1e6
assert clipped_run.diverged_at is None and late < 0.8 * early and late < 1 / 6
findings["training"] = {"plain_diverged_at_step": stop,
                        "plain_max_grad_norm": float(np.nanmax(plain_run.grad_norm)),
                        "clipped_loss_first_100": float(early),
                        "clipped_loss_last_100": float(late), "baseline": 1 / 6}

# %% [markdown]
# ## Why clipping fixes exploding gradients but not vanishing ones
#
# Clipping only ever **shortens** the gradient, and only when $\|g\| > \tau$. An exploding
# gradient is a step that is too long: shortening it is exactly the fix, and the direction,
# which is still informative, is kept. A vanishing gradient is a different problem: the total
# gradient is a sum over time steps, $\partial L/\partial \theta = \sum_t (\ldots)_t$, and the
# terms from distant steps are $10^{-30}$ of the recent ones. Clipping leaves a small gradient
# untouched; and even *stretching* the whole vector would not help, because it scales the
# distant and the recent terms by the same factor: their ratio, which is what decides whether a
# long-range dependency can be learned, stays $10^{-30}$. Vanishing needs a different path for
# the gradient (the LSTM's cell state, the GRU's update gate), a better-conditioned $W_{hh}$
# (orthogonal initialisation at $\sigma = 1$), or shorter paths (attention, lesson 7).
#
# The numbers: for the saturated tanh RNN above, the share of step $t = 0$ in the gradient is
# $\|\partial L/\partial h_0\| / \|\partial L/\partial h_T\|$, whatever the gradient is scaled by.

# %%
r = gradflow.gradient_flow("rnn_tanh", sigma=1.0, input_scale=1.0, seed=SEED)
share = r.norms[0] / r.norms[-1]
for factor in [1e-3, 1.0, 1e3]:  # any rescaling of the whole gradient, clipping included
    scaled = factor * r.norms
    assert np.isclose(scaled[0] / scaled[-1], share)
print(f"share of t = 0 relative to t = T: {share:.1e}, before and after any rescaling")
findings["vanishing_share_t0"] = float(share)

# %% [markdown]
# ## Exercise: implement norm clipping
#
# Write `my_clip_grad_norm(grads, max_norm)`: `grads` is a list of numpy arrays (the gradients
# of all parameters), `max_norm` is $\tau$. Treat the arrays as **one** vector $g$: compute
# $\|g\| = \sqrt{\sum_{\text{arrays}} \sum_{\text{entries}} g_i^2}$, and if it exceeds
# $\tau$ multiply *every* array by $\tau / \|g\|$. Return `(clipped, norm)`: the list of
# clipped arrays (new arrays; leave the inputs alone) and the norm **before** clipping, which
# is what you would log. Two classic slips to avoid: clipping each array by its own norm
# (which changes the direction of $g$), and clipping each entry to $[-\tau, \tau]$ (value
# clipping, which some courses use; it also changes the direction).
#
# Replace the `raise` with your code and run the cell: the check says "not implemented yet" for
# the stub, and what is off otherwise.

# %%
def my_clip_grad_norm(grads, max_norm):
    # Your code here: norm = ..., then scale every array if norm > max_norm.
    raise NotImplementedError


check.clip_grad_norm(my_clip_grad_norm)

# %% [markdown]
# The course's reference, `rnncourse.clipping.clip_grad_norm`, passes the same check and agrees
# with torch's in-place `torch.nn.utils.clip_grad_norm_`:

# %%
from rnncourse.clipping import clip_grad_norm

rng = np.random.default_rng(SEED)
grads = [rng.normal(size=(4, 3)), rng.normal(size=(4,)), rng.normal(size=(2, 4))]
clipped, norm = clip_grad_norm(grads, 1.0)
tensors = [torch.tensor(g) for g in grads]
for tensor in tensors:
    tensor.grad = tensor.clone()
torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
assert np.isclose(norm, torch_norm.item())
assert all(np.allclose(c, t.grad.numpy(), rtol=1e-5) for c, t in zip(clipped, tensors))
print(f"norm before {norm:.4f}, after {np.sqrt(sum((c ** 2).sum() for c in clipped)):.4f}; "
      f"torch agrees")
assert check.clip_grad_norm(clip_grad_norm).passed  # the reference passes its own check

# %% [markdown]
# ## What this lesson measured
#
# The numbers above are saved for lesson 8, which compiles every lesson's findings.

# %%
path = save_result("04_gradient_flow", "gradient_flow", findings)
print(f"saved {len(findings)} groups of measurements to {path}")

# %% [markdown]
# **Next:** lesson 5 checks the classic papers' claims one by one with small experiments,
# starting from the ones this lesson made measurable.

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
