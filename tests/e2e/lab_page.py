"""Driving a lesson in JupyterLab: open it, run all, check outputs and widgets, read plots.

The selectors and waits are the ones that held on this course's machines
(docs: /work/shared/notes/browser-testing.md): the kernel is ready when the status bar reads
``... | Idle`` (the toolbar's execution indicator says idle before any kernel exists), Run All
is the Run menu's ``runmenu:run-all``, and a run is over when every code cell shows ``[n]`` and
the kernel is idle again.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from figure_checks import check_what_a_learner_sees
from playwright.sync_api import Locator, Page, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared rule
import progress_rule  # noqa: E402  (tests/progress_rule.py, shared with notebooks/conftest.py)

KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'
IDLE = re.compile(r"\|\s*Idle\s*$")
PROMPTS = ".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt"
RUN_ALL = 'li.lm-Menu-item[data-command="runmenu:run-all"]'
LINE = ".scatterlayer .trace path.js-line"

# Both error outputs (a Traceback on stderr) and rendered text naming an exception.
_ERRORS_JS = r"""() => {
  const found = [];
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  for (const el of document.querySelectorAll(stderr)) {
    if (el.textContent.includes('Traceback')) found.push(el.textContent);
  }
  for (const el of document.querySelectorAll('.jp-RenderedText')) {
    if (/\b[A-Za-z]*Error\b/.test(el.textContent) && !found.includes(el.textContent)) {
      found.push(el.textContent);
    }
  }
  return found.map(text => text.slice(-3000));
}"""

# True once every non-empty code cell has an execution count, or as soon as an error output
# appears (run-all stops at an error, so the remaining cells would never be counted). Cells are
# read from the page, not the .ipynb: with jupytext the inputs come from the paired .py.
_DONE_JS = r"""() => {
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  for (const el of document.querySelectorAll(stderr)) {
    if (el.textContent.includes('Traceback')) return true;
  }
  const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')].filter(
    cell => (cell.querySelector('.cm-content')?.textContent ?? 'x').trim() !== '');
  const counted = cells.filter(cell => /^\[\d+\]/.test(
    (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim()));
  return cells.length > 0 && counted.length === cells.length;
}"""

# Every code cell, in order (nbval's "Cell N" counts them the same way): whether it is empty,
# its prompt, and the text of its outputs (where a tqdm widget's meter shows).
_CELLS_JS = r"""() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')].map(
 cell => ({
  empty: (cell.querySelector('.cm-content')?.textContent ?? 'x').trim() === '',
  prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
  text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\n'),
}))"""

_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


class LabPage:
    """One browser page on the session's JupyterLab."""

    def __init__(self, page: Page, server, artifacts: Path, slug: str,
                 kernel_ms: int = 120_000, run_ms: int = 300_000, widget_ms: int = 60_000):
        self.page, self.server, self.artifacts, self.slug = page, server, artifacts, slug
        self.kernel_ms, self.run_ms, self.widget_ms = kernel_ms, run_ms, widget_ms

    # ------------------------------------------------------------------ notebook

    def open(self, notebook: Path) -> None:
        """Open ``notebook`` (a path under the served root) and wait for an idle kernel."""
        self.notebook = notebook
        relative = notebook.relative_to(self.server.root).as_posix()
        self.page.goto(self.server.notebook_url(relative), wait_until="domcontentloaded",
                       timeout=self.kernel_ms)
        expect(self.page.locator(".jp-NotebookPanel").first).to_be_visible(
            timeout=self.kernel_ms)
        self.wait_idle()

    def wait_idle(self, timeout: int | None = None) -> None:
        expect(self.page.locator(KERNEL_STATUS)).to_have_text(
            IDLE, timeout=timeout or self.kernel_ms)

    def run_all(self, check_page: bool = True) -> None:
        """Run > Run All Cells; wait for every execution count, an idle kernel, the widgets.

        Then the progress rule, as nbval applies it (:meth:`check_progress_rule`; on a server
        whose kernels time their cells), and (unless ``check_page`` is false) what a learner
        sees on the page as Run All left it: :func:`figure_checks.check_what_a_learner_sees`
        (outputs, figure sizes, collisions, legend symbols; a screenshot of every figure).
        """
        self.start_run_all()
        self.finish_run_all(check_page)

    def start_run_all(self) -> None:
        """Click Run > Run All Cells and return at once (several pages can run at the same time:
        poll :meth:`run_all_done`, then call :meth:`finish_run_all`)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator(RUN_ALL).click()

    def run_all_done(self) -> bool:
        """Whether every code cell has its execution count (or an error output appeared)."""
        return bool(self.page.evaluate(_DONE_JS))

    def finish_run_all(self, check_page: bool = True) -> None:
        """The rest of :meth:`run_all` after the click: wait for the run, then check it."""
        try:
            self.page.wait_for_function(_DONE_JS, timeout=self.run_ms, polling=500)
        except Exception as err:
            prompts = self.page.locator(PROMPTS).all_inner_texts()
            raise AssertionError(f"{self.notebook.name}: run-all did not finish in "
                                 f"{self.run_ms / 1000:.0f} s; prompts: "
                                 f"{prompts}") from err
        self.assert_no_errors()
        self.wait_idle()
        self.assert_widgets_render()
        if getattr(self.server, "cell_times", None) is not None:
            self.check_progress_rule()
        if check_page:
            self.figures = check_what_a_learner_sees(self)

    def check_progress_rule(self, fail_s: float = progress_rule.FAIL_CELL_S,
                            slow_s: float = progress_rule.SLOW_CELL_S) -> None:
        """Every cell over the threshold shows a tqdm bar: ``tests/progress_rule.py``'s rule.

        The times are the ones the kernel recorded for each execution count (wall-clock and CPU
        of its process tree, the load average at the cell's end); a cell's bar is its tqdm
        meter in its rendered outputs. Slow cells join the run's summary, as under nbval.
        """
        relative = self.notebook.relative_to(self.server.root).as_posix()
        kernel = self.server.kernel_id(relative)
        assert kernel, f"{relative}: no kernel session to read the cells' times from"
        path = progress_rule.record_path(self.server.cell_times, kernel)
        assert path.is_file(), (f"{relative}: kernel {kernel} recorded no cell times (its "
                                f"IPython profile did not load tests/progress_rule.py)")
        times = progress_rule.read_cell_times(path)
        cells = self.page.evaluate(_CELLS_JS)
        code = [(n, c) for n, c in enumerate(cells) if not c["empty"]]
        failures = []
        for n, cell in code:
            count = re.match(r"\[(\d+)\]", cell["prompt"])
            assert count, f"{relative}: Cell {n} has no execution count ({cell['prompt']!r})"
            timed = times.get(int(count.group(1)))
            assert timed, f"{relative}: no recorded time for Cell {n} ({cell['prompt']})"
            failure = progress_rule.judge(
                f"{relative}::Cell {n} (browser)", timed,
                progress_rule.text_shows_progress(cell["text"]), first=n == code[0][0],
                fail_s=fail_s, slow_s=slow_s)
            if failure:
                failures.append(failure)
        assert not failures, "\n".join(failures)

    def assert_no_errors(self) -> None:
        errors = self.page.evaluate(_ERRORS_JS)
        assert not errors, f"{self.notebook.name} shows error output:\n" + "\n---\n".join(errors)

    def assert_widgets_render(self) -> None:
        """No widget stuck on "Loading widget..." and none replaced by an error message.

        Only outputs count: a lesson's own text may well mention "Loading widget...".
        """
        outputs = self.page.locator(".jp-OutputArea-output")
        expect(outputs.filter(has_text="Loading widget")).to_have_count(0,
                                                                        timeout=self.widget_ms)
        expect(outputs.filter(has_text="Error displaying widget")).to_have_count(0)

    # ------------------------------------------------------------------ widgets and plots

    def press(self, handle: Locator, key: str, times: int = 1) -> None:
        """Focus a slider handle and press ``key`` ``times`` times, as a keyboard user does."""
        handle.focus()
        for _ in range(times):
            handle.press(key)
            self.page.wait_for_timeout(150)  # one kernel round trip per step, as by hand

    def path(self, scope: str) -> str:
        """The ``d`` attribute of the first plotly line inside ``scope``."""
        line = self.page.locator(f"{scope} {LINE}").first
        expect(line).to_be_attached(timeout=self.widget_ms)
        return line.get_attribute("d") or ""

    def numbers(self, selector: str) -> list[float]:
        """Every number in the visible text of ``selector``."""
        text = self.page.locator(selector).inner_text()
        return [float(x) for x in re.findall(_NUMBER, text)]

    def screenshot(self, selector: str, name: str) -> Path:
        path = self.artifacts / f"{self.slug}-{name}.png"
        self.page.locator(selector).screenshot(path=str(path))
        return path


def path_points(d: str) -> list[tuple[float, float]]:
    """The (x, y) vertices of an SVG path made of M/L commands (plotly's lines), in order."""
    pairs = re.findall(rf"({_NUMBER}),({_NUMBER})", d)
    return [(float(x), float(y)) for x, y in pairs]
