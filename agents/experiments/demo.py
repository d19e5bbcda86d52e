"""``make demo``: a quick benchmark of StageRoute, the paper's baselines and a briefly trained
MaskablePPO on ``LLMRoute-v0``, then the held-out table: MaskablePPO (MLP and set policy) briefly
trained on generated worlds 0-199 and the shipped checkpoint, scored on worlds they never saw, beside
StageRoute.

    python -m agents.experiments.demo [--out results/demo] [--seeds 0-2] [--train-steps 60000] [--jobs 2]
                                      [--gen-steps 20000] [--no-generalization]

Part one is ``llmroute bench`` with fixed arguments: MaskablePPO is trained once per seed (the
training budget below, a few tens of seconds per model on one core), then every agent plays one
episode per seed on the same worlds. Part two is :mod:`agents.experiments.generalization` with a
brief training (one seed, ``--gen-steps`` per policy) and 20 episodes per group: a preview of
``benchmarks/generalization.py``, whose full table is in docs/results/generalization. Both parts
are resumable: a second ``make demo`` reuses what is in ``--out`` (delete the folder to start afresh).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .report import CorruptRunFile
from .sweep import bench_report, parse_seeds, plan_bench

__all__ = ["main", "DEMO_AGENTS", "DEMO_TRAIN_STEPS", "DEMO_GEN_STEPS"]

DEMO_AGENTS = ("stageroute", "greedy", "random", "oracle", "maskableppo")
DEMO_TRAIN_STEPS = 60_000
DEMO_GEN_STEPS = 20_000


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status (130 if interrupted, 2 on a corrupt run file).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m agents.experiments.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="results/demo", help="bench folder (runs, models, table, plots)")
    parser.add_argument("--seeds", default="0-2", help="episode seeds (one MaskablePPO model per seed)")
    parser.add_argument("--train-steps", type=int, default=DEMO_TRAIN_STEPS, help="MaskablePPO training steps per seed")
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    parser.add_argument(
        "--gen-steps", type=int, default=DEMO_GEN_STEPS, help="training steps per policy on generated worlds"
    )
    parser.add_argument("--no-generalization", action="store_true", help="skip the held-out table")
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as e:
        parser.error(f"argument --seeds: {e}")
    if args.train_steps < 1 or args.jobs < 1 or args.gen_steps < 1:
        parser.error("arguments --train-steps, --gen-steps and --jobs must be >= 1")
    start = time.perf_counter()
    print(
        f"demo: {', '.join(DEMO_AGENTS)} on LLMRoute-v0 (scenario 'paper'), seeds {args.seeds}; "
        f"MaskablePPO trained for {args.train_steps:,} steps per seed\n",
        flush=True,
    )
    trains, runs = plan_bench(DEMO_AGENTS, ["LLMRoute-v0"], ["paper"], seeds, train_steps=args.train_steps)
    try:
        bench_report(trains, runs, args.out, jobs=args.jobs)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept in {args.out}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except CorruptRunFile as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    if not args.no_generalization:
        from ..rl.pretrained import PRETRAINED
        from .generalization import Setup, run

        setup = Setup(
            seeds=(0,),
            steps=args.gen_steps,
            train_episodes=20,
            held_out_episodes=20,
            zero_shot_episodes=5,
            baselines=("stageroute", "greedy", "random", "oracle"),
            pretrained=tuple(PRETRAINED),
        )
        print(
            "\nMaskablePPO above is scored on the world it was trained on (paper), which measures memory of one "
            "catalog;\nthe table below scores learned agents on worlds they never saw."
        )
        print(
            f"\nheld-out worlds: MaskablePPO (MLP and set policy) trained {args.gen_steps:,} steps on generated "
            "worlds 0-199, and the shipped checkpoint (a StageRoute clone, agents.rl.load_pretrained; alone and under "
            "StageRoute's budget shield), scored on 20 "
            "worlds they never saw (brief training: the full run is benchmarks/generalization.py)\n",
            flush=True,
        )
        try:
            run(setup, f"{args.out}/generalization")
        except KeyboardInterrupt:
            print(f"\ninterrupted: models and scores are kept in {args.out}/generalization", file=sys.stderr)
            return 130
        print((Path(args.out) / "generalization" / "generalization.md").read_text())
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s (results and plots in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
