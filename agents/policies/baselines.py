"""The paper's baselines (Greedy, Random, Oracle) and simple reference policies (Static, Cheapest,
Strongest). Each docstring names its deployer and its router."""

from __future__ import annotations

from typing import Any

import numpy as np

from gym_llmroute.oracle import solve_pool

from ..base import Agent, Context
from .stageroute import OptimisticRouter, RouterContext, StageRouteAgent

__all__ = ["GreedyAgent", "RandomAgent", "OracleAgent", "StaticAgent", "CheapestAgent", "StrongestAgent"]


def _order(score: np.ndarray, idx: np.ndarray) -> list[int]:
    """``idx`` by decreasing score, ties by lower index."""
    return idx[np.lexsort((idx, -score[idx]))].tolist()


class GreedyAgent(StageRouteAgent):
    """The paper's Greedy baseline: the top M_max models by an optimistic value-for-money utility.

    * **Deployer:** the ``k = min(M_max, |pool|)`` available models with the highest utility
      ``UCB_m / LCB_m`` (optimistic reward per unit of optimistic cost; LCB floored at 1e-12), ties
      by lower index, added while the deploy mask allows. No MILP: the budget and the throughput
      caps are ignored when choosing.
    * **Router:** RouteOPT, as StageRoute (optimistic LP with budget b, sampled under the mask).

    Bounds and ``gamma`` as :class:`~agents.StageRouteAgent`.
    """

    name = "greedy"
    deployer = "top-M_max by UCB/LCB utility"
    router = "RouteOPT (as StageRoute)"

    def utility(self, ctx: RouterContext) -> np.ndarray:
        """Greedy's score of every model.

        Parameters
        ----------
        ctx : RouterContext
            This env's context (its router holds the current bounds).

        Returns
        -------
        ndarray of shape (N,)
            ``UCB / LCB``, the LCB floored at 1e-12.
        """
        return ctx.router.ucb / np.maximum(ctx.router.lcb, 1e-12)

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> list[int]:
        ctx.router.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        pool = np.flatnonzero(obs["available"] > 0.5)
        return _order(self.utility(ctx), pool)[: self.max_deployed]

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> np.ndarray:
        ctx.router.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        return self.utility(ctx)


class _StaticContext(RouterContext):
    def __init__(self, router: OptimisticRouter) -> None:
        super().__init__(router)
        self.first: tuple[int, ...] | None = None  # the deployment of the first stage


class StaticAgent(StageRouteAgent):
    """A deployment chosen once and kept: never adopts newcomers.

    * **Deployer:** DeployOPT (as StageRoute) at the first stage of the episode; at every later stage
      the same models, as far as they are still available. A retired model's slot is left empty
      unless the remaining models' throughput caps sum below one, in which case the deploy mask
      forces additions and the highest-UCB available models are added.
    * **Router:** RouteOPT, as StageRoute.
    """

    name = "static"
    deployer = "DeployOPT once at stage 0, then the same set (minus retired models)"
    router = "RouteOPT (as StageRoute)"

    def new_context(self) -> _StaticContext:
        return _StaticContext(super().new_context().router)

    def on_episode_start(self, ctx: _StaticContext) -> None:
        super().on_episode_start(ctx)
        ctx.first = None

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: _StaticContext) -> list[int]:
        if ctx.first is None:
            ctx.first = tuple(super().plan_deployment(obs, ctx))
            return list(ctx.first)
        available = obs["available"] > 0.5
        return [m for m in ctx.first if available[m]]


class RandomAgent(Agent[Context]):
    """The paper's Random baseline: uniformly random valid actions.

    * **Deployer:** a uniformly random set of ``min(M_max, |pool|)`` available models (random valid
      additions until the env commits by itself).
    * **Router:** uniform over the deployed models below their throughput cap, blind to cost (so
      with a tight budget it spends the budget early).
    """

    name = "random"
    deployer = "uniformly random valid additions"
    router = "uniform over valid deployed models"

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: Context) -> list[int]:
        return self.rng.permutation(np.flatnonzero(obs["available"] > 0.5)).tolist()

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: Context) -> np.ndarray:
        priority = np.full(self.n_models, -np.inf)  # padded slots (never valid) draw nothing
        priority[: self.n_catalog] = self.rng.random(self.n_catalog)
        return priority

    def route(self, obs: dict[str, np.ndarray], ctx: Context) -> int:
        valid = np.flatnonzero(self.valid_routes(obs))
        return int(valid[self.rng.integers(valid.size)])


class _QuotaContext(Context):
    """Per-stage counts of the oracle's quota router."""

    def __init__(self) -> None:
        super().__init__()
        self.stage = -1
        self.served: list[int] = []  # queries per task type this stage
        self.counts: list[list[int]] = []  # queries per (task type, model) this stage
        self.routing: list[list[float]] = []  # routing distribution per task type this stage


class OracleAgent(Agent[_QuotaContext]):
    """The paper's Oracle: knows the true means (the only agent that may read them).

    * **Deployer:** the stage oracle's deployment ``scenario.oracle.deployed[k]`` (best <= M_max
      models by the deployment MILP on the true means).
    * **Router:** the stage oracle's routing distribution ``d = scenario.oracle.routing[k, task]``
      realised by quotas rather than random draws: each query of task j goes to the valid model
      furthest behind its share, ``argmax_m d_m (n_j + 1) - count_jm`` (n_j: queries of type j so
      far in the stage). The realised shares track d within one query, so the oracle neither
      saturates a cheap model early (which random draws do, pushing the stage's last queries to
      pricier models) nor adds routing noise to its spend. If another controller deployed a
      different set (the route-level view), the optimal routing over that set with the true means.
      If no model with mass is valid, the valid model with the lowest true mean cost.

    Its pseudo-regret is zero up to rounding at stage ends and, with a hard budget, the queries lost
    if the random per-query costs push the spend past the budget just before the horizon.
    """

    name = "oracle"
    deployer = "stage oracle deployment (true means)"
    router = "stage oracle routing distribution (true means), realised by per-stage quotas"

    def bind(self, scenario, n_slots=None) -> None:
        super().bind(scenario, n_slots)
        self._oracle = scenario.oracle
        self._true_cost = np.array(scenario.mean_cost)
        self._routing = [[row.tolist() for row in stage] for stage in self._oracle.routing]
        self._n_tasks = scenario.n_tasks
        self._scenario = scenario
        self._other_sets: dict[tuple[int, bytes], list[list[float]]] = {}

    def __init__(self, env: Any, seed: int | None = None):
        super().__init__(env, seed)
        self.n_saturated = 0

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.n_saturated = 0

    def new_context(self) -> _QuotaContext:
        return _QuotaContext()

    def stats(self) -> dict[str, int]:
        return {"route_saturated": self.n_saturated}

    def _stage_routing(self, k: int, deployed: np.ndarray) -> list[list[float]]:
        """The oracle's routing for stage k if its deployment is live; otherwise (a deploy-level
        controller chose another set, e.g. in the route-level view) the optimal routing over the
        deployed set with the true means, solved once per (stage, set)."""
        if np.array_equal(deployed, self._oracle.deployed[k]):
            return self._routing[k]
        key = (k, deployed.tobytes())
        if key not in self._other_sets:
            s = self._scenario
            _, routing = solve_pool(s, np.flatnonzero(deployed), s.stage_quality[k], s.stage_cost[k])
            self._other_sets[key] = [row.tolist() for row in routing]
        return self._other_sets[key]

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: Context) -> list[int]:
        k = self.stage_of(obs)
        mass = self._oracle.routing[k].max(axis=0)
        models = np.flatnonzero(self._oracle.deployed[k])
        return models[np.lexsort((models, -mass[models]))].tolist()

    def route(self, obs: dict[str, np.ndarray], ctx: _QuotaContext) -> int:
        k = self.stage_of(obs)
        if ctx.stage != k or obs["stage_progress"][0] == 0.0:
            ctx.stage = k
            ctx.served = [0] * self._n_tasks
            ctx.counts = [[0] * self.n_models for _ in range(self._n_tasks)]
            ctx.routing = self._stage_routing(k, obs["deployed"] > 0.5)
        j = self.task_of(obs)
        p = ctx.routing[j]
        counts = ctx.counts[j]
        target = ctx.served[j] + 1
        valid = ((obs["deployed"] > 0.5) & (obs["capacity_left"] > 0)).tolist()
        chosen, best = -1, -np.inf
        for m, ok in enumerate(valid):
            if ok and p[m] > 0.0:
                deficit = p[m] * target - counts[m]
                if deficit > best:
                    chosen, best = m, deficit
        if chosen < 0:
            self.n_saturated += 1
            idx = np.flatnonzero(valid)
            chosen = int(idx[np.argmin(self._true_cost[idx])])
        ctx.served[j] = target
        counts[chosen] += 1
        return chosen


class CheapestAgent(Agent[Context]):
    """Always the cheapest, by public list price.

    * **Deployer:** the ``min(M_max, |pool|)`` available models with the lowest public list price
      (models without a price rank last, by observed mean cost, untried last).
    * **Router:** the valid deployed model with the lowest list price (same order): it fills the
      cheapest model up to its throughput cap, then the next.
    """

    name = "cheapest"
    deployer = "lowest public list price"
    router = "lowest public list price among valid deployed models"

    def _score(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        price = self.params.list_prices
        unknown_rank = np.where(obs["pulls"] > 0, obs["mean_cost"], np.inf)
        # Higher is better: known prices first (cheapest first), then unknown by observed cost.
        top = np.nanmax(price) if np.isfinite(price).any() else 0.0
        return np.where(np.isfinite(price), -price, -(top + 1.0) - unknown_rank)

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: Context) -> list[int]:
        return _order(self._score(obs), np.flatnonzero(obs["available"] > 0.5))

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: Context) -> np.ndarray:
        return self._score(obs)

    def route(self, obs: dict[str, np.ndarray], ctx: Context) -> int:
        valid = np.flatnonzero(self.valid_routes(obs))
        return int(_order(self._score(obs), valid)[0])


class StrongestAgent(Agent[Context]):
    """Always the strongest, by observed mean reward, blind to cost.

    * **Deployer:** the ``min(M_max, |pool|)`` available models with the highest empirical mean
      reward, untried models first (so every newcomer gets tried).
    * **Router:** the valid deployed model with the highest empirical mean reward (untried first);
      ignores the budget, so with a tight hard budget the episode ends early.
    """

    name = "strongest"
    deployer = "highest observed mean reward (untried first)"
    router = "highest observed mean reward among valid deployed models"

    def _score(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.where(obs["pulls"] > 0, obs["mean_reward"], 2.0)

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: Context) -> list[int]:
        return _order(self._score(obs), np.flatnonzero(obs["available"] > 0.5))

    def route(self, obs: dict[str, np.ndarray], ctx: Context) -> int:
        valid = np.flatnonzero(self.valid_routes(obs))
        return int(_order(self._score(obs), valid)[0])
