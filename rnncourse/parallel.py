"""Independent training runs on several CPU cores at once, with the same results as one by one.

A comparison such as lesson 5's race (three models, three seeds) is nine training runs that share
nothing: each builds its own model and draws its own batches from its own seed, on the course's
one torch thread. Small recurrent models cannot use a second core from inside one run (a step is
a chain of tiny products; see :mod:`rnncourse.threads`), but two runs side by side can: on the
course's 2-core machine two runs at once each kept their speed alone, so the comparison takes
about half the time.

:func:`run_each` does that. The lesson's own process (the kernel) takes runs from the end of the
list while worker processes take them from the front, so that ``n`` runs at once cost ``n - 1``
extra processes, not ``n``. Every run executes exactly the code it would execute in the kernel,
with the same seed and the same torch thread count, so every number except the timings is
identical whatever the number of workers (tested). While runs go through workers, one progress
bar (``tqdm.auto``) counts the runs done.

The workers come from joblib's process executor (loky): it counts the CPUs a container's quota
allows, reuses its workers from one comparison to the next (starting one costs about as much as
importing torch, 2-3 s), sends functions defined in a notebook by value, and stops idle workers
after :data:`IDLE_SECONDS`. Workers ignore the interrupt that Jupyter sends to the kernel's
whole process group before it shuts a kernel down (they used to print ``KeyboardInterrupt``
tracebacks into the terminal), end with the kernel, and never print a progress bar of their own.

How many runs go at once (:func:`worker_count`): as many as the usable CPUs allow, each run taking
torch's thread count here of them, but no more than fit in :data:`TREE_BUDGET_GB` together with
the kernel (the memory a lesson may use on Binder, kernel and workers together), at
:data:`WORKER_GB` per worker. On Binder (one CPU) that is one: runs go one after the other in the
kernel, as if this module did not exist. ``RNNCOURSE_WORKERS=1`` forces that anywhere;
``RNNCOURSE_WORKERS=n`` asks for ``n`` runs at once (the kernel and ``n - 1`` workers).

Workers start on their own only in an interactive session (a Jupyter kernel, IPython, the
plain REPL). A script's worker would first import the script again (that is how a fresh process
finds the script's functions), and a script without an ``if __name__ == "__main__":`` guard
would then start workers of its own; in a script, ask for workers with ``RNNCOURSE_WORKERS`` and
guard it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from .threads import env_count

__all__ = ["ENV", "TREE_BUDGET_GB", "WORKER_GB", "IDLE_SECONDS", "usable_cpus", "own_memory_gb",
           "interactive", "worker_count", "run_each", "pool_size", "shutdown"]

ENV = "RNNCOURSE_WORKERS"
TREE_BUDGET_GB = 1.0
"""What one lesson may hold, its kernel and its workers together (Binder: 2 GB for everything)."""
WORKER_GB = 0.4
"""Memory set aside per worker: torch (0.22 GB resident) and the torch._dynamo modules that
``optimizer.step()`` imports (0.1 GB); a worker that ran lesson 5's runs held 0.33-0.35 GB."""
IDLE_SECONDS = 60
"""A worker that got no run for this long exits (the next comparison starts a new one)."""

_lock = threading.Lock()
_size = 0  # workers of the executor last used (0: none, or stopped)
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a container's CPU quota (joblib's
    count; ``os.cpu_count()`` alone shows a container every CPU of its host)."""
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def own_memory_gb() -> float:
    """Resident memory of this process now, in GB (its peak so far where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
        return peak / (2**30 if sys.platform == "darwin" else 2**20)


def interactive() -> bool:
    """True in a Jupyter kernel, IPython or the REPL: a ``__main__`` that a worker need not import
    again (it has neither a file nor a module name)."""
    main = sys.modules.get("__main__")
    return main is not None and getattr(main, "__spec__", None) is None \
        and not hasattr(main, "__file__")


def worker_count(runs: int) -> int:
    """How many of ``runs`` runs go at once (1: one after the other, in this process; ``n``: this
    process and ``n - 1`` workers)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
        raise ValueError(f"runs: expected an int >= 0, got {runs!r}")
    asked = env_count(ENV)
    if asked is not None:
        return max(1, min(asked, runs))
    if not interactive():
        return 1
    by_cpus = usable_cpus() // _torch_threads()
    by_memory = 1 + int(max(0.0, TREE_BUDGET_GB - own_memory_gb()) // WORKER_GB)
    return max(1, min(by_cpus, by_memory, runs))


def _torch_threads() -> int:
    """torch's thread count in this process (what every run here uses)."""
    import torch

    return torch.get_num_threads()


def _start_worker(threads: int) -> None:
    """Run once in every new worker, before its first run."""
    # Jupyter interrupts a kernel by signalling its whole process group, workers included, also
    # just before it shuts the kernel down; a worker's run is stopped by the kernel instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    # A fresh process would take torch's default thread count; the kernel's gives its numbers.
    torch.set_num_threads(threads)


def _executor(workers: int):
    """joblib's reusable executor with ``workers`` workers (started, resized or reused)."""
    global _size
    from joblib.externals.loky import get_reusable_executor

    # Jupyter terminates a kernel that takes more than 2.5 s to exit (common on a busy machine),
    # workers included; joblib's resource tracker then frees the executor's semaphores, as it
    # should, but warns about each into the server's terminal. It inherits these filters.
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)
    executor = get_reusable_executor(
        max_workers=workers, timeout=IDLE_SECONDS, initializer=_start_worker,
        initargs=(_torch_threads(),),
        env={"TQDM_DISABLE": "1"})  # a worker's bar would print into the server's terminal
    _size = workers
    return executor


def pool_size() -> int:
    """How many workers the last comparison used (0: none yet, or stopped)."""
    return _size


def shutdown(kill: bool = False) -> None:
    """Stop the workers now (they also stop when idle for :data:`IDLE_SECONDS`, and with the
    kernel); ``kill=True`` does not wait for runs in progress."""
    global _size
    if "joblib.externals.loky" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=not kill, kill_workers=kill)
    _size = 0


def run_each(fn: Callable, calls: Sequence[Mapping], *, desc: str = "runs",
             progress: bool = True) -> list:
    """``[fn(**kwargs) for kwargs in calls]``, :func:`worker_count` runs at once.

    ``fn`` may be any function (one defined in a notebook cell too); its arguments and result
    must be picklable when there are workers. Results come back in the order of ``calls``; an
    exception in a run is raised here, and stops the other runs. While runs go through workers,
    a progress bar titled ``desc`` counts them (``progress=False``: none); a run's own bar
    cannot reach the notebook from a worker. One after the other in this process (one CPU, or
    torch's threads taking every core) the same bar counts the runs, so that a long comparison
    shows its progress there too; a caller whose runs show bars of their own then passes
    ``progress=False``.
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
    if not isinstance(desc, str):
        raise TypeError(f"desc: expected a str, got {type(desc).__name__}")
    at_once = worker_count(len(calls))
    if at_once <= 1:
        if not progress:
            return [fn(**kwargs) for kwargs in calls]
        from tqdm.auto import tqdm

        results = []
        with tqdm(total=len(calls), desc=desc, unit="run") as bar:
            for kwargs in calls:
                results.append(fn(**kwargs))
                bar.update(1)
        return results
    return _shared(fn, list(calls), at_once - 1, desc if progress else None)


def _shared(fn: Callable, calls: list, workers: int, desc: str | None) -> list:
    """The runs, taken from the front by one thread per worker (each hands its run to the
    executor and waits) and from the back by this thread, which runs them here."""
    with _lock:
        executor = _executor(workers)
    todo = deque(range(len(calls)))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []
    bar = None
    if desc is not None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(calls), desc=desc, unit="run")

    def done(k, value):
        results[k] = value
        if bar is not None:
            bar.update(1)

    def feed():
        while not failures:
            try:
                k = todo.popleft()
            except IndexError:
                return
            try:
                done(k, executor.submit(fn, **calls[k]).result())
            except BaseException as err:  # noqa: BLE001  (handed to the calling thread)
                failures.append(err)

    feeders = [threading.Thread(target=feed, name=f"run_each-{i}", daemon=True)
               for i in range(workers)]
    try:
        for thread in feeders:
            thread.start()
        while not failures:
            try:
                k = todo.pop()
            except IndexError:
                break
            done(k, fn(**calls[k]))
        for thread in feeders:
            while thread.is_alive() and not failures:
                thread.join(0.1)
    except BaseException:
        failures.insert(0, sys.exc_info()[1])  # this thread's error (or interrupt) comes first
    finally:
        if bar is not None:
            bar.close()
    if failures:
        todo.clear()
        with _lock:
            shutdown(kill=True)  # the workers' runs in progress are not waited for
        raise failures[0]
    return results
