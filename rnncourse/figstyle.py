"""The course's one figure style: every lesson, explorer and report draws with it.

Importing this module registers the plotly template ``"rnncourse"`` (once); :func:`use` makes it
plotly's default for the learner's own figures too. The constructors :func:`figure` and
:func:`subplots` apply it explicitly, so a figure made by the package looks the same whatever the
default is.

What the style fixes, so that no figure has to get it right on its own:

- colours: :data:`PALETTE`, the Okabe-Ito palette (distinguishable with the common colour-vision
  deficiencies), in a fixed order; :data:`SEQUENTIAL` and :data:`DIVERGING` colour scales;
- numbers: ``exponentformat="power"`` on every axis, so that log axes read 10^-6, never the SI
  prefixes 1µ, 1M, 1T; :data:`LOG` for a log axis;
- size: no fixed width (a figure fills the notebook column, about 950-1300 px in JupyterLab at
  a 1400x1000 window) and :data:`HEIGHT` px high (:func:`height` for stacked rows);
- placement that cannot collide: the title above the plot area at the left, the legend outside
  the plot area on the right (plotly widens the margin to fit it), colorbars outside their
  subplot (:func:`colorbar`), tick labels and axis titles with ``automargin``;
- heatmaps with many labels: :func:`label_axis` puts one tick per row or column by position
  (repeated tokens stay apart), shrinks the font and turns the labels as their number needs,
  and :func:`heatmap_height` sizes the figure so that every row stays readable;
- reference lines: :func:`hline` writes its label on the line, on log axes too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import PlotlyRenderer
from plotly.subplots import make_subplots

from .light_imports import plotly_renderer

TEMPLATE = "rnncourse"

# Okabe & Ito (2008), "Color universal design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = PALETTE
GREY = "#7f7f7f"
SEQUENTIAL = "Blues"     # 0 .. max (attention weights, magnitudes)
DIVERGING = "RdBu"       # -max .. +max around 0 (hidden states); red-blue stays distinguishable
HEIGHT = 420             # px: one row of plots (a plot area of about 300 px)
ROW_HEIGHT = 260         # px per extra row of stacked subplots
FONT_SIZE = 13
MARGIN = dict(l=60, r=30, t=60, b=50)
LOG_NTICKS = 3
"""At most about this many major ticks on a log axis. plotly's own choice labels every digit
(2, 3, ... 9) of a decade when an axis spans one or two decades, and 7, 8 and 9 sit a few pixels
apart under each power of ten (lesson 2's cost plot, when a busy machine measured a range of 1.5
decades). With fewer ticks plotly labels 2 and 5 instead, or powers of ten only."""
LOG = dict(type="log", exponentformat="power", nticks=LOG_NTICKS)
"""Keyword arguments of ``update_xaxes`` / ``update_yaxes`` for a log axis (10^n ticks)."""

_AXIS = dict(exponentformat="power", automargin=True, showline=True, linecolor="#444",
             ticks="outside", gridcolor="#e5e5e5", zerolinecolor="#cccccc", title_standoff=8)


def _template() -> go.layout.Template:
    layout = go.Layout(
        colorway=list(PALETTE),
        font=dict(size=FONT_SIZE),
        # at the top of the figure, above subplot titles; automargin keeps it off the plot area
        title=dict(x=0, xanchor="left", xref="paper", y=1, yanchor="top", yref="container",
                   pad=dict(t=10), automargin=True, font=dict(size=FONT_SIZE + 2)),
        legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top",
                    bgcolor="rgba(255,255,255,0)", itemsizing="constant"),
        margin=MARGIN,
        height=HEIGHT,
        autosize=True,
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel=dict(namelength=-1),
        xaxis=_AXIS,
        yaxis=_AXIS,
        coloraxis=dict(colorbar=dict(thickness=14, outlinewidth=0)),
    )
    data = dict(
        heatmap=[go.Heatmap(colorbar=dict(thickness=14, outlinewidth=0, xpad=6))],
        scatter=[go.Scatter(line=dict(width=2))],
    )
    return go.layout.Template(layout=layout, data=data)


def register() -> str:
    """Register the template ``"rnncourse"`` with plotly (idempotent); return its name."""
    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = _template()
    return TEMPLATE


def use() -> str:
    """Make the course's style plotly's default (figures made with ``go.Figure`` too).

    Also loads plotly's notebook renderer now (lessons call this in their first cell), without
    its slowest optional import: otherwise a lesson's first ``fig.show()`` takes 3 s of CPU
    (:mod:`rnncourse.light_imports`); and makes its mime renderer give a figure shown without a
    height the template's (:class:`TemplateHeight`).
    """
    pio.templates.default = register()
    renderers = plotly_renderer()
    current = renderers["plotly_mimetype"]
    if not isinstance(current, TemplateHeight):
        renderers["plotly_mimetype"] = TemplateHeight(config=current.config)
        renderers.default = renderers.default  # the default list holds renderer objects: renew
    return TEMPLATE


class TemplateHeight(PlotlyRenderer):
    """plotly's mime renderer (``fig.show()`` in JupyterLab), filling in a missing height.

    JupyterLab's plotly extension draws a figure whose layout has no height 360 px high, whatever
    its template says (a plot area of 244 px, under the 250 px the browser tests ask for); this
    writes the template's height (:data:`HEIGHT` for the course's) into such a figure's layout.
    """

    def to_mimebundle(self, fig_dict):
        layout = fig_dict.setdefault("layout", {})
        if layout.get("height") is None:
            template = (layout.get("template") or {}).get("layout") or {}
            layout["height"] = template.get("height") or HEIGHT
        readable_log_axes(layout)
        return super().to_mimebundle(fig_dict)


_AXIS_KEY = re.compile(r"[xy]axis\d*")


def readable_log_axes(layout: dict) -> dict:
    """Give every log axis in ``layout`` (a figure's layout as a dict) :data:`LOG`'s tick count,
    unless it sets its own ticks (``nticks``, ``dtick`` or ``tickvals``). The renderers apply it
    to every ``fig.show()``, so a lesson's ``yaxis_type="log"`` reads like :data:`LOG`."""
    for key, axis in layout.items():
        if _AXIS_KEY.fullmatch(key) and isinstance(axis, dict) and axis.get("type") == "log":
            if all(axis.get(name) is None for name in ("nticks", "dtick", "tickvals")):
                axis["nticks"] = LOG_NTICKS
    return layout


register()

SITE_ENV = "RNNCOURSE_SITE"
"""Set (to anything but '' or '0') while ``make site`` executes the lessons."""
SITE_RENDERER = "rnncourse_site"


def site_mode() -> bool:
    """True while the course's static site executes the lessons (:data:`SITE_ENV` is set)."""
    return os.environ.get(SITE_ENV, "").strip() not in ("", "0")


class _SiteRenderer(pio.base_renderers.MimetypeRenderer):
    """A figure as a div and a script that calls plotly.js, without plotly.js: the course's
    site loads it once for every page (plotly's HTML renderers embed it or fetch it from a
    CDN)."""

    def to_mimebundle(self, fig_dict):
        readable_log_axes(fig_dict.setdefault("layout", {}))
        page = pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False,
                           full_html=False, default_width="100%", validate=False,
                           config={"displaylogo": False, "responsive": True})
        return {"text/html": page}


def use_site_renderer() -> str:
    """Make ``fig.show()`` write the site's HTML (see :class:`_SiteRenderer`); its name."""
    pio.renderers[SITE_RENDERER] = _SiteRenderer()
    pio.renderers.default = SITE_RENDERER
    return SITE_RENDERER


if site_mode():
    use_site_renderer()


def colour(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE` (wrapping around)."""
    return PALETTE[i % len(PALETTE)]


def height(rows: int = 1) -> int:
    """Figure height in px for ``rows`` stacked rows of plots."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows!r}")
    return HEIGHT + ROW_HEIGHT * (rows - 1)


def figure(data=None, *, widget: bool = False, **layout) -> go.Figure:
    """A ``go.Figure`` (a course :class:`~rnncourse.figure_widget.FigureWidget` when
    ``widget``) in the course's style.

    ``layout`` goes to the figure's layout (``title=``, ``xaxis_title=``, ``height=``, ...).
    The template is part of the figure from its construction, and the FigureWidget is made from
    the finished figure: its first message to the browser holds all of it (see
    :mod:`rnncourse.figure_widget` for why that matters on a busy machine).
    """
    base = go.Figure(data=data)
    # Explicit, not only in the template: plotly.js sizes a figure to its container only when
    # the figure's own layout says autosize (a FigureWidget then fills the notebook column
    # instead of plotly's default 700 px), and a FigureWidget ignores the template's height.
    layout.setdefault("height", HEIGHT)
    layout.setdefault("autosize", True)
    base.update_layout(template=register(), **layout)
    return _widget(base) if widget else base


def _widget(base: go.Figure):
    """The course's FigureWidget of ``base`` (imported here: subclassing plotly's FigureWidget
    loads its renderers, which :func:`use` loads without their slow optional import)."""
    from .figure_widget import FigureWidget

    return FigureWidget(base)


def subplots(rows: int = 1, cols: int = 1, *, widget: bool = False, height_px: int | None = None,
             **kwargs) -> go.Figure:
    """``make_subplots`` in the course's style, with spacing that keeps subplots apart.

    Between columns there is room for the right subplot's tick labels; between rows, room for
    the upper row's x tick labels and the lower row's subplot titles. Keyword arguments go to
    ``make_subplots`` (``subplot_titles``, ``column_widths``, ``shared_xaxes``, ...); anything
    ``make_subplots`` does not know goes to ``update_layout``.
    """
    subplot_keys = {"shared_xaxes", "shared_yaxes", "start_cell", "print_grid",
                    "horizontal_spacing", "vertical_spacing", "subplot_titles",
                    "column_widths", "row_heights", "specs", "insets", "column_titles",
                    "row_titles", "x_title", "y_title", "figure"}
    grid = {k: v for k, v in kwargs.items() if k in subplot_keys}
    layout = {k: v for k, v in kwargs.items() if k not in subplot_keys}
    px = height_px or layout.pop("height", None) or height(rows)
    if cols > 1:
        grid.setdefault("horizontal_spacing", min(0.2, 0.12 * 2 / cols))
    if rows > 1:
        # ~70 px between rows (x ticks, axis title, next title), as a fraction of the plot height
        gap = (70 if grid.get("subplot_titles") else 45) / px
        if grid.get("shared_xaxes"):
            gap = (35 if grid.get("subplot_titles") else 12) / px
        grid.setdefault("vertical_spacing", min(0.3, gap))
    base = make_subplots(rows=rows, cols=cols, **grid)
    layout.setdefault("autosize", True)  # see figure(): plotly.js reads it from the figure only
    base.update_layout(template=register(), height=px, **layout)
    # subplot titles: make_subplots draws them as annotations at the top of each subplot
    base.update_annotations(font_size=FONT_SIZE + 1)
    return _widget(base) if widget else base  # template in place before it is shown


def colorbar(fig: go.Figure, row: int = 1, col: int = 1, **extra) -> dict:
    """A ``colorbar`` dict that sits just right of subplot (``row``, ``col``), outside it.

    Its x is the right edge of the subplot's x domain plus a small gap, its length the subplot's
    y domain: it cannot cover a neighbouring subplot's tick labels as long as the columns are
    ``subplots``' spacing apart (make the right-hand subplot's ``horizontal_spacing`` >= 0.12).
    """
    xaxis, yaxis = _axes(fig, row, col)
    x0, x1 = xaxis.domain or (0, 1)
    y0, y1 = yaxis.domain or (0, 1)
    bar = dict(x=x1 + 0.01, xanchor="left", xref="paper", y=(y0 + y1) / 2, yanchor="middle",
               yref="paper", len=y1 - y0, lenmode="fraction", thickness=12, outlinewidth=0)
    bar.update(extra)
    return bar


def hline(fig: go.Figure, y: float, text: str = "", *, row: int | None = None,
          col: int | None = None, dash: str = "dash", color: str = GREY,
          side: str = "right") -> None:
    """A horizontal reference line at ``y`` with its label written on the line, at one end.

    Unlike ``fig.add_hline(annotation_text=...)``, the label lands on its line on a log axis
    too (plotly places that annotation at ``y`` in log10 units, far from the line). Set the
    axis type (``update_yaxes(**LOG)``) before calling.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    xaxis, yaxis = _axes(fig, row or 1, col or 1)
    xref = (xaxis.plotly_name.replace("axis", "") or "x") if xaxis is not None else "x"
    yref = (yaxis.plotly_name.replace("axis", "") or "y") if yaxis is not None else "y"
    fig.add_shape(type="line", xref=f"{xref} domain", yref=yref, x0=0, x1=1, y0=y, y1=y,
                  line=dict(color=color, dash=dash, width=1.5))
    if text:
        log = yaxis is not None and yaxis.type == "log"
        position = math.log10(y) if log else y
        fig.add_annotation(xref=f"{xref} domain", yref=yref, x=1 if side == "right" else 0,
                           xanchor=side, y=position, yanchor="bottom", text=text,
                           showarrow=False, font=dict(color=color, size=FONT_SIZE - 1),
                           bgcolor="rgba(255,255,255,0.8)")


def _axes(fig: go.Figure, row: int, col: int):
    try:
        ref = fig.get_subplot(row, col)
    except Exception:  # a figure not made by make_subplots: one subplot
        ref = None
    if ref is None:
        return fig.layout.xaxis, fig.layout.yaxis
    return ref.xaxis, ref.yaxis


def tick_font_size(n_labels: int, px: float) -> int:
    """A tick font size (px) that fits ``n_labels`` labels one per cell along ``px`` px."""
    cell = px / max(n_labels, 1)
    return int(max(8, min(FONT_SIZE, cell * 0.8)))


def label_axis(fig: go.Figure, labels: Sequence[str], axis: str = "x", *, px: float = 600,
               row: int | None = None, col: int | None = None, title: str | None = None) -> None:
    """One tick per cell of a heatmap axis, by position, readable whatever the labels are.

    Draw the heatmap with numeric coordinates (``x=list(range(len(labels)))``): a repeated token
    ("the", or a blank) would otherwise merge two rows into one. ``px`` is the axis' expected
    length on screen; the font shrinks (to 8 px at least) and x labels turn by 45 degrees when
    there are too many to fit side by side. Visible names for blanks and padding (``"␣"``,
    ``"<end>"``) are the caller's job: an empty tick label is an unlabelled row.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    labels = [str(label) for label in labels]
    size = tick_font_size(len(labels), px)
    settings = dict(tickmode="array", tickvals=list(range(len(labels))), ticktext=labels,
                    tickfont=dict(size=size), showgrid=False, ticks="", showline=False,
                    zeroline=False, automargin=True)
    if axis == "x":
        widest = max((len(label) for label in labels), default=1)
        fits = widest * size * 0.62 <= px / max(len(labels), 1)
        settings["tickangle"] = 0 if fits else -45
    else:
        settings["autorange"] = "reversed"  # first row at the top, as a matrix reads
    if title is not None:
        settings["title_text"] = title
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(row=row, col=col, **settings)


def heatmap_height(n_rows: int, *, cell_px: float = 22, min_px: int = 300,
                   max_px: int = 720, extra_px: int = 130) -> int:
    """Figure height (px) that gives each of ``n_rows`` heatmap rows about ``cell_px`` px.

    ``extra_px`` is what the title, the x tick labels and the margins take.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows!r}")
    return int(min(max_px, max(min_px, n_rows * cell_px + extra_px)))


__all__ = ["BLACK", "BLUE", "DIVERGING", "GREEN", "GREY", "HEIGHT", "LOG", "MARGIN", "ORANGE",
           "PALETTE", "PURPLE", "ROW_HEIGHT", "SEQUENTIAL", "SKY", "TEMPLATE", "VERMILLION",
           "YELLOW", "colorbar", "colour", "figure", "heatmap_height", "height", "hline",
           "label_axis", "register", "site_mode", "subplots", "tick_font_size", "use",
           "use_site_renderer"]
