"""gym_llmroute: a Gymnasium environment for deploying and routing large language models.

``import gym_llmroute`` registers the environment ids (``LLMRoute-v0``) and exposes the scenario
model; it does not import torch, stable-baselines3, matplotlib or scipy.
"""

from gymnasium.envs.registration import register, registry

from .presets import list_scenarios, make_scenario, register_scenario
from .scenario import ModelSpec, Scenario

# The package's version, declared here only (pyproject.toml reads it: dynamic = ["version"]).
__version__ = "0.2.0"

# Realistic worlds (docs/worlds.md): the full LLMRoute env on another preset scenario.
_WORLD_IDS = {
    "LLMRoute-Market-v0": "market",
    "LLMRoute-Typed-v0": "typed",
    "LLMRoute-Trace-v0": "trace",
    "LLMRoute-RealData-v0": "realdata",
}

__all__ = ["ModelSpec", "Scenario", "make_scenario", "list_scenarios", "register_scenario", "ENV_IDS", "__version__"]

ENV_IDS = ("LLMRoute-v0", "LLMRoute-Deploy-v0", "LLMRoute-Route-v0") + tuple(_WORLD_IDS) + ("LLMRoute-Gen-v0",)


def _register() -> None:
    if "LLMRoute-v0" not in registry:
        register(
            id="LLMRoute-v0",
            entry_point="gym_llmroute.env:LLMRouteEnv",
            vector_entry_point="gym_llmroute.vector:LLMRouteVectorEnv",
        )
    # Single-level views (the wrappers of gym_llmroute/views.py): a fixed router or deployer plays the
    # other level. The fixed policies are agents, so these entry points are the agents'
    # (agents/policies/views.py builds LLMRouteEnv, resolves router="stageroute" and the like by name
    # and wraps): strings, imported by gym.make only when it makes one of these envs; the env package
    # itself never imports the agents.
    if "LLMRoute-Deploy-v0" not in registry:
        register(id="LLMRoute-Deploy-v0", entry_point="agents.policies.views:make_deploy_level_env")
    if "LLMRoute-Route-v0" not in registry:
        register(id="LLMRoute-Route-v0", entry_point="agents.policies.views:make_route_level_env")
    # Generated worlds (docs/worlds.md): a new catalog at every reset, for train/test splits.
    if "LLMRoute-Gen-v0" not in registry:
        register(
            id="LLMRoute-Gen-v0",
            entry_point="gym_llmroute.gen_env:LLMRouteGenEnv",
            vector_entry_point="gym_llmroute.vector:LLMRouteGenVectorEnv",
        )
    for env_id, preset in _WORLD_IDS.items():
        if env_id not in registry:
            register(
                id=env_id,
                entry_point="gym_llmroute.env:LLMRouteEnv",
                vector_entry_point="gym_llmroute.vector:LLMRouteVectorEnv",
                kwargs={"scenario": preset},
            )


_register()
