"""The verdicts of figure_checks on measured boxes: each defect it guards against is named.

No browser here: these feed the checks boxes as the page's JavaScript measures them, shaped like
the defects seen in the course (a heatmap 70 px wide in a corner, a colorbar over the next
plot's tick labels, a white legend line, overlapping tick labels, SI prefixes, stray reprs).
"""

from __future__ import annotations

from figure_checks import figure_problems, output_problems


def box(x0, y0, x1, y1, **extra):
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "w": x1 - x0, "h": y1 - y0, **extra}


def figure(**parts):
    base = {"index": 0, "cell": 3, "prompt": "[4]:", "title": "t", "output": box(0, 0, 1000, 500),
            "plot": box(0, 0, 1000, 500), "subplots": [box(80, 60, 900, 400, name="xy")],
            "texts": [], "ticks": [], "legend": [], "colorbars": []}
    base.update(parts)
    return base


def tick(axis, text, x0, y0, x1, y1, subplot="xy", rotated=False):
    return box(x0, y0, x1, y1, axis=axis, text=text, subplot=subplot, rotated=rotated, size=12)


def test_a_readable_figure_passes():
    assert figure_problems(figure()) == []


def test_a_small_plot_area_in_a_corner_fails():
    problems = figure_problems(figure(subplots=[box(600, 300, 670, 395, name="xy")]))
    assert any("under 60%" in p for p in problems)
    assert any("under 250 px" in p for p in problems)


def test_a_colorbar_over_the_neighbouring_plot_and_its_ticks_fails():
    subplots = [box(80, 60, 520, 400, name="xy"), box(620, 60, 900, 400, name="x2y2")]
    ticks = [tick("y2", "10³", 590, 90, 615, 105, subplot="x2y2")]
    problems = figure_problems(figure(subplots=subplots, ticks=ticks,
                                      colorbars=[box(510, 60, 610, 400)]))
    assert any("covers the plot area of subplot xy" in p for p in problems)
    assert any("colorbar 0 overlaps y2 tick label" in p for p in problems)


def test_a_legend_entry_without_a_visible_symbol_fails():
    problems = figure_problems(figure(legend=[{"name": "with norm clipping", "shown": False},
                                              {"name": "plain", "shown": True}]))
    assert problems == ["figure 0 't' (cell [4]:): legend entry 'with norm clipping' has no "
                        "visible symbol"]


def test_overlapping_titles_and_tick_labels_fail():
    texts = [{"kind": "annotation", "text": "a title", **box(100, 30, 400, 50)},
             {"kind": "annotation", "text": "another", **box(380, 30, 700, 50)}]
    ticks = [tick("y", "0", 60, 390, 75, 405), tick("y", "9", 60, 385, 75, 400)]
    problems = figure_problems(figure(texts=texts, ticks=ticks))
    assert any("annotation 'a title' overlaps annotation 'another'" in p for p in problems)
    assert any("y tick labels" in p and "overlap" in p for p in problems)


def test_si_prefixed_ticks_fail():
    ticks = [tick("y", "100μ", 40, 100, 75, 115), tick("y", "1", 40, 200, 75, 215)]
    problems = figure_problems(figure(ticks=ticks))
    assert any("SI-prefixed tick labels ['100μ']" in p for p in problems)


def test_stray_reprs_html_as_text_and_stderr_fail():
    outputs = [{"cell": 1, "prompt": "[2]:", "kind": "text",
                "text": "PosixPath('/work/results/06/summary.json')"},
               {"cell": 2, "prompt": "[3]:", "kind": "text",
                "text": "<span style='color:#b00020'>unknown character(s)</span>"},
               {"cell": 3, "prompt": "[4]:", "kind": "stderr", "text": "UserWarning: x"},
               {"cell": 4, "prompt": "[5]:", "kind": "text", "text": "a < b and </s> are fine"}]
    problems = output_problems(outputs)
    assert len(problems) == 3
    assert "raw repr" in problems[0] and "HTML shown as text" in problems[1]
    assert "stderr" in problems[2]
