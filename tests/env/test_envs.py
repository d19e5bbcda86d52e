"""Registry-driven tests: every registered id of gym_llmroute gets the same checks (Minigrid style)."""

from __future__ import annotations

import dataclasses
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gym_llmroute

from ..helpers import assert_same_step, made_env, rollout, strict_warnings, tiny_scenario

ENV_IDS = sorted(gym_llmroute.ENV_IDS)


def short(env_id: str) -> gym.Env:
    """The registered env, shortened so that a whole episode takes a fraction of a second."""
    spec = gym.spec(env_id)
    kwargs = {"horizon": 300, "n_stages": 3} if "horizon" in _init_kwargs(spec) else {}
    if env_id == "LLMRoute-Deploy-v0":
        # The deploy view takes a few steps per stage, not one per query: many short stages keep its
        # episodes longer than the rollouts below.
        kwargs["n_stages"] = 100
    return gym.make(env_id, **kwargs)


def _init_kwargs(spec: EnvSpec) -> set[str]:
    import inspect

    env_cls = gym.envs.registration.load_env_creator(spec.entry_point)
    return set(inspect.signature(env_cls).parameters)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env_passes(env_id):
    """On what the id's entry point made: the env, or for the single-level views the level wrapper."""
    env = gym.make(env_id)
    with strict_warnings():
        gym_check_env(made_env(env), skip_render_check=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_passes_without_warnings(env_id):
    env = gym.make(env_id)
    with strict_warnings():
        sb3_check_env(made_env(env), warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_gives_identical_trajectories_step_by_step(env_id):
    env_a, env_b = short(env_id), short(env_id)
    run_a = rollout(env_a, seed=7, actions_rng=np.random.default_rng(3), p_invalid=0.2)
    run_b = rollout(env_b, seed=7, actions_rng=np.random.default_rng(3), p_invalid=0.2)
    assert len(run_a) == len(run_b) > 10
    for a, b in zip(run_a, run_b, strict=True):
        assert_same_step(a, b)
    # And a different seed gives a different world.
    run_c = rollout(env_a, seed=8, actions_rng=np.random.default_rng(3), p_invalid=0.2)
    assert [s[1] for s in run_c[:200]] != [s[1] for s in run_a[:200]]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip_continues_identically(env_id):
    env = short(env_id)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=11)
    for _ in range(50):
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated:  # the hard budget may end an episode early: go on with the next one
            obs, info = env.reset()
    clone = pickle.loads(pickle.dumps(env))
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    info_a = info_b = info
    for _ in range(200):
        step_a = env.step(int(rng_a.choice(np.flatnonzero(info_a["action_mask"]))))
        step_b = clone.step(int(rng_b.choice(np.flatnonzero(info_b["action_mask"]))))
        assert_same_step(step_a, step_b)
        info_a, info_b = step_a[4], step_b[4]
        if step_a[2]:
            break


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_steps_with_masked_actions(env_id, mode):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode)
    try:
        obs, infos = envs.reset(seed=[1, 2])
        assert obs["pulls"].shape[0] == 2
        rng = np.random.default_rng(0)
        for _ in range(30):
            masks = infos["action_mask"]
            actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
            obs, rewards, terms, truncs, infos = envs.step(actions)
            assert rewards.shape == (2,)
            assert not infos["invalid_action"].any()
    finally:
        envs.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_json_round_trip_makes_the_same_env(env_id):
    env = gym.make(env_id)
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec == env.spec
    again = gym.make(spec)
    a = rollout(env, seed=3, actions_rng=np.random.default_rng(1), max_steps=100)
    b = rollout(again, seed=3, actions_rng=np.random.default_rng(1), max_steps=100)
    for x, y in zip(a, b, strict=True):
        assert_same_step(x, y)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_module_prefixed_id_works_without_import(env_id):
    import subprocess
    import sys

    code = f"import gymnasium as gym; env = gym.make('gym_llmroute:{env_id}'); env.reset(seed=0); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_no_info_key_is_an_observation_key_and_every_info_value_is_numeric(env_id):
    """TorchRL merges infos into the observation: a shared key would replace the observation's."""
    env = short(env_id)
    steps = rollout(env, seed=0, actions_rng=np.random.default_rng(0), p_invalid=0.1)
    assert steps[-1][2], "the rollout ends with termination (the final info is checked too)"
    obs_keys = set(env.observation_space.spaces)
    for _, _, _, _, info in steps:
        assert not obs_keys & set(info), sorted(obs_keys & set(info))
        for key, value in info.items():
            assert isinstance(value, (int, float, bool, np.ndarray, np.number, np.bool_)), (key, value)
            assert not isinstance(value, np.ndarray) or value.dtype.kind in "biuf", (key, value.dtype)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_after_the_episode_ended_raises_until_reset(env_id):
    env = short(env_id)
    steps = rollout(env, seed=0, actions_rng=np.random.default_rng(0))
    assert steps[-1][2]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    obs, info = env.reset(seed=0)
    env.step(int(np.flatnonzero(info["action_mask"])[0]))


def test_legacy_info_keys_adds_the_old_keys_with_a_deprecation_warning():
    from gym_llmroute.wrappers import LegacyInfoKeys

    with pytest.warns(DeprecationWarning, match="action_phase"):
        env = LegacyInfoKeys(gym.make("LLMRoute-v0", horizon=60, n_stages=2))
    steps = rollout(env, seed=0, actions_rng=np.random.default_rng(0))
    assert steps[0][4]["phase"] == "reset"
    phases = [info["phase"] for *_, info in steps[1:]]
    assert phases[0] == "deploy" and phases[-1] == "route" and set(phases) == {"deploy", "route"}
    assert all(info["stage"] == info["action_stage"] for *_, info in steps)
    assert env.action_masks().shape == (13,)


def test_spec_json_round_trip_of_a_custom_scenario_makes_the_same_env():
    env = gym.make("LLMRoute-v0", scenario=tiny_scenario(), horizon=120)
    spec = EnvSpec.from_json(env.spec.to_json())
    again = gym.make(spec)
    assert again.unwrapped.scenario == env.unwrapped.scenario
    a = rollout(env, seed=3, actions_rng=np.random.default_rng(1), max_steps=100)
    b = rollout(again, seed=3, actions_rng=np.random.default_rng(1), max_steps=100)
    for x, y in zip(a, b, strict=True):
        assert_same_step(x, y)


def test_scenario_mapping_with_unknown_fields_or_a_sampler_is_refused_by_name():
    fields = dataclasses.asdict(tiny_scenario())
    with pytest.raises(TypeError, match=r"unknown field\(s\) \['bugdet'\]"):
        gym.make("LLMRoute-v0", scenario={**fields, "bugdet": 0.1})
    fields["models"][0]["qualty"] = 0.5
    with pytest.raises(TypeError, match=r"models\[0\] has unknown field\(s\) \['qualty'\]"):
        gym.make("LLMRoute-v0", scenario=fields)
    with pytest.raises(ValueError, match="'outcomes' sampler"):
        gym.make("LLMRoute-v0", scenario={**dataclasses.asdict(tiny_scenario()), "outcomes": {"kind": "x"}})


def test_step_before_the_first_reset_raises_a_clear_error_even_without_gym_make():
    from gym_llmroute.env import LLMRouteEnv
    from gym_llmroute.gen_env import LLMRouteGenEnv

    for env in (LLMRouteEnv(), LLMRouteGenEnv()):
        with pytest.raises(RuntimeError, match=r"^call reset\(\) before step\(\)$"):
            env.step(0)
