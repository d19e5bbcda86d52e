"""StageRoute's defaults, measured: one gamma for every world, and what each choice buys.

    python benchmarks/stageroute_ablation.py [--out docs/results] [--seeds 5] [--holdout 20]
        [--ablation-seeds 10] [--workers 1] [--quick] [--replot]

Three phases on the five worlds (``paper``, ``market``, ``typed``, ``trace``, ``realdata``, each at
its default horizon, so ``realdata`` plays T = 20,000 queries), hard budget unless said otherwise:

1. **Sweeps** (seeds ``0 .. seeds-1``). (a) The reward radius: StageRoute at every gamma of
   ``GAMMAS`` (cost_gamma at its default) on every world, and on the paper world at
   T = 10^3, 10^4, 10^5 (K = round(T^(1/3))) for the log-log slope of regret. The selected gamma
   has the highest mean over worlds of the mean reward/oracle among those whose slope is at most
   ``SLOPE_TARGET`` (the lowest slope if none is; ties: the smaller gamma): a short horizon alone
   rewards too little exploration, which the long one pays for. (b) The cost radius: every
   ``COST_GAMMAS`` at the selected gamma; the highest mean over worlds of reward/oracle.
2. **Held out** (seeds ``seeds .. seeds+holdout-1``, never used in phase 1): StageRoute at the
   selected pair, per world.
3. **Ablation** (``ablation-seeds`` seeds from ``seeds + holdout`` on), hard and average budget: the
   default and each of its choices undone alone (``ABLATIONS``), and the paper's literal algorithm.

Writes ``stageroute_ablation.md`` (tables), ``stageroute_ablation.json`` (every episode) and
``stageroute_ablation.png`` (reward/oracle and spend/budget per variant and world) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers the ids)
from agents import mean_ci
from agents.experiments.budget_ladder import WORLDS  # the five named worlds: name -> env id
from agents.experiments.local import map_jobs
from agents.experiments.report import fit_slope
from agents.files import atomic_write
from agents.policies.stageroute import DEFAULT_COST_GAMMA, DEFAULT_GAMMA

GAMMAS = (0.05, 0.2, 0.5, 1.0, 2.0)
COST_GAMMAS = (0.01, 0.02, 0.05, 0.1)
SLOPE_HORIZONS = (1_000, 10_000, 100_000)
SLOPE_TARGET = 0.70
# (label, agent name, agent keyword arguments): the default, then one choice undone at a time.
ABLATIONS: list[tuple[str, str, dict]] = [
    ("default", "stageroute", {}),
    ("literal (fixed b, no prior)", "stageroute_literal", {}),
    ("pacing off", "stageroute", {"pacing": False}),
    ("pacing margin 0", "stageroute", {"pacing_margin": 0.0}),
    ("untried UCB = 2 gamma", "stageroute", {"optimistic": False}),
    ("cost prior off", "stageroute", {"cost_prior": None}),
    ("cost prior slack 0.5", "stageroute", {"cost_prior": 0.5}),
    ("one gamma for both radii", "stageroute", {"cost_gamma": None}),
    ("one gamma = 0.05 for both", "stageroute", {"gamma": 0.05, "cost_gamma": None}),
]
KEEP = ("reward_fraction", "spend_fraction", "queries_served", "horizon", "regret")


def run_job(job: tuple[str, str, str, dict, str, int, int | None]) -> dict:
    phase, label, name, kwargs, world, seed, horizon = job
    mode = kwargs.get("budget_mode")
    env_kw = {} if mode is None else {"budget_mode": mode}
    if horizon is not None:
        env_kw.update(horizon=horizon, n_stages=max(1, round(horizon ** (1 / 3))))
    env = gym.make(WORLDS[world], **env_kw)
    agent_kw = {k: v for k, v in kwargs.items() if k != "budget_mode"}
    result = agents.run_episode(agents.make(name, env, **agent_kw), env, seed)
    out = {key: result[key] for key in KEEP}
    out.update(phase=phase, label=label, world=world, seed=seed, budget_mode=mode or "hard")
    out.update(gamma=agent_kw.get("gamma", DEFAULT_GAMMA), cost_gamma=agent_kw.get("cost_gamma", DEFAULT_COST_GAMMA))
    return out


def run_all(jobs: list, workers: int, desc: str) -> list[dict]:
    # realdata's episodes are the longest: first, for load balance.
    return map_jobs(run_job, jobs, workers, desc, longest_first=lambda j: j[4] == "realdata")


def _mean_reward(episodes: list[dict], key: str, value: float) -> float:
    """Mean over worlds of the mean reward/oracle of the episodes with ``key == value``."""
    worlds = sorted({e["world"] for e in episodes})
    per_world = [[e["reward_fraction"] for e in episodes if e[key] == value and e["world"] == w] for w in worlds]
    return float(np.mean([np.mean(v) for v in per_world if v]))


def slopes(episodes: list[dict]) -> dict[float, float]:
    """Per reward gamma, the log-log slope of the paper world's mean regret over the slope phase's T."""
    out = {}
    for gamma in sorted({e["gamma"] for e in episodes if e["phase"] == "slope"}):
        es = [e for e in episodes if e["phase"] == "slope" and e["gamma"] == gamma]
        Ts = sorted({e["horizon"] for e in es})
        out[gamma] = fit_slope(Ts, [float(np.mean([e["regret"] for e in es if e["horizon"] == T])) for T in Ts])
    return out


def select_gamma(episodes: list[dict]) -> float:
    """The reward gamma with the best mean reward/oracle over worlds among those whose paper-world
    regret slope meets ``SLOPE_TARGET`` (the lowest slope if none does; ties: the smaller gamma)."""
    sweep = [e for e in episodes if e["phase"] == "sweep"]
    slope = slopes(episodes)
    ok = [g for g, sl in slope.items() if sl <= SLOPE_TARGET]
    if not ok:
        return min(slope, key=lambda g: (slope[g], g))
    return max(ok, key=lambda g: (_mean_reward(sweep, "gamma", g), -g))


def select_cost_gamma(episodes: list[dict]) -> float:
    """The cost gamma with the best mean reward/oracle over worlds (ties: the smaller)."""
    sweep = [e for e in episodes if e["phase"] == "cost sweep"]
    return max(sorted({e["cost_gamma"] for e in sweep}), key=lambda g: (_mean_reward(sweep, "cost_gamma", g), -g))


def _pm(values, fmt: str = ".3f") -> str:
    m, h = mean_ci(values)
    return f"{m:{fmt}} ± {h:{fmt}}"


def _sweep_table(
    sweep: list[dict], worlds: list[str], key: str, selected: float, extra: dict | None = None
) -> list[str]:
    head = f"| {key} | " + " | ".join(worlds) + " | mean |" + (" paper slope (10^3..10^5) |" if extra else "")
    lines = [head, "|---:|" + "---:|" * (len(worlds) + 1) + ("---:|" if extra else "")]
    for value in sorted({e[key] for e in sweep}):
        cells, means = [], []
        for w in worlds:
            vals = [e["reward_fraction"] for e in sweep if e[key] == value and e["world"] == w]
            cells.append(_pm(vals) if vals else "")
            means.extend([np.mean(vals)] if vals else [])
        mark = " (selected)" if value == selected else ""
        tail = f" {extra[value]:.2f} |" if extra else ""
        lines.append(f"| {value:g}{mark} | " + " | ".join(cells) + f" | {np.mean(means):.3f} |" + tail)
    return lines


def markdown(episodes: list[dict], selected: tuple[float, float], seeds: int, holdout: int, ablation_seeds: int) -> str:
    gamma, cost_gamma = selected
    worlds = [w for w in WORLDS if any(e["world"] == w for e in episodes)]
    lines = [
        "# StageRoute's defaults: gamma sweeps, held-out check and ablation",
        "",
        "Made by `python benchmarks/stageroute_ablation.py`. Mean ± 95% t-interval over seeds; every world at its "
        "default horizon (realdata: T = 20,000), hard budget unless the column says average.",
        "",
        f"## 1a. Reward gamma (seeds 0..{seeds - 1}, cost_gamma = {DEFAULT_COST_GAMMA:g}): reward / oracle",
        "",
        f"Selected: the best mean among the gammas whose regret slope on the paper world is <= {SLOPE_TARGET}.",
        "",
    ]
    lines += _sweep_table([e for e in episodes if e["phase"] == "sweep"], worlds, "gamma", gamma, slopes(episodes))
    lines += [
        "",
        f"## 1b. Cost gamma (seeds 0..{seeds - 1}, gamma = {gamma:g}): reward / oracle",
        "",
    ]
    lines += _sweep_table([e for e in episodes if e["phase"] == "cost sweep"], worlds, "cost_gamma", cost_gamma)
    same = (gamma, cost_gamma) == (DEFAULT_GAMMA, DEFAULT_COST_GAMMA)
    lines += [
        "",
        f"Selected gamma = {gamma:g}, cost_gamma = {cost_gamma:g}; the package defaults are "
        f"{DEFAULT_GAMMA:g} and {DEFAULT_COST_GAMMA:g}"
        + (" (the same)." if same else " (they differ: update DEFAULT_GAMMA / DEFAULT_COST_GAMMA)."),
        "",
        f"## 2. Held out (seeds {seeds}..{seeds + holdout - 1}): StageRoute at the selected pair, hard budget",
        "",
        "| world | reward / oracle | spend / budget | served |",
        "|---|---:|---:|---:|",
    ]
    held = [e for e in episodes if e["phase"] == "held out"]
    for w in worlds:
        es = [e for e in held if e["world"] == w]
        if es:
            lines.append(
                f"| {w} | {_pm([e['reward_fraction'] for e in es])} | {_pm([e['spend_fraction'] for e in es])} | "
                f"{_pm([e['queries_served'] / e['horizon'] for e in es])} |"
            )
    first = seeds + holdout
    lines += [
        "",
        f"## 3. Ablation (seeds {first}..{first + ablation_seeds - 1}): one choice undone at a time",
        "",
        "Reward / oracle with the hard budget; spend / budget (mean, and the largest seed in brackets) with the "
        "average budget, where an overspend is reported, not stopped.",
        "",
        "| variant | " + " | ".join(f"{w}: reward (hard) | {w}: spend (average)" for w in worlds) + " |",
        "|---|" + "---:|---:|" * len(worlds),
    ]
    abl = [e for e in episodes if e["phase"] == "ablation"]
    for label, _, _ in ABLATIONS:
        cells = []
        for w in worlds:
            hard = [
                e["reward_fraction"]
                for e in abl
                if e["label"] == label and e["world"] == w and e["budget_mode"] == "hard"
            ]
            avg = [
                e["spend_fraction"]
                for e in abl
                if e["label"] == label and e["world"] == w and e["budget_mode"] == "average"
            ]
            cells.append(_pm(hard) if hard else "")
            cells.append(f"{_pm(avg)} [{max(avg):.3f}]" if avg else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(episodes: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    abl = [e for e in episodes if e["phase"] == "ablation"]
    worlds = [w for w in WORLDS if any(e["world"] == w for e in abl)]
    labels = [label for label, _, _ in ABLATIONS]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / len(labels)
    x = np.arange(len(worlds))
    for panel, (mode, key, title) in enumerate(
        (
            ("hard", "reward_fraction", "reward / oracle (hard budget)"),
            ("average", "spend_fraction", "spend / budget (average budget)"),
        )
    ):
        ax = axes[panel]
        for i, label in enumerate(labels):
            stats = [
                mean_ci([e[key] for e in abl if e["label"] == label and e["world"] == w and e["budget_mode"] == mode])
                for w in worlds
            ]
            ax.bar(
                x + (i - (len(labels) - 1) / 2) * width,
                [s[0] for s in stats],
                width,
                yerr=[s[1] for s in stats],
                label=label,
                capsize=2,
            )
        ax.set_xticks(x, worlds)
        ax.set_title(title)
        if key == "spend_fraction":
            ax.axhline(1.0, color="black", lw=0.8, ls="--")
            ax.set_ylim(0.0, None)
        else:
            ax.set_ylim(0.3, 1.02)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle("StageRoute ablation: each choice of the default undone alone")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results"), help="results directory (default docs/results)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="gamma-sweep seeds (default 5)")
    parser.add_argument("--holdout", type=int, default=20, help="held-out seeds (default 20)")
    parser.add_argument("--ablation-seeds", type=int, default=10, help="ablation seeds per world and mode (default 10)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: T = 300, 2 gammas of each kind, 2 seeds per phase"
    )
    parser.add_argument("--replot", action="store_true", help="redo the table and figure from --out's JSON, no runs")
    args = parser.parse_args(argv)
    if min(args.seeds, args.holdout, args.ablation_seeds, args.workers) < 1:
        parser.error("--seeds, --holdout, --ablation-seeds and --workers must be >= 1")
    gammas: tuple[float, ...] = GAMMAS
    cost_gammas: tuple[float, ...] = COST_GAMMAS
    slope_T: tuple[int, ...] = SLOPE_HORIZONS
    horizon: int | None = None
    if args.quick:
        gammas, cost_gammas, slope_T, horizon = (0.05, 1.0), (0.02, 0.1), (200, 400), 300
        args.seeds, args.holdout, args.ablation_seeds = 2, 2, 2
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "stageroute_ablation.json"
    if args.replot:
        saved = json.loads(json_path.read_text())
        episodes, selected = saved["episodes"], tuple(saved["selected"])
        args.seeds, args.holdout, args.ablation_seeds = saved["seeds"], saved["holdout"], saved["ablation_seeds"]
    else:
        seeds = range(args.seeds)
        jobs: list[tuple] = [
            ("sweep", f"gamma={g:g}", "stageroute", {"gamma": g}, w, s, horizon)
            for g in gammas
            for w in WORLDS
            for s in seeds
        ]
        jobs += [
            ("slope", f"gamma={g:g}", "stageroute", {"gamma": g}, "paper", s, T)
            for g in gammas
            for T in slope_T
            for s in seeds
        ]
        episodes = run_all(jobs, args.workers, "reward gamma sweep")
        gamma = select_gamma(episodes)
        jobs = [
            ("cost sweep", f"cost_gamma={c:g}", "stageroute", {"gamma": gamma, "cost_gamma": c}, w, s, horizon)
            for c in cost_gammas
            for w in WORLDS
            for s in seeds
        ]
        episodes += run_all(jobs, args.workers, f"cost gamma sweep at gamma={gamma:g}")
        selected = (gamma, select_cost_gamma(episodes))
        kw: dict[str, Any] = {"gamma": selected[0], "cost_gamma": selected[1]}
        held = range(args.seeds, args.seeds + args.holdout)
        jobs = [("held out", "default", "stageroute", kw, w, s, horizon) for w in WORLDS for s in held]
        episodes += run_all(jobs, args.workers, "held out")
        first = args.seeds + args.holdout
        jobs = [
            ("ablation", label, name, {**kw, **akw, "budget_mode": mode}, w, s, horizon)
            for label, name, akw in ABLATIONS
            for mode in ("hard", "average")
            for w in WORLDS
            for s in range(first, first + args.ablation_seeds)
        ]
        episodes += run_all(jobs, args.workers, "ablation")
        saved = {
            "seeds": args.seeds,
            "holdout": args.holdout,
            "ablation_seeds": args.ablation_seeds,
            "selected": list(selected),
            "episodes": episodes,
        }
        atomic_write(json_path, lambda p: Path(p).write_text(json.dumps(saved)))
    table = markdown(episodes, selected, args.seeds, args.holdout, args.ablation_seeds)
    atomic_write(args.out / "stageroute_ablation.md", lambda p: Path(p).write_text(table))
    atomic_write(args.out / "stageroute_ablation.png", lambda p: plot(episodes, Path(p)))
    print(table)
    print(f"wrote {args.out / 'stageroute_ablation.md'}, {args.out / 'stageroute_ablation.png'}, {json_path}")


if __name__ == "__main__":
    main()
