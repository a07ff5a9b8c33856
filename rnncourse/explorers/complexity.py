"""Lesson 2's complexity explorer: pick T, H and I; see the predicted FLOPs and a measured time.

The figure puts the current setting as a star on a log-log plot of time against FLOPs, next to
the points the lesson measured on a grid and the line ``time = FLOPs / rate`` at the rate fitted
to those points: where the star sits above the line, overheads rather than arithmetic dominate.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from .. import figstyle, validate
from ..complexity import rnn_flops, time_rnn
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export


class ComplexityExplorer:
    """Sliders for T, H, I of a numpy tanh RNN (forward + BPTT, batch ``batch``).

    ``grid_flops`` and ``grid_times`` (optional) are earlier measurements drawn for reference.
    """

    def __init__(self, grid_flops=(), grid_times=(), *, batch: int = 8, repeats: int = 2,
                 seq_len: int = 50, hidden_size: int = 64, input_size: int = 16):
        self.batch = validate.positive_int("batch", batch)
        self.repeats = validate.positive_int("repeats", repeats)
        grid_flops = np.asarray(grid_flops, dtype=float)
        grid_times = np.asarray(grid_times, dtype=float)
        if grid_flops.shape != grid_times.shape:
            raise ValueError(f"grid_flops and grid_times: expected the same shape, got "
                             f"{grid_flops.shape} and {grid_times.shape}")
        self.seq_len = widgets.IntSlider(value=seq_len, min=10, max=200, step=10, description="T")
        self.hidden_size = widgets.SelectionSlider(options=[16, 32, 64, 128, 256, 512],
                                                   value=hidden_size, description="H")
        self.input_size = widgets.SelectionSlider(options=[1, 4, 16, 64, 256], value=input_size,
                                                  description="I")
        for slider, name in ((self.seq_len, "T"), (self.hidden_size, "H"), (self.input_size, "I")):
            slider.continuous_update = False  # each value costs a measurement
            slider.add_class(f"rnncourse-complexity-{name}")
        self.label = widgets.HTML()
        self.label.add_class("rnncourse-complexity-label")
        rate = float(np.median(grid_flops / grid_times)) if grid_flops.size else None
        self.rate = rate
        span = np.geomspace(1e4, 1e10, 20)
        data = [go.Scatter(x=grid_flops, y=grid_times, mode="markers", name="lesson's grid",
                           marker=dict(color=figstyle.BLUE, size=7)),
                go.Scatter(x=[1.0], y=[1.0], mode="markers", name="this setting",
                           marker=dict(symbol="star", size=16, color=figstyle.VERMILLION))]
        if rate:
            data.append(go.Scatter(x=span, y=span / rate, mode="lines", name="FLOPs / rate",
                                   line=dict(dash="dot", color=figstyle.GREY)))
        self.figure = figstyle.figure(data, widget=True,
                                      xaxis_title="FLOPs, forward + BPTT: 6 T B (H² + H I)",
                                      yaxis_title="measured seconds")
        self.figure.update_xaxes(**figstyle.LOG)
        self.figure.update_yaxes(**figstyle.LOG)
        self.widget = widgets.VBox([widgets.HBox([self.seq_len, self.hidden_size,
                                                  self.input_size]), self.label, self.figure])
        self.widget.add_class("rnncourse-complexity-explorer")
        self.updates = Coalescer(self._redraw, [self.seq_len, self.hidden_size, self.input_size])
        self._redraw()

    def _redraw(self, change=None):
        T, H, I = self.seq_len.value, self.hidden_size.value, self.input_size.value
        flops = rnn_flops(T, H, I, self.batch, backward=True)
        seconds = time_rnn(T, H, I, self.batch, backward=True, repeats=self.repeats)
        with self.figure.batch_update():
            self.figure.data[1].x = [flops]
            self.figure.data[1].y = [seconds]
        predicted = f"; at the grid's rate: {1e3 * flops / self.rate:.2f} ms" if self.rate else ""
        self.label.value = (
            f"T={T}, H={H}, I={I}, B={self.batch}: <b>{flops / 1e6:.1f} MFLOP</b> predicted, "
            f"<b>{1e3 * seconds:.2f} ms</b> measured ({flops / seconds / 1e9:.2f} GFLOP/s)"
            f"{predicted}"
        )
        self.flops, self.seconds = flops, seconds

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: five lengths T and every H (each one measured)."""
        return export(self, "complexity",
                      [("seq_len", [10, 50, 100, 150, 200], "T"),
                       ("hidden_size", list(self.hidden_size.options), "H")],
                      [self.figure], [self.label])

    def _ipython_display_(self):
        display_explorer(self)
