"""The peak memory of a process tree (a lesson's kernel and the workers it starts), sampled.

A lesson's memory on Binder is what its kernel *and* its worker processes hold at the same
moment. ``getrusage`` gives each process's own peak, and those peaks need not coincide (a worker
may have exited before the kernel reached its own), so their sum is not the tree's peak. This
module samples the whole tree instead: every ``interval`` seconds, the resident memory of a root
process and of all its descendants (children, their children, ...) at that moment, summed; the
peak is the largest such sum.

Two sums are kept. ``rss`` counts every page each process maps, so pages shared between
processes (torch's libraries, mapped by the kernel and by every worker) count once per process:
an upper bound, and the number ``make bench`` compares with its target. ``pss`` divides each
shared page among the processes that map it, which is closer to what a container's memory limit
charges. Processes that appear or end between two samples are counted from the next sample on;
a peak shorter than ``interval`` can be missed.

    with TreePeak(kernel_pid) as peak:
        ...            # run the lesson
    peak.rss_bytes, peak.pss_bytes, peak.processes_at_peak
"""

from __future__ import annotations

import os
import threading

import psutil

__all__ = ["TreePeak", "tree_memory"]


def tree_memory(pid: int, *, include_root: bool = True) -> tuple[int, int, int]:
    """``(rss, pss, processes)``: resident bytes of ``pid`` and all its descendants now, summed.

    With ``include_root=False`` only the descendants count (for a tree started by this very
    process: the kernels and workers a benchmark starts, without the benchmark itself). A process
    that ends while it is read is skipped.
    """
    try:
        root = psutil.Process(pid)
        members = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0, 0
    if include_root:
        members = [root, *members]
    rss = pss = count = 0
    for process in members:
        try:
            info = process.memory_full_info()  # reads /proc/PID/smaps_rollup on Linux
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except psutil.AccessDenied:
            info = process.memory_info()
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
        count += 1
    return rss, pss, count


class TreePeak:
    """Sample the memory of the tree rooted at ``pid`` in a background thread until stopped.

    ``rss_bytes`` and ``pss_bytes`` are the largest sums seen (each its own maximum over the
    samples), ``processes_at_peak`` how many processes made up the tree at the RSS peak,
    ``samples`` how many samples were taken. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(self, pid: int | None = None, *, interval: float = 0.05,
                 include_root: bool = True):
        if pid is None:
            pid = os.getpid()
        if isinstance(pid, bool) or not isinstance(pid, int) or pid < 1:
            raise ValueError(f"pid: expected a positive process id, got {pid!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) \
                or not 0 < interval <= 10:
            raise ValueError(f"interval: expected seconds in (0, 10], got {interval!r}")
        self.pid, self.interval, self.include_root = pid, float(interval), include_root
        self.rss_bytes = self.pss_bytes = self.processes_at_peak = self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Take one sample now (the thread calls this every ``interval`` seconds)."""
        rss, pss, count = tree_memory(self.pid, include_root=self.include_root)
        if rss > self.rss_bytes:
            self.rss_bytes, self.processes_at_peak = rss, count
        self.pss_bytes = max(self.pss_bytes, pss)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> TreePeak:
        if self._thread is not None:
            raise RuntimeError("TreePeak: already started")
        self._thread = threading.Thread(target=self._run, name="tree-peak", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> TreePeak:
        """Stop sampling (after one last sample) and return self."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.sample()
        return self

    def __enter__(self) -> TreePeak:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
