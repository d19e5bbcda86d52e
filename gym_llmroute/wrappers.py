"""Gymnasium wrappers of the LLMRoute envs for learned agents.

* :class:`LagrangianReward`: ``reward - multiplier * cost``, with a fixed multiplier or one updated
  by dual ascent towards the budget, for RL algorithms that know nothing of constraints (also
  importable from :mod:`gym_llmroute.views`, its former home).
* :class:`ScaledObservation` (with :func:`scale_observation`): the raw counts and costs of the
  observation mapped to O(1) ranges, fixed and stateless, so that a saved model needs nothing beside
  it (:func:`scale_observation_rows`: a batch whose rows play different worlds).
  ``OBS_SCALING_VERSION`` names the scaling a model is trained with; a model trained with an earlier
  one (``SCALING_VERSIONS``) is still served its own.
* :class:`ActionMaskObservation`: the valid actions of the next step put in the observation, a
  ``Dict`` of the (flattened) observation and the mask, as TorchRL, Tianshou and RLlib read them
  (docs/other_libraries.md).
* :class:`LegacyInfoKeys`: adds the info keys ``phase`` and ``stage`` of release 0.1 back
  (deprecated; removed in release 0.3).

All forward ``action_masks()`` for MaskablePPO. They work on ``LLMRoute-v0``, its single-level
views and the other registered ids, wrapped or not.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .scenario import Scenario
from .sim import PHASES

__all__ = [
    "ActionMaskObservation",
    "LagrangianReward",
    "LegacyInfoKeys",
    "ScaledObservation",
    "scale_observation",
    "scale_observation_rows",
    "scaled_observation_space",
    "scaling_constants",
    "relative_cost",
    "OBS_SCALING_VERSION",
    "SCALING_VERSIONS",
    "check_scaling_version",
]

# The scaling new models are trained with, and every scaling a saved model may have been trained with
# (train.json records it; a model is served the observations it learned on).
OBS_SCALING_VERSION = 2
SCALING_VERSIONS = (1, 2)
# v2: costs and the budget pace relative to the world's budget b.
_COST_OCTAVES = 8.0  # log2(cost / b) / 8, clipped to [-1, 1]: b / 256 .. 256 b
_PACE_BOUND = 50.0  # asinh(budget_per_query / b) lies well within +-50 for any world


def _base(env: gym.Env) -> Any:
    """The innermost env (an LLMRoute env or view: its ``scenario`` and ``action_masks()``)."""
    return env.unwrapped


# ---------------------------------------------------------------------------------------- info
class LegacyInfoKeys(gym.Wrapper):
    """Deprecated, removed in release 0.3: adds the info keys of release 0.1, ``phase``
    (``"deploy"``, ``"route"`` or ``"reset"``) and ``stage`` (int), beside ``action_phase`` and
    ``action_stage``, their names since release 0.2. They have the names of observation keys, which
    libraries that merge infos into observations (TorchRL) cannot tell apart: move to the new keys."""

    def __init__(self, env: gym.Env):
        warnings.warn(
            "LegacyInfoKeys is deprecated and will be removed in gym_llmroute 0.3: read info['action_phase'] "
            "(0 deploy, 1 route, 2 reset) and info['action_stage'] instead of info['phase'] and info['stage']",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(env)

    @staticmethod
    def _add(info: dict[str, Any]) -> dict[str, Any]:
        info["phase"] = PHASES[info["action_phase"]]
        info["stage"] = info["action_stage"]
        return info

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, self._add(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._add(info)

    def action_masks(self) -> np.ndarray:
        return _base(self.env).action_masks()


# ---------------------------------------------------------------------------------------- cost
class LagrangianReward(gym.Wrapper):
    """Fold the cost into the reward: ``reward - multiplier * info["cost"]``, for unconstrained RL.

    With ``step_size = 0`` the multiplier is fixed. With ``step_size > 0`` it follows projected dual
    ascent towards the per-query budget b after every step that serves queries::

        multiplier <- clip(multiplier + step_size * (cost - b * served), 0, max_multiplier)

    where ``served`` is the number of queries the step served (1 on a route step of ``LLMRoute-v0``
    or ``LLMRoute-Route-v0``, the stage length on a committing step of ``LLMRoute-Deploy-v0``, 0 on
    deploy steps): it rises while the agent spends more than b per query and falls otherwise. The
    multiplier persists across episodes (it is what is being learned) and is not observed by the agent.

    ``info`` gains ``reward_unpenalised`` (the env's reward) and ``lagrange_multiplier`` (the value
    used for this step).

    With ``per_budget=True`` the cost enters in units of the budget, ``reward - multiplier * cost /
    b`` and ``multiplier <- clip(multiplier + step_size * (cost / b - served), ...)``: the same
    multiplier then means the same trade-off in worlds whose costs differ by orders of magnitude
    (``LLMRoute-Gen-v0``, where b changes at every reset). Without ``budget`` the wrapper reads b
    from the world in force at every step.

    Parameters
    ----------
    env : gymnasium.Env
        ``LLMRoute-v0`` or one of its views (wrapped or not).
    multiplier : float
        Initial (or fixed) multiplier, in reward per cost unit; >= 0.
    step_size : float
        Dual ascent step (0: fixed multiplier); >= 0.
    budget : float, optional
        Per-query target b; default the budget of the world in force.
    max_multiplier : float
        Upper clip of the multiplier.
    per_budget : bool
        Measure costs in units of b (see above).
    """

    def __init__(
        self,
        env: gym.Env,
        multiplier: float = 1.0,
        step_size: float = 0.0,
        budget: float | None = None,
        max_multiplier: float = 100.0,
        per_budget: bool = False,
    ):
        super().__init__(env)
        self.multiplier, self.step_size, self.fixed_budget, self.max_multiplier, self.per_budget = self.check_arguments(
            multiplier, step_size, budget, max_multiplier, per_budget
        )

    @staticmethod
    def check_arguments(
        multiplier: float, step_size: float, budget: float | None, max_multiplier: float, per_budget: bool
    ) -> tuple[float, float, float | None, float, bool]:
        """The constructor's arguments checked and converted (``ValueError`` names a wrong one); also
        what the vector version of this wrapper (``agents.rl.vec_wrappers``) checks."""
        for name, value in (("multiplier", multiplier), ("step_size", step_size), ("max_multiplier", max_multiplier)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < np.inf:
                raise ValueError(f"LagrangianReward {name} must be a finite number >= 0, got {value!r}")
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < np.inf
        ):
            raise ValueError(f"LagrangianReward budget must be a finite number > 0, got {budget!r}")
        return (
            float(multiplier),
            float(step_size),
            None if budget is None else float(budget),
            float(max_multiplier),
            bool(per_budget),
        )

    @property
    def budget(self) -> float:
        """The per-query target b: the one given, or the budget of the world in force."""
        return _base(self.env).scenario.budget if self.fixed_budget is None else self.fixed_budget

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        lam = self.multiplier
        cost = float(info["cost"])
        info["reward_unpenalised"] = reward
        info["lagrange_multiplier"] = lam
        b = self.budget
        if self.per_budget:
            cost, b = cost / b, 1.0
        if self.step_size > 0:
            served = int(info["routed"].sum()) if "routed" in info else int(info["model"] >= 0)
            if served:
                lam = lam + self.step_size * (cost - b * served)
                self.multiplier = min(max(lam, 0.0), self.max_multiplier)
        return obs, float(reward - info["lagrange_multiplier"] * cost), terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return _base(self.env).action_masks()


# ---------------------------------------------------------------------------------------- observations
def scale_observation(
    obs: dict[str, np.ndarray], scenario: Scenario, version: int = OBS_SCALING_VERSION
) -> dict[str, np.ndarray]:
    """The observation with raw quantities mapped to O(1) ranges (a new dict; works on one
    observation or a batch). Every other key is already in [0, 1] and is passed through.

    * ``pulls`` -> ``log1p(pulls) / log1p(T)`` in [0, 1]: a raw count up to T would dominate the
      network's input, and the log keeps the difference between 0, 1 and 10 pulls (what matters for
      exploration) visible.

    Version 2 (the default) measures costs against the world's budget b, so that one policy reads
    every world alike (generated worlds' budgets differ by orders of magnitude):

    * ``mean_cost`` and, in typed worlds, ``task_mean_cost`` -> ``clip(log2(cost / b) / 8, -1, 1)``:
      0 is a cost of exactly b in every world, +-1/8 twice or half of it, +-1 256 times (a model never
      routed, cost 0, reads -1; its ``pulls`` say it is untried).
    * ``budget_per_query`` -> ``asinh(value / b)``: 0.88 on pace, growing like ``log(2 value / b)``
      as unspent budget builds up, negative once overspent; never clipped.

    Version 1 (models trained before release 0.2): ``mean_cost`` -> ``log1p(cost / b) / log1p(c_2 /
    b)`` (so a cost of b read differently in worlds of different ``c_2``) and ``budget_per_query`` ->
    ``clip(value / b, -1, 4)``.

    A batch whose rows play different worlds: :func:`scale_observation_rows`.
    """
    return _scale(obs, scaling_constants(scenario, version), version)


def check_scaling_version(version: Any) -> int:
    """``version`` if it is one of :data:`SCALING_VERSIONS`, else ``ValueError`` naming them.

    Parameters
    ----------
    version : int
        An observation scaling version.

    Returns
    -------
    int
        The version.
    """
    if version not in SCALING_VERSIONS:
        raise ValueError(f"observation scaling version must be one of {SCALING_VERSIONS}, got {version!r}")
    return int(version)


def scaling_constants(scenario: Scenario, version: int = OBS_SCALING_VERSION) -> np.ndarray:
    """What :func:`scale_observation` reads of a world, as float32 ``[b, log1p(T), d]`` (``d`` =
    ``log1p(c_2 / b)``, version 1 only; 1 in version 2): the row of ``constants`` that
    :func:`scale_observation_rows` takes for an observation of this world."""
    check_scaling_version(version)
    den = 1.0
    if version == 1:
        den = math.log1p(max(scenario.cost_range[1], 1e-12) / scenario.budget)
    return np.array([scenario.budget, math.log1p(scenario.horizon), den], dtype=np.float32)


def scale_observation_rows(
    obs: dict[str, np.ndarray], constants: np.ndarray, version: int = OBS_SCALING_VERSION
) -> dict[str, np.ndarray]:
    """:func:`scale_observation` of a batch whose rows play different worlds (a vector env of
    ``LLMRoute-Gen-v0``): row i is scaled with ``constants[i]``, :func:`scaling_constants` of its
    world. Every operation is elementwise, so row i equals ``scale_observation(row i, world i)``
    exactly.

    Parameters
    ----------
    obs : dict of str to ndarray
        A batch of observations, each key of shape (n, ...).
    constants : ndarray
        float32, shape (n, 3).
    version : int
        The scaling version.

    Returns
    -------
    dict of str to ndarray
        The scaled batch (a new dict).
    """
    check_scaling_version(version)
    c = np.asarray(constants, dtype=np.float32)
    return _scale(obs, (c[:, 0:1], c[:, 1:2], c[:, 2:3]), version)


def _scale(obs: dict[str, np.ndarray], constants, version: int) -> dict[str, np.ndarray]:
    """The scaling with ``constants = (b, log1p(T), d)``: float32 scalars (one world) or (n, 1)
    arrays (a world per row); the same elementwise float32 operations either way."""
    b, log_t, den = constants[0], constants[1], constants[2]
    out = dict(obs)
    out["pulls"] = (np.log1p(np.asarray(obs["pulls"], dtype=np.float32)) / log_t).astype(np.float32)
    pace = np.asarray(obs["budget_per_query"], dtype=np.float32) / b
    if version == 1:
        cost = np.maximum(np.asarray(obs["mean_cost"], dtype=np.float32), 0.0)
        out["mean_cost"] = (np.log1p(cost / b) / den).astype(np.float32)
        out["budget_per_query"] = np.clip(pace, -1.0, 4.0)
        return out
    for key in ("mean_cost", "task_mean_cost"):
        if key in obs:
            out[key] = relative_cost(obs[key], b)
    out["budget_per_query"] = np.arcsinh(pace).astype(np.float32)
    return out


def relative_cost(cost: np.ndarray, budget) -> np.ndarray:
    """A cost as the scaling of version 2 reads it: ``clip(log2(cost / b) / 8, -1, 1)``, float32 (a
    cost of 0 reads -1).

    Parameters
    ----------
    cost : array_like
        Costs per query.
    budget : float or ndarray
        The per-query budget b (or one per row, broadcast).

    Returns
    -------
    ndarray
        float32, the shape of ``cost``.
    """
    with np.errstate(divide="ignore"):
        octaves = np.log2(np.asarray(cost, dtype=np.float32) / budget)
    return np.clip(octaves / np.float32(_COST_OCTAVES), -1.0, 1.0).astype(np.float32)


def scaled_observation_space(space: spaces.Dict, version: int = OBS_SCALING_VERSION) -> spaces.Dict:
    """The observation space after :func:`scale_observation` of a given version (the bounds of
    the scaled keys; the other keys unchanged)."""
    check_scaling_version(version)
    boxes = dict(space.spaces)

    def box(key: str, low: float, high: float) -> None:
        boxes[key] = spaces.Box(low, high, shape=boxes[key].shape, dtype=np.float32)

    box("pulls", 0.0, 1.0)
    if version == 1:
        box("mean_cost", 0.0, 1.0)
        box("budget_per_query", -1.0, 4.0)
    else:
        box("mean_cost", -1.0, 1.0)
        if "task_mean_cost" in boxes:
            box("task_mean_cost", -1.0, 1.0)
        box("budget_per_query", -_PACE_BOUND, _PACE_BOUND)
    return spaces.Dict(boxes)


class ScaledObservation(gym.ObservationWrapper):
    """Apply :func:`scale_observation` (fixed and stateless, so a saved model needs no statistics)
    of a given ``version`` (default :data:`OBS_SCALING_VERSION`). ``action_masks()`` is forwarded
    for MaskablePPO."""

    def __init__(self, env: gym.Env, version: int = OBS_SCALING_VERSION):
        super().__init__(env)
        check_scaling_version(version)
        self.version = version
        self.scenario = _base(env).scenario
        self._constants = scaling_constants(self.scenario, version)
        self.observation_space = scaled_observation_space(cast(spaces.Dict, env.observation_space), version)

    def observation(self, observation):
        # The scenario in force: it changes with reset options, and at every reset of LLMRoute-Gen-v0.
        scenario = _base(self.env).scenario
        if scenario is not self.scenario:
            self.scenario, self._constants = scenario, scaling_constants(scenario, self.version)
        return _scale(observation, self._constants, self.version)

    def action_masks(self) -> np.ndarray:
        return _base(self.env).action_masks()


# ---------------------------------------------------------------------------------------- action mask
class ActionMaskObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Put the valid actions of the next step in the observation, for libraries that read the mask
    there rather than from ``action_masks()`` (TorchRL, Tianshou, RLlib; docs/other_libraries.md).

    The observation becomes a ``Dict`` of two keys:

    * ``observation_key``: the env's observation, flattened into one ``float32`` ``Box`` (the keys
      in the order of the observation space, as ``gymnasium.spaces.flatten`` does), or with
      ``flatten=False`` the env's ``Dict`` unchanged;
    * ``mask_key``: ``env.unwrapped.action_masks()``, the valid actions of the next step (shape
      N + 1; with ``LLMRoute-Gen-v0`` the padded slots are never valid), as a ``bool`` ``Box``, or
      as an ``int8`` ``MultiBinary`` with ``mask_dtype=np.int8``.

    Settings per library (all with ``flatten=True``, the default, and the ``bool`` mask, which all
    three accept; TorchRL's ``MaskedCategorical`` and Tianshou's random policy refuse an ``int8`` one):

    * RLlib (the action-masking RLModule of its examples reads ``"observations"`` and
      ``"action_mask"``): the defaults.
    * TorchRL (``GymWrapper``, then the ``ActionMask`` transform and ``MaskedCategorical``, which
      read ``"action_mask"`` from the tensordict): the defaults.
    * Tianshou (its policies read ``obs.mask``, and give the network ``obs.obs``):
      ``observation_key="obs"``, ``mask_key="mask"``.

    ``action_masks()`` is forwarded for MaskablePPO. With ``flatten=True`` both Gymnasium's and
    SB3's ``check_env`` pass; with ``flatten=False`` the observation is a nested ``Dict``, which SB3
    does not support. The observation is raw (counts, costs): wrap :class:`ScaledObservation` inside
    this wrapper for O(1) inputs.

    Parameters
    ----------
    env : gymnasium.Env
        Any registered LLMRoute env (wrapped or not) with a ``Dict`` observation space.
    observation_key : str
        Key of the observation; default ``"observations"``.
    mask_key : str
        Key of the mask; default ``"action_mask"``.
    flatten : bool
        Flatten the observation into one ``float32`` vector; default True.
    mask_dtype : numpy dtype or its name
        ``bool`` (default: a ``Box`` of bools) or ``np.int8`` (a ``MultiBinary`` space).

    The wrapper is recorded in ``env.spec`` (``gymnasium.make(env.spec)`` rebuilds it).
    """

    def __init__(
        self,
        env: gym.Env,
        observation_key: str = "observations",
        mask_key: str = "action_mask",
        flatten: bool = True,
        mask_dtype: Any = bool,
    ):
        for name, key in (("observation_key", observation_key), ("mask_key", mask_key)):
            if not isinstance(key, str) or not key:
                raise ValueError(f"ActionMaskObservation {name} must be a non-empty string, got {key!r}")
        if observation_key == mask_key:
            raise ValueError(f"ActionMaskObservation keys must differ, got {observation_key!r} twice")
        try:
            dtype = np.dtype(mask_dtype)
        except TypeError:
            dtype = np.dtype(np.float64)  # refused below
        if dtype != np.dtype(bool) and dtype != np.dtype(np.int8):
            raise ValueError(f"ActionMaskObservation mask_dtype must be bool or np.int8, got {mask_dtype!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, observation_key=observation_key, mask_key=mask_key, flatten=bool(flatten), mask_dtype=dtype.name
        )
        gym.ObservationWrapper.__init__(self, env)
        obs_space = env.observation_space
        if not isinstance(obs_space, spaces.Dict):
            raise TypeError(f"ActionMaskObservation needs a Dict observation space, got {obs_space!r}")
        n_actions = int(cast(spaces.Discrete, env.action_space).n)
        self.observation_key = observation_key
        self.mask_key = mask_key
        self.flatten = bool(flatten)
        self.mask_dtype = dtype
        # The keys in the order gymnasium.spaces.flatten uses (the Dict space's), each a float32 Box.
        self._keys = tuple(obs_space.spaces)
        inner: spaces.Space = obs_space
        if self.flatten:
            flat = cast(spaces.Box, spaces.flatten_space(obs_space))
            inner = spaces.Box(flat.low.astype(np.float32), flat.high.astype(np.float32), dtype=np.float32)
        mask_space: spaces.Space = (
            spaces.MultiBinary(n_actions)
            if dtype == np.int8
            else spaces.Box(np.zeros(n_actions, dtype=bool), np.ones(n_actions, dtype=bool), dtype=bool)
        )
        self.observation_space = spaces.Dict({observation_key: inner, mask_key: mask_space})

    def observation(self, observation):
        mask = _base(self.env).action_masks().astype(self.mask_dtype)
        if self.flatten:
            observation = np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in self._keys])
        return {self.observation_key: observation, self.mask_key: mask}

    def action_masks(self) -> np.ndarray:
        return _base(self.env).action_masks()
