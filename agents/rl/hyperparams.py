"""Hyperparameters of the SB3 algorithms per environment, in the spirit of RL Zoo's ``hyperparams/*.yml``.

``hyperparams_for(algo, env_id)`` returns a fresh dict: the algorithm's entry for the env id if the
table has one, else its ``"default"`` entry (``LLMRoute-v0``'s). Keys that are not constructor
arguments of the SB3 class are read by :func:`agents.rl.train`:

* ``n_envs``: number of training envs in the vector env.
* ``vec_env``: ``"native"`` (the id's native batched env, all sub-envs stepped as the rows of one
  simulation, with the training wrappers applied to the batch: ``LLMRoute-v0``, its preset ids and
  ``LLMRoute-Gen-v0``; an id without one, such as the route view, gets ``"dummy"`` in its place),
  ``"dummy"`` (``DummyVecEnv``, in-process) or ``"subproc"`` (``SubprocVecEnv``, one process per env,
  made from the ``"gym_llmroute:<id>"`` form). ``native`` and ``dummy`` give the same observations,
  rewards and episode records step for step; ``native`` costs less per step (docs/performance.md).
  A step of ``LLMRoute-v0`` or of the route view costs about 10 µs, far less than a round trip to a
  subprocess (measured: 3,700 training steps/s with ``dummy`` against 1,200 with ``subproc``,
  MaskablePPO, 4 envs, 2 cores); a step of the deploy view routes a whole stage (milliseconds), where
  subprocesses pay off.
* ``normalize_reward``: wrap the training env in ``VecNormalize(norm_obs=False, norm_reward=True)``.
  Only the deploy view needs it (a stage's reward is up to the stage length, ~144); rewards of the
  other two are in [0, 1]. Reward normalisation affects training only, so a saved model needs no
  statistics at evaluation.
* ``policy_kwargs``: ``net_arch`` sizes (written as a dict of lists, which SB3 accepts).
* ``lagrangian``: keyword arguments of :class:`gym_llmroute.wrappers.LagrangianReward` for the training
  envs (None: train on the raw reward). Every entry trains on ``reward - multiplier * cost`` with the
  multiplier learned by dual ascent towards the budget (from 0, step 0.01 per query).

Observations are always scaled by :class:`gym_llmroute.wrappers.ScaledObservation` (fixed, stateless; see
there), not by ``VecNormalize``: the same scaling then applies exactly when the benchmark loads a
model, with nothing to save beside it.

Why these values (and not library defaults)
-------------------------------------------
``LLMRoute-v0`` and the route view are long episodes (T = 1,728 queries plus ~60 deploy steps) of
immediate 0/1 rewards where the budget couples the queries: ``gamma = 0.995`` (an effective horizon
of ~200 queries, more than a stage) lets the value of saving budget propagate, and GAE 0.95 keeps the
variance down. Rollouts of 4 x 512 steps cover more than a stage per env. A small entropy bonus
(0.01) keeps the routing mix stochastic, which the budget rewards (the optimal policy mixes models).
Networks of 2 x 64 units: the observation has ~140 numbers and the optimal policy is a simple
function of them (a ranking of the deployed models by value and cost).

The deploy view has ~50-step episodes whose rewards arrive once per stage: ``gamma = 0.99``,
short rollouts (4 x 64) so that a few hundred episodes give many updates, 10 epochs over small
batches (sample efficiency matters: a step costs a stage of routing).

Why a Lagrangian reward by default: with the hard budget, overspending is punished only by the
episode ending early, hundreds of steps after the expensive routes that caused it, which PPO's
discounted returns barely see. Folding the cost into the reward makes it an immediate signal, and
dual ascent finds the price of budget without a per-scenario constant. Measured on ``LLMRoute-v0``,
MaskablePPO, 60,000 steps, training seeds 0 and 1, mean reward of 3 evaluation episodes (oracle:
1,370; StageRoute: 1,227): raw reward 920 and 1,000 (the budget ran out after ~1,260 of 1,728
queries); fixed multiplier 0.5: 1,306 and 1,181; fixed 2.0: 1,309 and 1,294; dual ascent from 0 with
step 0.01: 1,313 and 1,293, every query served. ``gamma = 0.999`` on the raw reward did worse (265
and 722).

A2C uses RL Zoo's usual ``n_steps = 8``-``16`` with RMSprop and a lower learning rate than its default
(7e-4 diverged in our short runs on the two-level env); DQN gets a replay buffer of ~30 episodes
of the two-level env, a target network updated every 2,000 steps and exploration annealed over the
first 30% of training (its epsilon-greedy actions are unmasked, so invalid actions fall back to the
env's documented defaults).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["HYPERPARAMS", "SET_POLICY_HYPERPARAMS", "ALGOS", "POLICIES", "hyperparams_for"]

_PPO_TWO_LEVEL: dict[str, Any] = dict(
    n_envs=4,
    vec_env="native",
    normalize_reward=False,
    learning_rate=3e-4,
    n_steps=512,
    batch_size=256,
    n_epochs=5,
    gamma=0.995,
    gae_lambda=0.95,
    clip_range=0.2,
    ent_coef=0.01,
    vf_coef=0.5,
    max_grad_norm=0.5,
    policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64])),
    lagrangian=dict(multiplier=0.0, step_size=0.01),
)

_PPO_DEPLOY: dict[str, Any] = dict(
    _PPO_TWO_LEVEL,
    vec_env="subproc",
    normalize_reward=True,
    n_steps=64,
    batch_size=64,
    n_epochs=10,
    gamma=0.99,
)

# Generated worlds: b changes at every reset (costs span orders of magnitude across worlds), so the
# Lagrangian term measures costs in units of the world's budget, and one multiplier fits every world.
_PPO_GENERATED: dict[str, Any] = dict(_PPO_TWO_LEVEL, lagrangian=dict(multiplier=0.0, step_size=0.01, per_budget=True))

HYPERPARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "maskableppo": {
        "default": _PPO_TWO_LEVEL,
        "LLMRoute-Deploy-v0": _PPO_DEPLOY,
        "LLMRoute-Gen-v0": _PPO_GENERATED,
    },
    "ppo": {
        "default": _PPO_TWO_LEVEL,
        "LLMRoute-Deploy-v0": _PPO_DEPLOY,
        "LLMRoute-Gen-v0": _PPO_GENERATED,
    },
    "a2c": {
        "default": dict(
            n_envs=4,
            vec_env="native",
            normalize_reward=False,
            learning_rate=3e-4,
            n_steps=16,
            gamma=0.995,
            gae_lambda=0.95,
            ent_coef=0.01,
            vf_coef=0.5,
            max_grad_norm=0.5,
            policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64])),
            lagrangian=dict(multiplier=0.0, step_size=0.01),
        ),
        "LLMRoute-Deploy-v0": dict(
            n_envs=4,
            vec_env="subproc",
            normalize_reward=True,
            learning_rate=3e-4,
            n_steps=8,
            gamma=0.99,
            gae_lambda=0.95,
            ent_coef=0.01,
            vf_coef=0.5,
            max_grad_norm=0.5,
            policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64])),
            lagrangian=dict(multiplier=0.0, step_size=0.01),
        ),
    },
    "dqn": {
        "default": dict(
            n_envs=1,
            vec_env="native",
            normalize_reward=False,
            learning_rate=5e-4,
            buffer_size=50_000,
            learning_starts=2_000,
            batch_size=64,
            gamma=0.995,
            train_freq=4,
            gradient_steps=1,
            target_update_interval=2_000,
            exploration_fraction=0.3,
            exploration_initial_eps=1.0,
            exploration_final_eps=0.02,
            policy_kwargs=dict(net_arch=[64, 64]),
            lagrangian=dict(multiplier=0.0, step_size=0.01),
        ),
        "LLMRoute-Deploy-v0": dict(
            n_envs=1,
            vec_env="dummy",
            normalize_reward=True,
            learning_rate=5e-4,
            buffer_size=10_000,
            learning_starts=300,
            batch_size=64,
            gamma=0.99,
            train_freq=1,
            gradient_steps=1,
            target_update_interval=250,
            exploration_fraction=0.3,
            exploration_initial_eps=1.0,
            exploration_final_eps=0.02,
            policy_kwargs=dict(net_arch=[64, 64]),
            lagrangian=dict(multiplier=0.0, step_size=0.01),
        ),
    },
}

# What the set policy (agents.rl.set_policy, ``train(..., policy="set")``) changes in an entry of
# HYPERPARAMS, per algorithm (DQN has no set policy). Its policy_kwargs replace the MLP's net_arch.
SET_POLICY_HYPERPARAMS: dict[str, dict[str, Any]] = {
    "maskableppo": dict(policy_kwargs=dict(hidden=64, rounds=2)),
    "ppo": dict(policy_kwargs=dict(hidden=64, rounds=2)),
    "a2c": dict(policy_kwargs=dict(hidden=64, rounds=2)),
}

ALGOS = tuple(HYPERPARAMS)
# The policies of agents.rl.train: SB3's MultiInputPolicy, or the permutation-equivariant set policy.
POLICIES = ("mlp", "set")


def hyperparams_for(algo: str, env_id: str = "LLMRoute-v0", policy: str = "mlp") -> dict[str, Any]:
    """The hyperparameters of an algorithm on an env.

    Parameters
    ----------
    algo : str
        A key of :data:`HYPERPARAMS` (``"maskableppo"``, ``"ppo"``, ``"a2c"``, ``"dqn"``).
    env_id : str
        The env id (a ``"gym_llmroute:"`` prefix is ignored); ids without an entry of their own get
        the algorithm's ``"default"`` (``LLMRoute-v0``'s).
    policy : {"mlp", "set"}
        ``"set"`` applies :data:`SET_POLICY_HYPERPARAMS` (the set policy's ``policy_kwargs``).

    Returns
    -------
    dict
        A fresh copy: the SB3 constructor's arguments and the keys :func:`agents.rl.train` reads.
    """
    algo = algo.lower()
    if algo not in HYPERPARAMS:
        raise ValueError(f"unknown RL algorithm {algo!r}; choose from {list(ALGOS)}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {list(POLICIES)}, got {policy!r}")
    table = HYPERPARAMS[algo]
    key = env_id.split(":")[-1]
    params = copy.deepcopy(table.get(key, table["default"]))
    if policy == "set":
        if algo not in SET_POLICY_HYPERPARAMS:
            raise ValueError(f"policy 'set' is for {list(SET_POLICY_HYPERPARAMS)}, not {algo!r}")
        params.update(copy.deepcopy(SET_POLICY_HYPERPARAMS[algo]))
    return params
