"""StageRoute (Li & Li, ICLR 2026) in one folder: its bounds, its deployer, its router and its agent
(docs/stageroute.md).

Modules, each importing only those listed after it (checked by ``lint-imports``):

* :mod:`.shield`: :class:`BudgetShield`, StageRoute's budget-safe exploration as an action mask over
  another policy (a learned one); :mod:`.views`, the single-level views' StageRoute halves;
* :mod:`.agent`: :class:`StageRouteAgent` (``stageroute``), :class:`StageRouteLiteralAgent`
  (``stageroute_literal``) and :class:`RouterContext`, the per-env state of the agents built on the
  router (the baselines, the bandits-with-knapsacks agents and contextual StageRoute reuse it);
* :mod:`.router`: RouteOPT, :class:`OptimisticRouter` (bounds, the warm-started exact routing LP,
  the draw under the mask), :func:`paced_budget` and :func:`stageroute_router` (the router of
  StageRoute's defaults);
* :mod:`.deploy`: DeployOPT, :func:`deploy_opt` and :class:`DeployPlan`;
* :mod:`.bounds`: the confidence bounds, the price prior, the worst-case costs of budget-safe
  exploration, their checks and StageRoute's defaults.

The pure LP and MILP solvers they call are the env's (:mod:`gym_llmroute.solvers`, which the
env's stage oracle uses too); nothing of StageRoute lives in the env package.
"""

from .agent import RouterContext, StageRouteAgent, StageRouteLiteralAgent
from .bounds import (
    DEFAULT_COST_GAMMA,
    DEFAULT_GAMMA,
    DEFAULT_MARGIN,
    DEFAULT_PRIOR,
    check_gamma,
    check_margin,
    check_prior,
    confidence_bounds,
    confidence_radius,
    cost_floor,
    cost_upper_scalar,
)
from .deploy import DeployPlan, deploy_opt
from .router import ROUTE_SOLVERS, OptimisticRouter, check_safe, paced_budget, sample_under_mask, stageroute_router
from .shield import DEFAULT_PACE, BudgetShield

__all__ = [
    "StageRouteAgent",
    "StageRouteLiteralAgent",
    "RouterContext",
    "DEFAULT_GAMMA",
    "DEFAULT_COST_GAMMA",
    "DEFAULT_PRIOR",
    "DEFAULT_MARGIN",
    "check_gamma",
    "check_prior",
    "check_margin",
    "confidence_radius",
    "confidence_bounds",
    "cost_floor",
    "cost_upper_scalar",
    "DeployPlan",
    "deploy_opt",
    "OptimisticRouter",
    "stageroute_router",
    "paced_budget",
    "check_safe",
    "sample_under_mask",
    "ROUTE_SOLVERS",
    "BudgetShield",
    "DEFAULT_PACE",
]
