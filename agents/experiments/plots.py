"""PNG figures of a benchmark: regret and spend over time, deployment heatmaps, RL learning curves.

Matplotlib is imported inside the functions (with the non-interactive ``Agg`` backend), so that
``import agents`` never needs it. Every function takes the run records of a bench
(:func:`agents.run_episode` with ``record=True``, as loaded by
:func:`agents.experiments.report.load_runs`) and writes one PNG; :func:`plot_bench` writes them all
for a bench folder.

Lines are means over seeds; bands span the smallest to the largest seed (the results table gives
the 95% confidence intervals of the final numbers).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_regret", "plot_spend", "plot_deployments", "plot_learning_curves", "plot_bench", "GRID_POINTS"]

GRID_POINTS = 300
COST_UNIT = "cost units (1 = one GPT-4 query)"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _colors(names: Sequence[str], learned: Sequence[str] = ()) -> dict[str, Any]:
    """A colour per name: the oracle black, Random grey, the other reference agents tab10, and the
    learned agents (drawn dashed) tab10 again from its start."""
    plt = _plt()
    fixed = {"oracle": "black", "oracle value": "black", "random": "tab:gray"}
    cmap = plt.get_cmap("tab10")
    palette = [cmap(i) for i in range(10) if i != 7]  # 7 is grey
    out = {name: fixed[name] for name in names if name in fixed}
    reference = [n for n in names if n not in fixed and n not in learned]
    for group in (reference, [n for n in names if n in learned]):
        for i, name in enumerate(group):
            out[name] = palette[i % len(palette)]
    return out


def _save(fig, path: str | os.PathLike, **savefig_kwargs: Any) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders created), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, **savefig_kwargs)
    _plt().close(fig)
    return path


def _by_agent(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(r["agent"], []).append(r)
    return out


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, minimum and maximum over the rows of ``curves`` (one row per seed)."""
    return curves.mean(axis=0), curves.min(axis=0), curves.max(axis=0)


def _label(agent: str, rs: Sequence[dict[str, Any]]) -> str:
    steps = rs[0].get("train_steps")
    extra = f", {steps:,} training steps" if steps else ""
    return f"{agent} (n={len(rs)}{extra})"


def _title(records: Sequence[dict[str, Any]]) -> str:
    r = records[0]
    return f"{r['env_id']}, scenario '{r['scenario']}', T={r['horizon']}"


def _trace_plot(records, path, key: str, ylabel: str, title: str, budget_line: bool, zoom: bool = False) -> Path:
    """One line per agent over queries served. With ``zoom``, a second panel restricts the y axis to
    the agents that served every query in every seed, which the runs cut short by the budget would
    otherwise squash. RL agents are dashed."""
    plt = _plt()
    groups = _by_agent(records)
    colors = _colors(list(groups), [a for a, rs in groups.items() if rs[0].get("train_steps")])
    horizon = records[0]["horizon"]
    grid = np.linspace(0, horizon, GRID_POINTS)
    curves = {a: np.array([np.interp(grid, r["trace"]["t"], r["trace"][key]) for r in rs]) for a, rs in groups.items()}
    full = [a for a, rs in groups.items() if all(r["queries_served"] == r["horizon"] for r in rs)]
    zoom = zoom and 0 < len(full) < len(groups)
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(15 if zoom else 8.5, 5.5), squeeze=False)
    for j, ax in enumerate(axes.flat):
        for agent, rs in groups.items():
            mean, lo, hi = _band(curves[agent])
            style = "--" if rs[0].get("train_steps") else "-"
            ax.plot(grid, mean, color=colors[agent], ls=style, label=_label(agent, rs), lw=1.6)
            if j == 0 or agent in full:
                ax.fill_between(grid, lo, hi, color=colors[agent], alpha=0.12, lw=0)
        if budget_line:
            budget = records[0]["budget"]
            ax.axhline(budget, color="0.15", ls="-.", lw=2.2, label=f"budget B = {budget:g}")
            ax.plot(grid, grid * budget / horizon, color="0.15", ls=":", lw=1.4, label="even pace b·t")
        ax.set_xlabel("queries served t")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
    axes[0, 0].set_title(title, fontsize=10)
    if zoom:
        top = max(float(curves[a].max()) for a in full)
        bottom = min(float(curves[a].min()) for a in full)
        axes[0, 1].set_ylim(min(0.0, bottom) - 0.05 * top, 1.1 * top)
        axes[0, 1].set_title("zoom on the agents that served all T queries in every seed", fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if len(labels) > 8:
        fig.legend(handles, labels, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    else:
        axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, path, bbox_inches="tight")


def plot_regret(records: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Cumulative pseudo-regret against queries served, one line per agent (mean over seeds, band from
    the best to the worst seed). A run ended by the hard budget jumps, where it stops, by the oracle
    value of the queries it leaves unserved, and stays flat to T."""
    return _trace_plot(
        records,
        path,
        "regret",
        "cumulative pseudo-regret\n(expected correct answers lost to the stage oracle)",
        f"Regret over time: {_title(records)}\nmean over seeds, band: min-max; a jump = budget exhausted, unserved queries charged",
        budget_line=False,
        zoom=True,
    )


def plot_spend(records: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Cumulative spend against queries served, per agent, with the budget B and the even pace b·t."""
    return _trace_plot(
        records,
        path,
        "spend",
        f"cumulative spend\n({COST_UNIT})",
        f"Spend against budget: {_title(records)}\nmean over seeds, band: min-max; hard budget: a run stops at B",
        True,
    )


def plot_deployments(records: Sequence[dict[str, Any]], scenario, path: str | os.PathLike) -> Path:
    """Model x stage heatmaps: the stage oracle's deployment, then per agent the share of seeds in
    which each model was deployed in each stage (among the seeds that reached the stage). Models
    not available at a stage are grey; stages no seed reached (hard budget) are hatched."""
    plt = _plt()
    groups = _by_agent(records)
    panels = [("stage oracle (true means)", scenario.oracle.deployed.T.astype(float))]
    for agent, rs in groups.items():
        sets = np.array([r["deployed"] for r in rs], dtype=float)  # (seeds, K, N)
        reached = sets.any(axis=2, keepdims=True)  # a stage the budget let the run reach
        with np.errstate(invalid="ignore"):
            share = (sets * reached).sum(axis=0) / reached.sum(axis=0)
        panels.append((_label(agent, rs), share.T))
    avail = scenario.availability.T
    K, N = scenario.n_stages, scenario.n_models
    cols = min(3 if len(panels) <= 9 else 4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 1.5, 0.28 * N * rows + 1.6 * rows), squeeze=False)
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.axis("off")
            continue
        title, data = panels[i]
        unreached = avail & np.isnan(data)
        image = ax.imshow(
            np.ma.masked_where(~avail | unreached, data),
            aspect="auto",
            cmap=cmap,
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ax.set_facecolor("white")
        for m, k in zip(*np.nonzero(unreached), strict=True):
            ax.add_patch(
                plt.Rectangle((k - 0.5, m - 0.5), 1, 1, facecolor="white", hatch="//", edgecolor="#999999", lw=0)
            )
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(K), [str(k + 1) for k in range(K)], fontsize=7)
        ax.set_xlabel("stage")
        if i % cols == 0:
            ax.set_yticks(range(N), scenario.model_names, fontsize=7)
            ax.set_ylabel("model")
        else:
            ax.set_yticks(range(N), [""] * N)
    fig.suptitle(
        f"Deployments: {_title(records)}\ncolour: share of seeds in which the model was deployed in the stage; "
        "grey: model not available; hatched: stage never reached (budget exhausted)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 0.9, 0.94))
    cax = fig.add_axes((0.92, 0.15, 0.015, 0.7))
    fig.colorbar(image, cax=cax, label="share of seeds deployed")
    return _save(fig, path)


# What a learning curve can show, from the monitor's columns: (label, function of read_monitor's dict).
CURVE_VALUES: dict[str, tuple[str, Callable[[dict[str, np.ndarray]], np.ndarray]]] = {
    "reward": ("episode reward (correct answers per episode)", lambda m: m["reward"]),
    "reward_fraction": ("episode reward / oracle value", lambda m: m["reward"] / m["oracle_value"]),
    "spend_fraction": ("spend / budget B", lambda m: m["total_cost"] / m["budget"]),
}


def plot_learning_curves(
    curves: dict[tuple[str, str], list[dict[str, np.ndarray]]],
    path: str | os.PathLike,
    references: dict[str, dict[str, float]] | None = None,
    value: str = "reward",
) -> Path:
    """RL learning curves: a value of the training episodes against training steps, one panel per
    env, one line per algorithm (mean over training seeds of a moving average of 10 episodes, band
    min-max over seeds). ``curves[(env_id, algo)]`` is a list (one per seed) of :func:`agents.rl.read_monitor`
    dicts; ``references[env_id]`` maps a name to a value drawn as a dashed line (reference agents'
    evaluation means, ``"oracle value"``). ``value`` is one of :data:`CURVE_VALUES`: the episode
    reward, the reward over the oracle value (for generated worlds, whose oracle values differ) or
    the spend over the budget."""
    if value not in CURVE_VALUES:
        raise ValueError(f"value must be one of {sorted(CURVE_VALUES)}, got {value!r}")
    ylabel, of = CURVE_VALUES[value]
    plt = _plt()
    envs = sorted({env for env, _ in curves}, key=lambda e: (e != "LLMRoute-v0", e))
    cols = min(2, len(envs))
    rows = math.ceil(len(envs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 4.8 * rows), squeeze=False)
    for ax in axes.flat[len(envs) :]:
        ax.axis("off")
    algos = sorted({algo for _, algo in curves})
    colors = _colors(sorted({a for ref in (references or {}).values() for a in ref}) + algos, algos)
    for ax, env in zip(axes.flat, envs, strict=False):
        for algo in algos:
            runs = [m for m in curves.get((env, algo), []) if m["timesteps"].size >= 2]
            if not runs:
                continue
            end = min(m["timesteps"][-1] for m in runs)
            grid = np.linspace(0, end, 200)
            ys = []
            for m in runs:
                y = of(m)
                smooth = np.convolve(y, np.ones(10) / 10, mode="full")[: y.size]
                counts = np.minimum(np.arange(1, y.size + 1), 10)
                smooth = smooth * 10 / counts
                ys.append(np.interp(grid, m["timesteps"], smooth))
            mean, lo, hi = _band(np.array(ys))
            ax.plot(grid, mean, color=colors[algo], label=f"{algo} (n={len(runs)} seeds)", lw=1.8)
            ax.fill_between(grid, lo, hi, color=colors[algo], alpha=0.15, lw=0)
        for agent, level in (references or {}).get(env, {}).items():
            label = (
                "oracle value (expected reward of the stage oracle)"
                if agent == "oracle value"
                else f"{agent} (evaluation mean)"
            )
            ax.axhline(level, color=colors.get(agent, "gray"), ls="--", lw=1.0, label=label)
        ax.set_xlabel("training env steps")
        ax.set_ylabel(ylabel)
        ax.set_title(f"Learning curves on {env} (training episodes, moving average of 10)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)


def plot_bench(
    records: Sequence[dict[str, Any]], out_dir: str | os.PathLike, models_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Every figure of a bench: per (env, scenario) ``regret_*.png``, ``spend_*.png`` and
    ``deployment_*.png`` (not on generated worlds, where each seed plays its own catalog);
    ``learning_curves.png`` if ``models_dir`` holds trained runs."""
    import json

    import gymnasium as gym

    from ..base import scenario_of
    from ..rl import read_monitor
    from .jobs import is_generated, make_kwargs, slug

    out_dir = Path(out_dir)
    written: list[Path] = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["env_id"], r["scenario"]), []).append(r)
    for (env_id, scenario_name), rs in groups.items():
        tag = slug(f"{env_id}_{scenario_name}")
        written.append(plot_regret(rs, out_dir / f"regret_{tag}.png"))
        written.append(plot_spend(rs, out_dir / f"spend_{tag}.png"))
        if is_generated(env_id):
            continue  # a world per seed: no one catalog to draw the deployments on
        env = gym.make(env_id, **make_kwargs(env_id, scenario_name, rs[0].get("env_kwargs", {})))
        written.append(plot_deployments(rs, scenario_of(env), out_dir / f"deployment_{tag}.png"))
    if models_dir is not None and Path(models_dir).is_dir():
        curves: dict[tuple[str, str], list[dict[str, np.ndarray]]] = {}
        used = {r.get("model") for r in records if r.get("model")}
        for meta_path in sorted(Path(models_dir).glob("*/train.json")):
            if meta_path.parent.name not in used:
                continue
            meta = json.loads(meta_path.read_text())
            curves.setdefault((meta["env_id"], meta["algo"]), []).append(read_monitor(meta_path.parent / "monitor"))
        if curves:
            references: dict[str, dict[str, list[float]]] = {}
            for r in records:
                refs_env = references.setdefault(r["env_id"], {})
                refs_env.setdefault("oracle value", []).append(r["oracle_value"])
                if r.get("train_steps") is None and r["agent"] in ("stageroute", "random"):
                    refs_env.setdefault(r["agent"], []).append(r["reward"])
            refs = {env: {a: float(np.mean(v)) for a, v in d.items()} for env, d in references.items()}
            written.append(plot_learning_curves(curves, out_dir / "learning_curves.png", refs))
    return written
