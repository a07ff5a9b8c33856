"""A learner's own copy of the lessons, refreshed without ever losing their work.

``rnncourse lessons DIR`` and ``make lab`` (into the ignored folder ``workspace/``) call
:func:`copy_lessons`. The copies are the lesson notebooks only (``NN_slug.ipynb``), without the
jupytext pairing metadata, so saving one in JupyterLab writes that one file and never a ``.py``.

Two hidden files go with them: ``DIR/.jupytext.toml`` (no pairing, even inside a folder whose
``jupytext.toml`` pairs notebooks) and a manifest, ``DIR/.rnncourse-lessons.json``, which
records a SHA-256 of every notebook as it was written. On a later run a lesson whose file still
matches its record is the course's copy: it is replaced when the course has a newer version. A
file that differs from its record (or that the manifest does not know) is the learner's: it is
kept as it is and reported, unless ``update`` is set, in which case it is renamed
``NN_slug.yours-YYYYMMDD-HHMMSS.ipynb`` beside the new lesson.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rnncourse.lessons import NOTEBOOKS, lesson_notebooks

MANIFEST = ".rnncourse-lessons.json"
# Hidden, and nearer than any jupytext.toml above DIR (the repository's pairs every notebook
# with a .py): saving a lesson in DIR writes that .ipynb only.
JUPYTEXT_CONFIG = ".jupytext.toml"


@dataclass
class CopyReport:
    """What one :func:`copy_lessons` run did, lesson by lesson (file names)."""

    folder: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the learner's edits, left as they are
    newer: list[str] = field(default_factory=list)  # kept, though the course has a newer version
    set_aside: dict[str, str] = field(default_factory=dict)  # lesson -> where the learner's went

    def lines(self) -> list[str]:
        out = [f"lessons in {self.folder}:"]
        if self.added:
            out.append(f"  added {len(self.added)}: {', '.join(self.added)}")
        if self.updated:
            out.append(f"  updated {len(self.updated)}: {', '.join(self.updated)}")
        if self.unchanged:
            out.append(f"  already up to date: {len(self.unchanged)}")
        for name in self.kept:
            out.append(f"  kept your {name} (you changed it)")
        for name in self.newer:
            out.append(f"  kept your {name} (you changed it); the course has a newer version: "
                       "`rnncourse lessons --update` puts it beside yours")
        for name, mine in self.set_aside.items():
            out.append(f"  updated {name}; your copy is now {mine}")
        return out


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def learner_copy(source: Path) -> bytes:
    """The bytes of lesson ``source`` as a learner gets it: without jupytext's pairing."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    notebook.get("metadata", {}).pop("jupytext", None)
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def check_folder(folder) -> Path:
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder: expected a path, got {type(folder).__name__}")
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder: expected a folder for the lessons, {folder} is a file")
    return folder


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def copy_lessons(folder, *, update: bool = False, source: Path = NOTEBOOKS) -> CopyReport:
    """Copy the lesson notebooks from ``source`` into ``folder``; return what was done.

    Never overwrites a notebook the learner changed (see the module docstring). Raises
    ValueError when ``folder`` is a file or ``source`` holds no lessons; OSError (such as
    PermissionError) when ``folder`` cannot be written.
    """
    folder = check_folder(folder)
    lessons = lesson_notebooks(Path(source))
    if not lessons:
        raise ValueError(f"source: expected lesson notebooks NN_slug.ipynb in {source}, found none")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(folder)
    report = CopyReport(folder)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for lesson in lessons:
        name = lesson.name
        new = learner_copy(lesson)
        target = folder / name
        if not target.exists():
            _write_atomic(target, new)
            report.added.append(name)
        else:
            current = _digest(target.read_bytes())
            if current == _digest(new):
                report.unchanged.append(name)
            elif current == manifest.get(name):  # the course's copy, not touched since
                _write_atomic(target, new)
                report.updated.append(name)
            elif manifest.get(name) == _digest(new):  # the learner's edit of the current lesson
                report.kept.append(name)
                continue
            elif update:
                mine = folder / f"{lesson.stem}.yours-{stamp}.ipynb"
                os.replace(target, mine)
                _write_atomic(target, new)
                report.set_aside[name] = mine.name
            else:
                report.newer.append(name)
                continue
        manifest[name] = _digest(new)
    config = folder / JUPYTEXT_CONFIG
    if not config.exists():
        _write_atomic(config, b'# rnncourse: lessons here are notebooks only, not paired\n'
                              b'formats = "ipynb"\n')
    _write_atomic(folder / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n")
                  .encode())
    return report
