"""Warm starts by behaviour cloning: a reference agent (StageRoute by default) plays the training
worlds, and a policy learns to act as it did before reinforcement learning starts.

* :func:`collect_demonstrations`: a registered agent (the *teacher*) plays episodes of an env; every
  step's observation (scaled as the learner sees it), valid actions, the teacher's action and the
  discounted return from that step on are kept.
* :func:`behaviour_clone`: fit a MaskablePPO or PPO policy to them: the cross-entropy of the
  teacher's actions under the policy's masked distribution, plus the value head's squared error
  against the returns (so that a later PPO update starts from a critic that already knows the
  returns, not from noise that would undo the cloned policy).

Why StageRoute: it acts from what the observation shows (pulls, means, prices, budget left), so a
policy of the observation can represent it, and its routing is a distribution (the LP mixes two
models), which cross-entropy learns as such: the clone's *sampled* actions spend like StageRoute's.

torch and stable-baselines3 are imported on the first call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from gym_llmroute.wrappers import OBS_SCALING_VERSION, scale_observation

from ..evaluation import scenario_of, slots_of
from ..registry import make

__all__ = ["Demonstrations", "collect_demonstrations", "behaviour_clone"]


@dataclass
class Demonstrations:
    """What a teacher did, one row per env step.

    Attributes
    ----------
    observations : dict of str to ndarray
        The scaled observations (float32, one row per step).
    masks : ndarray
        bool (steps, N + 1): the valid actions.
    actions : ndarray
        int64 (steps,): the teacher's actions.
    returns : ndarray
        float32 (steps,): the discounted return of the env's reward from that step on.
    episode_rewards : list of float
        Each episode's reward over its oracle value (the teacher's score).
    """

    observations: dict[str, np.ndarray]
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray
    episode_rewards: list[float]

    def __len__(self) -> int:
        return int(self.actions.size)


def collect_demonstrations(
    teacher: str,
    env: gym.Env,
    episodes: int,
    *,
    seed: int = 0,
    gamma: float = 0.99,
    options: Sequence[dict[str, Any] | None] | None = None,
    scaling_version: int = OBS_SCALING_VERSION,
    progress: Callable[[int], None] | None = None,
) -> Demonstrations:
    """Play ``episodes`` episodes of a registered agent and keep what it saw and did.

    Parameters
    ----------
    teacher : str
        A registered agent (``agents.AGENTS``), e.g. ``"stageroute"``.
    env : gymnasium.Env
        An LLMRoute env (any id, padded or not; ``LLMRoute-Gen-v0`` plays its worlds).
    episodes : int
        Episodes played; episode i is reset with seed ``seed + i``.
    seed : int
        The first episode's seed (also the teacher's).
    gamma : float
        Discount of the returns (the learner's).
    options : sequence of dict, optional
        Reset options per episode (e.g. ``{"world": w}``); default none.
    scaling_version : int
        The observation scaling of the learner.
    progress : callable, optional
        Called with 1 after each episode (a progress bar's ``update``).

    Returns
    -------
    Demonstrations
        The steps of every episode, in order.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    agent: Any = make(teacher, env, seed=seed)
    steps: list[dict[str, np.ndarray]] = []
    masks: list[np.ndarray] = []
    actions: list[int] = []
    returns: list[np.ndarray] = []
    scores: list[float] = []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i, options=None if options is None else options[i])
        scenario = scenario_of(env)
        agent.bind(scenario, slots_of(env))
        agent.reset(seed=seed + i)
        rewards: list[float] = []
        done = False
        while not done:
            action, _ = agent.predict(obs)
            action = int(action)
            steps.append(scale_observation(obs, scenario, scaling_version))
            masks.append(info["action_mask"])
            actions.append(action)
            obs, reward, terminated, truncated, info = env.step(action)
            rewards.append(float(reward))
            done = terminated or truncated
        returns.append(_discounted(np.asarray(rewards), gamma))
        scores.append(info["total_reward"] / info["oracle_value"])
        if progress is not None:
            progress(1)
    return Demonstrations(
        observations={key: np.stack([s[key] for s in steps]) for key in steps[0]},
        masks=np.stack(masks),
        actions=np.asarray(actions, dtype=np.int64),
        returns=np.concatenate(returns).astype(np.float32),
        episode_rewards=scores,
    )


def _discounted(rewards: np.ndarray, gamma: float) -> np.ndarray:
    out = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.size - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def behaviour_clone(
    model: Any,
    demos: Demonstrations,
    *,
    epochs: int = 3,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Fit ``model.policy`` (MaskablePPO or PPO) to the teacher's actions and returns.

    Minimises ``-log pi(a_teacher | obs)`` (under the valid-action mask for MaskablePPO) plus
    ``value_coef`` times the squared error of the value against the discounted returns, with Adam
    over shuffled minibatches. The model's own optimizer is left as it was.

    Parameters
    ----------
    model : MaskablePPO or PPO
        The learner (its observation space: the scaled one the demonstrations hold).
    demos : Demonstrations
        From :func:`collect_demonstrations`.
    epochs, batch_size, learning_rate, value_coef : number
        The fit's settings.
    seed : int
        Seed of the minibatch order.
    log : callable, optional
        Receives one line per epoch.

    Returns
    -------
    list of float
        The mean cross-entropy of each epoch (nats per step).
    """
    import torch as th

    policy = model.policy
    masked = "action_masks" in policy.evaluate_actions.__code__.co_varnames
    obs = {k: th.as_tensor(v) for k, v in demos.observations.items()}
    actions = th.as_tensor(demos.actions)
    returns = th.as_tensor(demos.returns)
    n = len(demos)
    optimizer = th.optim.Adam(policy.parameters(), lr=learning_rate)
    generator = th.Generator().manual_seed(seed)
    policy.set_training_mode(True)
    history = []
    start = time.perf_counter()
    for epoch in range(epochs):
        order = th.randperm(n, generator=generator)
        total = 0.0
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            batch = {k: v[idx] for k, v in obs.items()}
            kwargs = {"action_masks": demos.masks[idx.numpy()]} if masked else {}
            values, log_prob, _ = policy.evaluate_actions(batch, actions[idx], **kwargs)
            nll = -log_prob.mean()
            loss = nll + value_coef * ((values.flatten() - returns[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()
            total += float(nll.detach()) * idx.numel()
        history.append(total / n)
        if log is not None:
            log(
                f"behaviour cloning epoch {epoch + 1}/{epochs}: cross-entropy {history[-1]:.4f} nats per step "
                f"({time.perf_counter() - start:.0f} s)"
            )
    policy.set_training_mode(False)
    if not all(math.isfinite(h) for h in history):
        raise FloatingPointError(f"behaviour cloning diverged: cross-entropy per epoch {history}")
    return history
