"""rnncourse.parallel: runs on several cores give the numbers of runs one after the other."""

import os
import signal
import textwrap
import time

import psutil
import pytest

from rnncourse import experiments, parallel

SMALL = dict(T=10, hidden_size=8, steps=30, batch=16, n_test=50, eval_every=10, target=None)
MODELS = {"LSTM": {"cell": "lstm"}, "GRU": {"cell": "gru"}}


def _numbers(results):
    return {label: [(r.losses, r.grad_norms, r.evals, r.n_params) for r in runs]
            for label, runs in results.items()}


def _workers():
    """The worker processes of this process now (joblib's loky workers)."""
    return [p for p in psutil.Process().children(recursive=True)
            if "LokyProcess" in " ".join(p.cmdline())]


def _gone(processes, timeout=10.0):
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive == []


@pytest.fixture(autouse=True, scope="module")
def stopped_workers():
    yield  # the tests reuse the workers, as lessons do (starting one takes seconds)
    parallel.shutdown()


def test_workers_give_exactly_the_numbers_of_one_process(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "1")
    alone = experiments.compare_adding(MODELS, seeds=(0, 1), **SMALL)
    monkeypatch.setenv(parallel.ENV, "2")
    assert parallel.worker_count(4) == 2
    shared = experiments.compare_adding(MODELS, seeds=(0, 1), **SMALL)
    assert parallel.pool_size() == 1  # two at once: this process and one worker
    assert list(shared) == list(MODELS)
    assert _numbers(shared) == _numbers(alone)
    # The models come back too, trained: the same weights as in one process.
    for label in MODELS:
        for a, b in zip(alone[label], shared[label]):
            for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
                assert (p == q).all(), (label, name)


def _where(k):
    return k, os.getpid()


# A function as a notebook cell defines it: in a namespace of its own (the kernel's __main__),
# with no module a worker could import it from. Run in this process it first waits (at most
# 60 s) until a worker has run a call: otherwise, on a busy machine, this process can finish
# every run before the worker's thread has taken its first one, and the runs would show
# nothing about the workers (seen with three test processes on two cores).
CELL = """
import os
import time
from pathlib import Path


def where(k, parent, marker):
    if os.getpid() == parent:
        deadline = time.monotonic() + 60
        while not Path(marker).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        Path(marker).touch()
    return k, os.getpid()
"""


def _cell_function():
    namespace = {"__name__": "__main__"}
    exec(CELL, namespace)
    return namespace["where"]


def test_this_process_and_the_workers_share_the_runs_in_order(monkeypatch, tmp_path):
    monkeypatch.setenv(parallel.ENV, "2")
    where, marker = _cell_function(), str(tmp_path / "a worker ran")
    out = parallel.run_each(where, [{"k": k, "parent": os.getpid(), "marker": marker}
                                    for k in range(6)])
    assert [k for k, _ in out] == list(range(6))
    pids = {pid for _, pid in out}
    assert os.getpid() in pids and len(pids) == 2, pids
    # The worker takes runs from the front, this process from the back.
    assert out[0][1] != os.getpid() and out[-1][1] == os.getpid()


def test_a_function_defined_in_a_notebook_goes_to_the_workers(monkeypatch, tmp_path):
    monkeypatch.setenv(parallel.ENV, "2")
    where = _cell_function()
    assert where.__module__ == "__main__"  # as in a kernel: the worker gets it by value
    out = parallel.run_each(where, [{"k": k, "parent": os.getpid(),
                                     "marker": str(tmp_path / "a worker ran")}
                                    for k in range(4)])
    assert [k for k, _ in out] == [0, 1, 2, 3]
    assert len({pid for _, pid in out}) == 2


def test_a_failing_run_raises_its_own_error_here_or_in_a_worker(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    # Call 1 runs in this process, call 0 in the worker. Each failure stops the workers, and
    # the next comparison starts fresh ones: the worker that raises the second error is one,
    # the last comparison another (one start fewer than a test per case, same proof).
    for bad in (1, 0):
        calls = [{"cell": "lstm", **SMALL, "steps": 2} for _ in range(2)]
        calls[bad]["hidden_size"] = 0
        with pytest.raises(ValueError, match="hidden_size"):
            parallel.run_each(experiments.adding_run, calls)
    assert [r.steps for r in parallel.run_each(
        experiments.adding_run, [{"cell": "gru", **SMALL, "steps": 2}] * 2)] == [2, 2]


def test_a_bar_counts_the_runs_that_go_through_workers(monkeypatch, capsys):
    monkeypatch.setenv(parallel.ENV, "2")
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    parallel.run_each(_where, [{"k": k} for k in range(3)], desc="three runs")
    err = capsys.readouterr().err
    assert "three runs" in err and "3/3" in err
    parallel.run_each(_where, [{"k": k} for k in range(3)], desc="quiet", progress=False)
    monkeypatch.setenv(parallel.ENV, "1")
    parallel.run_each(_where, [{"k": k} for k in range(3)], desc="quiet here", progress=False)
    parallel.run_each(_where, [{"k": k} for k in range(3)], desc="in this process")
    err = capsys.readouterr().err
    assert "quiet" not in err  # progress=False: no bar, with or without workers
    assert "in this process" in err and "3/3" in err  # one after the other: the same bar


def test_workers_ignore_interrupts_and_stop_when_idle(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    monkeypatch.setattr(parallel, "IDLE_SECONDS", 2)
    parallel.shutdown()
    parallel.run_each(_where, [{"k": k} for k in range(2)])
    workers = _workers()
    assert len(workers) == 1
    os.kill(workers[0].pid, signal.SIGINT)  # what Jupyter sends before it shuts a kernel down
    time.sleep(0.5)
    assert workers[0].is_running() and workers[0].status() != psutil.STATUS_ZOMBIE
    # ends about 2 s after its last run; on a loaded machine (load 26 on 2 cores) that took
    # more than 15 s, so wait up to a minute (the wait returns as soon as it has gone)
    assert _gone(workers, timeout=60), "an idle worker did not stop"


def test_shutdown_stops_the_workers(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "3")
    parallel.shutdown()
    parallel.run_each(_where, [{"k": k} for k in range(3)])
    workers = _workers()
    assert len(workers) == 2 and parallel.pool_size() == 2
    parallel.shutdown()
    assert parallel.pool_size() == 0
    assert _gone(workers)


def test_worker_count_follows_cpus_threads_memory_and_the_variable(monkeypatch):
    monkeypatch.delenv(parallel.ENV, raising=False)
    monkeypatch.setattr(parallel, "interactive", lambda: True)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "own_memory_gb", lambda: 0.1)
    monkeypatch.setattr(parallel, "_torch_threads", lambda: 1)
    monkeypatch.setattr(parallel, "TREE_BUDGET_GB", 10.0)
    assert parallel.worker_count(9) == 4
    assert parallel.worker_count(3) == 3  # never more at once than runs
    monkeypatch.setattr(parallel, "_torch_threads", lambda: 2)
    assert parallel.worker_count(9) == 2  # each run takes two of the four CPUs
    monkeypatch.setattr(parallel, "_torch_threads", lambda: 1)
    monkeypatch.setattr(parallel, "TREE_BUDGET_GB", 1.0)
    monkeypatch.setattr(parallel, "WORKER_GB", 0.4)
    assert parallel.worker_count(9) == 3  # 0.1 GB here + 2 workers of 0.4 GB fit in 1 GB
    monkeypatch.setattr(parallel, "own_memory_gb", lambda: 0.5)
    assert parallel.worker_count(9) == 2  # room for one worker
    monkeypatch.setattr(parallel, "own_memory_gb", lambda: 0.7)
    assert parallel.worker_count(9) == 1  # room for none: all runs here
    monkeypatch.setattr(parallel, "own_memory_gb", lambda: 0.1)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 1)
    assert parallel.worker_count(9) == 1  # Binder's one CPU
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "interactive", lambda: False)
    assert parallel.worker_count(9) == 1  # a script asks for workers explicitly
    monkeypatch.setenv(parallel.ENV, "3")
    assert parallel.worker_count(9) == 3
    assert parallel.worker_count(2) == 2


@pytest.mark.parametrize("raw", ["0", "two", "-1", "1.5"])
def test_a_bad_worker_variable_is_named(monkeypatch, raw):
    monkeypatch.setenv(parallel.ENV, raw)
    with pytest.raises(ValueError, match=f"{parallel.ENV}: expected a positive integer"):
        parallel.worker_count(4)


def test_cpus_are_joblibs_count_of_the_usable_ones():
    import joblib

    assert parallel.usable_cpus() == joblib.cpu_count() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert parallel.usable_cpus() <= len(os.sched_getaffinity(0))


def test_own_memory_follows_what_this_process_holds():
    before = parallel.own_memory_gb()
    assert before == pytest.approx(psutil.Process().memory_info().rss / 2**30, rel=0.1)
    block = b"x" * (200 * 2**20)
    assert parallel.own_memory_gb() - before == pytest.approx(200 / 1024, rel=0.2)
    del block


def test_bad_calls_are_refused(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    with pytest.raises(TypeError, match="fn: expected a function"):
        parallel.run_each(42, [{}])
    with pytest.raises(TypeError, match="calls: expected a list"):
        parallel.run_each(experiments.adding_run, {"cell": "lstm"})
    with pytest.raises(TypeError, match=r"calls\[1\]: expected a dict"):
        parallel.run_each(experiments.adding_run, [{}, ("lstm",)])
    with pytest.raises(TypeError, match="desc: expected a str"):
        parallel.run_each(experiments.adding_run, [{}], desc=3)


def test_one_worker_runs_in_this_process_even_unpicklable_functions(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "1")
    assert parallel.run_each(lambda a: a * 2, [{"a": 1}, {"a": 2}]) == [2, 4]


# What a learner does: run a comparison in a kernel, then shut the kernel down (JupyterLab's
# Kernel > Shut Down Kernel: an interrupt to the kernel's process group, then a shutdown request).
_KERNEL_CELL = textwrap.dedent("""
    import os
    from rnncourse import experiments, parallel
    runs = parallel.run_each(experiments.adding_run,
                             [dict(cell="lstm", T=10, hidden_size=8, steps=20, batch=16,
                                   n_test=50, eval_every=10, target=None, seed=s)
                              for s in range(4)], desc="kernel runs")
    print("pool", parallel.pool_size(), "runs", len(runs))
""")


@pytest.mark.slow
def test_workers_end_with_the_kernel_and_print_nothing(tmp_path):
    from jupyter_client.manager import start_new_kernel

    log = tmp_path / "kernel-stderr.txt"
    env = {**os.environ, parallel.ENV: "3", "TQDM_DISABLE": "1"}
    with open(log, "w") as stderr:
        km, kc = start_new_kernel(kernel_name="python3", env=env, stderr=stderr)
    try:
        printed_here = []
        reply = kc.execute_interactive(
            _KERNEL_CELL, timeout=240,
            output_hook=lambda msg: printed_here.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "pool 2 runs 4" in "".join(printed_here)
        everything = psutil.Process(km.provisioner.pid).children(recursive=True)
        assert len(everything) >= 2  # two workers, and joblib's resource tracker
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    assert _gone(everything), [p.cmdline() for p in everything if p.is_running()]
    printed = [line for line in log.read_text().splitlines()
               if line.strip() and not line.startswith("[IPKernelApp]")
               and "Debugger warning" not in line and "frozen modules" not in line
               and "PYDEVD_DISABLE_FILE_VALIDATION" not in line
               and "-Xfrozen_modules" not in line and "Debugging will proceed" not in line]
    assert printed == [], "\n".join(printed)
