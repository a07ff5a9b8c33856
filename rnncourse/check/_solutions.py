"""The course's answers on request (``show_solution``) and the stubs lessons start from
(``template``), both read from the exercise table."""

from __future__ import annotations

import inspect

from ._table import SPECS
from ._verdict import Verdict


def exercise_name(name) -> str | None:
    """Accept ``"rnn_step_forward"``, ``"check.rnn_step_forward"``, ``"my_rnn_step_forward"``
    or the check function itself."""
    name = getattr(name, "exercise", name)
    if not isinstance(name, str):
        return None
    name = name.strip().removeprefix("check.").removeprefix("check_").removeprefix("my_")
    return name if name in SPECS else None


def _unknown(name) -> Verdict:
    return Verdict(False, f"No exercise named {name!r}; choose one of "
                   f"{', '.join(SPECS)}.", {"exercise": "show_solution", "status": "invalid"})


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
        raise ValueError(f"name: expected one of {list(SPECS)}, got {name!r}")
    return inspect.getsource(SPECS[key].solution)


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
    except Exception as exc:  # the reference's source cannot be read
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
        raise ValueError(f"name: expected one of {list(SPECS)}, got {name!r}")
    spec = SPECS[key]
    return (f"def my_{key}({spec.signature}):\n"
            f'    """{spec.doc}\n    """\n'
            "    # Your code here\n"
            "    raise NotImplementedError\n")
