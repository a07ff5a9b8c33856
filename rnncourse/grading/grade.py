"""``rnncourse grade SUBMISSIONS/ --out gradebook.csv``: every student's notebooks, each run in a
fresh kernel in a working copy of that student's files, every exercise checked, one gradebook
row and one feedback page per student.

Per student: a new temporary folder receives a copy of their regular files only (no links);
each notebook in it runs in its own process (:mod:`rnncourse.grading.runner`) and kernel
(:mod:`rnncourse.grading.sandbox`: limits, and Linux Landlock where available, so the kernel
can write only in that copy and read nothing but the system's and Python's files); the grader
waits with a hard time limit and then kills the process and the kernel's process group. The
copy is deleted afterwards. A student whose files cannot be graded (not a notebook, not JSON,
too big, a kernel that never stops) gets a row with the reason, and the next student is graded
as usual. The gradebook and the feedback are written only after every kernel is gone, each
through a temporary file renamed into place.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rnncourse.grading import sandbox
from rnncourse.grading.runner import kill_group
from rnncourse.grading.submissions import (
    BadNotebook,
    Student,
    copy_submission,
    find_students,
    read_code_cells,
)


@dataclass
class Limits:
    timeout: float = 120.0        # seconds for a notebook's own cells
    check_timeout: float = 30.0   # seconds for each exercise's check
    startup_timeout: float = 120.0  # seconds for the kernel to start
    memory_mb: int = 4096         # address space of the kernel (torch reserves about 1.5 GB)
    file_mb: int = 64             # largest file the kernel may write
    output_kb: int = 64           # output kept per cell for the feedback
    notebook_mb: int = 20         # largest notebook file read
    submission_mb: int = 100      # most bytes copied from one student


@dataclass
class ExerciseResult:
    state: str     # pass | fail | missing
    status: str    # the check's status (passed, wrong, not implemented, ...) or missing
    message: str   # the verdict

    @property
    def first_line(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


@dataclass
class StudentGrade:
    id: str
    status: str = "graded"        # see STATUSES
    reasons: list = field(default_factory=list)
    exercises: dict = field(default_factory=dict)   # name -> ExerciseResult
    notebooks: list = field(default_factory=list)   # names of the notebooks run
    cells: list = field(default_factory=list)       # (notebook, cell record) for the feedback
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(r.state == "pass" for r in self.exercises.values())


# In order of precedence: a student's status is the worst of its notebooks'.
STATUSES = ("graded", "cell errors", "time limit", "kernel died", "not a notebook",
            "no notebook", "grader error")


def _worse(a: str, b: str) -> str:
    return max(a, b, key=STATUSES.index)


def isolation_note(isolated: bool) -> str:
    if isolated:
        return ("file system fenced with Linux Landlock: the kernel could write only in its own "
                "working copy and read only the system's and Python's files")
    return ("NOT fenced: Landlock is unavailable here, so the kernel ran in its own working "
            "copy with a clean environment but could read any file this user can")


def read_paths() -> list[str]:
    """What a kernel may read: the system's folders, the interpreter and its packages, and the
    course's package (its own folder only, not a clone around it)."""
    import rnncourse

    paths = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys",
             sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             os.path.dirname(os.path.abspath(rnncourse.__file__))]
    for entry in sys.path:  # packages installed outside the prefixes (editable installs)
        if entry and os.path.isdir(entry) and "site-packages" in entry:
            paths.append(entry)
    seen = []
    for path in paths:
        if os.path.exists(path) and path not in seen:
            seen.append(os.path.realpath(path) if os.path.islink(path) else path)
    return seen


def _run_notebook(cells, workdir: Path, cwd: Path, exercises, limits: Limits, isolated: bool,
                  private: Path) -> dict:
    job = {
        "cells": cells, "workdir": str(workdir), "cwd": str(cwd), "exercises": list(exercises),
        "timeout": limits.timeout, "check_timeout": limits.check_timeout,
        "startup_timeout": limits.startup_timeout, "output_cap": limits.output_kb * 1024,
        "memory_mb": limits.memory_mb, "file_mb": limits.file_mb,
        "cpu_s": int(limits.startup_timeout + limits.timeout
                     + limits.check_timeout * (len(exercises) + 1) + 60),
        "isolation": isolated, "read_paths": read_paths(), "token": secrets.token_hex(16),
        "private": str(private), "pidfile": str(private / "kernel.pid"),
        "result": str(private / "result.json"),
    }
    (private / "job.json").write_text(json.dumps(job))
    wall = (limits.startup_timeout + limits.timeout
            + (limits.check_timeout + 6) * (len(exercises) + 1) + 30)
    proc = subprocess.Popen([sys.executable, "-m", "rnncourse.grading.runner",
                             str(private / "job.json")], cwd=private, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(private / "runner.log", "wb"))
    try:
        proc.wait(timeout=wall)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.wait()
    finally:
        pidfile = private / "kernel.pid"
        if pidfile.exists():
            try:
                kill_group(int(pidfile.read_text()))
            except ValueError:
                pass
    result_file = private / "result.json"
    if not result_file.exists():
        log = (private / "runner.log").read_text(errors="replace")[-300:]
        return {"cells": [], "exercises": {}, "started": False, "stopped_at": None,
                "output_bytes": 0, "notes": [f"grader error: the run stopped without a result "
                                             f"after {wall:.0f} s {log.strip()}".strip()]}
    return json.loads(result_file.read_text())


def _merge(grade: StudentGrade, name: str, result: dict, limits: Limits) -> None:
    grade.notebooks.append(name)
    for note in result["notes"]:
        grade.reasons.append(f"{name}: {note}")
        grade.status = _worse(grade.status, "grader error" if note.startswith("grader error")
                              or "did not start" in note else "kernel died")
    for cell in result["cells"]:
        grade.cells.append((name, cell))
        if cell["error"] and cell["state"] == "error":
            grade.status = _worse(grade.status, "cell errors")
            grade.reasons.append(f"{name}: code cell {cell['cell']} (`{cell['first_line']}`) "
                                 f"raised {cell['error']['ename']}: "
                                 f"{cell['error']['evalue'][:160]}")
    stopped = result["stopped_at"]
    if stopped:
        why = stopped["why"]
        if why in ("interrupted", "stuck", "time limit"):
            grade.status = _worse(grade.status, "time limit")
            text = {"interrupted": "was interrupted and the cells after it did not run",
                    "time limit": "and the cells after it did not run",
                    "stuck": "ignored the interrupt, so its kernel was killed and no "
                             "exercise of this notebook was checked"}[why]
            grade.reasons.append(f"{name}: time limit of {limits.timeout:g} s reached; code "
                                 f"cell {stopped['cell']} {text}")
        else:
            grade.status = _worse(grade.status, "kernel died")
            grade.reasons.append(f"{name}: the kernel died in code cell {stopped['cell']} "
                                 "(out of memory, a crash, or exit()); its exercises were not "
                                 "checked")
    printed = result.get("output_bytes", 0)
    if printed > limits.output_kb * 1024:
        grade.reasons.append(f"{name}: printed {printed / 2**20:.1f} MB; the feedback keeps the "
                             f"first {limits.output_kb} kB of each cell")
    for exercise, entry in result["exercises"].items():
        new = ExerciseResult(entry.get("state") or "fail", entry.get("status") or "",
                             entry.get("message") or "")
        old = grade.exercises.get(exercise)
        rank = {"pass": 2, "fail": 1, "missing": 0}
        if old is None or rank.get(new.state, 0) > rank.get(old.state, 0):
            grade.exercises[exercise] = new


def grade_student(student: Student, exercises, limits: Limits, isolated: bool) -> StudentGrade:
    """Grade one student; never raises (a failure becomes the row's status and reason)."""
    grade = StudentGrade(student.id)
    start = time.monotonic()
    private = Path(tempfile.mkdtemp(prefix="rnncourse-grader-"))
    workdir = Path(tempfile.mkdtemp(prefix="rnncourse-student-"))
    try:
        notebooks = copy_submission(student, workdir, limits.submission_mb * 2**20)
        grade.reasons += [f"not copied: {why}" for why in student.skipped]
        if not notebooks:
            grade.status = "no notebook"
            grade.reasons.append("no .ipynb file in the submission")
        for number, path in enumerate(notebooks):
            name = str(path.relative_to(workdir))
            try:
                cells, _ = read_code_cells(path, limits.notebook_mb * 2**20)
            except BadNotebook as err:
                grade.status = _worse(grade.status, "not a notebook")
                grade.reasons.append(str(err))
                continue
            except OSError as err:
                grade.status = _worse(grade.status, "not a notebook")
                grade.reasons.append(f"{name} cannot be read ({err.strerror or err})")
                continue
            run_dir = private / f"notebook-{number}"
            run_dir.mkdir()
            result = _run_notebook(cells, workdir, path.parent, exercises, limits, isolated,
                                   run_dir)
            _merge(grade, name, result, limits)
    except Exception as exc:  # the grader's own failure: this student's row says so
        grade.status = "grader error"
        grade.reasons.append(f"grader error: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    for exercise in exercises:
        if exercise not in grade.exercises:
            grade.exercises[exercise] = ExerciseResult(
                "missing", "not run", f"Not checked: `my_{exercise}` was never defined in a "
                "notebook that ran.")
    grade.seconds = time.monotonic() - start
    return grade


def columns(exercises) -> list[str]:
    cols = ["student", "score", "max_score", "status", "reason"]
    for name in exercises:
        cols += [name, f"{name} verdict"]
    return cols


def _row(grade: StudentGrade, exercises) -> dict:
    row = {"student": grade.id, "score": grade.score, "max_score": len(exercises),
           "status": grade.status, "reason": "; ".join(grade.reasons)}
    for name in exercises:
        result = grade.exercises[name]
        row[name] = "pass" if result.state == "pass" else "fail"
        row[f"{name} verdict"] = result.first_line
    return row


def write_gradebook(grades, exercises, out: Path) -> None:
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns(exercises))
        writer.writeheader()
        for grade in grades:
            writer.writerow(_row(grade, exercises))
    tmp.replace(out)


@dataclass
class GradeRun:
    grades: list
    exercises: tuple
    gradebook: Path
    feedback: Path
    isolated: bool


def grade(submissions, out, *, exercises=None, feedback=None, limits: Limits | None = None,
          jobs: int = 1, isolation: bool | None = None) -> GradeRun:
    """Grade every student in ``submissions``; write the gradebook CSV ``out`` and one HTML page
    per student into ``feedback`` (default: ``<out without .csv>-feedback/``).

    ``exercises``: the exercise names to check (default: every exercise of the course);
    ``jobs``: students graded at once; ``isolation``: None uses Landlock where the system has
    it, True demands it (ValueError where missing), False turns it off.
    """
    from rnncourse.check import EXERCISES
    from rnncourse.grading.feedback import write_feedback

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(f"submissions: expected a folder of submissions, got {submissions}")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"out: expected a file name for the gradebook, {out} is a folder")
    if out.resolve().is_relative_to(submissions.resolve()):
        raise ValueError(f"out: expected a path outside the submissions folder, got {out}")
    exercises = tuple(EXERCISES if exercises is None else exercises)
    unknown = [name for name in exercises if name not in EXERCISES]
    if unknown or not exercises:
        raise ValueError(f"exercises: expected names from {list(EXERCISES)}, got "
                         f"{list(exercises)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected a whole number >= 1, got {jobs!r}")
    available = sandbox.landlock_abi() > 0
    if isolation and not available:
        raise ValueError("isolation: Landlock is not available on this system (Linux 5.13 or "
                         "later with Landlock on), so kernels cannot be fenced")
    isolated = available if isolation is None else bool(isolation)
    for name, path in (("submissions", submissions), ("out", out)):
        inside = [p for p in read_paths() if Path(path).resolve().is_relative_to(Path(p).resolve())]
        if isolated and inside:
            raise ValueError(f"{name}: expected a path outside the folders grading kernels may "
                             f"read, got {path} (inside {inside[0]})")
    limits = limits or Limits()
    feedback = Path(feedback) if feedback is not None else out.with_name(out.stem + "-feedback")
    students = find_students(submissions)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        grades = list(pool.map(lambda s: grade_student(s, exercises, limits, isolated),
                               students))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_gradebook(grades, exercises, out)
    write_feedback(grades, exercises, feedback, isolation_note(isolated))
    return GradeRun(grades, exercises, out, feedback, isolated)
