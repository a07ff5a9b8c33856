"""Attention over a sequence of encoder states: additive (Bahdanau) and dot / general (Luong).

Given a query ``s`` (the decoder state, ``(B, Q)``) and encoder states ``h_1..h_S`` (time-major,
``(S, B, K)``, as every sequence in the course), one attention step computes

* a score per source position ``i``:

  - additive (Bahdanau, Cho & Bengio 2015): ``e_i = v^T tanh(W s + U h_i)``
    with ``W (A, Q)``, ``U (A, K)``, ``v (A,)``;
  - dot (Luong et al. 2015): ``e_i = s^T h_i`` (needs ``Q == K``);
  - general (Luong et al. 2015): ``e_i = s^T W_a h_i`` with ``W_a (Q, K)``;

* weights ``alpha_i = exp(e_i) / sum_j exp(e_j)`` over the real (unmasked) positions, exactly 0
  at padded ones;
* the context ``c = sum_i alpha_i h_i`` of shape ``(B, K)``.

Weights and scores are time-major too: ``(S, B)``; ``mask`` is a bool ``(S, B)`` tensor, True
at real tokens. :class:`Attention` holds the parameters; :func:`masked_softmax` and
:func:`context` are the two equations on their own. For a decoder that attends at every step,
:meth:`Attention.prepare` computes the query-independent part once (``U h_i`` for additive,
``W_a h_i`` for general) and :meth:`Attention.attend` reuses it without re-checking arguments.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validate import check_shape, choice, positive_int

__all__ = ["SCORES", "Attention", "masked_softmax", "context"]

SCORES = ("additive", "dot", "general")


def _tensor(name: str, value, *, floating: bool = True) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    return value


def _check_mask(mask, S: int, B: int) -> torch.Tensor:
    _tensor("mask", mask, floating=False)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected a bool tensor (True at real tokens), got dtype "
                        f"{mask.dtype}")
    check_shape("mask", mask, [("S", S), ("B", B)])
    empty = ~mask.any(dim=0)
    if bool(empty.any()):
        raise ValueError(f"mask: expected at least one real (True) position per sequence, got "
                         f"none in sequence(s) {empty.nonzero().flatten().tolist()}")
    return mask


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``alpha_i = exp(e_i) / sum_j exp(e_j)`` over the source axis (dim 0) of ``scores (S, B)``.

    Positions where ``mask`` is False get weight exactly 0 and do not enter the sum, so the
    weights of a padded batch equal those of each sequence cropped to its length.
    """
    _tensor("scores", scores)
    if scores.dim() != 2:
        raise ValueError(f"scores: expected 2 dimensions (S, B), got {scores.dim()} with shape "
                         f"{tuple(scores.shape)}")
    if mask is not None:
        _check_mask(mask, *scores.shape)
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=0)


def context(weights: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """``c = sum_i alpha_i h_i``: weights ``(S, B)``, states ``(S, B, K)`` -> ``(B, K)``."""
    _tensor("weights", weights)
    _tensor("states", states)
    if states.dim() != 3:
        raise ValueError(f"states: expected 3 dimensions (S, B, K), got {states.dim()} with "
                         f"shape {tuple(states.shape)}")
    S, B, _ = states.shape
    check_shape("weights", weights, [("S", S), ("B", B)])
    return (weights.unsqueeze(-1) * states).sum(dim=0)


class Attention(nn.Module):
    """One attention step: ``forward(query, states, mask=None) -> (context, weights)``.

    ``kind`` is ``"additive"`` (parameters ``W (A, Q)``, ``U (A, K)``, ``v (A,)``; ``A`` is
    ``attention_size``, default ``K``), ``"dot"`` (no parameters, ``Q == K``) or ``"general"``
    (``W_a (Q, K)``). Shapes: ``query (B, Q)``, ``states (S, B, K)``, ``mask (S, B)`` bool;
    ``context (B, K)``, ``weights (S, B)``, and :meth:`scores` gives ``e (S, B)``.
    """

    def __init__(self, query_size: int, key_size: int, kind: str = "additive",
                 attention_size: int | None = None):
        super().__init__()
        query_size = positive_int("query_size", query_size)
        key_size = positive_int("key_size", key_size)
        choice("kind", kind, SCORES)
        if kind == "dot" and query_size != key_size:
            raise ValueError(f"dot attention needs query_size == key_size, got query_size = "
                             f"{query_size} and key_size = {key_size} (use 'general' instead)")
        attention_size = key_size if attention_size is None else positive_int(
            "attention_size", attention_size)  # True or 2.5: TypeError, 0: ValueError
        self.kind, self.query_size, self.key_size = kind, query_size, key_size
        self.attention_size = attention_size if kind == "additive" else None
        if kind == "additive":
            A = attention_size
            self.W = nn.Parameter(torch.empty(A, query_size))
            self.U = nn.Parameter(torch.empty(A, key_size))
            self.v = nn.Parameter(torch.empty(A))
        elif kind == "general":
            self.W_a = nn.Parameter(torch.empty(query_size, key_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, as torch.nn.Linear's bias."""
        for name, p in self.named_parameters():
            fan_in = p.shape[-1] if name != "v" else p.shape[0]
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        extra = f", attention_size={self.attention_size}" if self.kind == "additive" else ""
        return f"{self.query_size}, {self.key_size}, kind={self.kind!r}{extra}"

    # ------------------------------------------------------------------ checks

    def _check(self, query, states, mask):
        _tensor("query", query)
        _tensor("states", states)
        if states.dim() != 3:
            raise ValueError(f"states: expected 3 dimensions (S, B, K) with K = {self.key_size}, "
                             f"got {states.dim()} with shape {tuple(states.shape)}")
        S, B, _ = check_shape("states", states, [("S", None), ("B", None), ("K", self.key_size)])
        check_shape("query", query, [("B", B), ("Q", self.query_size)])
        if query.dtype != states.dtype:
            raise TypeError(f"query: expected the dtype of states ({states.dtype}), got "
                            f"{query.dtype}")
        if S == 0:
            raise ValueError("states: expected at least one source position, got S = 0")
        if mask is not None:
            _check_mask(mask, S, B)

    # ------------------------------------------------------------------ the equations

    def prepare(self, states: torch.Tensor) -> torch.Tensor:
        """The query-independent part of the score, batch-first ``(B, S, .)``.

        Additive: ``U h_i`` (``(B, S, A)``); general: ``W_a h_i`` (``(B, S, Q)``); dot: ``h_i``.
        """
        keys = states.transpose(0, 1)
        if self.kind == "additive":
            return keys @ self.U.T
        if self.kind == "general":
            return keys @ self.W_a.T
        return keys

    def attend(self, query, keys, values, pad=None):
        """Fast path used inside decoders: no argument checks, batch-first internals.

        ``keys`` from :meth:`prepare`, ``values`` the states batch-first ``(B, S, K)``, ``pad``
        a bool ``(B, S)`` tensor True at *padded* positions (or None). Returns
        ``(context (B, K), weights (B, S))``.
        """
        if self.kind == "additive":
            e = torch.tanh(keys + (query @ self.W.T).unsqueeze(1)) @ self.v
        else:
            e = (keys @ query.unsqueeze(-1)).squeeze(-1)
        if pad is not None:
            e = e.masked_fill(pad, float("-inf"))
        alpha = torch.softmax(e, dim=1)
        return (alpha.unsqueeze(1) @ values).squeeze(1), alpha

    def scores(self, query: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """The unnormalised scores ``e (S, B)``."""
        self._check(query, states, None)
        keys = self.prepare(states)
        if self.kind == "additive":
            e = torch.tanh(keys + (query @ self.W.T).unsqueeze(1)) @ self.v
        else:
            e = (keys @ query.unsqueeze(-1)).squeeze(-1)
        return e.T

    def forward(self, query: torch.Tensor, states: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(context (B, K), weights (S, B))`` for ``query (B, Q)`` and ``states (S, B, K)``."""
        self._check(query, states, mask)
        pad = None if mask is None else ~mask.T
        c, alpha = self.attend(query, self.prepare(states), states.transpose(0, 1), pad)
        return c, alpha.T
