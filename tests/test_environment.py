"""One source of truth for versions, Binder's files, and the start page's environment check."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from rnncourse import environment

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAME = {"torch": "pytorch-cpu"}  # PyPI name -> conda-forge name, where they differ


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtime_requirements() -> dict[str, Requirement]:
    return {Requirement(line).name: Requirement(line) for line in _project()["dependencies"]}


def extra_requirements(extra: str) -> dict[str, Requirement]:
    """The packages of one extra, without rnncourse's references to its own extras."""
    reqs = [Requirement(line) for line in _project()["optional-dependencies"][extra]]
    return {req.name: req for req in reqs if req.name != "rnncourse"}


def binder_requirements() -> dict[str, Requirement]:
    """What Binder's environment.yml must hold: the runtime packages plus JupyterLab ([lab])."""
    return {**runtime_requirements(), **extra_requirements("lab")}


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def conda_dependencies() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = {}
    for entry in env["dependencies"]:
        assert isinstance(entry, str), f"environment.yml: unexpected entry {entry!r}"
        name, spec = re.match(r"^([A-Za-z0-9_.-]+)(.*)$", entry).groups()
        specs[name] = spec
    return specs


def test_environment_yml_lists_the_same_runtime_packages_as_pyproject():
    conda = conda_dependencies()
    wanted = {CONDA_NAME.get(name, name) for name in binder_requirements()}
    listed = set(conda) - {"python", "pip"}
    assert listed == wanted, (
        f"environment.yml lacks {sorted(wanted - listed)}, has extra {sorted(listed - wanted)}"
    )


def test_environment_yml_uses_the_same_lower_bounds_as_pyproject():
    conda = conda_dependencies()
    for name, req in binder_requirements().items():
        assert conda[CONDA_NAME.get(name, name)] == str(req.specifier), name


def test_environment_yml_is_what_repo2docker_needs():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]  # python>=3.11 is not parsed: it gives 3.10
    assert "pip" in env["dependencies"]


def test_every_declared_package_is_pinned_and_the_pin_satisfies_the_bound():
    pins = pinned_versions()
    declared = dict(runtime_requirements())
    for extra in ("lab", "test", "dev", "instructor", "site"):
        declared.update(extra_requirements(extra))
    for name, req in declared.items():
        assert name in pins, f"{name} is declared in pyproject.toml, not pinned in requirements"
        assert req.specifier.contains(Version(pins[name])), f"{name}=={pins[name]} vs {req}"
    assert set(pins) == set(declared), f"undeclared pins: {set(pins) - set(declared)}"
    assert pins["torch"] == "2.13.0", "torch must stay pinned to the CPU build on local disk"


@pytest.mark.parametrize("end", ["lowest", "newest"])
def test_make_test_deps_installs_each_end_of_the_declared_ranges(end):
    # .ci/deps.py writes what `make test-deps` installs: every name at its lower bound, or the
    # declared line itself, so that pip's newest stays inside an upper bound (pytest<9.2).
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "deps.py"), end], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    torch, lines = out[0], [Requirement(line) for line in out[1:]]
    declared = {**runtime_requirements(), **extra_requirements("lab")}
    declared.update({n: r for n, r in extra_requirements("test").items() if n in ("pytest",
                                                                                   "nbval")})
    assert torch.startswith("# torch: torch") and {r.name for r in lines} | {"torch"} == set(
        declared)
    for req in lines:
        bound = declared[req.name]
        if end == "lowest":
            (spec,) = req.specifier
            assert spec.operator == "==" and bound.specifier.contains(spec.version), (req, bound)
        else:
            assert req.specifier == bound.specifier, (req, bound)
    if end == "newest":
        assert not next(r for r in lines if r.name == "pytest").specifier.contains("9.2.0")


def test_the_runtime_dependencies_hold_no_jupyter_server_and_no_test_tools():
    # Installing the course into a running kernel (Colab, a hub image) must not pull JupyterLab,
    # pytest or an ipykernel upgrade into it: those live in the extras.
    runtime = set(runtime_requirements())
    assert not runtime & {"jupyterlab", "ipykernel", "jupytext", "nbval", "pytest", "notebook",
                          "jupyter-client", "jupyter_client", "ipython"}, runtime
    assert {"numpy", "torch", "ipywidgets", "plotly", "anywidget"} <= runtime
    assert _project()["optional-dependencies"]["dev"][0] == "rnncourse[lab,test]"


def test_postbuild_installs_the_package_and_stops_on_errors():
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable"
    lines = post.read_text().splitlines()
    assert "set -euo pipefail" in lines
    assert "python -m pip install --no-deps -e ." in lines


def test_the_environment_check_passes_here():
    report = environment.check_environment()
    assert report.ok, report.message
    assert {"python", "torch", "numpy", "ipywidgets", "plotly"} <= set(report.versions)
    assert "Environment ready" in report._repr_html_()


def test_the_environment_check_names_what_to_install(monkeypatch):
    monkeypatch.setattr(
        environment, "_minimum_versions", lambda: {"numpy": "99.0", "no_such_package_xyz": "1.0"}
    )
    report = environment.check_environment()
    assert not report.ok
    assert any("numpy" in p and "99.0" in p and "pip install" in p for p in report.problems)
    assert any("no_such_package_xyz is not installed" in p for p in report.problems)


def test_the_minimum_versions_come_from_the_package_metadata():
    minimum = environment._minimum_versions()
    assert minimum["torch"] == str(runtime_requirements()["torch"].specifier).lstrip(">=")


def test_the_demo_widget_redraws_when_the_slider_moves():
    _, slider, figure = environment.demo_widget()
    before = list(figure.data[0].y)
    slider.value = 6.0
    assert list(figure.data[0].y) != before
    assert max(abs(v) for v in figure.data[0].y) == pytest.approx(1.0, abs=1e-3)


# Modules the start page's first cell must not import: each costs seconds in a fresh kernel
# (torch about 3.4 s of CPU, jsonschema's optional rfc3987_syntax about 2.5 s), and the cell
# needs neither. Counted in sys.modules, so the test cannot flake on a busy machine.
NOT_IN_THE_FIRST_CELL = ("torch", "rfc3987_syntax", "rnncourse.explorers", "rnncourse.models")


def test_the_start_pages_first_cell_imports_nothing_heavy():
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    first = next(c.source for c in notebook.cells if c.cell_type == "code")
    assert "check_environment" in first and "demo_widget" in first, first
    probe = (f"import sys\nexec(compile({first!r}, 'first cell', 'exec'))\n"
             f"print(sorted(m for m in {NOT_IN_THE_FIRST_CELL!r} if m in sys.modules))\n"
             "print('plotly' in sys.modules, 'ipywidgets' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "notebooks",
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    *_, heavy, shown = done.stdout.strip().splitlines()
    assert heavy == "[]", f"the start page's first cell imports {heavy}"
    assert shown == "True True", "the first cell no longer shows its plotly widget"


@pytest.fixture
def python_310(tmp_path):
    """A python3 that reports version 3.10.13 (the real interpreter with a patched sys)."""
    site = tmp_path / "site"
    site.mkdir()
    fake = "import sys\nsys.version_info = (3, 10, 13, 'final', 0)\n"
    (site / "sitecustomize.py").write_text(fake)
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.parametrize("target", ["lab", "test"])
def test_make_stops_at_once_on_an_old_python(python_310, target):
    done = subprocess.run(
        ["make", "--no-print-directory", target, f"PYTHON={python_310}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    message = done.stderr + done.stdout
    assert "needs Python 3.11 or newer; found Python 3.10.13" in message
    assert "pip install" not in message and "jupyter" not in done.stdout.lower()


def test_the_setup_is_skipped_when_nothing_changed(tmp_path):
    # In a copy of the set-up's inputs, so the answer does not depend on this clone's state
    # (an edited pyproject.toml here rightly means "set up again").
    for name in ("Makefile", "requirements.txt", "pyproject.toml", "setup.py"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
        os.utime(tmp_path / name, (1_000_000_000, 1_000_000_000))
    (tmp_path / ".venv").mkdir()
    stamp = tmp_path / ".venv" / ".installed"
    stamp.touch()
    os.utime(stamp, (1_000_000_100, 1_000_000_100))

    def up_to_date() -> bool:
        done = subprocess.run(["make", "--no-print-directory", "-q", ".venv/.installed"],
                              cwd=tmp_path, capture_output=True, timeout=60)
        return done.returncode == 0

    assert up_to_date(), "make setup would reinstall although nothing changed"
    for step, name in enumerate(("requirements.txt", "pyproject.toml", "setup.py"), start=1):
        later = 1_000_000_100 + 200 * step
        os.utime(tmp_path / name, (later, later))
        assert not up_to_date(), f"make setup would not reinstall after {name} changed"
        os.utime(stamp, (later + 100, later + 100))


@pytest.mark.slow
def test_the_pytest_command_collects_every_test_file():
    # Plain `pytest` in a set-up clone: the console script, not `python -m pytest`, which
    # would put the working directory on sys.path and hide an import of the repository's
    # own packages (benchmarks) that only pyproject's `pythonpath` makes work.
    command = Path(sys.executable).parent / "pytest"
    if not command.is_file():
        pytest.skip(f"no pytest command beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(command), "--collect-only", "-q", "-p", "no:cacheprovider",
                          "tests"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "error" not in run.stdout.lower().splitlines()[-1], run.stdout[-2000:]


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("## ", readme.index("make test"))]
    assert "make lab" in head and "make test" in head
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.slow
def test_repo2docker_builds_binder_from_environment_yml_and_postbuild(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "jupyter-repo2docker==2026.4.0"],
        check=True, timeout=300, capture_output=True,
    )
    done = subprocess.run(
        [venv / "bin" / "jupyter-repo2docker", "--no-build", "--debug", str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dockerfile = done.stdout + done.stderr
    assert "python=3.11" in dockerfile
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"' in dockerfile
    assert "RUN ./postBuild" in dockerfile

