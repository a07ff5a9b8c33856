"""What JupyterLab writes when a learner saves a lesson: the notebook, not the widgets' state.

A plotly ``FigureWidget`` is an anywidget whose state carries plotly.js itself (``_esm``, about
5 MB). Saved with the widget state (JupyterLab's "Save Widget State Automatically", or
``nbconvert --execute``), every executed lesson grew to 10 MB and more. The lessons rebuild their
widgets when they run, so the state is worth nothing in the file. ``rnncourse lab`` (and so
``make lab``) installs :func:`drop_widget_state` as the server's pre-save hook::

    --ContentsManager.pre_save_hook=rnncourse.labsave.drop_widget_state
"""

from __future__ import annotations

HOOK = "rnncourse.labsave.drop_widget_state"


def drop_widget_state(model: dict, **_context) -> None:
    """Remove ``metadata.widgets`` from a notebook ``model`` about to be saved (in place)."""
    if not isinstance(model, dict):
        raise TypeError(f"model: expected a contents model (dict), got {type(model).__name__}")
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    metadata = model["content"].get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("widgets", None)
