"""The permutation-equivariant set policy (agents/rl/set_policy.py): equivariant logits and invariant
value under permutations of the model slots (and an MLP that is not), padded slots, save/load and
loading into another catalog, training through ``train(..., policy="set")`` and the CLI."""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute
from agents import run_episode
from agents.rl import load_agent, train
from agents.rl.hyperparams import hyperparams_for
from gym_llmroute.wrappers import ScaledObservation

th = pytest.importorskip("torch")
th.set_num_threads(1)

from sb3_contrib import MaskablePPO  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

from agents.rl.set_policy import SetActorCriticPolicy, SetPolicy  # noqa: E402

TINY = {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1, "vec_env": "dummy"}
SHORT = {"horizon": 200, "n_stages": 4}


def _observations(env_id: str, seed: int = 0, **kwargs) -> tuple[ScaledObservation, list]:
    """Scaled observations and masks of a random valid run: deploy and route phases, with statistics."""
    env = ScaledObservation(gym.make(env_id, **kwargs))
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    found = []
    for t in range(2000):
        if t > 150 and (not found or found[-1][0]["phase"][0] != obs["phase"][0]):
            assert obs["pulls"].max() > 0
            found.append((obs, env.action_masks()))
            if len(found) == 4:
                break
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        assert not terminated
    assert {o["phase"][0] for o, _ in found} == {0.0, 1.0}
    return env, found


def _permute(obs: dict, mask: np.ndarray, perm: np.ndarray) -> tuple[dict, np.ndarray]:
    """Slot i of the result is slot perm[i] of the input, in every per-model and per-task key."""
    n = len(mask) - 1
    out = {}
    for k, v in obs.items():
        if k.startswith("task_"):
            out[k] = v.reshape(-1, n)[:, perm].reshape(-1)
        elif v.shape == (n,):
            out[k] = v[perm]
        else:
            out[k] = v
    return out, np.concatenate([mask[perm], mask[-1:]])


def _probs_value(policy, obs: dict, mask: np.ndarray) -> tuple[np.ndarray, float]:
    tensor, _ = policy.obs_to_tensor(obs)
    with th.no_grad():
        if isinstance(policy, SetActorCriticPolicy):  # SB3's PPO: no masks
            dist = policy.get_distribution(tensor)
        else:
            dist = policy.get_distribution(tensor, action_masks=mask[None])
        probs = dist.distribution.probs.numpy()[0]
        value = float(policy.predict_values(tensor)[0, 0])
    return probs, value


def _scramble(policy, seed: int = 0) -> None:
    """Random weights of a useful size (the initial output layers are near zero: near-uniform logits)."""
    gen = th.Generator().manual_seed(seed)
    with th.no_grad():
        for p in policy.parameters():
            scale = 1.0 / np.sqrt(p.shape[1]) if p.ndim == 2 else 0.1
            p.copy_(th.randn(p.shape, generator=gen) * scale)


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Typed-v0"])
@pytest.mark.parametrize("algo", ["maskableppo", "ppo"])
def test_set_policy_logits_are_equivariant_and_value_invariant(env_id, algo):
    env, found = _observations(env_id)
    cls, policy_cls = (MaskablePPO, SetPolicy) if algo == "maskableppo" else (PPO, SetActorCriticPolicy)
    policy = cls(policy_cls, env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    rng = np.random.default_rng(1)
    n = env.action_space.n - 1
    for obs, mask in found:
        probs, value = _probs_value(policy, obs, mask)
        valid = probs > 0
        assert valid.sum() >= 2 and probs.max() < 0.999  # a test of something: not uniform, not degenerate
        assert np.ptp(probs[valid]) > 1e-3
        for _ in range(3):
            perm = rng.permutation(n)
            pobs, pmask = _permute(obs, mask, perm)
            pprobs, pvalue = _probs_value(policy, pobs, pmask)
            np.testing.assert_allclose(pprobs[:n], probs[:n][perm], atol=1e-6)
            assert pprobs[n] == pytest.approx(probs[n], abs=1e-6)
            assert pvalue == pytest.approx(value, abs=1e-5, rel=1e-5)


def test_the_mlp_policy_is_not_equivariant():
    env, found = _observations("LLMRoute-v0")
    policy = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    obs, mask = found[1]
    perm = np.random.default_rng(1).permutation(env.action_space.n - 1)
    probs, value = _probs_value(policy, obs, mask)
    pprobs, pvalue = _probs_value(policy, *_permute(obs, mask, perm))
    n = len(perm)
    assert np.abs(pprobs[:n] - probs[:n][perm]).max() > 1e-3 or abs(pvalue - value) > 1e-3


def test_masked_and_padded_slots_get_probability_zero_and_padding_changes_nothing_else():
    env, found = _observations("LLMRoute-v0")
    policy = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    n = env.action_space.n - 1
    for obs, mask in found:
        probs, value = _probs_value(policy, obs, mask)
        assert np.all(probs[~mask] == 0.0) and probs.sum() == pytest.approx(1.0, abs=1e-6)
        # Pad to n + 5 slots (all-zero features, always masked): a policy for n + 5 slots with the
        # same weights (none depends on the number of slots).
        boxes = {
            k: gym.spaces.Box(b.low.min(), b.high.max(), shape=(n + 5,), dtype=np.float32) if b.shape == (n,) else b
            for k, b in env.observation_space.spaces.items()
        }
        big = SetPolicy(gym.spaces.Dict(boxes), gym.spaces.Discrete(n + 6), lambda _: 3e-4)
        big.load_state_dict(policy.state_dict())
        padded = {k: (np.concatenate([v, np.zeros(5, np.float32)]) if v.shape == (n,) else v) for k, v in obs.items()}
        pmask = np.concatenate([mask[:n], np.zeros(5, bool), mask[n:]])
        pprobs, pvalue = _probs_value(big, padded, pmask)
        assert np.all(pprobs[n : n + 5] == 0.0)
        np.testing.assert_allclose(np.concatenate([pprobs[:n], pprobs[-1:]]), probs, atol=1e-6)
        assert pvalue == pytest.approx(value, abs=1e-5, rel=1e-5)


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Typed-v0"])
def test_slots_padded_by_the_env_are_not_real_under_the_scaling_of_version_2(env_id):
    """The env pads with zeros, which the scaling of version 2 reads as costs of -1: the set policy
    still sees only the real models, and gives the probabilities and the value it gives unpadded."""
    env, padded_env = ScaledObservation(gym.make(env_id)), ScaledObservation(gym.make(env_id, pad_to=30))
    n, pad = env.action_space.n - 1, padded_env.action_space.n - 1
    policy = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    big = SetPolicy(padded_env.observation_space, padded_env.action_space, lambda _: 3e-4)
    big.load_state_dict(policy.state_dict())
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    pobs, pinfo = padded_env.reset(seed=0)
    for t in range(400):
        if t % 50 == 0 or t < 3:
            assert (pobs["mean_cost"][n:] == -1.0).all()  # what made every padded slot look real
            tokens, _ = big.features_extractor.tokens({k: th.as_tensor(v)[None] for k, v in pobs.items()})
            assert int(tokens[0, :, -1].sum()) == n
            probs, value = _probs_value(policy, obs, info["action_mask"])
            pprobs, pvalue = _probs_value(big, pobs, pinfo["action_mask"])
            assert np.all(pprobs[n:pad] == 0.0)
            np.testing.assert_allclose(np.concatenate([pprobs[:n], pprobs[-1:]]), probs, atol=1e-6)
            assert pvalue == pytest.approx(value, abs=1e-5, rel=1e-5)
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, _, terminated, _, info = env.step(a)
        pobs, _, pterminated, _, pinfo = padded_env.step(a if a < n else pad)
        assert not terminated and not pterminated


def test_set_policy_save_load_round_trip_gives_identical_distributions(tmp_path):
    env, found = _observations("LLMRoute-Typed-v0")
    model = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0, policy_kwargs=dict(hidden=16, rounds=1))
    _scramble(model.policy)
    model.save(tmp_path / "m.zip")
    loaded = MaskablePPO.load(tmp_path / "m.zip", device="cpu")
    assert loaded.policy.hidden == 16 and loaded.policy.rounds == 1
    for obs, mask in found:
        np.testing.assert_array_equal(
            _probs_value(model.policy, obs, mask)[0], _probs_value(loaded.policy, obs, mask)[0]
        )
        for _ in range(3):
            a, _ = model.predict(obs, action_masks=mask, deterministic=True)
            b, _ = loaded.predict(obs, action_masks=mask, deterministic=True)
            assert int(a) == int(b)


def test_set_policy_arguments_are_checked():
    env = ScaledObservation(gym.make("LLMRoute-v0"))
    with pytest.raises(ValueError, match="net_arch"):
        MaskablePPO(SetPolicy, env, policy_kwargs=dict(net_arch=[64]))
    with pytest.raises(ValueError, match="rounds"):
        MaskablePPO(SetPolicy, env, policy_kwargs=dict(rounds=0))
    with pytest.raises(ValueError, match="policy"):
        train("dqn", total_timesteps=64, policy="set", out_dir="unused")
    with pytest.raises(ValueError, match="policy"):
        train("maskableppo", total_timesteps=64, policy="transformer", out_dir="unused")
    with pytest.raises(ValueError, match="policy"):
        hyperparams_for("dqn", policy="set")
    assert hyperparams_for("ppo", policy="set")["policy_kwargs"] == {"hidden": 64, "rounds": 2}
    assert "net_arch" in hyperparams_for("ppo")["policy_kwargs"]


@pytest.fixture(scope="module")
def set_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("set_run")
    result = train(
        "maskableppo", total_timesteps=512, seed=0, out_dir=out, hyperparams=TINY, tensorboard=False, policy="set"
    )
    return out, result


def test_train_with_the_set_policy_records_it_and_loads_as_an_agent(set_run, tmp_path):
    out, result = set_run
    assert result.policy == "set"
    meta = json.loads((out / "train.json").read_text())
    assert meta["policy"] == "set" and meta["hyperparams"]["policy_kwargs"] == {"hidden": 64, "rounds": 2}
    agent = load_agent(out)
    assert type(agent.model.policy) is SetPolicy
    # The set policy acts greedily by default (chosen on validation worlds), unless asked to sample.
    assert agent.deterministic and not load_agent(out, deterministic=False).deterministic
    env = gym.make("LLMRoute-v0", **SHORT)
    a = run_episode(agent, env, seed=3)
    shutil.copy(out / "model.zip", tmp_path / "model.zip")  # no train.json beside it
    b = run_episode(load_agent(tmp_path / "model.zip", algo="maskableppo"), env, seed=3)
    assert a["deployments"] == b["deployments"] and a["reward"] == b["reward"] and a["steps"] == b["steps"]
    assert a["invalid_actions"] == 0


def test_a_set_policy_runs_on_another_catalog_and_another_order(set_run):
    out, _ = set_run
    market = gym.make("LLMRoute-Market-v0")
    assert market.action_space.n != 13
    agent = load_agent(out, market)
    obs, info = market.reset(seed=0)
    for _ in range(300):
        action, _ = agent.predict(obs)
        assert info["action_mask"][action]  # MaskablePPO gets the masks: never an invalid action
        obs, _, terminated, _, info = market.step(action)
        assert not terminated

    s = gym_llmroute.make_scenario("paper")
    perm = np.random.default_rng(0).permutation(s.n_models)
    s2 = s.replace(models=tuple(s.models[i] for i in perm))
    original = run_episode(
        load_agent(out, gym.make("LLMRoute-v0", scenario=s, **SHORT)),
        gym.make("LLMRoute-v0", scenario=s, **SHORT),
        seed=0,
    )
    reordered = run_episode(
        load_agent(out, gym.make("LLMRoute-v0", scenario=s2, **SHORT)),
        gym.make("LLMRoute-v0", scenario=s2, **SHORT),
        seed=0,
    )
    assert original["invalid_actions"] == reordered["invalid_actions"] == 0
    assert original["queries_served"] > 0 and reordered["queries_served"] > 0


def test_a_set_policy_refuses_other_observation_keys_and_an_mlp_refuses_another_catalog(set_run, tmp_path):
    out, _ = set_run
    with pytest.raises(ValueError, match="set policy.*observation keys"):
        load_agent(out, gym.make("LLMRoute-Typed-v0"))
    train("maskableppo", total_timesteps=128, out_dir=tmp_path, hyperparams=TINY, tensorboard=False)
    assert json.loads((tmp_path / "train.json").read_text())["policy"] == "mlp"
    load_agent(tmp_path)
    with pytest.raises(ValueError, match="does not match the env"):
        load_agent(tmp_path, gym.make("LLMRoute-Market-v0"))


def test_cli_train_takes_the_policy(tmp_path, capsys):
    from agents.cli import main

    assert (
        main(
            [
                "train",
                "--algo",
                "a2c",
                "--policy",
                "set",
                "--steps",
                "64",
                "--n-envs",
                "2",
                "--horizon",
                "200",
                "--n-stages",
                "4",
                "--out",
                str(tmp_path),
                "--no-tensorboard",
                "--no-progress",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "train.json").read_text())["policy"] == "set"
    assert type(load_agent(tmp_path).model.policy) is SetActorCriticPolicy
    with pytest.raises(SystemExit) as e:
        main(["train", "--algo", "dqn", "--policy", "set", "--steps", "64", "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    assert "--policy" in capsys.readouterr().err


def _dense_reference(net, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """The set network written plainly on all N slots with explicit concatenations (as the network
    of 63963ae computed it): the packed network with its split layers must give the same."""
    glob = features[:, features.shape[1] - net.global_dim :]
    tokens = features[:, : features.shape[1] - net.global_dim].reshape(features.shape[0], -1, net.slot_dim)
    feats, real = tokens[..., :-1], tokens[..., -1:]
    n = tokens.shape[1]

    def pool(h):
        count = real.sum(dim=1)
        mean = (h * real).sum(dim=1) / count.clamp(min=1.0)
        peak = h.masked_fill(real == 0, float("-inf")).amax(dim=1)
        return th.cat([mean, th.where(count > 0, peak, th.zeros_like(peak))], dim=-1)

    def spread(x):
        return x.unsqueeze(1).expand(-1, n, -1)

    mean = (feats * real).sum(dim=1, keepdim=True) / real.sum(dim=1, keepdim=True).clamp(min=1.0)
    h = net.embed(th.cat([feats, (feats - mean) * real, real, spread(glob)], dim=-1))
    for update in net.updates:
        h = h + update(th.cat([h, spread(pool(h))], dim=-1))
    pooled = pool(h)
    scores = net.slot_head(th.cat([h, spread(pooled)], dim=-1)).squeeze(-1)
    scores = th.where(real[..., 0] > 0, scores, th.full_like(scores, -1e4))
    logits = th.cat([scores, net.commit_head(th.cat([pooled, glob], dim=-1))], dim=-1)
    return logits, net.critic(th.cat([pooled, glob], dim=-1))


@pytest.mark.parametrize("env_id", ["LLMRoute-Gen-v0", "LLMRoute-Typed-v0"])
def test_packed_network_equals_the_plain_one_in_outputs_and_gradients(env_id):
    kwargs = {"num_worlds": 20} if env_id == "LLMRoute-Gen-v0" else {"pad_to": 20}
    env = ScaledObservation(gym.make(env_id, **kwargs))
    policy = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    rng = np.random.default_rng(0)
    batch = []
    obs, info = env.reset(seed=0)
    for t in range(600):
        if t % 5 == 0:
            batch.append(obs)
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated or truncated:
            obs, info = env.reset()
    tensor, _ = policy.obs_to_tensor({k: np.stack([o[k] for o in batch]) for k in batch[0]})
    features = policy.extract_features(tensor)
    # A row without real slots; ties in the max pooling (ReLU zeros) share the gradient as PyTorch's amax.
    features[0, : -policy.mlp_extractor.global_dim] = 0.0
    net = policy.mlp_extractor
    outputs, grads = [], []
    for forward in (net, lambda f: _dense_reference(net, f)):
        net.zero_grad()
        logits, latent = forward(features)
        weights = th.randn(logits.shape, generator=th.Generator().manual_seed(1))
        ((logits * weights).sum() + latent.square().sum()).backward()
        outputs.append((logits.detach(), latent.detach()))
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(outputs[0], outputs[1], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip(grads[0], grads[1], strict=True):  # float rounding, against the gradient's scale
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6 * float(b.abs().max()))


def test_set_policy_forward_draws_what_maskable_ppo_s_distribution_draws():
    """SetPolicy.forward computes the masked categorical in place: the same actions (the same random
    draws), values and log-probabilities as MaskableActorCriticPolicy.forward."""
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    env, found = _observations("LLMRoute-Typed-v0")
    policy = MaskablePPO(SetPolicy, env, n_steps=64, batch_size=64, seed=0).policy
    _scramble(policy)
    obs = {k: np.stack([o[k] for o, _ in found] * 8) for k in found[0][0]}
    masks = np.stack([m for _, m in found] * 8)
    tensor, _ = policy.obs_to_tensor(obs)
    for deterministic in (False, True):
        for action_masks in (masks, None):
            outs = []
            for forward in (policy.forward, lambda *a: MaskableActorCriticPolicy.forward(policy, *a)):
                th.manual_seed(5)
                with th.no_grad():
                    outs.append(forward(tensor, deterministic, action_masks))
            for a, b in zip(*outs, strict=True):
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_array_equal(a.numpy(), b.numpy())
            if action_masks is not None:
                assert masks[np.arange(len(masks)), outs[0][0].numpy()].all()
