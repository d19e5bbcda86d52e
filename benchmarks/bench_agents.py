"""StageRoute's speed end to end through the env, against the same agent with scipy's linprog.

    python benchmarks/bench_agents.py [--horizon 20000] [--seeds 2]

Runs ``StageRouteAgent`` on ``gym.make("LLMRoute-v0", horizon=T, n_stages=round(T^(1/3)))`` with
the route LP solved three ways, in the same process and on the same seeds:

* ``exact``: the default, the exact solver warm-started from the previous optimal basis
  (KKT-certified, else :func:`gym_llmroute.solvers.solve_route_lp`), timed before and after the
  others and averaged;
* ``exact-cold``: :func:`~gym_llmroute.solvers.solve_route_lp` for every query;
* ``linprog``: :func:`scipy.optimize.linprog` with ``method="highs"`` for every query (the reference).

It prints queries per second (queries served over wall time, deployments included) and the ratios.
A random-valid-action loop over the same env gives the env's own cost per step, for context.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers LLMRoute-v0)


def queries_per_second(env: gym.Env, solver: str, seeds: list[int]) -> tuple[float, dict]:
    agent = agents.StageRouteAgent(env, solver=solver)
    served, elapsed, last = 0, 0.0, {}
    for seed in seeds:
        start = time.perf_counter()
        last = agents.run_episode(agent, env, seed)
        elapsed += time.perf_counter() - start
        served += last["queries_served"]
    return served / elapsed, last


def env_steps_per_second(env: gym.Env, seed: int) -> float:
    """Steps per second of the env alone, with the cheapest valid action from ``info``."""
    _, info = env.reset(seed=seed)
    steps, done = 0, False
    start = time.perf_counter()
    while not done:
        _, _, done, _, info = env.step(int(np.argmax(info["action_mask"])))
        steps += 1
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizon", type=int, default=20_000, help="queries per episode (default 20000)")
    parser.add_argument("--seeds", type=int, default=2, help="episodes per solver (default 2)")
    args = parser.parse_args(argv)
    if args.horizon < 10 or args.seeds < 1:
        parser.error("--horizon must be >= 10 and --seeds >= 1")
    T = args.horizon
    env = gym.make("LLMRoute-v0", horizon=T, n_stages=round(T ** (1 / 3)))
    seeds = list(range(args.seeds))
    print(env.unwrapped.scenario.summary())
    env_rate = env_steps_per_second(env, seeds[0])
    rates: dict[str, list[float]] = {}
    # The fast solver is timed before and after the slow ones (mean of both), so that a change of
    # machine load during the long linprog run does not bias the ratio.
    for solver in ("exact", "exact-cold", "linprog", "exact"):
        rate, last = queries_per_second(env, solver, seeds)
        rates.setdefault(solver, []).append(rate)
        print(
            f"  StageRoute, LP {solver:<10} {rate:>10,.0f} queries/s   "
            f"(last episode: reward fraction {last['reward_fraction']:.3f}, LP solves {last['lp_solves']}, "
            f"warm starts {last['lp_warm']})"
        )
    rates = {k: float(np.mean(v)) for k, v in rates.items()}
    print(f"  env alone (argmax of the mask)  {env_rate:>10,.0f} steps/s")
    print(f"ratio exact / linprog      : {rates['exact'] / rates['linprog']:.1f}x")
    print(f"ratio exact-cold / linprog : {rates['exact-cold'] / rates['linprog']:.1f}x")


if __name__ == "__main__":
    main()
