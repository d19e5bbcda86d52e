"""The comparison of docs/results/contextual.md: contextual StageRoute against StageRoute and the
baselines on a typed world at several horizons (K scaled as T^(1/3)).

    python -m agents.experiments.contextual_comparison [--env LLMRoute-Typed-v0] [--seeds 5]
        [--scales 1 10] [--runs SPEC ...] [--budget-mode hard|average]

A run spec is ``name:key=value,key=value`` (``contextual_stageroute:gamma=0.2``); the table is printed
as markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from ..base import scenario_of
from ..evaluation import mean_ci, run_episode
from ..registry import make

__all__ = ["compare", "DEFAULT_RUNS"]

DEFAULT_RUNS = (
    "contextual_stageroute",
    "contextual_stageroute:pacing=0",
    "contextual_stageroute:gamma=0.2",
    "stageroute",
    "stageroute_literal",
    "greedy",
    "ucb_bwk",
    "oracle",
)


def _parse_run(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> ``(name, kwargs)`` (values int, float or bool)."""
    name, _, rest = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key == "pacing":
            kwargs[key] = bool(int(value))
        elif key == "resolve_every":
            kwargs[key] = int(value)
        else:
            kwargs[key] = float(value)
    return name, kwargs


def compare(argv: list[str] | None = None) -> None:
    """Compare agents on a typed world at several horizons (K scaled as T^(1/3)); prints a markdown
    table (the one of docs/results/contextual.md)."""
    import gymnasium as gym

    import gym_llmroute  # noqa: F401  (registers the ids)

    parser = argparse.ArgumentParser(
        prog="python -m agents.experiments.contextual_comparison", description=compare.__doc__
    )
    parser.add_argument("--env", default="LLMRoute-Typed-v0")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. n-1 (default 5)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0], help="horizon multipliers")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="agent specs name:key=value,...")
    parser.add_argument("--budget-mode", default=None, choices=["hard", "average"], help="default: the world's")
    args = parser.parse_args(argv)
    extra = {} if args.budget_mode is None else {"budget_mode": args.budget_mode}
    base = scenario_of(gym.make(args.env, **extra))
    print(f"{args.env} ({base.budget_mode} budget), seeds 0..{args.seeds - 1}, mean ± 95% t-interval over seeds\n")
    print("| T | K | agent | regret | reward/oracle | spend/budget | served | LP solves | queries/s |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for scale in args.scales:
        T = int(round(base.horizon * scale))
        K = int(round(base.n_stages * scale ** (1 / 3)))
        env = gym.make(args.env, horizon=T, n_stages=K, **extra)
        for spec in args.runs:
            name, kwargs = _parse_run(spec)
            eps, speed = [], []
            for seed in range(args.seeds):
                agent = make(name, env, seed=seed, **kwargs)
                t0 = time.perf_counter()
                ep = run_episode(agent, env, seed)
                speed.append(ep["queries_served"] / (time.perf_counter() - t0))
                eps.append(ep)
            if any(e["invalid_actions"] for e in eps):
                raise AssertionError(f"{spec}: invalid actions")

            def cell(key: str, fmt: str, eps: list = eps) -> str:
                m, h = mean_ci(e[key] for e in eps)
                return f"{m:{fmt}} ± {h:{fmt}}"

            label = spec.replace(":", " ").replace("gamma=", "g=").replace("pacing=0", "fixed b").replace(",", " ")
            solves = np.mean([e.get("lp_solves", 0) for e in eps])
            print(
                f"| {T} | {K} | {label} | {cell('regret', '.0f')} | {cell('reward_fraction', '.3f')} | "
                f"{cell('spend_fraction', '.3f')} | {cell('queries_served', '.0f')} | {solves:.0f} | "
                f"{np.mean(speed):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    compare(sys.argv[1:])
