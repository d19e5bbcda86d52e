"""The reference policies: StageRoute, the paper's baselines, the bandits-with-knapsacks baselines and
contextual StageRoute, each a subclass of :class:`agents.base.Agent`.

* :mod:`~agents.policies.stageroute` (a folder: bounds, DeployOPT, the router, the agent, the fixed
  router and deployer of the single-level views): ``StageRouteAgent`` (``stageroute``) and
  ``StageRouteLiteralAgent`` (``stageroute_literal``);
* :mod:`~agents.policies.baselines`: ``greedy``, ``random``, ``oracle``, ``static``, ``cheapest``,
  ``strongest``;
* :mod:`~agents.policies.bwk`: ``ucb_bwk``, ``primal_dual``, ``thompson``;
* :mod:`~agents.policies.contextual`: ``contextual_stageroute``;
* :mod:`~agents.policies.views`: the single-level views' fixed routers and deployers by name
  (``"stageroute"``, ``"oracle"``) and the entry points of ``LLMRoute-Deploy-v0`` and
  ``LLMRoute-Route-v0`` (not imported here: ``gym.make`` imports it when it makes a view).

They read only the observation and the scenario's public parameters (the oracle also reads the
true means), and import nothing of the layers above them (registry, evaluation, RL, experiments).
"""

from .baselines import CheapestAgent, GreedyAgent, OracleAgent, RandomAgent, StaticAgent, StrongestAgent
from .bwk import PrimalDualAgent, ThompsonAgent, UcbBwkAgent
from .contextual import ContextualStageRouteAgent
from .stageroute import StageRouteAgent, StageRouteLiteralAgent

__all__ = [
    "StageRouteAgent",
    "StageRouteLiteralAgent",
    "GreedyAgent",
    "RandomAgent",
    "OracleAgent",
    "UcbBwkAgent",
    "PrimalDualAgent",
    "ThompsonAgent",
    "StaticAgent",
    "CheapestAgent",
    "StrongestAgent",
    "ContextualStageRouteAgent",
]
