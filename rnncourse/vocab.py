"""Characters <-> int ids: the one vocabulary of the course (language models and seq2seq).

::

    Vocab("hello world")                      # the distinct characters, sorted: ids 0..V-1
    Vocab("0123456789-", specials=SPECIALS, sort=False)
    # ids 0, 1, 2 = "<pad>", "<s>", "</s>", then the characters in the order given

``encode`` gives an int64 array (``eos=True`` appends ``</s>``); ``decode`` turns ids back into
text, stopping at the first ``</s>`` and skipping the other special tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["Vocab", "SPECIALS", "EOS_TOKEN"]

SPECIALS = ("<pad>", "<s>", "</s>")  # padding, start and end of a sequence (seq2seq)
EOS_TOKEN = "</s>"


class Vocab:
    """Characters <-> int ids; ``specials`` (tokens that are not characters) take the first ids.

    ``text``: with ``sort=True`` any string, its distinct characters sorted; with ``sort=False``
    the characters in the order given, each once (the order is then part of the model).
    """

    def __init__(self, text: str, *, specials: Sequence[str] = (), sort: bool = True):
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text: expected a non-empty string, got ''")
        if not isinstance(sort, bool):
            raise TypeError(f"sort: expected a bool, got {type(sort).__name__}")
        if isinstance(specials, str) or not all(isinstance(s, str) for s in specials):
            raise TypeError(f"specials: expected a sequence of token strings, got {specials!r}")
        if not sort and len(set(text)) != len(text):
            raise ValueError(f"text: expected distinct characters (sort=False keeps their order), "
                             f"got {text!r}")
        self.chars = "".join(sorted(set(text))) if sort else text
        self.specials = tuple(specials)
        self.itos = list(self.specials) + list(self.chars)
        first = len(self.specials)
        self.stoi = {c: first + i for i, c in enumerate(self.chars)}
        self._eos = self.specials.index(EOS_TOKEN) if EOS_TOKEN in self.specials else None

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def size(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        specials = f", specials={self.specials!r}" if self.specials else ""
        return f"Vocab({len(self)} ids: {self.chars!r}{specials})"

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, in order."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def encode(self, text: str, *, eos: bool = False) -> np.ndarray:
        """int64 ids of ``text``'s characters (``(len(text),)``, plus ``</s>`` with ``eos``).

        Unknown characters raise a ValueError that lists them.
        """
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        if not isinstance(eos, bool):
            raise TypeError(f"eos: expected a bool, got {type(eos).__name__}")
        if eos and self._eos is None:
            raise ValueError(f"eos: this vocabulary has no {EOS_TOKEN!r} token "
                             f"(specials={self.specials!r})")
        try:
            ids = np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise ValueError(f"text: expected characters of the vocabulary ({len(self.chars)}: "
                             f"{self.chars!r}), got {shown!r} with unknown "
                             f"{self.unknown(text)}") from None
        return np.append(ids, np.int64(self._eos)) if eos else ids

    def decode(self, ids) -> str:
        """The text of a sequence of ids (list, numpy array or 1-D tensor): stops at the first
        ``</s>``, skips the other special tokens."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"ids: expected a 1-D sequence of ints, got shape {ids.shape} "
                             f"dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids: expected ids in [0, {len(self)}), got "
                             f"[{ids.min()}, {ids.max()}]")
        out = []
        first = len(self.specials)
        for i in ids.tolist():
            if i == self._eos:
                break
            if i >= first:
                out.append(self.itos[i])
        return "".join(out)
