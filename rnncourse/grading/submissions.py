"""Finding the students in a submissions folder, copying each one's files into a working copy of
its own, and reading their notebooks without trusting them.

A submissions folder holds one entry per student: a folder (the student's id is its name; its
notebooks are graded, at any depth, nbgrader's ``submitted/<student>/<assignment>/`` included)
or a single file (the id is the name without its extension). Hidden entries are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 2000


@dataclass
class Student:
    id: str
    source: Path           # their folder or file in the submissions folder
    skipped: list = field(default_factory=list)  # what was not copied, and why


class BadNotebook(Exception):
    """Why a file cannot be graded as a notebook: the message is the student's reason."""


def find_students(folder: Path) -> list[Student]:
    """One :class:`Student` per visible entry of ``folder``, sorted by id."""
    students = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            students.append(Student(entry.name, entry, ["it is a symbolic link (not followed)"]))
        elif entry.is_dir():
            students.append(Student(entry.name, entry))
        else:
            students.append(Student(entry.stem if entry.suffix else entry.name, entry))
    return students


def copy_submission(student: Student, workdir: Path, max_bytes: int) -> list[Path]:
    """Copy the student's regular files into ``workdir`` (symbolic links, devices, more than
    ``max_bytes`` in all or :data:`MAX_FILES` files are left out, each noted in
    ``student.skipped``); returns the copied notebooks, sorted."""
    if student.source.is_symlink():
        return []
    if student.source.is_file():
        pairs = [(student.source, workdir / student.source.name)]
    else:
        pairs = []
        for root, dirs, files in os.walk(student.source, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                source = Path(root) / name
                pairs.append((source, workdir / source.relative_to(student.source)))
    total, notebooks = 0, []
    for count, (source, target) in enumerate(pairs):
        info = os.lstat(source)
        if not stat.S_ISREG(info.st_mode):
            student.skipped.append(f"{source.name}: not a regular file (a link or device)")
            continue
        if count >= MAX_FILES or total + info.st_size > max_bytes:
            student.skipped.append(f"{source.name}: over the {max_bytes // 2**20} MB / "
                                   f"{MAX_FILES}-file limit of a submission")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target, follow_symlinks=False)
        total += info.st_size
        if target.suffix == ".ipynb" or student.source.is_file():
            notebooks.append(target)
    return sorted(notebooks)


def read_code_cells(path: Path, max_bytes: int) -> tuple[list[str], dict]:
    """The code cells' sources of the notebook at ``path`` and its metadata; raises
    :class:`BadNotebook` saying why it is not a notebook (not JSON, not nbformat 4, too big)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise BadNotebook(f"{path.name} is {size / 2**20:.1f} MB, over the "
                          f"{max_bytes / 2**20:.0f} MB limit for a notebook (clear its outputs "
                          "before submitting)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadNotebook(f"{path.name} is not a notebook: not UTF-8 text (a binary file?)") \
            from None
    except json.JSONDecodeError as err:
        raise BadNotebook(f"{path.name} is not a notebook: not JSON ({err.msg} at line "
                          f"{err.lineno}, column {err.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise BadNotebook(f"{path.name} is JSON but not a notebook: it has no list of cells")
    if data.get("nbformat") != 4:
        raise BadNotebook(f"{path.name}: nbformat {data.get('nbformat')!r}, expected 4 "
                          "(save it from JupyterLab or Notebook 7)")
    cells = []
    for number, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise BadNotebook(f"{path.name}: cell {number} is not a notebook cell")
        if cell["cell_type"] != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise BadNotebook(f"{path.name}: code cell {number} has no source text")
        cells.append(source)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return cells, metadata
