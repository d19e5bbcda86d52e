"""Recorded trajectories: same seeds, same episodes, on any CPU.

Each case plays seeded episodes with a seeded masked-random policy that also sends invalid actions
(any integer in [-2, N + 2]) and records everything the env returns: observations, rewards,
terminated and truncated flags, and every info value with its type (arrays with their dtype and
shape), final infos and final observations included. tests/recording.py says how: the discrete part
(keys and their order, types, actions, deployments, counts, masks, flags, terminations) is hashed
exactly, the floats are compared to a relative 1e-9, because NumPy's exp and log differ in the last
bit between AVX-512 and AVX2 machines. tests/data/recorded_episodes.json holds the records.

The records were made from the code whose bit-exact hashes of the same cases (recorded before the
simulation core was shared by the single and the batched env, commit 4a28fb0, and kept until
commit 63963ae) still matched on the recording machine, so they pin the same episodes. Bit-exact
guarantees that hold on one machine (the batched env against the single env, a seed replayed) are
tested in tests/env/test_vector.py and tests/env/test_env_properties.py; docs/performance.md lists them.

``python -m tests.test_recorded_trajectories`` rewrites the records (after a deliberate change of
the world's numbers, and only then; say why in the commit).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import agents
import gym_llmroute  # noqa: F401  (registers the ids)

from .recording import Recording, assert_close, mismatches

P_INVALID = 0.15


def _action(rng: np.random.Generator, mask: np.ndarray) -> int:
    n = mask.size
    if rng.random() < P_INVALID or not mask.any():
        return int(rng.integers(-2, n + 2))
    return int(rng.choice(np.flatnonzero(mask)))


def _feed_step(rec: Recording, obs, info, reward=None, terminated=None, truncated=None) -> None:
    rec.feed(obs, "obs")
    if reward is not None:
        rec.feed(reward, "reward")
        rec.feed(terminated, "terminated")
        rec.feed(truncated, "truncated")
    rec.feed(info, "info")


def single_record(
    env_id: str, seeds, kwargs: dict, options: dict | None = None, render_every: int = 0
) -> dict[str, Any]:
    """One episode per seed on one env (reset with the seed, so the env is reused across episodes);
    with ``render_every = k > 0``, made with ``render_mode="rgb_array"`` and rendered every k steps."""
    env = gym.make(env_id, **kwargs, **({"render_mode": "rgb_array"} if render_every else {}))
    rec = Recording()
    rng = np.random.default_rng(1234)
    steps = 0
    for seed in seeds:
        obs, info = env.reset(seed=seed, options=options)
        _feed_step(rec, obs, info)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(_action(rng, info["action_mask"]))
            _feed_step(rec, obs, info, reward, terminated, truncated)
            done = terminated or truncated
            steps += 1
            if render_every and steps % render_every == 0:
                env.render()
    # An unseeded reset continues the env's own generator.
    _feed_step(rec, *env.reset())
    env.close()
    return rec.summary()


def vector_record(env_id: str, n: int, steps: int, kwargs: dict, mode=AutoresetMode.NEXT_STEP) -> dict[str, Any]:
    """The native batched env for ``steps`` steps from ``reset(seed=7)``, autoresetting sub-envs (with
    ``DISABLED``, ended sub-envs are reset by ``reset_mask`` after the step)."""
    envs = gym.make_vec(env_id, n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs)
    rec = Recording()
    rng = np.random.default_rng(4321)
    obs, info = envs.reset(seed=7)
    _feed_step(rec, obs, info)
    for _ in range(steps):
        actions = np.array([_action(rng, m) for m in info["action_mask"]])
        obs, rewards, terminated, truncated, info = envs.step(actions)
        _feed_step(rec, obs, info, rewards, terminated, truncated)
        done = terminated | truncated
        if mode is AutoresetMode.DISABLED and done.any():
            obs, info = envs.reset(options={"reset_mask": done})
            _feed_step(rec, obs, info)
            info = {**info, "action_mask": envs.unwrapped.action_masks()}
    envs.close()
    return rec.summary()


SINGLE_CASES = {
    "paper-hard": ("LLMRoute-v0", range(4), {}),
    "paper-average": ("LLMRoute-v0", range(2), {"budget_mode": "average"}),
    "paper-penalty": ("LLMRoute-v0", range(2), {"invalid_action_penalty": 0.25, "horizon": 900}),
    "market": ("LLMRoute-Market-v0", range(3), {}),
    "market-average": ("LLMRoute-Market-v0", range(1), {"budget_mode": "average"}),
    "typed": ("LLMRoute-Typed-v0", range(3), {}),
    "typed-average": ("LLMRoute-Typed-v0", range(1), {"budget_mode": "average"}),
    "market-delay": ("LLMRoute-v0", range(3), {"scenario": "market-delay"}),
    "market-delay-average": ("LLMRoute-v0", range(1), {"scenario": "market-delay", "budget_mode": "average"}),
    "market-drift": ("LLMRoute-v0", range(3), {"scenario": "market-drift"}),
    "realdata": ("LLMRoute-RealData-v0", range(3), {"horizon": 600}),
    "deploy-view": ("LLMRoute-Deploy-v0", range(2), {"horizon": 600}),
    "route-view": ("LLMRoute-Route-v0", range(2), {"horizon": 600}),
    "max-episode-steps": ("LLMRoute-v0", range(2), {"max_episode_steps": 150}),
    "reset-options": ("LLMRoute-v0", range(2), {}, {"horizon": 700, "n_stages": 5, "budget": 0.08}),
}

VECTOR_CASES = {
    "paper-hard": ("LLMRoute-v0", 5, 1500, {}, AutoresetMode.NEXT_STEP),
    "paper-average": ("LLMRoute-v0", 3, 2000, {"budget_mode": "average", "horizon": 600}, AutoresetMode.NEXT_STEP),
    "paper-same-step": ("LLMRoute-v0", 4, 1200, {"invalid_action_penalty": 0.5}, AutoresetMode.SAME_STEP),
    "paper-truncated": ("LLMRoute-v0", 3, 600, {"max_episode_steps": 120}, AutoresetMode.SAME_STEP),
    "market": ("LLMRoute-Market-v0", 4, 1500, {}, AutoresetMode.NEXT_STEP),
    "typed": ("LLMRoute-Typed-v0", 4, 1500, {}, AutoresetMode.NEXT_STEP),
    "typed-same-step": (
        "LLMRoute-Typed-v0",
        3,
        1000,
        {"budget_mode": "average", "horizon": 500},
        AutoresetMode.SAME_STEP,
    ),
    "market-delay": ("LLMRoute-v0", 4, 1500, {"scenario": "market-delay"}, AutoresetMode.NEXT_STEP),
    "market-drift": ("LLMRoute-v0", 4, 1500, {"scenario": "market-drift"}, AutoresetMode.NEXT_STEP),
    "realdata": ("LLMRoute-RealData-v0", 3, 1500, {"horizon": 600}, AutoresetMode.NEXT_STEP),
    "paper-disabled": ("LLMRoute-v0", 3, 1200, {"feedback_delay": 3}, AutoresetMode.DISABLED),
}

RECORDS = Path(__file__).parent / "data" / "recorded_episodes.json"


def stageroute_summary() -> dict[str, Any]:
    """``agents.run_episode(agents.make("stageroute", env, seed=0), env, 0)`` on ``LLMRoute-v0``."""
    env = gym.make("LLMRoute-v0")
    result = agents.run_episode(agents.make("stageroute", env, seed=0), env, 0)
    env.close()
    return {key: result[key] for key in ("reward", "cost", "regret", "queries_served", "steps", "invalid_actions")}


def recorded(kind: str, case: str) -> dict[str, Any]:
    return json.loads(RECORDS.read_text())[kind][case]


@pytest.mark.parametrize("case", sorted(SINGLE_CASES))
def test_single_env_trajectories_are_the_recorded_ones(case):
    assert mismatches(single_record(*SINGLE_CASES[case]), recorded("single", case)) == []


@pytest.mark.parametrize("case", sorted(VECTOR_CASES))
def test_vector_env_trajectories_are_the_recorded_ones(case):
    assert mismatches(vector_record(*VECTOR_CASES[case]), recorded("vector", case)) == []


def test_stageroute_episode_is_the_recorded_one():
    assert_close(stageroute_summary(), recorded("stageroute", "LLMRoute-v0"))


def record_all() -> dict[str, Any]:
    return {
        "single": {name: single_record(*SINGLE_CASES[name]) for name in sorted(SINGLE_CASES)},
        "vector": {name: vector_record(*VECTOR_CASES[name]) for name in sorted(VECTOR_CASES)},
        "stageroute": {"LLMRoute-v0": stageroute_summary()},
    }


if __name__ == "__main__":
    text = json.dumps(record_all(), indent=1)
    # One line per float stream: [count, sum w x, sum w |x|].
    text = re.sub(r"\[\s+(\S+),\s+(\S+),\s+(\S+)\s+\]", r"[\1, \2, \3]", text)
    RECORDS.write_text(text + "\n")
    print(f"wrote {RECORDS}")
