"""The course site's page furniture, for site/conf.py: navigation, banners, index, report.

- :func:`lessons`: the lessons are every ``NN*.ipynb`` in ``notebooks/``, in file-name order;
  the start page (:data:`START`) gets a hidden toctree of the others as it is read, so a new
  lesson is on the site without any change to the configuration.
- each lesson page gets a banner under its title: how long the lesson took to execute for this
  build, that the exercises and the live explorers need a kernel, and the links that start
  one (Binder, Colab) or download the notebook; a lesson that writes ``report.html`` into its
  results folder (lesson 8) gets that report copied next to its page and linked.
- a widget's output (it has no state without a kernel) becomes a sentence saying so.
- ``index.html`` is the start page; plotly.js is copied once into ``_static``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

from docutils import nodes

START = "00_start_here"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
LESSON = re.compile(r"^\d\d[a-z]?_[a-z0-9_]+$")
BINDER = "https://mybinder.org/v2/gh/rnncourse/rnncourse/{release}?urlpath=lab/tree/notebooks/{doc}.ipynb"
COLAB = "https://colab.research.google.com/github/rnncourse/rnncourse/blob/{release}/notebooks/{doc}.ipynb"

CSS = """
.rnncourse-banner { border-left: 4px solid #0072B2; background: #f2f7fb; padding: .6em 1em;
  margin: .5em 0 1.2em 0; font-size: .95em; }
.rnncourse-banner a.rnncourse-launch { display: inline-block; margin: .25em .5em .1em 0;
  padding: .1em .6em; border: 1px solid #0072B2; border-radius: 4px; text-decoration: none; }
.rnncourse-widget-note { border: 1px dashed #999; padding: .5em 1em; color: #555;
  font-size: .9em; margin: .5em 0; }
.rnncourse-static-note { color: #555; font-size: .9em; margin: .3em 0; }
.rnncourse-static-explorer { margin: .5em 0 1em 0; }
"""


def lessons(notebooks: Path) -> list[str]:
    """The lessons' document names (``NN_slug``), in file-name order."""
    return sorted(p.stem for p in Path(notebooks).glob("*.ipynb") if LESSON.match(p.stem))


# MathJax 3's TeX-to-HTML component and what it loads (extensions, fonts, the menu): 3 MB of
# the 24 MB that the sphinx-mathjax-offline package ships.
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y")
MATHJAX_PATH = "mathjax/tex-chtml.js"


def static_folder(build: Path) -> Path:
    """``build/static``: plotly.js (from the plotly package), MathJax (from the package
    sphinx-mathjax-offline, see :data:`MATHJAX_PARTS`) and the site's CSS."""
    import importlib

    import plotly

    folder = Path(build) / "static"
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    target = folder / "plotly.min.js"
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        shutil.copyfile(source, target)
    mathjax = Path(importlib.import_module("sphinx-mathjax-offline").__file__).parent
    mathjax = mathjax / "static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, dst = mathjax / part, folder / "mathjax" / part
        if dst.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    (folder / "rnncourse-site.css").write_text(CSS)
    return folder


def package_digest(root: Path) -> str:
    """A hash of the package's sources (``rnncourse/**/*.py``): changing one executes every
    lesson again (jupyter-cache keys an execution on the code cells only)."""
    return _digest(sorted((Path(root) / "rnncourse").rglob("*.py")))


def compiles_others(docname: str) -> bool:
    """True for the lesson that compiles the other lessons' results (lesson 8, the findings):
    it executes after them, and again whenever one of them changes."""
    return "findings" in docname


def site_notebook(docname: str, text: str, *, notebooks: Path, package: str) -> str:
    """The lesson ``docname`` (its ``.ipynb`` text) as the site reads and executes it: a hidden
    last code cell holding :func:`package_digest` (lesson 8's also a hash of every lesson), and
    on the start page a hidden toctree of the other lessons. ``site/execute.py`` and Sphinx's
    ``source-read`` both call this, so an execution cached by one is found by the other."""
    if not LESSON.match(docname):
        return text
    nb = json.loads(text)
    marker = f"# site build: rnncourse sources {package}"
    if compiles_others(docname):
        marker += " lessons " + _digest(sorted(Path(notebooks).glob("*.ipynb")))
    nb["cells"].append({"cell_type": "code", "id": "rnncourse-site-marker",
                        "metadata": {"tags": ["remove-cell"]},
                        "execution_count": None, "outputs": [], "source": marker})
    if docname == START:
        others = [d for d in lessons(notebooks) if d != START]
        toc = "```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + "\n".join(others) + "\n```\n"
        nb["cells"].append({"cell_type": "markdown", "id": "rnncourse-site-toc",
                            "metadata": {}, "source": toc})
    return json.dumps(nb)


def kernel_environment(build: Path) -> dict[str, str]:
    """What the lessons' kernels inherit while the site executes them: site mode (static
    explorers, figures without plotly.js) and the results folder beside the cache (lesson 8
    reads the others' records there)."""
    return {"RNNCOURSE_SITE": "1", "RNNCOURSE_RESULTS": str(Path(build) / "results"),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def setup(app, *, root: Path, build: Path, release: str) -> None:
    notebooks = Path(app.srcdir)  # notebooks/ (a test builds a folder of its own)
    package = package_digest(root)

    def add_toctree(app, docname, source):
        source[0] = site_notebook(docname, source[0], notebooks=notebooks, package=package)

    def add_banner(app, doctree):
        docname = app.env.docname
        # the widgets' saved state (a FigureWidget's carries all of plotly.js, 10 MB) is of no
        # use without a kernel: each widget output says so instead (below)
        js_files = getattr(app.env, "nb_metadata", {}).get(docname, {}).get("js_files", {})
        js_files.pop("ipywidgets_state", None)
        for raw in list(doctree.findall(nodes.raw)):
            if WIDGET_MIME in raw.astext():
                note = ("<div class='rnncourse-widget-note'>A live widget is here in the "
                        "notebook: it needs a running kernel (see the launch links at the top "
                        "of the page).</div>")
                raw.replace_self(nodes.raw("", note, format="html"))
        if not LESSON.match(docname):
            return
        seconds = _runtime(app.env, docname)
        took = (f"Running this lesson top to bottom took <b>{seconds:.0f} s</b> when this site "
                f"was built (a lesson takes about a minute on an idle 2-core machine). "
                if seconds else "")
        report = Path(build) / "results" / docname / "report.html"
        extra = ""
        if report.is_file():
            extra = (f" This lesson writes its findings as one HTML file: "
                     f"<a class='rnncourse-report' href='{docname}-report.html'>open the "
                     f"report</a>.")
        links = (f"<a class='rnncourse-launch rnncourse-binder' href='"
                 f"{html.escape(BINDER.format(release=release, doc=docname))}'>launch on "
                 f"Binder</a><a class='rnncourse-launch rnncourse-colab' href='"
                 f"{html.escape(COLAB.format(release=release, doc=docname))}'>open in Colab</a>"
                 f"<a class='rnncourse-launch rnncourse-download' href='_sources/{docname}"
                 f".ipynb' download>download the notebook</a>")
        text = (f"<div class='rnncourse-banner'>{took}This page shows the lesson's outputs; "
                f"the exercises and the live explorers need a kernel (the explorers here are "
                f"precomputed on a grid of their settings). Run it yourself: {links}{extra}"
                f"</div>")
        section = next(iter(doctree.findall(nodes.section)), None)
        banner = nodes.raw("", text, format="html")
        if section is not None and section.children and isinstance(section[0], nodes.title):
            section.insert(1, banner)
        else:
            doctree.insert(0, banner)

    def finish(app, exception):
        if exception is not None or app.builder.format != "html":
            return
        out = Path(app.outdir)
        start = out / f"{START}.html"
        if start.is_file():
            shutil.copyfile(start, out / "index.html")
        for docname in lessons(notebooks):  # lesson 8's report.html, beside its page
            report = Path(build) / "results" / docname / "report.html"
            if report.is_file():
                shutil.copyfile(report, out / f"{docname}-report.html")

    app.connect("source-read", add_toctree)
    app.connect("doctree-read", add_banner)
    app.connect("build-finished", finish)


def _digest(paths) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _runtime(env, docname: str) -> float | None:
    """Seconds myst-nb measured executing ``docname`` (from jupyter-cache when cached)."""
    data = getattr(env, "nb_metadata", {}).get(docname, {}) if hasattr(env, "nb_metadata") \
        else {}
    exec_data = data.get("exec_data") if isinstance(data, dict) else None
    runtime = (exec_data or {}).get("runtime")
    return float(runtime) if isinstance(runtime, (int, float)) else None


def sizes(html: Path) -> dict:
    """Bytes of each page (its HTML; plotly.js and MathJax are shared) and of the whole site.
    Lesson 8's ``*-report.html`` is a download, one file with plotly.js inside (5 MB)."""
    html = Path(html)
    pages = {p.name: p.stat().st_size for p in sorted(html.glob("*.html"))}
    total = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
    shared = sum(p.stat().st_size for p in (html / "_static").rglob("*") if p.is_file())
    return {"pages": pages, "total": total, "static": shared}


PAGE_LIMIT_MB, SITE_LIMIT_MB = 5.0, 40.0

if __name__ == "__main__":  # `make site` prints the sizes and fails past the goals
    import sys

    found = sizes(Path(sys.argv[1]))
    big = max(found["pages"].items(), key=lambda kv: kv[1])
    print(f"site: {len(found['pages'])} pages, largest {big[0]} {big[1] / 1e6:.1f} MB, "
          f"total {found['total'] / 1e6:.1f} MB (of which _static {found['static'] / 1e6:.1f} "
          f"MB: plotly.js, MathJax, the theme)")
    over = [f"{name} ({size / 1e6:.1f} MB)" for name, size in found["pages"].items()
            if size > PAGE_LIMIT_MB * 1e6 and not name.endswith("-report.html")]
    if over or found["total"] > SITE_LIMIT_MB * 1e6:
        sys.exit(f"site: over the size goals ({PAGE_LIMIT_MB:g} MB a page, {SITE_LIMIT_MB:g} "
                 f"MB in all): {', '.join(over) or 'the total'}")
