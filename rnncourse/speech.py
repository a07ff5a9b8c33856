"""Spoken digits for lesson 6: the shipped features, their splits by voice, and the classifiers.

:func:`load_speech_digits` reads ``rnncourse/data/speech_digits.npz`` (made once by
:mod:`rnncourse.speech_synth`; no synthesiser is needed here): 3060 utterances of the digits
"zero" to "nine" by 34 synthetic voices, each a ``(T, 32)`` sequence of log-mel frames. Every
voice belongs to one split, so validation and test voices are never heard in training.

The models, all trained on the training voices only:

* **majority**: always the most frequent training digit;
* **mean + logistic regression** (:func:`fit_logistic`): the frames averaged over time, so the
  order of the sounds is lost, then a linear softmax classifier;
* **GRU** (:func:`gru_run`): :class:`rnncourse.models.SequenceClassifier` reading the frames in
  order, its last state read out. Sequences are padded at the *front* (:func:`pad`) so that the
  last step is each utterance's real end. Validation accuracy is measured every ``eval_every``
  steps and the best state kept (early stopping on validation).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import heap, validate
from . import train as training
from .data import data_path
from .models import SequenceClassifier

__all__ = ["FILENAME", "SPLITS", "SpeechDigits", "load_speech_digits", "Standardiser", "pad",
           "mean_features", "pool_frames", "fit_logistic", "majority_accuracy", "accuracy",
           "GRURun", "gru_run", "frame_confidence", "accuracy_by_share"]

FILENAME = "speech_digits.npz"
SPLITS = ("train", "validation", "test")
_ARRAYS = {"features": 2, "offsets": 1, "digit": 1, "voice": 1, "speed": 1, "pitch": 1,
           "snr_db": 1}


@dataclass
class SpeechDigits:
    """The data set: ``features[i]`` ``(T_i, n_mels)`` float32, ``digit``, ``voice`` (index into
    ``voices``), ``speed``, ``pitch`` (indices of the settings), ``snr_db`` (inf: clean), all
    ``(N,)``; ``voices`` one dict per voice (``name``, ``synth``, ``voice``, ``variant``,
    ``split``); ``metadata`` every setting the file was made with."""

    features: list
    digit: np.ndarray
    voice: np.ndarray
    speed: np.ndarray
    pitch: np.ndarray
    snr_db: np.ndarray
    voices: list
    metadata: dict = field(repr=False)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def split(self) -> np.ndarray:
        """The split of every utterance (its voice's), ``(N,)`` str."""
        return np.array([self.voices[v]["split"] for v in self.voice])

    def indices(self, split: str) -> np.ndarray:
        """The utterances of ``split`` ("train", "validation" or "test")."""
        validate.choice("split", split, SPLITS)
        return np.flatnonzero(self.split == split)

    def voice_names(self, split: str) -> list[str]:
        """The names of the voices in ``split``."""
        validate.choice("split", split, SPLITS)
        return [v["name"] for v in self.voices if v["split"] == split]


def load_speech_digits(path=None) -> SpeechDigits:
    """Read the shipped spoken digits (or another file made by :mod:`rnncourse.speech_synth`).

    Raises ValueError naming what is wrong with a file that does not have the expected arrays,
    shapes or metadata.
    """
    path = data_path(FILENAME) if path is None else Path(path)
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in (*_ARRAYS, "metadata") if k not in npz.files]
        if missing:
            raise ValueError(f"path: expected a speech-digits file with arrays "
                             f"{[*_ARRAYS, 'metadata']}, {path} lacks {missing}")
        arrays = {k: npz[k] for k in _ARRAYS}
        metadata = json.loads(str(npz["metadata"]))
    for key, ndim in _ARRAYS.items():
        if arrays[key].ndim != ndim:
            raise ValueError(f"path: expected {key!r} with {ndim} dimension(s), got shape "
                             f"{arrays[key].shape} in {path}")
    offsets, n = arrays["offsets"], len(arrays["digit"])
    if len(offsets) != n + 1 or offsets[0] != 0 or offsets[-1] != len(arrays["features"]) \
            or np.any(np.diff(offsets) <= 0):
        raise ValueError(f"path: expected {n + 1} increasing offsets from 0 to "
                         f"{len(arrays['features'])} frames, got {len(offsets)} in {path}")
    for key in ("voice", "speed", "pitch", "snr_db"):
        if len(arrays[key]) != n:
            raise ValueError(f"path: expected {n} entries of {key!r} (one per utterance), got "
                             f"{len(arrays[key])} in {path}")
    voices = metadata.get("voices")
    if not isinstance(voices, list) or arrays["voice"].max() >= len(voices) \
            or any(v.get("split") not in SPLITS for v in voices):
        raise ValueError(f"path: expected metadata['voices'] listing every voice with its split "
                         f"in {SPLITS}, got {voices!r:.200}")
    feats = arrays["features"].astype(np.float32)
    return SpeechDigits(
        features=[feats[a:b] for a, b in zip(offsets[:-1], offsets[1:])],
        digit=arrays["digit"].astype(np.int64), voice=arrays["voice"].astype(np.int64),
        speed=arrays["speed"].astype(np.int64), pitch=arrays["pitch"].astype(np.int64),
        snr_db=arrays["snr_db"].astype(np.float64), voices=voices, metadata=metadata)


class Standardiser:
    """Per-feature mean and standard deviation of the training frames; ``(x - mean) / std``."""

    def __init__(self, sequences):
        frames = np.concatenate([_sequence(f"sequences[{i}]", s) for i, s in enumerate(sequences)])
        self.mean = frames.mean(axis=0)  # (M,)
        self.std = frames.std(axis=0) + 1e-6  # (M,)

    def __call__(self, sequence) -> np.ndarray:
        return (_sequence("sequence", sequence) - self.mean) / self.std


def _sequence(name, s):
    s = validate.as_float_array(name, s)
    if s.ndim != 2 or s.shape[0] == 0:
        raise ValueError(f"{name}: expected frames (T, n_mels) with T >= 1, got shape {s.shape}")
    return s


def pad(sequences, length: int | None = None) -> torch.Tensor:
    """Sequences ``(T_i, M)`` as one float32 tensor ``(length, N, M)``, zero-padded at the
    front (each sequence ends at the last step); ``length`` defaults to the longest."""
    seqs = [_sequence(f"sequences[{i}]", s) for i, s in enumerate(sequences)]
    if not seqs:
        raise ValueError("sequences: expected at least one sequence, got none")
    M = seqs[0].shape[1]
    if any(s.shape[1] != M for s in seqs):
        raise ValueError(f"sequences: expected every sequence to have {M} features, got "
                         f"{sorted({s.shape[1] for s in seqs})}")
    longest = max(len(s) for s in seqs)
    length = longest if length is None else validate.positive_int("length", length)
    if length < longest:
        raise ValueError(f"length: expected at least the longest sequence ({longest} steps), "
                         f"got {length}")
    out = np.zeros((length, len(seqs), M), dtype=np.float32)
    for i, s in enumerate(seqs):
        out[length - len(s):, i] = s
    return torch.from_numpy(out)


def mean_features(sequences) -> np.ndarray:
    """Each sequence averaged over time: ``(N, M)`` (the order of the frames is lost)."""
    return np.stack([_sequence(f"sequences[{i}]", s).mean(axis=0)
                     for i, s in enumerate(sequences)])


def _labels(name, y, n=None):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise TypeError(f"{name}: expected a 1-D array of int labels, got dtype {y.dtype}, "
                        f"shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name}: expected {n} labels (one per example), got {len(y)}")
    return y


def majority_accuracy(y_train, y_eval) -> float:
    """Accuracy of always answering the most frequent training label."""
    y_train, y_eval = _labels("y_train", y_train), _labels("y_eval", y_eval)
    return float(np.mean(y_eval == np.bincount(y_train).argmax()))


def fit_logistic(X, y, *, num_classes: int = 10, weight_decay: float = 1e-3,
                 steps: int = 200, seed: int = 0) -> torch.nn.Linear:
    """Multinomial logistic regression (a linear layer trained on the softmax cross-entropy,
    plus ``weight_decay`` times the squared weights) by full-batch L-BFGS."""
    X = validate.as_float_array("X", X)
    if X.ndim != 2:
        raise ValueError(f"X: expected (N, features), got shape {X.shape}")
    y = _labels("y", y, len(X))
    weight_decay = validate.positive_float("weight_decay", weight_decay, allow_zero=True)
    steps = validate.positive_int("steps", steps)
    xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    num_classes = validate.positive_int("num_classes", num_classes, minimum=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(validate.seed("seed", seed))
        model = torch.nn.Linear(X.shape[1], num_classes)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt) \
            + weight_decay * model.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return model


def accuracy(model: torch.nn.Module, x: torch.Tensor, y) -> float:
    """The share of examples whose largest logit is the label (no gradients, eval mode)."""
    y = torch.as_tensor(_labels("y", y))
    return training.evaluate(model, x, y, lambda out, t: (out.argmax(-1) == t).float().mean())


@dataclass
class GRURun:
    """A :func:`gru_run`: its :class:`~rnncourse.train.TrainResult`, the model at its best
    validation accuracy (``model``), that accuracy and the step it was measured at."""

    result: training.TrainResult
    model: torch.nn.Module
    best_validation: float
    best_step: int


def gru_run(train_sequences, y_train, val_sequences, y_val, *, lr: float, steps: int,
            hidden_size: int = 64, cell: str = "gru", batch: int = 64, eval_every: int = 25,
            clip: float = 1.0, seed: int = 0, progress: bool | str = False) -> GRURun:
    """Train a recurrent digit classifier on lists of ``(T_i, M)`` sequences; keep the weights
    of the evaluation with the best validation accuracy (the first, on ties).

    Each batch is ``batch`` training sequences drawn at random, padded at the front to the
    longest of them (:func:`pad`); the validation set is padded once.
    """
    train_sequences = [_sequence(f"train_sequences[{i}]", s)
                       for i, s in enumerate(train_sequences)]
    y_train = torch.as_tensor(_labels("y_train", y_train, len(train_sequences)))
    x_val = pad(val_sequences)
    y_val = torch.as_tensor(_labels("y_val", y_val, x_val.shape[1]))
    batch = validate.positive_int("batch", batch)
    n = len(train_sequences)
    best = {"accuracy": -1.0, "state": None}

    def make_batch(rng):
        idx = rng.integers(0, n, size=batch)
        return pad([train_sequences[i] for i in idx]), y_train[torch.from_numpy(idx)]

    def validation_accuracy(model):
        acc = accuracy(model, x_val, y_val)
        if acc > best["accuracy"]:
            best.update(accuracy=acc, state=copy.deepcopy(model.state_dict()))
        return acc

    M = train_sequences[0].shape[1]
    result = training.train(
        lambda: SequenceClassifier(cell, M, hidden_size, 10, output="last"),
        make_batch, torch.nn.functional.cross_entropy, steps=steps, lr=lr, clip=clip,
        seed=seed, eval_fn=validation_accuracy, eval_every=eval_every, goal="max",
        progress=progress, config={"task": "spoken digits", "cell": cell,
                                   "hidden_size": hidden_size, "batch": batch})
    model = result.model
    model.load_state_dict(best["state"])
    best_step = next(s for s, a in result.evals if a == best["accuracy"])
    del best["state"]
    heap.release()  # the run's freed batches and activations go back to the system
    return GRURun(result, model, best["accuracy"], int(best_step))


def pool_frames(sequence, factor: int = 2) -> np.ndarray:
    """Average every ``factor`` consecutive frames ``(T, M) -> (ceil(T / factor), M)`` (the
    last group may be shorter): a coarser time step, ``factor`` times fewer recurrent steps."""
    s = _sequence("sequence", sequence)
    factor = validate.positive_int("factor", factor)
    starts = np.arange(0, len(s), factor)
    return np.add.reduceat(s, starts, axis=0) / np.diff(np.append(starts, len(s)))[:, None]


def frame_confidence(model: SequenceClassifier, sequence) -> np.ndarray:
    """The classifier's softmax over the digits after every frame of one standardised
    utterance ``(T, M)``: ``(T, 10)`` (row ``t``: what it would answer if the audio ended at
    frame ``t``)."""
    x = torch.as_tensor(_sequence("sequence", sequence), dtype=torch.float32)[:, None]  # (T,1,M)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out, _ = model.run(x)  # (T, 1, H)
            return torch.softmax(model.head(out[:, 0]), dim=-1).numpy()
    finally:
        model.train(was)


def accuracy_by_share(model: SequenceClassifier, sequences, y, shares) -> dict[float, float]:
    """``{share: accuracy}``: how often the classifier's answer is the label when each
    utterance ``(T_i, M)`` stops after ``ceil(share * T_i)`` of its frames (at least one);
    ``share = 1`` is :func:`accuracy` on the whole utterances. One pass over the front-padded
    batch (:func:`pad`): the state after frame ``k`` of an utterance is its state at step
    ``T - T_i + k`` of the batch."""
    lengths = np.array([len(_sequence(f"sequences[{i}]", s)) for i, s in enumerate(sequences)])
    y = _labels("y", y, len(lengths))
    shares = [float(validate.positive_float(f"shares[{i}]", v)) for i, v in enumerate(shares)]
    if any(v > 1 for v in shares):
        raise ValueError(f"shares: expected numbers in (0, 1], got {shares}")
    x = pad(sequences)  # (T, N, M)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out, _ = model.run(x)  # (T, N, H)
            answers = model.head(out).argmax(-1).numpy()  # (T, N)
    finally:
        model.train(was)
    T, columns = x.shape[0], np.arange(len(lengths))
    result = {}
    for share in shares:
        frames = np.maximum(1, np.ceil(share * lengths - 1e-9).astype(int))
        result[share] = float(np.mean(answers[T - lengths + frames - 1, columns] == y))
    return result
