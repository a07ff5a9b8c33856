"""The command `make setup` uses to install torch: the CPU build on Linux, a quick fallback."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnncourse import torch_install
from rnncourse.torch_install import CPU_INDEX, torch_install_command

ROOT = Path(__file__).resolve().parent.parent


def test_linux_takes_torch_from_pytorchs_cpu_index():
    command, reason = torch_install_command("py", "torch==2.13.0", "Linux", reachable=True)
    assert command[:4] == ["py", "-m", "pip", "install"]
    assert command[command.index("--index-url") + 1] == CPU_INDEX
    assert command[-1] == "torch==2.13.0" and "CPU build" in reason


def test_linux_falls_back_to_the_default_index_and_says_so():
    command, reason = torch_install_command("py", "torch==2.13.0", "Linux", reachable=False)
    assert "--index-url" not in command and command[-1] == "torch==2.13.0"
    assert "cannot be reached" in reason and "CUDA" in reason


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_macos_and_windows_use_the_default_wheels(system):
    command, reason = torch_install_command("py", "torch==2.13.0", system, reachable=True)
    assert "--index-url" not in command and command[-1] == "torch==2.13.0"
    assert "CPU builds" in reason


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="requirement"):
        torch_install_command("py", "torch>=2.3", "Linux", True)
    with pytest.raises(TypeError, match="system"):
        torch_install_command("py", "torch==2.13.0", None, True)


def test_the_pin_comes_from_requirements_txt(tmp_path):
    assert torch_install.pinned_torch() == "torch==2.13.0"
    empty = tmp_path / "requirements.txt"
    empty.write_text("numpy==2.4.6\n")
    with pytest.raises(ValueError, match="torch==X.Y.Z"):
        torch_install.pinned_torch(empty)


def test_an_unreachable_index_is_given_up_on_within_the_probe_timeout():
    start = time.monotonic()
    # A reserved address (TEST-NET-1, RFC 5737) that nothing answers.
    assert not torch_install.index_reachable("http://192.0.2.1", timeout=1.0)
    assert time.monotonic() - start < 3.0


def test_set_up_here_builds_the_command_in_a_few_seconds():
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rnncourse.torch_install", "--dry-run"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < torch_install.PROBE_TIMEOUT + 5
    assert "torch==2.13.0" in done.stdout.splitlines()[-1]


def test_the_makefile_installs_torch_with_it_before_the_rest():
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.index("-m rnncourse.torch_install") < makefile.index("-r requirements.txt")
