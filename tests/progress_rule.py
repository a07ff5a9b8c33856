"""The progress rule for lesson cells: a cell that keeps the learner waiting shows a progress bar.

One module for both places a lesson runs in ``make test``: nbval (``notebooks/conftest.py``,
which times each cell from outside the kernel) and JupyterLab in a browser (``tests/e2e``,
whose kernels load this module as an IPython extension that times each cell from inside).
It imports neither pytest nor rnncourse, so a kernel can load it by path.

The rule: a code cell whose time is over ``FAIL_CELL_S`` must show a progress bar (``tqdm.auto``:
a widget whose text reads ``desc:  40%|####      | 160/400 [00:02<00:03, 70.1it/s]``, or the
same text on stderr without ipywidgets), else it fails, naming the cell and its times; cells
over ``SLOW_CELL_S`` are listed at the end of the run. The time is the smaller of the wall-clock
time and the CPU time of the kernel's process tree (the kernel, its live children such as
worker processes, and the children it has already waited for): on a busy machine the wall clock
stretches, but a cell that does two seconds of work is not a long cell. CPU time stretches too
when processes share the cores (caches, memory bandwidth), so while the machine is overloaded
(1-minute load average above the number of cores) the threshold grows with the load, up to
twice ``FAIL_CELL_S``: a busy machine must not fail a lesson. The first code cell of each
lesson is exempt: it imports the course (the start-up of the kernel, timed by ``make bench``),
before any bar could be shown.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SLOW_CELL_S = 3.0  # listed in the summary from here
# A cell fails from here: on this 2-core machine cells of 3.1-3.9 s (lesson 4's cells 1 and 10,
# 5's cell 2, 7's cell 1, 8's cell 4) vary around 3 s from run to run, and a lesson must not
# fail on the machine's speed. Those cells are listed in the summary, to be given bars.
FAIL_CELL_S = 6.0
# tqdm's meter, "12/400 [00:01<00:30": in its text form after a bar ("| 12/400 [") and, in the
# widget, in the label right of the bar (the widget draws the bar itself, without the pipes).
METER = re.compile(r"\d+/\d+\s*\[[0-9:]+<")


@dataclass(frozen=True)
class CellTime:
    """How long one cell ran: wall-clock and CPU seconds, and the load average at its end."""

    execution_count: int
    wall_s: float
    cpu_s: float
    load: float | None = None

    @property
    def time_s(self) -> float:
        """The time the rule judges: the smaller of wall-clock and CPU time."""
        return min(self.wall_s, self.cpu_s)


@dataclass(frozen=True)
class SlowCell:
    name: str
    wall_s: float
    cpu_s: float
    bar: bool


SLOW: list[SlowCell] = []  # every cell over SLOW_CELL_S in this run, in order


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def threshold_s(load: float | None = None, cores: int | None = None,
                fail_s: float = FAIL_CELL_S, most: float = 2.0) -> float:
    """``fail_s`` times the overload of the machine (load / cores, between 1 and ``most``).

    ``load`` is the 1-minute load average (now, when not given).
    """
    load = load_average() if load is None else load
    if load is None:
        return fail_s
    overload = load / (cores or os.cpu_count() or 1)
    return fail_s * min(most, max(1.0, overload))


def process_tree_cpu_seconds(process) -> float:
    """CPU seconds of a psutil process, its children it has waited for, and its live ones."""
    import psutil

    t = process.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in process.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:  # it ended meanwhile: its time is in children_* once waited for
            pass
    return total


def text_shows_progress(text) -> bool:
    """True if ``text`` (a str or a list of lines) holds a tqdm meter."""
    return bool(METER.search(text if isinstance(text, str) else "".join(text)))


def shows_progress(outputs) -> bool:
    """True if any of a cell's nbformat outputs is a tqdm bar (widget's text form or stderr)."""
    for out in outputs or []:
        if text_shows_progress(out.get("text", "")):
            return True
        if text_shows_progress((out.get("data") or {}).get("text/plain", "")):
            return True
    return False


def judge(name: str, cell: CellTime, bar: bool, first: bool = False,
          fail_s: float = FAIL_CELL_S, slow_s: float = SLOW_CELL_S) -> str | None:
    """Apply the rule to one cell: the failure message, or None. Slow cells go to ``SLOW``.

    ``fail_s`` and ``slow_s`` are the rule's thresholds; only its own tests lower them.
    """
    if cell.time_s <= slow_s or first:
        return None
    SLOW.append(SlowCell(name, cell.wall_s, cell.cpu_s, bar))
    limit = threshold_s(cell.load, fail_s=fail_s)
    if bar or cell.time_s <= limit:
        return None
    return (f"{name} ran {cell.wall_s:.1f} s ({cell.cpu_s:.1f} s of CPU) and shows no progress "
            f"bar: a cell over {limit:.1f} s must show one (tqdm.auto: what it does, steps, ETA)")


def summary_lines() -> list[str]:
    return [f"{c.name}: {c.wall_s:.1f} s wall, {c.cpu_s:.1f} s CPU, "
            f"{'progress bar' if c.bar else 'NO progress bar'}" for c in SLOW]


_summarised: set[int] = set()


def write_summary(terminalreporter) -> None:
    """The section listing slow cells, once per run (both conftests may ask)."""
    if not SLOW or id(terminalreporter) in _summarised:
        return
    _summarised.add(id(terminalreporter))
    terminalreporter.section(f"lesson cells over {SLOW_CELL_S:.0f} s")
    for line in summary_lines():
        terminalreporter.write_line(line)


# ------------------------------------------------------------------ inside a kernel
# The browser tests' JupyterLab gives its kernels an IPython profile whose config loads this
# module as an extension (see tests/e2e/conftest.py). Each executed cell appends one JSON line,
# a CellTime, to RECORD_DIR/<kernel id>.jsonl. Nothing is printed: a failure to measure is
# written to the file instead, and the test reading it fails.

RECORD_DIR: Path | None = None


def kernel_id() -> str:
    """This kernel's id, from its connection file ``kernel-<id>.json``; the pid elsewhere."""
    try:
        from ipykernel.kernelapp import IPKernelApp

        if IPKernelApp.initialized():
            stem = Path(IPKernelApp.instance().connection_file).stem
            return stem.removeprefix("kernel-")
    except Exception:
        pass
    return f"pid-{os.getpid()}"


def record_path(directory: Path, kernel: str) -> Path:
    return Path(directory) / f"{kernel}.jsonl"


class CellClock:
    """IPython ``pre_run_cell`` / ``post_run_cell`` callbacks timing every cell."""

    def __init__(self, path: Path):
        import psutil

        self.path, self.process, self.start = path, psutil.Process(), None

    def _write(self, record: dict) -> None:
        with open(self.path, "a") as out:
            out.write(json.dumps(record) + "\n")

    def pre_run_cell(self, info=None) -> None:
        try:
            self.start = (time.perf_counter(), process_tree_cpu_seconds(self.process))
        except Exception as err:  # never print into the learner's cell
            self.start = None
            self._write({"error": f"pre_run_cell: {err!r}"})

    def post_run_cell(self, result) -> None:
        try:
            if self.start is None:
                return
            wall0, cpu0 = self.start
            wall = time.perf_counter() - wall0
            cpu = process_tree_cpu_seconds(self.process) - cpu0
            self.start = None
            if result.execution_count is None:
                return
            self._write(asdict(CellTime(result.execution_count, wall, cpu, load_average())))
        except Exception as err:
            self._write({"error": f"post_run_cell: {err!r}"})


def load_ipython_extension(ip) -> None:
    if RECORD_DIR is None:  # loaded without a folder to record to: nothing to do
        return
    clock = CellClock(record_path(RECORD_DIR, kernel_id()))
    ip.events.register("pre_run_cell", clock.pre_run_cell)
    ip.events.register("post_run_cell", clock.post_run_cell)


def read_cell_times(path: Path) -> dict[int, CellTime]:
    """The times a kernel recorded, by execution count; a recorder error raises RuntimeError."""
    times = {}
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        if "error" in record:
            raise RuntimeError(f"{path}: the cell clock failed: {record['error']}")
        cell = CellTime(**record)
        times[cell.execution_count] = cell
    return times
