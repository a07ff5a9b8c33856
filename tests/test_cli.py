"""The `rnncourse` command: lessons, lab, doctor, report, and one clear line for bad arguments."""

import socket
import subprocess
import sys

import pytest
from lab_url import free_port

from rnncourse import cli, environment
from rnncourse.lessons import NOTEBOOKS, lesson_notebooks


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_lessons_copies_every_lesson_and_says_so(capsys, tmp_path):
    status, out, _ = run(capsys, "lessons", str(tmp_path / "course"))
    assert status == 0
    names = sorted(p.name for p in (tmp_path / "course").glob("*.ipynb"))
    assert names == [p.name for p in lesson_notebooks(NOTEBOOKS)] and len(names) >= 9
    assert f"added {len(names)}" in out
    status, out, _ = run(capsys, "lessons", str(tmp_path / "course"))
    assert status == 0 and f"already up to date: {len(names)}" in out


@pytest.mark.parametrize("problem", ["file", "unwritable"])
def test_a_bad_folder_gets_one_line_and_status_2(capsys, tmp_path, problem):
    (tmp_path / "file").write_text("x")
    folder = tmp_path / "file" if problem == "file" else tmp_path / "file" / "below"
    port = str(free_port())
    for argv in (["lessons", str(folder)], ["lab", str(folder), "--port", port]):
        command = argv[0]
        status, out, err = run(capsys, *argv)
        assert status == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"rnncourse {command}: ") and str(folder) in err


def test_lab_refuses_a_port_in_use_in_one_line(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, _, err = run(capsys, "lab", str(tmp_path / "course"), "--port", str(port))
    assert status == 2 and err.strip() == (
        f"rnncourse lab: port {port} is in use on 127.0.0.1: pick another with --port")
    assert not (tmp_path / "course").exists()


def test_lab_serves_the_folder_on_localhost_at_the_start_page(tmp_path):
    command = cli.lab_command(tmp_path, 9999, open_browser=False)
    assert f"--ServerApp.root_dir={tmp_path}" in command
    assert "--ServerApp.ip=127.0.0.1" in command and "--ServerApp.port=9999" in command
    assert "--LabApp.default_url=/lab/tree/00_start_here.ipynb" in command
    assert "--no-browser" in command
    assert not any("token=" in part.lower() and part.endswith("=") for part in command)


def test_doctor_passes_here_and_fails_with_the_problem_named(capsys, monkeypatch):
    status, out, _ = run(capsys, "doctor")
    assert status == 0 and "Environment ready" in out and "torch" in out
    monkeypatch.setattr(environment, "_minimum_versions", lambda: {"numpy": "99.0"})
    status, out, _ = run(capsys, "doctor")
    assert status == 1 and "numpy" in out and "99.0" in out


def test_report_writes_lesson_8s_html_from_a_results_folder(capsys, tmp_path):
    output = tmp_path / "report.html"
    status, out, _ = run(capsys, "report", "--results", str(tmp_path / "results"),
                         "--output", str(output))
    assert status == 2  # the results folder does not exist yet
    (tmp_path / "results").mkdir()
    status, out, _ = run(capsys, "report", "--results", str(tmp_path / "results"),
                         "--output", str(output))
    assert status == 0 and str(output) in out
    assert "<html" in output.read_text() and "findings" in output.read_text()


def test_an_unknown_command_is_refused_by_the_installed_script():
    done = subprocess.run([sys.executable, "-m", "rnncourse.cli", "teach"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice: 'teach'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    bad_port = subprocess.run([sys.executable, "-m", "rnncourse.cli", "lab", "--port", "x"],
                              capture_output=True, text=True, timeout=60)
    assert bad_port.returncode == 2 and len(bad_port.stderr.strip().splitlines()) == 1
    assert "--port" in bad_port.stderr
