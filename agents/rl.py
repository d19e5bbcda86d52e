"""Learned agents: train SB3's PPO, A2C, DQN and sb3-contrib's MaskablePPO on ``LLMRoute-v0`` or a
single-level view, save them, and load them as agents the harness runs like any other.

>>> from agents.rl import train, load_agent
>>> result = train("maskableppo", "LLMRoute-v0", total_timesteps=50_000, out_dir="runs/mppo")
>>> agent = load_agent(result.model_path)          # predict / reset, like StageRouteAgent

Training (:func:`train`):

* the hyperparameters of :mod:`agents.hyperparams` (RL Zoo style table, overridable);
* a vector env of ``n_envs`` copies made from the ``"gym_llmroute:<id>"`` form (so
  ``SubprocVecEnv`` workers import the package themselves), each wrapped in ``Monitor`` (episode
  reward, length, final regret and spend, written to ``monitor/*.monitor.csv``: the learning
  curves), then optionally :class:`~gym_llmroute.wrappers.LagrangianReward`, then
  :class:`~gym_llmroute.wrappers.ScaledObservation`;
* ``VecNormalize`` of the reward only where the table says so (the deploy view);
* TensorBoard logs in ``<out_dir>/tb``; the model in ``<out_dir>/model.zip`` and what it was trained
  on in ``<out_dir>/train.json`` (both written atomically, ``train.json`` last: its presence marks a
  finished run).

Evaluation (:class:`SB3Agent`): ``predict(obs, state, episode_start, deterministic)`` scales the raw
observation exactly as in training and, for MaskablePPO, passes the valid actions computed from the
observation by :func:`gym_llmroute.env.mask_from_obs` (SB3's ``predict`` gets no mask from the env).

Everything here imports torch and stable-baselines3 lazily (on the first call), so ``import
agents.rl`` stays cheap.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gym_llmroute.env import mask_from_obs
from gym_llmroute.scenario import Scenario
from gym_llmroute.wrappers import OBS_SCALING_VERSION, LagrangianReward, ScaledObservation, scale_observation

from .hyperparams import ALGOS, hyperparams_for
from .sweep import atomic_write_text

__all__ = [
    "ALGOS",
    "TrainResult",
    "train",
    "make_train_env",
    "load_agent",
    "SB3Agent",
    "read_monitor",
]

# Keys of the final info that Monitor writes to its CSV (the learning curves).
_MONITOR_KEYS = ("regret", "total_cost", "budget", "oracle_value", "queries_served")


# ---------------------------------------------------------------------------------------- training
def _algo_class(algo: str):
    algo = algo.lower()
    if algo == "maskableppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    classes = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}
    if algo not in classes:
        raise ValueError(f"unknown RL algorithm {algo!r}; choose from {list(ALGOS)}")
    return classes[algo]


def _env_id(env_id: str) -> str:
    """The module-prefixed id, so that subprocess workers import gym_llmroute themselves."""
    return env_id if ":" in env_id else f"gym_llmroute:{env_id}"


class _EnvFactory:
    """A picklable factory of one training env (SubprocVecEnv sends it to its worker)."""

    def __init__(
        self, env_id: str, env_kwargs: dict[str, Any], rank: int, seed: int, monitor_dir: str | None, lagrangian
    ):
        self.env_id, self.env_kwargs, self.rank, self.seed = env_id, env_kwargs, rank, seed
        self.monitor_dir, self.lagrangian = monitor_dir, lagrangian

    def __call__(self) -> gym.Env:
        from stable_baselines3.common.monitor import Monitor

        env = gym.make(_env_id(self.env_id), **self.env_kwargs)
        path = None if self.monitor_dir is None else os.path.join(self.monitor_dir, str(self.rank))
        env = Monitor(env, filename=path, info_keywords=_MONITOR_KEYS)
        if self.lagrangian is not None:
            env = LagrangianReward(env, **self.lagrangian)
        env = ScaledObservation(env)
        env.reset(seed=self.seed + self.rank)
        env.action_space.seed(self.seed + self.rank)
        return env


def make_train_env(
    env_id: str = "LLMRoute-v0",
    n_envs: int = 1,
    seed: int = 0,
    *,
    env_kwargs: dict[str, Any] | None = None,
    vec_env: str = "dummy",
    monitor_dir: str | os.PathLike | None = None,
    lagrangian: dict[str, float] | None = None,
):
    """The SB3 vector env used for training: ``n_envs`` copies of ``gym_llmroute:<env_id>``, each
    ``Monitor`` -> (``LagrangianReward``) -> ``ScaledObservation``, in a ``DummyVecEnv`` or a
    ``SubprocVecEnv`` (``vec_env="subproc"``). Env i is seeded ``seed + i``."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if vec_env not in ("dummy", "subproc"):
        raise ValueError(f"vec_env must be 'dummy' or 'subproc', got {vec_env!r}")
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)
    fns = [
        _EnvFactory(
            env_id, dict(env_kwargs or {}), i, seed, None if monitor_dir is None else str(monitor_dir), lagrangian
        )
        for i in range(n_envs)
    ]
    if vec_env == "subproc" and n_envs > 1:
        return SubprocVecEnv(fns, start_method="forkserver")
    return DummyVecEnv(fns)


@dataclass
class TrainResult:
    """What :func:`train` produced: paths and the configuration (also in ``train.json``)."""

    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    total_timesteps: int
    seed: int
    env_seed: int
    hyperparams: dict[str, Any]
    lagrangian: dict[str, float] | None
    out_dir: str
    model_path: str
    monitor_dir: str
    tensorboard_dir: str
    wall_time_s: float
    obs_scaling_version: int = OBS_SCALING_VERSION


def train(
    algo: str,
    env_id: str = "LLMRoute-v0",
    *,
    total_timesteps: int = 100_000,
    seed: int = 0,
    env_seed: int | None = None,
    out_dir: str | os.PathLike = "runs/train",
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: dict[str, Any] | None = None,
    lagrangian: dict[str, float] | bool | None = None,
    tensorboard: bool = True,
    progress_bar: bool = False,
    verbose: int = 0,
    torch_threads: int = 1,
) -> TrainResult:
    """Train an SB3 algorithm and save it.

    Parameters
    ----------
    algo : {"maskableppo", "ppo", "a2c", "dqn"}
    env_id : str
        ``"LLMRoute-v0"``, ``"LLMRoute-Deploy-v0"`` or ``"LLMRoute-Route-v0"`` (the
        ``"gym_llmroute:"`` prefix is added).
    total_timesteps : int
        Training env steps (summed over the vector env).
    seed : int
        Seed of the algorithm.
    env_seed : int, optional
        Seed of the training envs (env i gets ``env_seed + i``); default ``seed``. The benchmark
        keeps it away from its evaluation seeds.
    out_dir : path
        Where ``model.zip``, ``train.json``, ``monitor/`` and ``tb/`` go.
    env_kwargs : dict, optional
        ``gym.make`` keyword arguments (``scenario``, ``horizon``, ...).
    hyperparams : dict, optional
        Overrides of :func:`agents.hyperparams.hyperparams_for`.
    lagrangian : dict or False, optional
        Keyword arguments of :class:`~gym_llmroute.wrappers.LagrangianReward` (``multiplier``,
        ``step_size``, ...) to train on ``reward - multiplier * cost``; None takes the table's
        (dual ascent from 0), False trains on the raw reward.
    tensorboard : bool
        Write TensorBoard logs to ``out_dir/tb``.
    progress_bar : bool
        Show SB3's progress bar (tqdm + rich).
    torch_threads : int
        ``torch.set_num_threads``: 1 by default, since the networks are small and the machine is
        shared with the env workers.
    """
    import torch

    algo = algo.lower()
    cls = _algo_class(algo)
    if not isinstance(total_timesteps, int) or total_timesteps < 1:
        raise ValueError(f"total_timesteps must be an integer >= 1, got {total_timesteps!r}")
    params = hyperparams_for(algo, env_id)
    params.update(hyperparams or {})
    config = dict(params)
    n_envs = int(params.pop("n_envs"))
    vec_env = params.pop("vec_env")
    normalize_reward = bool(params.pop("normalize_reward"))
    table_lagrangian = params.pop("lagrangian", None)
    if lagrangian is None:
        lagrangian = table_lagrangian
    elif lagrangian is False:
        lagrangian = None
    config["lagrangian"] = lagrangian
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    monitor_dir = out / "monitor"
    # A rerun of an unfinished training starts the curves afresh.
    if monitor_dir.exists():
        for f in monitor_dir.glob("*.monitor.csv"):
            f.unlink()
    torch.set_num_threads(torch_threads)
    env_kwargs = dict(env_kwargs or {})
    start = time.perf_counter()
    venv = make_train_env(
        env_id,
        n_envs,
        seed if env_seed is None else env_seed,
        env_kwargs=env_kwargs,
        vec_env=vec_env,
        monitor_dir=monitor_dir,
        lagrangian=lagrangian,
    )
    try:
        if normalize_reward:
            from stable_baselines3.common.vec_env import VecNormalize

            venv = VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=params.get("gamma", 0.99))
        model = cls(
            "MultiInputPolicy",
            venv,
            seed=seed,
            verbose=verbose,
            tensorboard_log=str(out / "tb") if tensorboard else None,
            **params,
        )
        model.learn(total_timesteps=total_timesteps, progress_bar=progress_bar, tb_log_name=algo)
        model_path = out / "model.zip"
        tmp = out / ".model.tmp.zip"
        model.save(tmp)
        os.replace(tmp, model_path)
    finally:
        venv.close()
    result = TrainResult(
        algo=algo,
        env_id=env_id.split(":")[-1],
        env_kwargs={k: v for k, v in env_kwargs.items() if not isinstance(v, Scenario)},
        total_timesteps=total_timesteps,
        seed=seed,
        env_seed=seed if env_seed is None else env_seed,
        hyperparams=config,
        lagrangian=lagrangian,
        out_dir=str(out),
        model_path=str(model_path),
        monitor_dir=str(monitor_dir),
        tensorboard_dir=str(out / "tb"),
        wall_time_s=time.perf_counter() - start,
    )
    atomic_write_text(out / "train.json", json.dumps(asdict(result), indent=2, default=str))
    return result


# ---------------------------------------------------------------------------------------- evaluation
class SB3Agent:
    """A trained SB3 model as an agent: SB3's ``predict`` on raw observations, plus ``reset``.

    Parameters
    ----------
    model : stable_baselines3 BaseAlgorithm
        The trained model (its policy expects :func:`scale_observation`'s observations).
    scenario : Scenario
        The world it acts in (for the scaling and M_max of the masks).
    algo : str
        Name of the algorithm (MaskablePPO gets masks).
    deterministic : bool, optional
        Default of ``predict``'s ``deterministic`` when the caller passes None. By default the
        policy-gradient methods sample their policy (a mixed routing is what meets the budget; the
        greedy action concentrates a stage's traffic on one model until its cap) and DQN takes its
        greedy action (its stochastic mode is epsilon-greedy exploration).
    name : str, optional
        Shown in result tables (default: the algorithm's name).
    """

    deployer = "learned policy (deploy phase)"
    router = "learned policy (route phase)"

    def __init__(
        self, model, scenario: Scenario, algo: str, deterministic: bool | None = None, name: str | None = None
    ):
        self.model = model
        self.scenario = scenario
        self.algo = algo.lower()
        self.masked = self.algo == "maskableppo"
        self.deterministic = (self.algo == "dqn") if deterministic is None else bool(deterministic)
        self.name = name or self.algo
        self.seed: int | None = None

    def reset(self, seed: int | None = None) -> None:
        """Reseed the policy's sampling: SB3 samples from the global generators of torch, numpy and
        ``random`` and from the action space (DQN's exploration), all seeded by
        ``model.set_random_seed``."""
        self.seed = seed
        if seed is not None:
            self.model.set_random_seed(int(seed))

    def predict(self, observation, state=None, episode_start=None, deterministic: bool | None = None):
        det = self.deterministic if deterministic is None else bool(deterministic)
        batched = np.asarray(observation["phase"]).ndim == 2
        scaled = scale_observation(observation, self.scenario)
        kwargs = {}
        if self.masked:
            m = self.scenario.max_deployed
            if batched:
                n = observation["phase"].shape[0]
                masks = np.stack([mask_from_obs({k: v[i] for k, v in observation.items()}, m) for i in range(n)])
            else:
                masks = mask_from_obs(observation, m)
            kwargs["action_masks"] = masks
        action, state = self.model.predict(
            scaled, state=state, episode_start=episode_start, deterministic=det, **kwargs
        )
        if batched:
            return np.asarray(action, dtype=np.int64).reshape(-1), state
        return int(np.asarray(action).reshape(-1)[0]), state

    def __repr__(self) -> str:
        return f"SB3Agent({self.name})"


def load_agent(
    path: str | os.PathLike,
    env: Any = None,
    *,
    algo: str | None = None,
    deterministic: bool | None = None,
    name: str | None = None,
) -> SB3Agent:
    """Load a model saved by :func:`train` as an agent.

    ``path`` is the run directory or its ``model.zip``; ``train.json`` beside it gives the algorithm
    and the env it was trained on. ``env`` (an env or a Scenario) sets the world the agent acts in;
    by default the training env's scenario. The agent's spaces must match the model's.
    """
    from agents.base import scenario_of

    p = Path(path)
    run_dir = p if p.is_dir() else p.parent
    model_path = run_dir / "model.zip" if p.is_dir() else p
    if not model_path.exists():
        raise FileNotFoundError(f"no trained model at {model_path}")
    meta: dict[str, Any] = {}
    meta_path = run_dir / "train.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("obs_scaling_version", OBS_SCALING_VERSION) != OBS_SCALING_VERSION:
            raise ValueError(
                f"{model_path} was trained with observation scaling v{meta['obs_scaling_version']}, "
                f"this version applies v{OBS_SCALING_VERSION}; retrain it"
            )
    algo = (algo or meta.get("algo") or "").lower()
    if not algo:
        raise ValueError(f"cannot tell the algorithm of {model_path}: no train.json beside it; pass algo=")
    if env is None:
        env = gym.make(meta.get("env_id", "LLMRoute-v0"), **meta.get("env_kwargs", {}))
    scenario = scenario_of(env)
    model = _algo_class(algo).load(model_path, device="cpu")
    _check_spaces(model, env, scenario, model_path, meta)
    return SB3Agent(model, scenario, algo, deterministic=deterministic, name=name)


def _check_spaces(model, env: Any, scenario: Scenario, model_path: Path, meta: dict[str, Any]) -> None:
    """Refuse a model whose action or observation space does not fit the env it is asked to act in."""
    trained_on = f"(trained on {meta.get('env_id', 'an unknown env')} with {meta.get('env_kwargs', {})})"
    if isinstance(env, Scenario):
        expected_n, obs_space = scenario.n_models + 1, None
    else:
        expected_n = getattr(getattr(env, "action_space", None), "n", scenario.n_models + 1)
        obs_space = getattr(env, "observation_space", None)
    if getattr(model.action_space, "n", None) != expected_n:
        raise ValueError(
            f"{model_path} does not match the env: its action space is {model.action_space}, the env's has "
            f"{expected_n} actions (n_models + 1 = {scenario.n_models + 1}) {trained_on}"
        )
    if isinstance(obs_space, spaces.Dict):
        ours = {k: v.shape for k, v in obs_space.spaces.items()}
        theirs = {k: v.shape for k, v in model.observation_space.spaces.items()}
        if ours != theirs:
            raise ValueError(
                f"{model_path} does not match the env's observation spaces: model {theirs}, env {ours} {trained_on}"
            )


def read_monitor(monitor_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The episodes of a training run from its ``Monitor`` CSVs, merged in order of wall time:
    ``timesteps`` (cumulative env steps at each episode's end), ``reward``, ``length`` and the
    final-info keys (``regret``, ``total_cost``, ...). Empty arrays if there are none."""
    rows = []
    for f in sorted(Path(monitor_dir).glob("*.monitor.csv")):
        lines = f.read_text().splitlines()
        if len(lines) < 2:
            continue
        header = lines[1].split(",")
        for line in lines[2:]:
            values = line.split(",")
            if len(values) == len(header):
                rows.append(dict(zip(header, values, strict=True)))
    rows.sort(key=lambda r: float(r["t"]))
    out: dict[str, np.ndarray] = {}
    length = np.array([float(r["l"]) for r in rows])
    out["timesteps"] = np.cumsum(length)
    out["reward"] = np.array([float(r["r"]) for r in rows])
    out["length"] = length
    for key in _MONITOR_KEYS:
        out[key] = np.array([float(r[key]) if r.get(key, "") not in ("", None) else math.nan for r in rows])
    return out
