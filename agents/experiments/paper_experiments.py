"""The StageRoute paper's experiments, reproduced on this package's worlds and checked claim by claim.

    python benchmarks/paper_experiments.py [--out docs/results/paper] [--seeds 10] [--scaling-seeds 20]
                                           [--only EXP[,EXP...]] [--workers 1] [--quick] [--replot]

S. Li and J. Li, *Near-Optimal Online Deployment and Routing for Streaming LLMs* (ICLR 2026, arXiv
2506.17254). Every agent is built by ``agents.make(name, env, seed=seed)``, so StageRoute is the
package's default (untried UCB = 1, paced budget with a 5% margin, price prior on costs). Worlds:

* ``paper``: ``LLMRoute-v0`` at its default size (T = 1728, K = 12, M_max = 4, b = 0.05);
* ``typed``: ``LLMRoute-Typed-v0`` (RouterBench-calibrated, 4 task types; T = 1728, K = 12);
* ``realdata``: ``LLMRoute-RealData-v0`` shortened to T = 5000, K = round(T^(1/3)) = 17 (its default
  is T = 20,000, K = 27), b = 0.2.

Experiments (``--only`` takes any of these names, comma-separated):

``regret``
    Cumulative pseudo-regret over time of StageRoute, Greedy, Random and the oracle agent on the three
    worlds, mean with a 95% band over seeds.
``mmax``
    M_max from 1 to 6 (StageRoute and Greedy): reward / oracle, regret and reward per query. A
    max_deployed whose throughput caps cannot cover a stage, or whose budget no deployment meets,
    is refused by the Scenario and reported as infeasible; values above the world's number of
    models are the same world and skipped.
``stages``
    K = round(T^e) for e in {1/6, 1/4, 1/3, 1/2, 2/3} (StageRoute and Greedy).
``budget``
    Normalised budget b / (largest model mean cost) from 0.1 to 0.9 (StageRoute and Greedy);
    budgets below the cheapest feasible deployment are refused by the Scenario and reported.
``heatmap``
    StageRoute's deployments (share of seeds deploying each model at each stage) next to the
    oracle's (``scenario.oracle.deployed``), and the share of the oracle's models StageRoute deploys
    per stage.
``scaling``
    Final regret against T in {10^3, 10^3.5, 10^4, 10^4.5, 10^5} with K = round(T^(1/3)) on the
    ``lower-bound`` world (StageRoute, Greedy, Static, Random, Thompson sampling, the oracle agent)
    and on the paper world (StageRoute, Greedy, Static, Random); least-squares log-log slopes
    (``agents.experiments.report.fit_slope``) with 95% bootstrap intervals over seeds.

Each experiment writes ``<name>.json`` (every episode; written atomically), ``<name>.md`` (tables
with 95% t-intervals over seeds and the paper's claim checked) and ``<name>.png`` to ``--out``;
``README.md`` there collects the tables of every experiment present. ``--replot`` rebuilds tables and
figures from the JSON files without running anything; ``--quick`` is a smoke run (tiny horizons,
2 seeds) for the tests.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute
from agents import mean_ci
from agents.experiments.local import map_jobs
from agents.experiments.report import fit_slope, pm
from agents.files import atomic_write

EXPERIMENTS = ("regret", "mmax", "stages", "budget", "heatmap", "scaling")

# world -> (env id, preset, env kwargs of the full run, env kwargs of --quick)
WORLDS: dict[str, tuple[str, str, dict, dict]] = {
    "paper": ("LLMRoute-v0", "paper", {}, {"horizon": 240, "n_stages": 6}),
    "typed": ("LLMRoute-Typed-v0", "typed", {}, {"horizon": 240, "n_stages": 6}),
    "realdata": (
        "LLMRoute-RealData-v0",
        "realdata",
        {"horizon": 5000, "n_stages": 17},
        {"horizon": 300, "n_stages": 7},
    ),
}
WORLD_TITLES = {
    "paper": "paper world (LLMRoute-v0)",
    "typed": "typed world (LLMRoute-Typed-v0)",
    "realdata": "real data (LLMRoute-RealData-v0)",
    "lower-bound": "lower-bound world",
}

REGRET_AGENTS = ("stageroute", "greedy", "random", "oracle")
SWEEP_AGENTS = ("stageroute", "greedy")
MMAX_VALUES = (1, 2, 3, 4, 5, 6)
STAGE_EXPONENTS = ((1, 6), (1, 4), (1, 3), (1, 2), (2, 3))
QUICK_STAGE_EXPONENTS = ((1, 4), (1, 3), (1, 2))
BUDGET_VALUES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
QUICK_BUDGET_VALUES = (0.01, 0.3, 0.7)
SCALING_HORIZONS = (1_000, 3_162, 10_000, 31_623, 100_000)
QUICK_SCALING_HORIZONS = (216, 1_000)
SCALING_AGENTS = {
    "lower-bound": ("stageroute", "greedy", "static", "random", "thompson", "oracle"),
    "paper": ("stageroute", "greedy", "static", "random"),
}
TRACE_POINTS = 100
AGENT_LABELS = {
    "stageroute": "StageRoute",
    "greedy": "Greedy",
    "random": "Random",
    "oracle": "Oracle",
    "static": "Static",
    "thompson": "Thompson",
}
COLORS = {
    "stageroute": "tab:blue",
    "greedy": "tab:orange",
    "random": "tab:gray",
    "oracle": "black",
    "static": "tab:red",
    "thompson": "tab:green",
}
# The paper's claims as checked here.
TIGHT_BUDGET, TIGHT_TARGET = 0.3, 0.95
LOOSE_BUDGET, LOOSE_TARGET = 0.7, 0.98
SLOPE_RANGE = (0.6, 0.75)
STATIC_SLOPE = 0.9
MATCH_TARGET = 0.9


# ---------------------------------------------------------------------------------------- episodes
def world_kwargs(world: str, quick: bool) -> dict:
    env_id, preset, full, small = WORLDS[world]
    return dict(small if quick else full)


def scenario_for(world: str, kwargs: dict):
    """The validated scenario of ``world`` with env overrides ``kwargs`` (raises ValueError if refused);
    cached, so that the stage oracle is solved once per setting and process."""
    return _scenario(world, tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=256)
def _scenario(world: str, items: tuple):
    preset = "lower-bound" if world == "lower-bound" else WORLDS[world][1]
    return gym_llmroute.make_scenario(preset, **dict(items))


def _grid(T: int) -> np.ndarray:
    return np.unique(np.linspace(T / TRACE_POINTS, T, TRACE_POINTS).round().astype(int))


def run_job(job: dict) -> dict:
    """One episode: ``job`` has experiment, world, setting, agent, seed, kwargs and flags."""
    scenario = scenario_for(job["world"], job["kwargs"])
    env = gym.make("LLMRoute-v0", scenario=scenario)
    agent = agents.make(job["agent"], env, seed=job["seed"])
    result = agents.run_episode(agent, env, job["seed"], trace=job.get("trace", False))
    out = {key: job[key] for key in ("experiment", "world", "setting", "agent", "seed")}
    for key in ("reward", "regret", "oracle_value", "reward_fraction", "cost", "budget", "spend_fraction"):
        out[key] = float(result[key])
    out["queries_served"] = int(result["queries_served"])
    out["horizon"] = int(result["horizon"])
    if job.get("trace"):
        trace = result["regret_trace"]
        at = _grid(out["horizon"])
        out["trace_t"] = at.tolist()
        out["trace_regret"] = [round(float(trace[t - 1] if t <= trace.size else result["regret"]), 4) for t in at]
    if job.get("deployments"):
        out["deployments"] = result["deployments"]
    return out


def run_all(jobs: list[dict], workers: int, desc: str) -> list[dict]:
    """Every job, in this process (``workers == 1``) or on a pool, with a progress bar; longest first."""
    return map_jobs(run_job, jobs, workers, desc, longest_first=lambda j: j["kwargs"].get("horizon", 2000))


# ---------------------------------------------------------------------------------------- settings
def settings(experiment: str, quick: bool) -> tuple[list[dict], list[dict], dict]:  # noqa: C901 (a branch per experiment)
    """The (world, setting, env kwargs) cells of an experiment, the cells the Scenario refuses or
    that are skipped (with the reason), and metadata for the report."""
    cells: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    worlds = list(WORLDS)
    if experiment in ("regret", "heatmap"):
        for w in worlds:
            cells.append({"world": w, "setting": "default", "kwargs": world_kwargs(w, quick)})
    elif experiment == "mmax":
        for w in worlds:
            base = world_kwargs(w, quick)
            n_models = scenario_for(w, base).n_models
            for m in MMAX_VALUES:
                if m > n_models:
                    skipped.append(
                        {"world": w, "setting": m, "reason": f"M_max > N = {n_models}: same as M_max = {n_models}"}
                    )
                    continue
                cells.append({"world": w, "setting": m, "kwargs": {**base, "max_deployed": m}})
    elif experiment == "stages":
        for w in worlds:
            base = world_kwargs(w, quick)
            T = scenario_for(w, base).horizon
            seen = set()
            for num, den in QUICK_STAGE_EXPONENTS if quick else STAGE_EXPONENTS:
                K = max(1, round(T ** (num / den)))
                if K in seen:
                    skipped.append({"world": w, "setting": f"{num}/{den}", "reason": f"K = {K} already run"})
                    continue
                seen.add(K)
                cells.append({"world": w, "setting": f"{num}/{den}", "K": K, "kwargs": {**base, "n_stages": K}})
    elif experiment == "budget":
        for w in worlds:
            base = world_kwargs(w, quick)
            top = float(np.max(scenario_for(w, base).mean_cost))
            meta[w] = {"largest_mean_cost": top}
            for bn in QUICK_BUDGET_VALUES if quick else BUDGET_VALUES:
                cells.append({"world": w, "setting": bn, "kwargs": {**base, "budget": round(bn * top, 10)}})
    elif experiment == "scaling":
        horizons = QUICK_SCALING_HORIZONS if quick else SCALING_HORIZONS
        for w in ("lower-bound", "paper"):
            for T in horizons:
                cells.append({"world": w, "setting": T, "kwargs": {"horizon": T, "n_stages": round(T ** (1 / 3))}})
    else:
        raise ValueError(f"unknown experiment {experiment!r}")
    feasible = []
    for cell in cells:
        try:
            scenario_for(cell["world"], cell["kwargs"])
        except ValueError as err:
            skipped.append({"world": cell["world"], "setting": cell["setting"], "reason": f"infeasible: {err}"})
        else:
            feasible.append(cell)
    return feasible, skipped, meta


def experiment_agents(experiment: str, world: str) -> tuple[str, ...]:
    if experiment == "regret":
        return REGRET_AGENTS
    if experiment == "heatmap":
        return ("stageroute",)
    if experiment == "scaling":
        return SCALING_AGENTS[world]
    return SWEEP_AGENTS


def build_jobs(experiment: str, cells: list[dict], seeds: int, scaling_seeds: int) -> list[dict]:
    jobs = []
    n = scaling_seeds if experiment == "scaling" else seeds
    for cell in cells:
        for agent in experiment_agents(experiment, cell["world"]):
            for seed in range(n):
                jobs.append(
                    {
                        "experiment": experiment,
                        "world": cell["world"],
                        "setting": cell["setting"],
                        "agent": agent,
                        "seed": seed,
                        "kwargs": cell["kwargs"],
                        "trace": experiment == "regret",
                        "deployments": experiment == "heatmap",
                    }
                )
    return jobs


def heatmap_reference(quick: bool) -> dict:
    """Per world: model names, availability and the oracle's deployment (stages x models)."""
    out = {}
    for w in WORLDS:
        s = scenario_for(w, world_kwargs(w, quick))
        out[w] = {
            "models": list(s.model_names),
            "available": s.availability.astype(int).tolist(),
            "oracle": s.oracle.deployed.astype(int).tolist(),
            "horizon": s.horizon,
            "n_stages": s.n_stages,
        }
    return out


# ---------------------------------------------------------------------------------------- summaries
def _cells(episodes: list[dict]) -> dict:
    """Episodes grouped by (world, setting, agent)."""
    groups: dict = {}
    for e in episodes:
        groups.setdefault((e["world"], e["setting"], e["agent"]), []).append(e)
    return groups


def _stats(eps: list[dict]) -> dict:
    return {
        "n": len(eps),
        "reward_fraction": mean_ci(e["reward_fraction"] for e in eps),
        "regret": mean_ci(e["regret"] for e in eps),
        "reward_per_query": mean_ci(e["reward"] / e["horizon"] for e in eps),
        "oracle_per_query": mean_ci(e["oracle_value"] / e["horizon"] for e in eps),
        "spend_fraction": mean_ci(e["spend_fraction"] for e in eps),
        "served_fraction": mean_ci(e["queries_served"] / e["horizon"] for e in eps),
    }


def bootstrap_slope(by_T: dict, n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """Slope of log(mean regret) on log(T) (``fit_slope``) and a 95% percentile bootstrap interval,
    resampling the seeds independently at each T. ``by_T`` maps T to the list of final regrets.
    The interval is nan if the point slope is, or if a tenth of the resamples has a mean <= 0."""
    Ts = sorted(by_T)
    point = fit_slope(Ts, [float(np.mean(by_T[T])) for T in Ts])
    if not math.isfinite(point):
        return point, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, len(Ts)))
    for j, T in enumerate(Ts):
        a = np.asarray(by_T[T], dtype=np.float64)
        means[:, j] = a[rng.integers(a.size, size=(n_boot, a.size))].mean(axis=1)
    ok = np.all(means > 0, axis=1)
    if ok.sum() < 0.9 * n_boot:
        return point, math.nan, math.nan
    x = np.log(np.asarray(Ts, dtype=np.float64))
    y = np.log(means[ok])
    xc = x - x.mean()
    slopes = (y - y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    lo, hi = np.percentile(slopes, [2.5, 97.5])
    return point, float(lo), float(hi)


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**yes**" if ok else "**no**")


# ------------------------------------------------------------------------------- markdown per experiment
def md_regret(data: dict) -> tuple[str, list[dict]]:
    groups = _cells(data["episodes"])
    lines = [
        "## Cumulative regret over time",
        "",
        f"Final pseudo-regret and reward / oracle at the horizon, mean ± 95% t-interval over {data['seeds']} seeds "
        "(hard budget; 'served' < 1 means the budget ended some episodes early).",
        "",
        "| world | T, K | agent | regret at T/4 | regret at T/2 | final regret | reward / oracle | spend / budget | served |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    claims: list[dict[str, Any]] = []
    for w in WORLDS:
        finals = {}
        for agent in REGRET_AGENTS:
            eps = groups.get((w, "default", agent))
            if not eps:
                continue
            st = _stats(eps)
            finals[agent] = st["regret"]
            tr = np.array([e["trace_regret"] for e in eps])
            t = np.array(eps[0]["trace_t"])
            T = eps[0]["horizon"]
            q = [mean_ci(tr[:, int(np.searchsorted(t, T * f))]) for f in (0.25, 0.5)]
            K = data["cells"][w]["n_stages"] if w in data.get("cells", {}) else ""
            lines.append(
                f"| {w} | {T}, {K} | {AGENT_LABELS[agent]} | {pm(q[0], '.1f')} | {pm(q[1], '.1f')} | "
                f"{pm(st['regret'], '.1f')} | {pm(st['reward_fraction'], '.3f')} | {pm(st['spend_fraction'], '.3f')} | "
                f"{pm(st['served_fraction'], '.3f')} |"
            )
        if {"stageroute", "greedy", "random"} <= set(finals):
            sr, gr, ra = finals["stageroute"], finals["greedy"], finals["random"]
            ok = sr[0] < gr[0] and sr[0] < ra[0]
            claims.append(
                {
                    "claim": "StageRoute's cumulative regret is below Greedy's and Random's",
                    "world": w,
                    "holds": ok,
                    "detail": f"StageRoute {pm(sr, '.1f')}, Greedy {pm(gr, '.1f')}, Random {pm(ra, '.1f')}",
                }
            )
    return "\n".join(lines), claims


def _sweep_table(data: dict, title: str, setting_name: str, fmt_setting) -> list[str]:
    groups = _cells(data["episodes"])
    lines = [
        f"## {title}",
        "",
        f"Mean ± 95% t-interval over {data['seeds']} seeds; V* = the oracle's expected reward per query at that setting.",
        "",
        f"| world | {setting_name} | agent | reward / oracle | regret | reward per query | V* per query | spend / budget | served |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for w in WORLDS:
        for setting in data["order"][w]:
            for agent in SWEEP_AGENTS:
                eps = groups.get((w, setting, agent))
                if not eps:
                    continue
                st = _stats(eps)
                lines.append(
                    f"| {w} | {fmt_setting(w, setting)} | {AGENT_LABELS[agent]} | {pm(st['reward_fraction'], '.3f')} | "
                    f"{pm(st['regret'], '.1f')} | {pm(st['reward_per_query'], '.4f')} | "
                    f"{st['oracle_per_query'][0]:.4f} | {pm(st['spend_fraction'], '.3f')} | {pm(st['served_fraction'], '.3f')} |"
                )
    if data["skipped"]:
        lines += ["", "Not run:", ""]
        for s in data["skipped"]:
            lines.append(f"- {s['world']}, {setting_name} = {fmt_setting(s['world'], s['setting'])}: {s['reason']}")
    return lines


def _series(data: dict, world: str, agent: str, key: str) -> tuple[list, np.ndarray, np.ndarray]:
    groups = _cells(data["episodes"])
    xs, means, halves = [], [], []
    for setting in data["order"][world]:
        eps = groups.get((world, setting, agent))
        if not eps:
            continue
        if key in ("reward_per_query", "oracle_per_query"):
            num = "reward" if key == "reward_per_query" else "oracle_value"
            m, h = mean_ci(e[num] / e["horizon"] for e in eps)
        else:
            m, h = mean_ci(e[key] for e in eps)
        xs.append(setting)
        means.append(m)
        halves.append(h)
    return xs, np.array(means), np.nan_to_num(np.array(halves))


def paired(data: dict, world: str, agent: str, a, b) -> tuple[float, float]:
    """Mean and 95% half-width of the per-seed difference of reward per query, setting b minus
    setting a (the seeds are common random numbers: seed s draws the same outcomes in both)."""
    groups = _cells(data["episodes"])
    ra = {e["seed"]: e["reward"] / e["horizon"] for e in groups.get((world, a, agent), [])}
    rb = {e["seed"]: e["reward"] / e["horizon"] for e in groups.get((world, b, agent), [])}
    return mean_ci(rb[s] - ra[s] for s in sorted(set(ra) & set(rb)))


def _significant(diff: tuple[float, float]) -> int:
    """+1 / -1 if the 95% interval of a difference lies above / below zero, else 0."""
    m, h = diff
    h = h if math.isfinite(h) else 0.0
    return 1 if m - h > 0 else (-1 if m + h < 0 else 0)


def md_mmax(data: dict) -> tuple[str, list[dict]]:
    lines = _sweep_table(data, "Sensitivity to M_max", "M_max", lambda w, s: str(s))
    lines += [
        "",
        "Performance is StageRoute's reward per query (the oracle's V* moves with M_max, so reward / oracle is not "
        "the yardstick here). It rises with M_max if it is higher at the largest feasible M_max than at the smallest "
        "and no step to the next M_max lowers it, each judged by the 95% interval of the per-seed (paired) difference.",
    ]
    claims: list[dict[str, Any]] = []
    for w in WORLDS:
        xs, r, _ = _series(data, w, "stageroute", "reward_per_query")
        if len(xs) < 2:
            claims.append(
                {
                    "claim": "performance rises with M_max",
                    "world": w,
                    "holds": None,
                    "detail": "fewer than two feasible M_max",
                }
            )
            continue
        steps = [paired(data, w, "stageroute", a, b) for a, b in zip(xs, xs[1:], strict=False)]
        overall = paired(data, w, "stageroute", xs[0], xs[-1])
        ok = _significant(overall) > 0 and all(_significant(d) >= 0 for d in steps)
        fr = _series(data, w, "stageroute", "reward_fraction")[1]
        detail = (
            "StageRoute reward per query by M_max: "
            + ", ".join(f"{x}: {m:.4f}" for x, m in zip(xs, r, strict=True))
            + f"; change from M_max = {xs[0]} to {xs[-1]}: {pm(overall, '+.4f')}; steps: "
            + ", ".join(f"{a}->{b}: {pm(d, '+.4f')}" for a, b, d in zip(xs, xs[1:], steps, strict=False))
            + "; reward / oracle "
            + ", ".join(f"{m:.3f}" for m in fr)
        )
        claims.append({"claim": "performance rises with M_max", "world": w, "holds": bool(ok), "detail": detail})
    return "\n".join(lines), claims


def md_stages(data: dict) -> tuple[str, list[dict]]:
    K_of = {(c["world"], c["setting"]): c["K"] for c in data["cell_list"]}
    lines = _sweep_table(
        data, "Sensitivity to the number of stages K", "K", lambda w, s: f"T^({s}) = {K_of.get((w, s), '?')}"
    )
    lines += [
        "",
        "The best K is the one with StageRoute's highest reward per query (the oracle's V* grows with K, since "
        "newcomers become deployable sooner, so reward / oracle would favour few stages for a yardstick's sake). "
        "The claim holds if the best K is an interior one, T^(1/4), T^(1/3) or T^(1/2), not an end of the range; "
        "the per-seed (paired) difference between the best K and T^(1/3) is given with its 95% interval.",
    ]
    claims: list[dict[str, Any]] = []
    for w in WORLDS:
        xs, r, _ = _series(data, w, "stageroute", "reward_per_query")
        if "1/3" not in xs or len(xs) < 3:
            claims.append({"claim": "the best K is near T^(1/3)", "world": w, "holds": None, "detail": "too few K run"})
            continue
        best = int(np.argmax(r))
        ok = 0 < best < len(xs) - 1
        fr = _series(data, w, "stageroute", "reward_fraction")[1]
        gap = paired(data, w, "stageroute", "1/3", xs[best])
        detail = (
            "StageRoute reward per query by K: "
            + ", ".join(f"{K_of[(w, x)]}: {m:.4f}" for x, m in zip(xs, r, strict=True))
            + f"; best K = {K_of[(w, xs[best])]} (T^({xs[best]})), {pm(gap, '+.4f')} above T^(1/3)"
            + "; reward / oracle by K: "
            + ", ".join(f"{m:.3f}" for m in fr)
        )
        claims.append({"claim": "the best K is near T^(1/3)", "world": w, "holds": bool(ok), "detail": detail})
    return "\n".join(lines), claims


def md_budget(data: dict) -> tuple[str, list[dict]]:
    top = {w: m["largest_mean_cost"] for w, m in data["meta"].items()}
    lines = _sweep_table(
        data, "Sensitivity to the budget", "b / max cost", lambda w, s: f"{s:g} (b = {s * top.get(w, math.nan):.4g})"
    )
    groups = _cells(data["episodes"])
    claims: list[dict[str, Any]] = []
    for bn, target in ((TIGHT_BUDGET, TIGHT_TARGET), (LOOSE_BUDGET, LOOSE_TARGET)):
        for w in WORLDS:
            eps = groups.get((w, bn, "stageroute"))
            claim = f"within {100 * (1 - target):.0f}% of the oracle at b = {bn:g}"
            if not eps:
                claims.append({"claim": claim, "world": w, "holds": None, "detail": "infeasible or not run"})
                continue
            m, h = mean_ci(e["reward_fraction"] for e in eps)
            claims.append(
                {
                    "claim": claim,
                    "world": w,
                    "holds": bool(m >= target),
                    "detail": f"StageRoute reward / oracle {pm((m, h), '.3f')} (target >= {target})",
                }
            )
    return "\n".join(lines), claims


def match_per_seed(data: dict, world: str) -> tuple[np.ndarray, np.ndarray]:
    """Share of seeds deploying each model per stage (stages x models), and per seed and stage the
    share of the oracle's deployed models that StageRoute deploys (seeds x stages; nan for stages an
    episode did not reach)."""
    ref = data["reference"][world]
    oracle = np.array(ref["oracle"], dtype=bool)
    K, N = oracle.shape
    eps = [e for e in data["episodes"] if e["world"] == world and e["agent"] == "stageroute"]
    freq = np.zeros((K, N))
    match = np.full((len(eps), K), np.nan)
    for i, e in enumerate(eps):
        for k, dep in enumerate(e["deployments"][:K]):
            d = np.zeros(N, dtype=bool)
            d[dep] = True
            freq[k] += d
            match[i, k] = (d & oracle[k]).sum() / max(1, oracle[k].sum())
    return freq / max(1, len(eps)), match


def match_by_stage(data: dict, world: str) -> tuple[np.ndarray, np.ndarray]:
    """Per stage: share of seeds deploying each model (stages x models) and the mean over seeds of
    the share of the oracle's deployed models that StageRoute deploys."""
    freq, match = match_per_seed(data, world)
    return freq, np.nanmean(match, axis=0) if match.size else np.full(freq.shape[0], np.nan)


def md_heatmap(data: dict) -> tuple[str, list[dict]]:
    lines = [
        "## Deployments: StageRoute against the oracle",
        "",
        f"Share of the oracle's deployed models that StageRoute deploys (per seed, averaged over the stages of "
        f"each quarter of the episode), mean ± 95% t-interval over {data['seeds']} seeds. The claim holds if "
        f"it reaches {MATCH_TARGET} over the last quarter.",
        "",
        "| world | K | first stage | 1st quarter | 2nd quarter | 3rd quarter | last quarter | last stage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    claims: list[dict[str, Any]] = []
    for w in WORLDS:
        if w not in data["reference"]:
            continue
        _, match = match_per_seed(data, w)
        K = match.shape[1]
        quarters = [mean_ci(np.nanmean(q, axis=1)) for q in np.array_split(match, 4, axis=1)]
        first, last = mean_ci(match[:, 0]), mean_ci(match[:, -1])
        lines.append(
            f"| {w} | {K} | {pm(first, '.2f')} | "
            + " | ".join(pm(q, ".2f") for q in quarters)
            + f" | {pm(last, '.2f')} |"
        )
        late = quarters[-1][0]
        claims.append(
            {
                "claim": "StageRoute's deployments come to match the oracle's",
                "world": w,
                "holds": bool(late >= MATCH_TARGET),
                "detail": f"share of the oracle's models deployed: {first[0]:.3f} in the first stage, "
                f"{pm(quarters[-1], '.3f')} over the last quarter of the stages (target >= {MATCH_TARGET}), "
                f"{last[0]:.3f} in the last stage",
            }
        )
    return "\n".join(lines), claims


def scaling_rows(data: dict) -> list[dict]:
    groups = _cells(data["episodes"])
    rows = []
    for w in ("lower-bound", "paper"):
        for agent in SCALING_AGENTS[w]:
            by_T = {
                T: [e["regret"] for e in groups[(w, T, agent)]] for T in data["order"][w] if (w, T, agent) in groups
            }
            if not by_T:
                continue
            slope, lo, hi = bootstrap_slope(by_T)
            fr = {T: mean_ci(e["reward_fraction"] for e in groups[(w, T, agent)]) for T in by_T}
            rows.append(
                {
                    "world": w,
                    "agent": agent,
                    "regret": {T: mean_ci(v) for T, v in by_T.items()},
                    "reward_fraction": fr,
                    "slope": slope,
                    "slope_ci": (lo, hi),
                }
            )
    return rows


def md_scaling(data: dict) -> tuple[str, list[dict]]:
    rows = scaling_rows(data)
    lines = ["## Regret against the horizon", ""]
    claims: list[dict[str, Any]] = []
    for w in ("lower-bound", "paper"):
        wr = [r for r in rows if r["world"] == w]
        if not wr:
            continue
        Ts = data["order"][w]
        desc = data.get("descriptions", {}).get(w, "")
        lines += [
            f"### {WORLD_TITLES[w]}",
            "",
            f"K = round(T^(1/3)); mean final regret ± 95% t-interval over {data['scaling_seeds']} seeds; slope = "
            "least-squares fit of log(mean regret) on log(T) with a 95% bootstrap interval (seeds resampled at each T)."
            + (f" World at T = {Ts[-1]:,}: {desc}." if desc else ""),
            "",
            "| agent | "
            + " | ".join(f"regret T={T:,}" for T in Ts)
            + f" | reward / oracle T={Ts[-1]:,} | slope [95% CI] |",
            "|---|" + "---:|" * (len(Ts) + 2),
        ]
        for r in wr:
            slope = r["slope"]
            lo, hi = r["slope_ci"]
            s = "n/a (regret <= 0)" if not math.isfinite(slope) else f"{slope:.3f} [{lo:.3f}, {hi:.3f}]"
            cells = [pm(r["regret"][T], ".1f") if T in r["regret"] else "" for T in Ts]
            lines.append(
                f"| {AGENT_LABELS[r['agent']]} | "
                + " | ".join(cells)
                + f" | {pm(r['reward_fraction'].get(Ts[-1], (math.nan, math.nan)), '.3f')} | {s} |"
            )
        lines.append("")
        by_agent = {r["agent"]: r for r in wr}

        def slope_text(agent: str, target: str, by_agent: dict = by_agent) -> str:
            s, (lo, hi) = by_agent[agent]["slope"], by_agent[agent]["slope_ci"]
            return f"slope {s:.3f} [{lo:.3f}, {hi:.3f}] ({target})"

        if w == "lower-bound":
            learners = [a for a in by_agent if a != "oracle"]
            if learners:
                low = min(learners, key=lambda a: by_agent[a]["slope"])
                claims.append(
                    {
                        "claim": "lower bound: no agent's regret grows slower than T^(2/3)",
                        "world": "lower-bound, every agent but the oracle",
                        "holds": bool(by_agent[low]["slope"] >= SLOPE_RANGE[0]),
                        "detail": "smallest: "
                        + AGENT_LABELS[low]
                        + ", "
                        + slope_text(low, f"target >= {SLOPE_RANGE[0]}")
                        + "; "
                        + ", ".join(f"{AGENT_LABELS[a]} {by_agent[a]['slope']:.3f}" for a in learners),
                    }
                )
            if "stageroute" in by_agent:
                s = by_agent["stageroute"]["slope"]
                claims.append(
                    {
                        "claim": "StageRoute attains the T^(2/3) rate on the hard instance",
                        "world": "lower-bound, StageRoute",
                        "holds": bool(SLOPE_RANGE[0] <= s <= SLOPE_RANGE[1]),
                        "detail": slope_text("stageroute", f"target {SLOPE_RANGE[0]}..{SLOPE_RANGE[1]}"),
                    }
                )
            if "static" in by_agent:
                claims.append(
                    {
                        "claim": "lower bound: a static deployment's regret is linear",
                        "world": "lower-bound, Static",
                        "holds": bool(by_agent["static"]["slope"] > STATIC_SLOPE),
                        "detail": slope_text("static", f"target > {STATIC_SLOPE}"),
                    }
                )
        elif "stageroute" in by_agent:
            s = by_agent["stageroute"]["slope"]
            claims.append(
                {
                    "claim": "StageRoute's regret is O~(T^(2/3))",
                    "world": "paper, StageRoute",
                    "holds": bool(math.isfinite(s) and s <= SLOPE_RANGE[1]),
                    "detail": slope_text("stageroute", f"consistent if <= {SLOPE_RANGE[1]}"),
                }
            )
    return "\n".join(lines).rstrip("\n"), claims


MARKDOWN = {
    "regret": md_regret,
    "mmax": md_mmax,
    "stages": md_stages,
    "budget": md_budget,
    "heatmap": md_heatmap,
    "scaling": md_scaling,
}


def claims_md(claims: list[dict]) -> list[str]:
    if not claims:
        return []
    lines = ["", "### The paper's claims, checked", "", "| claim | world | holds? | measured |", "|---|---|---|---|"]
    for c in claims:
        lines.append(f"| {c['claim']} | {c['world']} | {_mark(c['holds'])} | {c['detail']} |")
    return lines


def _defaults(data: dict) -> str:
    prov = data.get("provenance") or {}
    params = ", ".join(f"{k} = {v}" for k, v in (prov.get("stageroute") or {}).items())
    commit = prov.get("commit")
    return (f" ({params})" if params else "") + (f", measured at commit {commit}" if commit else "")


def experiment_md(name: str, data: dict) -> tuple[str, list[dict]]:
    body, claims = MARKDOWN[name](data)
    head = (
        f"<!-- written by benchmarks/paper_experiments.py{' --quick' if data['quick'] else ''}; "
        f"rerun: python benchmarks/paper_experiments.py --only {name} -->\n"
    )
    foot = [
        "",
        f"Figure: [{name}.png]({name}.png). Run time: {data['elapsed_s']:.0f} s with {data['workers']} worker(s), "
        f'{len(data["episodes"])} episodes. StageRoute is `agents.make("stageroute", env)`, the package default'
        + _defaults(data)
        + ".",
    ]
    return head + body + "\n" + "\n".join(claims_md(claims) + foot) + "\n", claims


# ---------------------------------------------------------------------------------------- figures
def _dpi(data: dict, dpi: int) -> int:
    """Figure resolution: lower for --quick (a smoke run, drawn faster)."""
    return 50 if data.get("quick") else dpi


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 9})
    return plt


def plot_regret(data: dict, path: Path) -> None:
    plt = _plt()
    groups = _cells(data["episodes"])
    worlds = [w for w in WORLDS if any((w, "default", a) in groups for a in REGRET_AGENTS)]
    fig, axes = plt.subplots(1, len(worlds), figsize=(5.6 * len(worlds), 4.6), squeeze=False)
    for ax, w in zip(axes[0], worlds, strict=True):
        top, bottom = 0.0, 0.0
        for agent in REGRET_AGENTS:
            eps = groups.get((w, "default", agent))
            if not eps:
                continue
            t = np.array(eps[0]["trace_t"])
            tr = np.array([e["trace_regret"] for e in eps])
            mean = tr.mean(axis=0)
            half = np.nan_to_num(np.array([mean_ci(col)[1] for col in tr.T]))
            label = f"{AGENT_LABELS[agent]} (final {mean[-1]:.0f})"
            ax.plot(t, mean, color=COLORS[agent], label=label, linewidth=2 if agent == "stageroute" else 1.5)
            ax.fill_between(t, mean - half, mean + half, color=COLORS[agent], alpha=0.2, linewidth=0)
            if agent != "random":
                top = max(top, float((mean + half).max()))
                bottom = min(bottom, float((mean - half).min()))
        if top > 0:
            ax.set_ylim(bottom - 0.05 * top, 1.6 * top)
        ax.set_title(f"{WORLD_TITLES[w]}\nT = {data['cells'][w]['horizon']:,}, K = {data['cells'][w]['n_stages']}")
        ax.set_xlabel("queries served")
        ax.set_ylabel("cumulative pseudo-regret")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
        ax.text(0.99, 0.02, "Random off the scale", transform=ax.transAxes, ha="right", fontsize=8, color="0.35")
    fig.suptitle(f"Cumulative regret over time (mean, 95% band over {data['seeds']} seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=_dpi(data, 110), format="png")
    plt.close(fig)


SWEEP_YLABELS = {
    "reward_fraction": "reward / oracle value",
    "regret": "final pseudo-regret",
    "reward_per_query": "reward per query",
}


def _plot_sweep(
    data: dict, path: Path, xlabel: str, xfun, title: str, extra=None, keys=("reward_fraction", "regret")
) -> None:
    """One column per world, one row per metric of ``keys``; the reward-per-query row also shows the
    oracle's V* per query (what the M_max and K verdicts compare with)."""
    plt = _plt()
    worlds = [w for w in WORLDS if data["order"].get(w) or any(s["world"] == w for s in data["skipped"])]
    fig, axes = plt.subplots(len(keys), len(worlds), figsize=(5.4 * len(worlds), 4.1 * len(keys)), squeeze=False)
    for col, w in enumerate(worlds):
        for row, key in enumerate(keys):
            ax = axes[row, col]
            for agent in SWEEP_AGENTS:
                xs, m, h = _series(data, w, agent, key)
                if not xs:
                    continue
                x = [xfun(w, s) for s in xs]
                ax.errorbar(x, m, yerr=h, color=COLORS[agent], marker="o", capsize=3, label=AGENT_LABELS[agent])
            if key == "reward_per_query":
                xs, v, _ = _series(data, w, "stageroute", "oracle_per_query")
                if xs:
                    ax.plot([xfun(w, s) for s in xs], v, color="black", linestyle="--", marker="x", label="oracle V*")
            bad = [s for s in data["skipped"] if s["world"] == w and s["reason"].startswith("infeasible")]
            for s in bad:
                ax.axvline(xfun(w, s["setting"]), color="tab:red", alpha=0.25, linewidth=6)
            if bad:
                ax.plot([], [], color="tab:red", alpha=0.25, linewidth=6, label="infeasible (refused)")
            if extra:
                extra(ax, key, w)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(SWEEP_YLABELS[key])
            if row == 0:
                ax.set_title(WORLD_TITLES[w])
            ax.grid(True, alpha=0.3)
    handles: dict = {}
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    height = fig.get_figheight()
    fig.legend(
        handles.values(), handles.keys(), loc="upper center", ncol=len(handles), bbox_to_anchor=(0.5, 1 - 0.36 / height)
    )
    fig.suptitle(f"{title} (mean, 95% CI over {data['seeds']} seeds)")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.75 / height))
    fig.savefig(path, dpi=_dpi(data, 110), format="png")
    plt.close(fig)


def plot_mmax(data: dict, path: Path) -> None:
    def extra(ax, key, w):
        ax.xaxis.get_major_locator().set_params(integer=True)

    _plot_sweep(
        data,
        path,
        "M_max (largest number of deployed models)",
        lambda w, s: s,
        "Sensitivity to M_max",
        extra,
        keys=("reward_per_query", "reward_fraction", "regret"),
    )


def plot_stages(data: dict, path: Path) -> None:
    K_of = {(c["world"], c["setting"]): c["K"] for c in data["cell_list"]}

    def extra(ax, key, w):
        ax.set_xscale("log")
        ks = [K_of[(w, s)] for s in data["order"].get(w, [])]
        ax.set_xticks(ks, [f"{k}\nT^({s})" for k, s in zip(ks, data["order"][w], strict=True)], fontsize=8)
        ax.minorticks_off()

    _plot_sweep(
        data,
        path,
        "K (number of stages)",
        lambda w, s: K_of[(w, s)],
        "Sensitivity to K",
        extra,
        keys=("reward_per_query", "reward_fraction", "regret"),
    )


def plot_budget(data: dict, path: Path) -> None:
    def extra(ax, key, w):
        for b in (TIGHT_BUDGET, LOOSE_BUDGET):
            ax.axvline(b, color="0.5", linestyle=":", linewidth=1)
        if key == "reward_fraction":
            ax.axhline(TIGHT_TARGET, color="tab:purple", linestyle="--", linewidth=1, label="0.95 (claim at b=0.3)")
            ax.axhline(LOOSE_TARGET, color="tab:brown", linestyle="--", linewidth=1, label="0.98 (claim at b=0.7)")

    _plot_sweep(
        data,
        path,
        "normalised budget b / (largest model mean cost)",
        lambda w, s: s,
        "Sensitivity to the budget",
        extra,
    )


def plot_heatmap(data: dict, path: Path) -> None:
    plt = _plt()
    worlds = [w for w in WORLDS if w in data["reference"]]
    heights = [max(2.6, 0.32 * len(data["reference"][w]["models"]) + 1.2) for w in worlds]
    fig, axes = plt.subplots(
        len(worlds),
        3,
        figsize=(17, sum(heights) + 0.8),
        gridspec_kw={"height_ratios": heights, "width_ratios": [1, 1, 0.7]},
        squeeze=False,
    )
    for row, w in enumerate(worlds):
        ref = data["reference"][w]
        freq, match = match_by_stage(data, w)
        avail = np.array(ref["available"], dtype=bool)
        oracle = np.array(ref["oracle"], dtype=float)
        K, N = oracle.shape
        for col, (mat, title) in enumerate(
            ((freq, f"StageRoute: share of {data['seeds']} seeds deploying"), (oracle, "oracle's deployment"))
        ):
            ax = axes[row, col]
            shown = np.ma.masked_where(~avail.T, mat.T)
            cmap = plt.get_cmap("Blues").with_extremes(bad="0.88")
            im = ax.imshow(shown, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_yticks(range(N), ref["models"], fontsize=8)
            step = max(1, K // 12)
            ax.set_xticks(range(0, K, step), [str(k) for k in range(0, K, step)], fontsize=8)
            ax.set_xlabel("stage")
            ax.set_title(f"{WORLD_TITLES[w]}: {title}", fontsize=10)
            if col == 1:
                fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        ax = axes[row, 2]
        ax.plot(range(K), match, marker="o", markersize=3, color="tab:blue")
        ax.set_ylim(-0.05, 1.05)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.axhline(MATCH_TARGET, color="0.5", linestyle=":", linewidth=1)
        ax.set_xlabel("stage")
        ax.set_ylabel("share of oracle's models\ndeployed by StageRoute")
        ax.set_title("match with the oracle", fontsize=10)
        ax.grid(True, alpha=0.3)
    fig.suptitle("Deployments per stage (grey: model not available yet or retired)")
    fig.tight_layout()
    fig.savefig(path, dpi=_dpi(data, 100), format="png")
    plt.close(fig)


def plot_scaling(data: dict, path: Path) -> None:
    plt = _plt()
    rows = scaling_rows(data)
    worlds = [w for w in ("lower-bound", "paper") if any(r["world"] == w for r in rows)]
    fig, axes = plt.subplots(1, len(worlds), figsize=(7 * len(worlds), 5.6), squeeze=False)
    for ax, w in zip(axes[0], worlds, strict=True):
        Ts = np.array(data["order"][w], dtype=float)
        ref = None
        for r in [r for r in rows if r["world"] == w]:
            T = np.array(sorted(r["regret"]), dtype=float)
            m = np.array([r["regret"][t][0] for t in sorted(r["regret"])])
            h = np.nan_to_num(np.array([r["regret"][t][1] for t in sorted(r["regret"])]))
            ok = m > 0
            if not ok.any():
                continue
            slope = r["slope"]
            lo, hi = r["slope_ci"]
            label = AGENT_LABELS[r["agent"]] + (
                f": slope {slope:.2f} [{lo:.2f}, {hi:.2f}]" if math.isfinite(slope) else ": slope n/a"
            )
            ax.errorbar(
                T[ok],
                m[ok],
                yerr=[np.minimum(h, 0.9 * m)[ok], h[ok]],
                color=COLORS[r["agent"]],
                marker="s" if r["agent"] == "greedy" else "o",
                linestyle="--" if r["agent"] == "greedy" else "-",
                capsize=3,
                label=label,
                linewidth=2 if r["agent"] == "stageroute" else 1.4,
            )
            if r["agent"] == "stageroute":
                ref = m[0]
        if ref:
            for power, name in ((2 / 3, "T^(2/3)"), (1.0, "T^1")):
                ax.plot(Ts, ref * (Ts / Ts[0]) ** power, color="0.5", linestyle=":", linewidth=1)
                ax.annotate(
                    name,
                    (Ts[-1], ref * (Ts[-1] / Ts[0]) ** power),
                    fontsize=8,
                    color="0.35",
                    xytext=(4, 0),
                    textcoords="offset points",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("horizon T (K = round(T^(1/3)) stages)")
        ax.set_ylabel("final pseudo-regret (mean, 95% CI)")
        ax.set_title(WORLD_TITLES[w])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8.5)
    fig.suptitle(
        f"Regret against T ({data['scaling_seeds']} seeds; dotted: slopes 2/3 and 1 from StageRoute's first point)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=_dpi(data, 110), format="png")
    plt.close(fig)


PLOTS = {
    "regret": plot_regret,
    "mmax": plot_mmax,
    "stages": plot_stages,
    "budget": plot_budget,
    "heatmap": plot_heatmap,
    "scaling": plot_scaling,
}


# ---------------------------------------------------------------------------------------- driver
STAGEROUTE_FIELDS = ("gamma", "cost_gamma", "pacing", "pacing_margin", "cost_prior", "optimistic")


def provenance() -> dict:
    """The commit and StageRoute's default parameters the results were measured with."""
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    agent = agents.make("stageroute", gym.make("LLMRoute-v0"))
    return {
        "commit": commit or None,
        "stageroute": {k: getattr(agent, k) for k in STAGEROUTE_FIELDS if hasattr(agent, k)},
    }


def run_experiment(name: str, args) -> dict:
    cells, skipped, meta = settings(name, args.quick)
    jobs = build_jobs(name, cells, args.seeds, args.scaling_seeds)
    start = time.perf_counter()
    episodes = run_all(jobs, args.workers, name)
    elapsed = time.perf_counter() - start
    order: dict = {}
    for c in cells:
        order.setdefault(c["world"], []).append(c["setting"])
    data = {
        "experiment": name,
        "provenance": provenance(),
        "quick": bool(args.quick),
        "seeds": args.seeds,
        "scaling_seeds": args.scaling_seeds,
        "workers": args.workers,
        "elapsed_s": elapsed,
        "order": order,
        "cell_list": cells,
        "skipped": skipped,
        "meta": meta,
        "episodes": sorted(episodes, key=lambda e: (e["world"], str(e["setting"]), e["agent"], e["seed"])),
    }
    if name in ("regret", "heatmap"):
        ref = heatmap_reference(args.quick)
        data["cells"] = {w: {"horizon": r["horizon"], "n_stages": r["n_stages"]} for w, r in ref.items()}
        if name == "heatmap":
            data["reference"] = ref
    if name == "scaling":
        last = {c["world"]: c["kwargs"] for c in cells}  # the largest T of each world
        data["descriptions"] = {w: scenario_for(w, kw).description for w, kw in last.items()}
    return data


def _restore(data: dict) -> dict:
    """JSON turns int keys and tuples into str and lists: put back what the summaries index by."""
    for c in data["cell_list"]:
        c.setdefault("K", None)
    return data


def write_outputs(name: str, data: dict, out: Path, write_json: bool) -> list[dict]:
    if write_json:
        atomic_write(out / f"{name}.json", lambda p: Path(p).write_text(json.dumps(data)))
    text, claims = experiment_md(name, data)
    atomic_write(out / f"{name}.md", lambda p: Path(p).write_text(text))
    atomic_write(out / f"{name}.png", lambda p: PLOTS[name](data, Path(p)))
    return claims


def write_index(out: Path) -> None:
    """README.md of the results directory: every experiment present, its claims and its table."""
    parts = [
        "# The StageRoute paper's experiments: results",
        "",
        "Written by `python benchmarks/paper_experiments.py` (see docs/paper.md for the reading). One section per "
        "experiment whose JSON is in this directory; `--replot` rebuilds everything from the JSON files.",
        "",
    ]
    all_claims = []
    sections = []
    for name in EXPERIMENTS:
        path = out / f"{name}.json"
        if not path.exists():
            continue
        data = _restore(json.loads(path.read_text()))
        text, claims = experiment_md(name, data)
        all_claims += claims
        sections += [text.split("\n", 1)[1], f"![{name}]({name}.png)", ""]
    parts += ["## All claims", ""] + claims_md(all_claims)[3:] + [""] + sections
    atomic_write(out / "README.md", lambda p: Path(p).write_text("\n".join(parts).rstrip("\n") + "\n"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/results/paper"), help="results directory")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per cell of the world experiments (default 10)")
    parser.add_argument("--scaling-seeds", type=int, default=20, help="seeds per agent and T in 'scaling' (default 20)")
    parser.add_argument("--only", default=None, help=f"comma-separated experiments among {', '.join(EXPERIMENTS)}")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny horizons, 2 seeds")
    parser.add_argument("--replot", action="store_true", help="rebuild tables and figures from --out's JSON, no runs")
    args = parser.parse_args(argv)
    if args.only is None:
        args.only = list(EXPERIMENTS)
    else:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in EXPERIMENTS]
        if not names or unknown:
            parser.error(
                f"--only: unknown experiment(s) {unknown or [args.only]}; choose from {', '.join(EXPERIMENTS)}"
            )
        args.only = list(dict.fromkeys(names))
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.quick and args.replot:
        parser.error("--quick and --replot exclude each other (--replot runs nothing)")
    if args.quick:
        args.seeds, args.scaling_seeds = 2, 2
    if args.seeds < 2 or args.scaling_seeds < 2:
        parser.error("--seeds and --scaling-seeds must be >= 2 (a confidence interval needs two seeds)")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a directory")
    if args.replot:
        missing = [str(args.out / f"{n}.json") for n in args.only if not (args.out / f"{n}.json").exists()]
        if missing:
            parser.error(f"--replot: no results to replot: {', '.join(missing)} missing (run without --replot first)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    for name in args.only:
        if args.replot:
            data = _restore(json.loads((args.out / f"{name}.json").read_text()))
        else:
            data = run_experiment(name, args)
        claims = write_outputs(name, data, args.out, write_json=not args.replot)
        for c in claims:
            print(f"[{name}] {c['claim']} ({c['world']}): {_mark(c['holds']).strip('*')} - {c['detail']}")
    write_index(args.out)
    print(
        f"wrote {', '.join(f'{n}.{{json,md,png}}' for n in args.only)} and README.md to {args.out} "
        f"in {time.perf_counter() - total:.0f} s"
    )


if __name__ == "__main__":
    main()
