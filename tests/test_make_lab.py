"""`make lab` really serves the course: the printed URL answers and opens the start page of the
learner's workspace (an ignored copy of the lessons), whose file browser shows each lesson once."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        url = None
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.5)
            log.seek(0)
            match = re.search(rf"(http://127\.0\.0\.1:{port}/\S+\?token=(\w+))", log.read())
            url = match and match.group(1)
        assert url, f"no URL printed; log:\n{(tmp_path / 'lab.log').read_text()[-3000:]}"
        assert "/lab/tree/00_start_here.ipynb" in url
        token = re.search(r"token=(\w+)", url).group(1)
        base = f"http://127.0.0.1:{port}"
        status = json.load(urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=10))
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
