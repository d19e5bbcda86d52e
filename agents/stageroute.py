"""StageRoute (Li & Li, ICLR 2026): optimistic stage-wise deployment and LP routing.

Exactly the algorithm of docs/stageroute.md. The statistics it needs (pulls, empirical means of
reward and cost per model, persisting across stages) are the observation's ``pulls``,
``mean_reward`` and ``mean_cost``, so the agent keeps no learning state of its own: only caches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gym_llmroute.routing import OptimisticRouter, deploy_opt

from .base import Agent, Context

__all__ = ["StageRouteAgent", "RouterContext"]


class RouterContext(Context):
    """Per-env state of the agents built on :class:`~gym_llmroute.routing.OptimisticRouter`."""

    def __init__(self, router: OptimisticRouter) -> None:
        super().__init__()
        self.router = router
        self.deploy_infeasible = 0


class StageRouteAgent(Agent):
    """StageRoute, the paper's algorithm (docs/stageroute.md), with exact solvers.

    * **Deployer: DeployOPT.** At each stage boundary, the deployment MILP with the reward UCB and
      cost LCB over the candidate pool, ``k = min(M_max, |pool|)`` slots, solved exactly
      (enumeration or HiGHS, :func:`gym_llmroute.routing.deploy_opt`); models the optimum leaves at
      zero mass give their slots to the highest UCB, so untried models get in. If the MILP is
      infeasible under the bounds, the cheapest deployment by LCB is used (counted in
      ``stats()["deploy_infeasible"]``).
    * **Router: RouteOPT.** For every query the routing LP over the deployed set with the current
      UCB/LCB and the per-query budget b, solved exactly
      (:class:`gym_llmroute.routing.OptimisticRouter`), then ``m ~ p`` among the models below their
      throughput cap (saturated models drop out, the rest is renormalised). An infeasible LP routes
      to the deployed model with the smallest LCB (``stats()["route_infeasible"]``).

    Bounds: ``f(v, n) = sqrt(gamma v / n) + gamma / n`` with ``n = pulls + 1``,
    ``UCB = clip(mean_reward + 2 f, 0, 1)``, ``LCB = clip(mean_cost - 2 f, c_1, c_2)``; an untried
    model has ``UCB = min(1, 2 gamma)``, so with the default ``gamma = 0.1`` newcomers look worse than
    models of quality above 0.2 (see benchmarks/regret_scaling.py for the sweep over gamma).

    Parameters
    ----------
    env : LLMRoute env (or its scenario)
    gamma : float
        Confidence parameter (default 0.1, the doc's choice).
    seed : int, optional
        Seed of the routing draws.
    solver : {"exact", "exact-cold", "linprog"} or callable
        Route LP solver (default: exact, warm-started); ``"linprog"`` is scipy's HiGHS, for the
        speed comparison of benchmarks/bench_agents.py. Every choice solves the same LP to the same
        optimal value, but linprog may return another optimal mix (ties) or one within its 1e-7
        tolerances, so its episodes can differ slightly (0.927 against 0.928 of the oracle there).
    """

    name = "stageroute"
    deployer = "DeployOPT (deployment MILP on UCB/LCB, leftover slots by highest UCB)"
    router = "RouteOPT (optimistic routing LP on UCB/LCB with budget b, sampled under the mask)"

    def __init__(self, env: Any, gamma: float = 0.1, seed: int | None = None, solver: Any = "exact"):
        if not (isinstance(gamma, (int, float)) and gamma > 0):
            raise ValueError(f"gamma must be a number > 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.solver = solver
        super().__init__(env, seed)

    def new_context(self) -> RouterContext:
        p = self.params
        return RouterContext(OptimisticRouter(p.throughput, p.budget, p.cost_range, self.gamma, self.rng, self.solver))

    def on_episode_start(self, ctx: RouterContext) -> None:
        ctx.router.reset(self.rng)
        ctx.deploy_infeasible = 0

    def stats(self) -> dict[str, int]:
        out = {"route_infeasible": 0, "route_saturated": 0, "deploy_infeasible": 0, "lp_solves": 0, "lp_warm": 0}
        for ctx in self._contexts:
            r = ctx.router
            out["route_infeasible"] += r.n_infeasible
            out["route_saturated"] += r.n_saturated
            out["deploy_infeasible"] += ctx.deploy_infeasible
            out["lp_solves"] += r.n_solves
            out["lp_warm"] += r.n_warm
        return out

    # ------------------------------------------------------------------ hooks
    def deploy_budget(self, obs: dict[str, np.ndarray]) -> float:
        """Per-query budget of DeployOPT and RouteOPT: b (subclasses may pace it)."""
        return self.budget

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> list[int]:
        r = ctx.router
        r.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        plan = deploy_opt(
            r.ucb, r.lcb, self.throughput, self.deploy_budget(obs), self.max_deployed, obs["available"] > 0.5
        )
        if not plan.feasible:
            ctx.deploy_infeasible += 1
        return list(plan.models)

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> np.ndarray:
        ctx.router.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        return ctx.router.ucb

    def route(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> int:
        return ctx.router.route(
            obs["deployed"], obs["capacity_left"], obs["pulls"], obs["mean_reward"], obs["mean_cost"]
        )
