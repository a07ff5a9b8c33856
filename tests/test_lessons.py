"""The lesson pairs: every .ipynb matches its .py and is committed without outputs."""

import shutil

import nbformat
import pytest

from rnncourse import lessons


def test_every_lesson_pair_is_in_sync_and_has_no_outputs():
    assert lessons.lesson_sources(), "no lesson found in notebooks/"
    assert lessons.problems() == []


def test_lessons_are_numbered_from_00():
    stems = [p.stem for p in lessons.lesson_sources()]
    assert stems[0] == "00_start_here"
    # A lesson is NN_slug, or NNx_slug for a second half of step NN (07_advanced, 07b_memory_...).
    numbers = [(int(stem[:2]), stem.split("_")[0][2:]) for stem in stems]
    assert numbers == sorted(set(numbers)), f"duplicate or unordered lesson numbers: {stems}"


def test_a_lettered_lesson_is_found_after_its_step():
    stems = [p.stem for p in lessons.lesson_sources()]
    assert "07b_memory_and_long_sequences" in stems
    assert stems.index("07b_memory_and_long_sequences") == stems.index("07_advanced") + 1


@pytest.fixture
def lesson_copy(tmp_path):
    for suffix in (".py", ".ipynb"):
        shutil.copy(lessons.NOTEBOOKS / f"00_start_here{suffix}", tmp_path)
    assert lessons.problems(tmp_path) == []
    return tmp_path


def test_an_edited_source_is_reported_as_drift(lesson_copy):
    source = lesson_copy / "00_start_here.py"
    source.write_text(source.read_text().replace("Check your environment", "Check the setup"))
    (found,) = lessons.problems(lesson_copy)
    assert "00_start_here" in found and "make notebooks" in found


def test_an_added_cell_is_reported_as_drift(lesson_copy):
    source = lesson_copy / "00_start_here.py"
    source.write_text(source.read_text() + "\n# %%\nprint('new cell')\n")
    assert any("differ" in line for line in lessons.problems(lesson_copy))


def test_outputs_and_execution_counts_are_reported(lesson_copy):
    path = lesson_copy / "00_start_here.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.execution_count = 3
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nbformat.write(notebook, path)
    found = lessons.problems(lesson_copy)
    assert any("carries outputs" in line for line in found)
    assert any("execution count" in line for line in found)


def test_a_lesson_without_its_notebook_is_reported(lesson_copy):
    (lesson_copy / "00_start_here.ipynb").unlink()
    assert lessons.problems(lesson_copy) == [
        "00_start_here.py has no 00_start_here.ipynb: run `make notebooks`"
    ]


def test_sync_regenerates_identically(lesson_copy):
    notebook = lesson_copy / "00_start_here.ipynb"
    before = notebook.read_bytes()
    lessons.sync(lesson_copy)
    assert notebook.read_bytes() == before, "make notebooks must be reproducible (stable cell ids)"


@pytest.mark.parametrize("source", lessons.lesson_sources(), ids=lambda p: p.stem)
def test_every_lesson_ends_by_saying_how_to_shut_its_kernel_down(source):
    import jupytext

    last = jupytext.read(source).cells[-1]
    assert last.cell_type == "markdown", f"{source.name} ends with a {last.cell_type} cell"
    text = " ".join(last.source.split())
    for words in ("Shut its kernel down", "Kernel > Shut Down Kernel",
                  "Running Terminals and Kernels", "2 GB"):
        assert words in text, f"{source.name}'s last cell lacks {words!r}"


def test_the_start_page_says_to_shut_kernels_down_on_binder():
    import jupytext

    cells = jupytext.read(lessons.NOTEBOOKS / "00_start_here.py").cells
    binder = next(c.source for c in cells if "**On Binder**" in c.source)
    assert "shut each lesson's kernel down" in " ".join(binder.split())


# Calls whose value is a path or a record, never meant to be shown: a cell ending with one
# prints a raw repr such as PosixPath('...') under it (the browser tests read the page for those).
QUIET_CALLS = {"save_result"}


@pytest.mark.parametrize("source", lessons.lesson_sources(), ids=lambda p: p.stem)
def test_no_cell_ends_with_a_call_whose_value_would_print_a_raw_repr(source):
    import ast

    import jupytext

    for k, cell in enumerate(jupytext.read(source).cells):
        if cell.cell_type != "code":
            continue
        lines = [line for line in cell.source.splitlines()
                 if not line.lstrip().startswith(("%", "!"))]
        body = ast.parse("\n".join(lines)).body
        last = body[-1] if body else None
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            func = last.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in QUIET_CALLS, (
                f"{source.name} cell {k} ends with {name}(...): its value shows as a raw repr; "
                f"write `_ = {name}(...)` or `path = {name}(...)`")
