"""Lesson 7b's LRU explorer: callbacks driven by setting slider values."""

import time

import numpy as np
import pytest

from rnncourse.explorers.lru import LRUExplorer, gradient_norms


def test_gradient_norms_fall_by_exactly_lambda_per_step_for_one_mode():
    lam = np.array([0.9 * np.exp(0.7j)])
    norms = gradient_norms(lam, 50)
    np.testing.assert_allclose(norms[:-1] / norms[1:], 0.9, rtol=1e-12)


def test_moving_r_max_moves_the_eigenvalues_and_the_rate():
    e = LRUExplorer(r_min=0.5, r_max=0.9)
    assert np.abs(e.eigenvalues).max() <= 0.9 and np.abs(e.eigenvalues).min() >= 0.5
    before = e.norms.copy()
    e.r_max.value = 0.99
    assert np.abs(e.eigenvalues).max() > 0.9
    assert e.norms[0] > before[0]  # slower modes: more gradient reaches t = 1
    assert "r_max = 0.990" in e.label.value
    norms_fig = np.asarray(e.figure.data[4].y)
    np.testing.assert_allclose(norms_fig, np.maximum(e.norms, 1e-30))


def test_the_phase_changes_the_angles_but_no_norm():
    e = LRUExplorer(r_min=0.6, r_max=0.95, max_phase=0.5)
    norms, angles = e.norms.copy(), np.angle(e.eigenvalues)
    assert angles.max() <= 0.5 + 1e-12
    e.phase.value = 3.0
    assert np.angle(e.eigenvalues).std() > angles.std()
    np.testing.assert_allclose(e.norms, norms, rtol=1e-12)


def test_r_min_above_r_max_is_explained_not_drawn():
    e = LRUExplorer(r_min=0.5, r_max=0.9)
    drawn = e.norms.copy()
    e.r_min.value = 0.95
    assert "r_min must be below r_max" in e.message.value
    np.testing.assert_array_equal(e.norms, drawn)
    e.r_max.value = 0.99
    assert e.message.value == ""


def test_update_is_fast():
    # CPU time of this process: on a loaded machine waiting for a core is not the update's cost.
    e = LRUExplorer()
    samples = []
    for control, value in e.benchmark_moves():
        start = time.process_time()
        control.value = value
        samples.append(time.process_time() - start)
    assert np.median(samples) < 0.03, f"median update {1e3 * np.median(samples):.1f} ms CPU"


def test_bad_starting_values():
    with pytest.raises(ValueError, match="r_max"):
        LRUExplorer(r_max=1.5)
    with pytest.raises(TypeError, match="max_phase"):
        LRUExplorer(max_phase="pi")
