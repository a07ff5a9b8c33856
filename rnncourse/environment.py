"""Is this kernel ready for the course? Used by the first code cell of the start page.

The minimum versions are read from the installed package's own metadata (pyproject.toml), so
there is one list of requirements, not two.

The start page's first cell must be quick in a fresh kernel (``make bench``: goal <= 5 s), so
this module imports nothing heavy: a package is found with ``importlib.util.find_spec`` and its
version read from its metadata, never imported (``import torch`` alone costs seconds of CPU
and the check does not need it); only :func:`demo_widget` imports plotly and ipywidgets, which
it shows, and plotly's renderer comes without its slowest optional import
(:mod:`rnncourse.light_imports`). ``tests/test_environment.py`` checks that the cell leaves
torch unimported.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import platform
import sys
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.version import Version

from .light_imports import without_slow_optional_imports

# What each import name is called on PyPI, for the "pip install ..." advice.
_CHECKED = {"torch": "torch", "numpy": "numpy", "ipywidgets": "ipywidgets", "plotly": "plotly",
            "anywidget": "anywidget", "tqdm": "tqdm"}
_FALLBACK_MINIMUM = {"torch": "2.3", "numpy": "2.0", "ipywidgets": "8.1", "plotly": "6.0",
                     "anywidget": "0.9", "tqdm": "4.66"}
PYTHON_MINIMUM = (3, 11)


def _minimum_versions() -> dict[str, str]:
    """Lower bounds declared by rnncourse's metadata; a fallback when it is not installed."""
    try:
        declared = metadata.requires("rnncourse") or []
    except metadata.PackageNotFoundError:
        return dict(_FALLBACK_MINIMUM)
    minimum = {}
    for line in declared:
        req = Requirement(line)
        if req.marker is not None or req.name not in _CHECKED:
            continue
        for spec in req.specifier:
            if spec.operator == ">=":
                minimum[req.name] = spec.version
    return {name: minimum.get(name, _FALLBACK_MINIMUM[name]) for name in _CHECKED}


@dataclass
class EnvironmentReport:
    """Versions found, and the problems that would stop a lesson (empty when all is well)."""

    versions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        if self.ok:
            return "Environment ready: every lesson should run here."
        return "This kernel cannot run the course yet:\n- " + "\n- ".join(self.problems)

    def __str__(self) -> str:
        rows = "\n".join(f"  {name:<11} {version}" for name, version in self.versions.items())
        return f"{rows}\n{self.message}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{name}</code></td><td>{version}</td></tr>"
            for name, version in self.versions.items()
        )
        colour = "#1b7f3b" if self.ok else "#b00020"
        message = self.message.replace("\n", "<br>")
        return (
            f"<table>{rows}</table>"
            f"<p style='color:{colour};font-weight:bold'>{message}</p>"
        )


def check_environment() -> EnvironmentReport:
    """Check Python and the packages the lessons import; say what to install when one is off."""
    report = EnvironmentReport()
    found = sys.version_info[:3]
    report.versions["python"] = platform.python_version()
    if found < PYTHON_MINIMUM:
        report.problems.append(
            f"Python {PYTHON_MINIMUM[0]}.{PYTHON_MINIMUM[1]} or newer is needed, "
            f"found {platform.python_version()}: start the course with `make lab` on Python 3.11"
        )
    for name, minimum in _minimum_versions().items():
        version = _installed_version(name)
        if version is None:
            report.versions[name] = "missing"
            report.problems.append(f"{name} is not installed: pip install '{name}>={minimum}'")
            continue
        report.versions[name] = version
        if Version(version.split("+")[0]) < Version(minimum):
            report.problems.append(
                f"{name} {version} is too old, {minimum} or newer is needed: "
                f"pip install -U '{name}>={minimum}'"
            )
    if report.versions.get("plotly") not in (None, "missing") and \
            report.versions.get("anywidget") not in (None, "missing"):
        with without_slow_optional_imports():
            import plotly.graph_objects as go
        try:
            with without_slow_optional_imports():
                go.FigureWidget()
        except Exception as err:  # plotly's stand-in raises when anywidget is unusable
            report.problems.append(f"plotly.graph_objects.FigureWidget does not work: {err}")
    return report


def _installed_version(name: str) -> str | None:
    """The installed version of the import ``name`` (its metadata), None when it is not there.

    ``find_spec`` locates the package without running it, so torch is not imported here.
    """
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return metadata.version(_CHECKED.get(name, name))
    except metadata.PackageNotFoundError:
        return None


def demo_widget():
    """A slider driving a live plotly figure: if both show and move, the lessons' widgets will.

    Returns ``(box, slider, figure)``; moving the slider changes the frequency of the sine.
    """
    import ipywidgets as widgets
    import numpy as np

    with without_slow_optional_imports():
        import plotly.graph_objects as go

    t = np.linspace(0.0, 1.0, 200)
    slider = widgets.FloatSlider(value=2.0, min=0.5, max=8.0, step=0.5, description="frequency")
    slider.add_class("rnncourse-demo-slider")
    from . import figstyle

    with without_slow_optional_imports():
        figure = figstyle.figure(
            [go.Scatter(x=t, y=np.sin(2 * np.pi * slider.value * t), mode="lines")],
            widget=True, title="move the slider: this plot should follow", xaxis_title="t",
            yaxis_title="sin(2π · frequency · t)")

    def redraw(change):
        figure.data[0].y = np.sin(2 * np.pi * change["new"] * t)

    slider.observe(redraw, names="value")
    box = widgets.VBox([slider, figure])
    box.add_class("rnncourse-demo")
    return box, slider, figure
