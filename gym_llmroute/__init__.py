"""gym_llmroute: a Gymnasium environment for deploying and routing large language models.

``import gym_llmroute`` registers the environment ids (``LLMRoute-v0``) and exposes the scenario
model; it does not import torch, stable-baselines3, matplotlib or scipy.
"""

from gymnasium.envs.registration import register, registry

from .presets import list_scenarios, make_scenario, register_scenario
from .scenario import ModelSpec, Scenario

__version__ = "0.1.0"

__all__ = ["ModelSpec", "Scenario", "make_scenario", "list_scenarios", "register_scenario", "ENV_IDS", "__version__"]

ENV_IDS = ("LLMRoute-v0",)


def _register() -> None:
    if "LLMRoute-v0" not in registry:
        register(id="LLMRoute-v0", entry_point="gym_llmroute.env:LLMRouteEnv")


_register()
