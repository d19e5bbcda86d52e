"""``LLMRoute-Gen-v0``: a generated world per reset, picked by the seeded RNG among ``num_worlds``
worlds from ``start_world`` (or fresh), cached, padded to 40 slots, and played by every agent."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agents
from agents.evaluation import run_episode
from gym_llmroute.gen_env import FRESH_WORLDS, LLMRouteGenEnv, world_scenario
from gym_llmroute.generated import MAX_MODELS, generate_scenario
from gym_llmroute.sim import mask_from_obs


def worlds_played(env: gym.Env, resets: int, seed: int = 0) -> list[int]:
    out = [env.reset(seed=seed)[1]["world"]]
    out += [env.reset()[1]["world"] for _ in range(resets - 1)]
    return out


def test_worlds_come_from_the_split_and_the_seed_fixes_the_world():
    train = gym.make("LLMRoute-Gen-v0", num_worlds=200, start_world=0)
    played = worlds_played(train, 300)
    assert all(0 <= w < 200 for w in played) and len(set(played)) > 150
    test = gym.make("LLMRoute-Gen-v0", num_worlds=100, start_world=10**6)
    held_out = worlds_played(test, 100)
    assert all(10**6 <= w < 10**6 + 100 for w in held_out)
    fresh = worlds_played(gym.make("LLMRoute-Gen-v0", num_worlds=0, start_world=5), 50)
    assert len(set(fresh)) == 50 and all(5 <= w < 5 + FRESH_WORLDS for w in fresh)
    # reset(seed=s) fixes the world as well as the outcomes.
    again = gym.make("LLMRoute-Gen-v0", num_worlds=200)
    for s in (3, 4, 3):
        _, info_a = train.reset(seed=s)
        _, info_b = again.reset(seed=s)
        assert info_a["world"] == info_b["world"]


def test_a_world_depends_on_its_index_only_and_the_seed_drives_the_outcomes():
    env = gym.make("LLMRoute-Gen-v0", num_worlds=10)
    obs_a, info = env.reset(seed=1, options={"world": 7})
    assert info["world"] == 7 and env.unwrapped.world == 7
    scenario = env.unwrapped.scenario
    assert scenario.models == generate_scenario(7).models and scenario.budget == generate_scenario(7).budget
    obs_b, _ = gym.make("LLMRoute-Gen-v0", start_world=123).reset(seed=99, options={"world": 7})
    for key in ("available", "throughput", "price", "release"):  # the catalog, seen at reset
        np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
    # Same world, other seeds: other outcomes (the same valid actions give other rewards).
    totals = []
    for seed in (1, 2):
        _, info = env.reset(seed=seed, options={"world": 7})
        total, done = 0.0, False
        while not done:
            a = int(np.flatnonzero(info["action_mask"])[0])
            _, r, done, _, info = env.step(a)
            total += r
        assert info["world"] == 7  # also in the last step's info
        totals.append(total)
    assert totals[0] != totals[1]


def test_spaces_hold_every_world_and_padded_slots_stay_masked():
    env = gym.make("LLMRoute-Gen-v0", num_worlds=0, horizon=120, n_stages=4)
    assert env.action_space == gym.spaces.Discrete(MAX_MODELS + 1)
    space = env.observation_space
    sizes = set()
    for seed in range(25):
        obs, info = env.reset(seed=seed)
        n = env.unwrapped.scenario.n_models
        sizes.add(n)
        done = False
        while not done:
            assert space.contains(obs)
            assert not info["action_mask"][n:MAX_MODELS].any()
            obs, _, done, _, info = env.step(
                int(np.random.default_rng(seed).choice(np.flatnonzero(info["action_mask"])))
            )
        assert env.observation_space is space  # the spaces never change
    assert len(sizes) > 5  # catalogs of many sizes


def test_worlds_are_generated_and_solved_once_then_cached():
    env = LLMRouteGenEnv(num_worlds=3, horizon=90, n_stages=3)
    seen = {}
    for _ in range(12):
        env.reset()
        seen.setdefault(env.world, (env.scenario, env.sim))
        assert seen[env.world][0] is env.scenario and seen[env.world][1] is env.sim
    assert set(seen) == {0, 1, 2}
    assert world_scenario(1, horizon=90, n_stages=3) is seen[1][0]  # one scenario per process


def test_reference_agents_play_generated_worlds_close_to_the_oracle():
    env = gym.make("LLMRoute-Gen-v0", num_worlds=0, start_world=10**6)
    fractions = {}
    for name in ("stageroute", "greedy", "random", "oracle"):
        agent = agents.make(name, env, seed=0)
        runs = [run_episode(agent, env, seed=s) for s in range(4)]
        assert len({r["horizon"] for r in runs}) == 1
        fractions[name] = np.mean([r["reward_fraction"] for r in runs])
    assert fractions["oracle"] > 0.95
    assert fractions["stageroute"] > 0.85 > fractions["random"]


def test_lagrangian_reward_follows_the_budget_of_the_world_in_force():
    from gym_llmroute.wrappers import LagrangianReward

    env = LagrangianReward(gym.make("LLMRoute-Gen-v0", num_worlds=50), multiplier=2.0, per_budget=True)
    budgets = set()
    for seed in range(6):
        env.reset(seed=seed)
        b = env.unwrapped.scenario.budget
        assert env.budget == b
        budgets.add(b)
        obs, info = env.reset(seed=seed)
        while obs["phase"][0] < 0.5:  # deploy until the route phase
            obs, _, _, _, info = env.step(int(np.flatnonzero(info["action_mask"])[-1]))
        obs, reward, _, _, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        # Costs in units of the world's budget: the penalty is multiplier * cost / b.
        assert reward == pytest.approx(info["reward_unpenalised"] - 2.0 * info["cost"] / b)
    assert len(budgets) > 3
    fixed = LagrangianReward(gym.make("LLMRoute-Gen-v0", num_worlds=50), budget=0.5)
    fixed.reset(seed=1)
    assert fixed.budget == 0.5


def test_reference_agents_follow_the_world_in_sb3_loops_and_refuse_a_batch_of_worlds():
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv

    env = gym.make("LLMRoute-Gen-v0", num_worlds=50, horizon=240, n_stages=4)
    agent = agents.make("oracle", env, seed=0)
    seen, invalid = set(), []

    def check(local_vars, _):
        seen.add(agent.scenario_id)
        invalid.append(local_vars["infos"][0]["invalid_action"])

    # The oracle agent reads the true means of its world: bound to a stale world it sends invalid actions.
    env.reset(seed=0)  # seeds the worlds evaluate_policy's resets draw
    rewards, _ = evaluate_policy(agent, env, n_eval_episodes=4, callback=check, return_episode_rewards=True, warn=False)
    assert len(rewards) == 4 and len(seen) >= 3 and not any(invalid)
    vec = DummyVecEnv([lambda: gym.make("LLMRoute-Gen-v0", num_worlds=50) for _ in range(2)])
    vec.seed(0)
    obs = vec.reset()
    agent = agents.make("stageroute", vec, seed=0)
    with pytest.raises(RuntimeError, match="one world at a time"):
        agent.predict(obs, episode_start=np.ones(2, dtype=bool))


@given(st.integers(0, 2**40), st.integers(MAX_MODELS, MAX_MODELS + 8), st.integers(0, 2**31), st.booleans())
@settings(max_examples=25, deadline=None)
def test_fuzzed_worlds_and_actions_keep_the_contract(world, pad_to, seed, hard):
    env = LLMRouteGenEnv(pad_to=pad_to, horizon=150, n_stages=5, budget_mode="hard" if hard else "average")
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options={"world": world})
    n = env.scenario.n_models
    assert info["world"] == world and env.scenario.name == f"generated-{world}"
    done, steps = False, 0
    while not done:
        assert env.observation_space.contains(obs)
        assert not info["action_mask"][n:pad_to].any()
        obs, _, done, truncated, info = env.step(int(rng.integers(-2, pad_to + 3)))  # invalid ones too
        steps += 1
        assert not truncated and steps <= 150 + 5 * (env.scenario.max_deployed + 1)
    assert info["world"] == world
    assert info["queries_served"] == 150 or (hard and info["total_cost"] > info["budget"])


@pytest.mark.parametrize("world", [188, 522])
def test_mask_from_the_observation_is_the_env_mask_where_float32_caps_round_below_one(world):
    """In these worlds a set's caps sum to one in float64 but to just under one in the observation's
    float32; an agent that sees only the observation (SB3's predict) must still find the mask the env
    uses (it found no valid action: an IndexError in StrongestAgent under evaluate_policy)."""
    env = gym.make("LLMRoute-Gen-v0", horizon=240, n_stages=6)
    rng = np.random.default_rng(world)
    obs, info = env.reset(seed=0, options={"world": world})
    max_deployed = env.unwrapped.scenario.max_deployed
    steps = 0
    while obs["phase"][0] < 0.5:
        np.testing.assert_array_equal(mask_from_obs(obs, max_deployed), env.unwrapped.action_masks())
        obs, _, _, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        steps += 1
    assert steps >= 2
