"""Exercise checks a learner calls from a notebook.

A learner writes, say, their own ``rnn_step_forward`` in a cell and runs
``check.rnn_step_forward(my_rnn_step_forward)``. The check runs it against the course's
reference (``rnncourse.np_rnn`` and friends, ``rnncourse.clipping``) on several seeded random
cases (B = 1, I != H, T = 1 included), compares every output, and returns a :class:`Verdict`: a
green or red box in a notebook, plain text elsewhere. It never raises: a stub gets "not
implemented yet", an exception its type, line and a hint, a wrong shape the expected
``(B, H) = (3, 5)``, and wrong values the output, time step and, where the catalogue of known
mistakes (``_mistakes.py``) recognises it, the mistake (transposed weight, gate order, missing
bias, forgotten tanh, constant factor, off-by-one over time, gradients not accumulated, ...).

Each check exists under two names, ``check.rnn_step_forward`` and ``check.check_rnn_step_forward``.
``show_solution(name)`` shows the reference's source; ``template(name)`` gives a stub to start
from.
"""

from __future__ import annotations

from . import _exercises
from ._engine import run as _run
from ._solutions import show_solution, solution_source, template
from ._verdict import Verdict

EXERCISES = ("rnn_step_forward", "rnn_step_backward", "rnn_backward", "lstm_step_forward",
             "gru_step_forward", "clip_grad_norm")


def _named(name):
    def mark(function):
        function.exercise = name
        return function
    return mark


@_named("rnn_step_forward")
def rnn_step_forward(fn, *, activations=("tanh",)) -> Verdict:
    """Check ``fn(x, h_prev, params, activation) -> (h_next, cache)``; tanh unless
    ``activations`` lists more (``("tanh", "relu", "sigmoid")``)."""
    known = ("tanh", "relu", "sigmoid")
    if isinstance(activations, str):
        activations = (activations,)
    if not isinstance(activations, (tuple, list)) or not activations or any(
            a not in known for a in activations):
        return Verdict(False, f"activations: expected a tuple of names from {known}, got "
                       f"{activations!r}.", {"exercise": "rnn_step_forward", "status": "invalid"})
    return _run(_exercises.rnn_step_forward_exercise(tuple(activations)), fn)


@_named("rnn_step_backward")
def rnn_step_backward(fn, *, forward=None) -> Verdict:
    """Check ``fn(dh_next, cache) -> (dx, dh_prev, grads)``.

    The caches come from the course's ``rnn_step_forward`` (a dict with ``x``, ``h_prev``,
    ``h_next``, ``params``, ``activation``), or from ``forward`` (your own forward step) if given.
    """
    return _run(_exercises.rnn_step_backward_exercise(), fn, {"forward": forward})


@_named("rnn_backward")
def rnn_backward(fn) -> Verdict:
    """Check full BPTT ``fn(dh, cache) -> (dx, dh0, grads)``, ``cache`` from the course's
    ``rnn_forward`` (its ``cache["steps"][t]`` are the step caches)."""
    return _run(_exercises.rnn_backward_exercise(), fn)


@_named("lstm_step_forward")
def lstm_step_forward(fn) -> Verdict:
    """Check ``fn(x, h_prev, c_prev, params) -> (h_next, c_next, cache)``."""
    return _run(_exercises.lstm_step_forward_exercise(), fn)


@_named("gru_step_forward")
def gru_step_forward(fn) -> Verdict:
    """Check the torch-form GRU step ``fn(x, h_prev, params) -> (h_next, cache)``."""
    return _run(_exercises.gru_step_forward_exercise(), fn)


@_named("clip_grad_norm")
def clip_grad_norm(fn) -> Verdict:
    """Check ``fn(grads, max_norm)`` (a list of arrays) returning ``(clipped, norm)`` or just
    ``clipped``: global-norm clipping after Pascanu et al. (2013)."""
    return _run(_exercises.clip_grad_norm_exercise(), fn)


check_rnn_step_forward = rnn_step_forward
check_rnn_step_backward = rnn_step_backward
check_rnn_backward = rnn_backward
check_lstm_step_forward = lstm_step_forward
check_gru_step_forward = gru_step_forward
check_clip_grad_norm = clip_grad_norm

__all__ = ["EXERCISES", "Verdict", "check_clip_grad_norm", "check_gru_step_forward",
           "check_lstm_step_forward", "check_rnn_backward", "check_rnn_step_backward",
           "check_rnn_step_forward", "clip_grad_norm", "gru_step_forward", "lstm_step_forward",
           "rnn_backward", "rnn_step_backward", "rnn_step_forward", "show_solution",
           "solution_source", "template"]
