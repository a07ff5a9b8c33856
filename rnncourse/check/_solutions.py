"""The course's answers on request (``show_solution``) and the stubs lessons start from
(``template``), both read from the exercise table.

In an assignment (``rnncourse assign``) the answers are off: ``RNNCOURSE_SOLUTIONS=off`` in
the environment, or a marker file :data:`MARKER` in the notebook's folder or a folder above
it, makes ``show_solution`` refuse with a red verdict and ``solution_source`` raise
:class:`SolutionsOff`.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

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


MARKER = ".rnncourse-assignment"  # written by `rnncourse assign` into the student version
_OFF = {"off", "0", "no", "false"}


class SolutionsOff(RuntimeError):
    """The course's solutions are turned off (an assignment)."""


def solutions_off(folder=None) -> str | None:
    """Why the solutions are off here (a sentence), or None when they are on.

    Off when ``RNNCOURSE_SOLUTIONS`` is ``off`` (or ``0``, ``no``, ``false``), or when
    ``folder`` (default: the working folder, a notebook's own folder in Jupyter) or a folder
    above it holds :data:`MARKER`.
    """
    setting = os.environ.get("RNNCOURSE_SOLUTIONS", "").strip().lower()
    if setting in _OFF:
        return f"RNNCOURSE_SOLUTIONS={setting} is set"
    try:
        here = Path(folder if folder is not None else os.getcwd()).resolve()
    except OSError:
        return None
    for place in (here, *here.parents):
        try:
            if (place / MARKER).is_file():
                return f"{place / MARKER} marks this folder as an assignment"
        except OSError:  # a folder above that cannot be read
            break
    return None


def _refusal(reason: str) -> str:
    return (f"The solutions are turned off in this copy of the course: it is an assignment "
            f"({reason}). Your check's hints still work: run check.<exercise>(my_<exercise>) "
            "and read what it says; ask your instructor if you are stuck.")


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
    reason = solutions_off()
    if reason is not None:
        raise SolutionsOff(_refusal(reason))
    return inspect.getsource(SPECS[key].solution)


def show_solution(name):
    """The course's answer to exercise ``name``, syntax-highlighted in a notebook.

    Returns an ``IPython.display.Code`` (displayed when it is a cell's last expression), plain
    text without IPython, or a red :class:`Verdict` for an unknown name or when the solutions
    are off (:func:`solutions_off`). Never raises.
    """
    key = exercise_name(name)
    if key is None:
        return _unknown(name)
    reason = solutions_off()
    if reason is not None:
        return Verdict(False, _refusal(reason), {"exercise": "show_solution",
                                                 "status": "solutions off"})
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
