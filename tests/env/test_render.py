"""``render_mode="rgb_array"``: the picture of the episode (gym_llmroute/render.py), on every registered
id, with Gymnasium's and Stable-Baselines3's tooling; and that rendering changes no episode."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import load_env_creator
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gym_llmroute
from gym_llmroute import render
from gym_llmroute.env import LLMRouteEnv
from gym_llmroute.render import FRAME_SHAPE, RecordingSim1
from gym_llmroute.sim import Sim1

from ..helpers import assert_same_step, made_env, rollout, strict_warnings
from ..recording import mismatches
from ..test_recorded_trajectories import SINGLE_CASES, recorded, single_record

ENV_IDS = sorted(gym_llmroute.ENV_IDS)
SHORT = {"horizon": 300, "n_stages": 3}
VIEWS = ("LLMRoute-Deploy-v0", "LLMRoute-Route-v0")


def lowest_valid(info) -> int:
    """The lowest valid action: on the paper world it spends the hard budget within ~15 queries, so
    tests that play it for longer use the average budget."""
    return int(np.flatnonzero(info["action_mask"])[0])


def cell_pixel(env: LLMRouteEnv, stage: int, model: int) -> tuple[int, int]:
    """(row, column) of the frame at the middle of the deployment grid's cell (stage, model)."""
    P = env.sim.params
    top, bottom, _, _ = render._GRID_BOX
    h = bottom - top - 2 * render._PAD
    w = render._X1 - render._X0
    t_mid = (P.bounds[stage] + P.bounds[stage + 1]) / 2
    row = top + render._PAD + int((model + 0.5) * h / P.n_real)
    return row, render._X0 + int(round(t_mid / P.horizon * (w - 1)))


def cell_colors(frame, env, stage: int) -> np.ndarray:
    """The colour of every catalog model's cell of ``stage``, (n, 3)."""
    return np.array([frame[cell_pixel(env, stage, m)] for m in range(env.sim.params.n_real)])


def lut(state: int, faded: bool = False) -> np.ndarray:
    return render._CELL_LUT[state + 4 * faded]


# ---------------------------------------------------------------------------------------- every id
def test_metadata_lists_both_render_modes():
    for cls in (LLMRouteEnv, *(type(gym.make(env_id).unwrapped) for env_id in ENV_IDS)):
        assert cls.metadata["render_modes"] == ["ansi", "rgb_array"]
        assert cls.metadata["render_fps"] == 4


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rgb_array_is_a_uint8_frame_that_changes_as_the_episode_advances(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    first = env.render()
    assert isinstance(first, np.ndarray) and first.shape == FRAME_SHAPE and first.dtype == np.uint8
    assert env.render() is not first  # a fresh array per call
    np.testing.assert_array_equal(env.render(), first)  # rendering twice changes nothing
    rng = np.random.default_rng(0)
    for _ in range(40):
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated:
            break
    later = env.render()
    assert later.shape == FRAME_SHAPE and later.dtype == np.uint8
    assert np.count_nonzero((later != first).any(axis=-1)) > 100


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rgb_array_envs_pass_both_env_checkers(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    with strict_warnings():
        gym_check_env(made_env(env), skip_render_check=False)
        sb3_check_env(made_env(env), warn=True, skip_render_check=False)


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", *VIEWS, "LLMRoute-Gen-v0"])
def test_a_bad_render_mode_raises_naming_it(env_id):
    for mode in ("rgb", "video", "rgb_array_lists"):
        with pytest.raises(ValueError, match=f"'{mode}'"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Gymnasium's warning that the mode is not listed
            gym.make(env_id, render_mode=mode)
    # "human" is not a mode of the env itself (gym.make wraps "rgb_array" for it: see below).
    with pytest.raises(ValueError, match="'human'"):
        load_env_creator(gym.spec(env_id).entry_point)(render_mode="human")


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Route-v0"])
def test_gym_make_wraps_the_rgb_array_for_human_and_list_modes(env_id):
    """Gymnasium's own wrappers: "human" shows the rgb_array frames in a pygame window (pygame is
    needed only once a frame is shown), "rgb_array_list" collects them."""
    with pytest.warns(UserWarning, match="HumanRendering"):
        env = gym.make(env_id, render_mode="human")
    assert isinstance(env, gym.wrappers.HumanRendering) and env.unwrapped.render_mode == "rgb_array"
    env = gym.make(env_id, render_mode="rgb_array_list")
    assert isinstance(env, gym.wrappers.RenderCollection)
    env.reset(seed=0)
    assert [f.shape for f in env.render()] == [FRAME_SHAPE]


def test_only_rgb_array_records_history():
    """Without render_mode="rgb_array" the env runs the plain simulation core: no per-step cost."""
    for mode in (None, "ansi"):
        assert type(gym.make("LLMRoute-v0", render_mode=mode).unwrapped.sim) is Sim1
        assert type(gym.make("LLMRoute-Gen-v0", render_mode=mode).unwrapped.sim) is Sim1
        assert type(gym.make("LLMRoute-Route-v0", render_mode=mode).unwrapped.sim) is Sim1
    assert type(gym.make("LLMRoute-v0", render_mode="rgb_array").unwrapped.sim) is RecordingSim1
    assert type(gym.make("LLMRoute-Gen-v0", render_mode="rgb_array").unwrapped.sim) is RecordingSim1
    assert type(gym.make("LLMRoute-Deploy-v0", render_mode="rgb_array").unwrapped.sim) is RecordingSim1
    assert gym.make("LLMRoute-v0").unwrapped.render() is None
    assert isinstance(gym.make("LLMRoute-Route-v0", render_mode="ansi").unwrapped.render(), str)


# ---------------------------------------------------------------------------------------- the picture
def test_deployment_grid_shows_the_picked_then_committed_set_in_its_stage():
    env = gym.make("LLMRoute-v0", render_mode="rgb_array", budget_mode="average", **SHORT).unwrapped
    obs, info = env.reset(seed=3)
    available = env.sim.params.availability[0, : env.sim.params.n_real]
    colors = cell_colors(env.render(), env, 0)
    expected = np.where(available[:, None], lut(render.AVAILABLE, True), lut(render.UNAVAILABLE, True))
    np.testing.assert_array_equal(colors, expected)  # nothing picked yet; stage 0 lies ahead (faded)

    first = lowest_valid(info)
    obs, _, _, _, info = env.step(first)
    colors = cell_colors(env.render(), env, 0)
    np.testing.assert_array_equal(colors[first], lut(render.PICKED))  # picked: orange, never faded
    while obs["phase"][0] < 0.5:
        obs, _, _, _, info = env.step(lowest_valid(info))
    deployed = obs["deployed"] > 0.5
    colors = cell_colors(env.render(), env, 0)
    np.testing.assert_array_equal(colors[deployed], np.tile(lut(render.DEPLOYED, True), (deployed.sum(), 1)))

    # Serve the stage: the committed set is the stage's deployed cells, no longer faded; the next
    # stage's deploy phase has begun (its cells are faded, nothing picked).
    while obs["phase"][0] > 0.5:
        obs, _, _, _, info = env.step(lowest_valid(info))
    frame = env.render()
    colors = cell_colors(frame, env, 0)
    np.testing.assert_array_equal(colors[deployed], np.tile(lut(render.DEPLOYED), (deployed.sum(), 1)))
    assert not (colors[~deployed] == lut(render.DEPLOYED)).all(axis=1).any()
    assert not (cell_colors(frame, env, 1) == lut(render.PICKED)).all(axis=1).any()
    np.testing.assert_array_equal(env.sim.deployed_hist[0], deployed)


def test_history_is_sampled_at_events_and_renders_and_ends_at_the_info_values():
    env = gym.make("LLMRoute-v0", render_mode="rgb_array", **SHORT).unwrapped
    obs, info = env.reset(seed=1)
    np.testing.assert_array_equal(env.sim.samples, [[0.0, 0.0, 0.0]])
    rng = np.random.default_rng(0)
    terminated, spent, routed = False, 0.0, 0
    while not terminated:
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        spent += info["cost"]
        routed += info["model"] >= 0
        if routed == 50 and info["model"] >= 0:
            env.render()
    env.render()
    t, s, r = env.sim.samples.T
    assert 50 in t and np.all(np.diff(t) >= 0)
    assert t[-1] == info["queries_served"] and s[-1] == pytest.approx(spent) and r[-1] == info["regret"]
    assert set(env.sim.params.bounds[1:-1]) <= set(t) or t[-1] < env.sim.params.bounds[-1]
    # A new episode starts a new history.
    env.reset(seed=2)
    np.testing.assert_array_equal(env.sim.samples, [[0.0, 0.0, 0.0]])
    assert not env.sim.deployed_hist.any()


def test_hard_budget_end_records_the_regret_jump():
    env = gym.make("LLMRoute-v0", render_mode="rgb_array", **SHORT).unwrapped
    obs, info = env.reset(seed=0)
    terminated = False
    price = env.scenario.list_prices
    while not terminated:  # the most expensive valid model: the budget runs out early
        valid = np.flatnonzero(info["action_mask"])
        a = int(valid[np.argmax(price[valid])]) if obs["phase"][0] > 0.5 else lowest_valid(info)
        obs, _, terminated, _, info = env.step(a)
    assert info["queries_served"] < SHORT["horizon"]
    t, _, r = env.sim.samples.T
    assert t[-1] == t[-2] == info["queries_served"] and r[-1] == info["regret"] > r[-2]
    assert env.render().shape == FRAME_SHAPE


def test_padded_env_draws_the_same_picture():
    """Padded slots are left out of the grid: padding changes nothing in the frame."""
    frames = []
    for kwargs in ({}, {"pad_to": 20}):
        env = gym.make("LLMRoute-v0", render_mode="rgb_array", **SHORT, budget_mode="average", **kwargs)
        obs, info = env.reset(seed=4)
        for _ in range(120):
            obs, _, _, _, info = env.step(lowest_valid(info))
        frames.append(env.render())
    np.testing.assert_array_equal(*frames)


def test_pickled_rendering_env_continues_identically_with_the_same_picture():
    env = gym.make("LLMRoute-v0", render_mode="rgb_array", **SHORT, budget_mode="average")
    obs, info = env.reset(seed=11)
    for _ in range(70):
        obs, *_, info = env.step(lowest_valid(info))
    env.render()
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.render(), env.render())
    for _ in range(100):
        step_a, step_b = env.step(lowest_valid(info)), clone.step(lowest_valid(info))
        assert_same_step(step_a, step_b)
        info = step_a[4]
    np.testing.assert_array_equal(clone.render(), env.render())


# ---------------------------------------------------------------------------------------- no effect on episodes
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rendering_at_every_step_changes_no_step(env_id):
    kwargs = SHORT if env_id not in ("LLMRoute-Gen-v0", "LLMRoute-Deploy-v0") else {"horizon": 300}
    plain = rollout(gym.make(env_id, **kwargs), seed=5, actions_rng=np.random.default_rng(2), p_invalid=0.2)
    env = gym.wrappers.RenderCollection(gym.make(env_id, render_mode="rgb_array", **kwargs))
    rendered = rollout(env, seed=5, actions_rng=np.random.default_rng(2), p_invalid=0.2)
    assert len(plain) == len(rendered) > 10
    for a, b in zip(plain, rendered, strict=True):
        assert_same_step(a, b)
    assert len(env.render()) == len(rendered)


@pytest.mark.parametrize(
    "case, every",
    [("paper-hard", 7), ("typed", 11), ("market-delay", 13), ("deploy-view", 1), ("route-view", 3)],
)
def test_rendering_envs_play_the_recorded_trajectories(case, every):
    """The recorded episodes of tests/test_recorded_trajectories.py, rendered every ``every`` steps."""
    assert mismatches(single_record(*SINGLE_CASES[case], render_every=every), recorded("single", case)) == []


# ---------------------------------------------------------------------------------------- tooling
@pytest.mark.parametrize("env_id", ["LLMRoute-v0", *VIEWS, "LLMRoute-Gen-v0"])
def test_sb3_make_vec_env_defaults_work_and_step(env_id):
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(env_id, n_envs=2, seed=0)
    try:
        assert vec.render_mode == "rgb_array"
        vec.reset()
        for _ in range(20):
            masks = np.stack(vec.env_method("action_masks"))
            actions = np.array([np.flatnonzero(m)[0] for m in masks])
            _, rewards, _, infos = vec.step(actions)
            assert rewards.shape == (2,) and not any(i["invalid_action"] for i in infos)
        images = vec.get_images()
        assert len(images) == 2 and all(im.shape == FRAME_SHAPE and im.dtype == np.uint8 for im in images)
    finally:
        vec.close()


def test_render_collection_collects_a_frame_per_step():
    env = gym.wrappers.RenderCollection(
        gym.make("LLMRoute-v0", render_mode="rgb_array", **SHORT, budget_mode="average")
    )
    obs, info = env.reset(seed=0)
    for _ in range(25):
        obs, *_, info = env.step(lowest_valid(info))
    frames = env.render()
    assert len(frames) == 26 and all(f.shape == FRAME_SHAPE and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[-1])


def test_record_video_writes_a_video(tmp_path):
    pytest.importorskip("moviepy")
    env = gym.make("LLMRoute-Route-v0", render_mode="rgb_array", horizon=60, n_stages=3)
    folder = tmp_path / "videos"
    env = gym.wrappers.RecordVideo(env, str(folder), episode_trigger=lambda e: True, disable_logger=True)
    obs, info = env.reset(seed=0)
    terminated = False
    while not terminated:
        obs, _, terminated, _, info = env.step(lowest_valid(info))
    env.close()
    videos = list(folder.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
