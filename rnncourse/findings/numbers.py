"""Reading numbers out of a record's data, with errors that say what was there instead."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def number(value) -> float:
    """``value`` as a float; ``TypeError`` for anything that is not a number (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def optional(data, key: str, cast=float):
    """``cast(data[key])``, or ``None`` when the key is absent or holds ``None``."""
    value = data.get(key) if isinstance(data, Mapping) else None
    return None if value is None else cast(value)
