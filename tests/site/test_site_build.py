"""How ``make site`` treats a failing lesson and the lessons it finds (no browser needed)."""

from __future__ import annotations

import json
import os
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


def test_a_failing_lesson_stops_the_build_and_names_the_cell(site, tmp_path):
    # `site`: run with the site tests (make site-test), not in make test: it starts a kernel
    src = tmp_path / "src"
    src.mkdir()
    (src / f"{lessons_site.START}.ipynb").write_text(json.dumps(_notebook(
        "total = 1 + 1", "ratio = total / (total - 2)  # the broken cell")))
    env = {**os.environ, "RNNCOURSE_SITE_BUILD": str(tmp_path / "build")}
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c",
                           str(ROOT / "site"), str(src), str(tmp_path / "html")],
                          capture_output=True, text=True, env=env, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode != 0, log[-2000:]
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
