"""`make bench`'s one-CPU row: the lessons' kernels really run on one CPU, and only then."""

import os

import nbformat
import pytest

import rnncourse.lessons
from benchmarks import run

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"),
                                reason="this platform cannot pin a process to one CPU")


def _lesson(folder, name, source):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_kernels_of_the_one_cpu_row_see_one_cpu_and_the_bench_gets_its_cpus_back(
        tmp_path, monkeypatch):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs a machine with two CPUs to tell pinned from not")
    # each cell fails unless its kernel is pinned to one CPU and has one torch thread asked for
    pinned = _lesson(tmp_path, "01_a", "import os\nassert len(os.sched_getaffinity(0)) == 1\n"
                     "assert os.environ['RNNCOURSE_TORCH_THREADS'] == '1'")
    monkeypatch.setattr(rnncourse.lessons, "lesson_notebooks", lambda: [pinned])
    before = os.sched_getaffinity(0)
    result = run.bench_one_cpu()
    assert os.sched_getaffinity(0) == before
    assert [r["error"] for r in result["lessons"]] == [None]
    assert result["total_s"] == pytest.approx(result["lessons"][0]["seconds"])
    assert result["ok"] is True  # a one-cell lesson is well within the goal

    # the same cell outside the one-CPU row fails: the check above can tell
    assert run.run_lesson(pinned, 1)["error"] is not None
