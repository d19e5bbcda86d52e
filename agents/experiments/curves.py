"""Learning curves of training runs side by side: the score (reward over the oracle value) and the
spend (over the budget) of their training episodes against training steps.

    python benchmarks/learning_curves.py RUN[=LABEL] [RUN[=LABEL] ...] [--out DIR] [--values ...]

Each RUN is a folder of :func:`agents.rl.train` (its ``monitor/`` and ``train.json``); LABEL names
its line (default: the folder's name). One figure per value (``reward_fraction.png``,
``spend_fraction.png``; :data:`agents.experiments.plots.CURVE_VALUES`), one panel per env. The
training episodes are the training policy's own (sampled actions, on the training reward's env), so
these curves show what training did, not the greedy score of the saved model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .args import csv_list
from .plots import CURVE_VALUES, plot_learning_curves

__all__ = ["main"]


def _run(text: str) -> tuple[Path, str]:
    path, _, label = text.partition("=")
    run = Path(path)
    if not (run / "train.json").exists() or not (run / "monitor").is_dir():
        raise argparse.ArgumentTypeError(f"{path!r} is not a training run (no train.json and monitor/ in it)")
    return run, label or run.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=_run, metavar="RUN[=LABEL]", help="training runs")
    parser.add_argument("--out", default="results/curves", help="folder of the figures")
    parser.add_argument(
        "--values",
        type=csv_list,
        default=["reward_fraction", "spend_fraction"],
        help=f"comma-separated, of {sorted(CURVE_VALUES)}",
    )
    args = parser.parse_args(argv)
    unknown = [v for v in args.values if v not in CURVE_VALUES]
    if unknown:
        parser.error(f"argument --values: unknown {unknown}; choose from {sorted(CURVE_VALUES)}")
    from ..rl import read_monitor

    curves: dict[tuple[str, str], list] = {}
    for run, label in args.runs:
        env_id = json.loads((run / "train.json").read_text())["env_id"]
        curves.setdefault((env_id, label), []).append(read_monitor(run / "monitor"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for value in args.values:
        print(plot_learning_curves(curves, out / f"{value}.png", value=value))
    return 0
