"""The benchmark runner: agents x envs x scenarios x seeds, one result file per run, resumable.

:func:`plan_bench` plans a bench as train jobs and eval runs (:mod:`agents.experiments.jobs`);
:func:`run_bench` runs those not done yet, on local processes (:mod:`agents.experiments.local`) or
Ray (:mod:`agents.experiments.ray_backend`); :func:`bench_report` does both, then writes the table
(:mod:`agents.experiments.report`) and the plots (:mod:`agents.experiments.plots`): it is
``llmroute bench`` and ``make demo``.

:func:`run_bench` skips every job whose file exists, so a bench interrupted by Ctrl-C and started
again finishes without redoing finished runs (a half-written file never exists; an unfinished
training restarts from scratch). Jobs run in local processes (``backend="local"``, ``jobs``
workers; ``jobs=1`` runs in this process). ``backend="ray"`` runs them as Ray tasks, on a local
instance or a cluster (:func:`agents.experiments.ray_backend.run_ray`).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rl import ALGOS
from . import ray_backend
from .jobs import EvalRun, Job, TrainJob, default_scenario, is_generated
from .local import progress_bar, run_local
from .plots import plot_bench
from .report import load_runs, summarise, write_table

__all__ = ["plan_bench", "run_bench", "bench_report", "BenchReport", "parse_seeds", "BACKENDS"]

BACKENDS = ("local", "ray")


def parse_seeds(text: str) -> list[int]:
    """Seeds written as ranges and lists: ``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,3,7"`` -> [1, 3, 7];
    ``"0-2,10"`` -> [0, 1, 2, 10].

    Parameters
    ----------
    text : str
        Comma-separated seeds and inclusive ranges ``a-b``.

    Returns
    -------
    list of int
        The seeds in order of first appearance, without repeats.

    Raises
    ------
    ValueError
        An empty range, a negative seed or no seed at all.
    """
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            lo, hi = part.split("-", 1) if not part.startswith("-") else (part, "")
            a, b = int(lo), int(hi)
            if b < a:
                raise ValueError(f"seed range {part!r} is empty")
            seeds.extend(range(a, b + 1))
        else:
            seeds.append(int(part))
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers like '0-4' or '1,3,7', got {text!r}")
    return list(dict.fromkeys(seeds))


def plan_bench(
    agents: Sequence[str],
    envs: Sequence[str] = ("LLMRoute-v0",),
    scenarios: Sequence[str] | None = None,
    seeds: Iterable[int] = range(3),
    *,
    train_steps: int = 50_000,
    env_kwargs: dict[str, Any] | None = None,
    deterministic: bool | None = None,
    vec_env: str | None = None,
    policy: str = "mlp",
    train_worlds: tuple[int, int] | None = None,
) -> tuple[list[TrainJob], list[EvalRun]]:
    """The train jobs and eval runs of a bench.

    Agents whose name is an RL algorithm (``maskableppo``, ``ppo``, ``a2c``, ``dqn``) are trained
    for ``train_steps`` per seed; the others are built by :func:`agents.make` (a name or an import
    path).

    Parameters
    ----------
    agents : sequence of str
        Reference agents, RL algorithms and import paths of agent classes.
    envs : sequence of str
        Env ids.
    scenarios : sequence of str, optional
        Scenario presets; None plays each env on the scenario it is registered with
        (:func:`default_scenario`). A generated-worlds env (``LLMRoute-Gen-v0``) takes none: it
        plays the worlds of ``env_kwargs`` (``num_worlds``, ``start_world``).
    seeds : iterable of int
        Episode seeds; the RL agent of seed s is the model trained with seed s.
    train_steps : int
        Training env steps per RL model.
    env_kwargs : dict, optional
        ``gym.make`` kwargs of every env (the worlds scored, for a generated-worlds env).
    deterministic : bool, optional
        Evaluate RL agents with their greedy action (None: their default).
    vec_env : str, optional
        RL training vector env (None: the hyperparameter table's).
    policy : {"mlp", "set"}
        The policy of the RL agents (:func:`agents.rl.train`).
    train_worlds : (int, int), optional
        ``(start_world, num_worlds)`` the RL agents train on, on a generated-worlds env (default
        ``(0, 200)``; scored on the worlds of ``env_kwargs``). Ignored by the other envs.

    Returns
    -------
    (list of TrainJob, list of EvalRun)
        The train jobs and the eval runs.

    Raises
    ------
    ValueError
        ``scenarios`` given with a generated-worlds env.
    """
    env_kwargs = dict(env_kwargs or {})
    if scenarios and any(is_generated(env_id) for env_id in envs):
        raise ValueError("a generated-worlds env (LLMRoute-Gen-v0) takes no scenarios: it plays num_worlds worlds")
    start, count = train_worlds if train_worlds is not None else (0, 200)
    seeds = [int(s) for s in seeds]
    trains: list[TrainJob] = []
    runs: list[EvalRun] = []
    for env_id in envs:
        generated = is_generated(env_id)
        train_kwargs = {**env_kwargs, "num_worlds": int(count), "start_world": int(start)} if generated else env_kwargs
        for scenario in (None,) if generated else scenarios or (default_scenario(env_id),):
            label = default_scenario(env_id, env_kwargs) if scenario is None else scenario
            for agent in agents:
                for seed in seeds:
                    job = None
                    if agent.lower() in ALGOS:
                        job = TrainJob(
                            agent.lower(),
                            env_id,
                            default_scenario(env_id, train_kwargs) if generated else label,
                            seed,
                            int(train_steps),
                            train_kwargs,
                            vec_env,
                            policy,
                        )
                        trains.append(job)
                    runs.append(EvalRun(agent, env_id, label, seed, env_kwargs, job, deterministic))
    return trains, runs


def run_bench(
    trains: Sequence[TrainJob],
    runs: Sequence[EvalRun],
    out: str | os.PathLike,
    *,
    jobs: int = 1,
    backend: str = "local",
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    ray_address: str | None = None,
) -> dict[str, int]:
    """Run the jobs that are not done yet: train jobs first, then eval runs. Returns counts of
    ``skipped`` (already done) and ``ran`` jobs.

    ``backend="local"``: ``jobs`` local worker processes (``1``: in this process).
    ``backend="ray"``: Ray tasks (``ray_address`` as for ``ray.init``; None for ``RAY_ADDRESS`` or a
    new local instance). On Ctrl-C the pending jobs are cancelled and the finished ones are kept;
    ``KeyboardInterrupt`` propagates.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        raise NotImplementedError(
            "backend 'ray' is not available in this install (pip install 'gym-llmroute[ray]'); use backend='local'"
        )
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"skipped": 0, "ran": 0}
    stages: tuple[tuple[str, Sequence[Job]], ...] = (("train", trains), ("eval", runs))
    for stage, todo_all in stages:
        todo = _pending(todo_all, out, counts)
        if not todo:
            continue
        bar = progress_bar(len(todo), f"{stage} ({len(todo)} to do)", progress)
        try:
            if backend == "ray":
                ray_backend.run_ray(todo, out, bar, counts, address=ray_address)
            else:
                run_local(todo, out, jobs, bar, counts)
        finally:
            bar.close()
        if log:
            log(f"{stage}: {len(todo)} job(s) done")
    return counts


def _pending(jobs: Sequence[Job], out: Path, counts: dict[str, int]) -> list[Job]:
    """The jobs not done yet, each once (a finished one counts as ``skipped``)."""
    todo: list[Job] = []
    seen = set()
    for job in jobs:
        if job.name in seen:
            continue
        seen.add(job.name)
        if job.done(out):
            counts["skipped"] += 1
        else:
            todo.append(job)
    return todo


@dataclass
class BenchReport:
    """What :func:`bench_report` did and wrote."""

    counts: dict[str, int]
    seconds: float
    table: Path
    csv: Path
    plots: list[Path]


def bench_report(
    trains: Sequence[TrainJob],
    runs: Sequence[EvalRun],
    out: str | os.PathLike,
    *,
    report_dir: str | os.PathLike | None = None,
    plots: bool = True,
    echo: Callable[[str], None] = print,
    **run_kwargs: Any,
) -> BenchReport:
    """Run a planned bench (:func:`run_bench`), then write its table and plots.

    Parameters
    ----------
    trains, runs : sequences of TrainJob and EvalRun
        The plan (:func:`plan_bench`).
    out : path
        The bench folder (run files and models).
    report_dir : path, optional
        Where ``results.md``, ``results.csv`` and the PNGs go (default ``out``).
    plots : bool
        Write the PNG plots.
    echo : callable
        Shown the table, a line of counts and a line per plot, as they are written.
    **run_kwargs
        ``jobs``, ``backend``, ``progress``, ``ray_address`` of :func:`run_bench`.

    Returns
    -------
    BenchReport
        Job counts, the time the jobs took, and the paths written.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C while jobs run: the finished ones are kept, the same call resumes.
    CorruptRunFile
        A corrupt run file (the message names it).
    NotImplementedError
        ``backend="ray"`` without Ray installed.
    """
    out = Path(out)
    start = time.perf_counter()
    counts = run_bench(trains, runs, out, **run_kwargs)
    records = load_runs(out, runs)
    rows = summarise(records)
    report = Path(report_dir) if report_dir else out
    md, csv_path = write_table(rows, report)
    seconds = time.perf_counter() - start
    echo(md.read_text())
    echo(f"{counts['ran']} job(s) run, {counts['skipped']} already done, in {seconds:.0f} s; table: {md}, {csv_path}")
    written: list[Path] = []
    if plots:
        for path in plot_bench(records, report, out / "models"):
            echo(f"plot: {path}")
            written.append(path)
    return BenchReport(counts, seconds, md, csv_path, written)
