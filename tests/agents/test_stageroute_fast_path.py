"""StageRoute's fast per-query path plays what the plain path plays.

The hot path of StageRoute (agents/policies/stageroute/router.py, bounds.py) and DeployOPT's
enumeration (gym_llmroute/solvers.py) were made cheaper without changing a number: the optimality
certificate of the warm-started route LP checks precomputed lists of models, the bounds clip with
conditional expressions, a routing draw reads PCG64's raw output, the enumeration skips blocks
of supports by a Lagrangian bound, and the budget-safe rule's slack and worst-case costs take fewer
calls (entries read by ``.item``, the cached floor and the queries left inline, the bounds and
the worst-case cost from one function), and a route-phase query goes from ``predict`` straight to
the router's ``route_obs``. Each piece is checked here against the plain code it replaced (kept
below as the reference): unit by unit on random and degenerate inputs, and as a whole, by playing
episodes with the reference pieces patched in and comparing every action on several worlds.
"""

from __future__ import annotations

import bisect
import math
from itertools import combinations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import agents
import gym_llmroute  # noqa: F401  (registers the ids)
from agents.policies.stageroute import StageRouteAgent
from agents.policies.stageroute import bounds as bounds_module
from agents.policies.stageroute import router as router_module
from gym_llmroute import solvers
from gym_llmroute.solvers import DeploySolution, solve_deploy_enum, solve_route_lp


# ------------------------------------------------------------------------ the reference pieces
def reference_bounds_scalar(n, mr, mc, gamma, cost_gamma, c1, c2, optimistic, floor):
    """bounds_scalar as it was, with builtin min and max."""
    u = mr + 2.0 * (math.sqrt(gamma * max(mr, 0.0) / n) + gamma / n)
    rc = 2.0 * (math.sqrt(cost_gamma * max(mc, 0.0) / n) + cost_gamma / n)
    u = 1.0 if optimistic and n == 1.0 else min(max(u, 0.0), 1.0)
    c = min(max(mc - rc, c1), c2)
    if floor > c:
        floor = min(floor, c2)
        if floor > c and (n == 1.0 or mc + rc >= floor):
            c = floor
    return u, c


def reference_certify(basis, u, c, a, b):
    """The route LP's certificate as it was: every model checked in index order."""
    eps = 1e-12
    n = len(u)
    at_cap = basis[1]
    mass = 1.0
    spend = b
    for k in at_cap:
        mass -= a[k]
        spend -= c[k] * a[k]
    p = [0.0] * n
    for k in at_cap:
        p[k] = a[k]
    if basis[0] == "pair":
        i, j = basis[2], basis[3]
        dc = c[i] - c[j]
        if dc == 0.0:
            return None
        pi = (spend - c[j] * mass) / dc
        pj = mass - pi
        if not (-eps <= pi <= a[i] + eps and -eps <= pj <= a[j] + eps):
            return None
        lam = (u[i] - u[j]) / dc
        if lam < 0.0:
            return None
        nu = u[i] - lam * c[i]
        p[i] = min(max(pi, 0.0), a[i])
        p[j] = min(max(pj, 0.0), a[j])
        skip: tuple[int, ...] = (i, j)
    else:
        f = basis[2]
        if not -eps <= mass <= a[f] + eps:
            return None
        if b - spend + c[f] * mass > b + 1e-9 * max(1.0, abs(b)):
            return None
        lam = 0.0
        nu = u[f]
        p[f] = min(max(mass, 0.0), a[f])
        skip = (f,)
    caps = set(at_cap)
    for k in range(n):
        if k in skip:
            continue
        score = u[k] - lam * c[k]
        if (k in caps and score < nu - eps) or (k not in caps and score > nu + eps):
            return None
    return p


def reference_cost_upper_scalar(n, mc, cost_gamma, c2, floor, prior):
    """cost_upper_scalar as it was, with builtin min and max."""
    u = c2
    if n > 1.0:
        u = min(mc + 2.0 * (math.sqrt(cost_gamma * max(mc, 0.0) / n) + cost_gamma / n), c2)
    if prior is not None and floor > 0.0:
        top = floor / ((1.0 - prior) * (1.0 - prior))
        if n == 1.0 or mc <= top:
            u = min(u, top)
    return u


def reference_refresh(self, m, pulls, mean_reward, mean_cost):
    """OptimisticRouter._refresh as it was: the entries read by ``float(x[m])``, twice."""
    self._ucb[m], self._lcb[m] = router_module.bounds_scalar(
        float(pulls[m]) + 1.0,
        float(mean_reward[m]),
        float(mean_cost[m]),
        self.gamma,
        self.cost_gamma,
        self.c1,
        self.c2,
        self.optimistic,
        self._floor[m],
    )
    if self.safe:
        self._refresh_safe(m, float(pulls[m]) + 1.0, float(mean_cost[m]))
    if m in self._pos:
        self._dirty = True


def reference_route_obs(self, obs):
    """OptimisticRouter.route_obs as it was: update_prior called at every query, through route."""
    if self.prior is not None:
        self.update_prior(obs)
    b = (1.0 - self.margin) * obs["budget_per_query"].item(0) if self.pacing else None
    m = self.route(obs["deployed"], obs["capacity_left"], obs["pulls"], obs["mean_reward"], obs["mean_cost"], b)
    if not self._safe_route:
        return m
    s = self.slack(obs, exact=False)
    if self._hi[m] <= s - 1e-9 * (abs(s) + 1.0):
        return m
    return self._guard(m, obs, b)


def reference_slack(self, obs, exact=True):
    """OptimisticRouter.slack as it was: through _queries_left and _floor_of_deployed."""
    left, remaining = self._queries_left(obs)
    t = self.horizon - left
    if t >= self._stage_end:
        self._pool_floor = self._floor_cost(np.flatnonzero(obs["available"] > 0.5).tolist())
        bounds = self.stage_bounds
        self._stage_end = bounds[min(bisect.bisect_right(bounds, t), len(bounds) - 1)]
    q = max(min(self._stage_end - t, left), 1)
    return remaining - (q - 1) * self._floor_of_deployed(exact) - (left - q) * self._pool_floor


def reference_uniform(rng):
    return rng.random()


def reference_sample_under_mask(rng, models, p, capacity_left):
    """sample_under_mask as it was: indexed loops, rng.random()."""
    total = 0.0
    for k, i in enumerate(models):
        if p[k] > 0.0 and capacity_left[i] > 0:
            total += p[k]
    if total <= 0.0:
        return -1
    r = rng.random() * total
    acc, m = 0.0, -1
    for k, i in enumerate(models):
        if p[k] > 0.0 and capacity_left[i] > 0:
            acc += p[k]
            m = i
            if r < acc:
                break
    return m


def reference_enum(u, c, caps, budget, k):
    """The plain enumeration: every support, in lexicographic order."""
    u, c, caps = (np.asarray(x, dtype=np.float64) for x in (u, c, caps))
    n = u.size
    best = DeploySolution((), None, -np.inf)
    for support in combinations(range(n), min(int(k), n)):
        idx = list(support)
        sol = solve_route_lp(u[idx], c[idx], caps[idx], budget)
        if sol.feasible and sol.value > best.value + 1e-12:
            d = np.zeros(n)
            d[idx] = sol.p
            best = DeploySolution(support, d, sol.value)
    return best


def same_deployment(a: DeploySolution, b: DeploySolution) -> bool:
    if a.d is None or b.d is None:
        return a.d is None and b.d is None and a.support == b.support
    return a.support == b.support and a.value == b.value and np.array_equal(a.d, b.d)


# ------------------------------------------------------------------------ unit by unit
values = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def deploy_instances(draw):
    n = draw(st.integers(1, 11))
    k = draw(st.integers(1, 5))
    ties = st.sampled_from([0.2, 0.5, 0.7, 0.9])
    u = np.array(draw(st.lists(ties | values, min_size=n, max_size=n)))
    c = np.array(draw(st.lists(st.sampled_from([0.0, 0.01, 0.1, 0.3]) | values, min_size=n, max_size=n)))
    caps = np.array(draw(st.lists(st.sampled_from([0.1, 0.2, 0.25, 0.5, 1.0]) | values, min_size=n, max_size=n)))
    b = draw(st.sampled_from([np.inf, 0.0]) | st.floats(0.0, 1.0))
    return u, c, caps, b, k


@given(deploy_instances())
@example((np.full(6, 0.5), np.full(6, 0.1), np.full(6, 0.5), 0.1, 2))  # every support ties
@example((np.array([0.9, 0.9 + 5e-13, 0.5, 0.9 + 2e-12]), np.array([0.2, 0.2, 0.0, 0.2]), np.full(4, 1.0), 0.3, 1))
def test_pruned_enumeration_returns_the_plain_enumerations_deployment(inst):
    u, c, caps, b, k = inst
    assert same_deployment(solve_deploy_enum(u, c, caps, b, k), reference_enum(u, c, caps, b, k))
    # DeployOPT's fallback problem: the cheapest mix, no budget row.
    assert same_deployment(solve_deploy_enum(-c, c, caps, np.inf, k), reference_enum(-c, c, caps, np.inf, k))


def test_pruned_enumeration_returns_the_plain_enumerations_deployment_on_seeded_pools():
    rng = np.random.default_rng(21)
    pruned = 0
    for _ in range(300):
        n = int(rng.integers(5, 13))
        k = int(rng.integers(2, 5))
        u = np.where(rng.random(n) < 0.2, 1.0, rng.uniform(0.5, 0.95, n))  # untried models at UCB 1
        c = rng.uniform(0.005, 0.3, n)
        caps = rng.choice([0.25, 0.35, 0.4, 0.5], n)
        b = float(rng.uniform(0.01, 0.2))
        assert same_deployment(solve_deploy_enum(u, c, caps, b, k), reference_enum(u, c, caps, b, k))
        pruned += 1
    assert pruned == 300


@given(
    st.floats(1.0, 1e6),
    st.floats(-0.5, 1.5, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.0]),
    st.floats(-0.5, 3.0, allow_nan=False) | st.sampled_from([0.0, -0.0]),
    st.sampled_from([0.02, 0.5, 1.0, 2.0]),
    st.sampled_from([0.02, 1.0]),
    st.booleans(),
    st.sampled_from([0.0, 0.01, 0.2, 5.0]),
)
def test_bounds_scalar_equals_the_builtin_min_max_version(n, mr, mc, gamma, cost_gamma, optimistic, floor):
    for nn in (n, 1.0, float(round(n))):
        got = bounds_module.bounds_scalar(nn, mr, mc, gamma, cost_gamma, 0.004, 1.5, optimistic, floor)
        want = reference_bounds_scalar(nn, mr, mc, gamma, cost_gamma, 0.004, 1.5, optimistic, floor)
        assert [x.hex() for x in got] == [x.hex() for x in want]


@given(
    st.floats(1.0, 1e6),
    st.floats(-0.5, 3.0, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.5]),
    st.sampled_from([0.02, 1.0]),
    st.sampled_from([0.0, 0.01, 0.2, 1.125, 5.0]),
    st.sampled_from([None, 0.0, 0.25, 0.5]),
)
def test_cost_upper_scalar_equals_the_builtin_min_max_version(n, mc, cost_gamma, floor, prior):
    for nn in (n, 1.0, float(round(n))):
        got = bounds_module.cost_upper_scalar(nn, mc, cost_gamma, 1.5, floor, prior)
        want = reference_cost_upper_scalar(nn, mc, cost_gamma, 1.5, floor, prior)
        assert got.hex() == want.hex()


@given(
    st.floats(1.0, 1e6),
    st.floats(-0.5, 1.5, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.0]),
    st.floats(-0.5, 3.0, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.5]),
    st.sampled_from([0.02, 0.5, 1.0, 2.0]),
    st.sampled_from([0.02, 1.0]),
    st.booleans(),
    st.sampled_from([0.0, 0.01, 0.2, 1.125, 5.0]),
    st.sampled_from([None, 0.0, 0.25, 0.5]),
)
def test_bounds_upper_scalar_equals_the_two_functions(n, mr, mc, gamma, cost_gamma, optimistic, floor, prior):
    for nn in (n, 1.0, float(round(n))):
        got = bounds_module.bounds_upper_scalar(nn, mr, mc, gamma, cost_gamma, 0.004, 1.5, optimistic, floor, prior)
        want = (
            *reference_bounds_scalar(nn, mr, mc, gamma, cost_gamma, 0.004, 1.5, optimistic, floor),
            reference_cost_upper_scalar(nn, mc, cost_gamma, 1.5, floor, prior),
        )
        assert [x.hex() for x in got] == [x.hex() for x in want]


@st.composite
def certificate_instances(draw):
    n = draw(st.integers(2, 7))
    u = draw(st.lists(st.sampled_from([0.3, 0.6, 1.0]) | values, min_size=n, max_size=n))
    c = draw(st.lists(st.sampled_from([0.01, 0.1]) | values, min_size=n, max_size=n))
    a = draw(st.lists(st.sampled_from([0.25, 0.5, 1.0]), min_size=n, max_size=n))
    b = draw(st.floats(0.0, 1.0))
    return u, c, a, b


@given(certificate_instances(), certificate_instances())
def test_certificate_equals_the_index_order_check(first, second):
    # A basis from one instance, checked on another of the same size (a drifted LP) and on itself.
    u, c, a, b = first
    sol = solve_route_lp(u, c, a, b)
    if sol.p is None:
        return
    basis = router_module._basis_of(np.clip(sol.p, 0.0, None).tolist(), c, a, b)
    if basis is None:
        return
    n = len(u)
    u2, c2, a2, b2 = (x[:n] if isinstance(x, list) else x for x in second)
    for inst in ((u, c, a, b), (u2 + u[len(u2) :], c2 + c[len(c2) :], a2 + a[len(a2) :], b2)):
        assert router_module._certify(basis, *inst) == reference_certify(basis, *inst)


@given(st.lists(st.tuples(st.floats(-1e3, 1e3, allow_nan=False), values), max_size=40))
def test_route_lp_cost_equals_the_generator_sum(pairs):
    c, p = [x for x, _ in pairs], [y for _, y in pairs]
    want = sum(ci * pi for ci, pi in zip(c, p, strict=True))  # _cost as it was
    got = solvers._cost(c, p)
    assert type(got) is type(want) and float(got).hex() == float(want).hex()


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox])
def test_routing_draws_equal_generator_random(bits):
    fast, plain = np.random.Generator(bits(7)), np.random.Generator(bits(7))
    draws = [router_module._uniform(fast) for _ in range(2000)]
    assert draws == [plain.random() for _ in range(2000)]
    # Interleaved with other draws from the same generator, the stream stays the same.
    assert [router_module._uniform(fast), fast.integers(10), router_module._uniform(fast)] == [
        plain.random(),
        plain.integers(10),
        plain.random(),
    ]


# ------------------------------------------------------------------------ whole episodes
WORLDS = [
    ("LLMRoute-v0", {"horizon": 6000, "n_stages": 18}),
    ("LLMRoute-v0", {"budget_mode": "average"}),
    ("LLMRoute-Market-v0", {}),
    ("LLMRoute-Typed-v0", {}),
    ("LLMRoute-Gen-v0", {"num_worlds": 20}),
    ("LLMRoute-v0", {"scenario": "market", "feedback_delay": 5}),
]


def play(agent_name: str, env_id: str, kwargs: dict, seed: int) -> list[int]:
    env = gym.make(env_id, **kwargs)
    agent = agents.make(agent_name, env)
    obs, info = env.reset(seed=seed)
    agent.reset(seed=seed)
    actions, start, done = [], np.ones(1, dtype=bool), False
    while not done:
        action, _ = agent.predict(obs, episode_start=start)
        start = None
        actions.append(int(action))
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    env.close()
    return actions


@pytest.mark.parametrize(("env_id", "kwargs"), WORLDS, ids=[f"{e}-{'-'.join(map(str, k.values()))}" for e, k in WORLDS])
@pytest.mark.parametrize("agent_name", ["stageroute", "stageroute_literal", "greedy"])
def test_fast_path_plays_the_plain_paths_actions(monkeypatch, agent_name, env_id, kwargs):
    fast = [play(agent_name, env_id, kwargs, seed) for seed in (0, 1)]
    with monkeypatch.context() as m:
        m.setattr(router_module, "bounds_scalar", reference_bounds_scalar)
        m.setattr(router_module, "_certify", reference_certify)
        m.setattr(router_module, "_uniform", reference_uniform)
        m.setattr(router_module, "sample_under_mask", reference_sample_under_mask)
        m.setattr(router_module, "cost_upper_scalar", reference_cost_upper_scalar)
        m.setattr(router_module.OptimisticRouter, "_refresh", reference_refresh)
        m.setattr(router_module.OptimisticRouter, "slack", reference_slack)
        m.setattr(router_module.OptimisticRouter, "route_obs", reference_route_obs)
        # Agent.predict's own path (through _act and route) instead of StageRoute's shortcut.
        m.delattr(StageRouteAgent, "predict")
        m.setattr(solvers, "solve_deploy_enum", reference_enum)
        plain = [play(agent_name, env_id, kwargs, seed) for seed in (0, 1)]
    assert len(fast[0]) > 100
    assert fast == plain
