"""A learner edits, runs and saves a lesson where `make lab` serves it: nothing tracked changes.

The server is started the way `make lab` starts it (`rnncourse lab DIR`), on an ignored folder
inside the repository, so the repository's jupytext.toml (which pairs every notebook with a .py)
is above it. The learner has turned on "Save Widget State Automatically": without the server's
pre-save hook, the saved lesson would carry plotly.js once per figure widget (5 MB each).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from lab_page import LabPage
from lab_url import first_answer, free_port, printed_url

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "workspace-e2e"  # ignored by git, like workspace/
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
LESSON = "01_scope.ipynb"
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
}


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def workspace_lab(chromium_executable, tmp_path_factory):
    home = tmp_path_factory.mktemp("workspace-lab")
    for name, values in SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    shutil.rmtree(WORKSPACE, ignore_errors=True)
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), PYTHONUNBUFFERED="1")
    log_path = home / "lab.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rnncourse.cli", "lab", str(WORKSPACE), "--port", str(port),
             "--no-browser"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        url = printed_url(log_path, port, process)
        token = url.rsplit("token=", 1)[1]
        first_answer(url, process)  # it prints the URL before it listens
        base = f"http://127.0.0.1:{port}"
        yield SimpleNamespace(root=WORKSPACE, base=base, token=token, log=log_path,
                              notebook_url=lambda rel: f"{base}/lab/tree/{rel}?reset&token={token}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(WORKSPACE, ignore_errors=True)


def test_editing_and_saving_a_lesson_in_the_workspace_leaves_git_clean(workspace_lab, page):
    before = git_status()
    saved = WORKSPACE / LESSON
    original = saved.read_text()
    page.set_viewport_size({"width": 1400, "height": 1000})
    lab = LabPage(page, workspace_lab, ARTIFACTS, "workspace-save")
    lab.open(saved)
    # The learner adds a note to the first code cell, runs the lesson and saves it.
    page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content").first.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# my note on lesson 1")
    lab.run_all()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while "my note on lesson 1" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    text = saved.read_text()
    assert "my note on lesson 1" in text and text != original
    notebook = json.loads(text)
    assert any(cell.get("outputs") for cell in notebook["cells"]), "saved without outputs"
    assert "widgets" not in notebook["metadata"], "widget state (plotly.js) was saved"
    size = saved.stat().st_size
    print(f"saved executed {LESSON}: {size / 1e6:.2f} MB")
    assert size <= 2_000_000, f"{LESSON} saved at {size / 1e6:.1f} MB"
    assert sorted(p.name for p in WORKSPACE.glob("01_scope.*")) == [LESSON], "a paired file"
    assert git_status() == before, "saving in the workspace changed the repository"
