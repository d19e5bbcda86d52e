"""Generated worlds: a reproducible distribution of random LLM-serving catalogs, for training on some
worlds and testing on others.

``generate_scenario(world)`` draws world number ``world`` (any non-negative integer) from a fixed
distribution calibrated on the market facts the package ships (``gym_llmroute/data/market_2023_2025.csv``,
sources in ``gym_llmroute/data/README.md``; read through :func:`gym_llmroute.market.load_market`). The
world depends on its index only: its random numbers come from
``np.random.default_rng(np.random.SeedSequence([world, WORLD_SALT]))``, so world 7 is the same world on
every machine and in every process. ``make_scenario("generated", world=7)`` is the same.

The rules, in the order the draws are made (docs/worlds.md, "Generated worlds", has the reasons):

1. **Catalog size** ``N = floor(exp(U(log 4, log 41)))``: log-uniform over 4 .. 40 (:data:`MAX_MODELS`),
   so small and large catalogs are equally represented on a log scale (median 12, the ``paper`` size).
2. **Sources**: each model resamples, uniformly with replacement, one of the 36 models of the facts
   that have a list price and a quality figure (MMLU / 100, or the Arena Elo through
   :func:`~gym_llmroute.market.elo_to_mmlu`; successor snapshots count as models of their own). A
   source drawn twice gives two variants of one model (two providers of one open model, say).
3. **Quality**: the source's, plus ``N(0, 0.02)`` (the facts' MMLU figures are ordinal within about
   +-2 points), clipped to [0, 1] and rounded to 4 decimals.
4. **Cost**: the source's mean cost of a 600-prompt / 300-answer-token query in the package's unit
   (GPT-4 (0314) = 1.0, :data:`~gym_llmroute.market.USD_PER_UNIT`), times a log-normal factor
   ``exp(N(0, 0.5))`` (the spread of the provider prices of one model in the facts' notes: Mixtral
   8x7B at 0.24 to 0.90 USD per 1M tokens, log standard deviation 0.58; and the vendors' price cuts, factors of
   0.26 to 0.8). Per query the cost is ``cost * U(0.5, 1.5)`` (``cost_spread`` 0.5, as in ``paper``).
5. **Public price**: ``list_price`` is the blended list price (USD per 1M tokens, 600 in / 300 out)
   times the same factor, so it is exact where known; unknown (None) with probability 0.1.
6. **Release order**: the source's release month plus ``U(-3, 3)`` months orders the models in time.
7. **Deployment cap** ``M_max`` uniform on {2, ..., 6}; **budget fraction** ``f ~ U(0.1, 0.6)`` (rule 10).
8. **Order**: the catalog is listed in a uniformly random order (a permutation), so the action index
   says nothing about a model. Names are the source's key plus ``-v1``, ``-v2``, ... per source in
   catalog order.
9. **Schedule and caps**, on the grid of the default K = 12 stages (:data:`GRID`), where arrivals and
   retirements take effect anyway (a model is deployable from the first stage start at or after its
   arrival):

   * a share ``s ~ U(0.2, 0.6)`` of the catalog is there from the start: ``max(2, Binomial(N, s))``
     models, the earliest in release order (``market`` has 0.2 at the start, ``paper`` 0.33);
   * the others arrive in release order at the sorted draws of ``N - n0`` stages uniform on
     {1, ..., 11}, i.e. at fractions k / 12 of the horizon;
   * each model retires with probability 0.3 (12 of the 34 models of ``market`` retire in its window,
     3 of 12 in ``paper``) at a stage uniform on {a + 2, ..., 11} after its arrival stage a (it
     lives at least two stages; a model arriving after stage 9 never retires);
   * throughput caps alpha uniform on [0.25, 1.0], rounded to 0.01.

   Rule 9 is drawn again (from the same stream, so deterministically) until every stage's pool can
   serve all the traffic, i.e. its ``M_max`` largest caps sum to at least 1: the distribution is
   conditioned on feasibility. (After 100 failed draws, which never happens for N >= 4, every model
   would be there from the start with cap 1.)
10. **Budget**: with ``lo`` the largest over stages of the cost of the cheapest deployment of at most
    ``M_max`` available models that meets the caps (what ``Scenario`` checks with
    :func:`gym_llmroute.solvers.min_cost`), and ``hi`` the largest over stages of what the best-quality
    deployment spends without a budget, ``b = lo * (hi / lo) ** f`` rounded to 4 significant digits
    (never below ``lo``). ``paper`` and ``market`` sit at f = 0.20 and 0.26. Since f < 1 the budget
    binds at least at the stage where the frontier is dearest.

Everything else is the Scenario default or the ``paper`` preset's: T = 1728, K = 12, untyped queries,
hard budget, Bernoulli rewards, no price changes, drift or feedback delay. Keyword arguments replace
Scenario fields of the drawn world verbatim (``horizon=500``, ``n_stages=46``, ``budget_mode="average"``);
since the schedule lies on the 12-stage grid, the pools at any number of stages are pools of the
12-stage world, and every ``n_stages`` or ``horizon`` stays feasible. Overriding ``max_deployed`` or
``budget`` can make a world infeasible, which ``Scenario`` refuses as usual.

The stream of a world relies on NumPy's ``Generator`` methods giving the same numbers across versions
(NumPy changes them only to fix bugs, with notice) and on the shipped facts; ``tests/env/test_generated.py``
pins a few worlds so that a change is noticed.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np

from .market import USD_PER_UNIT, elo_to_mmlu, load_market
from .scenario import ModelSpec, Scenario
from .solvers import solve_deploy

__all__ = ["MAX_MODELS", "MIN_MODELS", "GRID", "WORLD_SALT", "generate_scenario", "world_sources", "budget_bounds"]

#: Largest catalog the generator draws.
MAX_MODELS = 40
#: Smallest catalog the generator draws.
MIN_MODELS = 4
#: Arrivals and retirements lie on the starts of this many equal stages (the default K).
GRID = 12
#: Second word of every world's seed: ``SeedSequence([world, WORLD_SALT])``.
WORLD_SALT = 0x6C6C6D72

_IN_TOKENS, _OUT_TOKENS = 600, 300
_QUALITY_SD = 0.02
_COST_SIGMA = 0.5
_P_UNKNOWN_PRICE = 0.1
_RELEASE_JITTER_MONTHS = 3.0
_M_MAX = (2, 6)
_BUDGET_FRACTION = (0.1, 0.6)
_START_SHARE = (0.2, 0.6)
_P_RETIRE = 0.3
_MIN_LIFE = 2
_CAPS = (0.25, 1.0)
_TRIES = 100
_TOL = 1e-9
# Above this many supports, the exact enumeration of a pool hands over to the deployment MILP.
_ENUM_MAX = 20_000


@dataclasses.dataclass(frozen=True)
class _Sources:
    keys: tuple[str, ...]
    releases: tuple[str, ...]
    month: np.ndarray  # release month index (year * 12 + month)
    quality: np.ndarray
    cost: np.ndarray  # mean cost of a 600 / 300-token query, package units
    blended: np.ndarray  # USD per 1M tokens, 600 in / 300 out


@lru_cache(maxsize=1)
def _sources() -> _Sources:
    a, b = elo_to_mmlu()
    rows = []
    for m in load_market():
        if m.price_in is None or m.price_out is None:
            continue
        mmlu = m.mmlu if m.mmlu is not None else (a + b * m.arena_elo if m.arena_elo is not None else None)
        if mmlu is None:
            continue
        year, mon = (int(x) for x in m.release.split("-"))
        usd = (_IN_TOKENS * m.price_in + _OUT_TOKENS * m.price_out) / 1e6
        rows.append((m.key, m.release, year * 12 + mon - 1, mmlu / 100.0, usd / USD_PER_UNIT, usd * 1e6 / 900.0))
    keys, releases, month, quality, cost, blended = zip(*rows, strict=True)
    return _Sources(keys, releases, np.array(month, float), np.array(quality), np.array(cost), np.array(blended))


def world_sources() -> list[dict[str, Any]]:
    """The models the generator resamples: every model of the market facts with a list price and a
    quality figure.

    Returns
    -------
    list of dict
        One dict per source with ``key``, ``release`` (YYYY-MM), ``quality`` (MMLU / 100, or the Arena
        Elo mapped by :func:`~gym_llmroute.market.elo_to_mmlu`), ``cost`` (mean cost of a query, package
        units) and ``list_price`` (blended USD per 1M tokens).
    """
    s = _sources()
    return [
        dict(key=k, release=r, quality=float(q), cost=float(c), list_price=float(p))
        for k, r, q, c, p in zip(s.keys, s.releases, s.quality, s.cost, s.blended, strict=True)
    ]


def _check_world(world: Any) -> int:
    if isinstance(world, bool) or not isinstance(world, (int, np.integer)):
        raise TypeError(f"world must be a non-negative integer (the world's index), got {world!r}")
    if world < 0:
        raise ValueError(f"world must be a non-negative integer (the world's index), got {world!r}")
    return int(world)


# ---------------------------------------------------------------------------------------- schedule
def _pools(arrival: np.ndarray, retire: np.ndarray) -> np.ndarray:
    """Availability on the grid, shape (GRID, N): arrived at or before stage k and not retired by it."""
    k = np.arange(GRID)[:, None]
    return (arrival[None, :] <= k) & (retire[None, :] > k)


def _caps_cover(pools: np.ndarray, caps: np.ndarray, m_max: int) -> bool:
    """Every pool's ``m_max`` largest caps sum to at least one."""
    top = -np.sort(-np.where(pools, caps[None, :], 0.0), axis=1)[:, :m_max]
    return bool(np.all(top.sum(axis=1) >= 1.0 - _TOL))


def _draw_schedule(rng: np.random.Generator, order: np.ndarray, m_max: int):
    """Rule 9: (arrival stage, retirement stage or GRID, caps), conditioned on every pool's caps
    covering the traffic with ``m_max`` models. ``order`` lists the models in release order."""
    n = order.size
    for _ in range(_TRIES):
        share = rng.uniform(*_START_SHARE)
        # One row of uniforms per rule: at the start, arrival stage, retires, retirement stage, cap.
        u = rng.random((5, n))
        n0 = max(2, int(np.count_nonzero(u[0] < share)))  # Binomial(N, share), at least 2
        arrival = np.zeros(n, dtype=np.int64)
        arrival[order[n0:]] = np.sort(1 + (u[1, n0:] * (GRID - 1)).astype(np.int64))
        retire = np.full(n, GRID, dtype=np.int64)
        first = arrival + _MIN_LIFE
        room = GRID - first  # allowed retirement stages: first .. GRID - 1
        can = (u[2] < _P_RETIRE) & (room > 0)
        retire[can] = first[can] + (u[3, can] * room[can]).astype(np.int64)
        caps = np.rint((_CAPS[0] + (_CAPS[1] - _CAPS[0]) * u[4]) * 100.0) / 100.0
        if _caps_cover(_pools(arrival, retire), caps, m_max):
            return arrival, retire, caps
    return np.zeros(n, dtype=np.int64), np.full(n, GRID, dtype=np.int64), np.ones(n)


# ---------------------------------------------------------------------------------------- budget
@lru_cache(maxsize=64)
def _combos(n: int, size: int) -> np.ndarray:
    return np.array(list(combinations(range(n), size)), dtype=np.int64).reshape(-1, size)


def _enumerate(primary: np.ndarray, secondary: np.ndarray, caps: np.ndarray, m_max: int) -> np.ndarray:
    """Exact lexicographic minimum of (primary @ d, secondary @ d) over routings d of one pool (sum 1,
    d <= caps) with at most ``m_max`` models carrying mass. Returns d."""
    n = primary.size
    order = np.lexsort((-caps, secondary, primary))
    p, s, a = primary[order], secondary[order], caps[order]
    # A model weakly worse in all three (primary, secondary, cap) than m_max models listed before it
    # can always be swapped for one of them that is not deployed: leave it out.
    dominated = (s[None, :] <= s[:, None]) & (a[None, :] >= a[:, None]) & np.tri(n, k=-1, dtype=bool)
    keep = np.flatnonzero(dominated.sum(axis=1) < m_max)
    size = min(m_max, keep.size)
    if math.comb(keep.size, size) > _ENUM_MAX:
        sol = solve_deploy(-(primary + 1e-9 * secondary), primary, caps, np.inf, m_max)
        assert sol.d is not None
        return sol.d
    idx = keep[_combos(keep.size, size)]  # rows increasing: sorted by (primary, secondary)
    A = a[idx]
    cum = np.cumsum(A, axis=1)
    take = np.clip(1.0 - (cum - A), 0.0, A)
    feasible = cum[:, -1] >= 1.0 - _TOL
    P = np.where(feasible, (take * p[idx]).sum(axis=1), np.inf)
    S = (take * s[idx]).sum(axis=1)
    best = np.flatnonzero(P <= P.min() + _TOL)
    row = best[np.argmin(S[best])]
    d = np.zeros(n)
    d[order[idx[row]]] = take[row]
    return d


def _best_fills(primary: np.ndarray, secondary: np.ndarray, caps: np.ndarray, pools: np.ndarray, m_max: int):
    """For every pool (rows of ``pools``): the routing d (sum 1, d <= caps, at most ``m_max`` models)
    that minimises ``primary @ d``, ties broken by ``secondary @ d``; shape (P, N). Exact: the greedy
    fill in that order where it needs at most ``m_max`` models (the relaxation's optimum), an
    enumeration of the supports otherwise."""
    order = np.lexsort((-caps, secondary, primary))
    A = np.where(pools[:, order], caps[order][None, :], 0.0)
    cum = np.cumsum(A, axis=1)
    take = np.clip(1.0 - (cum - A), 0.0, A)
    d = np.zeros(pools.shape, dtype=np.float64)
    d[:, order] = take
    for row in np.flatnonzero((take > 0).sum(axis=1) > m_max):
        pool = np.flatnonzero(pools[row])
        d[row] = 0.0
        d[row, pool] = _enumerate(primary[pool], secondary[pool], caps[pool], m_max)
    return d


def budget_bounds(quality, cost, caps, pools, m_max: int) -> tuple[float, float]:
    """The range the budget rule draws from.

    Parameters
    ----------
    quality, cost, caps : arrays of shape (N,)
        Mean quality, mean cost and throughput cap of every model.
    pools : bool array of shape (K, N)
        The candidate pool of every stage (each must have caps that cover the traffic).
    m_max : int
        The largest number of models deployed at once.

    Returns
    -------
    (float, float)
        ``lo``: the largest over stages of the cheapest deployment's cost per query (so any budget
        of at least ``lo`` is feasible at every stage); ``hi``: the largest over stages of the cost of
        the best-quality deployment without a budget (the cheapest among equally good ones).
    """
    quality, cost, caps = (np.asarray(x, dtype=np.float64) for x in (quality, cost, caps))
    pools = np.asarray(pools, dtype=bool)
    # Pools change only where a model arrives or retires: solve each run of equal pools once.
    pools = pools[np.concatenate(([True], np.any(pools[1:] != pools[:-1], axis=1)))]
    cheapest = _best_fills(cost, -quality, caps, pools, m_max) @ cost
    frontier = _best_fills(-quality, cost, caps, pools, m_max) @ cost
    return float(cheapest.max()), float(frontier.max())


# ---------------------------------------------------------------------------------------- the world
def generate_scenario(world: int, **overrides: Any) -> Scenario:
    """World number ``world`` of the generated distribution (the module docstring and docs/worlds.md
    give the rules).

    Parameters
    ----------
    world : int
        The world's index, a non-negative integer (Python or NumPy; not a bool). The same index gives
        the same world everywhere.
    **overrides
        Scenario fields that replace the drawn world's (``horizon``, ``n_stages``, ``budget_mode``,
        ``feedback_delay``, ``max_deployed``, ``budget``, ...), applied verbatim.

    Returns
    -------
    Scenario
        The validated world, named ``generated-<world>``.

    Raises
    ------
    TypeError
        ``world`` is not an integer, or an override is not a Scenario field.
    ValueError
        ``world`` is negative, or an override is invalid or makes the world infeasible.
    """
    world = _check_world(world)
    known = {f.name for f in dataclasses.fields(Scenario)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"generate_scenario: {unknown} are not Scenario fields; fields are {sorted(known)}")
    fields = _draw(world)
    fields.update(overrides)
    return Scenario(**fields)


def _draw(world: int) -> dict[str, Any]:
    """The Scenario fields of world ``world`` (rules 1-10, in this order of draws)."""
    rng = np.random.default_rng(np.random.SeedSequence([world, WORLD_SALT]))
    src = _sources()
    # 1-2: size and sources
    n = int(math.exp(math.log(MIN_MODELS) + math.log((MAX_MODELS + 1) / MIN_MODELS) * rng.random()))
    n = min(max(n, MIN_MODELS), MAX_MODELS)
    pick = rng.integers(len(src.keys), size=n)
    z = rng.standard_normal((2, n))  # quality and cost jitter
    u = rng.random((2, n))  # unknown price, release jitter
    # 3-5: quality, cost, public price
    quality = np.rint(np.clip(src.quality[pick] + _QUALITY_SD * z[0], 0.0, 1.0) * 1e4) / 1e4
    factor = np.exp(_COST_SIGMA * z[1])
    cost = src.cost[pick] * factor
    price = np.rint(src.blended[pick] * factor * 1e4) / 1e4
    unknown = u[0] < _P_UNKNOWN_PRICE
    # 6-8: release order, M_max, budget fraction, catalog order
    released = src.month[pick] + _RELEASE_JITTER_MONTHS * (2.0 * u[1] - 1.0)
    m_max = int(rng.integers(_M_MAX[0], _M_MAX[1] + 1))
    fraction = float(rng.uniform(*_BUDGET_FRACTION))
    perm = rng.permutation(n)
    # 9: schedule and caps (drawn in release order, listed in catalog order)
    arrival, retire, caps = _draw_schedule(rng, np.argsort(released, kind="stable"), m_max)
    # 10: budget
    lo, hi = budget_bounds(quality, cost, caps, _pools(arrival, retire), m_max)
    budget = lo * (hi / lo) ** fraction if hi > lo else lo
    rounded = float(f"{budget:.4g}")
    budget = rounded if rounded >= lo * (1.0 + 1e-6) else max(budget, lo * (1.0 + 1e-6))

    seen: dict[str, int] = {}
    models = []
    q, c, a, p = quality.tolist(), cost.tolist(), caps.tolist(), price.tolist()
    arr, ret, unk, pk = arrival.tolist(), retire.tolist(), unknown.tolist(), pick.tolist()
    for i in perm.tolist():
        key = src.keys[pk[i]]
        seen[key] = seen.get(key, 0) + 1
        models.append(
            ModelSpec(
                name=f"{key}-v{seen[key]}",
                quality=q[i],
                cost=c[i],
                throughput=a[i],
                arrival=arr[i] / GRID,
                retirement=None if ret[i] >= GRID else ret[i] / GRID,
                cost_spread=0.5,
                list_price=None if unk[i] else p[i],
                release=src.releases[pk[i]],
            )
        )
    return dict(
        models=tuple(models),
        budget=budget,
        horizon=1728,
        n_stages=12,
        max_deployed=m_max,
        name=f"generated-{world}",
        description=(
            f"generated world {world}: {n} models resampled from the 2023-2025 market facts, M_max={m_max}, "
            f"budget {fraction:.2f} of the way (log scale) from the cheapest deployment to the frontier"
        ),
    )
