"""The ``realdata`` world (``LLMRoute-RealData-v0``): ParetoBandit's real per-prompt trace, shipped in
``gym_llmroute/data/paretobandit_val.csv`` (Apache-2.0), replayed as a stream of three production models."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import agents
import gym_llmroute
from gym_llmroute import make_scenario
from gym_llmroute.solvers import min_cost
from gym_llmroute.trace import (
    REALDATA_TRACE,
    REALDATA_USD_PER_UNIT,
    load_trace,
    realdata_list_prices,
    realdata_scenario,
    realdata_trace,
)

PACKAGE_DATA = Path(gym_llmroute.__file__).resolve().parent / "data"
# sha256 of the reference file paretobandit_val.csv the shipped copy was made from (gym_llmroute/data/README.md).
REFERENCE_SHA256 = "e8f0f70a84e8d0424b7d58704edb09c6d3de915ecd58cbd65e20abf5850afd2e"
MODELS = ("llama-3.1-8b", "mistral-large-2512", "gemini-2.5-pro")
TASKS = {"mbpp", "mmlu", "openbookqa", "arc_challenge", "gsm8k", "bbh", "winogrande", "truthful_qa", "hellaswag"}
# The figures of the reference data's README (section paretobandit_val.csv): mean reward to
# three decimals, mean cost in USD per prompt to two significant digits.
README_REWARD = (0.789, 0.925, 0.935)
README_USD = (2.9e-5, 5.0e-4, 1.5e-2)
NEWCOMER = "mistral-large-2512"


@pytest.fixture(scope="module")
def world():
    return make_scenario("realdata")


def _cheapest(s, k: int) -> float:
    """Smallest per-query cost of any deployment allowed at stage k (caps, M_max)."""
    pool = np.flatnonzero(s.availability[k])
    return min_cost(s.stage_cost[k][:, pool].T @ s.task_weights, s.throughput[pool], s.max_deployed)


# ------------------------------------------------------------------------------ the shipped file
def test_trace_is_read_from_the_shipped_copy_with_its_license():
    tr = realdata_trace()
    assert Path(tr.source).resolve() == PACKAGE_DATA / REALDATA_TRACE
    assert "shared" not in Path(tr.source).resolve().relative_to(PACKAGE_DATA.parent).parts
    notice = (PACKAGE_DATA / "LICENSE-paretobandit").read_text(encoding="utf-8")
    for words in ("paretobandit", "0.1.1", "val.jsonl", "Apache License", "Version 2.0", "arXiv:2604.00136"):
        assert words in notice
    assert REALDATA_TRACE in (PACKAGE_DATA / "README.md").read_text(encoding="utf-8")


def test_shipped_copy_is_the_reference_file():
    assert hashlib.sha256((PACKAGE_DATA / REALDATA_TRACE).read_bytes()).hexdigest() == REFERENCE_SHA256


def test_trace_has_the_readme_rows_models_and_means():
    tr = realdata_trace()
    assert tr.n_rows == 1785 and tr.model_names == MODELS
    assert set(tr.task_names) == TASKS and len(tr.task_names) == 9
    assert np.all(np.bincount(tr.tasks, minlength=9) > 0)
    # Mean reward: the README's three decimals (tolerance half a unit of the last digit).
    np.testing.assert_allclose(tr.rewards.mean(axis=0), README_REWARD, atol=5e-4)
    # Mean cost in USD before normalisation: the README's two significant digits (tolerance 2 %).
    np.testing.assert_allclose(tr.costs.mean(axis=0), README_USD, rtol=0.02)
    # ~500x cost spread for ~15 points of quality.
    usd = tr.costs.mean(axis=0)
    assert 400 < usd[2] / usd[0] < 600
    assert tr.rewards.mean(axis=0)[2] - tr.rewards.mean(axis=0)[0] == pytest.approx(0.146, abs=1e-3)


# ------------------------------------------------------------------------------ the preset
def test_preset_parameters(world):
    s = world
    assert s.name == "realdata" and s.model_names == MODELS
    assert s.horizon == 20_000 and s.n_stages == 27 == round(s.horizon ** (1 / 3))
    assert s.max_deployed == 2 and s.n_models == 3
    np.testing.assert_array_equal(s.throughput, 1.0)
    assert make_scenario("realdata") == realdata_scenario() == s
    assert "realdata" in gym_llmroute.list_scenarios()


def test_task_type_is_the_benchmark_so_the_world_is_typed(world):
    tr = realdata_trace()
    assert world.n_tasks == 9 and world.task_types == tr.task_names
    np.testing.assert_allclose(world.task_weights, tr.task_mix)
    # Per-(task, model) means are the trace's (costs in the world's unit).
    np.testing.assert_allclose(world.quality_matrix, tr.mean_reward)
    np.testing.assert_allclose(world.cost_matrix, tr.mean_cost / REALDATA_USD_PER_UNIT)


def test_costs_are_in_units_of_usd_0_015(world):
    assert REALDATA_USD_PER_UNIT == 0.015
    mean_cost = world.cost_matrix.T @ world.task_weights
    np.testing.assert_allclose(mean_cost, np.array(README_USD) / 0.015, rtol=0.02)
    assert mean_cost.argmax() == 2 and mean_cost[2] == pytest.approx(1.0, abs=0.01)


def test_newest_model_arrives_during_the_horizon(world):
    s = world
    m = s.model_names.index(NEWCOMER)
    assert 0.25 <= s.models[m].arrival <= 0.35
    avail = s.availability
    assert not avail[0, m] and avail[-1, m]
    first = int(np.argmax(avail[:, m]))
    assert first == 9 and avail[first:, m].all() and not avail[:first, m].any()
    assert s.stage_bounds[first] == 6667  # the first boundary at or after 0.3 * T
    # The two others are there from the start to the end.
    assert avail[:, [0, 2]].all()
    # And the stream matters: the newcomer displaces llama-3.1-8b in the oracle's deployment.
    np.testing.assert_array_equal(s.oracle.deployed[0], [True, False, True])
    np.testing.assert_array_equal(s.oracle.deployed[-1], [False, True, True])


def test_every_stage_is_feasible_and_deploying_is_a_choice(world):
    s = world
    assert np.all(np.isfinite(s.oracle.values))
    n_available = s.availability.sum(axis=1)
    # Two models and two slots before the newcomer; three models for two slots from stage 9 on.
    np.testing.assert_array_equal(n_available, [2] * 9 + [3] * 18)
    for k in range(s.n_stages):
        assert _cheapest(s, k) <= s.budget


def test_budget_lies_between_the_cheapest_deployment_and_the_frontier_and_binds(world):
    s = world
    cheapest = max(_cheapest(s, k) for k in range(s.n_stages))
    frontier = float(s.cost_matrix[:, 2] @ s.task_weights)  # gemini-2.5-pro, the best mean reward
    assert s.quality_matrix.T @ s.task_weights == pytest.approx([0.7888, 0.9248, 0.9349], abs=1e-4)
    assert cheapest == pytest.approx(0.001953, rel=1e-3) and frontier == pytest.approx(1.0024, rel=1e-4)
    assert cheapest < s.budget < frontier
    assert s.budget == 0.2
    # The budget binds: an unlimited one is worth more in every stage.
    rich = s.replace(budget=2.0)
    assert np.all(rich.oracle.values > s.oracle.values + 1e-3)
    # The oracle sends 10-30 % of the traffic to gemini-2.5-pro, before and after the newcomer.
    for k in (0, s.n_stages - 1):
        share = float(s.task_weights @ np.asarray(s.oracle.routing[k])[:, 2])
        assert 0.10 <= share <= 0.30, (k, share)


def test_oracle_value_per_query(world):
    s = world
    assert s.oracle.values[0] == pytest.approx(0.8360, abs=1e-4)
    assert s.oracle.values[-1] == pytest.approx(0.9299, abs=1e-4)
    assert s.oracle.total / s.horizon == pytest.approx(0.8986, abs=1e-4)


def test_list_prices_are_the_mean_usd_per_million_prompts(world):
    tr = realdata_trace()
    prices = realdata_list_prices()
    assert tuple(prices) == MODELS
    np.testing.assert_allclose(list(prices.values()), tr.costs.mean(axis=0) * 1e6, atol=0.005)
    assert list(prices.values()) == [29.29, 502.86, 15036.63]
    assert np.all(np.isfinite(world.list_prices)) and np.all(world.list_prices > 0)
    env = gym.make("LLMRoute-RealData-v0")
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs["price"], world.list_prices / world.list_prices.max(), rtol=1e-6)
    assert np.all(obs["price"] > 0) and obs["price"][2] == 1.0


# ------------------------------------------------------------------------------ overrides
def test_horizon_and_budget_overrides():
    s = make_scenario("realdata", horizon=3000, n_stages=14, budget=0.3)
    assert (s.horizon, s.n_stages, s.budget) == (3000, 14, 0.3)
    assert s.oracle.values[0] > make_scenario("realdata").oracle.values[0]  # a richer budget is worth more
    env = gym.make("LLMRoute-RealData-v0", horizon=5000, budget=0.1)
    assert (env.unwrapped.scenario.horizon, env.unwrapped.scenario.budget) == (5000, 0.1)
    # The arrival is a fraction of the horizon: at T = 3000, K = 14 the newcomer joins at stage 5 (0.357).
    assert int(np.argmax(s.availability[:, 1])) == 5


@pytest.mark.parametrize("make", [make_scenario, lambda name, **kw: gym.make("LLMRoute-RealData-v0", **kw)])
def test_infeasible_budget_is_refused_with_the_cheapest_cost(make):
    with pytest.raises(ValueError, match=r"budget=0\.001 per query cannot be met.*costs 0\.001953 per query"):
        make("realdata", budget=0.001)


# ------------------------------------------------------------------------------ env
def test_registered_id_and_vector_entry_point():
    assert "LLMRoute-RealData-v0" in gym_llmroute.ENV_IDS
    spec = gym.spec("LLMRoute-RealData-v0")
    assert spec.kwargs == {"scenario": "realdata"} and spec.vector_entry_point
    envs = gym.make_vec("LLMRoute-RealData-v0", num_envs=2, vectorization_mode="vector_entry_point")
    obs, info = envs.reset(seed=0)
    assert obs["task"].shape == (2, 9)
    envs.close()


def test_stageroute_episode_smoke():
    env = gym.make("LLMRoute-RealData-v0")
    result = agents.run_episode(agents.make("stageroute", env), env, seed=0)
    assert math.isfinite(result["reward_fraction"]) and 0.5 < result["reward_fraction"] <= 1.05
    assert result["queries_served"] <= 20_000 and result["cost"] <= result["budget"] + 1e-6


def test_rows_replayed_are_trace_rows():
    """A query's outcomes are one row of the shipped trace (all three models' rewards and costs)."""
    s = make_scenario("realdata", horizon=300, n_stages=3)
    tasks, rewards, costs = s.outcomes.sample(s, np.random.default_rng(0), 0, 50)
    tr = load_trace(PACKAGE_DATA / REALDATA_TRACE)
    rows = {(int(t), *r, *c) for t, r, c in zip(tr.tasks, tr.rewards, tr.costs / REALDATA_USD_PER_UNIT, strict=True)}
    for t, r, c in zip(tasks, rewards, costs, strict=True):
        assert (int(t), *r, *c) in rows
