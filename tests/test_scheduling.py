"""How `make test` shares the tests between two xdist workers (tests/scheduling.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import progress_rule
import pytest
import scheduling

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]*_*.py"))


class FakeItem:
    """What the scheduling code reads of a collected test: its path, marks and node id."""

    def __init__(self, path, lesson=None):
        self.path, self.nodeid, self.marks = Path(path), str(path), []
        if lesson is not None:
            self.marks.append(pytest.mark.runs_lesson(lesson).mark)

    def get_closest_marker(self, name):
        return next((m for m in self.marks if m.name == name), None)

    def add_marker(self, marker):
        self.marks.append(marker.mark)

    def group(self):
        return [m.args[0] for m in self.marks if m.name == "xdist_group"]


class IPyNbCell(FakeItem):  # nbval's item class, by name
    pass


def test_each_lesson_is_one_group_in_the_browser_or_under_nbval():
    browser = ROOT / "tests" / "e2e" / "test_lessons_in_browser.py"
    for stem in LESSONS:
        in_browser = scheduling.group_of(FakeItem(browser, lesson=stem))
        cell = scheduling.group_of(IPyNbCell(ROOT / "notebooks" / f"{stem}.ipynb"))
        assert in_browser == cell == f"lesson-{stem}", stem


def test_the_savers_are_the_lessons_that_save_records_and_not_lesson_8():
    savers = {s for s in LESSONS if "save_result(" in (ROOT / "notebooks" / f"{s}.py").read_text()}
    assert len(savers) >= 5 and "08_findings" in LESSONS, savers
    assert {s for s in LESSONS if scheduling.keeps_records(s)} == savers - {"08_findings"}


def test_other_tests_are_grouped_by_file():
    item = FakeItem(ROOT / "tests" / "test_scan.py")
    assert scheduling.group_of(item) == "tests/test_scan.py"


def test_a_worker_puts_the_lessons_first_longest_first_and_lesson_8_last():
    browser = ROOT / "tests" / "e2e" / "test_lessons_in_browser.py"
    items = [FakeItem(ROOT / "tests" / "test_a.py"), FakeItem(browser, lesson="08_findings"),
             FakeItem(browser, lesson="02_core_operations"), FakeItem(ROOT / "tests" / "test_b.py"),
             FakeItem(browser, lesson="06_experiments"), FakeItem(browser, lesson="00_start_here")]
    original = list(items)
    scheduling.assign_groups(SimpleNamespace(), items)  # not a worker: nothing changes
    assert items == original and all(not i.group() for i in items)

    scheduling.assign_groups(SimpleNamespace(workerinput={}), items)
    assert items == [original[k] for k in (4, 2, 5, 0, 3, 1)]
    assert [i.group() for i in items] == [["lesson-06_experiments"], ["lesson-02_core_operations"],
                                          ["lesson-00_start_here"], ["tests/test_a.py"],
                                          ["tests/test_b.py"], ["lesson-08_findings"]]


def test_a_run_whose_groups_xdist_ignores_stops_with_a_clear_error():
    grouped = ["tests/test_a.py::test_x@tests/test_a.py"]  # what xdist does under pytest<9.2
    scheduling.check_groups_in_effect("loadgroup", grouped)
    lost = ["tests/test_a.py::test_x"]  # pytest 9.2: the suffix is lost (xdist issue 1386)
    with pytest.raises(pytest.exit.Exception, match="ignores the test groups.*issue 1386"):
        scheduling.check_groups_in_effect("loadgroup", lost)
    scheduling.check_groups_in_effect("load", lost)  # no groups asked for


def test_waiting_for_records_ends_when_every_file_is_there_and_fails_naming_the_rest(tmp_path):
    (tmp_path / "03_variants.done").touch()
    assert scheduling.wait_for_records(tmp_path, {"03_variants"}, timeout_s=1) < 1
    with pytest.raises(pytest.fail.Exception, match=r"\['05_literature'\]"):
        scheduling.wait_for_records(tmp_path, {"03_variants", "05_literature"}, timeout_s=0.2,
                                    poll_s=0.05)


# A run of two workers: lesson 8 (collected first) starts only after both savers, which sleep
# and then write a file, have finished in either worker. Without the wait it runs beside them.
FAKE_SUITE = {
    "conftest.py": """
import sys
sys.path.insert(0, {tests!r})
import scheduling

def pytest_configure(config):
    config.addinivalue_line("markers", "runs_lesson(stem): a lesson")
    scheduling.register(config)
""",
    "test_fake.py": """
import time
from pathlib import Path
import pytest

OUT = Path(__file__).parent / "out"

@pytest.mark.runs_lesson("08_findings")
def test_findings():
    assert sorted(p.name for p in OUT.iterdir()) == ["05_literature", "06_experiments"]

@pytest.mark.runs_lesson("06_experiments")
def test_experiments():
    time.sleep(3)
    (OUT / "06_experiments").write_text(str(time.time()))

def test_other():
    pass

@pytest.mark.runs_lesson("05_literature")
def test_literature():
    time.sleep(2)
    (OUT / "05_literature").write_text(str(time.time()))
""",
    # One file is one group: its module fixture is built once, in one worker. Under pytest 9.2
    # with pytest-xdist 3.8 (pytest-xdist issue 1386) the groups were silently ignored and these
    # six tests went to both workers, each building the fixture.
    "test_one_file.py": """
import os
import time
from pathlib import Path
import pytest

@pytest.fixture(scope="module")
def built():
    with (Path(__file__).parent / "setups.txt").open("a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

@pytest.mark.parametrize("k", range(6))
def test_in_one_group(built, k):
    time.sleep(0.5)  # the other worker is free before these end: ungrouped, it takes some
""",
}


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is missing")
def test_in_a_real_two_worker_run_lesson_8_waits_and_a_file_stays_in_one_worker(tmp_path):
    for name, text in FAKE_SUITE.items():
        (tmp_path / name).write_text(text.replace("{tests!r}", repr(str(ROOT / "tests"))))
    (tmp_path / "out").mkdir()
    # only xdist among the installed plugins: each of three processes starts in a second or two
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "xdist", "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder",
                          str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "10 passed" in run.stdout, run.stdout[-2000:]
    setups = (tmp_path / "setups.txt").read_text().split()
    assert len(setups) == 1, f"one file's module fixture was built in workers {setups}"


def test_what_a_worker_measured_reaches_the_controllers_summary(monkeypatch):
    monkeypatch.setattr(progress_rule, "SLOW", [])
    monkeypatch.setattr(scheduling, "LESSONS_IN_BROWSER", {})
    worker = scheduling.RunSummary()
    item = FakeItem(ROOT / "tests" / "test_a.py")
    item.config = SimpleNamespace(workerinput={})

    def report_of(when):
        hook = worker.pytest_runtest_makereport(item, None)
        next(hook)
        report = SimpleNamespace(when=when, user_properties=[])
        with pytest.raises(StopIteration) as stop:
            hook.send(report)
        return stop.value.value

    progress_rule.SLOW.append(progress_rule.SlowCell("notebooks/05.ipynb::Cell 9", 12.0, 11.5,
                                                     True))
    scheduling.LESSONS_IN_BROWSER["notebooks/05.ipynb"] = "tests/e2e/x.py::test_5"
    assert report_of("call").user_properties == []  # sent with the teardown report only
    sent = report_of("teardown")
    assert report_of("teardown").user_properties == []  # nothing new: nothing sent again

    # The controller: a report from a worker carries a node; its own reports do not.
    progress_rule.SLOW.clear()
    scheduling.LESSONS_IN_BROWSER.clear()
    controller = scheduling.RunSummary()
    controller.pytest_runtest_logreport(sent)  # no node: this process's own report
    assert progress_rule.SLOW == [] and scheduling.LESSONS_IN_BROWSER == {}
    sent.node = object()
    controller.pytest_runtest_logreport(sent)
    assert progress_rule.SLOW == [progress_rule.SlowCell("notebooks/05.ipynb::Cell 9", 12.0,
                                                         11.5, True)]
    assert scheduling.LESSONS_IN_BROWSER == {"notebooks/05.ipynb": "tests/e2e/x.py::test_5"}


def test_make_test_runs_two_workers_by_group():
    makefile = (ROOT / "Makefile").read_text()
    assert "-n $(JOBS) --dist loadgroup --no-loadscope-reorder" in makefile
    assert "JOBS ?= 2" in makefile
