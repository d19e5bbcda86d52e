"""The harness: build agents by name, run an episode, evaluate over seeds with confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from .base import Agent, scenario_of

__all__ = ["AGENTS", "make", "run_episode", "evaluate", "Evaluation", "SUMMARY_METRICS", "mean_ci"]


def _registry() -> dict[str, type[Agent]]:
    from .baselines import CheapestAgent, GreedyAgent, OracleAgent, RandomAgent, StaticAgent, StrongestAgent
    from .bwk import PrimalDualAgent, ThompsonAgent, UcbBwkAgent
    from .contextual import ContextualStageRouteAgent
    from .stageroute import StageRouteAgent, StageRouteLiteralAgent

    classes = (
        StageRouteAgent,
        StageRouteLiteralAgent,
        GreedyAgent,
        RandomAgent,
        OracleAgent,
        UcbBwkAgent,
        PrimalDualAgent,
        ThompsonAgent,
        StaticAgent,
        CheapestAgent,
        StrongestAgent,
        ContextualStageRouteAgent,
    )
    return {cls.name: cls for cls in classes}


AGENTS: dict[str, type[Agent]] = _registry()


def make(name: str, env: Any, **kwargs: Any) -> Agent:
    """Build a reference agent by name (see ``AGENTS``): ``make("stageroute", env, gamma=0.5)``.

    Keyword arguments go to the agent's constructor (``seed`` for every agent; ``gamma`` for those
    built on confidence bounds). An unknown name raises ``ValueError`` listing the names.
    """
    if not isinstance(name, str):
        raise TypeError(f"agent name must be a string, got {type(name).__name__}")
    key = name.lower().replace("-", "_")
    if key not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; agents are {sorted(AGENTS)}")
    return AGENTS[key](env, **kwargs)


def run_episode(agent: Any, env: gym.Env, seed: int | None = None, *, trace: bool = False) -> dict[str, Any]:
    """Run one episode of ``agent`` (anything with SB3's ``predict``) on ``env`` and measure it.

    ``env.reset(seed=seed)`` and, for our agents, ``agent.reset(seed=seed)`` make the episode
    reproducible. Returns a dict with:

    * ``reward``, ``cost``, ``budget`` (B), ``regret`` (final pseudo-regret), ``oracle_value``,
      ``queries_served``, ``horizon``: from the env's last ``info``;
    * ``reward_fraction`` (reward / oracle value), ``spend_fraction`` (cost / budget),
      ``budget_exhausted`` (the hard budget ended the episode early), ``invalid_actions``, ``steps``;
    * ``deployments``: per stage started, the sorted list of deployed model indices;
    * ``stage_end_time``, ``stage_end_regret``, ``stage_end_spend``: queries served, cumulative
      regret and cumulative spend at the end of each stage (for plots);
    * the agent's event counters (``agent.stats()``, e.g. ``route_infeasible``);
    * with ``trace=True`` also ``regret_trace`` and ``spend_trace``, arrays with one entry per
      query served.
    """
    obs, info = env.reset(seed=seed)
    scenario = scenario_of(env)
    total_budget = scenario.budget * scenario.horizon
    if isinstance(agent, Agent):
        if agent.scenario_id != id(scenario):
            agent.bind(scenario)
        agent.reset(seed=seed)
    deployments: list[list[int]] = []
    ends_t: list[int] = []
    ends_regret: list[float] = []
    ends_spend: list[float] = []
    regret_trace: list[float] = []
    spend_trace: list[float] = []
    invalid = 0
    steps = 0
    served = 0
    terminated = truncated = False
    while not (terminated or truncated):
        action, _ = agent.predict(obs, deterministic=False)
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        invalid += bool(info["invalid_action"])
        if info["phase"] == "deploy":
            if obs["phase"][0] >= 0.5:  # this step committed the set
                deployments.append(np.flatnonzero(obs["deployed"] > 0.5).tolist())
            continue
        served += 1
        if trace:
            regret_trace.append(info["regret"])
            spend_trace.append(total_budget - info["budget_left"])
        if terminated or obs["phase"][0] < 0.5:  # end of a stage
            ends_t.append(served)
            ends_regret.append(float(info["regret"]))
            ends_spend.append(float(total_budget - info["budget_left"]))
    budget_total = float(info["budget"])
    out: dict[str, Any] = {
        "agent": getattr(agent, "name", type(agent).__name__),
        "seed": seed,
        "reward": float(info["total_reward"]),
        "cost": float(info["total_cost"]),
        "budget": budget_total,
        "regret": float(info["regret"]),
        "oracle_value": float(info["oracle_value"]),
        "queries_served": int(info["queries_served"]),
        "horizon": scenario.horizon,
        "invalid_actions": invalid,
        "steps": steps,
        "deployments": deployments,
        "stage_end_time": ends_t,
        "stage_end_regret": ends_regret,
        "stage_end_spend": ends_spend,
    }
    out["reward_fraction"] = out["reward"] / out["oracle_value"] if out["oracle_value"] > 0 else math.nan
    out["spend_fraction"] = out["cost"] / budget_total if budget_total > 0 else math.nan
    out["budget_exhausted"] = out["queries_served"] < out["horizon"]
    if isinstance(agent, Agent):
        out.update(agent.stats())
    if trace:
        out["regret_trace"] = np.array(regret_trace)
        out["spend_trace"] = np.array(spend_trace)
    return out


SUMMARY_METRICS = (
    "reward",
    "cost",
    "budget",
    "regret",
    "oracle_value",
    "queries_served",
    "reward_fraction",
    "spend_fraction",
    "invalid_actions",
)


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the two-sided Student-t confidence interval (nan for one value)."""
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), math.nan
    from scipy.stats import t

    half = float(t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return float(x.mean()), half


@dataclass
class Evaluation:
    """Result of :func:`evaluate`: the episodes and, per metric, ``(mean, half-width of the 95%
    t-interval)``."""

    agent: str
    seeds: list[int]
    episodes: list[dict[str, Any]] = field(repr=False)
    summary: dict[str, tuple[float, float]]

    def __getitem__(self, metric: str) -> tuple[float, float]:
        return self.summary[metric]

    def table(self) -> str:
        """The summary as ``metric: mean ± half-width`` lines."""
        width = max(len(k) for k in self.summary)
        lines = [f"{self.agent} over {len(self.seeds)} seeds (mean ± 95% CI)"]
        for key, (mean, half) in self.summary.items():
            lines.append(f"  {key:<{width}}  {mean:.6g} ± {half:.3g}")
        return "\n".join(lines)


def evaluate(
    agent: str | Callable[[gym.Env], Any] | Agent,
    env: str | gym.Env = "LLMRoute-v0",
    seeds: Iterable[int] = range(5),
    *,
    env_kwargs: dict[str, Any] | None = None,
    **agent_kwargs: Any,
) -> Evaluation:
    """Run an agent on one episode per seed and report means with 95% confidence intervals
    (Student t over seeds).

    ``agent`` is a name for :func:`make` (``agent_kwargs`` go to it), a factory ``f(env) -> agent``,
    or an agent. ``env`` is an env id for ``gym.make`` (with ``env_kwargs``) or an env.
    """
    if isinstance(env, str):
        env = gym.make(env, **(env_kwargs or {}))
    elif env_kwargs:
        raise TypeError("env_kwargs only applies when env is an id")
    if isinstance(agent, str):
        policy = make(agent, env, **agent_kwargs)
    elif isinstance(agent, Agent):
        policy = agent
    elif callable(agent):
        policy = agent(env, **agent_kwargs)
    else:
        raise TypeError(f"agent must be a name, a factory or an agent, got {type(agent).__name__}")
    seeds = [int(s) for s in seeds]
    episodes = [run_episode(policy, env, seed) for seed in seeds]
    summary = {key: mean_ci(ep[key] for ep in episodes) for key in SUMMARY_METRICS}
    name = getattr(policy, "name", type(policy).__name__)
    return Evaluation(agent=name, seeds=seeds, episodes=episodes, summary=summary)
