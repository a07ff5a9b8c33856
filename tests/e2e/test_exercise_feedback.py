"""An exercise as a learner meets it in JupyterLab: a wrong answer, the red feedback box that
names the slip, the fixed answer's green box, and the progress table with its lesson link.

The notebook is small and written here (into an ignored folder under the served root, removed
afterwards), so the test runs four short cells instead of a whole lesson. The kernel's progress
file goes to a temporary folder, never to the repository's results folder.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

WRONG = '''\
def my_linear_recurrence(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * (h + b[t])  # the slip: a_t scales the new input too
        out.append(h)
    return np.stack(out)


check.linear_recurrence(my_linear_recurrence)'''

FIXED = '''\
def my_linear_recurrence(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


check.linear_recurrence(my_linear_recurrence)'''

RED, GREEN = "rgb(176, 42, 55)", "rgb(30, 126, 52)"  # the verdict's border colours

# The verdict box of one output: its text, its left border's colour, its title.
_BOX_JS = r"""(output) => {
  const box = output.querySelector('div[style*="border-left"]');
  if (!box) return null;
  return {text: box.innerText, border: getComputedStyle(box).borderLeftColor,
          title: box.firstElementChild ? box.firstElementChild.innerText : ''};
}"""


@pytest.fixture
def exercise_notebook(scratch_notebook, tmp_path):
    """A four-cell notebook under the served root: imports, the wrong answer, the fixed one,
    the progress table."""
    results = tmp_path / "results"
    return scratch_notebook([f"import os\nos.environ['RNNCOURSE_RESULTS'] = {str(results)!r}\n"
                             "import numpy as np\nfrom rnncourse import check",
                             WRONG, FIXED, "check.progress()"], "exercise.ipynb")


def verdict_box(lab, cell: int) -> dict:
    """The feedback box shown under code cell ``cell`` (0-based), read from the page."""
    output = lab.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(cell).locator(
        ".jp-OutputArea-output").first
    expect(output).to_be_visible()
    box = output.evaluate(_BOX_JS)
    assert box is not None, f"no feedback box under cell {cell}: {output.inner_text()!r}"
    return box


def test_a_wrong_answer_gets_a_red_box_naming_the_slip(lab, exercise_notebook):
    lab.open(exercise_notebook)
    lab.run_all(check_page=False)

    wrong = verdict_box(lab, 1)
    assert wrong["border"] == RED, wrong
    assert wrong["title"] == "\u2718 linear_recurrence: not yet right", wrong
    assert "h differs from the reference, on case T=4, B=3, H=4." in wrong["text"], wrong
    assert "a_t multiplies the previous state only: a[t] * h + b[t]" in wrong["text"], wrong

    fixed = verdict_box(lab, 2)
    assert fixed["border"] == GREEN, fixed
    assert fixed["title"] == "\u2714 linear_recurrence: passed", fixed
    assert "All 4 cases match the reference" in fixed["text"], fixed

    table = lab.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(3).locator(
        ".rnncourse-progress")
    expect(table).to_contain_text(re.compile(r"\b1 of \d+ exercises passed"))
    row = table.locator("tr", has_text="check.linear_recurrence")
    expect(row).to_contain_text("passed")
    link = row.locator("a")
    expect(link).to_have_text("Lesson 7b (memory and long sequences)")
    # relative to the notebook showing the table (the lessons are the start page's siblings)
    href = urlparse(link.get_attribute("href") or "").path
    assert href.endswith(f"/{exercise_notebook.parent.name}/07b_memory_and_long_sequences.ipynb"), \
        href
