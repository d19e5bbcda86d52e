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
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

from .compiled import FORWARDED, CompiledScenario
from .solvers import min_cost

__all__ = [
    "ModelSpec",
    "Scenario",
    "BUDGET_MODES",
    "Override",
    "OVERRIDES",
    "OVERRIDE_NAMES",
    "take_overrides",
    "declares_overrides",
]

BUDGET_MODES = ("hard", "average")


@dataclass(frozen=True)
class Override:
    """A :class:`Scenario` field that every env constructor (``gym.make`` keyword arguments), the
    reset options of ``LLMRoute-v0`` and the ``llmroute`` command may override.

    The scenario validates the value (its errors name the field); ``low`` and ``choices`` only let
    the command line refuse a bad value before it builds an env.
    """

    name: str  # the Scenario field, and the keyword argument
    type: type  # int, float or str
    help: str  # what it sets, for the command line's --help
    metavar: str | None = None
    low: int | None = None  # integers: the smallest value
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        """The command line option: ``--n-stages`` for ``n_stages``."""
        return "--" + self.name.replace("_", "-")


#: The scenario overrides, declared once: every constructor's keyword arguments, the reset options
#: and the command line options are made from this table. A new overridable Scenario field is a
#: row here (and the field itself).
OVERRIDES: tuple[Override, ...] = (
    Override("horizon", int, "the number of queries T", "T", low=1),
    Override("n_stages", int, "the number of stages K", "K", low=1),
    Override("max_deployed", int, "M_max, the models deployed at once", "M", low=1),
    Override("budget", float, "the per-query budget b (normalised cost units)", "B"),
    Override("budget_mode", str, "the budget mode", choices=BUDGET_MODES),
    Override("feedback_delay", int, "the queries before an outcome is observed (delayed feedback)", "D", low=0),
)
OVERRIDE_NAMES: tuple[str, ...] = tuple(o.name for o in OVERRIDES)

_F = TypeVar("_F", bound=Callable[..., Any])


def take_overrides(owner: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario overrides of a constructor's ``**overrides``: those given and not None.

    Parameters
    ----------
    owner : str
        The constructor's name, for the error.
    given : mapping
        Its ``**overrides``.

    Returns
    -------
    dict
        Field name to value, in the order of :data:`OVERRIDES`.

    Raises
    ------
    TypeError
        A keyword that is no scenario override (as Python names an unexpected keyword argument).
    """
    for key in given:
        if key not in OVERRIDE_NAMES:
            raise TypeError(f"{owner}() got an unexpected keyword argument {key!r}")
    return {key: given[key] for key in OVERRIDE_NAMES if given.get(key) is not None}


def declares_overrides(init: _F) -> _F:
    """Declare the scenario overrides (:data:`OVERRIDES`, each ``None`` by default) as keyword-only
    arguments of ``init``, a constructor that takes them as ``**overrides``: what
    ``inspect.signature`` (and so ``help()``) shows; the constructor checks them with
    :func:`take_overrides`."""
    sig = inspect.signature(init)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(params))
    declared = [
        inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=f"{o.type.__name__} | None")
        for o in OVERRIDES
    ]
    init.__signature__ = sig.replace(parameters=params[:at] + declared + params[at:])  # type: ignore[attr-defined]
    return init


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _is_count(x: Any, low: int) -> bool:
    """An integer (Python or NumPy, not a bool) at least ``low``."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and bool(x >= low)


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
    drift : float
        Slow quality drift (off by default): the mean reward of query t is
        ``quality + drift * max(0, t / horizon - arrival)`` (linear from the arrival, per task type
        alike). Must keep every quality in [0, 1] up to the horizon.
    price_changes : tuple of (time, factor) pairs
        Price changes (off by default): from time ``time`` (a fraction of the horizon in (0, 1),
        increasing) on, the model's cost is ``factor * cost`` (factor > 0, relative to ``cost``, not
        to the previous change). A price cut to half is ``((0.4, 0.5),)``.
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
    drift: float = 0.0
    price_changes: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        where = f"ModelSpec({self.name!r})"
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"ModelSpec.name must be a non-empty string, got {self.name!r}")
        quality = _as_per_task(self.quality, f"{where}.quality")
        cost = _as_per_task(self.cost, f"{where}.cost")
        object.__setattr__(self, "quality", quality)
        object.__setattr__(self, "cost", cost)
        # Plain tuples, not arrays: a catalog of many models is built often (generated worlds).
        for q in quality if isinstance(quality, tuple) else (quality,):
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"{where}.quality must be in [0, 1], got {self.quality!r}")
        for c in cost if isinstance(cost, tuple) else (cost,):
            if not (c >= 0.0 and math.isfinite(c)):
                raise ValueError(f"{where}.cost must be finite and >= 0, got {self.cost!r}")
        if not _is_real(self.throughput) or not 0.0 < self.throughput <= 1.0:
            raise ValueError(f"{where}.throughput must be in (0, 1], got {self.throughput!r}")
        if not _is_real(self.arrival) or not 0.0 <= self.arrival < 1.0:
            raise ValueError(f"{where}.arrival must be a fraction of the horizon in [0, 1), got {self.arrival!r}")
        if self.retirement is not None and (not _is_real(self.retirement) or not self.arrival < self.retirement <= 1.0):
            raise ValueError(
                f"{where}.retirement must be None or a fraction in (arrival={self.arrival}, 1], got {self.retirement!r}"
            )
        if not _is_real(self.cost_spread) or not 0.0 <= self.cost_spread < 1.0:
            raise ValueError(f"{where}.cost_spread must be in [0, 1), got {self.cost_spread!r}")
        if self.list_price is not None and (not _is_real(self.list_price) or self.list_price < 0):
            raise ValueError(f"{where}.list_price must be None or >= 0, got {self.list_price!r}")
        if not isinstance(self.release, str):
            raise TypeError(f"{where}.release must be a string, got {self.release!r}")
        self._check_drift(where, quality)
        self._check_price_changes(where)

    def _check_drift(self, where: str, quality: float | tuple[float, ...]) -> None:
        if not _is_real(self.drift) or not math.isfinite(self.drift):
            raise ValueError(f"{where}.drift must be a finite number (quality change per horizon), got {self.drift!r}")
        if self.drift == 0.0:
            return  # the qualities are in [0, 1] already
        end = np.atleast_1d(quality) + self.drift * (1.0 - self.arrival)
        if np.any(end < 0.0) or np.any(end > 1.0):
            raise ValueError(
                f"{where}.drift={self.drift!r} takes quality {self.quality!r} outside [0, 1] before the horizon "
                f"(it reaches {end.tolist()})"
            )

    def _check_price_changes(self, where: str) -> None:
        changes = self.price_changes
        if isinstance(changes, tuple) and not changes:
            return
        try:
            changes = tuple((float(t), float(f)) for t, f in changes)
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}.price_changes must be a sequence of (time, factor) pairs, got {changes!r}"
            ) from None
        times = [t for t, _ in changes]
        if any(not 0.0 < t < 1.0 for t in times) or any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise ValueError(
                f"{where}.price_changes times must be increasing fractions of the horizon in (0, 1), got {self.price_changes!r}"
            )
        if any(not (f > 0.0 and math.isfinite(f)) for _, f in changes):
            raise ValueError(f"{where}.price_changes factors must be finite and > 0, got {self.price_changes!r}")
        object.__setattr__(self, "price_changes", changes)

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
    feedback_delay : int
        Delayed feedback (off by default): the outcome of query t is revealed ``feedback_delay``
        queries later (after query ``t + feedback_delay`` is routed). The reward is still paid when
        the query is routed; only the statistics an agent observes lag. Outcomes still pending at
        the end of the episode are never revealed.
    outcomes : object or None
        The outcome sampler hook: None draws Bernoulli rewards and ``cost_spread`` costs from the
        models' means. Otherwise an object with ``sample(scenario, rng, start, size)`` returning
        ``(tasks (size,), rewards (size, N), costs (size, N))`` for queries ``start .. start+size-1``
        (see :func:`gym_llmroute.world.sample_outcomes`), optionally ``validate(scenario)`` (called
        on construction; raises if the models' means disagree with what it samples) and
        ``cost_range(scenario)`` (the smallest and largest per-query cost it can draw). The token
        cost model of the market worlds and the trace replay are such samplers.
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
    feedback_delay: int = 0
    outcomes: Any = None

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        # Each step may normalise fields the later ones read (tuples, ints, floats); the order is
        # the order in which errors are reported.
        self._check_models()
        self._check_tasks()
        self._check_sizes()
        self._check_budget()
        self._check_stage_starts()
        self._check_hooks()
        bounds = self.compiled.stage_bounds
        if np.any(np.diff(bounds) < 1):
            raise ValueError(
                f"Scenario.stage_starts: with horizon={self.horizon} two stages start at the same query; "
                "use fewer stages or a longer horizon"
            )
        self._check_feasible()

    def _check_models(self) -> None:
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

    def _check_tasks(self) -> None:
        if isinstance(self.task_types, str) or not isinstance(self.task_types, (list, tuple)) or not self.task_types:
            raise TypeError(f"Scenario.task_types must be a non-empty tuple of names, got {self.task_types!r}")
        object.__setattr__(self, "task_types", tuple(str(t) for t in self.task_types))
        n_tasks = len(self.task_types)
        for i, m in enumerate(self.models):
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

    def _check_sizes(self) -> None:
        if not _is_count(self.horizon, 1):
            raise ValueError(f"Scenario.horizon must be an integer >= 1, got {self.horizon!r}")
        if not _is_count(self.n_stages, 1):
            raise ValueError(f"Scenario.n_stages must be an integer >= 1, got {self.n_stages!r}")
        if self.n_stages > self.horizon:
            raise ValueError(
                f"Scenario.n_stages must be at most horizon={self.horizon} (a stage holds at least one query), "
                f"got {self.n_stages}"
            )
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "n_stages", int(self.n_stages))
        if not _is_count(self.max_deployed, 1):
            raise ValueError(f"Scenario.max_deployed must be an integer >= 1, got {self.max_deployed!r}")
        object.__setattr__(self, "max_deployed", int(self.max_deployed))

    def _check_budget(self) -> None:
        if not _is_real(self.budget) or not (self.budget > 0 and math.isfinite(self.budget)):
            raise ValueError(f"Scenario.budget must be a finite number > 0 (per query), got {self.budget!r}")
        object.__setattr__(self, "budget", float(self.budget))
        if self.budget_mode not in BUDGET_MODES:
            raise ValueError(f"Scenario.budget_mode must be one of {BUDGET_MODES}, got {self.budget_mode!r}")

    def _check_stage_starts(self) -> None:
        if self.stage_starts is None:
            return
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

    def _check_hooks(self) -> None:
        """The name, the description, the feedback delay and the outcome sampler."""
        if not isinstance(self.name, str) or not isinstance(self.description, str):
            raise TypeError("Scenario.name and Scenario.description must be strings")
        delay = self.feedback_delay
        if not _is_count(delay, 0) or not delay < self.horizon:
            raise ValueError(
                f"Scenario.feedback_delay must be an integer in [0, horizon={self.horizon}) (queries), got {delay!r}"
            )
        object.__setattr__(self, "feedback_delay", int(delay))
        if self.outcomes is not None:
            if not callable(getattr(self.outcomes, "sample", None)):
                raise TypeError(
                    "Scenario.outcomes must be None or an object with a sample(scenario, rng, start, size) method, "
                    f"got {type(self.outcomes).__name__}"
                )
            validate = getattr(self.outcomes, "validate", None)
            if callable(validate):
                validate(self)

    def _check_feasible(self) -> None:
        """Refuse a world in which some stage has no deployment that meets the caps and the budget."""
        c = self.compiled
        avail = c.availability
        for k in range(self.n_stages):
            pool = np.flatnonzero(avail[k])
            where = f"stage {k} (queries {c.stage_bounds[k]}..{self.stage_bounds[k + 1] - 1})"
            if pool.size == 0:
                raise ValueError(f"Scenario infeasible: no model is available at {where}; check arrival/retirement")
            caps = np.sort(c.throughput[pool])[::-1][: self.max_deployed]
            if caps.sum() < 1.0 - 1e-9:
                raise ValueError(
                    f"Scenario infeasible: at {where} the {caps.size} largest throughput caps of the available "
                    f"models sum to {caps.sum():.3f} < 1 with max_deployed={self.max_deployed}; "
                    "raise max_deployed or the models' throughput"
                )
        bad = np.flatnonzero(~np.isfinite(c.oracle.values))
        if bad.size:
            k = int(bad[0])
            pool = np.flatnonzero(avail[k])
            cost = c.stage_cost[k][:, pool].T @ c.task_weights
            cheapest = min_cost(cost, c.throughput[pool], self.max_deployed)
            raise ValueError(
                f"Scenario infeasible: budget={self.budget:g} per query cannot be met at stage {k}: the cheapest "
                f"deployment of at most max_deployed={self.max_deployed} available models that respects the "
                f"throughput caps costs {cheapest:.4g} per query; raise the budget to at least that"
            )

    # ------------------------------------------------------------------ the compiled form
    @cached_property
    def compiled(self) -> CompiledScenario:
        """Everything the scenario implies, computed on first use and cached: the derived arrays, the
        padding to n model slots and the stage oracle (:class:`~gym_llmroute.compiled.CompiledScenario`).
        The scenario forwards them: ``scenario.quality_matrix`` is ``scenario.compiled.quality_matrix``."""
        return CompiledScenario(self)

    def __getattr__(self, name: str) -> Any:
        # Only for names not found otherwise: the compiled form's attributes (FORWARDED).
        if name in FORWARDED:
            return getattr(self.compiled, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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

    # ------------------------------------------------------------------ edits
    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with some fields changed.

        Parameters
        ----------
        **changes
            New values of Scenario fields.

        Returns
        -------
        Scenario
            The copy (validated like any Scenario).

        Raises
        ------
        TypeError
            An unknown field name.
        """
        known = {f.name for f in dataclasses.fields(self) if not f.name.startswith("_")}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"Scenario has no field(s) {unknown}; fields are {sorted(known)}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """The scenario a mapping of its fields describes, as ``dataclasses.asdict`` writes it (and so
        ``env.spec.to_json()``): models as mappings of :class:`ModelSpec` fields, lists for tuples.

        Parameters
        ----------
        data : mapping
            The scenario's fields by name (``dataclasses.asdict(scenario)``, read back from JSON).

        Returns
        -------
        Scenario
            The scenario it describes, validated like any.

        Raises
        ------
        TypeError
            Unknown fields (of the scenario or of a model), or a model that is not a mapping.
        ValueError
            A non-default ``outcomes`` sampler (code, which a mapping cannot hold), or an invalid field.
        """
        known = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(f"scenario mapping has unknown field(s) {unknown}; fields are {sorted(known)}")
        if data.get("outcomes") is not None:
            raise ValueError(
                "scenario mapping has an 'outcomes' sampler, which cannot be rebuilt from a mapping: "
                "pass the Scenario object (or register it as a preset and pass its name)"
            )
        fields = dict(data)
        models = fields.get("models")
        if not isinstance(models, (list, tuple)):
            raise TypeError(f"scenario mapping's 'models' must be a list of model mappings, got {models!r}")
        model_fields = {f.name for f in dataclasses.fields(ModelSpec)}
        specs = []
        for i, m in enumerate(models):
            if isinstance(m, ModelSpec):
                specs.append(m)
                continue
            if not isinstance(m, Mapping):
                raise TypeError(f"scenario mapping's models[{i}] must be a mapping of ModelSpec fields, got {m!r}")
            bad = sorted(set(m) - model_fields)
            if bad:
                raise TypeError(f"scenario mapping's models[{i}] has unknown field(s) {bad}")
            m = dict(m)
            m["price_changes"] = tuple(tuple(change) for change in m.get("price_changes", ()))
            specs.append(ModelSpec(**m))
        fields["models"] = tuple(specs)
        for key in ("task_types", "task_mix", "stage_starts"):
            if isinstance(fields.get(key), list):
                fields[key] = tuple(fields[key])
        return cls(**fields)

    def summary(self) -> str:
        """A description of the scenario.

        Returns
        -------
        str
            A few lines: name and description, the run's parameters, the non-stationary options.
        """
        lines = [
            f"{self.name}: {self.description}".rstrip(": "),
            f"  N={self.n_models} models, T={self.horizon} queries, K={self.n_stages} stages, "
            f"M_max={self.max_deployed}, budget b={self.budget:g}/query ({self.budget_mode}), "
            f"task types={self.n_tasks}",
        ]
        n_price = sum(bool(m.price_changes) for m in self.models)
        n_drift = sum(m.drift != 0.0 for m in self.models)
        options = [
            f"{n_price} models change price" if n_price else "",
            f"{n_drift} models drift" if n_drift else "",
            f"feedback delay {self.feedback_delay} queries" if self.feedback_delay else "",
            f"outcomes from {self.outcomes!r}" if self.outcomes is not None else "",
        ]
        if any(options):
            lines.append("  " + ", ".join(o for o in options if o))
        return "\n".join(lines)
