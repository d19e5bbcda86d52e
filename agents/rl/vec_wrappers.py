"""The training wrappers of :mod:`gym_llmroute.wrappers` for a whole SB3 ``VecEnv`` at once, so that
the native batched envs (:class:`gym_llmroute.vector.LLMRouteSB3VecEnv`,
:class:`~gym_llmroute.vector.LLMRouteGenSB3VecEnv`) train without a wrapper stack per sub-env.

* :class:`VecLagrangianReward`: :class:`~gym_llmroute.wrappers.LagrangianReward` on every sub-env, one
  multiplier per sub-env (as each single wrapper under ``DummyVecEnv`` keeps its own), updated by the
  same dual ascent, as array operations over the sub-envs.
* :class:`VecScaledObservation`: :class:`~gym_llmroute.wrappers.ScaledObservation` on every sub-env,
  each row scaled with its own world (:func:`~gym_llmroute.wrappers.scale_observation_rows`), the
  terminal observation of an ending sub-env with the world it ended in.
* :class:`VecPrivilegedObservation`: adds what only a training env may show, each sub-env's true
  mean rewards and costs (:func:`privileged_observation`), for an asymmetric critic
  (:class:`~agents.rl.set_policy.SetPolicy` with ``privileged_critic=True``).

All three read each sub-env's scenario with ``get_attr("scenario")`` at ``reset()`` and, after a step, only
for the sub-envs that ended (a scenario changes only when its sub-env resets: at every reset of
``LLMRoute-Gen-v0``). With SB3's ``VecMonitor`` innermost, ``VecMonitor`` -> ``VecLagrangianReward``
-> ``VecScaledObservation`` over the native env gives what ``DummyVecEnv`` of ``Monitor`` ->
``LagrangianReward`` -> ``ScaledObservation`` gives, step for step: the same observations, rewards,
infos and episode records (``tests/agents/test_rl.py`` runs them in lockstep). They work over any
``VecEnv`` whose sub-envs have a ``scenario`` attribute (``DummyVecEnv`` of LLMRoute envs too).

``env_method("action_masks")``, which MaskablePPO calls, passes through to the vector env.

This module imports stable-baselines3 at its top; :mod:`agents.rl.training` imports it on first use.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from gym_llmroute.wrappers import (
    OBS_SCALING_VERSION,
    LagrangianReward,
    check_scaling_version,
    scale_observation,
    scale_observation_rows,
    scaled_observation_space,
    scaling_constants,
)

from .privileged import PRIVILEGED_KEYS, privileged_observation, privileged_observation_space

__all__ = [
    "VecLagrangianReward",
    "VecScaledObservation",
    "VecPrivilegedObservation",
]


class _PerRowWorld(VecEnvWrapper):
    """A ``VecEnvWrapper`` that knows each sub-env's scenario (``self.scenarios``): all of them at
    ``reset()``, those of the sub-envs that ended after a step (:meth:`_refresh`)."""

    def __init__(self, venv: VecEnv, observation_space: spaces.Space | None = None):
        super().__init__(venv, observation_space=observation_space)
        self.scenarios: list[Any] = list(venv.get_attr("scenario"))
        self._refresh(np.arange(self.num_envs))

    def _refresh(self, rows: np.ndarray) -> None:
        """Read the scenario of the sub-envs ``rows`` again (after they reset) and call
        :meth:`_changed`."""
        idx = rows.tolist()
        for i, scenario in zip(idx, self.venv.get_attr("scenario", indices=idx), strict=True):
            self.scenarios[i] = scenario
        self._changed(rows)

    def _changed(self, rows: np.ndarray) -> None:
        """The scenarios of ``rows`` were read (derived per-row values go here)."""

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self._refresh(np.arange(self.num_envs))
        return self._observe(obs)

    def _observe(self, obs):
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        raise NotImplementedError


class VecLagrangianReward(_PerRowWorld):
    """:class:`~gym_llmroute.wrappers.LagrangianReward` on every sub-env of an SB3 ``VecEnv``.

    Sub-env i's reward becomes ``reward - multipliers[i] * cost`` (``cost / b`` with
    ``per_budget=True``, b the budget of the world sub-env i played that step), and after every step
    that serves queries ``multipliers[i] <- clip(multipliers[i] + step_size * (cost - b * served), 0,
    max_multiplier)``: exactly the single wrapper's rule, with one multiplier per sub-env as
    ``DummyVecEnv`` of single wrappers has (each sub-env's multiplier follows its own spending).
    Infos gain ``reward_unpenalised`` and ``lagrange_multiplier`` (the value used for the step).

    Parameters
    ----------
    venv : VecEnv
        The vector env (its infos have ``cost`` and ``model``, or ``routed`` on the deploy view).
    multiplier, step_size, budget, max_multiplier, per_budget
        As :class:`~gym_llmroute.wrappers.LagrangianReward`'s; ``multiplier`` starts every sub-env.
    """

    def __init__(
        self,
        venv: VecEnv,
        multiplier: float = 1.0,
        step_size: float = 0.0,
        budget: float | None = None,
        max_multiplier: float = 100.0,
        per_budget: bool = False,
    ):
        self.multiplier, self.step_size, self.fixed_budget, self.max_multiplier, self.per_budget = (
            LagrangianReward.check_arguments(multiplier, step_size, budget, max_multiplier, per_budget)
        )
        self.budgets = np.zeros(venv.num_envs)
        super().__init__(venv)
        self.multipliers = np.full(self.num_envs, self.multiplier)

    def _changed(self, rows: np.ndarray) -> None:
        if self.fixed_budget is not None:
            self.budgets[rows] = self.fixed_budget
        else:
            self.budgets[rows] = [self.scenarios[i].budget for i in rows.tolist()]

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        n = self.num_envs
        cost = np.fromiter((info["cost"] for info in infos), dtype=np.float64, count=n)
        lam = self.multipliers
        b: np.ndarray | float = self.budgets
        if self.per_budget:
            cost, b = cost / self.budgets, 1.0
        raw = np.asarray(rewards, dtype=np.float64)
        penalised = raw - lam * cost
        if self.step_size > 0:
            served = np.fromiter(
                (int(info["routed"].sum()) if "routed" in info else int(info["model"] >= 0) for info in infos),
                dtype=np.float64,
                count=n,
            )
            step = served != 0
            if step.any():
                moved = np.minimum(np.maximum(lam + self.step_size * (cost - b * served), 0.0), self.max_multiplier)
                self.multipliers = np.where(step, moved, lam)
        for i, info in enumerate(infos):
            info["reward_unpenalised"] = float(raw[i])
            info["lagrange_multiplier"] = float(lam[i])
        if dones.any():
            self._refresh(np.flatnonzero(dones))
        return obs, penalised.astype(np.float32), dones, infos


class _PerRowObservation(_PerRowWorld):
    """A :class:`_PerRowWorld` that maps observations: the batch with :meth:`_observe`, and the
    ``terminal_observation`` of a sub-env that ended with :meth:`_terminal`, in the world it ended in
    (its scenario before the reset)."""

    def _terminal(self, terminal: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        if dones.any():
            rows = np.flatnonzero(dones)
            for i in rows.tolist():
                terminal = infos[i].get("terminal_observation")
                if terminal is not None:
                    infos[i]["terminal_observation"] = self._terminal(terminal, i)
            self._refresh(rows)
        return self._observe(obs), rewards, dones, infos


class VecScaledObservation(_PerRowObservation):
    """:class:`~gym_llmroute.wrappers.ScaledObservation` on every sub-env of an SB3 ``VecEnv``: the
    batch is scaled row by row with each sub-env's world (one vectorised
    :func:`~gym_llmroute.wrappers.scale_observation_rows`), and the ``terminal_observation`` of a
    sub-env that ended with the world it ended in.

    Parameters
    ----------
    venv : VecEnv
        The vector env (raw LLMRoute observations).
    version : int
        The scaling version (default :data:`~gym_llmroute.wrappers.OBS_SCALING_VERSION`).
    """

    def __init__(self, venv: VecEnv, version: int = OBS_SCALING_VERSION):
        self.version = check_scaling_version(version)
        self.constants = np.zeros((venv.num_envs, 3), dtype=np.float32)
        super().__init__(venv, scaled_observation_space(cast(spaces.Dict, venv.observation_space), version))

    def _changed(self, rows: np.ndarray) -> None:
        for i in rows.tolist():
            self.constants[i] = scaling_constants(self.scenarios[i], self.version)

    def _observe(self, obs):
        return scale_observation_rows(obs, self.constants, self.version)

    def _terminal(self, terminal: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        return scale_observation(terminal, self.scenarios[i], self.version)


class VecPrivilegedObservation(_PerRowObservation):
    """Adds :func:`privileged_observation` of each sub-env's world to its observation (and to the
    ``terminal_observation`` of a sub-env that ended, with the world it ended in): the training
    input of an asymmetric critic. Evaluation envs never have these keys.

    Parameters
    ----------
    venv : VecEnv
        The vector env (LLMRoute observations, scaled or not).
    """

    def __init__(self, venv: VecEnv):
        self.n_slots = int(np.prod(cast(spaces.Dict, venv.observation_space)["available"].shape or (0,)))
        self.rows = {key: np.zeros((venv.num_envs, self.n_slots), dtype=np.float32) for key in PRIVILEGED_KEYS}
        super().__init__(venv, privileged_observation_space(cast(spaces.Dict, venv.observation_space)))

    def _changed(self, rows: np.ndarray) -> None:
        for i in rows.tolist():
            for key, value in privileged_observation(self.scenarios[i], self.n_slots).items():
                self.rows[key][i] = value

    def _observe(self, obs):
        out = dict(obs)
        out.update((key, value.copy()) for key, value in self.rows.items())
        return out

    def _terminal(self, terminal: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        return {**terminal, **privileged_observation(self.scenarios[i], self.n_slots)}
