"""Lessons in a real browser: one JupyterLab for the session, driven by Playwright and Chromium.

The browser is Debian's ``chromium`` found on PATH (Playwright's own browser download is never
used). Where no chromium is found, as on most learners' laptops, every browser test skips and
says why; with ``RNNCOURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) that skip is a failure, so CI
cannot silently skip them.

The server listens on 127.0.0.1 on a free port with a random token, keeps its runtime, settings
and workspaces in a temporary folder, serves the repository, and runs in its own process group,
stopped at the end of the session after every kernel it started has been shut down.
Artifacts (screenshots, and on failure the server log and the browser console) go to
``test-artifacts/e2e/``.

The server's kernels get an IPython profile of their own (``IPYTHONDIR`` in the temporary
folder) whose config loads ``tests/progress_rule.py`` as an extension: it times every cell from
inside the kernel (wall-clock and CPU seconds of the kernel's process tree), so that a Run All
is held to the same progress rule as nbval (:meth:`LabPage.check_progress_rule`). A lesson a
browser test runs top to bottom is marked ``runs_lesson(stem)``; notebooks/conftest.py then
leaves it out of nbval in the same run, so each lesson executes once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared modules
import scheduling  # noqa: E402  (tests/scheduling.py: the two processes of make test)
from browser import (  # noqa: E402  (tests/browser.py, shared with tests/site)
    browser_type_launch_args,  # noqa: F401  (a fixture)
    chromium_executable,  # noqa: F401  (a fixture)
)
from lab_page import LabPage, progress_rule  # noqa: E402  (progress_rule: tests/progress_rule.py)
from lab_url import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# JupyterLab user settings: no news/update popup, and no autosave (a run-all must never write
# outputs into the committed lesson notebooks).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Render every cell, so that every execution prompt is in the page to be read.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

SERVER_START_S = 120     # the server answers in about 5 s on an idle 2-core machine
KERNEL_IDLE_MS = 120_000  # lab shell plus an idle kernel: about 10 s idle
# a lesson runs top to bottom in about a minute on 2 idle cores; on a shared machine (load 15
# on 2 cores) lessons 5-7 took over 300 s
RUN_ALL_MS = 600_000
WIDGET_MS = 60_000
# Every expect() waits up to 30 s (Playwright's default is 5 s): a widget's round trip to the
# kernel can take seconds on a loaded 2-core machine.
expect.set_options(timeout=30_000)


def pytest_configure(config):  # (the runs_lesson mark is declared in pyproject.toml)
    scheduling.register(config)  # the xdist groups; the workers' measurements in the summary


# The kernels' IPython profile: load tests/progress_rule.py by path (no sys.path change in the
# kernel, nothing in the learner's namespace) and record each cell's times to RECORD_DIR.
KERNEL_CONFIG = """\
import importlib.util, sys
_spec = importlib.util.spec_from_file_location("rnncourse_e2e_cell_clock", {module!r})
_clock = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _clock
_spec.loader.exec_module(_clock)
_clock.RECORD_DIR = {record_dir!r}
c.InteractiveShellApp.extensions = [_spec.name]
"""


def kernel_profile(home: Path) -> tuple[Path, Path]:
    """An IPYTHONDIR under ``home`` whose kernels time their cells; (its path, the record dir)."""
    ipython, records = home / "ipython", home / "cell-times"
    (ipython / "profile_default").mkdir(parents=True, exist_ok=True)
    records.mkdir(exist_ok=True)
    (ipython / "profile_default" / "ipython_kernel_config.py").write_text(KERNEL_CONFIG.format(
        module=progress_rule.__file__, record_dir=str(records)))
    return ipython, records


class JupyterLabServer:
    """A running ``jupyter lab``: its URL, token, log, and a small REST client."""

    def __init__(self, base: str, token: str, log_path: Path, runtime_dir: Path,
                 process: subprocess.Popen):
        self.base, self.token, self.log_path = base, token, log_path
        self.runtime_dir, self.process = runtime_dir, process
        self.root, self.failed = ROOT, False
        self.cell_times: Path | None = None  # where kernels record their cells' times
        self._workspaces = 0

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook_url(self, relative: str) -> str:
        """A URL opening ``relative`` in a fresh, empty workspace (no tabs from earlier tests)."""
        self._workspaces += 1
        return (f"{self.base}/lab/workspaces/e2e-{self._workspaces}/tree/{relative}"
                f"?reset&token={self.token}")

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel, so that the next test starts from scratch."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def kernel_id(self, relative: str) -> str | None:
        """The id of the kernel of the session on ``relative`` (a path under the root)."""
        for session in self.api("sessions"):
            if session.get("path") == relative and session.get("kernel"):
                return session["kernel"]["id"]
        return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_for_server(server: JupyterLabServer) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {server.process.returncode}:\n"
                               f"{server.log()[-4000:]}")
        try:
            server.api("status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S} s:\n"
                       f"{server.log()[-4000:]}")


def _kernel_pids(runtime_dir: Path) -> list[int]:
    """Processes started with a connection file in this session's runtime dir: its kernels."""
    marker = str(runtime_dir).encode()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _stop(server: JupyterLabServer) -> None:
    try:
        server.shutdown_kernels()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
    except ProcessLookupError:
        pass
    # Kernels run in their own process groups: any that survived the server are ended by pid.
    for pid in _kernel_pids(server.runtime_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def jupyter_lab(chromium_executable, tmp_path_factory):  # noqa: F811  (the fixture)
    """One JupyterLab serving the repository for the whole session."""
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ipython, cell_times = kernel_profile(home)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), PYTHONUNBUFFERED="1",
               IPYTHONDIR=str(ipython))
    port, token = free_port(), secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # Checkpoints (written when a notebook is opened) go to the temp dir, not the repo.
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    log_path = home / "jupyterlab.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = JupyterLabServer(f"http://127.0.0.1:{port}", token, log_path, home / "runtime",
                              process)
    server.cell_times = cell_times
    try:
        _wait_for_server(server)
        yield server
    finally:
        _stop(server)
        if server.failed:
            shutil.copy(log_path, ARTIFACTS / "jupyterlab.log")


def pytest_terminal_summary(terminalreporter):
    progress_rule.write_summary(terminalreporter)  # slow cells of the lessons run here


def _slug(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")


@pytest.fixture
def lab(jupyter_lab, page, request):
    """A :class:`LabPage` on a fresh browser page; on failure, a screenshot and logs."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    helper = LabPage(page, jupyter_lab, ARTIFACTS, _slug(request.node.nodeid),
                     kernel_ms=KERNEL_IDLE_MS, run_ms=RUN_ALL_MS, widget_ms=WIDGET_MS)
    yield helper
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        jupyter_lab.failed = True
        stem = ARTIFACTS / _slug(request.node.nodeid)
        try:
            page.screenshot(path=f"{stem}-failure.png")
        except Exception as err:  # a failed screenshot must not hide the failure itself
            console.append(f"(screenshot failed: {err})")
        Path(f"{stem}-console.log").write_text("\n".join(console))
        Path(f"{stem}-server.log").write_text(jupyter_lab.log())
    page.close()
    jupyter_lab.shutdown_kernels()


@pytest.fixture
def scratch_notebook():
    """Write a small notebook under the served root: ``scratch_notebook(cells)`` -> its path.

    Each goes into a folder of its own under ``test-artifacts/scratch/`` (ignored by git),
    removed after the test; ``cells`` are code cells' sources.
    """
    import nbformat

    scratch = ROOT / "test-artifacts" / "scratch"
    folders = []

    def write(cells, name: str = "scratch.ipynb") -> Path:
        folder = scratch / secrets.token_hex(4)
        folder.mkdir(parents=True)
        folders.append(folder)
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        path = folder / name
        nbformat.write(nb, path)
        return path

    yield write
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    if scratch.is_dir() and not any(scratch.iterdir()):
        scratch.rmdir()
