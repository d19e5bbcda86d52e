"""RouteOPT of StageRoute: the optimistic router, the paced budget and the router of StageRoute's
defaults (docs/stageroute.md).

:class:`OptimisticRouter` keeps the confidence bounds (:mod:`.bounds`) of every model, solves the
routing LP over the deployed set with them (warm-started from the previous optimal basis, with an
exact optimality certificate; the helpers at the end of this module) and draws a model under the
mask; its :meth:`~OptimisticRouter.plan` runs DeployOPT (:mod:`.deploy`) on the same bounds.

Budget pacing: with ``pacing=True`` DeployOPT and RouteOPT use ``b_t = (B - spent) / (T - t)``, the
observation's ``budget_per_query``, instead of the fixed b, times ``1 - margin``
(:func:`paced_budget`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from operator import itemgetter

import numpy as np
from numpy.random import PCG64

from gym_llmroute.solvers import linprog_route, solve_deploy, solve_route_lp

from .bounds import (
    DEFAULT_COST_GAMMA,
    DEFAULT_GAMMA,
    DEFAULT_MARGIN,
    DEFAULT_PRIOR,
    bounds_scalar,
    bounds_upper_scalar,
    check_gamma,
    check_margin,
    check_prior,
    cost_floor,
    cost_upper_scalar,
)
from .deploy import DeployPlan, deploy_opt

__all__ = ["OptimisticRouter", "stageroute_router", "paced_budget", "check_safe", "sample_under_mask", "ROUTE_SOLVERS"]

# Slack in the optimality certificate of the warm-started route LP (reduced costs and bounds): the
# certificate is exact, this only absorbs the rounding of a handful of float operations.
_EPS = 1e-12
_TWO_POW_M53 = 1.0 / 9007199254740992.0


def _exact_route(u, c, caps, budget: float) -> np.ndarray | None:
    return solve_route_lp(u, c, caps, budget).p


ROUTE_SOLVERS: dict[str, Callable] = {"exact": _exact_route, "exact-cold": _exact_route, "linprog": linprog_route}


def _uniform(rng: np.random.Generator) -> float:
    """``rng.random()``: the same double, drawn at half the cost for PCG64 (``default_rng``'s bit
    generator), whose ``next_double`` is ``(next64 >> 11) * 2**-53`` of its raw 64-bit output."""
    bits = rng.bit_generator
    if type(bits) is PCG64:
        return (bits.random_raw() >> 11) * _TWO_POW_M53
    return rng.random()


def sample_under_mask(rng: np.random.Generator, models: list[int], p, capacity_left: list[float]) -> int:
    """Draw a model from the routing distribution ``p`` (``p[k]`` for ``models[k]``) among those that
    can still serve (``capacity_left[model] > 0``): saturated models drop out and the rest is
    renormalised. Returns -1 if no model with mass is valid. Plain Python: a handful of models."""
    total = 0.0
    for k, i in enumerate(models):
        if p[k] > 0.0 and capacity_left[i] > 0:
            total += p[k]
    if total <= 0.0:
        return -1
    r = _uniform(rng) * total
    acc, m = 0.0, -1
    for k, i in enumerate(models):
        if p[k] > 0.0 and capacity_left[i] > 0:
            acc += p[k]
            m = i
            if r < acc:
                break
    return m


class OptimisticRouter:
    """RouteOPT of StageRoute: route each query by the optimistic routing LP over the deployed set.

    For every query it solves::

        p = argmax_p  sum_{m in D} UCB_m p_m   s.t.  sum_m LCB_m p_m <= b,  sum_m p_m = 1,
                                                   0 <= p_m <= alpha_m

    over the deployed set D, with the current confidence bounds, and samples ``m ~ p`` among the
    models that can still serve this stage: a throughput-saturated model drops out and the others are
    renormalised. If the LP is infeasible (every LCB above b, or caps summing below one) the query
    goes to the valid deployed model with the smallest LCB (``n_infeasible`` counts these queries);
    if every model with mass is saturated it goes there too (``n_saturated`` counts those).

    The router is fed the statistics the env exposes (``pulls``, ``mean_reward``, ``mean_cost``) on
    every call and keeps the bounds of the models whose pull count changed since the last call, so a
    call costs a few microseconds. The LP is re-solved only when its inputs changed; with
    ``solver="exact"`` it is first warm-started from the previous optimal basis (the set of models at
    their cap and the fractional pair, or the single fractional model when the budget is slack),
    accepted only with an exact KKT certificate (primal and dual feasibility), else solved by
    :func:`~gym_llmroute.solvers.solve_route_lp`. ``"exact-cold"`` always calls that solver,
    ``"linprog"`` calls scipy's HiGHS (for benchmarks), and a callable ``solver(u, c, caps, b) ->
    p or None`` is used as given.

    Observation-driven use (:meth:`route_obs`, :meth:`plan`) adds StageRoute's two choices beyond the
    paper's LP: ``pacing`` (the budget of both LPs is the observation's ``budget_per_query``, the
    remaining budget over the remaining queries) and ``prior`` (the price-implied cost floor of
    :func:`cost_floor`, re-estimated at every deployment, whenever the public prices change and each
    time the number of routed queries doubles).

    Parameters
    ----------
    throughput : array of shape (N,)
        Throughput caps alpha of every catalog model (public).
    budget : float
        Per-query budget b; :meth:`route` may override it per call (pacing).
    cost_range : (float, float)
        ``(c_1, c_2)`` for the LCB clip.
    gamma : float
        Confidence parameter of the reward bounds.
    rng : numpy Generator, optional
        Source of the routing draws.
    solver : {"exact", "exact-cold", "linprog"} or callable
    optimistic : bool
        Untried models get ``UCB = 1`` (default) or ``min(1, 2 gamma)`` (:func:`confidence_bounds`).
    cost_gamma : float, optional
        Confidence parameter of the cost bounds; ``gamma`` if None (the paper's single parameter).
    pacing : bool
        :meth:`route_obs` and :meth:`plan` use the pacing budget instead of ``budget`` (default False).
    margin : float
        With pacing, the LPs plan to spend ``(1 - margin)`` of the pacing budget (default 0).
    prior : float or None
        Slack ``rho`` of the price prior (:func:`cost_floor`), or None for none (default).
    safe : bool or {"route", "deploy"}
        Budget-safe exploration (default False; :meth:`route_obs` and :meth:`plan` only, which need
        ``horizon`` and ``stage_bounds``): a query goes to a model only if the slack left covers
        its worst-case cost (:func:`cost_upper_scalar`; :meth:`_guard`), and a deployment keeps a
        routing affordable under worst-case costs (:meth:`safe_plan`). ``"route"`` or
        ``"deploy"``: that half alone (the ablation). ``n_guarded`` and ``n_safe_deploys`` count
        the queries and deployments it changed.
    horizon : int, optional
        T, the episode's queries (required with ``safe``).
    stage_bounds : sequence of int, optional
        The stage boundaries ``0 = t_0 < ... < t_K = T`` (required with ``safe``).
    """

    def __init__(
        self,
        throughput,
        budget: float,
        cost_range,
        gamma: float = DEFAULT_GAMMA,
        rng: np.random.Generator | None = None,
        solver: str | Callable = "exact",
        *,
        optimistic: bool = True,
        cost_gamma: float | None = None,
        pacing: bool = False,
        margin: float = 0.0,
        prior: float | None = None,
        safe: bool | str = False,
        horizon: int | None = None,
        stage_bounds=None,
    ):
        self._safe_route, self._safe_deploy = check_safe(safe)
        self.safe = self._safe_route or self._safe_deploy
        if self.safe and (horizon is None or stage_bounds is None):
            raise ValueError("safe=True needs the horizon and the stage bounds")
        self.horizon = 0 if horizon is None else int(horizon)
        self.stage_bounds = [] if stage_bounds is None else [int(x) for x in stage_bounds]
        self.throughput = np.asarray(throughput, dtype=np.float64)
        self._alpha = self.throughput.tolist()
        self.budget = float(budget)
        self.c1, self.c2 = float(cost_range[0]), float(cost_range[1])
        self.gamma = check_gamma(gamma)
        self.cost_gamma = self.gamma if cost_gamma is None else check_gamma(cost_gamma, "cost_gamma")
        self.optimistic = bool(optimistic)
        self.pacing = bool(pacing)
        self.margin = check_margin(margin)
        self.prior = check_prior(prior)
        self.rng = np.random.default_rng() if rng is None else rng
        if callable(solver):
            self._solve_fn, self._warm = solver, False
        elif solver in ROUTE_SOLVERS:
            self._solve_fn, self._warm = ROUTE_SOLVERS[solver], solver == "exact"
        else:
            raise ValueError(f"solver must be one of {sorted(ROUTE_SOLVERS)} or a callable, got {solver!r}")
        self.solver = solver
        self.reset()

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Forget the statistics, the deployment and the cached solution; zero the counters."""
        if rng is not None:
            self.rng = rng
        n = self.throughput.size
        self._ucb = [0.0] * n
        self._lcb = [0.0] * n
        self._pulls: np.ndarray | None = None
        self._pulls_key = b""
        self._dep_key = b""
        self._D: list[int] = []
        self._of_D: Callable = _none  # list -> its entries of D (a tuple)
        self._aD: list[float] = []
        self._pos: set[int] = set()
        self._p: list[float] | None = None
        self._dirty = True
        self._b = math.nan
        self._basis = None
        self._last = -1
        self._floor = [0.0] * n
        self._price_key = b""
        self._routed = 0
        self._next_prior = 1
        self.n_infeasible = 0
        self.n_saturated = 0
        self.n_solves = 0
        self.n_warm = 0
        # Budget-safe exploration: worst-case and estimated mean cost of every model.
        self._hi = [self.c2] * n
        self._mid = [0.0] * n
        self.n_guarded = 0
        self.n_safe_deploys = 0
        self._price_cap = [self.c2] * n
        self._pool_floor = 0.0
        self._stage_end = 0
        self._fd = 0.0
        self._fd_of: list[int] | None = None
        self._fd_info: tuple[dict[int, float], float, bool] = ({}, -1.0, False)
        self._fd_exact = False
        # route_obs's routing draw: the bit generator's random_raw (PCG64), and the rng it is of.
        self._raw: Callable[[], int] | None = None
        self._raw_of: np.random.Generator | None = None

    # ------------------------------------------------------------------ statistics
    def update(self, pulls, mean_reward, mean_cost) -> None:
        """Refresh the bounds from the env's statistics (arrays of shape (N,)).

        Only models whose pull count changed are recomputed (the env changes a model's means only
        when it is routed to); a fresh episode (counts back to zero) is picked up the same way.
        """
        key = pulls.tobytes()
        if key == self._pulls_key:
            return
        last = self._last
        old = self._pulls
        if old is not None and old.dtype == pulls.dtype and last >= 0:
            # Fast path: only the model routed last changed.
            prev = old.item(last)
            old[last] = pulls.item(last)
            if old.tobytes() == key:
                self._refresh(last, pulls, mean_reward, mean_cost)
                self._pulls_key = key
                return
            old[last] = prev
        if old is None or old.dtype != pulls.dtype or old.shape != pulls.shape:
            changed: range | list[int] = range(pulls.size)
        else:
            changed = np.flatnonzero(pulls != old).tolist()
        self._pulls = np.array(pulls, copy=True)
        self._pulls_key = key
        for m in changed:
            self._refresh(m, pulls, mean_reward, mean_cost)

    def _refresh(self, m: int, pulls, mean_reward, mean_cost) -> None:
        # ``.item(m)``: the entry as a Python number without the NumPy scalar (the same value as
        # ``float(x[m])``).
        # With budget-safe exploration, the bounds and the worst-case cost come from one call
        # (bounds_upper_scalar: the cost radius computed once).
        n, mc = pulls.item(m) + 1.0, mean_cost.item(m)
        if self.safe:
            self._ucb[m], self._lcb[m], hi = bounds_upper_scalar(
                n,
                mean_reward.item(m),
                mc,
                self.gamma,
                self.cost_gamma,
                self.c1,
                self.c2,
                self.optimistic,
                self._floor[m],
                self.prior,
            )
            self._refresh_safe(m, n, mc, hi)
        else:
            self._ucb[m], self._lcb[m] = bounds_scalar(
                n,
                mean_reward.item(m),
                mc,
                self.gamma,
                self.cost_gamma,
                self.c1,
                self.c2,
                self.optimistic,
                self._floor[m],
            )
        if m in self._pos:
            self._dirty = True

    def update_prior(self, obs: dict[str, np.ndarray], force: bool = False) -> None:
        """Re-estimate the price prior's cost floors from an observation (``pulls``, ``mean_cost``,
        ``price``) if the prices changed, the routed queries doubled since the last estimate, or
        ``force``; the bounds of every model whose floor moved are refreshed. No-op without a prior."""
        if self.prior is None:
            return
        price = obs["price"]
        key = price.tobytes()
        if not (force or key != self._price_key or self._routed >= self._next_prior):
            return
        self._price_key = key
        self._next_prior = max(1, 2 * self._routed)
        pulls, mean_reward, mean_cost = obs["pulls"], obs["mean_reward"], obs["mean_cost"]
        floor = cost_floor(pulls, mean_cost, price, self.prior).tolist()
        if self.safe:
            self._set_price_caps(price, pulls, mean_reward, mean_cost)
        for m, f in enumerate(floor):
            if f != self._floor[m]:
                self._floor[m] = f
                self._refresh(m, pulls, mean_reward, mean_cost)

    @property
    def ucb(self) -> np.ndarray:
        """Current reward UCB of every model, shape (N,)."""
        return np.array(self._ucb)

    @property
    def lcb(self) -> np.ndarray:
        """Current cost LCB of every model, shape (N,)."""
        return np.array(self._lcb)

    # ------------------------------------------------------------------ LP
    def set_deployed(self, deployed) -> None:
        """Set the deployed set D from a mask of shape (N,) (nonzero = deployed)."""
        key = np.asarray(deployed).tobytes()
        if key != self._dep_key:
            self._dep_key = key
            self._D = np.flatnonzero(np.asarray(deployed) > 0.5).tolist()
            self._of_D = _entries(self._D)
            self._aD = [self._alpha[m] for m in self._D]
            self._pos = set(self._D)
            self._dirty = True
            self._basis = None

    def distribution(self, budget: float | None = None) -> tuple[list[int], list[float] | None]:
        """``(D, p)``: the deployed models and RouteOPT's distribution over them (None if the LP is
        infeasible), re-solved only if the bounds of D or the budget changed."""
        b = self.budget if budget is None else float(budget)
        if self._dirty or b != self._b:
            self._b = b
            self._dirty = False
            self._p = self._solve(b)
        return self._D, self._p

    def _solve(self, b: float) -> list[float] | None:
        D, a = self._D, self._aD
        u, c = self._of_D(self._ucb), self._of_D(self._lcb)
        if self._warm and D:
            p = None if self._basis is None else _certify(self._basis, u, c, a, b)
            if p is None:
                p, self._basis = _fill_if_affordable(u, c, a, b)
            if p is not None:
                self.n_warm += 1
                return p
        self.n_solves += 1
        p = self._solve_fn(np.array(u), np.array(c), np.array(a), b) if D else None
        if p is None:
            self._basis = None
            return None
        p = np.clip(p, 0.0, None).tolist()
        if self._warm:
            self._basis = _basis_of(p, c, a, b)
        return p

    # ------------------------------------------------------------------ routing
    def route(self, deployed, capacity_left, pulls, mean_reward, mean_cost, budget: float | None = None) -> int:
        """Route one query: refresh the bounds, solve RouteOPT (cached) and draw a model.

        ``deployed`` and ``capacity_left`` are arrays of shape (N,) (as in the observation): a
        deployed model can serve the query if its ``capacity_left > 0``. ``budget`` overrides b for
        this query (a pacing budget). Returns the model index.
        """
        return self._route(
            np.asarray(deployed), np.asarray(capacity_left), np.asarray(pulls), mean_reward, mean_cost, budget
        )

    def _route(self, deployed, capacity_left, pulls, mean_reward, mean_cost, budget) -> int:
        """:meth:`route` on NumPy arrays (the observation's), without converting them."""
        if deployed.tobytes() != self._dep_key:
            self.set_deployed(deployed)
        self.update(pulls, mean_reward, mean_cost)
        D, p = self.distribution(budget)
        capacity_left = capacity_left.tolist()
        m = -1
        if p is None:
            self.n_infeasible += 1
        else:
            m = sample_under_mask(self.rng, D, p, capacity_left)
            if m < 0:
                self.n_saturated += 1
        if m < 0:
            m = self._cheapest_valid(D, capacity_left)
        self._last = m
        self._routed += 1
        return m

    def budget_of(self, obs: dict[str, np.ndarray]) -> float:
        """The per-query budget of both LPs: with ``pacing=True`` the pacing budget
        ``obs["budget_per_query"]`` times ``1 - margin``, else the fixed b."""
        return paced_budget(obs, self.margin) if self.pacing else self.budget

    def route_obs(self, obs: dict[str, np.ndarray]) -> int:  # noqa: C901 (the per-query path, left whole for speed)
        """:meth:`route` for a route-phase observation, with the pacing budget and the price prior
        as configured."""
        # update_prior's test of whether to re-estimate, inline: most queries need not call it.
        if self.prior is not None and (self._routed >= self._next_prior or obs["price"].tobytes() != self._price_key):
            self.update_prior(obs)
        # The pacing budget of paced_budget, inline: this runs once per query.
        per_query = obs["budget_per_query"].item(0)
        b = (1.0 - self.margin) * per_query if self.pacing else self.budget
        # _route inline, with distribution's cache test and sample_under_mask's draw (the routing
        # draw of _uniform from the bit generator's bound random_raw, kept from one query to the
        # next; plain rng.random() for another bit generator).
        deployed = obs["deployed"]
        if deployed.tobytes() != self._dep_key:
            self.set_deployed(deployed)
        self.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        if self._dirty or b != self._b:
            self._b = b
            self._dirty = False
            self._p = self._solve(b)
        D, p = self._D, self._p
        # Floats (the float32 observation's tolist): compared with 0.0, the interpreter's float fast path.
        cap = obs["capacity_left"].tolist()
        m = -1
        if p is None:
            self.n_infeasible += 1
        else:
            total = 0.0
            for pk, i in zip(p, D):  # noqa: B905 (one p per model of D; a keyword costs a slow call)
                if pk > 0.0 and cap[i] > 0.0:
                    total += pk
            if total > 0.0:
                rng = self.rng
                if rng is not self._raw_of:
                    bits = rng.bit_generator
                    self._raw = bits.random_raw if type(bits) is PCG64 else None
                    self._raw_of = rng
                raw = self._raw
                r = ((raw() >> 11) * _TWO_POW_M53 if raw is not None else rng.random()) * total
                acc = 0.0
                for pk, i in zip(p, D):  # noqa: B905 (one p per model of D; a keyword costs a slow call)
                    if pk > 0.0 and cap[i] > 0.0:
                        acc += pk
                        m = i
                        if r < acc:
                            break
            if m < 0:
                self.n_saturated += 1
        if m < 0:
            m = self._cheapest_valid(D, cap)
        self._last = m
        self._routed += 1
        if not self._safe_route:
            return m
        # _guard's first test inline: most queries end here. Its slack is slack(obs, exact=False),
        # inline too, with the budget per query read above (round() of a float is an int already).
        horizon = self.horizon
        left = horizon - round(obs["time"].item(0) * horizon)
        t = horizon - left
        end = self._stage_end
        if t >= end:
            self._pool_floor = self._floor_cost(np.flatnonzero(obs["available"] > 0.5).tolist())
            bounds = self.stage_bounds
            end = self._stage_end = bounds[min(bisect.bisect_right(bounds, t), len(bounds) - 1)]
        q = end - t if end - t < left else left
        if q < 1:
            q = 1
        fd = self._fd if self._fd_of is self._D else self._floor_of_deployed(False)
        s = per_query * (left if left > 1 else 1) - (q - 1) * fd - (left - q) * self._pool_floor
        if self._hi[m] <= s - 1e-9 * (abs(s) + 1.0):
            return m
        return self._guard(m, obs, b)

    def plan(self, obs: dict[str, np.ndarray], max_deployed: int, budget: float | None = None) -> DeployPlan:
        """DeployOPT (:func:`deploy_opt`) for a deploy-phase observation: the current bounds (price
        prior re-estimated) and the budget of :meth:`budget_of` unless ``budget`` is given."""
        self.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        self.update_prior(obs, force=True)
        b = self.budget_of(obs) if budget is None else budget
        plan = deploy_opt(self.ucb, self.lcb, self.throughput, b, max_deployed, obs["available"] > 0.5)
        return self.safe_plan(plan, obs, max_deployed) if self._safe_deploy else plan

    # ------------------------------------------------------------------ budget-safe exploration
    def _set_price_caps(self, price, pulls, mean_reward, mean_cost) -> None:
        """A priori worst-case costs from the public prices alone, for budget-safe exploration before
        the price prior's scale kappa is known: the priciest model costs at most ``c_2``, so with
        the prior's slack ``kappa <= c_2 / ((1 - rho) price_max)`` and a model costs at most
        ``c_2 price / ((1 - rho)^2 price_max)``. Refreshes the models whose cap moved."""
        assert self.prior is not None
        price = np.asarray(price, dtype=np.float64)
        top = float(price.max()) if price.size else 0.0
        caps = [self.c2] * price.size
        if top > 0.0:
            scale = self.c2 / (top * (1.0 - self.prior) ** 2)
            caps = [min(self.c2, scale * p) if p > 0.0 else self.c2 for p in price.tolist()]
        for m, c in enumerate(caps):
            if c != self._price_cap[m]:
                self._price_cap[m] = c
                self._refresh(m, pulls, mean_reward, mean_cost)

    def _refresh_safe(self, m: int, n: float, mc: float, hi: float | None = None) -> None:
        """Worst-case cost (:func:`cost_upper_scalar`, unless given as ``hi``) and estimated mean
        cost of model m: the empirical mean if tried, the price prior's ``kappa price`` if untried
        with a known price, else -1 (unknown)."""
        floor = self._floor[m]
        if hi is None:
            hi = cost_upper_scalar(n, mc, self.cost_gamma, self.c2, floor, self.prior)
        if n == 1.0 and self._price_cap[m] < hi:
            hi = self._price_cap[m]
        self._hi[m] = hi
        old = self._mid[m]
        if n > 1.0:
            new = mc
        else:
            prior_mean = floor / (1.0 - self.prior) if self.prior is not None else 0.0
            new = prior_mean if prior_mean > 0.0 else -1.0
        self._mid[m] = new
        # The cached floor of D (:meth:`_floor_of_deployed`): if m carries mass in its routing, that
        # routing's cost at the new estimate (still an upper bound of the floor); if m's estimate now
        # undercuts the dearest model carrying mass, the floor may be lower (the cache stays an
        # upper bound); if the mass left is priced at the LCB of models of unknown cost and m is one,
        # the cache is dropped.
        if self._fd_of is not None and m in self._pos:
            takes, top, rest = self._fd_info
            take = takes.get(m)
            if take is not None:
                if old >= 0.0 and new >= 0.0:
                    self._fd += take * (new - old)
                    self._fd_exact = False
                else:
                    self._fd_of = None
            elif 0.0 <= new <= top:
                self._fd_exact = False
            elif rest and old < 0.0:
                self._fd_of = None

    def _floor_cost(self, models) -> float:
        """The estimated cheapest per-query routing over ``models``: the caps of those with an
        estimated cost filled by increasing estimate, the mass they cannot carry at the smallest
        cost LCB of the others (optimistic: a fresh deployment is not blocked), or at ``c_2``."""
        return self._floor_fill(models)[0]

    def _floor_fill(self, models) -> tuple[float, tuple[dict[int, float], float, bool]]:
        """:meth:`_floor_cost` and what it depends on: the mass of each model carrying some, the
        largest estimate among them, and whether the mass left went to the LCB of the models of
        unknown cost."""
        mid, alpha = self._mid, self._alpha
        mass, cost = 1.0, 0.0
        takes: dict[int, float] = {}
        top = -1.0
        for c, i in sorted((mid[i], i) for i in models if mid[i] >= 0.0):
            take = alpha[i] if alpha[i] < mass else mass
            cost += c * take
            mass -= take
            takes[i] = take
            top = c
            if mass <= 0.0:
                return cost, (takes, top, False)
        rest = [self._lcb[i] for i in models if mid[i] < 0.0]
        return cost + mass * (min(rest) if rest else self.c2), (takes, top, True)

    def _floor_of_deployed(self, exact: bool = True) -> float:
        """:meth:`_floor_cost` of the deployed set, cached; with ``exact=False`` possibly an upper
        bound of it (the cost of the last cheapest routing at the current estimates)."""
        if self._fd_of is not self._D or (exact and not self._fd_exact):
            self._fd, self._fd_info = self._floor_fill(self._D)
            self._fd_of = self._D
            self._fd_exact = True
        return self._fd

    def _deficit_pick(self, cap: list[float], left: int) -> int:
        """The model for a query whose slack covers no deployed model: the valid model with the
        smallest estimated cost, unless trying one of unknown cost could pay for itself: if, were
        its cost its LCB, the cheapest routing of the models with an estimate would fall by more
        than its worst-case cost over the queries left, the one with the largest such saving (the
        way out of a deployment whose known routing is too dear). -1 if no deployed model is
        valid."""
        mid, lcb, alpha, hi = self._mid, self._lcb, self._alpha, self._hi
        tried = [(mid[i], alpha[i]) for i in self._D if mid[i] >= 0.0]
        known = _fill(tried, self.c2)
        best, gain = -1, 0.0
        for i in self._D:
            if mid[i] < 0.0 and cap[i] > 0:
                g = (known - _fill([*tried, (lcb[i], alpha[i])], self.c2)) * (left - 1) - hi[i]
                if g > gain:
                    best, gain = i, g
        if best >= 0:
            return best
        valid = [i for i in self._D if cap[i] > 0]
        if not valid:
            return -1
        return min(valid, key=lambda i: (mid[i] < 0.0, mid[i] if mid[i] >= 0.0 else lcb[i], i))

    def _queries_left(self, obs: dict[str, np.ndarray]) -> tuple[int, float]:
        """``(T - t, B - spent)`` from an observation."""
        left = self.horizon - int(round(float(obs["time"][0]) * self.horizon))
        return left, float(obs["budget_per_query"][0]) * max(left, 1)

    def slack(self, obs: dict[str, np.ndarray], exact: bool = True, reserve: float = 0.0) -> float:
        """The budget left beyond the estimated cheapest routing of every query after this one:
        ``(B - spent) - (q - 1) f(D) - (T - t - q) f(P)``, with q the queries left in this stage
        (this one included), served by the deployed set D, and the later ones by the current pool
        P (:meth:`_floor_cost` of each; the pool's floor is taken once per stage).

        The stage is the one query t falls in; the floor of the pool is taken at its first query.
        ``exact=False`` may return less (a lower bound, from a cached upper bound of f(D)).
        ``reserve``: each query after this stage is priced at ``max(f(P), reserve)`` (0, the
        default, is f(P): costs are never negative)."""
        # _queries_left and the cached case of _floor_of_deployed inline (this runs once per query);
        # ``.item(0)`` is ``float(x[0])`` without the NumPy scalar.
        horizon = self.horizon
        left = horizon - int(round(obs["time"].item(0) * horizon))
        remaining = obs["budget_per_query"].item(0) * (left if left > 1 else 1)
        t = horizon - left
        end = self._stage_end
        if t >= end:
            self._pool_floor = self._floor_cost(np.flatnonzero(obs["available"] > 0.5).tolist())
            bounds = self.stage_bounds
            end = self._stage_end = bounds[min(bisect.bisect_right(bounds, t), len(bounds) - 1)]
        q = end - t if end - t < left else left
        if q < 1:
            q = 1
        if self._fd_of is self._D and (self._fd_exact or not exact):
            fd = self._fd
        else:
            fd = self._floor_of_deployed(exact)
        later = self._pool_floor if self._pool_floor >= reserve else reserve
        return remaining - (q - 1) * fd - (left - q) * later

    def _guard(self, m: int, obs: dict[str, np.ndarray], b: float | None) -> int:
        """Budget-safe exploration for one query: keep the drawn model m if the slack covers its
        worst-case cost; else redraw from RouteOPT restricted to the deployed models whose
        worst-case cost the slack covers (the one with the smallest worst-case cost if that LP is
        infeasible). If the slack covers no valid deployed model (the estimated floor is already
        unaffordable), :meth:`_deficit_pick` routes the query. (:meth:`route_obs` makes the first
        test itself and calls this only if it fails; the slack's lower bound is the same again.)"""
        hi = self._hi
        s = self.slack(obs, exact=False)  # a lower bound: enough to keep m in most queries
        if hi[m] <= s - 1e-9 * (abs(s) + 1.0):
            return m
        s = self.slack(obs)
        if hi[m] <= s:
            return m
        cap = np.asarray(obs["capacity_left"]).tolist()
        safe = [i for i in self._D if hi[i] <= s and cap[i] > 0]
        pick = -1
        if safe:
            b = self.budget if b is None else b
            p = self._solve_fn(
                np.array([self._ucb[i] for i in safe]),
                np.array([self._lcb[i] for i in safe]),
                np.array([self._alpha[i] for i in safe]),
                b,
            )
            if p is not None:
                pick = sample_under_mask(self.rng, safe, np.clip(p, 0.0, None).tolist(), cap)
            if pick < 0:
                pick = min(safe, key=lambda i: (hi[i], i))
        else:
            pick = self._deficit_pick(cap, self._queries_left(obs)[0])
        if pick < 0 or pick == m:
            return m
        self.n_guarded += 1
        self._last = pick
        return pick

    def safe_plan(self, plan: DeployPlan, obs: dict[str, np.ndarray], max_deployed: int) -> DeployPlan:
        """A budget-safe deployment: DeployOPT's ``plan`` if the slack covers serving the whole stage
        at its cheapest routing under worst-case costs; else, if the pool has a routing cheaper
        under worst-case costs than the plan's, the cheapest one takes the slots it needs and
        DeployOPT's models (in its order) the rest.

        The slack here is the budget left beyond the estimated cheapest routing of the pool
        (:meth:`_floor_cost`) for the queries after this stage."""
        models = list(plan.models)
        if not models:
            return plan
        length, s = self._stage_room(obs)
        pool = np.flatnonzero(obs["available"] > 0.5)
        hi, alpha = np.array(self._hi), self.throughput
        d = np.array(models)
        own = solve_deploy(-hi[d], hi[d], alpha[d], math.inf, max_deployed)
        f_own = -own.value if own.feasible else math.inf
        if length * f_own <= s:
            return plan
        cheap = solve_deploy(-hi[pool], hi[pool], alpha[pool], math.inf, max_deployed)
        if not cheap.feasible or -cheap.value >= f_own - 1e-12:
            return plan
        assert cheap.d is not None
        carry = cheap.d > 1e-12
        keep = [int(m) for m in pool[carry][np.lexsort((pool[carry], -cheap.d[carry]))]]
        keep += [m for m in models if m not in keep][: max(len(models) - len(keep), 0)]
        self.n_safe_deploys += 1
        return DeployPlan(tuple(keep), plan.feasible, plan.value)

    def _cheapest_valid(self, D: list[int], capacity_left: list[float]) -> int:
        """The valid deployed model with the smallest LCB (ties: lowest index); -1 if none."""
        best, best_c = -1, math.inf
        for i in D:
            if capacity_left[i] > 0 and self._lcb[i] < best_c:
                best, best_c = i, self._lcb[i]
        return best

    # ------------------------------------------------------------------ the rule for another policy
    @property
    def worst_case_cost(self) -> list[float]:
        """Every model's worst-case cost under budget-safe exploration (:meth:`_refresh_safe`: the
        cost UCB if tried, else ``c_2`` or the price prior's bound); a copy."""
        return list(self._hi)

    def covered(self, obs: dict[str, np.ndarray], reserve: float = 0.0) -> list[int]:
        """The deployed models budget-safe exploration lets serve this route-phase query, whoever
        chooses among them: those below their cap whose worst-case cost the :meth:`slack` covers;
        if none, the one :meth:`_deficit_pick` takes (empty only if no deployed model is below its
        cap). The statistics and the price prior are refreshed from ``obs`` first, as
        :meth:`route_obs` does. Needs ``safe``.

        ``reserve``: a per-query cost kept for every query after this stage at the least, where
        the slack prices them at the pool's estimated floor (0: StageRoute's rule)."""
        if not self.safe:
            raise ValueError("covered() needs a router built with safe=True")
        self.set_deployed(obs["deployed"])
        self.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        self.update_prior(obs)
        self._routed += 1
        self._last = -1  # the model served is not known here: the next update compares every count
        s = self.slack(obs, reserve=reserve)
        cap = obs["capacity_left"].tolist()
        hi = self._hi
        ok = [i for i in self._D if cap[i] > 0 and hi[i] <= s]
        if ok:
            return ok
        pick = self._deficit_pick(cap, self._queries_left(obs)[0])
        return [pick] if pick >= 0 else []

    def stage_slack(self, obs: dict[str, np.ndarray], reserve: float = 0.0) -> tuple[int, float]:
        """For a deploy-phase observation: ``(length, s)``, the queries of the coming stage and
        the budget left beyond the estimated cheapest routing of the pool for the queries after it
        (what :meth:`safe_plan` compares a deployment's worst-case routing with), each of them
        priced at ``reserve`` at the least. The statistics and the price prior are refreshed from
        ``obs`` first, as :meth:`plan` does."""
        self.update(obs["pulls"], obs["mean_reward"], obs["mean_cost"])
        self.update_prior(obs, force=True)
        return self._stage_room(obs, reserve)

    def _stage_room(self, obs: dict[str, np.ndarray], reserve: float = 0.0) -> tuple[int, float]:
        """:meth:`stage_slack` at the current bounds (costs are never negative, so ``reserve=0``
        is the pool's floor alone)."""
        left, remaining = self._queries_left(obs)
        K = len(self.stage_bounds) - 1
        k = min(max(int(round(float(obs["stage"][0]) * K)), 0), K - 1)
        length = min(self.stage_bounds[k + 1] - self.stage_bounds[k], left)
        pool = np.flatnonzero(obs["available"] > 0.5).tolist()
        return length, remaining - (left - length) * max(self._floor_cost(pool), reserve)


def check_safe(safe) -> tuple[bool, bool]:
    """Validate a budget-safe exploration setting (True, False, ``"route"`` or ``"deploy"``):
    ``(guard the routing, guard the deployments)``."""
    if isinstance(safe, (bool, np.bool_)):
        return bool(safe), bool(safe)
    if safe in ("route", "deploy"):
        return safe == "route", safe == "deploy"
    raise ValueError(f"safe_explore must be True, False, 'route' or 'deploy', got {safe!r}")


def paced_budget(obs: dict[str, np.ndarray], margin: float = 0.0) -> float:
    """The pacing budget of an observation, ``(1 - margin) (B - spent) / (T - t)``."""
    return (1.0 - margin) * float(obs["budget_per_query"][0])


def stageroute_router(
    scenario, gamma: float = DEFAULT_GAMMA, rng: np.random.Generator | None = None, n_slots: int | None = None
) -> OptimisticRouter:
    """The router of StageRoute's defaults for a scenario: optimistic start, paced budget with
    :data:`DEFAULT_MARGIN`, price prior with slack :data:`DEFAULT_PRIOR` (what the single-level
    views' fixed StageRoute router and deployer use). ``n_slots``: the model slots of a padded env
    (padded slots get throughput 0)."""
    throughput = np.zeros(scenario.n_models if n_slots is None else n_slots)
    throughput[: scenario.n_models] = scenario.throughput
    return OptimisticRouter(
        throughput,
        scenario.budget,
        scenario.cost_range,
        gamma,
        rng,
        cost_gamma=DEFAULT_COST_GAMMA,
        pacing=True,
        margin=DEFAULT_MARGIN,
        prior=DEFAULT_PRIOR,
    )


def _none(values) -> tuple:
    return ()


def _entries(D: list[int]) -> Callable:
    """A function that returns the entries ``D`` of a list as a tuple (``itemgetter``, which
    returns a bare item for a single index)."""
    if len(D) == 1:
        m = D[0]
        return lambda values: (values[m],)
    return itemgetter(*D) if D else _none


def _fill_if_affordable(u: Sequence[float], c: Sequence[float], a: Sequence[float], b: float):
    """The LP optimum when the budget is slack: fill the caps by decreasing value (ties: cheaper,
    then lower index), as the exact solver does first; ``(p, basis)`` if that fill is affordable,
    else ``(None, None)``. Plain floats: for the handful of deployed models this beats NumPy."""
    n = len(u)
    p = [0.0] * n
    mass = 1.0
    cost = 0.0
    at_cap = []
    last = -1
    for k in sorted(range(n), key=lambda k: (-u[k], c[k], k)):
        if mass <= 0.0:
            break
        take = a[k] if a[k] < mass else mass
        p[k] = take
        cost += c[k] * take
        mass -= take
        if last >= 0:
            at_cap.append(last)
        last = k
    if mass > 1e-9 or cost > b + 1e-9 * max(1.0, abs(b)):
        return None, None
    return p, ("slack", at_cap, last, _zeros(n, at_cap, (last,)))


def _basis_of(p: list[float], c: Sequence[float], a: Sequence[float], b: float):
    """The optimal basis of a route-LP solution, for a warm start, or None if degenerate.

    ``("pair", at_cap, i, j, zeros)``: budget binding, models ``at_cap`` at their cap, i and j
    fractional and the models ``zeros`` at zero. ``("slack", at_cap, f, zeros)``: budget slack, f the
    last model filled.
    """
    n = len(p)
    at_cap = [k for k in range(n) if p[k] >= a[k] - _EPS]
    frac = [k for k in range(n) if _EPS < p[k] < a[k] - _EPS]
    cost = sum(ck * pk for ck, pk in zip(c, p, strict=True))
    if cost < b - 1e-9 * max(1.0, abs(b)):
        if len(frac) == 1:
            return ("slack", at_cap, frac[0], _zeros(n, at_cap, frac))
        if not frac and at_cap:
            f = at_cap.pop()
            return ("slack", at_cap, f, _zeros(n, at_cap, (f,)))
        return None
    if len(frac) == 2:
        return ("pair", at_cap, frac[0], frac[1], _zeros(n, at_cap, frac))
    return None


def _zeros(n: int, at_cap: list[int], basic) -> list[int]:
    """The models of a basis at zero: neither at their cap nor basic."""
    return [k for k in range(n) if k not in at_cap and k not in basic]


def _certify(basis, u: Sequence[float], c: Sequence[float], a: Sequence[float], b: float) -> list[float] | None:
    """The optimal solution of the route LP with basis ``basis``, if that basis is still optimal
    for ``(u, c, a, b)`` (checked by primal and dual feasibility: a KKT certificate), else None."""
    at_cap = basis[1]
    mass = 1.0
    spend = b
    p = [0.0] * len(u)
    for k in at_cap:
        ak = a[k]
        mass -= ak
        spend -= c[k] * ak
        p[k] = ak
    if basis[0] == "pair":
        i, j = basis[2], basis[3]
        dc = c[i] - c[j]
        if dc == 0.0:
            return None
        pi = (spend - c[j] * mass) / dc
        pj = mass - pi
        if not (-_EPS <= pi <= a[i] + _EPS and -_EPS <= pj <= a[j] + _EPS):
            return None
        lam = (u[i] - u[j]) / dc
        if lam < 0.0:
            return None
        nu = u[i] - lam * c[i]
        # min(max(x, 0), cap) as conditional expressions (the same values, a fraction of the cost).
        pi = 0.0 if 0.0 > pi else pi
        pj = 0.0 if 0.0 > pj else pj
        p[i] = a[i] if a[i] < pi else pi
        p[j] = a[j] if a[j] < pj else pj
    else:
        f = basis[2]
        if not -_EPS <= mass <= a[f] + _EPS:
            return None
        if b - spend + c[f] * mass > b + 1e-9 * max(1.0, abs(b)):
            return None
        lam = 0.0
        nu = u[f]
        p[f] = min(max(mass, 0.0), a[f])
    # Dual feasibility: the reduced scores of the models at their cap are at least nu, those at zero
    # at most nu.
    low, high = nu - _EPS, nu + _EPS
    for k in at_cap:
        if u[k] - lam * c[k] < low:
            return None
    for k in basis[-1]:
        if u[k] - lam * c[k] > high:
            return None
    return p


def _fill(costs: list[tuple[float, float]], rest: float) -> float:
    """Cost of the cheapest routing over ``(cost, cap)`` pairs (fill the caps by increasing cost);
    the mass the caps cannot carry is priced at ``rest``."""
    mass, total = 1.0, 0.0
    for c, a in sorted(costs):
        take = a if a < mass else mass
        total += c * take
        mass -= take
        if mass <= 0.0:
            return total
    return total + mass * rest
