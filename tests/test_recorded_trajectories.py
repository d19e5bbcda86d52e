"""Recorded trajectories: same seeds, same numbers.

Each case plays seeded episodes with a seeded masked-random policy that also sends invalid actions
(any integer in [-2, N + 2]), and hashes everything the env returns: observations (float32 bytes, in
the dict's key order), rewards, terminated and truncated flags, and every info value with its type
(arrays with their dtype and shape), final infos and final observations included. The hashes below
were recorded on the code before the simulation core was shared by the single and the batched env
(gym_llmroute/sim.py); any change of a number, a type, a key or its order changes them. To see
which step differs, compare against that commit with the single env's ``rollout``/``lockstep``
helpers of tests/test_vector.py.

``python -m tests.test_recorded_trajectories`` prints the current hashes (to re-record after a
deliberate change of the world's numbers, and only then). Re-recorded once, on purpose: the
deploy view (whose fixed router is StageRoute's) and the StageRoute episode, when StageRoute's default
confidence parameters became gamma = 1 and cost_gamma = 0.02; the same values come out of the code
before and after the shared core.
"""

from __future__ import annotations

import hashlib
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import agents
import gym_llmroute  # noqa: F401  (registers the ids)

P_INVALID = 0.15


def _feed(h, value: Any) -> None:
    """Feed a value into the hash with its type: arrays by dtype, shape and bytes (object arrays by
    their elements), dicts by key order, Python scalars by their exact repr."""
    if isinstance(value, dict):
        h.update(b"{")
        for key, item in value.items():
            h.update(repr(key).encode())
            _feed(h, item)
        h.update(b"}")
    elif isinstance(value, np.ndarray):
        h.update(f"<{value.dtype.str}{value.shape}>".encode())
        if value.dtype == object:
            for item in value.reshape(-1):
                _feed(h, item)
        else:
            h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


def _action(rng: np.random.Generator, mask: np.ndarray) -> int:
    n = mask.size
    if rng.random() < P_INVALID or not mask.any():
        return int(rng.integers(-2, n + 2))
    return int(rng.choice(np.flatnonzero(mask)))


def single_hash(env_id: str, seeds, kwargs: dict, options: dict | None = None) -> str:
    """One episode per seed on one env (reset with the seed, so the env is reused across episodes)."""
    env = gym.make(env_id, **kwargs)
    h = hashlib.sha256()
    rng = np.random.default_rng(1234)
    for seed in seeds:
        obs, info = env.reset(seed=seed, options=options)
        _feed(h, (obs, info))
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(_action(rng, info["action_mask"]))
            _feed(h, (obs, reward, terminated, truncated, info))
            done = terminated or truncated
    # An unseeded reset continues the env's own generator.
    _feed(h, env.reset())
    env.close()
    return h.hexdigest()


def vector_hash(env_id: str, n: int, steps: int, kwargs: dict, mode=AutoresetMode.NEXT_STEP) -> str:
    """The native batched env for ``steps`` steps from ``reset(seed=7)``, autoresetting sub-envs (with
    ``DISABLED``, ended sub-envs are reset by ``reset_mask`` after the step)."""
    envs = gym.make_vec(env_id, n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs)
    h = hashlib.sha256()
    rng = np.random.default_rng(4321)
    obs, info = envs.reset(seed=7)
    _feed(h, (obs, info))
    for _ in range(steps):
        actions = np.array([_action(rng, m) for m in info["action_mask"]])
        obs, rewards, terminated, truncated, info = envs.step(actions)
        _feed(h, (obs, rewards, terminated, truncated, info))
        done = terminated | truncated
        if mode is AutoresetMode.DISABLED and done.any():
            obs, info = envs.reset(options={"reset_mask": done})
            _feed(h, (obs, info))
            info = {**info, "action_mask": envs.unwrapped.action_masks()}
    envs.close()
    return h.hexdigest()


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

# sha256 of each case, recorded on the code before the refactor (commit 4a28fb0's env.py, world.py, vector.py).
SINGLE_HASHES: dict[str, str] = {
    "deploy-view": "571d75ad33ca838a579ef49fa394638ab06f8e5f14a5803f1bd3e4acb96bf4bb",
    "market": "1d70d8d6fa43cc070379c0f7e3f156fc396663b044eae4d402a4b1f401d12290",
    "market-average": "07364bf6d5874d2c1bacfb5d9bf4ca4447ba7e69bc09f66a208e255c0fba675f",
    "market-delay": "ffcc23c07adf7fd9c56993a16d786629af96267319478596a4ab1e388f6d5107",
    "market-delay-average": "edd72a2fa023b751a576819b572ffeede4766d0aeaaeeb2d1636a9ca45959b0a",
    "market-drift": "f6522bd1cca8564afd57538170508258518eead13cc016db08b47d39abc6cc94",
    "max-episode-steps": "af0b59918482ef6304daae09bb5a9dcf4f3908185ace5db9539a58b48900e680",
    "paper-average": "fab94758953116dae3ab02d082a05d1b90365f01ce44ee6f660dabd1c17e8829",
    "paper-hard": "e94084f286bc76d1240e0a363bc90dedcd1a8e2716fe0366bb71ed2e3ae4d736",
    "paper-penalty": "163b3ab1d11c878bc1f3e14b04519e80ded5471da2686d89a71311f8b0239259",
    "realdata": "6e80b911e7c2ec70d9021cf36d822f1d1cefc758c88c624c6e54622729514f71",
    "reset-options": "1adf4f5f1157d4f2f366b4319633b86fa50fcea83383e6829201c8e372ca88c9",
    "route-view": "11936304d29b980d586597faaa12d29bf477207ecf4510919e44306d7939dd1e",
    "typed": "c39994a0f3ff630bb55984302e8a6298d7ed1180c65b8b20f75f46a7809cb16e",
    "typed-average": "416dd9e5f569716e0ea816906090728d7f7bf17e3a4f715c064d4c2527730e63",
}
VECTOR_HASHES: dict[str, str] = {
    "market": "30a6fda3ed934adfd2cb3975168d6b1eb17ff17fe509ef46386b8953907f0465",
    "market-delay": "955b28ff65b60860dd8d6377926032178be4f7b0d41b467826902fb36ff264e1",
    "market-drift": "c4dc54ecc45ba227d0555a35cc2810a88575ac76ae5098cb63726fb77b8303ff",
    "paper-average": "3588589f8ddd46534595f2343b63f83ddc30183c59a11b1c3af75c6fd0aaed10",
    "paper-disabled": "f7abedf11d15ce61dab077b8430057ebc17dc2a611c379536886c231d4a6984c",
    "paper-hard": "cf0c7e2d666231c68bf99d94d548ee8f11818337f72f0d7083e59ef02c698ccd",
    "paper-same-step": "e3a22c922233c3da23915f078fab5e99c6d76635d82dbe84cb5e6e8908cc4f3c",
    "paper-truncated": "81c2fe14ed13345fdada317afeb3aa7f06fbe85cc6f2fa302676e771174f5514",
    "realdata": "9e58781be7d9cedaebedd9ab7aa9b4e6eb2f6f5f89ed90263ecb9b39df610efa",
    "typed": "7895af4b749cd3df258707290a9bc0abe4e9d35b025c49c0d95155f111904a07",
    "typed-same-step": "b92d7448eb10f348ec9d2ea64c8ace783027b9cd30d58c5b30f75d4d596b2dc9",
}
# agents.run_episode(agents.make("stageroute", env, seed=0), env, 0) on gym.make("LLMRoute-v0").
STAGEROUTE = {
    "reward": 1402.0,
    "cost": 86.42294615149598,
    "regret": 10.829448093850264,
    "queries_served": 1728,
    "steps": 1776,
    "invalid_actions": 0,
}


def stageroute_summary() -> dict[str, float]:
    env = gym.make("LLMRoute-v0")
    result = agents.run_episode(agents.make("stageroute", env, seed=0), env, 0)
    env.close()
    return {key: result[key] for key in ("reward", "cost", "regret", "queries_served", "steps", "invalid_actions")}


@pytest.mark.parametrize("case", sorted(SINGLE_CASES))
def test_single_env_trajectories_are_the_recorded_ones(case):
    assert single_hash(*SINGLE_CASES[case]) == SINGLE_HASHES[case]


@pytest.mark.parametrize("case", sorted(VECTOR_CASES))
def test_vector_env_trajectories_are_the_recorded_ones(case):
    assert vector_hash(*VECTOR_CASES[case]) == VECTOR_HASHES[case]


def test_stageroute_episode_is_the_recorded_one():
    assert stageroute_summary() == STAGEROUTE


if __name__ == "__main__":
    print("SINGLE_HASHES = {")
    for name in sorted(SINGLE_CASES):
        print(f'    "{name}": "{single_hash(*SINGLE_CASES[name])}",')
    print("}")
    print("VECTOR_HASHES = {")
    for name in sorted(VECTOR_CASES):
        print(f'    "{name}": "{vector_hash(*VECTOR_CASES[name])}",')
    print("}")
    print(f"STAGEROUTE = {stageroute_summary()!r}")
