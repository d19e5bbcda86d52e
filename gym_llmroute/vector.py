"""Native batched ``LLMRoute-v0``: n sub-envs stepped together over NumPy arrays.

``gym.make_vec("LLMRoute-v0", num_envs=n, vectorization_mode="vector_entry_point")`` returns a
:class:`LLMRouteVectorEnv`. It has the semantics of n :class:`~gym_llmroute.env.LLMRouteEnv` under
Gymnasium's ``SyncVectorEnv`` (same seeds and actions give the same observations, rewards,
terminations and infos, bit for bit), but a route step is a fixed number of array operations over
all routing sub-envs, with no Python loop over them. Only events that concern a sub-env or two per
step loop over those: deploy actions and commits, the start of a stage, a reset, and the draw of
the next block of outcomes (by the world's own :class:`~gym_llmroute.world.OutcomeBlocks`, so a
sub-env faces exactly the single env's world). docs/performance.md explains the layout and the figures.

For stable-baselines3, ``LLMRouteSB3VecEnv`` (built on first use, so that ``import gym_llmroute``
does not import SB3) is the same simulator behind SB3's ``VecEnv`` API.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .env import LLMRouteEnv, deploy_mask
from .world import OutcomeBlocks

__all__ = ["LLMRouteVectorEnv", "LLMRouteSB3VecEnv"]  # noqa: F822 (LLMRouteSB3VecEnv: built on first use)

_RESET = 2  # phase codes of infos["phase"]: 0 deploy, 1 route, 2 reset
_PHASE_NAMES = np.array(["deploy", "route", "reset"], dtype=object)
_MASK_CACHE = 4096  # deploy masks kept per env (the cache is emptied when full: memory stays bounded)
_nnz = np.count_nonzero  # several times cheaper than ndarray.any() on a few dozen elements


class LLMRouteVectorEnv(VectorEnv):
    """``num_envs`` copies of ``LLMRoute-v0`` stepped together (a native ``gymnasium.vector.VectorEnv``).

    Everything :class:`~gym_llmroute.env.LLMRouteEnv` documents holds per sub-env: the action,
    observation and info keys, the invalid-action fallbacks, the masks, typed queries, delayed
    feedback and the seeding. Sub-env i reset with seed s plays the same episode as ``LLMRouteEnv``
    reset with seed s. Batches follow ``SyncVectorEnv``: observations are a dict of float32 arrays of
    shape ``(num_envs, size)`` (views into one fresh buffer per step), rewards ``float64``, infos a
    dict of arrays with ``_key`` masks (``phase`` an object array of strings). ``reset(seed=s)``
    seeds sub-env i with ``s + i``; a list gives one seed per sub-env.

    ``action_masks()`` returns the valid actions of every sub-env's next step, bool
    ``(num_envs, N + 1)``, the same as ``info["action_mask"]``.

    Arguments
    ---------
    num_envs : int
        Number of sub-envs.
    scenario, **env_kwargs
        The arguments of ``LLMRouteEnv`` (``horizon``, ``n_stages``, ``max_deployed``, ``budget``,
        ``budget_mode``, ``feedback_delay``, ``invalid_action_penalty``); shared by all sub-envs.
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
        # A single env validates the arguments and gives the spaces, the observation layout and the
        # static observation entries; it is never stepped.
        self._proto = LLMRouteEnv(scenario, **env_kwargs)
        self.invalid_action_penalty = self._proto.invalid_action_penalty
        n = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._seeds = [0] * n
        self._autoreset = np.zeros(n, dtype=bool)  # NEXT_STEP: reset at the next step
        self._ended = np.zeros(n, dtype=bool)  # DISABLED: episode over, reset_mask needed
        self._elapsed = np.zeros(n, dtype=np.int64)
        self._started = False
        self._build()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        """(Re)allocate the batched state for the prototype's scenario.

        Layout for speed: per-(sub-env, model) quantities are flat arrays indexed ``i * N + m`` (one
        1-D gather or scatter per update; 2-D fancy indexing costs several times more at these
        sizes), and every integer that enters float arithmetic (time, bounds, capacities) is held as
        an exact float64, so that no operation mixes dtypes. The results are the single env's to the
        bit: the same IEEE operations on the same values.
        """
        proto = self._proto
        s = proto.scenario
        w = proto.world
        n, N, J = self.num_envs, s.n_models, s.n_tasks
        self.scenario = s
        self.n_models = N
        self.single_action_space = proto.action_space
        self.single_observation_space = proto.observation_space
        self.action_space = batch_space(self.single_action_space, n)
        self.observation_space = batch_space(self.single_observation_space, n)

        # Scenario constants, taken from the single env's World so that both compute alike.
        self._T = float(s.horizon)
        self._K = s.n_stages
        self._B = w.total_budget
        self._hard = w.hard_budget
        self._delay = w.delay
        self._typed = J > 1
        self._J = J
        bounds = np.asarray(s.stage_bounds, dtype=np.int64)
        self._bounds = bounds.astype(np.float64)
        self._next_bound = self._bounds[1:]
        self._next_bound_list = [int(b) for b in bounds[1:]]  # the same, as Python ints (per sub-env events)
        self._lengths = np.diff(self._bounds)
        self._caps = s.stage_caps.astype(np.float64)
        self._cap_share = self._caps / self._lengths[:, None]  # capacity_left of a deployed model at commit
        self._avail = s.availability
        self._alpha = s.throughput
        self._max_deployed = s.max_deployed
        self._vstar = np.array(w.vstar)
        self._tail = np.array(w._tail)
        # Regret of routing a query of type j to model m in stage k, V*_k - mu_km(j), at (k * J + j) * N + m.
        self._gap = (self._vstar[:, None, None] - s.stage_quality).reshape(-1)
        self._oracle_value = w.oracle_value
        self._fallback_order = proto._fallback_order
        # Public price changes: the query indices at which they happen and the price rows from then on.
        times, self._prices = s.public_prices
        self._price_times = list(times) + [math.inf]
        self._price_at = [0] * n  # index of sub-env i's row of _prices in force

        # Observation buffer: one float64 row per sub-env laid out as the single env's, cast to
        # float32 once per step (the same rounding as the single env's float32 writes).
        self._slices = list(proto._slices)
        # The observation dict's views, obs[:, sl] per key, taken in one call (15+ keys: a tuple).
        self._obs_keys = [key for key, _ in self._slices]
        self._obs_views = operator.itemgetter(*[(slice(None), sl) for _, sl in self._slices])
        self._sl = dict(self._slices)
        col = {key: sl.start for key, sl in self._slices}
        self._col = col
        width = proto._buf.size
        self._width = width
        # A sub-env's row right after reset, before the deploy phase starts: the static entries
        # (throughput, price, release), the budget per query, zeros elsewhere.
        self._obs_reset = np.zeros(width)
        for key in ("throughput", "price", "release"):
            self._obs_reset[self._sl[key]] = proto._buf[self._sl[key]]
        self._obs_reset[col["budget_per_query"]] = s.budget
        self._obs = np.tile(self._obs_reset, (n, 1))
        self._obs_f = self._obs.reshape(-1)
        rows = np.arange(n, dtype=np.int64)
        self._row_obs = rows * width
        self._row_time = self._row_obs + col["time"]
        self._row_progress = self._row_obs + col["stage_progress"]
        self._row_bpq = self._row_obs + col["budget_per_query"]
        self._row_mask = rows * (N + 1)
        self._row_model = rows * N
        self._row_task_model = rows * (J * N)
        self._no_model = np.full(n, -1, dtype=np.int64)
        # Constants of the per-step arithmetic as 0-d arrays: NumPy takes ~40% less time for an
        # operation with a 0-d array than with a Python scalar, for the same result.
        self._c_zero, self._c_one = np.array(0.0), np.array(1.0)
        self._c_T, self._c_B = np.array(self._T), np.array(self._B)
        self._c_N, self._c_Nu = np.array(N, dtype=np.int64), np.array(N, dtype=np.uint64)
        self._c_delay = np.array(self._delay, dtype=np.int64)
        self._ones = np.ones(n, dtype=bool)

        # Per sub-env state (the World's fields, one entry per sub-env).
        # Rows of one array each, so that a reset zeroes a sub-env in one operation: queries served
        # (an exact float), spend, total reward, regret, and the query index at which something
        # other than routing happens next (the stage ends, the block of outcomes ends, the horizon),
        # so that a route step checks one number per sub-env.
        self._env_state = np.zeros((5, n))
        self._t, self._spent, self._total_reward, self._regret, self._next_event = self._env_state
        self._stage_state = np.zeros((2, n), dtype=np.int64)
        self._stage, self._stage_gap = self._stage_state  # stage, and stage * J * N (its row of _gap)
        self._route = np.zeros(n, dtype=bool)
        # Per (sub-env, model), flat: observed pulls, reward and cost sums; queries left this stage.
        self._model_state = np.zeros((4, n * N))
        self._pulls, self._reward_sum, self._cost_sum, self._left = self._model_state
        self._model_rows = self._model_state.reshape(4, n, N)  # [quantity, sub-env, model]
        self._picked = np.zeros((n, N), dtype=bool)
        self._picked_f = self._picked.reshape(-1)
        self._mask = np.zeros((n, N + 1), dtype=bool)
        self._mask_f = self._mask.reshape(-1)
        if self._typed:
            self._task_state = np.zeros((3, n * J * N))
            self._task_pulls, self._task_reward_sum, self._task_cost_sum = self._task_state
            self._task_rows = self._task_state.reshape(3, n, J * N)
            self._task_now = np.zeros(n, dtype=np.int64)  # task type shown in the observation
        if self._delay:
            d = self._delay
            # Ring buffer of the outcomes not yet revealed: query t sits in slot t % d.
            self._pend_model = np.zeros((n, d), dtype=np.int64)
            self._pend_task = np.zeros((n, d), dtype=np.int64)
            self._pend_reward = np.zeros((n, d))
            self._pend_cost = np.zeros((n, d))
        # The current block of outcomes of every sub-env (drawn by its OutcomeBlocks into its rows of
        # the flat arrays); the current query's row starts at _foff[i] = (i * size + t - block start) * N.
        self._blocks = [OutcomeBlocks(s) for _ in range(n)]
        size = self._blocks[0].rows
        self._tasks = np.zeros(n * size, dtype=np.int64)
        self._rewards = np.zeros(n * size * N)
        self._costs = np.zeros(n * size * N)
        self._block_out = [
            (
                self._tasks[i * size : (i + 1) * size],
                self._rewards[i * size * N : (i + 1) * size * N].reshape(size, N),
                self._costs[i * size * N : (i + 1) * size * N].reshape(size, N),
            )
            for i in range(n)
        ]
        self._block_end = [0] * n  # the query after sub-env i's current block
        self._block_rows = size
        self._foff = rows * (size * N)
        # Deploy masks depend on (stage, picked set) only: cached, since computing one costs as
        # much as a whole route step. Key: the picked set as bits, times K, plus the stage.
        self._mask_cache: dict[Any, int] = {}
        self._mask_table = np.zeros((_MASK_CACHE, N + 1), dtype=bool)
        self._can_add = [False] * _MASK_CACHE  # some model can still be added
        self._picked_key = [0] * n  # sum of 2**m over the picked models m (a Python int: any N)

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
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
            self._proto._apply_options(options)
            self._build()
        self._reset_rows(rows, [seeds[i] for i in rows])
        self._started = True
        code = np.full(n, _RESET, dtype=np.int64)
        infos = self._infos(
            code, np.zeros(n), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool), self._stage.copy()
        )
        if reset_mask is not None:
            infos = _restrict(infos, reset_mask)
        return self._observations(), infos

    def step(self, actions):
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
        if _nnz(bad):
            a[bad] = N
        else:
            bad = None
        mode = self.autoreset_mode
        if mode is AutoresetMode.DISABLED and _nnz(self._ended):
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._ended).tolist()} have ended; with autoreset_mode=DISABLED reset them "
                "with reset(options={'reset_mask': mask}) before stepping"
            )
        resetting = self._autoreset if mode is AutoresetMode.NEXT_STEP and _nnz(self._autoreset) else None
        if resetting is not None:
            route = self._route & ~resetting
            deploy = ~(self._route | resetting)
        else:
            route = self._route
            deploy = ~route
        R = route.nonzero()[0]
        D = deploy.nonzero()[0]

        code = route.astype(np.int64)  # the phase of the action taken: deploy 0, route 1
        stage = self._stage.copy()  # the stage the action belongs to
        rewards = np.zeros(n)
        cost = np.zeros(n)
        model = self._no_model.copy()
        invalid = np.zeros(n, dtype=bool)
        terminated = np.zeros(n, dtype=bool)
        if D.size:
            self._deploy_step(D, a[D], None if bad is None else bad[D], rewards, invalid)
        if R.size == n:
            self._route_step(R, a, bad, rewards, cost, model, invalid, terminated)
        elif R.size:
            self._route_step(R, a[R], None if bad is None else bad[R], rewards, cost, model, invalid, terminated)
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
            code[rows] = _RESET
            stage[rows] = 0
        done = terminated | truncated
        final = terminated if _nnz(terminated) else None
        if mode is not AutoresetMode.SAME_STEP:
            # NEXT_STEP resets the ended sub-envs on the next step; DISABLED waits for reset(reset_mask).
            if mode is AutoresetMode.NEXT_STEP:
                self._autoreset = done
            else:
                self._ended = done
            infos = self._infos(code, cost, model, invalid, stage, final)
            return self._observations(), rewards, terminated, truncated, infos
        # SAME_STEP: keep what the ending step returned, then reset those sub-envs within this step.
        if not _nnz(done):
            return self._observations(), rewards, terminated, truncated, self._infos(code, cost, model, invalid, stage)
        final_infos = _restrict(self._infos(code, cost, model, invalid, stage, final), done)
        final_obs_all = self._observations()
        rows = np.flatnonzero(done)
        final_obs = np.full(n, None, dtype=object)
        for i in rows:
            final_obs[i] = {key: value[i] for key, value in final_obs_all.items()}
        self._reset_rows(rows, [None] * rows.size)
        code[rows] = _RESET
        stage[rows] = 0
        cost[rows] = 0.0
        model[rows] = -1
        invalid[rows] = False
        infos = self._infos(code, cost, model, invalid, stage)
        infos["final_obs"], infos["_final_obs"] = final_obs, done.copy()
        infos["final_info"], infos["_final_info"] = final_infos, done.copy()
        return self._observations(), rewards, terminated, truncated, infos

    def action_masks(self) -> np.ndarray:
        """Valid actions of every sub-env's next step, bool array of shape (num_envs, N + 1)."""
        return self._mask.copy()

    # ------------------------------------------------------------------ episodes (rare: per sub-env)
    # Resets, deployments and stage changes touch a sub-env or two per step; a loop over those with
    # plain row indexing is several times cheaper than fancy indexing over a few rows, and reads like
    # the single env.
    def _reset_rows(self, rows: np.ndarray, seeds: list[int | None]) -> None:
        for i, seed in zip(rows.tolist(), seeds, strict=True):
            self._reset_row(i, seed)

    def _reset_row(self, i: int, seed: int | None) -> None:
        """Start a new episode in sub-env i (seeded like ``LLMRouteEnv.reset``)."""
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        self._seeds[i] = int(self._rngs[i].integers(2**63 - 1))
        self._blocks[i].reset(self._seeds[i])
        self._load_block(i)
        self._env_state[:, i] = 0.0
        self._price_at[i] = 0
        self._next_event[i] = min(self._next_bound_list[0], self._block_end[i], self._price_times[0])
        self._stage_state[:, i] = 0
        self._elapsed[i] = 0
        self._model_rows[:, i] = 0.0
        if self._typed:
            self._task_rows[:, i] = 0.0
            self._task_now[i] = 0
        self._obs[i] = self._obs_reset
        self._autoreset[i] = False
        self._ended[i] = False
        self._start_deploy(i, 0)
        if self._typed:
            self._set_task(np.array([i]))

    def _load_block(self, i: int) -> None:
        """Draw sub-env i's next block of outcomes into its rows of the flat arrays."""
        _, self._block_end[i] = self._blocks[i].draw(*self._block_out[i])
        self._foff[i] = i * self._block_rows * self.n_models

    # ------------------------------------------------------------------ deploy phase (per sub-env)
    def _start_deploy(self, i: int, stage: int) -> None:
        self._route[i] = False
        self._picked[i] = False
        self._picked_key[i] = 0
        row, col, sl = self._obs[i], self._col, self._sl
        row[col["phase"]] = 0.0
        row[sl["picked"]] = 0.0
        row[sl["available"]] = self._avail[stage]
        row[col["stage"]] = stage / self._K
        row[col["stage_progress"]] = 0.0
        row[sl["capacity_left"]] = 0.0
        self._deploy_mask(i, stage)

    def _deploy_mask(self, i: int, stage: int) -> bool:
        """Set sub-env i's deploy mask (the single env's ``deploy_mask``, cached by stage and picked
        set); returns whether some model can still be added."""
        key = self._picked_key[i] * self._K + stage
        slot = self._mask_cache.get(key)
        if slot is None:
            if len(self._mask_cache) >= _MASK_CACHE:
                self._mask_cache.clear()
            slot = self._mask_cache[key] = len(self._mask_cache)
            row = self._mask_table[slot]
            deploy_mask(self._avail[stage], self._picked[i], self._alpha, self._max_deployed, row)
            self._can_add[slot] = bool(row[:-1].any())
        self._mask[i] = self._mask_table[slot]
        return self._can_add[slot]

    def _deploy_step(self, D: np.ndarray, a: np.ndarray, bad, rewards: np.ndarray, invalid: np.ndarray) -> None:
        valid = self._mask_f[self._row_mask[D] + a]
        if bad is not None:
            valid &= ~bad
        N = self.n_models
        stages = self._stage[D].tolist()
        obs, picked, picked_key, col_picked = self._obs, self._picked, self._picked_key, self._col["picked"]
        for i, ai, ok, stage in zip(D.tolist(), a.tolist(), valid.tolist(), stages, strict=True):
            if not ok:
                # Fallback: commit if valid, else add the valid model with the largest cap (first of ties).
                mask = self._mask[i]
                if mask[N]:
                    ai = N
                else:
                    adds = np.flatnonzero(mask[:N])
                    ai = int(adds[np.argmax(self._alpha[adds])])
            committed = ai == N
            if not committed:
                picked[i, ai] = True
                obs[i, col_picked + ai] = 1.0
                picked_key[i] += 1 << ai
                # Commit by itself once M_max are picked or nothing is left to add.
                committed = not self._deploy_mask(i, stage)
            if committed:
                self._commit(i, stage)
        if _nnz(valid) != D.size:
            rewards[D] = np.where(valid, 0.0, -self.invalid_action_penalty)
            invalid[D] = ~valid

    def _commit(self, i: int, stage: int) -> None:
        N = self.n_models
        picked = self._picked[i]
        np.multiply(self._caps[stage], picked, out=self._model_rows[3, i])  # queries left: the cap if deployed
        self._route[i] = True
        row, col, sl = self._obs[i], self._col, self._sl
        row[col["phase"]] = 1.0
        row[sl["deployed"]] = picked
        row[sl["picked"]] = 0.0
        np.multiply(self._cap_share[stage], picked, out=row[sl["capacity_left"]])
        mask = self._mask[i]
        mask[:N] = picked
        mask[N] = False
        picked[:] = False
        self._picked_key[i] = 0

    # ------------------------------------------------------------------ route phase
    def _route_step(self, R, a, bad, rewards, cost_out, model_out, invalid, terminated) -> None:
        mask_f, obs, one = self._mask_f, self._obs_f, self._c_one
        k = R.size
        fw = self._row_mask[R] + a
        valid = mask_f[fw]
        if bad is not None:
            valid &= ~bad
        inv = None
        if _nnz(valid) != k:
            # Fallback: the valid model with the lowest public list price.
            inv = ~valid
            order = self._fallback_order
            a[inv] = order[self._mask[R[inv]][:, order].argmax(axis=1)]
            fw = self._row_mask[R] + a
        fm = self._row_model[R] + a
        foff = self._foff[R]
        fo = foff + a
        reward = self._rewards[fo]
        cost = self._costs[fo]
        t = self._t[R]
        st = self._stage[R]
        ro = self._row_obs[R] + a
        task = self._tasks[foff // self._c_N] if self._typed or self._delay else None

        # Observed statistics: the routed query's outcome, or with delay the one routed d queries ago.
        if self._delay:
            d = self._c_delay
            ti = t.astype(np.int64)
            slot = ti % d
            has = ti >= d
            rows, sh = R[has], slot[has]
            m, rj = self._pend_model[rows, sh], self._pend_task[rows, sh]
            r_reward, r_cost = self._pend_reward[rows, sh], self._pend_cost[rows, sh]
            self._pend_model[R, slot] = a
            self._pend_task[R, slot] = task
            self._pend_reward[R, slot] = reward
            self._pend_cost[R, slot] = cost
            frm = self._row_model[rows] + m
            rob = self._row_obs[rows] + m
        else:
            rows, m, rj, r_reward, r_cost, frm, rob = R, a, task, reward, cost, fm, ro
        if rows.size:
            col = self._col
            n_obs = self._pulls[frm] + one
            self._pulls[frm] = n_obs
            r_sum = self._reward_sum[frm] + r_reward
            self._reward_sum[frm] = r_sum
            c_sum = self._cost_sum[frm] + r_cost
            self._cost_sum[frm] = c_sum
            obs[rob + col["pulls"]] = n_obs
            obs[rob + col["mean_reward"]] = r_sum / n_obs
            obs[rob + col["mean_cost"]] = c_sum / n_obs
            if self._typed:
                jm = rj * self._c_N + m
                ftm = self._row_task_model[rows] + jm
                n_obs = self._task_pulls[ftm] + one
                self._task_pulls[ftm] = n_obs
                r_sum = self._task_reward_sum[ftm] + r_reward
                self._task_reward_sum[ftm] = r_sum
                c_sum = self._task_cost_sum[ftm] + r_cost
                self._task_cost_sum[ftm] = c_sum
                rob = self._row_obs[rows] + jm
                obs[rob + col["task_pulls"]] = n_obs
                obs[rob + col["task_mean_reward"]] = r_sum / n_obs
                obs[rob + col["task_mean_cost"]] = c_sum / n_obs

        # Throughput, spend, reward, regret and time (World.route).
        left = self._left[fm] - one
        self._left[fm] = left
        spent = self._spent[R] + cost
        self._spent[R] = spent
        self._total_reward[R] = self._total_reward[R] + reward
        gap = self._stage_gap[R] + (a if task is None else task * self._c_N + a)
        self._regret[R] = self._regret[R] + self._gap[gap]
        t1 = t + one
        self._t[R] = t1
        self._foff[R] = foff + self._c_N
        event = t1 >= self._next_event[R]
        if self._hard:
            event |= spent > self._c_B
        live = new_stage = None
        if _nnz(event):
            live, new_stage = self._route_events(R, st, t1, spent, event)
            if _nnz(live) == k:
                live = None
        length = self._lengths[st]
        obs[ro + self._col["capacity_left"]] = left / length
        mask_f[fw] = left > self._c_zero
        obs[self._row_time[R]] = t1 / self._c_T
        remaining = self._c_T - t1
        if live is None:
            obs[self._row_bpq[R]] = (self._c_B - spent) / remaining
            obs[self._row_progress[R]] = (t1 - self._bounds[st]) / length
        else:
            obs[self._row_bpq[R]] = np.divide(self._B - spent, remaining, out=np.zeros(k), where=remaining > 0)
            # Stage progress is left as it was on a terminal step (as the single env does).
            progress = (t1 - self._bounds[st]) / length
            obs[self._row_progress[R[live]]] = progress[live]
            terminated[R] = ~live
        if new_stage:
            for i, stage in new_stage:
                self._start_deploy(i, stage)
        if self._typed:
            self._set_task(R if live is None else R[live])
        rewards[R] = reward if inv is None else reward - self.invalid_action_penalty * inv
        cost_out[R] = cost
        model_out[R] = a
        if inv is not None:
            invalid[R] = inv

    def _route_events(self, R, st, t1, spent, event):
        """The rare part of a route step, for sub-envs whose query hit an event (stage end, block
        end, horizon, hard budget). Returns which sub-envs go on (are not terminated) and the
        (sub-env, stage) pairs that start a new stage."""
        live = t1 < self._c_T
        if self._hard:
            over = spent > self._c_B
            if _nnz(over):
                # Every query left unserved costs the oracle's value for it.
                Ro, so = R[over], st[over]
                self._regret[Ro] += self._vstar[so] * (self._next_bound[so] - t1[over]) + self._tail[so + 1]
                live &= ~over
        new_stage = []
        go = event & live
        bounds = self._next_bound_list
        for i, t in zip(R[go].tolist(), t1[go].tolist(), strict=True):
            t = int(t)
            stage = int(self._stage[i])
            if t == bounds[stage]:
                stage += 1
                self._stage[i] = stage
                self._stage_gap[i] = stage * self._J * self.n_models
                new_stage.append((i, stage))
            if t == self._block_end[i]:
                self._load_block(i)
            k = self._price_at[i]
            if t == self._price_times[k]:  # a price change: the next query is charged the new prices
                k = self._price_at[i] = k + 1
                self._obs[i, self._sl["price"]] = self._prices[k]
            self._next_event[i] = min(bounds[stage], self._block_end[i], self._price_times[k])
        return live, new_stage

    def _set_task(self, rows: np.ndarray) -> None:
        if not self._typed or rows.size == 0:
            return
        task = self._tasks[self._foff[rows] // self.n_models]
        base = self._row_obs[rows] + self._col["task"]
        self._obs_f[base + self._task_now[rows]] = 0.0  # the one-hot of the previous query
        self._obs_f[base + task] = 1.0
        self._task_now[rows] = task

    # ------------------------------------------------------------------ outputs
    def _observations(self) -> dict[str, np.ndarray]:
        obs = self._obs.astype(np.float32)
        return dict(zip(self._obs_keys, self._obs_views(obs), strict=True))

    def _infos(self, code, cost, model, invalid, stage, terminated=None) -> dict[str, Any]:
        one = self._ones.copy  # a fresh True row per "_key" mask
        infos = {
            "cost": cost,
            "phase": _PHASE_NAMES[code],
            "stage": stage,
            "model": model,
            "action_mask": self._mask.copy(),
            "invalid_action": invalid,
            "budget_left": self._c_B - self._spent,
            "regret": self._regret.copy(),
            "_cost": one(),
            "_phase": one(),
            "_stage": one(),
            "_model": one(),
            "_action_mask": one(),
            "_invalid_action": one(),
            "_budget_left": one(),
            "_regret": one(),
        }
        if terminated is not None:
            # The final infos of the ending sub-envs, zeros elsewhere (queries_served as an int).
            final = (
                ("oracle_value", self._oracle_value),
                ("total_reward", self._total_reward),
                ("total_cost", self._spent),
                ("budget", self._B),
                ("queries_served", self._t),
            )
            for key, value in final:
                infos[key] = np.where(terminated, value, 0.0)
                infos["_" + key] = terminated.copy()
            infos["queries_served"] = infos["queries_served"].astype(np.int64)
        return infos

    def close_extras(self, **kwargs: Any) -> None:
        self._proto.close()


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


def _sb3_vec_env_class():
    """Build ``LLMRouteSB3VecEnv`` (imports stable-baselines3, so only on first use)."""
    from stable_baselines3.common.vec_env import VecEnv

    class LLMRouteSB3VecEnv(VecEnv):
        """:class:`LLMRouteVectorEnv` behind stable-baselines3's ``VecEnv`` API.

        ``LLMRouteSB3VecEnv(num_envs, **kwargs)`` takes the arguments of ``LLMRouteVectorEnv`` (except
        ``autoreset_mode``: SB3 resets within the step, as ``DummyVecEnv`` does). Infos are one dict per
        sub-env, with ``terminal_observation`` and ``TimeLimit.truncated`` on ending steps, and
        ``env_method("action_masks")`` gives the masks, so sb3-contrib's ``MaskablePPO`` works.
        """

        def __init__(self, num_envs: int = 1, **kwargs: Any):
            if "autoreset_mode" in kwargs:
                raise TypeError(
                    "LLMRouteSB3VecEnv always resets within the step (SB3's convention); drop autoreset_mode"
                )
            self.venv = LLMRouteVectorEnv(num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
            self.render_mode = None
            super().__init__(num_envs, self.venv.single_observation_space, self.venv.single_action_space)
            self._actions: np.ndarray | None = None

        def reset(self):
            seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
            opts = [o for o in self._options if o]
            if opts and (len(opts) != self.num_envs or any(o != opts[0] for o in opts)):
                raise ValueError(
                    "LLMRouteSB3VecEnv applies reset options to every sub-env; set the same options for all"
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
            value = getattr(self.venv, attr_name)
            return [value for _ in self._get_indices(indices)]

        def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
            raise NotImplementedError("LLMRouteSB3VecEnv sub-envs share one simulator; set attributes on .venv")

        def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
            if method_name != "action_masks":
                raise NotImplementedError(
                    f"LLMRouteSB3VecEnv supports env_method('action_masks') only, got {method_name!r}"
                )
            masks = self.venv.action_masks()
            return [masks[i] for i in self._get_indices(indices)]

        def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
            return [False for _ in self._get_indices(indices)]

    return LLMRouteSB3VecEnv


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
    if name == "LLMRouteSB3VecEnv":
        cls = _sb3_vec_env_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
