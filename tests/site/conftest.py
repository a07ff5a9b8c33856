"""The built course site (``make site``) in Chromium, served on 127.0.0.1.

Run by ``make site-test`` after ``make site``. Without a built site (``build/site/html``, or
``$RNNCOURSE_SITE_BUILD/html``) these tests skip and say so; with ``RNNCOURSE_REQUIRE_SITE=1``
(set by ``make site-test``) that skip is a failure. The browser is launched as tests/e2e does:
Debian's ``chromium`` on PATH, headless, with the same flags (a skip without it, a failure under
``RNNCOURSE_REQUIRE_BROWSER=1``). Screenshots go to ``test-artifacts/site/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "site"
# tests/e2e/conftest.py's launch flags (kept in step by hand: that file is the reference)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0", "false", "no")


def site_dir() -> Path:
    build = Path(os.environ.get("RNNCOURSE_SITE_BUILD", "") or ROOT / "build" / "site")
    if not build.is_absolute():
        build = ROOT / build
    return build / "html"


@pytest.fixture(scope="session")
def site() -> Path:
    html = site_dir()
    if not (html / "index.html").is_file():
        reason = f"no built site in {html}: run `make site` first"
        if _flag("RNNCOURSE_REQUIRE_SITE"):
            pytest.fail(f"RNNCOURSE_REQUIRE_SITE is set but {reason}", pytrace=False)
        pytest.skip(reason)
    return html


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = shutil.which("chromium")
    if path is None:
        reason = "the site's browser tests need Debian's `chromium` on PATH; none found"
        if _flag("RNNCOURSE_REQUIRE_BROWSER"):
            pytest.fail(f"RNNCOURSE_REQUIRE_BROWSER is set but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_executable):
    return {**browser_type_launch_args, "executable_path": chromium_executable,
            "headless": True, "args": CHROMIUM_FLAGS}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """``http://127.0.0.1:PORT`` serving the built site, for the session."""
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
