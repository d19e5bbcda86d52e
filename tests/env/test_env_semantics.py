"""Semantics of LLMRoute-v0: budget accounting, common random numbers, invalid actions, caps, regret."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute  # noqa: F401
from gym_llmroute.env import DEPLOY, ROUTE, LLMRouteEnv, mask_from_obs
from gym_llmroute.world import potential_outcomes

from ..helpers import rollout, tiny_scenario


def test_sum_of_info_cost_equals_the_cost_charged_and_regret_is_recomputable():
    env = LLMRouteEnv(tiny_scenario(budget_mode="average"))
    steps = rollout(env, seed=3, actions_rng=np.random.default_rng(0))
    final = steps[-1][4]
    costs = [s[4]["cost"] for s in steps[1:]]
    assert sum(costs) == pytest.approx(final["total_cost"], rel=1e-12)
    assert final["budget"] - final["total_cost"] == pytest.approx(final["budget_left"])
    assert sum(s[1] for s in steps[1:]) == pytest.approx(final["total_reward"])
    assert final["queries_served"] == 200
    # Regret recomputed from the routed models' true means and the per-stage oracle values.
    s = env.scenario
    expected = 0.0
    for _, _, _, _, info in steps[1:]:
        if info["action_phase"] == ROUTE:
            expected += s.oracle.values[info["action_stage"]] - s.mean_quality[info["model"]]
    assert final["regret"] == pytest.approx(expected, rel=1e-9)
    assert final["oracle_value"] == pytest.approx(s.oracle.total)


def test_potential_outcomes_do_not_depend_on_the_actions_taken():
    """Two different action sequences on one seed see the same outcome for each (query, model)."""
    env_a, env_b = LLMRouteEnv(tiny_scenario(budget_mode="average")), LLMRouteEnv(tiny_scenario(budget_mode="average"))
    seen: dict[tuple[int, int], tuple[float, float]] = {}
    matches = 0
    for env, actions_seed in ((env_a, 1), (env_b, 2)):
        t = 0
        for _, r, _, _, info in rollout(env, seed=42, actions_rng=np.random.default_rng(actions_seed))[1:]:
            if info["action_phase"] != ROUTE:
                continue
            key = (t, info["model"])
            if key in seen:
                assert seen[key] == (r, info["cost"])
                matches += 1
            seen[key] = (r, info["cost"])
            t += 1
    assert matches > 40  # the two random policies overlap on many (query, model) pairs
    # And the world exposes the same outcomes directly.
    task, rewards, costs = potential_outcomes(env_a.unwrapped.scenario, env_a.unwrapped.sim.seeds[0], 0)
    t0_model = next(k[1] for k in seen if k[0] == 0)
    assert (rewards[t0_model], costs[t0_model]) == seen[(0, t0_model)]


def test_invalid_action_fuzzing_never_raises_never_stalls_and_flags_each_invalid_action():
    env = gym.make("LLMRoute-v0", horizon=600, n_stages=6, invalid_action_penalty=0.5)
    rng = np.random.default_rng(0)
    n_invalid = n_steps = 0
    for episode in range(6):
        obs, info = env.reset(seed=episode)
        deploy_run = 0
        done = False
        while not done:
            mask = info["action_mask"]
            a = int(rng.integers(-3, env.action_space.n + 3))  # also out-of-range integers
            expect_invalid = not (0 <= a < mask.size and mask[a])
            obs, r, done, trunc, info = env.step(a)
            n_steps += 1
            assert info["invalid_action"] == expect_invalid
            n_invalid += expect_invalid
            if expect_invalid:
                assert r <= -0.5 + 1.0  # penalty applied (reward in [0, 1] minus 0.5)
            assert env.observation_space.contains(obs)
            deploy_run = deploy_run + 1 if info["action_phase"] == DEPLOY else 0
            assert deploy_run <= env.unwrapped.scenario.max_deployed + 1, "deploy phase stalled"
            assert not trunc
    assert n_invalid > 1000 and n_steps > 2000


def test_throughput_and_mmax_are_never_exceeded_and_masks_match_observation():
    env = LLMRouteEnv(tiny_scenario(budget_mode="average"))
    s = env.scenario
    rng = np.random.default_rng(1)
    obs, info = env.reset(seed=0)
    served = np.zeros(s.n_models, dtype=int)
    stage = 0
    done = False
    while not done:
        assert np.array_equal(mask_from_obs(obs, s.max_deployed), info["action_mask"])
        assert np.array_equal(env.action_masks(), info["action_mask"])
        a = (
            int(rng.integers(env.action_space.n))
            if rng.random() < 0.3
            else int(rng.choice(np.flatnonzero(info["action_mask"])))
        )
        obs, _, done, _, info = env.step(a)
        if info["action_phase"] == ROUTE:
            if info["action_stage"] != stage:
                served[:] = 0
                stage = info["action_stage"]
            served[info["model"]] += 1
            assert np.all(served <= s.stage_caps[stage])
            deployed = env.unwrapped.sim.state(0)["deployed"]
            assert deployed.sum() <= s.max_deployed
            assert deployed[info["model"]]


def test_deploy_phase_adds_commits_and_autocommits_at_mmax():
    env = LLMRouteEnv(tiny_scenario())
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["action_mask"], [True, True, False, False])  # 'new' not yet arrived
    obs, _, _, _, info = env.step(0)
    assert obs["phase"][0] == 0 and obs["picked"][0] == 1
    # caps 0.6: the set {cheap} cannot commit yet (0.6 < 1); adding 'strong' reaches M_max=2: auto-commit.
    assert not info["action_mask"][3]
    obs, _, _, _, info = env.step(1)
    assert obs["phase"][0] == 1
    np.testing.assert_array_equal(obs["deployed"], [1, 1, 0])
    assert info["action_phase"] == DEPLOY


def test_invalid_deploy_actions_fall_back_to_commit_or_largest_cap():
    env = LLMRouteEnv(tiny_scenario())
    obs, info = env.reset(seed=0)
    _, _, _, _, info = env.step(3)  # commit on an empty set: invalid, adds the largest cap (index 0 on ties)
    assert info["invalid_action"]
    assert env.sim.state(0)["picked"][0]


def test_invalid_route_action_goes_to_the_cheapest_listed_valid_model():
    env = LLMRouteEnv(tiny_scenario())
    env.reset(seed=0)
    env.step(1)
    env.step(0)  # deployed {cheap, strong}
    _, _, _, _, info = env.step(2)  # 'new' is not deployed
    assert info["invalid_action"] and info["model"] == 0  # cheap has the lowest list price


def test_hard_budget_terminates_after_the_crossing_query_and_charges_unserved_queries():
    env = LLMRouteEnv(tiny_scenario())
    s = env.scenario
    env.reset(seed=0)
    env.step(1)
    _, _, _, _, info = env.step(0)
    done, total, served_regret = False, 0.0, 0.0
    while not done:  # the expensive model whenever it has capacity
        a = 1 if info["action_mask"][1] else int(np.flatnonzero(info["action_mask"])[0])
        _, _, done, _, info = env.step(a)
        total += info["cost"]
        if info["action_phase"] == ROUTE:
            served_regret += s.oracle.values[info["action_stage"]] - s.mean_quality[info["model"]]
    assert info["total_cost"] > info["budget"] and total - info["cost"] <= info["budget"]
    served = info["queries_served"]
    assert served < s.horizon
    # Regret = pseudo-regret of the served queries + V* of every unserved query.
    unserved_value = sum(
        s.oracle.values[k] * max(0, s.stage_bounds[k + 1] - max(served, s.stage_bounds[k])) for k in range(s.n_stages)
    )
    assert unserved_value > 0
    assert info["regret"] == pytest.approx(served_regret + unserved_value, rel=1e-9)


def test_average_budget_never_terminates_and_reports_overspend():
    env = LLMRouteEnv(tiny_scenario(budget_mode="average"))
    steps = rollout(env, seed=0, actions_rng=np.random.default_rng(0))
    info = steps[-1][4]
    assert info["queries_served"] == env.scenario.horizon
    assert info["budget_left"] == pytest.approx(info["budget"] - info["total_cost"])


def test_reset_options_change_the_scenario_and_reject_unknown_keys():
    env = gym.make("LLMRoute-v0")
    obs, info = env.reset(seed=0, options={"horizon": 120, "n_stages": 2})
    assert env.unwrapped.scenario.horizon == 120
    assert env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="horizn"):
        env.reset(options={"horizn": 5})
    with pytest.raises(ValueError, match="n_models"):
        env.reset(options={"scenario": tiny_scenario()})


def test_non_integer_actions_raise_type_error():
    env = gym.make("LLMRoute-v0")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="action must be an integer"):
        env.step(1.5)
    with pytest.raises(TypeError, match="action must be an integer"):
        env.step(np.array([1, 2]))
    _, _, _, _, info = env.step(np.array([1]))  # a one-element integer array is accepted
    assert not info["invalid_action"]


def test_ansi_render_describes_the_stage():
    env = gym.make("LLMRoute-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(0)
    text = env.render()
    assert "stage 1/12" in text and "gpt-4-0314" in text and "budget" in text
