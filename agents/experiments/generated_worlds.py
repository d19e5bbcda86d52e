"""Generated worlds: what the distribution of ``gym_llmroute.generated`` looks like, and what a world costs.

    python benchmarks/generated_worlds.py [--worlds 200] [--show 0,1,2,3,4,5] [--out docs/results] [--no-plot]

Over worlds ``0 .. worlds-1`` (``generate_scenario(w)``, the rules in docs/worlds.md) it reports the
distribution of the catalog size N, of the cost span (priciest over cheapest mean cost), of the budget
relative to the cheapest feasible deployment, of the oracle's value V* per query (its total over T),
of the share of dominated models (some other model at least as good and at most as dear, better in one),
and of M_max; and the time to generate a world, split into the stage oracle that ``Scenario`` solves to
validate it (``gym_llmroute.oracle.stage_oracle``, timed on its own) and the rest
(the generator, the ModelSpecs and the scenario's other checks; the best of three calls per world,
with the oracle stubbed out, since the machine may be shared).

Writes ``generated_worlds.png`` to ``--out``: one panel per world of ``--show`` (mean cost on a log
axis against quality; filled circles are there from the start, triangles arrive later, coloured by
arrival; crosses mark models that retire; the line is the catalog's Pareto frontier; the dashed line
is the budget b, the dotted ones the cheapest deployment's cost and the frontier's, between which the
budget rule draws), then histograms of N and of the cost span. The summary goes to standard output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import gym_llmroute.compiled as compiled_module
from gym_llmroute import Scenario
from gym_llmroute.generated import GRID, budget_bounds, generate_scenario
from gym_llmroute.oracle import StageOracle, stage_oracle


def dominated(s: Scenario) -> np.ndarray:
    """Models some other model beats: at least as good and at most as dear, better in one."""
    q, c = s.mean_quality, s.mean_cost
    weak = (q[None, :] >= q[:, None]) & (c[None, :] <= c[:, None])
    strict = (q[None, :] > q[:, None]) | (c[None, :] < c[:, None])
    return np.any(weak & strict, axis=1)


def measure(worlds: range, repeats: int = 3) -> tuple[list[Scenario], dict[str, np.ndarray]]:
    """Generate every world; time the generation without the stage oracle (the best of ``repeats``
    calls, the oracle replaced by a stub, so that the figure is the generator's and the scenario
    validation's own cost on a shared machine) and the stage oracle alone (one solve per world)."""
    solve = compiled_module.stage_oracle

    def stub(s):
        K, N = s.n_stages, s.n_models
        return StageOracle(np.zeros(K), np.zeros((K, N), bool), np.zeros((K, s.n_tasks, N)), 0.0)

    generate_scenario(0)  # warm the caches (facts, combinations)
    rest = []
    compiled_module.stage_oracle = stub  # Scenario.oracle calls it through the module
    try:
        for w in worlds:
            best = np.inf
            for _ in range(repeats):
                t = time.perf_counter()
                generate_scenario(w)
                best = min(best, time.perf_counter() - t)
            rest.append(best)
    finally:
        compiled_module.stage_oracle = solve
    scenarios, oracle = [], []
    for w in worlds:
        s = generate_scenario(w)
        t = time.perf_counter()
        stage_oracle(s)
        oracle.append(time.perf_counter() - t)
        scenarios.append(s)
    stats: dict[str, np.ndarray] = {
        "time_rest": np.array(rest),
        "time_oracle": np.array(oracle),
        "N": np.array([s.n_models for s in scenarios]),
        "M_max": np.array([s.max_deployed for s in scenarios]),
        "span": np.array([s.mean_cost.max() / s.mean_cost.min() for s in scenarios]),
        "dominated": np.array([dominated(s).mean() for s in scenarios]),
        "V*": np.array([s.oracle.total / s.horizon for s in scenarios]),
        "pools": np.array([len({s.availability[k].tobytes() for k in range(s.n_stages)}) for s in scenarios]),
    }
    bounds = np.array(
        [budget_bounds(s.mean_quality, s.mean_cost, s.throughput, s.availability, s.max_deployed) for s in scenarios]
    )
    stats["b/cheapest"] = np.array([s.budget for s in scenarios]) / bounds[:, 0]
    stats["frontier/b"] = bounds[:, 1] / np.array([s.budget for s in scenarios])
    return scenarios, stats


def summary(stats: dict[str, np.ndarray]) -> str:
    lines = [f"{'':<14} {'mean':>9} {'min':>9} {'p10':>9} {'median':>9} {'p90':>9} {'max':>9}"]
    for key, v in stats.items():
        scale, unit = (1e3, " ms") if key.startswith("time") else (1.0, "")
        q = np.percentile(v * scale, [10, 50, 90])
        lines.append(
            f"{key + unit:<14} {v.mean() * scale:>9.4g} {v.min() * scale:>9.4g} {q[0]:>9.4g} {q[1]:>9.4g} "
            f"{q[2]:>9.4g} {v.max() * scale:>9.4g}"
        )
    big = stats["N"] >= 30
    if big.any():
        lines.append(
            f"oracle for N >= 30 ({big.sum()} worlds): mean {stats['time_oracle'][big].mean() * 1e3:.1f} ms, "
            f"max {stats['time_oracle'][big].max() * 1e3:.1f} ms"
        )
    lines.append(f"share of worlds with a dominated model: {np.mean(stats['dominated'] > 0):.3f}")
    lines.append(f"share of worlds whose cost span is at least 100x: {np.mean(stats['span'] >= 100):.3f}")
    return "\n".join(lines)


def _frontier(q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto frontier as a staircase: cheapest first, each point better than all cheaper ones."""
    order = np.lexsort((-q, c))
    xs: list[float] = []
    ys: list[float] = []
    best = -np.inf
    for i in order:
        if q[i] > best:
            if xs:
                xs.append(c[i])
                ys.append(best)
            xs.append(c[i])
            ys.append(q[i])
            best = q[i]
    return np.array(xs), np.array(ys)


def plot(scenarios: list[Scenario], stats: dict[str, np.ndarray], show: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_panels = len(show) + 2
    cols = 4
    rows = -(-n_panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.7 * rows), squeeze=False, layout="constrained")
    cmap = plt.get_cmap("viridis")
    for ax, w in zip(axes.flat, show, strict=False):
        s = scenarios[w] if w < len(scenarios) else generate_scenario(w)
        q, c = s.mean_quality, s.mean_cost
        arrival = np.array([m.arrival for m in s.models])
        retires = np.array([m.retirement is not None for m in s.models])
        lo, hi = budget_bounds(q, c, s.throughput, s.availability, s.max_deployed)
        start = arrival == 0
        ax.scatter(c[start], q[start], s=30, color="black", label="at the start", zorder=3)
        sc = ax.scatter(
            c[~start], q[~start], s=40, marker="^", c=arrival[~start], cmap=cmap, vmin=0, vmax=1, zorder=3,
            label="arrives later",
        )  # fmt: skip
        ax.scatter(c[retires], q[retires], s=80, marker="x", color="tab:red", zorder=4, label="retires")
        fx, fy = _frontier(q, c)
        ax.plot(fx, fy, color="tab:gray", lw=1.0, zorder=2, label="Pareto frontier")
        ax.axvline(s.budget, color="tab:blue", ls="--", lw=1.2, label="budget b")
        for x in (lo, hi):
            ax.axvline(x, color="tab:blue", ls=":", lw=0.9)
        ax.set_xscale("log")
        ax.set_title(
            f"world {w}: N={s.n_models}, M_max={s.max_deployed}\n"
            f"b={s.budget:.3g} (cheapest {lo:.3g}, frontier {hi:.3g}), V*={s.oracle.total / s.horizon:.3f}",
            fontsize=8.5,
        )
        ax.set_xlabel("mean cost per query (GPT-4 (0314) = 1)", fontsize=8)
        ax.set_ylabel("quality", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, which="both", lw=0.4)
    first = axes.flat[0]
    first.legend(fontsize=6.5, loc="lower right")
    bar = fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.5, pad=0.01)
    bar.set_label("arrival (fraction of T)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ax = axes.flat[len(show)]
    bins = np.arange(3.5, 41.5, 1.0)
    ax.hist(stats["N"], bins=bins, color="tab:gray", edgecolor="white")
    ax.set_title(f"catalog size N over {len(stats['N'])} worlds\n(log-uniform on 4..40)", fontsize=8.5)
    ax.set_xlabel("N", fontsize=8)
    ax.set_ylabel("worlds", fontsize=8)
    ax.tick_params(labelsize=7)
    ax = axes.flat[len(show) + 1]
    ax.hist(stats["span"], bins=np.logspace(0, 4, 33), color="tab:gray", edgecolor="white")
    ax.set_xscale("log")
    ax.set_title(
        f"cost span (max / min mean cost) over {len(stats['span'])} worlds\nmedian {np.median(stats['span']):.0f}x",
        fontsize=8.5,
    )
    ax.set_xlabel("span", fontsize=8)
    ax.set_ylabel("worlds", fontsize=8)
    ax.tick_params(labelsize=7)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    fig.suptitle(
        f"Generated worlds (gym_llmroute.generated): sampled catalogs; arrivals and retirements on the {GRID}-stage grid",
        fontsize=11,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=200, help="worlds 0 .. worlds-1 (default 200)")
    parser.add_argument("--show", default="0,1,2,3,4,5", help="worlds drawn in the figure (default 0,1,2,3,4,5)")
    parser.add_argument("--out", type=Path, default=Path("docs/results"), help="folder of the figure")
    parser.add_argument("--no-plot", action="store_true", help="only print the summary")
    args = parser.parse_args(argv)
    if args.worlds < 1:
        parser.error("argument --worlds: must be >= 1")
    try:
        show = [int(x) for x in args.show.split(",") if x.strip()]
    except ValueError:
        parser.error(f"argument --show: a comma-separated list of world indices, got {args.show!r}")
    if any(w < 0 for w in show):
        parser.error("argument --show: world indices must be >= 0")
    scenarios, stats = measure(range(args.worlds))
    print(summary(stats))
    if not args.no_plot:
        path = args.out / "generated_worlds.png"
        plot(scenarios, stats, show, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
