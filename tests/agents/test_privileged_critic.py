"""The asymmetric critic: training observations with each world's true means
(agents/rl/privileged.py, ``VecPrivilegedObservation``), the set policy's critic that reads them and an
actor that does not, and what ``train`` builds on it (``privileged_critic``, ``init_from``,
``critic_warmup``)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute
from agents import run_episode
from agents.rl import load_agent, train
from agents.rl.privileged import PRIVILEGED_KEYS, privileged_observation, privileged_observation_space
from gym_llmroute.wrappers import ScaledObservation, relative_cost

th = pytest.importorskip("torch")
th.set_num_threads(1)

from sb3_contrib import MaskablePPO  # noqa: E402

from agents.rl.imitation import collect_demonstrations  # noqa: E402
from agents.rl.set_policy import SetPolicy  # noqa: E402
from agents.rl.training import CRITIC_PARAMETERS, make_train_env  # noqa: E402
from tests.agents.test_set_policy import _observations, _permute, _scramble  # noqa: E402

GEN = {"num_worlds": 20, "pad_to": 40}
TINY = {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1}


class _Privileged(gym.ObservationWrapper):
    """A single env with the privileged keys (the tests' stand-in for the vector wrapper)."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = privileged_observation_space(env.observation_space)

    def observation(self, observation):
        n = observation["available"].shape[0]
        return {**observation, **privileged_observation(self.env.unwrapped.scenario, n)}

    def action_masks(self):
        return self.env.action_masks()


def test_privileged_observation_is_the_world_s_true_means_on_its_slots():
    s = gym_llmroute.make_scenario("typed")
    out = privileged_observation(s, s.n_models + 3)
    assert set(out) == set(PRIVILEGED_KEYS)
    np.testing.assert_array_equal(out["true_mean_reward"][: s.n_models], s.mean_quality.astype(np.float32))
    np.testing.assert_array_equal(out["true_mean_cost"][: s.n_models], relative_cost(s.mean_cost, s.budget))
    np.testing.assert_array_equal(out["true_mean_reward"][s.n_models :], 0.0)
    np.testing.assert_array_equal(out["true_mean_cost"][s.n_models :], -1.0)  # a padded slot's scaled cost
    assert privileged_observation(s)["true_mean_reward"].shape == (s.n_models,)
    with pytest.raises(ValueError, match="below"):
        privileged_observation(s, s.n_models - 1)


@pytest.mark.parametrize("vec_env", ["native", "dummy"])
def test_the_training_env_shows_each_row_its_own_world_s_means_terminal_observations_included(vec_env):
    venv = make_train_env("LLMRoute-Gen-v0", 3, 7, env_kwargs=GEN, vec_env=vec_env, privileged=True)
    obs = venv.reset()
    assert set(PRIVILEGED_KEYS) <= set(obs) and venv.observation_space.contains({k: v[0] for k, v in obs.items()})
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(3000):
        worlds = venv.get_attr("scenario")
        for i, world in enumerate(worlds):
            for key, value in privileged_observation(world, 40).items():
                np.testing.assert_array_equal(obs[key][i], value)
        masks = np.stack(venv.env_method("action_masks")) if vec_env == "dummy" else venv.env_method("action_masks")
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in np.asarray(masks).reshape(3, -1)])
        obs, _, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones):
            ended += 1
            terminal = infos[i]["terminal_observation"]
            for key, value in privileged_observation(worlds[i], 40).items():  # the world it ended in
                np.testing.assert_array_equal(terminal[key], value)
        if ended >= 4:
            break
    assert ended >= 4
    venv.close()


def test_the_actor_never_reads_the_privileged_keys_and_the_critic_does():
    env, found = _observations("LLMRoute-v0")
    env = _Privileged(env)
    policy = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0, policy_kwargs={"privileged_critic": True})
    policy = policy.policy
    _scramble(policy)
    rng = np.random.default_rng(3)
    n = env.action_space.n - 1
    for raw, mask in found:
        obs = {**raw, **privileged_observation(env.unwrapped.scenario, n)}
        other = {**obs, **{k: rng.uniform(-1, 1, n).astype(np.float32) for k in PRIVILEGED_KEYS}}
        tensors = [policy.obs_to_tensor(o)[0] for o in (obs, other)]
        with th.no_grad():
            logits = [policy.get_distribution(t, action_masks=mask[None]).distribution.logits for t in tensors]
            values = [float(policy.predict_values(t)[0, 0]) for t in tensors]
            # Without the keys (an evaluation env) the actor is the same and the value is undefined.
            bare = {k: th.as_tensor(v)[None] for k, v in raw.items()}
            bare_logits = policy.get_distribution(bare, action_masks=mask[None]).distribution.logits
            assert np.isnan(float(policy.predict_values(bare)[0, 0]))
        th.testing.assert_close(logits[0], logits[1], rtol=0, atol=0)
        th.testing.assert_close(logits[0], bare_logits, rtol=0, atol=0)
        assert abs(values[0] - values[1]) > 1e-4
        # Permuting the slots (the privileged keys with them) leaves the value unchanged.
        pobs, _ = _permute(obs, mask, rng.permutation(n))
        with th.no_grad():
            pvalue = float(policy.predict_values(policy.obs_to_tensor(pobs)[0])[0, 0])
        assert pvalue == pytest.approx(values[0], abs=1e-5, rel=1e-5)


def test_privileged_critic_is_checked():
    with pytest.raises(ValueError, match="policy='set'"):
        train("maskableppo", total_timesteps=64, privileged_critic=True, out_dir="unused")
    env = _Privileged(ScaledObservation(gym.make("LLMRoute-v0")))
    with pytest.raises(ValueError, match="privileged_critic"):
        MaskablePPO(SetPolicy, env, policy_kwargs={"privileged_critic": 1})
    for bad in (-1, 1.5, True, 10**6):
        with pytest.raises(ValueError, match="critic_warmup"):
            train("maskableppo", total_timesteps=64, critic_warmup=bad, out_dir="unused")
    with pytest.raises(ValueError, match="critic_warmup"):
        train("dqn", total_timesteps=64, critic_warmup=32, out_dir="unused")
    with pytest.raises(ValueError, match=r"no hyperparameter \['lerning_rate'\]; it takes \[.*'learning_rate'"):
        train("maskableppo", total_timesteps=64, hyperparams={"lerning_rate": 1e-4}, out_dir="unused")


@pytest.fixture(scope="module")
def clone_run(tmp_path_factory):
    """A small symmetric model to start from."""
    out = tmp_path_factory.mktemp("clone")
    train(
        "maskableppo",
        "LLMRoute-Gen-v0",
        policy="set",
        total_timesteps=128,
        out_dir=out,
        env_kwargs=GEN,
        hyperparams=TINY,
        tensorboard=False,
    )
    return out


def _parameters(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.policy.state_dict().items()}


def test_a_privileged_model_starts_from_a_symmetric_one_with_its_values_and_logits(clone_run, tmp_path):
    venv = make_train_env("LLMRoute-Gen-v0", 4, 5, env_kwargs=GEN, vec_env="native", privileged=True)
    obs = venv.reset()
    for _ in range(40):  # past the first deploy picks, with statistics
        obs, *_ = venv.step(np.array([int(np.flatnonzero(m)[-1]) for m in venv.env_method("action_masks")]))
    old = MaskablePPO.load(clone_run / "model.zip", device="cpu")
    _scramble(old.policy)  # every weight non-zero, so a misplaced column would show
    old.save(tmp_path / "old.zip")
    from agents.rl.training import _init_from

    new = MaskablePPO(SetPolicy, venv, policy_kwargs={"privileged_critic": True})
    _init_from(new, tmp_path / "old.zip")
    bare = {k: v for k, v in obs.items() if k not in PRIVILEGED_KEYS}
    masks = np.stack(venv.env_method("action_masks"))
    with th.no_grad():
        t_new, t_old = new.policy.obs_to_tensor(obs)[0], old.policy.obs_to_tensor(bare)[0]
        th.testing.assert_close(new.policy.predict_values(t_new), old.policy.predict_values(t_old))
        th.testing.assert_close(
            new.policy.get_distribution(t_new, action_masks=masks).distribution.logits,
            old.policy.get_distribution(t_old, action_masks=masks).distribution.logits,
        )
    venv.close()
    with pytest.raises(FileNotFoundError, match="no saved model"):
        train(
            "maskableppo", "LLMRoute-Gen-v0", policy="set", total_timesteps=64, env_kwargs=GEN, init_from=tmp_path / "x"
        )
    with pytest.raises(ValueError, match="shape"):  # another width
        train(
            "maskableppo",
            "LLMRoute-Gen-v0",
            policy="set",
            total_timesteps=64,
            env_kwargs=GEN,
            out_dir=tmp_path / "w",
            hyperparams={**TINY, "policy_kwargs": {"hidden": 32, "rounds": 2}},
            init_from=clone_run,
            tensorboard=False,
        )


def test_critic_warmup_trains_the_critic_alone_then_everything(clone_run, tmp_path):
    start = _parameters(MaskablePPO.load(clone_run / "model.zip", device="cpu"))
    runs = {}
    for name, warmup in (("warm", 128), ("then", 64)):
        result = train(
            "maskableppo",
            "LLMRoute-Gen-v0",
            policy="set",
            total_timesteps=128,
            out_dir=tmp_path / name,
            env_kwargs=GEN,
            hyperparams=TINY,
            tensorboard=False,
            privileged_critic=True,
            init_from=clone_run,
            critic_warmup=warmup,
        )
        assert result.init_from == str(clone_run) and result.critic_warmup == warmup
        runs[name] = _parameters(MaskablePPO.load(tmp_path / name / "model.zip", device="cpu"))
    critic = [k for k in runs["warm"] if k.startswith(CRITIC_PARAMETERS)]
    assert any(k.startswith("mlp_extractor.privileged.") for k in critic)
    for key, value in runs["warm"].items():
        if key in critic:
            if key in start and value.shape == start[key].shape:
                assert not np.array_equal(value, start[key]), key
        else:
            np.testing.assert_array_equal(value, start[key], err_msg=key)  # the actor and what it shares
    moved = [k for k in runs["then"] if k not in critic and not np.array_equal(runs["then"][k], start[k])]
    assert moved  # after the warm-up, the actor learns
    # The saved model acts in an evaluation env, which has no privileged keys.
    env = gym.make("LLMRoute-Gen-v0", num_worlds=5, start_world=10**6, pad_to=40)
    assert run_episode(load_agent(tmp_path / "then", env), env, seed=0)["reward_fraction"] > 0


def test_demonstrations_record_the_true_means_for_the_critic_only():
    def make_env():
        return gym.make("LLMRoute-Gen-v0", num_worlds=5, pad_to=40)

    demos = collect_demonstrations("greedy", make_env, 2, options=[{"world": 1}, {"world": 3}], privileged=True)
    plain = collect_demonstrations("greedy", make_env, 2, options=[{"world": 1}, {"world": 3}])
    assert set(demos.observations) == set(plain.observations) | set(PRIVILEGED_KEYS)
    np.testing.assert_array_equal(demos.actions, plain.actions)
    env = make_env()
    env.reset(options={"world": 3})
    last = privileged_observation(env.unwrapped.scenario, 40)
    for key in PRIVILEGED_KEYS:
        np.testing.assert_array_equal(demos.observations[key][-1], last[key])


def test_cli_fine_tunes_a_saved_model_with_the_privileged_critic(clone_run, tmp_path, capsys):
    from agents.cli import main

    common = ["train", "--algo", "maskableppo", "--policy", "set", "--env", "LLMRoute-Gen-v0", "--num-worlds", "20"]
    common += ["--pad-to", "40", "--n-envs", "2", "--no-progress", "--no-tensorboard"]
    out = tmp_path / "ft"
    args = ["--steps", "1024", "--init-from", str(clone_run), "--privileged-critic", "--critic-warmup", "512"]
    assert (
        main(
            [*common, *args, "--hyperparams", "learning_rate:1e-4", "target_kl:0.01", "--lagrange", "0.1"]
            + ["--out", str(out)]
        )
        == 0
    )

    record = json.loads((out / "train.json").read_text())
    assert record["init_from"] == str(clone_run) and record["critic_warmup"] == 512
    assert record["hyperparams"]["learning_rate"] == 1e-4 and record["hyperparams"]["target_kl"] == 0.01
    # A multiplier given on generated worlds prices the cost in budget units, as the table's does.
    assert record["lagrangian"] == {"multiplier": 0.1, "step_size": 0.0, "per_budget": True}
    assert record["hyperparams"]["policy_kwargs"]["privileged_critic"] is True
    for bad, message in (
        (["--steps", "64", "--critic-warmup", "65"], "--critic-warmup"),
        (["--steps", "64", "--init-from", str(tmp_path / "none")], "--init-from"),
        (["--steps", "64", "--hyperparams", "learning_rat:1e-4"], "has no hyperparameter ['learning_rat']"),
        (["--steps", "64", "--hyperparams", "learning_rate=1"], "KEY:VALUE"),
    ):
        with pytest.raises(SystemExit):
            main([*common, *bad, "--out", str(tmp_path / "bad")])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--algo", "maskableppo", "--privileged-critic", "--out", str(tmp_path / "bad")])
    assert "--policy set" in capsys.readouterr().err
