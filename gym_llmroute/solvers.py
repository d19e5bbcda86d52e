"""Every LP and MILP of the package: the routing LP, the deployment MILP and their typed versions.

They are shared by the environment (its stage oracle) and the agents (DeployOPT, RouteOPT and their
typed versions: :mod:`agents.policies.stageroute`, :mod:`agents.policies.contextual`), and depend on
neither.

Routing LP (RouteOPT, docs/stageroute.md)::

    max_p  sum_m u_m p_m   s.t.  sum_m c_m p_m <= b,  sum_m p_m = 1,  0 <= p_m <= alpha_m

is solved in closed form by a Lagrangian sweep: for a multiplier ``lam >= 0`` the Lagrangian is
maximised by filling the caps greedily in decreasing order of ``u_m - lam * c_m``. The cost of that
fill falls as ``lam`` grows and only changes where two models swap order (a breakpoint). The optimum
is the unconstrained fill if it meets the budget; otherwise it mixes the two fills that bracket the
budget at the breakpoint where the cost crosses ``b`` (both maximise the Lagrangian there, so the mix
that spends exactly ``b`` satisfies complementary slackness). At most two entries are fractional.

Deployment MILP (DeployOPT and the oracle)::

    max_{d,z} sum_m u_m d_m  s.t.  sum_m c_m d_m <= b,  sum_m d_m = 1,  0 <= d_m <= alpha_m z_m,
              sum_m z_m <= k,  z_m in {0, 1}

is solved by exact enumeration of the supports for small pools (each support solved by the exact LP,
blocks of supports skipped by a Lagrangian bound that cannot change the result) and by HiGHS
through :func:`scipy.optimize.milp` for large ones, or (the stage oracle) by a branch and bound over
supports whose bounds are exact routing LPs (:func:`solve_deploy_bb`). The oracle
first drops the models dominated by at least M_max others (:func:`undominated`), which no optimal
deployment needs.

With task-typed queries (J types, mix w) both problems have one routing distribution ``d_j`` per
type, sharing the budget and the caps (``sum_j w_j d_jm <= alpha_m``):
:func:`solve_typed_deploy` (the typed MILP, HiGHS; the typed oracle and contextual DeployOPT) and
:func:`typed_route_lp` (the typed LP over a fixed deployed set, HiGHS; contextual RouteOPT).
:func:`linprog_route` is the routing LP by :func:`scipy.optimize.linprog`, the reference the exact
solver is benchmarked against.

``scipy`` is imported lazily so that ``import gym_llmroute`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from operator import mul

import numpy as np

__all__ = [
    "RouteSolution",
    "DeploySolution",
    "solve_route_lp",
    "solve_deploy",
    "solve_deploy_enum",
    "solve_deploy_milp",
    "solve_deploy_bb",
    "undominated",
    "min_cost",
    "linprog_route",
    "solve_typed_deploy",
    "typed_route_lp",
]

# Relative slack when comparing a cost with the budget: the LP is exact, this only absorbs the
# rounding of sums of floats.
_TOL = 1e-9
# Cost differences below this do not create a breakpoint of the routing LP's Lagrangian sweep.
_COST_EPS = 1e-12
# Supports enumerated by ``solve_deploy`` before it hands the problem to HiGHS.
ENUM_LIMIT = 600
# solve_deploy_enum skips a block of supports whose Lagrangian bound is below the best value by more
# than this (relative): far above the rounding of the sums, far below any gap between supports.
_PRUNE_GAP = 1e-9
# ... and does so only above this many supports.
_BOUND_FROM = 8


@dataclass(frozen=True)
class RouteSolution:
    """Optimal routing distribution ``p`` (length n) and its value ``sum u p``; ``p is None`` if
    the LP is infeasible (caps sum below one, or no mix meets the budget)."""

    p: np.ndarray | None
    value: float

    @property
    def feasible(self) -> bool:
        return self.p is not None


@dataclass(frozen=True)
class DeploySolution:
    """Optimal deployment: ``support`` (sorted model indices with ``z_m = 1``, at most ``k``), the
    routing distribution ``d`` over all n models, and its value. ``support`` is empty and ``d`` is
    None if no deployment is feasible."""

    support: tuple[int, ...]
    d: np.ndarray | None
    value: float

    @property
    def feasible(self) -> bool:
        return self.d is not None


def _fill(order, caps: list[float], n: int) -> list[float]:
    """Fill ``caps`` in the given order until the mass reaches one."""
    p = [0.0] * n
    mass = 1.0
    for i in order:
        take = caps[i] if caps[i] < mass else mass
        p[i] = take
        mass -= take
        if mass <= 0.0:
            break
    return p


def _cost(c: list[float], p: list[float]) -> float:
    # sum(map(mul, ...)): the products of ``ci * pi for ci, pi in zip(c, p)`` summed by the same
    # sum, without a generator's frame per item (12% of DeployOPT's enumeration).
    return sum(map(mul, c, p))


def solve_route_lp(u, c, caps, budget: float) -> RouteSolution:
    """Solve the routing LP exactly.

    Parameters
    ----------
    u : array of shape (n,)
        Per-model value of a query (e.g. UCB of the reward, or the true mean).
    c : array of shape (n,)
        Per-model cost of a query (e.g. LCB of the cost, or the true mean), ``>= 0``.
    caps : array of shape (n,)
        Throughput caps ``alpha_m`` in ``[0, 1]``.
    budget : float
        Per-query budget ``b``.

    Returns
    -------
    RouteSolution
        ``p`` sums to one, respects the caps and spends at most ``budget`` (up to 1e-9 relative).

    Notes
    -----
    Plain Python on lists: the LP is solved for a deployed set of a few models once per query, where
    NumPy's per-call overhead would dominate. The sweep visits O(log n) of the O(n^2) breakpoints.
    """
    p, value = _route_lp(
        np.asarray(u, dtype=np.float64).tolist(),
        np.asarray(c, dtype=np.float64).tolist(),
        np.asarray(caps, dtype=np.float64).tolist(),
        budget,
    )
    return RouteSolution(None if p is None else np.array(p), value)


def _route_lp(u: list[float], c: list[float], caps: list[float], budget: float) -> tuple[list[float] | None, float]:
    """:func:`solve_route_lp` on lists of floats: ``(p, value)``, ``(None, -inf)`` if infeasible."""
    n = len(u)
    if n == 0 or sum(caps) < 1.0 - _TOL:
        return None, -np.inf
    tol = _TOL * max(1.0, abs(budget))
    idx = range(n)
    # Greedy order for a multiplier: score descending, then cost ascending (the limit from the right).
    p_hi = _fill(sorted(idx, key=lambda i: (-u[i], c[i])), caps, n)
    cost_hi = _cost(c, p_hi)
    if cost_hi <= budget + tol:
        return p_hi, _cost(u, p_hi)
    # Cheapest fill (the limit lam -> infinity): cost ascending, then value descending.
    p_lo = _fill(sorted(idx, key=lambda i: (c[i], -u[i])), caps, n)
    cost_lo = _cost(c, p_lo)
    if cost_lo > budget + tol:
        return None, -np.inf
    # Breakpoints: multipliers at which a more valuable, more expensive model ties a cheaper one.
    # Costs closer than _COST_EPS count as equal: such a pair would swap only at a multiplier beyond
    # float range (e.g. a subnormal cost difference), where the fills differ in cost by less than the
    # budget tolerance anyway.
    lams = sorted({(u[i] - u[j]) / (c[i] - c[j]) for i in idx for j in idx if u[i] > u[j] and c[i] - c[j] > _COST_EPS})
    # The greedy order is constant between breakpoints and the fill cost falls from one interval to
    # the next. Binary search over interval midpoints (plus one beyond the last breakpoint) for the
    # first whose fill meets the budget; "interval -1" is p_hi, the last one is p_lo.
    lo, hi = -1, len(lams)
    p_a, cost_a, p_b, cost_b = p_hi, cost_hi, p_lo, cost_lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lam = 0.5 * (lams[mid] + lams[mid + 1]) if mid + 1 < len(lams) else 2.0 * lams[mid] + 1.0
        p = _fill(sorted(idx, key=lambda i: (c[i] * lam - u[i], c[i])), caps, n)
        cost = _cost(c, p)
        if cost <= budget + tol:
            hi, p_b, cost_b = mid, p, cost
        else:
            lo, p_a, cost_a = mid, p, cost
    # Both bracketing fills maximise the Lagrangian at the breakpoint between them: the mix that spends
    # exactly the budget is optimal (weight theta on the expensive fill). Elementwise in floats, the
    # same operations as NumPy's ``p_a * theta + p_b * (1 - theta)``.
    theta = min(max((budget - cost_b) / (cost_a - cost_b), 0.0), 1.0)
    rest = 1.0 - theta
    mix = [a * theta + b * rest for a, b in zip(p_a, p_b, strict=False)]
    return mix, _cost(u, mix)


def linprog_route(u, c, caps, budget: float) -> np.ndarray | None:
    """The route LP solved by :func:`scipy.optimize.linprog` (HiGHS): the reference that
    ``benchmarks/bench_agents.py`` compares the exact solver with. Returns ``p`` or None."""
    from scipy.optimize import linprog

    u = np.asarray(u, dtype=np.float64)
    n = u.size
    if n == 0:
        return None
    res = linprog(
        -u,
        A_ub=np.asarray(c, dtype=np.float64)[None, :],
        b_ub=[budget],
        A_eq=np.ones((1, n)),
        b_eq=[1.0],
        bounds=np.column_stack([np.zeros(n), np.asarray(caps, dtype=np.float64)]),
        method="highs",
    )
    return res.x if res.status == 0 else None


def min_cost(c, caps, k: int) -> float:
    """Smallest per-query cost of any routing over at most ``k`` models with the given caps, or
    ``inf`` if no ``k`` models have caps summing to one. Used to explain infeasible scenarios."""
    sol = solve_deploy(-np.asarray(c, dtype=np.float64), c, caps, np.inf, k)
    return -sol.value if sol.feasible else np.inf


def _check_deploy_args(u, c, caps, k):
    u = np.asarray(u, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    caps = np.asarray(caps, dtype=np.float64)
    if not (u.shape == c.shape == caps.shape and u.ndim == 1):
        raise ValueError(f"u, c and caps must be 1-D of one length, got {u.shape}, {c.shape}, {caps.shape}")
    if int(k) < 1:
        raise ValueError(f"k (the number of models to deploy) must be >= 1, got {k}")
    return u, c, caps, int(k)


def solve_deploy_enum(u, c, caps, budget: float, k: int) -> DeploySolution:
    """Deployment MILP by enumeration of every support of size ``min(k, n)`` (a support of fewer
    models is a special case, since a deployed model may carry zero mass).

    The supports are visited in lexicographic order, and a support replaces the best one found if
    its routing LP's value is larger by more than 1e-12. Supports that cannot replace it are
    skipped, a block of that order at a time, by a Lagrangian bound: for any ``lam >= 0`` and any
    routing ``p`` of a support S that spends at most ``b'`` (the budget plus the LP's tolerance),
    ``sum u p <= lam b' + fill_S(u - lam c)``, where the fill puts the unit mass on the highest
    scores within the caps. ``lam`` is the multiplier of the LP over all n models. The supports
    that extend a prefix ``i_1 < ... < i_j`` with models after ``i_j`` are bounded by the fill of
    the prefix plus ``k - j`` copies of the best score and the largest cap after ``i_j``. A block is
    skipped if its bound is below the best value found by more than ``_PRUNE_GAP`` (relative), and
    the best value only grows, so no skipped support would have replaced it: the result is the plain
    enumeration's, support, routing and value alike.
    """
    u, c, caps, k = _check_deploy_args(u, c, caps, k)
    n = u.size
    size = min(k, n)
    ul, cl, al = u.tolist(), c.tolist(), caps.tolist()
    best_value = -np.inf
    best: DeploySolution = DeploySolution((), None, -np.inf)
    # The bounds cost an LP over all n models: not worth it for a handful of supports.
    bounds = _LagrangianBounds(ul, cl, al, budget) if comb(n, size) > _BOUND_FROM else None
    # Depth-first over prefixes in lexicographic order: (prefix, first model that may follow it).
    stack: list[tuple[tuple[int, ...], int]] = [((), 0)]
    while stack:
        prefix, start = stack.pop()
        free = size - len(prefix)
        if bounds is not None and best_value > -np.inf and bounds.below(prefix, start, free, best_value):
            continue
        if free == 0:
            idx = list(prefix)
            p, value = _route_lp([ul[i] for i in idx], [cl[i] for i in idx], [al[i] for i in idx], budget)
            if p is not None and value > best_value + 1e-12:
                d = np.zeros(n)
                d[idx] = p
                best, best_value = DeploySolution(prefix, d, value), value
            continue
        # Children in lexicographic order: pushed last-first.
        for j in range(n - free, start - 1, -1):
            stack.append((prefix + (j,), j + 1))
    return best


class _LagrangianBounds:
    """The Lagrangian bounds of :func:`solve_deploy_enum` for one problem."""

    def __init__(self, u: list[float], c: list[float], caps: list[float], budget: float):
        n = len(u)
        # Any routing the LP of a support returns spends at most budget + tol (see _route_lp).
        relaxed = budget + _TOL * max(1.0, abs(budget))
        lam = 0.0
        p, _ = _route_lp(u, c, caps, relaxed)
        if p is not None and np.isfinite(relaxed):
            frac = [i for i in range(n) if 1e-12 < p[i] < caps[i] - 1e-12]
            if len(frac) == 2 and c[frac[0]] != c[frac[1]]:
                i, j = frac
                lam = (u[i] - u[j]) / (c[i] - c[j])
            if not 0.0 <= lam < np.inf:
                lam = 0.0
        self.const = lam * relaxed if lam > 0.0 else 0.0
        self.score = [ui - lam * ci for ui, ci in zip(u, c, strict=True)]
        self.caps = caps
        # Best score and largest cap among the models from i on.
        self.top_score = [0.0] * (n + 1)
        self.top_cap = [0.0] * (n + 1)
        self.top_score[n] = -np.inf
        for i in range(n - 1, -1, -1):
            self.top_score[i] = max(self.score[i], self.top_score[i + 1])
            self.top_cap[i] = max(caps[i], self.top_cap[i + 1])
        scale = 1.0 + max((abs(x) for x in u), default=0.0) + lam * max((abs(x) for x in c), default=0.0)
        self.gap = _PRUNE_GAP * (scale + abs(self.const))

    def below(self, prefix: tuple[int, ...], start: int, free: int, best: float) -> bool:
        """Whether every support that extends ``prefix`` by ``free`` models from ``start`` on is
        worth less than ``best`` by more than the gap."""
        score, caps = self.score, self.caps
        items = [(score[i], caps[i]) for i in prefix]
        if free:
            items += [(self.top_score[start], self.top_cap[start])] * free
        items.sort(reverse=True)
        mass, value = 1.0, self.const
        for s, a in items:
            take = a if a < mass else mass
            value += s * take
            mass -= take
            if mass <= 0.0:
                break
        return value < best - self.gap


def solve_deploy_milp(u, c, caps, budget: float, k: int) -> DeploySolution:
    """Deployment MILP solved by HiGHS (:func:`scipy.optimize.milp`). Variables are ``d`` (n) then
    ``z`` (n)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    u, c, caps, k = _check_deploy_args(u, c, caps, k)
    n = u.size
    eye = np.eye(n)
    rows = [
        LinearConstraint(np.concatenate([np.ones(n), np.zeros(n)])[None, :], 1.0, 1.0),
        LinearConstraint(np.hstack([eye, -np.diag(caps)]), -np.inf, 0.0),
        LinearConstraint(np.concatenate([np.zeros(n), np.ones(n)])[None, :], 0.0, min(k, n)),
    ]
    if np.isfinite(budget):
        rows.append(LinearConstraint(np.concatenate([c, np.zeros(n)])[None, :], -np.inf, budget))
    res = milp(
        c=-np.concatenate([u, np.zeros(n)]),
        constraints=rows,
        integrality=np.concatenate([np.zeros(n), np.ones(n)]),
        bounds=Bounds(np.zeros(2 * n), np.concatenate([caps, np.ones(n)])),
        options={"mip_rel_gap": 1e-9},
    )
    if res.x is None:
        return DeploySolution((), None, -np.inf)
    d = np.clip(res.x[:n], 0.0, caps)
    d /= d.sum()
    z = res.x[n:] > 0.5
    # Models with z = 1 but d = 0 may be reported either way by the solver: the support is the
    # models that carry mass, completed (for reporting) by the solver's own z.
    support = tuple(int(i) for i in np.flatnonzero(z | (d > 1e-12))[:k])
    return DeploySolution(support, d, float(u @ d))


def undominated(u, c, caps, k: int) -> np.ndarray:
    """The models that some optimal deployment of at most ``k`` models may need: all but those
    dominated by at least ``k`` others.

    Model a dominates model b if ``u_a >= u_b``, ``c_a <= c_b`` and ``caps_a >= caps_b``, strictly in
    one of them or else ``a < b`` (so equal models are ordered). If b is dominated by ``k`` models,
    an optimal deployment that uses b leaves one of them out (it has at most k - 1 other members),
    and moving b's mass to it keeps the caps and the budget and loses no value; repeating this ends,
    since dominance is a strict order. So the deployment MILP over the models returned has the same
    value.

    Parameters
    ----------
    u, c, caps : array_like of shape (n,)
        Values, costs and throughput caps.
    k : int
        The largest number of models deployed.

    Returns
    -------
    ndarray of int
        The indices kept, increasing.
    """
    u, c, caps, k = _check_deploy_args(u, c, caps, k)
    ge = (u[:, None] >= u) & (c[:, None] <= c) & (caps[:, None] >= caps)
    strict = (u[:, None] > u) | (c[:, None] < c) | (caps[:, None] > caps)
    idx = np.arange(u.size)
    dominates = ge & (strict | (idx[:, None] < idx))
    np.fill_diagonal(dominates, False)
    return np.flatnonzero(dominates.sum(axis=0) < k)


def solve_deploy_bb(u, c, caps, budget: float, k: int) -> DeploySolution:
    """Deployment MILP by branch and bound over supports, each bound an exact routing LP.

    A node is a set C of chosen models and the first index i still open (models in decreasing order
    of value): it stands for every support C + T with T drawn from models i, i+1, ... and at most
    ``k - |C|`` of them. Its bound is the routing LP over C and all open models (the cardinality
    dropped). A node whose bound cannot beat the best support found is pruned; a node whose LP
    optimum uses at most ``k`` models together with C is solved by it (that optimum is a feasible
    deployment); otherwise its children are C alone and C + {j} for each open j. Exact, like the
    enumeration it prunes; tested against HiGHS.
    """
    u, c, caps, k = _check_deploy_args(u, c, caps, k)
    order = sorted(range(u.size), key=lambda i: (-u[i], c[i], i))
    best = DeploySolution((), None, -np.inf)
    stack: list[tuple[tuple[int, ...], int]] = [((), 0)]
    while stack:
        chosen, start = stack.pop()
        idx = list(chosen) + order[start:]
        sol = solve_route_lp(u[idx], c[idx], caps[idx], budget)
        if not sol.feasible or sol.value <= best.value + 1e-12:
            continue
        assert sol.p is not None
        used = {m for m, p in zip(idx, sol.p, strict=True) if p > 0.0}
        if len(used | set(chosen)) <= k or start >= len(order):
            if len(used | set(chosen)) <= k:
                d = np.zeros(u.size)
                d[idx] = sol.p
                best = DeploySolution(tuple(sorted(used | set(chosen))), d, sol.value)
            continue
        if len(chosen) < k:
            # Children: C + {j} for the open j, pushed so that the most valuable is explored first.
            for j in range(len(order) - 1, start - 1, -1):
                stack.append((chosen + (order[j],), j + 1))
        if chosen:
            stack.insert(0, (chosen, len(order)))  # C alone: the LP over C (explored last)
    return best


def solve_deploy(
    u, c, caps, budget: float, k: int, enum_limit: int = ENUM_LIMIT, large: str = "milp"
) -> DeploySolution:
    """Solve the deployment MILP exactly: enumeration if the pool has at most ``enum_limit``
    supports, otherwise HiGHS (``large="milp"``) or :func:`solve_deploy_bb` (``large="bb"``, about
    20x faster on generated worlds' pools; the stage oracle's choice)."""
    n = np.asarray(u).shape[0]
    if n == 0:
        return DeploySolution((), None, -np.inf)
    if comb(n, min(int(k), n)) <= enum_limit:
        return solve_deploy_enum(u, c, caps, budget, k)
    if large == "bb":
        return solve_deploy_bb(u, c, caps, budget, k)
    if large != "milp":
        raise ValueError(f"large must be 'milp' or 'bb', got {large!r}")
    return solve_deploy_milp(u, c, caps, budget, k)


# ---------------------------------------------------------------------------------------- typed problems
def solve_typed_deploy(quality, cost, weights, caps, budget: float, k: int):
    """Typed deployment MILP by HiGHS. ``quality`` and ``cost`` have shape (J, n). Returns
    ``(value, d)`` with ``d`` of shape (J, n), or ``(-inf, None)`` if infeasible."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    quality = np.asarray(quality, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    J, n = quality.shape
    nd = J * n
    # Variables: d[j, m] (row-major, J*n), then z[m] (n).
    obj = np.concatenate([(w[:, None] * quality).ravel(), np.zeros(n)])
    simplex = np.zeros((J, nd + n))
    for j in range(J):
        simplex[j, j * n : (j + 1) * n] = 1.0
    budget_row = np.concatenate([(w[:, None] * cost).ravel(), np.zeros(n)])[None, :]
    through = np.zeros((n, nd + n))
    link = np.zeros((nd, nd + n))
    for m in range(n):
        through[m, m:nd:n] = w
        through[m, nd + m] = -caps[m]
        for j in range(J):
            link[j * n + m, j * n + m] = 1.0
            link[j * n + m, nd + m] = -1.0
    card = np.concatenate([np.zeros(nd), np.ones(n)])[None, :]
    res = milp(
        c=-obj,
        constraints=[
            LinearConstraint(simplex, 1.0, 1.0),
            LinearConstraint(budget_row, -np.inf, budget),
            LinearConstraint(through, -np.inf, 0.0),
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(card, 0.0, min(k, n)),
        ],
        integrality=np.concatenate([np.zeros(nd), np.ones(n)]),
        bounds=Bounds(np.zeros(nd + n), np.ones(nd + n)),
        options={"mip_rel_gap": 1e-9},
    )
    if res.x is None:
        return -np.inf, None
    d = np.clip(res.x[:nd].reshape(J, n), 0.0, 1.0)
    d /= d.sum(axis=1, keepdims=True)
    return float(obj[:nd] @ d.ravel()), d


def typed_route_lp(ucb, lcb, weights, caps, budget: float) -> np.ndarray | None:
    """The typed routing LP over a fixed deployed set, solved by scipy's HiGHS (``linprog``)::

        max_p  sum_j w_j sum_m UCB_jm p_jm
        s.t.   sum_j w_j sum_m LCB_jm p_jm <= b,   sum_m p_jm = 1 (every j),
               sum_j w_j p_jm <= alpha_m (every m),   p >= 0

    ``ucb`` and ``lcb`` have shape (J, n) (the deployed models' columns), ``weights`` (J,), ``caps``
    (n,). Returns ``p`` of shape (J, n) (rows sum to one) or None if the LP is infeasible.
    """
    from scipy.optimize import linprog

    u = np.asarray(ucb, dtype=np.float64)
    c = np.asarray(lcb, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    J, n = u.shape
    if n == 0:
        return None
    a_ub = np.zeros((1 + n, J * n))
    a_ub[0] = (w[:, None] * c).ravel()
    for m in range(n):
        a_ub[1 + m, m::n] = w
    a_eq = np.zeros((J, J * n))
    for j in range(J):
        a_eq[j, j * n : (j + 1) * n] = 1.0
    res = linprog(
        -(w[:, None] * u).ravel(),
        A_ub=a_ub,
        b_ub=np.concatenate([[budget], np.asarray(caps, dtype=np.float64)]),
        A_eq=a_eq,
        b_eq=np.ones(J),
        bounds=(0.0, 1.0),
        method="highs",
    )
    if res.status != 0 or res.x is None:
        return None
    p = np.clip(res.x.reshape(J, n), 0.0, None)
    return p / p.sum(axis=1, keepdims=True)
