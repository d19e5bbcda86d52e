"""The realistic worlds (docs/worlds.md): market calibration, task-typed queries and their observation,
non-stationarity options (price changes, drift, delayed feedback), and the registered world ids."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from scipy.optimize import linprog
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gym_llmroute
from gym_llmroute import ModelSpec, Scenario, make_scenario
from gym_llmroute.env import ROUTE, LLMRouteEnv
from gym_llmroute.market import (
    MARKET_ANSWER,
    MARKET_PROMPT,
    TokenLengths,
    elo_to_mmlu,
    load_market,
    market_catalog,
    market_scenario,
    typed_scenario,
)
from gym_llmroute.solvers import solve_deploy, solve_typed_deploy
from gym_llmroute.world import sample_outcomes

WORLD_IDS = ("LLMRoute-Market-v0", "LLMRoute-Typed-v0", "LLMRoute-Trace-v0")
# sha256 of the sorted JSON rows [ref_id, model, vendor, release_month, confidence, price_in, price_out,
# mmlu, arena_elo] of the reference file llm_market_2023_2025.csv (empty cells as null, numbers as floats).
MARKET_FACTS_SHA256 = "11a942107f630257370cb42170c216e032cc8aecac977f4ac0052091df62d985"


@pytest.fixture(scope="module")
def market() -> Scenario:
    return market_scenario()


@pytest.fixture(scope="module")
def typed() -> Scenario:
    return typed_scenario()


def _masked_random_episode(env, seed: int, rng: np.random.Generator, max_steps: int = 10**6):
    obs, info = env.reset(seed=seed)
    steps = []
    for _ in range(max_steps):
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        prev = obs
        obs, r, term, trunc, info = env.step(a)
        steps.append((prev, a, r, obs, info))
        if term:
            break
    return steps


# ------------------------------------------------------------------------------ market facts
def test_package_market_data_copies_the_reference_facts_verbatim():
    """The facts of every model (names, release, confidence, prices, MMLU, Arena Elo) hash to the
    digest of the same fields of the project's reference file (gym_llmroute/data/README.md)."""
    facts = [
        [m.ref_id, m.model, m.vendor, m.release, m.confidence, m.price_in, m.price_out, m.mmlu, m.arena_elo]
        for m in load_market()
    ]
    assert len(facts) == len({f[0] for f in facts}) == 42
    digest = hashlib.sha256(json.dumps(sorted(facts), separators=(",", ":")).encode()).hexdigest()
    assert digest == MARKET_FACTS_SHA256


def test_market_leaves_out_models_without_price_or_quality_and_merges_snapshots(market):
    excluded = {r["key"]: r["excluded"] for r in market_catalog() if r["excluded"]}
    assert excluded["qwen2.5-72b"] == "no list price in the facts"
    no_quality = {k for k, why in excluded.items() if why.startswith("no quality")}
    assert no_quality == {"claude-3.5-haiku", "claude-3.7-sonnet", "gemini-2.0-flash", "deepseek-r1"}
    merged = {k for k, why in excluded.items() if why.startswith("successor snapshot")}
    assert merged == {"gpt-3.5-turbo-1106", "gpt-3.5-turbo-0125", "gpt-4o-2024-08-06"}
    assert market.n_models == 42 - 1 - 4 - 3 == 34
    assert not set(excluded) & set(market.model_names)


def test_market_quality_is_mmlu_or_the_fitted_elo_line(market):
    a, b = elo_to_mmlu()
    assert a == pytest.approx(-129.947, abs=1e-3) and b == pytest.approx(0.181697, abs=1e-6)
    q = dict(zip(market.model_names, market.mean_quality, strict=True))
    assert q["gpt-4-0314"] == pytest.approx(0.864)
    assert q["deepseek-v3"] == pytest.approx(0.885)
    assert q["yi-34b-chat"] == pytest.approx((a + b * 1115) / 100) == pytest.approx(0.72645, abs=1e-5)
    assert q["gemini-1.0-pro"] == pytest.approx((a + b * 1114) / 100)


def test_market_arrivals_follow_release_months_and_the_lifetime_rule(market):
    spec = {m.name: m for m in market.models}
    assert spec["gpt-4-0314"].arrival == 0.0  # released before the July 2023 window
    assert spec["gpt-4o"].arrival == pytest.approx(10 / 24)  # 2024-05
    assert spec["gpt-4.1"].arrival == pytest.approx(21 / 24)  # 2025-04
    assert spec["gpt-4-0314"].retirement == pytest.approx(14 / 24)  # 2023-03 + 18 months = 2024-09
    assert spec["mixtral-8x7b"].retirement == pytest.approx(23 / 24)  # 2023-12 + 18 = 2025-06
    assert spec["gpt-3.5-turbo"].retirement is None  # last snapshot 2024-01 + 18 = end of window
    short = market_scenario(lifetime_months=12)
    assert {m.name: m for m in short.models}["gpt-4-0314"].retirement == pytest.approx(8 / 24)


def test_market_price_cuts_are_the_ratio_of_mean_query_costs(market):
    spec = {m.name: m for m in market.models}
    e_in, e_out = MARKET_PROMPT.expected(), MARKET_ANSWER.expected()
    ((t, factor),) = spec["gpt-4o"].price_changes
    assert t == pytest.approx(13 / 24)  # 2024-08
    assert (
        factor == pytest.approx((e_in * 2.5 + e_out * 10) / (e_in * 5 + e_out * 15)) == pytest.approx(0.6001, abs=1e-4)
    )
    assert [f for _, f in spec["gpt-3.5-turbo"].price_changes] == pytest.approx([0.8002, 0.5003], abs=1e-4)
    assert spec["gemini-1.5-flash"].price_changes[0][1] == pytest.approx(0.2572, abs=1e-4)
    assert not any(m.price_changes for m in market_scenario(price_cuts=False).models)
    # The oracle's stage means: gpt-4o's cost after the cut (stage 7 starts at 7/12 > 13/24).
    i = market.model_names.index("gpt-4o")
    assert market.stage_cost[7, 0, i] == pytest.approx(factor * spec["gpt-4o"].cost)
    assert market.stage_cost[5, 0, i] == pytest.approx(spec["gpt-4o"].cost)


def test_truncated_lognormal_token_mean_is_exact():
    rng = np.random.default_rng(0)
    for tl in (TokenLengths(600, 0.8), TokenLengths(70, 1.0), TokenLengths(20, 0.5)):
        draws = tl.from_normal(rng.standard_normal(400_000))
        assert draws.min() >= tl.mean / 8 and draws.max() <= tl.mean * 8
        assert draws.mean() == pytest.approx(tl.expected(), rel=3e-3)
    assert TokenLengths(600, 0.8).expected() == pytest.approx(598.370, abs=1e-3)


def test_token_costs_have_the_scenarios_mean_costs_and_stay_in_cost_range(market, typed):
    for s in (market.replace(horizon=40_000), typed.replace(horizon=40_000)):
        s = s.replace(models=tuple(dataclasses.replace(m, price_changes=()) for m in s.models))
        tasks, rewards, costs = sample_outcomes(s, np.random.default_rng(1), 40_000)
        lo, hi = s.cost_range
        assert costs.min() >= lo - 1e-12 and costs.max() <= hi + 1e-12
        for j in range(s.n_tasks):
            rows = tasks == j
            np.testing.assert_allclose(costs[rows].mean(axis=0), s.cost_matrix[j], rtol=0.03)
            np.testing.assert_allclose(rewards[rows].mean(axis=0), s.quality_matrix[j], atol=0.03)
        # One token draw per query, shared by every model: costs of two models are perfectly rank-correlated
        # when their prices are proportional (same in/out ratio).
        assert np.corrcoef(costs[:, 0], costs[:, 1])[0, 1] > 0.9


def test_market_oracle_values_per_stage(market):
    v = market.oracle.values
    assert v[0] == pytest.approx(0.7074, abs=1e-4) and v[-1] == pytest.approx(0.8899, abs=1e-4)
    assert np.all(np.diff(v) >= -1e-12)  # the market only gets better
    assert market.oracle.total / market.horizon == pytest.approx(0.8037, abs=1e-4)
    # The budget binds: with b = 1 the oracle does clearly better.
    rich = market.replace(budget=1.0).oracle.total / market.horizon
    assert rich == pytest.approx(0.8669, abs=1e-4)
    # At the end the oracle deploys four models including DeepSeek-V3 and GPT-4.1.
    last = {market.model_names[i] for i in np.flatnonzero(market.oracle.deployed[-1])}
    assert {"deepseek-v3", "gpt-4.1"} <= last and len(last) == 4


def test_market_rejects_a_budget_below_the_cheapest_start_deployment():
    with pytest.raises(ValueError, match=r"budget=0.01 per query cannot be met at stage 0.*0.01864"):
        market_scenario(budget=0.01)


# ------------------------------------------------------------------------------ typed world
def test_typed_quality_curve_passes_through_the_measured_gsm8k_accuracies(typed):
    q = dict(zip(typed.model_names, typed.quality_matrix.T, strict=True))
    j = typed.task_types.index("gsm8k")
    assert q["gpt-4-turbo-1106"][j] == pytest.approx(0.8567)
    assert q["mixtral-8x7b"][j] == pytest.approx(0.6384)
    k = typed.task_types.index("mmlu")
    assert q["claude-2"][k] == pytest.approx(0.785)
    # The code specialist beats models of much higher MMLU on code only.
    c = typed.task_types.index("mbpp")
    assert q["codellama-34b"][c] > q["llama-2-70b-chat"][c] and q["codellama-34b"][k] < q["llama-2-70b-chat"][k]


def test_typed_costs_follow_per_task_token_lengths(typed):
    tasks = typed.task_types
    c = typed.cost_matrix
    gsm, mmlu = tasks.index("gsm8k"), tasks.index("mmlu")
    assert np.all(c[gsm] > c[mmlu])
    i = typed.model_names.index("gpt-4-turbo-1106")  # $10 / $30 per 1M tokens
    assert c[mmlu, i] == pytest.approx((600 * 10 + 20 * 30) / 1e6 / 0.036, rel=0.02)


def test_typed_oracle_gains_from_routing_per_task_type(typed):
    untyped = [
        solve_deploy(
            typed.mean_quality[p], typed.mean_cost[p], typed.throughput[p], typed.budget, typed.max_deployed
        ).value
        for p in (np.flatnonzero(a) for a in typed.availability)
    ]
    gain = typed.oracle.values - np.array(untyped)
    assert np.all(gain >= -1e-9)
    assert gain.mean() == pytest.approx(0.0238, abs=1e-3)
    assert typed.oracle.values[-1] == pytest.approx(0.7412, abs=1e-4)


def _typed_lp_bruteforce(quality, cost, w, caps, budget, k):
    """max over supports of size min(k, n) (smaller ones are the same LP with zero mass) of the typed
    routing LP, each solved by scipy's linprog."""
    J, n = quality.shape
    best = -np.inf
    for size in (min(k, n),):
        for support in itertools.combinations(range(n), size):
            s = list(support)
            m = len(s)
            obj = -(w[:, None] * quality[:, s]).ravel()
            a_eq = np.zeros((J, J * m))
            for j in range(J):
                a_eq[j, j * m : (j + 1) * m] = 1.0
            a_ub = [(w[:, None] * cost[:, s]).ravel()]
            for i in range(m):
                row = np.zeros(J * m)
                row[i::m] = w
                a_ub.append(row)
            b_ub = [budget] + [caps[i] for i in s]
            res = linprog(
                obj, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(J), bounds=(0, 1), method="highs"
            )
            if res.status == 0:
                best = max(best, -res.fun)
    return best


def test_typed_deploy_milp_matches_bruteforce_enumeration_with_linprog(typed):
    rng = np.random.default_rng(42)
    for _ in range(12):
        J, n, k = int(rng.integers(2, 4)), int(rng.integers(3, 6)), int(rng.integers(1, 4))
        quality = rng.random((J, n))
        cost = rng.random((J, n)) * rng.choice([0.1, 1.0], size=n)
        w = rng.dirichlet(np.ones(J))
        caps = rng.choice([0.3, 0.5, 1.0], size=n)
        budget = float(rng.uniform(0.05, 0.6))
        value, d = solve_typed_deploy(quality, cost, w, caps, budget, k)
        brute = _typed_lp_bruteforce(quality, cost, w, caps, budget, k)
        if np.isfinite(brute):
            assert value == pytest.approx(brute, abs=1e-7)
            assert (d.max(axis=0) > 1e-9).sum() <= k
            assert float((w[:, None] * cost * d).sum()) <= budget + 1e-7
            assert np.all(w @ d <= caps + 1e-7)
        else:
            assert value == -np.inf and d is None
    # And on the typed world's last stage (11 models, 4 task types, M_max = 4).
    pool = np.flatnonzero(typed.availability[-1])
    brute = _typed_lp_bruteforce(
        typed.quality_matrix[:, pool],
        typed.cost_matrix[:, pool],
        typed.task_weights,
        typed.throughput[pool],
        typed.budget,
        4,
    )
    assert typed.oracle.values[-1] == pytest.approx(brute, abs=1e-7)


def test_typed_observation_holds_per_task_statistics_of_the_history():
    env = LLMRouteEnv("typed", horizon=400, n_stages=4, budget_mode="average")
    N, J = env.n_models, env.scenario.n_tasks
    assert env.observation_space["task_pulls"].shape == (J * N,)
    pulls = np.zeros((J, N))
    rsum = np.zeros((J, N))
    csum = np.zeros((J, N))
    for prev, a, r, obs, info in _masked_random_episode(env, 3, np.random.default_rng(0)):
        if info["action_phase"] == ROUTE:
            j = int(np.argmax(prev["task"]))
            pulls[j, a] += 1
            rsum[j, a] += r
            csum[j, a] += info["cost"]
        assert env.observation_space.contains(obs)
    seen = pulls > 0
    assert pulls.sum() == 400
    np.testing.assert_array_equal(obs["task_pulls"], pulls.ravel())
    np.testing.assert_allclose(obs["task_mean_reward"][seen.ravel()], (rsum[seen] / pulls[seen]), rtol=1e-6)
    np.testing.assert_allclose(obs["task_mean_cost"][seen.ravel()], (csum[seen] / pulls[seen]), rtol=1e-5)
    assert np.all(obs["task_mean_reward"][~seen.ravel()] == 0.0)
    # Untyped worlds keep the plain observation.
    assert "task_pulls" not in LLMRouteEnv("market").observation_space.spaces


# ------------------------------------------------------------------------------ non-stationarity
def _two_models(**changes) -> Scenario:
    fields = dict(
        models=(
            ModelSpec("a", quality=0.8, cost=0.4, throughput=1.0),
            ModelSpec("b", quality=0.6, cost=0.1, throughput=1.0),
        ),
        budget=0.3,
        horizon=1000,
        n_stages=4,
        max_deployed=1,
    )
    fields.update(changes)
    return Scenario(**fields)


def test_price_change_mid_stage_enters_the_oracle_as_the_stage_average():
    base = _two_models()
    cut = base.replace(
        models=(dataclasses.replace(base.models[0], price_changes=((0.35, 0.5),)), base.models[1]), budget=0.3
    )
    # Stage 1 is queries 250..499; the cut at query 350 halves the cost of the last 150 of them.
    assert cut.stage_cost[1, 0, 0] == pytest.approx((100 * 0.4 + 150 * 0.2) / 250) == pytest.approx(0.28)
    assert cut.stage_cost[0, 0, 0] == pytest.approx(0.4) and cut.stage_cost[2, 0, 0] == pytest.approx(0.2)
    # M_max = 1: before the cut "a" breaks the budget, so the oracle serves "b"; in stage 1 the average
    # price 0.28 meets b = 0.3, so the oracle switches to "a".
    np.testing.assert_allclose(cut.oracle.values, [0.6, 0.8, 0.8, 0.8])
    np.testing.assert_allclose(base.oracle.values, [0.6, 0.6, 0.6, 0.6])
    # The world charges the new price from query 350 on (no cost spread: deterministic costs).
    _, _, costs = sample_outcomes(cut, np.random.default_rng(0), 1000)
    assert np.all(costs[:350, 0] == 0.4) and np.all(costs[350:, 0] == 0.2) and np.all(costs[:, 1] == 0.1)


def test_price_changes_are_validated():
    with pytest.raises(ValueError, match="price_changes times must be increasing"):
        ModelSpec("a", quality=0.5, cost=0.1, price_changes=((0.5, 0.5), (0.3, 0.2)))
    with pytest.raises(ValueError, match="factors must be finite and > 0"):
        ModelSpec("a", quality=0.5, cost=0.1, price_changes=((0.5, 0.0),))
    with pytest.raises(TypeError, match="pairs"):
        ModelSpec("a", quality=0.5, cost=0.1, price_changes=(0.5,))


def test_drift_moves_quality_linearly_and_the_oracle_follows_it():
    base = _two_models(budget=1.0)
    s = base.replace(models=(dataclasses.replace(base.models[0], drift=-0.4), base.models[1]))
    # Mean of 0.8 - 0.4 * t / T over each stage of 250 queries: at the stage midpoint (t = 124.5, ...).
    expect = 0.8 - 0.4 * (np.array([0, 250, 500, 750]) + 124.5) / 1000
    np.testing.assert_allclose(s.stage_quality[:, 0, 0], expect)
    np.testing.assert_allclose(s.stage_quality[:, 0, 1], 0.6)
    # Model "a" is the better one until it drifts below 0.6 (in the last stage: mean 0.45).
    np.testing.assert_allclose(s.oracle.values, np.maximum(expect, 0.6))
    assert s.oracle.deployed[0].tolist() == [True, False] and s.oracle.deployed[3].tolist() == [False, True]
    # Realised rewards follow the drift: late queries of "a" succeed about 0.8 - 0.4 * 0.9 = 0.44 of the time.
    big = s.replace(horizon=200_000)
    _, rewards, _ = sample_outcomes(big, np.random.default_rng(0), 20_000, start=170_000)
    assert rewards[:, 0].mean() == pytest.approx(0.8 - 0.4 * 0.9, abs=0.015)


def test_drift_counts_from_arrival_and_must_keep_quality_in_unit_interval():
    m = ModelSpec("late", quality=0.9, cost=0.1, arrival=0.5, drift=0.2)  # 0.9 + 0.2 * 0.5 = 1.0: allowed
    assert m.drift == 0.2
    with pytest.raises(ValueError, match=r"drift=0.3 takes quality 0.9 outside \[0, 1\]"):
        ModelSpec("late", quality=0.9, cost=0.1, arrival=0.5, drift=0.3)
    s = Scenario(models=(ModelSpec("a", quality=0.5, cost=0.1), m), budget=1.0, horizon=100, n_stages=2)
    np.testing.assert_allclose(s.stage_quality[1, 0, 1], 0.9 + 0.2 * np.mean(np.arange(50, 100) / 100 - 0.5))


def test_regret_under_drift_uses_each_stages_mean_quality():
    base = _two_models(budget=1.0)
    s = base.replace(models=(dataclasses.replace(base.models[0], drift=-0.4), base.models[1]))
    env = LLMRouteEnv(s)
    expected = 0.0
    for _prev, a, _r, _obs, info in _masked_random_episode(env, 5, np.random.default_rng(1)):
        if info["action_phase"] == ROUTE:
            expected += s.oracle.values[info["action_stage"]] - s.stage_quality[info["action_stage"], 0, a]
    assert info["regret"] == pytest.approx(expected, rel=1e-9)
    assert expected > 0


@pytest.mark.parametrize("delay", [1, 7])
def test_delayed_feedback_lags_the_observed_statistics_by_d_queries(delay):
    s = make_scenario("typed", horizon=300, n_stages=3, budget_mode="average")
    env_now, env_late = LLMRouteEnv(s), LLMRouteEnv(s.replace(feedback_delay=delay))
    routed = []  # (task, model, reward, cost) of every route step, from the undelayed env
    obs_now, info_now = env_now.reset(seed=9)
    obs_late, info_late = env_late.reset(seed=9)
    rng = np.random.default_rng(2)
    N = env_now.n_models
    while True:
        a = int(rng.choice(np.flatnonzero(info_now["action_mask"])))
        task = int(np.argmax(obs_now["task"]))
        obs_now, r_now, term, _, info_now = env_now.step(a)
        obs_late, r_late, _, _, info_late = env_late.step(a)
        # Rewards, costs, regret and masks are paid and computed at once in both envs.
        assert (r_now, info_now["cost"], info_now["regret"]) == (r_late, info_late["cost"], info_late["regret"])
        np.testing.assert_array_equal(info_now["action_mask"], info_late["action_mask"])
        if info_now["action_phase"] == ROUTE:
            routed.append((task, a, r_now, info_now["cost"]))
        # The delayed env shows the statistics of all but the last `delay` routed queries.
        seen = routed[: max(0, len(routed) - delay)]
        pulls = np.zeros(N)
        task_pulls = np.zeros(s.n_tasks * N)
        for j, m, _, _ in seen:
            pulls[m] += 1
            task_pulls[j * N + m] += 1
        np.testing.assert_array_equal(obs_late["pulls"], pulls)
        np.testing.assert_array_equal(obs_late["task_pulls"], task_pulls)
        if term:
            break
    assert len(routed) == 300
    assert obs_now["pulls"].sum() - obs_late["pulls"].sum() == delay  # the last d outcomes are never revealed
    rewards = np.zeros(N)
    for _, m, r, _ in seen:
        rewards[m] += r
    shown = pulls > 0
    np.testing.assert_allclose(obs_late["mean_reward"][shown], rewards[shown] / pulls[shown], rtol=1e-6)


def test_feedback_delay_is_validated():
    with pytest.raises(ValueError, match="feedback_delay must be an integer in"):
        make_scenario("paper", feedback_delay=-1)
    with pytest.raises(ValueError, match="feedback_delay"):
        make_scenario("paper", horizon=100, feedback_delay=100)


def test_options_are_off_by_default_and_the_paper_world_draws_as_before():
    s = make_scenario("paper")
    assert s.stationary and s.feedback_delay == 0 and s.outcomes is None
    assert s.price_factor(0, 10) is None and s.drift_offset(0, 10) is None
    # The original draw: Bernoulli rewards, then uniform cost spread, from the same generator.
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    tasks, rewards, costs = sample_outcomes(s, rng_a, 500, start=1024)
    ref_rewards = (rng_b.random((500, s.n_models)) < s.quality_matrix[np.zeros(500, int)]).astype(float)
    ref_costs = s.cost_matrix[np.zeros(500, int)] * (
        1.0 + s.cost_spread * (2.0 * rng_b.random((500, s.n_models)) - 1.0)
    )
    np.testing.assert_array_equal(rewards, ref_rewards)
    np.testing.assert_array_equal(costs, ref_costs)
    np.testing.assert_array_equal(s.stage_quality[0], s.quality_matrix)
    np.testing.assert_array_equal(s.stage_cost, np.broadcast_to(s.cost_matrix, s.stage_cost.shape))


def test_rebuilt_worlds_compare_equal():
    assert market_scenario() == market_scenario() and typed_scenario() == typed_scenario()
    assert make_scenario("trace") == make_scenario("trace")
    assert market_scenario() != market_scenario(price_cuts=False)


def test_market_variants_are_presets_with_their_option_on():
    drift = make_scenario("market-drift")
    assert all(m.drift == -0.15 for m in drift.models) and not drift.stationary
    assert drift.oracle.values[-1] < market_scenario().oracle.values[-1]
    assert make_scenario("market-delay").feedback_delay == 50


# ------------------------------------------------------------------------------ registration
def test_world_ids_are_registered_and_listed():
    for env_id in WORLD_IDS:
        assert env_id in gym_llmroute.ENV_IDS and env_id in gym.registry
    presets = gym_llmroute.list_scenarios()
    assert {"paper", "market", "market-drift", "market-delay", "typed", "trace"} <= set(presets)
    for name, line in presets.items():
        assert line and "\n" not in line, name


@pytest.mark.parametrize("env_id", WORLD_IDS)
def test_world_id_passes_both_env_checkers(env_id):
    env = gym.make(env_id, horizon=300, n_stages=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("env_id", WORLD_IDS)
def test_world_id_full_episode_reports_the_oracle_value(env_id):
    env = gym.make(env_id)
    s = env.unwrapped.scenario
    steps = _masked_random_episode(env, 0, np.random.default_rng(0))
    info = steps[-1][4]
    assert info["oracle_value"] == pytest.approx(s.oracle.total)
    assert info["regret"] > 0 and info["queries_served"] <= s.horizon


def test_import_stays_light_and_does_not_load_the_worlds():
    code = (
        "import sys, gym_llmroute; "
        "print(sorted(m for m in ('pandas', 'scipy', 'gym_llmroute.market', 'gym_llmroute.trace') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
