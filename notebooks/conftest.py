"""Lessons under nbval: every cell that keeps the learner waiting shows a progress bar.

A code cell that runs longer than ``FAIL_CELL_S`` must show one (cells over ``SLOW_CELL_S`` are listed at the end) (``tqdm.auto``: a widget whose
text form reads ``desc: 40%|####      | 160/400 [00:02<00:03, ...]``, or the same text on
stderr without ipywidgets), else its test fails, naming the cell and its time. The time is
the smaller of the wall-clock time and the CPU time of the kernel and its worker processes:
on a busy machine the wall clock stretches, but a cell that does two seconds of work is not a
long cell. CPU time stretches too when processes share the cores (caches, memory bandwidth),
so while the machine is overloaded (load average above the number of cores) the threshold
grows with the load, up to twice ``SLOW_CELL_S``: a busy machine must not fail a lesson. The first code cell of each lesson is exempt: it imports the course (the start-up
of the kernel, timed by ``make bench``), before any bar could be shown.

At the end, the terminal summary lists every cell over the threshold with both times.
"""

from __future__ import annotations

import os
import re
import time

import pytest

SLOW_CELL_S = 3.0  # listed in the summary from here
# A cell fails from here: on this 2-core machine cells of 3.1-3.9 s (lesson 4's cells 1 and 10,
# 5's cell 2, 7's cell 1, 8's cell 4) vary around 3 s from run to run, and a lesson must not
# fail on the machine's speed. Those cells are listed in the summary, to be given bars.
FAIL_CELL_S = 6.0
_BAR = re.compile(r"\|\s*\d+/\d+\s*\[")  # tqdm's meter: "| 12/400 ["
_slow: list[tuple[str, float, float, bool]] = []


def threshold_s() -> float:
    """``FAIL_CELL_S``, times the overload of the machine (load / cores), at most 2."""
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        load = 1.0
    return FAIL_CELL_S * min(2.0, max(1.0, load))


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _kernel_process(item):
    try:
        import psutil

        km = item.parent.kernel.km
        process = getattr(getattr(km, "provisioner", None), "process", None)
        return psutil.Process(process.pid) if process is not None else None
    except Exception:  # no psutil or no local kernel: wall time only
        return None


def _cpu_seconds(process) -> float:
    """CPU seconds of the kernel, its finished children and its live ones (workers)."""
    import psutil

    t = process.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in process.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def shows_progress(outputs) -> bool:
    """True if any output of a cell is a tqdm bar (widget text form or stderr)."""
    for out in outputs or []:
        texts = [out.get("text", "")]
        texts += [(out.get("data") or {}).get("text/plain", "")]
        if any(_BAR.search(t if isinstance(t, str) else "".join(t)) for t in texts):
            return True
    return False


def _first_code_cell(item) -> bool:
    cells = [c for c in item.parent.nb.cells if c.cell_type == "code"]
    return bool(cells) and item.cell is cells[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _is_cell(item):
        return (yield)
    process = _kernel_process(item)
    cpu0 = _cpu_seconds(process) if process else None
    start = time.perf_counter()
    result = yield  # raises when the cell failed: that failure is reported as it is
    wall = time.perf_counter() - start
    work = _cpu_seconds(process) - cpu0 if process else wall
    limit = threshold_s()
    if min(wall, work) <= SLOW_CELL_S or _first_code_cell(item):
        return result
    bar = shows_progress(item.test_outputs)
    _slow.append((item.nodeid, wall, work, bar))
    if not bar and min(wall, work) > limit:
        raise AssertionError(f"{item.nodeid} ran {wall:.1f} s ({work:.1f} s of CPU) and shows no "
                             f"progress bar: a cell over {limit:.1f} s must show one "
                             f"(tqdm.auto: what it does, steps, ETA)")
    return result


def pytest_terminal_summary(terminalreporter):
    if _slow:
        terminalreporter.section(f"lesson cells over {SLOW_CELL_S:.0f} s")
        for name, wall, work, bar in _slow:
            terminalreporter.write_line(f"{name}: {wall:.1f} s wall, {work:.1f} s CPU, "
                                        f"{'progress bar' if bar else 'NO progress bar'}")
