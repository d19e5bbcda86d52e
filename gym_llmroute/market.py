"""Worlds calibrated on the public 2023-2025 LLM market: the ``market`` stream and the task-typed
``typed`` world.

The facts (release months, list prices, MMLU and Chatbot Arena Elo of 42 models) ship with the package
in ``gym_llmroute/data/market_2023_2025.csv`` and ``price_changes_2023_2025.csv``, copied from the
project's reference facts ``llm_market_2023_2025.csv``; ``gym_llmroute/data/README.md`` cites their
sources. Every rule that turns facts into a world is documented here and in docs/worlds.md:

* **Quality**: a model's success probability is its MMLU score / 100. A model with no MMLU figure but
  an Arena Elo gets ``MMLU = a + b * Elo``, fitted by least squares on the models that have both
  (:func:`elo_to_mmlu`). Models with neither figure are left out, and so are models without a price.
* **Cost**: a query has ``n_in`` prompt and ``n_out`` answer tokens, and costs
  ``n_in * price_in + n_out * price_out`` (list prices in USD per 1M tokens) in units of
  :data:`USD_PER_UNIT` (a 600-in / 300-out query at GPT-4 (0314) prices, the unit of ``paper``).
  Token counts are log-normal with given means and log-space spreads, clipped to [mean / 8, 8 * mean]
  (:class:`TokenLengths`); one draw per query is shared by every model (the same prompt).
* **Arrivals and retirements**: the horizon maps a calendar window (July 2023 to July 2025 for
  ``market``) linearly; a model arrives at its release month (at the start if released before the
  window) and retires ``lifetime_months`` (18) after the release of its last snapshot.
* **Price cuts**: successor snapshots that the facts show were sold cheaper under the same alias
  (gpt-3.5-turbo 0613 -> 1106 -> 0125, gpt-4o 2024-05-13 -> 2024-08-06) and the later Gemini 1.5 prices
  become price changes of one model: from the cut's month on, the model's cost is multiplied by the
  ratio of the mean query cost at the new and the old list prices.

``typed`` uses RouterBench's 11 models (Hu et al. 2024) with four task families. Its per-(model, task)
success probability follows a two-parameter item-response curve in the model's MMLU logit,
``sigmoid(a_j * (logit(mmlu_m) - beta_j)) (+ a specialist bonus)``: MMLU itself is ``a = 1, beta = 0``,
and GSM8K's ``(a, beta)`` is solved exactly from the two measured GSM8K accuracies in the reference
data (GPT-4-1106 85.67 %, Mixtral-8x7B 63.84 %). Per-task costs follow from per-task token lengths.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .scenario import ModelSpec, Scenario
from .world import sample_rewards

__all__ = [
    "USD_PER_UNIT",
    "MarketModel",
    "TokenLengths",
    "TokenCosts",
    "TaskFamily",
    "TYPED_TASKS",
    "ROUTERBENCH_MODELS",
    "load_market",
    "elo_to_mmlu",
    "market_catalog",
    "market_scenario",
    "typed_scenario",
    "typed_arrivals",
    "typed_quality",
    "MARKET_WINDOW",
    "MARKET_PROMPT",
    "MARKET_ANSWER",
    "TYPED_WINDOW",
    "TYPED_SPECIALISTS",
]

#: USD of one cost unit: 600 prompt and 300 answer tokens at GPT-4 (0314)'s $30 / $60 per 1M tokens.
USD_PER_UNIT = (600 * 30.0 + 300 * 60.0) / 1e6
#: Token counts are clipped to [mean / TOKEN_CLIP, mean * TOKEN_CLIP].
TOKEN_CLIP = 8.0

_DATA = "data"


def _month_index(month: str) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return year * 12 + mon - 1


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class TokenLengths:
    """Log-normal token count with mean ``mean`` and log-space standard deviation ``sigma``,
    clipped to ``[mean / TOKEN_CLIP, mean * TOKEN_CLIP]``: ``mean * exp(sigma * Z - sigma^2 / 2)``."""

    mean: float
    sigma: float

    @property
    def bounds(self) -> tuple[float, float]:
        return self.mean / TOKEN_CLIP, self.mean * TOKEN_CLIP

    def expected(self) -> float:
        """Exact mean of the clipped count."""
        lo, hi = self.bounds
        s = self.sigma
        if s == 0.0:
            return self.mean
        mu = math.log(self.mean) - s * s / 2
        a, b = (math.log(lo) - mu) / s, (math.log(hi) - mu) / s
        inside = self.mean * (_phi(b - s) - _phi(a - s))
        return lo * _phi(a) + hi * (1.0 - _phi(b)) + inside

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        return np.clip(self.mean * np.exp(self.sigma * z - self.sigma**2 / 2), lo, hi)


class TokenCosts:
    """Outcome sampler (``Scenario.outcomes``) with per-query costs from token counts and list prices.

    Rewards are Bernoulli with the scenario's (task, model) quality (plus drift), exactly as by
    default. Query t of task type j has ``n_in ~ prompt[j]`` and ``n_out ~ answer[j]`` tokens
    (:class:`TokenLengths`, one draw per query shared by every model) and model m charges
    ``(n_in * price_in[m] + n_out * price_out[m]) / 1e6 / usd_per_unit`` times its price factor in force
    at t (``ModelSpec.price_changes``). The scenario's mean costs must equal :meth:`mean_cost`.

    Parameters
    ----------
    price_in, price_out : sequences of N floats
        List prices in USD per 1M prompt and answer tokens.
    prompt, answer : sequences of J :class:`TokenLengths`
        Token counts per task type.
    usd_per_unit : float
        USD of one normalised cost unit.
    """

    def __init__(self, price_in, price_out, prompt, answer, usd_per_unit: float = USD_PER_UNIT):
        self.price_in = np.asarray(price_in, dtype=np.float64)
        self.price_out = np.asarray(price_out, dtype=np.float64)
        self.prompt = tuple(prompt)
        self.answer = tuple(answer)
        self.usd_per_unit = float(usd_per_unit)
        if self.price_in.shape != self.price_out.shape or self.price_in.ndim != 1:
            raise ValueError("TokenCosts: price_in and price_out must be 1-D of one length (one per model)")
        if np.any(self.price_in < 0) or np.any(self.price_out < 0) or not self.usd_per_unit > 0:
            raise ValueError("TokenCosts: prices must be >= 0 and usd_per_unit > 0")
        if len(self.prompt) != len(self.answer) or not self.prompt:
            raise ValueError("TokenCosts: prompt and answer need one TokenLengths per task type")
        scale = 1e6 * self.usd_per_unit
        self._in = self.price_in / scale
        self._out = self.price_out / scale
        self._mean_in = np.array([p.mean for p in self.prompt])
        self._mean_out = np.array([a.mean for a in self.answer])
        self._sig_in = np.array([p.sigma for p in self.prompt])
        self._sig_out = np.array([a.sigma for a in self.answer])

    def __repr__(self) -> str:
        return f"TokenCosts({self.price_in.size} models, {len(self.prompt)} task types)"

    def _key(self) -> tuple:
        return (tuple(self.price_in), tuple(self.price_out), self.prompt, self.answer, self.usd_per_unit)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenCosts) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def mean_cost(self) -> np.ndarray:
        """Mean cost of a query per task type and model at the launch prices, shape (J, N)."""
        e_in = np.array([p.expected() for p in self.prompt])
        e_out = np.array([a.expected() for a in self.answer])
        return e_in[:, None] * self._in[None, :] + e_out[:, None] * self._out[None, :]

    def validate(self, scenario: Scenario) -> None:
        N, J = scenario.n_models, scenario.n_tasks
        if self.price_in.size != N or len(self.prompt) != J:
            raise ValueError(f"Scenario.outcomes {self!r} does not fit a scenario of {N} models and {J} task types")
        mean = self.mean_cost()
        bad = ~np.isclose(scenario.cost_matrix, mean, rtol=1e-6, atol=1e-12)
        if bad.any():
            j, m = (int(x[0]) for x in np.nonzero(bad))
            raise ValueError(
                f"Scenario.models[{m}] ({scenario.model_names[m]!r}).cost for task {scenario.task_types[j]!r} is "
                f"{scenario.cost_matrix[j, m]:.6g} but its token prices give a mean of {mean[j, m]:.6g}"
            )

    def cost_range(self, scenario: Scenario) -> tuple[float, float]:
        lo_in = np.array([p.bounds[0] for p in self.prompt])
        hi_in = np.array([p.bounds[1] for p in self.prompt])
        lo_out = np.array([a.bounds[0] for a in self.answer])
        hi_out = np.array([a.bounds[1] for a in self.answer])
        factors = [(1.0,) + tuple(f for _, f in m.price_changes) for m in scenario.models]
        f_lo = np.array([min(f) for f in factors])
        f_hi = np.array([max(f) for f in factors])
        lo = (lo_in[:, None] * self._in + lo_out[:, None] * self._out) * f_lo
        hi = (hi_in[:, None] * self._in + hi_out[:, None] * self._out) * f_hi
        return float(lo.min()), float(hi.max())

    def sample(self, scenario: Scenario, rng: np.random.Generator, start: int, size: int):
        tasks, rewards = sample_rewards(scenario, rng, size, start)
        z = rng.standard_normal((2, size))
        n_in = np.clip(
            self._mean_in[tasks] * np.exp(self._sig_in[tasks] * z[0] - self._sig_in[tasks] ** 2 / 2),
            self._mean_in[tasks] / TOKEN_CLIP,
            self._mean_in[tasks] * TOKEN_CLIP,
        )
        n_out = np.clip(
            self._mean_out[tasks] * np.exp(self._sig_out[tasks] * z[1] - self._sig_out[tasks] ** 2 / 2),
            self._mean_out[tasks] / TOKEN_CLIP,
            self._mean_out[tasks] * TOKEN_CLIP,
        )
        costs = n_in[:, None] * self._in[None, :] + n_out[:, None] * self._out[None, :]
        factor = scenario.price_factor(start, size)
        if factor is not None:
            costs *= factor
        return tasks, rewards, costs


# ---------------------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class MarketModel:
    """One row of the package's market facts (``gym_llmroute/data/market_2023_2025.csv``)."""

    key: str
    model: str
    vendor: str
    ref_id: str
    release: str
    price_in: float | None
    price_out: float | None
    mmlu: float | None
    arena_elo: float | None
    confidence: str
    merged_into: str
    price_changes: tuple[tuple[str, float, float], ...]  # (month, price_in, price_out)


def _float_or_none(x: str) -> float | None:
    return float(x) if x.strip() else None


@lru_cache(maxsize=1)
def load_market() -> tuple[MarketModel, ...]:
    """The 42 models of the package's market facts, with their later price changes."""
    base = resources.files("gym_llmroute").joinpath(_DATA)
    # Traversable.open passes newline= on to open(); typeshed's overloads do not list it.
    with base.joinpath("price_changes_2023_2025.csv").open(newline="", encoding="utf-8") as f:  # type: ignore[call-overload]
        changes: dict[str, list[tuple[str, float, float]]] = {}
        for row in csv.DictReader(f):
            changes.setdefault(row["key"], []).append(
                (row["month"], float(row["price_in_usd_per_1m"]), float(row["price_out_usd_per_1m"]))
            )
    out = []
    with base.joinpath("market_2023_2025.csv").open(newline="", encoding="utf-8") as f:  # type: ignore[call-overload]
        for row in csv.DictReader(f):
            out.append(
                MarketModel(
                    key=row["key"],
                    model=row["model"],
                    vendor=row["vendor"],
                    ref_id=row["ref_id"],
                    release=row["release_month"],
                    price_in=_float_or_none(row["price_in_usd_per_1m"]),
                    price_out=_float_or_none(row["price_out_usd_per_1m"]),
                    mmlu=_float_or_none(row["mmlu"]),
                    arena_elo=_float_or_none(row["arena_elo"]),
                    confidence=row["confidence"],
                    merged_into=row["merged_into"],
                    price_changes=tuple(sorted(changes.get(row["key"], ()))),
                )
            )
    return tuple(out)


@lru_cache(maxsize=1)
def elo_to_mmlu() -> tuple[float, float]:
    """``(a, b)`` of the least-squares line ``MMLU = a + b * Elo`` over the models with both figures."""
    pairs = [(m.arena_elo, m.mmlu) for m in load_market() if m.arena_elo is not None and m.mmlu is not None]
    x, y = np.array(pairs).T
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def _quality(m: MarketModel) -> tuple[float | None, str]:
    if m.mmlu is not None:
        return m.mmlu / 100.0, "mmlu"
    if m.arena_elo is not None:
        a, b = elo_to_mmlu()
        return (a + b * m.arena_elo) / 100.0, "elo"
    return None, ""


def market_catalog(lifetime_months: int = 18) -> list[dict[str, Any]]:
    """Every model of the facts with what the market world makes of it: ``key``, ``release``,
    ``quality`` and its ``quality_source`` (``"mmlu"`` or ``"elo"``), ``retire`` (month),
    ``price_changes`` and ``excluded`` (the reason, or "" if the model is in the world)."""
    rows = load_market()
    last_release: dict[str, str] = {}
    for m in rows:
        alias = m.merged_into or m.key
        last_release[alias] = max(last_release.get(alias, m.release), m.release)
    out = []
    for m in rows:
        quality, source = _quality(m)
        if m.merged_into:
            excluded = f"successor snapshot, served as a price change of {m.merged_into!r}"
        elif m.price_in is None or m.price_out is None:
            excluded = "no list price in the facts"
        elif quality is None:
            excluded = "no quality figure (neither MMLU nor Arena Elo) in the facts"
        else:
            excluded = ""
        retire = _month_index(last_release[m.merged_into or m.key]) + lifetime_months
        out.append(
            dict(
                key=m.key,
                release=m.release,
                price_in=m.price_in,
                price_out=m.price_out,
                quality=quality,
                quality_source=source,
                retire=f"{retire // 12:04d}-{retire % 12 + 1:02d}",
                price_changes=m.price_changes,
                excluded=excluded,
                confidence=m.confidence,
            )
        )
    return out


def _window_fraction(month: str, start: str, months: int) -> float:
    return (_month_index(month) - _month_index(start)) / months


def _models_from_facts(
    catalog: list[dict[str, Any]],
    start: str,
    months: int,
    throughput: float,
    prompt: TokenLengths,
    answer: TokenLengths,
    price_cuts: bool,
    drift: float,
) -> tuple[tuple[ModelSpec, ...], TokenCosts]:
    mean_in, mean_out = prompt.expected(), answer.expected()
    specs, p_in, p_out = [], [], []
    for row in catalog:
        if row["excluded"]:
            continue
        arrival = max(0.0, _window_fraction(row["release"], start, months))
        retire = _window_fraction(row["retire"], start, months)
        if retire <= 0.0 or arrival >= 1.0:
            continue  # outside the window
        launch = mean_in * row["price_in"] + mean_out * row["price_out"]
        changes = []
        if price_cuts:
            for month, new_in, new_out in row["price_changes"]:
                t = _window_fraction(month, start, months)
                if 0.0 < t < 1.0:
                    changes.append((t, (mean_in * new_in + mean_out * new_out) / launch))
        cost = launch / 1e6 / USD_PER_UNIT
        specs.append(
            ModelSpec(
                name=row["key"],
                quality=row["quality"],
                cost=cost,
                throughput=throughput,
                arrival=arrival,
                retirement=None if retire >= 1.0 else retire,
                list_price=round(
                    (row["price_in"] * prompt.mean + row["price_out"] * answer.mean) / (prompt.mean + answer.mean), 4
                ),
                release=row["release"],
                drift=drift,
                price_changes=tuple(changes),
            )
        )
        p_in.append(row["price_in"])
        p_out.append(row["price_out"])
    return tuple(specs), TokenCosts(p_in, p_out, (prompt,), (answer,))


# ---------------------------------------------------------------------------------------- market
#: Window of the market world: July 2023 (as ``paper``) to July 2025, 24 months.
MARKET_WINDOW = ("2023-07", 24)
#: Prompt and answer token counts of a market query (the means of ``paper``).
MARKET_PROMPT = TokenLengths(600.0, 0.8)
MARKET_ANSWER = TokenLengths(300.0, 0.6)


def market_scenario(
    *, lifetime_months: int = 18, price_cuts: bool = True, drift: float = 0.0, throughput: float = 0.4, **fields: Any
) -> Scenario:
    """The ``market`` world: every model of the 2023-2025 facts with a price and a quality figure,
    arriving at its release month over July 2023 - July 2025.

    Parameters
    ----------
    lifetime_months : int
        A model retires this many months after the release of its last snapshot (default 18: the
        vendors' shutdowns of gpt-4-0314, gpt-3.5-turbo-0613 and claude-instant-1 came 15, 15 and 20
        months after release).
    price_cuts : bool
        Apply the price cuts of the facts (default True).
    drift : float
        Quality drift of every model per horizon after its release (default 0; e.g. -0.1: a model
        loses 0.1 of success probability over a whole horizon, so older models fall behind).
    throughput : float
        Throughput cap alpha of every model (default 0.4: at least three models share a stage).
    **fields
        Scenario fields (horizon, n_stages, max_deployed, budget, budget_mode, feedback_delay, ...).
    """
    if not isinstance(lifetime_months, int) or lifetime_months < 1:
        raise ValueError(f"lifetime_months must be an integer >= 1, got {lifetime_months!r}")
    start, months = MARKET_WINDOW
    models, outcomes = _models_from_facts(
        market_catalog(lifetime_months), start, months, throughput, MARKET_PROMPT, MARKET_ANSWER, price_cuts, drift
    )
    kw: dict[str, Any] = dict(
        name="market",
        description=f"{len(models)} models of the 2023-2025 market at their release months, list prices and price cuts",
        models=models,
        budget=0.05,
        horizon=1728,
        n_stages=12,
        max_deployed=4,
        outcomes=outcomes,
    )
    kw.update(fields)
    return Scenario(**kw)


# ---------------------------------------------------------------------------------------- typed
@dataclass(frozen=True)
class TaskFamily:
    """A query task type of the ``typed`` world: token lengths and the item-response curve
    ``quality = sigmoid(a * (logit(mmlu) - beta))``."""

    name: str
    prompt: TokenLengths
    answer: TokenLengths
    a: float
    beta: float
    weight: float
    note: str


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _gsm8k_curve() -> tuple[float, float]:
    """(a, beta) through the two measured GSM8K accuracies of the reference data (RouteLLM's public
    eval CSVs): GPT-4-1106 85.67 %, Mixtral-8x7B 63.84 %, with MMLU 84.7 and 70.6 from the facts."""
    th_hi, th_lo = _logit(0.847), _logit(0.706)
    y_hi, y_lo = _logit(0.8567), _logit(0.6384)
    a = (y_hi - y_lo) / (th_hi - th_lo)
    return a, th_hi - y_hi / a


_GSM_A, _GSM_BETA = _gsm8k_curve()

#: Task families of ``typed`` (a subset of RouterBench's eight): token lengths, curve and mix weight.
TYPED_TASKS = (
    TaskFamily(
        "mmlu",
        TokenLengths(600, 0.3),
        TokenLengths(20, 0.5),
        1.0,
        0.0,
        0.35,
        "5-shot multiple choice; quality is the MMLU figure itself",
    ),
    TaskFamily(
        "gsm8k",
        TokenLengths(900, 0.3),
        TokenLengths(200, 0.5),
        _GSM_A,
        _GSM_BETA,
        0.25,
        "8-shot chain-of-thought math; curve through the two measured GSM8K accuracies",
    ),
    TaskFamily(
        "mbpp",
        TokenLengths(500, 0.3),
        TokenLengths(250, 0.6),
        1.3,
        0.4,
        0.2,
        "3-shot Python; assumed harder and more discriminating than MMLU",
    ),
    TaskFamily(
        "chat",
        TokenLengths(70, 1.0),
        TokenLengths(215, 0.8),
        0.8,
        -0.6,
        0.2,
        "open chat (MT-Bench-like); token means of LMSYS-Chat-1M; assumed easier and flatter",
    ),
)
#: Per-(model, task) logit bonus of specialised models (an assumption: a code model is better at code).
TYPED_SPECIALISTS = {("codellama-34b", "mbpp"): 1.0}
#: RouterBench's 11 models (Hu et al. 2024), keys of the market facts.
ROUTERBENCH_MODELS = (
    "wizardlm-13b",
    "mistral-7b",
    "mixtral-8x7b",
    "codellama-34b",
    "yi-34b-chat",
    "llama-2-70b-chat",
    "gpt-3.5-turbo-1106",
    "gpt-4-turbo-1106",
    "claude-instant-1",
    "claude-1",
    "claude-2",
)
#: Window of the typed world: July 2023 to January 2024, when RouterBench's models came out.
TYPED_WINDOW = ("2023-07", 6)


def typed_arrivals() -> dict[str, float]:
    """Arrival of each RouterBench model in the typed window (a fraction of the horizon)."""
    facts = {m.key: m for m in load_market()}
    start, months = TYPED_WINDOW
    return {key: max(0.0, _window_fraction(facts[key].release, start, months)) for key in ROUTERBENCH_MODELS}


def typed_quality(mmlu: float, task: TaskFamily, bonus: float = 0.0) -> float:
    """Success probability of a model with MMLU score ``mmlu`` (in [0, 1]) on ``task``."""
    z = task.a * (_logit(mmlu) - task.beta) + bonus
    return 1.0 / (1.0 + math.exp(-z))


def typed_scenario(*, throughput: float = 0.5, drift: float = 0.0, **fields: Any) -> Scenario:
    """The ``typed`` world: RouterBench's 11 models arriving at their release months over July 2023 -
    January 2024, four task types (:data:`TYPED_TASKS`) with per-(model, task) quality and cost.

    Parameters
    ----------
    throughput : float
        Throughput cap of every model (default 0.5).
    drift : float
        Quality drift of every model per horizon after its release (default 0).
    **fields
        Scenario fields (horizon, n_stages, max_deployed, budget, task_mix, feedback_delay, ...).
    """
    facts = {m.key: m for m in load_market()}
    arrivals = typed_arrivals()
    tasks = TYPED_TASKS
    e_in = np.array([t.prompt.expected() for t in tasks])
    e_out = np.array([t.answer.expected() for t in tasks])
    specs, p_in, p_out = [], [], []
    for key in ROUTERBENCH_MODELS:
        m = facts[key]
        mmlu, _ = _quality(m)
        if mmlu is None or m.price_in is None or m.price_out is None:
            raise ValueError(f"market facts: {key!r} lacks a quality score or a price")
        quality = tuple(typed_quality(mmlu, t, TYPED_SPECIALISTS.get((key, t.name), 0.0)) for t in tasks)
        cost = tuple((e_in * m.price_in + e_out * m.price_out) / 1e6 / USD_PER_UNIT)
        specs.append(
            ModelSpec(
                name=key,
                quality=quality,
                cost=cost,
                throughput=throughput,
                arrival=arrivals[key],
                list_price=round((m.price_in * 600 + m.price_out * 300) / 900, 4),
                release=m.release,
                drift=drift,
            )
        )
        p_in.append(m.price_in)
        p_out.append(m.price_out)
    kw: dict[str, Any] = dict(
        name="typed",
        description="RouterBench's 11 models, 4 task types (mmlu, gsm8k, mbpp, chat) with per-task quality and cost",
        models=tuple(specs),
        budget=0.05,
        horizon=1728,
        n_stages=12,
        max_deployed=4,
        task_types=tuple(t.name for t in tasks),
        task_mix=tuple(t.weight for t in tasks),
        outcomes=TokenCosts(p_in, p_out, [t.prompt for t in tasks], [t.answer for t in tasks]),
    )
    kw.update(fields)
    return Scenario(**kw)
