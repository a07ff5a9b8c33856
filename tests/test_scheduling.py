"""How `make test` shares the tests between two xdist workers (tests/scheduling.py)."""

from __future__ import annotations

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


def test_every_lesson_that_keeps_records_and_lesson_8_share_one_group():
    savers = {s for s in LESSONS if "save_result(" in (ROOT / "notebooks" / f"{s}.py").read_text()}
    assert "08_findings" in LESSONS and len(savers) >= 5, savers
    browser = ROOT / "tests" / "e2e" / "test_lessons_in_browser.py"
    for stem in LESSONS:
        in_browser = scheduling.group_of(FakeItem(browser, lesson=stem))
        cell = scheduling.group_of(IPyNbCell(ROOT / "notebooks" / f"{stem}.ipynb"))
        if stem in savers or stem == "08_findings":
            assert in_browser == cell == scheduling.RECORDS_GROUP, stem
        else:  # free to run beside the chain; an nbval lesson still keeps its cells together
            assert in_browser == "tests/e2e/test_lessons_in_browser.py", stem
            assert cell == f"lesson-{stem}", stem


def test_other_tests_are_grouped_by_file():
    item = FakeItem(ROOT / "tests" / "test_scan.py")
    assert scheduling.group_of(item) == "tests/test_scan.py"


def test_a_worker_marks_every_item_and_puts_the_records_chain_first_in_order():
    browser = ROOT / "tests" / "e2e" / "test_lessons_in_browser.py"
    items = [FakeItem(ROOT / "tests" / "test_a.py"), FakeItem(browser, lesson="00_start_here"),
             FakeItem(browser, lesson="02_core_operations"), FakeItem(ROOT / "tests" / "test_b.py"),
             FakeItem(browser, lesson="05_literature"), FakeItem(browser, lesson="08_findings")]
    original = list(items)
    scheduling.assign_groups(SimpleNamespace(), items)  # not a worker: nothing changes
    assert items == original and all(not i.group() for i in items)

    scheduling.assign_groups(SimpleNamespace(workerinput={}), items)
    assert [i.nodeid for i in items[:3]] == [original[k].nodeid for k in (2, 4, 5)]
    assert items[3:] == [original[k] for k in (0, 1, 3)]  # the rest in their order
    assert [i.group() for i in items[:3]] == [[scheduling.RECORDS_GROUP]] * 3
    assert items[3].group() == ["tests/test_a.py"]


def test_what_a_worker_measured_reaches_the_controllers_summary(monkeypatch):
    monkeypatch.setattr(progress_rule, "SLOW", [])
    monkeypatch.setattr(scheduling, "LESSONS_IN_BROWSER", {})
    worker = scheduling.RunSummary()
    item = SimpleNamespace(config=SimpleNamespace(workerinput={}))

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
    assert "-n $(JOBS) --dist loadgroup" in makefile and "JOBS ?= 2" in makefile
