"""Imports a fresh kernel pays for, kept light.

plotly's notebook renderer (loaded by the first ``fig.show()`` and by every ``FigureWidget``)
imports nbformat, which imports jsonschema, which imports its optional ``rfc3987_syntax`` if it
is installed (JupyterLab's own dependencies install it): that module builds a grammar when it is
imported, about 2.5 s of CPU, for jsonschema's "iri" format check, which nothing in the course
uses. :func:`plotly_renderer` loads the renderer without it; lessons call it through
:func:`rnncourse.figstyle.use` in their first cell, the start page through
:mod:`rnncourse.environment`.
"""

from __future__ import annotations

import contextlib
import sys

SLOW_OPTIONAL = "rfc3987_syntax"


@contextlib.contextmanager
def without_slow_optional_imports():
    """Within the block, importing :data:`SLOW_OPTIONAL` raises ImportError (jsonschema then
    skips it). Nothing changes where jsonschema or it is already imported."""
    if "jsonschema" in sys.modules or SLOW_OPTIONAL in sys.modules:
        yield
        return
    sys.modules[SLOW_OPTIONAL] = None  # the import system raises ImportError for a None entry
    try:
        yield
    finally:
        if SLOW_OPTIONAL in sys.modules and sys.modules[SLOW_OPTIONAL] is None:
            del sys.modules[SLOW_OPTIONAL]


def plotly_renderer():
    """plotly's renderers (``plotly.io.renderers``), loaded without :data:`SLOW_OPTIONAL`."""
    with without_slow_optional_imports():
        import plotly.io as pio

        return pio.renderers
