"""Score a shipped checkpoint again on the held-out worlds of its README row.

    python benchmarks/pretrained.py [--name set-stageroute-clone] [--episodes 100]
                                    [--baselines stageroute,greedy,primal_dual]

The checkpoint (agents.rl.PRETRAINED) and each baseline play the same episodes: LLMRoute-Gen-v0
world 10**6 + i with seed i, padded to 40 slots, the checkpoint with its default actions. Prints each
agent's reward / oracle value with a 95% interval, the recorded score, and whether the rerun agrees
with it (within the interval). About a minute per 100 episodes of the checkpoint.
"""

from __future__ import annotations

import argparse
import sys

from agents.evaluation import mean_ci
from agents.experiments.generalization import HELD_OUT_START, PAD, Case, play_learned, play_reference
from agents.rl.pretrained import PRETRAINED, pretrained_path


def held_out_cases(episodes: int) -> list[Case]:
    return [Case("held-out", "LLMRoute-Gen-v0", {"pad_to": PAD}, HELD_OUT_START + i, i) for i in range(episodes)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="set-stageroute-clone", choices=sorted(PRETRAINED) or None)
    parser.add_argument("--episodes", type=int, default=100, help="held-out worlds (one episode each)")
    parser.add_argument("--baselines", default="stageroute,greedy,primal_dual", help="reference agents beside it")
    args = parser.parse_args(argv)
    if args.episodes < 2:
        parser.error("argument --episodes: at least 2 (for an interval)")
    entry = PRETRAINED[args.name]
    cases = held_out_cases(args.episodes)
    mean, half = mean_ci(play_learned(pretrained_path(args.name), cases, deterministic=True))
    print(f"{args.name:24s} {mean:.3f} ± {half:.3f}   (recorded {entry.held_out[0]:.3f} ± {entry.held_out[1]:.3f})")
    for name in (b.strip() for b in args.baselines.split(",") if b.strip()):
        m, h = mean_ci(play_reference(name, cases))
        print(f"{name:24s} {m:.3f} ± {h:.3f}")
    agrees = abs(mean - entry.held_out[0]) <= half
    print("the rerun agrees with the recorded score" if agrees else "the rerun DIFFERS from the recorded score")
    return 0 if agrees else 1


if __name__ == "__main__":
    sys.exit(main())
