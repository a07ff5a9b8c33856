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
# # rnncourse: recurrent neural networks, built, checked and steered by hand
#
# This course teaches recurrent neural networks (RNNs) the way you would study them in a lab:
# write the equations, implement them, check them against a trusted implementation, then
# *move the knobs* and watch what happens. Every claim a lesson makes is measured in a cell
# that would fail if the claim were false, and every notebook is executed as a test.
#
# **For whom.** You know Python and numpy, what a gradient is and roughly how a feed-forward
# network is trained. No GPU is needed: everything runs on a laptop CPU (or one Binder core) in
# about a minute a lesson.
#
# **What you will be able to do.** Derive and implement backpropagation through time; explain
# why gradients vanish or explode and predict *how fast* from the weights; choose between an
# RNN, an LSTM and a GRU with measurements rather than folklore; read an attention map.

# %% [markdown]
# ## Check your environment
#
# Run the cell below (Shift+Enter). It prints the versions it found, shows a slider that
# drives a plot, and stops with a message naming what to install if something is missing.
# In Colab it first installs the course package.

# %%
import sys

from IPython.display import display

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

try:
    from rnncourse.environment import check_environment, demo_widget
except ImportError as err:
    raise ImportError(
        "The course package `rnncourse` is not installed in this kernel. From the project "
        "folder run `make lab` (it installs everything into .venv and starts JupyterLab), or "
        "`pip install -e .` inside the environment this kernel uses."
    ) from err

report = check_environment()
display(report)
assert report.ok, report.message

box, slider, figure = demo_widget()
display(box)

# %% [markdown]
# If a slider and a sine wave appear above and the wave changes when you drag the slider,
# widgets work in your browser. If you see "Loading widget..." forever, reload the page; if it
# persists, the notebook is probably opened in a different Python environment from the one
# `make lab` prepared (Kernel > Change Kernel).
#
# The next cell is what the course's tests do with widgets: set a value from code and check that
# the figure followed.

# %%
before = list(figure.data[0].y)
slider.value = 4.0
after = list(figure.data[0].y)
assert before != after, "the figure did not follow the slider"
print(f"slider at {slider.value}: the figure was redrawn ({len(after)} points)")

# %% [markdown]
# ## The lessons
#
# Each lesson is one step of an RNN study. Open them in order the first time; each takes
# about a minute to run top to bottom.
#
# | # | lesson | what you will get out of it |
# |---|---|---|
# | 1 | [Scope](01_scope.ipynb) | the recurrence h_t = f(W_hh h_{t-1} + W_xh x_t + b_h) on a real CO2 series; hidden-state dynamics you can steer |
# | 2 | [Core operations](02_core_operations.ipynb) | the forward pass and backpropagation through time by hand, checked numerically; the cost O(T(H² + HI)) measured |
# | 3 | [Variants](03_variants.ipynb) | RNN, LSTM, GRU, bidirectional and deep models, with the gates made visible |
# | 4 | [Gradient flow](04_gradient_flow.ipynb) | vanishing and exploding gradients: the spectral-norm bound, live; clipping |
# | 5 | [Literature](05_literature.ipynb) | the classic papers' claims, each checked by a small experiment |
# | 6 | [Experiments](06_experiments.ipynb) | RNN vs LSTM vs GRU on long-range tasks and real data: time, convergence, accuracy |
# | 7 | [Advanced](07_advanced.ipynb) | bidirectional encoders, attention you can inspect, seq2seq, CNN+RNN hybrids |
# | 7b | [Memory and long sequences](07b_memory_and_long_sequences.ipynb) | an outer-product memory against an LSTM, the parallel scan, minGRU and LRU trained through it |
# | 8 | [Findings](08_findings.ipynb) | the course's own measurements compiled into tables and plots, checked against theory |
#
# Lesson 8 reads what the others measured and checks it against theory; run it last (it
# recomputes anything missing, so it also works on its own).

# %% [markdown]
# ## How the sliders work
#
# Explorers are built from ipywidgets controls and plotly figures. Dragging a slider re-runs a
# small computation (a few tens of milliseconds) and redraws the figure in place. Settings that
# overflow or underflow float64 are shown honestly: the plot marks `inf`/`0` and a message says
# what happened. If a plot stops following its slider, re-run the cell that built it.
#
# ## How the exercises work
#
# Some cells ask you to write a function, for example `rnn_step_forward`. The cell below it
# calls a check from `rnncourse.check`, which runs your function against the course's reference
# on several random cases and answers with a verdict: passed, not implemented yet, or *what* is
# off (which output, which gate, which time step, transposed weights, a missing bias, ...). A
# check never raises an error into your notebook. Stuck? `check.show_solution("rnn_step_forward")`
# shows the reference solution.
#
# Every exercise you pass is kept in the results folder. This table lists them all, with the
# lesson each is in; run it again whenever you want to see where you are
# (`check.reset_progress()` starts over):

# %%
from rnncourse import check

progress = check.progress()
display(progress)
assert progress.total == len(check.EXERCISES) >= 16
assert set(progress.passed) <= set(check.EXERCISES)

# %% [markdown]
# ## Running the course
#
# **Locally** (Python 3.11 and `make`):
#
# ```bash
# make lab     # creates .venv, installs the pinned versions, opens JupyterLab here
# make test    # the same set-up, then every unit test and every lesson, as CI runs them
# ```
#
# **On Binder**: the badge in the README opens this page in JupyterLab on mybinder.org (about
# 1 CPU and 2 GB of memory, which every lesson fits). Sessions end after ten idle minutes;
# download what you want to keep. The 2 GB are for every open lesson together, so shut each
# lesson's kernel down when you finish it (*Kernel > Shut Down Kernel*; the end of every
# lesson says how).
#
# **In Colab**: each lesson has an "Open in Colab" link in the README; its first cell installs the
# course package when it detects Colab.
#
# Lesson text and figures are CC BY 4.0, code is MIT: see `LICENSE`.

# %% [markdown]
# **Done with this lesson?** Shut its kernel down to give its memory back: each open lesson's
# kernel holds 0.3-0.6 GB, and Binder has about 2 GB for all of them together (closing the tab
# leaves the kernel running). In JupyterLab: *Kernel > Shut Down Kernel*, or the *Running
# Terminals and Kernels* panel (the square-in-a-circle icon in the left sidebar), then *Shut
# Down* next to this lesson.
