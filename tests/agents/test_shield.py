"""StageRoute's budget shield over another policy (agents.policies.stageroute.shield): its masks are
never empty and never allow an invalid action, its greedy completion is an upper bound of the best
one, a policy that spends all it may keeps its budget under it and runs out without it, and the
shipped checkpoint under it recovers the held-out world its budget ends early in."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.policies.stageroute import OptimisticRouter
from agents.policies.stageroute.shield import BudgetShield, _worst_case_fill
from tests.helpers import small_world


def _spender(obs: dict[str, np.ndarray], allowed: np.ndarray) -> int:
    """The dearest allowed action by public price (then by index): a policy that spends all it may.
    Commits only when no model may be added."""
    n = obs["price"].size
    models = np.flatnonzero(allowed[:n])
    if models.size == 0:
        return n
    return int(models[np.lexsort((models, obs["price"][models]))[-1]])


def _play(env, seed: int, world: int | None, shield: BudgetShield | None) -> dict:
    options = None if world is None else {"world": world}
    obs, info = env.reset(seed=seed, options=options)
    if shield is not None:
        shield.bind(env.unwrapped.scenario, obs["available"].size)
        shield.reset(seed)
    while True:
        valid = env.unwrapped.action_masks()
        allowed = valid if shield is None else shield.mask(obs, valid)
        assert allowed.any() and not (allowed & ~valid).any()
        obs, _, terminated, truncated, info = env.step(_spender(obs, allowed))
        if terminated or truncated:
            return info


@pytest.mark.parametrize("world", [500_003, 500_020, 1_000_004])
def test_a_policy_that_spends_all_it_may_keeps_its_budget_under_the_shield(world):
    env = gym.make("LLMRoute-Gen-v0", pad_to=40)
    free = _play(env, 0, world, None)
    shielded = _play(env, 0, world, BudgetShield(env))
    horizon = env.unwrapped.scenario.horizon
    assert free["queries_served"] < 0.5 * horizon  # the hard budget ends it early without the shield
    assert shielded["queries_served"] >= 0.9 * horizon
    assert shielded["total_reward"] > free["total_reward"]


@pytest.mark.parametrize("kind", ["tiny", "typed", "priced_cut"])
@pytest.mark.parametrize("pace", [0.0, 1.0])
def test_masks_are_valid_subsets_never_empty_in_small_worlds(kind, pace):
    env = gym.make("LLMRoute-v0", scenario=small_world(kind))
    for seed in range(3):
        info = _play(env, seed, None, BudgetShield(env, pace=pace))
        assert info["queries_served"] > 0


def test_the_shield_follows_episodes_and_counts_what_it_masks():
    env = gym.make("LLMRoute-Gen-v0", pad_to=40)
    shield = BudgetShield(env)
    _play(env, 0, 500_003, shield)
    first = shield.n_masked
    assert first > 0
    # A second episode without reset(): the shield starts afresh at its first observation.
    _play(env, 0, 500_003, shield)
    assert shield.n_masked == first  # _play resets, and the episode is the same


def test_greedy_completion_is_an_upper_bound_of_the_best_and_exact_without_a_slot_limit():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 7))
        hi = rng.uniform(0.1, 2.0, n).tolist()
        alpha = rng.uniform(0.1, 0.8, n).tolist()
        forced = rng.choice(n, int(rng.integers(0, 3)), replace=False).tolist()
        extra = [i for i in range(n) if i not in forced]
        k = int(rng.integers(0, len(extra) + 1))
        best = min(
            _worst_case_fill(hi, alpha, [*forced, *add], [], 0, 3.0)
            for r in range(k + 1)
            for add in itertools.combinations(extra, r)
        )
        greedy = _worst_case_fill(hi, alpha, forced, extra, k, 3.0)
        assert greedy >= best - 1e-12
        if k == len(extra):
            assert greedy == pytest.approx(best)


def test_bad_arguments_are_refused():
    env = gym.make("LLMRoute-v0", scenario=small_world("tiny"))
    with pytest.raises(ValueError, match="pace must be in"):
        BudgetShield(env, pace=1.5)
    router = OptimisticRouter([0.6, 0.6, 0.5], 0.5, (0.01, 1.0), 1.0)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="needs a router built with safe=True"):
        router.covered(obs)
    # A policy without masks cannot take the shield's.
    agent = agents.make("random", env)
    assert not hasattr(agent, "shield")
