"""The course's figure style: template, palette, log axes, placement, heatmap labels."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rnncourse import figstyle


def test_template_is_registered_once_and_use_makes_it_the_default():
    assert figstyle.TEMPLATE in pio.templates
    template = pio.templates[figstyle.TEMPLATE]
    assert figstyle.register() == figstyle.TEMPLATE
    assert pio.templates[figstyle.TEMPLATE] is template  # registering again changes nothing
    before = pio.templates.default
    try:
        figstyle.use()
        assert pio.templates.default == figstyle.TEMPLATE
        assert list(go.Figure().layout.template.layout.colorway) == list(figstyle.PALETTE)
    finally:
        pio.templates.default = before


def test_palette_is_okabe_ito_and_colour_wraps():
    assert len(set(figstyle.PALETTE)) == 8
    assert figstyle.PALETTE[0] == "#0072B2" and figstyle.colour(8) == figstyle.PALETTE[0]


def test_every_axis_uses_powers_of_ten_not_si_prefixes():
    fig = figstyle.subplots(1, 2)
    fig.update_yaxes(**figstyle.LOG)
    layout = fig.layout.template.layout
    assert layout.xaxis.exponentformat == "power" and layout.yaxis.exponentformat == "power"
    assert fig.layout.yaxis2.type == "log" and fig.layout.yaxis2.exponentformat == "power"


def test_figure_and_subplots_carry_the_template_and_a_height_but_no_width():
    fig = figstyle.figure(title="t")
    assert fig.layout.template.layout.colorway == tuple(figstyle.PALETTE)
    assert fig.layout.width is None
    widget = figstyle.figure(widget=True)
    assert isinstance(widget, go.FigureWidget)
    grid = figstyle.subplots(2, 1, subplot_titles=("a", "b"), widget=True)
    assert isinstance(grid, go.FigureWidget) and grid.layout.height == figstyle.height(2)
    with pytest.raises(ValueError, match="rows"):
        figstyle.height(0)


def test_legend_sits_outside_the_plot_area_on_the_right():
    legend = pio.templates[figstyle.TEMPLATE].layout.legend
    assert legend.x >= 1 and legend.xanchor == "left"


def test_subplots_leave_room_between_columns_and_rows():
    fig = figstyle.subplots(2, 2, subplot_titles=("a", "b", "c", "d"))
    assert fig.layout.xaxis2.domain[0] - fig.layout.xaxis.domain[1] >= 0.1
    # about 70 px between rows for tick labels plus the next row's title
    gap = fig.layout.yaxis.domain[1] - fig.layout.yaxis3.domain[0]
    assert gap * fig.layout.height >= 60


def test_colorbar_sits_right_of_its_own_subplot():
    fig = figstyle.subplots(1, 2)
    bar = figstyle.colorbar(fig, 1, 1)
    assert fig.layout.xaxis.domain[1] < bar["x"] < fig.layout.xaxis2.domain[0]
    assert bar["len"] == pytest.approx(1.0)


def test_label_axis_puts_one_tick_per_position_even_for_repeated_labels():
    fig = figstyle.figure(go.Heatmap(z=[[0, 1, 2]] * 2, x=[0, 1, 2], y=[0, 1]))
    figstyle.label_axis(fig, ["the", "the", "<end>"], "x")
    figstyle.label_axis(fig, ["a", "b"], "y")
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    assert list(fig.layout.xaxis.ticktext) == ["the", "the", "<end>"]
    assert fig.layout.yaxis.autorange == "reversed"
    many = figstyle.figure()
    figstyle.label_axis(many, [f"label{i}" for i in range(40)], "x", px=500)
    assert many.layout.xaxis.tickangle == -45 and many.layout.xaxis.tickfont.size >= 8
    with pytest.raises(ValueError, match="axis"):
        figstyle.label_axis(many, ["a"], "z")


def test_heatmap_height_grows_with_rows_within_bounds():
    assert figstyle.heatmap_height(2) == 300
    assert figstyle.heatmap_height(17) > figstyle.heatmap_height(10)
    assert figstyle.heatmap_height(500) == 720
    with pytest.raises(ValueError, match="n_rows"):
        figstyle.heatmap_height(0)


def test_hline_label_sits_on_its_line_on_a_log_axis():
    fig = figstyle.subplots(1, 2)
    fig.update_yaxes(**figstyle.LOG, row=1, col=1)
    figstyle.hline(fig, 0.01, "target", row=1, col=1)
    figstyle.hline(fig, 5.0, "linear", row=1, col=2)
    line, label = fig.layout.shapes[0], fig.layout.annotations[-2]
    assert line.y0 == 0.01 and line.yref == "y" and line.xref == "x domain"
    assert label.y == pytest.approx(-2.0) and label.text == "target"  # log10(0.01)
    assert fig.layout.annotations[-1].y == 5.0 and fig.layout.annotations[-1].yref == "y2"
    with pytest.raises(ValueError, match="side"):
        figstyle.hline(fig, 1.0, "x", side="top")


def test_use_loads_plotlys_renderer_without_the_slow_optional_import():
    # A lesson's first fig.show() took 3 s of CPU, 2.5 s of it jsonschema's rfc3987_syntax
    # (pulled in by plotly's renderer -> nbformat); use() loads the renderer without it.
    # Counted in sys.modules of a fresh interpreter, so the test cannot flake.
    import subprocess
    import sys

    probe = ("import sys\nfrom rnncourse import figstyle\nfigstyle.use()\n"
             "import plotly.graph_objects as go\ngo.FigureWidget()\n"
             "print('plotly.io._renderers' in sys.modules, 'jsonschema' in sys.modules,"
             " 'rfc3987_syntax' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True", "False"], done.stdout


def test_use_gives_a_figure_shown_without_a_height_the_templates():
    # JupyterLab draws a mime-rendered figure without a layout height 360 px high (a 244 px
    # plot area); after use() the mime renderer writes the template's height in.
    figstyle.use()
    renderer = pio.renderers["plotly_mimetype"]
    assert isinstance(renderer, figstyle.TemplateHeight)
    assert renderer in pio.renderers._default_renderers or pio.renderers.default != \
        "plotly_mimetype"
    shown = renderer.to_mimebundle(go.Figure(go.Scatter(y=[1, 2])).to_dict())
    assert shown["application/vnd.plotly.v1+json"]["layout"]["height"] == figstyle.HEIGHT
    kept = renderer.to_mimebundle(go.Figure(layout=dict(height=300)).to_dict())
    assert kept["application/vnd.plotly.v1+json"]["layout"]["height"] == 300
    figstyle.use()  # idempotent
    assert pio.renderers["plotly_mimetype"] is renderer
