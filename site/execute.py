"""Execute the course's lessons for the site, two at a time, into the cache Sphinx reads.

``make site`` runs this before Sphinx: ``python site/execute.py BUILD [--jobs 2]``. Each lesson
is prepared exactly as Sphinx reads it (:func:`lessons_site.site_notebook`), looked up in
jupyter-cache (``BUILD/jupyter_cache``, keyed on its code cells), and executed only when it is
not there, with myst-nb's own execution function (``jupyter_cache``'s ``single_nb_execution``,
the kernel in ``notebooks/``, the same timeout); the executed notebook goes into the cache, where
myst-nb then finds it instead of executing the lesson again, one at a time, as it would.

Two lessons execute at once (``--jobs``): the longer ones first (by their time budgets in
``benchmarks/run.py``); the lesson that compiles the others' results (lesson 8) after all of
them. A lesson that raises stops the
build: the lessons not started yet are not executed, the one still running is finished (and
cached), and the exit status is 1 with the lesson, the cell (its number and source) and the
traceback.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import lessons_site  # noqa: E402

TIMEOUT = 900  # seconds per cell, as site/conf.py's nb_execution_timeout


def prepared(notebooks: Path, package: str) -> dict[str, str]:
    """Each lesson's notebook text as the site reads it, by document name."""
    return {doc: lessons_site.site_notebook(doc, (notebooks / f"{doc}.ipynb").read_text(),
                                            notebooks=notebooks, package=package)
            for doc in lessons_site.lessons(notebooks)}


def _budget(doc: str) -> float:
    """The lesson's time budget in seconds (``benchmarks/run.py``); 60 for one without."""
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.run import LESSON_BUDGET_S
    except ImportError:  # an installed copy without the benchmarks
        return 60.0
    return float(LESSON_BUDGET_S.get(doc.split("_")[0], 60))


def cached(cache, text: str) -> bool:
    import nbformat

    try:
        cache.match_cache_notebook(nbformat.reads(text, as_version=4))
    except KeyError:
        return False
    return True


def _execute(path: str, text: str, timeout: int) -> tuple[str, float, float, str | None]:
    """In a worker process: execute one lesson; (executed notebook, seconds, CPU seconds of
    the kernel and its workers, failure or None)."""
    import resource

    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    nb = nbformat.reads(text, as_version=4)
    cpu = children_cpu()
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    cpu = children_cpu() - cpu
    failure = None
    if result.err is not None:
        failure = _failed_cell(result.nb) + str(result.err)
    return nbformat.writes(result.nb), float(result.time), cpu, failure


def _failed_cell(nb) -> str:
    """'cell N (code cell K): <its first line>' for the cell that raised (its output is an
    error) or, after a timeout, the one that was running (the last one given a number)."""
    code = [(i, k, cell) for k, (i, cell) in enumerate(
        (i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code")]
    failed = [row for row in code if any(out.get("output_type") == "error"
                                         for out in row[2].get("outputs", []))]
    started = [row for row in code if row[2].get("execution_count") is not None]
    if not failed and started:
        failed = [max(started, key=lambda row: row[2]["execution_count"])]
    if not failed:
        return ""
    i, k, cell = failed[0]
    first = (cell.source.strip().splitlines() or [""])[0]
    return f"cell {i} (code cell {k + 1}): {first}\n"


def execute(build: Path, notebooks: Path | None = None, jobs: int = 2,
            timeout: int = TIMEOUT) -> int:
    """Execute every lesson of ``notebooks`` missing from ``build``'s cache; 0 or 1."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    notebooks = Path(notebooks or ROOT / "notebooks").resolve()
    build = Path(build).resolve()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected a positive int, got {jobs!r}")
    texts = prepared(notebooks, lessons_site.package_digest(ROOT))
    cache = get_cache(str(build / "jupyter_cache"))
    todo = [doc for doc, text in texts.items() if not cached(cache, text)]
    if not todo:
        print(f"site: all {len(texts)} lessons are in the cache")
        return 0
    # the longest first (by the time budgets `make bench` holds them to), so that two at a
    # time end together; the lesson that compiles the others' results runs after them
    waves = [sorted((d for d in todo if not lessons_site.compiles_others(d)),
                    key=lambda d: (_budget(d), d), reverse=True),
             [d for d in todo if lessons_site.compiles_others(d)]]
    print(f"site: executing {len(todo)} of {len(texts)} lessons, {jobs} at a time: "
          f"{', '.join(todo)}", flush=True)
    os.environ.update(lessons_site.kernel_environment(build))
    start = time.perf_counter()
    failures = []
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for wave in waves:
            if failures or not wave:
                continue
            running = {pool.submit(_execute, str(notebooks / f"{doc}.ipynb"), texts[doc],
                                   timeout): doc for doc in wave}
            for future in cf.as_completed(running):
                doc = running[future]
                if future.cancelled():
                    continue
                executed, seconds, cpu, failure = future.result()
                if failure is not None:
                    failures.append((doc, failure))
                    for other in running:  # what has not started yet never will
                        other.cancel()
                    print(f"site: {doc} FAILED after {seconds:.1f} s", flush=True)
                    continue
                cache.cache_notebook_bundle(
                    CacheBundleIn(nbformat.reads(executed, as_version=4),
                                  str(notebooks / f"{doc}.ipynb"),
                                  data={"execution_seconds": seconds}),
                    check_validity=False, overwrite=True)
                print(f"site: executed {doc} in {seconds:.1f} s, CPU {cpu:.1f} s "
                      f"({time.perf_counter() - start:.0f} s since the start)", flush=True)
    if failures:
        for doc, failure in failures:
            print(f"\nsite: lesson {doc} failed at {failure}", file=sys.stderr)
        print(f"site: stopped: {', '.join(d for d, _ in failures)} raised (above)",
              file=sys.stderr)
        return 1
    print(f"site: {len(todo)} lessons executed in {time.perf_counter() - start:.0f} s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="the site's build folder (build/site)")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="the lessons' folder (default: notebooks/)")
    parser.add_argument("--jobs", type=int, default=2, help="lessons executed at once")
    args = parser.parse_args(argv)
    return execute(args.build, args.notebooks, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
