"""Score learned models on the validation worlds, paired with StageRoute on the same episodes.

    python benchmarks/clone_validation.py DIR [DIR ...] [--episodes 100] [--baselines stageroute,greedy,primal_dual]
                                          [--ensemble] [--shield] [--split validation|held-out] [--json PATH]

Validation worlds are LLMRoute-Gen-v0 worlds 500,000 + i with seed i (neither training worlds 0-199
nor the held-out test worlds from 10**6), padded to 40 slots; every model plays greedily (the set
policy's default). For each model and baseline: reward / oracle value with a 95% interval, the
difference to StageRoute paired by episode, and where the loss is: the episodes whose hard budget
ran out with more than 5% of the queries unserved ("cut short"), their count and the loss in them
(in units of the mean over all episodes), against the loss in the others, and the mean spend (total
cost over the budget B). Used to choose between
variants of the StageRoute clone (docs/rl.md) without touching the held-out worlds.

--ensemble adds a row for the models' ensemble (the mean of their action probabilities, greedy).
--shield adds, after each model's row, its row under StageRoute's budget shield
(agents.policies.stageroute.shield.BudgetShield, default pace).
--split held-out plays the held-out test worlds 10**6 + i instead (benchmarks/generalization.py's),
for the one variant chosen on validation worlds. --json writes every episode's score and served
fraction per agent (for other pairings).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from agents.evaluation import mean_ci
from agents.experiments.generalization import HELD_OUT_START, PAD, Case, final_infos, reference_episodes

VALIDATION_START = 500_000
STARTS = {"validation": VALIDATION_START, "held-out": HELD_OUT_START}
CUT_SHORT = 0.05  # an episode is "cut short" if more than this fraction of its queries went unserved


def validation_cases(episodes: int, split: str = "validation") -> list[Case]:
    return [Case(split, "LLMRoute-Gen-v0", {"pad_to": PAD}, STARTS[split] + i, i) for i in range(episodes)]


def row(name: str, score: np.ndarray, served: np.ndarray, spend: np.ndarray, reference: np.ndarray | None) -> str:
    mean, half = mean_ci(score)
    short = served < 1 - CUT_SHORT
    loss_short = float(np.sum(1 - score[short]) / score.size)
    loss_rest = float(np.sum(1 - score[~short]) / score.size)
    paired = ""
    if reference is not None:
        d, h = mean_ci(score - reference)
        paired = f"{d:+.3f} ± {h:.3f}"
    return (
        f"| {name} | {mean:.3f} ± {half:.3f} | {paired} | {int(short.sum())} | {loss_short:.3f} | {loss_rest:.3f} "
        f"| {float(np.mean(spend)):.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="run directories of agents.rl.train (set policy)")
    parser.add_argument("--episodes", type=int, default=100, help="validation worlds (one episode each)")
    parser.add_argument(
        "--baselines", default="stageroute,greedy,primal_dual", help="reference agents (stageroute first)"
    )
    parser.add_argument("--ensemble", action="store_true", help="also score the models' ensemble")
    parser.add_argument("--split", choices=sorted(STARTS), default="validation", help="the worlds played")
    parser.add_argument("--shield", action="store_true", help="also score every model under StageRoute's budget shield")
    parser.add_argument("--json", metavar="PATH", help="write every episode's score and served fraction here")
    args = parser.parse_args(argv)
    if args.ensemble and len(args.models) < 2:
        parser.error("argument --ensemble: needs two models or more")
    if args.episodes < 2:
        parser.error("argument --episodes: at least 2 (for an interval)")
    names = [b.strip() for b in args.baselines.split(",") if b.strip()]
    if "stageroute" not in names:
        names.insert(0, "stageroute")
    cases = validation_cases(args.episodes, args.split)
    refs = {}
    for name in names:
        outs = reference_episodes(name, cases)
        refs[name] = (
            np.array([o["reward_fraction"] for o in outs]),
            np.array([o["queries_served"] / o["horizon"] for o in outs]),
            np.array([o["spend_fraction"] for o in outs]),
        )
    stageroute = refs["stageroute"][0]
    start = STARTS[args.split]
    print(f"{args.split} worlds {start:,}-{start + args.episodes - 1:,}, greedy actions")
    print(
        "| agent | reward / oracle | minus StageRoute (paired) | cut short | loss in them | loss elsewhere | spend / B |"
    )
    print("|---|---|---|---|---|---|---|")
    episodes: dict[str, dict[str, list[float]]] = {}
    for name, (score, served, spend) in refs.items():
        print(row(name, score, served, spend, None if name == "stageroute" else stageroute), flush=True)
        episodes[name] = {"score": score.tolist(), "served": served.tolist(), "spend": spend.tolist()}
    runs: list[tuple[str, list[Path]]] = [(model, [Path(model)]) for model in args.models]
    if args.ensemble:
        runs.append((f"ensemble of the {len(args.models)} models", [Path(m) for m in args.models]))
    for name, dirs in runs:
        for shield in (False, True) if args.shield else (False,):
            label = f"{name}, budget shield" if shield else name
            infos = final_infos(dirs, cases, deterministic=True, shield=shield)
            score = np.array([i["total_reward"] / i["oracle_value"] for i in infos])
            served = np.array([i["queries_served"] / i["horizon"] for i in infos])
            spend = np.array([i["total_cost"] / i["budget"] for i in infos])
            print(row(label, score, served, spend, stageroute), flush=True)
            episodes[label] = {"score": score.tolist(), "served": served.tolist(), "spend": spend.tolist()}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"split": args.split, "start_world": start, "episodes": episodes}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
