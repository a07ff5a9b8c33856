"""Forward + backward time of torch.nn's recurrent layers against the rnncourse ones.

For RNN, LSTM and GRU at B=32, T=100, I=32, H=256 (float32, CPU), in one run: torch.nn's fused
kernel, our hand-written BPTT (``backward="manual"``) and our plain autograd path
(``backward="autograd"``), all with the same weights and data. Each measurement is the median of
``repeats`` calls of ``sum(output).backward()`` after ``warmup`` untimed ones; the three
implementations are interleaved so that load from other processes hits them alike.

    python benchmarks/bench_cells.py --threads 1 2 --repeats 10 --json bench.json

``run_benchmark(...)`` returns the same numbers as a dict, for ``make bench`` or a lesson.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from rnncourse import torch_cells

CELLS = ("RNN", "LSTM", "GRU")
IMPLS = ("torch.nn", "manual", "autograd")


def _step(model, x):
    for p in model.parameters():
        p.grad = None
    out = model(x)[0]
    out.sum().backward()


def run_benchmark(threads=(1,), repeats=10, warmup=2, cells=CELLS, batch=32, steps=100,
                  input_size=32, hidden_size=256, seed=0) -> dict:
    """Median forward+backward seconds per (threads, cell, implementation), with ratios to torch.nn.

    Returns ``{"config": {...}, "results": [{"threads", "cell", "impl", "median_s", "min_s",
    "ratio"}]}`` where ``ratio`` is ``median_s / median_s of torch.nn`` in the same setting.
    """
    previous = torch.get_num_threads()
    results = []
    try:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            for cell in cells:
                torch.manual_seed(seed)
                reference = getattr(nn, cell)(input_size, hidden_size)
                models = {
                    "torch.nn": reference,
                    "manual": torch_cells.from_torch(reference, backward="manual"),
                    "autograd": torch_cells.from_torch(reference, backward="autograd"),
                }
                x = torch.randn(steps, batch, input_size)
                times = {impl: [] for impl in IMPLS}
                for _ in range(warmup):
                    for impl in IMPLS:
                        _step(models[impl], x)
                for _ in range(repeats):
                    for impl in IMPLS:
                        start = time.perf_counter()
                        _step(models[impl], x)
                        times[impl].append(time.perf_counter() - start)
                base = statistics.median(times["torch.nn"])
                for impl in IMPLS:
                    med = statistics.median(times[impl])
                    results.append({
                        "threads": n_threads, "cell": cell, "impl": impl, "median_s": med,
                        "min_s": min(times[impl]), "ratio": med / base,
                    })
    finally:
        torch.set_num_threads(previous)
    config = {"batch": batch, "steps": steps, "input_size": input_size,
              "hidden_size": hidden_size, "dtype": "float32", "repeats": repeats,
              "warmup": warmup, "torch": torch.__version__}
    return {"config": config, "results": results}


def format_table(report: dict) -> str:
    """The results as a plain-text table: one row per (threads, cell), ms and ratio per impl."""
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["threads"], r["cell"]), {})[r["impl"]] = r
    header = f"{'threads':>7} {'cell':>5} " + " ".join(f"{impl:>22}" for impl in IMPLS)
    lines = [header, "-" * len(header)]
    for (n_threads, cell), by_impl in rows.items():
        cols = []
        for impl in IMPLS:
            r = by_impl[impl]
            cols.append(f"{1000 * r['median_s']:>9.1f} ms ({r['ratio']:4.2f}x)")
        lines.append(f"{n_threads:>7} {cell:>5} " + " ".join(f"{c:>22}" for c in cols))
    c = report["config"]
    lines.append(
        f"median of {c['repeats']} forward+backward, B={c['batch']} T={c['steps']} "
        f"I={c['input_size']} H={c['hidden_size']} {c['dtype']}; ratio = time / torch.nn's"
    )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--size", type=int, nargs=4, metavar=("B", "T", "I", "H"),
                        default=[32, 100, 32, 256], help="batch, steps, input and hidden size")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    batch, steps, input_size, hidden_size = args.size
    report = run_benchmark(threads=args.threads, repeats=args.repeats, warmup=args.warmup,
                           cells=args.cells, batch=batch, steps=steps, input_size=input_size,
                           hidden_size=hidden_size)
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return report


if __name__ == "__main__":
    main()
