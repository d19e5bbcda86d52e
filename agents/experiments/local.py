"""The local backend of the benchmark: jobs in this process (``jobs=1``) or in a pool of worker
processes, and the progress bar both backends update; :func:`map_jobs`, the runner of the benchmark
scripts (benchmarks/), which keep their episodes in memory rather than in run files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from .jobs import Job, execute

__all__ = ["run_local", "progress_bar", "map_jobs"]

J = TypeVar("J")
R = TypeVar("R")


def run_local(todo: Sequence[Job], out: Path, jobs: int, bar: Any, counts: dict[str, int]) -> None:
    """Run ``todo`` here (``jobs == 1``) or in ``jobs`` worker processes; count and show each finished
    job (``counts["ran"]``, ``bar``). On an exception (Ctrl-C included) the workers are stopped at
    once and the exception propagates: finished jobs are kept (their files are written atomically),
    running ones restart from scratch on the next run."""
    if jobs == 1:
        for job in todo:
            name, secs = execute(job, str(out))
            counts["ran"] += 1
            bar.set_postfix_str(f"{name} {secs:.1f}s")
            bar.update()
    else:
        _run_pool(todo, out, jobs, bar, counts)


def _run_pool(todo, out: Path, jobs: int, bar, counts: dict[str, int]) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("forkserver"))
    try:
        pending = {pool.submit(execute, job, str(out)) for job in todo}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                name, secs = fut.result()
                counts["ran"] += 1
                bar.set_postfix_str(f"{name} {secs:.1f}s")
                bar.update()
    except BaseException:
        # Stop now rather than after the running jobs: they restart from scratch on the next run
        # (a job's file is written atomically at its end, so no half-written result survives).
        processes = getattr(pool, "_processes", None) or {}
        for proc in list(processes.values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar of ``total`` jobs, or a stand-in that shows nothing (``enabled=False``)."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="job", dynamic_ncols=True)


def map_jobs(
    fn: Callable[[J], R],
    jobs: Iterable[J],
    workers: int,
    desc: str,
    progress: bool = True,
    longest_first: Callable[[J], float] | None = None,
) -> list[R]:
    """``[fn(job) for job in jobs]``, in this process (``workers == 1``) or on a pool of ``workers``
    forked processes, with a progress bar. The results come in the order of ``jobs`` whatever the
    number of workers; ``longest_first`` (a job's expected length) only changes the order in which
    the pool starts them, so that it does not end on a long one. ``fn`` must be a module-level
    function (the pool pickles it by name)."""
    todo = list(jobs)
    order = list(range(len(todo)))
    if longest_first is not None:
        order.sort(key=lambda i: -longest_first(todo[i]))
    bar = progress_bar(len(todo), desc, progress)
    results: list[Any] = [None] * len(todo)
    try:
        if workers == 1:
            for i in order:
                results[i] = fn(todo[i])
                bar.update()
        else:
            from multiprocessing import get_context

            with get_context("fork").Pool(workers) as pool:
                for i, result in pool.imap_unordered(partial(_indexed, fn), [(i, todo[i]) for i in order]):
                    results[i] = result
                    bar.update()
    finally:
        bar.close()
    return results


def _indexed(fn: Callable[[J], R], item: tuple[int, J]) -> tuple[int, R]:
    return item[0], fn(item[1])
