"""``pad_to=n``: spaces sized for n model slots on every LLMRoute id, padded slots never available and
always masked, and every agent playing the same episode as without padding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import agents
import gym_llmroute
from agents.evaluation import run_episode
from gym_llmroute import ModelSpec, make_scenario

from ..helpers import assert_same, made_env, strict_warnings

PER_MODEL = ("available", "deployed", "picked", "capacity_left", "pulls", "mean_reward", "mean_cost")
PAD = 40


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Typed-v0", "LLMRoute-Deploy-v0", "LLMRoute-Route-v0"])
def test_padded_spaces_and_both_check_envs(env_id):
    env = gym.make(env_id, pad_to=PAD)
    n = env.unwrapped.scenario.n_models
    assert env.action_space == gym.spaces.Discrete(PAD + 1)
    assert env.observation_space["pulls"].shape == (PAD,)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert not info["action_mask"][n:PAD].any() and info["action_mask"].shape == (PAD + 1,)
    with strict_warnings():
        gym_check_env(made_env(env), skip_render_check=False)
        sb3_check_env(made_env(env), warn=True)


def test_padded_slots_stay_zero_and_masked_for_a_whole_episode_of_random_actions():
    env = gym.make("LLMRoute-Typed-v0", pad_to=PAD, horizon=600, n_stages=4)
    n, J = env.unwrapped.scenario.n_models, env.unwrapped.scenario.n_tasks
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(0)
    done, steps, invalid = False, 0, 0
    while not done:
        # Half the actions aim at a padded slot: each must be refused like any invalid action.
        a = int(rng.integers(n, PAD)) if rng.random() < 0.5 else int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, _, done, _, info = env.step(a)
        steps += 1
        invalid += info["invalid_action"]
        assert not info["action_mask"][n:PAD].any()
        assert info["model"] < n
        for key in PER_MODEL + ("throughput", "price", "release"):
            assert not obs[key][n:].any(), key
        for key in ("task_pulls", "task_mean_reward"):
            assert not obs[key].reshape(J, PAD)[:, n:].any(), key
    assert steps > 600 and invalid > 100


@pytest.mark.parametrize("world", ["paper", "typed", "market-delay"])
def test_every_agent_plays_the_same_episode_padded_or_not(world):
    names = list(agents.AGENTS) if world != "market-delay" else ["stageroute", "thompson", "random", "oracle"]
    for name in names:
        results = []
        for kwargs in ({}, {"pad_to": PAD}):
            env = gym.make("LLMRoute-v0", scenario=world, horizon=600, n_stages=6, **kwargs)
            agent = agents.make(name, env, seed=0)
            out = run_episode(agent, env, seed=3)
            results.append((out["reward"], out["cost"], out["regret"], out["deployments"]))
        assert results[0] == results[1], name


def test_native_vector_env_equals_sync_vector_env_when_padded():
    kwargs = {"pad_to": 20, "horizon": 240, "n_stages": 3}
    native = gym.make_vec("LLMRoute-v0", 3, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec("LLMRoute-v0", 3, vectorization_mode="sync", **kwargs)
    assert native.single_action_space == gym.spaces.Discrete(21)
    assert_same(native.reset(seed=5), sync.reset(seed=5), "reset")
    rng = np.random.default_rng(2)
    seen_padded = 0
    for t in range(700):
        actions = rng.integers(0, 22, size=3)  # padded slots, the commit action and beyond
        seen_padded += int(((actions >= 12) & (actions < 20)).sum())
        assert_same(native.step(actions), sync.step(actions), f"step {t}")
    assert seen_padded > 100
    assert native.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP


def test_reset_options_may_change_the_catalog_size_only_when_padded():
    small = make_scenario("paper").replace(models=make_scenario("paper").models[:6], budget=0.1)
    env = gym.make("LLMRoute-v0", pad_to=PAD)
    obs, _ = env.reset(seed=0, options={"scenario": small})
    assert obs["pulls"].shape == (PAD,) and not obs["available"][6:].any()
    env.reset(seed=0, options={"scenario": "market"})  # 34 models fit in 40 slots
    big = small.replace(models=tuple(ModelSpec(f"m{i}", quality=0.5, cost=0.01) for i in range(PAD + 1)))
    with pytest.raises(ValueError, match="at most pad_to=40 models"):
        gym.make("LLMRoute-v0", pad_to=PAD).reset(options={"scenario": big})
    with pytest.raises(ValueError, match="n_models=12"):
        gym.make("LLMRoute-v0").reset(seed=0, options={"scenario": small})


@pytest.mark.parametrize(
    "pad_to, error, words",
    [
        (11, ValueError, "pad_to=11 is below the world's 12 models"),
        (12.5, TypeError, "pad_to"),
        (True, TypeError, "pad_to"),
    ],
)
def test_bad_pad_to_is_refused_naming_the_argument(pad_to, error, words):
    with pytest.raises(error, match=words):
        gym.make("LLMRoute-v0", pad_to=pad_to)
    with pytest.raises(error, match="pad_to"):
        gym.make_vec("LLMRoute-v0", 2, vectorization_mode="vector_entry_point", pad_to=pad_to)


def test_a_padded_env_registers_every_id():
    for env_id in gym_llmroute.ENV_IDS:
        env = gym.make(env_id, pad_to=PAD)
        assert env.action_space.n == PAD + 1, env_id
