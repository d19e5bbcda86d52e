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
    confidence_radius,
    cost_floor,
    deploy_opt,
    sample_under_mask,
)

__all__ = ["ContextualStageRouteAgent", "ContextualContext", "task_mix_estimate", "shrunk_rewards", "SHARING"]

#: Ways of sharing reward statistics across task types (``share=``): ``"none"``, each (task, model)
#: pair on its own data; ``"eb"``, empirical-Bayes shrinkage toward the model's other tasks
#: (:func:`shrunk_rewards`); ``"min"``, the smaller of the pair's own UCB and the shrunk one.
SHARING = ("none", "eb", "min")


def _predict_additive(n: np.ndarray, r: np.ndarray, sweeps: int) -> np.ndarray:
    """Leave-one-task-out prediction of each pair's mean from ``theta_m + delta_j`` (weights n)."""
    n_model, n_task = n.sum(axis=0), n.sum(axis=1)
    delta = np.zeros(n.shape[0])
    theta = np.zeros(n.shape[1])
    for _ in range(max(1, sweeps)):
        theta = np.divide((n * (r - delta[:, None])).sum(axis=0), n_model, out=np.zeros_like(theta), where=n_model > 0)
        delta = np.divide((n * (r - theta)).sum(axis=1), n_task, out=np.zeros_like(delta), where=n_task > 0)
    own = n * (r - delta[:, None])
    n_other = n_model - n
    theta_loo = np.divide(own.sum(axis=0) - own, n_other, out=np.zeros_like(n), where=n_other > 0)
    return np.clip(theta_loo + delta[:, None], 0.0, 1.0)


def shrunk_rewards(pulls, mean_reward, tau_floor: float = 0.05, sweeps: int = 3):
    """Empirical-Bayes shrinkage of each (task, model) mean reward toward a prediction from the
    model's other task types.

    Model: ``mu_jm = theta_m + delta_j + e_jm`` (a model effect, a task effect shared by all
    models, and an interaction ``e_jm`` of variance ``tau^2``). ``theta`` and ``delta`` are fitted by
    weighted least squares (``sweeps`` backfitting sweeps, weights ``n_jm``); the prediction of pair
    (j, m) uses ``theta_m`` fitted without the pair's own data (leave one task out), so the prior and
    the pair's data are independent. ``tau^2`` is the method-of-moments estimate from the residuals
    of the pairs with data on both sides (their squared residual less its sampling variance), at least
    ``tau_floor^2``. The prediction ``p_jm`` then counts as ``n0_jm = 1 / (tau^2 / s^2 + 1 / n_other)``
    observations, ``s^2 = p (1 - p)`` the Bernoulli variance (at least 0.01) and ``n_other`` the
    model's pulls on the other types: never more than those pulls, nor more than ``s^2 / tau^2``.

    Parameters
    ----------
    pulls, mean_reward : arrays of shape (J, N)
    tau_floor : float
        Least standard deviation of the interaction (> 0): the prior never counts for more than
        ``s^2 / tau_floor^2`` observations.

    Returns
    -------
    (mean, n_eff) : arrays of shape (J, N)
        ``mean = (n r + n0 p) / (n + n0)`` (the pair's mean where ``n0 = 0``, p where the pair is
        untried) and the effective count ``n + n0``. A model never tried has ``n_eff = 0``.
    """
    n = np.asarray(pulls, dtype=np.float64)
    r = np.asarray(mean_reward, dtype=np.float64)
    n_other = n.sum(axis=0) - n
    prior = _predict_additive(n, r, sweeps)
    s2 = np.maximum(prior * (1.0 - prior), 0.01)
    both = (n > 0) & (n_other > 0)
    tau2 = tau_floor**2
    if both.any():
        sampling = s2[both] * (1.0 / n[both] + 1.0 / n_other[both])
        weight = 1.0 / sampling
        excess = (r[both] - prior[both]) ** 2 - sampling
        tau2 = max(tau2, float((weight * excess).sum() / weight.sum()))
    n0 = np.divide(1.0, tau2 / s2 + np.divide(1.0, n_other, out=np.full_like(n, np.inf), where=n_other > 0))
    n0 = np.where(n_other > 0, n0, 0.0)
    n_eff = n + n0
    mean = np.divide(n * r + n0 * prior, n_eff, out=np.zeros_like(n), where=n_eff > 0)
    return mean, n_eff


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

    **Sharing across task types** (``share``). Each pair learns from its own queries only
    (``"none"``), so J task types cost J times StageRoute's exploration. ``"eb"`` shrinks each pair's
    mean reward toward a prediction from the same model's other task types (a model effect plus a
    task effect, fitted on all pairs; :func:`shrunk_rewards`), counting the prediction as ``n0``
    observations by empirical Bayes (the spread of the pairs around the prediction, at least
    ``tau_floor``, against the Bernoulli variance), and the radius uses the effective count
    ``n + n0``: a model tried on some types starts on the others near its prediction rather than at
    UCB 1. ``"min"`` takes the smaller of the pair's own UCB and the shared one (the hierarchical
    bound). A model never tried keeps UCB 1 in every case; costs are never shared (the price prior
    already carries them across types). With one task type the option changes nothing.

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
    share : str
        Sharing of reward statistics across task types: ``"eb"`` (default), ``"min"`` or ``"none"``
        (:data:`SHARING`).
    tau_floor : float
        Least standard deviation of a pair's departure from its prediction (> 0; default 0.05), for
        ``share != "none"``.
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
        share: str = "eb",
        tau_floor: float = 0.05,
    ):
        if share not in SHARING:
            raise ValueError(f"share must be one of {SHARING}, got {share!r}")
        if isinstance(tau_floor, bool) or not isinstance(tau_floor, (int, float)) or not 0.0 < tau_floor < math.inf:
            raise ValueError(f"tau_floor must be a finite number > 0, got {tau_floor!r}")
        self.share = share
        self.tau_floor = float(tau_floor)
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
        mean_reward = obs["task_mean_reward"].reshape(J, N)
        floor = None if self.cost_prior is None else cost_floor(pulls, mean_cost, obs["price"], self.cost_prior)
        ucb, lcb = confidence_bounds(
            pulls,
            mean_reward,
            mean_cost,
            self.gamma,
            self.params.cost_range,
            cost_gamma=self.cost_gamma,
            optimistic=self.optimistic,
            floor=floor,
        )
        if self.share != "none":
            mean, n_eff = shrunk_rewards(pulls, mean_reward, self.tau_floor)
            shared = np.clip(mean + 2.0 * confidence_radius(mean, n_eff + 1.0, self.gamma), 0.0, 1.0)
            if self.optimistic:
                shared = np.where(n_eff == 0.0, 1.0, shared)
            ucb = np.minimum(ucb, shared) if self.share == "min" else shared
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
