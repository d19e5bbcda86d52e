"""Reference agents for gym_llmroute: StageRoute, the paper's baselines, bandits-with-knapsacks
baselines, and the harness that runs any agent with SB3's ``predict`` interface.

>>> import gymnasium as gym, gym_llmroute, agents
>>> env = gym.make("LLMRoute-v0")
>>> result = agents.run_episode(agents.make("stageroute", env), env, seed=0)

``import agents`` is light: numpy, gymnasium and gym_llmroute only (scipy is imported when a solver
or a confidence interval needs it; never torch).
"""

from .base import Agent, Context, PublicParams, scenario_of
from .baselines import CheapestAgent, GreedyAgent, OracleAgent, RandomAgent, StaticAgent, StrongestAgent
from .bwk import PrimalDualAgent, ThompsonAgent, UcbBwkAgent
from .harness import AGENTS, Evaluation, evaluate, make, mean_ci, run_episode
from .stageroute import StageRouteAgent, StageRouteLiteralAgent

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
