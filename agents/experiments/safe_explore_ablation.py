"""Budget-safe exploration, on and off: StageRoute's ``safe_explore`` over the budget ladder.

    python benchmarks/safe_explore_ablation.py [--worlds paper,market,typed,trace,realdata] [--rungs 7]
        [--only-rungs 0,2] [--seeds 5] [--variants on,off,route,deploy] [--workers 1] [--out docs/results]

StageRoute (``stageroute``) with ``safe_explore`` = True (``on``, the default), False (``off``, the
agent before it), ``"route"`` (the routing guard alone) and ``"deploy"`` (the budget-safe
deployments alone) on the ladder of agents/experiments/budget_ladder.py (the same budgets, seeds ``0 ..
seeds-1``, both budget modes), or on the rungs ``--only-rungs`` of it. Per variant: the average-mode
lines within the ladder's spend targets (mean spend <= 1.004 B, every seed <= 1.01 B), the mean
hard-mode reward / oracle, and per line the spend (average mode) and the hard-mode reward next to
``off``. Writes ``safe_explore_ablation.md`` and ``.json`` to ``--out`` (docs/stageroute.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import agents
from agents.base import scenario_of
from agents.experiments import budget_ladder as bl
from agents.experiments.args import csv_list, int_at_least
from agents.experiments.local import map_jobs
from agents.files import atomic_write_json, atomic_write_text

VARIANTS = {"on": True, "off": False, "route": "route", "deploy": "deploy"}


def run_job(job: tuple) -> dict:
    """One episode: (world, mode, rung, budget, variant, seed) -> its spend and reward fractions."""
    world, mode, rung, budget, variant, seed = job
    env = bl.make_env(world, None, budget, mode)
    agent = agents.make("stageroute", env, seed=seed, safe_explore=VARIANTS[variant])
    out = agents.run_episode(agent, env, seed)
    return {
        "world": world,
        "mode": mode,
        "rung": rung,
        "variant": variant,
        "seed": seed,
        "spend_fraction": out["spend_fraction"],
        "reward_fraction": out["reward_fraction"],
    }


def run_all(jobs: list[tuple], workers: int) -> list[dict]:
    return map_jobs(run_job, jobs, workers, "safe_explore ablation")


def markdown(saved: dict) -> str:
    eps = saved["episodes"]
    variants = saved["variants"]
    cell: dict[tuple, list[dict]] = {}
    for e in eps:
        cell.setdefault((e["variant"], e["world"], e["mode"], e["rung"]), []).append(e)
    lines_of = sorted({(e["world"], e["rung"]) for e in eps}, key=lambda k: (list(bl.WORLDS).index(k[0]), k[1]))
    budgets = {w: info["ladder"] for w, info in saved["worlds"].items()}

    def spend(v, w, r):
        s = np.array([e["spend_fraction"] for e in cell[(v, w, "average", r)]])
        return s.mean(), s.max()

    def reward(v, w, r):
        return float(np.mean([e["reward_fraction"] for e in cell[(v, w, "hard", r)]]))

    out = [
        "# Budget-safe exploration: ablation",
        "",
        f"StageRoute with `safe_explore` on (the default), off, the routing guard alone (`route`) and the budget-safe "
        f"deployments alone (`deploy`), on the budget ladder of [budget_ladder.md](budget_ladder.md) "
        f"({len(lines_of)} lines, seeds 0..{saved['seeds'] - 1}, both budget modes). "
        f"`python benchmarks/safe_explore_ablation.py {saved['command']}`; {saved['elapsed_seconds'] / 60:.1f} min "
        f"on {saved['workers']} worker(s). docs/stageroute.md describes the rule.",
        "",
        "| variant | average mode: lines within the spend targets | worst mean spend / B | worst seed | "
        "hard mode: mean reward / oracle | lines below `off` |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        ok = worst = top = 0.0
        below = 0
        hard = []
        for w, r in lines_of:
            mean, mx = spend(v, w, r)
            ok += mean <= bl.SPEND_MEAN_TARGET and mx <= bl.SPEND_SEED_TARGET
            worst, top = max(worst, mean), max(top, mx)
            hard.append(reward(v, w, r))
            if "off" in variants and v != "off":
                below += hard[-1] < reward("off", w, r) - 1e-12
        below_s = str(below) if "off" in variants and v != "off" else ""
        out.append(
            f"| {v} | {int(ok)} of {len(lines_of)} | {worst:.4f} | {top:.4f} | {np.mean(hard):.4f} | {below_s} |"
        )
    out += [
        "",
        "Per line: average-mode spend / B, mean [largest seed]; hard-mode reward / oracle (mean over seeds).",
        "",
        "| world | b | "
        + " | ".join(f"{v}: spend" for v in variants)
        + " | "
        + " | ".join(f"{v}: reward" for v in variants)
        + " |",
        "|---|---:|" + "---:|" * (2 * len(variants)),
    ]
    for w, r in lines_of:
        sp = []
        for v in variants:
            mean, mx = spend(v, w, r)
            flag = "" if mean <= bl.SPEND_MEAN_TARGET and mx <= bl.SPEND_SEED_TARGET else " **MISS**"
            sp.append(f"{mean:.4f} [{mx:.4f}]{flag}")
        rw = [f"{reward(v, w, r):.4f}" for v in variants]
        out.append(f"| {w} | {budgets[w][r]:.4g} | " + " | ".join(sp) + " | " + " | ".join(rw) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/results"), help="results directory")
    parser.add_argument(
        "--worlds", type=csv_list, default=list(bl.WORLDS), help=f"comma-separated: {', '.join(bl.WORLDS)}"
    )
    parser.add_argument("--rungs", type=int_at_least(1), default=bl.RUNGS, help="budgets per world (the ladder's)")
    parser.add_argument("--only-rungs", type=csv_list, default=None, help="comma-separated rung indices (default all)")
    parser.add_argument("--seeds", type=int_at_least(1), default=5, help="seeds 0..N-1 per cell")
    parser.add_argument(
        "--variants", type=csv_list, default=list(VARIANTS), help=f"comma-separated: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--workers", type=int_at_least(1), default=1, help="worker processes")
    args = parser.parse_args(argv)
    for v in args.variants:
        if v not in VARIANTS:
            parser.error(f"argument --variants: unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
    worlds = list(dict.fromkeys(bl.world_key(w) for w in args.worlds))
    only = None if args.only_rungs is None else [int(r) for r in args.only_rungs]
    start = time.perf_counter()
    infos = {w: {"ladder": bl.ladder(scenario_of(bl.make_env(w)), args.rungs)} for w in worlds}
    jobs = [
        (w, mode, r, b, v, s)
        for w in worlds
        for mode in bl.MODES
        for r, b in enumerate(infos[w]["ladder"])
        if only is None or r in only
        for v in args.variants
        for s in range(args.seeds)
    ]
    episodes = run_all(jobs, args.workers)
    given = argv if argv is not None else sys.argv[1:]
    saved = {
        "worlds": infos,
        "variants": args.variants,
        "seeds": args.seeds,
        "workers": args.workers,
        "elapsed_seconds": time.perf_counter() - start,
        "command": " ".join(given),
        "episodes": episodes,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "safe_explore_ablation.json", saved)
    table = markdown(saved)
    atomic_write_text(args.out / "safe_explore_ablation.md", table)
    print(table)


if __name__ == "__main__":
    main()
