"""The units of work of a benchmark, each finished when its file exists:

* :class:`TrainJob`, one per (RL algorithm, env, scenario, seed): :func:`agents.rl.train` into
  ``<out>/models/<env>__<scenario>__<algo>__<steps>__s<seed>/``, finished when its ``train.json``
  exists. The training envs are seeded away from the evaluation seeds (``10_000 + 97 * seed``), so
  the learned agent is evaluated on worlds it never trained on (it does train on the scenario's
  catalog and true means, which no reference agent sees beforehand: an advantage to keep in mind);
* :class:`EvalRun`, one per (agent, env, scenario, seed): one episode played by
  :func:`agents.run_episode` (``record=True``) into
  ``<out>/runs/<env>__<scenario>__<agent>__s<seed>.json``, written atomically. An RL agent's run
  with seed s evaluates the model trained with seed s, so its confidence intervals include the
  variance of training. The agent is a reference agent's name, an RL algorithm, or the import path
  of an agent class (``my_pkg.my_module:MyAgent``).

:func:`execute` runs one job; it is what a worker process (local or Ray) calls.

Every episode is seeded: the env with ``reset(seed=s)`` and the agent with ``reset(seed=s)`` (its
routing draws), so a run file can be reproduced exactly.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

import gym_llmroute  # noqa: F401  (registers the ids in worker processes)

from ..evaluation import run_episode
from ..files import atomic_write_json
from ..registry import make
from ..rl import load_agent, train

__all__ = ["TrainJob", "EvalRun", "Job", "execute", "default_scenario", "slug", "TRAIN_SEED_OFFSET"]

TRAIN_SEED_OFFSET = 10_000


def slug(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``_``, ``.`` and ``-``
    replaced by ``-`` (file names of jobs and plots)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def _kwargs_tag(env_kwargs: dict[str, Any]) -> str:
    """A short, stable tag of non-default env kwargs for file names ('' if none)."""
    if not env_kwargs:
        return ""
    return "__" + "_".join(f"{k}={env_kwargs[k]}" for k in sorted(env_kwargs))


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
        return slug(
            f"{self.env_id}__{self.scenario}__{self.algo}__{self.steps}__s{self.seed}{_kwargs_tag(self.env_kwargs)}"
        )

    def directory(self, out: Path) -> Path:
        return out / "models" / self.name

    def done(self, out: Path) -> bool:
        return (self.directory(out) / "train.json").exists()

    def run(self, out: Path) -> dict[str, Any]:
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
        return slug(f"{self.env_id}__{self.scenario}__{self.agent}__s{self.seed}{_kwargs_tag(self.env_kwargs)}")

    def path(self, out: Path) -> Path:
        return out / "runs" / f"{self.name}.json"

    def done(self, out: Path) -> bool:
        return self.path(out).exists()

    def run(self, out: Path) -> dict[str, Any]:
        env = gym.make(self.env_id, scenario=self.scenario, **self.env_kwargs)
        agent: Any
        if self.train is not None:
            agent = load_agent(self.train.directory(out), env, deterministic=self.deterministic, name=self.agent)
        else:
            agent = make(self.agent, env, seed=self.seed)
        record = run_episode(agent, env, self.seed, record=True, deterministic=None)
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


Job = TrainJob | EvalRun


def execute(job: Job, out: str) -> tuple[str, float]:
    """Worker entry point: run one job; returns its name and wall time."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    job.run(Path(out))
    return job.name, time.perf_counter() - start
