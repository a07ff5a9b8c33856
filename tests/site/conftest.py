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
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared browser
from browser import (  # noqa: E402  (tests/browser.py, shared with tests/e2e)
    browser_type_launch_args,  # noqa: F401  (a fixture)
    chromium_executable,  # noqa: F401  (a fixture)
    flag,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "site"


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
        if flag("RNNCOURSE_REQUIRE_SITE"):
            pytest.fail(f"RNNCOURSE_REQUIRE_SITE is set but {reason}", pytrace=False)
        pytest.skip(reason)
    return html


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
