"""Warm starts by behaviour cloning (agents/rl/imitation.py, ``train(..., warm_start=...)``)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO

import agents
from agents.rl import load_agent, train
from agents.rl.imitation import behaviour_clone, collect_demonstrations
from agents.rl.set_policy import SetPolicy
from gym_llmroute.wrappers import ScaledObservation

SHORT = dict(horizon=300, n_stages=3)


def test_demonstrations_hold_the_teachers_valid_actions_and_discounted_returns():
    env = gym.make("LLMRoute-v0", **SHORT)
    demos = collect_demonstrations("stageroute", lambda: gym.make("LLMRoute-v0", **SHORT), 2, seed=5, gamma=0.9)
    n = len(demos)
    assert n > 600 and demos.masks.shape == (n, 13) and demos.observations["pulls"].shape == (n, 12)
    assert demos.masks[np.arange(n), demos.actions].all()  # the teacher acts validly
    # The same episodes again: run_episode of the same agent and seeds gives the same scores.
    again = [agents.run_episode(agents.make("stageroute", env, seed=5), env, s)["reward_fraction"] for s in (5, 6)]
    assert demos.episode_rewards == pytest.approx(again)
    # Returns: r_t + 0.9 * G_{t+1} within each episode (the first episode's last step has G = r).
    first_end = int(np.flatnonzero(demos.observations["time"][1:, 0] < demos.observations["time"][:-1, 0])[0])
    g = demos.returns[: first_end + 1]
    assert np.all(g >= 0) and g[0] > g[first_end]
    with pytest.raises(ValueError, match="episodes must be an integer >= 1"):
        collect_demonstrations("stageroute", lambda: env, 0)


def test_behaviour_cloning_fits_the_teacher_and_its_clone_plays_like_it():
    env = ScaledObservation(gym.make("LLMRoute-v0", **SHORT))
    demos = collect_demonstrations("stageroute", lambda: gym.make("LLMRoute-v0", **SHORT), 6, seed=0)
    model = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0)
    history = behaviour_clone(model, demos, epochs=6, batch_size=64, seed=0)
    assert history[-1] < 0.85 * history[0]
    # The clone's greedy action is the teacher's on many steps it was shown (the teacher's routing is
    # random: it samples the LP's mix of two models).
    obs = {k: v for k, v in demos.observations.items()}
    actions, _ = model.predict(obs, action_masks=demos.masks, deterministic=True)
    assert np.mean(actions == demos.actions) > 0.4


def test_train_with_a_warm_start_records_it_and_the_clone_beats_random(tmp_path):
    result = train(
        "maskableppo",
        "LLMRoute-v0",
        total_timesteps=0,
        out_dir=tmp_path / "bc",
        env_kwargs=SHORT,
        policy="set",
        tensorboard=False,
        warm_start="stageroute",
        warm_start_episodes=10,
        warm_start_epochs=6,
        dagger_rounds=1,
    )
    meta = json.loads((tmp_path / "bc" / "train.json").read_text())
    warm = meta["warm_start"]
    assert warm["teacher"] == "stageroute" and warm["dagger_rounds"] == 1 and warm["steps"] > 6000
    assert warm["dagger_play"] == "sampled"
    assert len(warm["cross_entropy"]) == 12 and len(warm["clone_reward_fraction_per_round"]) == 1
    assert meta["total_timesteps"] == 0 and meta["obs_scaling_version"] == 2
    env = gym.make("LLMRoute-v0", **SHORT)
    clone = load_agent(result.model_path, env)
    assert clone.scaling_version == 2
    seeds = range(100, 106)
    ours = np.mean([agents.run_episode(clone, env, s)["reward_fraction"] for s in seeds])
    rand = np.mean([agents.run_episode(agents.make("random", env, seed=0), env, s)["reward_fraction"] for s in seeds])
    assert ours > rand + 0.3
    with pytest.raises(ValueError, match="actor-critic"):
        train("dqn", "LLMRoute-v0", total_timesteps=0, out_dir=tmp_path / "dqn", warm_start="stageroute")
    with pytest.raises(ValueError, match="total_timesteps must be an integer >= 1"):
        train("maskableppo", "LLMRoute-v0", total_timesteps=0, out_dir=tmp_path / "none")


def test_dagger_plays_the_learner_and_records_the_teachers_labels():
    make_env = lambda: gym.make("LLMRoute-v0", **SHORT)  # noqa: E731
    model = MaskablePPO(SetPolicy, ScaledObservation(make_env()), n_steps=64, batch_size=64, seed=0)
    taught = collect_demonstrations("stageroute", make_env, 3, seed=0)
    dagger = collect_demonstrations("stageroute", make_env, 3, seed=0, learner=model, parallel=2)
    # An untrained learner wanders off the teacher's path (it spends differently), and every label is
    # a valid action of the state it was given for.
    assert len(dagger) != len(taught) or not np.array_equal(dagger.observations["pulls"], taught.observations["pulls"])
    assert dagger.masks[np.arange(len(dagger)), dagger.actions].all()
    assert np.mean(dagger.episode_rewards) < np.mean(taught.episode_rewards)


def test_dagger_under_the_shield_plays_the_learner_within_the_shields_masks(monkeypatch):
    """With ``shield=True`` the learner acts under the shield's masks: a stand-in shield that allows
    only the lowest valid action makes the learner play that policy, whatever its weights; the masks
    recorded for the fit stay the env's."""
    import agents.rl.imitation as imitation
    from gym_llmroute.wrappers import scale_observation

    class LowestOnly:
        def __init__(self, env):
            pass

        def bind(self, scenario, n_slots=None):
            pass

        def reset(self, seed=None):
            pass

        def mask(self, obs, valid):
            out = np.zeros_like(valid)
            out[np.flatnonzero(valid)[0]] = True
            return out

    monkeypatch.setattr(imitation, "BudgetShield", LowestOnly)
    make_env = lambda: gym.make("LLMRoute-v0", **SHORT)  # noqa: E731
    model = MaskablePPO(SetPolicy, ScaledObservation(make_env()), n_steps=64, batch_size=64, seed=0)
    demos = collect_demonstrations("stageroute", make_env, 1, seed=0, learner=model, shield=True)
    env = make_env()
    obs, info = env.reset(seed=0)
    pulls = []
    while True:
        pulls.append(scale_observation(obs, env.unwrapped.scenario)["pulls"])
        obs, _, terminated, truncated, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        if terminated or truncated:
            break
    np.testing.assert_array_equal(demos.observations["pulls"], np.stack(pulls))
    assert demos.masks[np.arange(len(demos)), demos.actions].all()
    assert demos.masks.sum() > len(demos)  # the env's masks, not the stand-in's single actions
    with pytest.raises(ValueError, match="needs a masked learner"):
        collect_demonstrations("stageroute", make_env, 1, shield=True)
    with pytest.raises(ValueError, match="dagger_shield needs a masked policy"):
        train("ppo", "LLMRoute-v0", total_timesteps=0, warm_start="stageroute", dagger_shield=True)


def test_dagger_play_modes_greedy_is_the_mode_and_mixed_samples_only_routes():
    from agents.rl.imitation import _learner_actions

    make_env = lambda: gym.make("LLMRoute-v0", **SHORT)  # noqa: E731
    model = MaskablePPO(SetPolicy, ScaledObservation(make_env()), n_steps=64, batch_size=64, seed=0)
    taught = collect_demonstrations("stageroute", make_env, 2, seed=0)
    obs, masks = taught.observations, taught.masks
    mode, _ = model.predict(obs, action_masks=masks, deterministic=True)
    assert _learner_actions(model, obs, masks, "greedy") == mode.tolist()
    deploy = obs["phase"][:, 0] < 0.5
    assert deploy.any() and (~deploy).any()
    model.set_random_seed(0)
    draws = np.array([_learner_actions(model, obs, masks, "mixed") for _ in range(3)])
    assert (draws[:, deploy] == mode[deploy]).all()  # deploy steps: the most probable action
    assert (draws[:, ~deploy] != mode[~deploy]).any()  # route steps: sampled (an untrained policy is spread)
    assert masks[np.arange(len(taught)), draws[0]].all()
    # DAgger rounds with greedy play visit the same states whatever the sampling seed.
    runs = []
    for s in (0, 1):
        model.set_random_seed(s)
        runs.append(collect_demonstrations("stageroute", make_env, 1, seed=0, learner=model, play="greedy"))
    assert np.array_equal(runs[0].observations["pulls"], runs[1].observations["pulls"])
    with pytest.raises(ValueError, match="play must be one of"):
        collect_demonstrations("stageroute", make_env, 1, learner=model, play="softmax")
    with pytest.raises(ValueError, match="dagger_play must be one of"):
        train("maskableppo", "LLMRoute-v0", total_timesteps=0, warm_start="stageroute", dagger_play="softmax")


def test_a_hybrid_deploys_with_one_agent_and_routes_with_another():
    from agents.rl.hybrid import HybridAgent

    env = gym.make("LLMRoute-v0", **SHORT)
    hybrid = HybridAgent(agents.make("oracle", env, seed=0), agents.make("stageroute", env, seed=0))
    ours = agents.run_episode(hybrid, env, seed=3)
    oracle = agents.run_episode(agents.make("oracle", env, seed=0), env, seed=3)
    assert ours["deployments"] == oracle["deployments"] and ours["invalid_actions"] == 0
    assert ours["queries_served"] > 250 and ours["reward_fraction"] > 0.8
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="one observation at a time"):
        hybrid.predict({k: v[None] for k, v in obs.items()})
