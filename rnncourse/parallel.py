"""Independent training runs on several CPU cores at once, with the same results as one by one.

A comparison such as lesson 5's race (three models, three seeds) is nine training runs that share
nothing: each builds its own model and draws its own batches from its own seed, on the course's
one torch thread. Small recurrent models cannot use a second core from inside one run (a step is
a chain of tiny products; see :mod:`rnncourse.threads`), but two runs side by side can: on the
course's 2-core machine two runs at once each kept their speed alone (4.4 s against 4.4 s for
600 LSTM steps), so the comparison takes about half the time.

:func:`run_each` does that. Every run executes exactly the code it would execute in the lesson's
own process, with the same seed and the same thread count, so every number except the timings
is identical whatever the number of workers (tested). The workers are started fresh ("spawn",
which is safe in a Jupyter kernel and on every operating system) and kept for the next
comparison: starting one costs about as much as importing torch (2-3 s here).

How many run at once (:func:`worker_count`): as many as the CPUs this process may use allow, each
run taking torch's thread count here of them (a worker computes with that count too), and no
more than the memory allows at about 0.5 GB per worker. On Binder (one CPU, 2 GB) that is one:
runs go one after the other in the lesson's own process, as if this module did not exist.
``RNNCOURSE_WORKERS=1`` forces that anywhere; ``RNNCOURSE_WORKERS=n`` asks for n.

Workers start on their own only in an interactive session (a Jupyter kernel, IPython, the
plain REPL). A script's worker would first run the script again (that is how "spawn" finds the
script's functions), and a script without an ``if __name__ == "__main__":`` guard would then
start workers of its own; in a script, ask for workers with ``RNNCOURSE_WORKERS`` and guard it.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .threads import env_count

__all__ = ["ENV", "WORKER_MEMORY_GB", "usable_cpus", "memory_gb", "interactive", "worker_count",
           "run_each", "pool_size", "shutdown"]

ENV = "RNNCOURSE_WORKERS"
WORKER_MEMORY_GB = 0.5
"""Memory set aside per worker: a worker that ran lesson 5's runs peaked at 0.37 GB here."""

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_key: tuple[int, int] | None = None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a container's CPU quota.

    Containers (Binder, CI) often show every CPU of the host while a cgroup quota allows one;
    ``os.cpu_count()`` alone would then start workers that only take turns.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    quota = None
    v2 = _read("/sys/fs/cgroup/cpu.max")  # "max 100000" or "100000 100000"
    if v2:
        limit, _, period = v2.partition(" ")
        if limit != "max" and period:
            quota = int(limit) / int(period)
    else:
        limit, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read(
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
        if limit and period and int(limit) > 0:
            quota = int(limit) / int(period)
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def memory_gb() -> float | None:
    """Memory available to this process in GB: the cgroup limit or ``MemAvailable``, whichever
    is smaller (None where neither can be read)."""
    values = []
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        raw = _read(path)
        if raw and raw.isdigit() and int(raw) < 2**60:
            values.append(int(raw) / 2**30)
    meminfo = _read("/proc/meminfo") or ""
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            values.append(int(line.split()[1]) / 2**20)
    return min(values) if values else None


def interactive() -> bool:
    """True in a Jupyter kernel, IPython or the REPL: a ``__main__`` that a worker need not run
    again (it has neither a file nor a module name)."""
    main = sys.modules.get("__main__")
    return main is not None and getattr(main, "__spec__", None) is None \
        and not hasattr(main, "__file__")


def worker_count(runs: int) -> int:
    """How many of ``runs`` runs go at once (1: one after the other, in this process)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
        raise ValueError(f"runs: expected an int >= 0, got {runs!r}")
    asked = env_count(ENV)
    if asked is not None:
        return max(1, min(asked, runs))
    if not interactive():
        return 1
    workers = usable_cpus() // _torch_threads()
    memory = memory_gb()
    if memory is not None:
        workers = min(workers, int(memory // WORKER_MEMORY_GB))
    return max(1, min(workers, runs))


def _torch_threads() -> int:
    """torch's thread count in this process (what every run here uses)."""
    import torch

    return torch.get_num_threads()


def _start_worker(threads: int) -> None:
    """A new worker computes with this process's torch thread count, so that its numbers are
    the ones a run here would give (a fresh process would take torch's default instead)."""
    import torch

    torch.set_num_threads(threads)


def _executor(workers: int) -> ProcessPoolExecutor:
    """The kept pool, (re)started if it has another size or torch's thread count changed."""
    global _pool, _pool_key
    key = (workers, _torch_threads())
    with _lock:
        if _pool is None or _pool_key != key:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                        initargs=(key[1],),
                                        mp_context=multiprocessing.get_context("spawn"))
            _pool_key = key
        return _pool


def pool_size() -> int:
    """How many workers are kept now (0: none started, or stopped)."""
    return 0 if _pool_key is None else _pool_key[0]


def shutdown() -> None:
    """Stop the kept workers (they also stop with the kernel)."""
    global _pool, _pool_key
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool, _pool_key = None, None


atexit.register(shutdown)


def run_each(fn: Callable, calls: Sequence[Mapping], *, progress: bool = False,
             desc: str = "runs") -> list:
    """``[fn(**kwargs) for kwargs in calls]``, on :func:`worker_count` processes at once.

    ``fn`` must be importable by name (a function defined in a module, not in a notebook cell)
    and its arguments and result picklable. Results come back in the order of ``calls``; an
    exception in a run is raised here. ``progress`` shows one bar over the runs (a run's own
    bar cannot reach the notebook from a worker).
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a function, got {type(fn).__name__}")
    if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Sequence):
        raise TypeError(f"calls: expected a list of keyword-argument dicts, got "
                        f"{type(calls).__name__}")
    for k, kwargs in enumerate(calls):
        if not isinstance(kwargs, Mapping):
            raise TypeError(f"calls[{k}]: expected a dict of keyword arguments, got "
                            f"{type(kwargs).__name__}")
    workers = worker_count(len(calls))
    if workers <= 1:
        return [fn(**kwargs) for kwargs in calls]
    if getattr(fn, "__module__", "__main__") == "__main__" or "<locals>" in getattr(
            fn, "__qualname__", "<locals>"):
        raise TypeError(f"fn: expected a function importable by name to run in {workers} "
                        f"worker processes, got {fn!r} (define it in a module, or set "
                        f"{ENV}=1)")
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(calls), desc=desc, leave=True)
    try:
        pool = _executor(workers)
        futures = {pool.submit(fn, **kwargs): k for k, kwargs in enumerate(calls)}
        results: list = [None] * len(calls)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if bar is not None:
                bar.update(1)
        return results
    finally:
        if bar is not None:
            bar.close()
