"""The native batched LLMRoute-v0 (gym_llmroute.vector) against Gymnasium's SyncVectorEnv of the single env."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import gym_llmroute
from gym_llmroute.env import DEPLOY, ROUTE, LLMRouteEnv
from gym_llmroute.vector import LLMRouteVectorEnv

from ..helpers import assert_same, sb3_lockstep, small_world, tiny_scenario


def lockstep(env_kwargs: dict, mode: AutoresetMode, n: int, steps: int, seed: int = 11, p_invalid: float = 0.2):
    """Step the native env and SyncVectorEnv of the single env with the same seeds and actions (valid
    ones, plus with probability p_invalid any integer in [-2, N + 2]); assert every output is
    identical and return counts of what happened, so that a test can check it was exercised."""
    native = gym.make_vec("LLMRoute-v0", n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **env_kwargs)
    sync = gym.make_vec(
        "LLMRoute-v0", n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **env_kwargs
    )
    assert isinstance(native.unwrapped, LLMRouteVectorEnv)
    out_a, out_b = native.reset(seed=seed), sync.reset(seed=seed)
    assert_same(out_a, out_b, "reset")
    rng = np.random.default_rng(seed)
    n_actions = native.single_action_space.n
    seen = {"terminated": 0, "truncated": 0, "budget_exhausted": 0, "invalid": 0, "deploy": 0, "route": 0}
    info = out_a[1]
    for t in range(steps):
        actions = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in info["action_mask"]])
        wild = rng.random(n) < p_invalid
        actions[wild] = rng.integers(-2, n_actions + 2, size=int(wild.sum()))
        step_a, step_b = native.step(actions), sync.step(actions)
        assert_same(step_a, step_b, f"step {t}")
        np.testing.assert_array_equal(native.unwrapped.action_masks(), step_a[4]["action_mask"])
        obs, rewards, terminated, truncated, info = step_a
        final = info.get("final_info", info)
        seen["terminated"] += int(terminated.sum())
        seen["truncated"] += int(truncated.sum())
        if "queries_served" in final:
            ended = final["_queries_served"]
            seen["budget_exhausted"] += int((final["queries_served"][ended] < native.unwrapped.scenario.horizon).sum())
        seen["invalid"] += int(info["invalid_action"].sum())
        seen["deploy"] += int((info["action_phase"] == DEPLOY).sum())
        seen["route"] += int((info["action_phase"] == ROUTE).sum())
    native.close()
    sync.close()
    return seen


VECTOR_IDS = sorted(i for i in gym_llmroute.ENV_IDS if gym.spec(i).vector_entry_point)


def test_every_plain_env_id_has_the_native_vector_entry_point():
    assert "LLMRoute-v0" in VECTOR_IDS and len(VECTOR_IDS) >= 4


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_make_vec_vector_entry_point_returns_the_native_env_with_batched_spaces(env_id):
    envs = gym.make_vec(env_id, num_envs=5, vectorization_mode="vector_entry_point", horizon=500, n_stages=4)
    single = gym.make(env_id, horizon=500, n_stages=4)
    # LLMRoute-Gen-v0: each sub-env has its world (before the first reset, the single env's first).
    assert {s.name for s in envs.unwrapped.get_attr("scenario")} == {single.unwrapped.scenario.name}
    assert isinstance(envs.unwrapped, LLMRouteVectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.num_envs == 5
    assert envs.single_action_space == single.action_space
    assert envs.single_observation_space == single.observation_space
    obs, info = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    assert info["action_mask"].shape == envs.unwrapped.action_masks().shape == (5, single.action_space.n)
    assert obs["pulls"].shape == (5, single.unwrapped.n_models) and obs["pulls"].dtype == np.float32
    single_obs, _ = single.reset(seed=2)
    for key in single_obs:  # sub-env 2 of reset(seed=0) is the single env reset with seed 2
        np.testing.assert_array_equal(obs[key][2], single_obs[key], err_msg=key)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_native_env_equals_sync_vector_env_with_invalid_actions_and_autoreset(mode):
    seen = lockstep({"horizon": 240, "n_stages": 3}, mode, n=3, steps=900)
    assert seen["terminated"] >= 6  # several episodes ended and were autoreset
    assert seen["invalid"] > 100 and seen["deploy"] > 50 and seen["route"] > 1500


def test_native_env_equals_sync_when_the_hard_budget_ends_episodes_with_a_penalty():
    seen = lockstep(
        {"scenario": tiny_scenario(budget=0.47, horizon=400), "invalid_action_penalty": 0.25},
        AutoresetMode.NEXT_STEP,
        n=4,
        steps=800,
    )
    assert seen["budget_exhausted"] >= 1  # the hard budget cut at least one episode short
    assert seen["invalid"] > 100


def test_native_env_equals_sync_on_typed_queries_with_drift_price_change_and_delayed_feedback():
    # Horizon 1,200 > CHUNK: sub-envs also draw a second chunk of outcomes mid-episode.
    seen = lockstep(
        {"scenario": small_world("typed", feedback_delay=4)}, AutoresetMode.SAME_STEP, n=2, steps=1400, p_invalid=0.1
    )
    assert seen["terminated"] >= 1 and seen["route"] > 2300


def test_native_env_equals_sync_on_the_market_world_and_time_limit_truncation():
    kwargs = {"scenario": "market", "horizon": 600, "n_stages": 4, "budget_mode": "average", "max_episode_steps": 150}
    seen = lockstep(kwargs, AutoresetMode.NEXT_STEP, n=3, steps=400)
    # Truncated at steps 150 and 301 (step 151 is the autoreset) in each of the 3 sub-envs.
    assert seen["truncated"] == 6 and seen["terminated"] == 0


def test_sub_env_i_plays_the_single_env_episode_of_seed_s_plus_i():
    kwargs = {"horizon": 300, "n_stages": 3, "budget_mode": "average"}  # no episode ends in 200 steps
    envs = LLMRouteVectorEnv(3, **kwargs)
    singles = [LLMRouteEnv(**kwargs) for _ in range(3)]
    obs, info = envs.reset(seed=40)
    single_out = [e.reset(seed=40 + i) for i, e in enumerate(singles)]
    rewards = np.zeros((3, 200))
    for t in range(200):
        actions = info["action_mask"].argmax(axis=1)  # the first valid action, a fixed policy
        obs, r, term, trunc, info = envs.step(actions)
        rewards[:, t] = r
        for i, e in enumerate(singles):
            o, ri, *_ = e.step(int(actions[i]))
            assert ri == r[i]
            for key in o:
                np.testing.assert_array_equal(o[key], obs[key][i], err_msg=key)
    # Different seeds, different worlds: the sub-envs' reward streams differ.
    assert not np.array_equal(rewards[0], rewards[1]) and rewards.sum() > 50
    assert [out[1]["budget_left"] for out in single_out] == [0.05 * 300] * 3


def test_action_masks_are_per_sub_env_and_sized_n_by_n_plus_one():
    envs = LLMRouteVectorEnv(2, horizon=300, n_stages=3)
    obs, info = envs.reset(seed=1)
    N = envs.n_models
    # Sub-env 0 adds the largest caps and commits as soon as it may; sub-env 1 adds models in index
    # order (smaller caps first), so it is still picking when sub-env 0 starts routing.
    alpha = envs.scenario.throughput
    while obs["phase"][0, 0] == 0:
        masks = envs.action_masks()
        largest = np.argmax(np.where(masks[0, :N], alpha, -1.0))
        obs, _, _, _, info = envs.step(np.array([N if masks[0, N] else largest, masks[1, :N].argmax()]))
    masks = envs.action_masks()
    assert masks.shape == (2, N + 1) and masks.dtype == bool
    np.testing.assert_array_equal(masks, info["action_mask"])
    np.testing.assert_array_equal(obs["phase"][:, 0], [1.0, 0.0])  # one routes, the other still deploys
    assert not masks[0, N] and masks[0, :N].sum() == obs["deployed"][0].sum() >= 2  # route: deployed models
    assert 2 <= obs["picked"][1].sum() < 4 and not (masks[1, :N] & (obs["picked"][1] > 0)).any()


def test_disabled_autoreset_refuses_ended_sub_envs_until_a_masked_reset():
    kwargs = {"scenario": tiny_scenario(horizon=40, n_stages=2)}
    native = LLMRouteVectorEnv(2, autoreset_mode=AutoresetMode.DISABLED, **kwargs)
    sync = gym.vector.SyncVectorEnv([lambda: LLMRouteEnv(**kwargs)] * 2, autoreset_mode=AutoresetMode.DISABLED)
    assert_same(native.reset(seed=3), sync.reset(seed=3))
    terminated = np.zeros(2, dtype=bool)
    steps = 0
    while not terminated.any():
        actions = native.action_masks().argmax(axis=1)
        out = native.step(actions)
        assert_same(out, sync.step(actions))
        terminated, steps = out[2], steps + 1
    assert steps >= 40
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(native.action_masks().argmax(axis=1))
    mask = terminated.copy()
    assert_same(native.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask.copy()}))
    actions = native.action_masks().argmax(axis=1)
    if (~mask).any():  # the sub-env that did not end may end now; only compare one more step
        assert_same(native.step(actions), sync.step(actions))


def test_reset_options_change_every_sub_env_and_bad_input_is_refused():
    envs = LLMRouteVectorEnv(2, horizon=300, n_stages=3)
    envs.reset(seed=0)
    obs, _ = envs.reset(seed=0, options={"horizon": 600, "budget": 0.08})
    assert envs.scenario.horizon == 600 and envs.scenario.budget == 0.08
    np.testing.assert_array_equal(obs["budget_per_query"], np.float32([[0.08], [0.08]]))
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": np.array([True, False]), "horizon": 900})
    with pytest.raises(ValueError, match="unknown reset option"):
        envs.reset(options={"horizn": 900})
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        envs.step(np.array([0, 0, 0]))
    with pytest.raises(TypeError, match="integers"):
        envs.step(np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="horizn"):
        LLMRouteVectorEnv(2, horizn=5)
    with pytest.raises(ValueError, match="num_envs"):
        LLMRouteVectorEnv(0)


def test_sb3_adapter_equals_dummy_vec_env_and_trains_maskable_ppo():
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gym_llmroute.vector import LLMRouteSB3VecEnv

    kwargs = {"horizon": 120, "n_stages": 2}
    ours = LLMRouteSB3VecEnv(2, **kwargs)
    ref = DummyVecEnv([lambda: gym.make("LLMRoute-v0", **kwargs) for _ in range(2)])
    ours.seed(5)
    ref.seed(5)
    assert_same(ours.reset(), ref.reset())
    _, ends = sb3_lockstep(ours, ref, 300)
    assert ends >= 4
    model = MaskablePPO("MultiInputPolicy", LLMRouteSB3VecEnv(4, **kwargs), n_steps=32, batch_size=64, seed=0)
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256


def test_importing_the_vector_module_does_not_import_stable_baselines3():
    code = (
        "import sys, gym_llmroute.vector as v; assert 'stable_baselines3' not in sys.modules; "
        "cls = v.LLMRouteSB3VecEnv; print(cls.__name__, 'stable_baselines3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["LLMRouteSB3VecEnv", "True"], out.stderr
    assert "LLMRoute-v0" in gym_llmroute.ENV_IDS
