"""The grades of ``rnncourse grade`` in an nbgrader gradebook (nbgrader's SQLite database).

The assignment gets one nbgrader notebook per lesson (``01_scope``, ...) and one autograded
cell per exercise (``my_rnn_step_forward``, one point); each student gets a submission whose
cells score 1 where the check passed and 0 where it did not. nbgrader's formgrader, its
``nbgrader export`` (CSV, or an LMS plugin) and its ``Gradebook`` API then see the course's
grades like those of any nbgrader assignment. Grading a student again replaces their submission.
Needs the ``[instructor]`` extra (``pip install 'rnncourse[instructor]'``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from rnncourse.check._table import SPECS


@contextlib.contextmanager
def _alembic_on_path():
    """nbgrader's Gradebook runs the ``alembic`` command found on PATH: make it this
    environment's, also when the environment is not activated (``.venv/bin/rnncourse``)."""
    before = os.environ.get("PATH")
    here = os.path.dirname(sys.executable)
    os.environ["PATH"] = here + (os.pathsep + before if before else "")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = before


def cell_name(exercise: str) -> str:
    return f"my_{exercise}"


def export(run, db, assignment: str = "rnncourse") -> Path:
    """Write the grades of ``run`` (a :class:`rnncourse.grading.grade.GradeRun`) into the nbgrader
    gradebook ``db`` (a file, created when missing) under ``assignment``."""
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError as err:
        raise ValueError("nbgrader_db: nbgrader is not installed; pip install "
                         "'rnncourse[instructor]'") from err
    if not isinstance(assignment, str) or not assignment.strip():
        raise ValueError(f"assignment: expected a non-empty name, got {assignment!r}")
    db = Path(db).resolve()
    if db.is_dir():
        raise ValueError(f"nbgrader_db: expected a database file, {db} is a folder")
    db.parent.mkdir(parents=True, exist_ok=True)
    with _alembic_on_path(), warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        # nbgrader's own add_submission after remove_submission warns from SQLAlchemy's
        # autoflush; the rows it writes are right (the tests read them back)
        warnings.simplefilter("ignore")
        gb.update_or_create_assignment(assignment)
        for exercise in run.exercises:
            lesson = SPECS[exercise].lesson
            gb.update_or_create_notebook(lesson, assignment)
            gb.update_or_create_grade_cell(cell_name(exercise), lesson, assignment,
                                           max_score=1.0, cell_type="code")
        for grade in run.grades:
            gb.update_or_create_student(grade.id)
            try:
                gb.remove_submission(assignment, grade.id)
            except MissingEntry:
                pass
            gb.add_submission(assignment, grade.id)
            for exercise in run.exercises:
                cell = gb.find_grade(cell_name(exercise), SPECS[exercise].lesson, assignment,
                                     grade.id)
                cell.auto_score = 1.0 if grade.exercises[exercise].state == "pass" else 0.0
                cell.needs_manual_grade = False
            gb.db.commit()
    return db
