"""StageRoute's fixed router and deployer for the single-level views (``LLMRoute-Deploy-v0`` plays
:class:`StageRouteRouter`, ``LLMRoute-Route-v0`` plays :class:`StageRouteDeployer`, by default).

Both follow the protocols of :mod:`gym_llmroute.views` (``reset(scenario, rng[, n_slots])``, then
``route(obs)`` or ``deploy(obs)``) and are :class:`~.router.OptimisticRouter` with StageRoute's
defaults (:func:`~.router.stageroute_router`): the same bounds, pacing and price prior as
:class:`~.agent.StageRouteAgent`. They learn within the episode only, like StageRoute.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gym_llmroute.scenario import Scenario

from .bounds import DEFAULT_GAMMA
from .router import OptimisticRouter, stageroute_router

__all__ = ["StageRouteRouter", "StageRouteDeployer"]


class _StageRouteLevel:
    """An :class:`~.router.OptimisticRouter` of StageRoute's defaults, new at every episode."""

    name = "stageroute"

    def __init__(self, gamma: float = DEFAULT_GAMMA):
        self.gamma = float(gamma)
        self._router: OptimisticRouter | None = None

    def reset(self, scenario: Scenario, rng: np.random.Generator, n_slots: int | None = None) -> None:
        self.scenario = scenario
        self._router = stageroute_router(scenario, self.gamma, rng, n_slots)

    @property
    def optimistic_router(self) -> OptimisticRouter:
        assert self._router is not None, "reset() first"
        return self._router


class StageRouteRouter(_StageRouteLevel):
    """StageRoute's RouteOPT (:class:`~.router.OptimisticRouter`): the optimistic routing LP over the
    deployed set with UCB rewards and LCB costs from the observed statistics, the paced budget and
    the price prior of StageRoute's defaults, sampled among the models below their cap.

    Parameters
    ----------
    gamma : float
        Confidence parameter of the reward bounds.
    """

    def route(self, obs: dict[str, np.ndarray]) -> int:
        return self.optimistic_router.route_obs(obs)


class StageRouteDeployer(_StageRouteLevel):
    """StageRoute's DeployOPT (:func:`~.deploy.deploy_opt`): the deployment MILP with UCB rewards and
    LCB costs from the observed statistics (price prior included), the paced budget, leftover slots
    by highest UCB.

    Parameters
    ----------
    gamma : float
        Confidence parameter of the reward bounds.
    """

    def deploy(self, obs: dict[str, np.ndarray]) -> Sequence[int]:
        return self.optimistic_router.plan(obs, self.scenario.max_deployed).models
