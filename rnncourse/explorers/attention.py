"""Lesson 7's attention explorer: pick a held-out example or type a source, read the alignment.

A trained :class:`rnncourse.seq2seq.Seq2Seq` with attention decodes the source greedily; the
heatmap shows ``alpha_{t,i}``: one row per output character (top to bottom, the last row is the
end token), one column per source character. Axes are numeric positions with the
characters as tick labels, so repeated characters never merge into one row or column. Above the
map: the model's output, the correct answer when the task knows one, and the attention mass on
the source positions the task says each output comes from.

Invalid typed input (empty, unknown characters, too long) shows a message in the widget and
clears the map; nothing raises.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from .. import figstyle
from ..seq2seq import Seq2Seq, Task, alignment_mass, make_split, reversal_task, train
from .coalesce import Coalescer
from .static import StaticExplorer, display_explorer, export

__all__ = ["AttentionExplorer", "alignment_figure"]

_SHOW = {" ": "␣"}
END = "⟨end⟩"  # the end-token row's label ("</s>" would read as markup to plotly: blank)
CELL_PX = 34   # px per heatmap cell: 16-17 source characters still read at a glance


def _label(char: str) -> str:
    return _SHOW.get(char, char)


def _axes(source: str, output: str, weights: np.ndarray):
    """Numeric positions, tick labels and hover text of one alignment map."""
    out_labels = list(output[: weights.shape[0]])
    out_labels += [END] * (weights.shape[0] - len(out_labels))
    # plain lists: plotly would send numpy int64 positions as a typed array plotly.js misreads
    rows, cols = list(range(weights.shape[0])), list(range(weights.shape[1]))
    hover = [[f"output {j} {out_labels[j]!r} ← source {i} {source[i]!r}: "
              f"α = {weights[j, i]:.3f}" for i in cols] for j in rows]
    return rows, cols, [_label(c) for c in out_labels], [_label(c) for c in source], hover


def _label_axes(fig: go.Figure, xlab: list[str], ylab: list[str]) -> None:
    """Tick labels for every source character and every output step (end token included)."""
    width = max(len(xlab), 1) * CELL_PX
    figstyle.label_axis(fig, xlab, "x", px=width, title="source character")
    figstyle.label_axis(fig, ylab, "y", px=max(len(ylab), 1) * CELL_PX * 0.7,
                        title="output character")
    fig.update_xaxes(side="bottom", constrain="domain")
    fig.update_yaxes(constrain="domain")


def _height(n_rows: int) -> int:
    return figstyle.heatmap_height(n_rows, cell_px=CELL_PX * 0.7, min_px=figstyle.HEIGHT,
                                   extra_px=170)


def alignment_figure(source: str, output: str, weights: np.ndarray, *, title: str = "",
                     height: int | None = None) -> go.Figure:
    """A static heatmap of ``weights (T_out, S)``: rows are output steps (the last one the end
    token, labelled ``⟨end⟩``), columns source positions, labelled by character at numeric
    positions (so repeated characters stay separate). ``height`` defaults to what the rows
    need (:func:`rnncourse.figstyle.heatmap_height`)."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != len(source):
        raise ValueError(f"weights: expected shape (T_out, S) with S = len(source) = "
                         f"{len(source)}, got {weights.shape}")
    rows, cols, ylab, xlab, hover = _axes(source, output, weights)
    fig = figstyle.figure(go.Heatmap(z=weights.tolist(), x=cols, y=rows, zmin=0, zmax=1,
                                     colorscale=figstyle.SEQUENTIAL, colorbar=dict(title="α"),
                                     xgap=1, ygap=1, text=hover,
                                     hovertemplate="%{text}<extra></extra>"),
                          title=title, height=height or _height(len(rows)))
    _label_axes(fig, xlab, ylab)
    return fig


class AttentionExplorer:
    """Dropdown of held-out examples, a text box, the predicted output and the attention map.

    ``AttentionExplorer(model, task, examples)``: ``examples`` are ``(source, target)`` pairs or
    sources (the first ``max_examples`` are offered). Attributes: ``widget`` (the box to
    display), ``example`` (Dropdown), ``text`` (Text), ``output`` (HTML with the prediction),
    ``message`` (HTML, warnings), ``figure`` (FigureWidget with one Heatmap), and after each
    update ``source``, ``prediction`` (str or None), ``weights`` (``(T_out, S)`` array or
    None) and ``problem`` (the message as plain text, or None). Setting ``example.value`` or
    ``text.value`` from code updates at once.
    """

    def __init__(self, model: Seq2Seq, task: Task, examples: Sequence, *, max_examples: int = 40,
                 title: str | None = None):
        if not isinstance(model, Seq2Seq):
            raise TypeError(f"model: expected a rnncourse.seq2seq.Seq2Seq, got "
                            f"{type(model).__name__}")
        if model.attention is None:
            raise ValueError("model: expected a model with attention (attention='additive', "
                             "'dot' or 'general'), got attention=None: there is nothing to map")
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a rnncourse.seq2seq.Task, got {type(task).__name__}")
        sources = [e[0] if isinstance(e, tuple) else e for e in examples][:max_examples]
        if not sources or not all(isinstance(s, str) for s in sources):
            raise ValueError("examples: expected a non-empty list of (source, target) pairs or "
                             f"source strings, got {list(examples)[:3]!r}")
        for s in sources:
            problem = task.check_input(s)
            if problem:
                raise ValueError(f"examples: {s!r} is not a valid source: {problem}")
        self.model, self.task = model, task
        self.title = title or task.description
        options = []
        for s in sources:
            ref = task.reference(s)
            options.append((f"{s}  →  {ref}" if ref is not None else s, s))
        style = {"description_width": "90px"}
        self.example = widgets.Dropdown(options=options, value=sources[0],
                                        description="held-out", style=style,
                                        layout=widgets.Layout(width="360px"))
        self.example.add_class("rnncourse-attention-example")
        self.text = widgets.Text(value=sources[0], description="or type",
                                 placeholder=f"at most {task.max_src_len} characters",
                                 style=style, layout=widgets.Layout(width="360px"))
        self.text.add_class("rnncourse-attention-input")
        self.output = widgets.HTML()
        self.output.add_class("rnncourse-attention-output")
        self.message = widgets.HTML()
        self.message.add_class("rnncourse-attention-message")
        self.figure = self._make_figure()
        self.figure.add_class("rnncourse-attention-heatmap")
        self.widget = widgets.VBox([widgets.HBox([self.example, self.text]), self.output,
                                    self.message, self.figure])
        self.widget.add_class("rnncourse-attention-explorer")
        self.source: str | None = None
        self.prediction: str | None = None
        self.weights: np.ndarray | None = None
        self.problem: str | None = None  # the message's plain text, None when there is none
        self._syncing = False
        self.updates = Coalescer(self._redraw)  # typing sends a value per key: coalesced
        self.example.observe(self._on_example, names="value")
        self.text.observe(self._on_text, names="value")
        self._redraw()

    # ------------------------------------------------------------------ construction

    def _make_figure(self) -> go.FigureWidget:
        fig = figstyle.figure(widget=True, title=self.title,
                              height=_height(self.task.max_tgt_len + 1))
        fig.add_heatmap(z=[[0.0]], x=[0], y=[0], zmin=0.0, zmax=1.0,
                        colorscale=figstyle.SEQUENTIAL, colorbar=dict(title="α"), xgap=1,
                        ygap=1, hovertemplate="%{text}<extra></extra>", text=[[""]])
        _label_axes(fig, [], [])
        return fig

    @classmethod
    def demo(cls, steps: int = 100, seed: int = 0) -> AttentionExplorer:
        """A ready explorer: a small reversal model trained for ``steps`` steps (a few seconds;
        cached, so later calls with the same arguments are instant)."""
        model, split = _demo_model(steps, seed)
        return cls(model, split.task, split.test, max_examples=20,
                   title=f"digit reversal after {steps} training steps")

    def benchmark_moves(self) -> list:
        """``(control, value)`` pairs that exercise every path of the update, each a change."""
        sources = [value for _, value in self.example.options][:6]
        current = self.example.value
        moves = [(self.example, s) for s in sources if s != current]
        if current in sources:
            moves.append((self.example, current))
        typed = sources[0][::-1] + ("0" if len(sources[0]) < self.task.max_src_len else "")
        if typed == self.text.value:
            typed = typed[1:]
        moves += [(self.text, typed), (self.text, typed[:-1]), (self.text, "")]
        return moves

    # ------------------------------------------------------------------ callbacks

    def _on_example(self, change):
        if self._syncing or change["new"] is None:
            return
        if self.text.value == change["new"]:
            self.updates.request(change)
        else:
            self.text.value = change["new"]  # its observer redraws

    def _on_text(self, change):
        if self.example.value is not None and self.example.value != change["new"]:
            self._syncing = True
            try:
                self.example.value = None  # a typed source is no longer the selected example
            finally:
                self._syncing = False
        self.updates.request(change)

    def _clear(self, message: str):
        self.prediction, self.weights, self.problem = None, None, message
        self.output.value = "<b>output</b>: —"
        self.message.value = f"<span style='color:#b00020'>{html.escape(message)}</span>"
        with self.figure.batch_update():
            heat = self.figure.data[0]
            heat.z, heat.x, heat.y, heat.text = [], [], [], []
            self.figure.layout.xaxis.tickvals, self.figure.layout.xaxis.ticktext = [], []
            self.figure.layout.yaxis.tickvals, self.figure.layout.yaxis.ticktext = [], []

    def _redraw(self, change=None):
        text = self.text.value
        self.source = text
        problem = self.task.check_input(text)
        if problem is not None:
            self._clear(problem)
            return
        try:
            outputs, weights = self.model.translate(self.task, [text])
        except (ValueError, TypeError) as err:  # should not happen after check_input
            self._clear(str(err))
            return
        prediction, w = outputs[0], weights[0]
        self.prediction, self.weights = prediction, w
        rows, cols, ylab, xlab, hover = _axes(text, prediction, w)
        with self.figure.batch_update():
            heat = self.figure.data[0]
            heat.z, heat.x, heat.y, heat.text = w.tolist(), cols, rows, hover
            _label_axes(self.figure, xlab, ylab)
        self.output.value = self._output_html(text, prediction, w)
        self.message.value = ""
        self.problem = None

    def _output_html(self, text: str, prediction: str, w: np.ndarray) -> str:
        shown = html.escape(prediction) if prediction else "(empty)"
        parts = [f"<b>output</b>: <code>{shown}</code>"]
        reference = self.task.reference(text)
        if reference is None:
            parts.append("(no correct answer: not a valid input of this task)")
        elif reference == prediction:
            parts.append("<span style='color:#2ca02c'>✓ correct</span>")
        else:
            parts.append(f"<span style='color:#d62728'>✗ expected "
                         f"<code>{html.escape(reference)}</code></span>")
        if reference is not None:
            try:
                mass = alignment_mass([w], [self.task.aligned(text)])
                parts.append(f"&nbsp;|&nbsp; attention mass on the aligned source positions: "
                             f"<b>{mass:.2f}</b>")
            except ValueError:
                pass
        return " ".join(parts)

    def static(self, max_examples: int = 12) -> StaticExplorer:
        """This explorer without a kernel: its first ``max_examples`` held-out examples."""
        values = [v for _, v in self.example.options][:max_examples]
        return export(self, "attention", [("example", values, "held-out")], [self.figure],
                      [self.output, self.message])

    def _ipython_display_(self):
        display_explorer(self)


@functools.lru_cache(maxsize=4)
def _demo_model(steps: int, seed: int):
    task = reversal_task(5, 10)
    split = make_split(task, 5000, 200, seed=seed)
    model = Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), hidden_size=48, seed=seed)
    train(model, split, steps=steps, lr=1e-2, seed=seed, eval_every=steps, n_eval=100)
    return model, split
