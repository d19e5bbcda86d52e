"""StageRoute's budget-safe exploration (``safe_explore``, docs/stageroute.md): an expensive model of
unknown cost is never explored with less slack than its worst-case cost, a deployment keeps a
routing affordable under worst-case costs, nothing changes where the budget has slack, and the
tightest line of the budget ladder keeps its spend targets."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.policies.stageroute import OptimisticRouter, check_safe, cost_upper_scalar
from gym_llmroute import ModelSpec, Scenario


def _late_dear_scenario(budget: float = 0.105) -> Scenario:
    """A cheap model from the start and, from stage 2 on, a strong one costing 20 times more, with no
    public prices: its cost is unknown in [c_1, c_2] until tried, and the slack (5% of B) is far
    below one query of it."""
    return Scenario(
        name="late-dear",
        models=(
            ModelSpec("cheap", quality=0.5, cost=0.1, throughput=1.0, cost_spread=0.0),
            ModelSpec("dear", quality=0.95, cost=2.0, throughput=1.0, arrival=0.5, cost_spread=0.0),
        ),
        budget=budget,
        horizon=200,
        n_stages=4,
        max_deployed=2,
    )


def _pulls_of_dear(safe, seed: int, budget: float = 0.105) -> tuple[int, float]:
    env = gym.make("LLMRoute-v0", scenario=_late_dear_scenario(budget), budget_mode="average")
    out = agents.run_episode(agents.make("stageroute", env, seed=seed, safe_explore=safe), env, seed, record=True)
    return int(np.sum(out["routed"], axis=0)[1]), out["spend_fraction"]


@pytest.mark.parametrize("seed", range(3))
def test_safe_router_never_pulls_an_unknown_model_whose_worst_case_exceeds_the_slack(seed):
    pulls, spend = _pulls_of_dear(True, seed)
    assert pulls == 0
    assert spend <= 1.0
    # Without the guard the optimistic LP (untried: UCB 1, LCB c_1) explores it and overspends.
    pulls_off, spend_off = _pulls_of_dear(False, seed)
    assert pulls_off >= 1 and spend_off > 1.0


def test_safe_router_explores_the_model_once_the_slack_covers_its_worst_case():
    # At b = 0.2 the slack (half of B) covers c_2 = 2 many times over: the dear model is explored
    # (and routed to as long as the slack covers it).
    pulls, spend = _pulls_of_dear(True, 0, budget=0.2)
    assert pulls >= 5 and spend <= 1.0


def test_worst_case_cost_is_the_cost_ucb_or_c2_or_the_price_prior_bound():
    # Tried: mean + 2 f_cost_gamma, clipped to c_2.
    assert cost_upper_scalar(11.0, 0.5, 0.02, 1.0, 0.0, None) == pytest.approx(
        0.5 + 2 * (np.sqrt(0.02 * 0.5 / 11) + 0.02 / 11)
    )
    assert cost_upper_scalar(2.0, 0.99, 0.5, 1.0, 0.0, None) == 1.0
    # Untried: c_2, or kappa price / (1 - rho) where the prior knows the price (floor (1 - rho) kappa price).
    assert cost_upper_scalar(1.0, 0.0, 0.02, 3.0, 0.0, 0.25) == 3.0
    assert cost_upper_scalar(1.0, 0.0, 0.02, 3.0, 0.75 * 0.4, 0.25) == pytest.approx(0.4 / 0.75)


def test_safe_deployment_keeps_a_known_affordable_routing_on_held_out_world_1000025():
    # DeployOPT's first pair there (caps 0.29 + 0.71 summing to exactly one, the pricier at 0.71)
    # ended the hard budget after 131 of 1,728 queries; by the public prices it is not budget-safe.
    from agents.experiments.generalization import Setup, _WorldReset, cases_of

    case = [c for c in cases_of(Setup()) if c.group == "held-out"][25]
    assert case.world == 1_000_025
    env = case.make_env()
    served = {}
    for safe in (True, False):
        agent = agents.make("stageroute", env, seed=0, safe_explore=safe)
        served[safe] = agents.run_episode(agent, _WorldReset(env, case.options), seed=case.seed)["queries_served"]
    assert served[False] < 200 and served[True] == 1728


def test_nothing_changes_where_the_budget_has_slack():
    env = gym.make("LLMRoute-v0", budget=0.5848)  # the paper world's ladder rung where the oracle spends 0.39 B
    on = agents.run_episode(agents.make("stageroute", env, seed=1), env, 1)
    off = agents.run_episode(agents.make("stageroute", env, seed=1, safe_explore=False), env, 1)
    assert on["route_guarded"] == on["deploy_safe"] == 0
    assert (on["reward"], on["cost"], on["deployments"]) == (off["reward"], off["cost"], off["deployments"])


def test_tightest_trace_rung_keeps_the_ladder_spend_targets():
    # The worst line of the budget ladder before safe_explore: trace at 1.05 x the cheapest feasible
    # deployment's cost, average mode, where StageRoute spent 1.056 B on the mean (1.072 on a seed).
    env = gym.make("LLMRoute-Trace-v0", budget=0.011917, budget_mode="average")
    spend = [agents.run_episode(agents.make("stageroute", env, seed=s), env, s)["spend_fraction"] for s in range(5)]
    assert np.mean(spend) <= 1.004 and max(spend) <= 1.01


def test_safe_explore_defaults_and_validation():
    env = gym.make("LLMRoute-v0")
    assert agents.make("stageroute", env).safe_explore is True
    for name in ("stageroute_literal", "greedy", "static", "ucb_bwk", "primal_dual", "contextual_stageroute"):
        assert agents.make(name, env).safe_explore is False, name
    assert check_safe("route") == (True, False) and check_safe("deploy") == (False, True)
    with pytest.raises(ValueError, match="safe_explore"):
        agents.make("stageroute", env, safe_explore="sometimes")
    with pytest.raises(ValueError, match="horizon"):
        OptimisticRouter(np.ones(2), 0.1, (0.0, 1.0), safe=True)
