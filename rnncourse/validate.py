"""Argument checks shared by every public function of the course.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong rank,
shape, value) with a message that names the argument, what was expected and what was given, so
that a learner who passes a transposed matrix reads exactly that instead of a broadcasting error
three calls deeper.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Dim = tuple[str, int | None]  # ("H", 64) or ("T", None) for "any size"


def _fmt_dims(dims: Sequence[Dim]) -> str:
    labels = ", ".join(label for label, _ in dims)
    values = ", ".join("?" if size is None else str(size) for _, size in dims)
    return f"({labels}) = ({values})"


def as_float_array(name: str, value, *, finite: bool = True) -> np.ndarray:
    """Return ``value`` as a floating-point numpy array, or raise naming ``name``.

    Integer, boolean and complex arrays are refused (TypeError): silently casting them would hide
    a learner's mistake such as passing token ids where one-hot vectors are expected.
    """
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (int, float, list, tuple, np.generic)) and not isinstance(value, bool):
        try:
            arr = np.asarray(value)
        except ValueError:  # numpy's "inhomogeneous shape": rows of different lengths
            raise ValueError(f"{name}: expected a rectangular array (every row the same length), "
                             f"got a ragged {type(value).__name__}") from None
    else:
        raise TypeError(f"{name}: expected a numpy array of floats, got {type(value).__name__}")
    if arr.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point array, got dtype {arr.dtype}")
    if finite and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    return arr


def check_shape(name: str, arr: np.ndarray, dims: Sequence[Dim]) -> tuple[int, ...]:
    """Check that ``arr`` has ``len(dims)`` axes with the given sizes; return its shape.

    ``dims`` pairs a symbol with a size, ``None`` meaning any size: ``[("T", None), ("B", 4)]``.
    """
    if arr.ndim != len(dims):
        raise ValueError(
            f"{name}: expected {len(dims)} dimensions {_fmt_dims(dims)}, "
            f"got {arr.ndim} with shape {tuple(arr.shape)}"
        )
    for axis, ((label, size), got) in enumerate(zip(dims, arr.shape)):
        if size is not None and size != got:
            raise ValueError(
                f"{name}: expected shape {_fmt_dims(dims)}, got {tuple(arr.shape)} "
                f"(axis {axis}, {label}, should be {size})"
            )
    return tuple(arr.shape)


def array(name: str, value, dims: Sequence[Dim], *, finite: bool = True) -> np.ndarray:
    """``as_float_array`` then ``check_shape``: the one-line check most functions need."""
    arr = as_float_array(name, value, finite=finite)
    check_shape(name, arr, dims)
    return arr


def choice(name: str, value, options: Sequence[str]) -> str:
    """Check that ``value`` is one of ``options`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {list(options)}, got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {value!r}")
    return value


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Check that ``value`` is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def positive_float(name: str, value, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a real number > 0 (or >= 0 with ``allow_zero``), finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (np.isfinite(value) and ok):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a finite number {bound}, got {value}")
    return value


def param_dict(name: str, params, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
    """Check that ``params`` is a dict of numpy arrays with the ``required`` keys (plus any
    ``optional``); the shapes are the caller's to check."""
    if not isinstance(params, dict):
        raise TypeError(f"{name}: expected a dict of arrays, got {type(params).__name__}")
    missing = [k for k in required if k not in params]
    unknown = [k for k in params if k not in required and k not in optional]
    if missing or unknown:
        raise ValueError(
            f"{name}: expected keys {list(required)}"
            + (f" (optionally {list(optional)})" if optional else "")
            + f", got {sorted(params)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {unknown}" if unknown else "")
        )
    for key, value in params.items():  # a list would pass the shape checks, then fail in numpy
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name}[{key!r}]: expected a numpy array, got "
                            f"{type(value).__name__} (use np.asarray)")
    return params


def number_in_range(name: str, value, low: float, high: float) -> float:
    """Check that ``value`` is a real number (not a bool) in ``[low, high]``; return it as float.

    The explorers use it for their starting values, which must lie on their sliders.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number in [{low}, {high}], got "
                        f"{type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name}: expected a number in [{low}, {high}], got {value}")
    return float(value)


def boolean(name: str, value) -> bool:
    """Check that ``value`` is a bool (``True``/``False``, not ``"no"``, not 0 or 1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def seed(name: str, value) -> int:
    """Check that ``value`` is an int seed >= 0 (not a bool, not a float); return it as int."""
    return positive_int(name, value, minimum=0)


def generator(name: str, value) -> np.random.Generator:
    """``value`` if it is a ``numpy.random.Generator``, else a new one seeded with the int seed
    ``value`` (>= 0); anything else raises naming ``name``."""
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a numpy.random.Generator or an int seed >= 0, got "
                        f"{type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name}: expected a numpy.random.Generator or an int seed >= 0, got "
                         f"{value}")
    return np.random.default_rng(int(value))
