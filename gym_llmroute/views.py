"""Single-level views of ``LLMRoute-v0`` as Gymnasium wrappers, and a Lagrangian cost wrapper, for RL
agents that learn one level of the problem while a fixed router or deployer plays the other.

* :class:`DeployLevelEnv` (``LLMRoute-Deploy-v0``): the agent deploys, the router routes every
  query of the stage; one step per pick, and the commit step returns the stage's total reward.
* :class:`RouteLevelEnv` (``LLMRoute-Route-v0``): the deployer deploys at every stage boundary, the
  agent routes every query.
* :class:`LagrangianReward` (defined in :mod:`gym_llmroute.wrappers`, re-exported here):
  ``reward - multiplier * cost``, for RL algorithms that know nothing of constraints.

Both wrap an LLMRoute env (``LLMRoute-v0``, a world id, ``LLMRoute-Gen-v0``; wrapped or not) and
keep its observation ``Dict``, its ``Discrete(N + 1)`` action space, its masks
(``env.unwrapped.action_masks()``, ``info["action_mask"]``), its render modes and its scenario
(``env.unwrapped.scenario``) as they are: every SB3 algorithm, MaskablePPO,
:func:`~gym_llmroute.env.mask_from_obs` and every reference agent work on them unchanged. A level
steps the env it wraps, so ``reset(seed=s)`` plays the same world (the same query stream and
potential outcomes) as the wrapped env with seed s, and results pair across views.

The env package ships no router or deployer: a level takes any object with the protocol below.
The registered ids take them by name too (``gym.make("LLMRoute-Deploy-v0", router="stageroute")``,
the default, or ``"oracle"``; names keep the env spec JSON-serialisable): their entry points are
the agents' (:mod:`agents.policies.views`), strings that ``gym.make`` imports when it makes one of
these envs, so the env package never imports the agents.

Router protocol: ``reset(scenario, rng)`` at every episode start, then ``route(obs) -> int`` for
every query, given a route-phase observation; the model returned must be valid
(``mask_from_obs(obs, M_max)[m]``).

Deployer protocol: ``reset(scenario, rng)``, then ``deploy(obs) -> sequence of model indices`` at
every deploy phase (a deploy-phase observation); the level adds them in order while the mask allows,
then commits, completing the set by the env's fallback if the caps do not yet sum to one.

``rng`` is the level's own generator, seeded by ``reset(seed=...)`` (the wrapped env's generator is
left alone). On a padded env (``pad_to``, ``LLMRoute-Gen-v0``) both protocols' ``reset`` is called
with a third keyword argument, ``n_slots``, the size of the per-model observation arrays.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from .env import DEPLOY, RESET, mask_from_obs
from .scenario import Scenario
from .wrappers import LagrangianReward

__all__ = ["DeployLevelEnv", "RouteLevelEnv", "LagrangianReward"]


def _check_protocol(kind: str, value: Any, method: str) -> Any:
    """``value`` if it has the protocol's methods; names are resolved by the agents that register the ids."""
    if isinstance(value, str):
        env_id = "LLMRoute-Deploy-v0" if kind == "router" else "LLMRoute-Route-v0"
        raise ValueError(
            f"{kind} must be an object with reset(scenario, rng) and {method}(obs), got the name {value!r}: "
            f"names are resolved by gym.make({env_id!r}, {kind}=...) (agents.policies.views)"
        )
    if not (callable(getattr(value, "reset", None)) and callable(getattr(value, method, None))):
        raise TypeError(
            f"{kind} must be a name or an object with reset(scenario, rng) and {method}(obs), got {value!r}"
        )
    return value


class _Level(gym.Wrapper):
    """What both levels share: the fixed router or deployer that plays the other level (``other``,
    also the level's ``router`` or ``deployer`` attribute), reset with the level's own generator at
    every episode start."""

    def __init__(self, env: gym.Env, other: Any):
        super().__init__(env)
        self._other = other
        self._seeder: np.random.Generator | None = None

    @property
    def scenario(self) -> Scenario:
        """The world in force: the wrapped env's scenario (a generated env's changes at every reset)."""
        return self.env.unwrapped.scenario  # type: ignore[attr-defined]

    @property
    def n_slots(self) -> int:
        """The model slots of the spaces (``pad_to``, or the catalog's size): N of ``Discrete(N + 1)``."""
        return int(self.action_space.n) - 1  # type: ignore[attr-defined]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        # The wrapped env gets the same seed, so that a level plays the world of LLMRoute-v0 with that
        # seed; the router or deployer draws from the level's own generator, seeded alike (a seeded
        # reset starts it afresh, an unseeded one continues it, as Env.reset does with np_random).
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None or self._seeder is None:
            self._seeder, _ = seeding.np_random(seed)
        rng = np.random.default_rng(int(self._seeder.integers(2**63 - 1)))
        scenario = self.scenario
        if self.n_slots == scenario.n_models and getattr(self.env.unwrapped, "pad_to", None) is None:
            self._other.reset(scenario, rng)
        else:  # padded: the per-model arrays are longer than the catalog
            self._other.reset(scenario, rng, n_slots=self.n_slots)
        return obs, info


class DeployLevelEnv(_Level):
    """The deployment level of an LLMRoute env (``LLMRoute-Deploy-v0``): the agent chooses the
    deployment of every stage; a fixed router routes each of the stage's queries.

    ## Description

    The world of the wrapped env, seen from the deployment level only. Every step is a deploy-phase
    step; once the set is committed, the router routes every query of the stage inside that same
    step.

    ## Action Space

    ``Discrete(N + 1)``, as in the deploy phase of ``LLMRoute-v0``: action ``i < N`` adds model i to
    the stage's set, action ``N`` commits (the set commits by itself once M_max are picked). Invalid
    actions map to the wrapped env's fallback (never raise). An episode is at most
    ``K * (M_max + 1)`` steps.

    ## Observation Space

    The ``Dict`` of ``LLMRoute-v0`` (see its docstring), at a deploy phase (``phase == 0``) except
    the last observation of an episode that the hard budget ended mid-stage; ``deployed`` is the set
    that served the previous stage, and ``pulls``, ``mean_reward`` and ``mean_cost`` include the
    queries the router served.

    ## Rewards

    0 on a step that only adds a model; on the step that commits, the stage's total realised reward
    (the sum over its queries, up to the stage length). ``invalid_action_penalty`` is subtracted on
    invalid actions.

    ## Episode End

    As in ``LLMRoute-v0``: all T queries served or, with the hard budget, the budget exhausted.

    ## Info

    The keys of ``LLMRoute-v0`` (``action_phase`` is ``DEPLOY``, ``model`` is -1); ``cost`` is the
    stage's total cost on a committing step. Also ``routed``: int64 array (N,) of the queries each
    model served in the step (all zero on an adding step).

    ## Arguments

    ``env``: the LLMRoute env to wrap. ``router``: an object with the router protocol (module
    docstring). ``gym.make("LLMRoute-Deploy-v0", ...)`` builds both from the arguments of
    ``LLMRoute-v0`` and a router by name (:func:`agents.policies.views.make_deploy_level_env`).

    ## Version History

    * v0: initial version. A ``gym.Wrapper`` of the env it plays since after release 0.2.0 (it was a
      ``gym.Env`` holding one); the id, its arguments and its episodes are unchanged.
    """

    def __init__(self, env: gym.Env, router: Any):
        super().__init__(env, _check_protocol("router", router, "route"))
        self.router = router

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        info["routed"] = np.zeros(self.n_slots, dtype=np.int64)
        return obs, info

    def step(self, action):
        env = self.env
        obs, reward, terminated, truncated, info = env.step(action)
        routed = np.zeros(self.n_slots, dtype=np.int64)
        invalid = info["invalid_action"]
        cost = info["cost"]
        stage = info["action_stage"]
        if obs["phase"][0] >= 0.5:  # committed: route the whole stage
            router = self._other
            while not terminated and obs["phase"][0] >= 0.5:
                m = router.route(obs)
                obs, r, terminated, truncated, info = env.step(m)
                reward += r
                cost += info["cost"]
                routed[info["model"]] += 1
            info["action_phase"] = DEPLOY
            info["model"] = -1
            info["action_stage"] = stage
            info["invalid_action"] = invalid
            info["cost"] = cost
        info["routed"] = routed
        return obs, float(reward), terminated, truncated, info


class RouteLevelEnv(_Level):
    """The routing level of an LLMRoute env (``LLMRoute-Route-v0``): a fixed deployer chooses the
    deployment of every stage; the agent routes every query.

    ## Description

    The world of the wrapped env, seen from the routing level only. At every stage boundary (and at
    reset) the deployer plays the deploy phase inside the env, so every observation the agent sees is
    a route phase.

    ## Action Space

    ``Discrete(N + 1)``: action ``i < N`` routes the current query to model i, valid if deployed and
    below its throughput cap; action N is never valid. Invalid actions go to the wrapped env's
    fallback (the valid model with the lowest list price). An episode is T steps (fewer if the hard
    budget ends it).

    ## Observation Space

    The ``Dict`` of ``LLMRoute-v0`` (see its docstring), always at a route phase (``phase == 1``).

    ## Rewards

    The routed query's realised quality, minus ``invalid_action_penalty`` on invalid actions.

    ## Episode End

    As in ``LLMRoute-v0``.

    ## Info

    The keys of ``LLMRoute-v0`` for the routed query (``action_phase`` is ``ROUTE``).

    ## Arguments

    As :class:`DeployLevelEnv`, with ``deployer`` (an object with the deployer protocol) for
    ``router``; ``gym.make("LLMRoute-Route-v0", ...)`` takes a deployer by name
    (:func:`agents.policies.views.make_route_level_env`).

    ## Version History

    As :class:`DeployLevelEnv`.
    """

    def __init__(self, env: gym.Env, deployer: Any):
        super().__init__(env, _check_protocol("deployer", deployer, "deploy"))
        self.deployer = deployer

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        obs, info = self._deploy(obs, info)
        info.update(action_phase=RESET, invalid_action=False, cost=0.0)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not terminated and obs["phase"][0] < 0.5:
            routed_info = info
            obs, info = self._deploy(obs, info)
            # Report the routed query; only the mask is that of the next (route) step.
            routed_info["action_mask"] = info["action_mask"]
            info = routed_info
        return obs, float(reward), terminated, truncated, info

    def _deploy(self, obs, info):
        """Play a deploy phase with the deployer's set; returns the first route-phase obs and info."""
        env = self.env
        n = self.n_slots  # the commit action
        max_deployed = self.scenario.max_deployed
        plan = [int(m) for m in self._other.deploy(obs)]
        for m in plan:
            if obs["phase"][0] != DEPLOY:
                break
            if mask_from_obs(obs, max_deployed)[m]:
                obs, _, _, _, info = env.step(m)
        # Commit, or let the env's fallback complete a set whose caps do not reach one (<= M_max steps).
        while obs["phase"][0] == DEPLOY:
            obs, _, _, _, info = env.step(n)
        return obs, info
