"""The benchmark runner: agents x envs x scenarios x seeds, one result file per run, resumable.

A bench is planned as two kinds of jobs:

* **train jobs**, one per (RL algorithm, env, scenario, seed): :func:`agents.rl.train` into
  ``<out>/models/<env>__<scenario>__<algo>__<steps>__s<seed>/``, finished when its ``train.json``
  exists. The training envs are seeded away from the evaluation seeds (``10_000 + 97 * seed``), so
  the learned agent is evaluated on worlds it never trained on (it does train on the scenario's
  catalog and true means, which no reference agent sees beforehand: an advantage to keep in mind);
* **eval runs**, one per (agent, env, scenario, seed): one episode recorded by
  :func:`record_episode` into ``<out>/runs/<env>__<scenario>__<agent>__s<seed>.json``, written
  atomically (temp file + ``os.replace``). An RL agent's run with seed s evaluates the model trained
  with seed s, so its confidence intervals include the variance of training.

:func:`run_bench` skips every job whose file exists, so a bench interrupted by Ctrl-C and started
again finishes without redoing finished runs (a half-written file never exists; an unfinished
training restarts from scratch). Jobs run in local processes (``backend="local"``, ``jobs``
workers; ``jobs=1`` runs in this process). ``backend="ray"`` runs them as Ray tasks, on a local
instance or a cluster (:func:`agents.ray_backend.run_ray`).

Every episode is seeded: the env with ``reset(seed=s)`` and the agent with ``reset(seed=s)`` (its
routing draws), so a run file can be reproduced exactly.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import gym_llmroute  # noqa: F401  (registers the ids in worker processes)

from .hyperparams import ALGOS

__all__ = [
    "TrainJob",
    "EvalRun",
    "plan_bench",
    "default_scenario",
    "run_bench",
    "record_episode",
    "load_runs",
    "summarise",
    "results_table",
    "write_table",
    "atomic_write_json",
    "atomic_write_text",
    "BACKENDS",
    "TRAIN_SEED_OFFSET",
]

BACKENDS = ("local", "ray")
TRAIN_SEED_OFFSET = 10_000
# Points kept per trace in a run file (the traces are downsampled evenly, the last point kept).
TRACE_POINTS = 400
SUMMARY_KEYS = (
    "reward",
    "reward_fraction",
    "regret",
    "cost",
    "spend_fraction",
    "queries_served",
    "invalid_actions",
)


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically: a temp file in the same folder, then
    ``os.replace`` (a reader never sees a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, default=_json_default)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def _kwargs_tag(env_kwargs: dict[str, Any]) -> str:
    """A short, stable tag of non-default env kwargs for file names ('' if none)."""
    if not env_kwargs:
        return ""
    return "__" + "_".join(f"{k}={env_kwargs[k]}" for k in sorted(env_kwargs))


# ---------------------------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class TrainJob:
    """Train one RL model (see :func:`agents.rl.train`)."""

    algo: str
    env_id: str
    scenario: str
    seed: int
    steps: int
    env_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    vec_env: str | None = None

    @property
    def name(self) -> str:
        return _slug(
            f"{self.env_id}__{self.scenario}__{self.algo}__{self.steps}__s{self.seed}{_kwargs_tag(self.env_kwargs)}"
        )

    def directory(self, out: Path) -> Path:
        return out / "models" / self.name

    def done(self, out: Path) -> bool:
        return (self.directory(out) / "train.json").exists()

    def run(self, out: Path) -> dict[str, Any]:
        from .rl import train

        overrides = {"vec_env": self.vec_env} if self.vec_env else None
        result = train(
            self.algo,
            self.env_id,
            total_timesteps=self.steps,
            seed=self.seed,
            env_seed=TRAIN_SEED_OFFSET + 97 * self.seed,
            out_dir=self.directory(out),
            env_kwargs={"scenario": self.scenario, **self.env_kwargs},
            hyperparams=overrides,
        )
        return asdict(result)


@dataclass(frozen=True)
class EvalRun:
    """Evaluate one agent on one seeded episode; ``train`` is set for RL agents."""

    agent: str
    env_id: str
    scenario: str
    seed: int
    env_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    train: TrainJob | None = None
    deterministic: bool | None = None

    @property
    def name(self) -> str:
        return _slug(f"{self.env_id}__{self.scenario}__{self.agent}__s{self.seed}{_kwargs_tag(self.env_kwargs)}")

    def path(self, out: Path) -> Path:
        return out / "runs" / f"{self.name}.json"

    def done(self, out: Path) -> bool:
        return self.path(out).exists()

    def run(self, out: Path) -> dict[str, Any]:
        env = gym.make(self.env_id, scenario=self.scenario, **self.env_kwargs)
        if self.train is not None:
            from .rl import load_agent

            agent = load_agent(self.train.directory(out), env, deterministic=self.deterministic, name=self.agent)
        else:
            import agents

            agent = agents.make(self.agent, env, seed=self.seed)
        record = record_episode(agent, env, self.seed)
        record.update(
            agent=self.agent,
            env_id=self.env_id,
            scenario=self.scenario,
            env_kwargs=self.env_kwargs,
            train_steps=None if self.train is None else self.train.steps,
            model=None if self.train is None else self.train.name,
        )
        atomic_write_json(self.path(out), record)
        return record


def default_scenario(env_id: str) -> str:
    """The scenario preset an env id is registered with (``"paper"`` unless the id names a world,
    e.g. ``LLMRoute-Market-v0`` -> ``"market"``)."""
    return gym.spec(env_id).kwargs.get("scenario", "paper")


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
) -> tuple[list[TrainJob], list[EvalRun]]:
    """The train jobs and eval runs of a bench. Agents whose name is an RL algorithm
    (``maskableppo``, ``ppo``, ``a2c``, ``dqn``) are trained for ``train_steps`` per seed; the others
    are built by :func:`agents.make`. ``scenarios=None`` plays each env on the scenario it is
    registered with (:func:`default_scenario`)."""
    env_kwargs = dict(env_kwargs or {})
    seeds = [int(s) for s in seeds]
    trains: list[TrainJob] = []
    runs: list[EvalRun] = []
    for env_id in envs:
        for scenario in scenarios or (default_scenario(env_id),):
            for agent in agents:
                for seed in seeds:
                    job = None
                    if agent.lower() in ALGOS:
                        job = TrainJob(agent.lower(), env_id, scenario, seed, int(train_steps), env_kwargs, vec_env)
                        trains.append(job)
                    runs.append(EvalRun(agent, env_id, scenario, seed, env_kwargs, job, deterministic))
    return trains, runs


def _execute(job: TrainJob | EvalRun, out: str) -> tuple[str, float]:
    """Worker entry point: run one job; returns its name and wall time."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    job.run(Path(out))
    return job.name, time.perf_counter() - start


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
    run_ray = None
    if backend == "ray":
        try:
            from .ray_backend import run_ray
        except ImportError as exc:
            raise NotImplementedError(
                f"backend 'ray' is not available in this install ({exc}); use backend='local'"
            ) from exc
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"skipped": 0, "ran": 0}
    for stage, todo_all in (("train", trains), ("eval", runs)):
        todo = []
        seen = set()
        for job in todo_all:
            if job.name in seen:
                continue
            seen.add(job.name)
            if job.done(out):
                counts["skipped"] += 1
            else:
                todo.append(job)
        if not todo:
            continue
        bar = _progress(len(todo), f"{stage} ({len(todo)} to do)", progress)
        try:
            if run_ray is not None:
                run_ray(todo, out, bar, counts, address=ray_address)
            elif jobs == 1:
                for job in todo:
                    name, secs = _execute(job, str(out))
                    counts["ran"] += 1
                    bar.set_postfix_str(f"{name} {secs:.1f}s")
                    bar.update()
            else:
                _run_pool(todo, out, jobs, bar, counts)
        finally:
            bar.close()
        if log:
            log(f"{stage}: {len(todo)} job(s) done")
    return counts


def _run_pool(todo, out: Path, jobs: int, bar, counts: dict[str, int]) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("forkserver"))
    try:
        pending = {pool.submit(_execute, job, str(out)) for job in todo}
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


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="job", dynamic_ncols=True)


# ---------------------------------------------------------------------------------------- recording
def _downsample(n: int, points: int) -> np.ndarray:
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.int64))


def record_episode(agent: Any, env: gym.Env, seed: int, trace_points: int = TRACE_POINTS) -> dict[str, Any]:
    """Run one seeded episode of ``agent`` on ``env`` (``LLMRoute-v0`` or a view) and record it.

    Returns the summary of :func:`agents.run_episode` (``reward``, ``cost``, ``budget``, ``regret``,
    ``oracle_value``, ``queries_served``, ``horizon``, ``reward_fraction``, ``spend_fraction``,
    ``budget_exhausted``, ``invalid_actions``, ``steps``) plus, for the plots:

    * ``trace``: ``t`` (queries served), ``regret`` and ``spend`` (cumulative), at most
      ``trace_points`` points evenly spaced over the episode's steps that served queries, the last one
      kept; if the hard budget ended the episode early, a final point at ``t = T`` carries the
      regret of the unserved queries;
    * ``deployed``: (K, N) 0/1, the set that served each stage (zeros for stages never reached);
    * ``routed``: (K, N) queries each model served in each stage;
    * ``wall_time_s``.

    Queries served per step come from ``info["model"]`` (one query on a route step) or, on the
    deploy view, from ``info["routed"]`` (a whole stage).
    """
    scenario = env.unwrapped.scenario
    K, N = scenario.n_stages, scenario.n_models
    total_budget = scenario.budget * scenario.horizon
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    if hasattr(agent, "reset"):
        agent.reset(seed=seed)
    deployed = np.zeros((K, N), dtype=np.int8)
    routed = np.zeros((K, N), dtype=np.int64)
    ts, regrets, spends = [0], [0.0], [0.0]
    served = 0
    invalid = 0
    steps = 0

    def note_deployment(o):
        if o["phase"][0] >= 0.5:
            k = min(int(round(float(o["stage"][0]) * K)), K - 1)
            deployed[k] = o["deployed"] > 0.5

    note_deployment(obs)
    terminated = truncated = False
    episode_start = np.ones(1, dtype=bool)
    state = None
    while not (terminated or truncated):
        action, state = agent.predict(obs, state=state, episode_start=episode_start, deterministic=None)
        episode_start = np.zeros(1, dtype=bool)
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        invalid += bool(info["invalid_action"])
        if "routed" in info:
            n = int(info["routed"].sum())
            if n:
                routed[info["stage"]] += info["routed"]
                deployed[info["stage"]] = obs["deployed"] > 0.5
        else:
            n = int(info["model"] >= 0)
            if n:
                routed[info["stage"], info["model"]] += 1
            note_deployment(obs)
        if n:
            served += n
            ts.append(served)
            regrets.append(float(info["regret"]))
            spends.append(float(total_budget - info["budget_left"]))
    keep = _downsample(len(ts), trace_points)
    trace = {
        "t": [ts[i] for i in keep],
        "regret": [regrets[i] for i in keep],
        "spend": [spends[i] for i in keep],
    }
    if served < scenario.horizon:  # the hard budget ended it: the regret of the queries left
        trace["t"].append(scenario.horizon)
        trace["regret"].append(float(info["regret"]))
        trace["spend"].append(spends[-1])
    out: dict[str, Any] = {
        "seed": int(seed),
        "reward": float(info["total_reward"]),
        "cost": float(info["total_cost"]),
        "budget": float(info["budget"]),
        "regret": float(info["regret"]),
        "oracle_value": float(info["oracle_value"]),
        "queries_served": int(info["queries_served"]),
        "horizon": int(scenario.horizon),
        "invalid_actions": invalid,
        "steps": steps,
        "trace": trace,
        "deployed": deployed.tolist(),
        "routed": routed.tolist(),
        "wall_time_s": time.perf_counter() - start,
    }
    out["reward_fraction"] = out["reward"] / out["oracle_value"] if out["oracle_value"] > 0 else math.nan
    out["spend_fraction"] = out["cost"] / out["budget"] if out["budget"] > 0 else math.nan
    out["budget_exhausted"] = out["queries_served"] < out["horizon"]
    return out


# ---------------------------------------------------------------------------------------- results
def load_runs(out: str | os.PathLike, runs: Sequence[EvalRun] | None = None) -> list[dict[str, Any]]:
    """The recorded runs of a bench folder: those of ``runs`` (in that order) or every file."""
    out = Path(out)
    if runs is not None:
        return [_read_run(r.path(out)) for r in runs if r.done(out)]
    return [_read_run(p) for p in sorted((out / "runs").glob("*.json"))]


def _read_run(path: Path) -> dict[str, Any]:
    """One run file; a file that is not a run record (edited, truncated by a full disk, copied from
    elsewhere) raises ``ValueError`` naming it and saying how to recompute it."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"corrupt run file {path}: {exc}; delete it and rerun the bench to recompute it") from None
    missing = [key for key in ("agent", "seed", *SUMMARY_KEYS) if not isinstance(record, dict) or key not in record]
    if missing:
        raise ValueError(f"corrupt run file {path}: missing {missing}; delete it and rerun the bench to recompute it")
    return record


def _mean_ci(values: Sequence[float]) -> tuple[float, float]:
    from .harness import mean_ci

    return mean_ci(values)


def summarise(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (env, scenario, agent), in order of first appearance: ``n`` seeds and, per metric
    of :data:`SUMMARY_KEYS`, ``<metric>_mean`` and ``<metric>_ci`` (half-width of the 95% Student-t
    interval over seeds; nan with one seed)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["env_id"], r["scenario"], r["agent"]), []).append(r)
    rows = []
    for (env_id, scenario, agent), rs in groups.items():
        row: dict[str, Any] = {
            "env_id": env_id,
            "scenario": scenario,
            "agent": agent,
            "n": len(rs),
            "seeds": " ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"])),
            "train_steps": rs[0].get("train_steps") or "",
        }
        for key in SUMMARY_KEYS:
            row[f"{key}_mean"], row[f"{key}_ci"] = _mean_ci([float(r[key]) for r in rs])
        row["oracle_value"] = rs[0]["oracle_value"]
        rows.append(row)
    return rows


def _fmt(mean: float, ci: float, digits: int) -> str:
    if math.isnan(ci):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {ci:.{digits}f}"


def results_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows as a markdown table (mean ± 95% CI half-width over seeds)."""
    head = (
        "| env | scenario | agent | train steps | seeds | reward | reward / oracle | regret | spend / budget "
        "| queries served | invalid actions |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['env_id']} | {r['scenario']} | {r['agent']} | {r['train_steps'] or '-'} | {r['n']} "
            f"| {_fmt(r['reward_mean'], r['reward_ci'], 1)} | {_fmt(r['reward_fraction_mean'], r['reward_fraction_ci'], 3)} "
            f"| {_fmt(r['regret_mean'], r['regret_ci'], 1)} | {_fmt(r['spend_fraction_mean'], r['spend_fraction_ci'], 3)} "
            f"| {_fmt(r['queries_served_mean'], r['queries_served_ci'], 0)} "
            f"| {_fmt(r['invalid_actions_mean'], r['invalid_actions_ci'], 1)} |"
        )
    return "\n".join(lines)


def write_table(
    rows: Sequence[dict[str, Any]], directory: str | os.PathLike, stem: str = "results"
) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.csv`` (atomically) into ``directory``; returns the paths."""
    import csv
    import io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{stem}.md"
    csv_path = directory / f"{stem}.csv"
    atomic_write_text(md, results_table(rows) + "\n")
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(csv_path, buf.getvalue())
    return md, csv_path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
