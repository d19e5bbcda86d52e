"""The comparison of docs/results/contextual.md: contextual StageRoute against StageRoute and the
baselines on typed worlds at several horizons (K scaled as T^(1/3)).

    python -m agents.experiments.contextual_comparison [--env LLMRoute-Typed-v0] [--seeds 5]
        [--seed-start 0] [--scales 1 10] [--runs SPEC ...] [--budget-mode hard|average]
        [--worlds KWARGS ...] [--paired SPEC]

A run spec is ``name:key=value,key=value`` (``contextual_stageroute:gamma=0.2,share=none``); a world
is the env's keyword arguments in the same form (``budget=0.03,max_deployed=3``; ``default`` for
none). For each world the header gives the oracle gap: the typed oracle's total value against the
best task-blind deployment and routing (:func:`oracle_gap`), the most any contextual agent can gain
over a task-blind one. ``--paired SPEC`` adds the paired differences of reward / oracle of every
run against SPEC, seed by seed (common random numbers). Tables are printed as markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from gym_llmroute.solvers import solve_deploy, solve_typed_deploy

from ..base import scenario_of
from ..evaluation import mean_ci, run_episode
from ..registry import make

__all__ = ["compare", "oracle_gap", "DEFAULT_RUNS"]

DEFAULT_RUNS = (
    "contextual_stageroute",
    "contextual_stageroute:share=none",
    "contextual_stageroute:pacing=0",
    "stageroute",
    "stageroute_literal",
    "greedy",
    "ucb_bwk",
    "oracle",
)

_TEXT = ("share",)
_INT = ("resolve_every", "max_deployed", "n_stages", "horizon")
_BOOL = ("pacing", "optimistic")


def _parse_kwargs(text: str) -> dict[str, Any]:
    """``"key=value,key=value"`` -> kwargs (values str, int, bool or float by key)."""
    kwargs: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key in _BOOL:
            kwargs[key] = bool(int(value))
        elif key in _INT:
            kwargs[key] = int(value)
        elif key in _TEXT or key == "budget_mode":
            kwargs[key] = value
        else:
            kwargs[key] = float(value)
    return kwargs


def _parse_run(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> ``(name, kwargs)``."""
    name, _, rest = spec.partition(":")
    return name, _parse_kwargs(rest)


def oracle_gap(scenario) -> tuple[float, float]:
    """``(typed, blind)``: the typed stage oracle's expected total reward, and that of the best
    task-blind deployment and routing (one routing distribution for every task type, on the
    mix-weighted means; the same budget, caps and M_max), summed over the stages.

    ``(typed - blind) / typed`` bounds what routing by task can add to reward / oracle: a contextual
    agent that learned nothing else would gain at most that over the task-blind oracle.
    """
    w = np.asarray(scenario.task_weights, dtype=np.float64)
    typed = blind = 0.0
    for k in range(scenario.n_stages):
        q, c = scenario.stage_quality[k], scenario.stage_cost[k]
        pool = np.flatnonzero(scenario.availability[k])
        caps, L = scenario.throughput[pool], float(scenario.stage_lengths[k])
        value, _ = solve_typed_deploy(q[:, pool], c[:, pool], w, caps, scenario.budget, scenario.max_deployed)
        sol = solve_deploy(w @ q[:, pool], w @ c[:, pool], caps, scenario.budget, scenario.max_deployed)
        typed += L * value
        blind += L * (sol.value if sol.feasible else -np.inf)
    return typed, blind


def _label(spec: str) -> str:
    return spec.replace(":", " ").replace("gamma=", "g=").replace("pacing=0", "fixed b").replace(",", " ")


def compare(argv: list[str] | None = None) -> None:
    """Compare agents on typed worlds at several horizons (K scaled as T^(1/3)); prints markdown
    tables (the ones of docs/results/contextual.md)."""
    import gymnasium as gym

    import gym_llmroute  # noqa: F401  (registers the ids)

    parser = argparse.ArgumentParser(
        prog="python -m agents.experiments.contextual_comparison", description=compare.__doc__
    )
    parser.add_argument("--env", default="LLMRoute-Typed-v0")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    parser.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0], help="horizon multipliers")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="agent specs name:key=value,...")
    parser.add_argument("--budget-mode", default=None, choices=["hard", "average"], help="default: the world's")
    parser.add_argument(
        "--worlds", nargs="+", default=["default"], help="env kwargs key=value,... per world ('default': none)"
    )
    parser.add_argument("--paired", default=None, help="a run spec: paired differences of reward/oracle against it")
    args = parser.parse_args(argv)
    if args.paired is not None and args.paired not in args.runs:
        args.runs.insert(0, args.paired)
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    extra = {} if args.budget_mode is None else {"budget_mode": args.budget_mode}
    paired: list[str] = []
    for world in args.worlds:
        world_kw = {**extra, **({} if world == "default" else _parse_kwargs(world))}
        base = scenario_of(gym.make(args.env, **world_kw))
        print(
            f"\n{args.env} {world} ({base.budget_mode} budget), seeds {seeds.start}..{seeds.stop - 1}, "
            "mean ± 95% t-interval over seeds\n"
        )
        print("| T | K | oracle gap | agent | regret | reward/oracle | spend/budget | served | LP solves | queries/s |")
        print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for scale in args.scales:
            T = int(round(base.horizon * scale))
            K = int(round(base.n_stages * scale ** (1 / 3)))
            env = gym.make(args.env, **{**world_kw, "horizon": T, "n_stages": K})
            typed, blind = oracle_gap(scenario_of(env))
            gap = (typed - blind) / typed
            fractions: dict[str, np.ndarray] = {}
            for spec in args.runs:
                name, kwargs = _parse_run(spec)
                eps, speed = [], []
                for seed in seeds:
                    agent = make(name, env, seed=seed, **kwargs)
                    t0 = time.perf_counter()
                    ep = run_episode(agent, env, seed)
                    speed.append(ep["queries_served"] / (time.perf_counter() - t0))
                    eps.append(ep)
                if any(e["invalid_actions"] for e in eps):
                    raise AssertionError(f"{spec}: invalid actions")
                fractions[spec] = np.array([e["reward_fraction"] for e in eps])

                def cell(key: str, fmt: str, eps: list = eps) -> str:
                    m, h = mean_ci(e[key] for e in eps)
                    return f"{m:{fmt}} ± {h:{fmt}}"

                solves = np.mean([e.get("lp_solves", 0) for e in eps])
                print(
                    f"| {T} | {K} | {gap:.4f} | {_label(spec)} | {cell('regret', '.0f')} | "
                    f"{cell('reward_fraction', '.3f')} | {cell('spend_fraction', '.3f')} | "
                    f"{cell('queries_served', '.0f')} | {solves:.0f} | {np.mean(speed):.0f} |",
                    flush=True,
                )
            if args.paired is not None:
                ref = fractions[args.paired]
                for spec in args.runs:
                    if spec != args.paired:
                        m, h = mean_ci(fractions[spec] - ref)
                        paired.append(f"| {world} | {T} | {gap:.4f} | {_label(spec)} | {m:+.4f} ± {h:.4f} |")
    if paired:
        print(f"\nPaired difference of reward/oracle against {_label(args.paired)}, {len(seeds)} seeds\n")
        print("| world | T | oracle gap | agent | difference |")
        print("|---|---:|---:|---|---:|")
        print("\n".join(paired))


if __name__ == "__main__":
    compare(sys.argv[1:])
