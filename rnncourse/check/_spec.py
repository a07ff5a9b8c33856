"""One row of the exercise table: everything the package needs to know about an exercise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._engine import Exercise


@dataclass(frozen=True)
class Option:
    """A keyword option of a check: ``read(value)`` returns the value to use or raises
    ``Problem`` with a message for the learner."""

    name: str
    default: object
    read: Callable[[object], object]
    doc: str = ""


@dataclass(frozen=True)
class Spec:
    """An exercise as its family module declares it.

    ``exercise(options)`` builds the :class:`Exercise` the engine runs (cases, reference,
    catalogue); ``solution`` is the course's reference function, whose source ``show_solution``
    shows; ``signature`` and ``doc`` make the template; ``summary`` is the check's docstring;
    ``lesson`` is the lesson that asks for it.
    """

    name: str
    lesson: str
    exercise: Callable[[dict], Exercise]
    solution: Callable
    signature: str
    doc: str
    summary: str
    options: tuple = ()
