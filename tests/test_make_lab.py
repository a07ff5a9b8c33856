"""`make lab` really serves the course: the printed URL answers and opens the start page of the
learner's workspace (an ignored copy of the lessons), whose file browser shows each lesson once."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lab_url import first_answer, free_port, printed_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_make_lab_prints_a_url_that_serves_the_start_page(tmp_path):
    # A set-up that is out of date (a fresh clone, an edited pyproject.toml) runs first, outside
    # the clock: it takes minutes, serving the lab takes seconds.
    subprocess.run(["make", "--no-print-directory", "setup"], cwd=ROOT, check=True,
                   capture_output=True, timeout=900)
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    log = (tmp_path / "lab.log").open("w+")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        url = printed_url(tmp_path / "lab.log", port, server, wait_s=90)
        assert "/lab/tree/00_start_here.ipynb" in url
        token = re.search(r"token=(\w+)", url).group(1)
        base = f"http://127.0.0.1:{port}"
        status = json.loads(first_answer(f"{base}/api/status?token={token}", server))  # listens
        assert "started" in status
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        contents = f"{base}/api/contents/00_start_here.ipynb?token={token}"
        notebook = json.load(urllib.request.urlopen(contents, timeout=10))
        assert notebook["type"] == "notebook"
        assert "rnncourse" in notebook["content"]["cells"][0]["source"]
        listing = json.load(urllib.request.urlopen(f"{base}/api/contents?token={token}",
                                                   timeout=10))
        names = sorted(item["name"] for item in listing["content"])
        stems = [name.rsplit(".", 1)[0] for name in names if name[:2].isdigit()]
        assert len(stems) >= 9 and len(stems) == len(set(stems)), names  # each lesson once
        assert not any(name.endswith(".py") for name in names), names
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_first_answer_waits_for_a_server_that_listens_after_printing(tmp_path):
    # What Jupyter Server does: print the URL, then bind. Asking at once is refused; the helper
    # the lab tests use waits for the answer, and gives up when the server has exited.
    port = free_port()
    (tmp_path / "index.html").write_text("served")
    late = ("import http.server, functools, time; time.sleep(2); "
            "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory='.'); "
            f"http.server.HTTPServer(('127.0.0.1', {port}), handler).serve_forever()")
    server = subprocess.Popen([sys.executable, "-c", late], cwd=tmp_path,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/index.html"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)  # what the lab test did, and failed on
        assert first_answer(url, server, wait_s=30) == b"served"
    finally:
        server.kill()
        server.wait()
    with pytest.raises(urllib.error.URLError):
        first_answer(url, server, wait_s=30)  # exited: no waiting for a server that is gone
