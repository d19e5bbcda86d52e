"""The fixed policies of the single-level views by name, and the constructors the two view ids are
registered with: ``LLMRoute-Deploy-v0`` is :func:`make_deploy_level_env`, ``LLMRoute-Route-v0`` is
:func:`make_route_level_env` (gym_llmroute/__init__.py names them by a string entry point, so the
env package never imports this module). Each builds :class:`~gym_llmroute.env.LLMRouteEnv` from the
arguments of ``LLMRoute-v0`` and wraps it in the level (:mod:`gym_llmroute.views`) with the fixed
router or deployer the arguments name.

* Routers (``router=`` of ``LLMRoute-Deploy-v0``): ``"stageroute"``
  (:class:`~agents.policies.stageroute.views.StageRouteRouter`, the default) and ``"oracle"``
  (:class:`OracleRouter`).
* Deployers (``deployer=`` of ``LLMRoute-Route-v0``): ``"stageroute"``
  (:class:`~agents.policies.stageroute.views.StageRouteDeployer`, the default) and ``"oracle"``
  (:class:`OracleDeployer`).

The oracle router and deployer read the true means (the scenario's ``quality_matrix``,
``cost_matrix`` and stage oracle), like :class:`~agents.policies.baselines.OracleAgent`: privileged
policies, for ablations. The env computes the oracle (the benchmark of the regret); playing it is
an agent's business.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gym_llmroute.env import LLMRouteEnv
from gym_llmroute.scenario import Scenario
from gym_llmroute.solvers import solve_route_lp
from gym_llmroute.views import DeployLevelEnv, RouteLevelEnv

from .stageroute import DEFAULT_GAMMA, check_gamma
from .stageroute.views import StageRouteDeployer, StageRouteRouter

__all__ = ["OracleRouter", "OracleDeployer", "ROUTERS", "DEPLOYERS", "make_deploy_level_env", "make_route_level_env"]


class OracleRouter:
    """The optimal routing LP over the deployed set with the true means (per task type of the query),
    sampled among the models below their cap; the valid model of lowest true cost if the LP is
    infeasible for that set. Privileged: for ablations (how good is a deployment if routed well)."""

    name = "oracle"

    def __init__(self) -> None:
        self._cache: dict[tuple[bytes, int], np.ndarray | None] = {}

    def reset(self, scenario: Scenario, rng: np.random.Generator, n_slots: int | None = None) -> None:
        self.scenario = scenario
        self.rng = rng
        self.n_slots = scenario.n_models if n_slots is None else n_slots
        self._cache = {}

    def route(self, obs: dict[str, np.ndarray]) -> int:
        s = self.scenario
        deployed = obs["deployed"] > 0.5
        task = int(np.argmax(obs["task"])) if "task" in obs else 0
        key = (deployed.tobytes(), task)
        if key not in self._cache:
            idx = np.flatnonzero(deployed)
            sol = solve_route_lp(s.quality_matrix[task, idx], s.cost_matrix[task, idx], s.throughput[idx], s.budget)
            p = None
            if sol.feasible:
                p = np.zeros(self.n_slots)
                p[idx] = sol.p
            self._cache[key] = p
        p = self._cache[key]
        valid = deployed & (obs["capacity_left"] > 0)
        if p is not None:
            w = np.where(valid, np.clip(p, 0.0, None), 0.0)
            if w.sum() > 0:
                return int(self.rng.choice(self.n_slots, p=w / w.sum()))
        idx = np.flatnonzero(valid)
        return int(idx[np.argmin(s.cost_matrix[task, idx])])


class OracleDeployer:
    """The stage oracle's deployment (``scenario.oracle.deployed``): the best set knowing the true
    means. Privileged: isolates the routing problem."""

    name = "oracle"

    def reset(self, scenario: Scenario, rng: np.random.Generator, n_slots: int | None = None) -> None:
        self.scenario = scenario

    def deploy(self, obs: dict[str, np.ndarray]) -> Sequence[int]:
        s = self.scenario
        stage = min(int(round(float(obs["stage"][0]) * s.n_stages)), s.n_stages - 1)
        return np.flatnonzero(s.oracle.deployed[stage]).tolist()


ROUTERS: dict[str, type] = {"stageroute": StageRouteRouter, "oracle": OracleRouter}
DEPLOYERS: dict[str, type] = {"stageroute": StageRouteDeployer, "oracle": OracleDeployer}


def _resolve(kind: str, table: dict[str, type], value: Any, gamma: float, method: str):
    """A fixed policy by name (``gamma`` goes to StageRoute's), or the object given."""
    if isinstance(value, str):
        if value not in table:
            raise ValueError(
                f"{kind} must be one of {sorted(table)} or an object with reset() and {method}(), got {value!r}"
            )
        return table[value](gamma) if value == "stageroute" else table[value]()
    return value


def _level_env(level: type, kind: str, table: dict[str, type], value: Any, gamma: float, method: str, env_kwargs):
    """``level(LLMRouteEnv(**env_kwargs), the fixed policy)``: the env first (its arguments checked
    first), then ``gamma``, then the router or deployer."""
    env = LLMRouteEnv(**env_kwargs)
    return level(env, _resolve(kind, table, value, check_gamma(gamma), method))


def make_deploy_level_env(
    scenario: str | Scenario = "paper",
    *,
    router: str | Any = "stageroute",
    gamma: float = DEFAULT_GAMMA,
    **env_kwargs: Any,
) -> DeployLevelEnv:
    """``LLMRoute-Deploy-v0``: :class:`~gym_llmroute.views.DeployLevelEnv` around
    :class:`~gym_llmroute.env.LLMRouteEnv`, with its router by name (the id's entry point).

    Parameters
    ----------
    scenario, **env_kwargs
        The arguments of ``LLMRoute-v0`` (:class:`~gym_llmroute.env.LLMRouteEnv`: the scenario
        overrides, ``pad_to``, ``invalid_action_penalty``, ``render_mode``); the signature lists them.
    router : str or object
        ``"stageroute"`` (default, :class:`~agents.policies.stageroute.views.StageRouteRouter`),
        ``"oracle"`` (:class:`OracleRouter`) or an object with the router protocol of
        :mod:`gym_llmroute.views`.
    gamma : float
        Confidence parameter of the StageRoute router (checked whatever the router).

    Returns
    -------
    DeployLevelEnv
        The deployment level of the env.
    """
    return _level_env(DeployLevelEnv, "router", ROUTERS, router, gamma, "route", dict(scenario=scenario, **env_kwargs))


def make_route_level_env(
    scenario: str | Scenario = "paper",
    *,
    deployer: str | Any = "stageroute",
    gamma: float = DEFAULT_GAMMA,
    **env_kwargs: Any,
) -> RouteLevelEnv:
    """``LLMRoute-Route-v0``: :class:`~gym_llmroute.views.RouteLevelEnv` around
    :class:`~gym_llmroute.env.LLMRouteEnv`, with its deployer by name (the id's entry point).

    The arguments are those of :func:`make_deploy_level_env` with ``deployer`` for ``router``:
    ``"stageroute"`` (default, :class:`~agents.policies.stageroute.views.StageRouteDeployer`),
    ``"oracle"`` (:class:`OracleDeployer`) or an object with the deployer protocol of
    :mod:`gym_llmroute.views`; ``gamma`` is the StageRoute deployer's.

    Returns
    -------
    RouteLevelEnv
        The routing level of the env.
    """
    return _level_env(
        RouteLevelEnv, "deployer", DEPLOYERS, deployer, gamma, "deploy", dict(scenario=scenario, **env_kwargs)
    )


def _declare(factory: Callable[..., Any], kind: str) -> None:
    """Give an entry point what gym.make and ``inspect.signature`` read of an env class: the render
    modes and the world kind of the env it wraps (gym.make wraps "human" and "rgb_array_list" around
    "rgb_array"; gym_llmroute.env.world_kind) and the
    arguments of ``LLMRoute-v0`` declared once, by LLMRouteEnv's signature, with ``kind`` and
    ``gamma`` after them."""
    own = inspect.signature(factory).parameters
    params = list(inspect.signature(LLMRouteEnv).parameters.values())
    factory.__signature__ = inspect.signature(factory).replace(parameters=[*params, own[kind], own["gamma"]])  # type: ignore[attr-defined]
    factory.metadata = LLMRouteEnv.metadata  # type: ignore[attr-defined]
    factory.world_kind = LLMRouteEnv.world_kind  # type: ignore[attr-defined]


_declare(make_deploy_level_env, "router")
_declare(make_route_level_env, "deployer")
