"""Forward + backward time of torch.nn's recurrent layers against the rnncourse ones.

For RNN, LSTM and GRU at B=32, T=100, I=32, H=256 on the CPU, in one run, all with the same
weights and data:

* ``torch.nn``: torch's fused native kernel (float32), the yardstick;
* ``manual``: our torch cells with hand-written BPTT (``backward="manual"``, float32);
* ``autograd``: our torch cells through plain autograd (float32);
* ``numpy float32``: the numpy reference (``rnncourse.np_layers``) in torch.nn's dtype, the
  like-for-like comparison of the implementations;
* ``numpy float64``: the same numpy code in float64, as the lessons run it (gradient checks need
  the precision); float64 products and exp cost about twice float32's here.

Each measurement is one call of forward + backward of ``sum(output)``. The implementations take
turns in blocks (one untimed call, then ``per_block`` timed ones), ``rounds`` times, so that a
change in the machine's speed during the run hits all of them alike, and a library's worker
threads, still spinning after its own block, do not slow the first timed call of the next one.
numpy's BLAS gets the same number of threads as torch (threadpoolctl).

    python benchmarks/bench_cells.py --threads 1 2 --json bench.json

``run_benchmark(...)`` returns the same numbers as a dict, for ``make bench`` or a lesson.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from rnncourse import np_layers, torch_cells
from rnncourse.convert import numpy_from_torch

CELLS = ("RNN", "LSTM", "GRU")
IMPLS = ("torch.nn", "manual", "autograd", "numpy float32", "numpy float64")


def _torch_step(model, x):
    def run():
        for p in model.parameters():
            p.grad = None
        out = model(x)[0]
        out.sum().backward()
    return run


def _numpy_step(cell, params, x, dtype):
    params = {k: v.astype(dtype) for k, v in params.items()}
    x = x.numpy().astype(dtype)
    H, _, _ = np_layers.check_cell_params(cell.lower(), params)
    B = x.shape[1]
    zeros = np.zeros((B, H), dtype)
    dh = np.ones(x.shape[:2] + (H,), dtype)  # d sum(output) / d output

    def run():
        _, _, cache = np_layers.layer_forward(cell.lower(), x, zeros, params, c0=zeros)
        np_layers.layer_backward(dh, cache)
    return run


def _implementations(cell, input_size, hidden_size, steps, batch, seed):
    torch.manual_seed(seed)
    reference = getattr(nn, cell)(input_size, hidden_size)
    x = torch.randn(steps, batch, input_size)
    params = numpy_from_torch(reference).params_list[0]
    return {
        "torch.nn": _torch_step(reference, x),
        "manual": _torch_step(torch_cells.from_torch(reference, backward="manual"), x),
        "autograd": _torch_step(torch_cells.from_torch(reference, backward="autograd"), x),
        "numpy float32": _numpy_step(cell, params, x, np.float32),
        "numpy float64": _numpy_step(cell, params, x, np.float64),
    }


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_benchmark(threads=(1,), rounds=5, per_block=2, cells=CELLS, impls=IMPLS, batch=32,
                  steps=100, input_size=32, hidden_size=256, seed=0) -> dict:
    """Median forward+backward seconds per (threads, cell, implementation), with ratios to torch.nn.

    Returns ``{"config": {...}, "results": [{"threads", "cell", "impl", "median_s", "min_s",
    "ratio"}]}`` where ``ratio`` is ``median_s / median_s of torch.nn`` in the same setting
    (``impls`` must start with ``"torch.nn"``).
    """
    if not impls or impls[0] != "torch.nn" or not set(impls) <= set(IMPLS):
        raise ValueError(f"impls: expected 'torch.nn' first, then some of {list(IMPLS[1:])}, "
                         f"got {list(impls)}")
    previous = torch.get_num_threads()
    results = []
    try:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            with threadpool_limits(limits=n_threads):
                for cell in cells:
                    runs = _implementations(cell, input_size, hidden_size, steps, batch, seed)
                    times = {impl: [] for impl in impls}
                    for _ in range(rounds):
                        for impl in impls:
                            runs[impl]()  # untimed: warm caches, let the other's threads idle
                            times[impl] += [_timed(runs[impl]) for _ in range(per_block)]
                    base = statistics.median(times["torch.nn"])
                    for impl in impls:
                        med = statistics.median(times[impl])
                        results.append({
                            "threads": n_threads, "cell": cell, "impl": impl, "median_s": med,
                            "min_s": min(times[impl]), "ratio": med / base,
                        })
    finally:
        torch.set_num_threads(previous)
    config = {"batch": batch, "steps": steps, "input_size": input_size,
              "hidden_size": hidden_size, "rounds": rounds, "per_block": per_block,
              "torch": torch.__version__, "numpy": np.__version__}
    return {"config": config, "results": results}


def format_table(report: dict) -> str:
    """The results as a plain-text table: one row per (threads, cell), ms and ratio per impl."""
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["threads"], r["cell"]), {})[r["impl"]] = r
    impls = list(dict.fromkeys(r["impl"] for r in report["results"]))
    header = f"{'threads':>7} {'cell':>5} " + " ".join(f"{impl:>22}" for impl in impls)
    lines = [header, "-" * len(header)]
    for (n_threads, cell), by_impl in rows.items():
        cols = []
        for impl in impls:
            r = by_impl[impl]
            cols.append(f"{1000 * r['median_s']:>9.1f} ms ({r['ratio']:4.2f}x)")
        lines.append(f"{n_threads:>7} {cell:>5} " + " ".join(f"{c:>22}" for c in cols))
    c = report["config"]
    lines.append(
        f"median of {c['rounds'] * c['per_block']} forward+backward, B={c['batch']} "
        f"T={c['steps']} I={c['input_size']} H={c['hidden_size']}; torch float32; "
        "ratio = time / torch.nn's"
    )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--rounds", type=int, default=5, help="blocks per implementation")
    parser.add_argument("--per-block", type=int, default=2, help="timed calls per block")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS),
                        help="torch.nn is always measured first")
    parser.add_argument("--size", type=int, nargs=4, metavar=("B", "T", "I", "H"),
                        default=[32, 100, 32, 256], help="batch, steps, input and hidden size")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    batch, steps, input_size, hidden_size = args.size
    impls = ["torch.nn"] + [impl for impl in args.impls if impl != "torch.nn"]
    report = run_benchmark(threads=args.threads, rounds=args.rounds, per_block=args.per_block,
                           cells=args.cells, impls=impls, batch=batch, steps=steps,
                           input_size=input_size, hidden_size=hidden_size)
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return report


if __name__ == "__main__":
    main()
