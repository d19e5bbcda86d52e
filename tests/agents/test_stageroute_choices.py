"""StageRoute's choices beyond the paper's LP: maximal optimism for untried models, the paced budget,
public prices in force, the price prior on costs, and distinct registered algorithms."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import agents
import agents.policies.stageroute
from agents.policies.stageroute import DEFAULT_MARGIN, OptimisticRouter, confidence_bounds, cost_floor
from gym_llmroute.env import ROUTE

from ..helpers import small_world, tiny_scenario


# ---------------------------------------------------------------------------------------- prices
def test_public_prices_follow_the_price_changes_over_the_largest_price_ever_in_force():
    times, prices = small_world("priced_cut").public_prices
    assert times == (25, 50)
    np.testing.assert_allclose(prices, [[0.1, 1.0, 0.0], [0.1, 0.5, 0.0], [0.1, 0.25, 0.0]])


def test_observed_price_is_the_price_in_force_after_a_cut():
    env = gym.make("LLMRoute-v0", scenario=small_world("priced_cut"))
    obs, info = env.reset(seed=0)
    seen = {}
    t = 0
    done = False
    while not done:
        a = int(np.flatnonzero(info["action_mask"])[0])
        obs, _, done, _, info = env.step(a)
        if info["action_phase"] == ROUTE:
            t += 1
            seen[t] = obs["price"].copy()
    # After query t is served, the observation shows the price of query t (0-based index t).
    np.testing.assert_allclose(seen[24], [0.1, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(seen[25], [0.1, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(seen[50], [0.1, 0.25, 0.0], rtol=1e-6)
    # A new episode starts at the launch prices again.
    obs, _ = env.reset(seed=1)
    np.testing.assert_allclose(obs["price"], [0.1, 1.0, 0.0], rtol=1e-6)


def test_native_vector_env_shows_the_same_prices_in_force_as_the_single_env():
    scenario = small_world("priced_cut")
    single = gym.make("LLMRoute-v0", scenario=scenario)
    vec = gym.make_vec("LLMRoute-v0", num_envs=2, vectorization_mode="vector_entry_point", scenario=scenario)
    obs_s, info_s = single.reset(seed=3)
    obs_v, info_v = vec.reset(seed=3)
    for _ in range(90):
        a = int(np.flatnonzero(info_s["action_mask"])[0])
        obs_s, *_, info_s = single.step(a)
        actions = np.array([a, int(np.flatnonzero(vec.unwrapped.action_masks()[1])[0])])
        obs_v, *_ = vec.step(actions)
        np.testing.assert_array_equal(obs_v["price"][0], obs_s["price"])


# ---------------------------------------------------------------------------------------- price prior
def test_cost_floor_scales_prices_by_the_cost_per_price_of_the_tried_models():
    pulls = np.array([10.0, 30.0, 0.0, 5.0])
    mean_cost = np.array([0.2, 0.4, 0.0, 1.0])
    price = np.array([1.0, 2.0, 5.0, 0.0])  # the last model has no public price
    # kappa = (10 * 0.2 + 30 * 0.4) / (10 * 1 + 30 * 2) = 14 / 70 = 0.2 (the unpriced model is left out)
    np.testing.assert_allclose(cost_floor(pulls, mean_cost, price, 0.5), [0.1, 0.2, 0.5, 0.0])
    assert not cost_floor(np.zeros(4), mean_cost, price, 0.5).any()  # nothing tried: no prior
    # Per task type (rows): each row has its own scale.
    floor = cost_floor(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.3, 0.0], [0.0, 4.0]]), [1.0, 2.0], 0.0)
    np.testing.assert_allclose(floor, [[0.3, 0.6], [2.0, 4.0]])


def test_cost_floor_raises_the_lcb_unless_the_data_refute_it():
    pulls = np.array([0.0, 3.0, 400.0])
    mean_cost = np.array([0.0, 0.5, 0.1])
    floor = np.array([0.8, 0.6, 0.8])
    _, plain = confidence_bounds(pulls, [0, 0.5, 0.5], mean_cost, 0.1, (0.01, 2.0))
    _, lcb = confidence_bounds(pulls, [0, 0.5, 0.5], mean_cost, 0.1, (0.01, 2.0), floor=floor)
    assert lcb[0] == 0.8  # untried: the price says what it costs
    assert lcb[1] == 0.6  # tried a little: cost UCB 0.5 + 2 f > 0.6, so the floor stands
    # Tried a lot at 0.1: cost UCB = 0.1 + 2 (sqrt(0.1 * 0.1 / 401) + 0.1 / 401) < 0.8 refutes the floor.
    assert lcb[2] == plain[2] < 0.1


def test_router_bounds_with_floor_and_ablations_equal_the_vectorised_bounds_exactly():
    rng = np.random.default_rng(7)
    pulls = rng.integers(0, 50, 12).astype(np.float32)
    pulls[:3] = 0
    mr = rng.random(12).astype(np.float32)
    mc = rng.random(12).astype(np.float32)
    price = rng.random(12).astype(np.float32)
    obs = {"pulls": pulls, "mean_reward": mr, "mean_cost": mc, "price": price}
    for optimistic in (True, False):
        router = OptimisticRouter(np.ones(12), 0.3, (0.01, 1.0), 0.2, optimistic=optimistic, prior=0.3)
        router.update(pulls, mr, mc)
        router.update_prior(obs, force=True)
        floor = cost_floor(pulls, mc, price, 0.3)
        ucb, lcb = confidence_bounds(pulls, mr, mc, 0.2, (0.01, 1.0), optimistic=optimistic, floor=floor)
        assert router.ucb.tolist() == ucb.tolist()
        assert router.lcb.tolist() == lcb.tolist()


# ---------------------------------------------------------------------------------------- pacing
def test_pacing_budget_is_the_budget_left_over_the_queries_left_up_to_the_last_query():
    scenario = tiny_scenario(budget_mode="average")
    env = gym.make("LLMRoute-v0", scenario=scenario)
    agent = agents.make("stageroute", env, seed=0)
    obs, info = env.reset(seed=0)
    agent.reset(seed=0)
    B, T = scenario.budget * scenario.horizon, scenario.horizon
    spent, t = 0.0, 0
    while True:
        if obs["phase"][0] >= 0.5:
            router = agent._contexts[0].router if agent._contexts else None
            expected = (B - spent) / (T - t)
            assert obs["budget_per_query"][0] == pytest.approx(expected, rel=1e-5, abs=1e-6)
            if router is not None:  # the LPs plan to spend (1 - margin) of it
                planned = (1 - DEFAULT_MARGIN) * expected
                assert router.budget_of(obs) == pytest.approx(planned, rel=1e-5, abs=1e-6)
        action, _ = agent.predict(obs)
        obs, _, done, _, info = env.step(action)
        spent += info["cost"]
        t += info["action_phase"] == ROUTE
        if done:
            break
    # At the last query the paced budget was the whole of what was left.
    assert t == T


def test_paced_stageroute_keeps_the_average_budget_where_the_fixed_b_overspends():
    env = gym.make("LLMRoute-Market-v0", budget_mode="average")
    paced = [agents.run_episode(agents.make("stageroute", env), env, s)["spend_fraction"] for s in range(2)]
    fixed = [agents.run_episode(agents.make("stageroute_literal", env), env, s)["spend_fraction"] for s in range(2)]
    assert max(paced) <= 1.01
    assert min(fixed) > 1.05


def test_stageroute_options_are_validated_by_name():
    env = gym.make("LLMRoute-v0")
    with pytest.raises(ValueError, match="cost_prior"):
        agents.make("stageroute", env, cost_prior=1.5)
    with pytest.raises(ValueError, match="shrink"):
        agents.make("ucb_bwk", env, shrink=-0.1)
    with pytest.raises(ValueError, match="gamma"):
        agents.make("stageroute", env, gamma=0)


# ---------------------------------------------------------------------------------------- registry
def test_no_two_registered_agents_play_the_same_episode():
    """Every registered agent runs an algorithm of its own: on a typed world with prices, price cuts
    and newcomers, no two produce the same actions on the same seed."""
    env = gym.make("LLMRoute-Typed-v0", horizon=400, n_stages=5)
    runs = {}
    for name in sorted(agents.AGENTS):
        ep = agents.run_episode(agents.make(name, env, seed=0), env, seed=0, trace=True)
        runs[name] = (ep["deployments"], ep["spend_trace"].tolist())
    names = sorted(runs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert runs[a] != runs[b], f"{a} and {b} played the same episode"


# ---------------------------------------------------------------------------------------- two radii
def test_one_zero_reward_does_not_condemn_a_model_at_the_default_gamma():
    """After one pull with reward 0 the reward radius is gamma / 2: the UCB is gamma. The default
    (gamma = 1) keeps the model as promising as an untried one; the old single gamma = 0.05 wrote it
    off, which made the paper world's regret grow almost linearly."""
    pulls, reward, cost = np.array([1.0]), np.array([0.0]), np.array([0.1])
    ucb, _ = confidence_bounds(pulls, reward, cost, agents.policies.stageroute.DEFAULT_GAMMA, (0.01, 1.0))
    assert ucb[0] == 1.0
    ucb, _ = confidence_bounds(pulls, reward, cost, 0.05, (0.01, 1.0))
    assert ucb[0] == pytest.approx(0.05)
    # Two zeros: 2 gamma / 3 at n = 3.
    ucb, _ = confidence_bounds([2.0], [0.0], [0.1], 1.0, (0.01, 1.0))
    assert ucb[0] == pytest.approx(2 / 3)


def test_cost_gamma_sets_the_cost_radius_alone():
    args = (np.array([3.0]), np.array([0.5]), np.array([0.5]))
    ucb_a, lcb_a = confidence_bounds(*args, 1.0, (0.0, 1.0), cost_gamma=0.02)
    ucb_b, lcb_b = confidence_bounds(*args, 1.0, (0.0, 1.0))  # one gamma for both, as the paper
    assert ucb_a[0] == ucb_b[0]
    # n = 4: cost radius 2 (sqrt(0.02 * 0.5 / 4) + 0.02 / 4) = 0.11, against 2 (sqrt(0.125) + 0.25) with gamma = 1.
    assert lcb_a[0] == pytest.approx(0.5 - 2 * (np.sqrt(0.0025) + 0.005))
    assert lcb_b[0] == 0.0
    agent = agents.make("stageroute", gym.make("LLMRoute-v0"))
    assert (agent.gamma, agent.cost_gamma) == (1.0, 0.02)
    assert agents.make("stageroute", gym.make("LLMRoute-v0"), cost_gamma=None).cost_gamma == 1.0
    with pytest.raises(ValueError, match="cost_gamma"):
        agents.make("stageroute", gym.make("LLMRoute-v0"), cost_gamma=0)
