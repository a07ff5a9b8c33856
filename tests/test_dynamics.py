"""Lesson 1's numerics and explorer: impulse responses follow the singular values of W_hh."""

import numpy as np
import pytest

from rnncourse.dynamics import (
    fitted_decay_rate,
    hidden_states,
    impulse_response,
    random_orthogonal,
    scaled_rnn_params,
)
from rnncourse.explorers.hidden_state import HiddenStateExplorer


def test_random_orthogonal_is_orthogonal():
    q = random_orthogonal(16, np.random.default_rng(0))
    assert np.allclose(q @ q.T, np.eye(16), atol=1e-12)


def test_scaled_params_have_every_singular_value_equal_to_the_scale():
    params = scaled_rnn_params(3, 10, w_scale=0.7, seed=1)
    assert np.allclose(np.linalg.svd(params["W_hh"], compute_uv=False), 0.7)
    assert params["W_xh"].shape == (10, 3) and params["b_h"].shape == (10,)


def test_hidden_states_match_the_recurrence_written_out():
    params = scaled_rnn_params(2, 5, w_scale=0.9, seed=2)
    x = np.random.default_rng(3).standard_normal((7, 4, 2))
    h = np.zeros((4, 5))
    for t in range(7):
        h = np.tanh(x[t] @ params["W_xh"].T + h @ params["W_hh"].T + params["b_h"])
    assert np.allclose(hidden_states(x, params)[-1], h, atol=1e-14)


def test_linear_regime_response_decays_exactly_at_rho():
    # With no input drive the state stays at 0, tanh'(0) = 1, and the response is rho^t exactly.
    params = scaled_rnn_params(1, 8, w_scale=0.6, input_scale=0.0, seed=0)
    params["W_xh"] = np.ones((8, 1)) / np.sqrt(8)  # let the kick in, keep the state near 0
    x = np.zeros((30, 1, 1))
    rate = fitted_decay_rate(impulse_response(x, params))
    assert rate == pytest.approx(0.6, rel=1e-4)


@pytest.mark.parametrize("rho", [0.3, 0.8, 1.0])
def test_tanh_response_never_decays_slower_than_rho(rho):
    params = scaled_rnn_params(1, 16, w_scale=rho, input_scale=1.0, seed=4)
    x = np.random.default_rng(5).standard_normal((60, 1, 1))
    assert fitted_decay_rate(impulse_response(x, params)) <= rho * 1.001


def test_impulse_response_matches_finite_differences():
    params = scaled_rnn_params(2, 6, w_scale=0.8, seed=7)
    x = np.random.default_rng(8).standard_normal((12, 3, 2))
    eps = 1e-6
    kicked = x.copy()
    kicked[0] += eps / np.sqrt(2)
    moved = (hidden_states(kicked, params) - hidden_states(x, params)) / eps
    numeric = np.linalg.norm(moved, axis=2).mean(axis=1)
    np.testing.assert_allclose(impulse_response(x, params)[:6], numeric[:6], rtol=1e-4)


def test_fitted_rate_ignores_steps_below_resolution():
    response = 0.5 ** np.arange(40.0)
    response[30:] = 0.0
    assert fitted_decay_rate(response) == pytest.approx(0.5)
    assert np.isnan(fitted_decay_rate(np.zeros(10)))


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match=r"x: expected 3 dimensions"):
        hidden_states(np.zeros((5, 2)), scaled_rnn_params(2, 3, w_scale=1.0))
    with pytest.raises(ValueError, match="w_scale"):
        scaled_rnn_params(2, 3, w_scale=-1.0)
    with pytest.raises(TypeError, match="hidden_size"):
        scaled_rnn_params(2, 3.5, w_scale=1.0)


@pytest.fixture
def explorer():
    x = np.sin(np.linspace(0, 12, 52))[:, None]
    return HiddenStateExplorer(x, hidden_size=16, w_scale=0.9, seed=0)


def test_explorer_redraws_heatmap_and_response_when_rho_moves(explorer):
    heat_before = np.array(explorer.heatmap.data[0].z)
    line_before = np.array(explorer.response.data[0].y, dtype=float)
    explorer.w_scale.value = 0.3
    assert not np.allclose(np.array(explorer.heatmap.data[0].z), heat_before)
    line_after = np.array(explorer.response.data[0].y, dtype=float)
    assert np.nanmax(line_after[10:] / line_before[10:]) < 1e-3  # much faster forgetting
    assert explorer.rate <= 0.3 * 1.001
    assert "0.30" in explorer.label.value


def test_explorer_saturation_lowers_the_rate(explorer):
    explorer.w_scale.value = 1.0
    calm = explorer.rate
    explorer.input_scale.value = 5.0
    assert explorer.rate < calm


def test_explorer_extremes_report_instead_of_failing(explorer):
    explorer.w_scale.value = 0.0  # W_hh = 0: the kick is gone after one step
    assert "no per-step factor to fit" in explorer.label.value
    assert "moves h_1 only" in explorer.label.value and "nan" not in explorer.label.value
    note = explorer.response.layout.annotations[0]
    assert note.visible and "moves h_1 only" in note.text  # the empty plot says why
    assert np.isnan(np.array(explorer.response.data[0].y, dtype=float)[5:]).all()
    explorer.w_scale.value = 2.0
    explorer.input_scale.value = 0.0
    assert np.isfinite(explorer.last_response).all()
    assert "input never reaches the hidden state" in explorer.label.value
    assert "nan" not in explorer.label.value
    explorer.input_scale.value = 1.0  # back to a fit: the note goes away
    assert "fitted per-step factor" in explorer.label.value
    assert not explorer.response.layout.annotations[0].visible


def test_explorer_counts_steps_from_one_as_the_lesson_does(explorer):
    assert explorer.response.data[0].x[0] == 1 and explorer.response.data[0].x[-1] == 52
    assert "x_1" in explorer.response.layout.title.text
    assert explorer.response.layout.yaxis.exponentformat == "power"


def test_explorer_refuses_a_batch_of_several_sequences():
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, I\)"):
        HiddenStateExplorer(np.zeros((10, 3, 1)))
