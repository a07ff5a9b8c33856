"""``make bench``: how long learners wait, how much memory they need, how fast the cells are.

Measures, in one run, on this machine:

1. every lesson executed top to bottom in a fresh kernel (nbclient), wall time and the peak
   memory of its process tree, the kernel and the workers it ran training runs on
   (``rnncourse.parallel``) sampled together (``benchmarks/memory.py``; target 1.0 GB), with
   1 and with 2 torch threads (``RNNCOURSE_TORCH_THREADS``, which
   ``rnncourse.threads.set_threads`` reads; with 2 threads on 2 cores there are no workers),
   and the total for the course;
2. widget responsiveness: median and 95th percentile of one explorer update (callback plus
   figure update, in-process);
3. forward+backward of the numpy (float32 and float64) and torch-from-scratch RNN, LSTM and GRU
   against ``torch.nn`` at B=32, T=100, I=32, H=256, as ratios in the same run
   (``benchmarks/bench_cells.py``), and the GFLOP/s achieved against a large matrix product's;
4. the complexity exponents in T and H, with R²;
5. explorer catch-up: 40 fast value changes replayed as the browser sends them (front-end
   messages every 20 ms, ``rnncourse.explorers.coalesce.replay_burst``), the seconds from the
   last to the redraw showing it, for every explorer (goal <= 1 s);
6. the start page's first code cell in a fresh kernel (goal <= 5 s).

Prints a table, writes ``bench-results/bench-<date>.json`` and ``bench-results/latest.json``,
and rewrites the table in README.md between the ``bench:start`` / ``bench:end`` markers.
Targets (from the issues) are reported next to each number: ``ok`` or ``MISSED``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

from benchmarks.readme_table import update_readme

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"

# Budgets from the lesson issues, in seconds (top to bottom, fresh kernel, this 2-core machine).
LESSON_BUDGET_S = {"00": 30, "01": 45, "02": 60, "03": 45, "04": 45, "05": 60, "06": 120,
                   "07": 90, "07b": 90, "08": 60}
WIDGET_MEDIAN_MS, WIDGET_P95_MS = 50.0, 100.0
CATCH_UP_S = 1.0  # the last of 40 fast changes shown within a second
START_CELL_S = 5.0  # the start page's first code cell, fresh kernel
RATIO_TARGET = {"torch-from-scratch LSTM": 1.5, "numpy LSTM float32": 3.0,
                "numpy LSTM float64": 3.0}

TREE_TARGET_GB = 1.0  # a lesson's kernel and workers together (issue 16), rnncourse.parallel


def machine() -> dict:
    import numpy
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "date": dt.datetime.now().isoformat(timespec="seconds")}


# ---------------------------------------------------------------------------- 1. lessons

def run_lesson(path: Path, threads: int, timeout: int = 600) -> dict:
    """Execute one lesson in a fresh kernel; wall seconds and the peak memory of the process tree
    (the kernel and the workers it starts, sampled together: ``benchmarks/memory.py``) in GB,
    resident (``tree_rss_gb``, the number compared with the target) and proportional
    (``tree_pss_gb``, shared pages divided among the processes)."""
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT))
    from benchmarks.memory import TreePeak

    notebook = nbformat.read(path, as_version=4)
    env_before = os.environ.get("RNNCOURSE_TORCH_THREADS")
    os.environ["RNNCOURSE_TORCH_THREADS"] = str(threads)
    os.environ.setdefault("TQDM_DISABLE", "1")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    # Every process this one starts from here on is the lesson's: the kernel and its workers.
    peak = TreePeak(os.getpid(), include_root=False, interval=0.1).start()
    try:
        client.execute()
    except Exception as err:  # a failing lesson is reported in the table, not a crash
        # The last line of a failing cell's traceback names the exception and its message.
        lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines() if ln.strip()]
        error = f"{type(err).__name__}: {lines[-1][:160] if lines else ''}"
    finally:
        peak.stop()
        if env_before is None:
            os.environ.pop("RNNCOURSE_TORCH_THREADS", None)
        else:
            os.environ["RNNCOURSE_TORCH_THREADS"] = env_before
    seconds = time.perf_counter() - start
    return {"lesson": path.stem, "threads": threads, "seconds": seconds,
            "tree_rss_gb": peak.rss_bytes / 2**30, "tree_pss_gb": peak.pss_bytes / 2**30,
            "processes_at_peak": peak.processes_at_peak, "error": error}


def bench_lessons(threads=(1, 2)) -> list[dict]:
    from rnncourse.lessons import lesson_notebooks

    rows = []
    for path in lesson_notebooks():
        for n in threads:
            row = run_lesson(path, n)
            budget = LESSON_BUDGET_S.get(path.stem.split("_")[0])  # "07", "07b"
            row["budget_s"] = budget
            row["memory_ok"] = row["tree_rss_gb"] <= TREE_TARGET_GB
            row["ok"] = (row["error"] is None and budget is not None and row["seconds"] <= budget
                         and row["memory_ok"])
            rows.append(row)
            print(f"  {path.stem:<22} {n} thread(s): {row['seconds']:6.1f} s, "
                  f"tree peak {row['tree_rss_gb']:.2f} GB resident ({row['tree_pss_gb']:.2f} "
                  f"proportional, {row['processes_at_peak']} processes)"
                  + (f"  ERROR {row['error']}" if row["error"] else ""), flush=True)
    return rows


# ---------------------------------------------------------------------------- 2. widgets

def _time_updates(explorer_factory, moves, repeats: int = 3) -> dict:
    """Median and 95th percentile of one update: set a control's value (callback + figure)."""
    explorer = explorer_factory()
    samples = []
    for _ in range(repeats):
        for control, value in moves(explorer):
            start = time.perf_counter()
            control.value = value
            samples.append(time.perf_counter() - start)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return {"median_ms": 1e3 * statistics.median(samples), "p95_ms": 1e3 * p95,
            "updates": len(samples)}


def _widget_cases():
    import numpy as np

    cases = {}

    def gradient_flow():
        from rnncourse.explorers.gradient_flow import GradientFlowExplorer

        return GradientFlowExplorer(seq_len=200, hidden_size=128)

    def gradient_flow_moves(e):
        sigmas = [0.8, 0.9, 1.0, 1.1, 1.2, 1.05, 0.95, 0.85]
        return [(e.sigma, s) for s in sigmas] + [(e.cell, c) for c in ("lstm", "gru", "rnn_tanh")]

    cases["gradient flow (T=200, H=128)"] = (gradient_flow, gradient_flow_moves)

    def hidden_state():
        from rnncourse.data import load_co2
        from rnncourse.explorers.hidden_state import HiddenStateExplorer

        _, co2 = load_co2()
        series = (co2[:52] - co2[:52].mean()) / co2[:52].std()
        return HiddenStateExplorer(series[:, None], hidden_size=32)

    cases["lesson 1 hidden state"] = (
        hidden_state, lambda e: [(e.w_scale, v) for v in np.arange(0.5, 1.5, 0.1)])

    def gates():
        from rnncourse.explorers.gates import GatesExplorer  # lesson 3

        return GatesExplorer.demo()

    cases["lesson 3 gates"] = (gates, lambda e: e.benchmark_moves())

    def attention():
        from rnncourse.explorers.attention import AttentionExplorer  # lesson 7

        return AttentionExplorer.demo()

    cases["lesson 7 attention"] = (attention, lambda e: e.benchmark_moves())

    def lru():
        from rnncourse.explorers.lru import LRUExplorer  # lesson 7b

        return LRUExplorer()

    cases["lesson 7b LRU ring"] = (lru, lambda e: e.benchmark_moves())
    return cases


def bench_widgets() -> list[dict]:
    rows = []
    for name, (factory, moves) in _widget_cases().items():
        try:
            row = {"widget": name, **_time_updates(factory, moves)}
            row["ok"] = row["median_ms"] < WIDGET_MEDIAN_MS and row["p95_ms"] < WIDGET_P95_MS
        except ImportError as err:
            row = {"widget": name, "median_ms": None, "p95_ms": None, "ok": None,
                   "error": f"not available yet ({err.name or err})"}
        rows.append(row)
        print(f"  {name:<30} " + (f"median {row['median_ms']:6.1f} ms, p95 {row['p95_ms']:6.1f} ms"
                                   if row["median_ms"] is not None else row["error"]), flush=True)
    return rows


# ---------------------------------------------------------------------------- 5. catch-up

def _burst_cases():
    """explorer name -> (factory, the control to move, 40 values as a held-down key sends)."""
    import numpy as np

    def hidden():
        e = _widget_cases()["lesson 1 hidden state"][0]()
        return e, e.w_scale, [round(0.05 * k, 2) for k in range(40, 0, -1)]

    def complexity():
        from rnncourse.explorers.complexity import ComplexityExplorer

        e = ComplexityExplorer(batch=8)
        return e, e.seq_len, [10 * (1 + k % 20) for k in range(40)][::-1]

    def gates():
        e = _widget_cases()["lesson 3 gates"][0]()
        return e, e.forget_bias, (np.arange(-6.0, 6.01, 0.5).tolist() * 2)[:40]

    def gradient_flow():
        e = _widget_cases()["gradient flow (T=200, H=128)"][0]()
        return e, e.sigma, [round(0.05 * k, 2) for k in range(1, 41)]

    def cliff():
        from rnncourse.explorers.gradient_flow import CliffExplorer

        e = CliffExplorer()
        return e, e.threshold, [float(k) for k in range(1, 41)]

    def attention():
        e = _widget_cases()["lesson 7 attention"][0]()
        typed = "1234567890"
        return e, e.text, [typed[:k % 9 + 1] for k in range(40)]

    def lru():
        e = _widget_cases()["lesson 7b LRU ring"][0]()
        return e, e.r_min, [round(0.005 * k, 3) for k in range(40)]

    return {"lesson 1 hidden state": hidden, "lesson 2 complexity": complexity,
            "lesson 3 gates": gates, "lesson 4 gradient flow": gradient_flow,
            "lesson 4 cliff": cliff, "lesson 7 attention": attention, "lesson 7b LRU ring": lru}


def bench_catch_up() -> list[dict]:
    from rnncourse.explorers.coalesce import replay_burst

    rows = []
    for name, make in _burst_cases().items():
        explorer, control, values = make()
        before = explorer.updates.redraws
        seconds = replay_burst(control, values, explorer.updates, interval=0.02)
        row = {"explorer": name, "catch_up_s": seconds,
               "redraws": explorer.updates.redraws - before, "changes": len(values),
               "ok": seconds <= CATCH_UP_S}
        rows.append(row)
        print(f"  {name:<24} caught up {seconds:5.2f} s after the last of {len(values)} "
              f"changes ({row['redraws']} redraws)", flush=True)
    return rows


# ---------------------------------------------------------------------------- 6. start page

def bench_start_cell(runs: int = 3) -> dict:
    """Seconds of the start page's first code cell in a fresh kernel (kernel start excluded)."""
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "00_start_here.ipynb"
    seconds = []
    for _ in range(runs):
        notebook = nbformat.read(path, as_version=4)
        first = next(c for c in notebook.cells if c.cell_type == "code")
        notebook.cells = [first]
        client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        timing = first.metadata["execution"]
        begin = dt.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        seconds.append((end - begin).total_seconds())
        print(f"  start page, first code cell: {seconds[-1]:.1f} s", flush=True)
    best = min(seconds)
    return {"seconds": seconds, "best_s": best, "median_s": statistics.median(seconds),
            "ok": statistics.median(seconds) <= START_CELL_S}


# ---------------------------------------------------------------------------- 3. cells

def matmul_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
    finally:
        torch.set_num_threads(previous)
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_cells(threads=(1, 2)) -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_cells import format_table, run_benchmark

    report = run_benchmark(threads=threads)
    print(format_table(report))
    c = report["config"]
    T, B, I, H = c["steps"], c["batch"], c["input_size"], c["hidden_size"]
    lstm_flops = 3 * 2 * T * B * 4 * H * (H + I)  # forward + backward, four gates
    summary = []
    for n in threads:
        by = {(r["cell"], r["impl"]): r for r in report["results"] if r["threads"] == n}
        nn_s = by[("LSTM", "torch.nn")]["median_s"]
        summary.append({
            "threads": n, "matmul_gflops": matmul_gflops(n),
            "torch.nn LSTM gflops": lstm_flops / nn_s / 1e9,
            "from-scratch LSTM gflops": lstm_flops / by[("LSTM", "manual")]["median_s"] / 1e9,
            "torch-from-scratch LSTM": by[("LSTM", "manual")]["ratio"],
            "numpy LSTM float32": by[("LSTM", "numpy float32")]["ratio"],
            "numpy LSTM float64": by[("LSTM", "numpy float64")]["ratio"],
        })
    return {"report": report, "summary": summary}


# ---------------------------------------------------------------------------- 4. complexity

def bench_complexity() -> dict:
    from rnncourse.complexity import fit_power_law, scaling_grid

    T_grid, H_grid = [25, 50, 100, 200, 400], [256, 362, 512, 724, 1024]
    out = {}
    for backend in ("numpy", "torch"):
        t = scaling_grid("T", T_grid, hidden_size=128, input_size=16, batch=32, backend=backend)
        h = scaling_grid("H", H_grid, seq_len=10, input_size=16, batch=32, backend=backend)
        for axis, sizes, times in (("T", T_grid, t), ("H", H_grid, h)):
            fit = fit_power_law(sizes, times)
            out[f"{backend} {axis}"] = {"exponent": fit.exponent, "r2": fit.r2}
    return out


# ---------------------------------------------------------------------------- output

def _fmt(value, spec=".1f", none="n/a"):
    return none if value is None else format(value, spec)


def _mark(ok):
    return "" if ok is None else ("ok" if ok else "MISSED")


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"Measured {m['date'][:10]} on {m['cpu']} ({m['cores']} cores), "
             f"torch {m['torch']}, numpy {m['numpy']}, by `make bench`.", ""]
    if results.get("lessons"):
        lines += [f"| lesson | threads | seconds | budget | peak GB, kernel + workers "
                  f"(target {TREE_TARGET_GB:.1f}) | proportional GB | |",
                  "|---|---|---|---|---|---|---|"]
        for r in results["lessons"]:
            lines.append(f"| {r['lesson']} | {r['threads']} | {r['seconds']:.1f} | "
                         f"{r['budget_s']} | {_fmt(r['tree_rss_gb'], '.2f')} | "
                         f"{_fmt(r['tree_pss_gb'], '.2f')} | "
                         f"{'ERROR' if r['error'] else _mark(r['ok'])} |")
        for n, total in results["lesson_totals"].items():
            budget = sum(LESSON_BUDGET_S.values())
            lines.append(f"| **course total** | {n} | {total:.1f} | {budget} | | | |")
        lines += ["", "Peak GB: the resident memory of the lesson's kernel and all its worker "
                  "processes at the same moment, sampled every 0.1 s (shared pages counted once "
                  "per process); proportional: shared pages divided among them.", ""]
    if results.get("widgets"):
        lines += ["| widget update | median ms | p95 ms | |", "|---|---|---|---|"]
        for r in results["widgets"]:
            lines.append(f"| {r['widget']} | {_fmt(r['median_ms'])} | {_fmt(r['p95_ms'])} | "
                         f"{_mark(r['ok']) if r['median_ms'] is not None else r.get('error')} |")
        lines.append("")
    if results.get("catch_up"):
        lines += ["| explorer: 40 fast changes | seconds from the last to the figure | redraws "
                  f"| goal <= {CATCH_UP_S:.0f} s |", "|---|---|---|---|"]
        for r in results["catch_up"]:
            lines.append(f"| {r['explorer']} | {r['catch_up_s']:.2f} | {r['redraws']} of "
                         f"{r['changes']} | {_mark(r['ok'])} |")
        lines.append("")
    if results.get("start_cell"):
        r = results["start_cell"]
        lines += ["| start page, first code cell (fresh kernel) | median s | runs | "
                  f"goal <= {START_CELL_S:.0f} s |", "|---|---|---|---|",
                  f"| check_environment + demo widget | {r['median_s']:.1f} | "
                  + ", ".join(f"{x:.1f}" for x in r["seconds"]) + f" | {_mark(r['ok'])} |", ""]
    if results.get("cells"):
        names = list(RATIO_TARGET)
        lines += ["| threads | " + " | ".join(f"{name} / torch.nn" for name in names)
                  + " | torch.nn LSTM GFLOP/s | matmul GFLOP/s |",
                  "|---" * (len(names) + 3) + "|"]
        for s in results["cells"]["summary"]:
            ratios = " | ".join(f"{s[name]:.2f}x ({_mark(s[name] <= RATIO_TARGET[name])})"
                                for name in names)
            lines.append(f"| {s['threads']} | {ratios} | {s['torch.nn LSTM gflops']:.1f} | "
                         f"{s['matmul_gflops']:.1f} |")
        lines.append("")
        report = results["cells"]["report"]
        impls = list(dict.fromkeys(r["impl"] for r in report["results"]))
        lines += ["| threads | cell | torch.nn ms | " + " | ".join(impls[1:]) + " |",
                  "|---" * (len(impls) + 2) + "|"]
        rows = {}
        for r in report["results"]:
            rows.setdefault((r["threads"], r["cell"]), {})[r["impl"]] = r
        for (n, cell), by in rows.items():
            lines.append(f"| {n} | {cell} | {1e3 * by['torch.nn']['median_s']:.1f} | "
                         + " | ".join(f"{by[impl]['ratio']:.2f}x" for impl in impls[1:]) + " |")
        lines += ["", "Ratios are times over torch.nn's (float32) in the same run, forward + "
                  "backward at B=32, T=100, I=32, H=256. numpy float32 is the like-for-like "
                  "comparison; float64 is what the lessons run.", ""]
    if results.get("scan"):
        from benchmarks.bench_scan import format_rows

        lines += format_rows(results["scan"]) + [""]
    one = results.get("one_cpu")
    if one and one.get("lessons"):
        lines += [f"| the whole course on one CPU (`taskset -c {one['cpu']}`, 1 torch thread) "
                  f"| seconds | goal <= {one['goal_s']:.0f} s |", "|---|---|---|"]
        for r in one["lessons"]:
            lines.append(f"| {r['lesson']} | {r['seconds']:.1f} | "
                         f"{'ERROR: ' + r['error'] if r['error'] else ''} |")
        lines += [f"| **total** | {one['total_s']:.1f} | {_mark(one['ok'])} |", ""]
    if results.get("complexity"):
        lines += ["| fit | exponent | R² |", "|---|---|---|"]
        for name, fit in results["complexity"].items():
            lines.append(f"| time ∝ {name.split()[1]}^k ({name.split()[0]}) | "
                         f"{fit['exponent']:.2f} | {fit['r2']:.3f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- 7. one CPU

ONE_CPU_GOAL_S = 240.0  # issue 17: the whole course, lesson 7b included, on one CPU


def _pin_every_thread(cpus: set) -> None:
    """Set the CPU affinity of every thread of this process (Linux pins per thread)."""
    tasks = Path("/proc/self/task")
    for tid in ([int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]):
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # the thread ended meanwhile
            pass


def bench_one_cpu() -> dict:
    """Every lesson top to bottom in a fresh kernel on one CPU, as ``taskset -c 0`` runs it.

    This process is pinned to its first allowed CPU while the lessons run, so their kernels and
    any workers inherit it (``rnncourse.parallel`` then starts none: joblib counts one CPU), with
    one torch thread; the total is compared with the goal.
    """
    from rnncourse.lessons import lesson_notebooks

    if not hasattr(os, "sched_setaffinity"):
        return {"error": "this platform cannot pin a process to one CPU", "ok": None}
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    _pin_every_thread({cpu})  # kernels may be started from another thread of this process
    try:
        rows = []
        for path in lesson_notebooks():
            row = run_lesson(path, 1)
            rows.append(row)
            print(f"  {path.stem:<30} on CPU {cpu}: {row['seconds']:6.1f} s"
                  + (f"  ERROR {row['error']}" if row["error"] else ""), flush=True)
    finally:
        _pin_every_thread(allowed)
    total = sum(r["seconds"] for r in rows)
    return {"cpu": cpu, "lessons": rows, "total_s": total, "goal_s": ONE_CPU_GOAL_S,
            "ok": total <= ONE_CPU_GOAL_S and not any(r["error"] for r in rows)}


def bench_scan_section() -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_scan import bench_scan

    return bench_scan()


# What `make bench` measures, in the order it runs: (section, heading, benchmark).
STEPS = [
    ("lessons", "1. lessons, fresh kernel each, 1 and 2 torch threads", bench_lessons),
    ("widgets", "2. widget updates (in-process)", bench_widgets),
    ("catch_up", "5. explorer catch-up after 40 fast changes", bench_catch_up),
    ("start_cell", "6. the start page's first code cell, fresh kernel", bench_start_cell),
    ("cells", "3. cells: forward + backward against torch.nn", bench_cells),
    ("complexity", "4. complexity exponents", bench_complexity),
    ("scan", "5. scan and minGRU (lesson 7b)", bench_scan_section),
    ("one_cpu", "7. the whole course on one CPU (taskset -c 0)", bench_one_cpu),
]
SECTIONS = [name for name, _, _ in STEPS]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Benchmarks of the course")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    args = parser.parse_args(argv)
    results = {"machine": machine()}
    for name, heading, bench in STEPS:
        if name in args.only:
            print(heading, flush=True)
            results[name] = bench()
    if "lessons" in results:
        totals = {}
        for r in results["lessons"]:
            totals[r["threads"]] = totals.get(r["threads"], 0.0) + r["seconds"]
        results["lesson_totals"] = totals
    table = markdown(results)
    print("\n" + table)
    OUT.mkdir(exist_ok=True)
    stamp = results["machine"]["date"].replace(":", "-")
    for path in (OUT / f"bench-{stamp}.json", OUT / "latest.json"):
        path.write_text(json.dumps(results, indent=2, default=str))
    if not args.no_readme and set(args.only) == set(SECTIONS):
        update_readme("bench", table)
    print(f"\nwritten: {OUT / 'latest.json'}")
    return results


if __name__ == "__main__":
    main()
