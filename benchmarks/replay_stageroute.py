"""StageRoute's own time per step: one episode's observations replayed through ``agent.predict``.

    python benchmarks/replay_stageroute.py [--replays 7] [--seed 0]

Plays one episode of ``agents.make("stageroute", env)`` on ``gym.make("LLMRoute-v0", horizon=20_000,
n_stages=27)`` (bench_perf.py's setup), keeping a copy of every observation, then replays them
through a fresh episode of the same agent ``--replays`` times (the same actions: the agent is
reset with the same seed) and prints the CPU time per step of each replay and the best. The env
is not in the timing, so the figure is the agent's alone, deploy phases included.

For a count that does not move with the machine's load, run it under cachegrind once with
``--replays 1`` and once with ``--replays 2``: the difference of the two totals over the steps is
the agent's instructions per step.

    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        python benchmarks/replay_stageroute.py --replays 1
"""

from __future__ import annotations

import argparse
import gc
import time

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers LLMRoute-v0)


def record(agent, env, seed: int) -> list[dict[str, np.ndarray]]:
    """One episode's observations (copies), the agent acting."""
    obs, _ = env.reset(seed=seed)
    agent.reset(seed=seed)
    seq, start, done = [], np.ones(1, dtype=bool), False
    while not done:
        seq.append({k: v.copy() for k, v in obs.items()})
        action, _ = agent.predict(obs, episode_start=start)
        start = None
        obs, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    return seq


def replay(agent, seq: list[dict[str, np.ndarray]], seed: int) -> float:
    """CPU µs per step of ``agent.predict`` over the recorded observations."""
    agent.reset(seed=seed)
    predict = agent.predict
    start = time.process_time()
    predict(seq[0], episode_start=np.ones(1, dtype=bool))
    for obs in seq[1:]:
        predict(obs, episode_start=None)
    return (time.process_time() - start) / len(seq) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replays", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = gym.make("LLMRoute-v0", horizon=20_000, n_stages=27)
    agent = agents.make("stageroute", env)
    seq = record(agent, env, args.seed)
    gc.disable()
    times = [replay(agent, seq, args.seed) for _ in range(args.replays)]
    if times:
        print(f"{len(seq)} steps; µs per step: {' '.join(f'{t:.2f}' for t in times)}; best {min(times):.2f}")


if __name__ == "__main__":
    main()
