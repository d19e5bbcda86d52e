"""A trained SB3 model as an agent (:class:`SB3Agent`), loaded from a training run by
:func:`load_agent`, which the evaluation loop runs like any reference agent.

``SB3Agent.predict(obs, state, episode_start, deterministic)`` scales the raw observation exactly as
in training (:func:`~gym_llmroute.wrappers.scale_observation`) and, for MaskablePPO, passes the valid
actions computed from the observation by :func:`gym_llmroute.env.mask_from_obs` (SB3's ``predict``
gets no mask from the env).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gym_llmroute.env import mask_from_obs
from gym_llmroute.scenario import Scenario
from gym_llmroute.wrappers import (
    OBS_SCALING_VERSION,
    SCALING_VERSIONS,
    ScaledObservation,
    check_scaling_version,
    scale_observation,
)

from ..base import scenario_of
from ..policies.stageroute.shield import BudgetShield
from .privileged import PRIVILEGED_KEYS
from .training import algo_class

__all__ = ["SB3Agent", "load_agent"]


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
        policy-gradient methods with SB3's MLP sample their policy (a mixed routing is what meets
        the budget; the greedy action concentrates a stage's traffic on one model until its cap), the
        set policy (:mod:`agents.rl.set_policy`) takes its greedy action (chosen on validation worlds
        500,000-500,049 of ``LLMRoute-Gen-v0``, where greedy beat sampled for every set-policy model
        measured: PPO 0.82 against 0.56, StageRoute clones 0.885 against 0.82-0.87; docs/rl.md), and
        DQN takes its greedy action (its stochastic mode is epsilon-greedy exploration).
    name : str, optional
        Shown in result tables (default: the algorithm's name).
    scaling_version : int
        The observation scaling the model was trained with (:data:`~gym_llmroute.wrappers.SCALING_VERSIONS`;
        ``train.json`` records it).
    shield : bool
        Act under StageRoute's budget shield (MaskablePPO only;
        :class:`~agents.policies.stageroute.shield.BudgetShield`): the policy chooses among the
        actions budget-safe exploration allows, one observation at a time. Default False: the pure
        learned policy.
    """

    deployer = "learned policy (deploy phase)"
    router = "learned policy (route phase)"

    def __init__(
        self,
        model,
        scenario: Scenario,
        algo: str,
        deterministic: bool | None = None,
        name: str | None = None,
        scaling_version: int = OBS_SCALING_VERSION,
        shield: bool = False,
    ):
        self.scaling_version = check_scaling_version(scaling_version)
        self.model = model
        self.algo = algo.lower()
        self.masked = self.algo == "maskableppo"
        if shield and not self.masked:
            raise ValueError(f"shield=True needs a masked policy (maskableppo), not {self.algo}")
        self.shield = BudgetShield(scenario) if shield else None
        self.bind(scenario)
        greedy = self.algo == "dqn" or _is_set_policy(model.policy)
        self.deterministic = greedy if deterministic is None else bool(deterministic)
        self.name = name or self.algo
        self.seed: int | None = None

    def bind(self, scenario: Scenario, n_slots: int | None = None) -> None:
        """Act in ``scenario`` from now on (its budget and scale enter the observation scaling).

        The evaluation loop calls this when the env's world changed (every reset of
        ``LLMRoute-Gen-v0``).

        Parameters
        ----------
        scenario : Scenario
            The world.
        n_slots : int, optional
            The model slots of the env's spaces (the policy's own spaces decide; recorded only).
        """
        self.scenario = scenario
        self.scenario_id = id(scenario)
        self.n_models = scenario.n_models if n_slots is None else n_slots
        if self.shield is not None:
            self.shield.bind(scenario, n_slots)

    def reset(self, seed: int | None = None) -> None:
        """Reseed the policy's sampling.

        SB3 samples from the global generators of torch, numpy and ``random`` and from the action
        space (DQN's exploration), all seeded by ``model.set_random_seed``.

        Parameters
        ----------
        seed : int, optional
            The seed; None leaves the generators as they are.
        """
        self.seed = seed
        if seed is not None:
            self.model.set_random_seed(int(seed))
        if self.shield is not None:
            self.shield.reset(seed)

    def predict(
        self,
        observation,
        state=None,
        episode_start=None,
        deterministic: bool | None = None,
        action_masks: np.ndarray | None = None,
    ):
        """The action for a raw observation (or a batch), SB3's policy interface.

        Parameters
        ----------
        observation : dict of str to ndarray
            One raw observation of an LLMRoute env, or a batch; it is scaled as in training.
        state : object, optional
            Passed to the model (recurrent state).
        episode_start : ndarray of bool, optional
            Passed to the model.
        deterministic : bool, optional
            The greedy action if True; None takes the agent's default.
        action_masks : ndarray of bool, optional
            MaskablePPO only: allowed actions, shape (N + 1,) or (n_envs, N + 1), intersected with
            the valid ones computed from the observation (sb3-contrib's argument).

        Returns
        -------
        (int or ndarray, object)
            The action (an ``int``, or an int64 array for a batch) and the model's state.

        Raises
        ------
        ValueError
            ``action_masks`` for a policy without masks, or a batch under the budget shield (it
            follows one episode).
        """
        det = self.deterministic if deterministic is None else bool(deterministic)
        batched = np.asarray(observation["phase"]).ndim == 2
        if action_masks is not None and not self.masked:
            raise ValueError(f"action_masks needs a masked policy (maskableppo), not {self.algo}")
        if batched and self.shield is not None:
            raise ValueError("an SB3Agent under the budget shield acts on one observation at a time")
        scaled = scale_observation(observation, self.scenario, self.scaling_version)
        kwargs = {}
        if self.masked:
            m = self.scenario.max_deployed
            if batched:
                n = observation["phase"].shape[0]
                masks = np.stack([mask_from_obs({k: v[i] for k, v in observation.items()}, m) for i in range(n)])
            else:
                masks = mask_from_obs(observation, m)
            if action_masks is not None:
                masks = masks & np.asarray(action_masks, dtype=bool).reshape(masks.shape)
            if self.shield is not None:
                masks = self.shield.mask(observation, masks)
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
    torch_threads: int | None = 1,
    shield: bool = False,
) -> SB3Agent:
    """Load a model saved by :func:`~agents.rl.train` as an agent.

    Parameters
    ----------
    path : path
        The run directory or its ``model.zip``; ``train.json`` beside it gives the algorithm and the
        env it was trained on.
    env : gymnasium.Env or Scenario, optional
        The world the agent acts in; by default the training env's. For the MLP policy its spaces
        must match the model's; the set policy (``train(..., policy="set")``) runs on any number of
        model slots and any order of the models, as long as the env has the same observation keys
        and number of task types.
    algo : str, optional
        The algorithm, if no ``train.json`` says it.
    deterministic : bool, optional
        The agent's default for ``predict`` (see :class:`SB3Agent`).
    name : str, optional
        Shown in result tables (default: the algorithm's name).
    torch_threads : int or None
        ``torch.set_num_threads`` (process-wide): 1 by default, since these networks are small and
        act one step at a time (measured on 2 loaded cores: 1.6 ms a step with one thread, 37 ms
        with two); None leaves it as it is.
    shield : bool
        Act under StageRoute's budget shield (see :class:`SB3Agent`).

    Returns
    -------
    SB3Agent
        The agent.

    Raises
    ------
    FileNotFoundError
        No model at ``path``.
    ValueError
        Unknown algorithm, a model trained with another observation scaling, or spaces that do not
        match the env's (for the set policy: other observation keys or task types).
    """
    p = Path(path)
    run_dir = p if p.is_dir() else p.parent
    model_path = run_dir / "model.zip" if p.is_dir() else p
    if not model_path.exists():
        raise FileNotFoundError(f"no trained model at {model_path}")
    meta: dict[str, Any] = {}
    meta_path = run_dir / "train.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
    # Models saved before the version was recorded were trained with scaling 1.
    version = meta.get("obs_scaling_version", 1)
    if version not in SCALING_VERSIONS:
        raise ValueError(
            f"{model_path} was trained with observation scaling v{version}, this version of gym_llmroute knows "
            f"{list(SCALING_VERSIONS)}; upgrade gym_llmroute or retrain it"
        )
    algo = (algo or meta.get("algo") or "").lower()
    if not algo:
        raise ValueError(f"cannot tell the algorithm of {model_path}: no train.json beside it; pass algo=")
    if env is None:
        env = gym.make(meta.get("env_id", "LLMRoute-v0"), **meta.get("env_kwargs", {}))
    scenario = scenario_of(env)
    cls = algo_class(algo)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    model = cls.load(model_path, device="cpu")
    if _is_set_policy(model.policy):
        model = _load_set_policy(cls, model, model_path, env, scenario, meta, version)
    else:
        _check_spaces(model, env, scenario, model_path, meta)
    return SB3Agent(
        model, scenario, algo, deterministic=deterministic, name=name, scaling_version=version, shield=shield
    )


def _is_set_policy(policy: Any) -> bool:
    """Whether a policy is one of :mod:`agents.rl.set_policy`'s (without importing torch needlessly)."""
    return type(policy).__module__.endswith("rl.set_policy")


def _load_set_policy(
    cls, model, model_path: Path, env: Any, scenario: Scenario, meta: dict[str, Any], version: int = OBS_SCALING_VERSION
):
    """Load a set-policy model again with the env's (scaled) spaces in place of the saved ones: its
    weights do not depend on the number of model slots, only on the observation keys and task types."""
    if isinstance(env, gym.Env):
        obs_space = ScaledObservation(env, version).observation_space
    else:
        obs_space = ScaledObservation(gym.make("LLMRoute-v0", scenario=scenario), version).observation_space
    action_n = int(getattr(getattr(env, "action_space", None), "n", scenario.n_models + 1))
    trained_on = f"(trained on {meta.get('env_id', 'an unknown env')} with {meta.get('env_kwargs', {})})"
    # The privileged keys of an asymmetric critic are training-only: the actor never reads them.
    saved = {k: v for k, v in model.observation_space.spaces.items() if k not in PRIVILEGED_KEYS}
    ours = cast(spaces.Dict, obs_space).spaces
    saved_tasks = saved["task"].shape if "task" in saved else None
    our_tasks = ours["task"].shape if "task" in ours else None
    n_slots = int(np.prod(ours["available"].shape or (0,)))
    if sorted(saved) != sorted(ours) or saved_tasks != our_tasks:
        raise ValueError(
            f"{model_path} (set policy) does not fit the env: it runs on any number and order of models, but "
            f"needs the same observation keys and number of task types: model {sorted(saved)} with task "
            f"{saved_tasks}, env {sorted(ours)} with task {our_tasks} {trained_on}"
        )
    if action_n != n_slots + 1:
        raise ValueError(f"the env has {action_n} actions for {n_slots} model slots")
    custom = {"observation_space": obs_space, "action_space": spaces.Discrete(action_n)}
    return cls.load(model_path, device="cpu", custom_objects=custom)


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
