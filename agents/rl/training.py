"""Training of the learned agents: SB3's PPO, A2C, DQN and sb3-contrib's MaskablePPO on
``LLMRoute-v0`` or a single-level view (:func:`train`), and the learning curves of a run
(:func:`read_monitor`).

* the hyperparameters of :mod:`agents.rl.hyperparams` (RL Zoo style table, overridable);
* a vector env of ``n_envs`` sub-envs (:func:`make_train_env`): by default, for ``LLMRoute-v0``, its
  presets and ``LLMRoute-Gen-v0``, the native batched env (all sub-envs the rows of one simulation)
  in SB3's ``VecMonitor`` (episode reward, length, final regret and spend, written to
  ``monitor/*.monitor.csv``: the learning curves), then optionally
  :class:`~agents.rl.vec_wrappers.VecLagrangianReward`, then
  :class:`~agents.rl.vec_wrappers.VecScaledObservation`; otherwise copies made from the
  ``"gym_llmroute:<id>"`` form (so ``SubprocVecEnv`` workers import the package themselves), each
  wrapped in ``Monitor``, then optionally :class:`~gym_llmroute.wrappers.LagrangianReward`, then
  :class:`~gym_llmroute.wrappers.ScaledObservation`. Both give the same steps;
* ``VecNormalize`` of the reward only where the table says so (the deploy view);
* TensorBoard logs in ``<out_dir>/tb``; the model in ``<out_dir>/model.zip`` and what it was trained
  on in ``<out_dir>/train.json`` (both written atomically, ``train.json`` last: its presence marks a
  finished run).

torch and stable-baselines3 are imported on the first call, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

from gym_llmroute.scenario import Scenario
from gym_llmroute.wrappers import OBS_SCALING_VERSION, LagrangianReward, ScaledObservation

from ..files import atomic_write_text
from .hyperparams import ALGOS, POLICIES, hyperparams_for

__all__ = [
    "ALGOS",
    "POLICIES",
    "TrainResult",
    "train",
    "make_train_env",
    "read_monitor",
    "algo_class",
    "policy_class",
    "has_native_vec_env",
    "MONITOR_KEYS",
    "VEC_ENVS",
]

# Keys of the final info that Monitor writes to its CSV (the learning curves).
MONITOR_KEYS = ("regret", "total_cost", "budget", "oracle_value", "queries_served")


# ---------------------------------------------------------------------------------------- training
def algo_class(algo: str):
    algo = algo.lower()
    if algo == "maskableppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    classes = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}
    if algo not in classes:
        raise ValueError(f"unknown RL algorithm {algo!r}; choose from {list(ALGOS)}")
    return classes[algo]


def policy_class(algo: str, policy: str = "mlp") -> Any:
    """The SB3 policy that :func:`train` gives an algorithm.

    Parameters
    ----------
    algo : {"maskableppo", "ppo", "a2c", "dqn"}
        The algorithm.
    policy : {"mlp", "set"}
        ``"mlp"``: SB3's ``"MultiInputPolicy"`` (an MLP on the flattened observation); ``"set"``: the
        permutation-equivariant policy of :mod:`agents.rl.set_policy` (:class:`SetPolicy` for
        MaskablePPO, :class:`SetActorCriticPolicy` for PPO and A2C; not DQN).

    Returns
    -------
    str or type
        ``"MultiInputPolicy"`` or the policy class.

    Raises
    ------
    ValueError
        An unknown policy, or ``"set"`` with DQN.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {list(POLICIES)}, got {policy!r}")
    if policy == "mlp":
        return "MultiInputPolicy"
    algo = algo.lower()
    if algo == "dqn":
        raise ValueError(
            "policy 'set' is an actor-critic policy (maskableppo, ppo, a2c); DQN has no set Q-network: "
            "use policy='mlp' with dqn"
        )
    from .set_policy import SetActorCriticPolicy, SetPolicy

    return SetPolicy if algo == "maskableppo" else SetActorCriticPolicy


def _env_id(env_id: str) -> str:
    """The module-prefixed id, so that subprocess workers import gym_llmroute themselves."""
    return env_id if ":" in env_id else f"gym_llmroute:{env_id}"


class _EnvFactory:
    """A picklable factory of one training env (SubprocVecEnv sends it to its worker)."""

    def __init__(
        self, env_id: str, env_kwargs: dict[str, Any], rank: int, seed: int, monitor_dir: str | None, lagrangian
    ):
        self.env_id, self.env_kwargs, self.rank, self.seed = env_id, env_kwargs, rank, seed
        self.monitor_dir, self.lagrangian = monitor_dir, lagrangian

    def __call__(self) -> gym.Env:
        from stable_baselines3.common.monitor import Monitor

        env = gym.make(_env_id(self.env_id), **self.env_kwargs)
        path = None if self.monitor_dir is None else os.path.join(self.monitor_dir, str(self.rank))
        env = Monitor(env, filename=path, info_keywords=MONITOR_KEYS)
        if self.lagrangian is not None:
            env = LagrangianReward(env, **self.lagrangian)
        env = ScaledObservation(env)
        env.reset(seed=self.seed + self.rank)
        env.action_space.seed(self.seed + self.rank)
        return env


# The vector entry points whose SB3 VecEnv (gym_llmroute.vector) the "native" vec env builds.
_NATIVE = {
    "gym_llmroute.vector:LLMRouteVectorEnv": "LLMRouteSB3VecEnv",
    "gym_llmroute.vector:LLMRouteGenVectorEnv": "LLMRouteGenSB3VecEnv",
}
VEC_ENVS = ("native", "dummy", "subproc")


def has_native_vec_env(env_id: str) -> bool:
    """Whether ``env_id`` has a native batched env (``vec_env="native"``): ``LLMRoute-v0``, its preset
    ids and ``LLMRoute-Gen-v0``, not the single-level views.

    Parameters
    ----------
    env_id : str
        A registered id (a ``"gym_llmroute:"`` prefix is ignored).

    Returns
    -------
    bool
    """
    import gym_llmroute  # noqa: F401  (registers the ids)

    try:
        spec = gym.spec(env_id.split(":")[-1])
    except gym.error.Error:  # not registered: no native env (gym.make names the problem)
        return False
    return isinstance(spec.vector_entry_point, str) and spec.vector_entry_point in _NATIVE


def _native_vec_env(env_id: str, n_envs: int, env_kwargs: dict[str, Any]):
    """The native batched env of ``env_id`` behind SB3's VecEnv API, made with the id's registered
    keyword arguments and ``env_kwargs`` (as ``gym.make`` would)."""
    from gym_llmroute import vector

    spec = gym.spec(env_id.split(":")[-1])
    cls = getattr(vector, _NATIVE[cast(str, spec.vector_entry_point)])
    kwargs = {**spec.kwargs, **env_kwargs}
    if spec.max_episode_steps is not None:
        kwargs.setdefault("max_episode_steps", spec.max_episode_steps)
    venv = cls(n_envs, **kwargs)
    venv.spec = spec  # the env id VecMonitor writes in its header, as Monitor does
    return venv


def make_train_env(
    env_id: str = "LLMRoute-v0",
    n_envs: int = 1,
    seed: int = 0,
    *,
    env_kwargs: dict[str, Any] | None = None,
    vec_env: str = "dummy",
    monitor_dir: str | os.PathLike | None = None,
    lagrangian: dict[str, Any] | None = None,
    privileged: bool = False,
):
    """The SB3 vector env used for training.

    Parameters
    ----------
    env_id : str
        The env id (made as ``gym_llmroute:<env_id>``).
    n_envs : int
        Sub-envs.
    seed : int
        Sub-env i is seeded ``seed + i``.
    env_kwargs : dict, optional
        ``gym.make`` keyword arguments.
    vec_env : {"native", "dummy", "subproc"}
        ``"native"``: the id's native batched env (:func:`has_native_vec_env`;
        :class:`~gym_llmroute.vector.LLMRouteSB3VecEnv` or
        :class:`~gym_llmroute.vector.LLMRouteGenSB3VecEnv`) wrapped in SB3's ``VecMonitor`` ->
        (:class:`~agents.rl.vec_wrappers.VecLagrangianReward`) ->
        :class:`~agents.rl.vec_wrappers.VecScaledObservation`, which step for step equals
        ``"dummy"``; ``"dummy"``: ``DummyVecEnv`` of ``n_envs`` single envs, each ``Monitor`` ->
        (``LagrangianReward``) -> ``ScaledObservation``; ``"subproc"``: the same in
        ``SubprocVecEnv``.
    monitor_dir : path, optional
        Where the episode records go: ``<i>.monitor.csv`` per sub-env, or ``native.monitor.csv`` for
        all of them (None: no file).
    lagrangian : dict, optional
        Keyword arguments of :class:`~gym_llmroute.wrappers.LagrangianReward` (None: the raw reward).
    privileged : bool
        Add each world's true means to the observations
        (:class:`~agents.rl.vec_wrappers.VecPrivilegedObservation`), for an asymmetric critic.

    Returns
    -------
    stable_baselines3.common.vec_env.VecEnv
        The vector env.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if vec_env not in VEC_ENVS:
        raise ValueError(f"vec_env must be one of {list(VEC_ENVS)}, got {vec_env!r}")
    if vec_env == "native" and not has_native_vec_env(env_id):
        raise ValueError(
            f"vec_env 'native' needs an env with a native batched version (LLMRoute-v0, its presets, "
            f"LLMRoute-Gen-v0), not {env_id!r}: use 'dummy' or 'subproc'"
        )
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)
    if vec_env == "native":
        from stable_baselines3.common.vec_env import VecMonitor

        from .vec_wrappers import VecLagrangianReward, VecPrivilegedObservation, VecScaledObservation

        venv = _native_vec_env(env_id, n_envs, dict(env_kwargs or {}))
        path = None if monitor_dir is None else os.path.join(monitor_dir, "native")
        venv = VecMonitor(venv, filename=path, info_keywords=MONITOR_KEYS)
        if lagrangian is not None:
            venv = VecLagrangianReward(venv, **lagrangian)
        venv = VecScaledObservation(venv)
        if privileged:
            venv = VecPrivilegedObservation(venv)
        # As DummyVecEnv's factories reset sub-env i with seed + i: the next reset without seeds
        # continues from there.
        venv.seed(seed)
        venv.reset()
        return venv
    fns: list[Callable[[], gym.Env]] = [
        _EnvFactory(
            env_id, dict(env_kwargs or {}), i, seed, None if monitor_dir is None else str(monitor_dir), lagrangian
        )
        for i in range(n_envs)
    ]
    venv = SubprocVecEnv(fns, start_method="forkserver") if vec_env == "subproc" and n_envs > 1 else DummyVecEnv(fns)
    if privileged:
        from .vec_wrappers import VecPrivilegedObservation

        return VecPrivilegedObservation(venv)
    return venv


@dataclass
class TrainResult:
    """What :func:`train` produced: paths and the configuration (also in ``train.json``)."""

    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    total_timesteps: int
    seed: int
    env_seed: int
    hyperparams: dict[str, Any]
    lagrangian: dict[str, float] | None
    out_dir: str
    model_path: str
    monitor_dir: str
    tensorboard_dir: str
    wall_time_s: float
    obs_scaling_version: int = OBS_SCALING_VERSION
    policy: str = "mlp"
    warm_start: dict[str, Any] | None = None
    init_from: str | None = None
    critic_warmup: int = 0


def train(
    algo: str,
    env_id: str = "LLMRoute-v0",
    *,
    total_timesteps: int = 100_000,
    seed: int = 0,
    env_seed: int | None = None,
    out_dir: str | os.PathLike = "runs/train",
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: dict[str, Any] | None = None,
    lagrangian: dict[str, float] | bool | None = None,
    tensorboard: bool = True,
    progress_bar: bool = False,
    verbose: int = 0,
    torch_threads: int = 1,
    policy: str = "mlp",
    warm_start: str | None = None,
    warm_start_episodes: int = 200,
    warm_start_epochs: int = 3,
    dagger_rounds: int = 0,
    dagger_play: str = "sampled",
    dagger_shield: bool = False,
    privileged_critic: bool = False,
    init_from: str | os.PathLike | None = None,
    critic_warmup: int = 0,
) -> TrainResult:
    """Train an SB3 algorithm and save it.

    Parameters
    ----------
    algo : {"maskableppo", "ppo", "a2c", "dqn"}
    env_id : str
        ``"LLMRoute-v0"``, ``"LLMRoute-Deploy-v0"`` or ``"LLMRoute-Route-v0"`` (the
        ``"gym_llmroute:"`` prefix is added).
    total_timesteps : int
        Training env steps (summed over the vector env).
    seed : int
        Seed of the algorithm.
    env_seed : int, optional
        Seed of the training envs (env i gets ``env_seed + i``); default ``seed``. The benchmark
        keeps it away from its evaluation seeds.
    out_dir : path
        Where ``model.zip``, ``train.json``, ``monitor/`` and ``tb/`` go.
    env_kwargs : dict, optional
        ``gym.make`` keyword arguments (``scenario``, ``horizon``, ...).
    hyperparams : dict, optional
        Overrides of :func:`agents.rl.hyperparams.hyperparams_for`.
    lagrangian : dict or False, optional
        Keyword arguments of :class:`~gym_llmroute.wrappers.LagrangianReward` (``multiplier``,
        ``step_size``, ...) to train on ``reward - multiplier * cost``; None takes the table's
        (dual ascent from 0), False trains on the raw reward.
    tensorboard : bool
        Write TensorBoard logs to ``out_dir/tb``.
    progress_bar : bool
        Show SB3's progress bar (tqdm + rich).
    torch_threads : int
        ``torch.set_num_threads``: 1 by default, since the networks are small and the machine is
        shared with the env workers.
    policy : {"mlp", "set"}
        ``"mlp"``: SB3's ``MultiInputPolicy``; ``"set"``: the permutation-equivariant policy of
        :mod:`agents.rl.set_policy` (maskableppo, ppo, a2c), which does not depend on the order or
        the number of the model slots (see :func:`policy_class`).
    warm_start : str, optional
        A registered agent to clone before reinforcement learning (``"stageroute"``; MaskablePPO,
        PPO and A2C): it plays ``warm_start_episodes`` episodes of the training env (seeds from
        ``env_seed + 10**6``), and the policy and its value head are fitted to its actions and returns
        for ``warm_start_epochs`` epochs (:mod:`agents.rl.imitation`). With ``total_timesteps=0`` the
        clone is the result.
    warm_start_episodes, warm_start_epochs : int
        The demonstrations' size and the fit's epochs.
    dagger_rounds : int
        Rounds of DAgger after the first fit: the clone plays ``warm_start_episodes`` more episodes,
        the teacher labels the states it visits, and the clone is fitted again on everything so far
        for ``warm_start_epochs`` epochs.
    dagger_play : {"sampled", "greedy", "mixed"}
        How the clone acts in the DAgger rounds (:data:`agents.rl.imitation.PLAY_MODES`): its policy
        sampled, its most probable action, or the most probable action in deploy phases and a sample
        in route phases.
    dagger_shield : bool
        MaskablePPO: the clone plays its DAgger rounds under StageRoute's budget shield
        (:class:`~agents.policies.stageroute.shield.BudgetShield`), the mode it is scored in with
        ``load_agent(..., shield=True)``.
    privileged_critic : bool
        The set policy's asymmetric critic (:mod:`agents.rl.set_policy`): it also reads each
        training world's true means, which the training env adds to its observations
        (:class:`~agents.rl.vec_wrappers.VecPrivilegedObservation`) and the cloned demonstrations
        record; the actor, and so the saved policy, acts without them. Needs ``policy="set"``.
    init_from : path, optional
        A saved model (its folder or ``model.zip``) whose policy weights the new model starts from,
        e.g. a clone to fine-tune with PPO (the optimizer starts afresh). Same policy and sizes; a
        model with ``privileged_critic`` may start from one without: its critic then starts as the
        saved critic (the new inputs' weights zero), the privileged layer as initialised.
    critic_warmup : int
        The first ``critic_warmup`` of the ``total_timesteps`` train the critic's own layers only
        (the actor and the layers it shares are frozen), so that PPO's first advantages come from a
        critic fitted to this policy and reward.

    Returns
    -------
    TrainResult
        The paths written and the configuration (also in ``train.json``).
    """
    import torch

    algo = algo.lower()
    cls = algo_class(algo)
    policy_cls = policy_class(algo, policy)
    if (
        isinstance(total_timesteps, bool)
        or not isinstance(total_timesteps, int)
        or total_timesteps < (0 if warm_start else 1)
    ):
        least = "0 (with warm_start)" if warm_start else "1"
        raise ValueError(f"total_timesteps must be an integer >= {least}, got {total_timesteps!r}")
    from .imitation import PLAY_MODES

    if dagger_play not in PLAY_MODES:
        raise ValueError(f"dagger_play must be one of {list(PLAY_MODES)}, got {dagger_play!r}")
    if dagger_shield and algo.lower() != "maskableppo":
        raise ValueError(f"dagger_shield needs a masked policy (maskableppo), not {algo!r}")
    if warm_start is not None and algo not in ("maskableppo", "ppo", "a2c"):
        raise ValueError(f"warm_start needs an actor-critic algorithm (maskableppo, ppo, a2c), not {algo!r}")
    if (
        isinstance(critic_warmup, bool)
        or not isinstance(critic_warmup, int)
        or not 0 <= critic_warmup <= total_timesteps
        or (critic_warmup and algo not in ("maskableppo", "ppo", "a2c"))
    ):
        raise ValueError(
            f"critic_warmup must be an integer in [0, total_timesteps={total_timesteps}] for an actor-critic "
            f"algorithm (maskableppo, ppo, a2c), got {critic_warmup!r} with {algo!r}"
        )
    setup = _TrainSetup.of(algo, env_id, hyperparams, lagrangian, policy, privileged_critic)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    monitor_dir = out / "monitor"
    # A rerun of an unfinished training starts the curves afresh.
    if monitor_dir.exists():
        for f in monitor_dir.glob("*.monitor.csv"):
            f.unlink()
    torch.set_num_threads(torch_threads)
    env_kwargs = dict(env_kwargs or {})
    env_seed = seed if env_seed is None else env_seed
    start = time.perf_counter()
    venv = make_train_env(
        env_id,
        setup.n_envs,
        env_seed,
        env_kwargs=env_kwargs,
        vec_env=setup.vec_env,
        monitor_dir=monitor_dir,
        lagrangian=setup.lagrangian,
        privileged=setup.privileged_critic,
    )
    try:
        if setup.normalize_reward:
            from stable_baselines3.common.vec_env import VecNormalize

            venv = VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=setup.params.get("gamma", 0.99))
        tb_dir = str(out / "tb") if tensorboard else None
        model = cls(policy_cls, venv, seed=seed, verbose=verbose, tensorboard_log=tb_dir, **setup.params)
        if init_from is not None:
            _init_from(model, init_from)
        warm = None
        if warm_start is not None:
            warm = _warm_start(
                model,
                warm_start,
                env_id,
                env_kwargs,
                env_seed,
                (warm_start_episodes, warm_start_epochs, dagger_rounds),
                dagger_play,
                progress_bar,
                dagger_shield,
                setup.privileged_critic,
            )
        if critic_warmup:
            with _critic_only(model.policy):
                model.learn(total_timesteps=critic_warmup, progress_bar=progress_bar, tb_log_name=algo)
        if total_timesteps > critic_warmup:
            model.learn(
                total_timesteps=total_timesteps - critic_warmup,
                progress_bar=progress_bar,
                tb_log_name=algo,
                reset_num_timesteps=not critic_warmup,
            )
        model_path = out / "model.zip"
        model.save(out / ".model.tmp.zip")
        os.replace(out / ".model.tmp.zip", model_path)
    finally:
        venv.close()
    result = TrainResult(
        algo=algo,
        env_id=env_id.split(":")[-1],
        env_kwargs={k: v for k, v in env_kwargs.items() if not isinstance(v, Scenario)},
        total_timesteps=total_timesteps,
        seed=seed,
        env_seed=env_seed,
        hyperparams=setup.config,
        lagrangian=setup.lagrangian,
        out_dir=str(out),
        model_path=str(model_path),
        monitor_dir=str(monitor_dir),
        tensorboard_dir=str(out / "tb"),
        wall_time_s=time.perf_counter() - start,
        policy=policy,
        warm_start=warm,
        init_from=None if init_from is None else str(init_from),
        critic_warmup=critic_warmup,
    )
    atomic_write_text(out / "train.json", json.dumps(asdict(result), indent=2, default=str))
    return result


def check_hyperparams(algo: str, env_id: str, policy: str, keys) -> None:
    """Refuse hyperparameter overrides that neither the table nor the algorithm's constructor know.

    Parameters
    ----------
    algo, env_id, policy : str
        As :func:`train`'s.
    keys : iterable of str
        The overridden keys.

    Raises
    ------
    ValueError
        Naming the unknown keys and listing the known ones.
    """
    import inspect

    known = {
        k
        for k in set(hyperparams_for(algo, env_id, policy)) | set(inspect.signature(algo_class(algo)).parameters)
        if not k.startswith("_") and k not in ("self", "env", "policy")
    }
    unknown = sorted(k for k in keys if k not in known)
    if unknown:
        raise ValueError(f"{algo} has no hyperparameter {unknown}; it takes {sorted(known)}")


# The parameters that only the critic uses (SB3's MLP extractor's value_net, the set policy's critic
# and its privileged layer, and the value head).
CRITIC_PARAMETERS = ("mlp_extractor.value_net.", "mlp_extractor.critic.", "mlp_extractor.privileged.", "value_net.")


@contextmanager
def _critic_only(policy):
    """Freeze every parameter but the critic's own (:data:`CRITIC_PARAMETERS`) inside the block."""
    frozen = [p for name, p in policy.named_parameters() if not name.startswith(CRITIC_PARAMETERS) and p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _init_from(model, path: str | os.PathLike) -> None:
    """Load the policy weights saved at ``path`` into ``model`` (see :func:`train`'s ``init_from``)."""
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    zip_path = path / "model.zip" if path.is_dir() else path
    if not zip_path.exists():
        raise FileNotFoundError(f"init_from: no saved model at {zip_path}")
    _, params, _ = load_from_zip_file(zip_path, device="cpu", load_data=False)
    saved = cast(dict[str, Any], params["policy"])
    own = model.policy.state_dict()
    widened = "mlp_extractor.critic.0.weight"
    loaded = {}
    for key, value in saved.items():
        if key not in own:
            raise ValueError(f"init_from: {zip_path} has {key!r}, which this policy does not")
        target = own[key]
        if value.shape == target.shape:
            loaded[key] = value
        elif key == widened and getattr(model.policy, "privileged_critic", False):
            loaded[key] = model.policy.mlp_extractor.critic_input_from_symmetric(value)
        else:
            raise ValueError(
                f"init_from: {zip_path}'s {key!r} has shape {tuple(value.shape)}, this policy's {tuple(target.shape)}"
            )
    missing = [k for k in own if k not in loaded and not k.startswith("mlp_extractor.privileged.")]
    if missing:
        raise ValueError(f"init_from: {zip_path} lacks {missing}")
    model.policy.load_state_dict({**own, **loaded})


def _warm_start(
    model,
    teacher: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    env_seed: int,
    sizes: tuple[int, int, int],
    play: str,
    bar: bool,
    shield: bool = False,
    privileged: bool = False,
) -> dict[str, Any]:
    """Clone ``teacher`` into ``model``, then ``rounds`` of DAgger (:mod:`agents.rl.imitation`);
    what ``train.json`` records of it. ``sizes``: episodes per round, epochs per fit, DAgger rounds;
    ``play``: how the clone acts in the DAgger rounds, and ``shield`` whether under the budget
    shield."""
    from tqdm.auto import tqdm

    from .imitation import behaviour_clone, collect_demonstrations, concatenate

    episodes, epochs, rounds = sizes
    start = time.perf_counter()
    gamma = float(getattr(model, "gamma", 0.99))
    parts, history, scores = [], [], []
    for r in range(rounds + 1):
        who = teacher if r == 0 else f"clone (DAgger round {r}, {teacher} labels)"
        with tqdm(total=episodes, desc=who, unit="ep", disable=not bar) as progress:
            parts.append(
                collect_demonstrations(
                    teacher,
                    lambda: gym.make(_env_id(env_id), **env_kwargs),
                    episodes,
                    seed=env_seed + 10**6 + r * episodes,
                    gamma=gamma,
                    learner=None if r == 0 else model,
                    play=play,
                    progress=progress.update,
                    shield=shield and r > 0,
                    privileged=privileged,
                )
            )
        scores.append(float(np.mean(parts[-1].episode_rewards)))
        demos = parts[0] if r == 0 else concatenate(parts)
        # Minibatches of 256, smaller for small demonstrations (at least 200 updates an epoch, down to 64).
        batch_size = int(np.clip(len(demos) // 200, 64, 256))
        history += behaviour_clone(
            model, demos, epochs=epochs, batch_size=batch_size, seed=env_seed + r, log=print if bar else None
        )
    return {
        "teacher": teacher,
        "episodes": episodes,
        "epochs": epochs,
        "dagger_rounds": rounds,
        "dagger_play": play,
        "dagger_shield": shield,
        "steps": len(demos),
        "teacher_reward_fraction": scores[0],
        "clone_reward_fraction_per_round": scores[1:],
        "cross_entropy": history,
        "wall_time_s": time.perf_counter() - start,
    }


@dataclass
class _TrainSetup:
    """The table's hyperparameters with the overrides, split into the SB3 constructor's arguments
    (``params``) and the keys :func:`train` reads itself; ``config`` is what ``train.json`` records."""

    params: dict[str, Any]
    n_envs: int
    vec_env: str
    normalize_reward: bool
    lagrangian: dict[str, float] | None
    config: dict[str, Any]
    privileged_critic: bool = False

    @classmethod
    def of(
        cls,
        algo: str,
        env_id: str,
        hyperparams: dict[str, Any] | None,
        lagrangian: dict[str, float] | bool | None,
        policy: str = "mlp",
        privileged_critic: bool = False,
    ) -> _TrainSetup:
        params = hyperparams_for(algo, env_id, policy)
        check_hyperparams(algo, env_id, policy, hyperparams or {})
        params.update(hyperparams or {})
        if privileged_critic:
            if policy != "set":
                raise ValueError(
                    f"privileged_critic needs policy='set' (its critic reads the true means), not {policy!r}"
                )
            params["policy_kwargs"] = {**params.get("policy_kwargs", {}), "privileged_critic": True}
        privileged = bool(params.get("policy_kwargs", {}).get("privileged_critic", False))
        config = dict(params)
        n_envs = int(params.pop("n_envs"))
        vec_env = params.pop("vec_env")
        if vec_env == "native" and not has_native_vec_env(env_id):
            if "vec_env" in (hyperparams or {}):
                raise ValueError(
                    f"vec_env 'native' needs an env with a native batched version (LLMRoute-v0, its presets, "
                    f"LLMRoute-Gen-v0), not {env_id!r}: use 'dummy' or 'subproc'"
                )
            vec_env = config["vec_env"] = "dummy"  # the table's native where the id has one
        normalize_reward = bool(params.pop("normalize_reward"))
        table_lagrangian = params.pop("lagrangian", None)
        chosen = table_lagrangian if lagrangian is None else (None if lagrangian is False else lagrangian)
        if chosen is True:
            raise TypeError("lagrangian must be a dict of LagrangianReward arguments, False or None, got True")
        config["lagrangian"] = chosen
        return cls(params, n_envs, vec_env, normalize_reward, chosen, config, privileged)


def read_monitor(monitor_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The episodes of a training run, from its ``Monitor`` CSVs merged in order of wall time.

    Parameters
    ----------
    monitor_dir : path
        The run's ``monitor/`` folder.

    Returns
    -------
    dict of str to ndarray
        ``timesteps`` (cumulative env steps at each episode's end), ``reward``, ``length`` and the
        final-info keys (``regret``, ``total_cost``, ...); empty arrays if there are none.
    """
    rows = []
    for f in sorted(Path(monitor_dir).glob("*.monitor.csv")):
        lines = f.read_text().splitlines()
        if len(lines) < 2:
            continue
        header = lines[1].split(",")
        for line in lines[2:]:
            values = line.split(",")
            if len(values) == len(header):
                rows.append(dict(zip(header, values, strict=True)))
    rows.sort(key=lambda r: float(r["t"]))
    out: dict[str, np.ndarray] = {}
    length = np.array([float(r["l"]) for r in rows])
    out["timesteps"] = np.cumsum(length)
    out["reward"] = np.array([float(r["r"]) for r in rows])
    out["length"] = length
    for key in MONITOR_KEYS:
        out[key] = np.array([float(r[key]) if r.get(key, "") not in ("", None) else math.nan for r in rows])
    return out
