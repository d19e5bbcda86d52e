"""``LLMRoute-Gen-v0``: a generated world per reset, picked by the seeded RNG among ``num_worlds``
worlds from ``start_world`` (or fresh), cached, padded to 40 slots, and played by every agent; its
native batched env (each sub-env in its own worlds) against SyncVectorEnv of the single env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import agents
from agents.evaluation import run_episode
from gym_llmroute.gen_env import FRESH_WORLDS, LLMRouteGenEnv, world_scenario
from gym_llmroute.generated import MAX_MODELS, generate_scenario
from gym_llmroute.sim import ROUTE, mask_from_obs
from gym_llmroute.vector import LLMRouteGenVectorEnv

from ..helpers import assert_same, sb3_lockstep


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
    for i in range(12):
        env.reset(seed=0 if i == 0 else None)  # seeded: unseeded, 12 draws miss a world 2% of the time
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


# ------------------------------------------------------------------ the native batched env
def gen_lockstep(kwargs: dict, mode, n: int, steps: int, seed: int = 7, p_invalid: float = 0.2, options=None):
    """Step the native batched LLMRoute-Gen-v0 and SyncVectorEnv of LLMRouteGenEnv with the same seeds
    and actions (valid ones, and with probability p_invalid any integer in [-2, N + 2]); assert that
    every output and each sub-env's world are identical; return counts of what happened."""
    native = gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs)
    sync = gym.make_vec(
        "LLMRoute-Gen-v0", n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
    )
    assert isinstance(native.unwrapped, LLMRouteGenVectorEnv)
    assert native.single_observation_space == sync.single_observation_space
    assert native.single_action_space == sync.single_action_space
    out = native.reset(seed=seed, options=options)
    assert_same(out, sync.reset(seed=seed, options=None if options is None else dict(options)), "reset")
    rng = np.random.default_rng(seed)
    n_actions = native.single_action_space.n
    seen = {"terminated": 0, "truncated": 0, "invalid": 0, "route": 0, "worlds": set(), "ended_worlds": []}
    info = out[1]
    for t in range(steps):
        actions = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in info["action_mask"]])
        wild = rng.random(n) < p_invalid
        actions[wild] = rng.integers(-2, n_actions + 2, size=int(wild.sum()))
        step = native.step(actions)
        assert_same(step, sync.step(actions), f"step {t}")
        assert native.observation_space.contains(step[0])
        assert native.unwrapped.get_attr("world") == sync.get_attr("world")
        # The same world objects: both read the per-process cache.
        assert all(
            a is b for a, b in zip(native.unwrapped.get_attr("scenario"), sync.get_attr("scenario"), strict=True)
        )
        np.testing.assert_array_equal(native.unwrapped.action_masks(), step[4]["action_mask"])
        _, _, terminated, truncated, info = step
        final = info.get("final_info", info)
        if "world" in final:
            seen["ended_worlds"] += final["world"][final["_world"] & terminated].tolist()
        seen["terminated"] += int(terminated.sum())
        seen["truncated"] += int(truncated.sum())
        seen["invalid"] += int(info["invalid_action"].sum())
        seen["route"] += int((info["action_phase"] == ROUTE).sum())
        seen["worlds"].update(native.unwrapped.get_attr("world"))
    native.close()
    sync.close()
    return seen


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_native_gen_env_equals_sync_vector_env_on_a_window_of_worlds(mode):
    kwargs = {"num_worlds": 5, "start_world": 100, "horizon": 200, "n_stages": 3}
    seen = gen_lockstep(kwargs, mode, n=4, steps=1500)
    assert seen["worlds"] == set(range(100, 105))
    assert seen["terminated"] >= 25 and len(seen["ended_worlds"]) == seen["terminated"]
    assert seen["invalid"] > 200 and seen["route"] > 3000


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_native_gen_env_equals_sync_vector_env_with_a_fresh_world_at_every_reset(mode):
    seen = gen_lockstep({"num_worlds": 0, "horizon": 150, "n_stages": 3}, mode, n=3, steps=900)
    assert seen["terminated"] >= 15 and len(seen["worlds"]) >= 18  # nearly every episode a new world


def test_native_gen_env_equals_sync_with_a_world_option_overrides_a_penalty_and_a_time_limit():
    kwargs = {
        "num_worlds": 50,
        "horizon": 300,
        "n_stages": 4,
        "feedback_delay": 3,
        "budget_mode": "average",
        "invalid_action_penalty": 0.5,
        "max_episode_steps": 120,
    }
    seen = gen_lockstep(kwargs, AutoresetMode.SAME_STEP, n=3, steps=500, options={"world": 17})
    assert 17 in seen["worlds"] and len(seen["worlds"]) > 3  # world 17 first, then drawn worlds
    assert seen["truncated"] >= 9 and seen["terminated"] == 0


def test_native_gen_env_equals_sync_when_the_mask_cache_is_emptied(monkeypatch):
    import gym_llmroute.sim

    # A tiny deploy-mask cache and few world numbers: emptied and renumbered every few steps.
    monkeypatch.setattr(gym_llmroute.sim, "MASK_CACHE", 8)
    monkeypatch.setattr(gym_llmroute.sim, "WORLD_KEYS", 1)
    seen = gen_lockstep({"num_worlds": 6, "horizon": 120, "n_stages": 4}, AutoresetMode.NEXT_STEP, n=4, steps=800)
    assert seen["terminated"] >= 15 and len(seen["worlds"]) == 6


def test_native_gen_env_disabled_autoreset_with_a_reset_mask_and_a_world_option():
    kwargs = {"num_worlds": 20, "horizon": 60, "n_stages": 2}
    native = LLMRouteGenVectorEnv(3, autoreset_mode=AutoresetMode.DISABLED, **kwargs)
    sync = gym.vector.SyncVectorEnv([lambda: LLMRouteGenEnv(**kwargs)] * 3, autoreset_mode=AutoresetMode.DISABLED)
    assert_same(native.reset(seed=5), sync.reset(seed=5))
    for round_ in range(3):
        terminated = np.zeros(3, dtype=bool)
        while not terminated.any():
            actions = native.action_masks().argmax(axis=1)
            out = native.step(actions)
            assert_same(out, sync.step(actions))
            terminated = out[2]
        mask = terminated.copy()
        options = {"reset_mask": mask, "world": 3} if round_ == 1 else {"reset_mask": mask}
        assert_same(native.reset(options=dict(options)), sync.reset(options=dict(options)))
        assert native.get_attr("world") == sync.get_attr("world")
        if round_ == 1:
            assert all(w == 3 for w, m in zip(native.get_attr("world"), mask, strict=True) if m)
        live = ~mask  # sub-envs that did not end may end at the next step: step those that can
        if live.any():
            actions = native.action_masks().argmax(axis=1)
            out = native.step(actions)
            assert_same(out, sync.step(actions))
            if out[2].any():
                both = out[2]
                assert_same(native.reset(options={"reset_mask": both}), sync.reset(options={"reset_mask": both.copy()}))


def test_native_gen_env_refuses_bad_options_and_has_no_single_scenario():
    envs = LLMRouteGenVectorEnv(2, num_worlds=3, horizon=90, n_stages=3)
    with pytest.raises(ValueError, match="unknown reset option"):
        envs.reset(options={"horizon": 100})
    with pytest.raises(ValueError, match="world"):
        envs.reset(options={"world": -1})
    with pytest.raises(TypeError, match="horizn"):
        LLMRouteGenVectorEnv(2, horizn=5)
    with pytest.raises(ValueError, match="num_worlds"):
        LLMRouteGenVectorEnv(2, num_worlds=-1)
    envs.reset(seed=0)
    with pytest.raises(AttributeError, match="get_attr"):
        envs.scenario  # noqa: B018
    assert len(envs.get_attr("scenario")) == 2 and envs.get_attr("num_worlds") == (3, 3)
    assert envs.get_attr("world") == tuple(
        LLMRouteGenEnv(3, horizon=90, n_stages=3).reset(seed=i)[1]["world"] for i in range(2)
    )


def test_gen_sb3_vec_env_equals_dummy_vec_env_and_trains_maskable_ppo():
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gym_llmroute.vector import LLMRouteGenSB3VecEnv

    kwargs = {"num_worlds": 30, "horizon": 120, "n_stages": 2}
    ours = LLMRouteGenSB3VecEnv(3, **kwargs)
    ref = DummyVecEnv([lambda: gym.make("LLMRoute-Gen-v0", **kwargs) for _ in range(3)])
    ours.seed(5)
    ref.seed(5)
    assert_same(ours.reset(), ref.reset())
    for a, b in zip(ours.reset_infos, ref.reset_infos, strict=True):
        assert_same(a, b, "reset infos")

    def same_worlds():
        assert ours.get_attr("world") == ref.get_attr("world")
        assert [s.name for s in ours.get_attr("scenario")] == [s.name for s in ref.get_attr("scenario")]

    obs_a, ends = sb3_lockstep(ours, ref, 400, same_worlds)
    assert ends >= 6
    assert ours.get_attr("world", indices=[2]) == ref.get_attr("world", indices=[2])
    # A reference agent acts in one world at a time, as with DummyVecEnv of LLMRoute-Gen-v0.
    agent = agents.make("stageroute", ours, seed=0)
    with pytest.raises(RuntimeError, match="one world at a time"):
        agent.predict(obs_a, episode_start=np.ones(3, dtype=bool))
    env = LLMRouteGenSB3VecEnv(4, **kwargs)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=64, seed=0)
    model.learn(total_timesteps=512)
    assert model.num_timesteps >= 512
    rewards, lengths = evaluate_policy(model, env, n_eval_episodes=4, return_episode_rewards=True, warn=False)
    assert len(rewards) == 4 and all(length >= 2 for length in lengths)  # a deploy step, then routing
