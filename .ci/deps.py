"""Constraints for `make test-deps`: pyproject's declared ranges at their lowest or newest end.

    python .ci/deps.py lowest   # name==lower bound: runtime, [lab], pytest and nbval
    python .ci/deps.py newest   # the same lines as declared (pip takes the newest in range)

torch comes first (stdout's first line says which torch to install and from where): its lower
bound, or its newest release, from PyTorch's CPU index when that index answers, else from the
default index. On PyPI both are CUDA builds (several GB to download, run on the CPU): slow, but
each end is then really tested, not replaced by the pinned build.
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rnncourse.torch_install import index_reachable  # noqa: E402


def declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"]) + list(project["optional-dependencies"]["lab"])
    # Of the test tools, what runs a lesson: pytest and nbval.
    lines += [line for line in project["optional-dependencies"]["test"]
              if re.match(r"^(pytest|nbval)\s*>=", line)]
    return lines


def lower_bound(line: str) -> tuple[str, str]:
    match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)", line)
    if not match:
        raise ValueError(f"pyproject.toml: expected 'name>=X.Y...', got {line!r}")
    return match.group(1), match.group(2)


def main(end: str) -> int:
    if end not in ("lowest", "newest"):
        print(f"usage: python .ci/deps.py lowest|newest, got {end!r}", file=sys.stderr)
        return 2
    cpu = index_reachable()
    lines = {lower_bound(line)[0]: line for line in declared()}
    bounds = {name: lower_bound(line)[1] for name, line in lines.items()}
    torch_min = bounds.pop("torch")
    # newest: the declared line itself, so that an upper bound (pytest<9.2) holds
    torch = f"torch=={torch_min}" if end == "lowest" else lines["torch"]
    if cpu:
        print(f"# torch: {torch} --index-url https://download.pytorch.org/whl/cpu")
    else:
        print(f"# torch: {torch} (CPU index unreachable: the default index's build, on PyPI "
              "a CUDA build of several GB)")
    for name, version in bounds.items():
        print(f"{name}=={version}" if end == "lowest" else lines[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
