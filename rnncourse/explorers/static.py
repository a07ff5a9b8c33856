"""Explorers without a kernel: an explorer's figures precomputed over a grid of its controls.

:func:`export` moves the live explorer's own controls through every point of a grid, exactly as a
learner would, and records what its figures and labels show at each one: the same code draws
both versions, so a static frame *is* the live figure at that setting. The result, a
:class:`StaticExplorer`, holds plotly figures whose first carries a slider for each numeric
control and a row of buttons for each choice; its HTML (:meth:`StaticExplorer.to_html`) redraws
every figure and label of the explorer when a slider or a button moves, with plotly.js alone
(loaded by the page, never embedded: the course's site loads it once for every page).

Each explorer's ``static()`` names its grid (a few dozen settings: every value is drawn in
advance). While the environment variable :data:`SITE_ENV` is set, as it is while ``make site``
executes the lessons, displaying an explorer shows this static version instead of the widget
(the live explorer is still there for the cells that follow).
"""

from __future__ import annotations

import copy
import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import convert_to_base64

from ..figstyle import SITE_ENV, site_mode

__all__ = ["SITE_ENV", "StaticExplorer", "display_explorer", "export", "grid_range",
           "site_mode"]


_SLIDER_GAP = 0.11  # paper units between stacked sliders below the plot


def grid_range(low: float, high: float, step: float) -> list[float]:
    """``low, low + step, ..., high`` as rounded floats (what a slider with that step holds)."""
    for name, value in (("low", low), ("high", high), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if step <= 0 or high < low:
        raise ValueError(f"grid_range: expected low <= high and step > 0, got low={low!r}, "
                         f"high={high!r}, step={step!r}")
    n = int(round((high - low) / step)) + 1
    return [round(low + i * step, 10) for i in range(n)]


@dataclass
class Control:
    """One dimension of the grid: the explorer's attribute, its values and their labels."""

    name: str
    values: list
    labels: list[str]
    title: str
    kind: str  # "slider" or "buttons"


@dataclass
class StaticExplorer:
    """An explorer precomputed on a grid: ``figures`` (plotly, with frames), ``labels``.

    ``frames[key]`` holds, for each figure, the traces and the changing layout keys at the
    setting ``key`` (a tuple of indices, one per control); :meth:`frame` looks one up by the
    controls' values. ``texts[key]`` is the explorer's HTML labels at that setting.
    """

    name: str
    controls: list[Control]
    figures: list[go.Figure]
    frames: dict[tuple, list[dict]]
    texts: dict[tuple, list[str]]
    default: tuple
    layout_keys: list[list[str]] = field(default_factory=list)

    def key(self, **setting) -> tuple:
        """The grid index of ``setting`` (control name -> value; missing ones: the default)."""
        unknown = set(setting) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"setting: expected controls among "
                             f"{[c.name for c in self.controls]}, got {sorted(unknown)}")
        key = []
        for i, c in enumerate(self.controls):
            if c.name not in setting:
                key.append(self.default[i])
                continue
            value = setting[c.name]
            matches = [j for j, v in enumerate(c.values) if _same(v, value)]
            if not matches:
                raise ValueError(f"{c.name}: expected one of the grid's values {c.values}, "
                                 f"got {value!r}")
            key.append(matches[0])
        return tuple(key)

    def frame(self, **setting) -> list[dict]:
        """Per figure, what changes at ``setting``: ``{"traces": [indices], "data": [those
        traces' dicts], "layout": {changing keys}}``."""
        return self.frames[self.key(**setting)]

    def traces(self, figure: int = 0, **setting) -> list[dict]:
        """Every trace of figure ``figure`` as the page draws it at ``setting``."""
        frame = self.frame(**setting)[figure]
        data = [t.to_plotly_json() for t in self.figures[figure].data]
        for j, trace in zip(frame["traces"], frame["data"]):
            data[j] = trace
        return data

    def size_bytes(self) -> int:
        """The size of :meth:`to_html`'s output in bytes."""
        return len(self.to_html().encode())

    def to_html(self) -> str:
        """Divs for the labels and figures, and the script that moves them all together."""
        uid = uuid.uuid4().hex[:10]
        names = ["_".join(map(str, k)) for k in self.frames]
        figures = [json.loads(pio.to_json(f, validate=False)) for f in self.figures]
        for f in figures:  # the script draws frames from "frames" below: not twice
            f.pop("frames", None)
        # numbers as plotly.js typed arrays (base64 float32, as plotly writes a figure's data):
        # a quarter of the bytes of the same numbers written out as text
        frames = copy.deepcopy({n: self.frames[k] for n, k in zip(names, self.frames)})
        convert_to_base64(frames)
        payload = {
            "controls": [{"kind": c.kind, "n": len(c.values)} for c in self.controls],
            "default": list(self.default),
            "figures": figures,
            "frames": frames,
            "texts": {n: self.texts[k] for n, k in zip(names, self.texts)},
        }
        data = pio.json.to_json_plotly(payload)
        labels = "".join(f"<div class='rnncourse-static-label' data-index='{i}'>{t}</div>"
                         for i, t in enumerate(self.texts[self.default]))
        divs = "".join(f"<div class='rnncourse-static-figure' id='{uid}-{i}'></div>"
                       for i in range(len(self.figures)))
        note = ("<div class='rnncourse-static-note'>Precomputed: move the sliders and buttons "
                "to see the figure at each setting. The live explorer, with every value, "
                "needs a kernel.</div>")
        return (f"<div class='rnncourse-static-explorer' id='{uid}' "
                f"data-explorer='{html.escape(self.name)}'>{note}{labels}{divs}"
                f"<script type='application/json' id='{uid}-data'>{_script_safe(data)}</script>"
                f"<script>{_SCRIPT.replace('@UID@', uid)}</script></div>")

    def _repr_html_(self) -> str:
        return self.to_html()


def export(explorer, name: str, grid: Sequence[tuple], figures: Sequence,
           labels: Sequence = ()) -> StaticExplorer:
    """Record ``explorer``'s ``figures`` and ``labels`` at every point of ``grid``.

    ``grid`` is a sequence of ``(attribute, values)`` or ``(attribute, values, title)``: the
    explorer's control ``getattr(explorer, attribute)`` takes each value in turn (numbers become
    a slider, anything else buttons; a control with ``options`` labels its buttons with them).
    ``figures`` are the explorer's plotly figures and ``labels`` its HTML widgets. The controls
    are set back to their values before the export, which must be points of the grid.
    """
    if not grid:
        raise ValueError("grid: expected at least one (attribute, values) pair, got none")
    controls = []
    for entry in grid:
        if not isinstance(entry, tuple) or len(entry) not in (2, 3):
            raise TypeError(f"grid: expected (attribute, values[, title]) tuples, got {entry!r}")
        attr, values = entry[0], list(entry[1])
        widget = getattr(explorer, attr, None)
        if widget is None or not hasattr(widget, "value"):
            raise ValueError(f"grid: {type(explorer).__name__} has no control {attr!r}")
        if not values:
            raise ValueError(f"grid: {attr!r} has no values")
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        names = _option_labels(widget)
        text = [names.get(v, _format(v)) for v in values]
        title = entry[2] if len(entry) == 3 else getattr(widget, "description", "") or attr
        controls.append(Control(attr, values, text, title,
                                "slider" if numeric and len(values) > 1 else "buttons"))
    start = {c.name: getattr(explorer, c.name).value for c in controls}
    default = []
    for c in controls:  # the current setting is always a point of the grid
        if not any(_same(v, start[c.name]) for v in c.values):
            c.values.append(start[c.name])
            c.labels.append(_option_labels(getattr(explorer, c.name)).get(
                start[c.name], _format(start[c.name])))
            if c.kind == "slider":
                order = sorted(range(len(c.values)), key=c.values.__getitem__)
                c.values[:] = [c.values[j] for j in order]
                c.labels[:] = [c.labels[j] for j in order]
        default.append([j for j, v in enumerate(c.values) if _same(v, start[c.name])][0])
    default = tuple(default)
    raw: dict[tuple, list[dict]] = {}
    texts: dict[tuple, list[str]] = {}
    try:
        for key in _one_change_at_a_time([len(c.values) for c in controls]):
            for c, j in zip(controls, key):
                control = getattr(explorer, c.name)
                if not _same(control.value, c.values[j]):
                    control.value = c.values[j]
            updates = getattr(explorer, "updates", None)
            if updates is not None and getattr(updates, "pending", False):
                updates.flush()
            raw[key] = [_snapshot(f) for f in figures]
            texts[key] = [str(w.value) for w in labels]
    finally:
        for c in controls:  # back to where the learner left it, last control first
            control = getattr(explorer, c.name)
            if not _same(control.value, start[c.name]):
                control.value = start[c.name]
    # the traces and layout keys that change somewhere on the grid go into every frame
    layout_keys, trace_keys = [], []
    for i in range(len(figures)):
        base = raw[default][i]
        changing = sorted({k for shot in raw.values() for k in
                           set(shot[i]["layout"]) | set(base["layout"])
                           if not _equal(shot[i]["layout"].get(k), base["layout"].get(k))})
        layout_keys.append(changing)
        trace_keys.append(sorted({j for shot in raw.values()
                                  for j, t in enumerate(shot[i]["data"])
                                  if not _equal(t, base["data"][j])}))
    frames = {key: [{"traces": trace_keys[i],
                     "data": [shot[i]["data"][j] for j in trace_keys[i]],
                     "layout": {k: shot[i]["layout"].get(k) for k in layout_keys[i]}}
                    for i in range(len(figures))] for key, shot in raw.items()}
    static_figures = []
    for i, fig in enumerate(figures):
        out = go.Figure(fig.to_dict())
        out.update(data=raw[default][i]["data"], overwrite=True)
        # frames[] as plotly frames too (what the page draws comes from frames, see to_html);
        # unvalidated: validating every frame's traces cost a third of an export
        out.frames = [go.Frame(name="_".join(map(str, key)), data=frames[key][i]["data"],
                               traces=frames[key][i]["traces"], layout=frames[key][i]["layout"],
                               _validate=False)
                      for key in frames]
        if i == 0:
            _add_controls(out, controls, default)
        static_figures.append(out)
    return StaticExplorer(name, controls, static_figures, frames, texts, default, layout_keys)


def display_explorer(explorer) -> None:
    """Display ``explorer``: its widget, or under :func:`site_mode` its static version."""
    from IPython.display import HTML, display

    if site_mode():
        display(HTML(explorer.static().to_html()))
    else:
        display(explorer.widget)


# ---------------------------------------------------------------------------------------------


def _one_change_at_a_time(sizes: list[int]):
    """Every index tuple of a grid of ``sizes``, each differing from the one before in one
    place (a reflected mixed-radix Gray code): moving the controls through it costs the
    explorer one redraw per point, where ``itertools.product`` moved two or more controls
    (and redrew for each) whenever an inner one wrapped around."""
    if not sizes:
        yield ()
        return
    rest = list(_one_change_at_a_time(sizes[1:]))
    for i in range(sizes[0]):
        for tail in (rest if i % 2 == 0 else reversed(rest)):
            yield (i, *tail)


def _snapshot(fig) -> dict:
    data = [_compact(t.to_plotly_json()) for t in fig.data]
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return {"data": data, "layout": _compact(layout)}


def _compact(value):
    """float64 arrays as float32 (half the bytes in the page); lists of numbers as arrays."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype == np.float64:
            return value.astype(np.float32)
        return value
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, float) for v in value):
            return np.asarray(value, dtype=np.float32)
        if value and all(isinstance(v, (list, tuple)) for v in value):
            flat = [x for row in value for x in row]
            if flat and all(isinstance(x, float) for x in flat) and len(
                    {len(row) for row in value}) == 1:
                return np.asarray(value, dtype=np.float32)
        return [_compact(v) for v in value]
    return value


def _equal(a, b) -> bool:
    """Whether two snapshot values (dicts, lists, numpy arrays, numbers, strings) draw the
    same: arrays compared as arrays (NaN equal to NaN), not written out as JSON first (that
    was a quarter of an export); values of different types count as different."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return bool(a == b) or (a != a and b != b)  # a float NaN equals itself here


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return a == b


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _option_labels(widget) -> dict:
    options = getattr(widget, "options", None)
    labels = getattr(widget, "_options_labels", None)
    values = getattr(widget, "_options_values", None)
    if options is None or labels is None or values is None:
        return {}
    return {v: str(label) for label, v in zip(labels, values)}


def _add_controls(fig: go.Figure, controls: list[Control], default: tuple) -> None:
    """Sliders below the plot (stacked), buttons above it; the page's script does the rest."""
    sliders, menus = [], []
    n_sliders = sum(c.kind == "slider" for c in controls)
    for c, j in zip(controls, default):
        if c.kind == "slider":
            k = len(sliders)
            sliders.append(dict(
                active=j, name=c.name, currentvalue=dict(prefix=f"{c.title} = "),
                pad=dict(t=40 if k == 0 else 10), len=0.9, x=0.05, xanchor="left",
                y=-_SLIDER_GAP * k, yanchor="top",
                steps=[dict(label=t, method="skip", args=[]) for t in c.labels]))
        else:
            k = len(menus)
            menus.append(dict(
                type="buttons", direction="right", active=j, name=c.name, showactive=True,
                x=0, xanchor="left", y=1.12 + 0.1 * k, yanchor="bottom", pad=dict(b=4),
                buttons=[dict(label=t, method="skip", args=[]) for t in c.labels]))
    height = fig.layout.height or 450
    fig.update_layout(sliders=sliders, updatemenus=menus,
                      height=height + 110 * n_sliders + 45 * len(menus),
                      margin=dict(b=(fig.layout.margin.b or 50) + 100 * n_sliders,
                                  t=(fig.layout.margin.t or 60) + 45 * len(menus)))


def _script_safe(text: str) -> str:
    return text.replace("</", "<\\/")


# Moves every figure and label of one static explorer to the frame its controls point at.
_SCRIPT = """
(function () {
  var uid = "@UID@";
  function start() {
    if (!window.Plotly) { return setTimeout(start, 50); }
    var spec = JSON.parse(document.getElementById(uid + "-data").textContent);
    var index = spec["default"].slice();
    var figs = spec.figures.map(function (f, i) {
      var div = document.getElementById(uid + "-" + i);
      var layout = Object.assign({}, f.layout);
      Plotly.newPlot(div, f.data, layout, {responsive: true, displaylogo: false});
      return {div: div, layout: f.layout, data: f.data};
    });
    var labels = document.querySelectorAll("#" + CSS.escape(uid) + " .rnncourse-static-label");
    function show() {
      var name = index.join("_");
      var frame = spec.frames[name];
      figs.forEach(function (f, i) {
        var layout = Object.assign({}, f.layout, frame[i].layout);
        if (i === 0) {
          var s = 0, m = 0;
          spec.controls.forEach(function (c, k) {
            if (c.kind === "slider") {
              layout.sliders = layout.sliders.slice();
              layout.sliders[s] = Object.assign({}, layout.sliders[s], {active: index[k]});
              s += 1;
            } else {
              layout.updatemenus = layout.updatemenus.slice();
              layout.updatemenus[m] = Object.assign({}, layout.updatemenus[m],
                                                    {active: index[k]});
              m += 1;
            }
          });
          f.layout = Object.assign({}, f.layout, {sliders: layout.sliders,
                                                  updatemenus: layout.updatemenus});
        }
        var data = f.data.slice();
        frame[i].traces.forEach(function (j, n) { data[j] = frame[i].data[n]; });
        Plotly.react(f.div, data, layout);
      });
      spec.texts[name].forEach(function (t, i) { if (labels[i]) { labels[i].innerHTML = t; } });
      document.getElementById(uid).setAttribute("data-frame", name);
    }
    function which(kind, n) {
      var seen = -1;
      for (var k = 0; k < spec.controls.length; k++) {
        if (spec.controls[k].kind === kind) { seen += 1; if (seen === n) { return k; } }
      }
      return -1;
    }
    var first = figs[0].div;
    first.on("plotly_sliderchange", function (e) {
      var k = which("slider", first.layout.sliders.indexOf(e.slider));
      if (k < 0) { k = which("slider", e.slider._index || 0); }
      index[k] = e.slider.steps.indexOf(e.step);
      show();
    });
    first.on("plotly_buttonclicked", function (e) {
      var k = which("buttons", first.layout.updatemenus.indexOf(e.menu));
      if (k < 0) { k = which("buttons", e.menu._index || 0); }
      index[k] = e.active;
      show();
    });
    document.getElementById(uid).setAttribute("data-frame", index.join("_"));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
"""
