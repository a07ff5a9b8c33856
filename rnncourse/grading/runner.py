"""Run one submitted notebook in a fresh kernel and check its exercise functions.

The grader starts this as its own process for every notebook
(``python -m rnncourse.grading.runner JOB.json``) so that nothing a notebook does (an endless
loop, gigabytes of output, a crash of the kernel) can reach the grader: the grader waits for it
with a hard time limit and kills it, and the kernel, when that passes. Here:

1. the kernel starts through :mod:`rnncourse.grading.sandbox` in the student's own working
   copy, with a minimal environment (no variable of the grader's is passed on),
2. the notebook's code cells run one after the other; a cell that raises is recorded and the
   next one runs (as in Jupyter's "run all" with errors allowed); when the notebook's time
   limit passes, the running cell is interrupted and the cells after it are not run,
3. one more cell defines the grading helper, and one cell per exercise runs the course's check
   (``rnncourse.check.<name>``) on the notebook's ``my_<name>``, each with its own time limit,
4. the result is written as JSON where the grader said (outside the working copy).

Output is drained and counted but only ``output_cap`` bytes per cell are kept.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from queue import Empty

MIME = "application/vnd.rnncourse.grade+json"
GRACE = 10.0  # seconds a cell has to stop after the interrupt before its kernel is killed

# Defined in the kernel after the student's cells; reports through a display message of its
# own MIME type (a notebook that silences stdout cannot hide it), tagged with the job's token.
HELPER = r'''
def __rnncourse_grade__(name, token):
    import difflib
    import importlib
    from IPython.display import display
    ns = get_ipython().user_ns
    wanted = "my_" + name
    fn = ns.get(wanted)
    if fn is None:
        names = [k for k, v in ns.items() if callable(v) and not k.startswith("_")]
        near = difflib.get_close_matches(wanted, names, n=2, cutoff=0.6)
        near += [k for k in names if name in k and k != wanted and k not in near][:2]
        hint = (" Found " + " and ".join("`" + k + "`" for k in near) +
                ": the grader only looks for `" + wanted + "` (was it renamed?).") if near else (
                " Was its cell deleted, or never run?")
        out = {"state": "missing", "status": "missing",
               "message": "`" + wanted + "` is not defined." + hint}
    elif not callable(fn):
        out = {"state": "fail", "status": "invalid",
               "message": "`" + wanted + "` is a " + type(fn).__name__ + ", not a function."}
    elif str(getattr(fn, "__module__", "") or "").startswith("rnncourse"):
        out = {"state": "fail", "status": "invalid",
               "message": "`" + wanted + "` is the course's own function (from " +
               fn.__module__ + "), not yours."}
    else:
        verdict = getattr(importlib.import_module("rnncourse.check"), name)(fn)
        out = {"state": "pass" if verdict.passed else "fail", "status": verdict.status,
               "message": str(verdict.message)}
    display({"MIME": {"token": token, "exercise": name, **out}}, raw=True)
'''.replace("MIME", MIME)


WARM_UP = "import numpy, torch, rnncourse.check\ndel numpy, torch, rnncourse"


def kernel_env(workdir: str) -> dict:
    """The kernel's whole environment: nothing of the grader's is passed on (no tokens, no
    paths), solutions off, one thread, results and temporary files inside the working copy."""
    home = Path(workdir)
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home), "TMPDIR": str(home / ".tmp"), "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".jupyter-data"), "MPLBACKEND": "Agg",
        "RNNCOURSE_SOLUTIONS": "off", "RNNCOURSE_WORKERS": "1",
        "RNNCOURSE_RESULTS": str(home / "rnncourse-results"),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    }
    (home / ".tmp").mkdir(exist_ok=True)
    return env


def _kernel_spec(job: dict, folder: Path) -> None:
    argv = [sys.executable, "-m", "rnncourse.grading.sandbox", "--workdir", job["workdir"]]
    for path in job["read_paths"]:
        argv += ["--read", path]
    if job.get("memory_mb"):
        argv += ["--memory-mb", str(job["memory_mb"])]
    if job.get("file_mb"):
        argv += ["--file-mb", str(job["file_mb"])]
    if job.get("cpu_s"):
        argv += ["--cpu", str(job["cpu_s"])]
    if not job["isolation"]:
        argv.append("--no-landlock")
    argv += ["--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = folder / "rnncourse-grading"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "rnncourse grading", "language": "python"}))


class Kernel:
    """A fresh kernel for one notebook; ``run(code, seconds)`` executes one cell."""

    def __init__(self, job: dict):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        private = Path(job["private"])
        _kernel_spec(job, private / "kernels")
        self.km = KernelManager(kernel_name="rnncourse-grading",
                                kernel_spec_manager=KernelSpecManager(
                                    kernel_dirs=[str(private / "kernels")]))
        self.km.connection_file = str(Path(job["workdir"]) / ".rnncourse-kernel.json")
        self.cap = int(job["output_cap"])
        self.km.start_kernel(env=kernel_env(job["workdir"]), cwd=job["cwd"])
        self.pid = self.km.provisioner.process.pid
        Path(job["pidfile"]).write_text(str(self.pid))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=job["startup_timeout"])
        # Part of starting, not of the notebook's time: the course and torch take seconds to
        # import (much longer on a busy machine), and the checks need them anyway.
        warm = self.run(WARM_UP, job["startup_timeout"])
        if warm["state"] != "ok":
            raise RuntimeError(f"importing the course failed in the kernel ({warm['state']}: "
                               f"{warm['error']})")

    def alive(self) -> bool:
        return bool(self.km.is_alive())

    def run(self, code: str, seconds: float) -> dict:
        """Execute ``code``: ``{"state": ok | error | interrupted | stuck | died, "text",
        "error", "bytes", "displays"}``; never waits much longer than ``seconds``."""
        msg_id = self.kc.execute(code, allow_stdin=False, store_history=True)
        out = {"state": "ok", "text": "", "error": None, "bytes": 0, "displays": []}
        deadline = time.monotonic() + seconds
        interrupted_at = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self.km.interrupt_kernel()
                interrupted_at = now
                out["state"] = "interrupted"
            if interrupted_at is not None and now > interrupted_at + GRACE:
                out["state"] = "stuck"  # it ignored the interrupt
                return out
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except Empty:
                if not self.alive():
                    out["state"] = "died"
                    return out
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return out
            if kind == "stream":
                self._keep(out, content.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                data = content.get("data", {})
                if MIME in data:
                    out["displays"].append(data[MIME])
                else:
                    self._keep(out, str(data.get("text/plain", "")) + "\n")
            elif kind == "error":
                if out["state"] == "ok":
                    out["state"] = "error"
                out["error"] = {"ename": str(content.get("ename", ""))[:200],
                                "evalue": str(content.get("evalue", ""))[:500]}

    def _keep(self, out: dict, text: str) -> None:
        size = len(text.encode("utf-8", "replace"))
        room = self.cap - len(out["text"])
        if room > 0:
            out["text"] += text[:room]
        out["bytes"] += size

    def close(self) -> None:
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass
        kill_group(self.pid)


def kill_group(pid: int | None) -> None:
    """SIGKILL the process group ``pid`` leads (the kernel starts its own session), and it."""
    if not pid:
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _first_line(code: str) -> str:
    lines = [line for line in code.splitlines() if line.strip()]
    return (lines[0][:80] if lines else "")


def run_job(job: dict) -> dict:
    result = {"cells": [], "exercises": {}, "notes": [], "started": False, "stopped_at": None,
              "output_bytes": 0}
    try:
        kernel = Kernel(job)
    except Exception as exc:
        result["notes"].append(f"the kernel did not start ({type(exc).__name__}: {exc})")
        return result
    deadline = time.monotonic() + job["timeout"]  # the notebook's own time, from here
    result["started"] = True
    try:
        cells = job["cells"]
        for index, code in enumerate(cells):
            left = deadline - time.monotonic()
            if left <= 0:
                result["stopped_at"] = {"cell": index + 1, "why": "time limit"}
                break
            ran = kernel.run(code, left)
            result["output_bytes"] += ran["bytes"]
            result["cells"].append({"cell": index + 1, "first_line": _first_line(code),
                                    "state": ran["state"], "error": ran["error"],
                                    "text": ran["text"], "bytes": ran["bytes"]})
            if ran["state"] in ("interrupted", "stuck", "died"):
                result["stopped_at"] = {"cell": index + 1, "why": ran["state"]}
                break
        if kernel.alive() and (result["stopped_at"] is None
                               or result["stopped_at"]["why"] in ("interrupted", "time limit")):
            _grade(kernel, job, result)
    finally:
        kernel.close()
    return result


def _grade(kernel: Kernel, job: dict, result: dict) -> None:
    ran = kernel.run(HELPER, job["check_timeout"])
    if ran["state"] != "ok":
        result["notes"].append(f"the grading helper did not run ({ran['state']}: "
                               f"{ran['error']})")
        return
    for name in job["exercises"]:
        ran = kernel.run(f"__rnncourse_grade__({name!r}, {job['token']!r})",
                         job["check_timeout"])
        found = [d for d in ran["displays"] if isinstance(d, dict)
                 and d.get("token") == job["token"] and d.get("exercise") == name]
        if found:
            entry = {k: found[-1].get(k) for k in ("state", "status", "message")}
        elif ran["state"] in ("interrupted", "stuck"):
            entry = {"state": "fail", "status": "time limit",
                     "message": f"The check did not finish within {job['check_timeout']} s: "
                                f"does `my_{name}` loop forever?"}
        else:
            why = f"{ran['error']['ename']}: {ran['error']['evalue']}" if ran["error"] else \
                ran["state"]
            entry = {"state": "fail", "status": "invalid",
                     "message": f"The check could not run ({why})."}
        result["exercises"][name] = entry
        if ran["state"] in ("stuck", "died"):
            result["notes"].append(f"the kernel {'died' if ran['state'] == 'died' else 'hung'} "
                                   f"in the check of {name}; later exercises were not checked")
            break


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    try:
        result = run_job(job)
    except Exception as exc:  # reported to the grader as this notebook's reason
        result = {"cells": [], "exercises": {}, "started": False, "stopped_at": None,
                  "output_bytes": 0, "notes": [f"grader error: {type(exc).__name__}: {exc}"]}
    tmp = Path(job["result"] + ".part")
    tmp.write_text(json.dumps(result))
    tmp.replace(job["result"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
