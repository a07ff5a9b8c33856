"""Lesson 7b's run functions: short runs, deterministic, chunked test metric."""

import torch

from rnncourse import long_range


def test_adding_run_is_deterministic_and_its_test_metric_chunks_exactly():
    runs = [long_range.adding_run("mingru", T=20, steps=3, hidden_size=4) for _ in range(2)]
    assert runs[0].losses == runs[1].losses
    model = runs[0].model
    x, y = long_range.tasks.adding_test_set(20, 250, long_range.TEST_SEED)
    with torch.no_grad():
        whole = float(torch.nn.functional.mse_loss(model(x), y))
    assert abs(long_range.test_metric(model, 20, n=250, chunk=100) - whole) < 1e-6


def test_recall_models_have_matched_sizes():
    sizes = [sum(p.numel() for p in long_range.recall_model(k, n_keys=32, n_values=16,
                                                            memory_size=32).parameters())
             for k in ("memory", "lstm")]
    assert abs(sizes[0] - sizes[1]) / sizes[0] < 0.05
    run = long_range.recall_run("memory", n_pairs=2, steps=2)
    assert run.steps == 2 and run.config["kind"] == "memory"


def test_step_seconds_and_timings_are_positive():
    assert long_range.step_seconds("lru", T=16, repeats=1) > 0
    t = long_range.scan_timings([8, 33], rounds=1)
    assert t["T"] == [8, 33] and all(v > 0 for v in t["sequential"] + t["blelloch"])
