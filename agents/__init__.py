"""Reference agents for gym_llmroute: StageRoute, the paper's baselines, bandits-with-knapsacks
baselines, and the evaluation loop that runs any agent with SB3's ``predict`` interface.

>>> import gymnasium as gym, gym_llmroute, agents
>>> env = gym.make("LLMRoute-v0")
>>> result = agents.run_episode(agents.make("stageroute", env), env, seed=0)

``import agents`` is light: numpy, gymnasium and gym_llmroute only (scipy is imported when a solver
or a confidence interval needs it; never torch).

The package is layered; each layer imports only the layers below it:

1. :mod:`agents.base` (the :class:`Agent` interface) and :mod:`agents.policies` (the reference
   agents);
2. :mod:`agents.registry` (agents by name or import path) and :mod:`agents.evaluation` (the one
   episode loop, :func:`run_episode`, and :func:`evaluate`);
3. :mod:`agents.rl`: learned agents (SB3 training, hyperparameters, the SB3 agent);
4. :mod:`agents.experiments`: sweeps on local processes or Ray, reports, plots, the demo;
5. :mod:`agents.cli`: the ``llmroute`` command.

This module re-exports the public API of layers 1 and 2.
"""

from .base import Agent, Context, PublicParams, scenario_of
from .evaluation import Evaluation, evaluate, mean_ci, run_episode
from .policies import (
    CheapestAgent,
    GreedyAgent,
    OracleAgent,
    PrimalDualAgent,
    RandomAgent,
    StageRouteAgent,
    StageRouteLiteralAgent,
    StaticAgent,
    StrongestAgent,
    ThompsonAgent,
    UcbBwkAgent,
)
from .registry import AGENTS, make

__all__ = [
    "Agent",
    "Context",
    "PublicParams",
    "scenario_of",
    "StageRouteAgent",
    "StageRouteLiteralAgent",
    "GreedyAgent",
    "RandomAgent",
    "OracleAgent",
    "StaticAgent",
    "CheapestAgent",
    "StrongestAgent",
    "UcbBwkAgent",
    "PrimalDualAgent",
    "ThompsonAgent",
    "AGENTS",
    "make",
    "run_episode",
    "evaluate",
    "Evaluation",
    "mean_ci",
]
