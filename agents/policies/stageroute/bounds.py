"""StageRoute's confidence bounds, price prior and default parameters (docs/stageroute.md).

Confidence bounds (the bandits-with-knapsacks radius)::

    f_g(v, n) = sqrt(g * v / n) + g / n,                    n = N_m + 1
    UCB_m     = clip(mean_reward_m + 2 f_gamma(mean_reward_m, n), 0, 1)
    LCB_m     = clip(mean_cost_m   - 2 f_cost_gamma(mean_cost_m, n), c_1, c_2)

with one confidence parameter for rewards (``gamma``) and one for costs (``cost_gamma``; the paper
has one for both, which ``cost_gamma=None`` gives back). Rewards are Bernoulli in [0, 1], and with a
small gamma one unlucky zero condemns a model (``UCB = gamma`` after a single zero reward); costs are
in the world's own units, where a large gamma keeps every little-tried model looking cheap.

A model never tried has ``UCB = 1`` and ``LCB = c_1`` (maximal optimism; ``optimistic=False`` gives
the radius at ``N = 0`` instead, ``UCB = min(1, 2 gamma)``, kept for the ablation).

Price prior (:func:`cost_floor`): prices are public, and a query's cost is its token counts times the
model's price, so ``cost_m ~ kappa * price_m`` with one scale ``kappa`` (the tokens of a typical
query) that the data of the models already tried estimate. With a prior slack ``rho`` the cost LCB is
raised to the floor ``(1 - rho) kappa price_m`` unless the data refute it (the cost UCB
``mean_cost_m + 2 f`` lies below the floor): the larger of two lower bounds is a lower bound.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DEFAULT_GAMMA",
    "DEFAULT_COST_GAMMA",
    "DEFAULT_PRIOR",
    "DEFAULT_MARGIN",
    "check_gamma",
    "check_prior",
    "check_margin",
    "confidence_radius",
    "confidence_bounds",
    "cost_floor",
    "bounds_scalar",
    "cost_upper_scalar",
    "bounds_upper_scalar",
]

#: Default confidence parameters of StageRoute and the agents built on its bounds, for the reward and
#: the cost radius (chosen by the sweeps of benchmarks/stageroute_ablation.py on seeds 0-4, confirmed
#: on 20 other seeds; docs/stageroute.md).
DEFAULT_GAMMA = 1.0
DEFAULT_COST_GAMMA = 0.02
#: Default slack of the price prior (:func:`cost_floor`): a model's cost is at least 75% of its
#: price-implied cost (chosen by the ablation of docs/stageroute.md over 0.5 and 0.25).
DEFAULT_PRIOR = 0.25
#: Default margin of the paced budget: both LPs plan to spend ``(1 - margin) b_t``. The LCB-priced
#: LPs overspend their plan while models are little tried, and pacing alone corrects that only as
#: fast as queries remain; the margin tilts spending a little towards the end, where the budget
#: left is returned (the spend of the last queries is ``(1 - margin)`` of all that is left).
DEFAULT_MARGIN = 0.05


def check_gamma(gamma, name: str = "gamma") -> float:
    """Validate a confidence parameter: a finite number > 0."""
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0.0 < gamma < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {gamma!r}")
    return float(gamma)


def check_prior(prior) -> float | None:
    """Validate a price-prior slack: None (no prior) or a number in [0, 1)."""
    if prior is None:
        return None
    if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not 0.0 <= prior < 1.0:
        raise ValueError(f"cost_prior must be None (no price prior) or a slack in [0, 1), got {prior!r}")
    return float(prior)


def check_margin(margin) -> float:
    """Validate a pacing margin: a number in [0, 1)."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0.0 <= margin < 1.0:
        raise ValueError(f"pacing_margin must be a number in [0, 1), got {margin!r}")
    return float(margin)


def confidence_radius(v, n, gamma: float):
    """The radius ``f(v, n) = sqrt(gamma * v / n) + gamma / n`` (elementwise; ``v >= 0``, ``n > 0``)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    return np.sqrt(gamma * np.maximum(v, 0.0) / n) + gamma / n


def confidence_bounds(
    pulls,
    mean_reward,
    mean_cost,
    gamma: float,
    cost_range,
    *,
    cost_gamma: float | None = None,
    optimistic: bool = True,
    floor=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reward UCB and cost LCB of every model, as in docs/stageroute.md.

    Parameters
    ----------
    pulls, mean_reward, mean_cost : arrays of shape (N,)
        Times each model was routed to, and its empirical mean reward and cost (0 if never routed).
    gamma : float
        Confidence parameter of the reward radius (> 0).
    cost_range : (float, float)
        ``(c_1, c_2)``, the range of per-query costs; the LCB is clipped to it.
    cost_gamma : float, optional
        Confidence parameter of the cost radius (> 0); ``gamma`` if None.
    optimistic : bool
        True (default): an untried model has ``UCB = 1``. False: the radius at ``N = 0``,
        ``UCB = min(1, 2 gamma)`` (the ablation's "untried UCB = 2 gamma").
    floor : array of shape (N,), optional
        Price-implied cost floor (:func:`cost_floor`): the LCB is raised to it unless the data
        refute it (``mean_cost + 2 f < floor`` for a tried model).

    Returns
    -------
    (ucb, lcb) : two float64 arrays of shape (N,)
        ``ucb`` in [0, 1] and ``lcb`` in ``[c_1, c_2]``, with ``n = pulls + 1`` in the radius.
    """
    n = np.asarray(pulls, dtype=np.float64) + 1.0
    mr = np.asarray(mean_reward, dtype=np.float64)
    mc = np.asarray(mean_cost, dtype=np.float64)
    ucb = np.clip(mr + 2.0 * confidence_radius(mr, n, gamma), 0.0, 1.0)
    rc = 2.0 * confidence_radius(mc, n, gamma if cost_gamma is None else cost_gamma)
    lcb = np.clip(mc - rc, cost_range[0], cost_range[1])
    untried = n == 1.0
    if optimistic:
        ucb = np.where(untried, 1.0, ucb)
    if floor is not None:
        floor = np.minimum(np.asarray(floor, dtype=np.float64), cost_range[1])
        lcb = np.where((floor > lcb) & (untried | (mc + rc >= floor)), floor, lcb)
    return ucb, lcb


def cost_floor(pulls, mean_cost, price, slack: float) -> np.ndarray:
    """Price-implied floor of the cost LCB, ``(1 - slack) * kappa * price`` (0 where unknown).

    ``kappa``, the cost of a query per unit of price, is estimated from the models already tried,
    ``sum N_m c_m / sum N_m price_m`` over tried models with a known price (> 0), along the last
    axis: with per-task statistics of shape (J, N) and prices of shape (N,), each task type has its
    own scale (its own typical token counts). Where nothing is tried yet, or no price is known,
    the floor is 0 (no prior).

    Parameters
    ----------
    pulls, mean_cost : arrays of shape (..., N)
    price : array of shape (N,)
        Public prices in force (any unit; 0 if unknown), the observation's ``price``.
    slack : float in [0, 1)
        How far below the price-implied cost a model's cost may lie (0.5: within a factor of two).
    """
    n = np.asarray(pulls, dtype=np.float64)
    price = np.asarray(price, dtype=np.float64)
    known = price > 0.0
    w = np.where(known, n, 0.0)
    spent = (w * np.asarray(mean_cost, dtype=np.float64)).sum(axis=-1, keepdims=True)
    priced = (w * price).sum(axis=-1, keepdims=True)
    kappa = np.divide(spent, priced, out=np.zeros_like(spent), where=priced > 0.0)
    return np.where(known, (1.0 - slack) * kappa * price, 0.0)


def bounds_scalar(
    n: float,
    mr: float,
    mc: float,
    gamma: float,
    cost_gamma: float,
    c1: float,
    c2: float,
    optimistic: bool,
    floor: float,
) -> tuple[float, float]:
    """The same bounds for one model in plain floats (the per-query hot path); ``n = pulls + 1``.
    Same operations in the same order as :func:`confidence_bounds`, so the results are identical.
    The clips are conditional expressions, which return what ``max(x, lo)`` and ``min(x, hi)`` do
    (``x`` unless the bound is strictly beyond it) at a fraction of a builtin call's cost."""
    u = mr + 2.0 * (math.sqrt(gamma * (0.0 if 0.0 > mr else mr) / n) + gamma / n)
    rc = 2.0 * (math.sqrt(cost_gamma * (0.0 if 0.0 > mc else mc) / n) + cost_gamma / n)
    if optimistic and n == 1.0:
        u = 1.0
    else:
        u = 0.0 if 0.0 > u else u
        u = 1.0 if 1.0 < u else u
    c = mc - rc
    c = c1 if c1 > c else c
    c = c2 if c2 < c else c
    if floor > c:
        floor = c2 if c2 < floor else floor
        if floor > c and (n == 1.0 or mc + rc >= floor):
            c = floor
    return u, c


def cost_upper_scalar(n: float, mc: float, cost_gamma: float, c2: float, floor: float, prior: float | None) -> float:
    """Worst-case mean cost of one model, for budget-safe exploration (docs/stageroute.md); ``n =
    pulls + 1``, plain floats like :func:`bounds_scalar`.

    A tried model: its cost UCB ``mean_cost + 2 f_cost_gamma(mean_cost, n)`` (the radius of its
    LCB). An untried model: ``c_2``, the largest cost the world can charge. Either clipped to
    ``c_2``, and, where the price prior knows the price (``floor = (1 - rho) kappa price > 0``), to
    ``kappa price / (1 - rho)``, the prior's slack on the upper side, unless the data refute it
    (the mean cost lies above it). The clips are conditional expressions, as in
    :func:`bounds_scalar`.
    """
    u = c2
    if n > 1.0:
        u = mc + 2.0 * (math.sqrt(cost_gamma * (0.0 if 0.0 > mc else mc) / n) + cost_gamma / n)
        u = c2 if c2 < u else u
    if prior is not None and floor > 0.0:
        top = floor / ((1.0 - prior) * (1.0 - prior))
        if (n == 1.0 or mc <= top) and top < u:
            u = top
    return u


def bounds_upper_scalar(
    n: float,
    mr: float,
    mc: float,
    gamma: float,
    cost_gamma: float,
    c1: float,
    c2: float,
    optimistic: bool,
    floor: float,
    prior: float | None,
) -> tuple[float, float, float]:
    """:func:`bounds_scalar` and :func:`cost_upper_scalar` of one model in one call: ``(UCB, LCB,
    worst-case cost)``, the same floats as the two functions, with the cost radius (which both
    compute) computed once (the per-query refresh of budget-safe exploration)."""
    u = mr + 2.0 * (math.sqrt(gamma * (0.0 if 0.0 > mr else mr) / n) + gamma / n)
    rc = 2.0 * (math.sqrt(cost_gamma * (0.0 if 0.0 > mc else mc) / n) + cost_gamma / n)
    if optimistic and n == 1.0:
        u = 1.0
    else:
        u = 0.0 if 0.0 > u else u
        u = 1.0 if 1.0 < u else u
    c = mc - rc
    c = c1 if c1 > c else c
    c = c2 if c2 < c else c
    if floor > c:
        f = c2 if c2 < floor else floor
        if f > c and (n == 1.0 or mc + rc >= f):
            c = f
    # cost_upper_scalar: its radius term ``2 (sqrt(...) + cost_gamma / n)`` is ``rc``.
    hi = c2
    if n > 1.0:
        hi = mc + rc
        hi = c2 if c2 < hi else hi
    if prior is not None and floor > 0.0:
        top = floor / ((1.0 - prior) * (1.0 - prior))
        if (n == 1.0 or mc <= top) and top < hi:
            hi = top
    return u, c, hi
