"""Waiting for a JupyterLab started by a test: a free port, its printed URL, then its first answer.

Jupyter Server (2.21 here) prints the URL with its token before it listens: the socket is bound
by a callback of the event loop, which starts after the print. On a busy machine a request sent
as soon as the URL appears can be refused (a fresh-clone CI run failed so). A learner who clicks
the link a moment later is served, so the tests wait for the first answer, as long as the server
runs and for at most ``wait_s``.
"""

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def printed_url(log: Path, port: int, server: subprocess.Popen, wait_s: float = 120) -> str:
    """The first ``http://127.0.0.1:<port>/...?token=...`` URL in ``log``."""
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/\S*\?token=\w+")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and server.poll() is None:
        match = pattern.search(log.read_text(errors="replace"))
        if match:
            return match.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no URL for port {port} printed in {wait_s:.0f} s "
                         f"(server exit code {server.poll()}); log:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


def first_answer(url: str, server: subprocess.Popen, wait_s: float = 60,
                 request: urllib.request.Request | None = None) -> bytes:
    """The body of the first answer from ``url``, asked every half second while refused."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(request or url, timeout=20) as answer:
                return answer.read()
        except urllib.error.URLError as err:
            refused = isinstance(err.reason, ConnectionRefusedError)
            if not refused or time.monotonic() > deadline or server.poll() is not None:
                raise
        time.sleep(0.5)
