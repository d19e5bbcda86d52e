"""The shipped checkpoint (agents.rl.load_pretrained): loads in one line, plays any catalog, spends its
budget like the agent it clones, and scores on held-out worlds what its record says."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.experiments.generalization import HELD_OUT_START, Case, _WorldReset, play_learned
from agents.rl import PRETRAINED, SB3Agent, load_pretrained
from agents.rl.pretrained import pretrained_path

NAME = "set-stageroute-clone"
# Its greedy score on held-out worlds 10**6 .. 10**6 + 5 (seed i on world 10**6 + i), on the machine
# that trained it (benchmarks/pretrained.py scores all 100 of its README row).
HELD_OUT_6 = [0.983429, 0.979311, 0.974905, 1.016304, 0.587356, 0.964261]


def test_the_checkpoint_is_listed_and_an_unknown_name_is_refused_with_the_list():
    assert NAME in PRETRAINED and (pretrained_path(NAME) / "model.zip").exists()
    assert (pretrained_path(NAME) / "train.json").exists()
    with pytest.raises(ValueError, match=r"no pretrained checkpoint 'nope'; shipped: \['set-stageroute-clone'\]"):
        load_pretrained("nope")


@pytest.mark.parametrize(
    "env_id, kwargs", [("LLMRoute-Gen-v0", {"pad_to": 40}), ("LLMRoute-v0", {}), ("LLMRoute-Market-v0", {})]
)
def test_the_checkpoint_plays_any_untyped_catalog_without_invalid_actions(env_id, kwargs):
    env = gym.make(env_id, horizon=300, n_stages=3, **kwargs)
    agent = load_pretrained(NAME, env)
    assert agent.deterministic  # a set policy acts greedily by default
    result = agents.run_episode(agent, env, seed=0)
    assert result["invalid_actions"] == 0 and result["queries_served"] > 0
    random = agents.run_episode(agents.make("random", env, seed=0), env, seed=0)
    assert result["reward_fraction"] > random["reward_fraction"]


def test_the_checkpoint_spends_its_budget_on_held_out_worlds_as_stageroute_and_the_oracle_do():
    """The clone paces its spend like StageRoute, which it imitates (the learned agents before it spent
    0.38 of B where StageRoute spent 0.91), alone and under the budget shield: on average within 0.1
    of StageRoute's spend and of the oracle's on the same episodes, and at most the budget. (The oracle
    does not spend all of B where the budget does not bind: 0.86 of it on these 12 worlds, 0.90 on
    all 100 held-out ones.)"""
    cases = [Case("held-out", "LLMRoute-Gen-v0", {"pad_to": 40}, HELD_OUT_START + i, i) for i in range(12)]
    ours = {
        shield: np.mean(play_learned(pretrained_path(NAME), cases, deterministic=True, spend=True, shield=shield))
        for shield in (False, True)
    }
    env = gym.make("LLMRoute-Gen-v0", pad_to=40)
    theirs = {}
    for name in ("stageroute", "oracle"):
        theirs[name] = np.mean(
            [
                agents.run_episode(agents.make(name, env, seed=0), _WorldReset(env, case.options), case.seed)[
                    "spend_fraction"
                ]
                for case in cases
            ]
        )
    for spend in ours.values():
        assert spend <= 1.0 and all(abs(spend - ref) < 0.1 for ref in theirs.values()), (ours, theirs)


def test_the_checkpoint_reproduces_its_recorded_held_out_scores():
    cases = [Case("held-out", "LLMRoute-Gen-v0", {"pad_to": 40}, HELD_OUT_START + i, i) for i in range(6)]
    scores = play_learned(pretrained_path(NAME), cases, deterministic=True)
    np.testing.assert_allclose(scores, HELD_OUT_6, atol=0.02)


def test_final_infos_are_play_learneds_episodes_and_the_validation_script_pairs_them(capsys):

    from agents.experiments.generalization import final_infos

    cases = [Case("held-out", "LLMRoute-Gen-v0", {"pad_to": 40}, HELD_OUT_START + i, i) for i in range(2)]
    infos = final_infos(pretrained_path(NAME), cases, deterministic=True)
    scores = play_learned(pretrained_path(NAME), cases, deterministic=True)
    assert [i["total_reward"] / i["oracle_value"] for i in infos] == pytest.approx(scores)
    assert all(0 < i["queries_served"] <= i["horizon"] for i in infos)
    # An ensemble of one model twice acts as the model (the mean of equal probabilities).
    twice = play_learned([pretrained_path(NAME)] * 2, cases, deterministic=True)
    assert twice == pytest.approx(scores)
    with pytest.raises(ValueError, match="no model to play"):
        final_infos([], cases)
    from agents.experiments import clone_validation as script

    ckpt = str(pretrained_path(NAME))
    assert (
        script.main([ckpt, ckpt, "--ensemble", "--episodes", "2", "--baselines", "greedy", "--split", "held-out"]) == 0
    )
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    names = ["| agent", "| stageroute", "| greedy", f"| {ckpt}", f"| {ckpt}", "| ensemble of the 2 models"]
    assert [r.split(" | ")[0] for r in rows] == names
    # Held-out worlds 10**6 and 10**6 + 1: the checkpoint's recorded scores, alone and as an ensemble.
    for r in rows[3:]:
        assert float(r.split(" | ")[1].split(" ")[0]) == pytest.approx(np.mean(HELD_OUT_6[:2]), abs=0.02)
    assert rows[1].split(" | ")[2] == ""  # StageRoute is the reference, not paired with itself


def test_an_ensembles_sampled_actions_are_valid_and_follow_the_mean_probabilities():
    import torch as th

    from agents.experiments.generalization import _ensemble_actions
    from gym_llmroute.wrappers import scale_observation

    env = gym.make("LLMRoute-Gen-v0", pad_to=40)
    obs, info = env.reset(seed=0, options={"world": HELD_OUT_START})
    model = load_pretrained(NAME, env).model
    mask = info["action_mask"]
    batch = {k: np.repeat(v[None], 4000, axis=0) for k, v in scale_observation(obs, env.unwrapped.scenario).items()}
    masks = np.repeat(mask[None], 4000, axis=0)
    draws = _ensemble_actions([model, model], batch, masks, False, np.random.default_rng(0))
    assert mask[draws].all()
    with th.no_grad():
        tensor, _ = model.policy.obs_to_tensor({k: v[:1] for k, v in batch.items()})
        probs = model.policy.get_distribution(tensor, action_masks=masks[:1]).distribution.probs.numpy()[0]
    freq = np.bincount(draws, minlength=probs.size) / draws.size
    np.testing.assert_allclose(freq, probs, atol=0.03)
    first = {k: v[:1] for k, v in batch.items()}
    greedy = _ensemble_actions([model, model], first, masks[:1], True, np.random.default_rng(0))
    assert greedy[0] == probs.argmax()


def test_under_the_budget_shield_the_checkpoint_recovers_the_world_its_budget_ends_early_in():
    """Held-out world 10**6 + 4: the clone runs out of budget after about half the queries (0.587 of
    the oracle); under StageRoute's budget shield it serves 97% of them (StageRoute 98.7%)."""
    env = gym.make("LLMRoute-Gen-v0", pad_to=40)
    world = _WorldReset(env, {"world": HELD_OUT_START + 4})
    plain = agents.run_episode(load_pretrained(NAME, env), world, seed=4)
    shielded_agent = load_pretrained(NAME, env, shield=True)
    shielded = agents.run_episode(shielded_agent, world, seed=4)
    horizon = env.unwrapped.scenario.horizon
    assert plain["queries_served"] < 0.7 * horizon and plain["reward_fraction"] < 0.7
    assert shielded["queries_served"] >= 0.97 * horizon and shielded["reward_fraction"] > 0.9
    assert shielded["invalid_actions"] == 0 and shielded_agent.shield.n_masked > 0
    # The pure policy's checks: the shield needs masks and one episode at a time.
    obs, _ = world.reset(seed=4)
    with pytest.raises(ValueError, match="one observation at a time"):
        shielded_agent.predict({k: v[None] for k, v in obs.items()})
    with pytest.raises(ValueError, match="needs a masked policy"):
        SB3Agent(shielded_agent.model, env.unwrapped.scenario, "ppo", shield=True)
    with pytest.raises(ValueError, match="action_masks needs a masked policy"):
        SB3Agent(shielded_agent.model, env.unwrapped.scenario, "ppo").predict(obs, action_masks=np.ones(41, bool))
