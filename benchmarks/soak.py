"""Soak test: a 10^6-query episode of StageRoute and a 1,000-episode sweep, with memory that stays flat.

    python benchmarks/soak.py [--horizon 1000000] [--episodes 1000] [--quick]

Prints the process's resident memory (RSS, from /proc) while it runs, against the RSS after a first,
short warm-up of the same work measured in the same run:

  episode  StageRoute on LLMRoute-v0 with horizon 10^6 (K = 100, average budget so every query is
           served): RSS every 10% of the episode, and the growth over the whole episode.
  sweep    1,000 seeded episodes (horizon 1728) of StageRoute, Greedy, Random and the oracle in turn
           through agents.run_episode, one env and one agent per name reused: RSS every 100
           episodes, and the growth from episode 100 to the last.
A flat soak grows by well under 10 MiB; the script exits 1 if either grows by more than 50 MiB.
"""

from __future__ import annotations

import argparse
import sys
import time

import gymnasium as gym

import agents
import gym_llmroute  # noqa: F401


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def soak_episode(horizon: int) -> float:
    n_stages = max(1, round(horizon ** (1 / 3)))
    env = gym.make("LLMRoute-v0", horizon=horizon, n_stages=n_stages, budget_mode="average")
    agent = agents.make("stageroute", env, seed=0)
    obs, info = env.reset(seed=0)
    agent.reset(seed=0)
    start_rss, t0, next_report, done, served = rss_mib(), time.perf_counter(), horizon // 10, False, 0
    print(f"episode  T={horizon:,} K={n_stages}: RSS at start {start_rss:.1f} MiB")
    while not done:
        action, _ = agent.predict(obs)
        obs, _, done, _, info = env.step(action)
        served += info["model"] >= 0
        if served >= next_report:
            print(f"  {served:>9,} queries  RSS {rss_mib():7.1f} MiB  {served / (time.perf_counter() - t0):>9,.0f} q/s")
            next_report += horizon // 10
    growth = rss_mib() - start_rss
    print(
        f"episode  regret {info['regret']:.0f}, reward/oracle {info['total_reward'] / info['oracle_value']:.3f}; "
        f"RSS growth over the episode {growth:+.1f} MiB"
    )
    return growth


def soak_sweep(episodes: int) -> float:
    names = ["stageroute", "greedy", "random", "oracle"]
    env = gym.make("LLMRoute-v0")
    pool = {name: agents.make(name, env) for name in names}
    base = None
    t0 = time.perf_counter()
    for i in range(episodes):
        agents.run_episode(pool[names[i % len(names)]], env, seed=i)
        if (i + 1) % 100 == 0 or i + 1 == episodes:
            rss = rss_mib()
            base = rss if base is None else base
            print(
                f"sweep    {i + 1:>5} episodes  RSS {rss:7.1f} MiB  {(i + 1) / (time.perf_counter() - t0):5.1f} episodes/s"
            )
    growth = rss_mib() - base
    print(f"sweep    RSS growth from episode 100 to {episodes}: {growth:+.1f} MiB")
    return growth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizon", type=int, default=1_000_000, help="queries of the long episode (default 10^6)")
    parser.add_argument("--episodes", type=int, default=1000, help="episodes of the sweep (default 1000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10^5 queries and 200 episodes")
    args = parser.parse_args(argv)
    horizon, episodes = (100_000, 200) if args.quick else (args.horizon, args.episodes)
    worst = max(soak_episode(horizon), soak_sweep(episodes))
    return 1 if worst > 50 else 0


if __name__ == "__main__":
    sys.exit(main())
