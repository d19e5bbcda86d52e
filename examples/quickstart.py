"""Quickstart: make the env, play a random valid policy for a few episodes, read the info.

python examples/quickstart.py [--episodes 3] [--seed 0]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import gym_llmroute  # noqa: F401  (registers LLMRoute-v0)


def random_valid_episode(env: gym.Env, seed: int) -> dict:
    """One episode of a uniformly random valid action; returns the final info."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    terminated = truncated = False
    while not (terminated or truncated):
        action = rng.choice(np.flatnonzero(info["action_mask"]))
        obs, reward, terminated, truncated, info = env.step(action)
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3, help="number of episodes (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    args = parser.parse_args(argv)
    env = gym.make("LLMRoute-v0")
    print(env.unwrapped.scenario.summary())
    print(f"{'seed':>4} {'reward':>8} {'oracle':>8} {'cost':>8} {'budget':>8} {'served':>7} {'regret':>8}")
    for seed in range(args.seed, args.seed + args.episodes):
        info = random_valid_episode(env, seed)
        print(
            f"{seed:>4} {info['total_reward']:>8.1f} {info['oracle_value']:>8.1f} {info['total_cost']:>8.2f} "
            f"{info['budget']:>8.2f} {info['queries_served']:>7d} {info['regret']:>8.1f}"
        )


if __name__ == "__main__":
    main()
