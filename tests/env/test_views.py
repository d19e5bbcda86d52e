"""The single-level views (LLMRoute-Deploy-v0, LLMRoute-Route-v0) and the Lagrangian cost wrapper.

The registry-driven checks of tests/env/test_envs.py (check_env, seeding, pickling, vector envs) cover
both views with their default fixed policies; these tests check what the views mean. The views are
wrappers of gym_llmroute.views around LLMRouteEnv; the ids' entry points (agents.policies.views)
resolve the fixed router or deployer by name.
"""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gym_llmroute
from agents.policies.views import make_deploy_level_env, make_route_level_env
from gym_llmroute.env import ROUTE, LLMRouteEnv, mask_from_obs
from gym_llmroute.views import DeployLevelEnv, RouteLevelEnv
from gym_llmroute.world import potential_outcomes
from gym_llmroute.wrappers import LagrangianReward

from ..helpers import assert_same_step, made_env, rollout, strict_warnings, tiny_scenario

SHORT = {"horizon": 400, "n_stages": 4}
# Budget never ends these episodes early (the policies below are blind to cost).
AVERAGE = {**SHORT, "budget_mode": "average"}


class LowestIndexRouter:
    """A deterministic router (the protocol of gym_llmroute.views): the lowest valid index."""

    def reset(self, scenario, rng):
        self.max_deployed = scenario.max_deployed

    def route(self, obs):
        return int(np.flatnonzero(mask_from_obs(obs, self.max_deployed))[0])


def lowest_valid(info) -> int:
    return int(np.flatnonzero(info["action_mask"])[0])


def test_views_are_registered_in_env_ids():
    assert {"LLMRoute-Deploy-v0", "LLMRoute-Route-v0"} <= set(gym_llmroute.ENV_IDS)
    for env_id, level in (("LLMRoute-Deploy-v0", DeployLevelEnv), ("LLMRoute-Route-v0", RouteLevelEnv)):
        env = gym.make(env_id)
        assert isinstance(made_env(env), level) and isinstance(env.unwrapped, LLMRouteEnv)
        assert gym.spec(env_id).entry_point.startswith("agents.policies.views:")


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("LLMRoute-Deploy-v0", {"router": "oracle"}),
        ("LLMRoute-Route-v0", {"deployer": "oracle"}),
        ("LLMRoute-Deploy-v0", {"scenario": tiny_scenario()}),
    ],
)
def test_views_pass_both_env_checkers_with_every_fixed_policy(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with strict_warnings():
        gym_check_env(made_env(env), skip_render_check=False)
        sb3_check_env(made_env(env), warn=True)


def test_deploy_view_commit_reward_is_the_stage_total_and_equals_the_base_env_played_alike():
    """With the same deterministic router and deployment, the view's stage rewards sum to the base
    env's total reward on the same seed, stage by stage."""
    view = gym.make("LLMRoute-Deploy-v0", router=LowestIndexRouter(), **AVERAGE)
    base = gym.make("LLMRoute-v0", **AVERAGE)
    obs, info = view.reset(seed=5)
    stage_rewards, picks_per_stage, picks = [], [], []
    terminated = False
    while not terminated:
        a = lowest_valid(info)
        picks.append(a)
        obs, reward, terminated, _, info = view.step(a)
        if info["routed"].sum():
            stage_rewards.append(reward)
            picks_per_stage.append(picks)
            picks = []
            assert info["cost"] > 0
        else:
            assert reward == 0.0 and info["cost"] == 0.0
    # Replay on the base env: the same picks, then the lowest valid model for every query.
    obs, info = base.reset(seed=5)
    base_stage_rewards = []
    for stage_picks in picks_per_stage:
        for a in stage_picks:
            obs, r, terminated, _, info = base.step(a)
        total = 0.0
        while obs["phase"][0] >= 0.5 and not terminated:
            obs, r, terminated, _, info = base.step(lowest_valid(info))
            total += r
        base_stage_rewards.append(total)
    assert len(stage_rewards) == SHORT["n_stages"]
    assert stage_rewards == base_stage_rewards
    assert sum(stage_rewards) == info["total_reward"] > 0


def test_deploy_view_episode_is_at_most_k_times_mmax_plus_one_steps_and_routes_every_query():
    env = gym.make("LLMRoute-Deploy-v0", router="oracle")
    s = env.unwrapped.scenario
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=1)
    steps, routed = 0, 0
    terminated = False
    while not terminated:
        assert obs["phase"][0] == 0.0
        obs, _, terminated, _, info = env.step(int(rng.integers(s.n_models + 1)))  # invalid actions too
        steps += 1
        routed += int(info["routed"].sum())
    assert steps <= s.n_stages * (s.max_deployed + 1)
    assert routed == info["queries_served"]


def test_route_view_shows_only_route_phases_with_the_deployers_sets():
    env = gym.make("LLMRoute-Route-v0", deployer="oracle", **AVERAGE)
    s = env.unwrapped.scenario
    obs, info = env.reset(seed=2)
    seen_stages = set()
    terminated = False
    while not terminated:
        assert obs["phase"][0] == 1.0
        k = int(round(obs["stage"][0] * s.n_stages))
        np.testing.assert_array_equal(obs["deployed"] > 0.5, s.oracle.deployed[k])
        seen_stages.add(k)
        obs, _, terminated, _, info = env.step(lowest_valid(info))
        assert info["action_phase"] == ROUTE and info["model"] >= 0
    assert seen_stages == set(range(s.n_stages))


def test_oracle_agent_on_route_view_with_oracle_deployer_has_near_zero_regret():
    import agents

    env = gym.make("LLMRoute-Route-v0", deployer="oracle", budget_mode="average")
    oracle = agents.make("oracle", env)
    regrets = [agents.run_episode(oracle, env, seed)["regret"] for seed in range(3)]
    oracle_value = env.unwrapped.scenario.oracle.total
    # Pseudo-regret of the oracle's own routing: zero in expectation, only saturation at stage ends.
    assert abs(np.mean(regrets)) < 0.01 * oracle_value


def test_stageroute_deployer_fills_every_slot_from_the_pool():
    env = gym.make("LLMRoute-Route-v0", **SHORT)
    s = env.unwrapped.scenario
    obs, _ = env.reset(seed=0)
    deployed = np.flatnonzero(obs["deployed"] > 0.5)
    assert deployed.size == min(s.max_deployed, int(s.availability[0].sum()))
    assert s.availability[0][deployed].all()


def test_view_seed_plays_the_same_world_as_the_base_env():
    view = gym.make("LLMRoute-Route-v0", **SHORT)
    base = gym.make("LLMRoute-v0", **SHORT)
    view.reset(seed=9)
    base.reset(seed=9)
    for t in (0, 17, 399):
        a = potential_outcomes(view.unwrapped.scenario, view.unwrapped.sim.seeds[0], t)
        b = potential_outcomes(base.unwrapped.scenario, base.unwrapped.sim.seeds[0], t)
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize(
    "make, kwargs, exc, name",
    [
        (make_deploy_level_env, {"router": "fastest"}, ValueError, "router"),
        (make_deploy_level_env, {"router": object()}, TypeError, "router"),
        (make_route_level_env, {"deployer": "best"}, ValueError, "deployer"),
        (make_route_level_env, {"gamma": -1.0}, ValueError, "gamma"),
        (make_deploy_level_env, {"horizon": 0}, ValueError, "horizon"),
    ],
)
def test_bad_view_arguments_raise_naming_the_argument(make, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        make(**kwargs)


@pytest.mark.parametrize("level, kind", [(DeployLevelEnv, "router"), (RouteLevelEnv, "deployer")])
def test_the_env_packages_levels_take_objects_only(level, kind):
    """No default and no names in gym_llmroute: "stageroute" is the agents' (gym.make resolves it)."""
    with pytest.raises(ValueError, match=f"{kind} must be an object.*gym.make"):
        level(LLMRouteEnv(), "stageroute")
    with pytest.raises(TypeError, match=kind):
        level(LLMRouteEnv(), object())


class PaddedLowestIndexRouter(LowestIndexRouter):
    """The same, for padded envs (the protocol's reset then gets ``n_slots``)."""

    def reset(self, scenario, rng, n_slots=None):
        super().reset(scenario, rng)


@pytest.mark.parametrize("env_id", ["LLMRoute-v0", "LLMRoute-Market-v0", "LLMRoute-Gen-v0"])
def test_the_levels_wrap_any_llmroute_env_and_play_its_world(env_id):
    """A level around gym.make(env_id) plays what the id plays, seed for seed: here three stages of
    the deploy level with a deterministic router, against the same picks and routing on the bare env."""
    if env_id == "LLMRoute-Gen-v0":
        kwargs, router = {"num_worlds": 5}, PaddedLowestIndexRouter()
    else:
        kwargs, router = {"horizon": 300, "n_stages": 3, "budget_mode": "average"}, LowestIndexRouter()
    view = DeployLevelEnv(gym.make(env_id, **kwargs), router)
    base = gym.make(env_id, **kwargs)
    obs, info = view.reset(seed=3)
    base_obs, base_info = base.reset(seed=3)
    np.testing.assert_array_equal(obs["pulls"], base_obs["pulls"])
    total, stages, terminated = 0.0, 0, False
    while stages < 3 and not terminated:
        obs, reward, terminated, _, info = view.step(lowest_valid(info))
        total += reward
        stages += bool(info["routed"].sum())
    base_total = 0.0
    while base.unwrapped.sim.state(0)["t"] < view.unwrapped.sim.state(0)["t"]:
        base_obs, r, term, _, base_info = base.step(lowest_valid(base_info))
        base_total += r
    assert stages == 3 and total == base_total > 0
    for key in ("pulls", "mean_reward", "mean_cost", "deployed"):
        np.testing.assert_array_equal(obs[key], base_obs[key])


def test_a_level_made_by_id_equals_the_level_around_the_env_made_alike():
    """gym.make("LLMRoute-Route-v0", deployer=...) is RouteLevelEnv(LLMRouteEnv(...), deployer)."""
    by_id = gym.make("LLMRoute-Route-v0", deployer="oracle", **SHORT)
    from agents.policies.views import OracleDeployer

    by_hand = RouteLevelEnv(gym.make("LLMRoute-v0", **SHORT), OracleDeployer())
    a = rollout(by_id, seed=4, actions_rng=np.random.default_rng(0), p_invalid=0.1, max_steps=300)
    b = rollout(by_hand, seed=4, actions_rng=np.random.default_rng(0), p_invalid=0.1, max_steps=300)
    for x, y in zip(a, b, strict=True):
        assert_same_step(x, y)


def test_lagrangian_fixed_multiplier_subtracts_multiplier_times_cost():
    env = LagrangianReward(gym.make("LLMRoute-v0", **AVERAGE), multiplier=3.0)
    base = gym.make("LLMRoute-v0", **AVERAGE)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=4)
    base.reset(seed=4)
    checked = 0
    for _ in range(300):
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        _, r, term, _, info = env.step(a)
        _, r_base, _, _, info_base = base.step(a)
        assert info["reward_unpenalised"] == r_base
        assert r == pytest.approx(r_base - 3.0 * info_base["cost"])
        checked += info_base["cost"] > 0
        if term:
            break
    assert env.multiplier == 3.0 and checked > 250


def test_lagrangian_dual_ascent_rises_while_overspending_and_falls_back_to_zero_when_under():
    env = LagrangianReward(gym.make("LLMRoute-Route-v0", **AVERAGE), multiplier=0.0, step_size=0.05)
    s = env.unwrapped.scenario
    obs, info = env.reset(seed=0)
    costs = s.mean_cost

    def run(pick, n):
        nonlocal obs, info
        for _ in range(n):
            valid = np.flatnonzero(info["action_mask"])
            obs, _, term, _, info = env.step(int(valid[pick(costs[valid])]))
            if term:
                obs, info = env.reset()

    run(np.argmax, 60)  # the most expensive deployed model: above b per query
    high = env.multiplier
    assert high > 0.05
    run(np.argmin, 400)  # the cheapest: below b, the multiplier decays and is clipped at 0
    assert env.multiplier < high
    assert env.multiplier >= 0.0


def test_lagrangian_on_deploy_view_charges_the_stage_cost_against_the_stage_budget():
    env = LagrangianReward(gym.make("LLMRoute-Deploy-v0", **SHORT), multiplier=0.0, step_size=1.0)
    obs, info = env.reset(seed=0)
    b = env.unwrapped.scenario.budget
    while True:
        obs, r, term, _, info = env.step(lowest_valid(info))
        if info["routed"].sum():
            expected = max(0.0, info["cost"] - b * info["routed"].sum())
            assert env.multiplier == pytest.approx(min(expected, 100.0))
            assert r == info["reward_unpenalised"]  # multiplier 0 was used for this step
            break


@pytest.mark.parametrize("value, name", [(-1.0, "multiplier"), (float("inf"), "step_size")])
def test_lagrangian_bad_arguments_name_the_argument(value, name):
    with pytest.raises(ValueError, match=name):
        LagrangianReward(gym.make("LLMRoute-v0"), **{name: value})


def test_views_module_imports_neither_agents_nor_torch():
    code = "import sys, gym_llmroute.views; print(any(m == 'agents' or m.startswith(('agents.', 'torch')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
