"""One feedback page per student: the score, why anything could not be graded, each exercise's
full verdict (the same box the check shows in the notebook), and the cells that raised."""

from __future__ import annotations

import html
import re
from pathlib import Path

from rnncourse.check import Verdict

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#1a1a1a}} pre{{background:#f4f4f4;padding:.5rem;overflow-x:auto;
white-space:pre-wrap}} .note{{color:#555;font-size:.9em}}</style></head><body>
{body}
</body></html>
"""


def file_name(student_id: str) -> str:
    """A safe file name for a student's page (ids come from folder names)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", student_id).strip("._") or "student"
    return f"{safe}.html"


def page(grade, exercises, isolation: str) -> str:
    esc = html.escape
    parts = [f"<h1>Feedback for {esc(grade.id)}</h1>",
             f"<p><strong>{grade.score} of {len(exercises)}</strong> exercises pass. "
             f"Status: {esc(grade.status)}.</p>"]
    if grade.reasons:
        parts.append("<h2>What the grader noticed</h2><ul>"
                     + "".join(f"<li>{esc(r)}</li>" for r in grade.reasons) + "</ul>")
    parts.append("<h2>Exercises</h2>")
    for name in exercises:
        result = grade.exercises[name]
        verdict = Verdict(result.state == "pass", result.message or "(no message)",
                          {"exercise": f"my_{name}", "status": result.status or "wrong"})
        parts.append(verdict._repr_html_())
    failed = [(nb, cell) for nb, cell in grade.cells if cell.get("error")]
    if failed:
        parts.append("<h2>Cells that raised an error</h2>")
        for notebook, cell in failed:
            parts.append(f"<p>{esc(notebook)}, code cell {cell['cell']} "
                         f"(<code>{esc(cell['first_line'])}</code>): "
                         f"{esc(cell['error']['ename'])}: {esc(cell['error']['evalue'])}</p>")
            if cell.get("text"):
                parts.append(f"<pre>{esc(cell['text'][-2000:])}</pre>")
    parts.append(f"<p class='note'>Notebooks run: {esc(', '.join(grade.notebooks) or 'none')}; "
                 f"{grade.seconds:.0f} s. Each ran in a fresh kernel in a copy of your files; "
                 f"{esc(isolation)}.</p>")
    return _PAGE.format(title=esc(f"Feedback: {grade.id}"), body="\n".join(parts))


def write_feedback(grades, exercises, folder: Path, isolation: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for grade in grades:
        path = folder / file_name(grade.id)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(page(grade, exercises, isolation), encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths
