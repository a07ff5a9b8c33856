"""Lesson 7b's LRU explorer: the ring of eigenvalues sets how far back the gradient reaches.

Sliders move ``r_min``, ``r_max`` (the ring ``r_min <= |lambda| <= r_max`` of
:func:`rnncourse.linear_rnn.ring_init`) and the phase range ``[0, max_phase]``. Left: the N
eigenvalues on the complex plane with the unit circle and the ring. Right: ``||dL/dh_t||``
against t for ``L = Re(sum_j h_{T,j})``, computed by autograd through
:func:`rnncourse.scan.blelloch_torch`, with the two slopes ``r_min^(T-t)`` and ``r_max^(T-t)``
dashed: mode j falls by exactly ``|lambda_j|`` per step, so far back only the slowest modes
are left and the curve follows ``r_max^(T-t)``. The phase turns the modes but never changes a
norm. Each update is one scan forward and backward (T = 200, N = 32: a few milliseconds).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from .. import figstyle, scan, validate
from ..linear_rnn import lru_eigenvalues, ring_init
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export, grid_range

R_RANGE = (0.0, 0.995, 0.005)
PHASE_RANGE = (0.05, 6.25, 0.05)  # up to just below 2 pi
_EIG, _CIRCLE, _RMIN, _RMAX, _NORM, _SLOW, _FAST = range(7)


def gradient_norms(lam: np.ndarray, seq_len: int) -> np.ndarray:
    """``||dL/dh_t||`` for t = 1..T, ``L = Re(sum_j h_{T,j})`` of ``h_t = lambda h_{t-1} + b_t``.

    Measured by autograd through the scan (the gradient with respect to ``b_t`` is the one
    with respect to ``h_t``): ``(T,)``.
    """
    lam_t = torch.as_tensor(np.asarray(lam, dtype=np.complex128))
    b = torch.zeros(seq_len, lam_t.shape[0], dtype=torch.complex128, requires_grad=True)
    h = scan.blelloch_torch(lam_t.expand(seq_len, -1), b)
    h[-1].real.sum().backward()
    return b.grad.abs().norm(dim=1).numpy()


class LRUExplorer:
    """Controls ``r_min``, ``r_max``, ``phase`` (max phase); ``figure``, ``label``, ``message``.

    ``eigenvalues`` and ``norms`` hold what was drawn last. Setting a control's ``value`` from
    code redraws at once, exactly as dragging it does.
    """

    def __init__(self, *, r_min: float = 0.5, r_max: float = 0.95, max_phase: float = 3.14,
                 n_modes: int = 32, seq_len: int = 200, seed: int = 0):
        validate.number_in_range("r_min", r_min, R_RANGE[0], R_RANGE[1])
        validate.number_in_range("r_max", r_max, R_RANGE[0], R_RANGE[1])
        validate.number_in_range("max_phase", max_phase, PHASE_RANGE[0], PHASE_RANGE[1])
        self.n_modes = validate.positive_int("n_modes", n_modes)
        self.seq_len = validate.positive_int("seq_len", seq_len, minimum=2)
        self.seed = seed
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="360px")
        self.r_min = widgets.FloatSlider(value=r_min, min=R_RANGE[0], max=R_RANGE[1],
                                         step=R_RANGE[2], readout_format=".3f",
                                         description="r_min", style=style, layout=layout)
        self.r_max = widgets.FloatSlider(value=r_max, min=R_RANGE[0], max=R_RANGE[1],
                                         step=R_RANGE[2], readout_format=".3f",
                                         description="r_max", style=style, layout=layout)
        self.phase = widgets.FloatSlider(value=max_phase, min=PHASE_RANGE[0],
                                         max=PHASE_RANGE[1], step=PHASE_RANGE[2],
                                         readout_format=".2f", description="max phase",
                                         style=style, layout=layout)
        self.controls = {"rmin": self.r_min, "rmax": self.r_max, "phase": self.phase}
        for name, control in self.controls.items():
            control.add_class(f"rnncourse-lru-{name}")
        self.label = widgets.HTML()
        self.label.add_class("rnncourse-lru-label")
        self.message = widgets.HTML()
        self.message.add_class("rnncourse-lru-message")
        self.figure = self._make_figure()
        self.figure.add_class("rnncourse-lru-figure")
        self.widget = widgets.VBox([widgets.HBox([self.r_min, self.r_max, self.phase]),
                                    self.label, self.message, self.figure])
        self.widget.add_class("rnncourse-lru-explorer")
        self.eigenvalues: np.ndarray | None = None
        self.norms: np.ndarray | None = None
        # a burst of slider changes from the browser redraws once, for the latest values
        self.updates = Coalescer(self._redraw, self.controls.values())
        self._redraw()

    def _make_figure(self) -> go.FigureWidget:
        fig = figstyle.subplots(1, 2, widget=True, column_widths=[0.4, 0.6],
                                subplot_titles=("eigenvalues λ_j",
                                                "||dL/dh_t|| back through time"))
        angle = np.linspace(0, 2 * np.pi, 181)
        fig.add_scatter(x=[], y=[], mode="markers", name="λ_j", row=1, col=1,
                        marker=dict(color=figstyle.BLUE, size=6))
        fig.add_scatter(x=np.cos(angle), y=np.sin(angle), mode="lines", name="|λ| = 1",
                        row=1, col=1, line=dict(color=figstyle.GREY, width=1))
        fig.add_scatter(x=[], y=[], mode="lines", name="r_min", row=1, col=1,
                        line=dict(color=figstyle.ORANGE, dash="dot"))
        fig.add_scatter(x=[], y=[], mode="lines", name="r_max", row=1, col=1,
                        line=dict(color=figstyle.VERMILLION, dash="dot"))
        fig.add_scatter(x=[], y=[], mode="lines", name="||dL/dh_t|| (autograd)", row=1, col=2,
                        line=dict(color=figstyle.BLUE, width=2))
        fig.add_scatter(x=[], y=[], mode="lines", name="r_max^(T−t)", row=1, col=2,
                        line=dict(color=figstyle.VERMILLION, dash="dash"))
        fig.add_scatter(x=[], y=[], mode="lines", name="r_min^(T−t)", row=1, col=2,
                        line=dict(color=figstyle.ORANGE, dash="dash"))
        fig.update_layout(uirevision="keep")
        fig.update_xaxes(range=[-1.1, 1.1], title_text="Re λ", row=1, col=1)
        fig.update_yaxes(range=[-1.1, 1.1], title_text="Im λ", scaleanchor="x", row=1, col=1)
        fig.update_xaxes(title_text="t", row=1, col=2)
        fig.update_yaxes(**figstyle.LOG, row=1, col=2)
        return fig

    def compute(self):
        """``(eigenvalues (N,), norms (T,))`` for the current sliders; None if r_min >= r_max."""
        if self.r_min.value >= self.r_max.value:
            return None
        nu_log, theta_log = ring_init(self.n_modes, self.r_min.value, self.r_max.value,
                                      self.phase.value, rng=self.seed)
        lam = lru_eigenvalues(nu_log, theta_log)
        return lam, gradient_norms(lam, self.seq_len)

    def _redraw(self, change=None):
        result = self.compute()
        if result is None:
            self.message.value = ("<span style='color:#b00020'>r_min must be below r_max: move "
                                  "one of them</span>")
            return
        self.message.value = ""
        lam, norms = result
        self.eigenvalues, self.norms = lam, norms
        T = self.seq_len
        t = np.arange(1, T + 1)
        angle = np.linspace(0, 2 * np.pi, 121)
        r_lo, r_hi = self.r_min.value, self.r_max.value
        floor = 1e-30
        with self.figure.batch_update():
            self.figure.data[_EIG].x, self.figure.data[_EIG].y = lam.real, lam.imag
            for index, r in ((_RMIN, r_lo), (_RMAX, r_hi)):
                self.figure.data[index].x = r * np.cos(angle)
                self.figure.data[index].y = r * np.sin(angle)
            top = norms[-1]
            self.figure.data[_NORM].x, self.figure.data[_NORM].y = t, np.maximum(norms, floor)
            self.figure.data[_SLOW].x = t
            self.figure.data[_SLOW].y = np.maximum(top * r_hi ** (T - t), floor)
            self.figure.data[_FAST].x = t
            self.figure.data[_FAST].y = np.maximum(top * r_lo ** (T - t), floor)
            low = max(float(np.log10(max(norms.min(), floor))), -30.0)
            self.figure.layout.yaxis2.range = [low - 0.5, float(np.log10(top)) + 0.5]
        rate = float((norms[0] / norms[T // 2]) ** (1 / (T // 2)))
        horizon = (-1 / np.log(r_hi)) if r_hi > 0 else 0.0
        self.label.value = (f"|λ| from {np.abs(lam).min():.3f} to {np.abs(lam).max():.3f}; "
                            f"per-step rate of ||dL/dh_t|| over the first half: <b>{rate:.3f}</b>"
                            f" (r_max = {r_hi:.3f}); memory horizon −1/ln r_max = "
                            f"<b>{horizon:.1f}</b> steps")

    def benchmark_moves(self):
        """(control, value) pairs for ``make bench``'s latency measurement."""
        return ([(self.r_max, v) for v in (0.9, 0.95, 0.99, 0.995, 0.97)]
                + [(self.phase, v) for v in (0.5, 1.0, 3.0, 6.0)]
                + [(self.r_min, v) for v in (0.0, 0.3, 0.6, 0.8)])

    def static(self) -> StaticExplorer:
        """This explorer without a kernel: r_max from 0.6 to 0.99 and four largest phases."""
        return export(self, "lru",
                      [("r_max", grid_range(0.6, 0.99, 0.03), "r_max"),
                       ("phase", [0.5, 1.57, 3.14, 6.2], "max phase")],
                      [self.figure], [self.label, self.message])

    def _ipython_display_(self):
        display_explorer(self)
