"""``LLMRoute-Gen-v0``: a generated world at every reset, for training on some worlds and scoring on
others (Procgen's ``num_levels`` and ``start_level``)."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any, cast

import numpy as np
from gymnasium import spaces

from .env import SCENARIO_KEYS, LLMRouteEnv, WorldKind
from .generated import MAX_MODELS, generate_scenario
from .scenario import Scenario, declares_overrides, take_overrides
from .sim import Sim1, SimParams

__all__ = [
    "LLMRouteGenEnv",
    "world_scenario",
    "world_params",
    "draw_world",
    "option_world",
    "FRESH_WORLDS",
    "COST_BOUND",
    "GENERATED",
]

#: The kind of world of ``LLMRoute-Gen-v0``: no scenario, a generated world at every reset, the
#: worlds chosen by ``num_worlds`` and ``start_world``.
GENERATED = WorldKind("generated", takes_scenario=False, world_args=("num_worlds", "start_world"), changes_world=True)

#: With ``num_worlds=0`` the world index is ``start_world`` plus a draw in ``[0, FRESH_WORLDS)``.
FRESH_WORLDS = 2**31
#: Bound of every generated world's per-query cost in the observation space (cost units; GPT-4
#: (0314) costs 1): generated costs stay below ~100 (resampled list prices with a log-normal jitter).
COST_BOUND = 1e4
# Worlds whose episode state (Sim1: outcome buffers, deploy-mask cache; ~0.35 MB each) an env keeps,
# so that returning to a world costs no allocation. Scenarios (with their oracles) and simulation
# parameters are cached once per process, shared by the n_envs copies of a training run.
_ENV_CACHE = 256


@lru_cache(maxsize=1024)
def _cached_world(world: int, overrides: tuple[tuple[str, Any], ...]) -> Scenario:
    return generate_scenario(world, **dict(overrides))


@lru_cache(maxsize=1024)
def _cached_params(world: int, overrides: tuple[tuple[str, Any], ...], pad_to: int) -> SimParams:
    return SimParams.of(_cached_world(world, overrides), pad_to)


def world_scenario(world: int, **overrides: Any) -> Scenario:
    """Generated world ``world`` with scenario overrides, cached per process (its oracle with it).

    Parameters
    ----------
    world : int
        The world index (``gym_llmroute.generated.generate_scenario``).
    **overrides
        Scenario fields (``horizon``, ``n_stages``, ...).

    Returns
    -------
    Scenario
        The world (the same object for the same arguments while it stays in the cache).
    """
    return _cached_world(int(world), tuple(sorted(overrides.items())))


def _check_index(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def world_params(world: int, key: tuple[tuple[str, Any], ...], pad_to: int) -> SimParams:
    """The simulation parameters of generated world ``world`` with the scenario overrides ``key``
    (sorted items) and ``pad_to`` model slots, cached per process; refused if a cost could leave the
    observation space (:data:`COST_BOUND`, never the case for drawn worlds)."""
    if _cached_world(world, key).cost_range[1] > COST_BOUND:
        raise ValueError(f"generated world {world} has a cost above COST_BOUND={COST_BOUND:g}")
    return _cached_params(world, key, pad_to)


def draw_world(rng: np.random.Generator, num_worlds: int, start_world: int) -> int:
    """The world of an episode that starts without a ``world`` option: one draw from the env's
    ``np_random`` (before the episode's seed is drawn from it)."""
    x = int(rng.integers(FRESH_WORLDS))
    return start_world + (x if num_worlds == 0 else x % num_worlds)


def option_world(options: dict[str, Any] | None) -> int | None:
    """The world that reset ``options`` ask for (``{"world": w}``), or None (draw one); the options
    checked (``world`` is the only one)."""
    if not options:
        return None
    if not isinstance(options, dict):
        raise TypeError(f"reset options must be a dict, got {type(options).__name__}")
    unknown = sorted(set(options) - {"world"})
    if unknown:
        raise ValueError(
            f"unknown reset option(s) {unknown} for LLMRoute-Gen-v0; allowed: ['world'] (the scenario "
            f"fields {list(SCENARIO_KEYS)} are gym.make arguments here)"
        )
    return _check_index("options['world']", options["world"]) if "world" in options else None


class LLMRouteGenEnv(LLMRouteEnv):
    """``LLMRoute-v0`` on a generated world, drawn anew at every reset.

    ## Description

    The rules, spaces, rewards and infos of :class:`~gym_llmroute.env.LLMRouteEnv`; only the world
    changes. World ``w`` is the catalog that
    :func:`gym_llmroute.generated.generate_scenario` draws from ``w`` alone (4 to 40 models calibrated
    on the 2023-2025 market, listed in a random order; docs/worlds.md); the seed drives the outcomes.
    At every reset the env plays world ``w = start_world + (x mod num_worlds)``, ``x`` a draw of its
    seeded ``np_random`` (so ``reset(seed=s)`` fixes the world too), or with ``num_worlds=0`` a
    fresh world ``start_world + x``, ``x`` in ``[0, 2**31)``. ``reset(options={"world": w})`` plays
    world ``w``. ``info["world"]`` (reset and last step) says which.

    Training on ``num_worlds=200, start_world=0`` and scoring on ``start_world=10**6`` is the
    standard split (``benchmarks/generalization.py``).

    ``gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode="vector_entry_point")`` is the native
    batched version (:class:`gym_llmroute.vector.LLMRouteGenVectorEnv`): sub-env i plays exactly
    what this env seeded ``s + i`` plays under ``SyncVectorEnv``, each in its own worlds, as rows of
    one batched simulation; ``gym_llmroute.vector.LLMRouteGenSB3VecEnv`` is it for SB3.

    ## Spaces

    Padded to ``pad_to`` model slots (default 40, the generator's largest catalog): ``Discrete(pad_to
    + 1)``, the commit action is ``pad_to``; a world's models fill the first slots and the others are
    never available. The observation keys are those of ``LLMRoute-v0``, with bounds that hold for every
    world (costs and the budget per query unbounded).

    ## Arguments

    * ``num_worlds``: integer >= 0, the number of worlds (0: a fresh world at every reset); default 0.
    * ``start_world``: integer >= 0, the first world; default 0.
    * ``pad_to``: integer >= 40; default 40.
    * the scenario overrides of ``LLMRoute-v0`` (``horizon``, ``n_stages``, ..., declared in
      :data:`gym_llmroute.scenario.OVERRIDES`): override every generated world's fields
      (``max_deployed`` and ``budget`` can make some worlds infeasible: the reset that draws one
      raises).
    * ``invalid_action_penalty``, ``render_mode``: as for ``LLMRoute-v0``.

    ## Version History

    * v0: initial version.
    """

    world_kind = GENERATED

    @declares_overrides
    def __init__(
        self,
        num_worlds: int = 0,
        start_world: int = 0,
        *,
        pad_to: int = MAX_MODELS,
        invalid_action_penalty: float = 0.0,
        render_mode: str | None = None,
        **overrides: Any,
    ):
        self._overrides = take_overrides(type(self).__name__, overrides)  # first: an unknown keyword
        self.num_worlds = _check_index("num_worlds", num_worlds)
        self.start_world = _check_index("start_world", start_world)
        if isinstance(pad_to, bool) or not isinstance(pad_to, (int, np.integer)) or pad_to < MAX_MODELS:
            raise ValueError(
                f"pad_to must be an integer >= {MAX_MODELS} (the largest generated catalog), got {pad_to!r}"
            )
        self.world_key = tuple(sorted(self._overrides.items()))  # the overrides: key of the world caches
        self._worlds: OrderedDict[int, tuple[Scenario, SimParams, Sim1]] = OrderedDict()
        self.world = self.start_world
        super().__init__(
            world_scenario(self.start_world, **self._overrides),
            pad_to=int(pad_to),
            invalid_action_penalty=invalid_action_penalty,
            render_mode=render_mode,
        )
        self.action_space, self.observation_space = self._fixed_spaces(cast(spaces.Dict, self.observation_space))

    def _fixed_spaces(self, obs_space: spaces.Dict) -> tuple[spaces.Discrete, spaces.Dict]:
        """Spaces that hold for every world: costs up to :data:`COST_BOUND`, and the budget per
        query within plus or minus that times the horizon."""
        boxes = dict(obs_space.spaces)
        bpq = COST_BOUND * self.scenario.horizon
        bounds = {"budget_per_query": (-bpq, bpq), "mean_cost": (0.0, COST_BOUND), "task_mean_cost": (0.0, COST_BOUND)}
        for key, (low, high) in bounds.items():
            if key in boxes:
                boxes[key] = spaces.Box(np.float32(low), np.float32(high), shape=boxes[key].shape, dtype=np.float32)
        return spaces.Discrete(self.n_models + 1), spaces.Dict(boxes)

    # ------------------------------------------------------------------ worlds
    def _build(self, scenario: Scenario) -> None:
        # The world's parameters are cached per process, like its scenario; the spaces stay those of
        # the first world (the same objects); the episode state (Sim1) is the env's own.
        self.scenario = scenario
        self.params = _cached_params(self.world, self.world_key, cast(int, self.pad_to))
        self.n_models = self.params.n_models
        if "observation_space" not in self.__dict__:
            self.action_space, self.observation_space = self.params.make_spaces()
        self.sim = self._make_sim(self.params)
        self.sim.final_extra["world"] = self.world
        self._worlds[self.world] = (self.scenario, self.params, self.sim)

    def _play(self, world: int) -> None:
        """Make ``world`` the current world (from the env's cache, or generated)."""
        self.world = world
        hit = self._worlds.get(world)
        if hit is None:
            world_params(world, self.world_key, cast(int, self.pad_to))  # checks the world
            self._build(_cached_world(world, self.world_key))
            if len(self._worlds) > _ENV_CACHE:
                self._worlds.popitem(last=False)
        else:
            self._worlds.move_to_end(world)
            self.scenario, self.params, self.sim = hit

    # ------------------------------------------------------------------ gym API
    def _choose_world(self, options: dict[str, Any] | None) -> None:
        """World ``options["world"]``, or one drawn from the seeded ``np_random``."""
        world = option_world(options)
        self._play(draw_world(self.np_random, self.num_worlds, self.start_world) if world is None else world)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        info["world"] = self.world
        return obs, info
