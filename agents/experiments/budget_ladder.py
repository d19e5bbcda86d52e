"""Budget ladder: does every agent keep the budget, and how close to the oracle is it, from the
tightest feasible budget to a budget that never binds?

    python benchmarks/budget_ladder.py [--worlds paper,market,typed,trace,realdata] [--agents ...]
        [--seeds 5] [--rungs 7] [--horizon T] [--workers 1] [--out docs/results] [--quick] [--replot]

For each world (a preset: paper = LLMRoute-v0, market = LLMRoute-Market-v0, typed =
LLMRoute-Typed-v0, trace = LLMRoute-Trace-v0, realdata = LLMRoute-RealData-v0; or one of those ids) the
ladder is ``--rungs`` per-query budgets spaced geometrically (costs spread over two to three orders of
magnitude) from 1.05 times the cheapest feasible deployment's cost (the largest over stages of the
cheapest deployment of at most M_max available models that meets the throughput caps,
``gym_llmroute.solvers.min_cost`` as in ``Scenario._check_feasible``, so every stage is feasible) to
1.05 times the priciest model's mean cost (where the budget no longer binds).

Every agent of ``agents.AGENTS`` (or ``--agents``) plays every rung in both budget modes,
``gym.make(world, budget=b, budget_mode="hard" | "average")``, on seeds ``0 .. seeds-1`` (common random
numbers: all agents face the same outcomes on a seed), each world at its default horizon (realdata:
T = 20,000) unless ``--horizon`` is given. Per (world, mode, budget, agent): mean spend / B and mean
reward / oracle value with 95% t-intervals over seeds, the largest spend / B of any seed, and the share
of the queries served (the hard budget ends an episode early).

The table checks the targets for the default StageRoute (``stageroute``) line by line:

* average mode, every world and rung: mean spend <= 1.004 B and every seed <= 1.01 B;
* hard mode on realdata at T = 20,000: reward / oracle >= 0.97 at every rung;

and compares its worst mean |spend / B - 1| with ParetoBandit's (arXiv 2604.00136: mean cost within
0.4% of the target at 7 ceilings on the realdata portfolio). Writes ``budget_ladder.md`` (tables),
``budget_ladder.json`` (the ladders and every episode) and ``budget_ladder_<world>.png`` (reward /
oracle and spend / B against the budget, hard mode on the top row, average mode below) to ``--out``.
``--replot`` rebuilds the table and the figures from the JSON without running anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers the ids)
from agents.base import scenario_of
from agents.experiments.args import csv_list, int_at_least
from agents.experiments.local import map_jobs
from agents.experiments.report import pm
from agents.files import atomic_write, atomic_write_json, atomic_write_text
from gym_llmroute.solvers import min_cost

WORLDS = {
    "paper": "LLMRoute-v0",
    "market": "LLMRoute-Market-v0",
    "typed": "LLMRoute-Typed-v0",
    "trace": "LLMRoute-Trace-v0",
    "realdata": "LLMRoute-RealData-v0",
}
MODES = ("hard", "average")
RUNGS = 7
LOW_MARGIN = HIGH_MARGIN = 1.05  # lowest rung = 1.05 x cheapest feasible cost; top = 1.05 x priciest mean cost
CHECKED = "stageroute"  # the agent whose targets the table checks
SPEND_MEAN_TARGET, SPEND_SEED_TARGET = 1.004, 1.01  # average mode: mean spend / B, every seed's spend / B
REWARD_TARGET, REWARD_WORLD, REWARD_T = 0.97, "realdata", 20_000  # hard mode on realdata at T = 2*10^4
PARETO_BANDIT = 0.004  # arXiv 2604.00136: mean cost within 0.4% of the target at 7 ceilings
BINDING = 0.999  # a rung binds if the oracle's planned spend is at least this share of B
QUICK = {"seeds": 2, "rungs": 3, "horizon": 200}
KEEP = (
    "reward",
    "oracle_value",
    "reward_fraction",
    "cost",
    "budget",
    "spend_fraction",
    "regret",
    "queries_served",
    "horizon",
    "invalid_actions",
)


# ---------------------------------------------------------------------------------------- the ladder
def world_key(text: str) -> str:
    """The preset name of a world given as a preset (``realdata``) or an env id (``LLMRoute-RealData-v0``)."""
    key = text.strip()
    if key.lower() in WORLDS:
        return key.lower()
    for name, env_id in WORLDS.items():
        if key.lower() == env_id.lower():
            return name
    raise ValueError(f"unknown world {text!r}; choose from {', '.join(WORLDS)} or the ids {', '.join(WORLDS.values())}")


@lru_cache(maxsize=4)
def make_env(world: str, horizon: int | None = None, budget: float | None = None, mode: str | None = None):
    """``gym.make`` of a world with the given overrides (cached: consecutive jobs share their env;
    ``run_episode`` resets it with each episode's seed)."""
    kwargs: dict[str, Any] = {"horizon": horizon, "budget": budget, "budget_mode": mode}
    return gym.make(WORLDS[world], **{key: value for key, value in kwargs.items() if value is not None})


def _stage_mean_cost(scenario) -> np.ndarray:
    """Mean cost of every model in every stage over the task mix (price changes included): (K, N)."""
    return np.einsum("j,kjn->kn", scenario.task_weights, scenario.stage_cost)


def cheapest_feasible(scenario) -> float:
    """The largest over stages of the cheapest per-query cost of any deployment of at most M_max available
    models that meets the throughput caps: every stage is feasible at a budget at least this."""
    costs = _stage_mean_cost(scenario)
    worst = 0.0
    for k in range(scenario.n_stages):
        pool = np.flatnonzero(scenario.availability[k])
        worst = max(worst, min_cost(costs[k, pool], scenario.throughput[pool], scenario.max_deployed))
    return float(worst)


def priciest_mean_cost(scenario) -> float:
    """The priciest model's mean cost per query (over the task mix; the largest of any stage's if prices change)."""
    return float(max(scenario.mean_cost.max(), _stage_mean_cost(scenario).max()))


def ladder(scenario, rungs: int = RUNGS) -> list[float]:
    """``rungs`` per-query budgets in geometric progression from ``LOW_MARGIN`` times the cheapest feasible
    deployment's cost to ``HIGH_MARGIN`` times the priciest model's mean cost."""
    if rungs < 2:
        raise ValueError(f"a ladder needs at least 2 rungs, got {rungs}")
    low = LOW_MARGIN * cheapest_feasible(scenario)
    high = HIGH_MARGIN * priciest_mean_cost(scenario)
    return [float(b) for b in np.geomspace(low, high, rungs)]


def oracle_spend_fraction(scenario) -> float:
    """The stage oracle's expected spend over B: below 1 where the budget does not bind."""
    oracle = scenario.oracle
    per_stage = np.einsum("j,kjn,kjn->k", scenario.task_weights, oracle.routing, scenario.stage_cost)
    return float(per_stage @ scenario.stage_lengths / (scenario.budget * scenario.horizon))


def world_info(world: str, horizon: int | None, rungs: int) -> dict:
    """The world's ladder and what it is built from, plus the oracle's planned spend at each rung."""
    scenario = scenario_of(make_env(world, horizon))
    budgets = ladder(scenario, rungs)
    return {
        "env_id": WORLDS[world],
        "horizon": int(scenario.horizon),
        "n_stages": int(scenario.n_stages),
        "max_deployed": int(scenario.max_deployed),
        "n_models": int(scenario.n_models),
        "cheapest_feasible": cheapest_feasible(scenario),
        "priciest_mean_cost": priciest_mean_cost(scenario),
        "ladder": budgets,
        "oracle_spend": [oracle_spend_fraction(scenario_of(make_env(world, horizon, b, "hard"))) for b in budgets],
    }


# ---------------------------------------------------------------------------------------- the runs
def run_job(job: tuple) -> dict:
    """One episode: (world, horizon, mode, rung, budget, agent, seed) -> its measures."""
    world, horizon, mode, rung, budget, name, seed = job
    env = make_env(world, horizon, budget, mode)
    result = agents.run_episode(agents.make(name, env, seed=seed), env, seed)
    out = {key: result[key] for key in KEEP}
    out.update(world=world, mode=mode, rung=rung, agent=name, seed=seed)
    return out


def run_all(jobs: list[tuple], workers: int, progress: bool = True) -> list[dict]:
    """Every job, in this process (``workers == 1``) or on a pool of ``workers`` processes, with a progress bar."""
    return map_jobs(run_job, jobs, workers, "budget ladder", progress)


def plan(infos: dict, agent_names: list[str], seeds: int) -> list[tuple]:
    """Jobs grouped by env (world, mode, rung), so that consecutive jobs reuse one env."""
    jobs = []
    for world, info in infos.items():
        horizon = info["horizon"]
        for mode in MODES:
            for rung, budget in enumerate(info["ladder"]):
                jobs += [(world, horizon, mode, rung, budget, a, s) for a in agent_names for s in range(seeds)]
    return jobs


# ---------------------------------------------------------------------------------------- summaries
def summarise(episodes: list[dict], infos: dict, agent_names: list[str]) -> list[dict]:
    """One row per (world, mode, rung, agent) with episodes: means with 95% t-intervals over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for e in episodes:
        groups.setdefault((e["world"], e["mode"], e["rung"], e["agent"]), []).append(e)
    rows = []
    for world, info in infos.items():
        for mode in MODES:
            for rung, budget in enumerate(info["ladder"]):
                for name in agent_names:
                    eps = groups.get((world, mode, rung, name))
                    if not eps:
                        continue
                    rows.append(
                        {
                            "world": world,
                            "mode": mode,
                            "rung": rung,
                            "budget": budget,
                            "agent": name,
                            "n": len(eps),
                            "reward_fraction": agents.mean_ci(e["reward_fraction"] for e in eps),
                            "spend_fraction": agents.mean_ci(e["spend_fraction"] for e in eps),
                            "spend_max": max(e["spend_fraction"] for e in eps),
                            "served": agents.mean_ci(e["queries_served"] / e["horizon"] for e in eps),
                            "binding": info["oracle_spend"][rung] >= BINDING,
                        }
                    )
    return rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def target_lines(rows: list[dict], infos: dict) -> tuple[list[str], dict]:
    """The targets for ``stageroute``, one markdown table line per (world, rung), and a tally."""
    mine = [r for r in rows if r["agent"] == CHECKED]
    avg = [r for r in mine if r["mode"] == "average"]
    lines = [
        f"### Average mode: mean spend <= {SPEND_MEAN_TARGET} B and every seed <= {SPEND_SEED_TARGET} B",
        "",
        "| world | budget b | mean spend / B | max spend / B (seed) | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    tally = {"average": [0, 0], "hard": [0, 0]}
    for r in avg:
        mean, top = r["spend_fraction"][0], r["spend_max"]
        ok = mean <= SPEND_MEAN_TARGET and top <= SPEND_SEED_TARGET
        why = []
        if mean > SPEND_MEAN_TARGET:
            why.append(f"mean {mean:.4f} > {SPEND_MEAN_TARGET}")
        if top > SPEND_SEED_TARGET:
            why.append(f"a seed at {top:.4f} > {SPEND_SEED_TARGET}")
        tally["average"][0] += ok
        tally["average"][1] += 1
        lines.append(
            f"| {r['world']} | {r['budget']:.4g} | {pm(r['spend_fraction'], '.4f')} | {top:.4f} | "
            f"{verdict(ok)}{' (' + '; '.join(why) + ')' if why else ''} |"
        )
    if not avg:
        lines.append(f"| (no average-mode episodes of {CHECKED}) | | | | |")
    hard = [r for r in mine if r["mode"] == "hard" and r["world"] == REWARD_WORLD]
    T = infos.get(REWARD_WORLD, {}).get("horizon")
    note = "" if T is None or T == REWARD_T else f" (this run: T = {T:,}, not the target's T = {REWARD_T:,})"
    lines += [
        "",
        f"### Hard mode on {REWARD_WORLD} at T = {REWARD_T:,}: reward / oracle >= {REWARD_TARGET}{note}",
        "",
        "| world | budget b | reward / oracle | served | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    for r in hard:
        frac = r["reward_fraction"][0]
        ok = frac >= REWARD_TARGET
        tally["hard"][0] += ok
        tally["hard"][1] += 1
        low = frac - r["reward_fraction"][1]
        short = f" ({REWARD_TARGET - frac:.4f} short)" if not ok else ""
        short += f" (on the mean; the 95% interval reaches down to {low:.4f})" if ok and low < REWARD_TARGET else ""
        lines.append(
            f"| {r['world']} | {r['budget']:.4g} | {pm(r['reward_fraction'], '.4f')} | "
            f"{pm(r['served'], '.3f')} | {verdict(ok)}{short} |"
        )
    if not hard:
        lines.append(f"| (no hard-mode episodes of {CHECKED} on {REWARD_WORLD}) | | | | |")
    return lines, tally


def pacing_lines(rows: list[dict]) -> list[str]:
    """StageRoute's worst mean |spend / B - 1| (and worst mean overspend) next to ParetoBandit's 0.4%."""
    lines = [
        "| StageRoute, average mode | rungs | worst mean abs(spend / B - 1) | at | worst mean overspend | at |",
        "|---|---:|---:|---|---:|---|",
    ]
    avg = [r for r in rows if r["agent"] == CHECKED and r["mode"] == "average"]
    realdata = [r for r in avg if r["world"] == REWARD_WORLD]
    for label, subset in (
        (f"{REWARD_WORLD}, binding rungs", [r for r in realdata if r["binding"]]),
        (f"{REWARD_WORLD}, all rungs", realdata),
        ("all worlds, binding rungs", [r for r in avg if r["binding"]]),
        ("all worlds, all rungs", avg),
    ):
        if not subset:
            continue
        dev = max(subset, key=lambda r: abs(r["spend_fraction"][0] - 1))
        over = max(subset, key=lambda r: r["spend_fraction"][0])
        lines.append(
            f"| {label} | {len(subset)} | {100 * abs(dev['spend_fraction'][0] - 1):.2f}% | "
            f"{dev['world']}, b = {dev['budget']:.4g} (spend / B {dev['spend_fraction'][0]:.4f}) | "
            f"{100 * max(0.0, over['spend_fraction'][0] - 1):.2f}% | {over['world']}, b = {over['budget']:.4g} |"
        )
    lines.append(
        f"| ParetoBandit (arXiv 2604.00136), its portfolio | 7 | within {100 * PARETO_BANDIT:.1f}% | reported | | |"
    )
    return lines


def stageroute_summary(rows: list[dict], infos: dict) -> list[str]:
    lines = [
        "| world | mode | worst mean spend / B | worst seed spend / B | min reward / oracle | min served |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for world in infos:
        for mode in MODES:
            sub = [r for r in rows if r["agent"] == CHECKED and r["world"] == world and r["mode"] == mode]
            if not sub:
                continue
            spend = max(sub, key=lambda r: r["spend_fraction"][0])
            top = max(sub, key=lambda r: r["spend_max"])
            reward = min(sub, key=lambda r: r["reward_fraction"][0])
            served = min(r["served"][0] for r in sub)
            lines.append(
                f"| {world} | {mode} | {spend['spend_fraction'][0]:.4f} (b = {spend['budget']:.4g}) | "
                f"{top['spend_max']:.4f} (b = {top['budget']:.4g}) | "
                f"{pm(reward['reward_fraction'], '.3f')} (b = {reward['budget']:.4g}) | {served:.3f} |"
            )
    return lines


def glance_lines(rows: list[dict], agent_names: list[str]) -> list[str]:
    """One line per agent over every world and rung: average-mode spend, hard-mode reward and service."""
    lines = [
        "| agent | average: rungs within the spend targets | worst mean spend / B (at) "
        "| hard: mean reward / oracle | lowest (at) | lowest served |",
        "|---|---:|---|---:|---|---:|",
    ]
    for name in agent_names:
        avg = [r for r in rows if r["agent"] == name and r["mode"] == "average"]
        hard = [r for r in rows if r["agent"] == name and r["mode"] == "hard"]
        cells = [f"**{name}**" if name == CHECKED else name]
        if avg:
            ok = sum(r["spend_fraction"][0] <= SPEND_MEAN_TARGET and r["spend_max"] <= SPEND_SEED_TARGET for r in avg)
            worst = max(avg, key=lambda r: r["spend_fraction"][0])
            cells += [
                f"{ok} of {len(avg)}",
                f"{worst['spend_fraction'][0]:.3f} ({worst['world']}, b = {worst['budget']:.4g})",
            ]
        else:
            cells += ["", ""]
        if hard:
            low = min(hard, key=lambda r: r["reward_fraction"][0])
            cells += [
                f"{np.mean([r['reward_fraction'][0] for r in hard]):.3f}",
                f"{low['reward_fraction'][0]:.3f} ({low['world']}, b = {low['budget']:.4g})",
                f"{min(r['served'][0] for r in hard):.3f}",
            ]
        else:
            cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(rows: list[dict], saved: dict) -> str:
    infos, agent_names, seeds = saved["worlds"], saved["agents"], saved["seeds"]
    omitted = [a for a in agents.AGENTS if a not in agent_names]
    elapsed = saved.get("elapsed_seconds")
    lines = [
        "# Budget ladder",
        "",
        f"Every agent on a ladder of {len(next(iter(infos.values()))['ladder'])} per-query budgets per world, in both "
        f'budget modes (`budget_mode="hard"`: the episode ends when B = b T is spent; `"average"`: overspend '
        f"is reported, never stopped), on seeds 0..{seeds - 1} (common random numbers). Budgets run "
        f"geometrically from {LOW_MARGIN} x the cheapest feasible deployment's cost (the largest over stages) to "
        f"{HIGH_MARGIN} x the priciest model's mean cost. Means ± 95% t-intervals over seeds; "
        f"`python benchmarks/budget_ladder.py` ({saved.get('command', '')}).",
        "",
        f"Agents: {', '.join(agent_names)}."
        + (
            f" Not run: {', '.join(omitted)}{' (' + saved['note'] + ')' if saved.get('note') else ''}."
            if omitted
            else ""
        )
        + (f" Run time: {elapsed / 60:.1f} min on {saved.get('workers', 1)} worker(s)." if elapsed is not None else ""),
        "",
        "## The ladders",
        "",
        "A rung marked * does not bind: the oracle's planned spend is below B there (its share of B in brackets).",
        "",
        "| world | env id | T | cheapest feasible | priciest mean cost | budgets b per query |",
        "|---|---|---:|---:|---:|---|",
    ]
    for world, info in infos.items():
        rungs = ", ".join(
            f"{b:.4g}" + ("" if s >= BINDING else f"* ({s:.3f})")
            for b, s in zip(info["ladder"], info["oracle_spend"], strict=True)
        )
        lines.append(
            f"| {world} | {info['env_id']} | {info['horizon']:,} | {info['cheapest_feasible']:.4g} | "
            f"{info['priciest_mean_cost']:.4g} | {rungs} |"
        )
    targets, tally = target_lines(rows, infos)
    lines += ["", f"## Targets for StageRoute (`{CHECKED}`)", ""]
    for key, text in (("average", "average-mode spend"), ("hard", f"hard-mode reward on {REWARD_WORLD}")):
        ok, total = tally[key]
        if total:
            lines.append(f"- {text}: {ok} of {total} lines pass ({'all PASS' if ok == total else 'some MISS'})")
    lines += [""] + targets
    lines += [
        "",
        "### Pacing against ParetoBandit's reference",
        "",
        "ParetoBandit (A. Taberner-Miller, arXiv 2604.00136) reports a mean cost within 0.4% of the target at 7 "
        "cost ceilings on this portfolio. Where a rung does not bind, spending below B is right, so the "
        "binding rungs are the comparable ones; spending below B loses reward but breaks no constraint, so the "
        "worst overspend is shown too.",
        "",
    ]
    lines += pacing_lines(rows)
    lines += ["", "## StageRoute per world and mode (worst rung of the ladder)", ""]
    lines += stageroute_summary(rows, infos)
    lines += [
        "",
        "## All agents at a glance",
        "",
        f"Over every world and rung. Average mode: the rungs at which an agent meets StageRoute's spend targets "
        f"(mean <= {SPEND_MEAN_TARGET} B, every seed <= {SPEND_SEED_TARGET} B) and its worst mean spend / B. Hard "
        "mode: mean and lowest reward / oracle, and the lowest share of queries served.",
        "",
    ]
    lines += glance_lines(rows, agent_names)
    lines += [
        "",
        "## Every agent",
        "",
        "reward / oracle and spend / B: mean ± 95% CI; max = the largest spend / B of any seed; served = share of the "
        "queries served.",
    ]
    for world, info in infos.items():
        lines += [
            "",
            f"### {world} ({info['env_id']}, T = {info['horizon']:,})",
            "",
            "| b | agent | hard: reward / oracle | spend / B | max | served "
            "| average: reward / oracle | spend / B | max | served |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        index = {(r["mode"], r["rung"], r["agent"]): r for r in rows if r["world"] == world}
        for rung, budget in enumerate(info["ladder"]):
            for name in agent_names:
                cells = []
                for mode in MODES:
                    r = index.get((mode, rung, name))
                    cells += (
                        ["", "", "", ""]
                        if r is None
                        else [
                            pm(r["reward_fraction"], ".3f"),
                            pm(r["spend_fraction"], ".3f"),
                            f"{r['spend_max']:.3f}",
                            f"{r['served'][0]:.3f}",
                        ]
                    )
                star = "" if info["oracle_spend"][rung] >= BINDING else "*"
                name_cell = f"**{name}**" if name == CHECKED else name
                lines.append(f"| {budget:.4g}{star} | {name_cell} | " + " | ".join(cells) + " |")
    invalid = sum(e.get("invalid_actions", 0) for e in saved["episodes"])
    lines += ["", f"Invalid actions over all {len(saved['episodes'])} episodes: {invalid}."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- figures
COLORS = {
    "stageroute": "#d62728",
    "stageroute_literal": "#ff9896",
    "greedy": "#2ca02c",
    "random": "#7f7f7f",
    "oracle": "#000000",
    "ucb_bwk": "#1f77b4",
    "primal_dual": "#9467bd",
    "thompson": "#17becf",
    "static": "#8c564b",
    "cheapest": "#bcbd22",
    "strongest": "#e377c2",
    "contextual_stageroute": "#ff7f0e",
}
MARKERS = "os^vD<>pPX*h"
SPEND_TOP = 1.5  # the spend panels show 0..1.5 B; higher values are drawn at the edge and listed


def plot(rows: list[dict], info: dict, world: str, seeds: int, path: Path) -> None:
    """Reward / oracle (left) and spend / B (right) against the budget (log x), hard mode on the top row,
    average mode on the bottom row; one line per agent with its 95% CI band. Spend above
    ``SPEND_TOP`` B is drawn at the top edge (a triangle) and listed in the panel."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [r for r in rows if r["world"] == world]
    names = list(dict.fromkeys(r["agent"] for r in mine))
    fig, axes = plt.subplots(2, 2, figsize=(15, 11), sharex=True)
    handles = {}
    for (ax_r, ax_s), mode in zip(axes, MODES, strict=True):
        off_scale: list[str] = []
        reward_means: list[float] = []
        for j, name in enumerate(names):
            sub = sorted((r for r in mine if r["mode"] == mode and r["agent"] == name), key=lambda r: r["rung"])
            if not sub:
                continue
            x = np.array([r["budget"] for r in sub])
            bold = name in (CHECKED, "oracle")
            color = COLORS.get(name, plt.get_cmap("tab10")(j % 10))
            style = {
                "color": color,
                "marker": MARKERS[j % len(MARKERS)],
                "markersize": 5,
                "linewidth": 2.6 if bold else 1.3,
                "linestyle": "--" if name == "oracle" else "-",
                "zorder": 5 if bold else 3,
            }
            for ax, key in ((ax_r, "reward_fraction"), (ax_s, "spend_fraction")):
                mean = np.array([r[key][0] for r in sub])
                half = np.nan_to_num(np.array([r[key][1] for r in sub]))
                top = SPEND_TOP if key == "spend_fraction" else np.inf
                handles[name] = ax.plot(x, np.minimum(mean, top), label=name, **style)[0]
                lo, hi = np.minimum(mean - half, top), np.minimum(mean + half, top)
                ax.fill_between(x, lo, hi, color=color, alpha=0.18 if bold else 0.07, linewidth=0, zorder=1)
                if key == "reward_fraction":
                    reward_means.extend(mean)
                elif (mean > top).any():
                    ax.scatter(x[mean > top], np.full((mean > top).sum(), top), marker="^", s=45, color=color, zorder=6)
                    off_scale.append(f"{name} {mean.max():.3g}")
            if name == CHECKED:  # its worst seed, the quantity of the per-seed target
                worst = np.minimum([r["spend_max"] for r in sub], SPEND_TOP)
                ax_s.scatter(x, worst, marker="_", s=160, linewidths=2, color=style["color"], zorder=7)
        for ax in (ax_r, ax_s):
            ax.set_xscale("log")
            for at in (info["cheapest_feasible"], info["priciest_mean_cost"]):
                ax.axvline(at, color="0.5", linestyle=":", linewidth=1)
            ax.grid(True, which="both", alpha=0.3)
            ax.axhline(1.0, color="0.3", linewidth=0.8)
        if reward_means:
            lo, hi = min(reward_means), max(reward_means)
            ax_r.set_ylim(max(-0.03, lo - 0.05), min(1.3, hi + 0.05))
        if world == REWARD_WORLD and mode == "hard":
            ax_r.axhline(REWARD_TARGET, color=COLORS[CHECKED], linestyle=":", linewidth=1.2)
            ax_r.annotate(f"target {REWARD_TARGET}", (info["ladder"][0], REWARD_TARGET), fontsize=8,
                          color=COLORS[CHECKED], xytext=(2, -11), textcoords="offset points")  # fmt: skip
        if mode == "average":
            ax_s.axhspan(1.0, SPEND_SEED_TARGET, color=COLORS[CHECKED], alpha=0.25, linewidth=0)
        ax_s.set_ylim(0, SPEND_TOP * 1.04)
        ax_r.set_ylabel("reward / oracle value")
        ax_s.set_ylabel("spend / B")
        ax_r.set_title(f"{mode} budget: reward / oracle (mean, 95% CI over seeds)", fontsize=11)
        title = f"{mode} budget: spend / B (dashes: {CHECKED}'s worst seed" + (
            f"; band 1..{SPEND_SEED_TARGET})" if mode == "average" else ")"
        )
        if off_scale:  # drawn as triangles at the top edge
            title += "\n" + textwrap.fill(f"mean above {SPEND_TOP} (triangles), up to: " + "; ".join(off_scale), 90)
        ax_s.set_title(title, fontsize=11 if not off_scale else 10)
    for ax in axes[1]:
        ax.set_xlabel("per-query budget b (log); dotted: cheapest feasible cost, priciest mean cost")
    fig.suptitle(f"Budget ladder on {world} ({info['env_id']}, T = {info['horizon']:,}, {seeds} seeds)", fontsize=13)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=6, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/results"), help="results directory")
    parser.add_argument("--worlds", type=csv_list, default=list(WORLDS), help=f"comma-separated: {', '.join(WORLDS)}")
    parser.add_argument("--agents", type=csv_list, default=list(agents.AGENTS), help="comma-separated agent names")
    parser.add_argument("--seeds", type=int_at_least(1), default=5, help="seeds 0..N-1 per cell (default 5)")
    parser.add_argument("--rungs", type=int_at_least(1), default=RUNGS, help=f"budgets per world (default {RUNGS})")
    parser.add_argument("--horizon", type=int_at_least(1), default=None, help="T for every world (default: its own)")
    parser.add_argument("--workers", type=int_at_least(1), default=1, help="worker processes (default 1)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK} unless given")
    parser.add_argument("--replot", action="store_true", help="rebuild the table and figures from --out's JSON")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        for key, value in QUICK.items():
            if f"--{key}" not in given and not any(a.startswith(f"--{key}=") for a in given):
                setattr(args, key, value)
    if args.rungs < 2:
        parser.error(f"argument --rungs: a ladder needs at least 2 rungs, got {args.rungs}")
    try:
        args.worlds = list(dict.fromkeys(world_key(w) for w in args.worlds))
    except ValueError as e:
        parser.error(f"argument --worlds: {e}")
    names = []
    for name in args.agents:
        key = name.lower().replace("-", "_")
        if key not in agents.AGENTS:
            parser.error(f"argument --agents: unknown agent {name!r}; choose from {', '.join(agents.AGENTS)}")
        names.append(key)
    args.agents = list(dict.fromkeys(names))
    if args.horizon is not None:
        for world in args.worlds:
            try:
                make_env(world, args.horizon)
            except (ValueError, TypeError) as e:
                parser.error(f"argument --horizon: {args.horizon} does not fit {world}: {e}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = args.out
    json_path = out / "budget_ladder.json"
    if args.replot:
        if not json_path.exists():
            raise SystemExit(f"--replot: {json_path} does not exist; run without --replot first")
        saved = json.loads(json_path.read_text())
    else:
        start = time.perf_counter()
        infos = {world: world_info(world, args.horizon, args.rungs) for world in args.worlds}
        jobs = plan(infos, args.agents, args.seeds)
        episodes = run_all(jobs, args.workers, not args.no_progress)
        given = argv if argv is not None else sys.argv[1:]
        saved = {
            "worlds": infos,
            "agents": args.agents,
            "seeds": args.seeds,
            "modes": list(MODES),
            "workers": args.workers,
            "elapsed_seconds": time.perf_counter() - start,
            "command": " ".join(given) if given else "default arguments",
            "episodes": episodes,
        }
        atomic_write_json(json_path, saved)
    rows = summarise(saved["episodes"], saved["worlds"], saved["agents"])
    table = markdown(rows, saved)
    atomic_write_text(out / "budget_ladder.md", table)
    pngs = []
    for world, info in saved["worlds"].items():
        png = out / f"budget_ladder_{world}.png"
        atomic_write(png, lambda p: plot(rows, info, world, saved["seeds"], Path(p)))  # noqa: B023 (called now)
        pngs.append(png)
    print(table)
    print(f"wrote {out / 'budget_ladder.md'}, {json_path}, " + ", ".join(str(p) for p in pngs))


if __name__ == "__main__":
    main()
