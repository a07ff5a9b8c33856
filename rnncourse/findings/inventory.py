"""Which record each source uses: found in the results store, computed here, or missing."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import results
from .producers import PRODUCERS, produce
from .sources import LESSON, SOURCES, record_label


@dataclass
class Inventory:
    """Which record each source uses: ``records[key]`` (a :class:`~rnncourse.results.Record`,
    absent when missing), ``status[key]`` (``"found"``, ``"computed"`` or ``"missing"``),
    ``seconds[key]`` for the computed ones, ``skipped`` unreadable files, ``extra`` every
    other record of lessons 2 to 7 that was read, ``folder``."""

    records: dict
    status: dict
    seconds: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    folder: Path | None = None

    def lines(self) -> list[str]:
        """One line per source: where its numbers come from."""
        out = []
        for key, status in self.status.items():
            if status == "missing":
                wanted = " or ".join(f"{a}/{b}" for a, b in SOURCES[key])
                out.append(f"{key:<14} missing   (no {wanted}; its checks are listed as not "
                           f"checked)")
                continue
            rec = self.records[key]
            how = (f"computed here in {self.seconds.get(key, 0.0):.1f} s" if status == "computed"
                   else "found" if rec.lesson != LESSON else "found (recomputed by lesson 8 "
                   "earlier)")
            out.append(f"{key:<14} {how:<22} {record_label(rec)}")
        return out


def record_map(records) -> dict:
    """``records`` (an :class:`Inventory` or a dict source -> Record or data) as a dict."""
    if isinstance(records, Inventory):
        return dict(records.records)
    if not isinstance(records, Mapping):
        raise TypeError(f"records: expected an Inventory or a dict source -> Record, got "
                        f"{type(records).__name__}")
    return dict(records)


def _source_keys(keys) -> list[str]:
    if keys is None:
        return list(SOURCES)
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise TypeError(f"keys: expected a list of source names or None, got "
                        f"{type(keys).__name__}")
    unknown = [k for k in keys if k not in SOURCES]
    if unknown:
        raise ValueError(f"keys: expected names from {list(SOURCES)}, got {unknown}")
    return list(keys)


def _load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", results.ResultsWarning)
        loaded = results.load_results(folder)
    return {(r.lesson, r.name): r for r in loaded}, list(loaded.skipped)


def find_records(folder=None, keys=None) -> Inventory:
    """Which record each source would use, without computing anything."""
    return gather(folder, keys=keys, compute_missing=False)


def gather(folder=None, *, keys=None, compute_missing: bool = True,
           verbose: bool = False) -> Inventory:
    """Find the record of every source (``keys``: a subset of :data:`SOURCES`); with
    ``compute_missing``, run the producer of each missing one that has a producer, save its
    record, and use it. Unreadable files are skipped (listed in ``skipped``), never fatal."""
    keys = _source_keys(keys)
    if not isinstance(compute_missing, bool):
        raise TypeError(f"compute_missing: expected a bool, got {type(compute_missing).__name__}")
    root = results.results_folder(folder, create=False)
    by_key, skipped = _load(folder)
    inv = Inventory({}, {}, skipped=skipped, folder=root)
    todo = []  # (key, producer target) of every missing record that can be recomputed
    for key in keys:
        found = next((by_key[c] for c in SOURCES[key] if c in by_key), None)
        if found is not None:
            inv.records[key], inv.status[key] = found, "found"
            continue
        target = next((c for c in SOURCES[key] if c in PRODUCERS), None)
        if target is None or not compute_missing:
            inv.status[key] = "missing"
            continue
        todo.append((key, target))
    # Recomputing can take minutes (lessons not run yet): a bar says which and how far along.
    bar = None
    if verbose and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="recomputing missing records", unit="record")
    for key, target in todo:
        if bar is not None:
            bar.set_postfix_str(f"{key}: {PRODUCERS[target].what}"[:60])
        start = time.perf_counter()
        path = produce(*target, folder=folder)
        inv.seconds[key] = time.perf_counter() - start
        inv.records[key], inv.status[key] = results.read_record(path), "computed"
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    used = {(r.lesson, r.name) for r in inv.records.values()}
    inv.extra = [r for k, r in sorted(by_key.items())
                 if k not in used and k[0][:2].isdigit() and "02" <= k[0][:2] <= "07"]
    return inv
