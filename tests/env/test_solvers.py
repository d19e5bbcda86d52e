"""The exact solvers agree with scipy's HiGHS: the routing LP on random and degenerate instances, the
deployment MILP by enumeration against scipy.optimize.milp."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.optimize import linprog

from gym_llmroute.solvers import (
    solve_deploy,
    solve_deploy_bb,
    solve_deploy_enum,
    solve_deploy_milp,
    solve_route_lp,
    undominated,
)


def highs_route(u, c, caps, b):
    n = len(u)
    res = linprog(
        -np.asarray(u),
        A_ub=[c],
        b_ub=[b],
        A_eq=[np.ones(n)],
        b_eq=[1.0],
        bounds=list(zip([0.0] * n, caps, strict=True)),
        method="highs",
    )
    return (-res.fun if res.status == 0 else None), res.status


def generic(u, c) -> bool:
    """No ties in value or cost and no two pairs of models swapping order at the same multiplier."""
    u, c = np.asarray(u), np.asarray(c)
    du, dc = u[:, None] - u[None, :], c[:, None] - c[None, :]
    pairs = (du > 0) & (dc > 0)
    with np.errstate(over="ignore"):
        lams = np.round(du[pairs] / dc[pairs], 9)
    return len(set(u)) == len(u) and len(set(c)) == len(c) and len(set(lams)) == lams.size


def check_against_highs(u, c, caps, b):
    sol = solve_route_lp(u, c, caps, b)
    ref, status = highs_route(u, c, caps, b)
    if ref is None:
        assert status == 2, f"HiGHS status {status}"
        assert not sol.feasible
        return
    assert sol.feasible, "HiGHS found a feasible routing the exact solver missed"
    p = sol.p
    assert abs(sol.value - ref) <= 1e-7 * max(1.0, abs(ref))
    assert abs(p.sum() - 1.0) <= 1e-9
    assert np.all(p >= -1e-12) and np.all(p <= np.asarray(caps) + 1e-12)
    assert float(np.dot(c, p)) <= b + 1e-9 * max(1.0, b)
    if generic(u, c):
        # Generic instance (each breakpoint swaps one pair): the solution is a vertex, at most two entries
        # strictly inside their bounds. When several pairs swap at one breakpoint (ties, collinear
        # models), the mix of the two bracketing fills is still optimal but may split more entries.
        assert np.sum((p > 1e-12) & (p < np.asarray(caps) - 1e-12)) <= 2, "more than two fractional entries"


values = st.floats(0.0, 1.0, allow_nan=False)
coarse = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])  # ties and exact vertices


@st.composite
def route_instances(draw):
    n = draw(st.integers(1, 9))
    pick = coarse if draw(st.booleans()) else values
    u = np.array(draw(st.lists(pick, min_size=n, max_size=n)))
    c = np.array(draw(st.lists(pick, min_size=n, max_size=n)))
    caps_kind = draw(st.sampled_from(["random", "sum_to_one", "all_one"]))
    if caps_kind == "random":
        caps = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    elif caps_kind == "sum_to_one":
        w = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=float)
        caps = w / w.sum()
    else:
        caps = np.ones(n)
    budget_kind = draw(st.sampled_from(["random", "vertex", "min_cost"]))
    if budget_kind == "random":
        b = draw(st.floats(0.0, 1.2))
    elif budget_kind == "vertex":
        b = float(c[draw(st.integers(0, n - 1))])  # a model's cost exactly
    else:
        b = float(np.sort(c)[0])
    return u, c, caps, b


@given(route_instances())
def test_route_lp_matches_highs_on_random_and_degenerate_instances(inst):
    check_against_highs(*inst)


def test_route_lp_matches_highs_on_thousands_of_seeded_instances():
    rng = np.random.default_rng(2024)
    for i in range(3000):
        n = int(rng.integers(1, 12))
        u, c = rng.random(n), rng.random(n)
        if i % 3 == 0:  # ties
            u, c = np.round(u, 1), np.round(c, 1)
        caps = rng.uniform(0.05, 1.0, n)
        if i % 5 == 0:  # caps summing to exactly one
            caps = rng.dirichlet(np.ones(n))
            caps /= caps.sum()
        b = float(rng.uniform(0, 1)) if i % 7 else float(rng.choice(c))
        check_against_highs(u, c, caps, b)


def test_route_lp_with_a_subnormal_cost_difference_matches_highs():
    # Found by hypothesis: a cost of 2.2e-309 made a breakpoint overflow to infinity.
    u = np.array([1.0, 0.0, 0.5, 0.0])
    c = np.array([1.0, 0.0, 2.225e-309, 0.0])
    sol = solve_route_lp(u, c, np.ones(4), 0.0)
    assert sol.value == pytest.approx(0.5)
    check_against_highs(u, c, np.ones(4), 0.0)


def test_route_lp_hand_solved_two_models():
    # Strong (u=0.9, c=1) and cheap (u=0.5, c=0): budget 0.3 -> 30% strong, value 0.62.
    sol = solve_route_lp([0.9, 0.5], [1.0, 0.0], [1.0, 1.0], 0.3)
    np.testing.assert_allclose(sol.p, [0.3, 0.7])
    assert sol.value == pytest.approx(0.62)


def test_route_lp_infeasible_cases():
    assert not solve_route_lp([0.9, 0.5], [1.0, 0.6], [1.0, 1.0], 0.5).feasible  # every mix costs > b
    assert not solve_route_lp([0.9, 0.5], [0.0, 0.0], [0.4, 0.5], 1.0).feasible  # caps sum to 0.9
    assert not solve_route_lp([], [], [], 1.0).feasible


@st.composite
def deploy_instances(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, n))
    u = np.array(draw(st.lists(st.sampled_from([0.2, 0.5, 0.7, 0.9]) | values, min_size=n, max_size=n)))
    c = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    caps = np.array(draw(st.lists(st.sampled_from([0.2, 0.25, 0.5, 1.0]), min_size=n, max_size=n)))
    b = draw(st.floats(0.0, 1.0))
    return u, c, caps, b, k


@given(deploy_instances())
# Found by hypothesis: b = 0 and a model costing 6e-8, feasible for HiGHS only within its tolerance.
@example((np.array([0.2, 0.2, 0.2]), np.array([0.0, 5.96046448e-08, 0.0]), np.array([0.2, 1.0, 0.2]), 0.0, 1))
# Found by hypothesis in CI: b = 6e-8 buys 7.6e-6 of a model costing 0.0078 (value 1.5e-6); the HiGHS of
# scipy 1.15 leaves that mix at zero (value 0), the one of scipy 1.17 finds it.
@example(
    (
        np.array([0.0, 0.0, 0.0, 0.2, 0.2, 0.2]),
        np.array([0.0, 0.0, 0.0, 1.0, 1.0, 0.0078125]),
        np.array([0.2, 0.2, 1.0, 0.2, 0.2, 0.2]),
        5.960464477539063e-08,
        2,
    )
)
def test_deploy_enumeration_matches_highs_milp(inst):
    u, c, caps, b, k = inst
    enum = solve_deploy_enum(u, c, caps, b, k)
    milp = solve_deploy_milp(u, c, caps, b, k)
    if enum.feasible != milp.feasible:
        # Only within HiGHS' feasibility tolerance (1e-7): its mix overspends b by less than that
        # (e.g. b = 0 and a model costing 6e-8), and the enumeration agrees once b has that slack.
        assert milp.feasible and float(c @ milp.d) - b <= 1e-7
        assert solve_deploy_enum(u, c, caps, b + 1e-7, k).feasible
        return
    if enum.feasible:
        # HiGHS' tolerances: 1e-6 on the objective, and 1e-7 on the budget row, which is worth up to
        # 1e-7 times the best value per unit of cost (a budget that small is all tolerance).
        priced = c > 1e-12
        per_cost = float(np.max(u[priced] / c[priced])) if priced.any() else 0.0
        assert enum.value == pytest.approx(milp.value, abs=1e-6 + 1e-7 * per_cost)
        assert len(enum.support) <= k
        d = enum.d
        assert np.all(d[[i for i in range(len(u)) if i not in enum.support]] == 0)
        assert float(c @ d) <= b + 1e-9


def test_solve_deploy_uses_milp_for_large_pools_and_agrees():
    rng = np.random.default_rng(0)
    u, c, caps = rng.random(14), rng.random(14) * 0.5, rng.uniform(0.2, 0.5, 14)
    big = solve_deploy(u, c, caps, 0.2, 5, enum_limit=10)  # C(14, 5) = 2002 > 10: HiGHS
    exact = solve_deploy_enum(u, c, caps, 0.2, 5)
    assert big.value == pytest.approx(exact.value, abs=1e-7)


@given(deploy_instances())
@example((np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.1, 0.1]), np.array([0.5, 0.5, 0.5]), 0.1, 2))  # ties
def test_branch_and_bound_and_dominance_pruning_equal_the_enumeration(inst):
    u, c, caps, b, k = inst
    enum = solve_deploy_enum(u, c, caps, b, k)
    bb = solve_deploy_bb(u, c, caps, b, k)
    keep = undominated(u, c, caps, k)
    pruned = solve_deploy_enum(u[keep], c[keep], caps[keep], b, k) if keep.size else enum
    assert bb.feasible == enum.feasible == pruned.feasible
    if enum.feasible:
        assert bb.value == pytest.approx(enum.value, abs=1e-12)
        assert pruned.value == pytest.approx(enum.value, abs=1e-12)
        d = bb.d
        assert len(bb.support) <= k and np.count_nonzero(d) <= k
        assert abs(d.sum() - 1.0) <= 1e-9 and np.all(d <= caps + 1e-12) and float(c @ d) <= b + 1e-9


def test_branch_and_bound_matches_highs_on_generated_worlds_pools():
    from gym_llmroute.generated import generate_scenario

    solved = 0
    for w in range(0, 200, 8):
        s = generate_scenario(w)
        for pool in {tuple(np.flatnonzero(a)) for a in s.availability}:
            idx = list(pool)
            u, c, caps = s.mean_quality[idx], s.mean_cost[idx], s.throughput[idx]
            bb = solve_deploy_bb(u, c, caps, s.budget, s.max_deployed)
            milp = solve_deploy_milp(u, c, caps, s.budget, s.max_deployed)
            assert bb.value == pytest.approx(milp.value, abs=1e-6)  # HiGHS' tolerance
            assert bb.value >= milp.value - 1e-6
            solved += 1
    assert solved > 100
