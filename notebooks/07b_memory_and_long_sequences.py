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
# # Lesson 7b · A memory the network writes to, and recurrences that train in parallel
#
# Lesson 7's attention reads from a memory the network cannot change. This lesson gives the
# network a memory it **writes** to, and then follows the line of work that, since 2023, has
# brought recurrent networks back for long sequences: recurrences that are **linear in the
# state**, so that all T steps can be computed by a **parallel scan** instead of one after the
# other.
#
# By the end of this lesson you will have
# 1. trained an outer-product memory and an LSTM of the same size on associative recall, and
#    seen the LSTM fall behind as the number of pairs grows, and read what the memory retrieves,
# 2. written the linear recurrence $h_t = a_t \odot h_{t-1} + b_t$ as an associative operator
#    and computed it with a work-efficient scan, equal to the loop to $10^{-12}$,
# 3. measured what the scan costs here, on a CPU, against the loop: time, work and depth,
# 4. trained a minGRU and an LRU through the scan on the adding problem at T = 256 against
#    `torch.nn.GRU` and `torch.nn.LSTM` on the same CPU-time budget,
# 5. seen that for a diagonal linear recurrence the gradient shrinks by exactly $|\lambda|$ per
#    step, and moved the ring of eigenvalues that sets the memory horizon.
#
# Paper numbers quoted here are marked *read* (checked in the paper's abstract or its reference
# implementation) or *recalled* (from memory of the paper, not re-read).

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
from IPython.display import Markdown, display

from rnncourse import (
    figstyle,
    linear_rnn,
    literature,
    long_range,
    memory,
    modern_claims,
    parallel,
    recall,
    scan,
)
from rnncourse.explorers.lru import LRUExplorer
from rnncourse.results import load_results, save_result
from rnncourse.threads import set_threads

set_threads()  # one torch thread: small recurrent models are latency-bound
figstyle.use()  # the course's figure style for every plot below
SEED = 0
findings = {}  # every number this lesson measures, saved at the end for lesson 8

# %% [markdown]
# ## 1 · A memory the network writes to
#
# **Associative recall** (Ba et al. 2016; Arora et al. 2023 call the many-query form MQAR): a
# sequence shows $n$ (key, value) pairs, then one of the keys again; the answer is its value.
# Here a step is a pair, $x_t = [\mathrm{onehot}(\text{key}_t); \mathrm{onehot}(\text{value}_t)]$
# (32 keys, 16 values), the last step the query key alone. Guessing scores $1/16$.
#
# An LSTM must squeeze all $n$ pairs into its state vector $c_t$. An **outer-product memory**
# keeps a matrix instead, written once per step and read with a query:
#
# $$k_t = W_k x_t,\quad v_t = W_v x_t,\quad q_t = W_q x_t,\qquad
# S_t = \lambda S_{t-1} + v_t k_t^\top,\qquad y_t = S_t q_t
# = \sum_{s \le t} \lambda^{t-s}\,(k_s^\top q_t)\, v_s .$$
#
# The read is a sum of the stored values weighted by how well their keys match the query:
# attention without the softmax (**linear attention**), Ba et al.'s **fast weights**, and, with
# learned gates in front of $\lambda$ and $v_t k_t^\top$, the matrix memory of xLSTM's mLSTM
# (Beck et al. 2024). With orthonormal keys the read is exact: $S_T k_s = v_s$ for $\lambda = 1$.
# The answer is $\mathrm{softmax}(W_o y_T + b_o)$. Parameters: $3DI + 16(D+1)$ for the memory
# (D = 32), $4H(I+H+2) + 16(H+1)$ for the LSTM; `recall.lstm_size_for` picks the H that matches.
#
# Both train with Adam, clip 1, batches of 64 fresh sequences, at most 300 steps, stopping once
# the **validation** error (500 sequences, their own seed) is below 1%. The LSTM is given the
# better of two learning rates, chosen on validation; the test set (1000 sequences) is used
# once, at the end.

# %%
PAIRS = [2, 4, 8, 16]
RECALL = {"steps": 300, "n_keys": 32, "n_values": 16, "memory_size": 32, "seed": SEED}
calls = ([{"kind": "memory", "n_pairs": n, "lr": 3e-3, **RECALL} for n in PAIRS]
         + [{"kind": "lstm", "n_pairs": n, "lr": lr, **RECALL} for n in PAIRS
            for lr in (3e-3, 1e-2)])
runs = parallel.run_each(long_range.recall_run, calls, progress=True, desc="recall runs")
parallel.shutdown()  # no idle worker beside the timings below (part 4 starts a fresh one)
mem_runs = dict(zip(PAIRS, runs[:len(PAIRS)]))
lstm_runs = {}
for n in PAIRS:  # the LSTM's learning rate: the better validation error of the two
    pair = [r for c, r in zip(calls, runs) if c["kind"] == "lstm" and c["n_pairs"] == n]
    lstm_runs[n] = min(pair, key=lambda r: r.best_eval)


def test_accuracy(result, n):
    x, y = recall.recall_test_set(n, 1000, long_range.TEST_SEED, n_keys=32, n_values=16)
    with torch.no_grad():
        return recall.accuracy(result.model(x), y)


acc = {name: {n: test_accuracy(r, n) for n, r in table.items()}
       for name, table in (("memory", mem_runs), ("lstm", lstm_runs))}
print(f"parameters: memory {mem_runs[2].n_params}, LSTM {lstm_runs[2].n_params} "
      f"(H = {lstm_runs[2].model.lstm.hidden_size})")
for n in PAIRS:
    print(f"{n:>2} pairs: memory {acc['memory'][n]:.3f} test accuracy after "
          f"{mem_runs[n].steps} steps; LSTM {acc['lstm'][n]:.3f} after {lstm_runs[n].steps} "
          f"steps (lr {lstm_runs[n].config['lr']:g}); chance {recall.chance(16):.3f}")
gap = {n: acc["memory"][n] - acc["lstm"][n] for n in PAIRS}
assert abs(mem_runs[2].n_params - lstm_runs[2].n_params) / mem_runs[2].n_params < 0.05
assert all(acc["memory"][n] >= 0.95 for n in PAIRS)
assert gap[16] > 0.5 and gap[16] > gap[2], gap
findings["recall"] = {"pairs": PAIRS, "memory_accuracy": acc["memory"],
                      "lstm_accuracy": acc["lstm"], "gap": gap,
                      "n_params": {"memory": mem_runs[2].n_params,
                                   "lstm": lstm_runs[2].n_params},
                      "memory_steps": {n: r.steps for n, r in mem_runs.items()},
                      "lstm_lr": {n: r.config["lr"] for n, r in lstm_runs.items()}}

# %%
fig = figstyle.figure()
for name, colour in (("memory", figstyle.BLUE), ("lstm", figstyle.VERMILLION)):
    fig.add_scatter(x=PAIRS, y=[acc[name][n] for n in PAIRS], mode="lines+markers",
                    name="outer-product memory" if name == "memory" else "LSTM, same size",
                    line=dict(color=colour))
fig.update_layout(title="Associative recall: test accuracy after the same budget",
                  xaxis_title="pairs to remember", yaxis_title="test accuracy",
                  xaxis_type="log", yaxis_range=[0, 1.05])
figstyle.hline(fig, recall.chance(16), "chance")
fig.show()

# %% [markdown]
# ### What the memory reads
#
# Take one test sequence of 8 pairs and ask for each of its keys in turn. The read is
# $y_T = \sum_s (k_s^\top q_T)\, v_s$, so the weights $k_s^\top q_T$ say which stored pair each
# query retrieves. A memory that works puts its weight on the diagonal.

# %%
n = 8
x, y, keys, values, asked = recall.recall_batch(1, n, np.random.default_rng(7), n_keys=32,
                                                n_values=16, return_tokens=True)
queries = x.repeat(1, n, 1)  # (T, n, I): the same pairs n times, query s at the end of row s
queries[-1] = 0
queries[-1, torch.arange(n), torch.as_tensor(keys[0])] = 1.0
model = mem_runs[n].model
with torch.no_grad():
    k, v, q = model.parts(queries)
    weights = memory.read_weights(k[:-1], q[-1])  # (queries, stored pairs)
    answers = model(queries).argmax(dim=1).numpy()
diag_share = np.mean(np.diag(np.abs(weights)) / np.abs(weights).sum(axis=1))
print(f"each query's largest weight is on its own pair: "
      f"{np.mean(weights.argmax(axis=1) == np.arange(n)):.0%}; diagonal share of |weights| "
      f"{diag_share:.2f}; answers correct {np.mean(answers == values[0]):.0%}")
assert np.all(weights.argmax(axis=1) == np.arange(n)) and np.all(answers == values[0])
findings["recall"]["read_weights"] = weights
findings["recall"]["diagonal_share"] = float(diag_share)
labels = [f"k{keys[0, s]}→v{values[0, s]}" for s in range(n)]
fig = figstyle.figure(go.Heatmap(z=weights, x=list(range(n)), y=list(range(n)),
                                 colorscale=figstyle.DIVERGING, zmid=0,
                                 colorbar=dict(title="kₛᵀq")),
                      title="Read weights of the trained memory (8 pairs)")
figstyle.label_axis(fig, labels, "x", title="stored pair s")
figstyle.label_axis(fig, [f"ask k{keys[0, s]}" for s in range(n)], "y", title="query")
fig.show()

# %% [markdown]
# The memory holds the pairs side by side in a $32 \times 32$ matrix, so 16 pairs cost it
# nothing more than 2; the LSTM of the same size superposes them in 18 numbers and loses them.
# Ba et al. report the same direction on their character version (*recalled*: with 20 hidden
# units about 61% error for an LSTM against about 2% with fast weights).
#
# **Relatives.** A *Neural Turing Machine* (Graves et al. 2014) writes and reads a memory
# matrix through soft addressing by content and location; *end-to-end memory networks*
# (Sukhbaatar et al. 2015) read a memory of facts with several hops of attention; both learn
# tasks such as copying and question answering an LSTM finds hard, and both are slow and
# fragile to train (widely reported), which is why we do not train one here. The outer-product
# memory is the simplest member of the family: content addressing only, one write per step, no
# learned controller, and it trains in seconds. xLSTM's mLSTM adds exponential input and forget
# gates to it and stacks it into a language model. And because $S_t = \lambda S_{t-1} +
# v_t k_t^\top$ is linear in $S$, it is itself a linear recurrence, the subject of the rest of
# this lesson (`memory.memory_torch` runs it through the scan below).
#
# ### Exercise 1: write the memory
#
# Write `my_memory_forward(k, v, q, decay)`: `k` and `q` are $(T, B, D_k)$, `v` is
# $(T, B, D_v)$, the memory starts empty, $S_0 = 0$. At each step write first,
# $S_t = \lambda S_{t-1} + v_t k_t^\top$ (a $(B, D_v, D_k)$ array), then read, $y_t = S_t q_t$.
# Return `(y, S)`: every read $(T, B, D_v)$ and the final memory $S_T$. The check runs it with
# $D_k \ne D_v$, $B = 1$ and $T = 1$, and names the slip (read before the write, a transposed
# outer product, the decay on the new write, ...). `check.show_solution("memory_forward")`
# shows the course's version once you have tried.

# %%
from rnncourse import check


def my_memory_forward(k, v, q, decay):
    # Your code here: S = decay * S + outer(v_t, k_t) for every t, then y_t = S q_t.
    raise NotImplementedError


check.memory_forward(my_memory_forward)

# %%
assert check.memory_forward(memory.memory_forward).passed  # the reference passes its own check

# %% [markdown]
# ## 2 · Linear recurrences and the parallel scan
#
# A GRU's update $h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t$ would be linear in $h_{t-1}$ if the
# gates did not depend on it. Such a recurrence is
#
# $$h_t = a_t \odot h_{t-1} + b_t .$$
#
# One step is the affine map $h \mapsto a h + b$; two steps compose into another one,
#
# $$(a, b) \circ (a', b') = (a' a,\; a' b + b'),$$
#
# and composition of maps is **associative**: $((x \circ y) \circ z) = (x \circ (y \circ z))$.
# So the prefixes $x_1 \circ \dots \circ x_t$ (whose $b$ part is $h_t$) can be bracketed any way
# we like, and a tree of brackets needs only $O(\log T)$ rounds (Blelloch 1990; for RNNs,
# Martin & Cundy 2018). `scan.blelloch` does the work-efficient version:
#
# * **up-sweep**: combine neighbours at strides 1, 2, 4, ...: afterwards position $r$ holds the
#   combination of the block of length $2^k$ ending at $r$;
# * **down-sweep**: at strides ..., 4, 2, 1, complete every remaining prefix from the complete
#   one on its left.
#
# Fewer than $2T$ combines in $2\lceil\log_2 T\rceil$ rounds, against $T$ combines in $T$ rounds
# for the loop. Every combine of a round is independent of the others: on hardware with enough
# parallel lanes a round costs one step. Heinsen (2023) computes the same thing with two
# cumulative sums in log space, $h_t = e^{a^*_t} \sum_{s \le t} b_s e^{-a^*_s}$ with
# $a^*_t = \sum_{s\le t} \log a_s$ (`scan.log_space`): it needs real $a_t > 0$.

# %%
rng = np.random.default_rng(SEED)
checks = {}
for T in (1, 7, 1000):  # T = 1, a non-power of two, a long one
    a = rng.uniform(-1.1, 1.1, (T, 4, 8))
    b = rng.standard_normal((T, 4, 8))
    ref = scan.sequential(a, b)
    checks[f"blelloch_T{T}"] = float(np.abs(scan.blelloch(a, b) - ref).max())
    a_pos = np.abs(a) + 0.05
    checks[f"log_space_T{T}"] = float(np.abs(scan.log_space(a_pos, b)
                                             - scan.sequential(a_pos, b)).max())
lam = 0.97 * np.exp(1j * rng.uniform(-np.pi, np.pi, (300, 2, 4)))  # complex a_t
bc = rng.standard_normal((300, 2, 4)) + 1j * rng.standard_normal((300, 2, 4))
checks["blelloch_complex"] = float(np.abs(scan.blelloch(lam, bc) - scan.sequential(lam, bc)).max())
# gradients: the scan's own backward (a reversed scan) against autograd through the loop
at = torch.tensor(rng.uniform(-1, 1, (257, 3, 5)), requires_grad=True)
bt = torch.tensor(rng.standard_normal((257, 3, 5)), requires_grad=True)
w = torch.tensor(rng.standard_normal((257, 3, 5)))
grads = [torch.autograd.grad((f(at, bt) * w).sum(), (at, bt))
         for f in (scan.sequential_torch, scan.blelloch_torch)]
checks["gradient"] = max(float((g1 - g2).abs().max()) for g1, g2 in zip(*grads))
for name, err in checks.items():
    print(f"{name:>18}: max |scan - loop| = {err:.1e}")
assert max(checks.values()) < 1e-12
try:
    scan.log_space(np.array([[0.5], [-0.2]]), np.ones((2, 1)))
except ValueError as err:
    refusal = str(err)
print("log-space form with a_t = -0.2:", refusal)
assert "a_t > 0" in refusal
findings["scan_checks"] = checks

# %% [markdown]
# ### Exercise 2: the recurrence, step by step
#
# Write `my_linear_recurrence(a, b, h0)`: `a`, `b` are $(T, B, H)$, `h0` is $(B, H)$; return
# `h` $(T, B, H)$ with `h[t]` the state after step t, $h_t = a_t \odot h_{t-1} + b_t$ (so
# `h[0] = a[0] * h0 + b[0]`). A loop is the definition; a scan written with the operator above
# passes too, if it composes the maps in the right order. `check.show_solution(
# "linear_recurrence")` shows the course's loop once you have tried.

# %%
def my_linear_recurrence(a, b, h0):
    # Your code here: h = a[t] * h + b[t] for every t, collecting each h.
    raise NotImplementedError


check.linear_recurrence(my_linear_recurrence)

# %%
assert check.linear_recurrence(scan.sequential).passed  # the reference passes its own check

# %%
Ts = 2 ** np.arange(0, 15)
counts = {m: [scan.scan_counts(int(T), m) for T in Ts] for m in ("sequential", "blelloch")}
for T, s, p in zip(Ts[[3, 6, 10, 14]], *(np.array(counts[m])[[3, 6, 10, 14]]
                                          for m in ("sequential", "blelloch"))):
    print(f"T = {T:>5}: loop work {s['work']:>5}, depth {s['depth']:>5} | scan work "
          f"{p['work']:>5} ({p['work'] / T:.2f} T), depth {p['depth']:>2}")
depth = np.array([c["depth"] for c in counts["blelloch"]])
work = np.array([c["work"] for c in counts["blelloch"]])
depth_slope = np.polyfit(np.log2(Ts[1:]), depth[1:], 1)[0]
print(f"scan depth = {depth_slope:.2f} log2 T + const; work at most {np.max(work / Ts):.2f} T")
assert abs(depth_slope - 2) < 1e-9 and np.all(work <= 2 * Ts)
findings["counts"] = {"T": Ts, "blelloch_work": work, "blelloch_depth": depth}
fig = figstyle.figure()
fig.add_scatter(x=Ts, y=Ts, name="loop: work = depth = T", mode="lines")
fig.add_scatter(x=Ts, y=work, name="scan: work", mode="lines+markers")
fig.add_scatter(x=Ts, y=depth, name="scan: depth (dependent rounds)", mode="lines+markers")
fig.update_layout(xaxis_title="T", yaxis_title="combines", title="Work and depth, counted")
fig.update_xaxes(**figstyle.LOG)
fig.update_yaxes(**figstyle.LOG)
fig.show()

# %% [markdown]
# ## 3 · What the scan costs on this machine
#
# Counted depth is not time. This machine has 2 CPU cores; a "round" of the scan is one
# vectorised torch call over all its combines, so the scan makes about $4 \log_2 T$ calls where
# the loop makes $2T$. The gain on a CPU is **vectorisation** (few large calls instead of many
# small ones); the arithmetic is the same $O(T)$. The loop's time grows like $T$; the scan's
# grows more slowly than $T$ at these sizes, because its cost is still partly the fixed
# overhead of its $4 \log_2 T$ calls, and tends to $T$ once the tensors are large. What a GPU
# changes is depth: with thousands of lanes, a round really costs one step, and time grows like
# $\log T$ until the lanes run out.
#
# Timing as in lesson 2: CPU time of this process on one thread (waiting for another program
# is not cost), the fastest of 5 interleaved rounds over all sizes (load only ever adds time),
# with the spread of the rounds printed as the noise the tolerances must cover.

# %%
COST_T = [64, 256, 1024, 4096, 16384]
timing = long_range.scan_timings(COST_T, batch=4, hidden_size=16, rounds=5, progress=True)
noise = float(np.median([s for m in ("sequential", "blelloch") for s in timing["spread"][m]]))
tol = max(0.15, 2 * (noise - 1))
fit = {m: np.polyfit(np.log(COST_T[2:]), np.log(timing[m][2:]), 1)[0]
       for m in ("sequential", "blelloch", "cumsum")}
for k, T in enumerate(COST_T):
    print(f"T = {T:>5}: loop {1e3 * timing['sequential'][k]:8.2f} ms, scan "
          f"{1e3 * timing['blelloch'][k]:6.2f} ms, cumsum {1e3 * timing['cumsum'][k]:6.2f} ms;"
          f" loop / scan {timing['sequential'][k] / timing['blelloch'][k]:5.1f}x")
print(f"noise: median round / fastest round = {noise:.2f}, so exponents are checked to "
      f"+-{tol:.2f}")
print("time ~ T^k for T >= 1024: " + ", ".join(f"{m} k = {v:.2f}" for m, v in fit.items()))
speedup = timing["sequential"][-1] / timing["blelloch"][-1]
assert abs(fit["sequential"] - 1) < tol and fit["blelloch"] < 1 + tol
assert speedup > 3, speedup
findings["cost"] = timing | {"fit_exponent": fit, "noise": noise, "speedup_longest": speedup}

# %% [markdown]
# With only 64 channels a loop step is a few microseconds of call overhead around almost no
# arithmetic, so the scan wins by a large factor. Widen the channels and the loop's calls fill
# up with work; on a CPU, where there is no idle parallel hardware for the scan to use, the
# advantage shrinks (here measured at B = 16, H = 256, T = 1024, `make bench` reports T = 4096).

# %%
wide = long_range.scan_timings([1024], batch=16, hidden_size=256, rounds=3)
wide_ratio = wide["sequential"][0] / wide["blelloch"][0]
narrow_ratio = timing["sequential"][2] / timing["blelloch"][2]
print(f"T = 1024: loop / scan = {narrow_ratio:.1f}x with 64 channels, {wide_ratio:.1f}x with "
      f"4096; scan / cumsum = {wide['blelloch'][0] / wide['cumsum'][0]:.1f}x (wide)")
assert wide_ratio < narrow_ratio
findings["cost"]["wide_T1024"] = wide | {"loop_over_scan": wide_ratio}
fig = figstyle.figure()
for m, name in (("sequential", "loop"), ("blelloch", "scan"), ("cumsum", "one cumsum")):
    fig.add_scatter(x=COST_T, y=1e3 * np.array(timing[m]), mode="lines+markers", name=name)
fig.update_layout(xaxis_title="T", yaxis_title="CPU ms (fastest of 5)",
                  title="Forward time, 64 channels, 1 thread")
fig.update_xaxes(**figstyle.LOG)
fig.update_yaxes(**figstyle.LOG)
fig.show()

# %% [markdown]
# ## 4 · minGRU and LRU, trained through the scan
#
# **minGRU** (Feng et al. 2024): the GRU with gates that read the input only,
#
# $$z_t = \sigma(W_z x_t + b_z),\qquad \tilde h_t = W_h x_t + b_h,\qquad
# h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t ,$$
#
# a linear recurrence with $a_t = 1 - z_t$, $b_t = z_t \tilde h_t$. Two layers here (the second
# layer's gates read the first's states).
#
# **LRU** (Orvieto et al. 2023): a diagonal complex recurrence of N modes,
#
# $$\lambda_j = \exp(-e^{\nu_j} + i\,e^{\theta_j}),\quad \gamma_j = \sqrt{1 - |\lambda_j|^2},\quad
# x_t = \lambda \odot x_{t-1} + \gamma \odot (B u_t),\quad y_t = \mathrm{Re}(C x_t) + D \odot u_t,$$
#
# stable for every $\nu$ ($|\lambda| = e^{-e^{\nu}} < 1$), eigenvalues initialised uniformly on
# the ring $r_{\min} \le |\lambda| \le r_{\max}$ (here $[0.99, 0.999]$, phases up to 0.1, for a
# long memory), $\gamma$ keeping the state's scale that of the input. Its recurrence is linear
# and time-invariant, so a ReLU layer in front forms what must be multiplied (value times
# marker) before it. Both are trained through `scan.blelloch_torch`.
#
# The task is lesson 6's **adding problem** at T = 256 (predicting the mean gives MSE 1/6).
# The budget is the same **CPU time** for every model, 8 seconds of one core: each model's step
# is timed first and it gets as many steps as fit (at most 600), stopping early once the
# validation MSE (300 sequences) is below 0.01. H = 32, batch 32, Adam with learning rate 0.01
# (in a development run the linear models at 0.003 had not left the plateau after 400 steps;
# the GRU and LSTM get the same rate), clip 1.

# %%
T_LONG, BUDGET_S = 256, 8.0
step_s = {m: long_range.step_seconds(m, T=T_LONG, repeats=2) for m in long_range.MODELS}
budget_steps = {m: int(min(600, BUDGET_S / s)) for m, s in step_s.items()}
print("CPU ms per training step at T = 256: "
      + ", ".join(f"{m} {1e3 * s:.1f}" for m, s in step_s.items()))
print("steps in the budget: " + ", ".join(f"{m} {n}" for m, n in budget_steps.items()))
adding = dict(zip(long_range.MODELS, parallel.run_each(
    long_range.adding_run,
    [{"name": m, "T": T_LONG, "steps": budget_steps[m], "seed": SEED} for m in long_range.MODELS],
    progress=True, desc="adding problem, T = 256")))
parallel.shutdown()  # the last runs that go to a worker: give its memory back now

# %%
test_mse = {m: long_range.test_metric(r.model, T_LONG) for m, r in adding.items()}
for m, r in adding.items():
    print(f"{m:>6}: {r.n_params:>5} parameters, {r.steps:>3} steps, steps to validation MSE < "
          f"0.01: {r.steps_to_target}, test MSE {test_mse[m]:.4f}")
best_linear = min(test_mse["mingru"], test_mse["lru"])
best_gated = min(test_mse["gru"], test_mse["lstm"])
print(f"best linear recurrence {best_linear:.4f} against best torch.nn cell {best_gated:.4f} "
      f"(baseline 1/6 = {1 / 6:.4f})")
assert best_linear < 0.05 and best_linear < 0.5 * best_gated
assert budget_steps["mingru"] > budget_steps["gru"]
findings["adding"] = {m: r.to_dict() | {"test_mse": test_mse[m], "cpu_s_per_step": step_s[m]}
                      for m, r in adding.items()}
fig = figstyle.figure()
for m, r in adding.items():
    steps, mse = zip(*r.evals)
    fig.add_scatter(x=np.array(steps) * step_s[m], y=mse, mode="lines+markers", name=m)
fig.update_layout(xaxis_title="CPU seconds of training", yaxis_title="validation MSE",
                  title="Adding problem, T = 256, same CPU budget")
fig.update_yaxes(**figstyle.LOG)
figstyle.hline(fig, 1 / 6, "predict the mean")
fig.show()

# %% [markdown]
# Time per training step at longer T: Feng et al. report minGRU 175x faster than a GRU per
# training step at length 512 (*read*, on a GPU) and about 1300x at 4096 (*secondary*). On one
# CPU thread we measure (fastest of 2 steps after a warm-up):

# %%
per_step = {T: {m: long_range.step_seconds(m, T=T, repeats=1) for m in ("mingru", "gru", "lstm")}
            for T in (512, 2048)}
for T, row in per_step.items():
    print(f"T = {T}: " + ", ".join(f"{m} {1e3 * s:.0f} ms" for m, s in row.items())
          + f"; GRU / minGRU = {row['gru'] / row['mingru']:.1f}x")
assert all(row["mingru"] < row["gru"] for row in per_step.values())
findings["per_step"] = per_step

# %% [markdown]
# minGRU is faster per step than the GRU here too, by a few times rather than by 175x: the
# CPU has no idle lanes for the scan's rounds, so the gain is the vectorisation of part 3, not
# depth. `torch.nn.LSTM`'s CPU kernel is much faster than its GRU's, and against it the minGRU
# is no faster at all at some lengths (printed above): Feng et al. compare minGRU with the GRU
# and minLSTM with the LSTM.
# Feng et al. also report that one minGRU layer fails their selective-copying task while two
# and three layers solve it (*secondary*: 37.0%, 96.8%, 99.5%). That needs longer training
# than this lesson's budget allows, so we have **not** checked it.
#
# ## 5 · Gradients that neither vanish nor explode, by construction
#
# Along one mode of $x_t = \lambda x_{t-1} + b_t$,
# $\partial x_T / \partial x_t = \lambda^{T-t}$, so the gradient reaching step t is
# $\partial L / \partial x_t = \bar\lambda^{\,T-t}\, \partial L / \partial x_T$ and its size
# changes by **exactly** $|\lambda|$ per step back: lesson 4's bound $\gamma\,\sigma_{\max}$ is
# an equality here (no activation, a diagonal matrix). With the ring
# $r_{\min} \le |\lambda| \le r_{\max} < 1$ nothing explodes, and mode j remembers for about
# $-1/\ln|\lambda_j|$ steps: $r_{\max} = 0.999$ is a horizon of 1000 steps. We measure it by
# autograd through the scan:

# %%
nu_log, theta_log = linear_rnn.ring_init(16, 0.5, 0.99, np.pi, rng=SEED)
lam = linear_rnn.lru_eigenvalues(nu_log, theta_log)
bt = torch.zeros(100, 16, dtype=torch.complex128, requires_grad=True)
h = scan.blelloch_torch(torch.as_tensor(lam).expand(100, -1), bt)
h[-1].real.sum().backward()
g = bt.grad.abs().numpy()  # |dL/dx_t| per mode, (T, N)
rate = g[:-1] / g[1:]  # per step back
err = float(np.abs(rate - np.abs(lam)).max())
print(f"per-step rate of |dL/dx_t| against |lambda_j|, 16 modes x 99 steps: max difference "
      f"{err:.1e}; horizons -1/ln|lambda| from {(-1 / np.log(np.abs(lam))).min():.1f} to "
      f"{(-1 / np.log(np.abs(lam))).max():.1f} steps")
assert err < 1e-12
findings["gradient_rate"] = {"max_error": err, "abs_lambda": np.abs(lam)}

# %% [markdown]
# ### The ring explorer
#
# Move $r_{\min}$, $r_{\max}$ and the phase range. Left, the 32 eigenvalues; right, the norm
# of $\partial L / \partial x_t$ over all modes for $L = \mathrm{Re}\sum_j x_{T,j}$, measured by
# autograd through the scan. Far from T only the slowest modes are left, so the curve follows
# $r_{\max}^{T-t}$ (dashed); the phase turns the eigenvalues and changes no norm.

# %%
explorer = LRUExplorer(r_min=0.5, r_max=0.95, max_phase=3.14)
display(explorer)

# %%
before = explorer.norms[0]
explorer.r_max.value = 0.99  # a longer horizon: more of the gradient reaches t = 1
print(f"||dL/dx_1||: {before:.2e} at r_max = 0.95, {explorer.norms[0]:.2e} at r_max = 0.99")
assert explorer.norms[0] > 10 * before

# %% [markdown]
# ## What this lesson measured
#
# * An outer-product memory of the LSTM's size solves associative recall at every number of
#   pairs tried; the LSTM's accuracy falls towards chance as pairs are added.
# * The scan equals the loop to $10^{-12}$ (values, complex values, gradients); its depth is
#   $2\log_2 T$, its work under $2T$.
# * On this CPU the loop's time grows like T and the scan wins by vectorisation, by less as
#   the channels widen.
# * On the same CPU-time budget, a minGRU or an LRU trained through the scan solves the adding
#   problem at T = 256, where the GRU and LSTM have not left the mean.
# * The gradient of a diagonal linear recurrence shrinks by exactly $|\lambda|$ per step.
#
# The numbers are saved for lesson 8.

# %%
def save_findings(found: dict) -> None:
    """Every record of this lesson, one name each (the one place that writes results)."""
    for name, data in found.items():
        path = save_result("07b_memory_and_long_sequences", name, data)
    print(f"saved {len(found)} records to {path.parent}")


findings["config"] = {"recall": RECALL, "adding_T": T_LONG, "budget_cpu_s": BUDGET_S,
                      "seed": SEED}
save_findings(findings)

# %% [markdown]
# ## The papers' claims, checked
#
# Lesson 5's table of the literature ends with the four papers of this lesson. Each claim is
# stated as the paper makes it and decided from the records just saved
# (`rnncourse.modern_claims` reads the declared fields, the same function lesson 5 calls):
# **agrees**, **partly** or **disagrees**, with the reason. Numbers marked *read* were checked
# in the paper's abstract, *recalled* ones come from memory of the paper.

# %%
saved = load_results(lesson=modern_claims.LESSON).by_name()
paper_claims = modern_claims.claims({name: saved[name].data for name in modern_claims.RECORDS})
display(Markdown(literature.claims_table(paper_claims)))
print(literature.verdict_summary([c.verdict for c in paper_claims]))
assert [c.paper for c in paper_claims] == ["ba2016", "martin2018", "orvieto2023", "feng2024"]
assert all(c.verdict == "agrees" or c.why for c in paper_claims)
_ = save_result("07b_memory_and_long_sequences", "claims",  # `_ =`: no PosixPath repr
                {"claims": [c.to_dict() for c in paper_claims]})

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
