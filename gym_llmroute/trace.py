"""Trace replay: a scenario built from a per-query table of every model's reward and cost.

A trace is a wide table with one row per query: a task column (``task``; ``source`` and ``eval_name``
are also recognised, or pass ``task_column``) and, for each model m, a column ``m`` with its reward in
[0, 1] and a column ``m|cost`` with its cost (>= 0, any unit, e.g. USD). Other columns are ignored.
Files are read from CSV (``.csv``), JSON Lines (``.jsonl``, ``.ndjson``; one object per line) and
Parquet (``.parquet``, ``.pq``); Parquet and pickles need pandas (``pip install gym-llmroute[trace]``),
imported only then. Pickles (``.pkl``, ``.pickle``) are read only with ``allow_pickle=True``, since
unpickling a file can run arbitrary code.

:func:`load_routerbench` reads RouterBench's published wide format (Hu et al. 2024): ``eval_name``
(mapped to its task family), ``<model>`` and ``<model>|total_cost`` (USD) columns.

:func:`trace_scenario` turns a :class:`Trace` into a :class:`~gym_llmroute.scenario.Scenario`: model
arrival (and retirement) times are given by the user, each query of an episode is a row drawn uniformly
with replacement using the episode's seed (:class:`TraceOutcomes`), and the models' per-task means,
which the oracle uses, are the table's per-(model, task) means; the task mix is the table's.

Every defect of a file raises :class:`TraceError` (a ``ValueError``) naming the file, the row or
column, and the problem.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .scenario import ModelSpec, Scenario

__all__ = [
    "Trace",
    "TraceError",
    "TraceOutcomes",
    "load_trace",
    "load_routerbench",
    "routerbench_family",
    "trace_scenario",
    "write_trace",
    "synthesize_trace",
    "demo_trace",
    "demo_trace_scenario",
    "write_demo_trace",
    "DEMO_TRACE",
]

_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".pkl": "pickle",
    ".pickle": "pickle",
}
_TASK_COLUMNS = ("task", "source", "eval_name")
#: The trace shipped with the package (``gym_llmroute/data``), made by :func:`write_demo_trace`.
DEMO_TRACE = "demo_trace.csv"


class TraceError(ValueError):
    """A defect in a trace file; the message names the file, the row or column, and the problem."""


@dataclass(frozen=True, eq=False)
class Trace:
    """A per-query table: ``tasks`` (n,) indices into ``task_names``, ``rewards`` and ``costs`` (n, N)
    per model of ``model_names``, read from ``source``."""

    source: str
    task_names: tuple[str, ...]
    model_names: tuple[str, ...]
    tasks: np.ndarray
    rewards: np.ndarray
    costs: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.tasks.size)

    @property
    def task_mix(self) -> np.ndarray:
        """Share of rows of each task type, shape (J,)."""
        return np.bincount(self.tasks, minlength=len(self.task_names)) / self.n_rows

    def _per_task_mean(self, values: np.ndarray) -> np.ndarray:
        J = len(self.task_names)
        sums = np.zeros((J, values.shape[1]))
        np.add.at(sums, self.tasks, values)
        return sums / np.bincount(self.tasks, minlength=J)[:, None]

    @property
    def mean_reward(self) -> np.ndarray:
        """Mean reward per task type and model, shape (J, N)."""
        return self._per_task_mean(self.rewards)

    @property
    def mean_cost(self) -> np.ndarray:
        """Mean cost per task type and model (the file's unit), shape (J, N)."""
        return self._per_task_mean(self.costs)

    def __repr__(self) -> str:
        return (
            f"Trace({self.source!r}: {self.n_rows} rows, {len(self.model_names)} models, "
            f"{len(self.task_names)} task types)"
        )


# ------------------------------------------------------------------------------------- reading
@dataclass
class _Table:
    header: list[str]
    columns: dict[str, list]
    labels: Callable[[int], str]  # row index -> "row 3 (line 4)"


def _read_csv(path: Path, name: str) -> _Table:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise TraceError(f"trace file {name!r} is empty (no header line)")
        header = [h.strip() for h in header]
        rows: list[list[str]] = []
        lines: list[int] = []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise TraceError(
                    f"trace file {name!r}: row {len(rows) + 1} (line {reader.line_num}) has {len(row)} fields "
                    f"but the header has {len(header)}"
                )
            rows.append(row)
            lines.append(reader.line_num)
    columns = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    return _Table(header, columns, lambda i: f"row {i + 1} (line {lines[i]})")


def _read_jsonl(path: Path, name: str) -> _Table:
    records, lines = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TraceError(f"trace file {name!r}: line {n} is not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise TraceError(f"trace file {name!r}: line {n} must be a JSON object, got {type(obj).__name__}")
            records.append(obj)
            lines.append(n)
    header: list[str] = []
    for r in records:
        header.extend(k for k in r if k not in header)
    columns = {h: [r.get(h) for r in records] for h in header}
    return _Table(header, columns, lambda i: f"row {i + 1} (line {lines[i]})")


def _pandas(fmt: str, name: str):
    try:
        import pandas
    except ImportError:
        raise ImportError(
            f"reading the {fmt} trace file {name!r} needs pandas (and pyarrow for Parquet): "
            "pip install 'gym-llmroute[trace]'"
        ) from None
    return pandas


def _read_pandas(path: Path, name: str, fmt: str) -> _Table:
    pd = _pandas(fmt, name)
    try:
        df = pd.read_parquet(path) if fmt == "parquet" else pd.read_pickle(path)
    except ImportError as e:
        raise ImportError(
            f"reading the {fmt} trace file {name!r} needs pyarrow: pip install 'gym-llmroute[trace]' ({e})"
        ) from None
    except (OSError, ValueError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise TraceError(f"trace file {name!r} is not a readable {fmt} file: {e}") from None
    if not isinstance(df, pd.DataFrame):
        raise TraceError(f"trace file {name!r} must hold a pandas DataFrame, got {type(df).__name__}")
    header = [str(c) for c in df.columns]
    columns = {str(c): df[c].tolist() for c in df.columns}
    return _Table(header, columns, lambda i: f"row {i + 1}")


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == "" or v.strip().lower() in ("nan", "na", "null", "none")
    try:
        return math.isnan(v)
    except TypeError:
        return False


def _numbers(values: list, column: str, table: _Table, name: str) -> np.ndarray:
    """The column as floats; the first unparsable or missing value raises with its row."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        out = None
    if out is None or out.shape != (len(values),) or np.isnan(out).any():
        for i, v in enumerate(values):
            if _is_missing(v):
                raise TraceError(f"trace file {name!r}: {table.labels(i)}, column {column!r}: missing value (NaN)")
            try:
                float(v)
            except (TypeError, ValueError):
                raise TraceError(
                    f"trace file {name!r}: {table.labels(i)}, column {column!r}: not a number: {v!r}"
                ) from None
        raise TraceError(f"trace file {name!r}: column {column!r} is not a column of numbers")
    return out


def _to_trace(
    table: _Table,
    name: str,
    task_column: str | None,
    cost_suffix: str,
    models: Sequence[str] | None,
    task_map: Callable[[str], str] | Mapping[str, str] | None,
) -> Trace:
    header = table.header
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise TraceError(f"trace file {name!r}: repeated column names {dup}")
    n = len(next(iter(table.columns.values()))) if table.columns else 0
    if n == 0:
        raise TraceError(f"trace file {name!r} has no data rows")
    task_column = _task_column(header, name, task_column)
    models = _model_columns(header, name, cost_suffix, models)
    task_names, tasks = _task_types(table, name, task_column, task_map)
    rewards = np.empty((n, len(models)))
    costs = np.empty((n, len(models)))
    for j, m in enumerate(models):
        rewards[:, j], costs[:, j] = _model_outcomes(table, name, m, m + cost_suffix)
    for a in (tasks, rewards, costs):
        a.flags.writeable = False
    return Trace(name, task_names, tuple(models), tasks, rewards, costs)


def _task_column(header: list[str], name: str, task_column: str | None) -> str:
    """The column of task types: the one given, or the first of the recognised names."""
    if task_column is None:
        found = next((c for c in _TASK_COLUMNS if c in header), None)
        if found is None:
            raise TraceError(
                f"trace file {name!r}: missing column 'task' (the task type of each row; 'source' and "
                f"'eval_name' are also recognised, or pass task_column=); columns are {header[:12]}"
            )
        return found
    if task_column not in header:
        raise TraceError(f"trace file {name!r}: missing column {task_column!r} (task_column)")
    return task_column


def _model_columns(header: list[str], name: str, cost_suffix: str, models: Sequence[str] | None) -> list[str]:
    """The models of the trace (the ones given, or every ``<model>`` with a ``<model><cost_suffix>``
    column), each with both columns present."""
    if models is None:
        found = [c[: -len(cost_suffix)] for c in header if c.endswith(cost_suffix) and len(c) > len(cost_suffix)]
        if not found:
            raise TraceError(
                f"trace file {name!r}: no model columns: expected pairs '<model>' (reward in [0, 1]) and "
                f"'<model>{cost_suffix}' (cost); columns are {header[:12]}"
            )
    else:
        found = [str(m) for m in models]
        if not found:
            raise TraceError(f"trace file {name!r}: models= must name at least one model")
    for m in found:
        for col, what in ((m, f"reward of model {m!r}"), (m + cost_suffix, f"cost of model {m!r}")):
            if col not in header:
                raise TraceError(f"trace file {name!r}: missing column {col!r} (the {what})")
    return found


def _task_types(
    table: _Table, name: str, task_column: str, task_map: Callable[[str], str] | Mapping[str, str] | None
) -> tuple[tuple[str, ...], np.ndarray]:
    """Task type names, in order of first appearance (mapped by ``task_map``), and each row's index."""
    names: dict[str, int] = {}
    tasks = np.empty(len(table.columns[task_column]), dtype=np.int64)
    mapper = task_map.get if isinstance(task_map, Mapping) else task_map
    for i, v in enumerate(table.columns[task_column]):
        if _is_missing(v):
            raise TraceError(f"trace file {name!r}: {table.labels(i)}, column {task_column!r}: empty task type")
        key = str(v).strip()
        if mapper is not None:
            mapped = mapper(key)
            key = key if mapped is None else str(mapped)
        tasks[i] = names.setdefault(key, len(names))
    return tuple(names), tasks


def _model_outcomes(table: _Table, name: str, m: str, col: str) -> tuple[np.ndarray, np.ndarray]:
    """Model ``m``'s rewards (column ``m``, in [0, 1]) and costs (column ``col``, finite, >= 0)."""
    if all(_is_missing(v) for v in table.columns[m]):
        raise TraceError(f"trace file {name!r}: model {m!r} has no rows (column {m!r} is empty in every row)")
    r = _numbers(table.columns[m], m, table, name)
    bad = np.flatnonzero((r < 0.0) | (r > 1.0))
    if bad.size:
        i = int(bad[0])
        raise TraceError(f"trace file {name!r}: {table.labels(i)}, column {m!r}: reward {float(r[i])!r} outside [0, 1]")
    c = _numbers(table.columns[col], col, table, name)
    bad = np.flatnonzero((c < 0.0) | ~np.isfinite(c))
    if bad.size:
        i = int(bad[0])
        what = "negative cost" if c[i] < 0 else "infinite cost"
        raise TraceError(f"trace file {name!r}: {table.labels(i)}, column {col!r}: {what} {float(c[i])!r}")
    return r, c


def _format_of(path: Path, name: str, format: str | None) -> str:
    if format is not None:
        if format not in set(_FORMATS.values()):
            raise TraceError(
                f"trace file {name!r}: unknown format {format!r}; use one of {sorted(set(_FORMATS.values()))}"
            )
        return format
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TraceError(
            f"trace file {name!r}: unknown format {path.suffix or '(no extension)'!r}; use .csv, .jsonl, .parquet "
            "(or .pkl with allow_pickle=True), or pass format="
        )
    return fmt


def load_trace(
    path: str | Path,
    *,
    format: str | None = None,
    task_column: str | None = None,
    cost_suffix: str = "|cost",
    models: Sequence[str] | None = None,
    task_map: Callable[[str], str] | Mapping[str, str] | None = None,
    allow_pickle: bool = False,
) -> Trace:
    """Read a trace file (wide format, see the module docstring).

    Parameters
    ----------
    path : str or Path
        The file; its extension gives the format unless ``format`` is set.
    format : {"csv", "jsonl", "parquet", "pickle"}, optional
        Overrides the extension.
    task_column : str, optional
        The column holding each row's task type (default: the first of ``task``, ``source``,
        ``eval_name`` present).
    cost_suffix : str
        Suffix of the cost columns (``"|cost"``; RouterBench uses ``"|total_cost"``).
    models : sequence of str, optional
        The models to read (default: every ``<model>`` with a ``<model><cost_suffix>`` column, in file order).
    task_map : callable or mapping, optional
        Maps a task value to a task type (e.g. :func:`routerbench_family`); unmapped values (None) stay.
    allow_pickle : bool
        Pickles are refused unless True: unpickling can run arbitrary code. Only load pickles you trust.
    """
    path = Path(path)
    name = str(path)
    fmt = _format_of(path, name, format)
    if fmt == "pickle" and not allow_pickle:
        raise TraceError(
            f"refusing to read the pickle trace file {name!r}: unpickling a file can run arbitrary code. "
            "Pass allow_pickle=True only if you trust the file, or convert it to Parquet or CSV"
        )
    if not path.is_file():
        raise FileNotFoundError(f"trace file {name!r} not found")
    if path.stat().st_size == 0:
        raise TraceError(f"trace file {name!r} is empty")
    if fmt == "csv":
        table = _read_csv(path, name)
    elif fmt == "jsonl":
        table = _read_jsonl(path, name)
    else:
        table = _read_pandas(path, name, fmt)
    return _to_trace(table, name, task_column, cost_suffix, models, task_map)


# RouterBench eval_name prefixes and their task family (its eight families; MMLU has one eval per subject).
_ROUTERBENCH_FAMILIES = (
    ("mmlu", "mmlu"),
    ("hellaswag", "hellaswag"),
    ("winogrande", "winogrande"),
    ("arc-challenge", "arc-challenge"),
    ("grade-school-math", "gsm8k"),
    ("gsm8k", "gsm8k"),
    ("mbpp", "mbpp"),
    ("mtbench", "mt-bench"),
    ("mt-bench", "mt-bench"),
)


def routerbench_family(eval_name: str) -> str:
    """RouterBench task family of an ``eval_name``: ``mmlu-*`` -> ``mmlu``, ``grade-school-math`` ->
    ``gsm8k``, ``mtbench*`` -> ``mt-bench``, and so on for hellaswag, winogrande, arc-challenge and
    mbpp; any other eval (its RAG sets) -> ``rag``."""
    low = eval_name.lower()
    for prefix, family in _ROUTERBENCH_FAMILIES:
        if low.startswith(prefix):
            return family
    return "rag"


def load_routerbench(
    path: str | Path,
    *,
    allow_pickle: bool = False,
    models: Sequence[str] | None = None,
    task_map: Callable[[str], str] | Mapping[str, str] | None | str = "family",
    format: str | None = None,
) -> Trace:
    """Read RouterBench's wide format: ``sample_id``, ``prompt``, ``eval_name``, and per model
    ``<model>`` (score in [0, 1]) and ``<model>|total_cost`` (USD); other columns (e.g.
    ``<model>|model_response``) are ignored. RouterBench ships pandas pickles, read only with
    ``allow_pickle=True`` (unpickling can run code); the same table as CSV, JSON Lines or Parquet
    needs no opt-in. ``task_map="family"`` (default) maps each ``eval_name`` to its family with
    :func:`routerbench_family`; None keeps the raw ``eval_name``."""
    mapper = routerbench_family if task_map == "family" else task_map
    if isinstance(mapper, str):
        raise TypeError(f"task_map must be 'family', a mapping, a callable or None, got {task_map!r}")
    return load_trace(
        path,
        format=format,
        task_column="eval_name",
        cost_suffix="|total_cost",
        models=models,
        task_map=mapper,
        allow_pickle=allow_pickle,
    )


def write_trace(trace: Trace, path: str | Path, *, format: str | None = None) -> Path:
    """Write ``trace`` in the wide format (``sample_id``, ``task``, ``<model>``, ``<model>|cost``) as
    CSV, JSON Lines or Parquet (by extension or ``format``). Floats are written with 12 significant
    digits."""
    path = Path(path)
    fmt = _format_of(path, str(path), format)
    header = ["sample_id", "task"]
    for m in trace.model_names:
        header += [m, m + "|cost"]
    rows = []
    for i in range(trace.n_rows):
        row: list[Any] = [i, trace.task_names[trace.tasks[i]]]
        for j in range(len(trace.model_names)):
            row += [float(f"{trace.rewards[i, j]:.12g}"), float(f"{trace.costs[i, j]:.12g}")]
        rows.append(row)
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows([[_format_cell(v) for v in r] for r in rows])
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(dict(zip(header, r, strict=True))) + "\n")
    elif fmt == "parquet":
        pd = _pandas("parquet", str(path))
        pd.DataFrame(rows, columns=header).to_parquet(path, index=False)
    else:
        raise TraceError(f"write_trace writes csv, jsonl or parquet, not {fmt!r} ({str(path)!r})")
    return path


def _format_cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.12g}"
    return str(v)


# ------------------------------------------------------------------------------------- scenario
class TraceOutcomes:
    """Outcome sampler (``Scenario.outcomes``) that replays trace rows: each query is a row drawn
    uniformly with replacement; its task type, every model's reward and its cost (divided by
    ``cost_unit``, times the model's price factor in force, if any) are the row's."""

    def __init__(self, trace: Trace, cost_unit: float = 1.0):
        if not (isinstance(cost_unit, (int, float)) and cost_unit > 0 and math.isfinite(cost_unit)):
            raise ValueError(f"cost_unit must be a finite number > 0, got {cost_unit!r}")
        self.trace = trace
        self.cost_unit = float(cost_unit)
        self._costs = trace.costs / self.cost_unit

    def __repr__(self) -> str:
        return f"TraceOutcomes({self.trace.source!r}, {self.trace.n_rows} rows)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceOutcomes) or self.cost_unit != other.cost_unit:
            return False
        a, b = self.trace, other.trace
        return a is b or (
            a.model_names == b.model_names
            and a.task_names == b.task_names
            and np.array_equal(a.tasks, b.tasks)
            and np.array_equal(a.rewards, b.rewards)
            and np.array_equal(a.costs, b.costs)
        )

    def __hash__(self) -> int:
        return hash((self.trace.model_names, self.trace.task_names, self.trace.n_rows, self.cost_unit))

    def mean_quality(self) -> np.ndarray:
        return self.trace.mean_reward

    def mean_cost(self) -> np.ndarray:
        return self.trace.mean_cost / self.cost_unit

    def validate(self, scenario: Scenario) -> None:
        tr = self.trace
        if scenario.model_names != tr.model_names or scenario.task_types != tr.task_names:
            raise ValueError(
                f"Scenario.outcomes replays {tr!r}: the scenario must have its models {list(tr.model_names)} and "
                f"task types {list(tr.task_names)} in that order"
            )
        if any(m.drift for m in scenario.models):
            raise ValueError("Scenario.outcomes replays a trace: quality drift does not apply to replayed rewards")
        for what, have, want in (
            ("quality", scenario.quality_matrix, self.mean_quality()),
            ("cost", scenario.cost_matrix, self.mean_cost()),
        ):
            if not np.allclose(have, want, rtol=1e-9, atol=1e-12):
                j, m = (int(x[0]) for x in np.nonzero(~np.isclose(have, want, rtol=1e-9, atol=1e-12)))
                raise ValueError(
                    f"Scenario.models[{m}] ({tr.model_names[m]!r}).{what} for task {tr.task_names[j]!r} is "
                    f"{have[j, m]:.6g} but the trace's mean is {want[j, m]:.6g}"
                )
        if not np.allclose(scenario.task_weights, tr.task_mix, atol=1e-9):
            raise ValueError(f"Scenario.task_mix must be the trace's task shares {tr.task_mix.tolist()}")

    def cost_range(self, scenario: Scenario) -> tuple[float, float]:
        factors = [(1.0,) + tuple(f for _, f in m.price_changes) for m in scenario.models]
        lo = self._costs.min(axis=0) * np.array([min(f) for f in factors])
        hi = self._costs.max(axis=0) * np.array([max(f) for f in factors])
        return float(lo.min()), float(hi.max())

    def sample(self, scenario: Scenario, rng: np.random.Generator, start: int, size: int):
        idx = rng.integers(self.trace.n_rows, size=size)
        costs = self._costs[idx]
        factor = scenario.price_factor(start, size)
        if factor is not None:
            costs *= factor
        return self.trace.tasks[idx], self.trace.rewards[idx], costs


def _per_model(value: Any, models: tuple[str, ...], what: str, default: Any, source: str) -> list:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(models))
        if unknown:
            raise ValueError(
                f"{what}: model(s) {unknown} have no rows in trace file {source!r} (its models: {list(models)})"
            )
        return [value.get(m, default) for m in models]
    if value is None or isinstance(value, (int, float)):
        return [default if value is None else value] * len(models)
    raise TypeError(f"{what} must be a mapping from model name to value, or a single value; got {type(value).__name__}")


def trace_scenario(
    trace: Trace | str | Path,
    *,
    arrivals: Mapping[str, float] | None = None,
    retirements: Mapping[str, float] | None = None,
    throughput: float | Mapping[str, float] = 0.5,
    cost_unit: float | None = None,
    budget: float = 0.25,
    list_prices: Mapping[str, float] | None = None,
    **fields: Any,
) -> Scenario:
    """A scenario that replays ``trace`` (a :class:`Trace` or a path read by :func:`load_trace`).

    Parameters
    ----------
    arrivals, retirements : mapping from model name to a fraction of the horizon, optional
        When each model arrives (default 0.0) and retires (default never). Naming a model that is not
        in the trace raises ``ValueError``.
    throughput : float or mapping
        Throughput cap alpha of every model, or per model (default 0.5).
    cost_unit : float, optional
        Trace costs are divided by it (default: the largest mean cost of a model over the trace, so
        that the most expensive model costs 1.0 per query on average).
    budget : float
        Per-query budget in those units (default 0.25).
    list_prices : mapping, optional
        Public list price metadata per model.
    **fields
        Other Scenario fields (horizon, n_stages, max_deployed, budget_mode, feedback_delay, name, ...).
    """
    if not isinstance(trace, Trace):
        trace = load_trace(trace)
    models = trace.model_names
    if cost_unit is None:
        top = float((trace.task_mix @ trace.mean_cost).max())
        cost_unit = top if top > 0 else 1.0
    outcomes = TraceOutcomes(trace, cost_unit)
    quality, cost = outcomes.mean_quality(), outcomes.mean_cost()
    arrive = _per_model(arrivals, models, "arrivals", 0.0, trace.source)
    retire = _per_model(retirements, models, "retirements", None, trace.source)
    alpha = _per_model(throughput, models, "throughput", 0.5, trace.source)
    prices = _per_model(list_prices, models, "list_prices", None, trace.source)
    specs = tuple(
        ModelSpec(
            name=m,
            quality=tuple(quality[:, i]),
            cost=tuple(cost[:, i]),
            throughput=alpha[i],
            arrival=arrive[i],
            retirement=retire[i],
            list_price=prices[i],
        )
        for i, m in enumerate(models)
    )
    kw: dict[str, Any] = dict(
        name="trace",
        description=f"replay of {Path(trace.source).name} ({trace.n_rows} rows, {len(models)} models, "
        f"{len(trace.task_names)} task types)",
        models=specs,
        budget=budget,
        task_types=trace.task_names,
        task_mix=tuple(trace.task_mix),
        outcomes=outcomes,
    )
    kw.update(fields)
    return Scenario(**kw)


# ------------------------------------------------------------------------------------- demo trace
def synthesize_trace(scenario: Scenario, n_rows: int, seed: int, usd_per_unit: float = 1.0, source: str = "") -> Trace:
    """A trace of ``n_rows`` queries drawn from ``scenario``'s outcome model (from the start of the
    horizon) with ``seed``; costs times ``usd_per_unit`` (rounded to 6 significant digits)."""
    from .world import sample_outcomes

    rng = np.random.Generator(np.random.PCG64(seed))
    tasks, rewards, costs = sample_outcomes(scenario, rng, n_rows, 0)
    costs = np.array([[float(f"{c:.6g}") for c in row] for row in costs * usd_per_unit])
    used = np.unique(tasks)
    remap = np.full(scenario.n_tasks, -1)
    remap[used] = np.arange(used.size)
    return Trace(
        source or f"synthesized from {scenario.name}",
        tuple(scenario.task_types[j] for j in used),
        scenario.model_names,
        remap[tasks],
        rewards,
        costs,
    )


#: Rows and seed of the shipped demo trace.
DEMO_ROWS, DEMO_SEED = 600, 2024


def write_demo_trace(path: str | Path) -> Path:
    """(Re)make the shipped demo trace: 600 queries drawn from the ``typed`` world (RouterBench's 11
    models, 4 task types, Bernoulli rewards, token costs in USD) with seed 2024."""
    from .market import USD_PER_UNIT, typed_scenario

    return write_trace(synthesize_trace(typed_scenario(), DEMO_ROWS, DEMO_SEED, USD_PER_UNIT), path)


@lru_cache(maxsize=1)
def demo_trace() -> Trace:
    """The trace shipped in ``gym_llmroute/data/demo_trace.csv``."""
    ref = resources.files("gym_llmroute").joinpath("data", DEMO_TRACE)
    with resources.as_file(ref) as path:
        return load_trace(path)


def demo_trace_scenario(**fields: Any) -> Scenario:
    """The ``trace`` preset: the demo trace replayed with the typed world's arrivals (release months over
    July 2023 - January 2024), costs in the market's unit, b = 0.05, T = 1728, K = 12, M_max = 4."""
    from .market import USD_PER_UNIT, typed_arrivals

    kw: dict[str, Any] = dict(
        arrivals=typed_arrivals(),
        cost_unit=USD_PER_UNIT,
        budget=0.05,
        horizon=1728,
        n_stages=12,
        max_deployed=4,
    )
    kw.update(fields)
    return trace_scenario(demo_trace(), **kw)


# ------------------------------------------------------------------------------------- real data
#: The real per-prompt trace shipped with the package (``gym_llmroute/data``; Apache-2.0, see
#: ``gym_llmroute/data/LICENSE-paretobandit``): ParetoBandit's validation split, 1,785 prompts of nine
#: benchmarks answered by three production models, graded reward in [0, 1] and cost in USD.
REALDATA_TRACE = "paretobandit_val.csv"
#: Cost unit of the ``realdata`` world in USD per query: 1.5 US cents, about gemini-2.5-pro's mean cost
#: per prompt in the trace (USD 0.01504), so that the frontier model costs 1.002 units per query.
REALDATA_USD_PER_UNIT = 0.015
#: The newest model of the trace (released December 2025) and when it arrives, as a fraction of the horizon.
REALDATA_NEWCOMER, REALDATA_ARRIVAL = "mistral-large-2512", 0.3
#: Per-query budget of the ``realdata`` world in units of REALDATA_USD_PER_UNIT (USD 0.003 per prompt).
REALDATA_BUDGET = 0.2

__all__ += [
    "REALDATA_TRACE",
    "REALDATA_USD_PER_UNIT",
    "REALDATA_NEWCOMER",
    "REALDATA_ARRIVAL",
    "REALDATA_BUDGET",
    "realdata_trace",
    "realdata_list_prices",
    "realdata_scenario",
]


@lru_cache(maxsize=1)
def realdata_trace() -> Trace:
    """The real trace shipped in ``gym_llmroute/data/paretobandit_val.csv`` (read once per process)."""
    ref = resources.files("gym_llmroute").joinpath("data", REALDATA_TRACE)
    with resources.as_file(ref) as path:
        return load_trace(path)


def realdata_list_prices(trace: Trace | None = None) -> dict[str, float]:
    """Public list price of each model of the real trace: its mean cost per prompt in the trace, in USD
    per 1M prompts (rounded to the cent), i.e. the public price per query implied by the provider's
    price sheet at the trace's typical token counts."""
    trace = realdata_trace() if trace is None else trace
    usd = trace.costs.mean(axis=0)
    return {m: round(float(usd[i]) * 1e6, 2) for i, m in enumerate(trace.model_names)}


def realdata_scenario(**fields: Any) -> Scenario:
    """The ``realdata`` preset: the shipped real trace (:func:`realdata_trace`) replayed as a stream.

    llama-3.1-8b and gemini-2.5-pro are there from the start; mistral-large-2512, the newest (December
    2025) and the best value of the three, arrives at 0.3 of the horizon (deployable from the first
    stage boundary at or after it). Throughput caps are 1.0: the three are hosted API models whose rate
    limits dwarf one service's traffic, so no share of traffic is forced onto any model and the cheapest
    deployment (llama-3.1-8b alone) stays far below the budget; ``max_deployed=2`` of 3 models is the
    deployment constraint (once the newcomer is there, the oracle drops llama-3.1-8b for it). Costs are
    in units of USD 0.015 per query (llama 0.00195, mistral 0.0335, gemini 1.002 on average). The budget
    b = 0.2 (USD 0.003 per prompt) lets the oracle send about 25% of the traffic to gemini-2.5-pro before
    the newcomer arrives and 17% after; it binds (V* 0.836 then 0.930 per query, against 0.935 and 0.939
    with an unlimited budget). T = 20,000 queries in K = round(T^(1/3)) = 27 stages. The task type is
    the benchmark (9 types), so the world is typed. ``**fields`` override any argument of
    :func:`trace_scenario` (``arrivals``, ``throughput``, ``cost_unit``, ``budget``, ``list_prices``)
    or Scenario field (``horizon``, ``n_stages``, ``max_deployed``, ``budget_mode``, ...)."""
    trace = realdata_trace()
    kw: dict[str, Any] = dict(
        name="realdata",
        description=(
            f"real per-prompt trace (ParetoBandit val split, Apache-2.0): {trace.n_rows} prompts, "
            f"{len(trace.model_names)} models, {len(trace.task_names)} benchmarks; "
            f"{REALDATA_NEWCOMER} arrives at {REALDATA_ARRIVAL:g} of the horizon"
        ),
        arrivals={REALDATA_NEWCOMER: REALDATA_ARRIVAL},
        throughput=1.0,
        cost_unit=REALDATA_USD_PER_UNIT,
        budget=REALDATA_BUDGET,
        list_prices=realdata_list_prices(trace),
        horizon=20_000,
        n_stages=27,
        max_deployed=2,
    )
    kw.update(fields)
    return trace_scenario(trace, **kw)
