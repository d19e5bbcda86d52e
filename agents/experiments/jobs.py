"""The units of work of a benchmark, each finished when its file exists:

* :class:`TrainJob`, one per (RL algorithm, env, scenario, seed): :func:`agents.rl.train` into
  ``<out>/models/<env>__<scenario>__<algo>__<steps>__s<seed>[__policy=set][__<env kwargs>]/``,
  finished when its ``train.json`` exists. The training envs are seeded away from the evaluation seeds (``10_000 + 97 * seed``), so
  the learned agent is evaluated on worlds it never trained on (it does train on the scenario's
  catalog and true means, which no reference agent sees beforehand: an advantage to keep in mind);
* :class:`EvalRun`, one per (agent, env, scenario, seed): one episode played by
  :func:`agents.run_episode` (``record=True``) into
  ``<out>/runs/<env>__<scenario>__<agent>__s<seed>.json``, written atomically. An RL agent's run
  with seed s evaluates the model trained with seed s, so its confidence intervals include the
  variance of training. The agent is a reference agent's name, an RL algorithm, or the import path
  of an agent class (``my_pkg.my_module:MyAgent``). An RL run's name also carries what its model
  was trained with when the run does not imply it (the set policy, other training worlds).

An env whose world kind takes no ``scenario`` (``LLMRoute-Gen-v0``, :func:`is_generated`; the kind
is declared by the env class, :func:`gym_llmroute.env.world_kind`) draws its own world at every
reset: its jobs carry a label of their worlds instead (:func:`worlds_label`, e.g. ``"worlds
1000000-1000099"``), the worlds themselves are the ``num_worlds`` and ``start_world`` of the env
kwargs, and a train job may have other worlds (other env kwargs) than the runs that evaluate it.

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
from gym_llmroute.env import world_kind

from ..evaluation import run_episode
from ..files import atomic_write_json
from ..registry import make
from ..rl import load_agent, train

__all__ = [
    "TrainJob",
    "EvalRun",
    "Job",
    "execute",
    "default_scenario",
    "is_generated",
    "worlds_label",
    "make_kwargs",
    "slug",
    "TRAIN_SEED_OFFSET",
]

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


def is_generated(env_id: str) -> bool:
    """Whether the registered id ``env_id`` draws its own worlds (``LLMRoute-Gen-v0``): its world kind
    (:func:`gym_llmroute.env.world_kind`) takes no ``scenario``."""
    kind = world_kind(env_id)
    return kind is not None and not kind.takes_scenario


def worlds_label(env_kwargs: dict[str, Any]) -> str:
    """The scenario label of a generated-worlds env: the worlds its kwargs play.

    Parameters
    ----------
    env_kwargs : dict
        ``gym.make`` kwargs of ``LLMRoute-Gen-v0`` (``num_worlds``, ``start_world``; defaults 0).

    Returns
    -------
    str
        ``"worlds A-B"`` (``num_worlds`` worlds from A), or ``"fresh worlds from A"`` (``num_worlds=0``).
    """
    start = int(env_kwargs.get("start_world", 0))
    count = int(env_kwargs.get("num_worlds", 0))
    return f"fresh worlds from {start}" if count == 0 else f"worlds {start}-{start + count - 1}"


def make_kwargs(env_id: str, scenario: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The ``gym.make`` kwargs of a job: ``scenario`` and ``env_kwargs``, without ``scenario`` for a
    generated-worlds env (where it is only a label, :func:`worlds_label`).

    Parameters
    ----------
    env_id : str
        A registered env id.
    scenario : str
        A scenario preset, or the label of the worlds of a generated-worlds env.
    env_kwargs : dict
        The other kwargs.

    Returns
    -------
    dict
        What to pass to ``gym.make(env_id, **...)``.
    """
    return dict(env_kwargs) if is_generated(env_id) else {"scenario": scenario, **env_kwargs}


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
    policy: str = "mlp"

    @property
    def name(self) -> str:
        policy = "" if self.policy == "mlp" else f"__policy={self.policy}"
        return slug(
            f"{self.env_id}__{self.scenario}__{self.algo}__{self.steps}__s{self.seed}{policy}"
            f"{_kwargs_tag(self.env_kwargs)}"
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
            env_kwargs=make_kwargs(self.env_id, self.scenario, self.env_kwargs),
            hyperparams=overrides,
            policy=self.policy,
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
        return slug(
            f"{self.env_id}__{self.scenario}__{self.agent}__s{self.seed}{_kwargs_tag(self.env_kwargs)}{self._train_tag()}"
        )

    def _train_tag(self) -> str:
        """What the model was trained with that the run does not say: the set policy, and env kwargs
        of its own (other worlds); '' for reference agents and for models trained on the run's env."""
        if self.train is None:
            return ""
        parts = [] if self.train.policy == "mlp" else [f"policy={self.train.policy}"]
        theirs, ours = self.train.env_kwargs, self.env_kwargs
        for key in sorted(set(theirs) | set(ours)):
            if theirs.get(key) != ours.get(key):
                parts.append(f"train_{key}={theirs.get(key)}")
        return "__" + "_".join(parts) if parts else ""

    def path(self, out: Path) -> Path:
        return out / "runs" / f"{self.name}.json"

    def done(self, out: Path) -> bool:
        return self.path(out).exists()

    def run(self, out: Path) -> dict[str, Any]:
        env = gym.make(self.env_id, **make_kwargs(self.env_id, self.scenario, self.env_kwargs))
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
        if self.train is not None:
            record.update(policy=self.train.policy, train_env_kwargs=self.train.env_kwargs)
        atomic_write_json(self.path(out), record)
        return record


def default_scenario(env_id: str, env_kwargs: dict[str, Any] | None = None) -> str:
    """The scenario preset an env id is registered with (``"paper"`` unless the id names a world,
    e.g. ``LLMRoute-Market-v0`` -> ``"market"``); for a generated-worlds env, the label of the worlds
    that ``env_kwargs`` play (:func:`worlds_label`).

    Parameters
    ----------
    env_id : str
        A registered env id.
    env_kwargs : dict, optional
        The ``gym.make`` kwargs (read for a generated-worlds env only).

    Returns
    -------
    str
        A preset name, or a label of generated worlds.
    """
    if is_generated(env_id):
        return worlds_label(env_kwargs or {})
    return gym.spec(env_id).kwargs.get("scenario", "paper")


Job = TrainJob | EvalRun


def execute(job: Job, out: str) -> tuple[str, float]:
    """Worker entry point: run one job; returns its name and wall time."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    job.run(Path(out))
    return job.name, time.perf_counter() - start
