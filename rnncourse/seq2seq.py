"""Encoder-decoder (seq2seq) models with and without attention, and two toy tasks to train them on.

Tasks (character level, generated offline from a seed, nothing downloaded):

* digit reversal: ``"40715"`` -> ``"51704"`` (lengths ``min_len..max_len``); output ``j`` of a
  source of length ``S`` is input ``S - 1 - j``: the alignment is the anti-diagonal.
* date normalisation: ``"24 Nov 2026"``, ``"24 November 2026"``, ``"Nov 24, 2026"`` or
  ``"24.11.2026"`` -> ``"2026-11-24"`` (ISO 8601), dates from 1950-01-01 to 2049-12-31. The
  year digits of the output come from the year field of the input, and so on.

Model (:class:`Seq2Seq`, Bahdanau et al. 2015 with a GRU): an embedding and a (bidirectional)
``torch.nn.GRU`` encode the source into states ``h_1..h_S``; the decoder starts from
``s_0 = tanh(W_b h_summary)`` (the final states of both directions) and at each step ``t``

* attends: ``c_t = sum_i alpha_{t,i} h_i`` with ``alpha_t = softmax_i(score(s_{t-1}, h_i))``
  (:mod:`rnncourse.attention`), or, without attention, uses the fixed ``c_t = h_summary``
  (Cho et al. 2014: the whole source squeezed into one vector);
* updates ``s_t = GRUCell([E y_{t-1}; c_t], s_{t-1})``;
* predicts ``p(y_t) = softmax(W_o [s_t; c_t] + b_o)``.

Training (:func:`train`) uses teacher forcing, cross-entropy, Adam and gradient-norm clipping on
batches drawn from a fixed, seeded training set; evaluation is greedy decoding scored by exact
match of the whole output string on held-out sources (never seen in training).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import SCORES, Attention
from .models import count_parameters, seeded
from .train import TrainResult, cosine_decay
from .train import train as train_loop
from .validate import boolean, choice, positive_int
from .vocab import SPECIALS, Vocab

__all__ = [
    "PAD", "SOS", "EOS", "Vocab", "Task", "reversal_task", "date_task", "Split", "make_split",
    "Encoded", "encode_pairs", "encode_sources", "Seq2Seq", "Seq2SeqResult", "train", "fit",
    "exact_match",
    "alignment_mass", "count_parameters",
]

PAD, SOS, EOS = 0, 1, 2  # the ids of SPECIALS = ("<pad>", "<s>", "</s>")


# ============================================================================ tokenisation

def _vocab(chars: str) -> Vocab:
    """A task's vocabulary: ``<pad>``, ``<s>``, ``</s>`` (ids 0, 1, 2), then ``chars`` in order."""
    return Vocab(chars, specials=SPECIALS, sort=False)


# ============================================================================ tasks

@dataclass(frozen=True)
class Task:
    """A character-level transduction task.

    ``sample(rng, n)`` draws ``n`` (source, target) pairs; ``reference(source)`` is the correct
    target of any source (None when the source is not a valid input of the task);
    ``aligned(source)`` lists, for every output character, the source positions it comes from
    (empty where none does, e.g. the dashes of a date).
    """

    name: str
    src_vocab: Vocab
    tgt_vocab: Vocab
    max_src_len: int
    max_tgt_len: int
    sample: Callable[[np.random.Generator, int], list[tuple[str, str]]]
    reference: Callable[[str], str | None]
    aligned: Callable[[str], list[list[int]]]
    description: str = ""

    def check_input(self, text) -> str | None:
        """Why ``text`` cannot be fed to a model of this task, or None when it can."""
        if not isinstance(text, str):
            return f"expected a string, got {type(text).__name__}"
        if not text:
            return "empty input: type at least one character"
        bad = self.src_vocab.unknown(text)
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            return (f"unknown character(s) {shown}: the model knows only "
                    f"{self.src_vocab.chars!r}")
        if len(text) > self.max_src_len:
            return (f"too long: {len(text)} characters, the model was trained on at most "
                    f"{self.max_src_len}")
        return None


def reversal_task(min_len: int = 5, max_len: int = 12) -> Task:
    """Reverse a string of digits of length ``min_len..max_len`` (uniform)."""
    min_len = positive_int("min_len", min_len)
    max_len = positive_int("max_len", max_len)
    if max_len < min_len:
        raise ValueError(f"max_len: expected >= min_len = {min_len}, got {max_len}")
    digits = "0123456789"
    vocab = _vocab(digits)

    def sample(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
        lengths = rng.integers(min_len, max_len + 1, size=n)
        draws = rng.integers(0, 10, size=(n, max_len))
        pairs = []
        for length, row in zip(lengths, draws):
            src = "".join(digits[d] for d in row[:length])
            pairs.append((src, src[::-1]))
        return pairs

    def reference(src: str) -> str | None:
        ok = isinstance(src, str) and src != "" and all(c in digits for c in src)
        return src[::-1] if ok else None

    def aligned(src: str) -> list[list[int]]:
        return [[len(src) - 1 - j] for j in range(len(src))]

    return Task("reversal", vocab, vocab, max_len, max_len, sample, reference, aligned,
                f"reverse {min_len} to {max_len} digits")


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DATE_FORMATS = ("24 Nov 2026", "24 November 2026", "Nov 24, 2026", "24.11.2026")
_DATE_PATTERNS = (
    re.compile(r"^(?P<d>\d{1,2}) (?P<m>[A-Z][a-z]{2}) (?P<y>\d{4})$"),
    re.compile(r"^(?P<d>\d{1,2}) (?P<m>[A-Z][a-z]{2,8}) (?P<y>\d{4})$"),
    # also "December 5, 1977": not a training format, but a date with one correct answer
    re.compile(r"^(?P<m>[A-Z][a-z]{2,8}) (?P<d>\d{1,2}), (?P<y>\d{4})$"),
    re.compile(r"^(?P<d>\d{2})\.(?P<m>\d{2})\.(?P<y>\d{4})$"),
)
DATE_RANGE = (dt.date(1950, 1, 1), dt.date(2049, 12, 31))


def _format_date(day: dt.date, style: int) -> str:
    month = MONTHS[day.month - 1]
    if style == 0:
        return f"{day.day} {month[:3]} {day.year}"
    if style == 1:
        return f"{day.day} {month} {day.year}"
    if style == 2:
        return f"{month[:3]} {day.day}, {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _parse_date(src: str):
    """``(date, match)`` for a source in one of :data:`DATE_FORMATS`, else None."""
    if not isinstance(src, str):
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.match(src)
        if not match:
            continue
        m = match["m"]
        if m.isdigit():
            month = int(m)
        else:
            names = [name for name in MONTHS if m in (name, name[:3])]
            if not names:
                continue
            month = MONTHS.index(names[0]) + 1
        try:
            return dt.date(int(match["y"]), month, int(match["d"])), match
        except ValueError:
            return None
    return None


def date_task() -> Task:
    """Normalise a date written in one of :data:`DATE_FORMATS` to ``YYYY-MM-DD``."""
    src_chars = "".join(sorted(set("0123456789 ,." + "".join(MONTHS))))
    tgt_vocab = _vocab("0123456789-")
    first, last = DATE_RANGE
    span = (last - first).days + 1

    def sample(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
        offsets = rng.integers(0, span, size=n)
        styles = rng.integers(0, len(DATE_FORMATS), size=n)
        pairs = []
        for offset, style in zip(offsets, styles):
            day = first + dt.timedelta(days=int(offset))
            pairs.append((_format_date(day, int(style)), day.isoformat()))
        return pairs

    def reference(src: str) -> str | None:
        parsed = _parse_date(src)
        return None if parsed is None else parsed[0].isoformat()

    def aligned(src: str) -> list[list[int]]:
        parsed = _parse_date(src)
        if parsed is None:
            return [[] for _ in range(10)]
        _, match = parsed
        field_of = {"y": list(range(*match.span("y"))), "m": list(range(*match.span("m"))),
                    "d": list(range(*match.span("d")))}
        return [field_of.get(f, []) for f in "yyyy-mm-dd"]

    longest = max(len(_format_date(dt.date(2000, 9, 30), s)) for s in range(4))
    return Task("dates", _vocab(src_chars), tgt_vocab, longest, 10, sample, reference, aligned,
                "normalise a date to YYYY-MM-DD")


@dataclass
class Split:
    """A seeded training set and a held-out test set whose sources never occur in training;
    ``val``, a validation set whose sources occur in neither (empty unless asked for)."""

    task: Task
    train: list[tuple[str, str]]
    test: list[tuple[str, str]]
    val: list[tuple[str, str]] = field(default_factory=list)
    _encoded: Encoded | None = field(default=None, repr=False, compare=False)

    def encoded_train(self) -> Encoded:
        """The training pairs as padded tensors (tokenised once, then reused)."""
        if self._encoded is None:
            self._encoded = encode_pairs(self.task, self.train)
        return self._encoded


def make_split(task: Task, n_train: int, n_test: int, seed: int = 0, *,
               n_val: int = 0) -> Split:
    """Draw ``n_test`` distinct test pairs, then ``n_train`` training pairs not among them, then
    ``n_val`` distinct validation pairs among neither (drawn last, so the training and test
    sets are the same with or without them)."""
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a rnncourse.seq2seq.Task, got {type(task).__name__}")
    n_train = positive_int("n_train", n_train)
    n_test = positive_int("n_test", n_test)
    rng = np.random.default_rng(seed)
    test, seen = [], set()
    while len(test) < n_test:
        for pair in task.sample(rng, n_test):
            if pair[0] not in seen and len(test) < n_test:
                seen.add(pair[0])
                test.append(pair)
    train = []
    while len(train) < n_train:
        train.extend(p for p in task.sample(rng, n_train - len(train)) if p[0] not in seen)
    n_val = positive_int("n_val", n_val, minimum=0)
    val, seen = [], seen | {s for s, _ in train}
    while len(val) < n_val:
        for pair in task.sample(rng, n_val):
            if pair[0] not in seen and len(val) < n_val:
                seen.add(pair[0])
                val.append(pair)
    return Split(task, train, test, val)


@dataclass
class Encoded:
    """Padded id tensors of many pairs (time-major): select a batch with ``[index]``.

    ``src (S, N)`` padded with ``<pad>``, ``src_len (N,)``, ``tgt_in (T, N)`` starting with
    ``<s>`` and ``tgt_out (T, N)`` ending with ``</s>``; ``T`` is the longest target + 1.
    """

    src: torch.Tensor
    src_len: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    def __getitem__(self, index) -> Encoded:
        return Encoded(self.src[:, index], self.src_len[index], self.tgt_in[:, index],
                       self.tgt_out[:, index])

    def __len__(self) -> int:
        return self.src.shape[1]


def _pad(rows: Sequence[list[int]], length: int) -> torch.Tensor:
    out = np.full((len(rows), length), PAD, dtype=np.int64)
    for j, row in enumerate(rows):
        out[j, : len(row)] = row
    return torch.from_numpy(out.T.copy())


def encode_sources(task: Task, sources: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(src (S, N), src_len (N,))`` for a list of sources; ValueError for an invalid one."""
    rows = []
    for k, text in enumerate(sources):
        problem = task.check_input(text)
        if problem is not None:
            raise ValueError(f"sources[{k}] = {text!r}: {problem}")
        rows.append(task.src_vocab.encode(text))
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    return _pad(rows, max(len(r) for r in rows)), lengths


def encode_pairs(task: Task, pairs: Sequence[tuple[str, str]]) -> Encoded:
    """Tokenise (source, target) pairs into one padded :class:`Encoded`."""
    if len(pairs) == 0:
        raise ValueError("pairs: expected at least one (source, target) pair, got none")
    src, src_len = encode_sources(task, [s for s, _ in pairs])
    targets = [task.tgt_vocab.encode(t) for _, t in pairs]
    T = max(len(t) for t in targets) + 1
    tgt_in = _pad([[SOS, *t] for t in targets], T)
    tgt_out = _pad([[*t, EOS] for t in targets], T)
    return Encoded(src, src_len, tgt_in, tgt_out)


# ============================================================================ model

class Seq2Seq(nn.Module):
    """GRU encoder-decoder, with attention (``"additive"``, ``"dot"``, ``"general"``) or without
    (``attention=None``: the decoder sees the fixed summary of the source at every step).

    ``forward(src, src_len, tgt_in) -> (logits (T, B, V), weights (T, B, S) or None)`` with
    teacher forcing; :meth:`greedy` decodes without it, :meth:`translate` works on strings.
    ``seed`` makes the initial weights reproducible without touching torch's global random
    state. ``attention_size`` is ``A`` of the additive score.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, *, hidden_size: int = 64,
                 embed_size: int = 32, attention: str | None = "additive",
                 bidirectional: bool = True, attention_size: int = 32,
                 seed: int | None = None):
        super().__init__()
        for name, value in (("src_vocab_size", src_vocab_size),
                            ("tgt_vocab_size", tgt_vocab_size), ("hidden_size", hidden_size),
                            ("embed_size", embed_size),
                            ("attention_size", attention_size)):
            positive_int(name, value)
        if attention is not None:
            choice("attention", attention, SCORES)
        boolean("bidirectional", bidirectional)
        H, E = hidden_size, embed_size
        D = 2 if bidirectional else 1
        K = D * H
        self.hidden_size, self.bidirectional, self.attention_kind = H, bidirectional, attention
        with seeded(seed):
            self._build(src_vocab_size, tgt_vocab_size, E, H, K, attention, attention_size)

    def _build(self, src_vocab_size, tgt_vocab_size, E, H, K, attention, attention_size):
        self.src_embed = nn.Embedding(src_vocab_size, E, padding_idx=PAD)
        self.encoder = nn.GRU(E, H, bidirectional=self.bidirectional)
        self.bridge = nn.Linear(K, H)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, E, padding_idx=PAD)
        self.attention = (None if attention is None
                          else Attention(H, K, attention, attention_size))
        self.cell = nn.GRUCell(E + K, H)
        self.out = nn.Linear(H + K, tgt_vocab_size)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor):
        """Encoder states ``(S, B, K)``, the summary ``(B, K)`` and ``s_0 (B, H)``."""
        S = src.shape[0]
        packed = pack_padded_sequence(self.src_embed(src), src_len, enforce_sorted=False)
        out, h_n = self.encoder(packed)
        states, _ = pad_packed_sequence(out, total_length=S)
        summary = torch.cat(list(h_n), dim=-1)  # last state of each direction
        return states, summary, torch.tanh(self.bridge(summary))

    def _check(self, src, src_len):
        for name, value in (("src", src), ("src_len", src_len)):
            if not isinstance(value, torch.Tensor) or value.dtype != torch.long:
                got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
                raise TypeError(f"{name}: expected a torch.long tensor of token ids, got {got}")
        if src.dim() != 2:
            raise ValueError(f"src: expected 2 dimensions (S, B), got shape {tuple(src.shape)}")
        if src_len.shape != (src.shape[1],):
            raise ValueError(f"src_len: expected shape (B,) = ({src.shape[1]},), got "
                             f"{tuple(src_len.shape)}")
        if int(src_len.min()) < 1 or int(src_len.max()) > src.shape[0]:
            raise ValueError(f"src_len: expected lengths in [1, {src.shape[0]}], got "
                             f"{src_len.tolist()}")

    def _step(self, y_emb, s, keys, values, pad, summary):
        if self.attention is None:
            c, alpha = summary, None
        else:
            c, alpha = self.attention.attend(s, keys, values, pad)
        s = self.cell(torch.cat([y_emb, c], dim=1), s)
        return s, c, alpha

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor):
        self._check(src, src_len)
        states, summary, s = self.encode(src, src_len)
        values = states.transpose(0, 1)
        keys = self.attention.prepare(states) if self.attention is not None else None
        pad = (src == PAD).T
        y_emb = self.tgt_embed(tgt_in)
        outs, ctxs, alphas = [], [], []
        for t in range(tgt_in.shape[0]):
            s, c, alpha = self._step(y_emb[t], s, keys, values, pad, summary)
            outs.append(s)
            ctxs.append(c)
            alphas.append(alpha)
        logits = self.out(torch.cat([torch.stack(outs), torch.stack(ctxs)], dim=-1))
        weights = None if self.attention is None else torch.stack(alphas)
        return logits, weights

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_len: torch.Tensor, max_len: int):
        """Greedy decoding: ``(ids (max_len, B), weights (max_len, B, S) or None)``."""
        self._check(src, src_len)
        states, summary, s = self.encode(src, src_len)
        values = states.transpose(0, 1)
        keys = self.attention.prepare(states) if self.attention is not None else None
        pad = (src == PAD).T
        y = torch.full((src.shape[1],), SOS, dtype=torch.long)
        ids, alphas = [], []
        for _ in range(max_len):
            s, c, alpha = self._step(self.tgt_embed(y), s, keys, values, pad, summary)
            y = self.out(torch.cat([s, c], dim=1)).argmax(dim=1)
            ids.append(y)
            alphas.append(alpha)
        weights = None if self.attention is None else torch.stack(alphas)
        return torch.stack(ids), weights

    def translate(self, task: Task, sources: Sequence[str], batch_size: int = 1000):
        """Decode a list of sources: ``(outputs, weights)``, one string and one ``(T_out, S)``
        numpy array of attention weights per source (rows up to and including ``</s>``; None
        without attention). Raises ValueError naming an invalid source."""
        if isinstance(sources, str):
            raise TypeError("sources: expected a list of strings, got a str (wrap it in a list)")
        was_training = self.training
        self.eval()
        outputs, weights = [], []
        try:
            for start in range(0, len(sources), batch_size):
                chunk = list(sources[start:start + batch_size])
                src, src_len = encode_sources(task, chunk)
                ids, alpha = self.greedy(src, src_len, task.max_tgt_len + 1)
                ids = ids.numpy()
                for j, text in enumerate(chunk):
                    column = ids[:, j]
                    outputs.append(task.tgt_vocab.decode(column))
                    ends = np.flatnonzero(column == EOS)
                    rows = int(ends[0]) + 1 if ends.size else column.size
                    weights.append(None if alpha is None
                                   else alpha[:rows, j, : len(text)].numpy().copy())
        finally:
            self.train(was_training)
        return outputs, weights


# ============================================================================ training

def exact_match(model: Seq2Seq, task: Task, pairs: Sequence[tuple[str, str]]) -> float:
    """Fraction of ``pairs`` whose whole target string the model decodes exactly (greedy)."""
    outputs, _ = model.translate(task, [s for s, _ in pairs])
    return float(np.mean([o == t for o, (_, t) in zip(outputs, pairs)]))


class Seq2SeqResult(TrainResult):
    """A :class:`rnncourse.train.TrainResult` of :func:`train`, read with this task's words.

    ``accuracy``: the learning curve (exact match on the first ``n_eval`` held-out examples at
    ``eval_steps``); ``test_accuracy``: exact match on the whole held-out set after the last
    step (``test_metric``). :meth:`as_dict` is the record lesson 7 saves and lesson 8 reads,
    under that record's key names; ``seconds`` there is training time, evaluation excluded.
    """

    @property
    def accuracy(self) -> list[float]:
        return self.eval_values

    @property
    def test_accuracy(self) -> float:
        return float("nan") if self.test_metric is None else self.test_metric

    def as_dict(self) -> dict:
        return {"train_steps": self.steps, "seconds": self.train_seconds,
                "test_exact_match": self.test_accuracy, "curve_steps": self.eval_steps,
                "curve_exact_match": self.accuracy, "steps_to_target": self.steps_to_target,
                "seconds_to_target": self.train_seconds_to_target,
                "final_train_loss": float(np.mean(self.losses[-10:]))}


def _teacher_forcing(model: Seq2Seq, batch: Encoded) -> torch.Tensor:
    """The decoder reads the true previous characters ``tgt_in``: logits ``(T, B, V)``."""
    logits, _ = model(batch.src, batch.src_len, batch.tgt_in)
    return logits


def _cross_entropy(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                           ignore_index=PAD)


def train(model: Seq2Seq, split: Split, *, steps: int, batch_size: int = 64, lr: float = 3e-3,
          clip: float = 1.0, seed: int = 0, eval_every: int = 50, n_eval: int = 300,
          target: float = 0.95, decay_start: float = 0.5,
          progress: bool | str = False) -> Seq2SeqResult:
    """Teacher-forced training on batches drawn from ``split.train`` by a generator seeded
    with ``seed`` (the only randomness: give the model its own ``seed`` for its weights).

    The course's one loop (:func:`rnncourse.train.train`) with: Adam at ``lr`` for the first
    ``decay_start`` fraction of the steps, then a cosine decay to 0 over the rest
    (:func:`rnncourse.train.cosine_decay`, so that the final model does not sit on a loss spike;
    ``decay_start=1`` keeps ``lr`` constant), gradient-norm clipping at ``clip``. Every
    ``eval_every`` steps, exact match on ``split.val[:n_eval]`` (``split.test[:n_eval]`` for a
    split without a validation set; ``steps_to_target``: the first at or above ``target``);
    after the last step, once, on all of ``split.test``. Runs all
    ``steps``: the same budget for every model. ``progress`` (True, or the bar's description)
    shows a progress bar over the steps (``tqdm.auto``: a widget in a notebook).
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model: expected a Seq2Seq, got {type(model).__name__}")
    if not isinstance(split, Split):
        raise TypeError(f"split: expected a Split (make_split), got {type(split).__name__}")
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    n_eval = positive_int("n_eval", n_eval)
    schedule = cosine_decay(steps, decay_start)
    task = split.task
    data = split.encoded_train()
    curve_set = (split.val or split.test)[:n_eval]

    def make_batch(rng: np.random.Generator):
        batch = data[torch.from_numpy(rng.integers(0, len(data), size=batch_size))]
        return batch, batch.tgt_out

    result = train_loop(
        model, make_batch, _cross_entropy, steps=steps, lr=lr, clip=clip, seed=seed,
        forward=_teacher_forcing, lr_schedule=schedule,
        eval_fn=lambda m: exact_match(m, task, curve_set), eval_every=eval_every,
        target=target, goal="max", stop_at_target=False,
        test_fn=lambda m: exact_match(m, task, split.test), progress=progress,
        config={"task": task.name, "batch_size": batch_size, "n_eval": n_eval})
    model.eval()
    return Seq2SeqResult(**{f.name: getattr(result, f.name) for f in fields(result)})


def fit(split: Split, *, steps: int, lr: float = 1e-2, seed: int = 0, eval_every: int = 25,
        progress: bool | str = False, **model_kwargs) -> tuple[Seq2Seq, Seq2SeqResult]:
    """Build a :class:`Seq2Seq` for ``split.task`` (weights seeded with ``seed``;
    ``model_kwargs`` such as ``attention=None`` or ``bidirectional=False`` go to the model) and
    :func:`train` it; return ``(model, result)``."""
    if not isinstance(split, Split):
        raise TypeError(f"split: expected a Split (make_split), got {type(split).__name__}")
    task = split.task
    model = Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), seed=seed, **model_kwargs)
    return model, train(model, split, steps=steps, lr=lr, seed=seed, eval_every=eval_every,
                        progress=progress)


def alignment_mass(weights: Sequence[np.ndarray], aligned: Sequence[list[list[int]]],
                   tolerance: int = 0) -> float:
    """Mean attention mass on the source positions each output *should* attend to.

    ``weights[k]`` is ``(T_out, S)`` for example ``k``; ``aligned[k][j]`` lists the source
    positions output ``j`` comes from (:attr:`Task.aligned`); a position within ``tolerance``
    of one of them counts. Outputs with no aligned source (and the ``</s>`` row) are skipped.
    """
    if len(weights) != len(aligned):
        raise ValueError(f"aligned: expected one entry per example ({len(weights)}), got "
                         f"{len(aligned)}")
    if tolerance < 0:
        raise ValueError(f"tolerance: expected an int >= 0, got {tolerance}")
    masses = []
    for w, rows in zip(weights, aligned):
        if w is None:
            raise ValueError("weights: got None (a model without attention has no alignment)")
        S = w.shape[1]
        for j, positions in enumerate(rows[: w.shape[0]]):
            if not positions:
                continue
            near = np.zeros(S, dtype=bool)
            for p in positions:
                near[max(0, p - tolerance): p + tolerance + 1] = True
            masses.append(float(w[j, near].sum()))
    if not masses:
        raise ValueError("aligned: no output position has an aligned source position")
    return float(np.mean(masses))
