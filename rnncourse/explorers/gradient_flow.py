"""Lesson 4's gradient-flow explorer: watch ``||dL/dh_t||`` vanish or explode as you move sigma.

Left: ``||dL/dh_t||`` against ``t`` on a log axis, with the bound ``(gamma sigma_max)^(T-t)``
dashed (RNN cells). Steps that overflowed are marked at the top of the axis ("inf"), steps that
underflowed at the bottom ("0"): the axis is clipped to the range of the chosen float type.
Right: the singular values of the recurrent matrix with the line ``1/gamma``. Above the plots,
the fitted per-step rate next to ``gamma * sigma_max``, and Pascanu et al.'s condition.

Each update computes one forward and one backward pass (:func:`rnncourse.gradflow.gradient_flow`,
a few milliseconds at T = 200, H = 128) and updates the figure in place.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from .. import cliff, figstyle, validate
from ..gradflow import CELLS, GradientFlow, gradient_flow
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export, grid_range

CELL_LABELS = {"rnn_tanh": "RNN, tanh", "rnn_relu": "RNN, relu", "rnn_sigmoid": "RNN, sigmoid",
               "lstm": "LSTM", "gru": "GRU"}
SIGMA_RANGE = (0.05, 5.0, 0.05)  # min, max, step: arrow keys cross 1/gamma = 1 and 4 exactly
T_RANGE = (10, 1000, 10)
INPUT_RANGE = (0.0, 3.0, 0.1)
FORGET_RANGE = (-3.0, 8.0, 0.5)
SEED_RANGE = (0, 20, 1)
_N, _BOUND, _OVER, _UNDER, _SV, _EDGE = range(6)  # trace indices


class GradientFlowExplorer:
    """Controls for the cell, sigma, the kind of W_hh, input scale, T, forget bias, seed, dtype.

    Attributes: ``widget`` (the box to display), ``figure``, ``rate_label``, ``message`` and one
    attribute per control (``cell``, ``sigma``, ``scale``, ``kind``, ``input_scale``,
    ``seq_len``, ``forget_bias``, ``seed``, ``dtype``); ``result`` is the last
    :class:`~rnncourse.gradflow.GradientFlow` drawn. Setting a control's ``value`` from code
    redraws at once, exactly as dragging it does.
    """

    def __init__(self, *, cell: str = "rnn_tanh", sigma: float = 1.0, seq_len: int = 200,
                 hidden_size: int = 128, kind: str = "orthogonal", scale: str = "sigma_max",
                 input_scale: float = 0.0, forget_bias: float = 0.0, seed: int = 0,
                 dtype: str = "float32"):
        validate.choice("cell", cell, CELLS)
        self.hidden_size = validate.positive_int("hidden_size", hidden_size)
        _in_range("sigma", sigma, SIGMA_RANGE)
        _in_range("seq_len", seq_len, T_RANGE)
        _in_range("input_scale", input_scale, INPUT_RANGE)
        _in_range("forget_bias", forget_bias, FORGET_RANGE)
        _in_range("seed", seed, SEED_RANGE)
        style = {"description_width": "110px"}
        layout = widgets.Layout(width="340px")
        self.cell = widgets.Dropdown(options=[(CELL_LABELS[c], c) for c in CELLS], value=cell,
                                     description="cell", style=style, layout=layout)
        self.sigma = widgets.FloatSlider(value=sigma, min=SIGMA_RANGE[0], max=SIGMA_RANGE[1],
                                         step=SIGMA_RANGE[2], readout_format=".2f",
                                         description="σ of W_hh", style=style, layout=layout)
        self.scale = widgets.Dropdown(options=[("σ_max (largest singular value)", "sigma_max"),
                                               ("spectral radius", "spectral_radius")],
                                      value=scale, description="σ sets", style=style,
                                      layout=layout)
        self.kind = widgets.Dropdown(options=[("orthogonal", "orthogonal"),
                                              ("Gaussian", "gaussian")], value=kind,
                                     description="kind of W_hh", style=style, layout=layout)
        self.input_scale = widgets.FloatSlider(value=input_scale, min=INPUT_RANGE[0],
                                               max=INPUT_RANGE[1], step=INPUT_RANGE[2],
                                               readout_format=".1f", description="input scale",
                                               style=style, layout=layout)
        self.seq_len = widgets.IntSlider(value=seq_len, min=T_RANGE[0], max=T_RANGE[1],
                                         step=T_RANGE[2], description="T", style=style,
                                         layout=layout)
        self.forget_bias = widgets.FloatSlider(value=forget_bias, min=FORGET_RANGE[0],
                                               max=FORGET_RANGE[1], step=FORGET_RANGE[2],
                                               readout_format=".1f",
                                               description="forget bias", style=style,
                                               layout=layout)
        self.seed = widgets.IntSlider(value=seed, min=SEED_RANGE[0], max=SEED_RANGE[1],
                                      description="seed", style=style, layout=layout)
        self.dtype = widgets.ToggleButtons(options=["float32", "float64"], value=dtype,
                                           description="precision", style=style)
        self.controls = {"cell": self.cell, "sigma": self.sigma, "scale": self.scale,
                         "kind": self.kind, "input": self.input_scale, "T": self.seq_len,
                         "forget-bias": self.forget_bias, "seed": self.seed,
                         "dtype": self.dtype}
        for name, control in self.controls.items():
            control.add_class(f"rnncourse-gradflow-{name}")
        self.forget_bias.tooltip = "LSTM: b_f; GRU: b_z (its keep gate)"
        self.rate_label = widgets.HTML()
        self.rate_label.add_class("rnncourse-gradflow-rate")
        self.message = widgets.HTML()
        self.message.add_class("rnncourse-gradflow-message")
        self.figure = self._make_figure()
        self.figure.add_class("rnncourse-gradflow-figure")
        left = widgets.VBox([self.cell, self.sigma, self.scale, self.kind, self.input_scale])
        right = widgets.VBox([self.seq_len, self.forget_bias, self.seed, self.dtype])
        self.widget = widgets.VBox([widgets.HBox([left, right]), self.rate_label, self.message,
                                    self.figure])
        self.widget.add_class("rnncourse-gradflow-explorer")
        self.result: GradientFlow | None = None
        self.updates = Coalescer(self._redraw, self.controls.values())
        self._redraw()

    # ------------------------------------------------------------------ figure

    def _make_figure(self) -> go.FigureWidget:
        fig = figstyle.subplots(1, 2, widget=True, column_widths=[0.68, 0.32],
                                subplot_titles=("||dL/dh_t|| back through time",
                                                "singular values of W_hh"))
        fig.add_scatter(x=[], y=[], mode="lines", name="||dL/dh_t||", row=1, col=1,
                        line=dict(color=figstyle.BLUE, width=2))
        fig.add_scatter(x=[], y=[], mode="lines", name="bound (γ σ_max)^(T−t)", row=1, col=1,
                        line=dict(color=figstyle.GREY, dash="dash"))
        fig.add_scatter(x=[], y=[], mode="markers", name="overflow: inf", row=1, col=1,
                        marker=dict(color=figstyle.VERMILLION, symbol="triangle-up", size=7))
        fig.add_scatter(x=[], y=[], mode="markers", name="underflow: 0", row=1, col=1,
                        marker=dict(color=figstyle.PURPLE, symbol="triangle-down", size=7))
        fig.add_scatter(x=[], y=[], mode="markers", name="σ_i(W_hh)", row=1, col=2,
                        marker=dict(color=figstyle.GREEN, size=4))
        fig.add_scatter(x=[], y=[], mode="lines", name="1/γ", row=1, col=2,
                        line=dict(color=figstyle.VERMILLION, dash="dot"))
        fig.update_layout(uirevision="keep")
        fig.update_xaxes(title_text="t", row=1, col=1)
        fig.update_yaxes(**figstyle.LOG, row=1, col=1)
        fig.update_xaxes(title_text="index i", row=1, col=2)
        fig.update_yaxes(rangemode="tozero", row=1, col=2)
        return fig

    # ------------------------------------------------------------------ callback

    def compute(self) -> GradientFlow:
        """The measurement for the current control values (no drawing)."""
        return gradient_flow(self.cell.value, sigma=self.sigma.value, seq_len=self.seq_len.value,
                             hidden_size=self.hidden_size, kind=self.kind.value,
                             scale=self.scale.value, input_scale=self.input_scale.value,
                             forget_bias=self.forget_bias.value, seed=self.seed.value,
                             dtype=self.dtype.value)

    def _redraw(self, change=None):
        r = self.compute()
        self.result = r
        self.forget_bias.disabled = r.gamma is not None
        T = r.seq_len
        t = np.arange(T + 1)
        finfo = np.finfo(np.float32 if r.dtype == "float32" else np.float64)
        floor, ceiling = float(np.log10(finfo.tiny)), float(np.log10(finfo.max))
        norms = r.norms
        shown = np.isfinite(norms) & (norms >= finfo.tiny)
        logs = np.log10(norms[shown]) if shown.any() else np.array([0.0])
        lo, hi = float(logs.min()), float(logs.max())
        if r.log10_bound is not None:
            lo = min(lo, float(r.log10_bound.min()))
            hi = max(hi, float(r.log10_bound.max()))
        lo = max(min(lo, -1.0) - 1.0, floor - 1.0)
        hi = min(max(hi, 1.0) + 1.0, ceiling - 0.01)  # 10**hi must stay a finite float
        overflow = ~np.isfinite(norms)
        underflow = np.isfinite(norms) & (norms < finfo.tiny)
        if not r.forward_finite:  # zeros behind overflowed states are not underflow
            overflow, underflow = overflow | underflow, np.zeros_like(underflow)
        with self.figure.batch_update():
            self.figure.data[_N].x = t
            self.figure.data[_N].y = np.where(shown, norms, np.nan)
            bound = self.figure.data[_BOUND]
            if r.log10_bound is None:
                bound.visible = False
            else:
                visible = r.log10_bound <= hi
                bound.visible = True
                bound.x = t[visible]
                bound.y = 10.0 ** np.maximum(r.log10_bound[visible], lo - 0.5)
            self.figure.data[_OVER].x = t[overflow]
            self.figure.data[_OVER].y = np.full(int(overflow.sum()), 10.0 ** (hi - 0.4))
            self.figure.data[_UNDER].x = t[underflow]
            self.figure.data[_UNDER].y = np.full(int(underflow.sum()), 10.0 ** (lo + 0.4))
            sv = r.singular_values
            self.figure.data[_SV].x = np.arange(1, sv.size + 1)
            self.figure.data[_SV].y = sv
            edge = self.figure.data[_EDGE]
            edge.visible = r.gamma is not None
            if r.gamma is not None:
                edge.x, edge.y = [1, sv.size], [1 / r.gamma, 1 / r.gamma]
            self.figure.layout.yaxis.range = [lo, hi]
            top = max(float(sv.max()), 1 / r.gamma if r.gamma else 0.0) * 1.1
            self.figure.layout.yaxis2.range = [0, top]
            block = {"lstm": "W_hg (LSTM candidate block)", "gru": "W_hn (GRU candidate block)"}
            self.figure.layout.annotations[1].text = (
                f"singular values of {block.get(r.cell, 'W_hh')}")
        self.rate_label.value = _rate_text(r)
        self.message.value = _message_html(r)

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: sigma from 0.5 to 2.0 in steps of 0.05 and three
        cells, the other controls as they are (see :mod:`rnncourse.explorers.static`)."""
        return export(self, "gradflow",
                      [("sigma", grid_range(0.5, 2.0, 0.05), "σ of W_hh"),
                       ("cell", ["rnn_tanh", "lstm", "gru"])],
                      [self.figure], [self.rate_label, self.message])

    def _ipython_display_(self):
        display_explorer(self)


def _in_range(name, value, bounds):
    low, high, _ = bounds
    validate.number_in_range(name, value, low, high)


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f}"


def _rate_text(r: GradientFlow) -> str:
    head = f"fitted rate <b>{_fmt(r.rate)}</b> per step"
    at0 = r.norms[0]
    start = f"||dL/dh_0|| = {at0:.2e}" if np.isfinite(at0) else "||dL/dh_0|| = inf"
    if r.gamma is None:
        theory = (f"no γ·σ_max bound for the {CELL_LABELS[r.cell]} "
                  f"(each recurrent block has σ_max = {r.sigma_max:.2f})")
    else:
        theory = (f"theory γ·σ_max = {r.gamma:g} × {r.sigma_max:.2f} = "
                  f"<b>{_fmt(r.theory_rate)}</b>")
    return (f"{head} &nbsp;|&nbsp; {theory} &nbsp;|&nbsp; spectral radius "
            f"{r.spectral_radius:.2f} &nbsp;|&nbsp; {start}")


def _message_html(r: GradientFlow) -> str:
    lines = []
    if r.regime is not None:
        lines.append(("#333333", r.regime.replace("sigma_max", "σ_max").replace("gamma", "γ")))
    for line in r.messages:
        alarm = line.startswith(("Overflow", "The hidden states"))
        lines.append(("#b00020" if alarm else "#6a3d9a", line))
    return "".join(f"<div style='color:{colour}'>{line}</div>" for colour, line in lines)


# ---------------------------------------------------------------------------------------------
# The cliff: gradient descent on a one-unit RNN's loss surface, with and without clipping

LR_RANGE = (0.002, 0.04, 0.002)
THRESHOLD_RANGE = (1.0, 50.0, 1.0)


class CliffExplorer:
    """Sliders for the learning rate and the clipping threshold on :mod:`rnncourse.cliff`'s cliff.

    Left: ``log10 L(w, b)`` as a contour map with both descent paths from the same start;
    right: the loss along each path. ``plain`` and ``clipped`` hold the last two
    :class:`~rnncourse.cliff.DescentPath` drawn.
    """

    def __init__(self, *, lr: float = cliff.DEFAULT_LR,
                 threshold: float = cliff.DEFAULT_THRESHOLD, steps: int = cliff.DESCENT_STEPS):
        _in_range("lr", lr, LR_RANGE)
        _in_range("threshold", threshold, THRESHOLD_RANGE)
        self.steps = validate.positive_int("steps", steps)
        style = {"description_width": "110px"}
        self.lr = widgets.FloatSlider(value=lr, min=LR_RANGE[0], max=LR_RANGE[1],
                                      step=LR_RANGE[2], readout_format=".3f",
                                      description="learning rate", style=style)
        self.threshold = widgets.FloatSlider(value=threshold, min=THRESHOLD_RANGE[0],
                                             max=THRESHOLD_RANGE[1], step=THRESHOLD_RANGE[2],
                                             readout_format=".0f", description="clip at ||g|| =",
                                             style=style)
        self.lr.add_class("rnncourse-cliff-lr")
        self.threshold.add_class("rnncourse-cliff-threshold")
        self.label = widgets.HTML()
        self.label.add_class("rnncourse-cliff-label")
        ws, bs, loss = cliff.loss_surface()
        self.bounds = (ws[0], ws[-1], bs[0], bs[-1])
        # the gap between the panels holds the map's colorbar and the loss plot's tick labels
        fig = figstyle.subplots(1, 2, widget=True, column_widths=[0.6, 0.4],
                                horizontal_spacing=0.25, height_px=500,
                                subplot_titles=("log10 L(w, b) and the descent paths",
                                                "loss along each path"))
        fig.add_contour(x=ws, y=bs, z=np.log10(loss), colorscale="Viridis", ncontours=30,
                        colorbar=figstyle.colorbar(fig, 1, 1, title="log10 L"), row=1, col=1,
                        name="log10 L", showlegend=False)
        # one colour per path, the same on the map and in the loss plot, visible in the legend
        paths = (("plain gradient descent", "plain", figstyle.VERMILLION),
                 ("with norm clipping", "clipped", figstyle.BLACK))
        for name, group, colour in paths:
            fig.add_scatter(x=[], y=[], mode="lines+markers", name=name, row=1, col=1,
                            legendgroup=group, line=dict(color=colour, width=2),
                            marker=dict(size=4))
        fig.add_scatter(x=[cliff.START[0]], y=[cliff.START[1]], mode="markers", name="start",
                        row=1, col=1,
                        marker=dict(symbol="x", size=11, color=figstyle.ORANGE,
                                    line=dict(color=figstyle.BLACK, width=1)))
        for _, group, colour in paths:
            fig.add_scatter(x=[], y=[], mode="lines", name=f"loss, {group}", row=1, col=2,
                            legendgroup=group, showlegend=False, line=dict(color=colour))
        fig.update_xaxes(title_text="w", range=[ws[0], ws[-1]], row=1, col=1)
        fig.update_yaxes(title_text="b", range=[bs[0], bs[-1]], row=1, col=1)
        fig.update_xaxes(title_text="step", row=1, col=2)
        fig.update_yaxes(**figstyle.LOG, row=1, col=2)
        # the legend goes below the panels: beside them it would take a quarter of the width,
        # and a FigureWidget drawn before its output is laid out starts at plotly's 700 px
        fig.update_layout(uirevision="keep", margin=dict(b=110),
                          legend=dict(orientation="h", x=0, xanchor="left", y=-0.28,
                                      yanchor="top"))
        self.figure = fig
        self.figure.add_class("rnncourse-cliff-figure")
        self.widget = widgets.VBox([widgets.HBox([self.lr, self.threshold]), self.label,
                                    self.figure])
        self.widget.add_class("rnncourse-cliff-explorer")
        self.plain = self.clipped = None
        self.updates = Coalescer(self._redraw, [self.lr, self.threshold])
        self._redraw()

    def _redraw(self, change=None):
        lr, threshold = self.lr.value, self.threshold.value
        if self.plain is None or self.plain.lr != lr:  # the threshold does not change it
            self.plain = cliff.descent_path(lr=lr, threshold=None, steps=self.steps)
        plain = self.plain
        clipped = cliff.descent_path(lr=lr, threshold=threshold, steps=self.steps)
        self.clipped = clipped
        steps = np.arange(self.steps + 1)
        with self.figure.batch_update():
            for index, path in ((1, plain), (2, clipped)):
                self.figure.data[index].x = path.w
                self.figure.data[index].y = path.b
                self.figure.data[index + 3].x = steps
                self.figure.data[index + 3].y = np.where(path.loss > 0, path.loss, np.nan)
        self.label.value = (f"<b>without clipping</b>: {_path_text(plain, self.bounds)}<br>"
                            f"<b>clipped at {threshold:g}</b>: {_path_text(clipped, self.bounds)}"
                            f", {clipped.n_clipped} of {self.steps} steps clipped")

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: ten learning rates, six clipping thresholds."""
        return export(self, "cliff",
                      [("lr", grid_range(0.004, 0.04, 0.004), "learning rate"),
                       ("threshold", [1.0, 2.0, 5.0, 10.0, 20.0, 50.0], "clip at ||g||")],
                      [self.figure], [self.label])

    def _ipython_display_(self):
        display_explorer(self)


def _path_text(path, bounds) -> str:
    w0, w1, b0, b1 = bounds
    biggest = int(np.nanargmax(path.jumps)) if np.isfinite(path.jumps).any() else 0
    outside = ~((path.w >= w0) & (path.w <= w1) & (path.b >= b0) & (path.b <= b1))
    text = (f"largest step {path.max_jump:.3g} (at step {biggest}, where ||g|| = "
            f"{path.grad_norm[biggest]:.3g}), final loss {path.loss[-1]:.3g}")
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        text += (f"; <span style='color:#b00020'>thrown off the map at step {first} to "
                 f"(w, b) = ({path.w[first]:.3g}, {path.b[first]:.3g})</span>")
    return text
