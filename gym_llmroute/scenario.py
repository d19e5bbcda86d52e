"""The scenario: a frozen, validated description of one simulated LLM-serving world.

A :class:`Scenario` holds the catalog of models (:class:`ModelSpec`) and the run's parameters
(horizon, stages, deployment cap, budget). It validates itself on construction: every bad field gets
a ``ValueError`` (or ``TypeError``) that names the field and says what is allowed, and a budget that
no feasible deployment can meet at some stage is refused with the reason.

Times (arrivals, retirements, stage starts) are fractions of the horizon, so the same scenario can be
played at any length: ``scenario.replace(horizon=100_000, n_stages=46)`` is the same world, longer.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["ModelSpec", "Scenario", "BUDGET_MODES"]

BUDGET_MODES = ("hard", "average")


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _as_per_task(value: Any, where: str) -> float | tuple[float, ...]:
    """A scalar, or a sequence of per-task values, as a float or a tuple of floats."""
    if _is_real(value):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0 and all(_is_real(v) for v in value):
        return tuple(float(v) for v in value)
    raise TypeError(f"{where} must be a number or a non-empty sequence of numbers (one per task type), got {value!r}")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the catalog.

    Attributes
    ----------
    name : str
        Unique name.
    quality : float or tuple of float
        Mean reward (probability of a correct answer) in [0, 1]; a tuple gives one value per task type.
    cost : float or tuple of float
        Mean cost of one query in normalised cost units (>= 0); a tuple gives one value per task type.
    throughput : float
        Throughput cap alpha in (0, 1]: the largest share of a stage's queries the model can serve.
    arrival : float
        Arrival time as a fraction of the horizon, in [0, 1). The model can be deployed from the
        first stage boundary at or after it.
    retirement : float or None
        Retirement time as a fraction of the horizon, in (arrival, 1], or None. A model retiring
        mid-stage finishes that stage and leaves the pool at the next boundary.
    cost_spread : float
        Per-query cost is ``cost * U`` with ``U ~ Uniform(1 - cost_spread, 1 + cost_spread)``;
        in [0, 1). Zero gives deterministic costs.
    list_price : float or None
        Public list price (USD per 1M tokens, blended), metadata an agent may use.
    release : str
        Public release date (metadata, e.g. "2024-05").
    """

    name: str
    quality: float | tuple[float, ...]
    cost: float | tuple[float, ...]
    throughput: float = 1.0
    arrival: float = 0.0
    retirement: float | None = None
    cost_spread: float = 0.0
    list_price: float | None = None
    release: str = ""

    def __post_init__(self) -> None:
        where = f"ModelSpec({self.name!r})"
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"ModelSpec.name must be a non-empty string, got {self.name!r}")
        quality = _as_per_task(self.quality, f"{where}.quality")
        cost = _as_per_task(self.cost, f"{where}.cost")
        object.__setattr__(self, "quality", quality)
        object.__setattr__(self, "cost", cost)
        for q in np.atleast_1d(quality):
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"{where}.quality must be in [0, 1], got {self.quality!r}")
        for c in np.atleast_1d(cost):
            if not (c >= 0.0 and math.isfinite(c)):
                raise ValueError(f"{where}.cost must be finite and >= 0, got {self.cost!r}")
        if not _is_real(self.throughput) or not 0.0 < self.throughput <= 1.0:
            raise ValueError(f"{where}.throughput must be in (0, 1], got {self.throughput!r}")
        if not _is_real(self.arrival) or not 0.0 <= self.arrival < 1.0:
            raise ValueError(f"{where}.arrival must be a fraction of the horizon in [0, 1), got {self.arrival!r}")
        if self.retirement is not None and (
            not _is_real(self.retirement) or not self.arrival < self.retirement <= 1.0
        ):
            raise ValueError(
                f"{where}.retirement must be None or a fraction in (arrival={self.arrival}, 1], got {self.retirement!r}"
            )
        if not _is_real(self.cost_spread) or not 0.0 <= self.cost_spread < 1.0:
            raise ValueError(f"{where}.cost_spread must be in [0, 1), got {self.cost_spread!r}")
        if self.list_price is not None and (not _is_real(self.list_price) or self.list_price < 0):
            raise ValueError(f"{where}.list_price must be None or >= 0, got {self.list_price!r}")
        if not isinstance(self.release, str):
            raise TypeError(f"{where}.release must be a string, got {self.release!r}")

    @property
    def n_tasks(self) -> int:
        """Number of per-task values given (1 when quality and cost are scalars)."""
        return max(len(np.atleast_1d(self.quality)), len(np.atleast_1d(self.cost)))


@dataclass(frozen=True)
class Scenario:
    """A validated world: the model catalog and the run's parameters.

    Attributes
    ----------
    models : tuple of ModelSpec
        The catalog, N models (``n_models``), in the order of the action indices.
    budget : float
        Per-query budget b in normalised cost units; the episode budget is ``B = b * horizon``.
    horizon : int
        Number of queries T.
    n_stages : int
        Number of stages K. Stages have equal length (up to rounding) unless ``stage_starts`` is set.
    max_deployed : int
        M_max, the largest number of models deployed in one stage.
    budget_mode : {"hard", "average"}
        ``"hard"``: the episode terminates once the cumulative cost exceeds B (the crossing query is
        still served and charged). ``"average"``: never terminates on cost; overspend is reported.
    task_types : tuple of str
        Names of the query task types; one type means untyped queries.
    task_mix : tuple of float or None
        Probability of each task type (uniform if None).
    stage_starts : tuple of float or None
        Explicit stage start times as fractions of the horizon: ``n_stages`` increasing values, the
        first 0.0. None gives equal stages.
    name, description : str
        Shown by ``llmroute scenarios`` and in renders.
    """

    models: tuple[ModelSpec, ...]
    budget: float
    horizon: int = 1728
    n_stages: int = 12
    max_deployed: int = 4
    budget_mode: str = "hard"
    task_types: tuple[str, ...] = ("any",)
    task_mix: tuple[float, ...] | None = None
    stage_starts: tuple[float, ...] | None = None
    name: str = "custom"
    description: str = ""

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        models = self.models
        if isinstance(models, ModelSpec) or not isinstance(models, (list, tuple)):
            raise TypeError(f"Scenario.models must be a sequence of ModelSpec, got {type(models).__name__}")
        models = tuple(models)
        if not models:
            raise ValueError("Scenario.models must hold at least one ModelSpec")
        for i, m in enumerate(models):
            if not isinstance(m, ModelSpec):
                raise TypeError(f"Scenario.models[{i}] must be a ModelSpec, got {type(m).__name__}")
        names = [m.name for m in models]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Scenario.models: model names must be unique, repeated: {dup}")
        object.__setattr__(self, "models", models)

        if isinstance(self.task_types, str) or not isinstance(self.task_types, (list, tuple)) or not self.task_types:
            raise TypeError(f"Scenario.task_types must be a non-empty tuple of names, got {self.task_types!r}")
        object.__setattr__(self, "task_types", tuple(str(t) for t in self.task_types))
        n_tasks = len(self.task_types)
        for i, m in enumerate(models):
            for attr in ("quality", "cost"):
                v = getattr(m, attr)
                if isinstance(v, tuple) and len(v) != n_tasks:
                    raise ValueError(
                        f"Scenario.models[{i}] ({m.name!r}).{attr} has {len(v)} values but the scenario has "
                        f"{n_tasks} task types {self.task_types}"
                    )
        if self.task_mix is not None:
            mix = _as_per_task(self.task_mix, "Scenario.task_mix")
            mix = (mix,) if isinstance(mix, float) else mix
            if len(mix) != n_tasks or any(w < 0 for w in mix) or not math.isclose(sum(mix), 1.0, abs_tol=1e-9):
                raise ValueError(
                    f"Scenario.task_mix must be {n_tasks} non-negative numbers summing to 1, got {self.task_mix!r}"
                )
            object.__setattr__(self, "task_mix", mix)

        if not isinstance(self.horizon, (int, np.integer)) or isinstance(self.horizon, bool) or self.horizon < 1:
            raise ValueError(f"Scenario.horizon must be an integer >= 1, got {self.horizon!r}")
        if not isinstance(self.n_stages, (int, np.integer)) or isinstance(self.n_stages, bool) or self.n_stages < 1:
            raise ValueError(f"Scenario.n_stages must be an integer >= 1, got {self.n_stages!r}")
        if self.n_stages > self.horizon:
            raise ValueError(
                f"Scenario.n_stages must be at most horizon={self.horizon} (a stage holds at least one query), "
                f"got {self.n_stages}"
            )
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "n_stages", int(self.n_stages))
        if (
            not isinstance(self.max_deployed, (int, np.integer))
            or isinstance(self.max_deployed, bool)
            or self.max_deployed < 1
        ):
            raise ValueError(f"Scenario.max_deployed must be an integer >= 1, got {self.max_deployed!r}")
        object.__setattr__(self, "max_deployed", int(self.max_deployed))
        if not _is_real(self.budget) or not (self.budget > 0 and math.isfinite(self.budget)):
            raise ValueError(f"Scenario.budget must be a finite number > 0 (per query), got {self.budget!r}")
        object.__setattr__(self, "budget", float(self.budget))
        if self.budget_mode not in BUDGET_MODES:
            raise ValueError(f"Scenario.budget_mode must be one of {BUDGET_MODES}, got {self.budget_mode!r}")
        if self.stage_starts is not None:
            starts = tuple(float(s) for s in self.stage_starts) if isinstance(self.stage_starts, (list, tuple)) else None
            if (
                starts is None
                or len(starts) != self.n_stages
                or starts[0] != 0.0
                or any(b <= a for a, b in zip(starts, starts[1:], strict=False))
                or starts[-1] >= 1.0
            ):
                raise ValueError(
                    f"Scenario.stage_starts must be n_stages={self.n_stages} increasing fractions in [0, 1) "
                    f"starting at 0.0, got {self.stage_starts!r}"
                )
            object.__setattr__(self, "stage_starts", starts)
        if not isinstance(self.name, str) or not isinstance(self.description, str):
            raise TypeError("Scenario.name and Scenario.description must be strings")

        bounds = self.stage_bounds
        if np.any(np.diff(bounds) < 1):
            raise ValueError(
                f"Scenario.stage_starts: with horizon={self.horizon} two stages start at the same query; "
                "use fewer stages or a longer horizon"
            )
        self._check_feasible()

    def _check_feasible(self) -> None:
        """Refuse a world in which some stage has no deployment that meets the caps and the budget."""
        avail = self.availability
        for k in range(self.n_stages):
            pool = np.flatnonzero(avail[k])
            where = f"stage {k} (queries {self.stage_bounds[k]}..{self.stage_bounds[k + 1] - 1})"
            if pool.size == 0:
                raise ValueError(f"Scenario infeasible: no model is available at {where}; check arrival/retirement")
            caps = np.sort(self.throughput[pool])[::-1][: self.max_deployed]
            if caps.sum() < 1.0 - 1e-9:
                raise ValueError(
                    f"Scenario infeasible: at {where} the {caps.size} largest throughput caps of the available "
                    f"models sum to {caps.sum():.3f} < 1 with max_deployed={self.max_deployed}; "
                    "raise max_deployed or the models' throughput"
                )
        bad = np.flatnonzero(~np.isfinite(self.oracle.values))
        if bad.size:
            k = int(bad[0])
            from .solvers import min_cost

            pool = np.flatnonzero(avail[k])
            c = self.cost_matrix[:, pool].T @ self.task_weights
            cheapest = min_cost(c, self.throughput[pool], self.max_deployed)
            raise ValueError(
                f"Scenario infeasible: budget={self.budget:g} per query cannot be met at stage {k}: the cheapest "
                f"deployment of at most max_deployed={self.max_deployed} available models that respects the "
                f"throughput caps costs {cheapest:.4g} per query; raise the budget to at least that"
            )

    # ------------------------------------------------------------------ derived arrays
    @property
    def n_models(self) -> int:
        """N, the number of models in the catalog."""
        return len(self.models)

    @property
    def n_tasks(self) -> int:
        return len(self.task_types)

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    @cached_property
    def task_weights(self) -> np.ndarray:
        """Probability of each task type, shape (n_tasks,)."""
        if self.task_mix is None:
            return np.full(self.n_tasks, 1.0 / self.n_tasks)
        return np.asarray(self.task_mix, dtype=np.float64)

    def _per_task(self, attr: str) -> np.ndarray:
        out = np.empty((self.n_tasks, self.n_models))
        for i, m in enumerate(self.models):
            out[:, i] = getattr(m, attr)
        out.flags.writeable = False
        return out

    @cached_property
    def quality_matrix(self) -> np.ndarray:
        """True mean reward, shape (n_tasks, n_models)."""
        return self._per_task("quality")

    @cached_property
    def cost_matrix(self) -> np.ndarray:
        """True mean cost per query, shape (n_tasks, n_models)."""
        return self._per_task("cost")

    @cached_property
    def mean_quality(self) -> np.ndarray:
        """True mean reward averaged over the task mix, shape (n_models,)."""
        return self.task_weights @ self.quality_matrix

    @cached_property
    def mean_cost(self) -> np.ndarray:
        """True mean cost averaged over the task mix, shape (n_models,)."""
        return self.task_weights @ self.cost_matrix

    @cached_property
    def throughput(self) -> np.ndarray:
        """Throughput caps alpha, shape (n_models,)."""
        return np.array([m.throughput for m in self.models])

    @cached_property
    def cost_spread(self) -> np.ndarray:
        return np.array([m.cost_spread for m in self.models])

    @cached_property
    def cost_range(self) -> tuple[float, float]:
        """(c_1, c_2): the smallest and largest per-query cost any model can charge."""
        spread = self.cost_spread[None, :]
        return (float(np.min(self.cost_matrix * (1 - spread))), float(np.max(self.cost_matrix * (1 + spread))))

    @cached_property
    def stage_bounds(self) -> np.ndarray:
        """Query index at which each stage starts, plus the horizon: shape (n_stages + 1,), int64."""
        if self.stage_starts is None:
            starts = np.arange(self.n_stages) / self.n_stages
        else:
            starts = np.asarray(self.stage_starts)
        bounds = np.append(np.round(starts * self.horizon).astype(np.int64), self.horizon)
        bounds.flags.writeable = False
        return bounds

    @cached_property
    def stage_lengths(self) -> np.ndarray:
        return np.diff(self.stage_bounds)

    @cached_property
    def availability(self) -> np.ndarray:
        """Candidate pool per stage, shape (n_stages, n_models), bool: arrived at or before the stage
        start and not retired by then."""
        # Compared as fractions of the horizon, so that the pools do not depend on the horizon's length.
        if self.stage_starts is None:
            start = (np.arange(self.n_stages) / self.n_stages)[:, None]
        else:
            start = np.asarray(self.stage_starts)[:, None]
        arrival = np.array([m.arrival for m in self.models])[None, :]
        retire = np.array([np.inf if m.retirement is None else m.retirement for m in self.models])[None, :]
        out = (arrival <= start + 1e-9) & (retire > start + 1e-9)
        out.flags.writeable = False
        return out

    @cached_property
    def stage_caps(self) -> np.ndarray:
        """Queries each model may serve in each stage, ceil(alpha * stage length): (n_stages, n_models)."""
        return np.ceil(self.throughput[None, :] * self.stage_lengths[:, None] - 1e-9).astype(np.int64)

    @cached_property
    def list_prices(self) -> np.ndarray:
        """Public list prices (NaN where unknown)."""
        return np.array([np.nan if m.list_price is None else m.list_price for m in self.models])

    @cached_property
    def oracle(self):
        """The stage oracle (:class:`gym_llmroute.oracle.StageOracle`), solved once per scenario."""
        from .oracle import stage_oracle  # the oracle depends on this module, not the reverse

        return stage_oracle(self)

    # ------------------------------------------------------------------ edits
    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with some fields changed; unknown field names raise ``TypeError``."""
        known = {f.name for f in dataclasses.fields(self) if not f.name.startswith("_")}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"Scenario has no field(s) {unknown}; fields are {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        """A few lines describing the scenario."""
        lines = [
            f"{self.name}: {self.description}".rstrip(": "),
            f"  N={self.n_models} models, T={self.horizon} queries, K={self.n_stages} stages, "
            f"M_max={self.max_deployed}, budget b={self.budget:g}/query ({self.budget_mode}), "
            f"task types={self.n_tasks}",
        ]
        return "\n".join(lines)
