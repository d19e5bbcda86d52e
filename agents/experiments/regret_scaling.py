"""Regret scaling: does StageRoute's regret grow like T^(2/3) and track the oracle?

    python benchmarks/regret_scaling.py [--out docs/results] [--seeds 5] [--holdout 20] [--workers 2] [--quick]

For T in {10^3, 10^4, 10^5} with K = round(T^(1/3)) stages, the world of ``LLMRoute-v0``
(``gym.make("LLMRoute-v0", horizon=T, n_stages=K)``: the ``paper`` preset, whose arrival and
retirement times are fractions of the horizon, default hard budget) is run by every reference agent
on the same seeds (common random numbers).

Two phases, so that the figures the targets are judged on come from seeds no choice was made on:

1. **Sweep** (seeds ``0 .. seeds-1``): every agent of ``CONFIGS``: the default StageRoute, StageRoute
   at other gammas (the default gamma is chosen across all worlds by
   ``benchmarks/stageroute_ablation.py``; this sweep shows the paper world's side of it), the paper's
   literal algorithm (``stageroute_literal``, fixed b, no price prior), the bandits-with-knapsacks
   agents and the baselines. Two rows rerun StageRoute and the literal algorithm with
   ``budget_mode="average"``, the paper's reading of the budget (a per-query average the routing
   distribution must meet, so overspend is reported, not stopped).
2. **Held out** (seeds ``seeds .. seeds+holdout-1``, never seen in phase 1): the default StageRoute,
   Greedy and Static at the default gamma, so their slopes compare on equal bounds.

Per agent and T: final pseudo-regret, reward as a fraction of the oracle value, spend over budget,
share of the queries served (the hard budget ends an episode early), as means with 95% t-intervals
over seeds; and the least-squares slope of log(mean regret) against log(T). The table ends with the
targets checked for the default StageRoute (sweep, held-out and average-budget rows). Writes
``regret_scaling.md`` (the table), ``regret_scaling.png`` (log-log regret against T) and
``regret_scaling.json`` (every episode) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers LLMRoute-v0)
from agents import mean_ci
from agents.experiments.local import map_jobs
from agents.experiments.report import fit_slope, pm
from agents.files import atomic_write
from agents.policies.stageroute import DEFAULT_GAMMA

# (label, agent name, keyword arguments); the keys of ENV_KEYS go to gym.make, the others to the agent.
ENV_KEYS = ("budget_mode",)
DEFAULT = f"stageroute g={DEFAULT_GAMMA:g} (default)"
CONFIGS: list[tuple[str, str, dict]] = [
    (DEFAULT, "stageroute", {}),
    ("stageroute g=0.05", "stageroute", {"gamma": 0.05}),
    ("stageroute g=0.2", "stageroute", {"gamma": 0.2}),
    ("stageroute g=0.5", "stageroute", {"gamma": 0.5}),
    ("stageroute g=2", "stageroute", {"gamma": 2.0}),
    ("stageroute g=0.05, one gamma for both radii", "stageroute", {"gamma": 0.05, "cost_gamma": None}),
    ("stageroute_literal", "stageroute_literal", {}),
    ("ucb_bwk", "ucb_bwk", {}),
    ("primal_dual", "primal_dual", {}),
    ("thompson", "thompson", {}),
    ("greedy", "greedy", {}),
    ("static", "static", {}),
    ("cheapest", "cheapest", {}),
    ("strongest", "strongest", {}),
    ("random", "random", {}),
    ("oracle", "oracle", {}),
    # The paper's budget is a per-query average (a constraint on the routing distribution, not a
    # stopping rule): the same agents with budget_mode="average", overspend reported, never stopped.
    (f"{DEFAULT}, average budget", "stageroute", {"budget_mode": "average"}),
    ("stageroute_literal, average budget", "stageroute_literal", {"budget_mode": "average"}),
]
KEEP = (
    "regret",
    "reward",
    "oracle_value",
    "reward_fraction",
    "cost",
    "budget",
    "spend_fraction",
    "queries_served",
    "horizon",
    "invalid_actions",
    "stage_end_time",
    "stage_end_regret",
    "stage_end_spend",
)


def run_job(job: tuple[str, str, dict, int, int]) -> dict:
    label, name, kwargs, horizon, seed = job
    env_kw = {key: value for key, value in kwargs.items() if key in ENV_KEYS}
    agent_kw = {key: value for key, value in kwargs.items() if key not in ENV_KEYS}
    env = gym.make("LLMRoute-v0", horizon=horizon, n_stages=round(horizon ** (1 / 3)), **env_kw)
    result = agents.run_episode(agents.make(name, env, **agent_kw), env, seed)
    out = {key: result[key] for key in KEEP}
    out.update(label=label, seed=seed, deployments=result["deployments"])
    return out


HELD_OUT = " [held out]"
AVERAGE = "average budget"
# Agents rerun on the held-out seeds at the default gamma (phase 2).
HELD_OUT_AGENTS = ("stageroute", "greedy", "static")


def held_out_configs() -> list[tuple[str, str, dict]]:
    return [(f"{name} g={DEFAULT_GAMMA:g} (default){HELD_OUT}", name, {}) for name in HELD_OUT_AGENTS]


def summarise(episodes: list[dict], horizons: list[int]) -> list[dict]:
    """Per label (in order of first appearance in ``CONFIGS``, then in ``episodes``): means with 95%
    t-intervals per T, and the log-log slope."""
    labels = [label for label, _, _ in CONFIGS]
    labels += [e["label"] for e in episodes if e["label"] not in labels]
    rows = []
    for label in dict.fromkeys(labels):
        row: dict = {"label": label, "by_T": {}}
        for T in horizons:
            eps = [e for e in episodes if e["label"] == label and e["horizon"] == T]
            if not eps:
                continue
            row["by_T"][T] = {
                "regret": mean_ci(e["regret"] for e in eps),
                "reward_fraction": mean_ci(e["reward_fraction"] for e in eps),
                "spend_fraction": mean_ci(e["spend_fraction"] for e in eps),
                "served_fraction": mean_ci(e["queries_served"] / e["horizon"] for e in eps),
                "invalid_actions": int(sum(e["invalid_actions"] for e in eps)),
                "n": len(eps),
            }
        if not row["by_T"]:
            continue
        Ts = sorted(row["by_T"])
        row["slope"] = fit_slope(Ts, [row["by_T"][T]["regret"][0] for T in Ts])
        rows.append(row)
    return rows


SLOPE_TARGET, REWARD_TARGET = 0.70, 0.97


def targets(row: dict, T_last: int) -> list[str]:
    """The targets for one StageRoute row, as markdown bullets with a verdict each."""
    last = row["by_T"].get(T_last)
    if last is None:
        return [f"- no episodes at T = {T_last:,}"]
    slope = row["slope"]
    frac, frac_half = last["reward_fraction"]
    spend = last["spend_fraction"][0]
    served = last["served_fraction"][0]
    low = frac - frac_half if math.isfinite(frac_half) else frac

    def mark(ok: bool) -> str:
        return "met" if ok else "**missed**"

    return [
        f"- slope {slope:.2f} <= {SLOPE_TARGET}: {mark(slope <= SLOPE_TARGET)}"
        if math.isfinite(slope)
        else "- slope: not measurable (a mean regret is <= 0, so no log-log fit)",
        f"- reward/oracle at T = {T_last:,}: {pm(last['reward_fraction'], '.3f')} >= {REWARD_TARGET}: "
        f"{mark(frac >= REWARD_TARGET)} on the mean"
        + ("" if low >= REWARD_TARGET else f" (the 95% interval reaches down to {low:.3f})"),
        f"- spend/budget {spend:.3f} <= 1: {mark(spend <= 1.0)}; queries served {served:.3f}"
        + ("" if served >= 1.0 else " (the hard budget ended some episodes early)"),
    ]


def markdown(rows: list[dict], horizons: list[int], seeds: int, holdout: int = 0) -> str:
    T_last = max(horizons)
    head = (
        ["agent"]
        + [f"regret T={T:,}" for T in horizons]
        + ["slope", f"reward/oracle T={T_last:,}", f"spend/budget T={T_last:,}", f"served T={T_last:,}"]
    )
    held = ""
    if holdout:
        held = (
            f" Rows marked{HELD_OUT} ran on {holdout} other seeds ({seeds}..{seeds + holdout - 1}) at the default "
            f"gamma = {DEFAULT_GAMMA:g} (chosen across worlds by benchmarks/stageroute_ablation.py)."
        )
    lines = [
        f"Regret scaling on LLMRoute-v0 (paper preset; hard budget unless the label says {AVERAGE}), "
        f"K = round(T^(1/3)); sweep on seeds "
        f"0..{seeds - 1}; mean ± 95% t-interval; slope = least-squares fit of log(mean regret) on log(T).{held}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for row in rows:
        by = row["by_T"]
        cells = [row["label"]]
        cells += [pm(by[T]["regret"], ".0f") if T in by else "" for T in horizons]
        cells.append("n/a" if not math.isfinite(row["slope"]) else f"{row['slope']:.2f}")
        last = by.get(T_last)
        if last is None:
            cells += ["", "", ""]
        else:
            cells += [
                pm(last["reward_fraction"], ".3f"),
                pm(last["spend_fraction"], ".3f"),
                pm(last["served_fraction"], ".3f"),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    invalid = sum(v["invalid_actions"] for r in rows for v in r["by_T"].values())
    lines += ["", f"Invalid actions over all episodes: {invalid}."]
    checked = [r for r in rows if r["label"].startswith("stageroute ") and "(default)" in r["label"]]
    if checked:
        lines += ["", "## Targets for the default StageRoute", ""]
        for row in checked:
            lines += [f"**{row['label']}**", ""] + targets(row, T_last) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


PAPER_SET = ("stageroute", "greedy", "static", "random", "oracle")


def plot(rows: list[dict], horizons: list[int], path: Path) -> None:
    """Four panels: log-log regret of StageRoute's gamma sweep (with the oracle); of the default
    StageRoute against Greedy, Static, Random and the oracle (held-out rows included); of the
    literal algorithm, the bandits-with-knapsacks and simple baselines and the average-budget rows
    (the default StageRoute and the oracle for reference); and reward over the oracle value at the
    largest T, as bars with 95% CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 2, figsize=(16, 13))
    axes = grid.ravel()
    colors = [cmap(i) for cmap in map(plt.get_cmap, ("tab20", "Dark2")) for i in range(cmap.N)]
    color = {row["label"]: colors[i % len(colors)] for i, row in enumerate(rows)}
    T0, T1 = min(horizons), max(horizons)
    ref = next((r for r in rows if r["label"] == DEFAULT), rows[0])
    r0 = ref["by_T"].get(T0, {}).get("regret", (math.nan,))[0]

    def draw(ax, selected, title):
        for i, row in enumerate(selected):
            Ts = np.array(sorted(row["by_T"]))
            reg = np.array([row["by_T"][T]["regret"][0] for T in Ts])
            half = np.nan_to_num(np.array([row["by_T"][T]["regret"][1] for T in Ts]))
            ok = reg > 0
            lower = np.minimum(half, 0.9 * reg)  # log axis: keep the lower whisker above zero
            slope = row["slope"]
            label = f"{row['label']}  (slope {slope:.2f})" if math.isfinite(slope) else f"{row['label']}  (slope n/a)"
            bold = row["label"].startswith("stageroute") or row["label"] == "oracle" or HELD_OUT in row["label"]
            ax.errorbar(
                Ts[ok],
                reg[ok],
                yerr=[lower[ok], half[ok]],
                label=label,
                color=color[row["label"]],
                linestyle=("-", "--", "-.", ":")[i % 4],
                linewidth=2.2 if bold else 1.4,
                marker="o",
                markersize=4,
                capsize=2,
            )
        if math.isfinite(r0) and r0 > 0:
            for power, name in ((2 / 3, "slope 2/3"), (1.0, "slope 1")):
                ax.plot([T0, T1], [r0, r0 * (T1 / T0) ** power], color="0.55", linewidth=1, linestyle=(0, (1, 3)))
                ax.annotate(
                    name,
                    (T1, r0 * (T1 / T0) ** power),
                    fontsize=8,
                    color="0.35",
                    xytext=(4, -3),
                    textcoords="offset points",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("horizon T (queries); K = round(T^(1/3)) stages")
        ax.set_ylabel("final pseudo-regret (mean over seeds, 95% CI)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left", framealpha=0.9)

    def first(label: str) -> str:
        return label.split()[0]

    average = [r for r in rows if AVERAGE in r["label"]]
    hard = [r for r in rows if AVERAGE not in r["label"]]
    sweep = [r for r in hard if first(r["label"]) == "stageroute" and HELD_OUT not in r["label"]]
    sweep += [r for r in rows if r["label"] == "oracle"]
    held = [r for r in rows if HELD_OUT in r["label"]]
    paper = [r for r in hard if first(r["label"]) in PAPER_SET and HELD_OUT not in r["label"]]
    paper = [r for r in paper if first(r["label"]) != "stageroute" or r is ref]
    others = [r for r in hard if first(r["label"]) not in PAPER_SET or r is ref or r["label"] == "oracle"]
    draw(axes[0], sweep, "StageRoute over the gamma sweep (sweep seeds)")
    draw(axes[1], paper + held, "StageRoute against the paper's baselines")
    draw(axes[2], others + average, "Bandits-with-knapsacks, simple baselines, average budget")

    ax = axes[3]
    labels = [r["label"] for r in rows if T1 in r["by_T"]]
    frac = np.array([r["by_T"][T1]["reward_fraction"][0] for r in rows if T1 in r["by_T"]])
    half = np.nan_to_num(np.array([r["by_T"][T1]["reward_fraction"][1] for r in rows if T1 in r["by_T"]]))
    y = np.arange(len(labels))[::-1]
    lo = 0.8  # zoom on the contenders; lower values are written on their (clipped) bars
    ax.barh(y, frac - lo, left=lo, xerr=half, color=[color[lab] for lab in labels], capsize=2)
    for yi, f in zip(y, frac, strict=True):
        ax.text(1.012, yi, f"{f:.3f}", fontsize=7.5, va="center")
    ax.axvline(REWARD_TARGET, color="k", linestyle="--", linewidth=1)
    ax.annotate(
        f"target {REWARD_TARGET}",
        (REWARD_TARGET, y[0] + 0.6),
        fontsize=8,
        ha="right",
        xytext=(-3, 0),
        textcoords="offset points",
    )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(lo, 1.045)
    ax.set_xlabel(f"reward / oracle value at T = {T1:,} (95% CI)")
    ax.set_title("Reward as a fraction of the oracle")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results"), help="results directory (default docs/results)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="sweep seeds per agent and horizon (default 5)")
    parser.add_argument(
        "--holdout", type=int, default=20, help="held-out seeds for the selected gamma (default 20; 0 skips phase 2)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--horizons", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="horizons T")
    parser.add_argument("--quick", action="store_true", help="tiny run: T in {200, 1000}, 2 sweep and 2 held-out seeds")
    parser.add_argument("--replot", action="store_true", help="redo the table and figure from --out's JSON, no runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.horizons, args.seeds, args.holdout = [200, 1_000], 2, 2
    if args.seeds < 1 or args.holdout < 0 or args.workers < 1 or min(args.horizons) < 10:
        parser.error("--seeds and --workers must be >= 1, --holdout >= 0 and every horizon >= 10")
    horizons = sorted(set(args.horizons))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        saved = json.loads((args.out / "regret_scaling.json").read_text())
        horizons, args.seeds, episodes = saved["horizons"], saved["seeds"], saved["episodes"]
        args.holdout = saved.get("holdout", 0)
    else:
        episodes = run_all(CONFIGS, horizons, range(args.seeds), args.workers, "sweep")
        if args.holdout:
            held = range(args.seeds, args.seeds + args.holdout)
            episodes += run_all(held_out_configs(), horizons, held, args.workers, "held out")
    rows = summarise(episodes, horizons)
    table = markdown(rows, horizons, args.seeds, args.holdout)
    atomic_write(args.out / "regret_scaling.md", lambda p: Path(p).write_text(table))
    if not args.replot:
        saved = {
            "horizons": horizons,
            "seeds": args.seeds,
            "holdout": args.holdout,
            "gamma": DEFAULT_GAMMA,
            "episodes": episodes,
        }
        atomic_write(args.out / "regret_scaling.json", lambda p: Path(p).write_text(json.dumps(saved)))
    atomic_write(args.out / "regret_scaling.png", lambda p: plot(rows, horizons, Path(p)))
    print(table)
    print(
        f"wrote {args.out / 'regret_scaling.md'}, {args.out / 'regret_scaling.png'}, {args.out / 'regret_scaling.json'}"
    )


def run_all(configs, horizons: list[int], seeds, workers: int, desc: str) -> list[dict]:
    """Every (config, T, seed) episode, on ``workers`` processes, with a progress bar."""
    jobs = [(label, name, kw, T, seed) for T in horizons for label, name, kw in configs for seed in seeds]
    return map_jobs(run_job, jobs, workers, desc, longest_first=lambda j: j[3])


if __name__ == "__main__":
    main()
