"""Lesson 3's gates explorer: a trained LSTM's gates and states over one sequence, live.

Top: the input (values, marked steps), the target and the model's prediction. Below, one
heatmap per quantity, one row per unit, time left to right: the forget gate ``f_t``, the input
gate ``i_t``, the output gate ``o_t`` (all in [0, 1], one colour scale), the cell state ``c_t``
(its own symmetric scale, rescaled on every update so a growing cell stays readable) and the
hidden state ``h_t`` (in [-1, 1]).

Controls: a dropdown for the example and a slider that *adds* a shift to every unit's trained
forget-gate bias ``b_f`` (0 is the trained model). Every update runs the numpy reference
:func:`rnncourse.np_lstm.lstm_forward` (float64) through :func:`rnncourse.variants.gate_trace`
on the trained weights (a millisecond for T = 40, H = 8) and updates the figure in place.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import figstyle, validate
from ..np_common import check_params
from ..np_lstm import LSTM_GATES
from ..variants import GateTrace, _head, gate_trace
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export, grid_range

__all__ = ["GatesExplorer", "SHIFT_RANGE"]

SHIFT_RANGE = (-6.0, 6.0, 0.5)  # min, max, step of the forget-bias shift
_ROWS = ("f", "i", "o", "c", "h")
_TITLES = {"f": "forget gate f_t", "i": "input gate i_t", "o": "output gate o_t",
           "c": "cell state c_t", "h": "hidden state h_t"}
_VALUES, _MARKED, _TARGET, _PRED = range(4)  # line traces of the top panel
_HEAT = {name: 4 + k for k, name in enumerate(_ROWS)}  # heatmap trace index per quantity


def _number(name, value, bounds):
    low, high, _ = bounds
    return validate.number_in_range(name, value, low, high)


def _colorbar(title, top, bottom):
    """A colour bar beside the rows between ``bottom`` and ``top`` (paper coordinates)."""
    return dict(title=title, y=(top + bottom) / 2, yanchor="middle", len=top - bottom,
                thickness=12, x=1.02)


class GatesExplorer:
    """Dropdown for the example, slider for the forget-bias shift, heatmaps of f, i, o, c, h.

    ``GatesExplorer(params, head, x, y=None)``: ``params`` an LSTM dict (float64, the
    conventions' keys, with biases), ``head`` ``{"W_hy": (O, H), "b_y": (O,)}``, ``x`` the
    examples ``(T, N, I)`` (channel 0 is drawn as the input value, channel 1, if any, as the
    markers), ``y`` their targets ``(T, N, O)``. Attributes: ``widget`` (the box to display),
    ``example`` (Dropdown), ``forget_bias`` (FloatSlider, the shift added to ``b_f``),
    ``label`` (HTML), ``figure`` (FigureWidget) and ``trace``, the last
    :class:`~rnncourse.variants.GateTrace` drawn. Setting a control's ``value`` redraws at once.
    """

    def __init__(self, params, head, x, y=None, *, example: int = 0, forget_bias: float = 0.0,
                 title: str | None = None):
        H, I, has_bias = check_params(params, LSTM_GATES)
        if not has_bias:
            raise ValueError("params: expected an LSTM with biases (the slider shifts b_f), got "
                             "one without")
        W, b = _head(head, H)
        if hasattr(x, "detach"):
            x = x.detach().double().numpy()
        x = validate.array("x", x, [("T", None), ("N", None), ("I", I)])
        T, N, _ = x.shape
        if y is not None:
            if hasattr(y, "detach"):
                y = y.detach().double().numpy()
            y = validate.array("y", y, [("T", T), ("N", N), ("O", W.shape[0])])
        if isinstance(example, bool) or not isinstance(example, (int, np.integer)):
            raise TypeError(f"example: expected an int in [0, {N - 1}], got "
                            f"{type(example).__name__}")
        if not 0 <= example < N:
            raise ValueError(f"example: expected an int in [0, {N - 1}], got {example}")
        shift = _number("forget_bias", forget_bias, SHIFT_RANGE)
        self.params, self.head, self.x, self.y = params, {"W_hy": W, "b_y": b}, x, y
        self.hidden_size = H
        options = []
        for k in range(N):
            text = f"example {k}"
            if I >= 2:
                text += f" ({int(np.sum(x[:, k, 1] > 0))} marked steps)"
            options.append((text, k))
        style = {"description_width": "130px"}
        self.example = widgets.Dropdown(options=options, value=int(example),
                                        description="example", style=style,
                                        layout=widgets.Layout(width="340px"))
        self.forget_bias = widgets.FloatSlider(
            value=shift, min=SHIFT_RANGE[0], max=SHIFT_RANGE[1], step=SHIFT_RANGE[2],
            readout_format="+.1f", description="forget bias shift", style=style,
            layout=widgets.Layout(width="420px"), continuous_update=True)
        self.forget_bias.tooltip = "added to every unit's trained b_f (0 = the trained model)"
        self.example.add_class("rnncourse-gates-example")
        self.forget_bias.add_class("rnncourse-gates-forget-bias")
        self.label = widgets.HTML()
        self.label.add_class("rnncourse-gates-label")
        self.figure = self._make_figure(title)
        self.figure.add_class("rnncourse-gates-figure")
        self.widget = widgets.VBox([widgets.HBox([self.example, self.forget_bias]), self.label,
                                    self.figure])
        self.widget.add_class("rnncourse-gates-explorer")
        self.trace: GateTrace | None = None
        self.updates = Coalescer(self._redraw, [self.example, self.forget_bias])
        self._redraw()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_model(cls, model, x, y=None, **kwargs) -> GatesExplorer:
        """From a trained :class:`~rnncourse.models.SequenceRegressor` with a one-layer LSTM
        core: its weights are converted to float64 numpy (:func:`rnncourse.variants.lstm_arrays`).
        """
        from ..variants import lstm_arrays

        params, head = lstm_arrays(model)
        return cls(params, head, x, y, **kwargs)

    @classmethod
    def demo(cls, steps: int = 400, seed: int = 0, n_examples: int = 8) -> GatesExplorer:
        """A ready explorer: lesson 3's LSTM (H = 8) trained on the marked-value task for
        ``steps`` steps (about two seconds; cached, so later calls are instant)."""
        from ..variants import MARKED_VALUE_DEFAULTS, _cached_marked_value, marked_value_test_set

        result = _cached_marked_value(steps, seed)
        d = MARKED_VALUE_DEFAULTS
        x, y = marked_value_test_set(d["T"], n_examples, seed=7, p=d["p"])
        return cls.from_model(result.model, x, y,
                              title=f"LSTM (H = {d['hidden_size']}) after {steps} steps on the "
                                    "marked-value task")

    def benchmark_moves(self) -> list:
        """``(control, value)`` pairs, each a change, exercising every update path."""
        examples = [value for _, value in self.example.options]
        moves = [(self.example, k) for k in examples[1:6]]
        moves += [(self.forget_bias, v) for v in (1.0, 2.0, 4.0, 6.0, -2.0, -6.0, 0.0)]
        moves += [(self.example, examples[0])]
        return moves

    def _make_figure(self, title) -> go.FigureWidget:
        T, H = self.x.shape[0], self.hidden_size
        steps = np.arange(T)
        base = make_subplots(rows=6, cols=1, shared_xaxes=True, vertical_spacing=0.045,
                             row_heights=[0.2] + [0.16] * 5,
                             subplot_titles=("", *(_TITLES[k] for k in _ROWS)))
        # before the widget is made; autosize: fill the column (see figstyle.figure)
        base.update_layout(template=figstyle.register(), autosize=True)
        fig = figstyle._widget(base)
        fig.add_scatter(x=steps, y=np.zeros(T), mode="markers", name="input value",
                        marker=dict(color=figstyle.GREY, size=5), row=1, col=1)
        fig.add_scatter(x=[], y=[], mode="markers", name="marked step",
                        marker=dict(color=figstyle.VERMILLION, size=10, symbol="diamond"),
                        row=1, col=1)
        fig.add_scatter(x=steps, y=np.zeros(T), mode="lines", name="target",
                        line=dict(color=figstyle.GREEN, shape="hv", width=2), row=1, col=1)
        fig.add_scatter(x=steps, y=np.zeros(T), mode="lines", name="prediction",
                        line=dict(color=figstyle.BLUE, dash="dot", width=2), row=1, col=1)
        zeros = np.zeros((H, T))
        colour = {"f": "coloraxis", "i": "coloraxis", "o": "coloraxis", "c": "coloraxis2",
                  "h": "coloraxis3"}
        for row, name in enumerate(_ROWS, start=2):
            fig.add_heatmap(x=steps, y=np.arange(H), z=zeros, coloraxis=colour[name],
                            name=name, hovertemplate=f"t=%{{x}} unit %{{y}}: {name} = "
                                                     "%{z:.3f}<extra></extra>",
                            row=row, col=1)
        fig.update_layout(
            height=820, margin=dict(l=60, r=30, t=80 if title else 50, b=40),
            title=dict(text=title, x=0.01, y=0.99, yanchor="top") if title else None,
            legend=dict(orientation="h", x=0.5, xanchor="center", y=1.0, yanchor="bottom"),
            coloraxis=dict(cmin=0, cmax=1, colorscale="Viridis",
                           colorbar=_colorbar("gate", fig.layout.yaxis2.domain[1],
                                              fig.layout.yaxis4.domain[0])),
            coloraxis2=dict(cmin=-1, cmax=1, colorscale=figstyle.DIVERGING,
                            colorbar=_colorbar("c", *fig.layout.yaxis5.domain[::-1])),
            coloraxis3=dict(cmin=-1, cmax=1, colorscale=figstyle.DIVERGING,
                            colorbar=_colorbar("h", *fig.layout.yaxis6.domain[::-1])),
            uirevision="keep")
        for row in range(2, 7):
            fig.update_yaxes(title_text="unit", showgrid=False, row=row, col=1)
        fig.update_xaxes(title_text="time step t", row=6, col=1)
        return fig

    # ------------------------------------------------------------------ callback

    def compute(self, example: int | None = None, forget_bias: float | None = None) -> GateTrace:
        """The gate trace for one example and shift (the current control values by default)."""
        k = self.example.value if example is None else example
        shift = self.forget_bias.value if forget_bias is None else forget_bias
        return gate_trace(self.params, self.head, self.x[:, k:k + 1, :], shift)

    def _redraw(self, change=None):
        k, shift = self.example.value, self.forget_bias.value
        r = self.compute(k, shift)
        self.trace = r
        x = self.x[:, k, :]
        steps = np.arange(x.shape[0])
        marked = np.flatnonzero(x[:, 1] > 0) if x.shape[1] >= 2 else np.array([], dtype=int)
        c_scale = max(1.0, float(np.max(np.abs(r.c))))
        with self.figure.batch_update():
            data = self.figure.data
            data[_VALUES].y = x[:, 0]
            data[_MARKED].x, data[_MARKED].y = steps[marked], x[marked, 0]
            data[_TARGET].visible = self.y is not None
            if self.y is not None:
                data[_TARGET].y = self.y[:, k, 0]
            data[_PRED].y = r.prediction[:, 0, 0]
            for name in _ROWS:
                data[_HEAT[name]].z = getattr(r, name)[:, 0, :].T  # (H, T): one row per unit
            self.figure.layout.coloraxis2.cmin = -c_scale
            self.figure.layout.coloraxis2.cmax = c_scale
        self.label.value = self._label_html(r, k, shift)

    def _label_html(self, r: GateTrace, k: int, shift: float) -> str:
        parts = [f"Δb_f = <b>{shift:+.1f}</b>", f"mean forget gate <b>{r.f.mean():.3f}</b>",
                 f"mean input gate {r.i.mean():.3f}",
                 f"largest |c_t| <b>{float(np.max(np.abs(r.c))):.2f}</b>"]
        if self.y is not None:
            y = self.y[:, k:k + 1, :]
            parts.append(f"MSE on this example <b>{r.mse(y):.4f}</b> "
                         f"(predicting 0: {float(np.mean(y ** 2)):.4f})")
        return " &nbsp;|&nbsp; ".join(parts)

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: forget-bias shifts from -4 to +4 and every example."""
        return export(self, "gates",
                      [("forget_bias", grid_range(-4.0, 4.0, 1.0), "forget bias shift"),
                       ("example", [v for _, v in self.example.options], "example")],
                      [self.figure], [self.label])

    def _ipython_display_(self):
        display_explorer(self)
