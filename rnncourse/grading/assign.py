"""``rnncourse assign OUT/``: the student version of every lesson.

For each lesson notebook: outputs cleared, jupytext's pairing dropped, every exercise function
``my_<name>`` reduced to a stub (its signature, the lesson's own hint comments or the course's
template, and ``raise NotImplementedError``: the lessons ship stubs already; a copy whose
exercise was filled in, an instructor's answer key, gets its stub back), each exercise cell
tagged (``metadata.rnncourse.exercises``, tag ``exercise``), a note under the title saying how
the notebook is graded, and the notebook's exercises listed in ``metadata.rnncourse``. OUT also
receives the marker file :data:`rnncourse.check._solutions.MARKER`, under which
``check.show_solution`` refuses (in a kernel started in OUT or below it), and a
``README.txt`` for the students.

What this does not do: hide the course's references. The lessons import them
(``rnncourse.np_rnn`` and friends), so a student can read them in the installed package; the
grader only refuses a ``my_<name>`` that *is* the course's function.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from rnncourse.check import EXERCISES, template
from rnncourse.check._solutions import MARKER
from rnncourse.check._table import SPECS

NOTE = ("**Assignment version.** `check.show_solution` is turned off in this copy. Write each "
        "exercise in its `my_...` function and keep that name: the grader runs this notebook "
        "top to bottom in a fresh kernel, with a time limit, and then checks every `my_...` "
        "function with the same `check` you can run here.")

README = """This folder is the assignment version of the rnncourse lessons.

Write each exercise in its my_<name> function, in the cell that defines it, and keep the name:
the grader runs every notebook from top to bottom in a fresh kernel (with a time limit) and then
runs the course's check on each my_<name> it defines. check.<name>(my_<name>) gives you the same
verdict while you work. The solutions are turned off here ({marker}).
"""


def _is_stub(fn: ast.FunctionDef) -> bool:
    """A body of a docstring, comments and ``raise NotImplementedError`` (or ``pass``)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def stub_exercises(source: str) -> tuple[str, list[str]]:
    """``source`` with every exercise function ``my_<name>`` made a stub, and the names of the
    exercises it defines. A cell that does not parse is returned unchanged."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    lines = source.splitlines(keepends=True)
    found, edits = [], []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("my_"):
            continue
        name = node.name[len("my_"):]
        if name not in SPECS:
            continue
        found.append(name)
        if not _is_stub(node):
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            edits.append((start, node.end_lineno, template(name)))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines), found


def student_notebook(notebook: dict) -> tuple[dict, list[str]]:
    """The student version of one lesson notebook (a dict as read from JSON) and its
    exercises."""
    notebook = json.loads(json.dumps(notebook))  # a copy
    notebook.get("metadata", {}).pop("jupytext", None)
    exercises = []
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"], cell["execution_count"] = [], None
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        new, found = stub_exercises(source)
        if found:
            cell["source"] = new
            cell.setdefault("metadata", {})["rnncourse"] = {"exercises": found}
            tags = cell["metadata"].setdefault("tags", [])
            if "exercise" not in tags:
                tags.append("exercise")
            exercises += found
    if exercises:
        note = {"cell_type": "markdown", "id": "rnncourse-assignment-note",
                "metadata": {"tags": ["assignment-note"]}, "source": NOTE}
        notebook["cells"].insert(1 if notebook["cells"] else 0, note)
    notebook.setdefault("metadata", {})["rnncourse"] = {"assignment": True,
                                                         "exercises": exercises}
    return notebook, exercises


def assign(out, lessons=None) -> dict[str, list[str]]:
    """Write the student version of every lesson notebook in ``lessons`` (default: the course's)
    into ``out``, with the marker that turns the solutions off; returns the exercises of each
    notebook written."""
    from rnncourse.lessons import NOTEBOOKS, lesson_notebooks

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: expected a folder for the student version, {out} is a file")
    sources = lesson_notebooks(Path(lessons) if lessons is not None else NOTEBOOKS)
    if not sources:
        raise ValueError(f"lessons: expected a folder of lesson notebooks, found none in "
                         f"{lessons if lessons is not None else NOTEBOOKS}")
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for source in sources:
        notebook, exercises = student_notebook(json.loads(source.read_text(encoding="utf-8")))
        (out / source.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        written[source.name] = exercises
    (out / MARKER).write_text(json.dumps(
        {"solutions": "off", "exercises": {k: v for k, v in written.items() if v},
         "note": "written by `rnncourse assign`: check.show_solution refuses in this folder"},
        indent=1) + "\n")
    (out / "README.txt").write_text(README.format(marker=MARKER))
    missing = [name for name in EXERCISES if not any(name in v for v in written.values())]
    if missing and lessons is None:
        raise RuntimeError(f"no lesson defines my_{', my_'.join(missing)}: the course's lessons "
                           "and its exercise table disagree")
    return written
