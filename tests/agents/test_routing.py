"""StageRoute's components (agents/policies/stageroute/): bounds, DeployOPT, RouteOPT."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import linprog

from agents.policies.stageroute import (
    OptimisticRouter,
    confidence_bounds,
    confidence_radius,
    deploy_opt,
)
from gym_llmroute.solvers import linprog_route, solve_route_lp


# ---------------------------------------------------------------------------------------- bounds
def test_confidence_radius_matches_hand_computed_value():
    # sqrt(0.1 * 0.25 / 4) + 0.1 / 4 = sqrt(0.00625) + 0.025
    assert confidence_radius(0.25, 4, 0.1) == pytest.approx(0.0790569415 + 0.025, abs=1e-10)
    assert confidence_radius(0.0, 1, 0.3) == pytest.approx(0.3)


def test_confidence_bounds_match_hand_computed_values():
    pulls = np.array([0, 3, 99])
    mean_reward = np.array([0.0, 0.5, 0.9])
    mean_cost = np.array([0.0, 0.4, 0.05])
    ucb, lcb = confidence_bounds(pulls, mean_reward, mean_cost, 0.1, (0.01, 1.0))
    # Untried: UCB = 1 (maximal optimism), LCB = c_1. n = 4: f(0.5) = sqrt(0.0125) + 0.025,
    # f(0.4) = 0.1 + 0.025. n = 100: f(0.9) = 0.03 + 0.001, f(0.05) = sqrt(5e-5) + 0.001.
    expected_ucb = [1.0, 0.5 + 2 * (0.1118033989 + 0.025), 0.9 + 2 * 0.031]
    expected_lcb = [0.01, 0.4 - 2 * 0.125, 0.05 - 2 * (0.0070710678 + 0.001)]
    np.testing.assert_allclose(ucb, expected_ucb, atol=1e-9)
    np.testing.assert_allclose(lcb, expected_lcb, atol=1e-9)
    # The ablation's radius at N = 0: UCB = min(1, 2 gamma) for the untried model, the rest unchanged.
    ucb_r, lcb_r = confidence_bounds(pulls, mean_reward, mean_cost, 0.1, (0.01, 1.0), optimistic=False)
    np.testing.assert_allclose(ucb_r, [0.2] + expected_ucb[1:], atol=1e-9)
    np.testing.assert_array_equal(lcb_r, lcb)


def test_confidence_bounds_are_clipped_to_unit_reward_and_cost_range():
    ucb, lcb = confidence_bounds([0, 10**6], [0.0, 1.0], [0.0, 2.0], 0.6, (0.05, 1.5))
    assert ucb.tolist() == [1.0, 1.0]  # untried: 1; tried: 1 + radius clipped to 1
    assert lcb.tolist() == [0.05, 1.5]  # untried: c_1; 2.0 - 0.002 clipped to c_2


def test_router_bounds_equal_vectorised_bounds_exactly():
    rng = np.random.default_rng(3)
    pulls = rng.integers(0, 500, 12).astype(np.float32)
    mr = rng.random(12).astype(np.float32)
    mc = (rng.random(12) * 0.3).astype(np.float32)
    router = OptimisticRouter(np.full(12, 0.5), 0.05, (0.004, 1.5), gamma=0.37)
    router.update(pulls, mr, mc)
    ucb, lcb = confidence_bounds(pulls, mr, mc, 0.37, (0.004, 1.5))
    assert np.array_equal(router.ucb, ucb)
    assert np.array_equal(router.lcb, lcb)
    # Incremental refresh after one model's statistics change.
    pulls[5] += 1
    mr[5] = 0.25
    router._last = 5
    router.update(pulls, mr, mc)
    ucb, lcb = confidence_bounds(pulls, mr, mc, 0.37, (0.004, 1.5))
    assert np.array_equal(router.ucb, ucb) and np.array_equal(router.lcb, lcb)


# ---------------------------------------------------------------------------------------- RouteOPT
def test_warm_started_route_lp_matches_exact_and_linprog_on_drifting_instances():
    """The router's LP (warm start + certificate, greedy fill, exact fallback) has the optimal value
    of solve_route_lp and of scipy's HiGHS, and a feasible p, along random drifts of the bounds."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(60):
        n = int(rng.integers(2, 7))
        alpha = rng.uniform(0.2, 1.0, n)
        router = OptimisticRouter(alpha, 0.1, (0.0, 1.0), gamma=0.1, solver="exact")
        router.set_deployed(np.ones(n))
        u = rng.random(n)
        c = rng.random(n) * 0.3
        b = float(rng.uniform(0.02, 0.2))
        for step in range(40):
            k = int(rng.integers(n))
            u[k] = min(1.0, max(0.0, u[k] + rng.normal() * 0.02))
            c[k] = max(0.0, c[k] + rng.normal() * 0.005)
            router._ucb, router._lcb, router._dirty = u.tolist(), c.tolist(), True
            bt = b * (1 + 0.05 * rng.normal()) if step % 3 == 0 else b
            _, p = router.distribution(bt)
            ref = solve_route_lp(u, c, alpha, bt)
            assert (p is None) == (not ref.feasible)
            if p is None:
                continue
            p = np.array(p)
            assert p.sum() == pytest.approx(1.0, abs=1e-9)
            assert np.all(p >= 0) and np.all(p <= alpha + 1e-12)
            assert c @ p <= bt + 1e-9
            assert u @ p == pytest.approx(ref.value, abs=1e-9)
            if step % 10 == 0:
                x = linprog_route(u, c, alpha, bt)
                assert u @ p == pytest.approx(u @ x, abs=1e-7)
            checked += 1
    assert checked > 1000
    # Most drifts keep the basis: the warm start is what makes the router fast.
    assert router.n_warm > router.n_solves


def test_router_draws_follow_lp_renormalised_over_unsaturated_models():
    alpha = np.array([0.5, 0.5, 0.5])
    router = OptimisticRouter(alpha, 0.1, (0.0, 1.0), rng=np.random.default_rng(0))
    deployed = np.ones(3, dtype=np.float32)
    pulls = np.full(3, 100.0, dtype=np.float32)
    mr = np.array([0.9, 0.8, 0.5], dtype=np.float32)
    mc = np.array([0.2, 0.05, 0.01], dtype=np.float32)
    router.set_deployed(deployed)
    router.update(pulls, mr, mc)
    _, p = router.distribution()
    p = np.array(p)
    assert p[0] > 0 and p[1] > 0
    cap = np.array([0.0, 0.3, 0.3], dtype=np.float32)  # model 0 is saturated
    draws = np.array([router.route(deployed, cap, pulls, mr, mc) for _ in range(4000)])
    assert not np.any(draws == 0)
    share = np.mean(draws == 1)
    expected = p[1] / (p[1] + p[2]) if p[1] + p[2] > 0 else 1.0
    # Binomial standard error at n = 4000 is at most 0.008: four of them.
    assert abs(share - expected) < 0.032


def test_router_falls_back_to_smallest_lcb_when_lp_infeasible_and_counts_it():
    alpha = np.array([0.5, 0.6, 0.5])
    router = OptimisticRouter(alpha, 0.01, (0.0, 1.0))
    pulls = np.full(3, 10_000.0)
    mc = np.array([0.5, 0.2, 0.3])  # every LCB far above b = 0.01
    deployed = np.ones(3)
    cap = np.array([0.1, 0.1, 0.1])
    m = router.route(deployed, cap, pulls, np.full(3, 0.5), mc)
    assert m == 1 and router.n_infeasible == 1
    cap[1] = 0.0  # the cheapest is saturated: next cheapest valid
    assert router.route(deployed, cap, pulls, np.full(3, 0.5), mc) == 2
    assert router.n_infeasible == 2


def test_router_rejects_unknown_solver_and_bad_gamma():
    with pytest.raises(ValueError, match="solver"):
        OptimisticRouter(np.ones(2), 0.1, (0, 1), solver="gurobi")
    with pytest.raises(ValueError, match="gamma"):
        OptimisticRouter(np.ones(2), 0.1, (0, 1), gamma=0.0)


# ---------------------------------------------------------------------------------------- DeployOPT
def _brute_force_deploy(u, c, alpha, b, k, lp="linprog"):
    """Best value over every subset of at most k models, each LP solved independently."""
    best = -np.inf
    for size in range(1, k + 1):
        for subset in combinations(range(len(u)), size):
            idx = list(subset)
            if lp == "linprog":
                res = linprog(
                    -u[idx],
                    A_ub=c[idx][None, :],
                    b_ub=[b],
                    A_eq=np.ones((1, size)),
                    b_eq=[1.0],
                    bounds=list(zip(np.zeros(size), alpha[idx], strict=True)),
                    method="highs",
                )
                value = -res.fun if res.status == 0 else -np.inf
            else:
                value = solve_route_lp(u[idx], c[idx], alpha[idx], b).value
            best = max(best, value)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_deploy_opt_value_equals_enumeration_with_linprog(seed):
    rng = np.random.default_rng(seed)
    n, k = 7, 3
    u = rng.random(n)
    c = rng.random(n) * 0.2
    alpha = rng.uniform(0.3, 0.8, n)
    available = rng.random(n) < 0.85
    available[:2] = True
    b = 0.08
    plan = deploy_opt(u, c, alpha, b, k, available)
    pool = np.flatnonzero(available)
    best = _brute_force_deploy(u[pool], c[pool], alpha[pool], b, k)
    assert len(plan.models) == min(k, pool.size)
    assert set(plan.models) <= set(pool.tolist())
    if np.isfinite(best):
        assert plan.feasible and plan.value == pytest.approx(best, abs=1e-7)
        idx = list(plan.models)
        assert solve_route_lp(u[idx], c[idx], alpha[idx], b).value == pytest.approx(best, abs=1e-7)


def test_deploy_opt_large_pool_uses_milp_and_matches_enumeration():
    rng = np.random.default_rng(5)
    n, k = 14, 5  # C(14, 5) = 2002 supports: above the enumeration limit, so HiGHS solves it
    u, c, alpha = rng.random(n), rng.random(n) * 0.2, rng.uniform(0.25, 0.6, n)
    plan = deploy_opt(u, c, alpha, 0.06, k, np.ones(n, dtype=bool))
    best = _brute_force_deploy(u, c, alpha, 0.06, k, lp="exact")
    assert len(plan.models) == k
    assert plan.value == pytest.approx(best, abs=1e-6)


def test_deploy_opt_fills_leftover_slots_by_highest_ucb():
    # Model 0 alone is optimal (cap 1, best value, affordable): the other two slots go to the
    # highest UCB among the rest (ties: lower LCB), here models 3 and then 2 (cheaper than 4).
    u = np.array([0.95, 0.3, 0.6, 0.9, 0.6])
    c = np.array([0.01, 0.01, 0.02, 0.5, 0.03])
    alpha = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    plan = deploy_opt(u, c, alpha, 0.05, 3, np.ones(5, dtype=bool))
    assert plan.models == (0, 3, 2)
    assert plan.feasible and plan.value == pytest.approx(0.95)


def test_deploy_opt_infeasible_bounds_deploy_cheapest_and_say_so():
    u = np.array([0.9, 0.8, 0.7])
    c = np.array([0.5, 0.3, 0.4])
    plan = deploy_opt(u, c, np.array([0.6, 0.6, 0.6]), 0.1, 2, np.ones(3, dtype=bool))
    assert not plan.feasible
    assert set(plan.models) == {1, 2}  # the cheapest pair whose caps reach one
