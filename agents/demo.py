"""``make demo``: a quick benchmark of StageRoute, the paper's baselines and a briefly trained
MaskablePPO on ``LLMRoute-v0``, printing the results table and writing the plots.

    python -m agents.demo [--out results/demo] [--seeds 0-2] [--train-steps 60000] [--jobs 2]

It is ``llmroute bench`` with fixed arguments: MaskablePPO is trained once per seed (the training
budget below, a few tens of seconds per model on one core), then every agent plays one episode per
seed on the same worlds. Runs are resumable like any bench: a second ``make demo`` reuses the
finished runs in ``--out`` (delete the folder to start afresh).
"""

from __future__ import annotations

import argparse
import sys
import time

from .cli import main as llmroute

__all__ = ["main", "DEMO_AGENTS", "DEMO_TRAIN_STEPS"]

DEMO_AGENTS = ("stageroute", "greedy", "random", "oracle", "maskableppo")
DEMO_TRAIN_STEPS = 60_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agents.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="results/demo", help="bench folder (runs, models, table, plots)")
    parser.add_argument("--seeds", default="0-2", help="episode seeds (one MaskablePPO model per seed)")
    parser.add_argument("--train-steps", type=int, default=DEMO_TRAIN_STEPS, help="MaskablePPO training steps per seed")
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(
        f"demo: {', '.join(DEMO_AGENTS)} on LLMRoute-v0 (scenario 'paper'), seeds {args.seeds}; "
        f"MaskablePPO trained for {args.train_steps:,} steps per seed\n",
        flush=True,
    )
    status = llmroute(
        [
            "bench",
            "--agents",
            ",".join(DEMO_AGENTS),
            "--envs",
            "LLMRoute-v0",
            "--scenarios",
            "paper",
            "--seeds",
            args.seeds,
            "--train-steps",
            str(args.train_steps),
            "--jobs",
            str(args.jobs),
            "--out",
            args.out,
        ]
    )
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s (results and plots in {args.out})")
    return status


if __name__ == "__main__":
    sys.exit(main())
