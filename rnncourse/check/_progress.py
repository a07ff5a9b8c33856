"""The learner's progress across the course: which exercises they have passed, in which lesson.

Every check that passes on the learner's own function records it in one JSON file in the
results folder (:func:`rnncourse.results.results_folder`), ``<folder>/exercise_progress.json``
(top level, so :func:`rnncourse.results.load_results`, which reads ``<lesson>/<name>.json``,
never sees it)::

    {"version": 1, "passed": {"lstm_backward": {"first": "2026-...Z", "last": "...",
                                                "times": 2, "function": "my_lstm_backward"}}}

The course's own functions passing their checks (the lessons' reference cells, ``rnncourse.*``
and lambdas wrapping them) are not the learner's work and are not recorded. Recording never
raises: a folder that cannot be written leaves the verdict as it is.

``check.progress()`` shows the table (a notebook renders it with links to the lessons);
``check.reset_progress()`` forgets everything, in one call.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import os
import tempfile
from pathlib import Path

from rnncourse.results import results_folder

from ._table import TABLE

FILE = "exercise_progress.json"
VERSION = 1


def progress_path(folder=None, *, create: bool = False) -> Path:
    """Where the progress file lives (it need not exist)."""
    return results_folder(folder, create=create) / FILE


def is_learner_code(fn) -> bool:
    """True unless ``fn`` is the course's own: a function of the ``rnncourse`` package (also
    wrapped in ``functools.partial``) or a lambda (the lessons' reference cells wrap the
    course's functions in lambdas; a learner's exercise is a ``def``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    module = getattr(fn, "__module__", None) or ""
    if module == "rnncourse" or module.startswith("rnncourse."):
        return False
    return getattr(fn, "__name__", "") != "<lambda>"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION \
            or not isinstance(data.get("passed"), dict):
        return {}
    return {k: v for k, v in data["passed"].items() if isinstance(v, dict)}


def _write(path: Path, passed: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"version": VERSION, "passed": passed}, out, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_pass(name: str, fn, folder=None) -> bool:
    """Record that the learner's ``fn`` passed exercise ``name``; False where nothing was
    recorded (the course's own function, or a folder that cannot be written). Never raises."""
    if not is_learner_code(fn):
        return False
    try:
        path = progress_path(folder)
        passed = _read(path)
        now = _now()
        entry = passed.get(name, {})
        passed[name] = {"first": entry.get("first", now), "last": now,
                        "times": int(entry.get("times", 0)) + 1,
                        "function": str(getattr(fn, "__name__", type(fn).__name__))}
        _write(path, passed)
    except Exception:  # progress is a convenience: never let it break a verdict
        return False
    return True


def _lesson_label(lesson: str) -> str:
    number, _, title = lesson.partition("_")
    return f"Lesson {number.lstrip('0') or '0'} ({title.replace('_', ' ')})"


class Progress:
    """Which exercises are passed: ``rows`` (one dict per exercise, in course order, with
    ``exercise``, ``lesson``, ``notebook``, ``passed``, ``first``, ``function``), ``passed``
    (the names), ``total`` and ``path``. A table with links in a notebook, text elsewhere."""

    def __init__(self, passed: dict, path: Path):
        self.path = path
        self.rows = [{"exercise": spec.name, "lesson": spec.lesson,
                      "notebook": f"{spec.lesson}.ipynb", "passed": spec.name in passed,
                      "first": passed.get(spec.name, {}).get("first"),
                      "function": passed.get(spec.name, {}).get("function")}
                     for spec in TABLE]
        self.passed = tuple(row["exercise"] for row in self.rows if row["passed"])
        self.total = len(self.rows)

    @property
    def summary(self) -> str:
        return f"{len(self.passed)} of {self.total} exercises passed"

    def __str__(self) -> str:
        lines = [f"{self.summary} (kept in {self.path}; check.reset_progress() forgets them)"]
        for row in self.rows:
            mark = f"passed {row['first']}" if row["passed"] else "not yet"
            lines.append(f"  {row['exercise']:<24} {_lesson_label(row['lesson']):<42} {mark}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        body = []
        for row in self.rows:
            if row["passed"]:
                state = (f"<span style='color:#1e7e34'>\u2714 passed</span> "
                         f"{html.escape(row['first'] or '')}")
            else:
                state = "<span style='color:#6c757d'>not yet</span>"
            body.append(
                f"<tr><td><code>check.{html.escape(row['exercise'])}</code></td>"
                f"<td><a href='{html.escape(row['notebook'])}'>"
                f"{html.escape(_lesson_label(row['lesson']))}</a></td><td>{state}</td></tr>")
        return (f"<div class='rnncourse-progress'><div style='font-weight:600'>"
                f"{html.escape(self.summary)}</div>"
                "<table><thead><tr><th>exercise</th><th>lesson</th><th>status</th></tr>"
                f"</thead><tbody>{''.join(body)}</tbody></table>"
                f"<div style='font-size:90%;color:#6c757d'>Kept in "
                f"<code>{html.escape(str(self.path))}</code>; "
                "<code>check.reset_progress()</code> forgets it.</div></div>")


def progress(folder=None) -> Progress:
    """The exercises passed so far, read from the results folder (``folder`` overrides it)."""
    path = progress_path(folder)
    return Progress(_read(path), path)


def reset_progress(folder=None) -> Progress:
    """Forget every recorded pass (deletes the progress file); returns the empty table."""
    path = progress_path(folder)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    return Progress({}, path)
