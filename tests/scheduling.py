"""How ``make test`` shares its tests between processes (pytest-xdist), and what they report.

A serial run keeps one of the two cores idle most of the time: a lesson in the browser waits on
its kernel, the kernel on a small model, and the unit tests wait for both. ``make test`` runs
``pytest -n 2 --dist loadgroup --no-loadscope-reorder``: two worker processes, each handed
whole *groups* of tests, in the order this module sets (xdist would otherwise sort the groups
by their number of tests, which puts a lesson, one long test, last). The groups, set at
collection time (the same in every worker):

- one group per lesson (``lesson-<stem>``): the browser test that runs it top to bottom, or,
  without a browser, its cells under nbval, which share one kernel. The lessons come first,
  the longest first (:data:`LESSON_SECONDS`), so that the workers end close together;
- one group per test file for the rest, so that a module's expensive fixtures are built once;
- lesson 8 last: it compiles the records the other lessons save to the results folder. Its
  first test waits until every lesson that saves records and was collected in this run has
  finished, in whichever worker ran it (:class:`RunSummary` writes a file for each into a folder
  the run's workers share). Lesson 8 is the last group handed out, so every lesson it waits for
  was handed out before it and nothing can wait on lesson 8.

A run without ``-n`` (plain ``pytest``, ``pytest notebooks/02_x.ipynb``) ignores the groups and
runs in the usual order, where lesson 8 comes after the others by name.

Under xdist the workers measure and the controlling process prints the summary: the same plugin
(registered by notebooks/conftest.py and tests/e2e/conftest.py, once) sends the slow lesson cells
a worker timed (``progress_rule.SLOW``) and the lessons a worker executed in the browser instead
of nbval (:data:`LESSONS_IN_BROWSER`) along with each test's report, and gathers them on the
controller.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

import progress_rule
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FINDINGS = "08_findings"
LESSON_MARK = "runs_lesson"  # on a browser test: the lesson (stem) it executes top to bottom
LESSONS_IN_BROWSER: dict[str, str] = {}  # notebook path -> the browser test that executes it
_SLOW_CELLS, _IN_BROWSER = "rnncourse_slow_cells", "rnncourse_lessons_in_browser"
# Seconds each lesson's browser test took in a fresh-clone `make test` (0207627, two workers):
# only their order is used, to start the longest first. A lesson not listed counts as 60 s.
LESSON_SECONDS = {"06_experiments": 198, "07b_memory_and_long_sequences": 129,
                  "07_advanced": 121, "05_literature": 111, "04_gradient_flow": 70,
                  "01_scope": 64, "02_core_operations": 56, "03_variants": 45,
                  "08_findings": 34, "00_start_here": 28}
RECORDS_WAIT_S = 3600  # lesson 8's longest wait for the others (a lesson may take 10 minutes)


def keeps_records(stem: str) -> bool:
    """Whether a lesson other than lesson 8 saves records to the results folder."""
    source = NOTEBOOKS / f"{stem}.py"
    return stem != FINDINGS and source.is_file() and "save_result(" in source.read_text()


def _notebook_stem(item) -> str | None:
    """The lesson of an nbval cell, else None."""
    if type(item).__name__ != "IPyNbCell":
        return None
    return Path(str(item.path)).stem


def lesson_of(item) -> str | None:
    """The lesson a test executes (a browser test marked ``runs_lesson``, or an nbval cell)."""
    mark = item.get_closest_marker(LESSON_MARK)
    return mark.args[0] if mark is not None and mark.args else _notebook_stem(item)


def group_of(item) -> str:
    """The xdist group of a collected test (see the module's docstring)."""
    stem = lesson_of(item)
    if stem is not None:
        return f"lesson-{stem}"
    path = Path(str(item.path))
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _rank(item) -> tuple[int, float]:
    """Sort key: the lessons, longest first; then the rest; lesson 8 last."""
    stem = lesson_of(item)
    if stem == FINDINGS:
        return (2, 0.0)
    if stem is not None:
        return (0, -LESSON_SECONDS.get(stem, 60))
    return (1, 0.0)


def assign_groups(config, items) -> None:
    """Mark every item with its group; under xdist, order the groups (see the docstring)."""
    if not hasattr(config, "workerinput"):  # not an xdist worker: nothing is distributed
        return
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    items.sort(key=_rank)  # stable: each lesson's cells and the other files keep their order


def check_groups_in_effect(dist: str, ids: list[str]) -> None:
    """Stop the run if ``--dist loadgroup`` would ignore the groups (in the controller, as each
    worker reports its collection: ``ids``, the node ids it collected).

    Every test is given a group (:func:`assign_groups`), which pytest-xdist 3.8 passes on by
    appending ``@<group>`` to the node id. Under pytest 9.2 that no longer changes the node id
    (pytest-xdist issue 1386), and xdist then hands the tests out one by one: a lesson's nbval
    cells to both workers, a module's fixtures built twice. Nothing else would say so.
    """
    if dist == "loadgroup" and ids and not any("@" in nodeid for nodeid in ids):
        pytest.exit(f"--dist loadgroup ignores the test groups with pytest {pytest.__version__} "
                    f"and this pytest-xdist (pytest-xdist issue 1386; e.g. {ids[0]}): install "
                    f"the versions in requirements.txt (`make setup`)", returncode=4)


def records_folder(config) -> Path | None:
    """The folder this run's workers share, where each saving lesson leaves a file once it has
    run (None outside xdist)."""
    uid = getattr(config, "workerinput", {}).get("testrunuid")
    return None if uid is None else Path(tempfile.gettempdir()) / f"rnncourse-records-{uid}"


def wait_for_records(folder: Path, stems, timeout_s: float = RECORDS_WAIT_S,
                     poll_s: float = 1.0) -> float:
    """Block until every lesson in ``stems`` has left its file in ``folder``; the seconds
    waited. Fails the test, naming the lessons still running, after ``timeout_s``."""
    start = time.monotonic()
    while True:
        left = sorted(s for s in stems if not (folder / f"{s}.done").exists())
        if not left:
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"lesson 8 waited {timeout_s:.0f} s for the records of {left}, which "
                        f"another worker has not finished", pytrace=False)
        time.sleep(poll_s)


class RunSummary:
    """Groups the tests; holds lesson 8 back until the records it reads are saved; carries what
    workers measured to the controller's terminal summary."""

    name = "rnncourse-run-summary"

    def __init__(self):
        self._sent_slow = 0
        self._sent_lessons: dict[str, str] = {}
        self._left: Counter = Counter()  # a saving lesson -> its tests not yet torn down here
        self._savers: set[str] = set()   # the saving lessons collected in this run
        self.waited_s: float | None = None

    @pytest.hookimpl(tryfirst=True)  # before xdist turns the groups into node ids
    def pytest_collection_modifyitems(self, config, items):
        assign_groups(config, items)

    def pytest_collection_finish(self, session):
        """Count each saving lesson's tests, after deselection (the final list)."""
        self._left = Counter(s for s in map(lesson_of, session.items)
                             if s is not None and keeps_records(s))
        self._savers = set(self._left)

    @pytest.hookimpl(optionalhook=True)  # the controller, as a worker reports its collection
    def pytest_xdist_node_collection_finished(self, node, ids):
        check_groups_in_effect(node.config.getvalue("dist"), ids)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        folder = records_folder(item.config)
        if folder is None or self.waited_s is not None or lesson_of(item) != FINDINGS:
            return
        self.waited_s = wait_for_records(folder, self._savers)

    def _ran(self, item) -> None:
        """A saving lesson's file once its last test here is torn down (pass or fail)."""
        stem = lesson_of(item)
        folder = records_folder(item.config)
        if folder is None or stem not in self._left:
            return
        self._left[stem] -= 1
        if self._left[stem] == 0:
            folder.mkdir(exist_ok=True)
            (folder / f"{stem}.done").touch()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "teardown" and hasattr(item.config, "workerinput"):
            self._ran(item)
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
