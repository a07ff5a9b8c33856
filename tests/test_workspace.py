"""A learner's copy of the lessons: added, updated, and never overwritten once changed."""

import json

import pytest

from rnncourse import workspace
from rnncourse.lessons import SOURCE, lesson_notebooks


@pytest.fixture
def course(tmp_path):
    """A course of two lessons whose notebooks a test can change."""
    folder = tmp_path / "course"
    folder.mkdir()
    for src in lesson_notebooks(SOURCE)[:2]:
        (folder / src.name).write_bytes(src.read_bytes())
    return folder


def edit(path, text):
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = text
    path.write_text(json.dumps(nb))


def test_the_first_run_copies_the_lessons_only_without_jupytext_pairing(course, tmp_path):
    report = workspace.copy_lessons(tmp_path / "mine", source=course)
    names = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert names == sorted([*report.added, workspace.MANIFEST, workspace.JUPYTEXT_CONFIG])
    assert names[2].startswith("00_") and len(report.added) == 2
    copy = json.loads((tmp_path / "mine" / report.added[0]).read_text())
    assert "jupytext" not in copy["metadata"]  # saving it in JupyterLab writes no .py
    assert copy["cells"] == json.loads((course / report.added[0]).read_text())["cells"]


def test_a_second_run_changes_nothing(course, tmp_path):
    workspace.copy_lessons(tmp_path / "mine", source=course)
    report = workspace.copy_lessons(tmp_path / "mine", source=course)
    assert len(report.unchanged) == 2 and not (report.added or report.updated or report.kept)


def test_a_new_lesson_version_replaces_an_untouched_copy(course, tmp_path):
    workspace.copy_lessons(tmp_path / "mine", source=course)
    first = sorted(course.glob("*.ipynb"))[0]
    edit(first, "# new text from the course")
    report = workspace.copy_lessons(tmp_path / "mine", source=course)
    assert report.updated == [first.name]
    assert "new text" in (tmp_path / "mine" / first.name).read_text()


def test_a_lesson_the_learner_changed_is_kept_and_reported(course, tmp_path):
    mine = tmp_path / "mine"
    workspace.copy_lessons(mine, source=course)
    first = sorted(course.glob("*.ipynb"))[0]
    edit(mine / first.name, "# my notes")
    report = workspace.copy_lessons(mine, source=course)
    assert report.kept == [first.name] and "kept your" in "\n".join(report.lines())
    edit(first, "# new text from the course")
    report = workspace.copy_lessons(mine, source=course)
    assert report.newer == [first.name] and "--update" in "\n".join(report.lines())
    assert "my notes" in (mine / first.name).read_text()


def test_update_puts_the_new_lesson_beside_the_learners_copy(course, tmp_path):
    mine = tmp_path / "mine"
    workspace.copy_lessons(mine, source=course)
    first = sorted(course.glob("*.ipynb"))[0]
    edit(mine / first.name, "# my notes")
    edit(first, "# new text from the course")
    report = workspace.copy_lessons(mine, update=True, source=course)
    aside = mine / report.set_aside[first.name]
    assert aside.name.startswith(first.stem + ".yours-") and "my notes" in aside.read_text()
    assert "new text" in (mine / first.name).read_text()
    again = workspace.copy_lessons(mine, source=course)
    assert first.name in again.unchanged


def test_a_file_where_a_folder_is_wanted_is_refused(course, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        workspace.copy_lessons(tmp_path / "file", source=course)
    with pytest.raises(ValueError, match="found none"):
        workspace.copy_lessons(tmp_path / "mine", source=tmp_path / "nothing")
    with pytest.raises(TypeError, match="folder"):
        workspace.copy_lessons(3, source=course)


def test_saving_a_copy_inside_a_paired_project_writes_no_py(course, tmp_path):
    import jupytext.config

    (tmp_path / "jupytext.toml").write_text('formats = "ipynb,py:percent"\n')
    workspace.copy_lessons(tmp_path / "mine", source=course)
    config = jupytext.config.find_jupytext_configuration_file(str(tmp_path / "mine"))
    assert config == str(tmp_path / "mine" / workspace.JUPYTEXT_CONFIG)
    assert jupytext.config.load_jupytext_configuration_file(config).formats in ("ipynb", ["ipynb"])


def test_the_save_hook_drops_the_widget_state_and_keeps_the_rest():
    from rnncourse.labsave import drop_widget_state

    state = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {"_esm": "x" * 10}}}}
    model = {"type": "notebook", "content": {"metadata": {"widgets": state, "kernelspec": {}},
                                             "cells": []}}
    drop_widget_state(model, path="a.ipynb", contents_manager=None)
    assert model["content"] == {"metadata": {"kernelspec": {}}, "cells": []}
    text = {"type": "file", "content": "widgets"}
    drop_widget_state(text)
    assert text == {"type": "file", "content": "widgets"}
    with pytest.raises(TypeError, match="model"):
        drop_widget_state("a.ipynb")
