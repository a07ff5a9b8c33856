"""The report as one self-contained HTML file: :func:`write_report`."""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path

from .. import results
from .figures import figures, findings_argument
from .report import Findings, compile_findings
from .sources import LESSON

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
"""


def report_path(path=None, folder=None) -> Path:
    """Where :func:`write_report` writes: ``path`` (a file name ending in ``.html``), by default
    ``<results folder>/08_findings/report.html``."""
    if path is None:
        return results.results_folder(folder) / LESSON / "report.html"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or Path ending in .html, or None, got "
                        f"{type(path).__name__}")
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path: expected a file name ending in .html, got {str(path)!r}")
    return path


def write_report(path=None, *, report: Findings | None = None, folder=None) -> Path:
    """Write the findings as one self-contained HTML file and return its path.

    ``path`` defaults to ``<results folder>/08_findings/report.html``. ``report`` defaults to
    :func:`~.report.compile_findings` of ``folder`` without computing anything. plotly.js is
    embedded once (with the first figure), so the file opens offline in any browser.
    """
    target = report_path(path, folder)
    if report is None:
        report = compile_findings(folder, compute_missing=False)
    report = findings_argument(report)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<title>rnncourse: findings</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>rnncourse: what the course measured, checked against theory</h1>",
        f"<p>Generated {now}. Of {len(report.checks)} checks: {report.verdicts()} (every "
        f"verdict but 'agrees' gives its reason); {len(report.not_checked)} not checked "
        f"(record missing).</p>",
        "<h2>Where the numbers come from</h2><pre>"
        + html.escape("\n".join(report.inventory.lines())) + "</pre>",
        "<h2>Checks</h2>", report.checks_html(),
    ]
    if report.not_checked:
        parts.append("<h3>Not checked</h3><ul>" + "".join(
            f"<li>lesson {html.escape(n.lesson)}: {html.escape(n.claim)} "
            f"({html.escape(n.reason)})</li>" for n in report.not_checked) + "</ul>")
    parts += ["<h2>Models and tasks</h2>", report.models_html(), "<h2>Figures</h2>"]
    for k, (title, fig) in enumerate(figures(report).items()):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(k == 0)))
    parts.append("</body></html>")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts), encoding="utf-8")
    return target
