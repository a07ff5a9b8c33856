"""A class on a real JupyterHub: the hub, N students, and what they cost, for tests/hub.

``RNNCOURSE_HUB_STUDENTS`` sets N (default 2: the short version inside ``make test``;
``make hub-test N=4`` runs the same tests with 4). The measurements are written to
``RNNCOURSE_HUB_RESULTS`` (default ``test-artifacts/hub/hub.json``; ``make hub-test`` writes
``bench-results/hub.json``) and printed as a table at the end of the run. Where the machine
cannot run a hub (not root, no npm), the tests skip with the reason; with
``RNNCOURSE_REQUIRE_HUB=1`` (set by ``make hub-test``) that skip is a failure.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "e2e")]
from browser import (  # noqa: E402  (tests/browser.py: the system chromium)
    browser_type_launch_args,  # noqa: F401  (a fixture)
    chromium_executable,  # noqa: F401  (a fixture)
    flag,
)
from classroom import PROXY_VERSION, ROOT, Classroom, why_not_here  # noqa: E402
from usage import MB, Usage  # noqa: E402

STUDENTS = "RNNCOURSE_HUB_STUDENTS"
RESULTS = "RNNCOURSE_HUB_RESULTS"
REQUIRE = "RNNCOURSE_REQUIRE_HUB"
ARTIFACTS = ROOT / "test-artifacts" / "hub"
_measured: list[dict] = []  # the run's measurements, for the terminal summary


def pytest_configure(config):
    # tests/e2e/test_lessons_in_browser.py (whose lesson-4 checks test_hub.py imports) uses it
    config.addinivalue_line("markers", "runs_lesson(stem): this browser test runs the lesson "
                            "top to bottom (nbval leaves it out of the same run)")


def students_wanted() -> int:
    text = os.environ.get(STUDENTS, "2").strip()
    if not text.isdigit() or int(text) < 2:
        raise pytest.UsageError(f"{STUDENTS}: expected a whole number >= 2 (two students are "
                                f"needed to test isolation), got {text!r}")
    return int(text)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@pytest.fixture(scope="module")
def classroom():
    """A running hub with N spawned students, sampled from start to end; removed afterwards."""
    reason = why_not_here()
    if reason:
        if flag(REQUIRE):
            pytest.fail(f"{REQUIRE} is set but {reason}", pytrace=False)
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started, load_start = time.monotonic(), _load()
    room = Classroom(students_wanted())
    room.results = {}
    usage = None
    try:
        room.start()
        usage = Usage({s.name: s.uid for s in room.students}, room.hub_pids()).start()
        room.usage = usage
        room.spawn_all()
        yield room
    except BaseException:
        if room.process is not None:
            (ARTIFACTS / "jupyterhub.log").write_text(room.log())
        raise
    finally:
        if usage is not None:
            usage.stop()
            _measured.append(_record(room, usage, time.monotonic() - started, load_start))
        if getattr(room, "failed", False) and room.process is not None:
            (ARTIFACTS / "jupyterhub.log").write_text(room.log())
        room.stop()


def _record(room: Classroom, usage: Usage, wall_s: float, load_start: list[float]) -> dict:
    students = []
    for s in room.students:
        students.append({"name": s.name, "spawn_s": round(s.spawn_s, 2),
                         "peak_rss_mb": round(usage.peak_rss[s.name] / MB),
                         "peak_pss_mb": round(usage.peak_pss[s.name] / MB),
                         "cpu_s": round(usage.cpu_s(s.name), 1), **s.record})
    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or
                    platform.machine(), "load_average_start": load_start,
                    "load_average_end": _load()},
        "versions": {name: _version(name) for name in
                     ("jupyterhub", "nbgitpuller", "jupyterlab", "torch")}
        | {"configurable-http-proxy": PROXY_VERSION},
        "students": len(room.students), "wall_s": round(wall_s, 1),
        **{k: round(v, 2) for k, v in room.timings.items()},
        "hub_peak_rss_mb": round(usage.peak_rss["hub"] / MB),
        "proxy_peak_rss_mb": round(usage.peak_rss.get("proxy", 0) / MB),
        "samples": usage.samples, **room.results, "per_student": students,
    }
    path = Path(os.environ.get(RESULTS) or ARTIFACTS / "hub.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    record["written_to"] = str(path)
    return record


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def table(record: dict) -> list[str]:
    """The measurements as the lines of a Markdown table plus a summary."""
    lines = ["| student | spawn s | log in + pull + open s | Run All, all at once s | "
             "lesson CPU s | peak RSS MB | peak PSS MB | CPU s in all |", "|---" * 8 + "|"]
    for s in record["per_student"]:
        lines.append(f"| {s['name']} | {s['spawn_s']:.1f} | {s.get('pull_open_s', '-')} | "
                     f"{s.get('run_together_s', '-')} | {s.get('lesson_cpu_s', '-')} | "
                     f"{s['peak_rss_mb']} | {s['peak_pss_mb']} | {s['cpu_s']} |")
    machine = record["machine"]
    lines.append(
        f"Run All alone: {record.get('run_alone_s', '-')} s (lesson CPU "
        f"{record.get('alone_cpu_s', '-')} s); hub {record['hub_peak_rss_mb']} MB, proxy "
        f"{record['proxy_peak_rss_mb']} MB peak RSS; hub start {record.get('hub_start_s')} s, "
        f"proxy install {record.get('proxy_install_s')} s; whole run {record['wall_s']} s on "
        f"{machine['cpus']} cores, load average {machine['load_average_start']} -> "
        f"{machine['load_average_end']}")
    return lines


def pytest_terminal_summary(terminalreporter):
    for record in _measured:
        terminalreporter.section(f"JupyterHub class of {record['students']} students")
        for line in table(record):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"written to {record['written_to']}")
