"""Build hook: put the lesson notebooks into the wheel as ``rnncourse/notebooks/*.ipynb``.

Contributors edit ``notebooks/NN_slug.py``; ``make notebooks`` writes the paired ``.ipynb``. A
wheel (or a wheel built from the sdist, which carries ``notebooks/``) gets a copy of those
``.ipynb`` files, so that ``rnncourse lessons`` can hand them to a learner who installed the
course with pip. Everything else about the package is declared in pyproject.toml.
"""

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LESSON = re.compile(r"^\d\d[a-z]?_[a-z0-9_]+\.ipynb$")


class BuildWithLessons(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "notebooks"
        lessons = sorted(p for p in source.glob("*.ipynb") if LESSON.match(p.name))
        if not lessons:
            raise SystemExit(f"setup.py: no lesson notebooks in {source}: run `make notebooks`")
        target = Path(self.build_lib) / "rnncourse" / "notebooks"
        target.mkdir(parents=True, exist_ok=True)
        for path in lessons:
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithLessons})
