"""The instructors' tools: `rnncourse assign` (the student version, solutions off) and
`rnncourse grade` (every submission in its own kernel and working copy, bad ones graded with a
reason), and the nbgrader gradebook export.

One grading run (the `graded` fixture) covers every kind of submission at once, two kernels at a
time, with short time limits: small synthetic notebooks holding only exercise cells, two
exercises checked. Nothing here runs a lesson.
"""

from __future__ import annotations

import csv
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rnncourse import check
from rnncourse.check import _solutions
from rnncourse.check._table import SPECS
from rnncourse.cli import main
from rnncourse.grading import sandbox
from rnncourse.grading.assign import stub_exercises
from rnncourse.grading.grade import Limits, grade
from rnncourse.grading.submissions import BadNotebook, read_code_cells

LANDLOCK = sandbox.landlock_abi() > 0
EXERCISES = ("rnn_step_forward", "clip_grad_norm")

RNN = '''import numpy as np


def my_rnn_step_forward(x, h_prev, params, activation="tanh"):
    a = x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params.get("b_h", 0.0)
    f = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0),
         "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}[activation]
    h = f(a)
    return h, {"x": x, "h_prev": h_prev, "h_next": h, "params": params, "activation": activation}
'''
CLIP = '''import numpy as np


def my_clip_grad_norm(grads, max_norm):
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [g * scale for g in grads], norm
'''
SLEEPY_LOOP = "import time\nwhile True:\n    time.sleep(0.05)\n"


def _notebook(folder: Path, name: str, *cells: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every kind of submission, graded in one run; returns (run, rows by student, paths)."""
    root = tmp_path_factory.mktemp("grading")
    subs = root / "submissions"
    subs.mkdir()
    out = root / "gradebook.csv"
    out.write_text("SECRET-LAST-GRADEBOOK\n")  # last week's gradebook, where a snoop would look
    escape = root / "escaped.txt"
    _notebook(subs, "good.ipynb", "from rnncourse import check", RNN, CLIP)
    _notebook(subs / "folder_student", "lesson/01_scope.ipynb", RNN)  # a folder, nested
    (subs / "folder_student" / "notes.txt").write_text("SECRET-OTHER-STUDENT\n")
    _notebook(subs, "stub.ipynb", check.template("rnn_step_forward"), CLIP)
    _notebook(subs, "first_cell_raises.ipynb", "raise ValueError('boom')", RNN, CLIP)
    _notebook(subs, "endless_cell.ipynb", CLIP, SLEEPY_LOOP, RNN)
    _notebook(subs, "ignores_interrupt.ipynb", CLIP, "import time\nwhile True:\n    try:\n"
              "        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass\n")
    _notebook(subs, "endless_function.ipynb", RNN, "def my_clip_grad_norm(grads, max_norm):\n"
              "    " + SLEEPY_LOOP.replace("\n", "\n    ").rstrip() + "\n")
    _notebook(subs, "renamed.ipynb", RNN.replace("my_rnn_step_forward", "my_rnn_step_fwd"), CLIP)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# all my code cells are gone")]),
                   subs / "cells_deleted.ipynb")
    (subs / "not_json.ipynb").write_text("this is not JSON {")
    (subs / "not_a_notebook.ipynb").write_text(json.dumps({"hello": "world"}))
    (subs / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _notebook(subs, "huge_output.ipynb", CLIP, "for _ in range(200):\n    print('x' * 100_000)\n")
    other = subs / "folder_student" / "notes.txt"
    snoop = [
        f"open({str(out)!r}).read()",                          # the gradebook
        f"open({str(other)!r}).read()",                        # another student's folder
        f"import os\nos.listdir({str(subs)!r})",               # the submissions folder
        f"open({str(escape)!r}, 'w').write('out')",            # write outside its own copy
        f"open({str(other)!r}, 'a').write('vandalised')",      # write into another's folder
        "open('mine.txt', 'w').write('fine')\nprint(open('mine.txt').read())",  # its own: allowed
        CLIP,
    ]
    _notebook(subs, "snoop.ipynb", *snoop)
    run = grade(subs, out, exercises=EXERCISES, jobs=2,
                limits=Limits(timeout=8, check_timeout=8, output_kb=16))
    with out.open(newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return run, rows, {"root": root, "subs": subs, "out": out, "escape": escape, "other": other}


def _reason(rows, student):
    return rows[student]["reason"]


def test_a_correct_submission_passes_every_exercise(graded):
    run, rows, paths = graded
    good = rows["good"]
    assert (good["score"], good["max_score"], good["status"]) == ("2", "2", "graded"), good
    assert good["rnn_step_forward"] == good["clip_grad_norm"] == "pass"
    assert "All 4 cases match" in good["rnn_step_forward verdict"]
    # a student folder (nested notebook) is one student, graded from its own notebook
    assert rows["folder_student"]["rnn_step_forward"] == "pass"
    assert rows["folder_student"]["clip_grad_norm"] == "fail"
    page = (run.feedback / "good.html").read_text()
    assert "Feedback for good" in page and "2 of 2" in page


def test_the_gradebook_has_one_row_per_student_and_a_verdict_per_exercise(graded):
    run, rows, paths = graded
    assert set(rows) == {"good", "folder_student", "stub", "first_cell_raises", "endless_cell",
                         "ignores_interrupt", "endless_function", "renamed", "cells_deleted",
                         "not_json", "not_a_notebook", "picture", "huge_output", "snoop"}
    header = next(csv.reader(paths["out"].open()))
    assert header == ["student", "score", "max_score", "status", "reason", "rnn_step_forward",
                      "rnn_step_forward verdict", "clip_grad_norm", "clip_grad_norm verdict"]
    for student in rows:
        assert (run.feedback / f"{student}.html").is_file(), student
        assert rows[student]["status"] == "graded" or rows[student]["reason"], student
    assert rows["stub"]["rnn_step_forward verdict"].startswith("Not implemented yet")
    assert "show_solution" not in rows["stub"]["rnn_step_forward verdict"]  # solutions off


def test_an_exception_in_the_first_cell_is_a_reason_not_a_crash(graded):
    _, rows, _ = graded
    row = rows["first_cell_raises"]
    assert row["status"] == "cell errors" and row["score"] == "2"
    assert "code cell 1" in row["reason"] and "ValueError: boom" in row["reason"]


def test_an_endless_cell_is_interrupted_at_the_time_limit(graded):
    _, rows, _ = graded
    row = rows["endless_cell"]
    assert row["status"] == "time limit", row
    assert "code cell 2 was interrupted" in row["reason"]
    assert row["clip_grad_norm"] == "pass"       # defined before the loop: still graded
    assert row["rnn_step_forward"] == "fail"     # its cell came after the loop and never ran
    stuck = rows["ignores_interrupt"]            # swallows KeyboardInterrupt: kernel killed
    assert stuck["status"] == "time limit" and "ignored the interrupt" in stuck["reason"]
    assert stuck["score"] == "0"


def test_an_endless_exercise_function_fails_its_check_only(graded):
    _, rows, _ = graded
    row = rows["endless_function"]
    assert row["rnn_step_forward"] == "pass"
    assert row["clip_grad_norm"] == "fail"
    assert "did not finish within 8 s" in row["clip_grad_norm verdict"]


def test_a_renamed_or_deleted_function_is_named(graded):
    _, rows, _ = graded
    renamed = rows["renamed"]
    assert renamed["rnn_step_forward"] == "fail" and renamed["clip_grad_norm"] == "pass"
    assert "`my_rnn_step_forward` is not defined" in renamed["rnn_step_forward verdict"]
    assert "my_rnn_step_fwd" in renamed["rnn_step_forward verdict"]
    deleted = rows["cells_deleted"]
    assert deleted["score"] == "0" and deleted["status"] == "graded"
    assert "cell deleted" in deleted["clip_grad_norm verdict"]


def test_files_that_are_not_notebooks_get_a_reason(graded):
    _, rows, _ = graded
    assert rows["not_json"]["status"] == "not a notebook"
    assert "not JSON" in rows["not_json"]["reason"]
    assert rows["not_a_notebook"]["status"] == "not a notebook"
    assert "no list of cells" in rows["not_a_notebook"]["reason"]
    assert rows["picture"]["status"] == "not a notebook"
    assert "not UTF-8" in rows["picture"]["reason"] or "not JSON" in rows["picture"]["reason"]


def test_a_huge_output_is_counted_and_cut(graded):
    run, rows, _ = graded
    row = rows["huge_output"]
    assert row["clip_grad_norm"] == "pass"
    assert "printed 19.1 MB" in row["reason"], row["reason"]
    assert (run.feedback / "huge_output.html").stat().st_size < 200_000


@pytest.mark.skipif(not LANDLOCK, reason="Linux Landlock is unavailable here: kernels cannot "
                    "be fenced (the grader says so in every row's feedback)")
def test_a_submission_cannot_read_the_gradebook_or_others_or_write_outside(graded):
    run, rows, paths = graded
    assert run.isolated
    row = rows["snoop"]
    assert row["clip_grad_norm"] == "pass"       # still graded
    for cell in (1, 2, 3, 4, 5):
        assert f"code cell {cell} " in row["reason"], (cell, row["reason"])
    assert row["reason"].count("PermissionError") == 5, row["reason"]
    assert "code cell 6 " not in row["reason"]    # its own working copy is writable
    assert not paths["escape"].exists()
    assert paths["other"].read_text() == "SECRET-OTHER-STUDENT\n"
    page = (run.feedback / "snoop.html").read_text()
    assert "SECRET" not in page


def test_the_grades_land_in_an_nbgrader_gradebook(graded, tmp_path):
    pytest.importorskip("nbgrader", reason="the [instructor] extra (nbgrader) is not installed")
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    from rnncourse.grading.nbgrader_export import _alembic_on_path, export

    run, _, _ = graded
    db = tmp_path / "gradebook.db"
    export(run, db, "rnn-week-1")
    with _alembic_on_path(), Gradebook(f"sqlite:///{db}") as gb:
        assignment = gb.find_assignment("rnn-week-1")
        assert {nb.name for nb in assignment.notebooks} == {"01_scope", "04_gradient_flow"}
        assert assignment.max_score == 2
        good = gb.find_submission("rnn-week-1", "good")
        assert good.score == 2
        assert gb.find_submission("rnn-week-1", "endless_cell").score == 1
        assert gb.find_grade("my_clip_grad_norm", "04_gradient_flow", "rnn-week-1",
                             "renamed").score == 1
        CsvExportPlugin(to=str(tmp_path / "grades.csv")).export(gb)
    with (tmp_path / "grades.csv").open() as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(exported["good"]["score"]) == 2.0
    assert float(exported["not_json"]["score"]) == 0.0
    assert float(exported["good"]["max_score"]) == 2.0


# --- without a kernel ---------------------------------------------------------------------------

def test_show_solution_refuses_where_the_solutions_are_off(monkeypatch, tmp_path):
    monkeypatch.delenv("RNNCOURSE_SOLUTIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert "def rnn_step_forward" in check.show_solution("rnn_step_forward").data
    monkeypatch.setenv("RNNCOURSE_SOLUTIONS", "off")
    refused = check.show_solution("rnn_step_forward")
    assert isinstance(refused, check.Verdict) and not refused.passed
    assert "turned off" in refused.message and "RNNCOURSE_SOLUTIONS=off" in refused.message
    with pytest.raises(check.SolutionsOff):
        check.solution_source("rnn_step_forward")
    stub = check.rnn_step_forward(lambda x, h, p, activation="tanh": None)
    assert "show_solution" not in stub.message
    monkeypatch.delenv("RNNCOURSE_SOLUTIONS")
    (tmp_path / _solutions.MARKER).write_text("{}")  # `rnncourse assign`'s marker, a folder up
    (tmp_path / "week1").mkdir()
    monkeypatch.chdir(tmp_path / "week1")
    assert _solutions.MARKER in check.solutions_off()
    assert not check.show_solution("clip_grad_norm").passed
    monkeypatch.chdir(tmp_path.parent)
    assert check.solutions_off() is None


def _source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_assign_writes_every_lesson_as_a_student_version(tmp_path):
    out = tmp_path / "student"
    assert main(["assign", str(out)]) == 0
    written = json.loads((out / _solutions.MARKER).read_text())["exercises"]
    assert sorted(name for names in written.values() for name in names) == sorted(SPECS)
    for path in sorted(out.glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        assert "jupytext" not in notebook["metadata"]
        text = "\n".join(_source(cell) for cell in notebook["cells"])
        for spec in SPECS.values():
            body = inspect.getsource(spec.solution).split('"""')[-1].strip()
            assert body not in text, (path.name, spec.name)  # no reference code in the copy
        for cell in notebook["cells"]:
            assert not cell.get("outputs")
            names = cell.get("metadata", {}).get("rnncourse", {}).get("exercises", [])
            for name in names:
                assert f"def my_{name}(" in _source(cell), (path.name, name)
                assert "raise NotImplementedError" in _source(cell)
        assert notebook["metadata"]["rnncourse"]["exercises"] == written.get(path.name, [])
    assert (out / "README.txt").is_file()
    assert main(["assign", str(out / "README.txt")]) == 2  # a file where a folder is wanted


def test_an_answer_key_gets_its_stubs_back():
    source = RNN + "\n\ncheck.rnn_step_forward(my_rnn_step_forward)\n"
    stubbed, found = stub_exercises(source)
    assert found == ["rnn_step_forward"]
    assert "params[\"W_xh\"].T" not in stubbed and "raise NotImplementedError" in stubbed
    assert stubbed.startswith("import numpy as np") and stubbed.rstrip().endswith(
        "check.rnn_step_forward(my_rnn_step_forward)")
    lesson_stub = ("def my_clip_grad_norm(grads, max_norm):\n    # hint\n"
                   "    raise NotImplementedError\n")
    assert stub_exercises(lesson_stub) == (lesson_stub, ["clip_grad_norm"])  # kept as written


@pytest.mark.parametrize("content, words", [
    (b"\x00\x01\xff", "not UTF-8"),
    (b"[1, 2", "not JSON"),
    (b'{"cells": "no"}', "no list of cells"),
    (b'{"cells": [], "nbformat": 3}', "nbformat 3"),
    (b'{"cells": [{"source": "x"}], "nbformat": 4}', "cell 1 is not a notebook cell"),
])
def test_a_bad_file_is_refused_with_its_reason(tmp_path, content, words):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(BadNotebook, match=words):
        read_code_cells(path, 2**20)


def test_a_notebook_over_the_size_limit_is_refused_unread(tmp_path):
    path = _notebook(tmp_path, "big.ipynb", "x = 1\n" + "#" * 5000)
    with pytest.raises(BadNotebook, match="over the 0 MB limit"):
        read_code_cells(path, 1000)


def test_grade_names_the_bad_argument(tmp_path):
    with pytest.raises(ValueError, match="submissions: expected a folder"):
        grade(tmp_path / "nowhere", tmp_path / "g.csv")
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="out: expected a path outside"):
        grade(tmp_path / "subs", tmp_path / "subs" / "g.csv")
    with pytest.raises(ValueError, match="exercises: expected names"):
        grade(tmp_path / "subs", tmp_path / "g.csv", exercises=["rnn_step"])
    with pytest.raises(ValueError, match="jobs: expected a whole number"):
        grade(tmp_path / "subs", tmp_path / "g.csv", jobs=0)


def test_the_grade_command_writes_a_gradebook(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "ann.ipynb").write_text("{")  # no kernel needed for this one
    out = tmp_path / "book.csv"
    assert main(["grade", str(tmp_path / "subs"), "--out", str(out),
                 "--exercises", "clip_grad_norm"]) == 0
    assert "ann: 0/1 not a notebook" in capsys.readouterr().out
    assert (tmp_path / "book-feedback" / "ann.html").is_file()
    assert main(["grade", str(tmp_path / "none"), "--out", str(out)]) == 2


@pytest.mark.skipif(not LANDLOCK, reason="Linux Landlock is unavailable here")
def test_the_sandbox_fences_a_process_in_its_folder(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside.txt"
    work.mkdir()
    outside.write_text("secret")
    code = ("import os\nopen('own.txt', 'w').write('ok')\n"
            f"for act in (lambda: open({str(outside)!r}).read(),\n"
            f"            lambda: open({str(tmp_path / 'new.txt')!r}, 'w')):\n"
            "    try:\n        act()\n        print('allowed')\n"
            "    except PermissionError:\n        print('denied')\n")
    from rnncourse.grading.grade import read_paths

    reads = [arg for path in read_paths() for arg in ("--read", path)]
    done = subprocess.run([sys.executable, "-m", "rnncourse.grading.sandbox", "--workdir",
                           str(work), *reads, "--", sys.executable, "-c", code], cwd=work,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.stdout.split() == ["denied", "denied"], done.stderr
    assert (work / "own.txt").read_text() == "ok" and not (tmp_path / "new.txt").exists()
