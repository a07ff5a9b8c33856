"""The progress rule (tests/progress_rule.py), applied by nbval and by the browser tests alike."""

import importlib.util
import time
from pathlib import Path
from types import SimpleNamespace

import progress_rule as rule
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_tqdm_widget_or_stderr_bar_counts_as_progress():
    widget = {"output_type": "display_data", "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
        "text/plain": "adding problem runs:   0%|          | 0/9 [00:00<?, ?it/s]"}}
    stderr = {"output_type": "stream", "name": "stderr",
              "text": "train:  40%|####      | 160/400 [00:02<00:03, 70.1it/s]"}
    assert rule.shows_progress([widget]) and rule.shows_progress([stderr])
    # The widget as the browser renders it: the bar is drawn, the meter is the label beside it.
    assert rule.text_shows_progress("adding problem runs: 100%\n 9/9 [00:21<00:00, 2.31s/run]")


def test_an_explorer_or_printed_text_is_not_progress():
    explorer = {"output_type": "display_data", "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "y"},
        "text/plain": "VBox(children=(HBox(children=(FloatSlider(value=0.9),)),))"}}
    printed = {"output_type": "stream", "name": "stdout", "text": "LSTM | 0.01 | 3/4 done\n"}
    assert not rule.shows_progress([explorer, printed]) and not rule.shows_progress(None)
    assert not rule.text_shows_progress("steps 3/4 [done]")


def _cell(wall, cpu, load=0.0):
    return rule.CellTime(1, wall, cpu, load)


def test_a_long_cell_without_a_bar_fails_with_its_times(monkeypatch):
    monkeypatch.setattr(rule, "SLOW", [])
    failure = rule.judge("x.ipynb::Cell 3", _cell(9.0, 7.5), bar=False)
    assert "x.ipynb::Cell 3 ran 9.0 s (7.5 s of CPU)" in failure and "over 6.0 s" in failure
    assert rule.judge("x.ipynb::Cell 4", _cell(9.0, 7.5), bar=True) is None
    assert [c.name for c in rule.SLOW] == ["x.ipynb::Cell 3", "x.ipynb::Cell 4"]
    assert "x.ipynb::Cell 4: 9.0 s wall, 7.5 s CPU, progress bar" in rule.summary_lines()


def test_the_smaller_of_wall_and_cpu_time_is_judged_and_the_first_cell_is_exempt(monkeypatch):
    monkeypatch.setattr(rule, "SLOW", [])
    assert rule.judge("busy machine", _cell(30.0, 2.0), bar=False) is None  # little work
    assert rule.judge("waiting", _cell(2.0, 30.0), bar=False) is None  # workers, short wall
    assert rule.judge("listed, not failed", _cell(5.0, 5.0), bar=False) is None
    assert [c.name for c in rule.SLOW] == ["listed, not failed"]
    assert rule.judge("imports", _cell(20.0, 20.0), bar=False, first=True) is None
    assert rule.judge("lowered", _cell(2.5, 2.5), bar=False, fail_s=1.0, slow_s=0.5)


def test_the_threshold_grows_with_the_overload_up_to_twice(monkeypatch):
    monkeypatch.setattr(rule, "SLOW", [])  # keep these cells out of the run's summary
    assert rule.threshold_s(load=1.0, cores=2) == rule.FAIL_CELL_S
    assert rule.threshold_s(load=3.0, cores=2) == pytest.approx(1.5 * rule.FAIL_CELL_S)
    assert rule.threshold_s(load=40.0, cores=2) == 2 * rule.FAIL_CELL_S
    assert rule.threshold_s(load=40.0, cores=2, fail_s=1.0, most=4.0) == 4.0  # the catch-up limit
    # a 9 s cell without a bar passes at load 4 on 2 cores (threshold 12 s), fails when idle
    assert rule.judge("loaded", _cell(9.0, 9.0, load=4.0 * 2), bar=False) is None
    assert rule.judge("idle", _cell(9.0, 9.0, load=0.1), bar=False)


def test_the_kernel_side_clock_records_wall_and_cpu_time_per_execution_count(tmp_path):
    clock = rule.CellClock(tmp_path / "k.jsonl")
    clock.pre_run_cell()
    t = time.process_time()
    while time.process_time() - t < 0.5:
        pass
    clock.post_run_cell(SimpleNamespace(execution_count=7))
    clock.pre_run_cell()
    time.sleep(0.3)  # waiting is wall time, not work
    clock.post_run_cell(SimpleNamespace(execution_count=8))
    times = rule.read_cell_times(tmp_path / "k.jsonl")
    assert set(times) == {7, 8}
    # psutil reads CPU time in clock ticks (10 ms): 0.5 s measured by process_time() can
    # read as 0.49 s there
    assert times[7].cpu_s >= 0.5 - 0.02 and times[7].wall_s >= 0.5
    # (this process's tree: pytest, and in a full run the browser tests' server, idle by now)
    assert times[8].wall_s >= 0.3 and times[8].cpu_s < 0.25 and times[8].time_s < 0.25


def test_a_failing_clock_is_recorded_and_read_back_as_an_error(tmp_path):
    clock = rule.CellClock(tmp_path / "k.jsonl")
    clock.process = None  # cpu_times() of None: the callback must not raise into the cell
    clock.pre_run_cell()
    with pytest.raises(RuntimeError, match="the cell clock failed: pre_run_cell"):
        rule.read_cell_times(tmp_path / "k.jsonl")


def test_nbval_uses_the_same_rule():
    spec = importlib.util.spec_from_file_location("lesson_conftest",
                                                  ROOT / "notebooks" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    assert conftest.progress_rule is rule
    assert conftest.shows_progress is rule.shows_progress
    assert (conftest.SLOW_CELL_S, conftest.FAIL_CELL_S) == (rule.SLOW_CELL_S, rule.FAIL_CELL_S)
