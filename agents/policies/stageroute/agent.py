"""StageRoute (Li & Li, ICLR 2026): optimistic stage-wise deployment and LP routing, as implemented
here (docs/stageroute.md): maximal optimism for untried models, a paced budget and a price prior on
costs by default; ``stageroute_literal`` keeps the paper's LP with the fixed budget.

The statistics it needs (pulls, empirical means of reward and cost per model, persisting across
stages) are the observation's ``pulls``, ``mean_reward`` and ``mean_cost``, and the public prices are
its ``price``, so the agent keeps no learning state of its own: only caches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...base import Agent, Context
from .bounds import (
    DEFAULT_COST_GAMMA,
    DEFAULT_GAMMA,
    DEFAULT_MARGIN,
    DEFAULT_PRIOR,
    check_gamma,
    check_margin,
    check_prior,
)
from .router import OptimisticRouter, check_safe

__all__ = ["StageRouteAgent", "StageRouteLiteralAgent", "RouterContext"]


class RouterContext(Context):
    """Per-env state of the agents built on :class:`~agents.policies.stageroute.OptimisticRouter`."""

    def __init__(self, router: OptimisticRouter) -> None:
        super().__init__()
        self.router = router
        self.deploy_infeasible = 0


class StageRouteAgent(Agent[RouterContext]):
    """StageRoute (docs/stageroute.md), with exact solvers.

    * **Deployer: DeployOPT.** At each stage boundary, the deployment MILP with the reward UCB and
      cost LCB over the candidate pool, ``k = min(M_max, |pool|)`` slots, solved exactly
      (enumeration or HiGHS, :func:`agents.policies.stageroute.deploy_opt`); models the optimum leaves at
      zero mass give their slots to the highest UCB, so untried models get in. If the MILP is
      infeasible under the bounds, the cheapest deployment by LCB is used (counted in
      ``stats()["deploy_infeasible"]``).
    * **Router: RouteOPT.** For every query the routing LP over the deployed set with the current
      UCB/LCB, solved exactly (:class:`agents.policies.stageroute.OptimisticRouter`), then ``m ~ p``
      among the models below their throughput cap (saturated models drop out, the rest is
      renormalised). An infeasible LP routes to the deployed model with the smallest LCB
      (``stats()["route_infeasible"]``).
    * **Budget:** paced. Both LPs use ``(1 - pacing_margin) b_t`` with ``b_t = (B - spent) / (T - t)``
      (the observation's ``budget_per_query``), so an overspend lowers the budget of the queries
      left and an underspend raises it; the margin keeps a little in hand against the overspend
      of LCB-priced exploration and returns it at the end. ``pacing=False`` uses the fixed b of
      the paper's LP.

    Bounds: ``f_g(v, n) = sqrt(g v / n) + g / n`` with ``n = pulls + 1``,
    ``UCB = clip(mean_reward + 2 f_gamma, 0, 1)``, ``LCB = clip(mean_cost - 2 f_cost_gamma, c_1,
    c_2)``; an untried model has ``UCB = 1`` and ``LCB = c_1`` (``optimistic=False``:
    ``UCB = min(1, 2 gamma)``, the ablation). With the price prior (``cost_prior = rho``) the LCB is raised to
    ``(1 - rho) kappa price`` unless the data refute it, with ``kappa`` the cost per unit of public
    price estimated from the models tried (:func:`agents.policies.stageroute.cost_floor`); worlds without
    public prices get no prior.

    Parameters
    ----------
    env : LLMRoute env (or its scenario)
    gamma : float
        Confidence parameter of the reward bounds (default
        :data:`agents.policies.stageroute.DEFAULT_GAMMA`, 1.0).
    seed : int, optional
        Seed of the routing draws.
    solver : {"exact", "exact-cold", "linprog"} or callable
        Route LP solver (default: exact, warm-started); ``"linprog"`` is scipy's HiGHS, for the
        speed comparison of benchmarks/bench_agents.py. Every choice solves the same LP to the same
        optimal value, but linprog may return another optimal mix (ties) or one within its 1e-7
        tolerances, so its episodes can differ slightly.
    pacing : bool
        Paced budget (default True).
    pacing_margin : float
        Margin in [0, 1) of the paced budget (default :data:`agents.policies.stageroute.DEFAULT_MARGIN`);
        0 is the plain pacing budget. Ignored without pacing.
    cost_prior : float or None
        Slack ``rho`` in [0, 1) of the price prior (default
        :data:`agents.policies.stageroute.DEFAULT_PRIOR`, 0.25: a cost is at least 75% of its
        price-implied value), or None for the paper's costs, unknown in ``[c_1, c_2]``.
    optimistic : bool
        Untried models have ``UCB = 1`` (default True).
    cost_gamma : float or None
        Confidence parameter of the cost bounds (default
        :data:`agents.policies.stageroute.DEFAULT_COST_GAMMA`, 0.02); None uses ``gamma`` for both, as
        the paper does.
    safe_explore : bool, "route", "deploy" or None
        Budget-safe exploration (docs/stageroute.md): a query goes to a model only if the slack left
        (the budget beyond the estimated cheapest routing of the remaining queries) covers the
        model's worst-case cost, and a deployment keeps a routing affordable under worst-case
        costs; ``"route"`` or ``"deploy"`` keeps one half (the ablation). None (default): True for
        ``stageroute`` (this class), False for the agents built on it, whose behaviour it keeps.
    """

    name = "stageroute"
    deployer = "DeployOPT (deployment MILP on UCB/LCB, leftover slots by highest UCB), paced budget"
    router = "RouteOPT (optimistic routing LP on UCB/LCB, paced budget, price prior on costs), sampled under the mask"

    def __init__(
        self,
        env: Any,
        gamma: float = DEFAULT_GAMMA,
        seed: int | None = None,
        solver: Any = "exact",
        pacing: bool = True,
        cost_prior: float | None = DEFAULT_PRIOR,
        optimistic: bool = True,
        pacing_margin: float = DEFAULT_MARGIN,
        cost_gamma: float | None = DEFAULT_COST_GAMMA,
        safe_explore: bool | str | None = None,
    ):
        if safe_explore is None:
            safe_explore = type(self) is StageRouteAgent
        check_safe(safe_explore)
        self.safe_explore = safe_explore
        self.gamma = check_gamma(gamma)
        self.cost_gamma = self.gamma if cost_gamma is None else check_gamma(cost_gamma, "cost_gamma")
        self.solver = solver
        self.pacing = bool(pacing)
        self.pacing_margin = check_margin(pacing_margin)
        self.cost_prior = check_prior(cost_prior)
        self.optimistic = bool(optimistic)
        # predict's shortcut for a route-phase query: only while route and _act are these.
        cls = type(self)
        self._route_direct = cls.route is StageRouteAgent.route and cls._act is Agent._act
        super().__init__(env, seed)

    def new_context(self) -> RouterContext:
        p = self.params
        router = OptimisticRouter(
            p.throughput,
            self.lp_budget,
            p.cost_range,
            self.gamma,
            self.rng,
            self.solver,
            optimistic=self.optimistic,
            cost_gamma=self.cost_gamma,
            pacing=self.pacing,
            margin=self.pacing_margin,
            prior=self.cost_prior,
            safe=self.safe_explore,
            horizon=p.horizon,
            stage_bounds=p.stage_bounds,
        )
        return RouterContext(router)

    @property
    def lp_budget(self) -> float:
        """The fixed per-query budget of the LPs when not pacing: b (subclasses may shrink it)."""
        return self.budget

    def on_episode_start(self, ctx: RouterContext) -> None:
        ctx.router.reset(self.rng)
        ctx.deploy_infeasible = 0

    def stats(self) -> dict[str, int]:
        out = {"route_infeasible": 0, "route_saturated": 0, "deploy_infeasible": 0, "lp_solves": 0, "lp_warm": 0}
        if self.safe_explore:
            out.update(route_guarded=0, deploy_safe=0)
        for ctx in self._contexts:
            r = ctx.router
            out["route_infeasible"] += r.n_infeasible
            out["route_saturated"] += r.n_saturated
            out["deploy_infeasible"] += ctx.deploy_infeasible
            out["lp_solves"] += r.n_solves
            out["lp_warm"] += r.n_warm
            if self.safe_explore:
                out["route_guarded"] += r.n_guarded
                out["deploy_safe"] += r.n_safe_deploys
        return out

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[int | np.ndarray, Any]:
        """:meth:`Agent.predict`; a route-phase observation of one env with no episode starting goes
        straight to the router's :meth:`~OptimisticRouter.route_obs`, the call ``Agent.predict``
        makes through ``_act`` and :meth:`route` (a shortcut for the one call made per query).

        Parameters
        ----------
        observation : dict of str to ndarray
            One observation of an LLMRoute env, or a batch (arrays with a leading ``n_envs`` axis).
        state : object, optional
            Passed through (SB3's recurrent state).
        episode_start : ndarray of bool, optional
            Per env, whether an episode starts.
        deterministic : bool
            Ignored.

        Returns
        -------
        (int or ndarray, object)
            The action (an ``int`` for one observation, an int64 array for a batch) and ``state``.
        """
        if episode_start is None and self._route_direct and self._contexts:
            phase = observation["phase"]
            if phase.ndim == 1 and phase.item(0) >= 0.5:
                return self._contexts[0].router.route_obs(observation), state
        return super().predict(observation, state, episode_start, deterministic)

    # ------------------------------------------------------------------ hooks
    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> list[int]:
        plan = ctx.router.plan(obs, self.max_deployed)
        if not plan.feasible:
            ctx.deploy_infeasible += 1
        return list(plan.models)

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> np.ndarray:
        ctx.router.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        return ctx.router.ucb

    def route(self, obs: dict[str, np.ndarray], ctx: RouterContext) -> int:
        return ctx.router.route_obs(obs)


class StageRouteLiteralAgent(StageRouteAgent):
    """StageRoute with the paper's LP: the fixed budget b and no price prior, for ablations.

    * **Deployer:** DeployOPT (as :class:`StageRouteAgent`) with the fixed b.
    * **Router:** RouteOPT (as :class:`StageRouteAgent`) with the fixed b; costs are unknown in
      ``[c_1, c_2]`` (no price prior).
    * **Budget:** fixed b for every query. The bounds are the default's (an untried model has
      ``UCB = 1``, ``LCB = c_1``; ``gamma`` and ``cost_gamma`` as :class:`StageRouteAgent`), so
      the agent differs from the default by the budget and the prior alone.

    Parameters as :class:`StageRouteAgent` (defaults ``pacing=False``, ``cost_prior=None``).
    """

    name = "stageroute_literal"
    deployer = "DeployOPT with the fixed budget b"
    router = "RouteOPT with the fixed budget b, costs unknown in [c_1, c_2]"

    def __init__(
        self,
        env: Any,
        gamma: float = DEFAULT_GAMMA,
        seed: int | None = None,
        solver: Any = "exact",
        pacing: bool = False,
        cost_prior: float | None = None,
        optimistic: bool = True,
        cost_gamma: float | None = DEFAULT_COST_GAMMA,
    ):
        super().__init__(env, gamma, seed, solver, pacing, cost_prior, optimistic, 0.0, cost_gamma)
