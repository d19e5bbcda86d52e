"""Learned agents: observation scaling, the hyperparameter table, training every SB3 algorithm on the
two-level env and both views, loading the models as agents, and (slow) learning beats Random."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest

import agents
import gym_llmroute  # noqa: F401
from agents import run_episode
from agents.rl import SB3Agent, load_agent, read_monitor, train
from agents.rl.hyperparams import ALGOS, HYPERPARAMS, hyperparams_for
from gym_llmroute.wrappers import ScaledObservation, scale_observation

SHORT = {"horizon": 200, "n_stages": 4}
# Tiny rollouts so that a few hundred steps make several updates; the table's vec env (native).
TINY = {
    "maskableppo": {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "ppo": {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "a2c": {"n_envs": 2, "n_steps": 8},
    "dqn": {"learning_starts": 64, "buffer_size": 1_000, "target_update_interval": 64},
}


def test_scale_observation_v2_reads_costs_and_the_pace_against_the_budget_alike_in_every_world():
    for env_id, kwargs in (("LLMRoute-v0", {}), ("LLMRoute-Gen-v0", {"pad_to": 40}), ("LLMRoute-Typed-v0", {})):
        env = gym.make(env_id, **kwargs)
        obs, _ = env.reset(seed=0)
        s = env.unwrapped.scenario
        b = s.budget
        obs["pulls"][:2] = [0, s.horizon]
        obs["mean_cost"][:4] = [0.0, b, 2 * b, 1000 * b]
        obs["budget_per_query"][0] = 2 * b
        scaled = scale_observation(obs, s)
        np.testing.assert_allclose(scaled["pulls"][:2], [0.0, 1.0], atol=1e-6)
        # A cost of exactly b reads 0 in every world, twice b reads 1/8, beyond 256 b (or never routed) +-1.
        np.testing.assert_allclose(scaled["mean_cost"][:4], [-1.0, 0.0, 0.125, 1.0], atol=1e-6)
        assert scaled["budget_per_query"][0] == pytest.approx(math.asinh(2.0), rel=1e-6)
        if "task_mean_cost" in obs:
            obs["task_mean_cost"][:2] = [b, 4 * b]
            np.testing.assert_allclose(scale_observation(obs, s)["task_mean_cost"][:2], [0.0, 0.25], atol=1e-6)
    # The pace is not clipped: 100 times the budget per query still reads more than 4 times it.
    obs["budget_per_query"][0] = 100 * b
    assert scale_observation(obs, s)["budget_per_query"][0] > math.asinh(4.0) + 2.0
    with pytest.raises(ValueError, match="scaling version must be one of"):
        scale_observation(obs, s, version=7)


def test_scale_observation_v1_is_kept_for_models_trained_with_it():
    env = gym.make("LLMRoute-v0")
    s = env.unwrapped.scenario
    obs, _ = env.reset(seed=0)
    obs["pulls"][:3] = [0, s.horizon, math.e - 1]
    obs["mean_cost"][:3] = [0.0, s.cost_range[1], s.budget]
    obs["budget_per_query"][0] = 2 * s.budget
    scaled = scale_observation(obs, s, version=1)
    np.testing.assert_allclose(scaled["pulls"][:3], [0.0, 1.0, 1 / math.log1p(s.horizon)], rtol=1e-6)
    np.testing.assert_allclose(
        scaled["mean_cost"][:3], [0.0, 1.0, math.log(2) / math.log1p(s.cost_range[1] / s.budget)], rtol=1e-6
    )
    assert scaled["budget_per_query"][0] == pytest.approx(2.0)
    assert scaled["phase"] is obs["phase"]  # the other keys pass through
    assert obs["pulls"][1] == s.horizon  # the input is not modified


@pytest.mark.parametrize("version", [1, 2])
def test_scaled_observation_stays_in_its_space_over_an_episode_and_forwards_masks(version):
    env = ScaledObservation(gym.make("LLMRoute-v0", **SHORT), version)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    terminated = False
    while not terminated:
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(env.action_masks(), info["action_mask"])
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
    assert env.observation_space.contains(obs)


def test_hyperparameter_table_covers_every_algorithm_and_view_and_returns_copies():
    assert set(ALGOS) == {"maskableppo", "ppo", "a2c", "dqn"}
    for algo in ALGOS:
        for env_id in gym_llmroute.ENV_IDS:
            params = hyperparams_for(algo, f"gym_llmroute:{env_id}")
            assert params["vec_env"] in ("native", "dummy", "subproc") and params["n_envs"] >= 1
            assert 0.9 <= params["gamma"] < 1.0
    hyperparams_for("ppo")["gamma"] = 0.0
    assert HYPERPARAMS["ppo"]["default"]["gamma"] == 0.995
    assert hyperparams_for("ppo", "LLMRoute-Deploy-v0")["n_steps"] == 64
    with pytest.raises(ValueError, match="sarsa"):
        hyperparams_for("sarsa")


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_every_algorithm_trains_saves_and_loads_as_an_agent_on_the_two_level_env(algo, tmp_path):
    result = train(
        algo,
        "LLMRoute-v0",
        total_timesteps=400,
        seed=0,
        out_dir=tmp_path,
        env_kwargs=SHORT,
        hyperparams=TINY[algo],
        tensorboard=(algo == "maskableppo"),
    )
    meta = json.loads((tmp_path / "train.json").read_text())
    assert result.model_path == str(tmp_path / "model.zip")
    assert meta["algo"] == algo and meta["total_timesteps"] == 400 and meta["env_kwargs"] == SHORT
    assert meta["lagrangian"] == {"multiplier": 0.0, "step_size": 0.01}
    assert meta["hyperparams"]["vec_env"] == "native"
    if algo == "maskableppo":
        assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))
    env = gym.make("LLMRoute-v0", **SHORT)
    agent = load_agent(tmp_path, env)
    assert isinstance(agent, SB3Agent) and agent.algo == algo
    record = run_episode(agent, env, seed=3, record=True, deterministic=None)
    assert record["queries_served"] > 0 and record["steps"] >= record["queries_served"]
    if algo == "maskableppo":  # masks from mask_from_obs: never an invalid action
        assert record["invalid_actions"] == 0
    # The same seed replays the same episode (env and policy sampling both seeded).
    again = run_episode(agent, env, seed=3, record=True, deterministic=None)
    assert again["reward"] == record["reward"] and again["regret"] == record["regret"]


@pytest.mark.parametrize("env_id", ["LLMRoute-Deploy-v0", "LLMRoute-Route-v0"])
def test_maskableppo_trains_on_each_view_in_subprocess_envs_and_is_evaluated_there(env_id, tmp_path):
    params = {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "vec_env": "subproc"}
    steps = 128 if env_id == "LLMRoute-Deploy-v0" else 256
    result = train(
        "maskableppo",
        env_id,
        total_timesteps=steps,
        seed=1,
        out_dir=tmp_path,
        env_kwargs=SHORT,
        hyperparams=params,
        tensorboard=False,
    )
    monitor = read_monitor(result.monitor_dir)
    assert monitor["reward"].size >= 1 and np.all(monitor["queries_served"] > 0)
    env = gym.make(env_id, **SHORT)
    record = run_episode(load_agent(tmp_path, env), env, seed=0, record=True, deterministic=None)
    assert record["invalid_actions"] == 0
    assert sum(map(sum, record["routed"])) == record["queries_served"]


def test_sb3_agent_predicts_batches_for_sb3_evaluate_policy(tmp_path):
    from stable_baselines3.common.evaluation import evaluate_policy

    train(
        "maskableppo",
        "LLMRoute-v0",
        total_timesteps=128,
        out_dir=tmp_path,
        env_kwargs=SHORT,
        hyperparams=TINY["maskableppo"],
        tensorboard=False,
    )
    env = gym.make("LLMRoute-v0", **SHORT)
    agent = load_agent(tmp_path / "model.zip", env)
    obs, _ = env.reset(seed=0)
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    actions, _ = agent.predict(batch)
    assert actions.shape == (2,) and all(env.unwrapped.action_masks()[a] for a in actions)
    rewards, lengths = evaluate_policy(agent, env, n_eval_episodes=2, return_episode_rewards=True, warn=False)
    assert len(rewards) == 2 and all(0 < n <= SHORT["horizon"] + 5 * SHORT["n_stages"] for n in lengths)


def test_load_agent_refuses_a_missing_model_with_its_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trained model"):
        load_agent(tmp_path / "nothing")


@pytest.mark.slow
def test_maskableppo_trained_briefly_beats_random_by_a_clear_margin_over_three_seeds(tmp_path):
    env = gym.make("LLMRoute-v0")
    random_agent = agents.make("random", env)
    learned, baseline = [], []
    for seed in range(3):
        train(
            "maskableppo",
            "LLMRoute-v0",
            total_timesteps=60_000,
            seed=seed,
            env_seed=10_000 + seed,
            out_dir=tmp_path / str(seed),
            tensorboard=False,
        )
        learned.append(run_episode(load_agent(tmp_path / str(seed), env), env, seed, deterministic=None)["reward"])
        baseline.append(run_episode(random_agent, env, seed, deterministic=None)["reward"])
    # Measured: ~1,300 against ~260 (Random exhausts the budget after ~350 of 1,728 queries).
    assert min(learned) > 2 * max(baseline)


# ---------------------------------------------------------------------------------------- native vec env
def _same(a, b, what: str) -> None:
    """Equal values, dtypes and shapes, recursively through dicts."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), (what, a.keys() ^ b.keys())
        for key in a:
            _same(a[key], b[key], f"{what}/{key}")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert np.array_equal(a, b, equal_nan=True), what


@pytest.mark.parametrize("env_id", ["LLMRoute-Gen-v0", "LLMRoute-v0"])
def test_native_training_env_equals_dummy_vec_env_of_single_wrapped_envs_in_lockstep(env_id, tmp_path):
    """VecMonitor -> VecLagrangianReward -> VecScaledObservation over the native batched env, against
    DummyVecEnv of Monitor -> LagrangianReward -> ScaledObservation: the same observations (terminal
    ones included, each scaled with the world it ended in), rewards after the Lagrangian term, infos,
    masks and monitor records, over many episodes (many worlds, on LLMRoute-Gen-v0)."""
    from agents.rl.training import make_train_env

    generated = env_id == "LLMRoute-Gen-v0"
    kwargs = {"num_worlds": 30, "horizon": 120, "n_stages": 2} if generated else {"horizon": 150, "n_stages": 3}
    lagrangian = {"multiplier": 0.0, "step_size": 0.005, "per_budget": generated}
    envs = {
        kind: make_train_env(
            env_id, 3, 7, env_kwargs=kwargs, vec_env=kind, monitor_dir=tmp_path / kind, lagrangian=lagrangian
        )
        for kind in ("native", "dummy")
    }
    native, dummy = envs["native"], envs["dummy"]
    assert native.observation_space == dummy.observation_space
    native.seed(3)
    dummy.seed(3)
    _same(native.reset(), dummy.reset(), "reset")
    rng = np.random.default_rng(0)
    ends, worlds = 0, set()
    for t in range(1500):
        masks = np.stack(native.env_method("action_masks"))
        _same(masks, np.stack(dummy.env_method("action_masks")), f"masks {t}")
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        a, b = native.step(actions), dummy.step(actions)
        for i, name in enumerate(("obs", "rewards", "dones")):
            _same(a[i], b[i], f"{name} {t}")
        for info_a, info_b in zip(a[3], b[3], strict=True):
            info_a, info_b = dict(info_a), dict(info_b)
            episode_a, episode_b = info_a.pop("episode", None), info_b.pop("episode", None)
            _same(info_a, info_b, f"infos {t}")
            assert (episode_a is None) == (episode_b is None)
            if episode_a is not None:
                ends += 1
                episode_a.pop("t"), episode_b.pop("t")
                assert episode_a == pytest.approx(episode_b)
        if generated:
            worlds.update(native.get_attr("world"))
            assert native.get_attr("world") == dummy.get_attr("world")
    multipliers = native.venv.multipliers
    assert np.all((multipliers > 0) & (multipliers < 100)) and len(set(multipliers.tolist())) == 3  # one per sub-env
    assert multipliers.tolist() == [env.multiplier for env in dummy.get_attr("env")]
    assert ends >= 30 and (len(worlds) >= 15 or not generated)
    for env in envs.values():
        env.close()
    curves = {kind: read_monitor(tmp_path / kind) for kind in envs}
    assert sorted((tmp_path / "native").glob("*.monitor.csv")) == [tmp_path / "native" / "native.monitor.csv"]
    assert curves["native"]["reward"].size == ends
    for key in ("reward", "length", "regret", "total_cost", "budget", "oracle_value", "queries_served"):
        np.testing.assert_allclose(np.sort(curves["native"][key]), np.sort(curves["dummy"][key]), rtol=1e-6)


def test_native_vec_env_only_for_ids_that_have_one_and_the_table_falls_back_to_dummy(tmp_path):
    from agents.rl.training import has_native_vec_env, make_train_env

    assert has_native_vec_env("gym_llmroute:LLMRoute-v0") and has_native_vec_env("LLMRoute-Typed-v0")
    assert has_native_vec_env("LLMRoute-Gen-v0")
    assert not has_native_vec_env("LLMRoute-Route-v0") and not has_native_vec_env("LLMRoute-Deploy-v0")
    assert not has_native_vec_env("CartPole-v1") and not has_native_vec_env("NoSuchEnv-v0")
    with pytest.raises(ValueError, match="native batched"):
        make_train_env("LLMRoute-Route-v0", 2, vec_env="native")
    with pytest.raises(ValueError, match="vec_env must be one of"):
        make_train_env("LLMRoute-v0", 2, vec_env="ray")
    with pytest.raises(ValueError, match="native batched"):
        train(
            "maskableppo", "LLMRoute-Route-v0", total_timesteps=64, out_dir=tmp_path, hyperparams={"vec_env": "native"}
        )
    # A preset id: the native env gets the id's registered scenario.
    env = make_train_env("LLMRoute-Typed-v0", 2, env_kwargs=SHORT, vec_env="native")
    assert env.get_attr("scenario")[0].name == gym.make("LLMRoute-Typed-v0").unwrapped.scenario.name
    assert "task" in env.observation_space.spaces
    env.close()
    result = train(
        "maskableppo",
        "LLMRoute-Route-v0",
        total_timesteps=64,
        out_dir=tmp_path,
        env_kwargs=SHORT,
        hyperparams={"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
        tensorboard=False,
    )
    assert result.hyperparams["vec_env"] == "dummy"


def test_maskableppo_with_the_set_policy_trains_on_native_generated_worlds_masked_and_loads(tmp_path):
    """The default path of LLMRoute-Gen-v0: the masks reach MaskablePPO through the vector wrappers
    (no invalid action in training), the learning curves are written, and the model plays."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    from agents.rl.set_policy import SetPolicy
    from agents.rl.training import make_train_env

    class NoInvalid(BaseCallback):
        steps = 0

        def _on_step(self) -> bool:
            assert not any(info["invalid_action"] for info in self.locals["infos"])
            self.steps += 1
            return True

    kwargs = {"num_worlds": 20, "horizon": 200, "n_stages": 4}
    tiny = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}
    env = make_train_env("LLMRoute-Gen-v0", 4, 0, env_kwargs=kwargs, vec_env="native")
    check = NoInvalid()
    MaskablePPO(SetPolicy, env, seed=0, **tiny).learn(1024, callback=check)
    assert check.steps * 4 >= 1024
    env.close()
    result = train(
        "maskableppo",
        "LLMRoute-Gen-v0",
        total_timesteps=1024,
        out_dir=tmp_path,
        env_kwargs=kwargs,
        hyperparams=tiny,
        tensorboard=False,
        policy="set",
    )
    assert result.hyperparams["vec_env"] == "native" and result.hyperparams["n_envs"] == 4
    curves = read_monitor(result.monitor_dir)
    assert curves["reward"].size >= 4 and np.all(curves["budget"] > 0) and np.all(curves["queries_served"] > 0)
    env = gym.make("LLMRoute-Gen-v0", num_worlds=20, start_world=100, horizon=200, n_stages=4)
    agent = load_agent(tmp_path, env)
    for seed in range(2):
        record = run_episode(agent, env, seed=seed, record=True, deterministic=None)
        assert record["invalid_actions"] == 0 and record["queries_served"] > 0
