"""The course as a learner installs it: the wheel outside the repository, the sdist, Colab.

The wheel is built once (sdist first, then the wheel from the sdist, as PyPI users get it). It
goes into a fresh venv outside the repository with ``--no-deps``; that venv finds its
dependencies (torch 2.13.0 from local disk among them) through one ``.pth`` line pointing at
this project's ``.venv``, listed after its own site-packages, so the ``rnncourse`` it imports
is the wheel's. Resolving the wheel's dependencies for real is what the Colab test does.
"""

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest
from lab_url import first_answer, free_port, printed_url

ROOT = Path(__file__).resolve().parent.parent
PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


@pytest.fixture(scope="module")
def learner_venv(dist, tmp_path_factory) -> Path:
    """A fresh venv outside the repository holding the wheel (and, by .pth, its dependencies)."""
    home = tmp_path_factory.mktemp("learner")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", PURELIB], check=True, capture_output=True,
                               text=True).stdout.strip())
    (site / "zz_course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--no-deps", str(dist["wheel"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def in_venv(venv: Path, *argv, cwd: Path, timeout=300, env=None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, **(env or {}))
    environment.pop("PYTHONPATH", None)
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment)


def test_the_wheel_carries_the_lessons_and_the_command(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(f"rnncourse-{VERSION}.dist-info/entry_points.txt").decode()
        metadata = wheel.read(f"rnncourse-{VERSION}.dist-info/METADATA").decode()
    lessons = [n for n in names if re.match(r"rnncourse/notebooks/\d\d[a-z]?_\w+\.ipynb$", n)]
    assert len(lessons) == len(list((ROOT / "notebooks").glob("0*.ipynb"))) >= 9
    assert not any(n.endswith(".py") and "/notebooks/" in n for n in names)
    assert "rnncourse = rnncourse.cli:main" in entry_points
    assert "License-Expression: MIT AND CC-BY-4.0" in metadata
    assert "Requires-Dist: jupyterlab" not in metadata.split("Provides-Extra")[0]


def test_the_sdist_holds_the_tests_and_they_run_from_it(dist, tmp_path):
    with tarfile.open(dist["sdist"]) as sdist:
        sdist.extractall(tmp_path, filter="data")
    tree = tmp_path / f"rnncourse-{VERSION}"
    for needed in ("tests/_np_helpers.py", "tests/test_np_layers.py", "notebooks/00_start_here.py",
                   "notebooks/00_start_here.ipynb", "requirements.txt", "Makefile", "setup.py",
                   "LICENSE", "CHANGELOG.md", "CITATION.cff"):
        assert (tree / needed).is_file(), needed
    # The test modules that import the shared helpers load from the unpacked sdist (collected,
    # then deselected: a module that fails to import is a collection error), and one module
    # runs; one pytest process for both (each start of pytest and torch costs seconds).
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_validation.py", "tests/test_np_layers.py",
                           "tests/test_np_cells.py", "--deselect", "tests/test_np_layers.py",
                           "--deselect", "tests/test_np_cells.py"], cwd=tree,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    counts = re.search(r"(\d+) passed, (\d+) deselected", done.stdout)
    assert counts and int(counts.group(1)) > 0 and int(counts.group(2)) > 0, done.stdout[-3000:]


@pytest.mark.slow
def test_a_learner_gets_lessons_doctor_a_lesson_run_and_the_lab_from_the_wheel(
        learner_venv, tmp_path):
    bin_ = learner_venv / "bin"
    done = in_venv(learner_venv, bin_ / "rnncourse", "lessons", "course", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"added 9|added 1\d", done.stdout), done.stdout
    where = in_venv(learner_venv, bin_ / "python", "-c",
                    "import rnncourse.lessons as l; print(l.NOTEBOOKS)", cwd=tmp_path)
    assert str(learner_venv) in where.stdout, "the wheel's rnncourse was not the one imported"
    check = in_venv(learner_venv, bin_ / "python", "-m", "rnncourse.lessons", "check",
                    cwd=tmp_path)
    assert check.returncode == 0 and re.search(r"^\d+ lessons in ", check.stdout), check.stdout
    assert not check.stdout.startswith("0 lessons")
    doctor = in_venv(learner_venv, bin_ / "rnncourse", "doctor", cwd=tmp_path)
    assert doctor.returncode == 0 and "Environment ready" in doctor.stdout, doctor.stdout

    lesson = in_venv(learner_venv, bin_ / "python", "-m", "pytest", "-q", "-p",
                     "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                     "course/01_scope.ipynb", cwd=tmp_path,
                     env={"RNNCOURSE_RESULTS": str(tmp_path / "results")})
    assert lesson.returncode == 0, lesson.stdout[-3000:]

    port = free_port()
    log = (tmp_path / "lab.log").open("w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    env.pop("PYTHONPATH", None)
    server = subprocess.Popen([bin_ / "rnncourse", "lab", "course", "--port", str(port),
                               "--no-browser"], cwd=tmp_path, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = printed_url(tmp_path / "lab.log", port, server)
        assert "/lab/tree/00_start_here.ipynb" in url
        assert "JupyterLab" in first_answer(url, server).decode()  # once it listens
        # A save through the server keeps the notebook and drops the widgets' state.
        token = url.rsplit("token=", 1)[1]
        api = f"http://127.0.0.1:{port}/api/contents/01_scope.ipynb?token={token}"
        model = json.load(urllib.request.urlopen(api, timeout=20))
        state = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0, "state": {"m": {"_esm": "x" * 3_000_000}}}}
        model["content"]["metadata"]["widgets"] = state
        model["content"]["cells"][0]["source"] = "# My notes on lesson 1\n"
        body = json.dumps({"type": "notebook", "format": "json",
                           "content": model["content"]}).encode()
        request = urllib.request.Request(api, data=body, method="PUT",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=20).close()
        saved = tmp_path / "course" / "01_scope.ipynb"
        assert "widgets" not in json.loads(saved.read_text())["metadata"]
        assert "My notes" in saved.read_text()
        assert saved.stat().st_size < 2_000_000
        assert not (tmp_path / "course" / "01_scope.py").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    again = in_venv(learner_venv, bin_ / "rnncourse", "lessons", "course", cwd=tmp_path)
    assert "kept your 01_scope.ipynb" in again.stdout, again.stdout


# What Google Colab's runtime holds, as assumed on 2025-09-01 (Colab's published package list
# then; Colab updates it every few months: refresh these with `pip list` in a Colab cell).
# Only pip's view matters here, so each is a stand-in distribution (metadata, no code).
COLAB_2025_09 = {
    "ipykernel": "6.17.1", "jupyter_client": "6.1.12", "ipython": "7.34.0",
    "notebook": "6.5.7", "traitlets": "5.7.1", "tornado": "6.4.2", "ipywidgets": "7.7.1",
    "widgetsnbextension": "3.6.10", "jupyterlab_widgets": "3.0.15", "comm": "0.2.3",
    "numpy": "2.0.2", "torch": "2.8.0", "plotly": "5.24.1", "tqdm": "4.67.1",
    "packaging": "25.0", "threadpoolctl": "3.6.0", "typing_extensions": "4.15.0",
}
KEPT_ON_COLAB = ("ipykernel", "jupyter_client", "ipython")


@pytest.mark.slow
def test_installing_on_colab_upgrades_none_of_its_kernel_packages(dist, tmp_path):
    python = Path("/root/.pyenv/versions/3.12.1/bin/python")  # Colab runs Python 3.12
    python = python if python.exists() else Path(sys.executable)
    venv = tmp_path / "colab"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", PURELIB], check=True,
                               capture_output=True, text=True).stdout.strip())
    for name, version in COLAB_2025_09.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("colab-stand-in\n")
        (info / "RECORD").write_text("")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                           "install", "--dry-run", "--quiet", "--report", str(report),
                           str(dist["wheel"])], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    planned = {item["metadata"]["name"].lower().replace("-", "_"): item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
    assert "rnncourse" in planned
    touched = sorted(set(planned) & set(KEPT_ON_COLAB))
    assert not touched, f"pip would replace Colab's {touched}: {planned}"
    assert "torch" not in planned and "jupyterlab" not in planned, planned


def test_the_links_and_the_citation_name_this_release():
    readme = (ROOT / "README.md").read_text()
    colab_links = re.findall(r"colab\.research\.google\.com/github/rnncourse/rnncourse/blob/"
                             r"([^/]+)/", readme)
    binder_links = re.findall(r"mybinder\.org/v2/gh/rnncourse/rnncourse/([^?]+)\?", readme)
    assert len(colab_links) >= 9 and set(colab_links) == {f"v{VERSION}"}, set(colab_links)
    assert binder_links and set(binder_links) == {f"v{VERSION}"}, set(binder_links)
    assert f"branch=course-v{VERSION}" in readme
    assert f"\nversion: {VERSION}\n" in (ROOT / "CITATION.cff").read_text()
    assert f"## {VERSION} " in (ROOT / "CHANGELOG.md").read_text()


def test_the_build_backend_is_bounded_and_the_licence_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (backend,) = project["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=77,<\d+", backend), backend
    assert project["project"]["license"] == "MIT AND CC-BY-4.0"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["project"]["classifiers"])
    assert (ROOT / ".github" / "workflows" / "ci.yml").read_text().count(".ci/run") >= 1
