"""The results of a benchmark: its run files read back (:func:`load_runs`), summarised per (env,
scenario, agent) with 95% confidence intervals over seeds (:func:`summarise`), and written as a
markdown table and a CSV (:func:`write_table`); :func:`pm` and :func:`fit_slope`, the cells and
slopes of the benchmark scripts' tables.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import mean_ci
from ..files import atomic_write_text
from .jobs import EvalRun

__all__ = [
    "load_runs",
    "summarise",
    "results_table",
    "write_table",
    "pm",
    "fit_slope",
    "CorruptRunFile",
    "SUMMARY_KEYS",
]


class CorruptRunFile(ValueError):
    """A file of ``<out>/runs`` that is not a run record; the message names it and says how to
    recompute it."""


SUMMARY_KEYS = (
    "reward",
    "reward_fraction",
    "regret",
    "cost",
    "spend_fraction",
    "queries_served",
    "invalid_actions",
)


def load_runs(out: str | os.PathLike, runs: Sequence[EvalRun] | None = None) -> list[dict[str, Any]]:
    """The recorded runs of a bench folder: those of ``runs`` (in that order) or every file."""
    out = Path(out)
    if runs is not None:
        return [_read_run(r.path(out)) for r in runs if r.done(out)]
    return [_read_run(p) for p in sorted((out / "runs").glob("*.json"))]


def _read_run(path: Path) -> dict[str, Any]:
    """One run file; a file that is not a run record (edited, truncated by a full disk, copied from
    elsewhere) raises ``ValueError`` naming it and saying how to recompute it."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRunFile(f"corrupt run file {path}: {exc}; delete it and rerun the bench to recompute it") from None
    missing = [key for key in ("agent", "seed", *SUMMARY_KEYS) if not isinstance(record, dict) or key not in record]
    if missing:
        raise CorruptRunFile(
            f"corrupt run file {path}: missing {missing}; delete it and rerun the bench to recompute it"
        )
    return record


def summarise(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (env, scenario, agent), in order of first appearance: ``n`` seeds and, per metric
    of :data:`SUMMARY_KEYS`, ``<metric>_mean`` and ``<metric>_ci`` (half-width of the 95% Student-t
    interval over seeds; nan with one seed)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["env_id"], r["scenario"], r["agent"]), []).append(r)
    rows = []
    for (env_id, scenario, agent), rs in groups.items():
        row: dict[str, Any] = {
            "env_id": env_id,
            "scenario": scenario,
            "agent": agent,
            "n": len(rs),
            "seeds": " ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"])),
            "train_steps": rs[0].get("train_steps") or "",
        }
        for key in SUMMARY_KEYS:
            row[f"{key}_mean"], row[f"{key}_ci"] = mean_ci([float(r[key]) for r in rs])
        row["oracle_value"] = rs[0]["oracle_value"]
        rows.append(row)
    return rows


def pm(mean_half: tuple[float, float], fmt: str) -> str:
    """``"mean ± half"`` in the format ``fmt`` (e.g. ``".3f"``; a ``+`` sign applies to the mean only);
    the mean alone if the half-width is not finite (one seed), ``"n/a"`` if the mean is not."""
    mean, half = mean_half
    if not math.isfinite(mean):
        return "n/a"
    if not math.isfinite(half):
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(half, fmt.lstrip('+'))}"


def fit_slope(horizons: Sequence[int], regrets: Sequence[float]) -> float:
    """Least-squares slope of log(regret) on log(T); nan if any regret is not positive."""
    r = np.asarray(regrets, dtype=np.float64)
    if len(horizons) < 2 or np.any(~np.isfinite(r)) or np.any(r <= 0):
        return math.nan
    return float(np.polyfit(np.log(horizons), np.log(r), 1)[0])


def _fmt(mean: float, ci: float, digits: int) -> str:
    return pm((mean, ci), f".{digits}f")


def results_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows as a markdown table (mean ± 95% CI half-width over seeds)."""
    head = (
        "| env | scenario | agent | train steps | seeds | reward | reward / oracle | regret | spend / budget "
        "| queries served | invalid actions |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['env_id']} | {r['scenario']} | {r['agent']} | {r['train_steps'] or '-'} | {r['n']} "
            f"| {_fmt(r['reward_mean'], r['reward_ci'], 1)} | {_fmt(r['reward_fraction_mean'], r['reward_fraction_ci'], 3)} "
            f"| {_fmt(r['regret_mean'], r['regret_ci'], 1)} | {_fmt(r['spend_fraction_mean'], r['spend_fraction_ci'], 3)} "
            f"| {_fmt(r['queries_served_mean'], r['queries_served_ci'], 0)} "
            f"| {_fmt(r['invalid_actions_mean'], r['invalid_actions_ci'], 1)} |"
        )
    return "\n".join(lines)


def write_table(
    rows: Sequence[dict[str, Any]], directory: str | os.PathLike, stem: str = "results"
) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.csv`` (atomically) into ``directory``; returns the paths."""
    import csv
    import io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{stem}.md"
    csv_path = directory / f"{stem}.csv"
    atomic_write_text(md, results_table(rows) + "\n")
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(csv_path, buf.getvalue())
    return md, csv_path
