"""``make stress``: every lesson under nbval while CPU-bound processes load every core.

A lesson must not fail because the machine is busy (Binder's CPUs are shared). This starts
``--hogs`` processes that spin forever (default: one per core, 2 on the course's 2-core
machine), runs each lesson ``--runs`` times (lesson 2, whose cost-fit cell measures time,
``--lesson2-runs`` times) exactly as ``make test`` does (pytest, ``--nbval-lax``, a fresh kernel
each run), stops the hogs, prints how many runs of each lesson failed, writes
``bench-results/stress.json``, and rewrites the table in README.md between the
``stress:start`` / ``stress:end`` markers. Not part of ``make test``: it takes about
``runs x`` the course's time, doubled by the load. Exit status 1 when any run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.readme_table import update_readme

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
HOG = "while True:\n    pass\n"


def run_once(notebook: Path, timeout: int) -> tuple[bool, float, str]:
    """One nbval run of ``notebook``: (passed, seconds, the last lines of its output)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", str(notebook), "--nbval-lax", "--nbval-current-env",
             "-p", "no:cacheprovider", "-q"], cwd=ROOT, capture_output=True, text=True,
            timeout=timeout)
        passed, text = done.returncode == 0, done.stdout + done.stderr
    except subprocess.TimeoutExpired as err:
        passed, text = False, f"timed out after {timeout} s\n{err.stdout or ''}"
    tail = "\n".join(text.strip().splitlines()[-15:])
    return passed, time.perf_counter() - start, tail


def markdown(rows: list[dict], hogs: int, date: str) -> str:
    lines = [f"`make stress`, {date[:10]}: every lesson under nbval while {hogs} CPU-bound "
             "processes load the cores.", "",
             "| lesson | runs | failed | seconds per run (median) |", "|---|---|---|---|"]
    for r in rows:
        times = sorted(r["seconds"])
        lines.append(f"| {r['lesson']} | {r['runs']} | {r['failed']} | "
                     f"{times[len(times) // 2]:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each lesson")
    parser.add_argument("--lesson2-runs", type=int, default=10, help="runs of lesson 2")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2,
                        help="CPU-bound processes to start (default: one per core)")
    parser.add_argument("--lessons", nargs="+", default=None,
                        help="lesson prefixes to run (default: every lesson), e.g. 02 05")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per run at most")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    args = parser.parse_args(argv)

    from rnncourse.lessons import lesson_notebooks

    notebooks = [p for p in lesson_notebooks()
                 if args.lessons is None or p.stem[:2] in args.lessons]
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    rows = []
    try:
        for notebook in notebooks:
            runs = args.lesson2_runs if notebook.stem.startswith("02") else args.runs
            row = {"lesson": notebook.stem, "runs": runs, "failed": 0, "seconds": [],
                   "failures": []}
            for k in range(runs):
                passed, seconds, tail = run_once(notebook, args.timeout)
                row["seconds"].append(seconds)
                if not passed:
                    row["failed"] += 1
                    row["failures"].append(tail)
                print(f"  {notebook.stem:<22} run {k + 1}/{runs}: "
                      f"{'passed' if passed else 'FAILED'} in {seconds:.0f} s", flush=True)
                if not passed:
                    print("    " + tail.replace("\n", "\n    "), flush=True)
            rows.append(row)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    table = markdown(rows, args.hogs, date)
    print("\n" + table)
    OUT.mkdir(exist_ok=True)
    (OUT / "stress.json").write_text(json.dumps({"date": date, "hogs": args.hogs,
                                                 "lessons": rows}, indent=2))
    if not args.no_readme and args.lessons is None:
        update_readme("stress", table)
    return 1 if any(r["failed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
