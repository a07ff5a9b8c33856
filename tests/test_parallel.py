"""rnncourse.parallel: runs on several cores give the numbers of runs one after the other."""

import pytest

from rnncourse import experiments, parallel

SMALL = dict(T=10, hidden_size=8, steps=30, batch=16, n_test=50, eval_every=10, target=None)
MODELS = {"LSTM": {"cell": "lstm"}, "GRU": {"cell": "gru"}}


def _numbers(results):
    return {label: [(r.losses, r.grad_norms, r.evals, r.n_params) for r in runs]
            for label, runs in results.items()}


def test_workers_give_exactly_the_numbers_of_one_process(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "1")
    alone = experiments.compare_adding(MODELS, seeds=(0, 1), **SMALL)
    monkeypatch.setenv(parallel.ENV, "2")
    assert parallel.worker_count(4) == 2
    shared = experiments.compare_adding(MODELS, seeds=(0, 1), **SMALL)
    assert list(shared) == list(MODELS)
    assert _numbers(shared) == _numbers(alone)
    # The models come back too, trained: the same weights as in one process.
    for label in MODELS:
        for a, b in zip(alone[label], shared[label]):
            for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
                assert (p == q).all(), (label, name)


def test_a_failing_run_raises_its_own_error(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    calls = [{"cell": "lstm", **SMALL, "steps": 2}, {"cell": "lstm", **SMALL, "hidden_size": 0}]
    with pytest.raises(ValueError, match="hidden_size"):
        parallel.run_each(experiments.adding_run, calls)


def test_worker_count_follows_cpus_threads_memory_and_the_variable(monkeypatch):
    monkeypatch.delenv(parallel.ENV, raising=False)
    monkeypatch.setattr(parallel, "interactive", lambda: True)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "memory_gb", lambda: 24.0)
    monkeypatch.setattr(parallel, "_torch_threads", lambda: 1)
    assert parallel.worker_count(9) == 4
    assert parallel.worker_count(3) == 3  # never more workers than runs
    monkeypatch.setattr(parallel, "_torch_threads", lambda: 2)
    assert parallel.worker_count(9) == 2  # each run takes two of the four CPUs
    monkeypatch.setattr(parallel, "memory_gb", lambda: 0.9)
    assert parallel.worker_count(9) == 1  # room for one worker only: no workers at all
    monkeypatch.setattr(parallel, "interactive", lambda: False)
    monkeypatch.setattr(parallel, "memory_gb", lambda: 24.0)
    assert parallel.worker_count(9) == 1  # a script asks for workers explicitly
    monkeypatch.setenv(parallel.ENV, "3")
    assert parallel.worker_count(9) == 3
    assert parallel.worker_count(2) == 2


@pytest.mark.parametrize("raw", ["0", "two", "-1", "1.5"])
def test_a_bad_worker_variable_is_named(monkeypatch, raw):
    monkeypatch.setenv(parallel.ENV, raw)
    with pytest.raises(ValueError, match=f"{parallel.ENV}: expected a positive integer"):
        parallel.worker_count(4)


@pytest.mark.parametrize("cpu_max, expected", [("max 100000", 8), ("100000 100000", 1),
                                                ("150000 100000", 1), ("400000 100000", 4),
                                                ("50000 100000", 1)])
def test_a_container_quota_caps_the_cpus(monkeypatch, cpu_max, expected):
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(8)),
                        raising=False)
    monkeypatch.setattr(parallel, "_read",
                        lambda path: cpu_max if path == "/sys/fs/cgroup/cpu.max" else None)
    assert parallel.usable_cpus() == expected


def test_memory_is_the_smaller_of_limit_and_available(monkeypatch):
    files = {"/sys/fs/cgroup/memory.max": str(2 * 2**30),
             "/proc/meminfo": "MemTotal: 25000000 kB\nMemAvailable: 20971520 kB\n"}
    monkeypatch.setattr(parallel, "_read", files.get)
    assert parallel.memory_gb() == pytest.approx(2.0)
    files["/sys/fs/cgroup/memory.max"] = "max"
    assert parallel.memory_gb() == pytest.approx(20.0)


def test_bad_calls_are_refused(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    with pytest.raises(TypeError, match="fn: expected a function"):
        parallel.run_each(42, [{}])
    with pytest.raises(TypeError, match="calls: expected a list"):
        parallel.run_each(experiments.adding_run, {"cell": "lstm"})
    with pytest.raises(TypeError, match=r"calls\[1\]: expected a dict"):
        parallel.run_each(experiments.adding_run, [{}, ("lstm",)])
    with pytest.raises(TypeError, match="importable by name"):
        parallel.run_each(lambda **kw: kw, [{}, {}])


def test_one_worker_runs_in_this_process_even_unpicklable_functions(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "1")
    assert parallel.run_each(lambda a: a * 2, [{"a": 1}, {"a": 2}]) == [2, 4]
