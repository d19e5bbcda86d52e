"""``LLMRoute-v0``: deploy and route large language models under a budget, with bandit feedback."""

from __future__ import annotations

import operator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .presets import make_scenario
from .scenario import Scenario
from .world import World

__all__ = ["LLMRouteEnv", "DEPLOY", "ROUTE", "deploy_mask", "mask_from_obs"]

DEPLOY, ROUTE = 0, 1
_PHASE_NAMES = ("deploy", "route")
# Scenario fields that ``gym.make`` keyword arguments and ``reset(options=...)`` may set.
SCENARIO_KEYS = ("horizon", "n_stages", "max_deployed", "budget", "budget_mode", "feedback_delay")


def deploy_mask(available, picked, throughput, max_deployed: int, out: np.ndarray | None = None) -> np.ndarray:
    """Valid actions of a deploy phase, bool of shape (N + 1,).

    Adding model i is valid if it is available, not picked, and the picked set plus i can still reach
    throughput caps summing to one within ``max_deployed`` models; committing (index N) is valid once
    the picked caps sum to one.
    """
    available = np.asarray(available, dtype=bool)
    picked = np.asarray(picked, dtype=bool)
    alpha = np.asarray(throughput, dtype=np.float64)
    n = available.size
    mask = np.zeros(n + 1, dtype=bool) if out is None else out
    mask[:] = False
    cand = available & ~picked
    have = float(alpha[picked].sum())
    slots_after = max_deployed - int(picked.sum()) - 1
    if slots_after >= 0 and cand.any():
        idx = np.flatnonzero(cand)
        a = alpha[idx]
        ranked = np.sort(a)[::-1]
        top_r = ranked[:slots_after].sum()
        top_r1 = ranked[: slots_after + 1].sum()
        # Best caps reachable with i and at most slots_after others: the top slots_after + 1 caps if i
        # can be one of them, else i's cap plus the top slots_after.
        in_top = a >= (ranked[slots_after] if slots_after < ranked.size else -np.inf)
        reach = np.where(in_top, have + top_r1, have + a + top_r)
        mask[idx] = reach >= 1.0 - 1e-9
    mask[n] = bool(picked.any()) and have >= 1.0 - 1e-9
    return mask


def mask_from_obs(obs: dict[str, np.ndarray], max_deployed: int) -> np.ndarray:
    """The valid actions of the next step computed from a single (unbatched) observation alone;
    equal to ``env.action_masks()``. Agents use it, since SB3's ``predict`` receives no mask."""
    if obs["phase"][0] < 0.5:
        return deploy_mask(obs["available"] > 0.5, obs["picked"] > 0.5, obs["throughput"], max_deployed)
    mask = np.zeros(obs["deployed"].size + 1, dtype=bool)
    mask[:-1] = (obs["deployed"] > 0.5) & (obs["capacity_left"] > 0)
    return mask


class LLMRouteEnv(gym.Env):
    """Deploy and route large language models under a budget and throughput caps.

    ## Description

    An LLM provider serves a stream of T queries. Models arrive over time and some retire. The horizon
    is cut into K stages; at the start of each stage (a maintenance window) the agent chooses which
    models to deploy, at most ``max_deployed`` (M_max) of them, and during the stage it routes every
    query to one deployed model. Each model m has an unknown mean quality (the probability of a correct
    answer) and mean cost per query; routing a query reveals only that model's realised reward and
    cost (bandit feedback). Model m can serve at most ``ceil(alpha_m * stage length)`` queries of a
    stage (its throughput cap), and the run has a budget of ``b`` cost units per query on average.
    This is the problem of StageRoute (Li & Li, ICLR 2026); see docs/stageroute.md.

    The world (arrivals, retirements, qualities, costs, caps) is a validated
    :class:`~gym_llmroute.scenario.Scenario`, a named preset or one of the user's. For a given seed the
    task type of every query and every model's potential outcome for it are fixed in advance
    (common random numbers), so two agents on one seed face the same world.

    ## Action Space

    ``Discrete(N + 1)`` for both levels, N = ``scenario.n_models``:

    * **Deploy phase** (at each stage boundary, including the first step after ``reset``): action
      ``i < N`` adds model i to the next stage's set; action ``N`` commits the set. The set commits by
      itself once M_max models are picked or no available model is left to pick. Adding model i is
      valid if it is available (arrived, not retired), not yet picked, and the set can still reach
      throughput caps summing to at least one within M_max models; committing is valid once the picked
      caps sum to at least one (so the stage can be served in full).
    * **Route phase**: action ``i < N`` routes the current query to model i, valid if i is deployed and
      below its throughput cap for the stage. Action ``N`` is never valid in this phase.

    Invalid actions never raise: an invalid deploy action commits the set if committing is valid, and
    otherwise adds the valid model with the largest throughput cap (ties: lowest index); an invalid
    route action goes to the valid model with the lowest public list price (ties and unknown prices:
    lowest index). Both set ``info["invalid_action"] = True`` and subtract ``invalid_action_penalty``
    from the reward. A deploy phase therefore ends within M_max + 1 steps and never commits an empty
    set. Integers outside ``[0, N]`` are treated as invalid actions; a non-integer action raises
    ``TypeError``.

    ``action_masks()`` (the method sb3-contrib's MaskablePPO calls) and ``info["action_mask"]`` give
    the valid actions of the next step as a bool array of shape (N + 1,).

    ## Observation Space

    A ``Dict`` of ``float32`` ``Box`` arrays (per-model arrays have one slot per catalog model):

    =====================  =======  ==============================================================
    key                    shape    meaning
    =====================  =======  ==============================================================
    ``phase``              (1,)     phase of the next step: 0 deploy, 1 route
    ``stage``              (1,)     index of the current (or about to start) stage over K
    ``time``               (1,)     queries served over T
    ``stage_progress``     (1,)     queries served in the current stage over its length
    ``budget_per_query``   (1,)     remaining budget over remaining queries (cost units; may be < 0)
    ``available``          (N,)     1 if the model is in the candidate pool of the current stage
    ``deployed``           (N,)     1 if the model serves the current stage (previous stage's set
                                    during a deploy phase; empty before the first commit)
    ``picked``             (N,)     1 if picked for the next stage in the current deploy phase
    ``capacity_left``      (N,)     queries the model can still serve this stage over stage length
    ``pulls``              (N,)     queries routed to the model so far (all stages)
    ``mean_reward``        (N,)     empirical mean reward of the model (0 if never routed)
    ``mean_cost``          (N,)     empirical mean cost of the model (0 if never routed)
    ``throughput``         (N,)     the model's throughput cap alpha (public)
    ``price``              (N,)     public price in force (list price after any price change) over
                                    the largest ever in force (0 if unknown)
    ``release``            (N,)     arrival time as a fraction of the horizon (public)
    ``task``               (J,)     one-hot task type of the current query (typed scenarios only)
    ``task_pulls``         (J*N,)   queries of task type j routed to model m, at slot ``j * N + m``
                                    (typed scenarios only, like the two keys below)
    ``task_mean_reward``   (J*N,)   empirical mean reward of model m on task type j (0 if none)
    ``task_mean_cost``     (J*N,)   empirical mean cost of model m on task type j (0 if none)
    =====================  =======  ==============================================================

    ``pulls``, ``mean_reward`` and ``mean_cost`` (and, with typed queries, their per-task versions)
    are the sufficient statistics of the history, so a memoryless policy can act well. Returned
    arrays are fresh copies. With ``scenario.feedback_delay = d > 0`` these statistics lag: query t's
    outcome enters them only after query t + d is routed (the step reward is still paid at once).

    ## Rewards

    On a route step, the routed query's realised quality (in [0, 1]; Bernoulli correctness by
    default); 0 on deploy steps. ``invalid_action_penalty`` is subtracted on invalid actions. The
    query's cost is in ``info["cost"]`` on every step (0 on deploy steps), the Safety-Gymnasium
    convention.

    ## Starting State

    ``t = 0`` in a deploy phase for stage 0, nothing deployed, all statistics zero. ``reset(seed=s)``
    fixes the whole episode: two resets with the same seed give identical episodes under the same
    actions.

    ## Episode End

    ``terminated`` is True once all T queries are served, or, with ``budget_mode="hard"``, once the
    cumulative cost exceeds the budget ``B = b * T`` (the query that crosses is still served and
    charged; every unserved query then adds its stage's oracle value to the regret). The env never
    truncates; with ``budget_mode="average"`` overspend is reported in ``info["budget_left"] < 0``.

    ## Info

    On every step: ``cost`` (float), ``phase`` (``"deploy"`` or ``"route"``, the phase of the action
    just taken; ``"reset"`` after reset), ``stage`` (int), ``model`` (routed model, or -1),
    ``action_mask`` (valid actions of the next step), ``invalid_action`` (bool), ``budget_left``
    (``B`` minus cost so far), ``regret`` (cumulative pseudo-regret against the stage oracle:
    ``sum_t V*_k(t) - mu_{m_t}``). On the last step also ``oracle_value`` (the oracle's expected total
    reward ``sum_k L_k V*_k``), ``total_reward``, ``total_cost``, ``budget`` (B) and
    ``queries_served``. Nothing in info depends on the wall clock.

    ## Arguments

    * ``scenario``: a preset name (see ``gym_llmroute.list_scenarios()``) or a ``Scenario``;
      default ``"paper"`` (12 models, T = 1728, K = 12, M_max = 4, b = 0.05). The realistic worlds
      (docs/worlds.md) are the presets ``"market"`` (``LLMRoute-Market-v0``), ``"typed"``
      (``LLMRoute-Typed-v0``), ``"trace"`` (``LLMRoute-Trace-v0``), ``"market-drift"`` and
      ``"market-delay"``; price changes, quality drift and feedback delay are scenario fields.
    * ``horizon``, ``n_stages``, ``max_deployed``, ``budget``, ``budget_mode``, ``feedback_delay``:
      override the scenario's fields (see :class:`~gym_llmroute.scenario.Scenario`).
    * ``invalid_action_penalty``: float >= 0 subtracted from the reward of an invalid action; default 0.
    * ``render_mode``: ``None`` or ``"ansi"`` (a text summary of the stage).

    ``reset(options={...})`` accepts ``scenario`` and the six scenario fields above to change the
    world for that episode and the following ones; the number of models and task types must not change
    (the spaces are fixed).

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        scenario: str | Scenario = "paper",
        *,
        horizon: int | None = None,
        n_stages: int | None = None,
        max_deployed: int | None = None,
        budget: float | None = None,
        budget_mode: str | None = None,
        feedback_delay: int | None = None,
        invalid_action_penalty: float = 0.0,
        render_mode: str | None = None,
    ):
        overrides = dict(
            horizon=horizon,
            n_stages=n_stages,
            max_deployed=max_deployed,
            budget=budget,
            budget_mode=budget_mode,
            feedback_delay=feedback_delay,
        )
        self.scenario = make_scenario(scenario, **{k: v for k, v in overrides.items() if v is not None})
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        penalty = invalid_action_penalty
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not 0 <= penalty < np.inf:
            raise ValueError(f"invalid_action_penalty must be a finite number >= 0, got {penalty!r}")
        self.invalid_action_penalty = float(penalty)
        self._build(self.scenario)

    # ------------------------------------------------------------------ construction
    def _build(self, scenario: Scenario) -> None:
        """(Re)build the spaces and buffers for a scenario."""
        s = scenario
        N, J = s.n_models, s.n_tasks
        self.scenario = s
        self.n_models = N
        self.world = World(s)
        self.action_space = spaces.Discrete(N + 1)
        c_hi = float(s.cost_range[1])
        layout: list[tuple[str, int, float, float]] = [
            ("phase", 1, 0.0, 1.0),
            ("stage", 1, 0.0, 1.0),
            ("time", 1, 0.0, 1.0),
            ("stage_progress", 1, 0.0, 1.0),
            # Remaining budget over remaining queries lies in [-c_2 * T, b * T].
            ("budget_per_query", 1, -c_hi * s.horizon, s.budget * s.horizon),
            ("available", N, 0.0, 1.0),
            ("deployed", N, 0.0, 1.0),
            ("picked", N, 0.0, 1.0),
            ("capacity_left", N, 0.0, 1.0),
            ("pulls", N, 0.0, float(s.horizon)),
            ("mean_reward", N, 0.0, 1.0),
            ("mean_cost", N, 0.0, c_hi),
            ("throughput", N, 0.0, 1.0),
            ("price", N, 0.0, 1.0),
            ("release", N, 0.0, 1.0),
        ]
        if J > 1:
            layout.append(("task", J, 0.0, 1.0))
            # Per (task, model) statistics, flattened task-major: slot j * N + m.
            layout.append(("task_pulls", J * N, 0.0, float(s.horizon)))
            layout.append(("task_mean_reward", J * N, 0.0, 1.0))
            layout.append(("task_mean_cost", J * N, 0.0, c_hi))
        self._slices: list[tuple[str, slice]] = []
        pos = 0
        obs_spaces = {}
        for key, size, lo, hi in layout:
            self._slices.append((key, slice(pos, pos + size)))
            obs_spaces[key] = spaces.Box(np.float32(lo), np.float32(hi), shape=(size,), dtype=np.float32)
            pos += size
        self.observation_space = spaces.Dict(obs_spaces)
        self._buf = np.zeros(pos, dtype=np.float32)
        self._view = {key: self._buf[sl] for key, sl in self._slices}
        prices = s.list_prices
        known = np.isfinite(prices)
        self._price_times, self._prices = s.public_prices
        self._view["throughput"][:] = s.throughput
        self._view["price"][:] = self._prices[0]
        self._view["release"][:] = [m.arrival for m in s.models]
        # Route fallback: cheapest public list price first, unknown prices last, ties by index.
        self._fallback_order = np.lexsort((np.arange(N), np.where(known, prices, np.inf)))
        self._alpha = s.throughput
        self._mask = np.zeros(N + 1, dtype=bool)
        self._picked = np.zeros(N, dtype=bool)
        self._phase = DEPLOY
        # Hot-path tables: observation entries by flat offset into _buf, stage caps as Python ints,
        # and the deploy masks seen so far by (stage, picked set).
        self._offset = {key: sl.start for key, sl in self._slices}
        self._stage_caps = s.stage_caps.tolist()
        self._typed = J > 1
        self._mask_cache: dict[tuple[int, bytes], np.ndarray] = {}

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options:
            self._apply_options(options)
        w = self.world
        w.reset(int(self.np_random.integers(2**63 - 1)))
        v = self._view
        for key in ("time", "stage_progress", "deployed", "capacity_left", "pulls", "mean_reward", "mean_cost"):
            v[key][:] = 0.0
        if self.scenario.n_tasks > 1:
            for key in ("task_pulls", "task_mean_reward", "task_mean_cost"):
                v[key][:] = 0.0
        v["budget_per_query"][0] = self.scenario.budget
        v["price"][:] = self._prices[0]
        self._price_next = 0
        self._next_price_t = self._price_times[0] if self._price_times else -1
        self._start_deploy()
        self._set_task()
        return self._obs(), self._info(0.0, "reset", -1, False)

    def _apply_options(self, options: dict[str, Any]) -> None:
        if not isinstance(options, dict):
            raise TypeError(f"reset options must be a dict, got {type(options).__name__}")
        allowed = ("scenario",) + SCENARIO_KEYS
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; allowed: {list(allowed)}")
        base = options.get("scenario", self.scenario)
        scenario = make_scenario(base, **{k: options[k] for k in SCENARIO_KEYS if k in options})
        if scenario.n_models != self.n_models or scenario.n_tasks != self.scenario.n_tasks:
            raise ValueError(
                f"reset option 'scenario' must keep n_models={self.n_models} and n_tasks={self.scenario.n_tasks} "
                f"(the spaces are fixed), got {scenario.n_models} and {scenario.n_tasks}"
            )
        self._build(scenario)

    def step(self, action):
        a = action if type(action) is int else self._as_int(action)
        if self._phase == DEPLOY:
            return self._deploy_step(a)
        w = self.world
        mask = self._mask
        invalid = not (0 <= a < self.n_models and mask[a])
        if invalid:
            a = self._route_fallback()
        stage = w.stage
        bounds = w.bounds
        start = bounds[stage]
        length = bounds[stage + 1] - start
        reward, cost = w.route(a)
        # In-place observation update for the model whose outcome was revealed: the routed one, or
        # with feedback delay the one routed feedback_delay queries ago (none early in the episode).
        # Python numbers written at flat offsets: the hot path of the env (see docs/performance.md).
        buf, off = self._buf, self._offset
        r = w.revealed
        if r >= 0:
            n, reward_sum, cost_sum = w.revealed_stats
            buf[off["pulls"] + r] = n
            buf[off["mean_reward"] + r] = reward_sum / n
            buf[off["mean_cost"] + r] = cost_sum / n
            if self._typed:
                n, reward_sum, cost_sum = w.revealed_task_stats
                slot = w.revealed_task * self.n_models + r
                buf[off["task_pulls"] + slot] = n
                buf[off["task_mean_reward"] + slot] = reward_sum / n
                buf[off["task_mean_cost"] + slot] = cost_sum / n
        left = self._stage_caps[stage][a] - w.routed_count
        buf[off["capacity_left"] + a] = left / length
        if left <= 0:
            mask[a] = False
        t = w.t
        remaining = w.horizon - t
        buf[off["time"]] = t / w.horizon
        buf[off["budget_per_query"]] = (w.total_budget - w.spent) / remaining if remaining else 0.0
        terminated = t >= w.horizon or w.budget_exhausted  # w.done
        if not terminated:
            if t == self._next_price_t:  # a price change: the next query is charged the new prices
                self._change_price()
            if t == bounds[w.stage]:  # a new stage starts: w.at_boundary
                self._start_deploy()
            else:
                buf[off["stage_progress"]] = (t - start) / length
            if self._typed:
                self._set_task()
        if invalid:
            reward -= self.invalid_action_penalty
        info = self._info(cost, "route", a, invalid, stage)
        if terminated:
            self._final_info(info)
        return self._obs(), reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Valid actions of the next step, bool array of shape (N + 1,) (sb3-contrib convention)."""
        return self._mask.copy()

    def render(self):
        if self.render_mode != "ansi":
            return None
        return self._render_text()

    # ------------------------------------------------------------------ deploy phase
    def _start_deploy(self) -> None:
        w = self.world
        v = self._view
        self._phase = DEPLOY
        self._picked[:] = False
        v["phase"][0] = DEPLOY
        v["picked"][:] = 0.0
        v["available"][:] = self.scenario.availability[w.stage]
        v["stage"][0] = w.stage / w.n_stages
        v["stage_progress"][0] = 0.0
        v["capacity_left"][:] = 0.0
        self._deploy_mask()

    def _deploy_mask(self) -> None:
        # The mask depends on the stage's pool and the picked set only: cached (bounded, so memory
        # stays flat), since computing it costs as much as several route steps.
        key = (self.world.stage, self._picked.tobytes())
        cached = self._mask_cache.get(key)
        if cached is None:
            deploy_mask(
                self.scenario.availability[self.world.stage],
                self._picked,
                self._alpha,
                self.scenario.max_deployed,
                self._mask,
            )
            if len(self._mask_cache) >= 4096:
                self._mask_cache.clear()
            self._mask_cache[key] = self._mask.copy()
        else:
            self._mask[:] = cached

    def _deploy_step(self, a: int):
        N = self.n_models
        mask = self._mask
        invalid = not (0 <= a <= N and mask[a])
        if invalid:
            if mask[N]:
                a = N
            else:
                adds = np.flatnonzero(mask[:N])
                a = int(adds[np.argmax(self._alpha[adds])])  # argmax: first of the largest caps
        committed = a == N
        if not committed:
            self._picked[a] = True
            self._view["picked"][a] = 1.0
            self._deploy_mask()
            # Commit by itself once M_max are picked or nothing is left to add.
            committed = not mask[:N].any()
        stage = self.world.stage
        if committed:
            self._commit()
        reward = -self.invalid_action_penalty if invalid else 0.0
        return self._obs(), reward, False, False, self._info(0.0, "deploy", -1, invalid, stage)

    def _commit(self) -> None:
        w = self.world
        v = self._view
        w.deploy(self._picked)
        self._phase = ROUTE
        v["phase"][0] = ROUTE
        v["deployed"][:] = self._picked
        v["picked"][:] = 0.0
        v["capacity_left"][:] = np.where(self._picked, w.stage_caps[w.stage] / w.stage_length, 0.0)
        self._mask[:] = False
        self._mask[: self.n_models] = self._picked
        self._picked[:] = False

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_view"]  # views into _buf: pickling would turn them into copies
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._view = {key: self._buf[sl] for key, sl in self._slices}

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _as_int(action) -> int:
        try:
            return operator.index(action)
        except TypeError:
            pass
        arr = np.asarray(action)
        if arr.size == 1 and np.issubdtype(arr.dtype, np.integer):
            return int(arr.reshape(()))
        raise TypeError(f"action must be an integer (Discrete(N + 1)), got {action!r} of type {type(action).__name__}")

    def _change_price(self) -> None:
        i = self._price_next = self._price_next + 1
        self._view["price"][:] = self._prices[i]
        self._next_price_t = self._price_times[i] if i < len(self._price_times) else -1

    def _route_fallback(self) -> int:
        order = self._fallback_order
        return int(order[np.argmax(self._mask[order])])

    def _set_task(self) -> None:
        if self.scenario.n_tasks > 1:
            task = self._view["task"]
            task[:] = 0.0
            task[self.world.task] = 1.0

    def _obs(self) -> dict[str, np.ndarray]:
        buf = self._buf.copy()
        return {key: buf[sl] for key, sl in self._slices}

    def _info(self, cost: float, phase: str, model: int, invalid: bool, stage: int | None = None) -> dict[str, Any]:
        w = self.world
        return {
            "cost": cost,
            "phase": phase,
            "stage": w.stage if stage is None else stage,
            "model": model,
            "action_mask": self._mask.copy(),
            "invalid_action": invalid,
            "budget_left": w.total_budget - w.spent,
            "regret": w.regret,
        }

    def _final_info(self, info: dict[str, Any]) -> None:
        w = self.world
        info["oracle_value"] = w.oracle_value
        info["total_reward"] = w.total_reward
        info["total_cost"] = w.spent
        info["budget"] = w.total_budget
        info["queries_served"] = w.t

    def _render_text(self) -> str:
        w = self.world
        s = self.scenario
        names = s.model_names
        phase = _PHASE_NAMES[self._phase]
        lines = [
            f"[{s.name}] stage {w.stage + 1}/{s.n_stages}  query {w.t}/{s.horizon}  phase={phase}",
            f"  spent {w.spent:.3f} of budget {w.total_budget:.3f} ({s.budget_mode})  "
            f"reward {w.total_reward:.1f}  regret {w.regret:.2f}  V*={w.vstar[w.stage]:.4f}/query",
        ]
        caps = w.stage_caps[w.stage]
        for m in np.flatnonzero(w.deployed if self._phase == ROUTE else self._picked):
            mean = w.reward_sum[m] / w.pulls[m] if w.pulls[m] else float("nan")
            lines.append(
                f"  {'*' if self._phase == ROUTE else '+'} {names[m]:<24} served {w.counts[m]:>6}/{caps[m]:<6} "
                f"pulls {w.pulls[m]:>7}  mean reward {mean:.3f}"
            )
        return "\n".join(lines)
