"""Importing plotly's widgets and renderers without jsonschema's slowest optional import.

``plotly.basewidget`` (FigureWidget) and ``plotly.io._renderers`` (``fig.show()``) import
``nbformat``, which imports ``jsonschema``, whose format checkers import ``rfc3987_syntax``
when it is installed (JupyterLab's dependencies install it): that module builds a parsing
grammar for IRIs at import, about 1.7 s on an idle 2-core machine and over 10 s on a busy one,
the largest part of the start page's first cell. Nothing here validates IRIs, so
:func:`load_plotly` imports those plotly modules with ``rfc3987_syntax`` masked (jsonschema then
skips its ``iri`` format checker; it does so by design when the package is missing) and unmasks
it afterwards, so that code importing it later still gets it.
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["load_plotly", "without_iri_grammar"]

_MASKED = "rfc3987_syntax"


@contextlib.contextmanager
def without_iri_grammar():
    """Within this block ``import rfc3987_syntax`` raises ImportError (unless already loaded)."""
    if _MASKED in sys.modules or "jsonschema._format" in sys.modules:
        yield
        return
    sys.modules[_MASKED] = None  # the import system raises ImportError for a None entry
    try:
        yield
    finally:
        if _MASKED in sys.modules and sys.modules[_MASKED] is None:
            del sys.modules[_MASKED]


def load_plotly() -> None:
    """Import plotly's FigureWidget and renderers (once; later calls cost nothing)."""
    if "plotly.basewidget" in sys.modules and "plotly.io._renderers" in sys.modules:
        return
    with without_iri_grammar():
        import plotly.basewidget  # noqa: F401
        import plotly.io._renderers  # noqa: F401
