"""The agent interface shared by StageRoute and every baseline: SB3's ``predict`` plus ``reset``.

An :class:`Agent` acts only through the observation and the scenario's public parameters
(:class:`PublicParams`); only the oracle reads the true means. Subclasses implement two hooks:

* :meth:`Agent.plan_deployment` at a deploy phase: the models to deploy. The base class emits them
  one action at a time (action i adds model i), then commits (action N) unless the env committed by
  itself (once M_max are picked or nothing is left to add). Members that the mask refuses are
  skipped, and if committing is not valid yet the next valid model by :meth:`Agent.deploy_priority`
  is added, so the agent never sends an invalid action.
* :meth:`Agent.route` at a route phase: the model for the current query (a valid one).

The hooks receive the agent's per-env context (``ctx``): a :class:`Context` unless the agent makes its
own (``new_context``); ``Agent[MyContext]`` says which to the type checker.

``predict`` accepts one observation (a dict of arrays, as ``env.step`` returns) and returns an
``int``, or a batch (a dict of arrays with a leading ``n_envs`` axis, as a VecEnv and SB3's
``evaluate_policy`` pass) and returns an int array; each env of a batch has its own context (plan,
router caches), kept by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import numpy as np

from gym_llmroute.env import mask_from_obs, world_kind
from gym_llmroute.scenario import Scenario

__all__ = ["Agent", "Context", "PublicParams", "scenario_of", "slots_of"]


def scenario_of(env: Any) -> Scenario:
    """The scenario behind an env.

    Parameters
    ----------
    env : gymnasium.Env, vector env or Scenario
        An LLMRoute env or view (wrapped or not), a Gymnasium or SB3 vector env of them, or a
        Scenario (returned as it is).

    Returns
    -------
    Scenario
        The world the env plays.

    Raises
    ------
    TypeError
        Nothing in ``env`` holds a scenario.
    """
    if isinstance(env, Scenario):
        return env
    unwrapped = getattr(env, "unwrapped", None)
    scenario = getattr(unwrapped, "scenario", None)
    if isinstance(scenario, Scenario):
        return scenario
    get_attr = getattr(env, "get_attr", None)
    if get_attr is not None:  # gymnasium VectorEnv or SB3 VecEnv
        found = get_attr("scenario")
        if len(found) and isinstance(found[0], Scenario):
            return found[0]
    raise TypeError(f"cannot find a gym_llmroute scenario in {type(env).__name__}; pass an LLMRoute env or a Scenario")


def slots_of(env: Any) -> int | None:
    """The model slots of an env's spaces (``pad_to``, or the catalog's size), read from its action
    space ``Discrete(N + 1)``.

    Parameters
    ----------
    env : gymnasium.Env, vector env or Scenario
        An LLMRoute env or view (wrapped or not), a Gymnasium or SB3 vector env of them, or a
        Scenario.

    Returns
    -------
    int or None
        N, or None for a Scenario (or an env without a discrete action space): its own model count.
    """
    space = getattr(env, "single_action_space", None) or getattr(env, "action_space", None)
    n = getattr(space, "n", None)
    return None if n is None or isinstance(env, Scenario) else int(n) - 1


def _changes_world(env: Any) -> bool:
    """Whether an env (or the first sub-env of a vector env) draws a new world at its resets."""
    kind = world_kind(env)
    return kind is not None and kind.changes_world


@dataclass(frozen=True)
class PublicParams:
    """What an agent may know about the world before it starts: the run's parameters and the
    catalog's public metadata, never the true means."""

    n_models: int
    budget: float
    horizon: int
    n_stages: int
    max_deployed: int
    throughput: np.ndarray
    stage_bounds: np.ndarray
    cost_range: tuple[float, float]
    list_prices: np.ndarray
    n_tasks: int

    @classmethod
    def of(cls, scenario: Scenario, n_slots: int | None = None) -> PublicParams:
        """The public parameters of a scenario.

        Parameters
        ----------
        scenario : Scenario
            The world.
        n_slots : int, optional
            The model slots of the env's spaces (``pad_to``); default the catalog's size. Padded
            slots have throughput 0 and an unknown list price.

        Returns
        -------
        PublicParams
            Its run parameters and public metadata (copies of the arrays).
        """
        n, N = scenario.n_models, scenario.n_models if n_slots is None else n_slots
        if N < n:
            raise ValueError(f"n_slots={N} is below the scenario's {n} models")
        c = scenario.compiled
        padded = c.padded(N)
        return cls(
            n_models=N,
            budget=scenario.budget,
            horizon=scenario.horizon,
            n_stages=scenario.n_stages,
            max_deployed=scenario.max_deployed,
            throughput=padded.throughput.copy(),
            stage_bounds=np.array(c.stage_bounds),
            cost_range=c.cost_range,
            list_prices=padded.list_prices.copy(),
            n_tasks=scenario.n_tasks,
        )


class Context:
    """Per-env state of an agent (one per position of a batch): the current deployment plan and
    whatever a subclass keeps (router caches, multipliers)."""

    def __init__(self) -> None:
        self.plan: tuple[int, ...] = ()


ContextT = TypeVar("ContextT", bound=Context)


class Agent(Generic[ContextT]):
    """Base class of every reference agent.

    Parameters
    ----------
    env : gymnasium.Env, vector env or Scenario
        Where the agent will act; only its scenario's public parameters are read.
    seed : int, optional
        Seed of the agent's random draws; ``reset(seed=...)`` reseeds.

    Attributes
    ----------
    name : str
        Short name (the key of ``agents.make``).
    deployer, router : str
        One-line descriptions of how the agent deploys and routes.
    """

    name = "agent"
    deployer = ""
    router = ""

    def __init__(self, env: Any, seed: int | None = None):
        self.scenario_id: int | None = None
        self.bind(scenario_of(env), slots_of(env))
        # An env whose world changes at its own resets (LLMRoute-Gen-v0): followed at episode starts,
        # so that loops that do not rebind (SB3's evaluate_policy) act in the world in force.
        self._worlds_of = env if _changes_world(env) else None
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._contexts: list[ContextT] = []

    # ------------------------------------------------------------------ setup
    def bind(self, scenario: Scenario, n_slots: int | None = None) -> None:
        """Read the public parameters of ``scenario`` and forget every context.

        The evaluation loop calls this when the env's scenario changed (``reset(options=...)``, or
        a generated world at every reset).

        Parameters
        ----------
        scenario : Scenario
            The world the agent acts in from now on.
        n_slots : int, optional
            The model slots of the env's spaces (``pad_to``); default the catalog's size.
        """
        self.params = PublicParams.of(scenario, n_slots)
        self.scenario_id = id(scenario)
        p = self.params
        self.n_models = p.n_models  # model slots of the spaces
        self.n_catalog = scenario.n_models  # the catalog's models: the first n_catalog slots
        self.max_deployed = p.max_deployed
        self.budget = p.budget
        self.throughput = p.throughput
        self._contexts = []

    def reset(self, seed: int | None = None) -> None:
        """Start afresh: forget every per-env context.

        Parameters
        ----------
        seed : int, optional
            Reseed the agent's draws (``self.rng``); None keeps the current generator.
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._contexts = []

    def new_context(self) -> ContextT:
        """A fresh per-env context.

        Returns
        -------
        Context
            A plain :class:`Context` here; an agent whose hooks keep more state returns its own
            subclass.
        """
        return cast(ContextT, Context())

    def stats(self) -> dict[str, int]:
        """Counters of notable events, summed over contexts.

        Returns
        -------
        dict of str to int
            E.g. ``route_infeasible`` (LPs without a solution); empty by default.
            :func:`agents.run_episode` adds them to its result.
        """
        return {}

    # ------------------------------------------------------------------ SB3 interface
    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[int | np.ndarray, Any]:
        """The action for an observation (or a batch of them), SB3's policy interface.

        These agents are randomised policies by design (the routing LP mixes models to meet the
        budget), so ``deterministic`` is accepted and ignored; seed the agent for reproducible runs.

        Parameters
        ----------
        observation : dict of str to ndarray
            One observation of an LLMRoute env, or a batch (arrays with a leading ``n_envs`` axis).
        state : object, optional
            Passed through (SB3's recurrent state).
        episode_start : ndarray of bool, optional
            Per env, whether an episode starts: its context's :meth:`on_episode_start` is called.
        deterministic : bool
            Ignored.

        Returns
        -------
        (int or ndarray, object)
            The action (an ``int`` for one observation, an int64 array of shape ``(n_envs,)`` for a
            batch) and ``state``.
        """
        phase = observation["phase"]
        if self._worlds_of is not None and episode_start is not None and np.any(episode_start):
            self._follow_world()
        if phase.ndim == 1:
            if not self._contexts:
                self._contexts.append(self.new_context())
            ctx = self._contexts[0]
            if episode_start is not None and bool(np.asarray(episode_start).reshape(-1)[0]):
                self.on_episode_start(ctx)
            return self._act(observation, ctx), state
        n_envs = phase.shape[0]
        while len(self._contexts) < n_envs:
            self._contexts.append(self.new_context())
        actions = np.empty(n_envs, dtype=np.int64)
        starts = None if episode_start is None else np.asarray(episode_start, dtype=bool).reshape(-1)
        for i in range(n_envs):
            ctx = self._contexts[i]
            if starts is not None and starts[i]:
                self.on_episode_start(ctx)
            actions[i] = self._act({key: value[i] for key, value in observation.items()}, ctx)
        return actions, state

    def _follow_world(self) -> None:
        """Rebind to the world in force of the generated-world env the agent was made for."""
        env = self._worlds_of
        get_attr = getattr(env, "get_attr", None)
        if get_attr is not None and len({id(s) for s in get_attr("scenario")}) > 1:
            raise RuntimeError(
                "a reference agent acts in one world at a time: its sub-envs now play different generated "
                "worlds; play them one env at a time (agents.run_episode, or one agent per env)"
            )
        scenario = scenario_of(env)
        if id(scenario) != self.scenario_id:
            self.bind(scenario, slots_of(env))

    def _act(self, obs: dict[str, np.ndarray], ctx: ContextT) -> int:
        if obs["phase"][0] >= 0.5:
            return self.route(obs, ctx)
        return self._deploy_action(obs, ctx)

    def on_episode_start(self, ctx: ContextT) -> None:
        """A hook, called when an episode starts in this context (does nothing here).

        Parameters
        ----------
        ctx : Context
            The context whose episode starts.
        """

    # ------------------------------------------------------------------ deploy phase
    def _deploy_action(self, obs: dict[str, np.ndarray], ctx: ContextT) -> int:
        picked = obs["picked"] > 0.5
        if not picked.any():
            # A fresh deploy phase: plan it (also at a fresh episode, whose first step is one).
            if obs["time"][0] == 0.0:
                self.on_episode_start(ctx)
            ctx.plan = tuple(self.plan_deployment(obs, ctx))
        elif not set(np.flatnonzero(picked).tolist()) <= set(ctx.plan):
            # Something we did not pick (another controller, or a stale plan): keep what is picked
            # and complete it by priority.
            ctx.plan = tuple(np.flatnonzero(picked).tolist()) + tuple(self._by_priority(obs, ctx))
        mask = mask_from_obs(obs, self.max_deployed)
        for m in ctx.plan:
            if not picked[m] and mask[m]:
                return int(m)
        n = self.n_models
        if mask[n]:
            return n
        for m in self._by_priority(obs, ctx):
            if mask[m]:
                return int(m)
        return int(np.flatnonzero(mask)[0])

    def _by_priority(self, obs: dict[str, np.ndarray], ctx: ContextT) -> list[int]:
        score = np.asarray(self.deploy_priority(obs, ctx), dtype=np.float64)
        idx = np.arange(self.n_models)
        return idx[np.lexsort((idx, -score))].tolist()

    def plan_deployment(self, obs: dict[str, np.ndarray], ctx: ContextT) -> list[int]:
        """The hook of the deploy phase: the models to deploy for the stage that starts.

        Parameters
        ----------
        obs : dict of str to ndarray
            A deploy-phase observation (``available`` holds the stage's candidate pool).
        ctx : Context
            This env's context.

        Returns
        -------
        list of int
            Indices of available models, at most ``max_deployed``; the base class adds them in
            order while the mask allows and completes the set by :meth:`deploy_priority` if the
            caps fall short.
        """
        raise NotImplementedError

    def deploy_priority(self, obs: dict[str, np.ndarray], ctx: ContextT) -> np.ndarray:
        """Score of every model for completing a deployment the plan could not complete.

        Parameters
        ----------
        obs : dict of str to ndarray
            A deploy-phase observation.
        ctx : Context
            This env's context.

        Returns
        -------
        ndarray of shape (N,)
            Higher first; by default the empirical mean reward, untried models first.
        """
        return np.where(obs["pulls"] > 0, obs["mean_reward"], 2.0)

    # ------------------------------------------------------------------ route phase
    def route(self, obs: dict[str, np.ndarray], ctx: ContextT) -> int:
        """The hook of the route phase: the model that serves the current query.

        Parameters
        ----------
        obs : dict of str to ndarray
            A route-phase observation.
        ctx : Context
            This env's context.

        Returns
        -------
        int
            A model that is deployed and below its throughput cap (:meth:`valid_routes`).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def stage_of(self, obs: dict[str, np.ndarray]) -> int:
        """The stage an observation is in.

        Parameters
        ----------
        obs : dict of str to ndarray
            An observation.

        Returns
        -------
        int
            Index of the current (or about to start) stage.
        """
        return min(int(round(float(obs["stage"][0]) * self.params.n_stages)), self.params.n_stages - 1)

    def task_of(self, obs: dict[str, np.ndarray]) -> int:
        """The task type of the current query.

        Parameters
        ----------
        obs : dict of str to ndarray
            A route-phase observation.

        Returns
        -------
        int
            Its task type (0 for untyped scenarios).
        """
        task = obs.get("task")
        return 0 if task is None else int(np.argmax(task))

    @staticmethod
    def valid_routes(obs: dict[str, np.ndarray]) -> np.ndarray:
        """The models that can serve the current query.

        Parameters
        ----------
        obs : dict of str to ndarray
            A route-phase observation.

        Returns
        -------
        ndarray of bool, shape (N,)
            Deployed and below their throughput cap.
        """
        return (obs["deployed"] > 0.5) & (obs["capacity_left"] > 0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
