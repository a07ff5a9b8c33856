"""The ``rnncourse`` command: the course for someone who installed it with pip.

::

    rnncourse lessons [DIR] [--update]   copy the lesson notebooks into DIR (default ./rnncourse)
    rnncourse lab [DIR] [--port N]       the same, then JupyterLab in DIR at the start page
    rnncourse doctor                     the start page's environment check; exit 1 if off
    rnncourse report [--results DIR] [--output FILE]   lesson 8's HTML report
    rnncourse assign OUT                 the student version of every lesson (solutions off)
    rnncourse grade SUBMISSIONS --out gradebook.csv   run and check every student's notebooks

Bad arguments (a file where a folder is wanted, a folder that cannot be written, a port in use)
print one line naming the problem and exit with status 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

from rnncourse.labsave import HOOK

DEFAULT_FOLDER = "rnncourse"
START = "00_start_here.ipynb"


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (not the usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnncourse", description="The rnncourse lessons.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lessons = sub.add_parser("lessons", help="copy the lesson notebooks into a folder")
    lessons.add_argument("folder", nargs="?", default=DEFAULT_FOLDER, metavar="DIR")
    lessons.add_argument("--update", action="store_true",
                         help="put a newer lesson beside your changed copy instead of skipping it")
    lab = sub.add_parser("lab", help="copy the lessons, then open them in JupyterLab")
    lab.add_argument("folder", nargs="?", default=DEFAULT_FOLDER, metavar="DIR")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    sub.add_parser("doctor", help="check that this Python can run every lesson")
    report = sub.add_parser("report", help="write lesson 8's HTML report from the results")
    report.add_argument("--results", metavar="DIR", help="the results folder "
                        "(default: RNNCOURSE_RESULTS or the course's usual folder)")
    report.add_argument("--output", metavar="FILE", help="where to write the HTML "
                        "(default: <results>/08_findings/report.html)")
    _grading_parsers(sub)
    return parser


def _grading_parsers(sub) -> None:
    """The instructors' commands (docs/instructors.md)."""
    assign = sub.add_parser("assign", help="write the student version of every lesson")
    assign.add_argument("folder", metavar="OUT")
    grade = sub.add_parser("grade", help="run and check every student's notebooks")
    grade.add_argument("submissions", metavar="SUBMISSIONS")
    grade.add_argument("--out", required=True, metavar="CSV", help="the gradebook to write")
    grade.add_argument("--feedback", metavar="DIR",
                       help="one HTML page per student (default: <CSV name>-feedback/)")
    grade.add_argument("--exercises", metavar="NAMES",
                       help="comma-separated exercises to check (default: all of them)")
    grade.add_argument("--timeout", type=float, default=120.0,
                       help="seconds for one notebook's cells (default 120)")
    grade.add_argument("--check-timeout", type=float, default=30.0,
                       help="seconds for one exercise's check (default 30)")
    grade.add_argument("--memory-mb", type=int, default=4096,
                       help="address space of each kernel in MB (default 4096)")
    grade.add_argument("--jobs", type=int, default=1, help="students graded at once")
    grade.add_argument("--nbgrader-db", metavar="FILE",
                       help="also write the grades into this nbgrader gradebook (SQLite)")
    grade.add_argument("--assignment", default="rnncourse",
                       help="the assignment's name in the nbgrader gradebook")
    fence = grade.add_mutually_exclusive_group()
    fence.add_argument("--require-isolation", action="store_true",
                       help="stop unless kernels can be fenced with Landlock")
    fence.add_argument("--no-isolation", action="store_true",
                       help="do not fence kernels with Landlock")


def _assign(folder: str) -> int:
    from rnncourse.grading.assign import assign

    try:
        written = assign(folder)
    except ValueError as err:
        raise UsageError(str(err)) from err
    except OSError as err:
        raise UsageError(f"cannot write the student version into {folder}: "
                         f"{err.strerror or err}") from err
    count = sum(len(v) for v in written.values())
    print(f"wrote the student version of {len(written)} lessons ({count} exercises) into "
          f"{folder}; show_solution is off there")
    return 0


def _grade(args) -> int:
    from rnncourse.grading.grade import Limits, grade

    exercises = None
    if args.exercises:
        exercises = [name.strip() for name in args.exercises.split(",") if name.strip()]
    isolation = True if args.require_isolation else False if args.no_isolation else None
    try:
        run = grade(args.submissions, args.out, exercises=exercises, feedback=args.feedback,
                    limits=Limits(timeout=args.timeout, check_timeout=args.check_timeout,
                                  memory_mb=args.memory_mb),
                    jobs=args.jobs, isolation=isolation)
        if args.nbgrader_db:
            from rnncourse.grading.nbgrader_export import export

            export(run, args.nbgrader_db, args.assignment)
    except ValueError as err:
        raise UsageError(str(err)) from err
    except OSError as err:
        raise UsageError(f"cannot write the gradebook: {err.strerror or err}") from err
    for g in run.grades:
        print(f"{g.id}: {g.score}/{len(run.exercises)} {g.status}")
    print(f"wrote {run.gradebook} and {len(run.grades)} feedback pages in {run.feedback}"
          + ("" if run.isolated else " (kernels NOT fenced: Landlock unavailable or off)"))
    return 0


def _copy(folder: str, update: bool) -> Path:
    from rnncourse.workspace import copy_lessons

    try:
        report = copy_lessons(folder, update=update)
    except ValueError as err:
        raise UsageError(str(err).removeprefix("folder: ")) from err
    except OSError as err:
        raise UsageError(f"cannot write the lessons into {folder}: "
                         f"{err.strerror or err}") from err
    print("\n".join(report.lines()))
    return report.folder


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def lab_command(folder: Path, port: int, open_browser: bool) -> list[str]:
    """The command that serves ``folder`` in JupyterLab on 127.0.0.1:``port`` at the start page.

    Jupyter makes a random token and prints the URL with it. Saved notebooks carry no widget
    state (:mod:`rnncourse.labsave`: the lessons rebuild their widgets when run), which keeps an
    executed lesson small.
    """
    command = [
        sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--LabApp.default_url=/lab/tree/{START}",
        f"--ContentsManager.pre_save_hook={HOOK}",
    ]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "getuid") and os.getuid() == 0:  # containers, CI: Jupyter refuses otherwise
        command.append("--ServerApp.allow_root=True")
    return command


def _lab(folder: str, port: int, open_browser: bool) -> int:
    if not 1 <= port <= 65535:
        raise UsageError(f"--port: expected a port between 1 and 65535, got {port}")
    try:
        import jupyterlab  # noqa: F401
    except ImportError as err:
        raise UsageError("rnncourse lab needs JupyterLab: pip install 'rnncourse[lab]'") from err
    from rnncourse.workspace import check_folder

    try:
        check_folder(folder)
    except ValueError as err:
        raise UsageError(str(err).removeprefix("folder: ")) from err
    if not _port_free(port):
        raise UsageError(f"port {port} is in use on 127.0.0.1: pick another with --port")
    target = _copy(folder, update=False)
    print(f"Starting JupyterLab in {target} on 127.0.0.1:{port}; "
          "open the URL with its token printed below.", flush=True)
    try:
        return subprocess.run(lab_command(target.resolve(), port, open_browser)).returncode
    except KeyboardInterrupt:
        return 0


def _doctor() -> int:
    from rnncourse.environment import check_environment

    report = check_environment()
    print(report)
    return 0 if report.ok else 1


def _report(results: str | None, output: str | None) -> int:
    # The one call into lesson 8's code: its public entry point.
    from rnncourse import findings

    if results is not None and not Path(results).is_dir():
        raise UsageError(f"--results: expected a results folder, {results} is not a folder")
    if output is not None and Path(output).is_dir():
        raise UsageError(f"--output: expected a file name for the HTML, {output} is a folder")
    try:
        path = findings.write_report(output, folder=results)
    except OSError as err:
        raise UsageError(f"cannot write the report: {err.strerror or err}") from err
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # a bad argument: one line, exit status 2
    try:
        if args.command == "lessons":
            _copy(args.folder, args.update)
            return 0
        if args.command == "lab":
            return _lab(args.folder, args.port, not args.no_browser)
        if args.command == "doctor":
            return _doctor()
        if args.command == "assign":
            return _assign(args.folder)
        if args.command == "grade":
            return _grade(args)
        return _report(args.results, args.output)
    except UsageError as err:
        print(f"rnncourse {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
