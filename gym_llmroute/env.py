"""``LLMRoute-v0``: deploy and route large language models under a budget, with bandit feedback."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator

from .presets import make_scenario
from .render import RecordingSim1, draw_frame
from .scenario import OVERRIDE_NAMES, Scenario, declares_overrides, take_overrides
from .sim import DEPLOY, PHASES, RESET, ROUTE, Sim1, SimParams, check_pad_to, deploy_mask, mask_from_obs

__all__ = [
    "LLMRouteEnv",
    "WorldKind",
    "SCENARIO_WORLD",
    "world_kind",
    "DEPLOY",
    "ROUTE",
    "RESET",
    "deploy_mask",
    "mask_from_obs",
]

# Scenario fields that ``gym.make`` keyword arguments and ``reset(options=...)`` may set: the
# scenario overrides, declared once (gym_llmroute.scenario.OVERRIDES).
SCENARIO_KEYS = OVERRIDE_NAMES


@dataclass(frozen=True)
class WorldKind:
    """How an env chooses its world: declared once, as the ``world_kind`` attribute of its class
    (and of the entry points that build it), and read through :func:`world_kind` by the agents,
    the experiments and the ``llmroute`` command.

    Attributes
    ----------
    name : str
        ``"scenario"`` (one world, :data:`SCENARIO_WORLD`) or ``"generated"`` (a generated world at
        every reset, :data:`gym_llmroute.gen_env.GENERATED`).
    takes_scenario : bool
        The env takes a ``scenario`` argument (and reset option); else its worlds are chosen by
        ``world_args`` and a job names them with a label.
    world_args : tuple of str
        The keyword arguments that choose its worlds, besides the scenario overrides (which every
        kind takes).
    changes_world : bool
        The env plays a new world at its own resets (an agent made for it follows the world in force).
    """

    name: str
    takes_scenario: bool
    world_args: tuple[str, ...] = ()
    changes_world: bool = False


#: The kind of ``LLMRoute-v0``, of its world ids and of the single-level views: one scenario.
SCENARIO_WORLD = WorldKind("scenario", takes_scenario=True)


def world_kind(env: Any) -> WorldKind | None:
    """The kind of world of an env.

    Parameters
    ----------
    env : str, env class, entry point, env, or vector env
        A registered id (its entry point's ``world_kind``), an env (wrapped or not), a Gymnasium or
        SB3 vector env (its sub-envs'), or anything with a ``world_kind`` attribute.

    Returns
    -------
    WorldKind or None
        None for an env that declares none (not an LLMRoute env).
    """
    if isinstance(env, str):
        entry = gym.spec(env).entry_point
        env = load_env_creator(entry) if isinstance(entry, str) else entry
    kind = getattr(env, "world_kind", None)
    if kind is None:
        get_attr = getattr(env, "get_attr", None)
        if callable(get_attr):  # a vector env: its sub-envs'
            try:
                kinds = get_attr("world_kind")
            except AttributeError:
                return None
            kind = kinds[0] if len(kinds) else None
        else:
            kind = getattr(getattr(env, "unwrapped", None), "world_kind", None)
    return kind if isinstance(kind, WorldKind) else None


def scenario_for_options(
    scenario: Scenario, options: dict[str, Any], pad_to: int | None = None, extra: tuple[str, ...] = ()
) -> Scenario:
    """The scenario that ``reset(options=...)`` asks for, validated: ``scenario`` (or
    ``options["scenario"]``) with the options' scenario fields. The spaces are fixed: the number of
    task types must stay that of ``scenario``, and so must the number of models, unless the env is
    padded (``pad_to``), where any catalog of at most ``pad_to`` models fits. ``extra``: option keys
    the caller reads itself."""
    if not isinstance(options, dict):
        raise TypeError(f"reset options must be a dict, got {type(options).__name__}")
    allowed = ("scenario",) + SCENARIO_KEYS + extra
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; allowed: {list(allowed)}")
    base = options.get("scenario", scenario)
    new = make_scenario(base, **{k: options[k] for k in SCENARIO_KEYS if k in options})
    fits = new.n_models == scenario.n_models if pad_to is None else new.n_models <= pad_to
    if not fits or new.n_tasks != scenario.n_tasks:
        models = f"n_models={scenario.n_models}" if pad_to is None else f"at most pad_to={pad_to} models"
        raise ValueError(
            f"reset option 'scenario' must keep {models} and n_tasks={scenario.n_tasks} "
            f"(the spaces are fixed), got {new.n_models} and {new.n_tasks}"
        )
    return new


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

    ``Discrete(N + 1)`` for both levels, N = ``scenario.n_models`` (or ``pad_to``, see Arguments):

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

    A ``step()`` after the episode ended raises ``RuntimeError`` until ``reset()``.

    ``terminated`` is True once all T queries are served, or, with ``budget_mode="hard"``, once the
    cumulative cost exceeds the budget ``B = b * T`` (the query that crosses is still served and
    charged; every unserved query then adds its stage's oracle value to the regret). The env never
    truncates; with ``budget_mode="average"`` overspend is reported in ``info["budget_left"] < 0``.

    ## Info

    On every step: ``cost`` (float), ``action_phase`` (int: the phase of the action just taken,
    ``DEPLOY`` = 0 or ``ROUTE`` = 1; ``RESET`` = 2 after reset), ``action_stage`` (int: the stage of
    the action just taken), ``model`` (routed model, or -1),
    ``action_mask`` (valid actions of the next step), ``invalid_action`` (bool), ``budget_left``
    (``B`` minus cost so far), ``regret`` (cumulative pseudo-regret against the stage oracle:
    ``sum_t V*_k(t) - mu_{m_t}``). On the last step also ``oracle_value`` (the oracle's expected total
    reward ``sum_k L_k V*_k``), ``total_reward``, ``total_cost``, ``budget`` (B) and
    ``queries_served``. Nothing in info depends on the wall clock.

    ## Arguments

    * ``scenario``: a preset name (see ``gym_llmroute.list_scenarios()``), a ``Scenario``, or a
      mapping of its fields (``Scenario.from_dict``; what ``env.spec.to_json()`` writes);
      default ``"paper"`` (12 models, T = 1728, K = 12, M_max = 4, b = 0.05). The realistic worlds
      (docs/worlds.md) are the presets ``"market"`` (``LLMRoute-Market-v0``), ``"typed"``
      (``LLMRoute-Typed-v0``), ``"trace"`` (``LLMRoute-Trace-v0``), ``"market-drift"`` and
      ``"market-delay"``; price changes, quality drift and feedback delay are scenario fields.
    * The scenario overrides, each None (the scenario's own) by default: ``horizon``, ``n_stages``,
      ``max_deployed``, ``budget``, ``budget_mode``, ``feedback_delay`` override the scenario's
      fields (see :class:`~gym_llmroute.scenario.Scenario`; the list is
      :data:`gym_llmroute.scenario.OVERRIDES`, which every constructor and ``llmroute`` read).
    * ``pad_to``: ``None`` or an integer n >= ``scenario.n_models``: the spaces have n model slots
      (``Discrete(n + 1)``, per-model keys of size n, commit = action n); the catalog fills the first
      slots and every padded slot is never available, always masked, and all zeros in the
      observation. A policy trained with ``pad_to=n`` runs on every world of at most n models.
    * ``invalid_action_penalty``: float >= 0 subtracted from the reward of an invalid action; default 0.
    * ``render_mode``: ``None``, ``"ansi"`` (``render()`` returns a text summary of the stage) or
      ``"rgb_array"`` (``render()`` returns a picture of the episode so far; see Rendering), the
      default of Stable-Baselines3's ``make_vec_env`` and what Gymnasium's ``RecordVideo`` needs.
      Any other value raises ``ValueError``, except through ``gym.make``, which serves
      ``"rgb_array_list"`` with Gymnasium's ``RenderCollection`` and ``"human"`` with its
      ``HumanRendering`` (a pygame window), both around ``"rgb_array"``.

    ``reset(options={...})`` accepts ``scenario`` and the scenario overrides above to change the
    world for that episode and the following ones; the number of task types must not change (the spaces
    are fixed), nor the number of models unless the env is padded (then any catalog of at most
    ``pad_to`` models).

    ## Rendering

    With ``render_mode="rgb_array"``, ``render()`` returns a ``uint8`` array of shape (480, 640, 3),
    drawn with NumPy alone (no text): three panels over one time axis, queries 0 to T from left to
    right, crossed by a vertical *now* line at the queries served so far (dark grey in a route phase,
    orange in a deploy phase):

    1. *Deployments* (top): a row per catalog model (model 0 at the top), a column per stage (as wide
       as the stage is long). Cells: slate grey, the model is unavailable (not arrived, or retired);
       light grey-blue, available and not deployed; blue, deployed in that stage; orange, picked in
       the deploy phase under way, not committed yet. Cells right of the now line are faded (picked
       ones excepted); thin white lines separate stages and models.
    2. *Spend* (middle): the cumulative cost, green while at most the budget's pace ``B * t / T`` and
       red above it, the pace as a dashed grey diagonal to ``(T, B)``, the budget ``B`` as a thin red
       horizontal line; vertical scale from 0 to the larger of ``B`` and the spend so far.
    3. *Regret* (bottom): ``info["regret"]`` so far, a purple line over a grey zero line, scaled to fit.

    The history behind it (the committed sets, and the spend and regret at the ends of stages, at
    other events of the episode and at every ``render()`` call, joined by straight lines) is recorded
    only with this render mode, and never on an ordinary route step (gym_llmroute/render.py).

    ## Version History

    * v0: initial version. In release 0.2 the info keys ``phase`` (a string) and ``stage`` became
      ``action_phase`` and ``action_stage`` (ints), so that no info key has the name of an
      observation key (TorchRL merges infos into the observation); wrap an env in
      :class:`~gym_llmroute.wrappers.LegacyInfoKeys` to get the old keys too, until release 0.3.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    world_kind = SCENARIO_WORLD  # one scenario (gym_llmroute.gen_env.LLMRouteGenEnv: generated worlds)

    @declares_overrides
    def __init__(
        self,
        scenario: str | Scenario | Mapping[str, Any] = "paper",
        *,
        pad_to: int | None = None,
        invalid_action_penalty: float = 0.0,
        render_mode: str | None = None,
        **overrides: Any,
    ):
        self.scenario = make_scenario(scenario, **take_overrides(type(self).__name__, overrides))
        self.pad_to = None if pad_to is None else check_pad_to(pad_to, self.scenario.n_models)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        penalty = invalid_action_penalty
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not 0 <= penalty < np.inf:
            raise ValueError(f"invalid_action_penalty must be a finite number >= 0, got {penalty!r}")
        self.invalid_action_penalty = float(penalty)
        self._build(self.scenario)
        self._ended: bool | None = None  # None until the first reset, then whether the episode ended

    # ------------------------------------------------------------------ construction
    def _build(self, scenario: Scenario) -> None:
        """(Re)build the spaces and the simulation state for a scenario."""
        self.scenario = scenario
        self.params = SimParams.of(scenario, self.pad_to)
        self.n_models = self.params.n_models  # model slots: the catalog's models, or pad_to
        self.action_space, self.observation_space = self.params.make_spaces()
        # The simulation core (gym_llmroute/sim.py): this env is its batch of one.
        self.sim = self._make_sim(self.params)

    def _make_sim(self, params: SimParams) -> Sim1:
        """The episode state for ``params``: with ``render_mode="rgb_array"`` one that also keeps the
        history the picture needs (at events only, gym_llmroute/render.py), else the plain core."""
        if self.render_mode == "rgb_array":
            return RecordingSim1(params, self.invalid_action_penalty)
        return Sim1(params, self.invalid_action_penalty)

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._choose_world(options)
        sim = self.sim
        sim.reset_row(0, self.np_random)
        self._ended = False
        return sim.observation(), sim.info(0.0, RESET, 0, -1, False)

    def _choose_world(self, options: dict[str, Any] | None) -> None:
        """The world of the episode that starts (after seeding, before its outcomes are drawn):
        the scenario of the reset options, if any."""
        if options:
            self._build(scenario_for_options(self.scenario, options, self.pad_to))

    def step(self, action):
        a = action if type(action) is int else self._as_int(action)
        if self._ended is not False:
            if self._ended is None:
                raise RuntimeError("call reset() before step()")
            t, horizon = self.sim.state(0)["t"], self.scenario.horizon
            raise RuntimeError(f"the episode has ended ({t} of {horizon} queries served): call reset() before step()")
        sim = self.sim
        if sim.deploying:
            reward, info = sim.deploy_step(a)
            return sim.observation(), reward, False, False, info
        reward, terminated, info = sim.route(a)
        self._ended = terminated
        return sim.observation(), reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Valid actions of the next step, bool array of shape (N + 1,) (sb3-contrib convention)."""
        return self.sim.mask_row.copy()

    def render(self):
        """The episode so far: with ``render_mode="ansi"`` a text summary of the stage (str), with
        ``"rgb_array"`` a picture (``uint8`` array of shape (480, 640, 3); see "Rendering" in the
        class docstring); ``None`` without a render mode."""
        if self.render_mode == "rgb_array":
            return draw_frame(cast(RecordingSim1, self.sim))
        if self.render_mode == "ansi":
            return self._render_text()
        return None

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

    def _render_text(self) -> str:
        st = self.sim.state(0)
        s = self.scenario
        P = self.params
        names = s.model_names
        stage = st["stage"]
        routing = st["routing"]
        phase = PHASES[ROUTE if routing else DEPLOY]
        lines = [
            f"[{s.name}] stage {stage + 1}/{s.n_stages}  query {st['t']}/{s.horizon}  phase={phase}",
            f"  spent {st['spent']:.3f} of budget {P.total_budget:.3f} ({s.budget_mode})  "
            f"reward {st['total_reward']:.1f}  regret {st['regret']:.2f}  V*={P.vstar[stage]:.4f}/query",
        ]
        caps = s.stage_caps[stage]
        pulls, served = st["pulls"], st["served"]
        for m in np.flatnonzero(st["deployed"] if routing else st["picked"]):
            mean = st["reward_sum"][m] / pulls[m] if pulls[m] else float("nan")
            lines.append(
                f"  {'*' if routing else '+'} {names[m]:<24} served {served[m]:>6}/{caps[m]:<6} "
                f"pulls {pulls[m]:>7}  mean reward {mean:.3f}"
            )
        return "\n".join(lines)
