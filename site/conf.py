"""Sphinx configuration of the course's static site (``make site``; see site/README.md).

Sphinx reads the lessons straight from ``notebooks/`` (``sphinx-build -c site notebooks OUT``):
every ``NN_slug.ipynb`` there is a page, lesson 0 is the start page (also ``index.html``), and
the navigation lists the others in file-name order, so a new lesson needs no change here.
myst-nb reads each lesson's execution from jupyter-cache (``build/site/jupyter_cache``): a lesson
whose code cells did not change is not executed again. ``make site`` first runs
``site/execute.py``, which executes the lessons missing from the cache two at a time (myst-nb
would execute them one by one); a lesson that raises stops the build with the cell and its
traceback (here too, should Sphinx find a lesson missing from the cache).

While the lessons execute, ``RNNCOURSE_SITE=1`` makes every explorer display its static version
(:mod:`rnncourse.explorers.static`) and ``fig.show()`` write each figure as a div and a script
without plotly.js (:func:`rnncourse.figstyle.use_site_renderer`), which the site loads once
from ``_static``. jupyter-cache keys an execution on the code cells only, so each lesson gets a
hidden last cell holding a hash of the package's sources (lesson 8, which compiles the others'
results, also of theirs): changing the package executes the lessons again. MathJax comes from
the ``sphinx-mathjax-offline`` package (copied into ``_static``); nothing on a page is fetched
from another host.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site"))

import lessons_site  # noqa: E402  (site/lessons_site.py: the page furniture)

import rnncourse  # noqa: E402
from rnncourse.colab import REPOSITORY  # noqa: E402

BUILD = Path(os.environ.get("RNNCOURSE_SITE_BUILD", "").strip() or ROOT / "build" / "site")
BUILD = BUILD if BUILD.is_absolute() else ROOT / BUILD  # Sphinx runs this file from site/
RELEASE = f"v{rnncourse.__version__}"

# What the lessons' kernels inherit from this process while they execute.
# (site/execute.py, which `make site` runs first, sets the same: lessons_site.kernel_environment)
os.environ.update(lessons_site.kernel_environment(BUILD))  # results beside the cache: lesson 8

project = "rnncourse"
author = "rnncourse contributors"
copyright = "rnncourse contributors; code MIT, lesson text and figures CC BY 4.0"
version = release = rnncourse.__version__

extensions = ["myst_nb"]
mathjax_path = lessons_site.MATHJAX_PATH  # a copy in _static, from a package
root_doc = lessons_site.START
exclude_patterns = ["*.py", "**/.ipynb_checkpoints", "results", "workspace*"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# ----------------------------------------------------------------------------- execution
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / "jupyter_cache")
nb_execution_timeout = 900          # per cell; lessons take about a minute each on 2 cores
nb_execution_raise_on_error = True  # a lesson that fails stops the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}               # no widget manager from a CDN: widgets need a kernel
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# ----------------------------------------------------------------------------- pages
html_theme = "sphinx_book_theme"
html_title = f"rnncourse {rnncourse.__version__}"
html_static_path = [str(lessons_site.static_folder(BUILD))]
html_js_files = ["plotly.min.js"]
html_css_files = ["rnncourse-site.css"]
html_copy_source = True
html_show_sourcelink = False
html_sourcelink_suffix = ""
html_last_updated_fmt = None
html_context = {"default_mode": "light"}  # pydata theme: no console error on a first visit
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": RELEASE,
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "launch_buttons": {"binderhub_url": "https://mybinder.org",
                       "colab_url": "https://colab.research.google.com",
                       "notebook_interface": "jupyterlab"},
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
}


def setup(app):
    lessons_site.setup(app, root=ROOT, build=BUILD, release=RELEASE)
    return {"parallel_read_safe": False}

