"""Generated worlds (gym_llmroute/generated.py, docs/worlds.md "Generated worlds"): one world per index,
reproducible, feasible, calibrated on the market facts, with the spread of costs, the dominated models
and the binding budget the rules promise."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

import gym_llmroute
from gym_llmroute import Scenario, make_scenario
from gym_llmroute.generated import (
    GRID,
    MAX_MODELS,
    MIN_MODELS,
    budget_bounds,
    generate_scenario,
    world_sources,
)
from gym_llmroute.market import load_market
from gym_llmroute.solvers import min_cost, solve_deploy

WORLDS = range(200)
LARGE = (10**6, 10**6 + 1, 2**40)


@cache
def world(w: int) -> Scenario:
    return generate_scenario(w)


def _dominated(s: Scenario) -> np.ndarray:
    """Models some other model beats on cost and quality (at least as good in both, better in one)."""
    q, c = s.mean_quality, s.mean_cost
    weak = (q[None, :] >= q[:, None]) & (c[None, :] <= c[:, None])
    strict = (q[None, :] > q[:, None]) | (c[None, :] < c[:, None])
    return np.any(weak & strict, axis=1)


def _cheapest_and_frontier(s: Scenario) -> tuple[float, float]:
    """Reference for the budget rule with the package's solvers: the largest over stages of the cheapest
    deployment's cost, and of the best-quality deployment's cost (any best one)."""
    lo = hi = 0.0
    for k in range(s.n_stages):
        pool = np.flatnonzero(s.availability[k])
        c, q, a = s.mean_cost[pool], s.mean_quality[pool], s.throughput[pool]
        lo = max(lo, min_cost(c, a, s.max_deployed))
        best = solve_deploy(q, c, a, np.inf, s.max_deployed)
        assert best.d is not None
        hi = max(hi, float(best.d @ c))
    return lo, hi


# ------------------------------------------------------------------------------ reproducibility
def test_same_world_is_the_same_scenario():
    a, b = generate_scenario(3), generate_scenario(3)
    assert a.models == b.models and a.budget == b.budget and a.max_deployed == b.max_deployed
    assert a == b
    assert make_scenario("generated", world=3) == a
    assert generate_scenario(np.int64(3)) == a and generate_scenario(np.uint8(3)) == a


def test_different_worlds_differ():
    catalogs = {tuple(m.name for m in world(w).models) for w in range(30)}
    budgets = {world(w).budget for w in range(30)}
    assert len(catalogs) == 30 and len(budgets) == 30


def test_world_zero_is_pinned():
    """A recorded world: a change of the rules, the facts or NumPy's streams changes it (and must be
    a deliberate, documented change, since published results name worlds by index)."""
    s = generate_scenario(0)
    assert (s.name, s.n_models, s.max_deployed, s.horizon, s.n_stages) == ("generated-0", 11, 2, 1728, 12)
    assert s.budget == pytest.approx(0.05431, rel=1e-12)
    assert s.models[0].name == "llama-3-70b-v1"
    assert s.models[0].quality == pytest.approx(0.8097, abs=1e-12)


# ------------------------------------------------------------------------------ distribution
def test_catalog_sizes_cover_the_range():
    sizes = np.array([world(w).n_models for w in WORLDS])
    assert sizes.min() >= MIN_MODELS == 4 and sizes.max() <= MAX_MODELS == 40
    assert sizes.min() <= 5 and sizes.max() >= 35  # both ends are drawn
    assert 8 <= np.median(sizes) <= 16  # log-uniform: median about 12


@pytest.mark.parametrize("w", list(WORLDS) + list(LARGE))
def test_every_world_is_valid_and_feasible(w):
    s = world(w)
    assert isinstance(s, Scenario) and s.name == f"generated-{w}"
    assert MIN_MODELS <= s.n_models <= MAX_MODELS and 2 <= s.max_deployed <= 6
    assert np.all(np.isfinite(s.oracle.values)) and 0.0 < s.oracle.total
    assert s.horizon == 1728 and s.n_stages == 12 and s.budget_mode == "hard" and s.n_tasks == 1
    assert s.stationary and s.feedback_delay == 0 and s.outcomes is None
    names = s.model_names
    assert len(set(names)) == len(names)
    for m in s.models:
        assert 0.25 <= m.throughput <= 1.0 and m.cost_spread == 0.5 and m.cost > 0
        assert m.name.rsplit("-v", 1)[0] in {src["key"] for src in world_sources()}
        assert round(m.arrival * GRID, 9).is_integer()
        assert m.retirement is None or (round(m.retirement * GRID, 9).is_integer() and m.retirement > m.arrival)


def test_budget_lies_between_the_cheapest_deployment_and_the_frontier():
    binding = 0
    for w in range(60):
        s = world(w)
        lo, hi = _cheapest_and_frontier(s)
        assert lo <= s.budget <= hi * (1 + 1e-3) or lo == pytest.approx(hi)
        binding += s.budget < hi * 0.99
        # The rule's own bounds agree with the solvers' (the cheapest exactly).
        lo_rule, hi_rule = budget_bounds(s.mean_quality, s.mean_cost, s.throughput, s.availability, s.max_deployed)
        assert lo_rule == pytest.approx(lo, rel=1e-9) and hi_rule <= hi * (1 + 1e-9)
    assert binding >= 55


def test_the_budget_binds_the_oracle_in_most_worlds():
    binds = 0
    for w in range(60):
        s = world(w)
        free = s.replace(budget=1e6)
        binds += bool(np.any(s.oracle.values < free.oracle.values - 1e-9))
    assert binds >= 50


def test_costs_span_orders_of_magnitude_and_some_models_are_dominated():
    spans = np.array([world(w).mean_cost.max() / world(w).mean_cost.min() for w in WORLDS])
    shares = np.array([_dominated(world(w)).mean() for w in WORLDS])
    assert np.median(spans) >= 100 and np.mean(spans >= 10) >= 0.9
    assert np.mean(shares > 0) >= 0.9 and 0.3 <= np.mean(shares) <= 0.95
    assert np.mean(shares < 1) == 1.0  # a non-dominated model always exists


def test_catalog_order_is_random():
    best_first = [int(np.argmax(world(w).mean_quality)) == 0 for w in WORLDS]
    cheapest_first = [int(np.argmin(world(w).mean_cost)) == 0 for w in WORLDS]
    assert np.mean(best_first) < 0.3 and np.mean(cheapest_first) < 0.3
    # Release order is not catalog order either.
    in_release_order = [list(world(w).models) == sorted(world(w).models, key=lambda m: m.arrival) for w in WORLDS]
    assert np.mean(in_release_order) < 0.2


def test_arrivals_retirements_and_unknown_prices_occur():
    s_all = [world(w) for w in WORLDS]
    late = np.mean([np.mean([m.arrival > 0 for m in s.models]) for s in s_all])
    retired = np.mean([np.mean([m.retirement is not None for m in s.models]) for s in s_all])
    unknown = np.mean([np.mean([m.list_price is None for m in s.models]) for s in s_all])
    assert 0.35 <= late <= 0.8 and 0.1 <= retired <= 0.35 and 0.03 <= unknown <= 0.2
    # Every world starts with at least two models and later models come in release order.
    for s in s_all:
        assert sum(m.arrival == 0 for m in s.models) >= 2


def test_quality_and_prices_follow_the_sources():
    facts = {m.key: m for m in load_market()}
    for w in range(40):
        for m in world(w).models:
            src = facts[m.name.rsplit("-v", 1)[0]]
            assert m.release == src.release
            if src.mmlu is not None:
                assert abs(m.quality - src.mmlu / 100) <= 0.1  # five standard deviations
            if m.list_price is not None:
                assert src.price_in is not None and src.price_out is not None
                blended = (600 * src.price_in + 300 * src.price_out) / 900
                # The public price carries the cost's jitter: cost = list price * 900 tokens in USD units.
                assert m.cost == pytest.approx(m.list_price * 900 / 1e6 / 0.036, rel=1e-3)
                assert np.exp(-3.0) <= m.list_price / blended <= np.exp(3.0)


def test_sources_are_the_facts_with_a_price_and_a_quality():
    keys = {s["key"] for s in world_sources()}
    assert len(keys) == 36
    assert "qwen2.5-72b" not in keys and "deepseek-r1" not in keys  # no price; no quality figure
    assert {"yi-34b-chat", "gemini-1.0-pro"} <= keys  # quality from the Arena Elo


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "bad,exc", [(-1, ValueError), (np.int64(-5), ValueError), (True, TypeError), (2.0, TypeError), ("3", TypeError)]
)
def test_bad_world_is_refused_naming_it(bad, exc):
    with pytest.raises(exc, match="world"):
        generate_scenario(bad)
    with pytest.raises(exc, match="world"):
        make_scenario("generated", world=bad)


def test_overrides_replace_fields_of_the_drawn_world():
    base = world(5)
    s = generate_scenario(5, horizon=500, budget_mode="average", feedback_delay=3)
    assert (s.horizon, s.budget_mode, s.feedback_delay) == (500, "average", 3)
    assert s.models == base.models and s.budget == base.budget
    assert make_scenario("generated", world=5, horizon=500).horizon == 500
    assert make_scenario("generated").name == "generated-0"
    with pytest.raises(TypeError, match="colour"):
        generate_scenario(5, colour="red")


@pytest.mark.parametrize("n_stages", [1, 5, 46])
def test_any_number_of_stages_stays_feasible(n_stages):
    for w in range(20):
        s = generate_scenario(w, horizon=10_000, n_stages=n_stages)
        assert np.all(np.isfinite(s.oracle.values))


def test_infeasible_override_is_refused():
    s = world(1)
    with pytest.raises(ValueError, match="budget"):
        generate_scenario(1, budget=s.budget / 1e4)


def test_preset_is_listed_and_plays():
    import gymnasium as gym

    assert "generated" in gym_llmroute.list_scenarios()
    env = gym.make("LLMRoute-v0", scenario=make_scenario("generated", world=2, horizon=200, n_stages=4))
    obs, info = env.reset(seed=0)
    assert env.action_space.n == world(2).n_models + 1
    assert dataclasses.replace(world(2), horizon=200, n_stages=4).models == env.unwrapped.scenario.models
