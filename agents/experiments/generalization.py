"""Generalization: learned agents trained on some generated worlds, scored on worlds they never saw.

MaskablePPO with each policy (SB3's MLP, and the permutation-equivariant set policy of
:mod:`agents.rl.set_policy`) is trained on ``LLMRoute-Gen-v0`` worlds ``train_worlds`` (default
0-199) with several training seeds, then every agent (the learned ones, StageRoute, the BwK agents,
Greedy, Random and the oracle agent) plays the same episodes of five groups:

* ``train``: training worlds, on episode seeds never used in training;
* ``held-out``: generated worlds from ``10**6`` on (never played in training);
* ``paper``, ``market``: zero-shot on ``LLMRoute-v0`` and ``LLMRoute-Market-v0`` padded to 40 slots;
* ``paper-reordered``: the paper world with its 12 models listed in another (fixed) order.

A learned agent's score on an episode is averaged over its training seeds; the table gives each
group's mean reward / oracle value over episodes with a 95% Student-t interval, and the gap (train
minus held-out, paired by world index). Learned agents play their episodes in lockstep, one batched
forward pass per step for all episodes of a group (the observation of each episode scaled with its
own world). Everything is resumable: models and scores are kept in ``out_dir``.

Entry points: :func:`run` (used by ``benchmarks/generalization.py`` and the demo).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gym_llmroute import make_scenario
from gym_llmroute.wrappers import scale_observation_rows, scaling_constants

from ..evaluation import mean_ci, run_episode
from ..files import atomic_write_json, atomic_write_text
from ..policies.stageroute.shield import BudgetShield
from ..registry import make

__all__ = [
    "Setup",
    "Case",
    "cases_of",
    "run",
    "GROUPS",
    "write_report",
    "play_learned",
    "play_reference",
    "final_infos",
    "reference_episodes",
]

GROUPS = ("train", "held-out", "paper", "market", "paper-reordered")
HELD_OUT_START = 10**6
PAD = 40
# The fixed order of the reordered paper world: a permutation drawn once from this seed.
REORDER_SEED = 0


@dataclass(frozen=True)
class Setup:
    """What to train and what to score (the defaults are the benchmark's).

    Attributes
    ----------
    train_worlds : (int, int)
        ``(start_world, num_worlds)`` of the training worlds.
    policies : tuple of str
        The policies trained (``"mlp"``, ``"set"``), each with MaskablePPO.
    seeds : tuple of int
        Training seeds (one model per policy and seed).
    steps : int
        Training steps per model.
    hyperparams : dict
        Overrides of the table's hyperparameters (every model).
    train_episodes, held_out_episodes, zero_shot_episodes : int
        Episodes of the ``train`` and ``held-out`` groups (one world each) and of each zero-shot group.
    baselines : tuple of str
        Reference agents scored beside the learned ones.
    horizon : int or None
        Override of every world's horizon (None: each world's own).
    held_out_start : int
        The first held-out world (``10**6``; a hyperparameter search validates on other worlds).
    train_budget_mode : str or None
        The training envs' budget mode (None: each world's, hard); scoring always uses the worlds'.
    modes : tuple of str
        How learned agents act when scored: ``"sampled"`` (their policy sampled, the default of
        :class:`~agents.rl.SB3Agent` for MaskablePPO) and/or ``"greedy"`` (the most probable action).
    warm_start : str or None
        A reference agent cloned before reinforcement learning (``train(..., warm_start=...)``), with
        ``warm_start_episodes`` episodes per round, ``warm_start_epochs`` epochs per fit and
        ``dagger_rounds`` rounds of DAgger; None: PPO from scratch.
    pretrained : tuple of str
        Shipped checkpoints (:data:`agents.rl.PRETRAINED`) scored beside the others, with their
        default (greedy) actions, alone and under StageRoute's budget shield.
    """

    train_worlds: tuple[int, int] = (0, 200)
    policies: tuple[str, ...] = ("mlp", "set")
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 300_000
    hyperparams: dict[str, Any] = field(default_factory=dict)
    train_episodes: int = 100
    held_out_episodes: int = 100
    zero_shot_episodes: int = 20
    baselines: tuple[str, ...] = ("stageroute", "ucb_bwk", "primal_dual", "thompson", "greedy", "oracle", "random")
    horizon: int | None = None
    held_out_start: int = HELD_OUT_START
    train_budget_mode: str | None = None
    modes: tuple[str, ...] = ("sampled", "greedy")
    warm_start: str | None = None
    warm_start_episodes: int = 200
    warm_start_epochs: int = 3
    dagger_rounds: int = 0
    pretrained: tuple[str, ...] = ()

    def learner(self, policy: str) -> str:
        """The name of the learned agent with ``policy`` (its models' folder and its rows)."""
        return f"maskableppo-{policy}" + ("" if self.warm_start is None else f"+{self.warm_start}-clone")


@dataclass(frozen=True)
class Case:
    """One scored episode: a group, the env and its arguments, the world (generated envs) and the seed."""

    group: str
    env_id: str
    env_kwargs: dict[str, Any]
    world: int | None
    seed: int

    def make_env(self) -> gym.Env:
        return gym.make(self.env_id, **self.env_kwargs)

    @property
    def options(self) -> dict[str, int] | None:
        """The reset options that pick the case's world (generated envs)."""
        return None if self.world is None else {"world": self.world}

    def reset(self, env: gym.Env):
        return env.reset(seed=self.seed, options=self.options)


def _reordered_paper():
    paper = make_scenario("paper")
    perm = np.random.default_rng(REORDER_SEED).permutation(paper.n_models)
    return paper.replace(models=tuple(paper.models[i] for i in perm), name="paper-reordered")


def cases_of(setup: Setup) -> list[Case]:
    """The scored episodes of a setup, group by group (:data:`GROUPS`).

    Parameters
    ----------
    setup : Setup
        The experiment.

    Returns
    -------
    list of Case
        ``train``: worlds ``start, start + 1, ...`` of the training split with seeds from 10,000 on
        (training uses the seeds of its envs, 0 to a few, so these episodes are new); ``held-out``:
        worlds from ``10**6`` with seeds 0, 1, ...; the zero-shot groups: seeds 0, 1, ...
    """
    start, count = setup.train_worlds
    horizon = {} if setup.horizon is None else {"horizon": setup.horizon}
    gen = dict(pad_to=PAD, **horizon)
    out = [Case("train", "LLMRoute-Gen-v0", gen, start + i % count, 10_000 + i) for i in range(setup.train_episodes)]
    out += [
        Case("held-out", "LLMRoute-Gen-v0", gen, setup.held_out_start + i, i) for i in range(setup.held_out_episodes)
    ]
    zero = setup.zero_shot_episodes
    out += [Case("paper", "LLMRoute-v0", dict(pad_to=PAD, **horizon), None, s) for s in range(zero)]
    out += [Case("market", "LLMRoute-Market-v0", dict(pad_to=PAD, **horizon), None, s) for s in range(zero)]
    reordered = dict(scenario=_reordered_paper(), pad_to=PAD, **horizon)
    out += [Case("paper-reordered", "LLMRoute-v0", reordered, None, s) for s in range(zero)]
    return out


# ---------------------------------------------------------------------------------------- training
def _train(setup: Setup, policy: str, seed: int, out_dir: Path, log: Callable[[str], None]) -> Path:
    from ..rl import train

    run_dir = out_dir / "models" / f"{setup.learner(policy)}-seed{seed}"
    start, count = setup.train_worlds
    kwargs: dict[str, Any] = dict(num_worlds=count, start_world=start, pad_to=PAD)
    if setup.train_budget_mode is not None:
        kwargs["budget_mode"] = setup.train_budget_mode
    if setup.horizon is not None:
        kwargs["horizon"] = setup.horizon
    meta = run_dir / "train.json"
    if meta.exists():
        done = json.loads(meta.read_text())
        same = done.get("total_timesteps") == setup.steps and done.get("env_kwargs") == kwargs
        warm = done.get("warm_start") or {}
        same = same and warm.get("teacher") == setup.warm_start
        same = same and (setup.warm_start is None or warm.get("dagger_rounds") == setup.dagger_rounds)
        if same and all(done["hyperparams"].get(k) == v for k, v in setup.hyperparams.items()):
            return run_dir
        log(f"{run_dir} was trained with other settings: training it again")
    log(
        f"training MaskablePPO ({policy} policy, seed {seed}) for {setup.steps:,} steps on worlds {start}-{start + count - 1}"
    )
    result = train(
        "maskableppo",
        "LLMRoute-Gen-v0",
        total_timesteps=setup.steps,
        seed=seed,
        out_dir=run_dir,
        env_kwargs=kwargs,
        hyperparams=dict(setup.hyperparams),
        policy=policy,
        tensorboard=False,
        warm_start=setup.warm_start,
        warm_start_episodes=setup.warm_start_episodes,
        warm_start_epochs=setup.warm_start_epochs,
        dagger_rounds=setup.dagger_rounds,
    )
    log(f"  done in {result.wall_time_s:.0f} s")
    return run_dir


# ---------------------------------------------------------------------------------------- scoring
def play_learned(
    model_dir: Path | Sequence[Path],
    cases: list[Case],
    seed: int = 0,
    deterministic: bool = False,
    spend: bool = False,
    shield: bool = False,
) -> list[float]:
    """Reward / oracle value (or, with ``spend``, cost / budget) of a trained model on each case, its
    episodes played in lockstep.

    Parameters
    ----------
    model_dir : path or sequence of paths
        A run directory of :func:`agents.rl.train` (MaskablePPO), or several: their ensemble
        (:func:`final_infos`).
    cases : list of Case
        The episodes (any mix of worlds; all with the same observation keys).
    seed : int
        Seed of the policy's sampling.
    deterministic : bool
        Greedy actions instead of sampled ones (the agent's default for MaskablePPO is to sample).
    spend : bool
        Measure the spend (total cost over the budget B) instead of the reward.
    shield : bool
        Play under StageRoute's budget shield (:func:`final_infos`).

    Returns
    -------
    list of float
        One score per case, in order.
    """
    infos = final_infos(model_dir, cases, seed, deterministic, shield)
    if spend:
        return [info["total_cost"] / info["budget"] for info in infos]
    return [info["total_reward"] / info["oracle_value"] for info in infos]


def final_infos(
    model_dir: Path | Sequence[Path],
    cases: list[Case],
    seed: int = 0,
    deterministic: bool = False,
    shield: bool = False,
) -> list[dict[str, Any]]:
    """The last step's info of a trained model's episode on each case (played in lockstep), with the
    world's ``horizon`` added: :func:`play_learned`'s episodes, for other measures of them (the
    queries served before the budget ran out, say).

    Parameters
    ----------
    model_dir : path or sequence of paths
        A run directory of :func:`agents.rl.train` (MaskablePPO), or several: their ensemble, which
        acts on the mean of the models' action probabilities (its most probable action, or a sample
        from it), all models seeing the same observations.
    cases, seed, deterministic
        As in :func:`play_learned`.
    shield : bool
        Mask each step's actions with StageRoute's budget shield
        (:class:`~agents.policies.stageroute.shield.BudgetShield`, one per case): the learned policy
        chooses among the actions budget-safe exploration allows.

    Returns
    -------
    list of dict
        One info per case, in order.
    """
    from sb3_contrib import MaskablePPO

    from ..rl.sb3_agent import load_agent

    envs = [case.make_env() for case in cases]
    bases: list[Any] = [env.unwrapped for env in envs]  # LLMRouteEnv or LLMRouteGenEnv
    dirs = [model_dir] if isinstance(model_dir, (str, Path)) else list(model_dir)
    if not dirs:
        raise ValueError("no model to play")
    # load_agent checks (and for the set policy adapts) the spaces against the first env.
    loaded = [load_agent(d, envs[0]) for d in dirs]
    versions = {agent.scaling_version for agent in loaded}
    if len(versions) > 1:
        raise ValueError(f"an ensemble needs one observation scaling, its models have {sorted(versions)}")
    models: list[MaskablePPO] = [agent.model for agent in loaded]
    version = loaded[0].scaling_version
    models[0].set_random_seed(seed)
    rng = np.random.default_rng(seed)
    raw = [case.reset(env)[0] for env, case in zip(envs, cases, strict=True)]
    shields = [BudgetShield(env) for env in envs] if shield else None
    # Each case plays one world: its scaling constants are fixed for the episode.
    constants = np.stack([scaling_constants(base.scenario, version) for base in bases])
    infos: list[dict[str, Any]] = [{} for _ in cases]
    active = list(range(len(cases)))
    keys = list(raw[0])
    while active:
        batch = scale_observation_rows(
            {k: np.stack([raw[i][k] for i in active]) for k in keys}, constants[active], version
        )
        masks = np.stack([bases[i].action_masks() for i in active])
        if shields is not None:
            masks = np.stack([shields[i].mask(raw[i], mask) for i, mask in zip(active, masks, strict=True)])
        if len(models) == 1:
            actions, _ = models[0].predict(batch, action_masks=masks, deterministic=deterministic)
        else:
            actions = _ensemble_actions(models, batch, masks, deterministic, rng)
        still = []
        for a, i in zip(np.asarray(actions).reshape(-1).tolist(), active, strict=True):
            obs, _, terminated, truncated, info = envs[i].step(int(a))
            if terminated or truncated:
                infos[i] = {**info, "horizon": bases[i].scenario.horizon}
            else:
                raw[i] = obs
                still.append(i)
        active = still
    return infos


def _ensemble_actions(
    models: list[Any], batch: dict[str, np.ndarray], masks: np.ndarray, deterministic: bool, rng: np.random.Generator
) -> np.ndarray:
    """The actions of an ensemble of MaskablePPO models: the most probable under the mean of their
    masked action probabilities, or a draw from that mean."""
    import torch as th

    probs = np.zeros(masks.shape, dtype=np.float64)
    with th.no_grad():
        for model in models:
            obs, _ = model.policy.obs_to_tensor(batch)
            dist = model.policy.get_distribution(obs, action_masks=masks)
            probs += dist.distribution.probs.cpu().numpy()
    probs /= len(models)
    if deterministic:
        return probs.argmax(axis=1)
    cumulative = probs.cumsum(axis=1)
    draws = rng.random(len(probs)) * cumulative[:, -1]
    return np.minimum((cumulative < draws[:, None]).sum(axis=1), masks.shape[-1] - 1)


def play_reference(name: str, cases: list[Case]) -> list[float]:
    """Reward / oracle value of a reference agent on each case (:func:`agents.run_episode`).

    Parameters
    ----------
    name : str
        A registered agent.
    cases : list of Case
        The episodes.

    Returns
    -------
    list of float
        One score per case, in order.
    """
    return [out["reward_fraction"] for out in reference_episodes(name, cases)]


def reference_episodes(name: str, cases: list[Case]) -> list[dict[str, Any]]:
    """:func:`agents.run_episode`'s summary of a reference agent's episode on each case (the
    episodes of :func:`play_reference`).

    Parameters
    ----------
    name : str
        A registered agent.
    cases : list of Case
        The episodes.

    Returns
    -------
    list of dict
        One summary per case, in order.
    """
    outs, env, env_key = [], None, None
    agent = None
    for case in cases:
        key = (case.env_id, repr(case.env_kwargs))
        if key != env_key:
            env, env_key = case.make_env(), key
            agent = make(name, env, seed=0)
        assert env is not None
        outs.append(run_episode(agent, _WorldReset(env, case.options), seed=case.seed))
    return outs


class _WorldReset(gym.Wrapper):
    """Resets with given options, a case's world (run_episode resets with a seed only)."""

    def __init__(self, env: gym.Env, options: dict[str, int] | None):
        super().__init__(env)
        self.options = options

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=self.options)

    def action_masks(self):
        base: Any = self.env.unwrapped
        return base.action_masks()


# ---------------------------------------------------------------------------------------- the run
def _label(learner: str, seed: int, mode: str) -> str:
    """The key of a learned model's scores (sampled actions: the first benchmark's key, kept)."""
    return f"{learner}/seed{seed}" + ("" if mode == "sampled" else f"/{mode}")


def _pretrained_runs(setup: Setup) -> list[tuple[str, bool]]:
    """The shipped checkpoints' rows: each alone and under the budget shield."""
    return [(name, shield) for name in setup.pretrained for shield in (False, True)]


def _pretrained_label(name: str, shield: bool = False) -> str:
    return f"shipped checkpoint {name} (greedy{', budget shield' if shield else ''})"


def run(setup: Setup, out_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train (or reuse) the models, score every agent, and write the report.

    Parameters
    ----------
    setup : Setup
        The experiment.
    out_dir : path
        Models in ``models/``, scores in ``scores.json`` (resumable), the report in
        ``generalization.md``, ``generalization.json`` and ``generalization.png``.
    progress : bool
        Print what is being done.

    Returns
    -------
    dict
        The summary (``rows``: one per agent, each group's mean and interval, and the gap).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    cases = cases_of(setup)
    store = out / "scores.json"
    # Scores are kept with the cases they are of; other cases (another setup) are scored afresh.
    trained = dict(train_worlds=setup.train_worlds, steps=setup.steps, hyperparams=setup.hyperparams)
    if setup.train_budget_mode is not None:
        trained["train_budget_mode"] = setup.train_budget_mode
    if setup.warm_start is not None:
        trained["warm_start"] = [
            setup.warm_start,
            setup.warm_start_episodes,
            setup.warm_start_epochs,
            setup.dagger_rounds,
        ]
    signature = json.dumps(
        [trained] + [asdict(c) | {"env_kwargs": repr(c.env_kwargs)} for c in cases], default=str, sort_keys=True
    )
    saved = json.loads(store.read_text()) if store.exists() else {}
    scores: dict[str, list[float]] = saved.get("scores", {}) if saved.get("cases") == signature else {}
    for policy in setup.policies:
        for seed in setup.seeds:
            for mode in setup.modes:
                label = _label(setup.learner(policy), seed, mode)
                if label not in scores:
                    model_dir = _train(setup, policy, seed, out, log)
                    log(f"scoring {label} on {len(cases)} episodes")
                    scores[label] = play_learned(model_dir, cases, seed, deterministic=mode == "greedy")
                    atomic_write_json(store, {"cases": signature, "scores": scores})
    for name in setup.baselines:
        if name not in scores:
            log(f"scoring {name} on {len(cases)} episodes")
            scores[name] = play_reference(name, cases)
            atomic_write_json(store, {"cases": signature, "scores": scores})
    for name, shield in _pretrained_runs(setup):
        if _pretrained_label(name, shield) not in scores:
            from ..rl.pretrained import pretrained_path

            log(
                f"scoring the shipped checkpoint {name}{' under the budget shield' if shield else ''} on {len(cases)} episodes"
            )
            scores[_pretrained_label(name, shield)] = play_learned(
                pretrained_path(name), cases, deterministic=True, shield=shield
            )
            atomic_write_json(store, {"cases": signature, "scores": scores})
    summary = summarize(setup, cases, scores)
    write_report(summary, out)
    return summary


def summarize(setup: Setup, cases: list[Case], scores: dict[str, Any]) -> dict[str, Any]:
    """Each agent's mean score per group with 95% intervals, and the train minus held-out gap.

    Parameters
    ----------
    setup : Setup
        The experiment.
    cases : list of Case
        The scored episodes.
    scores : dict
        Per agent (``<Setup.learner(policy)>/seed<s>[/greedy]`` for each learned model and mode), one
        score per case.

    Returns
    -------
    dict
        ``setup`` and ``rows``: per agent, ``agent``, ``seeds`` and per group ``<group>`` and
        ``<group>_ci``, plus ``gap`` and ``gap_ci`` and, for learned agents, ``held-out_by_seed``.
    """
    groups = np.array([c.group for c in cases])
    agents: dict[str, np.ndarray] = {}
    by_seed: dict[str, list[float]] = {}
    for policy in setup.policies:
        for mode in setup.modes:
            runs = [np.asarray(scores[_label(setup.learner(policy), s, mode)]) for s in setup.seeds]
            clone = "" if setup.warm_start is None else f", {setup.warm_start} clone"
            dagger = f" + {setup.dagger_rounds} DAgger rounds" if setup.warm_start and setup.dagger_rounds else ""
            label = f"MaskablePPO ({policy}{clone}{dagger}, {mode})"
            agents[label] = np.mean(runs, axis=0)
            by_seed[label] = [float(r[groups == "held-out"].mean()) for r in runs]
    for name, shield in _pretrained_runs(setup):
        agents[_pretrained_label(name, shield)] = np.asarray(scores[_pretrained_label(name, shield)])
    for name in setup.baselines:
        agents[name] = np.asarray(scores[name])
    rows = []
    for label, s in agents.items():
        row: dict[str, Any] = {"agent": label}
        for g in GROUPS:
            row[g], row[g + "_ci"] = mean_ci(s[groups == g])
        n = min(setup.train_episodes, setup.held_out_episodes)
        row["gap"], row["gap_ci"] = mean_ci(s[groups == "train"][:n] - s[groups == "held-out"][:n])
        if label in by_seed:
            row["held-out_by_seed"] = by_seed[label]
        rows.append(row)
    return {"setup": asdict(setup), "rows": rows}


def write_report(summary: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """The table (markdown), the summary (JSON) and a figure of the scores per group.

    Parameters
    ----------
    summary : dict
        :func:`summarize`'s output.
    out_dir : path
        Where ``generalization.md``, ``generalization.json`` and ``generalization.png`` go.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    setup, rows = summary["setup"], summary["rows"]
    start, count = setup["train_worlds"]
    cols = ["train", "held-out", "gap", "paper", "market", "paper-reordered"]
    head = [
        "agent",
        "training worlds",
        "held-out worlds",
        "gap",
        "paper (zero-shot)",
        "market (zero-shot)",
        "paper, reordered",
    ]
    lines = [
        f"Reward / oracle value, mean and 95% interval. Learned agents: MaskablePPO trained on generated "
        f"worlds {start}-{start + count - 1} for {setup['steps']:,} steps, {len(setup['seeds'])} training seeds "
        f"(scores averaged over them per episode). {setup['train_episodes']} episodes on training worlds (new "
        f"seeds), {setup['held_out_episodes']} on held-out worlds (from 10^6), {setup['zero_shot_episodes']} per "
        "zero-shot world (padded to 40 slots). Gap: training minus held-out, paired by world.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in rows:
        cells = [row["agent"]] + [f"{row[c]:.3f} ± {row[c + '_ci']:.3f}" for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    learned = [r for r in rows if "held-out_by_seed" in r]
    if learned:
        lines.append("")
        for r in learned:
            per = ", ".join(f"{v:.3f}" for v in r["held-out_by_seed"])
            lines.append(f"- {r['agent']}, held-out score of each training seed: {per}")
    written = [out / "generalization.md", out / "generalization.json"]
    atomic_write_text(written[0], "\n".join(lines) + "\n")
    atomic_write_json(written[1], summary)
    written.append(_plot(rows, cols, out / "generalization.png"))
    return written


def _plot(rows: list[dict[str, Any]], cols: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [c for c in cols if c != "gap"]
    fig, ax = plt.subplots(figsize=(12, 5.5))
    width = 0.8 / len(rows)
    x = np.arange(len(groups))
    colors = plt.get_cmap("tab20")(np.arange(len(rows)) % 20)
    for k, row in enumerate(rows):
        means = [row[g] for g in groups]
        errs = [row[g + "_ci"] for g in groups]
        ax.bar(
            x + (k - len(rows) / 2 + 0.5) * width,
            means,
            width,
            yerr=errs,
            capsize=2,
            label=row["agent"],
            color=colors[k],
        )
    ax.set_xticks(
        x, ["training worlds", "held-out worlds", "paper (zero-shot)", "market (zero-shot)", "paper, reordered"]
    )
    ax.set_ylabel("reward / oracle value")
    low = min(min(r[g] for g in groups) for r in rows)
    ax.set_ylim(max(0.0, low - 0.05), 1.05)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=6, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.set_title("Generalization: learned agents on worlds they never saw (95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
