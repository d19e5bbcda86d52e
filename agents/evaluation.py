"""The evaluation loop: one episode of any agent, measured (:func:`run_episode`), and the same over
seeds with confidence intervals (:func:`evaluate`).

:func:`run_episode` is the only episode loop of the package: ``agents.evaluate``, ``llmroute run``
and the benchmark sweeps all play their episodes through it, so they summarise an episode alike on
``LLMRoute-v0`` and on both single-level views.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from gym_llmroute.scenario import Scenario

from .base import Agent, scenario_of, slots_of
from .registry import make

__all__ = ["run_episode", "evaluate", "Evaluation", "SUMMARY_METRICS", "TRACE_POINTS", "mean_ci"]

#: Points kept per trace in a recorded episode (``record=True``): evenly spaced, the last one kept.
TRACE_POINTS = 400

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


def run_episode(
    agent: Any,
    env: gym.Env,
    seed: int | None = None,
    *,
    trace: bool = False,
    record: bool = False,
    deterministic: bool | None = False,
    trace_points: int = TRACE_POINTS,
) -> dict[str, Any]:
    """Run one episode of ``agent`` on ``env`` and measure it.

    ``env.reset(seed=seed)`` and ``agent.reset(seed=seed)`` (for agents that have ``reset``) make the
    episode reproducible. Works on ``LLMRoute-v0`` (and the world ids) and on both single-level views:
    queries served per step come from ``info["model"]`` (one query on a route step) or, on the deploy
    view, from ``info["routed"]`` (a whole stage on a committing step).

    Parameters
    ----------
    agent : Agent or object with SB3's ``predict``
        Called as ``predict(obs, state=..., episode_start=..., deterministic=...)``. An
        :class:`~agents.base.Agent` (or anything with ``bind``, like :class:`~agents.rl.SB3Agent`) is
        rebound first if the env's scenario changed.
    env : gymnasium.Env
        ``LLMRoute-v0``, a world id or a single-level view (wrapped or not).
    seed : int, optional
        Seed of the env and of the agent.
    trace : bool
        Also return ``regret_trace`` and ``spend_trace``: arrays with one entry per step that served
        queries (one per query, except on the deploy view: one per stage).
    record : bool
        Also return what the benchmark writes to its run files: ``trace`` (a dict of ``t``,
        ``regret`` and ``spend`` lists, at most ``trace_points`` points evenly spaced over the steps
        that served queries, the last one kept, plus a final point at ``t = T`` carrying the regret
        of the unserved queries if the hard budget ended the episode early), ``deployed`` and
        ``routed`` (K x N lists: the set that served each stage, zeros for stages never reached, and
        the queries each model served in each stage) and ``wall_time_s``.
    deterministic : bool or None
        Passed to ``predict``; the reference agents ignore it. None lets a learned agent use its
        own default (:class:`~agents.rl.SB3Agent`: PPO, A2C and MaskablePPO sample, DQN is greedy),
        as ``llmroute run`` and the sweeps do.
    trace_points : int
        Points kept per trace with ``record=True``.

    Returns
    -------
    dict
        * ``agent`` (the agent's ``name``), ``seed``;
        * ``reward``, ``cost``, ``budget`` (B), ``regret`` (final pseudo-regret), ``oracle_value``,
          ``queries_served``, ``horizon``: from the env's last ``info``;
        * ``reward_fraction`` (reward / oracle value), ``spend_fraction`` (cost / budget),
          ``budget_exhausted`` (the hard budget ended the episode early), ``invalid_actions``,
          ``steps``;
        * ``deployments``: per stage started, the sorted list of deployed model indices;
        * ``stage_end_time``, ``stage_end_regret``, ``stage_end_spend``: queries served, cumulative
          regret and cumulative spend at the end of each stage (for plots);
        * ``world``: the generated world played, when the env's last ``info`` has one
          (``LLMRoute-Gen-v0``);
        * the agent's event counters (``agent.stats()``, e.g. ``route_infeasible``);
        * with ``trace=True`` or ``record=True``, the keys described there.
    """
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    scenario = scenario_of(env)
    slots = slots_of(env)
    # Rebind an agent (a reference one, or an SB3Agent) whose world changed: reset options, or a new
    # generated world at every reset of LLMRoute-Gen-v0.
    if callable(getattr(agent, "bind", None)) and (
        getattr(agent, "scenario_id", None) != id(scenario) or agent.n_models != (slots or scenario.n_models)
    ):
        agent.bind(scenario, slots)
    if hasattr(agent, "reset"):
        agent.reset(seed=seed)
    log = _EpisodeLog(scenario, detailed=trace or record, record=record)
    log.start(obs)
    state = None
    episode_start: np.ndarray | None = np.ones(1, dtype=bool)  # then None: no episode starts
    terminated = truncated = False
    steps = invalid = 0
    # The hot path (one more query of the current stage) counts its queries in ``served`` and keeps
    # its info in ``last``; both go to the log before any other step and at the end.
    predict, step = agent.predict, env.step
    stage = None if log.detailed else log.stage  # None: every step through log.step
    served, last = 0, None
    while not (terminated or truncated):
        action, state = predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        episode_start = None
        next_obs, _, terminated, truncated, info = step(action)
        steps += 1
        if info["invalid_action"]:
            invalid += 1
        if info["model"] >= 0 and info["action_stage"] == stage:
            served += 1
            last = info
        else:
            if served:
                log.served += served
                log.last = last
                served = 0
            log.step(obs, next_obs, info)
            if stage is not None:
                stage = log.stage
        obs = next_obs
    if served:
        log.served += served
        log.last = last
    log.close()
    log.steps, log.invalid = steps, invalid
    out = _summary(agent, seed, scenario, info, log)
    if trace:
        out["regret_trace"] = np.array(log.regrets[1:])
        out["spend_trace"] = np.array(log.spends[1:])
    if record:
        out.update(log.recording(info, trace_points))
        out["wall_time_s"] = time.perf_counter() - start
    return out


def _stage_of(obs: dict[str, np.ndarray], n_stages: int) -> int:
    """The stage an observation is in (or about to start)."""
    return min(int(round(float(obs["stage"][0]) * n_stages)), n_stages - 1)


class _EpisodeLog:
    """What :func:`run_episode` collects step by step.

    A step serves one query (a route step, ``info["model"] >= 0``), a whole stage (a committing step
    of the deploy view, ``info["routed"]``) or none (a deploy step). A stage's deployment is the set
    the env shows once it is committed; on the route view, which never shows a deploy phase, the set
    of the observation its first query was routed from. A stage of route steps ends where the next
    stage's first query is routed, or with the episode.
    """

    def __init__(self, scenario: Scenario, detailed: bool, record: bool):
        self.K = scenario.n_stages
        self.total_budget = scenario.budget * scenario.horizon
        self.horizon = scenario.horizon
        self.detailed, self.record = detailed, record  # detailed: every step through step()
        self.steps = self.invalid = self.served = 0
        self.stage = -1  # the stage whose queries are being served
        self.last: dict[str, Any] | None = None  # the info of the last query served
        self.deployments: list[list[int]] = []
        self.deployed_stage = -1  # the stage of the last deployment noted
        self.ends_t: list[int] = []
        self.ends_regret: list[float] = []
        self.ends_spend: list[float] = []
        # Per step that served queries, from a first point at t = 0 (kept with trace or record only).
        self.ts: list[int] = [0]
        self.regrets: list[float] = [0.0]
        self.spends: list[float] = [0.0]
        # The world's models fill the first of the env's model slots (all of them unless padded).
        self.N = scenario.n_models
        if record:
            self.deployed = np.zeros((self.K, scenario.n_models), dtype=np.int8)
            self.routed = np.zeros((self.K, scenario.n_models), dtype=np.int64)

    def start(self, obs: dict[str, np.ndarray]) -> None:
        if self.record:
            self._note_deployed(obs)

    def step(self, obs: dict[str, np.ndarray], next_obs: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        """Account one ``env.step`` from ``obs`` to ``next_obs`` (the loop counts steps and invalid
        actions, and the queries of a stage itself unless ``detailed``)."""
        model = info["model"]
        if model < 0:
            self._deploy_step(next_obs, info)
            return
        stage = info["action_stage"]
        if stage != self.stage:  # the first query of a stage
            self.close()
            self.stage = stage
            if stage != self.deployed_stage:  # the route view's deployer committed a new set
                self._new_deployment(obs, stage)
        if self.record:
            self.routed[stage, model] += 1
            self._note_deployed(next_obs)
        self.served += 1
        self.last = info
        if self.detailed:
            self._keep_step(info)

    def _deploy_step(self, next_obs: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        routed = info.get("routed")
        if routed is None:  # a deploy step of the two-level env
            if next_obs["phase"][0] >= 0.5:  # this step committed the set
                self._new_deployment(next_obs, _stage_of(next_obs, self.K))
            if self.record:
                self._note_deployed(next_obs)
            return
        n = int(routed.sum())  # the deploy view: a committing step routes a whole stage
        if n:
            stage = info["action_stage"]
            self._new_deployment(next_obs, stage)
            if self.record:
                self.routed[stage] += routed[: self.N]
                self.deployed[stage] = next_obs["deployed"][: self.N] > 0.5
            self.served += n
            if self.detailed:
                self._keep_step(info)
            self.last = info
            self._stage_end()

    def close(self) -> None:
        """End the stage being served, if any, at its last query."""
        if self.stage >= 0:
            self._stage_end()
            self.stage = -1

    def _stage_end(self) -> None:
        assert self.last is not None
        self.ends_t.append(self.served)
        self.ends_regret.append(float(self.last["regret"]))
        self.ends_spend.append(float(self.total_budget - self.last["budget_left"]))

    def _note_deployed(self, obs: dict[str, np.ndarray]) -> None:
        if obs["phase"][0] >= 0.5:
            self.deployed[_stage_of(obs, self.K)] = obs["deployed"][: self.N] > 0.5

    def _new_deployment(self, obs: dict[str, np.ndarray], stage: int) -> None:
        self.deployments.append(np.flatnonzero(obs["deployed"] > 0.5).tolist())
        self.deployed_stage = stage

    def _keep_step(self, info: dict[str, Any]) -> None:
        self.ts.append(self.served)
        self.regrets.append(float(info["regret"]))
        self.spends.append(float(self.total_budget - info["budget_left"]))

    def recording(self, info: dict[str, Any], trace_points: int) -> dict[str, Any]:
        """The ``record=True`` keys (see :func:`run_episode`)."""
        keep = _downsample(len(self.ts), trace_points)
        trace = {
            "t": [self.ts[i] for i in keep],
            "regret": [self.regrets[i] for i in keep],
            "spend": [self.spends[i] for i in keep],
        }
        if self.served < self.horizon:  # the hard budget ended it: the regret of the queries left
            trace["t"].append(self.horizon)
            trace["regret"].append(float(info["regret"]))
            trace["spend"].append(self.spends[-1])
        return {"trace": trace, "deployed": self.deployed.tolist(), "routed": self.routed.tolist()}


def _downsample(n: int, points: int) -> np.ndarray:
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.int64))


def _summary(agent: Any, seed: int | None, scenario: Scenario, info: dict[str, Any], log: _EpisodeLog) -> dict:
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
        "invalid_actions": log.invalid,
        "steps": log.steps,
        "deployments": log.deployments,
        "stage_end_time": log.ends_t,
        "stage_end_regret": log.ends_regret,
        "stage_end_spend": log.ends_spend,
    }
    out["reward_fraction"] = out["reward"] / out["oracle_value"] if out["oracle_value"] > 0 else math.nan
    out["spend_fraction"] = out["cost"] / budget_total if budget_total > 0 else math.nan
    out["budget_exhausted"] = out["queries_served"] < out["horizon"]
    if "world" in info:  # LLMRoute-Gen-v0: the generated world played
        out["world"] = int(info["world"])
    if isinstance(agent, Agent):
        out.update(agent.stats())
    return out


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the two-sided Student-t confidence interval.

    Parameters
    ----------
    values : iterable of float
        The sample (one value per seed, say).
    level : float
        Confidence level of the interval.

    Returns
    -------
    (float, float)
        The mean and the half-width of the interval; the half-width is nan for one value, and both
        are nan for none.
    """
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
        """The summary as text.

        Returns
        -------
        str
            A title line, then one ``metric  mean ± half-width`` line per metric.
        """
        width = max(len(k) for k in self.summary)
        lines = [f"{self.agent} over {len(self.seeds)} seeds (mean ± 95% CI)"]
        for key, (mean, half) in self.summary.items():
            lines.append(f"  {key:<{width}}  {mean:.6g} ± {half:.3g}")
        return "\n".join(lines)


def evaluate(
    agent: str | Callable[..., Any] | Agent,
    env: str | gym.Env = "LLMRoute-v0",
    seeds: Iterable[int] = range(5),
    *,
    env_kwargs: dict[str, Any] | None = None,
    **agent_kwargs: Any,
) -> Evaluation:
    """Run an agent on one episode per seed and report means with 95% confidence intervals
    (Student t over seeds).

    Parameters
    ----------
    agent : str, callable or Agent
        A name or import path for :func:`agents.make` (``agent_kwargs`` go to it), a factory
        ``f(env, **agent_kwargs) -> agent`` (an agent class, say), or an agent.
    env : str or gymnasium.Env
        An env id for ``gym.make`` (with ``env_kwargs``) or an env.
    seeds : iterable of int
        One episode per seed (:func:`run_episode`).
    env_kwargs : dict, optional
        ``gym.make`` keyword arguments when ``env`` is an id.
    **agent_kwargs
        Keyword arguments of the agent's constructor.

    Returns
    -------
    Evaluation
        The episodes and the summary of :data:`SUMMARY_METRICS`.
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
    seed_list = [int(s) for s in seeds]
    episodes = [run_episode(policy, env, seed) for seed in seed_list]
    summary = {key: mean_ci(ep[key] for ep in episodes) for key in SUMMARY_METRICS}
    name = getattr(policy, "name", type(policy).__name__)
    return Evaluation(agent=name, seeds=seed_list, episodes=episodes, summary=summary)
