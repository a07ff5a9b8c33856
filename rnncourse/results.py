"""A results store: one JSON file per experiment, readable after a kernel restart.

::

    from rnncourse import results
    path = results.save_result("05_gates", "gru_T50", train_result)   # a TrainResult or a dict
    for rec in results.load_results(lesson="05_gates"):
        print(rec.name, rec.data["steps_to_target"])

Where the files go (:func:`results_folder`), first match wins:

1. the ``folder`` argument of the call;
2. the environment variable ``RNNCOURSE_RESULTS``;
3. ``<repository root>/results`` when the package runs from a source checkout (the folder above
   ``rnncourse/`` holds ``pyproject.toml``) and that folder is writable;
4. ``~/.rnncourse/results``.

A file is ``<folder>/<lesson>/<name>.json`` holding ``{"lesson", "name", "timestamp" (UTC, ISO
8601), "versions" (python, numpy, torch, rnncourse), "schema", "data"}``. Saving the same
lesson and name again replaces the file (re-running a notebook does not pile up copies);
``overwrite=False`` keeps both by adding the timestamp to the file name. Writes are atomic (a
temporary file in the same folder, then ``os.replace``), so a crash never leaves half a file
under the real name.

Serialisation of ``data``: dicts (string keys), lists and tuples (as lists), str, bool, int,
float, None; numpy arrays and torch tensors become (nested) lists, numpy and 0-d torch scalars
become numbers, dataclasses (such as ``TrainResult``, via its ``to_dict()``) become dicts,
``pathlib.Path`` becomes a string. JSON has no NaN or infinity, so non-finite floats are written
as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` and turned back into floats on
loading (a string with exactly one of those values is therefore read back as a float).

Declared records
----------------
Every record a course lesson saves has a declared schema (:mod:`rnncourse.records`): saving
checks ``data`` against it and raises :class:`~rnncourse.records.RecordError` naming the field
that is missing or of the wrong type, so a lesson that renames a field fails where it saves,
not in the lesson that reads it. The file's ``"schema"`` is ``{"type", "version"}``; loading
checks the version and the data again. Records of other lessons (a learner's own) are free-form
(``"schema": null``).

A file that cannot be read (invalid JSON, cut short, not a record, an older schema version,
data that does not match its schema) is skipped with a warning naming it and saying why, and
listed in the ``skipped`` attribute of the returned list; loading never raises because of one
bad file. :func:`read_record` reads one file and raises instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import records as _records
from .records import RecordError

__all__ = ["ENV", "Record", "Results", "results_folder", "save_result", "load_results",
           "read_record", "to_jsonable", "ResultsWarning", "RecordError"]

ENV = "RNNCOURSE_RESULTS"
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ResultsWarning(UserWarning):
    """A results file was skipped."""


@dataclass
class Record:
    """One saved experiment: ``lesson``, ``name``, ``timestamp``, ``versions``, ``data``,
    ``path`` of its file, and its ``schema`` (``{"type", "version"}``; ``None`` for free-form
    data)."""

    lesson: str
    name: str
    timestamp: str
    versions: dict
    data: dict
    path: Path
    schema: dict | None = None

    def __getitem__(self, key):
        """``rec["steps_to_target"]`` is ``rec.data["steps_to_target"]``."""
        return self.data[key]


class Results(list):
    """A list of :class:`Record`, oldest first, with ``skipped``: the files that could not be
    read, and ``folder``."""

    def __init__(self, records=(), skipped=(), folder=None):
        super().__init__(records)
        self.skipped: list[Path] = list(skipped)
        self.folder = folder

    def by_name(self) -> dict[str, Record]:
        """The newest record of each name (later records replace earlier ones)."""
        return {r.name: r for r in self}


def _repo_results() -> Path | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        return None
    folder = root / "results"
    probe = folder if folder.exists() else root
    return folder if os.access(probe, os.W_OK) else None


def results_folder(folder=None, *, create: bool = True) -> Path:
    """The folder results are written to and read from (see the module docstring for the order).

    It is created unless ``create=False``.
    """
    if folder is not None:
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"folder: expected a path (str or Path) or None, got "
                            f"{type(folder).__name__}")
        path = Path(folder).expanduser()
    elif os.environ.get(ENV, "").strip():
        path = Path(os.environ[ENV].strip()).expanduser()
    else:
        path = _repo_results() or Path.home() / ".rnncourse" / "results"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _label(name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name}: expected a non-empty name, got {value!r}")
    return value


def _safe(value: str) -> str:
    return _SAFE.sub("_", value.strip()).strip("._") or "_"


def to_jsonable(value, _where: str = "data"):
    """``value`` as plain JSON data (see the module docstring for the rules)."""
    import torch

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v):
            return v
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(value, torch.Tensor):
        return to_jsonable(value.detach().cpu().numpy(), _where)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiub":
            return to_jsonable(value.tolist(), _where)
        if value.dtype.kind in "UO":
            return [to_jsonable(v, _where) for v in value.tolist()]
        if value.dtype.kind == "M":
            return [str(v) for v in value.astype(str).tolist()]
        raise TypeError(f"{_where}: cannot store a numpy array of dtype {value.dtype}")
    if isinstance(value, np.datetime64):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict(), _where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), _where)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, (np.integer, int)) and not isinstance(k, bool):
                k = str(int(k))
            elif not isinstance(k, str):
                raise TypeError(f"{_where}: expected string keys, got a key of type "
                                f"{type(k).__name__} ({k!r})")
            out[k] = to_jsonable(v, f"{_where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{_where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{_where}: cannot store a {type(value).__name__} as JSON; expected "
                    f"dicts, lists, numbers, strings, numpy arrays or torch tensors")


def _from_json(value):
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _versions() -> dict:
    import torch

    from . import __version__

    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "rnncourse": __version__}


def save_result(lesson: str, name: str, data, folder=None, *, overwrite: bool = True) -> Path:
    """Write one experiment's ``data`` (a dict, or a ``TrainResult``) as JSON; return the path.

    The file is ``<folder>/<lesson>/<name>.json`` (characters other than letters, digits,
    ``.``, ``_`` and ``-`` become ``_``); with ``overwrite=False`` the timestamp is added to the
    name instead of replacing an earlier file. A declared record (:mod:`rnncourse.records`) is
    checked against its schema first: :class:`~rnncourse.records.RecordError` names the field
    that is missing or of the wrong type, and nothing is written.
    """
    lesson = _label("lesson", lesson)
    name = _label("name", name)
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite: expected a bool, got {type(overwrite).__name__}")
    payload = to_jsonable(data)
    if not isinstance(payload, dict):
        raise TypeError(f"data: expected a dict (or an object with to_dict()), got "
                        f"{type(data).__name__}")
    declared = _records.record_type(lesson, name)
    schema = None
    if declared is not None:
        _check(declared, _from_json(payload), f"{lesson}/{name}: data")
        schema = {"type": declared.schema_name, "version": declared.version}
    now = _dt.datetime.now(_dt.UTC)
    record = {"lesson": lesson, "name": name,
              "timestamp": now.isoformat(timespec="microseconds"),
              "versions": _versions(), "schema": schema, "data": payload}
    text = json.dumps(record, indent=1, allow_nan=False)
    target_dir = results_folder(folder) / _safe(lesson)
    target_dir.mkdir(parents=True, exist_ok=True)
    stem = _safe(name)
    if not overwrite:
        stem += "__" + now.strftime("%Y%m%dT%H%M%S%fZ")
    path = target_dir / f"{stem}.json"
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _check(declared, data, where: str) -> None:
    try:
        _records.check_data(declared.schema, data, where)
    except RecordError as e:
        raise RecordError(f"{e} [schema {declared.schema_name}, version {declared.version}, "
                          f"rnncourse.records]") from None


def read_record(path) -> Record:
    """Read one results file; raise ``ValueError`` (:class:`~rnncourse.records.RecordError` for a
    schema problem) saying what is wrong with it, ``OSError`` if it cannot be opened."""
    path = Path(path)
    with path.open("r", encoding="utf-8") as fh:
        raw = json.load(fh)
    if not isinstance(raw, dict):
        raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
    missing = [k for k in ("lesson", "name", "timestamp", "data") if k not in raw]
    if missing:
        raise ValueError(f"not a results record, missing {missing}")
    if not isinstance(raw["data"], dict):
        raise ValueError(f"'data' should be an object, got {type(raw['data']).__name__}")
    lesson, name = str(raw["lesson"]), str(raw["name"])
    data = _from_json(raw["data"])
    declared = _records.record_type(lesson, name)
    schema = raw.get("schema")
    if declared is not None:
        found = schema.get("version") if isinstance(schema, dict) else None
        kind = schema.get("type") if isinstance(schema, dict) else None
        if found != declared.version or kind != declared.schema_name:
            saved = ("before records had schemas" if schema is None
                     else f"with schema {kind} version {found}")
            raise RecordError(f"{lesson}/{name} was saved {saved}; this rnncourse reads "
                              f"{declared.schema_name} version {declared.version}: run lesson "
                              f"{lesson} again to rewrite it")
        _check(declared, data, f"{lesson}/{name}: data")
    return Record(lesson=lesson, name=name, timestamp=str(raw["timestamp"]),
                  versions=dict(raw.get("versions") or {}), data=data, path=path,
                  schema=schema if isinstance(schema, dict) else None)


def load_results(folder=None, lesson: str | None = None, name: str | None = None) -> Results:
    """All saved records (of one ``lesson``, one ``name`` if given), oldest first.

    Unreadable files are skipped with a :class:`ResultsWarning` naming them and listed in
    ``result.skipped``. A folder that does not exist yet gives an empty list.
    """
    if lesson is not None:
        lesson = _label("lesson", lesson)
    if name is not None:
        name = _label("name", name)
    root = results_folder(folder, create=False)
    out = Results(folder=root)
    if not root.is_dir():
        return out
    pattern = f"{_safe(lesson)}/*.json" if lesson is not None else "*/*.json"
    records = []
    for path in sorted(root.glob(pattern)):
        if path.name.startswith("."):
            continue  # a temporary file of a write in progress
        try:
            rec = read_record(path)
        except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
            warnings.warn(f"skipping unreadable results file {path}: {e}", ResultsWarning,
                          stacklevel=2)
            out.skipped.append(path)
            continue
        if lesson is not None and rec.lesson != lesson:
            continue
        if name is not None and rec.name != name:
            continue
        records.append(rec)
    records.sort(key=lambda r: r.timestamp)
    out.extend(records)
    return out
