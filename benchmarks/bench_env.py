"""Speed of LLMRoute-v0 and of the exact routing LP, each against a reference measured in the same run.

    python benchmarks/bench_env.py [--steps 50000] [--lp-instances 2000] [--repeats 3]

Prints two ratios (higher is better):
  env    steps/s of gym.make("LLMRoute-v0") over gym.make("CartPole-v1"), a random valid action each step
  lp     solves/s of gym_llmroute.solvers.solve_route_lp over scipy.optimize.linprog(method="highs"),
         on the same random 4-model instances (the size of a deployed set), checking they agree
Targets: env >= 0.5, lp >= 50. Best of --repeats for each side, interleaved, to damp noise.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import gym_llmroute  # noqa: F401
from gym_llmroute.solvers import solve_route_lp


def env_steps_per_second(env_id: str, steps: int, masked: bool, seed: int = 0) -> float:
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, 2**31, size=steps)
    obs, info = env.reset(seed=seed)
    t0 = time.perf_counter()
    for i in range(steps):
        if masked:
            valid = np.flatnonzero(info["action_mask"])
            a = int(valid[draws[i] % valid.size])
        else:
            a = int(draws[i] & 1)
        obs, r, term, trunc, info = env.step(a)
        if term or trunc:
            obs, info = env.reset()
    return steps / (time.perf_counter() - t0)


def lp_instances(n_instances: int, n_models: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_instances):
        u = rng.uniform(0.5, 0.95, n_models)
        c = rng.uniform(0.0, 1.0, n_models)
        caps = rng.uniform(0.3, 0.6, n_models)
        b = float(rng.uniform(c.min(), c.mean()))
        out.append((u, c, caps, b))
    return out


def exact_rate(instances) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    values = [solve_route_lp(u, c, caps, b).value for u, c, caps, b in instances]
    return len(instances) / (time.perf_counter() - t0), values


def linprog_rate(instances) -> tuple[float, list[float]]:
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    values = []
    for u, c, caps, b in instances:
        n = u.size
        res = linprog(
            -u,
            A_ub=c[None, :],
            b_ub=[b],
            A_eq=np.ones((1, n)),
            b_eq=[1.0],
            bounds=np.c_[np.zeros(n), caps],
            method="highs",
        )
        values.append(-res.fun if res.status == 0 else -np.inf)
    return len(instances) / (time.perf_counter() - t0), values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50_000, help="env steps per measurement (default 50000)")
    parser.add_argument("--lp-instances", type=int, default=2_000, help="LP instances per measurement (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per side; the best is kept (default 3)")
    args = parser.parse_args(argv)

    ours, ref = [], []
    for r in range(args.repeats):
        ref.append(env_steps_per_second("CartPole-v1", args.steps, masked=False, seed=r))
        ours.append(env_steps_per_second("LLMRoute-v0", args.steps, masked=True, seed=r))
    env_ratio = max(ours) / max(ref)
    print(
        f"env  LLMRoute-v0 {max(ours):>10,.0f} steps/s   CartPole-v1 {max(ref):>10,.0f} steps/s   ratio {env_ratio:.2f}  (target >= 0.5)"
    )

    inst = lp_instances(args.lp_instances)
    exact, highs = [], []
    for _ in range(args.repeats):
        rate_e, val_e = exact_rate(inst)
        rate_h, val_h = linprog_rate(inst[: max(200, args.lp_instances // 10)])
        exact.append(rate_e)
        highs.append(rate_h)
    worst = max(abs(a - b) for a, b in zip(val_e, val_h, strict=False))
    lp_ratio = max(exact) / max(highs)
    print(
        f"lp   exact {max(exact):>10,.0f} solves/s   linprog(highs) {max(highs):>8,.0f} solves/s   ratio {lp_ratio:.1f}  "
        f"(target >= 50; max |value difference| {worst:.1e})"
    )


if __name__ == "__main__":
    main()
