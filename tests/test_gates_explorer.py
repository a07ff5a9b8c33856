"""Lesson 3's gates explorer, driven as a learner would: set a control, read the figure."""

import re

import numpy as np
import pytest
import torch

from rnncourse import variants
from rnncourse.explorers.gates import SHIFT_RANGE, GatesExplorer
from rnncourse.models import SequenceRegressor
from rnncourse.np_lstm import init_lstm_params

torch.set_num_threads(1)

F_HEAT, I_HEAT, O_HEAT, C_HEAT, H_HEAT = range(4, 9)


@pytest.fixture(scope="module")
def setup():
    params = init_lstm_params(2, 6, 0)
    rng = np.random.default_rng(1)
    head = {"W_hy": rng.normal(size=(1, 6)), "b_y": np.zeros(1)}
    x, y = variants.marked_value_batch(5, 25, 2, p=0.15)
    return params, head, x, y


@pytest.fixture
def explorer(setup):
    params, head, x, y = setup
    return GatesExplorer(params, head, x, y)


def shown_mean_forget(ex):
    match = re.search(r"mean forget gate <b>([0-9.]+)</b>", ex.label.value)
    assert match, ex.label.value
    return float(match.group(1))


def heat(ex, index):
    return np.asarray(ex.figure.data[index].z, dtype=float)


def test_css_classes_for_browser_tests(explorer):
    assert "rnncourse-gates-example" in explorer.example._dom_classes
    assert "rnncourse-gates-forget-bias" in explorer.forget_bias._dom_classes
    assert "rnncourse-gates-figure" in explorer.figure._dom_classes
    assert "rnncourse-gates-label" in explorer.label._dom_classes
    assert "rnncourse-gates-explorer" in explorer.widget._dom_classes


def test_heatmaps_show_the_trace_one_row_per_unit(explorer):
    r = explorer.trace
    assert heat(explorer, F_HEAT).shape == (6, 25)
    np.testing.assert_allclose(heat(explorer, F_HEAT), r.f[:, 0, :].T)
    np.testing.assert_allclose(heat(explorer, I_HEAT), r.i[:, 0, :].T)
    np.testing.assert_allclose(heat(explorer, O_HEAT), r.o[:, 0, :].T)
    np.testing.assert_allclose(heat(explorer, C_HEAT), r.c[:, 0, :].T)
    np.testing.assert_allclose(heat(explorer, H_HEAT), r.h[:, 0, :].T)
    np.testing.assert_allclose(explorer.figure.data[3].y, r.prediction[:, 0, 0])


def test_changing_the_example_changes_the_heatmaps_and_inputs(explorer, setup):
    _, _, x, y = setup
    before = {k: heat(explorer, k) for k in (F_HEAT, C_HEAT, H_HEAT)}
    explorer.example.value = 3
    for k, z in before.items():
        assert not np.allclose(heat(explorer, k), z)
    np.testing.assert_allclose(explorer.figure.data[0].y, x[:, 3, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(explorer.figure.data[2].y, y[:, 3, 0].numpy(), rtol=1e-6)
    marked = np.flatnonzero(x[:, 3, 1].numpy() > 0)
    np.testing.assert_array_equal(explorer.figure.data[1].x, marked)
    assert f"({marked.size} marked steps)" in explorer.example.options[3][0]


def test_raising_the_forget_bias_raises_the_mean_forget_gate_shown(explorer):
    shown, drawn = [], []
    for value in (-4.0, -1.0, 0.0, 1.0, 4.0):
        explorer.forget_bias.value = value
        shown.append(shown_mean_forget(explorer))
        drawn.append(heat(explorer, F_HEAT).mean())
        assert f"{value:+.1f}" in explorer.label.value
    assert shown == sorted(shown) and len(set(shown)) == len(shown)
    assert drawn == sorted(drawn)
    assert shown[-1] > 0.9 and shown[0] < 0.1


def test_a_large_shift_grows_the_cell_and_rescales_its_colours(explorer):
    explorer.forget_bias.value = 0.0
    small = np.abs(heat(explorer, C_HEAT)).max()
    explorer.forget_bias.value = SHIFT_RANGE[1]
    big = np.abs(heat(explorer, C_HEAT)).max()
    assert big > small
    assert explorer.figure.layout.coloraxis2.cmax == pytest.approx(max(1.0, big))
    assert explorer.figure.layout.coloraxis2.cmin == -explorer.figure.layout.coloraxis2.cmax


@pytest.mark.parametrize("value", [SHIFT_RANGE[0], SHIFT_RANGE[1], 1e6, -1e6])
def test_extreme_values_draw_without_a_traceback(explorer, value):
    explorer.forget_bias.value = value  # outside the range the slider clamps
    assert SHIFT_RANGE[0] <= explorer.forget_bias.value <= SHIFT_RANGE[1]
    for k in range(F_HEAT, H_HEAT + 1):
        assert np.all(np.isfinite(heat(explorer, k)))
    assert "MSE on this example" in explorer.label.value
    for k in range(len(explorer.example.options)):
        explorer.example.value = k
        assert np.all(np.isfinite(explorer.figure.data[3].y))


def test_without_targets_the_target_line_is_hidden(setup):
    params, head, x, _ = setup
    ex = GatesExplorer(params, head, x[:, :2], forget_bias=1.0, example=1)
    assert ex.figure.data[2].visible is False
    assert "MSE" not in ex.label.value and ex.trace.forget_shift == 1.0


def test_benchmark_moves_are_changes_of_the_explorers_controls(explorer):
    moves = explorer.benchmark_moves()
    assert len(moves) >= 8
    controls = {id(explorer.example), id(explorer.forget_bias)}
    assert {id(c) for c, _ in moves} == controls
    for control, value in moves:
        assert control.value != value
        control.value = value


def test_from_model_matches_the_torch_model():
    model = SequenceRegressor("lstm", 2, 4, 1, output="all", seed=0)
    x, y = variants.marked_value_batch(3, 12, 0)
    ex = GatesExplorer.from_model(model, x, y, example=2)
    with torch.no_grad():
        want = model(x)[:, 2, 0].double().numpy()
    np.testing.assert_allclose(ex.figure.data[3].y, want, atol=1e-6)


def test_demo_is_ready_and_reuses_its_trained_model():
    from rnncourse.variants import _cached_marked_value

    ex = GatesExplorer.demo()
    assert ex.x.shape == (40, 8, 2) and ex.hidden_size == 8
    assert "MSE on this example" in ex.label.value
    hits = _cached_marked_value.cache_info().hits
    GatesExplorer.demo()
    assert _cached_marked_value.cache_info().hits == hits + 1  # trained once, not again


@pytest.mark.parametrize("change,error,words", [
    (dict(params="weights"), TypeError, ["params", "dict", "str"]),
    (dict(x=np.zeros((10, 2, 3))), ValueError, ["x", "I", "3"]),
    (dict(x=np.zeros((10, 2))), ValueError, ["x"]),
    (dict(y=np.zeros((10, 5, 1))), ValueError, ["y", "25", "10"]),
    (dict(example=5), ValueError, ["example", "[0, 4]", "5"]),
    (dict(example=1.0), TypeError, ["example", "int", "float"]),
    (dict(forget_bias=9.0), ValueError, ["forget_bias", "[-6.0, 6.0]", "9.0"]),
    (dict(forget_bias="1"), TypeError, ["forget_bias", "number", "str"]),
    (dict(head={"W_hy": np.zeros((1, 3)), "b_y": np.zeros(1)}), ValueError, ["W_hy", "H"]),
])
def test_bad_arguments_name_expected_and_given(setup, change, error, words):
    params, head, x, y = setup
    kwargs = dict(params=params, head=head, x=x, y=y)
    kwargs.update(change)
    extra = {k: kwargs.pop(k) for k in ("example", "forget_bias") if k in kwargs}
    with pytest.raises(error) as info:
        GatesExplorer(kwargs["params"], kwargs["head"], kwargs["x"], kwargs["y"], **extra)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_params_without_bias_are_refused(setup):
    _, head, x, _ = setup
    with pytest.raises(ValueError, match="biases"):
        GatesExplorer(init_lstm_params(2, 6, 0, bias=False), head, x)
