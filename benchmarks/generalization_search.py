"""Hyperparameter search for MaskablePPO with the set policy on generated worlds, validated on worlds
that are neither training nor test worlds (500,000 on), so the held-out table stays untouched.

    python benchmarks/generalization_search.py [--steps 150000] [--episodes 40] [--out results/generalization/search]
                                               [--only NAME,...]

Each variant is one model (seed 0) trained on worlds 0-199; its score is the mean reward / oracle
value on ``--episodes`` validation worlds (agents.experiments.generalization with held_out_start =
500,000). Resumable. Prints one row per variant; the variants are in VARIANTS below.
"""

from __future__ import annotations

import argparse
import sys

from agents.experiments.generalization import Setup, run

VALIDATION_START = 500_000
VARIANTS: dict[str, dict] = {
    "default": {},
    # The cost term: a fixed price of the budget, or dual ascent from a non-zero start.
    "lam-fixed-0.3": {"lagrangian": {"multiplier": 0.3, "step_size": 0.0, "per_budget": True}},
    "lam-start-0.3": {"lagrangian": {"multiplier": 0.3, "step_size": 0.01, "per_budget": True}},
    "gamma-0.999": {"gamma": 0.999},
    "ent-0.03": {"ent_coef": 0.03},
    "lr-1e-3": {"learning_rate": 1e-3},
    "small": {"policy_kwargs": {"hidden": 32, "rounds": 1}},
    # Train without the hard budget's termination (the cost term alone teaches pacing); scored hard.
    "average-train": {},
    # The faster settings of benchmarks/bench_train.py: more sub-envs with shorter rollouts (the same
    # 2,048 samples per update), fewer epochs.
    "fast-16x128x2": {"n_envs": 16, "n_steps": 128, "n_epochs": 2},
    "fast-32x64x1": {"n_envs": 32, "n_steps": 64, "n_epochs": 1},
}
TRAIN_BUDGET_MODE = {"average-train": "average"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150_000)
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--out", default="results/generalization/search")
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"argument --only: unknown variant(s) {unknown}; variants are {list(VARIANTS)}")
    rows = []
    for name in names:
        setup = Setup(
            policies=("set",),
            seeds=(0,),
            steps=args.steps,
            hyperparams=VARIANTS[name],
            train_episodes=args.episodes,
            held_out_episodes=args.episodes,
            zero_shot_episodes=0,
            baselines=(),
            held_out_start=VALIDATION_START,
            train_budget_mode=TRAIN_BUDGET_MODE.get(name),
        )
        sampled, greedy = run(setup, f"{args.out}/{name}")["rows"][:2]
        rows.append((name, sampled, greedy))
    print("\nreward / oracle value (mean ± 95% interval), sampled and greedy actions")
    head = ("variant", "training, sampled", "validation, sampled", "training, greedy", "validation, greedy")
    print(f"{head[0]:<14} {head[1]:>18} {head[2]:>20} {head[3]:>18} {head[4]:>20}")
    for name, s, g in rows:
        cells = [f"{r[k]:.3f} ± {r[k + '_ci']:.3f}" for r in (s, g) for k in ("train", "held-out")]
        print(f"{name:<14} {cells[0]:>18} {cells[1]:>20} {cells[2]:>18} {cells[3]:>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
