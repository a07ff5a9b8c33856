"""The course's FigureWidget (issue 14): the messages it sends, read off a recording comm.

A browser that gave up on a model keeps only its ``comm_open``; these tests check that the
``comm_open`` holds the whole figure, that a canary follows it, and that a view reporting an
older trace-edit id gets the figure opened again, with its current state, in its box.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import pytest
from ipywidgets.widgets import widget as widget_module

from rnncourse import figstyle
from rnncourse.figure_widget import MAX_REOPENS, FigureWidget


class RecordingComm:
    """A comm that keeps what the kernel would send: its comm_open state, then every message."""

    opened: list[RecordingComm] = []

    def __init__(self, **kwargs):
        self.comm_id = f"comm-{len(RecordingComm.opened)}"
        self.open_state = kwargs["data"]["state"]
        self.sent: list[dict] = []
        self.closed = False
        self.kernel = object()
        RecordingComm.opened.append(self)

    def send(self, data=None, buffers=None, **_):
        self.sent.append(data)

    def on_msg(self, callback):
        self.callback = callback

    def close(self, *_, **__):
        self.closed = True


@pytest.fixture
def comms(monkeypatch):
    RecordingComm.opened = []
    monkeypatch.setattr(widget_module.comm, "create_comm", lambda **kw: RecordingComm(**kw))
    return RecordingComm.opened


def comm_of(widget) -> RecordingComm:
    return widget.comm


def figure_comms(comms: list[RecordingComm]) -> list[RecordingComm]:
    """The comms a figure opened (not those of ipywidgets' Layout widgets and boxes)."""
    return [c for c in comms if "_widget_data" in c.open_state]


def updated_keys(comm: RecordingComm) -> list[str]:
    return [key for msg in comm.sent if msg.get("method") == "update" for key in msg["state"]]


def line_figure():
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[1.0, 3.0, 2.0], name="a line"),
                     layout=dict(height=420, title="t"))


def test_the_comm_open_holds_the_data_and_layout_and_nothing_resends_them(comms):
    fig = FigureWidget(line_figure())
    state = comm_of(fig).open_state
    assert len(state["_widget_data"]) == 1 and state["_widget_data"][0]["name"] == "a line"
    assert state["_widget_layout"]["height"] == 420
    # after the comm_open: only the canary, never the data or layout again
    assert updated_keys(comm_of(fig)) == ["_last_trace_edit_id"]
    assert fig.canary == 1 and comm_of(fig).sent[0]["state"]["_last_trace_edit_id"] == 1


def test_plotly_s_own_widget_opens_empty_and_sends_its_figure_afterwards(comms):
    # what the browser lost under load: go.FigureWidget's comm_open has no data, no layout
    fig = go.FigureWidget(line_figure())
    state = comm_of(fig).open_state
    assert state["_widget_data"] == [] and state["_widget_layout"] == {}
    assert {"_widget_data", "_widget_layout"} <= set(updated_keys(comm_of(fig)))


def test_figstyle_makes_the_course_s_widget(comms):
    assert isinstance(figstyle.figure(widget=True), FigureWidget)
    assert isinstance(figstyle.subplots(1, 2, widget=True), FigureWidget)


def report(fig, trace_edit_id):
    """What plotly's front end sends once a view has drawn the figure."""
    fig.set_state({"_js2py_traceDeltas": {"trace_deltas": [], "trace_edit_id": trace_edit_id}})


def test_a_view_that_has_the_canary_keeps_the_model(comms):
    fig = FigureWidget(line_figure())
    first = comm_of(fig)
    widgets.VBox([fig])
    report(fig, fig.canary)
    assert fig.reopens == 0 and fig.canary is None
    assert comm_of(fig) is first and not first.closed and len(figure_comms(comms)) == 1


def test_a_view_that_lost_the_messages_reopens_the_figure_in_its_box(comms):
    fig = FigureWidget(line_figure())
    box = widgets.VBox([fig])
    first = comm_of(fig)
    old_id = fig.model_id
    fig.data[0].y = np.array([5.0, 6.0, 7.0])  # a redraw the browser dropped, too
    report(fig, 0)  # the view drew the comm_open's state: our later messages never arrived
    assert fig.reopens == 1 and first.closed
    again = comm_of(fig)
    assert again is not first and fig.model_id != old_id
    assert old_id not in widget_module._instances and widget_module._instances[fig.model_id] is fig
    # the new comm_open carries the figure as it is now, the dropped redraw included
    assert len(again.open_state["_widget_data"]) == 1
    np.testing.assert_array_equal(fig._widget_data[0]["y"], [5.0, 6.0, 7.0])
    children = [msg["state"]["children"] for msg in comm_of(box).sent
                if msg.get("method") == "update" and "children" in msg["state"]]
    assert children == [[f"IPY_MODEL_{fig.model_id}"]]
    assert fig.canary == again.sent[0]["state"]["_last_trace_edit_id"]
    report(fig, fig.canary)  # the new model got through
    assert fig.reopens == 1


def test_reopening_stops_after_max_reopens(comms):
    fig = FigureWidget(line_figure())
    for _ in range(MAX_REOPENS + 2):
        report(fig, 0)  # every model lost again
        if fig.canary is None:  # no reopen, so no new canary: the next report is not checked
            break
    assert fig.reopens == MAX_REOPENS and len(figure_comms(comms)) == MAX_REOPENS + 1


def test_the_course_module_adds_the_fit_before_plotlys_last_export():
    from rnncourse.figure_widget import FIT_TO_ELEMENT_JS, course_esm

    bundle = "var a=1;export{b as default};var V=class{};export{M as FigureModel,V as FigureView}"
    out = course_esm(bundle)
    assert out.startswith("var a=1;export{b as default};var V=class{};\n;(() => {")
    assert "const View = V;" in out and out.endswith("export{M as FigureModel,V as FigureView}")
    assert FIT_TO_ELEMENT_JS.format(view="V") in out
    assert course_esm("export{b as default}") == "export{b as default}"  # no view: unchanged
    assert course_esm("no module") == "no module"
    with pytest.raises(TypeError, match="bundle"):
        course_esm(None)


def test_the_course_figure_widget_ships_plotlys_module_with_the_fit():
    import plotly.graph_objects as go

    from rnncourse.figure_widget import FigureWidget

    ours, plotly_s = str(FigureWidget._esm), str(go.FigureWidget._esm)
    assert len(ours) > len(plotly_s) and "ResizeObserver" in ours  # the pinned plotly has a view
    assert ours.replace(ours[ours.index("\n;(() => {"):ours.rindex("})();\n") + 6], "") == plotly_s
