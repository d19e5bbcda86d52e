"""Generalization of learned agents: trained on generated worlds 0-199, scored on held-out worlds.

    python benchmarks/generalization.py [--steps 300000] [--seeds 0-2] [--policies mlp,set]
                                        [--out results/generalization] [--report-dir docs/results/generalization]
                                        [--quick]

MaskablePPO with SB3's MLP policy and with the permutation-equivariant set policy, each trained on
``LLMRoute-Gen-v0`` worlds 0-199 (one model per training seed), then every agent plays the same
episodes: 100 training worlds (new seeds), 100 held-out worlds (from 10^6), and 20 episodes each of
the paper world, the market world and the paper world with its models in another order (zero-shot,
padded to 40 slots). StageRoute, the BwK agents, Greedy, Random and the oracle agent play them too.
The table (reward / oracle value with 95% intervals, the gap) and a figure go to --report-dir;
models and scores stay in --out, so a rerun resumes (agents.experiments.generalization).

About 15 minutes of training per 300,000-step set-policy model and 7 per MLP model on one core,
plus ~10 minutes of scoring. --quick: 3,000 steps, one seed, a few episodes (a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from agents.experiments.generalization import Setup, run, write_report
from agents.experiments.sweep import parse_seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=Setup.steps, help="training steps per model")
    parser.add_argument("--seeds", default="0-2", help="training seeds (one model per policy and seed)")
    parser.add_argument("--policies", default="mlp,set", help="comma-separated policies: mlp, set")
    parser.add_argument("--train-worlds", default="0:200", metavar="START:COUNT", help="the training worlds")
    parser.add_argument("--episodes", type=int, default=100, help="episodes on training and on held-out worlds")
    parser.add_argument("--zero-shot", type=int, default=20, help="episodes per zero-shot world")
    parser.add_argument("--ent-coef", type=float, help="override MaskablePPO's entropy coefficient")
    parser.add_argument("--learning-rate", type=float, help="override MaskablePPO's learning rate")
    parser.add_argument("--warm-start", metavar="AGENT", help="clone this reference agent before PPO (stageroute)")
    parser.add_argument("--warm-start-episodes", type=int, default=Setup.warm_start_episodes, help="episodes per round")
    parser.add_argument("--warm-start-epochs", type=int, default=Setup.warm_start_epochs, help="epochs per fit")
    parser.add_argument("--dagger-rounds", type=int, default=0, help="DAgger rounds after the first fit")
    parser.add_argument("--baselines", default=",".join(Setup.baselines), help="reference agents scored")
    parser.add_argument("--out", default="results/generalization", help="models and scores (resumable)")
    parser.add_argument("--report-dir", default=None, help="where the table and figure go (default: --out)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3,000 steps, seed 0, few episodes")
    args = parser.parse_args(argv)
    try:
        seeds = tuple(parse_seeds(args.seeds))
        start, count = (int(x) for x in args.train_worlds.split(":"))
    except ValueError as e:
        parser.error(f"argument --seeds/--train-worlds: {e}")
    policies = tuple(p.strip() for p in args.policies.split(",") if p.strip())
    if not set(policies) <= {"mlp", "set"}:
        parser.error(f"argument --policies: choose from mlp, set, got {args.policies!r}")
    hyper = {}
    if args.ent_coef is not None:
        hyper["ent_coef"] = args.ent_coef
    if args.learning_rate is not None:
        hyper["learning_rate"] = args.learning_rate
    setup = Setup(
        train_worlds=(start, count),
        policies=policies,
        seeds=seeds,
        steps=args.steps,
        hyperparams=hyper,
        train_episodes=args.episodes,
        held_out_episodes=args.episodes,
        zero_shot_episodes=args.zero_shot,
        warm_start=args.warm_start,
        warm_start_episodes=args.warm_start_episodes,
        warm_start_epochs=args.warm_start_epochs,
        dagger_rounds=args.dagger_rounds,
        baselines=tuple(b.strip() for b in args.baselines.split(",") if b.strip()),
    )
    if args.quick:
        setup = replace(setup, steps=3_000, seeds=(0,), train_episodes=4, held_out_episodes=4, zero_shot_episodes=2)
    t0 = time.perf_counter()
    summary = run(setup, args.out)
    if args.report_dir:
        write_report(summary, args.report_dir)
    print(open(f"{args.report_dir or args.out}/generalization.md").read())
    print(f"finished in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
