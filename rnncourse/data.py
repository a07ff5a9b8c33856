"""Loaders for the real series shipped in ``rnncourse/data/`` (nothing is downloaded).

* :func:`load_co2`: weekly atmospheric CO2 at Mauna Loa, 1958-03-29 to 2001-12-29, 2284 weeks
  (ppm). The file has 59 empty weeks; they are filled by linear interpolation in time between
  the nearest recorded weeks. Most gaps are one to a few weeks, but the longest is 18 weeks
  (1964-01-25 to 1964-05-23), where a straight line cuts through the spring rise. ``missing``
  marks every filled week so a lesson can show or exclude them. Pass ``interpolate=False`` to
  keep them as ``nan``.
* :func:`load_sunspots`: yearly sunspot numbers 1700-2008 (309 values, none missing); the
  solar cycle is about 11 years.
* :func:`load_sonnets`: Shakespeare's Sonnets (1609, public domain), 154 sonnets, 95,728
  ASCII characters, for the character-level language model of lesson 6.

Sources and licences: ``rnncourse/data/README.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["TimeSeries", "load_co2", "load_sunspots", "load_sonnets", "data_path"]


@dataclass
class TimeSeries:
    """A dated series: ``dates`` (numpy datetime64 or int years), ``values`` float64,
    ``missing`` bool (True where the value was interpolated), ``name``, ``units``, ``period``
    (the natural season length in steps: 52 weeks for CO2, 11 years for sunspots)."""

    dates: np.ndarray
    values: np.ndarray
    missing: np.ndarray
    name: str
    units: str
    period: int

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        """``dates, values = load_co2()`` unpacks the two main fields."""
        return iter((self.dates, self.values))


def data_path(filename: str):
    """Path of a file shipped in ``rnncourse/data``."""
    path = resources.files("rnncourse") / "data" / filename
    if not path.is_file():
        raise ValueError(f"filename: expected a file in rnncourse/data, got {filename!r}")
    return path


def _read(filename):
    with data_path(filename).open("r", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def load_co2(*, interpolate: bool = True) -> TimeSeries:
    """Weekly Mauna Loa CO2 (ppm), 2284 weeks, missing weeks linearly interpolated in time.

    ``missing`` is True for the 59 weeks that had no reading. With ``interpolate=False`` they
    stay ``nan``.
    """
    if not isinstance(interpolate, bool):
        raise TypeError(f"interpolate: expected a bool, got {type(interpolate).__name__}")
    _, rows = _read("co2_weekly.csv")
    dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
    values = np.array([float(r[1]) if r[1].strip() else np.nan for r in rows])
    missing = np.isnan(values)
    if interpolate and missing.any():
        t = dates.astype(np.int64).astype(np.float64)
        values = values.copy()
        values[missing] = np.interp(t[missing], t[~missing], values[~missing])
    return TimeSeries(dates=dates, values=values, missing=missing, name="Mauna Loa CO2",
                      units="ppm", period=52)


def load_sunspots() -> TimeSeries:
    """Yearly sunspot numbers 1700-2008 (``dates`` are int years)."""
    _, rows = _read("sunspots_yearly.csv")
    years = np.array([int(r[0]) for r in rows])
    values = np.array([float(r[1]) for r in rows])
    return TimeSeries(dates=years, values=values, missing=np.zeros(len(values), dtype=bool),
                      name="yearly sunspot number", units="sunspots", period=11)


def load_sonnets() -> str:
    """Shakespeare's Sonnets (first printed 1609; public domain) as one string.

    154 sonnets with their roman numerals, 95,728 characters, 62 distinct (ASCII letters,
    punctuation, space and newline). Text of the Project Gutenberg edition as shipped in the
    ``shakespeare`` package 0.6 (Open Knowledge Foundation); see ``rnncourse/data/README.md``.
    """
    return data_path("shakespeare_sonnets.txt").read_text(encoding="ascii")
