"""The compiled scenario: everything a :class:`~gym_llmroute.scenario.Scenario` implies, computed
once per scenario and cached.

A :class:`~gym_llmroute.scenario.Scenario` is the spec (the catalog and the run's parameters) and its
validation. What follows from it lives here, in one :class:`CompiledScenario` per scenario
(``scenario.compiled``; the scenario forwards these attributes, so ``scenario.quality_matrix`` still
works): the per-task and per-stage mean arrays, the stage bounds, caps and candidate pools, the
non-stationary schedules (price changes, drift), the public price schedule, the stage oracle, and
the padding of the per-model arrays to ``n`` model slots (:meth:`CompiledScenario.padded`, the one
place where a world is padded: the simulation's parameters and the agents' public parameters read
it). Each attribute is computed on first use and kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .oracle import StageOracle, stage_oracle

__all__ = ["CompiledScenario", "Padded", "pad", "FORWARDED"]

#: The attributes a Scenario forwards to its compiled form (``scenario.oracle`` is
#: ``scenario.compiled.oracle``).
FORWARDED = frozenset(
    (
        "task_weights quality_matrix cost_matrix mean_quality mean_cost throughput cost_spread cost_range "
        "stationary price_factor drift_offset stage_quality stage_cost stage_bounds stage_lengths availability "
        "stage_caps list_prices public_prices oracle arrival padded"
    ).split()
)


def pad(a: np.ndarray, n: int, fill: Any = 0) -> np.ndarray:
    """``a`` with its last axis padded with ``fill`` to length ``n`` (``a`` itself if it has n)."""
    if a.shape[-1] == n:
        return a
    out = np.full(a.shape[:-1] + (n,), fill, dtype=a.dtype)
    out[..., : a.shape[-1]] = a
    return out


@dataclass(frozen=True)
class Padded:
    """The per-model arrays of a world on ``n_slots`` model slots: the catalog's models fill the first
    slots; a padded slot is never available, has throughput 0, arrival 0, price 0 in the price
    observation and an unknown (NaN) list price."""

    n_slots: int
    throughput: np.ndarray  # (n_slots,)
    list_prices: np.ndarray  # (n_slots,), NaN where unknown
    arrival: np.ndarray  # (n_slots,)
    availability: np.ndarray  # bool (K, n_slots)
    stage_caps: np.ndarray  # (K, n_slots), float64
    prices: np.ndarray  # the price observation from each change on (changes + 1, n_slots)


class CompiledScenario:
    """What a validated scenario implies, computed on first use and cached (``scenario.compiled``).

    It is also the :class:`~gym_llmroute.oracle.OracleProblem` the stage oracle solves.

    Parameters
    ----------
    spec : Scenario
        The scenario (``spec``).
    """

    def __init__(self, spec: Any):  # a Scenario (gym_llmroute.scenario sits above this module)
        self.spec = spec
        self.models = spec.models
        self.n_models = len(spec.models)
        self.n_tasks = len(spec.task_types)
        self.n_stages = spec.n_stages
        self.horizon = spec.horizon
        self.budget = spec.budget
        self.max_deployed = spec.max_deployed
        self.task_mix = spec.task_mix
        self.stage_starts = spec.stage_starts
        self._padded: dict[int, Padded] = {}

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
        """(c_1, c_2): the smallest and largest per-query cost any model can charge (over the price
        changes too; the outcome sampler's own range if it has one)."""
        hook = getattr(self.spec.outcomes, "cost_range", None)
        if callable(hook):
            lo, hi = hook(self.spec)
            return float(lo), float(hi)
        spread = self.cost_spread[None, :]
        factors = [(1.0,) + tuple(f for _, f in m.price_changes) for m in self.models]
        f_lo = np.array([min(f) for f in factors])[None, :]
        f_hi = np.array([max(f) for f in factors])[None, :]
        return (
            float(np.min(self.cost_matrix * (1 - spread) * f_lo)),
            float(np.max(self.cost_matrix * (1 + spread) * f_hi)),
        )

    # ------------------------------------------------------------------ non-stationarity
    @cached_property
    def stationary(self) -> bool:
        """True if no model drifts and no price changes (the means are the same at every query)."""
        return all(m.drift == 0.0 and not m.price_changes for m in self.models)

    @cached_property
    def price_steps(self) -> tuple[tuple[int, np.ndarray, np.ndarray], ...]:
        """(model, query index of each change, factor from then on with 1.0 first) per changing model."""
        steps = []
        for i, m in enumerate(self.models):
            if m.price_changes:
                at = np.array([math.ceil(t * self.horizon - 1e-9) for t, _ in m.price_changes], dtype=np.int64)
                steps.append((i, at, np.array((1.0,) + tuple(f for _, f in m.price_changes))))
        return tuple(steps)

    def price_factor(self, start: int, size: int) -> np.ndarray | None:
        """The cost multiplier of every model over a run of queries.

        Parameters
        ----------
        start : int
            The first query's index.
        size : int
            The number of queries.

        Returns
        -------
        ndarray of shape (size, N), or None
            The multiplier of queries ``start .. start+size-1``; None if no price changes (all ones).
        """
        if not self.price_steps:
            return None
        out = np.ones((size, self.n_models))
        t = np.arange(start, start + size)
        for i, at, factors in self.price_steps:
            out[:, i] = factors[np.searchsorted(at, t, side="right")]
        return out

    @cached_property
    def drift_rates(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(drift, arrival) of every model, or None if no model drifts."""
        drift = np.array([m.drift for m in self.models])
        if not drift.any():
            return None
        return drift, np.array([m.arrival for m in self.models])

    def drift_offset(self, start: int, size: int) -> np.ndarray | None:
        """The quality drift of every model over the queries ``start .. start+size-1`` (the run of
        :meth:`price_factor`): ``drift * max(0, t / horizon - arrival)``, shape (size, N); None if no
        model drifts."""
        if self.drift_rates is None:
            return None
        drift, arrival = self.drift_rates
        t = np.arange(start, start + size)[:, None] / self.horizon
        return drift * np.maximum(0.0, t - arrival)

    @cached_property
    def stage_quality(self) -> np.ndarray:
        """Mean reward per stage, task type and model, averaged over the stage's queries: shape
        (n_stages, n_tasks, N). Equal to ``quality_matrix`` at every stage without drift."""
        q = self.quality_matrix
        K = self.n_stages
        drift = np.array([m.drift for m in self.models])
        if not drift.any():
            out = np.broadcast_to(q, (K,) + q.shape)
        else:
            # Mean of drift * max(0, t/T - arrival) over t in [s, e): the terms from t0 = max(s, a) on,
            # where a = ceil(arrival * T) is the first query with t/T >= arrival.
            T = self.horizon
            s, e = self.stage_bounds[:-1, None], self.stage_bounds[1:, None]
            arrival = np.array([m.arrival for m in self.models])[None, :]
            t0 = np.maximum(s, np.ceil(arrival * T - 1e-9).astype(np.int64))
            n = np.maximum(0, e - t0)
            mean = (n * (t0 + e - 1) / (2.0 * T) - n * arrival) / (e - s)
            out = np.clip(q[None, :, :] + (drift * mean)[:, None, :], 0.0, 1.0)
        out = np.array(out)
        out.flags.writeable = False
        return out

    @cached_property
    def stage_cost(self) -> np.ndarray:
        """Mean cost per stage, task type and model, averaged over the stage's queries (a price change
        inside a stage counts for the queries after it): shape (n_stages, n_tasks, N). Equal to
        ``cost_matrix`` at every stage without price changes."""
        c = self.cost_matrix
        K = self.n_stages
        factor = np.ones((K, self.n_models))
        for i, at, factors in self.price_steps:
            f = factors[np.searchsorted(at, np.arange(self.horizon), side="right")]
            factor[:, i] = np.add.reduceat(f, self.stage_bounds[:-1]) / self.stage_lengths
        out = c[None, :, :] * factor[:, None, :]
        out.flags.writeable = False
        return out

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
    def public_prices(self) -> tuple[tuple[int, ...], np.ndarray]:
        """The public prices over the episode, as the observation's ``price`` shows them.

        Returns ``(times, prices)``: the query indices at which some model's price changes
        (increasing), and the prices in force from query 0 and from each change on, shape
        ``(len(times) + 1, N)``: list price times the price factor in force
        (``ModelSpec.price_changes``), over the largest known price ever in force, 0 where unknown.
        """
        factor_rows = [np.ones(self.n_models)]
        times: list[int] = sorted({int(t) for _, at, _ in self.price_steps for t in at})
        for t in times:
            factor = self.price_factor(t, 1)
            assert factor is not None  # a price changes at t
            factor_rows.append(factor[0])
        prices = self.list_prices[None, :] * np.array(factor_rows)
        known = np.isfinite(prices)
        top = prices[known].max() if known.any() else 0.0
        out = np.where(known, prices / (top if top > 0 else 1.0), 0.0)
        out.flags.writeable = False
        return tuple(times), out

    @cached_property
    def oracle(self) -> StageOracle:
        """The stage oracle (:class:`gym_llmroute.oracle.StageOracle`), solved once per scenario."""
        return stage_oracle(self)

    @cached_property
    def arrival(self) -> np.ndarray:
        """Arrival times as fractions of the horizon, shape (n_models,)."""
        return np.array([m.arrival for m in self.models])

    # ------------------------------------------------------------------ padding
    def padded(self, n_slots: int) -> Padded:
        """The per-model arrays on ``n_slots >= n_models`` model slots (cached per size).

        Parameters
        ----------
        n_slots : int
            The model slots (``pad_to``); at least the catalog's size.

        Returns
        -------
        Padded
        """
        out = self._padded.get(n_slots)
        if out is None:
            if n_slots < self.n_models:
                raise ValueError(f"n_slots={n_slots} is below the world's {self.n_models} models")
            out = self._padded[n_slots] = Padded(
                n_slots=n_slots,
                throughput=pad(self.throughput, n_slots),
                list_prices=pad(self.list_prices, n_slots, np.nan),
                arrival=pad(self.arrival, n_slots),
                availability=pad(self.availability, n_slots),
                stage_caps=pad(self.stage_caps.astype(np.float64), n_slots),
                prices=pad(self.public_prices[1], n_slots),
            )
        return out
