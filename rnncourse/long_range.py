"""Lesson 7b's training runs, as functions of a module so that :func:`rnncourse.parallel.run_each`
can send them to worker processes.

* :func:`recall_run`: associative recall (:mod:`rnncourse.recall`) with the outer-product
  memory (:class:`rnncourse.memory.FastWeightRecall`) or an LSTM of the same parameter count.
* :func:`adding_run`: the adding problem at length T with a minGRU, an LRU
  (:mod:`rnncourse.linear_rnn`), ``torch.nn.GRU`` or ``torch.nn.LSTM``.
* :func:`step_seconds`: CPU seconds of one training step (forward, backward, Adam), the
  fastest of a few, on one thread.

Every run stops early on a **validation** set (its own seed); the lesson measures the test set
once, after training, with :func:`test_metric`.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.nn import functional as F

from . import heap, linear_rnn, memory, recall, tasks, validate
from .models import SequenceRegressor
from .train import TrainResult, eval_on, train

__all__ = ["MODELS", "recall_model", "recall_run", "adding_model", "adding_run",
           "step_seconds", "scan_timings", "test_metric"]

MODELS = ("mingru", "lru", "gru", "lstm")
VALIDATION_SEED, TEST_SEED = 4321, 1234


def recall_model(kind: str, *, n_keys: int, n_values: int, memory_size: int, seed: int = 0):
    """``"memory"``: :class:`FastWeightRecall` with D = ``memory_size``; ``"lstm"``: an
    :class:`LSTMRecall` whose parameter count is the closest to it."""
    validate.choice("kind", kind, ("memory", "lstm"))
    I = n_keys + n_values
    torch.manual_seed(seed)
    fw = memory.FastWeightRecall(I, memory_size, n_values)
    if kind == "memory":
        return fw
    n = sum(p.numel() for p in fw.parameters())
    torch.manual_seed(seed)
    return recall.LSTMRecall(I, recall.lstm_size_for(n, I, n_values), n_values)


def recall_run(kind: str, *, n_pairs: int, steps: int, lr: float = 3e-3, batch: int = 64,
               n_keys: int = 32, n_values: int = 16, memory_size: int = 32, seed: int = 0,
               target_error: float = 0.01, n_val: int = 500) -> TrainResult:
    """Train on fresh batches; stop once the validation error (1 - accuracy) is below
    ``target_error``."""
    val_x, val_y = recall.recall_test_set(n_pairs, n_val, VALIDATION_SEED, n_keys=n_keys,
                                          n_values=n_values)

    def error(logits, y):
        return 1.0 - recall.accuracy(logits, y)

    result = train(lambda: recall_model(kind, n_keys=n_keys, n_values=n_values,
                                      memory_size=memory_size, seed=seed),
                 lambda rng: recall.recall_batch(batch, n_pairs, rng, n_keys=n_keys,
                                                 n_values=n_values),
                 F.cross_entropy, steps=steps, lr=lr, clip=1.0, seed=seed, progress=False,
                 eval_fn=eval_on(val_x, val_y, error), eval_every=25, target=target_error,
                 config={"task": "recall", "kind": kind, "n_pairs": n_pairs, "batch": batch,
                         "n_keys": n_keys, "n_values": n_values, "memory_size": memory_size})
    heap.release()  # the run's freed batches go back to the system (rnncourse.heap)
    return result


def adding_model(name: str, hidden_size: int, seed: int = 0):
    """The lesson's four models for the adding problem (input 2, output 1).

    ``mingru``: two minGRU layers (one cannot add two marked values: see the lesson);
    ``lru``: one LRU layer of ``hidden_size // 2`` modes with the ring ``[0.99, 0.999]`` and
    phases up to 0.1 (long memory), after a ReLU encoder; ``gru``, ``lstm``: ``torch.nn``.
    """
    validate.choice("name", name, MODELS)
    torch.manual_seed(seed)
    if name == "mingru":
        return linear_rnn.LinearRNNRegressor("mingru", 2, hidden_size, num_layers=2, seed=seed)
    if name == "lru":
        return linear_rnn.LinearRNNRegressor("lru", 2, hidden_size,
                                             n_modes=max(1, hidden_size // 2), r_min=0.99,
                                             r_max=0.999, max_phase=0.1, seed=seed)
    return SequenceRegressor(name, 2, hidden_size, 1, seed=seed)


def adding_run(name: str, *, T: int, steps: int, hidden_size: int = 32, lr: float = 1e-2,
               batch: int = 32, seed: int = 0, target: float = 0.01,
               n_val: int = 300) -> TrainResult:
    """Train ``name`` on the adding problem of length ``T``; stop at validation MSE < target."""
    val_x, val_y = tasks.adding_test_set(T, n_val, VALIDATION_SEED)
    result = train(lambda: adding_model(name, hidden_size, seed),
                 lambda rng: tasks.adding_batch(batch, T, rng), F.mse_loss, steps=steps, lr=lr,
                 clip=1.0, seed=seed, progress=False,
                 eval_fn=eval_on(val_x, val_y, F.mse_loss, batch_size=100),
                 eval_every=25, target=target,
                 config={"task": "adding", "name": name, "T": T, "batch": batch,
                         "hidden_size": hidden_size})
    heap.release()
    return result


def test_metric(model, T: int, n: int = 1000, chunk: int = 100) -> float:
    """Test MSE of ``model`` on the adding problem's fixed test set (seed 1234), computed
    ``chunk`` sequences at a time (a scan over 1000 sequences at once holds several
    ``(T, 1000, H)`` tensors: a few hundred MB at T = 256)."""
    x, y = tasks.adding_test_set(T, n, TEST_SEED)
    total = 0.0
    with torch.no_grad():
        for start in range(0, n, chunk):
            part = slice(start, start + chunk)
            total += float(F.mse_loss(model(x[:, part]), y[part], reduction="sum"))
    return total / n


test_metric.__test__ = False  # not a pytest test despite its name


def step_seconds(name: str, *, T: int, hidden_size: int = 32, batch: int = 32,
                 repeats: int = 3, seed: int = 0) -> float:
    """CPU seconds (``time.process_time``) of one training step, the fastest of ``repeats``
    after one warm-up, on one torch thread: forward, backward and an Adam update."""
    repeats = validate.positive_int("repeats", repeats)
    model = adding_model(name, hidden_size, seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = tasks.adding_batch(batch, T, np.random.default_rng(seed))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    best = float("inf")
    try:
        for k in range(repeats + 1):
            start = time.process_time()
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(x), y).backward()
            opt.step()
            if k:
                best = min(best, time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    del model, opt, x, y
    heap.release()  # a step at T = 2048 frees ~0.2 GB that glibc would keep (rnncourse.heap)
    return best


def scan_timings(seq_lens, *, batch: int = 4, hidden_size: int = 16, rounds: int = 5,
                 seed: int = 0, progress: bool = False) -> dict:
    """CPU seconds of the sequential loop, the Blelloch scan and one ``torch.cumsum`` (the
    memory-bound floor) over ``(T, batch, hidden_size)`` float32 tensors, forward only, on one
    thread, for every T in ``seq_lens``.

    Interleaved: ``rounds`` passes over all sizes and methods, so a burst of load from another
    process hits every size alike. Returns ``{"T", "sequential", "blelloch", "cumsum"}`` with
    the fastest time of each, and ``"spread"``: for each method and size the median over the
    rounds divided by the fastest, a measure of the noise.
    """
    sizes = [validate.positive_int("seq_lens", T) for T in seq_lens]
    rounds = validate.positive_int("rounds", rounds)
    from . import scan

    gen = torch.Generator().manual_seed(seed)
    data = [(0.5 + 0.5 * torch.rand(T, batch, hidden_size, generator=gen),
             torch.randn(T, batch, hidden_size, generator=gen)) for T in sizes]
    runs = {"sequential": lambda a, b: scan.sequential_torch(a, b),
            "blelloch": lambda a, b: scan.blelloch_torch(a, b),
            "cumsum": lambda a, b: torch.cumsum(b, dim=0)}
    samples = {m: [[] for _ in sizes] for m in runs}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    passes = range(rounds + 1)
    if progress:
        from tqdm.auto import tqdm
        passes = tqdm(passes, desc="timing rounds", leave=True)
    try:
        with torch.no_grad():
            for r in passes:
                for k, (a, b) in enumerate(data):
                    for method, fn in runs.items():
                        start = time.process_time()
                        fn(a, b)
                        if r:  # round 0 warms up
                            samples[method][k].append(time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    del data
    heap.release()  # what the loop and the scan freed goes back to the system (rnncourse.heap)
    out = {"T": sizes}
    spread = {}
    for method, per_size in samples.items():
        out[method] = [min(s) for s in per_size]
        spread[method] = [float(np.median(s) / max(min(s), 1e-9)) for s in per_size]
    out["spread"] = spread
    return out
