"""ActionMaskObservation: the mask in the observation, as TorchRL, Tianshou and RLlib read it
(docs/other_libraries.md). The libraries themselves are tested where they install (importorskip)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gym_llmroute
from gym_llmroute import wrappers
from gym_llmroute.wrappers import ActionMaskObservation, LagrangianReward, ScaledObservation

SHORT = {"horizon": 300, "n_stages": 3}
# The checkers warn on any wrapped env; the wrapper is what they check here.
WRAPPED = ".*is different from the unwrapped version"
IDS = ["LLMRoute-v0", "LLMRoute-Typed-v0", "LLMRoute-Gen-v0", "LLMRoute-Deploy-v0", "LLMRoute-Route-v0"]


def play(env: ActionMaskObservation, seed: int, p_invalid: float = 0.1) -> int:
    """A whole episode of actions drawn from the mask in the observation (sometimes any action);
    after reset and every step the mask there equals action_masks() and info["action_mask"], and the
    observation part equals the flattened observation of the env below. Returns the steps played."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    steps = 0
    while True:
        assert env.observation_space.contains(obs)
        mask = obs["action_mask"]
        assert mask.dtype == bool and mask.shape == (env.action_space.n,)
        np.testing.assert_array_equal(mask, env.action_masks())
        np.testing.assert_array_equal(mask, env.unwrapped.action_masks())
        np.testing.assert_array_equal(mask, info["action_mask"])
        inner = env.env.unwrapped.sim.observation()  # the unwrapped env's observation, now
        flat = spaces.flatten(env.env.observation_space, inner)
        np.testing.assert_array_equal(obs["observations"], flat)
        if rng.random() < p_invalid:
            action = int(rng.integers(env.action_space.n))
        else:
            action = int(rng.choice(np.flatnonzero(mask)))
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            np.testing.assert_array_equal(obs["action_mask"], env.action_masks())
            return steps


def test_action_mask_observation_is_exported():
    assert "ActionMaskObservation" in wrappers.__all__


@pytest.mark.parametrize("env_id", IDS)
def test_both_env_checkers_pass_on_the_wrapped_env(env_id):
    env = ActionMaskObservation(gym.make(env_id))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", WRAPPED)
        gym_check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=True)


@pytest.mark.parametrize(
    "kwargs", [{"flatten": False}, {"mask_dtype": np.int8}, {"observation_key": "obs", "mask_key": "mask"}]
)
def test_gymnasium_check_env_passes_with_every_setting(kwargs):
    env = ActionMaskObservation(gym.make("LLMRoute-v0"), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", WRAPPED)
        gym_check_env(env, skip_render_check=True)


def test_spaces_flat_by_default_and_the_dict_unchanged_with_flatten_false():
    base = gym.make("LLMRoute-v0")
    env = ActionMaskObservation(base)
    space = env.observation_space
    assert isinstance(space, spaces.Dict) and set(space.spaces) == {"observations", "action_mask"}
    assert space["observations"] == spaces.flatten_space(base.observation_space)
    assert space["observations"].dtype == np.float32
    n_actions = int(base.action_space.n)
    assert space["action_mask"] == spaces.Box(np.zeros(n_actions, bool), np.ones(n_actions, bool), dtype=bool)
    assert env.action_space == base.action_space
    nested = ActionMaskObservation(gym.make("LLMRoute-v0"), "obs", "mask", flatten=False, mask_dtype="int8")
    assert nested.observation_space["obs"] == base.observation_space
    assert nested.observation_space["mask"] == spaces.MultiBinary(n_actions)
    obs, _ = nested.reset(seed=0)
    assert obs["mask"].dtype == np.int8 and obs["obs"].keys() == base.observation_space.spaces.keys()
    np.testing.assert_array_equal(obs["mask"], nested.action_masks())


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Typed-v0"])
@pytest.mark.parametrize("budget_mode", ["hard", "average"])
def test_mask_in_the_observation_equals_action_masks_over_a_whole_episode(env_id, budget_mode):
    env = ActionMaskObservation(gym.make(env_id, budget_mode=budget_mode, **SHORT))
    steps = play(env, seed=3)
    if budget_mode == "average":  # every query served, and the deploy steps of every stage
        assert steps > SHORT["horizon"]


def test_mask_in_the_observation_of_the_padded_gen_env_over_whole_episodes():
    """LLMRoute-Gen-v0 pads every world to 40 slots: the padded slots are 0 in the mask, over several
    worlds of different sizes."""
    env = ActionMaskObservation(gym.make("LLMRoute-Gen-v0", num_worlds=50, **SHORT))
    sizes = set()
    for seed in range(3):
        play(env, seed=seed)
        n_models = env.unwrapped.scenario.n_models
        sizes.add(n_models)
        obs, _ = env.reset(seed=seed)
        assert env.action_space.n == 41
        assert not obs["action_mask"][n_models:40].any()
    assert len(sizes) > 1


def test_views_and_other_wrappers_compose():
    env = ActionMaskObservation(ScaledObservation(LagrangianReward(gym.make("LLMRoute-Route-v0", **SHORT))))
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs["action_mask"], env.action_masks())
    assert env.observation_space["observations"].high.max() == 50.0  # ScaledObservation's bounds (the pace), flattened
    rng = np.random.default_rng(0)
    for _ in range(50):
        obs, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        np.testing.assert_array_equal(obs["action_mask"], env.action_masks())
        if terminated:  # random routing may spend the hard budget early
            obs, _ = env.reset()


def test_maskable_ppo_reads_the_forwarded_action_masks():
    sb3_contrib = pytest.importorskip("sb3_contrib")
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: ActionMaskObservation(gym.make("LLMRoute-v0", **SHORT))])
    assert is_masking_supported(venv)
    obs = venv.reset()
    np.testing.assert_array_equal(get_action_masks(venv)[0], obs["action_mask"][0])
    model = sb3_contrib.MaskablePPO("MultiInputPolicy", venv, n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(64)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"observation_key": ""}, "observation_key"),
        ({"mask_key": 3}, "mask_key"),
        ({"observation_key": "x", "mask_key": "x"}, "differ"),
        ({"mask_dtype": np.float32}, "mask_dtype"),
        ({"mask_dtype": "no such dtype"}, "mask_dtype"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ActionMaskObservation(gym.make("LLMRoute-v0"), **kwargs)


def test_the_spec_records_the_wrapper_so_make_rebuilds_it():
    env = ActionMaskObservation(gym.make("LLMRoute-v0", horizon=300), "obs", "mask", mask_dtype=np.int8)
    again = gym.make(env.spec)
    assert isinstance(again, ActionMaskObservation) and again.observation_space == env.observation_space
    assert again.unwrapped.scenario.horizon == 300
    a, _ = env.reset(seed=4)
    b, _ = again.reset(seed=4)
    np.testing.assert_array_equal(a["obs"], b["obs"])
    np.testing.assert_array_equal(a["mask"], b["mask"])


def test_a_non_dict_observation_space_is_refused():
    with pytest.raises(TypeError, match="Dict"):
        ActionMaskObservation(gym.make("CartPole-v1"))


def test_every_registered_id_wraps():
    for env_id in gym_llmroute.ENV_IDS:
        env = ActionMaskObservation(gym.make(env_id))
        obs, _ = env.reset(seed=0)
        np.testing.assert_array_equal(obs["action_mask"], env.action_masks())
