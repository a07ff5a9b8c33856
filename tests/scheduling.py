"""How ``make test`` shares its tests between two processes (pytest-xdist), and what they report.

A serial run keeps one of the two cores idle most of the time: a lesson in the browser waits on
its kernel, the kernel on a small model, and the unit tests wait for both. ``make test`` runs
``pytest -n 2 --dist loadgroup``: two worker processes, each handed whole *groups* of tests. The
groups, set here at collection time (the same in every worker):

- ``lesson-records``: every lesson that saves records to the results folder, and lesson 8, which
  compiles them, in the browser (or, without a browser, under nbval). One worker runs them in
  the course's order, so lesson 8 finds every record it reads. This is the longest chain of the
  run, so it is moved to the front of the collection and starts first.
- one group per other lesson notebook under nbval, so that its cells share one kernel;
- one group per test file for the rest, so that a module's expensive fixtures are built once.

A run without ``-n`` (plain ``pytest``, ``pytest notebooks/02_x.ipynb``) ignores the groups and
runs in the usual order.

Under xdist the workers measure and the controlling process prints the summary: a plugin
(:class:`RunSummary`, registered by notebooks/conftest.py and tests/e2e/conftest.py, once) sends
the slow lesson cells a worker timed (``progress_rule.SLOW``) and the lessons a worker executed
in the browser instead of nbval (:data:`LESSONS_IN_BROWSER`) along with each test's report, and
gathers them on the controller.
"""

from __future__ import annotations

from pathlib import Path

import progress_rule
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RECORDS_GROUP = "lesson-records"
LESSON_MARK = "runs_lesson"  # on a browser test: the lesson (stem) it executes top to bottom
LESSONS_IN_BROWSER: dict[str, str] = {}  # notebook path -> the browser test that executes it
_SLOW_CELLS, _IN_BROWSER = "rnncourse_slow_cells", "rnncourse_lessons_in_browser"


def keeps_records(stem: str) -> bool:
    """Whether a lesson saves records to the results folder or (lesson 8) compiles them."""
    source = NOTEBOOKS / f"{stem}.py"
    return stem == "08_findings" or (source.is_file() and "save_result(" in source.read_text())


def _notebook_stem(item) -> str | None:
    """The lesson of an nbval cell, else None."""
    if type(item).__name__ != "IPyNbCell":
        return None
    return Path(str(item.path)).stem


def group_of(item) -> str:
    """The xdist group of a collected test (see the module's docstring)."""
    mark = item.get_closest_marker(LESSON_MARK)
    stem = mark.args[0] if mark is not None and mark.args else _notebook_stem(item)
    if stem is not None and keeps_records(stem):
        return RECORDS_GROUP
    if _notebook_stem(item) is not None:
        return f"lesson-{stem}"
    path = Path(str(item.path))
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def assign_groups(config, items) -> None:
    """Mark every item with its group; under xdist, put the records chain first."""
    if not hasattr(config, "workerinput"):  # not an xdist worker: nothing is distributed
        return
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    # stable: the lessons keep their order, each lesson's cells theirs
    items.sort(key=lambda item: group_of(item) != RECORDS_GROUP)


class RunSummary:
    """Groups the tests; carries what workers measured to the controller's terminal summary."""

    name = "rnncourse-run-summary"

    def __init__(self):
        self._sent_slow = 0
        self._sent_lessons: dict[str, str] = {}

    @pytest.hookimpl(tryfirst=True)  # before xdist turns the groups into node ids
    def pytest_collection_modifyitems(self, config, items):
        assign_groups(config, items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "teardown" and hasattr(item.config, "workerinput"):
            new = progress_rule.SLOW[self._sent_slow:]
            if new:
                report.user_properties.append(
                    (_SLOW_CELLS, [[c.name, c.wall_s, c.cpu_s, c.bar] for c in new]))
                self._sent_slow = len(progress_rule.SLOW)
            if LESSONS_IN_BROWSER != self._sent_lessons:
                report.user_properties.append((_IN_BROWSER, dict(LESSONS_IN_BROWSER)))
                self._sent_lessons = dict(LESSONS_IN_BROWSER)
        return report

    def pytest_runtest_logreport(self, report):
        if getattr(report, "node", None) is None:  # a report of this process: already counted
            return
        for key, value in report.user_properties:
            if key == _SLOW_CELLS:
                progress_rule.SLOW.extend(progress_rule.SlowCell(*cell) for cell in value)
            elif key == _IN_BROWSER:
                LESSONS_IN_BROWSER.update(value)


def register(config) -> None:
    """Register :class:`RunSummary` once, whichever conftest asks first (both do)."""
    if not config.pluginmanager.has_plugin(RunSummary.name):
        config.pluginmanager.register(RunSummary(), RunSummary.name)
