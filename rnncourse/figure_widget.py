"""The course's plotly FigureWidget: it reaches the browser whole, and again if the browser lost it.

Why (issue 14, measured in JupyterLab + Chromium at a load of 20-30 on 2 cores): plotly's
``FigureWidget`` is an anywidget whose front-end code, a 5 MB module, arrives with the widget's
``comm_open`` and is imported by the browser for each figure. anywidget 0.11 holds every later
message to that model until the import is done, but gives up after 2 s ("[anywidget] Failed to
initialize model."): from then on it drops *every* message to that model. On a busy CPU the
first figure of a page takes longer than that (its import is the page's first), and
``go.FigureWidget`` sends its data and layout in messages *after* its ``comm_open``: the browser
drew that figure with no data, plotly's empty default axes (360 px high, a 180 px plot area),
above the explorer's next figure, and the figure never followed a slider again.

:class:`FigureWidget` changes two things, nothing in plotly itself:

- it opens its comm only once the figure is complete, so the ``comm_open`` carries the data and
  the layout: even a model the browser gave up on draws the figure as built;
- right after opening it sends one more message, a *canary* (the trace-edit counter plotly's
  front end reports back once it has drawn the figure). The figure's first view reports the
  counter it holds: an older one means the browser dropped the model's messages, and the figure
  opens again (:meth:`FigureWidget.reopen`) with a fresh model holding its current state, in
  every ipywidgets box that shows it. By then the module has been imported once, and the new
  model gets through in time. ``reopens`` counts how often that happened (at most
  :data:`MAX_REOPENS`).

A figure displayed on its own, outside a box, cannot be reopened in place (its output names the
old model): the explorers and the start page's demo show theirs in boxes.

One more thing is added to plotly's front-end module (:func:`course_esm`), not changed in it:
as an anywidget, plotly's figure view sizes the plot once, to the width its element has when it
is first drawn, and never again (in a classic ipywidgets view JupyterLab's resize messages
resized it). On a busy machine that element is often not laid out yet: plotly falls back to
its default 700 px, and the figure stays narrow in a wider column (seen in lessons 2 and 7b in
a fresh-clone ``make test`` at a load of 7 on 2 cores). The course's module watches the element
(a ``ResizeObserver``) and, when its width differs from the drawn one, asks the view to fit it
(the view's own ``autosizeFigure``; a figure with an explicit width is left alone).
"""

from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path

import plotly.graph_objects as go

__all__ = ["MAX_REOPENS", "FigureWidget", "course_esm"]

MAX_REOPENS = 4

# Appended to plotly's module, where its FigureView class is in scope as {view}: each view,
# once rendered, fits its plot to its element whenever their widths differ (checked 50 ms after
# the element changes size and after the first draw).
FIT_TO_ELEMENT_JS = """
;(() => {{
  const View = {view};
  const performRender = View.prototype.perform_render;
  View.prototype.perform_render = function (...args) {{
    const result = performRender.apply(this, args);
    const view = this, el = this.el;
    let pending = null;
    const fit = () => {{
      pending = null;
      const drawn = el._fullLayout && el._fullLayout.width;
      const width = el.clientWidth;
      if (drawn && width > 0 && Math.abs(width - drawn) > 1) view.autosizeFigure();
    }};
    const later = () => {{ if (pending === null) pending = setTimeout(fit, 50); }};
    const observer = new ResizeObserver(later);
    observer.observe(el);
    const drawnOnce = (event) => {{ if (event.detail && event.detail.element === el) later(); }};
    document.addEventListener("plotlywidget-after-render", drawnOnce);
    const remove = view.remove;
    view.remove = function (...rest) {{
      observer.disconnect();
      document.removeEventListener("plotlywidget-after-render", drawnOnce);
      clearTimeout(pending);
      return remove.apply(this, rest);
    }};
    return result;
  }};
}})();
"""
_EXPORT = re.compile(r"export\s*\{([^{}]*)\}")
_AS_VIEW = re.compile(r"^\s*([\w$]+)\s+as\s+FigureView\s*$")


def course_esm(bundle: str) -> str:
    """plotly's front-end module ``bundle`` with :data:`FIT_TO_ELEMENT_JS` added before its
    last export; ``bundle`` unchanged where that export names no ``FigureView``."""
    if not isinstance(bundle, str):
        raise TypeError(f"bundle: expected the module's text (str), got {type(bundle).__name__}")
    exports = list(_EXPORT.finditer(bundle))
    if not exports:
        return bundle
    last = exports[-1]
    view = next((m.group(1) for m in map(_AS_VIEW.match, last.group(1).split(",")) if m), None)
    if view is None:
        return bundle
    return bundle[:last.start()] + FIT_TO_ELEMENT_JS.format(view=view) + bundle[last.start():]


def _plotly_esm() -> str | None:
    """plotly's front-end module as text (None for a FigureWidget that is no anywidget)."""
    esm = getattr(go.FigureWidget, "_esm", None)
    if esm is None:
        return None
    return Path(str(esm)).read_text(encoding="utf-8") if isinstance(esm, Path) else str(esm)


_PLOTLY_ESM = _plotly_esm()


def _instances() -> dict:
    """ipywidgets' registry of open widgets (model id -> widget)."""
    from ipywidgets.widgets import widget

    return getattr(widget, "_instances", {})


class FigureWidget(go.FigureWidget):
    """A ``go.FigureWidget`` whose first message to the browser holds the whole figure.

    Use it as ``go.FigureWidget`` (``figstyle.figure(..., widget=True)`` makes one). Attributes
    beyond plotly's: ``reopens`` (how often the browser lost the model and the figure was opened
    again) and ``canary`` (the trace-edit id the first view must report; None once it has).
    """

    if _PLOTLY_ESM is not None:  # plotly >= 6: an anywidget
        _esm = course_esm(_PLOTLY_ESM)
    # class attributes: plotly's figures refuse new public attributes on an instance
    reopens = 0
    canary: int | None = None

    def __init__(self, *args, **kwargs):
        self._open_deferred = True  # Widget.__init__ opens the comm: not before the data is in
        try:
            super().__init__(*args, **kwargs)
        finally:
            self._open_deferred = False
        self.reopens = 0
        self.canary: int | None = None
        self.observe(self._view_reported, names="_js2py_traceDeltas")
        self.open()

    def open(self):
        """Open the comm (once the figure is built) with the figure as it is now, and a canary."""
        if getattr(self, "_open_deferred", False) or self.comm is not None:
            return
        # plotly keeps these two copies for the comm_open only: bring them up to date
        self._widget_layout = deepcopy(self._layout_obj._props)
        self._widget_data = deepcopy(self._data)
        super().open()
        self._send_canary()

    def _send_canary(self) -> None:
        self._last_trace_edit_id += 1
        self.canary = self._last_trace_edit_id

    def _view_reported(self, change) -> None:
        """A view drew the figure and reported its model's trace-edit id: did ours arrive?"""
        report, expected = change["new"], self.canary
        if not report or expected is None:
            return
        self.canary = None
        if report.get("trace_edit_id", expected) < expected and self.reopens < MAX_REOPENS:
            self.reopen()

    def containers(self) -> list:
        """The open ipywidgets boxes whose children include this figure."""
        return [w for w in list(_instances().values())
                if any(child is self for child in getattr(w, "children", ()) or ())]

    def reopen(self) -> None:
        """Open this figure again under a new model id, with its current state, in its boxes.

        The old model is closed after the boxes name the new one; a figure shown outside a box
        keeps its old output.
        """
        boxes = self.containers()
        old = self.comm
        if old is not None:
            _instances().pop(self.model_id, None)
        self.comm = None
        self._model_id = None
        self.reopens += 1
        self.open()
        for box in boxes:
            box.send_state("children")
        if old is not None:
            old.close()
