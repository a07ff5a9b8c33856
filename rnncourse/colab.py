"""The course on Google Colab: one release installed once per runtime, results the learner sees.

Each lesson's first code cell carries :data:`BOOTSTRAP` (tests/test_colab.py checks that every
lesson holds exactly this text with the package's version). In Colab it installs the release
tag ``vX.Y.Z`` that matches the lesson, only when ``rnncourse`` is not importable yet, shows
pip's error and stops when the install fails, then calls :func:`prepare`. Everywhere else the
cell does nothing.

:func:`prepare` checks that the installed release is the lesson's (installing it otherwise),
points the results store at :data:`RESULTS` (Colab's file browser shows ``/content``; an
``RNNCOURSE_RESULTS`` set by the learner wins) and turns on Colab's widget manager, which the
lessons' sliders and plotly figures need.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPOSITORY = "https://github.com/rnncourse/rnncourse"
RESULTS = "/content/rnncourse-results"
RESULTS_ENV = "RNNCOURSE_RESULTS"

# The first code cell's Colab part, the same in every lesson but for the release.
BOOTSTRAP = '''\
if "google.colab" in sys.modules:  # Colab only: install this release once per runtime
    RELEASE = "{version}"
    try:
        from rnncourse.colab import prepare
    except ImportError:  # first lesson in this runtime: install, and stop on pip's error
        import importlib
        import subprocess

        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "rnncourse @ git+"
                              f"https://github.com/rnncourse/rnncourse@v{{RELEASE}}"],
                             capture_output=True, text=True)
        if pip.returncode:
            raise RuntimeError(f"pip could not install rnncourse {{RELEASE}}:\\n{{pip.stderr}}") from None
        importlib.invalidate_caches()
        from rnncourse.colab import prepare
    prepare(RELEASE)
'''


def bootstrap(version: str) -> str:
    """The Colab part of a lesson's first code cell for release ``version``."""
    return BOOTSTRAP.format(version=version)


def requirement(version: str) -> str:
    """What pip installs for release ``version``: the matching git tag of the repository."""
    if not isinstance(version, str) or not version[:1].isdigit():
        raise ValueError(f"version: expected a release such as '0.2.0', got {version!r}")
    return f"rnncourse @ git+{REPOSITORY}@v{version}"


def install(version: str, run=subprocess.run) -> None:
    """pip-install release ``version`` into this Python; RuntimeError with pip's error if not."""
    done = run([sys.executable, "-m", "pip", "install", "-q", requirement(version)],
               capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pip could not install rnncourse {version}:\n{done.stderr}")


def prepare(version: str, run=subprocess.run) -> Path:
    """Make this Colab runtime ready for a lesson of release ``version``; return the results
    folder. ``run`` is how pip is started (tests pass a stand-in)."""
    installed = metadata.version("rnncourse")
    if installed != version:
        install(version, run)
        raise RuntimeError(
            f"this runtime had rnncourse {installed}; release {version} is installed now: "
            "choose Runtime > Restart session, then run this cell again")
    folder = Path(os.environ.get(RESULTS_ENV, "").strip() or RESULTS).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[RESULTS_ENV] = str(folder)
    from google.colab import output

    output.enable_custom_widget_manager()
    print(f"rnncourse {version} ready; results are saved in {folder}")
    return folder
