"""Lesson 5: the classic papers' claims, each with a small experiment that checks it in seconds.

:data:`PAPERS` holds the reference list (full citations, the claim in one sentence, its key
equation or setting); :func:`citation`, :func:`bibliography` and :func:`paper_map` format it.
The experiments (all seeded, one torch thread, float64 where no training is involved):

* :func:`vanishing_check`: Bengio et al. 1994 / Pascanu et al. 2013, the per-step rate of
  ``||dL/dh_t||`` against the bound ``gamma * sigma_max``.
* :func:`carousel_check`: Hochreiter & Schmidhuber 1997, the constant error carousel: an LSTM
  whose forget gate is 1 (the 1997 LSTM had none) keeps its gradient over 200 steps.
* :func:`cell_state_growth`: Gers et al. 2000, without a forget gate the cell state of an LSTM
  fed a continual stream grows without bound and saturates ``tanh(c)``.
* :func:`forget_bias_gradient`: Jozefowicz et al. 2015's forget-gate bias of 1, seen in the
  gradient that reaches the first step at initialisation.
* :func:`gated_race`: LSTM (forget bias 0 and 1) and GRU on the adding problem, the same budget
  and seeds for each (Chung et al. 2014, Jozefowicz et al. 2015, Greff et al. 2017).
* :func:`clipping_check`: Pascanu et al. 2013, clipping turns a diverging run into a converging
  one (:func:`rnncourse.clipping.exploding_run`).
* :func:`bidirectional_check`: Schuster & Paliwal 1997, a bidirectional RNN against a
  one-directional one when the target depends on the future.
* :func:`attention_check`: Bahdanau et al. 2015, exact match with and without attention, by
  source length.
* :func:`learning_rate_sweep`: Greff et al. 2017, the learning rate explains more of the
  variation in performance than the hidden size.
* Zaremba et al. 2014 (dropout on the non-recurrent connections) is checked in lesson 6
  (:mod:`rnncourse.deep`); its :class:`Claim` is saved there as ``06_experiments/literature``
  and joins this lesson's claims in lesson 8.

:class:`Claim` and :func:`claims_table` make the lesson's closing table; :class:`Verdict`
(agrees / partly / disagrees) is the verdict type lessons 5 and 8 share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from . import validate

__all__ = [
    "Paper", "PAPERS", "paper", "citation", "bibliography", "paper_map",
    "NO_FORGET_BIAS", "vanishing_check", "carousel_check", "CellStateGrowth", "cell_state_growth",
    "forget_bias_gradient", "mean_forget_bias", "gated_race", "clipping_check",
    "bidirectional_check", "attention_check", "LearningRateSweep", "learning_rate_sweep",
    "choose_on_validation",
    "RACE_MODELS", "Verdict", "verdict_summary", "Claim", "claims_table",
]


# --- the reference list -----------------------------------------------------------------------

@dataclass(frozen=True)
class Paper:
    """One paper: ``key`` (e.g. ``"pascanu2013"``), full citation fields, the ``claim`` this
    course checks (one sentence) and its key equation or ``setting``."""

    key: str
    authors: str
    year: int
    title: str
    venue: str
    link: str
    claim: str
    setting: str

    @property
    def short(self) -> str:
        """``"Pascanu et al. 2013"``, ``"Hochreiter & Schmidhuber 1997"``."""
        names = [n.strip() for part in self.authors.split(" and ") for n in part.split(",")
                 if n.strip()]
        surnames = [n.split()[-1] for n in names]
        if len(surnames) == 2:
            return f"{surnames[0]} & {surnames[1]} {self.year}"
        if len(surnames) == 1:
            return f"{surnames[0]} {self.year}"
        return f"{surnames[0]} et al. {self.year}"


PAPERS: tuple[Paper, ...] = (
    Paper("bengio1994", "Yoshua Bengio, Patrice Simard and Paolo Frasconi", 1994,
          "Learning long-term dependencies with gradient descent is difficult",
          "IEEE Transactions on Neural Networks 5(2), 157-166", "doi:10.1109/72.279181",
          "A recurrent network that stores information robustly (contracting dynamics) has "
          "gradients that decay exponentially with the time lag, so gradient descent cannot "
          "learn long-term dependencies.",
          "||dh_T/dh_t|| <= (gamma sigma_max(W_hh))^(T-t); latch, 2-sequence and parity "
          "problems"),
    Paper("hochreiter1997", "Sepp Hochreiter and Jürgen Schmidhuber", 1997,
          "Long short-term memory", "Neural Computation 9(8), 1735-1780",
          "doi:10.1162/neco.1997.9.8.1735",
          "A memory cell with a self-connection of weight 1 (the constant error carousel) "
          "carries error back over long time lags without vanishing or exploding, so LSTM "
          "learns lags of 1000 steps where RNNs fail.",
          "c_t = c_{t-1} + i_t * g_t, so dc_t/dc_{t-1} = 1 (no forget gate); adding problem "
          "with T up to 1000"),
    Paper("schuster1997", "Mike Schuster and Kuldip K. Paliwal", 1997,
          "Bidirectional recurrent neural networks",
          "IEEE Transactions on Signal Processing 45(11), 2673-2681", "doi:10.1109/78.650093",
          "Running one RNN forward and one backward in time and combining both states uses the "
          "past and the future of every step, and beats one-directional networks.",
          "y_t = W [h_t(forward); h_t(backward)] + b; TIMIT phoneme classification"),
    Paper("gers2000", "Felix A. Gers, Jürgen Schmidhuber and Fred Cummins", 2000,
          "Learning to forget: continual prediction with LSTM",
          "Neural Computation 12(10), 2451-2471", "doi:10.1162/089976600300015015",
          "Without a forget gate the cell state of an LSTM fed a continual input stream grows "
          "without bound and saturates the cell's output; an adaptive forget gate lets the "
          "cell reset itself.",
          "c_t = f_t * c_{t-1} + i_t * g_t, f_t = sigma(W_xf x_t + W_hf h_{t-1} + b_f); continual "
          "embedded Reber grammar"),
    Paper("pascanu2013", "Razvan Pascanu, Tomas Mikolov and Yoshua Bengio", 2013,
          "On the difficulty of training recurrent neural networks",
          "Proceedings of the 30th International Conference on Machine Learning (ICML), PMLR "
          "28(3), 1310-1318", "arXiv:1211.5063",
          "sigma_max(W_hh) < 1/gamma is sufficient for vanishing gradients and sigma_max > "
          "1/gamma necessary for exploding ones; clipping the gradient norm keeps training "
          "stable when they explode.",
          "if ||g|| > tau: g <- tau g / ||g||"),
    Paper("chung2014", "Junyoung Chung, Caglar Gulcehre, KyungHyun Cho and Yoshua Bengio", 2014,
          "Empirical evaluation of gated recurrent neural networks on sequence modeling",
          "NIPS 2014 Workshop on Deep Learning", "arXiv:1412.3555",
          "Gated units (LSTM and GRU) clearly beat tanh units, and the GRU is comparable to the "
          "LSTM, with neither consistently better.",
          "GRU: h_t = (1 - z_t) * n_t + z_t * h_{t-1}; polyphonic music and raw speech"),
    Paper("zaremba2014", "Wojciech Zaremba, Ilya Sutskever and Oriol Vinyals", 2014,
          "Recurrent neural network regularization", "arXiv preprint", "arXiv:1409.2329",
          "Dropout applied only to the non-recurrent connections of a multi-layer LSTM (never to "
          "the recurrent ones) regularises it, and lowers the test perplexity of language "
          "models substantially. Checked in lesson 6, section 4.",
          "h_t^l = LSTM(D(h_t^{l-1}), h_{t-1}^l), D = dropout; 2-layer LSTMs on Penn Treebank"),
    Paper("jozefowicz2015", "Rafal Jozefowicz, Wojciech Zaremba and Ilya Sutskever", 2015,
          "An empirical exploration of recurrent network architectures",
          "Proceedings of the 32nd International Conference on Machine Learning (ICML), PMLR "
          "37, 2342-2350", "https://proceedings.mlr.press/v37/jozefowicz15.html",
          "Initialising the LSTM's forget-gate bias to 1 closes most of the gap between the "
          "LSTM and the GRU.",
          "b_f = 1 at initialisation, so f_t starts near sigma(1) = 0.73; 10,000 architectures "
          "on arithmetic, XML modelling, language modelling, music"),
    Paper("bahdanau2015", "Dzmitry Bahdanau, Kyunghyun Cho and Yoshua Bengio", 2015,
          "Neural machine translation by jointly learning to align and translate",
          "International Conference on Learning Representations (ICLR)", "arXiv:1409.0473",
          "Squeezing the source into one fixed-length vector makes encoder-decoders degrade on "
          "long inputs; letting the decoder attend over all encoder states removes that "
          "bottleneck.",
          "e_ij = v^T tanh(W s_{i-1} + U h_j), alpha_ij = softmax_j(e_ij), c_i = sum_j "
          "alpha_ij h_j; English-French translation"),
    Paper("greff2017", "Klaus Greff, Rupesh K. Srivastava, Jan Koutník, Bas R. Steunebrink and "
          "Jürgen Schmidhuber", 2017, "LSTM: a search space odyssey",
          "IEEE Transactions on Neural Networks and Learning Systems 28(10), 2222-2232",
          "doi:10.1109/TNNLS.2016.2582924",
          "No LSTM variant beats the vanilla LSTM significantly; the forget gate and the output "
          "activation are its most critical parts, and the learning rate is by far the most "
          "important hyperparameter.",
          "8 variants x 3 tasks, 5400 runs of random search, fANOVA of the hyperparameters"),
    # Checked in lesson 7b (rnncourse.modern_claims decides them from its records).
    Paper("ba2016", "Jimmy Ba, Geoffrey Hinton, Volodymyr Mnih, Joel Z. Leibo and Catalin "
          "Ionescu", 2016, "Using fast weights to attend to the recent past",
          "Advances in Neural Information Processing Systems 29 (NIPS 2016)", "arXiv:1610.06258",
          "Fast weights, a matrix memory written by outer products of the recent hidden states "
          "and decaying, let a recurrent network attend to its recent past without storing "
          "copies of the states: on associative retrieval they reach near-zero error where an "
          "LSTM with the same number of hidden units fails (recalled: about 2% against 61% "
          "error with 20 units).",
          "A(t) = lambda A(t-1) + eta h(t) h(t)^T; associative retrieval, c9k8j3f1??c -> 9"),
    Paper("martin2018", "Eric Martin and Chris Cundy", 2018,
          "Parallelizing linear recurrent neural nets over sequence length",
          "International Conference on Learning Representations (ICLR)", "arXiv:1709.04057",
          "Linear recurrences can be evaluated over the whole sequence by a parallel scan, in "
          "O(log T) depth, which makes linear surrogate RNNs up to 9x faster to train than "
          "their sequential form and trainable on a 1,000,000-step dependency (read, GPU).",
          "h_t = lambda_t h_{t-1} + x_t; (a, b) o (a', b') = (a a', a' b + b'), Blelloch scan"),
    Paper("orvieto2023", "Antonio Orvieto, Samuel L. Smith, Albert Gu, Anushan Fernando, "
          "Caglar Gulcehre, Razvan Pascanu and Soham De", 2023,
          "Resurrecting recurrent neural networks for long sequences",
          "Proceedings of the 40th International Conference on Machine Learning (ICML), PMLR "
          "202", "arXiv:2303.06349",
          "A deep RNN whose recurrence is linear and diagonal (complex eigenvalues, exponential "
          "parameterisation, normalised input, initialised on a ring near |lambda| = 1), the "
          "Linear Recurrent Unit, matches deep state-space models such as S4 and S5 on long-"
          "range reasoning (Long Range Arena), where ordinary RNNs fail (read).",
          "lambda = exp(-exp(nu) + i exp(theta)), x_k = lambda x_{k-1} + sqrt(1 - |lambda|^2) "
          "B u_k, r_min <= |lambda| <= r_max"),
    Paper("feng2024", "Leo Feng, Frederick Tung, Mohamed Osama Ahmed, Yoshua Bengio and Hossein "
          "Hajimirsadeghi", 2024, "Were RNNs all we needed?", "arXiv preprint",
          "arXiv:2410.01201",
          "Removing the hidden state from the GRU's and LSTM's gates (minGRU, minLSTM) makes "
          "them trainable in parallel with a scan, 175x faster per training step than a GRU at "
          "length 512 (read, GPU), while matching the performance of recent sequence models.",
          "z_t = sigma(Lin(x_t)), h~_t = Lin(x_t), h_t = (1 - z_t) h_{t-1} + z_t h~_t"),
)

_BY_KEY = {p.key: p for p in PAPERS}


def paper(key: str) -> Paper:
    """The :class:`Paper` with this key (``"bengio1994"``, ``"pascanu2013"``, ...)."""
    return _BY_KEY[validate.choice("key", key, list(_BY_KEY))]


def citation(key: str) -> str:
    """Full citation: ``Authors (year). Title. Venue. link.``"""
    p = paper(key)
    return f"{p.authors} ({p.year}). {p.title}. *{p.venue}*. {p.link}."


def bibliography() -> str:
    """Every paper's full citation, one Markdown list item each, in year order."""
    return "\n".join(f"- {citation(p.key)}" for p in sorted(PAPERS, key=lambda p: p.year))


def paper_map() -> str:
    """A Markdown table: year, paper, the claim checked, its key equation or setting."""
    lines = ["| year | paper | claim | key equation / setting |", "|---|---|---|---|"]
    for p in sorted(PAPERS, key=lambda p: p.year):
        cells = [str(p.year), f"{p.short}: *{p.title}*", p.claim, f"`{p.setting}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# --- small helpers ----------------------------------------------------------------------------

def _numbers(name, values, *, positive=True):
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name}: expected a non-empty list of numbers, got {values!r}")
    out = []
    for i, v in enumerate(values):
        if positive:
            out.append(validate.positive_float(f"{name}[{i}]", v))
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name}[{i}]: expected a number, got {type(v).__name__}")
            if not math.isfinite(v):
                raise ValueError(f"{name}[{i}]: expected a finite number, got {v}")
            out.append(float(v))
    return out


# --- Bengio 1994 / Pascanu 2013: the bound ----------------------------------------------------

def vanishing_check(multiples: Sequence[float] = (0.5, 0.9, 1.0, 1.1), *,
                    cells: Sequence[str] = ("rnn_tanh", "rnn_sigmoid"), seq_len: int = 100,
                    hidden_size: int = 64, seed: int = 0) -> list[dict]:
    """The per-step rate of ``||dL/dh_t||`` for ``sigma_max = m / gamma``, ``m`` in ``multiples``.

    Orthogonal ``W_hh`` (every singular value ``sigma_max``) and no input keep every unit where
    the activation's slope is ``gamma``, so the bound ``(gamma sigma_max)^(T-t)`` is reached:
    the measured rate should equal ``m``. One row per (cell, m): ``theory``, ``measured``,
    ``grad_at_t0`` (``||dL/dh_0||`` with ``||dL/dh_T|| = 1``), Pascanu's ``regime`` and
    ``norms`` (``||dL/dh_t||`` for ``t = 0..T``).
    """
    from .gradflow import gradient_flow, pascanu_regime

    multiples = _numbers("multiples", multiples)
    if isinstance(cells, str) or not isinstance(cells, Sequence) or not cells:
        raise TypeError(f"cells: expected a non-empty list of cell names, got {cells!r}")
    for c in cells:
        validate.choice("cells", c, ("rnn_tanh", "rnn_sigmoid"))
    rows = []
    for cell in cells:
        gamma = 0.25 if cell == "rnn_sigmoid" else 1.0
        for m in multiples:
            r = gradient_flow(cell, sigma=m / gamma, seq_len=seq_len, hidden_size=hidden_size,
                              seed=seed)
            rows.append({"cell": cell, "gamma": gamma, "sigma_max": r.sigma_max,
                         "theory": r.theory_rate, "measured": r.rate,
                         "grad_at_t0": float(r.norms[0]),
                         "regime": pascanu_regime(r.sigma_max, gamma), "norms": r.norms})
    return rows


# --- Hochreiter & Schmidhuber 1997: the constant error carousel -------------------------------

NO_FORGET_BIAS = 60.0
"""A forget-gate bias that makes ``f = sigma(60 + ...) = 1`` to float64 precision: the LSTM of
1997, which had no forget gate."""


def carousel_check(*, seq_len: int = 200, hidden_size: int = 64, input_scale: float = 1.0,
                   seed: int = 0) -> dict:
    """``||dL/dstate_t||`` for an LSTM whose forget gate is 1 and for a tanh RNN, same set-up.

    Both have recurrent blocks with ``sigma_max = 1`` and inputs of standard deviation
    ``input_scale`` (:func:`rnncourse.gradflow.gradient_flow`). Returns ``{"lstm": GradientFlow,
    "rnn": GradientFlow}``.
    """
    from .gradflow import gradient_flow

    kw = dict(sigma=1.0, seq_len=seq_len, hidden_size=hidden_size, input_scale=input_scale,
              seed=seed)
    return {"lstm": gradient_flow("lstm", forget_bias=NO_FORGET_BIAS, **kw),
            "rnn": gradient_flow("rnn_tanh", **kw)}


# --- Gers et al. 2000: the cell state without a forget gate -----------------------------------

@dataclass
class CellStateGrowth:
    """An LSTM run on a continual stream: per step ``t = 1..T``, the mean ``|c_t|`` over units
    and sequences, and the fraction of units whose output is saturated (``1 - tanh(c)^2 <
    0.01``, i.e. ``|c| > 3``: almost no gradient passes ``h = o * tanh(c)``)."""

    forget_gate: bool
    forget_bias: float
    mean_abs_c: np.ndarray
    saturated: np.ndarray
    forget_mean: float

    @property
    def growth_exponent(self) -> float:
        """``p`` in ``mean|c_t| ~ t^p``, fitted over the second half of the run (0: bounded,
        0.5: a random walk, 1: steady drift)."""
        T = self.mean_abs_c.size
        t = np.arange(1, T + 1)[T // 2:]
        return float(np.polyfit(np.log(t), np.log(self.mean_abs_c[T // 2:]), 1)[0])


def cell_state_growth(*, forget_gate: bool = True, forget_bias: float = 0.0,
                      seq_len: int = 1000, hidden_size: int = 32, input_size: int = 8,
                      batch: int = 16, input_scale: float = 1.0,
                      seed: int = 0) -> CellStateGrowth:
    """Run a randomly initialised LSTM (torch's uniform initialisation, numpy float64) on
    ``seq_len`` steps of i.i.d. ``N(0, input_scale^2)`` inputs, never resetting its state.

    ``forget_gate=False`` is the LSTM of 1997: ``W_xf = W_hf = 0`` and ``b_f = 60``, so that
    ``f = 1`` exactly and ``c_t = c_{t-1} + i_t * g_t``. The same ``seed`` gives the same
    weights for every other gate and the same inputs in both settings.
    """
    from .np_lstm import init_lstm_params, lstm_forward

    if not isinstance(forget_gate, bool):
        raise TypeError(f"forget_gate: expected a bool, got {type(forget_gate).__name__}")
    forget_bias = _numbers("forget_bias", [forget_bias], positive=False)[0]
    T = validate.positive_int("seq_len", seq_len, minimum=2)
    H = validate.positive_int("hidden_size", hidden_size)
    I = validate.positive_int("input_size", input_size)
    B = validate.positive_int("batch", batch)
    input_scale = validate.positive_float("input_scale", input_scale)
    seed = validate.positive_int("seed", seed, minimum=0)
    params = init_lstm_params(I, H, np.random.default_rng([seed, 1]))
    if forget_gate:
        params["b_f"] = params["b_f"] + forget_bias
    else:
        params["W_xf"] = np.zeros_like(params["W_xf"])
        params["W_hf"] = np.zeros_like(params["W_hf"])
        params["b_f"] = np.full(H, NO_FORGET_BIAS)
    x = input_scale * np.random.default_rng([seed, 2]).standard_normal((T, B, I))
    _, c, cache = lstm_forward(x, np.zeros((B, H)), np.zeros((B, H)), params)
    f = cache["gates"]["f"]
    if not forget_gate and not np.all(f == 1.0):
        raise AssertionError("the forget gate should be exactly 1 without a forget gate")
    abs_c = np.abs(c)
    return CellStateGrowth(forget_gate=forget_gate,
                           forget_bias=forget_bias if forget_gate else math.inf,
                           mean_abs_c=abs_c.mean(axis=(1, 2)),
                           saturated=(1 - np.tanh(c) ** 2 < 0.01).mean(axis=(1, 2)),
                           forget_mean=float(f.mean()))


# --- Jozefowicz et al. 2015: the forget-gate bias ---------------------------------------------

def forget_bias_gradient(biases: Sequence[float] = (0.0, 1.0), *, seq_len: int = 100,
                         hidden_size: int = 64, input_scale: float = 1.0,
                         seed: int = 0) -> list[dict]:
    """At initialisation, how much gradient reaches ``t = 0`` of an LSTM with each forget bias.

    Rows: ``forget_bias``, ``sigma_b`` (``sigma(b_f)``, the forget gate's value at zero input),
    ``rate`` (fitted per-step factor) and ``grad_at_t0`` (``||dL/dstate_0||``, with
    ``||dL/dh_T|| = 1``) and ``norms`` (every step's), from
    :func:`rnncourse.gradflow.gradient_flow`.
    """
    from .gradflow import gradient_flow

    rows = []
    for b in _numbers("biases", biases, positive=False):
        r = gradient_flow("lstm", sigma=1.0, seq_len=seq_len, hidden_size=hidden_size,
                          input_scale=input_scale, forget_bias=b, seed=seed)
        rows.append({"forget_bias": b, "sigma_b": 1 / (1 + math.exp(-b)), "rate": r.rate,
                     "grad_at_t0": float(r.norms[0]), "norms": r.norms})
    return rows


def mean_forget_bias(model) -> float:
    """Mean effective forget-gate bias (``b_ih + b_hh``, rows ``H:2H``) of the first layer of
    an LSTM, or of a model holding one as ``model.core`` (such as
    :class:`~rnncourse.models.SequenceRegressor`)."""
    import torch

    core = getattr(model, "core", model)
    if not isinstance(core, torch.nn.Module) or not hasattr(core, "bias_ih_l0") \
            or getattr(core, "mode", "LSTM") != "LSTM":
        raise TypeError(f"model: expected an LSTM or a model with an LSTM core, got "
                        f"{type(model).__name__}")
    H = core.hidden_size
    with torch.no_grad():
        return float((core.bias_ih_l0[H:2 * H] + core.bias_hh_l0[H:2 * H]).mean())


# --- Chung 2014 / Jozefowicz 2015 / Greff 2017: a race on the adding problem ------------------

RACE_MODELS = {"LSTM, b_f = 0": {"cell": "lstm"},
               "LSTM, b_f = 1": {"cell": "lstm", "forget_bias": 1.0},
               "GRU": {"cell": "gru"}}
"""The three contenders of :func:`gated_race`."""


def gated_race(*, seeds: Sequence[int] = (0, 1, 2), T: int = 30, hidden_size: int = 32,
               steps: int = 2000, lr: float = 3e-3, batch: int = 64, n_test: int = 500,
               eval_every: int = 25, target: float = 0.01, models: dict | None = None,
               progress: bool = False, desc: str = "race: LSTM b_f = 0, LSTM b_f = 1, GRU") -> dict:
    """LSTM with forget bias 0, LSTM with forget bias 1 and GRU on the adding problem of length
    ``T``: the same budget, batches and seeds for each, stopping at validation MSE <
    ``target`` (a seed of its own), the test MSE read once after each run.

    Returns ``{label: [TrainResult per seed]}`` (:func:`rnncourse.experiments.compare_adding`);
    ``progress`` shows progress bars (one over the runs when they go to worker processes).
    """
    from .experiments import compare_adding

    return compare_adding(RACE_MODELS if models is None else models, seeds=seeds, T=T,
                          hidden_size=hidden_size, steps=steps, lr=lr, batch=batch,
                          n_test=n_test, eval_every=eval_every, target=target, desc=desc,
                          progress=progress)


# --- Pascanu et al. 2013: clipping ------------------------------------------------------------

def clipping_check(*, threshold: float = 1.0, steps: int = 200, seed: int = 0,
                   progress: bool = False) -> dict:
    """The exploding run of lesson 4 (tanh RNN, ``W_hh = 2Q``, SGD at 0.1, adding problem
    ``T = 10``) without and with clipping at ``threshold``: ``{"plain", "clipped"}`` runs
    (:class:`rnncourse.clipping.TrainingRun`)."""
    from .clipping import exploding_run

    threshold = validate.positive_float("threshold", threshold)
    return {"plain": exploding_run(None, steps=steps, seed=seed,
                                   progress="without clipping" if progress else False),
            "clipped": exploding_run(threshold, steps=steps, seed=seed,
                                     progress="with clipping" if progress else False)}


# --- Schuster & Paliwal 1997: bidirectional ---------------------------------------------------

def bidirectional_check(*, T: int = 20, half_width: int = 2, hidden_size: int = 16,
                        steps: int = 300, lr: float = 1e-2, batch: int = 32,
                        seed: int = 0, progress: bool = False) -> dict:
    """One-directional against bidirectional LSTM (matched parameter count) on the centred
    moving average ``y_t = mean(x_{t-k..t+k})`` (:mod:`rnncourse.variants`), whose causal
    floor is :func:`rnncourse.variants.window_average_floor`.

    Returns ``{"floor", "one direction": TrainResult, "bidirectional": TrainResult}``; the
    test MSE is each result's ``final_eval``. The two runs share nothing, so they go to two
    CPU cores at once where there are two (:func:`rnncourse.parallel.run_each`; the same
    numbers either way).
    """
    from . import variants
    from .parallel import run_each, worker_count

    T = validate.positive_int("T", T, minimum=2)
    k = validate.positive_int("half_width", half_width)
    H = validate.positive_int("hidden_size", hidden_size)
    batch = validate.positive_int("batch", batch)
    seed = validate.positive_int("seed", seed, minimum=0)
    budget = variants.model_param_count("lstm", 1, H, 1)
    bi_h = variants.matched_hidden_size(budget, "lstm", 1, bidirectional=True)
    arms = {"one direction": (H, False), "bidirectional": (bi_h, True)}
    own_bars = progress and worker_count(len(arms)) <= 1  # else one bar over the two runs
    setting = {"T": T, "half_width": k, "steps": steps, "lr": lr, "batch": batch, "seed": seed}
    runs = run_each(_bidirectional_run,
                    [{**setting, "hidden_size": hidden, "bidirectional": bidirectional,
                      "progress": name if own_bars else False}
                     for name, (hidden, bidirectional) in arms.items()],
                    progress=progress and not own_bars, desc="one direction and bidirectional")
    return {"floor": variants.window_average_floor(T, k), **dict(zip(arms, runs))}


def _bidirectional_run(*, T, half_width, hidden_size, bidirectional, steps, lr, batch, seed,
                       progress):
    """One arm of :func:`bidirectional_check` (a module-level function, so a worker can run
    it)."""
    from torch.nn import functional as F

    from . import variants
    from .models import SequenceRegressor
    from .train import eval_on, train

    test_x, test_y = variants.window_average_test_set(T, half_width=half_width)
    return train(
        lambda: SequenceRegressor("lstm", 1, hidden_size, 1, bidirectional=bidirectional,
                                  output="all", seed=seed),
        lambda rng: variants.window_average_batch(batch, T, rng, half_width=half_width),
        F.mse_loss, steps=steps, lr=lr, clip=1.0, seed=seed, progress=progress,
        eval_fn=eval_on(test_x, test_y, F.mse_loss), eval_every=steps,
        config={"task": "window average", "T": T, "half_width": half_width,
                "bidirectional": bidirectional})


# --- Bahdanau et al. 2015: attention ----------------------------------------------------------

def attention_check(*, steps: int = 100, min_len: int = 5, max_len: int = 12,
                    n_train: int = 2000, n_test: int = 300, seed: int = 0,
                    progress: bool = False) -> dict:
    """Digit reversal (:func:`rnncourse.seq2seq.reversal_task`) learned by the same GRU
    encoder-decoder with and without additive attention, ``steps`` steps each.

    Returns, for ``"attention"`` and ``"no attention"``: ``exact_match`` on the ``n_test``
    held-out sources, ``by_length`` (``{length: exact match}``), ``seconds`` and ``params``.
    """
    from .parallel import run_each
    from .seq2seq import reversal_task

    steps = validate.positive_int("steps", steps)
    n_train = validate.positive_int("n_train", n_train)
    n_test = validate.positive_int("n_test", n_test)
    seed = validate.positive_int("seed", seed, minimum=0)
    reversal_task(min_len, max_len)  # checks the lengths here, before any run starts
    setting = {"steps": steps, "min_len": min_len, "max_len": max_len, "n_train": n_train,
               "n_test": n_test, "seed": seed}
    names = {"attention": "additive", "no attention": None}
    rows = run_each(_attention_run, [{**setting, "attention": a} for a in names.values()],
                    progress=progress, desc="digit reversal, with and without attention")
    return dict(zip(names, rows))


def _attention_run(*, steps, min_len, max_len, n_train, n_test, seed, attention) -> dict:
    """One arm of :func:`attention_check` (a module-level function, so a worker can run it)."""
    from . import seq2seq

    task = seq2seq.reversal_task(min_len, max_len)
    split = seq2seq.make_split(task, n_train, n_test, seed=seed)
    sources = [s for s, _ in split.test]
    model, result = seq2seq.fit(split, steps=steps, seed=seed, eval_every=steps,
                                attention=attention)
    outputs, _ = model.translate(task, sources)
    correct = np.array([o == t for o, (_, t) in zip(outputs, split.test)])
    lengths = np.array([len(s) for s in sources])
    return {"exact_match": float(correct.mean()),
            "by_length": {int(n): float(correct[lengths == n].mean())
                          for n in np.unique(lengths)},
            "seconds": result.seconds, "params": seq2seq.count_parameters(model)}


# --- Greff et al. 2017: what matters most -----------------------------------------------------

@dataclass
class LearningRateSweep:
    """Validation MSE of every (learning rate, hidden size) pair, how much of the variation of
    ``log10(MSE)`` each factor explains (main effects of a two-way analysis of variance, the
    quantity Greff et al. estimate with fANOVA), the pair the validation years choose
    (``chosen``) and its test MSE (``test_mse``), the only test number the sweep reports."""

    lrs: list[float]
    hidden_sizes: list[int]
    mse: np.ndarray  # (len(lrs), len(hidden_sizes)): validation MSE
    seconds: float
    share: dict = field(default_factory=dict)
    chosen: tuple = ()
    test_mse: float = float("nan")


def learning_rate_sweep(lrs: Sequence[float] = (1e-4, 1e-3, 1e-2), *,
                        hidden_sizes: Sequence[int] = (16, 64), steps: int = 200,
                        seed: int = 0, data=None, progress: bool = False) -> LearningRateSweep:
    """LSTM one-step-ahead forecasts of the yearly sunspot numbers (windows of 22 years), every
    learning rate with every hidden size, ``steps`` Adam steps each (the same budget).

    ``data`` (default: the sunspots with a validation period, ``make_windows(..., val_fraction=
    0.15)``) must have a validation period: each run keeps its best weights on it, the sweep's
    numbers are validation MSEs, the best pair is chosen on them, and only that pair's test MSE
    is reported (:func:`choose_on_validation`).
    """
    from .data import load_sunspots
    from .experiments import forecast_run
    from .parallel import run_each
    from .tasks import ForecastData, make_windows

    lrs = _numbers("lrs", lrs)
    if isinstance(hidden_sizes, (str, bytes)) or not isinstance(hidden_sizes, Sequence) \
            or not hidden_sizes:
        raise TypeError(f"hidden_sizes: expected a non-empty list of ints, got {hidden_sizes!r}")
    sizes = [validate.positive_int(f"hidden_sizes[{i}]", h) for i, h in enumerate(hidden_sizes)]
    steps = validate.positive_int("steps", steps)
    seed = validate.positive_int("seed", seed, minimum=0)
    if data is None:
        data = make_windows(load_sunspots().values, 22, val_fraction=0.15)
    if not isinstance(data, ForecastData) or data.x_val is None:
        raise TypeError("data: expected a ForecastData with a validation period (make_windows("
                        f"..., val_fraction=...)), got {type(data).__name__}"
                        + (" without one" if isinstance(data, ForecastData) else ""))
    runs = run_each(forecast_run, [{"data": data, "cell": "lstm", "hidden_size": H,
                                    "steps": steps, "lr": lr, "seed": seed,
                                    "eval_every": max(1, steps // 4)}
                                   for lr in lrs for H in sizes],
                    progress=progress, desc="sunspot LSTMs, learning rate x hidden size")
    mse = np.array([r.best_eval for r in runs]).reshape(len(lrs), len(sizes))
    seconds = float(sum(r.seconds for r in runs))
    y = np.log10(mse)
    total = float(((y - y.mean()) ** 2).sum())
    ss_lr = float(len(sizes) * ((y.mean(axis=1) - y.mean()) ** 2).sum())
    ss_h = float(len(lrs) * ((y.mean(axis=0) - y.mean()) ** 2).sum())
    share = ({"learning rate": ss_lr / total, "hidden size": ss_h / total,
              "interaction": 1 - (ss_lr + ss_h) / total} if total > 0 else {})
    pairs = [(lr, H) for lr in lrs for H in sizes]
    k = choose_on_validation(mse.ravel())
    return LearningRateSweep(lrs, sizes, mse, seconds, share, chosen=pairs[k],
                             test_mse=float(runs[k].test_metric))


def choose_on_validation(val_scores) -> int:
    """The index of the smallest validation score: the one choice of a sweep. It is given the
    validation scores only, so a test number cannot enter it (``tests/test_selection.py``)."""
    scores = np.asarray(val_scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0 or not np.isfinite(scores).any():
        raise ValueError(f"val_scores: expected a non-empty 1-D list with a finite score, got "
                         f"{scores.tolist()!r}")
    return int(np.nanargmin(np.where(np.isfinite(scores), scores, np.nan)))


# --- the closing table ------------------------------------------------------------------------

class Verdict(StrEnum):
    """How a measurement stands to a claim: the one verdict type of lessons 5 and 8.

    ``AGREES``: the claim holds on our experiment; ``PARTLY``: part of it holds, or it holds
    with a caveat; ``DISAGREES``: our experiment contradicts it. Every verdict but ``AGREES``
    carries its reason. The value (``"agrees"``, ``"partly"``, ``"disagrees"``) is what the
    results store saves.
    """

    AGREES = "agrees"
    PARTLY = "partly"
    DISAGREES = "disagrees"

    @classmethod
    def of(cls, value, name: str = "verdict") -> Verdict:
        """``value`` (a :class:`Verdict` or its text) as a :class:`Verdict`."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise TypeError(f"{name}: expected a Verdict or one of {[v.value for v in cls]}, "
                            f"got {type(value).__name__}")
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{name}: expected one of {[v.value for v in cls]}, got "
                             f"{value!r}") from None

    @property
    def needs_reason(self) -> bool:
        return self is not Verdict.AGREES


def verdict_summary(verdicts: Sequence) -> str:
    """``"10 agree, 2 partly, 0 disagree"``: the count of each verdict (text or
    :class:`Verdict`), in that order."""
    if isinstance(verdicts, (str, bytes)) or not isinstance(verdicts, Sequence):
        raise TypeError(f"verdicts: expected a list of verdicts, got {type(verdicts).__name__}")
    given = [Verdict.of(v, f"verdicts[{i}]") for i, v in enumerate(verdicts)]
    words = {Verdict.AGREES: "agree", Verdict.PARTLY: "partly", Verdict.DISAGREES: "disagree"}
    return ", ".join(f"{given.count(v)} {word}" for v, word in words.items())


@dataclass
class Claim:
    """One row of the closing table: which ``paper``, the ``claim``, the ``experiment`` run
    here, ``measured`` (our number, as text), the :class:`Verdict` (``"agrees"``,
    ``"partly"`` or ``"disagrees"``) and ``why`` (needed unless it agrees)."""

    paper: str
    claim: str
    experiment: str
    measured: str
    verdict: Verdict
    why: str = ""

    def __post_init__(self):
        paper(self.paper)
        self.verdict = Verdict.of(self.verdict)
        for name in ("claim", "experiment", "measured", "why"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name}: expected a str, got "
                                f"{type(getattr(self, name)).__name__}")
        if self.verdict.needs_reason and not self.why.strip():
            raise ValueError(f"why: expected an explanation when verdict={self.verdict.value!r}, "
                             f"got {self.why!r}")

    def to_dict(self) -> dict:
        return {"paper": self.paper, "claim": self.claim, "experiment": self.experiment,
                "measured": self.measured, "verdict": self.verdict.value, "why": self.why}


def claims_table(claims: Sequence[Claim]) -> str:
    """The Markdown table: paper, claim, experiment, our number, verdict (and why, when it is
    not "agrees")."""
    if isinstance(claims, (str, bytes)) or not isinstance(claims, Sequence) or not claims:
        raise TypeError(f"claims: expected a non-empty list of Claim, got {claims!r}")
    lines = ["| paper | claim | experiment | our number | verdict |", "|---|---|---|---|---|"]
    for i, c in enumerate(claims):
        if not isinstance(c, Claim):
            raise TypeError(f"claims[{i}]: expected a Claim, got {type(c).__name__}")
        verdict = c.verdict.value + (f": {c.why}" if c.why else "")
        cells = [paper(c.paper).short, c.claim, c.experiment, c.measured, verdict]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)
