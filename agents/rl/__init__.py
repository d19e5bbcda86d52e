"""Learned agents: train SB3's PPO, A2C, DQN and sb3-contrib's MaskablePPO on ``LLMRoute-v0`` or a
single-level view, save them, and load them as agents the evaluation loop runs like any other.

>>> from agents.rl import train, load_agent
>>> result = train("maskableppo", "LLMRoute-v0", total_timesteps=50_000, out_dir="runs/mppo")
>>> agent = load_agent(result.model_path)          # predict / reset, like StageRouteAgent

* :mod:`agents.rl.hyperparams`: the hyperparameters per algorithm and env, with the reasons;
* :mod:`agents.rl.training`: :func:`train`, the training envs and the learning curves;
* :mod:`agents.rl.sb3_agent`: :class:`SB3Agent` and :func:`load_agent`;
* :mod:`agents.rl.set_policy`: the permutation-equivariant policy of ``train(..., policy="set")``
  (imports torch; not imported here);
* :mod:`agents.rl.imitation`: warm starts by behaviour cloning and DAgger
  (``train(..., warm_start="stageroute")``);
* :mod:`agents.rl.pretrained`: the checkpoints shipped with the package, :func:`load_pretrained`.

The observation scaling and the Lagrangian cost wrapper the training envs use are
:mod:`gym_llmroute.wrappers`. Everything here imports torch and stable-baselines3 lazily (on the
first call), so ``import agents.rl`` stays cheap.
"""

from .hyperparams import ALGOS, HYPERPARAMS, POLICIES, hyperparams_for
from .pretrained import PRETRAINED, load_pretrained
from .sb3_agent import SB3Agent, load_agent
from .training import TrainResult, make_train_env, policy_class, read_monitor, train

__all__ = [
    "ALGOS",
    "HYPERPARAMS",
    "POLICIES",
    "hyperparams_for",
    "policy_class",
    "TrainResult",
    "train",
    "make_train_env",
    "read_monitor",
    "SB3Agent",
    "load_agent",
    "load_pretrained",
    "PRETRAINED",
]
