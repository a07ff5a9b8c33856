"""Lesson 1's explorer: the scale of W_hh and of the inputs, steering the hidden state live.

Two sliders (``rho``, every singular value of W_hh, and the input scale) redraw a heatmap of
``h_t`` over time and the impulse response ``||dh_t / dx_1||`` on a log axis, next to the
``rho^t`` envelope that bounds it for tanh. Steps are counted as in lesson 1's text:
``t = 1, ..., T``, and ``x_1`` is the first input. Where there is nothing to fit (``rho = 0``:
the nudge reaches ``h_1`` only; input scale 0: it reaches nothing) the label and the plot say
so in words instead of printing ``nan`` over an empty plot.
"""

from __future__ import annotations

import textwrap

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from .. import figstyle, validate
from ..dynamics import fitted_decay_rate, hidden_states, impulse_response, scaled_rnn_params
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export, grid_range

_FLOOR = 1e-300  # what a log axis can show; smaller responses are reported in words


class HiddenStateExplorer:
    """Sliders for ``rho`` (scale of W_hh) and the input scale over one input sequence.

    ``x`` is ``(T, I)`` or ``(T, 1, I)``. After construction, ``explorer.widget`` is the
    ipywidgets box to display (displaying the explorer itself shows it too). Setting
    ``explorer.w_scale.value`` or ``explorer.input_scale.value`` recomputes and redraws in place.
    """

    def __init__(self, x, hidden_size: int = 32, *, w_scale: float = 0.9,
                 input_scale: float = 1.0, seed: int = 0):
        x = validate.as_float_array("x", x)
        if x.ndim == 2:
            x = x[:, None, :]
        validate.check_shape("x", x, [("T", None), ("B", 1), ("I", None)])
        self.x = x
        self.hidden_size = validate.positive_int("hidden_size", hidden_size)
        self.seed = seed
        T = x.shape[0]
        self.w_scale = widgets.FloatSlider(value=w_scale, min=0.0, max=2.0, step=0.05,
                                           description="rho (W_hh)", continuous_update=True)
        self.input_scale = widgets.FloatSlider(value=input_scale, min=0.0, max=5.0, step=0.1,
                                               description="input scale", continuous_update=True)
        self.w_scale.add_class("rnncourse-hidden-rho")
        self.input_scale.add_class("rnncourse-hidden-input")
        self.label = widgets.HTML()
        self.label.add_class("rnncourse-hidden-label")
        steps = np.arange(1, T + 1)  # t = 1..T, as the lesson's text counts
        self.heatmap = figstyle.figure(
            [go.Heatmap(x=steps, z=np.zeros((self.hidden_size, T)), zmin=-1, zmax=1,
                        colorscale=figstyle.DIVERGING, colorbar=dict(title="h"))],
            widget=True, title="hidden state h_t (one row per unit)",
            xaxis_title="time step t", yaxis_title="unit")
        self.response = figstyle.figure(
            [go.Scatter(x=steps, y=np.ones(T), mode="lines", name="||dh_t/dx_1||",
                        line=dict(color=figstyle.BLUE)),
             go.Scatter(x=steps, y=np.ones(T), mode="lines", name="ρ^(t−1) (bound shape)",
                        line=dict(dash="dot", color=figstyle.VERMILLION))],
            widget=True, title="impulse response: a nudge to x_1, followed through time",
            xaxis_title="time step t", yaxis_title="response per unit of nudge")
        self.response.update_yaxes(**figstyle.LOG)
        self.response.add_annotation(text="", xref="paper", yref="paper", x=0.5, y=0.5,
                                     showarrow=False, visible=False,
                                     font=dict(size=figstyle.FONT_SIZE + 1))
        self.widget = widgets.VBox([widgets.HBox([self.w_scale, self.input_scale]), self.label,
                                    self.heatmap, self.response])
        self.widget.add_class("rnncourse-hidden-explorer")
        self.updates = Coalescer(self._redraw, [self.w_scale, self.input_scale])
        self._redraw()

    def compute(self, rho: float, input_scale: float):
        """Hidden states ``(T, H)``, the impulse response ``(T,)`` and its fitted rate."""
        params = scaled_rnn_params(self.x.shape[2], self.hidden_size, w_scale=rho,
                                   input_scale=input_scale, seed=self.seed)
        h = hidden_states(self.x, params)[:, 0, :]
        response = impulse_response(self.x, params)
        return h, response, fitted_decay_rate(response)

    def _redraw(self, change=None):
        rho, scale = self.w_scale.value, self.input_scale.value
        h, response, rate = self.compute(rho, scale)
        T = response.size
        with np.errstate(under="ignore"):
            envelope = response[0] * rho ** np.arange(T, dtype=float)
        vanished = int(np.sum(response < _FLOOR))
        shown = np.where(response < _FLOOR, np.nan, response)
        with self.heatmap.batch_update():
            self.heatmap.data[0].z = h.T
        empty = None if np.isfinite(rate) else _nothing_to_fit(rho, scale, response)
        with self.response.batch_update():
            self.response.data[0].y = shown
            self.response.data[1].y = np.where(envelope < _FLOOR, np.nan, envelope)
            note = self.response.layout.annotations[0]
            note.text = "<br>".join(textwrap.wrap(empty or "", 70))
            note.visible = empty is not None
            if empty is None:
                self.response.layout.yaxis.autorange = True
            else:  # a fixed range of whole decades: no crowded ticks around a lone point
                self.response.layout.yaxis.update(autorange=False, range=[-3, 3])
        head = f"rho = {rho:.2f}, input scale = {scale:.1f}: "
        if empty is not None:
            self.label.value = head + f"no per-step factor to fit: {empty}"
        else:
            note = (f"; {vanished} steps fell below {_FLOOR:.0e} (not drawn)" if vanished
                    else "")
            self.label.value = head + (
                f"fitted per-step factor <b>{rate:.3f}</b>; response at t = {T}: "
                f"{response[-1]:.2e} of the kick{note}")
        self.rate = rate
        self.last_response = response

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: rho from 0 to 2 in steps of 0.1, two input scales
        (each frame holds the whole heatmap: 84 frames made lesson 1's page 8.4 MB)."""
        return export(self, "hidden",
                      [("w_scale", grid_range(0.0, 2.0, 0.1), "rho (W_hh)"),
                       ("input_scale", [1.0, 3.0], "input scale")],
                      [self.heatmap, self.response], [self.label])

    def _ipython_display_(self):
        display_explorer(self)


def _nothing_to_fit(rho: float, input_scale: float, response: np.ndarray) -> str | None:
    """Why the impulse response has no decay rate (its fit gave nan), in words."""
    if input_scale == 0 or not np.any(response > 0):
        return ("with input scale 0, W_xh = 0: the input never reaches the hidden state, so "
                "the response is 0 at every step")
    if rho == 0:
        return ("with rho = 0, W_hh = 0: h_t does not depend on h_(t−1), so the nudge to x_1 "
                "moves h_1 only and the response is 0 from t = 2 on")
    return ("the response is 0 (below float64's smallest number) after a few steps: it fell "
            "too fast to fit a per-step factor")
