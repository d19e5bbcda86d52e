"""Property-based and stateful tests (hypothesis): random valid scenarios and random (also invalid)
action sequences hold the env's invariants at every step."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from gym_llmroute import ModelSpec, Scenario
from gym_llmroute.env import ROUTE, LLMRouteEnv, mask_from_obs


@st.composite
def scenarios(draw) -> Scenario:
    n = draw(st.integers(1, 6))
    models = []
    for i in range(n):
        arrival = 0.0 if i == 0 else draw(st.sampled_from([0.0, 0.0, 0.25, 0.5, 0.8]))
        retire = draw(st.sampled_from([None, None, min(1.0, arrival + 0.3), 1.0]))
        models.append(
            ModelSpec(
                name=f"m{i}",
                quality=draw(st.floats(0.0, 1.0)),
                cost=draw(st.floats(0.0, 2.0)),
                throughput=draw(st.sampled_from([0.2, 0.35, 0.5, 1.0])),
                arrival=arrival,
                retirement=retire,
                cost_spread=draw(st.sampled_from([0.0, 0.5, 0.9])),
                list_price=draw(st.one_of(st.none(), st.floats(0.0, 50.0))),
            )
        )
    horizon = draw(st.integers(1, 120))
    try:
        return Scenario(
            models=tuple(models),
            budget=draw(st.floats(0.05, 2.5)),
            horizon=horizon,
            n_stages=draw(st.integers(1, min(horizon, 8))),
            max_deployed=draw(st.integers(1, 4)),
            budget_mode=draw(st.sampled_from(["hard", "average"])),
        )
    except ValueError:
        assume(False)  # an infeasible world is refused on construction (tested elsewhere)
        raise


class EnvMachine(RuleBasedStateMachine):
    """Drives one env with valid and invalid actions and resets, checking invariants after each."""

    @initialize(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
    def start(self, scenario, seed):
        self.env = LLMRouteEnv(scenario)
        self._reset(seed)

    def _reset(self, seed):
        self.obs, self.info = self.env.reset(seed=seed)
        self.done = False
        self.cost_sum = 0.0
        self.regret = 0.0
        self.deploy_run = 0
        self.n_steps = 0

    def _step(self, action):
        s = self.env.scenario
        mask = self.info["action_mask"]
        expect_invalid = not (0 <= action < mask.size and mask[action])
        self.obs, reward, self.done, truncated, self.info = self.env.step(action)
        info = self.info
        assert info["invalid_action"] == expect_invalid
        assert not truncated
        self.cost_sum += info["cost"]
        if info["action_phase"] == ROUTE:
            self.deploy_run = 0
            assert 0.0 <= reward <= 1.0 and info["cost"] >= 0.0
            self.regret += s.oracle.values[info["action_stage"]] - s.mean_quality[info["model"]]
        else:
            self.deploy_run += 1
            assert reward == 0.0 and info["cost"] == 0.0 and info["model"] == -1
        self.n_steps += 1

    @precondition(lambda self: not self.done)
    @rule(data=st.data())
    def valid_action(self, data):
        self._step(int(data.draw(st.sampled_from(np.flatnonzero(self.info["action_mask"]).tolist()))))

    @precondition(lambda self: not self.done)
    @rule(action=st.integers(-2, 9))
    def any_action(self, action):
        self._step(action)

    @rule(seed=st.integers(0, 2**32 - 1))
    def reset(self, seed):
        self._reset(seed)

    @invariant()
    def observation_inside_its_space_without_nan(self):
        assert self.env.observation_space.contains(self.obs)
        assert all(np.isfinite(v).all() for v in self.obs.values())

    @invariant()
    def masks_agree_with_the_observation_and_are_never_empty(self):
        mask = self.info["action_mask"]
        np.testing.assert_array_equal(mask, self.env.action_masks())
        np.testing.assert_array_equal(mask, mask_from_obs(self.obs, self.env.scenario.max_deployed))
        if not self.done:
            assert mask.any()

    @invariant()
    def throughput_and_mmax_are_never_exceeded(self):
        w = self.env.sim.state(0)
        assert np.all(w["served"] <= self.env.scenario.stage_caps[w["stage"]])
        assert w["deployed"].sum() <= self.env.scenario.max_deployed
        assert w["picked"].sum() <= self.env.scenario.max_deployed
        assert self.deploy_run <= self.env.scenario.max_deployed + 1

    @invariant()
    def budget_and_regret_accounting_is_exact(self):
        w = self.env.sim.state(0)
        spent, total_budget = w["spent"], self.env.scenario.budget * self.env.scenario.horizon
        assert abs(self.cost_sum - spent) <= 1e-9 * max(1.0, spent)
        assert abs(self.info["budget_left"] - (total_budget - spent)) <= 1e-9 * max(1.0, spent)
        if not w["budget_exhausted"]:
            assert abs(self.info["regret"] - self.regret) <= 1e-9 * max(1.0, abs(self.regret))
        else:
            assert self.info["regret"] >= self.regret - 1e-9  # unserved queries add V* >= 0

    @invariant()
    def episode_ends_exactly_at_the_horizon_or_the_hard_budget(self):
        w = self.env.sim.state(0)
        s = self.env.scenario
        if self.done and self.n_steps:
            assert w["t"] == s.horizon or (s.budget_mode == "hard" and w["spent"] > s.budget * s.horizon)
            assert self.info["queries_served"] == w["t"]


TestEnvMachine = EnvMachine.TestCase
# Infeasible random worlds are filtered out (assume), and the machine shares 2 cores with other tests.
_SLOW_OK = [HealthCheck.filter_too_much, HealthCheck.too_slow]
TestEnvMachine.settings = settings(
    max_examples=60, stateful_step_count=60, deadline=None, suppress_health_check=_SLOW_OK
)


@given(scenarios(), st.integers(0, 2**31))
@settings(max_examples=40, deadline=None, suppress_health_check=_SLOW_OK)
def test_full_episodes_of_random_valid_scenarios_serve_every_query_in_average_mode(scenario, seed):
    env = LLMRouteEnv(scenario.replace(budget_mode="average"))
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    done, steps = False, 0
    while not done:
        obs, _, done, _, info = env.step(int(rng.integers(-1, env.action_space.n + 1)))
        steps += 1
        assert steps <= scenario.horizon + scenario.n_stages * (scenario.max_deployed + 1)
    assert info["queries_served"] == scenario.horizon
    assert info["oracle_value"] == scenario.oracle.total
