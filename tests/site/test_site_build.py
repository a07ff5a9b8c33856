"""How ``make site`` treats a failing lesson and the lessons it finds (no browser needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "site"))

import lessons_site  # noqa: E402


def _notebook(*sources: str) -> dict:
    cells = [{"cell_type": "markdown", "id": "title", "metadata": {},
              "source": "# A lesson\n\nSome text with $x^2$."}]
    cells += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
               "outputs": [], "source": s} for i, s in enumerate(sources)]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                                                         "display_name": "Python 3",
                                                         "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _sphinx(src: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RNNCOURSE_SITE_BUILD": str(tmp_path / "build")}
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c",
                           str(ROOT / "site"), str(src), str(tmp_path / "html")],
                          capture_output=True, text=True, env=env, timeout=600)


def _execute(src: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "site" / "execute.py"),
                           str(tmp_path / "build"), "--notebooks", str(src)],
                          capture_output=True, text=True, timeout=600)


def test_make_site_executes_each_lesson_once_and_stops_at_a_failing_cell(site, tmp_path):
    # `site`: run with the site tests (make site-test), not in make test: it starts kernels.
    # What `make site` runs: site/execute.py (two lessons at a time), then Sphinx, which finds
    # each execution in the cache. Each execution of the first lesson appends to runs.txt.
    src = tmp_path / "src"
    src.mkdir()
    (src / f"{lessons_site.START}.ipynb").write_text(json.dumps(_notebook(
        "open('runs.txt', 'a').write('run\\n')", "print('executed', 6 * 7)")))
    (src / "01_second.ipynb").write_text(json.dumps(_notebook("print('second', 2 + 3)")))
    done = _execute(src, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "executed 00_start_here" in done.stdout and "executed 01_second" in done.stdout
    assert (src / "runs.txt").read_text() == "run\n"
    built = _sphinx(src, tmp_path)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    assert (src / "runs.txt").read_text() == "run\n", "Sphinx executed the lesson again"
    page = (tmp_path / "html" / "01_second.html").read_text()
    assert "second 5" in page and "need a kernel" in page
    assert "executed 42" in (tmp_path / "html" / "index.html").read_text()
    again = _execute(src, tmp_path)
    assert again.returncode == 0 and "all 2 lessons are in the cache" in again.stdout, \
        again.stdout + again.stderr
    # a lesson that raises: the build stops, naming the lesson, the cell and the error
    (src / "02_broken.ipynb").write_text(json.dumps(_notebook(
        "total = 1 + 1", "ratio = total / (total - 2)  # the broken cell",
        "open('after.txt', 'w').write('ran')")))
    failed = _execute(src, tmp_path)
    log = failed.stdout + failed.stderr
    assert failed.returncode == 1, log[-3000:]
    assert "02_broken failed at cell 2 (code cell 2): ratio = total / (total - 2)" in log, log
    assert "ZeroDivisionError" in log and not (src / "after.txt").exists(), log
    # Sphinx alone (a lesson missing from the cache) executes it and stops the same way
    shutil.rmtree(tmp_path / "html")
    alone = _sphinx(src, tmp_path)
    log = alone.stdout + alone.stderr
    assert alone.returncode != 0, log[-2000:]
    assert "ratio = total / (total - 2)" in log and "ZeroDivisionError" in log, log[-3000:]
    assert not (tmp_path / "html" / "index.html").exists()


def test_every_lesson_in_notebooks_is_a_page():
    found = lessons_site.lessons(ROOT / "notebooks")
    on_disk = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert found == on_disk and found[0] == lessons_site.START
    assert "07b_memory_and_long_sequences" in found


def test_a_new_lesson_is_found_without_configuration(tmp_path):
    for name in ("00_start_here", "03_x", "03b_y", "10_later", "notes"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    assert lessons_site.lessons(tmp_path) == ["00_start_here", "03_x", "03b_y", "10_later"]


@pytest.mark.parametrize("doc", ["04_gradient_flow"])
def test_the_built_pages_are_within_the_size_goals(site, doc):
    found = lessons_site.sizes(site)
    assert doc + ".html" in found["pages"]
    pages = {k: v for k, v in found["pages"].items() if not k.endswith("-report.html")}
    assert max(pages.values()) <= lessons_site.PAGE_LIMIT_MB * 1e6, pages
    assert found["total"] <= lessons_site.SITE_LIMIT_MB * 1e6, found["total"]
