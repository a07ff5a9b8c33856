"""The progress rule in the browser: a Run All in JupyterLab fails a slow cell without a bar.

The lessons run once per ``make test``, here in JupyterLab (nbval leaves them out), so the rule
nbval applied must hold here too: the kernel times each cell (tests/progress_rule.py, loaded by
the e2e server's IPython profile) and the page shows whether the cell drew a tqdm bar. A tiny
notebook, written to an ignored folder the server serves, has one CPU-bound cell without a bar
and one with a tqdm.auto widget; the thresholds are lowered through the check's parameters
(to keep the test short), never through anything CI could set.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import progress_rule
import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"  # ignored by git

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}:\n    pass\n"
CELLS = [
    "import time\nfrom tqdm.auto import tqdm",
    BUSY.format(s=2.5),  # 2.5 s of CPU, no bar
    "for _ in tqdm(range(5), desc='busy steps'):\n" + "    " + BUSY.format(s=0.5).replace(
        "\n", "\n    ").rstrip(),  # 2.5 s of CPU behind a bar
]


def test_a_slow_cell_without_a_bar_fails_and_one_with_a_bar_passes(lab, monkeypatch):
    monkeypatch.setattr(progress_rule, "SLOW", [])  # keep these cells out of the summary
    folder = ARTIFACTS / "progress-rule"
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "slow_cells.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nbformat.write(nb, notebook)
    lab.open(notebook)
    lab.run_all(check_page=False)  # at the course's thresholds (3 s, 6 s) both cells pass
    with pytest.raises(AssertionError) as failed:
        lab.check_progress_rule(fail_s=1.0, slow_s=0.5)  # at most 2 s on a loaded machine
    message = str(failed.value)
    assert "slow_cells.ipynb::Cell 1 (browser)" in message and "no progress bar" in message
    assert "Cell 2" not in message, "the cell behind a tqdm bar was failed too"
    slow = {c.name.split("::")[1]: c for c in progress_rule.SLOW}
    assert set(slow) == {"Cell 1 (browser)", "Cell 2 (browser)"}, slow
    assert slow["Cell 2 (browser)"].bar and not slow["Cell 1 (browser)"].bar
    # The kernel measured the work: about 2.5 s of CPU each, however long the wall clock was.
    for cell in slow.values():
        assert 2.4 <= cell.cpu_s <= 4.0 and cell.wall_s >= 2.4, cell
