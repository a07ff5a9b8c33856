"""Lessons under nbval: every cell that keeps the learner waiting shows a progress bar.

The rule, its thresholds and its time measurement are in ``tests/progress_rule.py``, shared
with the browser tests: a code cell over ``FAIL_CELL_S`` (the smaller of wall-clock time and the
CPU time of the kernel and its worker processes, the threshold growing with the machine's
overload) without a ``tqdm.auto`` bar fails, naming the cell and its times; cells over
``SLOW_CELL_S`` are listed in the terminal summary; the first code cell is exempt.

Each lesson executes once per pytest run. When the browser tests (``tests/e2e``) are collected
in the same run and can run here (chromium on PATH, playwright importable), the lessons they run
top to bottom in JupyterLab are not run again by nbval: their nbval items are deselected, and
the summary names each lesson and the browser test that executes it (that run applies the same
checks: an error fails, and so does the progress rule). ``pytest notebooks/05_x.ipynb
--nbval-lax`` alone, or a machine without a browser, runs the lessons under nbval as always.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import progress_rule  # noqa: E402  (tests/progress_rule.py, shared with tests/e2e)
import scheduling  # noqa: E402  (tests/scheduling.py: the two processes of make test)
from browser import browser_available  # noqa: E402  (tests/browser.py: what the e2e tests need)

# The names this module had before the rule moved to tests/progress_rule.py.
SLOW_CELL_S, FAIL_CELL_S = progress_rule.SLOW_CELL_S, progress_rule.FAIL_CELL_S
threshold_s, shows_progress = progress_rule.threshold_s, progress_rule.shows_progress

ROOT = Path(__file__).resolve().parents[1]
LESSON_MARK = scheduling.LESSON_MARK  # on a browser test: the lesson (stem) it executes
_in_browser = scheduling.LESSONS_IN_BROWSER  # notebook path -> the browser test that executes it


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_configure(config):
    scheduling.register(config)  # the xdist groups; the workers' measurements in the summary


@pytest.hookimpl(trylast=True)  # after -k / -m / --deselect: only browser tests that will run
def pytest_collection_modifyitems(config, items):
    runs = {}
    for item in items:
        mark = item.get_closest_marker(LESSON_MARK)
        if mark is not None and mark.args:
            runs.setdefault(f"notebooks/{mark.args[0]}.ipynb", item.nodeid)
    if not runs or not browser_available():
        return
    keep, dropped = [], []
    for item in items:
        notebook = Path(str(item.path)).resolve()
        key = notebook.relative_to(ROOT).as_posix() if notebook.is_relative_to(ROOT) else None
        if _is_cell(item) and key in runs:
            dropped.append(item)
            _in_browser[key] = runs[key]
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _kernel_process(item):
    try:
        import psutil

        km = item.parent.kernel.km
        process = getattr(getattr(km, "provisioner", None), "process", None)
        return psutil.Process(process.pid) if process is not None else None
    except Exception:  # no psutil or no local kernel: wall time only
        return None


def _first_code_cell(item) -> bool:
    cells = [c for c in item.parent.nb.cells if c.cell_type == "code"]
    return bool(cells) and item.cell is cells[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _is_cell(item):
        return (yield)
    process = _kernel_process(item)
    cpu0 = progress_rule.process_tree_cpu_seconds(process) if process else None
    start = time.perf_counter()
    result = yield  # raises when the cell failed: that failure is reported as it is
    wall = time.perf_counter() - start
    cpu = progress_rule.process_tree_cpu_seconds(process) - cpu0 if process else wall
    cell = progress_rule.CellTime(-1, wall, cpu, progress_rule.load_average())
    failure = progress_rule.judge(item.nodeid, cell, shows_progress(item.test_outputs),
                                  first=_first_code_cell(item))
    if failure:
        raise AssertionError(failure)
    return result


def pytest_terminal_summary(terminalreporter):
    if _in_browser:
        terminalreporter.section("lessons executed in the browser, not again under nbval")
        for notebook, test in sorted(_in_browser.items()):
            terminalreporter.write_line(f"{notebook}: executed in the browser by {test}")
    progress_rule.write_summary(terminalreporter)
