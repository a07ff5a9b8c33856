"""The table of exercises: one row per exercise, in course order. ``rnncourse.check`` makes one
public check function per row (``check.<name>``), and ``show_solution`` and ``template`` read
their rows. Adding an exercise is one family module declaring a :class:`Spec` and one row here
(see docs/conventions.md)."""

from __future__ import annotations

from . import (
    attention_step,
    clip,
    embedding,
    finite_diff,
    gru_step,
    linear_memory,
    lstm_seq,
    lstm_step,
    rnn_seq,
    rnn_step,
    softmax_loss,
)

TABLE = (
    rnn_step.FORWARD,      # lesson 1
    rnn_step.BACKWARD,     # lesson 2
    rnn_seq.FORWARD,       # lesson 2
    rnn_seq.BACKWARD,      # lesson 2
    rnn_seq.TRUNCATED,     # lesson 2
    finite_diff.CENTRED,   # lesson 2
    lstm_step.FORWARD,     # lesson 3
    lstm_step.BACKWARD,    # lesson 3
    lstm_seq.BACKWARD,     # lesson 3
    gru_step.FORWARD,      # lesson 3
    gru_step.BACKWARD,     # lesson 3
    clip.CLIP,             # lesson 4
    embedding.FORWARD,     # lesson 6
    embedding.BACKWARD,    # lesson 6
    softmax_loss.LOSS,     # lesson 6
    attention_step.ATTENTION,  # lesson 7
    linear_memory.MEMORY,  # lesson 7b
    linear_memory.RECURRENCE,  # lesson 7b
)

SPECS = {spec.name: spec for spec in TABLE}
assert len(SPECS) == len(TABLE), "two rows with one name"
