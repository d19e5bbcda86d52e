"""The stage oracle: the best deployment and routing per stage, knowing the true means.

At each stage k the oracle deploys the best ``<= M_max`` models of the candidate pool ``P_k`` and
routes with the optimal randomised policy (docs/stageroute.md)::

    V*(P) = max_d sum_m mu_m d_m   s.t.  sum_m c_m d_m <= b,  sum_m d_m = 1,  0 <= d_m <= alpha_m,
                                        |supp d| <= M_max,  d_m = 0 for m not in P

With task-typed queries the routing has one distribution ``d_j`` per task type j, weighted by the
task mix w: the value and the cost are averaged over types, the budget and the throughput caps are
shared (``sum_j w_j d_jm <= alpha_m``), and a model is deployed if any type uses it.

Pseudo-regret of a run is ``sum_k L_k V*_k - sum_t mu_{m_t}(task_t)``. The oracle depends only on the
scenario, so it is solved once per scenario (and once per distinct pool) and cached.

Non-stationary scenarios (price changes, quality drift) are solved per stage with the stage's means
(``scenario.stage_quality`` and ``scenario.stage_cost``): the averages over the stage's queries, so
that a price change inside a stage counts for the queries after it. These are the exact expected
reward and spend of a routing distribution held fixed over the stage, which is what the oracle plays;
the pseudo-regret of a routed query then uses the routed model's stage mean too.

This module knows nothing of :class:`~gym_llmroute.scenario.Scenario`: it reads the arrays of an
:class:`OracleProblem` (which a scenario is), and the scenario solves its own oracle
(``Scenario.oracle``) by calling :func:`stage_oracle` on itself. The dependency goes one way,
scenario -> oracle -> solvers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .solvers import solve_deploy, solve_typed_deploy, undominated

__all__ = ["OracleProblem", "StageOracle", "stage_oracle", "solve_pool"]

# Supports the oracle enumerates before it hands a pool to the branch and bound (solve_deploy_bb):
# enumeration costs ~12 us per support, the branch and bound ~0.5 ms a pool of generated worlds.
ORACLE_ENUM = 50


class OracleProblem(Protocol):
    """What the oracle reads of a world (a :class:`~gym_llmroute.scenario.Scenario` has all of it)."""

    @property
    def n_stages(self) -> int: ...
    @property
    def n_models(self) -> int: ...
    @property
    def n_tasks(self) -> int: ...
    @property
    def budget(self) -> float: ...
    @property
    def max_deployed(self) -> int: ...
    @property
    def stationary(self) -> bool: ...
    @property
    def availability(self) -> np.ndarray: ...
    @property
    def throughput(self) -> np.ndarray: ...
    @property
    def task_weights(self) -> np.ndarray: ...
    @property
    def quality_matrix(self) -> np.ndarray: ...
    @property
    def cost_matrix(self) -> np.ndarray: ...
    @property
    def stage_quality(self) -> np.ndarray: ...
    @property
    def stage_cost(self) -> np.ndarray: ...
    @property
    def stage_lengths(self) -> np.ndarray: ...


@dataclass(frozen=True)
class StageOracle:
    """Per-stage oracle solution.

    Attributes
    ----------
    values : ndarray, shape (K,)
        V*_k, the oracle's expected reward per query in stage k (``-inf`` if infeasible).
    deployed : ndarray of bool, shape (K, N)
        The oracle's deployment per stage (the models that carry routing mass).
    routing : ndarray, shape (K, n_tasks, N)
        The oracle's routing distribution per stage and task type.
    total : float
        ``sum_k L_k V*_k``: the oracle's expected total reward over the horizon.
    """

    values: np.ndarray
    deployed: np.ndarray
    routing: np.ndarray
    total: float


def solve_pool(scenario: OracleProblem, pool: np.ndarray, quality=None, cost=None) -> tuple[float, np.ndarray]:
    """V* and the routing (n_tasks, N) for one candidate pool, with the given (n_tasks, N) means
    (default: the scenario's stationary means)."""
    quality = scenario.quality_matrix if quality is None else quality
    cost = scenario.cost_matrix if cost is None else cost
    N, J = scenario.n_models, scenario.n_tasks
    routing = np.zeros((J, N))
    if pool.size == 0:
        return -np.inf, routing
    if J == 1:
        pool = candidates(scenario, pool, quality, cost)
    caps = scenario.throughput[pool]
    if J == 1:
        sol = solve_deploy(
            quality[0, pool], cost[0, pool], caps, scenario.budget, scenario.max_deployed, ORACLE_ENUM, "bb"
        )
        if not sol.feasible:
            return -np.inf, routing
        routing[0, pool] = sol.d
        return sol.value, routing
    value, d = solve_typed_deploy(
        quality[:, pool],
        cost[:, pool],
        scenario.task_weights,
        caps,
        scenario.budget,
        scenario.max_deployed,
    )
    if d is None:
        return -np.inf, routing
    routing[:, pool] = d
    return value, routing


def candidates(scenario: OracleProblem, pool: np.ndarray, quality=None, cost=None) -> np.ndarray:
    """The models of ``pool`` that an optimal untyped deployment may need: those dominated by fewer
    than M_max others in (quality, cost, cap) (:func:`gym_llmroute.solvers.undominated`; exact)."""
    quality = scenario.quality_matrix if quality is None else quality
    cost = scenario.cost_matrix if cost is None else cost
    return pool[undominated(quality[0, pool], cost[0, pool], scenario.throughput[pool], scenario.max_deployed)]


def stage_oracle(scenario: OracleProblem) -> StageOracle:
    """Solve the oracle of every stage of ``scenario`` (one solve per distinct candidate pool; in
    untyped worlds, per distinct pool of :func:`candidates`)."""
    K, N, J = scenario.n_stages, scenario.n_models, scenario.n_tasks
    values = np.empty(K)
    routing = np.zeros((K, J, N))
    cache: dict[bytes, tuple[float, np.ndarray]] = {}
    stationary = scenario.stationary
    for k in range(K):
        avail = scenario.availability[k]
        key = avail.tobytes()
        if stationary:
            pool = np.flatnonzero(avail)
            if J == 1 and pool.size:
                pool = candidates(scenario, pool)
                key = pool.tobytes()
            if key not in cache:
                cache[key] = solve_pool(scenario, pool)
        else:
            q, c = scenario.stage_quality[k], scenario.stage_cost[k]
            key += q.tobytes() + c.tobytes()
            if key not in cache:
                cache[key] = solve_pool(scenario, np.flatnonzero(avail), q, c)
        values[k], routing[k] = cache[key]
    deployed = routing.max(axis=1) > 1e-12
    total = float(values @ scenario.stage_lengths) if np.all(np.isfinite(values)) else -np.inf
    for a in (values, routing, deployed):
        a.flags.writeable = False
    return StageOracle(values=values, deployed=deployed, routing=routing, total=total)
