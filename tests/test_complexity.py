"""Lesson 2's cost model: FLOP counts from the equations, power-law fits, the explorer."""

import numpy as np
import pytest

from rnncourse.complexity import fit_power_law, rnn_flops, scaling_grid, time_rnn
from rnncourse.explorers.complexity import ComplexityExplorer


def test_flops_follow_the_matrix_products():
    # One step: (B,H)@(H,H) and (B,I)@(I,H), a multiply and an add per weight per example.
    assert rnn_flops(1, 4, 3, batch=1) == 2 * (16 + 12)
    assert rnn_flops(10, 64, 16, batch=8) == 10 * rnn_flops(1, 64, 16, batch=8)
    assert rnn_flops(5, 32, 8, batch=2, backward=True) == 3 * rnn_flops(5, 32, 8, batch=2)


def test_power_law_fit_recovers_a_known_exponent():
    sizes = np.array([10, 20, 40, 80])
    fit = fit_power_law(sizes, 3e-6 * sizes**1.7)
    assert fit.exponent == pytest.approx(1.7)
    assert fit.prefactor == pytest.approx(3e-6)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.predict(160) == pytest.approx(3e-6 * 160**1.7)


def test_power_law_fit_reports_a_poor_fit():
    fit = fit_power_law([1, 2, 3, 4, 5, 6], [1, 5, 1, 5, 1, 5])
    assert fit.r2 < 0.3


def test_power_law_fit_refuses_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="2 or more"):
        fit_power_law([1], [1.0])
    with pytest.raises(ValueError, match=r"times: expected"):
        fit_power_law([1, 2, 3], [1.0, 2.0])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_timing_returns_a_positive_duration(backend):
    assert 0 < time_rnn(5, 8, 3, batch=2, backend=backend, repeats=2) < 5


def test_scaling_grid_measures_every_size_and_checks_its_arguments():
    times = scaling_grid("T", [5, 10], hidden_size=8, input_size=2, batch=2, repeats=1, rounds=1)
    assert times.shape == (2,) and np.all(times > 0)
    with pytest.raises(ValueError, match=r"vary: expected one of \['T', 'H', 'I'\], got 'X'"):
        scaling_grid("X", [5])
    with pytest.raises(ValueError, match="backend"):
        time_rnn(5, 8, 3, backend="jax")


def test_complexity_explorer_updates_flops_and_time_when_sliders_move():
    explorer = ComplexityExplorer([1e6, 1e7], [1e-3, 1e-2], batch=2, repeats=1,
                                  seq_len=20, hidden_size=16, input_size=4)
    assert explorer.flops == rnn_flops(20, 16, 4, 2, backward=True)
    explorer.hidden_size.value = 64
    assert explorer.flops == rnn_flops(20, 64, 4, 2, backward=True)
    explorer.seq_len.value = 40
    assert explorer.flops == rnn_flops(40, 64, 4, 2, backward=True)
    assert list(explorer.figure.data[1].x) == [explorer.flops]
    assert explorer.figure.data[1].y[0] == explorer.seconds > 0
    assert "MFLOP" in explorer.label.value and "measured" in explorer.label.value


def test_complexity_explorer_refuses_mismatched_grids():
    with pytest.raises(ValueError, match="same shape"):
        ComplexityExplorer([1.0, 2.0], [1.0])


def test_measure_scaling_keeps_every_round_and_reports_its_noise():
    from rnncourse.complexity import measure_scaling

    m = measure_scaling("T", [5, 10, 20], hidden_size=8, input_size=2, batch=2, repeats=1,
                        rounds=2, max_rounds=3, floor=0.15)
    assert m.samples.shape[1] == 3 and 2 <= m.samples.shape[0] <= 3
    assert np.array_equal(m.times, m.samples.min(axis=0)) and np.isfinite(m.noise)
    assert m.tolerance(0.15) >= 0.15 and "allowed ±" in m.summary(0.15)
    with pytest.raises(ValueError, match="max_rounds: expected at least rounds = 3, got 2"):
        measure_scaling("T", [5, 10], rounds=3, max_rounds=2)
    with pytest.raises(ValueError, match="values: expected 2 or more sizes"):
        measure_scaling("T", [5])


def test_scaling_noise_grows_with_the_scatter_of_the_rounds_and_widens_the_tolerance():
    from rnncourse.complexity import ScalingMeasurement

    rng = np.random.default_rng(0)
    sizes = np.array([25.0, 50, 100, 200, 400])
    quiet = ScalingMeasurement("T", sizes, 1e-3 * sizes * np.exp(rng.normal(0, 0.01, (5, 5))))
    busy = ScalingMeasurement("T", sizes, 1e-3 * sizes * np.exp(rng.normal(0, 0.5, (5, 5))))
    assert quiet.noise < 0.02 < 0.05 < busy.noise
    assert quiet.tolerance(0.15) == 0.15 and busy.tolerance(0.15) == 3 * busy.noise
    assert quiet.exponent == pytest.approx(1.0, abs=0.05)
