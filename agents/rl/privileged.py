"""What a training env may show an asymmetric critic and a deployed agent never sees: each world's
true mean reward and cost per model slot.

:class:`~agents.rl.vec_wrappers.VecPrivilegedObservation` adds them to a training vector env's
observations and :func:`~agents.rl.imitation.collect_demonstrations` (``privileged=True``) to its
recorded ones; :class:`~agents.rl.set_policy.SetPolicy` with ``privileged_critic=True`` reads them in
its critic only. NumPy only (no torch, no stable-baselines3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from gym_llmroute.wrappers import relative_cost

__all__ = ["PRIVILEGED_KEYS", "privileged_observation", "privileged_observation_space"]

# The keys of the privileged observation, each of shape (N,): per model slot, the world's true mean
# reward (over the task mix) and its true mean cost read as the scaling reads costs.
PRIVILEGED_KEYS = ("true_mean_reward", "true_mean_cost")


def privileged_observation(scenario: Any, n_slots: int | None = None) -> dict[str, np.ndarray]:
    """What a training env may show and a deployed agent never sees: the world's true mean reward
    of each model (averaged over the task mix) and its true mean cost relative to the budget
    (:func:`~gym_llmroute.wrappers.relative_cost`, as the scaling of version 2 reads an estimate),
    on ``n_slots`` slots (padded slots read 0 and -1, as a padded slot's scaled estimates).

    Parameters
    ----------
    scenario : Scenario
        The world.
    n_slots : int, optional
        The model slots (``pad_to``); default the world's model count.

    Returns
    -------
    dict of str to ndarray
        :data:`PRIVILEGED_KEYS`, float32 of shape (n_slots,).
    """
    n = scenario.n_models if n_slots is None else int(n_slots)
    if n < scenario.n_models:
        raise ValueError(f"n_slots={n} is below the world's {scenario.n_models} models")
    reward = np.zeros(n, dtype=np.float32)
    cost = np.zeros(n, dtype=np.float32)
    reward[: scenario.n_models] = scenario.mean_quality
    cost[: scenario.n_models] = scenario.mean_cost
    return {"true_mean_reward": reward, "true_mean_cost": relative_cost(cost, scenario.budget)}


def privileged_observation_space(space: spaces.Dict) -> spaces.Dict:
    """``space`` with the :data:`PRIVILEGED_KEYS` added (bounds [0, 1] and [-1, 1]).

    Parameters
    ----------
    space : gymnasium.spaces.Dict
        An LLMRoute observation space (scaled or not).

    Returns
    -------
    gymnasium.spaces.Dict
    """
    n = int(np.prod(space["available"].shape or (0,)))
    boxes = dict(space.spaces)
    boxes["true_mean_reward"] = spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32)
    boxes["true_mean_cost"] = spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float32)
    return spaces.Dict(boxes)
