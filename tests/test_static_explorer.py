"""Static explorers (rnncourse.explorers.static): a precomputed frame is the live figure."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from rnncourse.explorers import static
from rnncourse.explorers.gradient_flow import GradientFlowExplorer
from rnncourse.explorers.hidden_state import HiddenStateExplorer

SMALL = dict(seq_len=30, hidden_size=16, seed=3)


def _arrays(trace: dict, key: str) -> np.ndarray:
    value = trace.get(key)
    return np.asarray([] if value is None else value, dtype=float)


@pytest.fixture(scope="module")
def gradflow_static():
    explorer = GradientFlowExplorer(**SMALL)
    before = explorer.result.norms.copy()
    exported = static.export(explorer, "gradflow",
                             [("sigma", [0.5, 1.5]), ("cell", ["rnn_tanh", "lstm"])],
                             [explorer.figure], [explorer.rate_label, explorer.message])
    return explorer, before, exported


def test_a_static_frame_equals_the_live_explorer_at_the_same_setting(gradflow_static):
    _, _, exported = gradflow_static
    live = GradientFlowExplorer(cell="lstm", sigma=1.5, **SMALL)  # a fresh explorer, set there
    drawn = exported.traces(sigma=1.5, cell="lstm")
    assert len(drawn) == len(live.figure.data)
    for mine, theirs in zip(drawn, live.figure.data):
        assert mine.get("visible") == theirs.visible, theirs.name
        if theirs.visible is False:  # a hidden trace may keep an earlier setting's points
            continue
        for key in ("x", "y"):
            want = _arrays(theirs.to_plotly_json(), key)
            got = _arrays(mine, key)
            assert got.shape == want.shape, (theirs.name, key)
            np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    texts = exported.texts[exported.key(sigma=1.5, cell="lstm")]
    assert texts == [live.rate_label.value, live.message.value]
    # and the frames differ where the live figure does: sigma moves the curve
    other = exported.traces(sigma=0.5, cell="lstm")
    assert not np.allclose(_arrays(other[0], "y"), _arrays(drawn[0], "y"), equal_nan=True)


def test_the_current_setting_is_a_grid_point_and_the_controls_are_put_back(gradflow_static):
    explorer, before, exported = gradflow_static
    # the explorer started at sigma = 1.0 (not in the grid given): the grid gained it
    assert exported.controls[0].values == [0.5, 1.0, 1.5]
    assert exported.default == exported.key(sigma=1.0, cell="rnn_tanh")
    assert explorer.sigma.value == 1.0 and explorer.cell.value == "rnn_tanh"
    np.testing.assert_array_equal(explorer.result.norms, before)
    base = exported.figures[0]
    np.testing.assert_allclose(np.asarray(base.data[0].y, dtype=float),
                               np.where(np.isfinite(before), before, np.nan), rtol=1e-6,
                               equal_nan=True)


def test_the_figure_has_a_slider_for_numbers_and_buttons_for_choices(gradflow_static):
    _, _, exported = gradflow_static
    fig = exported.figures[0]
    assert [s.name for s in fig.layout.sliders] == ["sigma"]
    assert [len(s.steps) for s in fig.layout.sliders] == [3]
    assert [m.name for m in fig.layout.updatemenus] == ["cell"]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["RNN, tanh", "LSTM"]
    assert len(fig.frames) == 6


def test_the_html_carries_every_frame_and_no_plotly_js(gradflow_static):
    _, _, exported = gradflow_static
    page = exported.to_html()
    assert "Plotly.newPlot" in page and "<script src" not in page
    assert len(page) < 400_000  # plotly.js alone is over 3 MB: it is not in there
    blob = re.search(r"<script type='application/json' id='[^']+'>(.*?)</script>", page, re.S)
    spec = json.loads(blob.group(1).replace("<\\/", "</"))
    assert sorted(spec["frames"]) == sorted(f"{i}_{j}" for i in range(3) for j in range(2))
    assert spec["default"] == [1, 0]


def test_an_explorer_with_two_figures_exports_both():
    explorer = HiddenStateExplorer(np.sin(np.arange(40.0))[:, None], hidden_size=6, seed=1)
    exported = static.export(explorer, "hidden", [("w_scale", [0.5, 0.9, 1.2])],
                             [explorer.heatmap, explorer.response], [explorer.label])
    assert len(exported.figures) == 2
    live = HiddenStateExplorer(np.sin(np.arange(40.0))[:, None], hidden_size=6, seed=1,
                               w_scale=1.2)
    heat = exported.traces(0, w_scale=1.2)[0]
    np.testing.assert_allclose(np.asarray(heat["z"], dtype=float),
                               np.asarray(live.heatmap.data[0].z, dtype=float), rtol=1e-6)
    assert exported.texts[exported.key(w_scale=1.2)] == [live.label.value]


def test_site_mode_displays_the_static_version(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    explorer = GradientFlowExplorer(**SMALL)
    monkeypatch.setattr(explorer, "static", lambda: static.export(
        explorer, "gradflow", [("sigma", [1.0, 2.0])], [explorer.figure]))
    monkeypatch.delenv(static.SITE_ENV, raising=False)
    static.display_explorer(explorer)
    monkeypatch.setenv(static.SITE_ENV, "1")
    static.display_explorer(explorer)
    assert shown[0] is explorer.widget
    assert "rnncourse-static-explorer" in shown[1].data


def test_bad_grids_name_the_problem():
    explorer = GradientFlowExplorer(**SMALL)
    with pytest.raises(ValueError, match="no control 'nope'"):
        static.export(explorer, "x", [("nope", [1.0])], [explorer.figure])
    with pytest.raises(ValueError, match="at least one"):
        static.export(explorer, "x", [], [explorer.figure])
    with pytest.raises(TypeError, match="grid"):
        static.export(explorer, "x", ["sigma"], [explorer.figure])
    exported = static.export(explorer, "x", [("sigma", [1.0])], [explorer.figure])
    with pytest.raises(ValueError, match="sigma: expected one of"):
        exported.key(sigma=3.3)
    with pytest.raises(ValueError, match="low <= high"):
        static.grid_range(2.0, 1.0, 0.1)


def test_grid_range_holds_slider_values():
    assert static.grid_range(0.5, 2.0, 0.05)[:3] == [0.5, 0.55, 0.6]
    assert len(static.grid_range(0.5, 2.0, 0.05)) == 31
    assert static.grid_range(0.5, 2.0, 0.05)[-1] == 2.0
