"""The system chromium, for every browser test (tests/e2e, tests/site) and for nbval's choice.

Debian's ``chromium`` on PATH, headless, with the flags that keep it off the network (this
machine's closed network refuses Chromium's background connections). Playwright's own browser
download is never used. Without chromium the browser tests skip and say why; with
``RNNCOURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) that skip is a failure. The two fixtures
below are imported into each browser suite's conftest.py.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_BROWSER = "RNNCOURSE_REQUIRE_BROWSER"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to something other than 0/false/no."""
    return os.environ.get(name, "").strip() not in ("", "0", "false", "no")


def browser_required() -> bool:
    return flag(REQUIRE_BROWSER)


def browser_available() -> bool:
    """Whether the browser tests can run here: chromium on PATH and playwright importable."""
    if shutil.which("chromium") is None:
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium on PATH; skip (or fail, under RNNCOURSE_REQUIRE_BROWSER=1) without it."""
    path = shutil.which("chromium")
    if path is None:
        reason = ("browser tests need Debian's `chromium` on PATH (apt-get install chromium); "
                  "none found, so nothing was tested in a browser")
        if browser_required():
            pytest.fail(f"{REQUIRE_BROWSER} is set but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_executable):
    """pytest-playwright's launch arguments, pointed at the system chromium, headless."""
    return {**browser_type_launch_args, "executable_path": chromium_executable,
            "headless": True, "args": CHROMIUM_FLAGS}
