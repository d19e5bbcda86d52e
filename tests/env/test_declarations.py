"""What is declared once holds everywhere: every scenario override (gym_llmroute.scenario.OVERRIDES)
is taken by every constructor, the reset options and the ``llmroute`` command, and every registered
id has a world kind (gym_llmroute.env.world_kind) that its envs report."""

import inspect

import gymnasium as gym
import pytest
from gymnasium.envs.registration import load_env_creator

import gym_llmroute
from agents.cli import ENV_OPTIONS, _env_kwargs, build_parser
from agents.experiments.jobs import is_generated, make_kwargs
from gym_llmroute.env import SCENARIO_KEYS, SCENARIO_WORLD, LLMRouteEnv, WorldKind, world_kind
from gym_llmroute.gen_env import GENERATED, LLMRouteGenEnv
from gym_llmroute.scenario import OVERRIDE_NAMES, OVERRIDES
from gym_llmroute.vector import LLMRouteGenVectorEnv, LLMRouteVectorEnv

# Small worlds, so that every constructor builds fast; each override is given the scenario's own value.
SMALL = {"horizon": 120, "n_stages": 4}


def _own_values(scenario) -> dict:
    return {o.name: getattr(scenario, o.name) for o in OVERRIDES}


@pytest.mark.parametrize("env_id", gym_llmroute.ENV_IDS)
def test_every_id_takes_every_scenario_override(env_id):
    kind = world_kind(env_id)
    base = gym.make(env_id, **SMALL)
    values = _own_values(base.unwrapped.scenario)
    env = gym.make(env_id, **values)
    scenario = env.unwrapped.scenario
    for name, value in values.items():
        assert getattr(scenario, name) == value, name
    params = inspect.signature(load_env_creator(gym.spec(env_id).entry_point)).parameters
    assert set(OVERRIDE_NAMES) <= set(params), env_id
    assert kind is not None


def _build(cls, **kwargs):
    """The env (vector envs: of one sub-env) and its scenario."""
    if issubclass(cls, gym.Env):
        env = cls(**kwargs)
        return env, env.scenario
    env = cls(1, **kwargs)
    return env, env.get_attr("scenario")[0]


@pytest.mark.parametrize("cls", [LLMRouteEnv, LLMRouteGenEnv, LLMRouteVectorEnv, LLMRouteGenVectorEnv])
def test_every_constructor_takes_every_scenario_override(cls):
    values = _own_values(_build(cls, **SMALL)[1])
    assert _own_values(_build(cls, **values)[1]) == values
    if issubclass(cls, gym.Env):  # the vector envs pass **env_kwargs on to these
        assert set(OVERRIDE_NAMES) <= set(inspect.signature(cls).parameters)
    with pytest.raises(TypeError, match="horizn"):
        _build(cls, horizn=10)


def test_reset_options_are_the_scenario_overrides():
    assert SCENARIO_KEYS == OVERRIDE_NAMES
    env = gym.make("LLMRoute-v0", **SMALL)
    values = _own_values(env.unwrapped.scenario)
    env.reset(seed=0, options=values)
    assert _own_values(env.unwrapped.scenario) == values


@pytest.mark.parametrize("command", ["run", "bench", "train"])
def test_the_command_line_takes_every_scenario_override(command):
    scenario = gym.make("LLMRoute-v0").unwrapped.scenario
    values = _own_values(scenario)
    argv = [command, "--agents" if command == "bench" else "--agent", "random"]
    if command == "train":
        argv = [command, "--algo", "ppo"]
    for o in OVERRIDES:
        assert ENV_OPTIONS[o.name] == o.flag
        argv += [o.flag, str(values[o.name])]
    args = build_parser().parse_args(argv)
    assert _env_kwargs(args) == values


def test_every_registered_id_has_a_world_kind_its_envs_report():
    for env_id in gym_llmroute.ENV_IDS:
        kind = world_kind(env_id)
        assert isinstance(kind, WorldKind), env_id
        env = gym.make(env_id, **SMALL)
        assert world_kind(env) is kind
        assert is_generated(env_id) == (not kind.takes_scenario)
        assert ("scenario" in make_kwargs(env_id, "paper", {})) == kind.takes_scenario
        assert set(kind.world_args) <= set(inspect.signature(type(env.unwrapped)).parameters)
    assert world_kind("LLMRoute-v0") is SCENARIO_WORLD
    assert world_kind("LLMRoute-Gen-v0") is GENERATED
    vec = gym.make_vec("LLMRoute-Gen-v0", 2, vectorization_mode="sync", **SMALL)
    assert world_kind(vec) is GENERATED
    assert world_kind(gym_llmroute.Scenario) is None
