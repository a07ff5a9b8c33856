"""``check.progress()``: which exercises the learner's own functions have passed, kept in the
results folder; ``check.reset_progress()`` forgets them."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from rnncourse import check
from rnncourse.check._progress import FILE
from rnncourse.np_rnn import rnn_step_forward
from rnncourse.results import load_results


@pytest.fixture(autouse=True)
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCOURSE_RESULTS", str(tmp_path))
    return tmp_path


def my_rnn_step_forward(x, h_prev, params, activation="tanh"):
    return np.tanh(x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]), None


def wrong_rnn_step_forward(x, h_prev, params, activation="tanh"):
    return np.tanh(x @ params["W_xh"] + h_prev @ params["W_hh"].T + params["b_h"]), None


def test_nothing_passed_at_first(folder):
    shown = check.progress()
    assert shown.passed == () and shown.total == len(check.EXERCISES) >= 16
    assert f"0 of {shown.total} exercises passed" in str(shown) and not (folder / FILE).exists()
    assert [row["exercise"] for row in shown.rows] == list(check.EXERCISES)


def test_a_learners_pass_is_recorded_with_its_lesson_and_link(folder):
    assert not check.rnn_step_forward(wrong_rnn_step_forward).passed
    assert check.progress().passed == ()  # a failing attempt is not a pass
    assert check.rnn_step_forward(my_rnn_step_forward).passed
    assert check.rnn_step_forward(my_rnn_step_forward).passed
    shown = check.progress()
    assert shown.passed == ("rnn_step_forward",)
    row = shown.rows[0]
    assert row["lesson"] == "01_scope" and row["function"] == "my_rnn_step_forward"
    page = shown._repr_html_()
    assert f"1 of {shown.total} exercises passed" in page
    assert "<a href='01_scope.ipynb'>Lesson 1 (scope)</a>" in page
    assert "<a href='07b_memory_and_long_sequences.ipynb'>Lesson 7b" in page
    stored = json.loads((folder / FILE).read_text())
    assert stored["passed"]["rnn_step_forward"]["times"] == 2
    assert len(load_results(folder)) == 0 and not load_results(folder).skipped  # not a record


def test_the_courses_own_functions_are_not_the_learners_progress():
    assert check.rnn_step_forward(rnn_step_forward).passed
    assert check.rnn_step_forward(lambda *a: rnn_step_forward(*a)).passed
    assert check.rnn_step_forward(functools.partial(rnn_step_forward)).passed
    assert check.progress().passed == ()


def test_reset_is_one_call(folder):
    assert check.rnn_step_forward(my_rnn_step_forward).passed
    assert check.progress().passed
    emptied = check.reset_progress()
    assert emptied.passed == () and check.progress().passed == ()
    assert not (folder / FILE).exists()
    check.reset_progress()  # nothing to forget: no error


def test_a_damaged_file_reads_as_no_progress_and_is_rewritten(folder):
    (folder / FILE).write_text("{not json")
    assert check.progress().passed == ()
    assert check.rnn_step_forward(my_rnn_step_forward).passed
    assert check.progress().passed == ("rnn_step_forward",)


def test_an_unwritable_folder_leaves_the_verdict_alone(monkeypatch, tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    monkeypatch.setenv("RNNCOURSE_RESULTS", str(blocked / "inside"))
    verdict = check.rnn_step_forward(my_rnn_step_forward)
    assert verdict.passed


def test_bad_folder_argument_names_it():
    with pytest.raises(TypeError, match="folder: expected a path"):
        check.progress(3)
