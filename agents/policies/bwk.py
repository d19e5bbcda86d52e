"""Bandits-with-knapsacks baselines (what the paper's reviewers asked for): UCB-BwK with a shrunk
budget, Lagrangian primal-dual pacing, and Thompson sampling. Each docstring names its deployer, its
router and how it treats the budget.

The pacing budget of query t is the observation's ``budget_per_query``: remaining budget over
remaining queries. Spending it exactly would end the run at the budget; overspending early lowers it,
underspending raises it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gym_llmroute.solvers import solve_route_lp

from ..base import Agent, Context
from .stageroute import DEFAULT_GAMMA, OptimisticRouter, RouterContext, StageRouteAgent, deploy_opt, paced_budget

__all__ = ["UcbBwkAgent", "PrimalDualAgent", "ThompsonAgent"]


class UcbBwkAgent(StageRouteAgent):
    """UCB-BwK (Agrawal & Devanur 2014): StageRoute's optimistic LPs with a shrunk fixed budget.

    * **Deployer:** DeployOPT (as StageRoute) with the budget ``b (1 - shrink)``.
    * **Router:** the optimistic routing LP over the deployed set (UCB reward, LCB cost, throughput
      caps) with the budget ``b (1 - shrink)`` for every query, sampled under the mask; an
      infeasible LP routes to the deployed model with the smallest LCB.
    * **Budget:** Agrawal & Devanur's safety margin instead of pacing: the LPs plan to spend a
      fraction ``1 - shrink`` of b, so that the optimism of the cost LCBs, which makes little-tried
      models look cheap, has room before the budget binds. No price prior (costs unknown in
      ``[c_1, c_2]``); untried models have ``UCB = 1``.

    Parameters
    ----------
    shrink : float
        ``epsilon`` in [0, 1) (default 0.1); the theory takes ``epsilon ~ sqrt(N log(NT) / B)``
        with costs in [0, 1], which the short horizons here make large, so it is a parameter.
    gamma, seed, solver : as :class:`~agents.StageRouteAgent`.
    """

    name = "ucb_bwk"
    deployer = "DeployOPT with the shrunk budget b(1 - eps)"
    router = "optimistic routing LP with the shrunk budget b(1 - eps), no price prior"

    def __init__(
        self,
        env: Any,
        gamma: float = DEFAULT_GAMMA,
        seed: int | None = None,
        solver: Any = "exact",
        shrink: float = 0.1,
    ):
        if isinstance(shrink, bool) or not isinstance(shrink, (int, float)) or not 0.0 <= shrink < 1.0:
            raise ValueError(f"shrink must be a number in [0, 1), got {shrink!r}")
        self.shrink = float(shrink)
        super().__init__(env, gamma=gamma, seed=seed, solver=solver, pacing=False, cost_prior=None)

    @property
    def lp_budget(self) -> float:
        return self.budget * (1.0 - self.shrink)


class _PrimalDualContext(RouterContext):
    def __init__(self, router: OptimisticRouter) -> None:
        super().__init__(router)
        self.lam = 0.0  # the multiplier
        self.last = -1  # the model of the last query, its pulls and mean cost then
        self.last_pulls = 0.0
        self.last_cost = 0.0


class PrimalDualAgent(StageRouteAgent):
    """Lagrangian primal-dual pacing (dual descent on the budget constraint).

    * **Deployer:** DeployOPT (as StageRoute: paced budget, price prior on costs).
    * **Budget:** Lagrangian pacing of the router's multiplier against the pacing budget.
    * **Router:** no LP: each query goes to the valid deployed model maximising
      ``UCB_m - lam * LCB_m``; after each query the multiplier moves by projected gradient,
      ``lam <- max(0, lam + eta * (c_t - b_t))``, with ``c_t`` the realised cost of the query (read
      from the change of the routed model's ``pulls`` and ``mean_cost``) and ``b_t`` the pacing budget
      (remaining budget over remaining queries). ``lam`` starts at ``lam0`` each episode.

    Parameters
    ----------
    step_size : float, optional
        ``eta``; default ``1 / (b * sqrt(T))``.
    lam0 : float
        Initial multiplier (default 0).
    gamma, seed : as :class:`~agents.StageRouteAgent`.
    """

    name = "primal_dual"
    deployer = "DeployOPT (as StageRoute)"
    router = "argmax UCB - lam*LCB, lam by projected dual gradient on realised cost vs pacing budget"

    def __init__(
        self,
        env: Any,
        gamma: float = DEFAULT_GAMMA,
        seed: int | None = None,
        step_size: float | None = None,
        lam0: float = 0.0,
    ):
        super().__init__(env, gamma=gamma, seed=seed)
        p = self.params
        self.step_size = float(step_size) if step_size is not None else 1.0 / (p.budget * math.sqrt(p.horizon))
        if not self.step_size > 0:
            raise ValueError(f"step_size must be > 0, got {step_size!r}")
        self.lam0 = float(lam0)

    def new_context(self) -> _PrimalDualContext:
        ctx = _PrimalDualContext(super().new_context().router)
        self._clear(ctx)
        return ctx

    def _clear(self, ctx: _PrimalDualContext) -> None:
        ctx.lam = self.lam0
        ctx.last = -1
        ctx.last_pulls = 0.0
        ctx.last_cost = 0.0

    def on_episode_start(self, ctx: _PrimalDualContext) -> None:
        super().on_episode_start(ctx)
        self._clear(ctx)

    def route(self, obs: dict[str, np.ndarray], ctx: _PrimalDualContext) -> int:
        r = ctx.router
        pulls, mean_cost = obs["pulls"], obs["mean_cost"]
        r.update(pulls, obs["mean_reward"], mean_cost)
        r.update_prior(obs)
        last = ctx.last
        if last >= 0:
            n = float(pulls[last])
            if n == ctx.last_pulls + 1.0:
                spent = n * float(mean_cost[last]) - ctx.last_pulls * ctx.last_cost
                ctx.lam = max(0.0, ctx.lam + self.step_size * (spent - paced_budget(obs)))
        valid = np.flatnonzero((obs["deployed"] > 0.5) & (obs["capacity_left"] > 0))
        score = r.ucb[valid] - ctx.lam * r.lcb[valid]
        m = int(valid[np.argmax(score)])
        ctx.last = m
        ctx.last_pulls = float(pulls[m])
        ctx.last_cost = float(mean_cost[m])
        return m


class _ThompsonContext(Context):
    def __init__(self) -> None:
        super().__init__()
        self.infeasible = 0
        self.saturated = 0


class ThompsonAgent(Agent[_ThompsonContext]):
    """Thompson sampling for bandits with knapsacks.

    Posteriors (the binomial trick for outcomes in a bounded range): reward
    ``Beta(1 + n r, 1 + n (1 - r))``; cost normalised to ``x = (c - c_1)/(c_2 - c_1)`` with
    ``Beta(1 + n x, 1 + n (1 - x))``, where n, r, c are the observed pulls and means (an untried
    model's cost is uniform over the cost range).

    * **Deployer:** DeployOPT on one posterior sample of every model, with the pacing budget,
      leftover slots by highest sampled reward.
    * **Router:** for every query a fresh posterior sample of the deployed models, the routing LP on
      it with the pacing budget (remaining budget over remaining queries), ``m ~ p`` among the
      models below their cap; an infeasible LP routes to the valid model with the smallest sampled
      cost.
    """

    name = "thompson"
    deployer = "DeployOPT on a posterior sample, pacing budget"
    router = "routing LP on a fresh posterior sample per query, pacing budget"

    def new_context(self) -> _ThompsonContext:
        return _ThompsonContext()

    def stats(self) -> dict[str, int]:
        return {
            "route_infeasible": sum(c.infeasible for c in self._contexts),
            "route_saturated": sum(c.saturated for c in self._contexts),
        }

    def _sample(self, obs: dict[str, np.ndarray], idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c1, c2 = self.params.cost_range
        n = obs["pulls"][idx].astype(np.float64)
        r = obs["mean_reward"][idx].astype(np.float64)
        x = np.clip((obs["mean_cost"][idx] - c1) / max(c2 - c1, 1e-12), 0.0, 1.0)
        reward = self.rng.beta(1.0 + n * r, 1.0 + n * (1.0 - r))
        cost = c1 + (c2 - c1) * self.rng.beta(1.0 + n * x, 1.0 + n * (1.0 - x))
        return reward, cost

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: _ThompsonContext) -> list[int]:
        # Samples of the catalog's models only, so that padded slots (never available) leave the
        # random stream as it is without padding.
        k = self.n_catalog
        reward, cost = np.zeros(self.n_models), np.full(self.n_models, self.params.cost_range[1])
        reward[:k], cost[:k] = self._sample(obs, np.arange(k))
        return list(
            deploy_opt(
                reward, cost, self.throughput, paced_budget(obs), self.max_deployed, obs["available"] > 0.5
            ).models
        )

    def route(self, obs: dict[str, np.ndarray], ctx: _ThompsonContext) -> int:
        deployed = np.flatnonzero(obs["deployed"] > 0.5)
        reward, cost = self._sample(obs, deployed)
        valid = obs["capacity_left"][deployed] > 0
        p = solve_route_lp(reward, cost, self.throughput[deployed], paced_budget(obs)).p
        if p is None:
            ctx.infeasible += 1
        else:
            q = np.where(valid, np.clip(p, 0.0, None), 0.0)
            total = q.sum()
            if total > 0:
                k = int(np.searchsorted(np.cumsum(q), self.rng.random() * total, side="right"))
                if k >= q.size:  # rounding at the top end: the last model with mass
                    k = int(np.flatnonzero(q)[-1])
                return int(deployed[k])
            ctx.saturated += 1
        options = np.flatnonzero(valid)
        return int(deployed[options[np.argmin(cost[options])]])
