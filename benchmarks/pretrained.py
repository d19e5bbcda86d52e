"""Score a shipped checkpoint again on the held-out worlds of its README row.

    python benchmarks/pretrained.py [--name set-stageroute-clone] [--episodes 100]
                                    [--baselines stageroute,greedy,primal_dual]

The checkpoint (agents.rl.PRETRAINED) and each baseline play the same episodes: LLMRoute-Gen-v0
world 10**6 + i with seed i, padded to 40 slots, the checkpoint with its default actions, alone and
under StageRoute's budget shield. Prints each agent's reward / oracle value with a 95% interval, the
recorded scores, and whether the reruns agree with them (within the interval). About a minute per 100
episodes of the checkpoint, two under the shield.
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
    agrees = True
    for shield, recorded in ((False, entry.held_out), (True, entry.held_out_shielded)):
        if recorded is None:
            continue
        mean, half = mean_ci(play_learned(pretrained_path(args.name), cases, deterministic=True, shield=shield))
        label = f"{args.name}{', shielded' if shield else ''}"
        print(f"{label:34s} {mean:.3f} ± {half:.3f}   (recorded {recorded[0]:.3f} ± {recorded[1]:.3f})", flush=True)
        agrees = agrees and abs(mean - recorded[0]) <= half
    for name in (b.strip() for b in args.baselines.split(",") if b.strip()):
        m, h = mean_ci(play_reference(name, cases))
        print(f"{name:34s} {m:.3f} ± {h:.3f}")
    print("the reruns agree with the recorded scores" if agrees else "a rerun DIFFERS from its recorded score")
    return 0 if agrees else 1


if __name__ == "__main__":
    sys.exit(main())
