"""The verdicts of figure_checks: each defect it guards against is named, and seen to fail.

First on measured boxes (no browser): boxes as the page's JavaScript measures them, shaped like
the defects seen in the course (a heatmap 70 px wide in a corner, a colorbar over the next
plot's tick labels, a white legend line, overlapping tick labels, SI prefixes, stray reprs).
Then in chromium, on small synthetic pages: plotly.js draws static figures and figure widgets
with each defect, and the whole check (:func:`check_what_a_learner_sees`) must name it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
from figure_checks import check_what_a_learner_sees, figure_problems, output_problems
from plotly.subplots import make_subplots


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


def test_a_graph_given_no_traces_fails():
    problems = figure_problems(figure(traces=0, drawn=0))
    assert problems == ["figure 0 't' (cell [4]:): no data drawn (empty axes; the graph was "
                        "given no traces)"]
    assert figure_problems(figure(traces=2, drawn=2)) == []


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


# ---------------------------------------------------------------------------------------------
# The same checks on figures drawn by plotly.js in chromium, on a small page laid out as
# JupyterLab lays out outputs: a static figure (fig.show(): the plotly mime renderer draws into
# the output element itself) and a FigureWidget (its graph inside the widget's output). One page
# for the module, plotly.js (the copy bundled with the plotly package) loaded once.

PAGE = """<!doctype html><html><head><style>
body { margin: 0; font-family: sans-serif; }
.jp-CodeCell { width: 900px; margin: 10px 20px; }
.jp-OutputArea-output { display: block; width: 900px; }
</style></head><body><div class="jp-NotebookPanel" id="notebook"></div></body></html>"""

# cells: [[kind, figure json], ...]; draws each, resolves when every graph is drawn
_DRAW_JS = r"""async (cells) => {
  const notebook = document.getElementById('notebook');
  notebook.innerHTML = '';
  const drawn = [];
  cells.forEach(([kind, spec], k) => {
    const cell = document.createElement('div');
    cell.className = 'jp-CodeCell';
    cell.innerHTML = `<div class="jp-InputArea-prompt">[${k + 1}]:</div>`;
    const output = document.createElement('div');
    output.className = 'jp-OutputArea-output';
    cell.appendChild(output);
    notebook.appendChild(cell);
    // an explorer: several figure widgets in one output, one graph each
    const figs = kind === 'explorer' ? JSON.parse(spec) : [JSON.parse(spec)];
    for (const fig of figs) {
      let target = output;
      if (kind === 'static') {
        output.setAttribute('data-mime-type', 'application/vnd.plotly.v1+json');
      } else {
        output.setAttribute('data-mime-type', 'application/vnd.jupyter.widget-view+json');
        target = document.createElement('div');
        output.appendChild(target);
      }
      drawn.push(Plotly.newPlot(target, fig.data, fig.layout ?? {}));
    }
  });
  await Promise.all(drawn);
}"""


@pytest.fixture(scope="module")
def plotly_page(browser):
    import plotly

    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.set_content(PAGE)
    page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
    yield page
    page.close()


def _spec(fig) -> str:
    """A figure as JSON: a go.Figure, a plain dict, or a list of them (an explorer's figures)."""
    if isinstance(fig, list):
        return json.dumps([json.loads(_spec(f)) for f in fig])
    return json.dumps(fig) if isinstance(fig, dict) else fig.to_json()


def check_figures(page, tmp_path, *cells):
    """Draw ``cells`` ((kind, figure) pairs; kind "static", "widget", or "explorer" with a list
    of figures in one output) and run the checks: (problems, screenshots)."""
    page.evaluate(_DRAW_JS, [[kind, _spec(fig)] for kind, fig in cells])
    lab = SimpleNamespace(page=page, widget_ms=20_000, artifacts=tmp_path)
    try:
        check_what_a_learner_sees(lab, name="synthetic")
        problems = []
    except AssertionError as err:
        problems = str(err).splitlines()[1:]
    return problems, sorted(p.name for p in (tmp_path / "figures").glob("*.png"))


def _line(**layout):
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2], name="a line"))
    fig.update_layout(**layout)
    return fig


def test_readable_static_and_widget_figures_pass_and_each_gets_a_screenshot(plotly_page,
                                                                            tmp_path):
    problems, shots = check_figures(plotly_page, tmp_path, ("static", _line(height=500)),
                                    ("widget", _line(height=500)))
    assert problems == []
    assert shots == ["synthetic_0.png", "synthetic_1.png"]


def test_a_small_static_figure_fails(plotly_page, tmp_path):
    # 300 x 200 px in a 900 px output: the heatmap-in-a-corner defect, shown with fig.show()
    problems, shots = check_figures(plotly_page, tmp_path,
                                    ("static", _line(width=300, height=200, autosize=False)))
    assert any("static figure 0" in p and "under 60%" in p for p in problems), problems
    assert any("under 250 px" in p for p in problems), problems
    assert shots == ["synthetic_0.png"]


def test_overlapping_subplot_titles_fail(plotly_page, tmp_path):
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.02, subplot_titles=(
        "a long subplot title that runs on and on, past the middle of the figure",
        "another long subplot title, as long as the first"))
    fig.add_scatter(x=[0, 1], y=[0, 1], row=1, col=1, showlegend=False)
    fig.add_scatter(x=[0, 1], y=[0, 1], row=1, col=2, showlegend=False)
    problems, _ = check_figures(plotly_page, tmp_path, ("static", fig.update_layout(height=500)))
    assert any("annotation 'a long subplot title" in p and "overlaps annotation" in p
               for p in problems), problems


def test_tick_labels_of_stacked_subplots_that_touch_fail(plotly_page, tmp_path):
    # no space between the rows: the top plot's x tick labels run into the lower one's y labels
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.0)
    for row in (1, 2):
        fig.add_scatter(x=[0, 10], y=[0, 10], row=row, col=1, showlegend=False)
    fig.update_xaxes(range=[0, 10], tickvals=[0, 10], ticktext=["zero point zero", "ten"])
    fig.update_yaxes(range=[0, 10], tickvals=[0, 10], ticktext=["0", "ten thousand"],
                     tickfont_size=20)
    problems, _ = check_figures(plotly_page, tmp_path, ("static", fig.update_layout(height=500)))
    assert any("y2 tick label 'ten thousand' of subplot x2y2 overlaps x tick label 'zero point "
               "zero' of subplot xy" in p for p in problems), problems


def test_a_colorbar_over_the_next_subplot_fails(plotly_page, tmp_path):
    fig = make_subplots(rows=1, cols=2)
    fig.add_heatmap(z=[[0, 1], [1, 0]], row=1, col=1, colorbar=dict(x=0.5, len=0.8))
    fig.add_scatter(x=[0, 1], y=[0, 1], row=1, col=2, showlegend=False)
    problems, _ = check_figures(plotly_page, tmp_path, ("widget", fig.update_layout(height=500)))
    assert any("figure widget 0" in p and "colorbar 0 covers the plot area" in p
               for p in problems), problems


def test_a_legend_over_the_plot_and_an_entry_without_a_symbol_fail(plotly_page, tmp_path):
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name="plain"),
                     go.Scatter(x=[0, 1], y=[1, 0], name="with norm clipping",
                                line=dict(color="white"))])
    fig.update_layout(height=500, legend=dict(x=0.4, y=0.5))
    problems, _ = check_figures(plotly_page, tmp_path, ("static", fig))
    assert any("legend entry 'with norm clipping' has no visible symbol" in p
               for p in problems), problems
    assert not any("legend entry 'plain'" in p for p in problems), problems
    assert any("the legend covers the plot area" in p for p in problems), problems


def test_legend_group_titles_are_not_entries_but_their_entries_are_checked(plotly_page, tmp_path):
    # lesson 8's cost scatter: one legend group per task, its title drawn without a symbol
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name="LSTM", legendgroup="adding",
                                legendgrouptitle_text="adding problem", mode="markers"),
                     go.Scatter(x=[0, 1], y=[1, 0], name="GRU", legendgroup="adding",
                                mode="markers", marker=dict(color="white"))])
    fig.update_layout(height=500)
    problems, _ = check_figures(plotly_page, tmp_path, ("static", fig))
    assert not any("'adding problem'" in p for p in problems), problems
    assert any("legend entry 'GRU' has no visible symbol" in p for p in problems), problems


# Lesson 2's cost plot on a busy machine: its measured times spanned 1.5 decades, plotly labelled
# every digit of each decade, and 7, 8 and 9 ran into each other under 10^-1 (seen in a parallel
# `make test`). The course's log axes must read cleanly at any span, whether a figure uses
# figstyle.LOG or only says yaxis_type="log" (fig.show() goes through figstyle's renderer).
@pytest.mark.parametrize("decades", [0.5, 0.9, 1.2, 1.5, 2.0, 3.0, 8.0, 40.0])
def test_log_axes_in_the_course_style_read_cleanly_at_any_span(plotly_page, tmp_path, decades):
    import numpy as np

    from rnncourse import figstyle

    x = np.geomspace(20, 400, 6)
    y = np.geomspace(3e-3, 3e-3 * 10 ** decades, 6)
    styled = figstyle.subplots(1, 2, subplot_titles=("vary T", "vary H"))
    for col in (1, 2):
        styled.add_scatter(x=x, y=y, row=1, col=col, name=f"measured {col}")
    styled.update_xaxes(**figstyle.LOG).update_yaxes(**figstyle.LOG)
    plain = figstyle.figure(go.Scatter(x=x, y=y, name="measured"))
    plain.update_layout(xaxis_type="log", yaxis_type="log")
    shown = figstyle.TemplateHeight().to_mimebundle(plain.to_dict())
    plain = go.Figure(shown["application/vnd.plotly.v1+json"])
    problems, _ = check_figures(plotly_page, tmp_path, ("static", styled), ("static", plain))
    assert problems == [], problems


def test_an_explorer_whose_first_figure_lost_its_data_fails(plotly_page, tmp_path):
    # issue 14 under load: the browser dropped the first FigureWidget's data and layout, and
    # plotly's front end drew what its model held at comm_open (no traces, no layout, its own
    # 360 px height) above the explorer's second figure, which was drawn as built
    lost = {"data": [], "layout": {"height": 360}}
    problems, _ = check_figures(plotly_page, tmp_path, ("explorer", [lost, _line(height=500)]))
    assert any("figure widget 0 (cell [1]:): no data drawn" in p for p in problems), problems
    assert any("figure widget 0" in p and "px high, under 250 px" in p for p in problems), problems
    assert not any("figure widget 1" in p for p in problems), problems
