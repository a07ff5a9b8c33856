"""Lesson 4's gradient-flow explorer, driven as a learner would: set a control, read the figure."""

import re

import numpy as np
import pytest

from rnncourse.explorers.gradient_flow import (
    FORGET_RANGE,
    INPUT_RANGE,
    LR_RANGE,
    SIGMA_RANGE,
    T_RANGE,
    THRESHOLD_RANGE,
    CliffExplorer,
    GradientFlowExplorer,
)


@pytest.fixture(scope="module")
def explorer():
    return GradientFlowExplorer(hidden_size=64)


@pytest.fixture(autouse=True)
def reset(explorer):
    """Every test starts from the defaults: orthogonal tanh RNN, sigma 1, T 200, no input."""
    defaults = dict(cell="rnn_tanh", sigma=1.0, scale="sigma_max", kind="orthogonal",
                    input_scale=0.0, seq_len=200, forget_bias=0.0, seed=0, dtype="float32")
    for name, value in defaults.items():
        getattr(explorer, name).value = value
    yield


def shown_rate(ex):
    match = re.search(r"fitted rate <b>([0-9.]+|n/a)</b>", ex.rate_label.value)
    assert match, ex.rate_label.value
    return float("nan") if match.group(1) == "n/a" else float(match.group(1))


def plotted(ex):
    return np.asarray(ex.figure.data[0].y, dtype=float)


def test_css_classes_for_browser_tests(explorer):
    for name in ["cell", "sigma", "kind", "scale", "input", "T", "forget-bias", "seed", "dtype"]:
        assert f"rnncourse-gradflow-{name}" in explorer.controls[name]._dom_classes
    assert "rnncourse-gradflow-rate" in explorer.rate_label._dom_classes
    assert "rnncourse-gradflow-explorer" in explorer.widget._dom_classes


def test_sigma_steps_land_exactly_on_one_over_gamma():
    low, high, step = SIGMA_RANGE
    for edge in (1.0, 4.0):
        k = (edge - low) / step
        assert low < edge < high and abs(k - round(k)) < 1e-9


@pytest.mark.parametrize("sigma", [0.5, 0.9, 1.2])
def test_rate_label_shows_sigma_for_orthogonal_tanh_without_input(explorer, sigma):
    explorer.sigma.value = sigma
    assert shown_rate(explorer) == pytest.approx(sigma, rel=0.01)
    assert f"{sigma:.2f}" in explorer.rate_label.value


def test_sigma_above_one_flips_decay_into_growth(explorer):
    explorer.sigma.value = 0.9
    y = plotted(explorer)
    assert y[0] < 1e-6 * y[-1]  # the gradient at t = 0 is far smaller than at t = T
    explorer.sigma.value = 1.1
    y = plotted(explorer)
    assert y[0] > 1e6 * y[-1]
    assert "exploding is possible" in explorer.message.value


def test_sigmoid_divides_the_rate_by_four(explorer):
    explorer.sigma.value = 2.0
    tanh_rate = shown_rate(explorer)
    explorer.cell.value = "rnn_sigmoid"
    assert shown_rate(explorer) == pytest.approx(tanh_rate / 4, rel=0.01)
    assert "vanishing is guaranteed" in explorer.message.value
    explorer.sigma.value = 4.0
    assert shown_rate(explorer) == pytest.approx(1.0, rel=0.01)


def test_bound_overlays_the_curve_and_hides_for_gated_cells(explorer):
    explorer.input_scale.value = 1.0
    explorer.kind.value = "gaussian"
    bound = explorer.figure.data[1]
    assert bound.visible
    t, b = np.asarray(bound.x, dtype=int), np.asarray(bound.y, dtype=float)
    y = plotted(explorer)[t]
    assert t.size > 100 and np.all(y[np.isfinite(y)] <= b[np.isfinite(y)] * (1 + 1e-5))
    explorer.cell.value = "lstm"
    assert explorer.figure.data[1].visible is False
    assert not explorer.forget_bias.disabled


def test_lstm_with_forget_bias_five_keeps_more(explorer):
    explorer.dtype.value = "float64"  # so that the RNN's tiny gradient is a number, not 0
    explorer.input_scale.value = 1.0
    rnn_at_0 = plotted(explorer)[0]
    explorer.cell.value = "lstm"
    explorer.forget_bias.value = 0.0
    lstm0_at_0 = plotted(explorer)[0]
    explorer.forget_bias.value = 5.0
    lstm5_at_0 = plotted(explorer)[0]
    assert lstm5_at_0 > 1e10 * lstm0_at_0
    assert lstm5_at_0 > 1e10 * rnn_at_0
    assert shown_rate(explorer) > 0.95


def test_singular_values_follow_sigma_and_kind(explorer):
    explorer.sigma.value = 1.5
    assert np.allclose(explorer.figure.data[4].y, 1.5)
    explorer.kind.value = "gaussian"
    sv = np.asarray(explorer.figure.data[4].y)
    assert sv.max() == pytest.approx(1.5) and sv.min() < 0.5
    explorer.scale.value = "spectral_radius"
    assert "spectral radius 1.50" in explorer.rate_label.value


def test_extreme_settings_show_overflow_not_a_traceback(explorer):
    explorer.sigma.value = 3.0
    explorer.seq_len.value = 400
    assert "Overflow" in explorer.message.value
    over = explorer.figure.data[2]
    assert len(over.x) > 0 and 0 in list(over.x)
    assert explorer.figure.layout.yaxis.range[1] < 40  # clipped at float32's largest number
    explorer.dtype.value = "float64"  # 3^400 = 1e190 fits in float64
    assert "Overflow" not in explorer.message.value
    explorer.sigma.value = 0.1  # 0.1^400 = 1e-400 is below float64's range
    assert "Underflow" in explorer.message.value
    assert len(explorer.figure.data[3].x) > 0


def test_relu_without_input_says_why_nothing_flows(explorer):
    explorer.cell.value = "rnn_relu"
    assert "relu" in explorer.message.value and "n/a" in explorer.rate_label.value
    explorer.input_scale.value = 1.0
    assert np.isfinite(shown_rate(explorer))


def test_relu_at_the_largest_input_scale_reports_one_consistent_story(explorer):
    explorer.cell.value = "rnn_relu"
    explorer.sigma.value = 3.0
    explorer.input_scale.value = 3.0
    message = explorer.message.value
    assert "overflowed" in message and "Raise the input scale" not in message
    assert len(explorer.figure.data[3].x) == 0  # no "underflow: 0" markers
    assert len(explorer.figure.data[2].x) > 0   # the overflow markers instead


def test_no_slider_value_in_range_raises(explorer):
    corners = {
        "sigma": [SIGMA_RANGE[0], SIGMA_RANGE[1]],
        "input_scale": [INPUT_RANGE[0], INPUT_RANGE[1]],
        "forget_bias": [FORGET_RANGE[0], FORGET_RANGE[1]],
    }
    explorer.seq_len.value = T_RANGE[1]
    for cell in ["rnn_tanh", "rnn_relu", "rnn_sigmoid", "lstm", "gru"]:
        explorer.cell.value = cell
        for kind in ["orthogonal", "gaussian"]:
            explorer.kind.value = kind
            for dtype in ["float32", "float64"]:
                explorer.dtype.value = dtype
                for name, values in corners.items():
                    for value in values:
                        getattr(explorer, name).value = value  # would raise here
                        lo, hi = explorer.figure.layout.yaxis.range
                        assert np.isfinite(lo) and np.isfinite(hi) and lo < hi
                    getattr(explorer, name).value = values[0]


def test_constructor_rejects_out_of_range_values():
    with pytest.raises(ValueError, match=r"sigma: expected a number in \[0.05, 5.0\], got 9"):
        GradientFlowExplorer(sigma=9)
    with pytest.raises(ValueError, match="cell: expected one of"):
        GradientFlowExplorer(cell="transformer")


def test_cliff_explorer_paths_follow_the_sliders():
    ex = CliffExplorer()
    assert "rnncourse-cliff-lr" in ex.lr._dom_classes
    assert "rnncourse-cliff-threshold" in ex.threshold._dom_classes
    assert "thrown off the map" in ex.label.value.split("<br>")[0]  # the default hits the wall
    assert "thrown off the map" not in ex.label.value.split("<br>")[1]
    jumps = np.hypot(np.diff(ex.figure.data[2].x), np.diff(ex.figure.data[2].y))
    assert jumps.max() <= ex.lr.value * ex.threshold.value * (1 + 1e-9)
    before = np.array(ex.figure.data[2].x)
    ex.threshold.value = 3.0
    assert not np.array_equal(before, ex.figure.data[2].x)
    assert f"clipped at {3.0:g}" in ex.label.value
    for lr in (LR_RANGE[0], LR_RANGE[1]):
        for threshold in (THRESHOLD_RANGE[0], THRESHOLD_RANGE[1]):
            ex.lr.value, ex.threshold.value = lr, threshold  # never raises
