"""Contextual StageRoute: StageRoute with statistics, bounds and routing per task type.

The env's typed scenarios (``LLMRoute-Typed-v0``, ``LLMRoute-Trace-v0``) show the current query's task
type (``task``, one-hot over J types) and the per-(task, model) sufficient statistics
(``task_pulls``, ``task_mean_reward``, ``task_mean_cost``, slot ``j * N + m``). Plain StageRoute pools
them per model; this agent keeps them apart and solves the typed problem of the oracle
(:mod:`gym_llmroute.oracle`) with optimistic bounds in place of the true means.

``python -m agents.experiments.contextual_comparison --seeds 5`` runs the comparison of
docs/results/contextual.md (``--help`` for the options).
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from gym_llmroute.solvers import solve_typed_deploy, typed_route_lp

from .stageroute import (
    DEFAULT_COST_GAMMA,
    DEFAULT_GAMMA,
    DEFAULT_MARGIN,
    DEFAULT_PRIOR,
    OptimisticRouter,
    RouterContext,
    StageRouteAgent,
    confidence_bounds,
    cost_floor,
    deploy_opt,
    sample_under_mask,
)

__all__ = ["ContextualStageRouteAgent", "ContextualContext", "task_mix_estimate"]


def task_mix_estimate(task_counts, prior: float = 1.0) -> np.ndarray:
    """Estimated task mix from the queries of each type seen so far, with an additive prior.

    ``w_j = (n_j + prior) / (sum_i n_i + J * prior)``: uniform before any query, the empirical
    frequencies as the counts grow (``prior = 1`` is Laplace's rule). ``prior = 0`` gives the raw
    frequencies (uniform while no query was seen).
    """
    n = np.asarray(task_counts, dtype=np.float64)
    total = n.sum() + n.size * prior
    if total <= 0.0:
        return np.full(n.size, 1.0 / n.size)
    return (n + prior) / total


class ContextualContext(RouterContext):
    """Per-env state of :class:`ContextualStageRouteAgent`: the cached typed routing solution.

    ``router`` (the plain StageRoute router) serves untyped scenarios only.
    """

    def __init__(self, router: OptimisticRouter) -> None:
        super().__init__(router)
        self.clear()
        self.route_infeasible = 0
        self.route_saturated = 0
        self.lp_solves = 0

    def clear(self) -> None:
        """Forget the deployed set and the cached solution (a new episode)."""
        self.D: list[int] = []
        self.dep_key = b""
        self.solved = False  # a solution (or an infeasibility verdict) is cached for D
        self.p: list[list[float]] | None = None  # (J, |D|) routing rows, None if infeasible
        self.lcb: list[list[float]] = []  # (J, |D|) cost LCBs of the last solve (fallback)
        self.slots = np.zeros(0, dtype=np.intp)  # flat task_pulls slots j * N + m of the pairs in D
        self.threshold = np.zeros(0)  # pull counts that trigger a re-solve (growth rule)
        self.pulls_key = b""  # task_pulls at the last solve
        self.budget = 0.0  # per-query budget of the last solve
        self.since = 0  # queries routed since the last solve


class ContextualStageRouteAgent(StageRouteAgent):
    """Contextual StageRoute: StageRoute with statistics, bounds and LPs per (task type, model).

    * **Deployer: typed DeployOPT.** At each stage boundary, the typed deployment MILP of the oracle
      (:func:`gym_llmroute.solvers.solve_typed_deploy`, HiGHS): one routing distribution per task
      type, sharing the budget b and the throughput caps (``sum_j w_j d_jm <= alpha_m``), at most
      ``k = min(M_max, |pool|)`` models, value and cost weighted by the estimated task mix w, with the
      per-(task, model) UCB and LCB in place of the true means. Models that carry mass for some type
      are deployed (by decreasing mass ``sum_j w_j d_jm``); leftover slots go to the highest
      mix-weighted UCB ``sum_j w_j UCB_jm`` (ties: lower weighted LCB, then lower index), so untried
      models get in, as in StageRoute. If the MILP is infeasible under the bounds, StageRoute's
      DeployOPT on the mix-weighted bounds picks the slots (its cheapest-by-LCB fallback; counted in
      ``stats()["deploy_infeasible"]``).
    * **Router: typed RouteOPT.** The same typed LP restricted to the deployed set
      (:func:`gym_llmroute.solvers.typed_route_lp`, scipy's HiGHS), solved for all types at once and cached; the current
      query's row ``p_j`` is sampled among the models below their throughput cap (saturated models
      drop out, the rest renormalised). An infeasible LP, or no valid model with mass, routes to the
      valid deployed model with the smallest LCB for the query's type
      (``stats()["route_infeasible"]``, ``stats()["route_saturated"]``).

    **Bounds** per (task j, model m) from the observation's per-task statistics, with StageRoute's
    radius (:func:`agents.policies.stageroute.confidence_bounds`): ``UCB_jm = clip(r_jm + 2 f(r_jm, n_jm +
    1), 0, 1)``, ``LCB_jm = clip(c_jm - 2 f(c_jm, n_jm + 1), c_1, c_2)``; an untried pair has
    ``UCB = 1`` and ``LCB = c_1``. With the price prior (``cost_prior = rho``) each task type has its
    own cost per unit of public price ``kappa_j`` (its own token counts) and ``LCB_jm`` is raised to
    ``(1 - rho) kappa_j price_m`` unless the data refute it (:func:`agents.policies.stageroute.cost_floor`).

    **Budget:** paced, as StageRoute: both LPs use the remaining budget over the remaining queries
    (``pacing=False``: the fixed b).

    **Task mix.** It is not public: w is estimated from the queries of each type served so far (the
    row sums of ``task_pulls``) with an additive prior, ``w_j = (n_j + mix_prior) / (n + J
    mix_prior)`` (:func:`task_mix_estimate`): uniform before any query, the empirical mix later.

    **Re-solve rule of RouteOPT.** A HiGHS solve costs about 2 ms, and the LP's inputs change after
    every query (a pull count and the mix estimate), so the cached solution is kept until one of:

    1. the deployed set changed (a new stage), or nothing is cached;
    2. the pull count of some deployed (task, model) pair grew by the fraction ``resolve_growth``
       since the last solve: ``n + 1 >= (1 + resolve_growth) (n_0 + 1)`` (so every pull of a pair
       with fewer than ``1 / resolve_growth`` pulls re-solves: the bounds move most then);
    3. ``resolve_every`` queries were routed since the last solve and a statistic changed;
    4. with ``pacing=True``, the pacing budget moved by more than the fraction ``resolve_growth``.

    ``resolve_growth = 0`` with ``resolve_every = 1`` re-solves at every change of the inputs (the
    literal algorithm). With the defaults (0.1, 50) no deployed pair's count runs more than 10 % ahead
    of the count its bounds were solved with (the radius, ~ n^(-1/2), moves by about 5 %), and the
    mix estimate is at most 50 queries old; on LLMRoute-Typed-v0 this solves 138 instead of ~1,430
    LPs per episode with the same regret within noise (docs/results/contextual.md).

    **Untyped scenarios** (``n_tasks == 1``): exactly :class:`~agents.StageRouteAgent` (same
    components, same random draws, so the same actions for the same seed).

    Parameters
    ----------
    env : LLMRoute env (or its scenario)
    gamma : float
        Confidence parameter (default :data:`agents.policies.stageroute.DEFAULT_GAMMA`).
    seed : int, optional
        Seed of the routing draws.
    resolve_growth : float
        Relative growth of a deployed pair's pull count that triggers a re-solve (>= 0; default 0.1).
    resolve_every : int
        Re-solve at the latest after this many queries (>= 1; default 50).
    mix_prior : float
        Additive prior count per task type of the mix estimate (>= 0; default 1).
    pacing : bool
        Paced budget (default True); False: StageRoute's fixed b.
    cost_prior, optimistic, pacing_margin, cost_gamma : as :class:`~agents.StageRouteAgent`.
    solver : as StageRouteAgent's (untyped scenarios only).
    """

    name = "contextual_stageroute"
    deployer = "typed DeployOPT (typed deployment MILP on per-task UCB/LCB and estimated mix, leftover slots by UCB)"
    router = (
        "typed RouteOPT (typed routing LP on the deployed set, cached with a re-solve rule; row of the query's task)"
    )

    def __init__(
        self,
        env: Any,
        gamma: float = DEFAULT_GAMMA,
        seed: int | None = None,
        resolve_growth: float = 0.1,
        resolve_every: int = 50,
        mix_prior: float = 1.0,
        pacing: bool = True,
        solver: Any = "exact",
        cost_prior: float | None = DEFAULT_PRIOR,
        optimistic: bool = True,
        pacing_margin: float = DEFAULT_MARGIN,
        cost_gamma: float | None = DEFAULT_COST_GAMMA,
    ):
        if not (isinstance(resolve_growth, (int, float)) and resolve_growth >= 0):
            raise ValueError(f"resolve_growth must be a number >= 0, got {resolve_growth!r}")
        if not (isinstance(resolve_every, (int, np.integer)) and resolve_every >= 1):
            raise ValueError(f"resolve_every must be an integer >= 1, got {resolve_every!r}")
        if not (isinstance(mix_prior, (int, float)) and mix_prior >= 0):
            raise ValueError(f"mix_prior must be a number >= 0, got {mix_prior!r}")
        self.resolve_growth = float(resolve_growth)
        self.resolve_every = int(resolve_every)
        self.mix_prior = float(mix_prior)
        super().__init__(
            env,
            gamma=gamma,
            seed=seed,
            solver=solver,
            pacing=pacing,
            cost_prior=cost_prior,
            optimistic=optimistic,
            pacing_margin=pacing_margin,
            cost_gamma=cost_gamma,
        )

    def bind(self, scenario, n_slots=None) -> None:
        super().bind(scenario, n_slots)
        self.n_tasks = self.params.n_tasks

    def new_context(self) -> ContextualContext:
        base = super().new_context()
        return ContextualContext(base.router)

    def on_episode_start(self, ctx: ContextualContext) -> None:
        super().on_episode_start(ctx)
        ctx.clear()
        ctx.route_infeasible = ctx.route_saturated = ctx.lp_solves = 0

    def stats(self) -> dict[str, int]:
        out = super().stats()
        if self.n_tasks > 1:
            for ctx in cast(list[ContextualContext], self._contexts):
                out["route_infeasible"] += ctx.route_infeasible
                out["route_saturated"] += ctx.route_saturated
                out["lp_solves"] += ctx.lp_solves
        return out

    # ------------------------------------------------------------------ typed statistics
    def typed_bounds(self, obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(UCB, LCB)``, each of shape (J, N), from the observation's per-task statistics."""
        J, N = self.n_tasks, self.n_models
        pulls, mean_cost = obs["task_pulls"].reshape(J, N), obs["task_mean_cost"].reshape(J, N)
        floor = None if self.cost_prior is None else cost_floor(pulls, mean_cost, obs["price"], self.cost_prior)
        ucb, lcb = confidence_bounds(
            pulls,
            obs["task_mean_reward"].reshape(J, N),
            mean_cost,
            self.gamma,
            self.params.cost_range,
            cost_gamma=self.cost_gamma,
            optimistic=self.optimistic,
            floor=floor,
        )
        return ucb, lcb

    def mix(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Estimated task mix (J,) from the per-task pull counts (:func:`task_mix_estimate`)."""
        counts = obs["task_pulls"].reshape(self.n_tasks, self.n_models).sum(axis=1)
        return task_mix_estimate(counts, self.mix_prior)

    # ------------------------------------------------------------------ deploy
    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: ContextualContext) -> list[int]:
        if self.n_tasks == 1:
            return super().plan_deployment(obs, ctx)
        ucb, lcb = self.typed_bounds(obs)
        w = self.mix(obs)
        u_bar, c_bar = w @ ucb, w @ lcb
        pool = np.flatnonzero(obs["available"] > 0.5)
        if pool.size == 0:
            return []
        k = min(self.max_deployed, pool.size)
        b = ctx.router.budget_of(obs)
        _, d = solve_typed_deploy(ucb[:, pool], lcb[:, pool], w, self.throughput[pool], b, k)
        if d is None:
            ctx.deploy_infeasible += 1
            plan = deploy_opt(u_bar, c_bar, self.throughput, b, self.max_deployed, obs["available"] > 0.5)
            return list(plan.models)
        mass = w @ d
        carry = mass > 1e-9
        chosen = pool[carry][np.lexsort((pool[carry], -mass[carry]))]
        rest = pool[~carry]
        rest = rest[np.lexsort((rest, c_bar[rest], -u_bar[rest]))][: k - chosen.size]
        return [int(m) for m in np.concatenate([chosen, rest])]

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: ContextualContext) -> np.ndarray:
        if self.n_tasks == 1:
            return super().deploy_priority(obs, ctx)
        ucb, _ = self.typed_bounds(obs)
        return self.mix(obs) @ ucb

    # ------------------------------------------------------------------ route
    def _solve(self, obs: dict[str, np.ndarray], ctx: ContextualContext, key: bytes) -> None:
        D = ctx.D
        ucb, lcb = self.typed_bounds(obs)
        b = ctx.router.budget_of(obs)
        p = typed_route_lp(ucb[:, D], lcb[:, D], self.mix(obs), self.throughput[D], b)
        ctx.budget = b
        ctx.lp_solves += 1
        ctx.p = None if p is None else p.tolist()
        ctx.lcb = lcb[:, D].tolist()
        pulls = obs["task_pulls"][ctx.slots].astype(np.float64)
        ctx.threshold = (1.0 + self.resolve_growth) * (pulls + 1.0) - 1.0
        ctx.pulls_key = key
        ctx.since = 0
        ctx.solved = True

    def route(self, obs: dict[str, np.ndarray], ctx: ContextualContext) -> int:
        if self.n_tasks == 1:
            return super().route(obs, ctx)
        deployed = obs["deployed"]
        dep_key = deployed.tobytes()
        if dep_key != ctx.dep_key:
            ctx.dep_key = dep_key
            ctx.D = np.flatnonzero(deployed > 0.5).tolist()
            n = self.n_models
            ctx.slots = np.array([j * n + m for j in range(self.n_tasks) for m in ctx.D], dtype=np.intp)
            ctx.solved = False
        pulls = obs["task_pulls"]
        key = pulls.tobytes()
        if not ctx.solved:
            self._solve(obs, ctx, key)
        elif key != ctx.pulls_key and (
            ctx.since >= self.resolve_every
            or bool((pulls[ctx.slots] >= ctx.threshold).any())
            or (self.pacing and abs(ctx.router.budget_of(obs) - ctx.budget) > self.resolve_growth * abs(ctx.budget))
        ):
            self._solve(obs, ctx, key)
        ctx.since += 1
        j = self.task_of(obs)
        D = ctx.D
        capacity_left = obs["capacity_left"].tolist()
        m = -1
        if ctx.p is None:
            ctx.route_infeasible += 1
        else:
            m = sample_under_mask(self.rng, D, ctx.p[j], capacity_left)
            if m < 0:
                ctx.route_saturated += 1
        if m < 0:
            best = math.inf
            for k, i in enumerate(D):
                if capacity_left[i] > 0 and ctx.lcb[j][k] < best:
                    m, best = i, ctx.lcb[j][k]
        return m
