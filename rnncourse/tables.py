"""Tables of rows (dicts) as text: the one table formatter of the course.

::

    from rnncourse.tables import format_table
    print(format_table([{"model": "GRU", "test MSE": 0.0061, "steps to target": 450}]))

A *row* is a dict column -> value; :func:`format_cell` writes one value (floats with ``digits``
significant digits, ``None`` as a dash, booleans as yes/no); :func:`format_table` writes a
Markdown table, which reads as plain text too and renders as a table in a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import validate

__all__ = ["format_cell", "format_table"]


def format_cell(value, digits: int = 4) -> str:
    """One value as table text: ``None`` -> ``"–"``, booleans -> yes/no, floats with ``digits``
    significant digits (non-finite ones as ``nan``/``inf``), anything else by ``str``."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return str(float(value))
        return f"{value:.{digits}g}"
    return str(value)


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None, *,
                 digits: int = 4) -> str:
    """A Markdown table of ``rows`` (dicts), with ``columns`` (default: the first row's keys).

    Every column must be a key of every row. Floats are shown with ``digits`` significant
    digits, ``None`` as a dash, booleans as yes/no; a ``|`` inside a cell is escaped.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence) or not rows:
        raise TypeError(f"rows: expected a non-empty list of dicts, got {type(rows).__name__}"
                        + (" (empty)" if isinstance(rows, Sequence) and not rows else ""))
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"rows[{i}]: expected a dict, got {type(row).__name__}")
    columns = list(rows[0]) if columns is None else list(columns)
    missing = sorted({c for row in rows for c in columns if c not in row})
    if missing:
        raise ValueError(f"columns: expected keys present in every row, got {missing} missing "
                         f"from some rows")
    digits = validate.positive_int("digits", digits)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(format_cell(row[c], digits).replace("|", "\\|")
                                        for c in columns) + " |")
    return "\n".join(lines)
