"""Rows (dicts) as an HTML table, with the verdict column coloured."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ..literature import Verdict
from ..tables import format_cell

VERDICT_STYLE = {
    Verdict.AGREES: "background:#e6f4e6;font-weight:bold",
    Verdict.PARTLY: "background:#fdf0d5;font-weight:bold",
    Verdict.DISAGREES: "background:#fbe3e3;font-weight:bold",
}
"""Cell style per verdict: green, amber, red (told apart by their words too)."""


def html_table(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """``rows`` as an HTML table with ``columns``; a ``verdict`` cell is coloured by
    :data:`VERDICT_STYLE`. Every cell is escaped."""
    out = ["<table><tr>" + "".join(f"<th style='text-align:left'>{html.escape(c)}</th>"
                                   for c in columns) + "</tr>"]
    for r in rows:
        cells = []
        for c in columns:
            text = format_cell(r.get(c))
            style = ""
            if c == "verdict":
                style = f' style="{VERDICT_STYLE[Verdict.of(text)]}"'
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"
