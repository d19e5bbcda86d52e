"""Named scenario presets.

``make_scenario(name, **overrides)`` builds a validated :class:`~gym_llmroute.scenario.Scenario`;
``list_scenarios()`` names them and ``register_scenario`` adds one. Presets give every time as a
fraction of the horizon, so any horizon and number of stages can be asked for.

``paper`` (the world of ``LLMRoute-v0``)
    A paper-like synthetic stream of 12 models, calibrated on public 2023-2025 releases and prices
    (``gym_llmroute/data/market_2023_2025.csv``, columns ``release_month``, ``price_in/out_usd_per_1m``
    and ``mmlu``; see ``gym_llmroute/data/README.md``). The horizon maps July 2023 to July 2025:
    a model arrives at its release month (those released by July 2023 are there from the start) and
    the three that their vendor shut down in that window retire. Quality is the model's MMLU score
    as a success probability; the cost of a query is the list price times 600 input and 300 output
    tokens, normalised so that GPT-4 (0314) costs 1.0, with +-50% uniform per-query variation. The
    per-query budget b = 0.05 rules GPT-4-class models out of all but a small share of the traffic,
    so the budget binds; throughput caps of 0.3 to 0.5 make at least three models necessary and
    M_max = 4 a real constraint. T = 1728 = 12^3 queries in K = 12 stages (K = T^(1/3), the paper's
    regime), about 1,780 env steps an episode: short enough for RL.

``market``, ``market-drift``, ``market-delay``, ``typed``, ``trace``
    The realistic worlds of docs/worlds.md (``gym_llmroute/market.py`` and ``gym_llmroute/trace.py``):
    the 2023-2025 market stream with token costs and price cuts (and its variants with quality drift
    and delayed feedback), RouterBench's models with task-typed queries, and the replay of the
    shipped trace.

``generated`` (``make_scenario("generated", world=7)``)
    World number ``world`` (default 0) of a distribution of random catalogs calibrated on the same
    market facts (``gym_llmroute/generated.py``, docs/worlds.md): 4 to 40 jittered resamples of the
    facts' models, arriving and retiring on the 12-stage grid, with drawn caps, M_max and budget.
    For training on some worlds and testing on others.

``realdata`` (the world of ``LLMRoute-RealData-v0``)
    The one world whose outcomes are measured, not simulated: ParetoBandit's validation split
    (Apache-2.0, ``gym_llmroute/data/paretobandit_val.csv``), 1,785 real prompts of nine benchmarks,
    each answered by llama-3.1-8b, mistral-large-2512 and gemini-2.5-pro with its graded reward and
    its cost in USD, replayed by the trace machinery (``gym_llmroute.trace.realdata_scenario``). Named
    for what sets it apart from ``trace`` (a synthetic demo trace) rather than for its source, which
    its description and docs/worlds.md give. mistral-large-2512 (December 2025) arrives at 0.3 of the
    horizon; costs in units of USD 0.015 per query (gemini-2.5-pro's mean is 1.002); b = 0.2; caps
    1.0; T = 20,000, K = 27, M_max = 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .scenario import ModelSpec, Scenario

__all__ = ["make_scenario", "list_scenarios", "register_scenario", "PRESETS"]

PRESETS: dict[str, tuple[Callable[..., Scenario], str]] = {}

# Horizon of the paper preset: 2023-07 .. 2025-07, 24 months.
_START_YEAR, _START_MONTH, _MONTHS = 2023, 7, 24
_IN_TOKENS, _OUT_TOKENS = 600, 300
_GPT4_QUERY_USD = (_IN_TOKENS * 30.0 + _OUT_TOKENS * 60.0) / 1e6


def _month_fraction(month: str) -> float:
    year, mon = (int(x) for x in month.split("-"))
    months = (year - _START_YEAR) * 12 + (mon - _START_MONTH)
    return max(0.0, months / _MONTHS)


def _market_model(name, release, price_in, price_out, mmlu, throughput, retired=None) -> ModelSpec:
    query_usd = (_IN_TOKENS * price_in + _OUT_TOKENS * price_out) / 1e6
    return ModelSpec(
        name=name,
        quality=mmlu / 100.0,
        cost=round(query_usd / _GPT4_QUERY_USD, 6),
        throughput=throughput,
        arrival=_month_fraction(release),
        retirement=None if retired is None else _month_fraction(retired),
        cost_spread=0.5,
        list_price=round((_IN_TOKENS * price_in + _OUT_TOKENS * price_out) / (_IN_TOKENS + _OUT_TOKENS), 4),
        release=release,
    )


# name, release month, USD per 1M input / output tokens, MMLU, throughput cap, retirement month.
# Facts from gym_llmroute/data/market_2023_2025.csv; retirements are the vendors' shutdown dates.
PAPER_CATALOG = (
    ("gpt-4-0314", "2023-03", 30.00, 60.00, 86.4, 0.30, "2024-06"),
    ("claude-instant-1", "2023-03", 0.80, 2.40, 73.4, 0.50, "2024-11"),
    ("gpt-3.5-turbo-0613", "2023-06", 1.50, 2.00, 70.0, 0.50, "2024-09"),
    ("llama-2-70b-chat", "2023-07", 0.90, 0.90, 63.0, 0.40, None),
    ("mixtral-8x7b", "2023-12", 0.60, 0.60, 70.6, 0.40, None),
    ("claude-3-haiku", "2024-03", 0.25, 1.25, 75.2, 0.50, None),
    ("llama-3-70b", "2024-04", 0.90, 0.90, 82.0, 0.40, None),
    ("gpt-4o-2024-05-13", "2024-05", 5.00, 15.00, 87.2, 0.35, None),
    ("claude-3.5-sonnet", "2024-06", 3.00, 15.00, 88.3, 0.35, None),
    ("gpt-4o-mini", "2024-07", 0.15, 0.60, 82.0, 0.50, None),
    ("deepseek-v3", "2024-12", 0.27, 1.10, 88.5, 0.30, None),
    ("gpt-4.1-mini", "2025-04", 0.40, 1.60, 87.5, 0.40, None),
)


def _paper(**overrides: Any) -> Scenario:
    fields: dict[str, Any] = dict(
        name="paper",
        description="paper-like stream of 12 models calibrated on 2023-2025 releases and list prices",
        models=tuple(_market_model(*row) for row in PAPER_CATALOG),
        budget=0.05,
        horizon=1728,
        n_stages=12,
        max_deployed=4,
    )
    fields.update(overrides)
    return Scenario(**fields)


def register_scenario(name: str, factory: Callable[..., Scenario], summary: str, *, overwrite: bool = False) -> None:
    """Register a preset for :func:`make_scenario`, ``gym.make(..., scenario=name)`` and the CLI.

    Parameters
    ----------
    name : str
        The preset's name.
    factory : callable
        ``factory(**overrides)`` returns a Scenario.
    summary : str
        One line for :func:`list_scenarios`.
    overwrite : bool
        Replace a preset of that name (otherwise ``ValueError``).
    """
    if name in PRESETS and not overwrite:
        raise ValueError(f"scenario {name!r} is already registered")
    PRESETS[name] = (factory, summary)


def list_scenarios() -> dict[str, str]:
    """The presets.

    Returns
    -------
    dict of str to str
        Preset names and their one-line summaries, in order of registration.
    """
    return {name: summary for name, (_, summary) in PRESETS.items()}


def make_scenario(name: str | Scenario | Mapping[str, Any], **overrides: Any) -> Scenario:
    """Build a preset, or copy a Scenario, with some fields overridden.

    Parameters
    ----------
    name : str, Scenario or mapping
        A preset (:func:`list_scenarios`), a Scenario, or a mapping of its fields
        (:meth:`Scenario.from_dict`: what ``env.spec.to_json()`` writes for a custom scenario).
    **overrides
        Scenario fields (``horizon``, ``n_stages``, ``budget``, ...) and the preset's own options.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ValueError
        Unknown preset, or an invalid field (the message names it).
    TypeError
        ``name`` is neither a string nor a Scenario, or an unknown field.
    """
    if isinstance(name, Mapping):
        name = Scenario.from_dict(name)
    if isinstance(name, Scenario):
        return name.replace(**overrides) if overrides else name
    if not isinstance(name, str):
        raise TypeError(
            f"scenario must be a preset name, a Scenario or a mapping of its fields, got {type(name).__name__}"
        )
    if name not in PRESETS:
        raise ValueError(f"unknown scenario {name!r}; presets are {sorted(PRESETS)}")
    factory, _ = PRESETS[name]
    return factory(**overrides)


register_scenario("paper", _paper, "paper-like synthetic stream of 12 models (2023-2025 calibration), T=1728, K=12")


# Realistic worlds (docs/worlds.md). Their modules are imported on first use, so that
# ``import gym_llmroute`` stays light.
def _market(**overrides: Any) -> Scenario:
    from .market import market_scenario

    return market_scenario(**overrides)


def _market_drift(**overrides: Any) -> Scenario:
    overrides = {"name": "market-drift", "drift": -0.15, **overrides}
    return _market(**overrides)


def _market_delay(**overrides: Any) -> Scenario:
    overrides = {"name": "market-delay", "feedback_delay": 50, **overrides}
    return _market(**overrides)


def _typed(**overrides: Any) -> Scenario:
    from .market import typed_scenario

    return typed_scenario(**overrides)


def _trace(**overrides: Any) -> Scenario:
    from .trace import demo_trace_scenario

    return demo_trace_scenario(**overrides)


register_scenario("market", _market, "34 models of the 2023-2025 market: release months, token costs, price cuts")
register_scenario("market-drift", _market_drift, "market with quality drift -0.15 per horizon after each release")
register_scenario("market-delay", _market_delay, "market with feedback delayed by 50 queries")
register_scenario("typed", _typed, "RouterBench's 11 models, 4 task types, per-(model, task) quality and cost; T=1728")
register_scenario("trace", _trace, "replay of the shipped 600-row trace (typed world's models and tasks); T=1728")


def _realdata(**overrides: Any) -> Scenario:
    from .trace import realdata_scenario

    return realdata_scenario(**overrides)


register_scenario(
    "realdata",
    _realdata,
    "real per-prompt trace: 1,785 prompts, 3 production models, 9 benchmarks; newcomer at 0.3; T=20000, K=27",
)


def _generated(world: int = 0, **overrides: Any) -> Scenario:
    from .generated import generate_scenario

    return generate_scenario(world, **overrides)


register_scenario(
    "generated",
    _generated,
    "random world number `world` (default 0) of a distribution calibrated on the market facts: 4-40 models",
)


def lower_bound_scenario(
    horizon: int = 10_000,
    n_stages: int | None = None,
    *,
    wave_every: int = 3,
    candidates: int = 2,
    gap_constant: float = 1.0,
    base_quality: float = 0.3,
    placement_seed: int = 0,
    **overrides: Any,
) -> Scenario:
    """The ``lower-bound`` world: a hard instance on which the regret of any algorithm is of order
    T^(2/3) (docs/paper.md), built at ``horizon`` because its gap shrinks like T^(-1/3).

    The construction is the classic one behind Omega(T^(2/3)) for learning under commitment: a
    difference of Delta ~ T^(-1/3) takes T^(2/3) queries to see, and here the only way to observe a
    model is to give it a whole stage of T / K = T^(2/3) queries, K = round(T^(1/3)) times over:

    * **One slot.** ``max_deployed = 1`` and throughput caps 1.0: the deployed model serves every
      query of its stage, so trying a model costs a stage of L = T / K queries.
    * **A quality ladder of waves.** An incumbent of quality ``base_quality`` is there from the start.
      Every ``wave_every`` (P) stages, at stage boundaries P, 2P, ... < K, a wave of ``candidates``
      (G) models arrives: one *improver*, better than the best model so far by
      ``Delta = gap_constant * horizon^(-1/3)``, and G - 1 *duds*, exactly as good as the best so
      far. After wave j the best quality is ``base_quality + j * Delta``. The improver's place in
      its wave is drawn once with ``placement_seed`` (uniform over the wave in the construction).
    * **Pure exploration.** Every model costs 0.5 per query, deterministically, with b = 1.0 and no
      list prices: the budget never binds and costs carry no information. No model retires.

    Why T^(2/3): one stage tells a candidate's Delta with constant confidence (L Delta^2 =
    gap_constant^2 for K = T^(1/3)), and nothing less than a stage can be spent on it. Per wave an
    algorithm either tries a dud, at a cost of L Delta ~ T^(1/3), or risks missing the improver,
    losing Delta per query, ~ T^(1/3) per stage, for the stages until it finds it. There are about
    K / P ~ T^(1/3) waves, so the regret is Omega(T^(2/3)); the world is invariant under the scaling
    (L Delta^2 and the waves per stage are constant), so an algorithm whose decisions depend on the
    standardised statistics has regret proportional to T^(2/3). The ladder climbs by about
    ``gap_constant / P`` over the horizon, so a static deployment, which never adopts a newcomer,
    loses a constant per query on average: linear regret.

    ``n_stages`` overrides K = round(horizon^(1/3)); other keyword arguments are Scenario fields
    (``max_deployed=2`` gives a second slot). A horizon so short that the top of the ladder would
    exceed quality 1 is refused.
    """
    import math

    import numpy as np

    def _int(value, name, low):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"lower-bound: {name} must be an integer >= {low}, got {value!r}")
        return int(value)

    horizon = _int(horizon, "horizon", 8)
    K = round(horizon ** (1 / 3)) if n_stages is None else _int(n_stages, "n_stages", 1)
    P = _int(wave_every, "wave_every", 1)
    G = _int(candidates, "candidates", 1)
    if isinstance(gap_constant, bool) or not (isinstance(gap_constant, (int, float)) and 0 < gap_constant < math.inf):
        raise ValueError(f"lower-bound: gap_constant must be a finite number > 0, got {gap_constant!r}")
    delta = gap_constant * horizon ** (-1 / 3)
    waves = (K - 1) // P
    top = base_quality + waves * delta
    if not (0.0 <= base_quality and top <= 1.0):
        raise ValueError(
            f"lower-bound: the ladder's top, base_quality + {waves} waves * gap_constant * horizon^(-1/3) = {top:.4g}, "
            "must be in [0, 1]; use a longer horizon, fewer waves (larger wave_every) or a smaller gap or base"
        )
    rng = np.random.default_rng(placement_seed)
    models = [ModelSpec("incumbent", quality=base_quality, cost=0.5, throughput=1.0)]
    for j in range(1, waves + 1):
        improver = int(rng.integers(G))
        for i in range(G):
            quality = base_quality + (j if i == improver else j - 1) * delta
            models.append(
                ModelSpec(f"w{j}-c{i}", quality=round(quality, 12), cost=0.5, throughput=1.0, arrival=j * P / K)
            )
    fields: dict[str, Any] = dict(
        name="lower-bound",
        description=(
            f"lower-bound instance: a wave of {G} every {P} stages, one better by {gap_constant:g} T^(-1/3) = "
            f"{delta:.4g}, one slot, slack budget"
        ),
        models=tuple(models),
        budget=1.0,
        horizon=horizon,
        n_stages=K,
        max_deployed=1,
    )
    fields.update(overrides)
    return Scenario(**fields)


register_scenario(
    "lower-bound",
    lower_bound_scenario,
    "hard instance: a wave every 3 stages, one newcomer better by T^(-1/3), one slot; regret ~ T^(2/3) at K=T^(1/3)",
)
