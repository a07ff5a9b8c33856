"""``make bench`` rows for lesson 7b: the parallel scan and a minGRU training step.

* the torch Blelloch scan (:func:`rnncourse.scan.blelloch_torch`, forward) at T = 4096, B = 16,
  H = 256, float32, as a multiple of one ``torch.cumsum`` over the same tensor in the same run
  (a memory-bound floor; goal <= 3x);
* the sequential loop (:func:`rnncourse.scan.sequential_torch`) as a multiple of the scan;
* a minGRU training step (two layers, H = 32, B = 32, adding problem) against
  ``torch.nn.GRU``'s (H = 32) at T = 512 and 2048, as a ratio GRU / minGRU.

Times are the fastest of interleaved repeats on one torch thread (CPU time of this process).
"""

from __future__ import annotations

import time

SCAN_TARGET = 3.0  # scan / cumsum


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def bench_scan(T: int = 4096, B: int = 16, H: int = 256, repeats: int = 5) -> dict:
    import torch

    from rnncourse import long_range, scan

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        a = 0.5 + 0.5 * torch.rand(T, B, H, generator=gen)
        b = torch.randn(T, B, H, generator=gen)
        runs = {"cumsum": lambda: torch.cumsum(b, dim=0),
                "scan": lambda: scan.blelloch_torch(a, b),
                "loop": lambda: scan.sequential_torch(a, b)}
        best = {name: float("inf") for name in runs}
        with torch.no_grad():
            for fn in runs.values():
                fn()  # warm up
            for _ in range(repeats):
                for name, fn in runs.items():
                    best[name] = min(best[name], _cpu(fn))
        steps = {}
        for length in (512, 2048):
            steps[length] = {m: long_range.step_seconds(m, T=length, repeats=2)
                             for m in ("mingru", "gru")}
    finally:
        torch.set_num_threads(threads)
    scan_over_cumsum = best["scan"] / best["cumsum"]
    return {"T": T, "B": B, "H": H, "seconds": best,
            "scan_over_cumsum": scan_over_cumsum, "ok": scan_over_cumsum <= SCAN_TARGET,
            "loop_over_scan": best["loop"] / best["scan"],
            "train_step_s": steps,
            "gru_over_mingru": {k: v["gru"] / v["mingru"] for k, v in steps.items()}}


def format_rows(r: dict) -> list[str]:
    lines = [f"| scan (T={r['T']}, B={r['B']}, H={r['H']}, float32) | ms | vs one cumsum | "
             "loop / scan | |", "|---|---|---|---|---|",
             f"| Blelloch scan, forward | {1e3 * r['seconds']['scan']:.1f} | "
             f"{r['scan_over_cumsum']:.2f}x (goal <= {SCAN_TARGET:g}x) | "
             f"{r['loop_over_scan']:.2f}x | {'ok' if r['ok'] else 'MISSED'} |", "",
             "| training step (H=32, B=32) | minGRU ms | torch.nn.GRU ms | GRU / minGRU |",
             "|---|---|---|---|"]
    for length, v in r["train_step_s"].items():
        lines.append(f"| T = {length} | {1e3 * v['mingru']:.1f} | {1e3 * v['gru']:.1f} | "
                     f"{r['gru_over_mingru'][length]:.2f}x |")
    return lines


if __name__ == "__main__":
    print("\n".join(format_rows(bench_scan())))
