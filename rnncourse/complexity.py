"""What a recurrent layer costs: FLOPs counted from the equations, then time measured.

One step of ``h_t = f(W_hh h_{t-1} + W_xh x_t + b_h)`` on a batch of B does two matrix
products, ``(B, H) @ (H, H)`` and ``(B, I) @ (I, H)``: ``2 B (H^2 + H I)`` floating-point
operations (a multiply and an add per weight per example). Over T steps the forward pass costs

    F_forward = 2 T B (H^2 + H I)                                       (1)

and backpropagation through time about twice that again (one product for dh_{t-1} and dx_t, one
for dW_hh and dW_xh), so forward + backward is ``3 F_forward``: O(T (H^2 + H I)).

Measured time follows (1) only where the products dominate. At small H the fixed cost of each
Python-level step (a few microseconds per numpy call) dominates, and time grows more slowly
than H^2: :func:`fit_power_law` on such sizes gives an exponent well below 2.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import validate

BACKENDS = ("numpy", "torch")


def rnn_flops(seq_len: int, hidden_size: int, input_size: int, batch: int = 1,
              backward: bool = False) -> int:
    """FLOPs of a vanilla RNN layer: ``2 T B (H^2 + H I)`` forward, three times that with BPTT."""
    T = validate.positive_int("seq_len", seq_len)
    H = validate.positive_int("hidden_size", hidden_size)
    I = validate.positive_int("input_size", input_size)
    B = validate.positive_int("batch", batch)
    forward = 2 * T * B * (H * H + H * I)
    return 3 * forward if backward else forward


def _numpy_runner(T: int, H: int, I: int, B: int, backward: bool, seed: int) -> Callable[[], None]:
    from .np_rnn import init_rnn_params, rnn_backward, rnn_forward

    rng = np.random.default_rng(seed)
    params = init_rnn_params(I, H, rng)
    x = rng.standard_normal((T, B, I))
    h0 = np.zeros((B, H))
    dh = rng.standard_normal((T, B, H))

    def run():
        h, cache = rnn_forward(x, h0, params)
        if backward:
            rnn_backward(dh, cache)

    return run


def _torch_runner(T: int, H: int, I: int, B: int, backward: bool, seed: int) -> Callable[[], None]:
    import torch

    torch.manual_seed(seed)
    layer = torch.nn.RNN(I, H)
    x = torch.randn(T, B, I, requires_grad=backward)

    def run():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if backward:
                out, _ = layer(x)
                out.sum().backward()
            else:
                with torch.no_grad():
                    layer(x)
        finally:
            torch.set_num_threads(threads)

    return run


def time_rnn(seq_len: int, hidden_size: int, input_size: int, batch: int = 16, *,
             backend: str = "numpy", backward: bool = True, repeats: int = 5,
             seed: int = 0) -> float:
    """CPU seconds for one forward (+ BPTT) pass of a tanh RNN layer: the fastest of ``repeats``.

    CPU time of this process (``time.process_time``), not wall time: when other programs
    compete for the cores, the seconds this process waits for its turn are not part of what
    the computation costs. And the minimum, not the mean: disturbances (cache misses after
    another program ran, page faults) only ever add time. Both backends run
    on one thread (torch's intra-op threads, numpy's BLAS threads), so that the curve shows the
    arithmetic, not the moment a library decides to start a second thread.
    """
    validate.choice("backend", backend, BACKENDS)
    repeats = validate.positive_int("repeats", repeats)
    args = (validate.positive_int("seq_len", seq_len),
            validate.positive_int("hidden_size", hidden_size),
            validate.positive_int("input_size", input_size),
            validate.positive_int("batch", batch), bool(backward), seed)
    runner = (_numpy_runner if backend == "numpy" else _torch_runner)(*args)
    return _fastest(runner, repeats)


def _fastest(run: Callable[[], None], repeats: int) -> float:
    # One BLAS thread, as torch gets one: OpenBLAS switches to several threads above some
    # matrix size, and on a loaded machine that switch alone can bend the curve.
    with threadpool_limits(limits=1):
        return _fastest_on_one_thread(run, repeats)


def _fastest_on_one_thread(run: Callable[[], None], repeats: int) -> float:
    run()  # warm up: first calls allocate and load code
    best = float("inf")
    # As timeit does: Python's garbage collector scans every live object when it runs, and the
    # caches of a long sequence are many objects, which would make time grow faster than T.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
    finally:
        if collecting:
            gc.enable()
    return best


@dataclass
class PowerLawFit:
    """``time = prefactor * size ** exponent`` fitted by least squares on log-log axes."""

    exponent: float
    prefactor: float
    r2: float

    def predict(self, size) -> np.ndarray:
        return self.prefactor * np.asarray(size, dtype=float) ** self.exponent


def fit_power_law(sizes: Sequence[float], times: Sequence[float]) -> PowerLawFit:
    """Fit ``log t = log a + k log n``; return k (the exponent), a, and R^2 on the log scale."""
    n = validate.as_float_array("sizes", np.asarray(sizes, dtype=float))
    t = validate.as_float_array("times", np.asarray(times, dtype=float))
    if n.ndim != 1 or n.size < 2:
        raise ValueError(f"sizes: expected 2 or more values in one dimension, got shape {n.shape}")
    validate.check_shape("times", t, [("n", n.shape[0])])
    if np.any(n <= 0) or np.any(t <= 0):
        raise ValueError("sizes and times: expected positive values (they are fitted in logs)")
    log_n, log_t = np.log(n), np.log(t)
    exponent, log_a = np.polyfit(log_n, log_t, 1)
    residual = log_t - (log_a + exponent * log_n)
    spread = np.sum((log_t - log_t.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / spread if spread > 0 else 1.0
    return PowerLawFit(float(exponent), float(np.exp(log_a)), float(r2))


def scaling_grid(vary: str, values: Sequence[int], *, seq_len: int = 50, hidden_size: int = 64,
                 input_size: int = 16, batch: int = 16, backend: str = "numpy",
                 backward: bool = True, repeats: int = 5, rounds: int = 3,
                 seed: int = 0) -> np.ndarray:
    """Time forward (+ BPTT) while one of T, H, I varies over ``values``; the others fixed.

    Each size's fastest time over ``rounds`` interleaved passes of ``repeats`` runs: the
    ``times`` of :func:`measure_scaling` with ``max_rounds = rounds``.
    """
    return measure_scaling(vary, values, seq_len=seq_len, hidden_size=hidden_size,
                           input_size=input_size, batch=batch, backend=backend,
                           backward=backward, repeats=repeats, rounds=rounds,
                           max_rounds=rounds, seed=seed).times


@dataclass
class ScalingMeasurement:
    """Times of one scaling grid, every round kept, and how noisy they were.

    ``samples`` is ``(rounds, n)``: each round's fastest of ``repeats`` runs per size. The
    estimate is ``times`` (each size's fastest over all rounds) and ``fit`` its power law.
    ``noise`` is the standard error of that exponent, estimated from the rounds themselves: the
    larger of the spread of the exponent over 200 bootstrap resamples of the rounds (drawn with
    replacement, each resample's fastest per size fitted again; seeded, so the same samples give
    the same noise) and the standard error of the rounds' own exponents (their standard
    deviation over the square root of their number). More rounds, or a quieter machine, give a
    smaller noise. ``round_exponents`` are the
    rounds fitted one by one; ``timing_spread`` is the median over sizes of how much slower a
    size's median round was than its fastest (0.05: 5 %).
    """

    vary: str
    sizes: np.ndarray
    samples: np.ndarray

    @property
    def times(self) -> np.ndarray:
        return self.samples.min(axis=0)

    @property
    def fit(self) -> PowerLawFit:
        return fit_power_law(self.sizes, self.times)

    @property
    def exponent(self) -> float:
        return self.fit.exponent

    @property
    def round_exponents(self) -> np.ndarray:
        return np.array([fit_power_law(self.sizes, row).exponent for row in self.samples])

    @property
    def noise(self) -> float:
        rounds = self.samples.shape[0]
        if rounds < 2:
            return float("inf")
        rng = np.random.default_rng(0)
        picks = rng.integers(0, rounds, size=(200, rounds))
        log_n = np.log(self.sizes)
        log_t = np.log(self.samples[picks].min(axis=1))  # (200, n): fastest per resample
        centred = log_n - log_n.mean()
        slopes = (log_t - log_t.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
        spread = float(np.std(self.round_exponents, ddof=1)) / np.sqrt(rounds)
        return max(float(np.std(slopes, ddof=1)), spread)

    @property
    def timing_spread(self) -> float:
        return float(np.median(np.median(self.samples, axis=0) / self.times - 1.0))

    def tolerance(self, floor: float, *, sigmas: float = 3.0) -> float:
        """``max(floor, sigmas * noise)``: what a claim about the exponent may allow for."""
        return max(float(floor), sigmas * self.noise)

    def summary(self, floor: float) -> str:
        k = self.round_exponents
        return (f"exponent in {self.vary} {self.exponent:.2f} (R² {self.fit.r2:.3f}) "
                f"± {self.noise:.3f} (noise: standard error from {len(k)} rounds, which alone "
                f"gave {k.min():.2f} to {k.max():.2f}; a median round "
                f"{100 * self.timing_spread:.0f}% slower than the fastest); "
                f"allowed ±{self.tolerance(floor):.2f}")


def measure_scaling(vary: str, values: Sequence[int], *, seq_len: int = 50,
                    hidden_size: int = 64, input_size: int = 16, batch: int = 16,
                    backend: str = "numpy", backward: bool = True, repeats: int = 3,
                    rounds: int = 5, max_rounds: int | None = None, floor: float = 0.15,
                    seed: int = 0) -> ScalingMeasurement:
    """Time forward (+ BPTT) over a grid, in interleaved rounds, until the exponent is steady.

    A round times every size (the fastest of ``repeats`` runs each), visiting the grid in
    alternating directions so that load from other programs, rising or falling, hits both ends
    alike. After ``rounds`` rounds, more are added (up to ``max_rounds``, default twice
    ``rounds``) while three times the exponent's noise exceeds ``floor``: on a busy machine the
    measurement takes longer rather than reporting a noisy number.
    """
    validate.choice("vary", vary, ("T", "H", "I"))
    validate.choice("backend", backend, BACKENDS)
    rounds = validate.positive_int("rounds", rounds)
    max_rounds = rounds * 2 if max_rounds is None else validate.positive_int("max_rounds",
                                                                             max_rounds)
    if max_rounds < rounds:
        raise ValueError(f"max_rounds: expected at least rounds = {rounds}, got {max_rounds}")
    floor = validate.positive_float("floor", floor)
    sizes = [validate.positive_int("values", v) for v in values]
    if len(sizes) < 2:
        raise ValueError(f"values: expected 2 or more sizes, got {len(sizes)}")
    make = _numpy_runner if backend == "numpy" else _torch_runner
    runners = []
    for value in sizes:
        T = value if vary == "T" else seq_len
        H = value if vary == "H" else hidden_size
        I = value if vary == "I" else input_size
        runners.append(make(T, H, I, batch, backward, seed))
    samples = []
    while True:
        row = np.empty(len(sizes))
        order = range(len(sizes)) if len(samples) % 2 == 0 else range(len(sizes) - 1, -1, -1)
        for k in order:
            row[k] = _fastest(runners[k], repeats)
        samples.append(row)
        done = ScalingMeasurement(vary, np.asarray(sizes, dtype=float), np.array(samples))
        if len(samples) >= max_rounds or (len(samples) >= rounds and done.noise <= floor / 3):
            return done
