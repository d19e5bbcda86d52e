"""DeployOPT of StageRoute: the deployment MILP with the optimistic bounds (docs/stageroute.md).

The MILP itself is a pure solver of the env package (:func:`gym_llmroute.solvers.solve_deploy`, which
the env's stage oracle also uses); this module adds StageRoute's choices around it: the pool of
available models, the cheapest fallback when the bounds make it infeasible, and the leftover slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gym_llmroute.solvers import solve_deploy

__all__ = ["DeployPlan", "deploy_opt"]


@dataclass(frozen=True)
class DeployPlan:
    """A deployment chosen by :func:`deploy_opt`.

    ``models``: model indices to deploy, those carrying routing mass first (by decreasing mass), then
    the leftover slots by decreasing UCB. ``feasible``: False if DeployOPT had no solution under the
    bounds and the cheapest deployment by LCB was used instead. ``value``: DeployOPT's optimum.
    """

    models: tuple[int, ...]
    feasible: bool
    value: float


def _rank(ucb: np.ndarray, lcb: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` ordered by UCB descending, then LCB ascending, then index."""
    return idx[np.lexsort((idx, lcb[idx], -ucb[idx]))]


def deploy_opt(ucb, lcb, throughput, budget: float, max_deployed: int, available) -> DeployPlan:
    """DeployOPT of StageRoute: the deployment MILP with the optimistic bounds, leftover slots filled.

    Solves ``max sum UCB d  s.t.  sum LCB d <= budget, sum d = 1, 0 <= d <= alpha z,
    sum z = k`` over the available models with ``k = min(max_deployed, |pool|)``
    (:func:`~gym_llmroute.solvers.solve_deploy`: exact enumeration or HiGHS). The models with
    ``d > 0`` are deployed and the remaining of the k slots go to the highest UCB (ties: lower LCB,
    then lower index), so untried models get in. If the MILP is infeasible under the bounds (every
    mix costs more than the budget by LCB), the k slots go to the cheapest deployment by LCB that
    meets the throughput caps, completed the same way, and ``feasible`` is False.
    """
    ucb = np.asarray(ucb, dtype=np.float64)
    lcb = np.asarray(lcb, dtype=np.float64)
    alpha = np.asarray(throughput, dtype=np.float64)
    pool = np.flatnonzero(np.asarray(available, dtype=bool))
    if pool.size == 0:
        return DeployPlan((), False, -np.inf)
    k = min(int(max_deployed), pool.size)
    sol = solve_deploy(ucb[pool], lcb[pool], alpha[pool], budget, k)
    feasible = sol.feasible
    if not feasible:  # cheapest mix by LCB: maximise -LCB with no budget row
        sol = solve_deploy(-lcb[pool], lcb[pool], alpha[pool], np.inf, k)
    if not sol.feasible:  # the caps of any k models sum below one: nothing is feasible
        return DeployPlan(tuple(int(m) for m in _rank(ucb, lcb, pool)[:k]), False, -np.inf)
    d = sol.d
    assert d is not None  # feasible
    carry = d > 1e-12
    chosen = pool[carry][np.lexsort((pool[carry], -d[carry]))]
    rest = _rank(ucb, lcb, pool[~carry])[: k - chosen.size]
    value = sol.value if feasible else -np.inf
    return DeployPlan(tuple(int(m) for m in np.concatenate([chosen, rest])), feasible, float(value))
