"""The course's answers on request (``show_solution``) and the stubs lessons start from."""

from __future__ import annotations

import importlib
import inspect

from ._verdict import Verdict

SOLUTIONS = {  # exercise -> (module, function) of the reference
    "rnn_step_forward": ("np_rnn", "rnn_step_forward"),
    "rnn_step_backward": ("np_rnn", "rnn_step_backward"),
    "rnn_backward": ("np_rnn", "rnn_backward"),
    "lstm_step_forward": ("np_lstm", "lstm_step_forward"),
    "gru_step_forward": ("np_gru", "gru_step_forward"),
    "clip_grad_norm": ("clipping", "clip_grad_norm"),
}

TEMPLATES = {
    "rnn_step_forward": ('x, h_prev, params, activation="tanh"',
                         "One RNN step: h_next = f(x @ W_xh.T + h_prev @ W_hh.T + b_h).\n\n"
                         "    x (B, I), h_prev (B, H); params W_xh (H, I), W_hh (H, H), b_h (H,).\n"
                         "    Return (h_next, cache): h_next (B, H), cache what the backward "
                         "step needs."),
    "rnn_step_backward": ("dh_next, cache",
                          "Backward through one RNN step.\n\n"
                          "    dh_next (B, H); cache from the forward step.\n"
                          "    Return (dx, dh_prev, grads): dx (B, I), dh_prev (B, H), grads a "
                          "dict with the keys of params."),
    "rnn_backward": ("dh, cache",
                     "Backpropagation through time.\n\n"
                     "    dh (T, B, H): the loss's direct gradient at every h_t; cache from "
                     "rnn_forward.\n"
                     "    Return (dx, dh0, grads): dx (T, B, I), dh0 (B, H), grads summed over "
                     "time."),
    "lstm_step_forward": ("x, h_prev, c_prev, params",
                          "One LSTM step (gates i, f, g, o).\n\n"
                          "    x (B, I), h_prev and c_prev (B, H); params W_xk (H, I), W_hk (H, H),"
                          " b_k (H,) for k in i, f, g, o.\n"
                          "    Return (h_next, c_next, cache)."),
    "gru_step_forward": ("x, h_prev, params",
                         "One GRU step in torch's form: n = tanh(x @ W_xn.T + b_n + "
                         "r * (h_prev @ W_hn.T + b_hn)).\n\n"
                         "    x (B, I), h_prev (B, H); params W_xk, W_hk, b_k for k in r, z, n, "
                         "and b_hn.\n"
                         "    Return (h_next, cache): h_next = (1 - z) * n + z * h_prev."),
    "clip_grad_norm": ("grads, max_norm",
                       "Clip a list of gradient arrays by their global norm (Pascanu et al.).\n\n"
                       "    Return (clipped, norm): new arrays, and the norm before clipping."),
}


def exercise_name(name) -> str | None:
    """Accept ``"rnn_step_forward"``, ``"check_rnn_step_forward"`` or the check function."""
    name = getattr(name, "exercise", name)
    if not isinstance(name, str):
        return None
    name = name.strip().removeprefix("check.").removeprefix("check_").removeprefix("my_")
    return name if name in SOLUTIONS else None


def _unknown(name) -> Verdict:
    return Verdict(False, f"No exercise named {name!r}; choose one of "
                   f"{', '.join(SOLUTIONS)}.", {"exercise": "show_solution", "status": "invalid"})


class _PlainCode:
    """Fallback when IPython is missing: prints as the source itself."""

    def __init__(self, source: str):
        self.data = source

    def __repr__(self) -> str:
        return self.data


def solution_source(name) -> str:
    """The source of the course's reference for exercise ``name`` (a string)."""
    key = exercise_name(name)
    if key is None:
        raise ValueError(f"name: expected one of {list(SOLUTIONS)}, got {name!r}")
    module, function = SOLUTIONS[key]
    return inspect.getsource(getattr(importlib.import_module(f"rnncourse.{module}"), function))


def show_solution(name):
    """The course's answer to exercise ``name``, syntax-highlighted in a notebook.

    Returns an ``IPython.display.Code`` (displayed when it is a cell's last expression), plain
    text without IPython, or a red :class:`Verdict` for an unknown name. Never raises.
    """
    key = exercise_name(name)
    if key is None:
        return _unknown(name)
    try:
        source = solution_source(key)
    except Exception as exc:  # the reference is missing or its source cannot be read
        return Verdict(False, f"The course's solution cannot be shown ({type(exc).__name__}: "
                       f"{exc}).", {"exercise": "show_solution", "status": "invalid"})
    try:
        from IPython.display import Code
    except ImportError:
        return _PlainCode(source)
    return Code(source, language="python")


def template(name) -> str:
    """A stub to start exercise ``name`` from: ``def my_<name>(...)`` that raises
    ``NotImplementedError`` (which the check reports as "not implemented yet")."""
    key = exercise_name(name)
    if key is None:
        raise ValueError(f"name: expected one of {list(SOLUTIONS)}, got {name!r}")
    signature, doc = TEMPLATES[key]
    return (f"def my_{key}({signature}):\n"
            f'    """{doc}\n    """\n'
            "    # Your code here\n"
            "    raise NotImplementedError\n")
