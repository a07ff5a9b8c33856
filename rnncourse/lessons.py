"""The lesson files: each lesson is a pair ``notebooks/NN_slug.py`` + ``notebooks/NN_slug.ipynb``.

The ``.py`` (jupytext percent format) is the file people review and edit; the ``.ipynb`` is
generated from it without outputs, so that GitHub, nbviewer, Colab and Binder open it directly.

Command line (``make notebooks`` runs the first)::

    python -m rnncourse.lessons sync     # regenerate every .ipynb from its .py
    python -m rnncourse.lessons check    # exit 1 if a pair drifted or an .ipynb has outputs

Installed from a wheel, the package carries the notebooks only, in ``rnncourse/notebooks/``
(setup.py copies them there at build time); :data:`NOTEBOOKS` is then that folder, and ``check``
checks that every lesson is there, without outputs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "notebooks"  # in a wheel: the .ipynb only
SOURCE = Path(__file__).resolve().parent.parent / "notebooks"  # in a clone: the pairs
NOTEBOOKS = PACKAGED if PACKAGED.is_dir() else SOURCE
_NAME = re.compile(r"^(\d\d)([a-z]?)_[a-z0-9_]+$")  # 07_advanced, 07b_memory_...


def lesson_sources(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson sources ``NN_slug.py`` in ``folder``, in lesson order."""
    return sorted(p for p in folder.glob("*.py") if _NAME.match(p.stem))


def lesson_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks ``NN_slug.ipynb`` in ``folder``, in lesson order."""
    return sorted(p for p in folder.glob("*.ipynb") if _NAME.match(p.stem))


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def sync(folder: Path = NOTEBOOKS) -> list[Path]:
    """Write ``NN_slug.ipynb`` from every ``NN_slug.py`` (no outputs); return the files written."""
    import jupytext

    written = []
    for source in lesson_sources(folder):
        notebook = jupytext.read(source)
        # Stable cell ids: regenerating an unchanged lesson must not change its .ipynb.
        for index, cell in enumerate(notebook.cells):
            cell.id = f"cell-{index:03d}"
        target = source.with_suffix(".ipynb")
        jupytext.write(notebook, target, fmt="ipynb")
        written.append(target)
    return written


def problems(folder: Path = NOTEBOOKS) -> list[str]:
    """Everything wrong with the lesson pairs in ``folder``, one sentence each.

    A pair drifts when the cell types or sources of the ``.py`` and the ``.ipynb`` differ (the
    check ``jupytext --diff`` cannot do: it exits 0 either way). A committed ``.ipynb`` must carry
    no outputs and no execution counts.
    """
    found = []
    sources = {p.stem for p in lesson_sources(folder)}
    notebooks = {p.stem for p in lesson_notebooks(folder)}
    if not notebooks and not sources:
        return [f"no lessons (NN_slug.ipynb) in {folder}"]
    if Path(folder) == PACKAGED:  # an installed wheel: notebooks without their sources
        return [line for stem in sorted(notebooks)
                for line in _output_problems(stem, json.loads(
                    (Path(folder) / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"])]
    import jupytext

    for stem in sorted(sources - notebooks):
        found.append(f"{stem}.py has no {stem}.ipynb: run `make notebooks`")
    for stem in sorted(notebooks - sources):
        found.append(f"{stem}.ipynb has no {stem}.py source")
    for stem in sorted(sources & notebooks):
        py = jupytext.read(folder / f"{stem}.py")
        nb = jupytext.read(folder / f"{stem}.ipynb")
        py_cells, nb_cells = _cells(py), _cells(nb)
        if py_cells != nb_cells:
            first = next(
                (i for i, (a, b) in enumerate(zip(py_cells, nb_cells)) if a != b),
                min(len(py_cells), len(nb_cells)),
            )
            found.append(
                f"{stem}: .py and .ipynb differ ({len(py_cells)} vs {len(nb_cells)} cells, "
                f"first difference at cell {first}): run `make notebooks`"
            )
        found += _output_problems(stem, nb.cells)
    return found


def _output_problems(stem: str, cells) -> list[str]:
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"{stem}.ipynb: cell {index} carries outputs")
        if cell.get("execution_count") is not None:
            found.append(f"{stem}.ipynb: cell {index} carries an execution count")
    return found


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "sync":
        for path in sync():
            print(f"wrote {path.relative_to(NOTEBOOKS.parent)}")
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line)
        if not found:
            print(f"{len(lesson_notebooks())} lessons in {NOTEBOOKS}: all in order")
        return 1 if found else 0
    print(f"usage: python -m rnncourse.lessons [sync|check], got {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
