"""Install the CPU build of torch where the default one is a multi-GB CUDA build.

On Linux, ``pip install torch`` from PyPI resolves to the CUDA build plus about 16 nvidia and
triton wheels (some 5 GB). The course runs on a CPU, so ``make setup`` installs torch from
PyTorch's own CPU wheel index instead. When that index cannot be reached (a closed network, a
mirror of PyPI only) set-up falls back to the default index after a probe of at most
:data:`PROBE_TIMEOUT` seconds, and says so. macOS and Windows wheels on PyPI are CPU builds
already, so there the default index is used.

Runs before anything else is installed, so it needs nothing but the standard library::

    python -m rnncourse.torch_install            # install the torch pinned in requirements.txt
    python -m rnncourse.torch_install --dry-run  # print the command it would run
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 3.0
REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def pinned_torch(requirements: Path = REQUIREMENTS) -> str:
    """The ``torch==X.Y.Z`` line of ``requirements``."""
    for line in Path(requirements).read_text().splitlines():
        line = line.split("#")[0].strip()
        if re.match(r"^torch\s*==", line):
            return line.replace(" ", "")
    raise ValueError(f"requirements: expected a line torch==X.Y.Z in {requirements}, found none")


def index_reachable(url: str = CPU_INDEX, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``url`` answers within ``timeout`` seconds (any HTTP answer counts)."""
    try:
        with urllib.request.urlopen(url + "/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the server answered: the index is there
    except (OSError, ValueError):
        return False


def torch_install_command(python: str, requirement: str, system: str,
                          reachable: bool) -> tuple[list[str], str]:
    """The pip command that installs ``requirement`` (``torch==X.Y.Z``) on ``system``.

    ``system`` is what :func:`platform.system` returns ("Linux", "Darwin", "Windows");
    ``reachable`` says whether :data:`CPU_INDEX` answered. Returns ``(command, reason)``, the
    reason being one sentence for the set-up log.
    """
    if not isinstance(system, str):
        raise TypeError(f"system: expected a str such as 'Linux', got {type(system).__name__}")
    if not re.match(r"^torch==\S+$", requirement):
        raise ValueError(f"requirement: expected 'torch==X.Y.Z', got {requirement!r}")
    # --no-compile: `make setup` byte-compiles everything afterwards, on every core
    base = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile"]
    if system != "Linux":
        return base + [requirement], f"{system}: torch's default wheels are CPU builds"
    if reachable:
        return (base + ["--index-url", CPU_INDEX, requirement],
                f"Linux: torch's CPU build from {CPU_INDEX}")
    return (base + [requirement],
            f"Linux: {CPU_INDEX} cannot be reached, so torch comes from the default index "
            "(on PyPI that is the CUDA build, several GB)")


def installed_version(name: str = "torch") -> str | None:
    """The version of ``name`` installed in this Python, without its local label (``+cpu``)."""
    try:
        return metadata.version(name).split("+")[0]
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--dry-run"]
    if unknown:
        print(f"usage: python -m rnncourse.torch_install [--dry-run], got {unknown[0]!r}",
              file=sys.stderr)
        return 2
    requirement = pinned_torch()
    if not dry_run and installed_version() == requirement.split("==")[1]:
        print(f"rnncourse: {requirement} is installed already")
        return 0
    system = platform.system()
    reachable = system == "Linux" and index_reachable()
    command, reason = torch_install_command(sys.executable, requirement, system, reachable)
    print(f"rnncourse: installing {requirement}: {reason}")
    if dry_run:
        print(" ".join(command))
        return 0
    return subprocess.run(command).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
