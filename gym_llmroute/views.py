"""Single-level views of ``LLMRoute-v0`` and a Lagrangian cost wrapper, for RL agents that learn one
level of the problem while a fixed policy plays the other.

* :class:`DeployLevelEnv` (``LLMRoute-Deploy-v0``): the agent deploys, a router routes every query
  of the stage; one step per pick, and the commit step returns the stage's total reward.
* :class:`RouteLevelEnv` (``LLMRoute-Route-v0``): a deployer deploys at every stage boundary, the
  agent routes every query.
* :class:`LagrangianReward` (defined in :mod:`gym_llmroute.wrappers`, re-exported here):
  ``reward - multiplier * cost``, for RL algorithms that know nothing of constraints.

Both views keep the observation ``Dict`` and the ``Discrete(N + 1)`` action space of
:class:`~gym_llmroute.env.LLMRouteEnv` unchanged, so every SB3 algorithm, MaskablePPO (through
``action_masks()``), :func:`~gym_llmroute.env.mask_from_obs` and every reference agent work on them
as they are. They are seeded like the base env: ``reset(seed=s)`` plays the same world (the same
query stream and potential outcomes) as ``LLMRoute-v0`` with seed s, so results pair across views.

The fixed policy is an object with one of the small protocols below; the env package ships none.
The registered ids also take them by name (``router="stageroute"``, ``deployer="oracle"``, which
keeps the env spec JSON-serialisable): their entry points are the agents' (:mod:`agents.policies.views`,
a string that ``gym.make`` imports when it makes the env, so the env package never imports the agents).

Router protocol: ``reset(scenario, rng)`` at every episode start, then ``route(obs) -> int`` for
every query, given a route-phase observation; the model returned must be valid
(``mask_from_obs(obs, M_max)[m]``).

Deployer protocol: ``reset(scenario, rng)``, then ``deploy(obs) -> sequence of model indices`` at
every deploy phase (a deploy-phase observation); the view adds them in order while the mask allows,
then commits, completing the set by the env's fallback if the caps do not yet sum to one.

With ``pad_to`` (as for ``LLMRoute-v0``) the view's spaces have ``pad_to`` model slots, and both
protocols' ``reset`` is called with a third keyword argument, ``n_slots``, the size of the per-model
observation arrays.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .env import DEPLOY, RESET, LLMRouteEnv, mask_from_obs
from .scenario import Scenario
from .wrappers import LagrangianReward

__all__ = ["DeployLevelEnv", "RouteLevelEnv", "LagrangianReward"]


def _check_protocol(kind: str, value: Any, method: str) -> Any:
    """``value`` if it has the protocol's methods; names are resolved by the agents that register the ids."""
    if isinstance(value, str):
        raise ValueError(
            f"{kind} must be an object with reset(scenario, rng) and {method}(obs), got the name {value!r}: "
            f"names are resolved by gym.make('{'LLMRoute-Deploy-v0' if kind == 'router' else 'LLMRoute-Route-v0'}', "
            f"{kind}=...) (agents.policies.views)"
        )
    if not (callable(getattr(value, "reset", None)) and callable(getattr(value, method, None))):
        raise TypeError(
            f"{kind} must be a name or an object with reset(scenario, rng) and {method}(obs), got {value!r}"
        )
    return value


# ---------------------------------------------------------------------------------------- views
class _View(gym.Env):
    """Shared plumbing: an inner :class:`LLMRouteEnv` (``base_env``) with the same spaces."""

    metadata = LLMRouteEnv.metadata  # the render modes of the inner env, whose render() a view returns

    def __init__(self, scenario, render_mode, **env_kwargs):
        # env_kwargs: the scenario overrides, pad_to and invalid_action_penalty, checked by LLMRouteEnv.
        self.base_env = LLMRouteEnv(scenario, render_mode=render_mode, **env_kwargs)
        self.render_mode = render_mode
        self.observation_space = self.base_env.observation_space
        self.action_space = self.base_env.action_space

    @property
    def scenario(self) -> Scenario:
        """The validated scenario of the inner env."""
        return self.base_env.scenario

    def action_masks(self) -> np.ndarray:
        """Valid actions of the next step, bool array of shape (N + 1,) (sb3-contrib convention)."""
        return self.base_env.action_masks()

    def render(self):
        return self.base_env.render()

    @property
    def n_slots(self) -> int:
        """The model slots of the spaces (``pad_to``, or the catalog's size)."""
        return self.base_env.n_models

    def _reset_fixed(self, policy: Any) -> None:
        """Reset the fixed router or deployer for the episode; a padded env also tells it the slots
        (``reset(scenario, rng, n_slots=...)``)."""
        if self.base_env.pad_to is None:
            policy.reset(self.scenario, self._policy_rng)
        else:
            policy.reset(self.scenario, self._policy_rng, n_slots=self.n_slots)

    def _reset_base(self, seed, options):
        super().reset(seed=seed)
        # The base env gets the same seed, so that a view plays the world of LLMRoute-v0 with that seed.
        obs, info = self.base_env.reset(seed=seed, options=options)
        # The fixed policy draws from the view's own generator.
        self._policy_rng = np.random.default_rng(int(self.np_random.integers(2**63 - 1)))
        return obs, info


class DeployLevelEnv(_View):
    """``LLMRoute-Deploy-v0``: the agent chooses the deployment of every stage; a fixed router routes
    each of the stage's queries.

    ## Description

    The world of :class:`~gym_llmroute.env.LLMRouteEnv`, seen from the deployment level only. Every
    step is a deploy-phase step; once the set is committed, the router (StageRoute's RouteOPT by
    default) routes every query of the stage inside that same step.

    ## Action Space

    ``Discrete(N + 1)``, as in the deploy phase of ``LLMRoute-v0``: action ``i < N`` adds model i to
    the stage's set, action ``N`` commits (the set commits by itself once M_max are picked). Invalid
    actions map to the base env's fallback (never raise). An episode is at most ``K * (M_max + 1)``
    steps.

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

    The keys of ``LLMRoute-v0`` (``action_phase`` is ``DEPLOY``, ``model`` is -1); ``cost`` is the stage's
    total cost on a committing step. Also ``routed``: int64 array (N,) of the queries each model
    served in the step (all zero on an adding step).

    ## Arguments

    ``scenario``, ``horizon``, ``n_stages``, ``max_deployed``, ``budget``, ``budget_mode``,
    ``feedback_delay``, ``pad_to``, ``invalid_action_penalty``, ``render_mode``: as in ``LLMRoute-v0``.
    ``router``: an object with the router protocol (module docstring). ``gym.make("LLMRoute-Deploy-v0",
    router=..., gamma=...)`` also takes the names ``"stageroute"`` (default) and ``"oracle"``
    (:mod:`agents.policies.views`).

    ## Version History

    * v0: initial version.
    """

    def __init__(
        self,
        scenario: str | Scenario = "paper",
        *,
        horizon: int | None = None,
        n_stages: int | None = None,
        max_deployed: int | None = None,
        budget: float | None = None,
        budget_mode: str | None = None,
        feedback_delay: int | None = None,
        router: Any,
        pad_to: int | None = None,
        invalid_action_penalty: float = 0.0,
        render_mode: str | None = None,
    ):
        super().__init__(
            scenario,
            render_mode,
            horizon=horizon,
            n_stages=n_stages,
            max_deployed=max_deployed,
            budget=budget,
            budget_mode=budget_mode,
            feedback_delay=feedback_delay,
            pad_to=pad_to,
            invalid_action_penalty=invalid_action_penalty,
        )
        self.router = _check_protocol("router", router, "route")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self._reset_base(seed, options)
        self._reset_fixed(self.router)
        info["routed"] = np.zeros(self.n_slots, dtype=np.int64)
        return obs, info

    def step(self, action):
        base = self.base_env
        obs, reward, terminated, truncated, info = base.step(action)
        routed = np.zeros(self.n_slots, dtype=np.int64)
        invalid = info["invalid_action"]
        cost = info["cost"]
        stage = info["action_stage"]
        if obs["phase"][0] >= 0.5:  # committed: route the whole stage
            while not terminated and obs["phase"][0] >= 0.5:
                m = self.router.route(obs)
                obs, r, terminated, truncated, info = base.step(m)
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


class RouteLevelEnv(_View):
    """``LLMRoute-Route-v0``: a fixed deployer chooses the deployment of every stage; the agent routes
    every query.

    ## Description

    The world of :class:`~gym_llmroute.env.LLMRouteEnv`, seen from the routing level only. At every
    stage boundary (and at reset) the deployer (StageRoute's DeployOPT by default) plays the deploy
    phase inside the env, so every observation the agent sees is a route phase.

    ## Action Space

    ``Discrete(N + 1)``: action ``i < N`` routes the current query to model i, valid if deployed and
    below its throughput cap; action N is never valid. Invalid actions go to the base env's fallback
    (the valid model with the lowest list price). An episode is T steps (fewer if the hard budget ends it).

    ## Observation Space

    The ``Dict`` of ``LLMRoute-v0`` (see its docstring), always at a route phase (``phase == 1``).

    ## Rewards

    The routed query's realised quality, minus ``invalid_action_penalty`` on invalid actions.

    ## Episode End

    As in ``LLMRoute-v0``.

    ## Info

    The keys of ``LLMRoute-v0`` for the routed query (``action_phase`` is ``ROUTE``).

    ## Arguments

    As :class:`DeployLevelEnv`, with ``deployer`` instead of ``router``: an object with the deployer
    protocol (module docstring); ``gym.make("LLMRoute-Route-v0", deployer=..., gamma=...)`` also takes
    the names ``"stageroute"`` (default) and ``"oracle"`` (:mod:`agents.policies.views`).

    ## Version History

    * v0: initial version.
    """

    def __init__(
        self,
        scenario: str | Scenario = "paper",
        *,
        horizon: int | None = None,
        n_stages: int | None = None,
        max_deployed: int | None = None,
        budget: float | None = None,
        budget_mode: str | None = None,
        feedback_delay: int | None = None,
        deployer: Any,
        pad_to: int | None = None,
        invalid_action_penalty: float = 0.0,
        render_mode: str | None = None,
    ):
        super().__init__(
            scenario,
            render_mode,
            horizon=horizon,
            n_stages=n_stages,
            max_deployed=max_deployed,
            budget=budget,
            budget_mode=budget_mode,
            feedback_delay=feedback_delay,
            pad_to=pad_to,
            invalid_action_penalty=invalid_action_penalty,
        )
        self.deployer = _check_protocol("deployer", deployer, "deploy")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self._reset_base(seed, options)
        self._reset_fixed(self.deployer)
        obs, info = self._deploy(obs, info)
        info.update(action_phase=RESET, invalid_action=False, cost=0.0)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.base_env.step(action)
        if not terminated and obs["phase"][0] < 0.5:
            routed_info = info
            obs, info = self._deploy(obs, info)
            # Report the routed query; only the mask is that of the next (route) step.
            routed_info["action_mask"] = info["action_mask"]
            info = routed_info
        return obs, float(reward), terminated, truncated, info

    def _deploy(self, obs, info):
        """Play a deploy phase with the deployer's set; returns the first route-phase obs and info."""
        base = self.base_env
        n = self.n_slots  # the commit action
        plan = [int(m) for m in self.deployer.deploy(obs)]
        for m in plan:
            if obs["phase"][0] != DEPLOY:
                break
            if mask_from_obs(obs, self.scenario.max_deployed)[m]:
                obs, _, _, _, info = base.step(m)
        # Commit, or let the env's fallback complete a set whose caps do not reach one (<= M_max steps).
        while obs["phase"][0] == DEPLOY:
            obs, _, _, _, info = base.step(n)
        return obs, info
