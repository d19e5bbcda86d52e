"""Native batched ``LLMRoute-v0``: n sub-envs stepped together over NumPy arrays.

``gym.make_vec("LLMRoute-v0", num_envs=n, vectorization_mode="vector_entry_point")`` returns a
:class:`LLMRouteVectorEnv`. It has the semantics of n :class:`~gym_llmroute.env.LLMRouteEnv` under
Gymnasium's ``SyncVectorEnv`` (same seeds and actions give the same observations, rewards,
terminations and infos, bit for bit), but a route step is a fixed number of array operations over
all routing sub-envs, with no Python loop over them. Only events that concern a sub-env or two per
step loop over those: deploy actions and commits, the start of a stage, a reset, and the draw of
the next block of outcomes (by the world's own :class:`~gym_llmroute.world.OutcomeBlocks`, so a
sub-env faces exactly the single env's world). The rules are those of the simulation core,
:class:`gym_llmroute.sim.Sim`, which the single env runs as a batch of one; this module is the
``VectorEnv`` around it (seeds, autoreset, batched infos). docs/performance.md explains the layout
and the figures.

``gym.make_vec("LLMRoute-Gen-v0", ...)`` returns a :class:`LLMRouteGenVectorEnv`: the same, with each
sub-env in its own generated worlds (the mixed rows of one ``Sim``), equal to ``SyncVectorEnv`` of
:class:`~gym_llmroute.gen_env.LLMRouteGenEnv`.

For stable-baselines3, ``LLMRouteSB3VecEnv`` and ``LLMRouteGenSB3VecEnv`` (built on first use, so
that ``import gym_llmroute`` does not import SB3) are the same simulators behind SB3's ``VecEnv`` API.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .env import LLMRouteEnv, scenario_for_options
from .gen_env import LLMRouteGenEnv, draw_world, option_world, world_params
from .sim import RESET, Sim, SimParams, count_nonzero

# LLMRouteSB3VecEnv and LLMRouteGenSB3VecEnv: built on first use.
__all__ = ["LLMRouteVectorEnv", "LLMRouteGenVectorEnv", "LLMRouteSB3VecEnv", "LLMRouteGenSB3VecEnv"]  # noqa: F822


class LLMRouteVectorEnv(VectorEnv):
    """``num_envs`` copies of ``LLMRoute-v0`` stepped together (a native ``gymnasium.vector.VectorEnv``).

    Everything :class:`~gym_llmroute.env.LLMRouteEnv` documents holds per sub-env: the action,
    observation and info keys, the invalid-action fallbacks, the masks, typed queries, delayed
    feedback and the seeding. Sub-env i reset with seed s plays the same episode as ``LLMRouteEnv``
    reset with seed s. Batches follow ``SyncVectorEnv``: observations are a dict of float32 arrays of
    shape ``(num_envs, size)`` (views into one fresh buffer per step), rewards ``float64``, infos a
    dict of arrays with ``_key`` masks. ``reset(seed=s)``
    seeds sub-env i with ``s + i``; a list gives one seed per sub-env.

    ``action_masks()`` returns the valid actions of every sub-env's next step, bool
    ``(num_envs, N + 1)``, the same as ``info["action_mask"]``.

    Arguments
    ---------
    num_envs : int
        Number of sub-envs.
    scenario, **env_kwargs
        The arguments of ``LLMRouteEnv`` (the scenario overrides, ``pad_to``,
        ``invalid_action_penalty``); shared by all sub-envs.
    max_episode_steps : int or None
        Truncate an episode after this many steps (what ``gym.make(..., max_episode_steps=k)`` does
        with a ``TimeLimit``); None (default) never truncates.
    autoreset_mode : gymnasium.vector.AutoresetMode
        ``NEXT_STEP`` (default, Gymnasium's): the step after a sub-env's episode ends resets it,
        ignores its action and reports reward 0 and the reset info. ``SAME_STEP``: it is reset within
        the step that ends the episode; ``infos["final_obs"]`` and ``infos["final_info"]`` keep what
        that step returned. ``DISABLED``: the caller resets with ``reset(options={"reset_mask": mask})``.

    ``reset(options=...)`` takes ``reset_mask`` (bool ``(num_envs,)``: reset only those sub-envs) and
    the scenario options of ``LLMRouteEnv.reset``, which apply to every sub-env (so they cannot be
    combined with ``reset_mask``). Rendering is not supported (``render_mode`` must be None).
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    world_kind = LLMRouteEnv.world_kind

    def __init__(
        self,
        num_envs: int = 1,
        scenario: Any = "paper",
        *,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ):
        self._setup(num_envs, max_episode_steps, autoreset_mode, render_mode)
        # A single env validates the arguments (and names a wrong one as LLMRouteEnv does); it is
        # never stepped.
        proto = LLMRouteEnv(scenario, **env_kwargs)
        self.invalid_action_penalty = proto.invalid_action_penalty
        self.pad_to = proto.pad_to
        proto.close()
        self._build(proto.scenario)

    def _setup(self, num_envs, max_episode_steps, autoreset_mode, render_mode) -> None:
        """Check and set the vector arguments; the per-sub-env bookkeeping."""
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(
                f"LLMRouteVectorEnv does not render (render_mode must be None, got {render_mode!r}); "
                "use gym.make_vec(..., vectorization_mode='sync') to render sub-envs"
            )
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, (int, np.integer))
            or max_episode_steps < 1
        ):
            raise ValueError(f"max_episode_steps must be None or an integer >= 1, got {max_episode_steps!r}")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, got {autoreset_mode!r}"
            ) from None
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        n = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._autoreset = np.zeros(n, dtype=bool)  # NEXT_STEP: reset at the next step
        self._ended = np.zeros(n, dtype=bool)  # DISABLED: episode over, reset_mask needed
        self._elapsed = np.zeros(n, dtype=np.int64)
        self._started = False

    # ------------------------------------------------------------------ construction
    def _build(self, scenario) -> None:
        """(Re)build the spaces and the batched simulation state for a scenario."""
        self.scenario = scenario
        self.params = SimParams.of(scenario, self.pad_to)
        self.n_models = self.params.n_models  # model slots
        self.single_action_space, self.single_observation_space = self.params.make_spaces()
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._set_sim(Sim(self.params, self.num_envs, self.invalid_action_penalty))

    def _set_sim(self, sim: Sim) -> None:
        self.sim = sim
        self._no_model = np.full(self.num_envs, -1, dtype=np.int64)
        self._c_Nu = np.array(self.n_models, dtype=np.uint64)

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)  # type: ignore[arg-type]  # a bool was refused above as not a list
            if len(seeds) != n:
                raise ValueError(f"seed must be None, an int or a list of num_envs={n} seeds, got {len(seeds)} seeds")
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"reset options must be a dict, got {type(options).__name__}")
        options = dict(options) if options else {}
        reset_mask = options.pop("reset_mask", None)
        if reset_mask is None:
            rows = np.arange(n)
        else:
            if not isinstance(reset_mask, np.ndarray) or reset_mask.shape != (n,) or reset_mask.dtype != np.bool_:
                raise ValueError(
                    f"options['reset_mask'] must be a bool numpy array of shape ({n},), got {reset_mask!r}"
                )
            if not reset_mask.any():
                raise ValueError("options['reset_mask'] must select at least one sub-env")
            if options:
                raise ValueError(
                    f"scenario reset options {sorted(options)} change every sub-env; they cannot be combined with "
                    "reset_mask (reset all sub-envs instead)"
                )
            if not self._started:
                raise RuntimeError("call reset() without reset_mask before a partial reset")
            rows = np.flatnonzero(reset_mask)
        if options:
            self._build(scenario_for_options(self.scenario, options, self.pad_to))
        self._reset_rows(rows, [seeds[i] for i in rows])
        self._started = True
        code = np.full(n, RESET, dtype=np.int64)
        infos = self.sim.infos(
            code, np.zeros(n), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool), self.sim.stage.copy()
        )
        if reset_mask is not None:
            infos = _restrict(infos, reset_mask)
        return self.sim.observations(), infos

    def step(self, actions):  # noqa: C901 (one branch per autoreset mode; left whole for speed)
        if not self._started:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions)
        n, N = self.num_envs, self.n_models
        if a.shape != (n,):
            raise ValueError(f"actions must have shape ({n},) (one per sub-env), got {a.shape}")
        if a.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers (Discrete(N + 1) per sub-env), got dtype {a.dtype}")
        a = a.astype(np.int64)  # a copy: the caller's array is never written
        # Outside [0, N] is invalid in both phases; such actions are checked as N (never valid in a
        # route phase) and flagged, so a range test is one comparison here instead of one per phase.
        bad = a.view(np.uint64) > self._c_Nu
        if count_nonzero(bad):
            raw = a.tolist()  # deploy actions are checked as given
            a[bad] = N
        else:
            bad = None
            raw = None
        mode = self.autoreset_mode
        if mode is AutoresetMode.DISABLED and count_nonzero(self._ended):
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._ended).tolist()} have ended; with autoreset_mode=DISABLED reset them "
                "with reset(options={'reset_mask': mask}) before stepping"
            )
        resetting = self._autoreset if mode is AutoresetMode.NEXT_STEP and count_nonzero(self._autoreset) else None
        sim = self.sim
        if resetting is not None:
            route = sim.routing & ~resetting
            deploy = ~(sim.routing | resetting)
        else:
            route = sim.routing
            deploy = ~route
        R = route.nonzero()[0]
        D = deploy.nonzero()[0]

        code = route.astype(np.int64)  # the phase of the action taken: deploy 0, route 1
        stage = sim.stage.copy()  # the stage the action belongs to
        rewards = np.zeros(n)
        cost = np.zeros(n)
        model = self._no_model.copy()
        invalid = np.zeros(n, dtype=bool)
        terminated = np.zeros(n, dtype=bool)
        if D.size:
            sim.deploy_rows(D, a[D].tolist() if raw is None else [raw[i] for i in D.tolist()], rewards, invalid)
        if R.size == n:
            sim.route_rows(R, a, bad, rewards, cost, model, invalid, terminated)
        elif R.size:
            sim.route_rows(R, a[R], None if bad is None else bad[R], rewards, cost, model, invalid, terminated)
        if self.max_episode_steps is not None:
            self._elapsed += 1
            truncated = self._elapsed >= self.max_episode_steps
            if resetting is not None:
                truncated &= ~resetting
        else:
            truncated = np.zeros(n, dtype=bool)
        if resetting is not None:
            rows = np.flatnonzero(resetting)
            self._reset_rows(rows, [None] * rows.size)
            code[rows] = RESET
            stage[rows] = 0
        done = terminated | truncated
        final = terminated if count_nonzero(terminated) else None
        if mode is not AutoresetMode.SAME_STEP:
            # NEXT_STEP resets the ended sub-envs on the next step; DISABLED waits for reset(reset_mask).
            if mode is AutoresetMode.NEXT_STEP:
                self._autoreset = done
            else:
                self._ended = done
            infos = self.sim.infos(code, cost, model, invalid, stage, final)
            return self.sim.observations(), rewards, terminated, truncated, infos
        # SAME_STEP: keep what the ending step returned, then reset those sub-envs within this step.
        if not count_nonzero(done):
            return (
                self.sim.observations(),
                rewards,
                terminated,
                truncated,
                self.sim.infos(code, cost, model, invalid, stage),
            )
        final_infos = _restrict(self.sim.infos(code, cost, model, invalid, stage, final), done)
        final_obs_all = self.sim.observations()
        rows = np.flatnonzero(done)
        final_obs = np.full(n, None, dtype=object)
        for i in rows:
            final_obs[i] = {key: value[i] for key, value in final_obs_all.items()}
        self._reset_rows(rows, [None] * rows.size)
        code[rows] = RESET
        stage[rows] = 0
        cost[rows] = 0.0
        model[rows] = -1
        invalid[rows] = False
        infos = self.sim.infos(code, cost, model, invalid, stage)
        infos["final_obs"], infos["_final_obs"] = final_obs, done.copy()
        infos["final_info"], infos["_final_info"] = final_infos, done.copy()
        return self.sim.observations(), rewards, terminated, truncated, infos

    def action_masks(self) -> np.ndarray:
        """Valid actions of every sub-env's next step, bool array of shape (num_envs, N + 1)."""
        return self.sim.mask.copy()

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """An attribute per sub-env, as ``SyncVectorEnv.get_attr`` gives it (here every sub-env's is
        the env's own: one scenario)."""
        return (getattr(self, name),) * self.num_envs

    # ------------------------------------------------------------------ per sub-env
    def _reset_rows(self, rows: np.ndarray, seeds: list[int | None]) -> None:
        """Start new episodes in these sub-envs (seeded like ``LLMRouteEnv.reset``)."""
        for i, seed in zip(rows.tolist(), seeds, strict=True):
            if seed is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seed)
            self._start_episode(i, self._rngs[i])
            self._elapsed[i] = 0
            self._autoreset[i] = False
            self._ended[i] = False

    def _start_episode(self, i: int, rng: np.random.Generator) -> None:
        """Sub-env i's new episode, drawn from its ``rng`` (after any seeding)."""
        self.sim.reset_row(i, rng)


class LLMRouteGenVectorEnv(LLMRouteVectorEnv):
    """``num_envs`` copies of ``LLMRoute-Gen-v0`` stepped together, each sub-env in its own generated
    worlds (the vector entry point of ``LLMRoute-Gen-v0``).

    Sub-env i plays what :class:`~gym_llmroute.gen_env.LLMRouteGenEnv` with the same arguments plays
    under ``SyncVectorEnv``, bit for bit: at every reset it draws its world from its own seeded
    generator (seed ``s + i`` after ``reset(seed=s)``), then the episode's seed, so the worlds, the
    outcomes, the observations, rewards and infos (``info["world"]`` at resets and on ending steps
    included) are the single env's. The sub-envs' worlds differ, but all are padded to ``pad_to``
    slots and share the horizon and stages, so they run as the mixed rows of one
    :class:`~gym_llmroute.sim.Sim`: a route step is still a fixed number of array operations over
    all routing sub-envs, and a world change at a reset costs a few array copies (the world's
    parameters are cached per process, as for the single env).

    Arguments: ``num_envs``, then those of ``LLMRouteGenEnv`` (``num_worlds``, ``start_world``,
    ``pad_to``, the scenario overrides, ``invalid_action_penalty``), and ``max_episode_steps`` and
    ``autoreset_mode`` as for :class:`LLMRouteVectorEnv`. ``reset(options={"world": w})`` starts
    world w in every sub-env reset (with ``reset_mask``: in those). The sub-envs' worlds:
    ``get_attr("world")`` and ``get_attr("scenario")`` (one per sub-env; the env has no single
    ``scenario``).
    """

    world_kind = LLMRouteGenEnv.world_kind

    def __init__(
        self,
        num_envs: int = 1,
        num_worlds: int = 0,
        start_world: int = 0,
        *,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ):
        self._setup(num_envs, max_episode_steps, autoreset_mode, render_mode)
        # A single env validates the arguments and gives the spaces (those of every world); it is
        # never stepped.
        proto = LLMRouteGenEnv(num_worlds, start_world, **env_kwargs)
        self.num_worlds, self.start_world = proto.num_worlds, proto.start_world
        self.world_key = proto.world_key
        self.invalid_action_penalty = proto.invalid_action_penalty
        self.pad_to = proto.pad_to
        self.n_models = proto.n_models
        self.single_action_space, self.single_observation_space = proto.action_space, proto.observation_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        proto.close()
        # Rows start in the first world, as the single env does before its first reset; its
        # parameters give the shape every world shares.
        self.params = proto.params
        self._set_sim(Sim(self.params, self.num_envs, self.invalid_action_penalty, mixed=True))
        self.worlds = np.full(self.num_envs, proto.world, dtype=np.int64)  # each sub-env's world
        self.sim.final_extra["world"] = self.worlds  # info["world"] at resets and on ending steps
        self._world: int | None = None  # the world option of the reset under way

    @property
    def scenario(self):
        raise AttributeError(
            "the sub-envs of LLMRouteGenVectorEnv play different worlds: get_attr('scenario') gives each one's"
        )

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"reset options must be a dict, got {type(options).__name__}")
        options = dict(options or {})
        reset_mask = options.pop("reset_mask", None)
        self._world = option_world(options)
        try:
            return super().reset(seed=seed, options=None if reset_mask is None else {"reset_mask": reset_mask})
        finally:
            self._world = None

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """An attribute per sub-env, as ``SyncVectorEnv`` of ``LLMRouteGenEnv`` gives it: each
        sub-env's ``world``, ``scenario`` and ``params``; the env's own for the others (``num_worlds``,
        ``pad_to``, ...)."""
        if name == "world":
            return tuple(self.worlds.tolist())
        if name == "scenario":
            return tuple(P.scenario for P in self.sim.row_params)
        if name == "params":
            return tuple(self.sim.row_params)
        return super().get_attr(name)

    def _start_episode(self, i: int, rng: np.random.Generator) -> None:
        # LLMRouteGenEnv._choose_world, then the episode's seed from the same generator.
        world = draw_world(rng, self.num_worlds, self.start_world) if self._world is None else self._world
        params = world_params(world, self.world_key, cast(int, self.pad_to))
        self.worlds[i] = world
        self.sim.reset_row(i, rng, params)


def _restrict(infos: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """The infos of the sub-envs in ``rows`` (bool mask) only, as ``SyncVectorEnv`` gathers them:
    zeros (None for objects) elsewhere and ``_key`` masks equal to ``rows`` and the key's own."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        has = infos["_" + key] & rows
        if not has.any():
            continue
        if value.dtype == object:
            arr = np.full(value.shape, None, dtype=object)
        else:
            arr = np.zeros_like(value)
        arr[has] = value[has]
        out[key], out["_" + key] = arr, has
    return out


def _sb3_vec_env_classes():  # noqa: C901 (a class body of small methods, counted as one function)
    """Build ``LLMRouteSB3VecEnv`` and ``LLMRouteGenSB3VecEnv`` (imports stable-baselines3, so only
    on first use)."""
    from stable_baselines3.common.vec_env import VecEnv

    class LLMRouteSB3VecEnv(VecEnv):
        """:class:`LLMRouteVectorEnv` behind stable-baselines3's ``VecEnv`` API.

        ``LLMRouteSB3VecEnv(num_envs, **kwargs)`` takes the arguments of ``LLMRouteVectorEnv`` (except
        ``autoreset_mode``: SB3 resets within the step, as ``DummyVecEnv`` does). Infos are one dict per
        sub-env, with ``terminal_observation`` and ``TimeLimit.truncated`` on ending steps, and
        ``env_method("action_masks")`` gives the masks, so sb3-contrib's ``MaskablePPO`` works;
        ``get_attr(name)`` reads the vector env's ``get_attr``.
        """

        vector_class = LLMRouteVectorEnv

        def __init__(self, num_envs: int = 1, **kwargs: Any):
            if "autoreset_mode" in kwargs:
                raise TypeError(
                    f"{type(self).__name__} always resets within the step (SB3's convention); drop autoreset_mode"
                )
            self.venv = self.vector_class(num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
            self.render_mode = None
            super().__init__(num_envs, self.venv.single_observation_space, self.venv.single_action_space)
            self._actions: np.ndarray | None = None

        def reset(self):
            seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
            opts = [o for o in self._options if o]
            if opts and (len(opts) != self.num_envs or any(o != opts[0] for o in opts)):
                raise ValueError(
                    f"{type(self).__name__} applies reset options to every sub-env; set the same options for all"
                )
            obs, infos = self.venv.reset(seed=seeds, options=dict(opts[0]) if opts else None)
            self.reset_infos = _info_dicts(infos, self.num_envs)
            self._reset_seeds()
            self._reset_options()
            return obs

        def step_async(self, actions: np.ndarray) -> None:
            self._actions = np.asarray(actions).reshape(self.num_envs).astype(np.int64)

        def step_wait(self):
            obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
            done = terminated | truncated
            dicts = _info_dicts(infos, self.num_envs)
            if done.any():
                final = _info_dicts(infos["final_info"], self.num_envs)
                for i in np.flatnonzero(done).tolist():
                    self.reset_infos[i] = dicts[i]
                    dicts[i] = final[i]
                    dicts[i]["terminal_observation"] = infos["final_obs"][i]
            for i, d in enumerate(dicts):
                d["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            return obs, rewards.astype(np.float32), done, dicts

        def close(self) -> None:
            self.venv.close()

        def get_attr(self, attr_name: str, indices=None) -> list[Any]:
            values = self.venv.get_attr(attr_name)
            return [values[i] for i in self._get_indices(indices)]

        def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
            raise NotImplementedError(f"{type(self).__name__} sub-envs share one simulator; set attributes on .venv")

        def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
            if method_name != "action_masks":
                raise NotImplementedError(
                    f"{type(self).__name__} supports env_method('action_masks') only, got {method_name!r}"
                )
            masks = self.venv.action_masks()
            return [masks[i] for i in self._get_indices(indices)]

        def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
            return [False for _ in self._get_indices(indices)]

    class LLMRouteGenSB3VecEnv(LLMRouteSB3VecEnv):
        """:class:`LLMRouteGenVectorEnv` behind stable-baselines3's ``VecEnv`` API: each sub-env in
        its own generated worlds, as ``DummyVecEnv`` of ``LLMRoute-Gen-v0``.

        ``LLMRouteGenSB3VecEnv(num_envs, **kwargs)`` takes the arguments of ``LLMRouteGenVectorEnv``
        (except ``autoreset_mode``). ``get_attr("scenario")`` and ``get_attr("world")`` give each
        sub-env's world; the rest is :class:`LLMRouteSB3VecEnv`'s.
        """

        vector_class = LLMRouteGenVectorEnv

    return LLMRouteSB3VecEnv, LLMRouteGenSB3VecEnv


def _info_dicts(infos: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-sub-env info dicts from batched infos (what SB3 expects)."""
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, value in infos.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        has = infos["_" + key]
        items = list(value) if value.ndim > 1 else value.tolist()
        for i in np.flatnonzero(has).tolist():
            out[i][key] = items[i]
    return out


def __getattr__(name: str):
    if name in ("LLMRouteSB3VecEnv", "LLMRouteGenSB3VecEnv"):
        classes = _sb3_vec_env_classes()
        globals().update((cls.__name__, cls) for cls in classes)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
