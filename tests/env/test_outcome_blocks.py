"""OutcomeBlocks: the outcomes an episode draws block by block are chunk_outcomes', bit for bit.

Published results were generated with whole chunks drawn by ``chunk_outcomes``; the lazy blocks
(the default sampler reads its three streams from advanced copies of the chunk's generator) must
reproduce them exactly, for every block size, seed and chunk, the last partial chunk included."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gym_llmroute  # noqa: F401
from gym_llmroute import make_scenario
from gym_llmroute.env import ROUTE, LLMRouteEnv
from gym_llmroute.scenario import Scenario
from gym_llmroute.world import BLOCK, CHUNK, OutcomeBlocks, chunk_outcomes

SEEDS = (0, 1, 12345, 2**32 + 7, 2**63 - 2)


def _paper() -> Scenario:
    return gym.make("LLMRoute-v0").unwrapped.scenario


def _drift_and_prices() -> Scenario:
    """The paper world with one drifting model and one model with two price changes, horizon 2,500
    (two full chunks and a partial one)."""
    s = _paper()
    models = list(s.models)
    models[0] = dataclasses.replace(models[0], drift=-0.1)
    models[1] = dataclasses.replace(models[1], price_changes=((0.3, 0.5), (0.7, 1.4)))
    return s.replace(models=tuple(models), horizon=2500)


def _scenarios() -> dict[str, Scenario]:
    typed = gym.make("LLMRoute-Typed-v0").unwrapped.scenario
    return {
        "paper": _paper(),
        "paper-T2500": _paper().replace(horizon=2500),
        "drift-and-prices": _drift_and_prices(),
        "market-drift-default-sampler": make_scenario("market-drift").replace(outcomes=None, horizon=3000),
        "typed": typed,  # a custom sampler (token costs): whole chunks
        "typed-default-sampler": typed.replace(outcomes=None, horizon=2100),
    }


SCENARIOS = _scenarios()


def _all_blocks(scenario: Scenario, seed: int, block: int):
    """Every block of the episode, concatenated, and the block bounds."""
    blocks = OutcomeBlocks(scenario, block)
    blocks.reset(seed)
    N, rows = scenario.n_models, blocks.rows
    tasks, rewards, costs = np.zeros(rows, dtype=np.int64), np.zeros((rows, N)), np.zeros((rows, N))
    out_t, out_r, out_c, bounds = [], [], [], []
    while blocks.stop < scenario.horizon:
        start, stop = blocks.draw(tasks, rewards, costs)
        assert stop > start and stop - start <= rows
        bounds.append((start, stop))
        out_t.append(tasks[: stop - start].copy())
        out_r.append(rewards[: stop - start].copy())
        out_c.append(costs[: stop - start].copy())
    return np.concatenate(out_t), np.concatenate(out_r), np.concatenate(out_c), bounds


def _reference(scenario: Scenario, seed: int):
    chunks = [chunk_outcomes(scenario, seed, c) for c in range(-(-scenario.horizon // CHUNK))]
    return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))


def test_the_scenarios_exercise_what_they_are_named_for():
    s = SCENARIOS
    assert s["paper"].outcomes is None and s["paper"].stationary and s["paper"].n_tasks == 1
    assert s["paper-T2500"].horizon % CHUNK != 0
    for name in ("drift-and-prices", "market-drift-default-sampler"):
        assert s[name].outcomes is None
        assert s[name].drift_offset(0, 1) is not None and s[name].price_factor(0, 1) is not None
    assert s["typed"].outcomes is not None and s["typed"].n_tasks > 1
    assert s["typed-default-sampler"].outcomes is None and s["typed-default-sampler"].n_tasks > 1


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("block", [1, 100, BLOCK, CHUNK, 5000])
def test_blocks_concatenate_to_chunk_outcomes_exactly(name, block):
    scenario = SCENARIOS[name]
    seeds = SEEDS if block >= 100 else SEEDS[:1]  # block 1 draws one query at a time: one seed
    for seed in seeds:
        tasks, rewards, costs, _ = _all_blocks(scenario, seed, block)
        ref_tasks, ref_rewards, ref_costs = _reference(scenario, seed)
        assert np.array_equal(tasks, ref_tasks)
        assert np.array_equal(rewards, ref_rewards)
        assert np.array_equal(costs, ref_costs)
        assert rewards.dtype == ref_rewards.dtype and costs.dtype == ref_costs.dtype


@pytest.mark.parametrize("name", ["paper-T2500", "typed-default-sampler", "typed"])
def test_blocks_never_straddle_a_chunk_and_have_the_configured_size(name):
    scenario = SCENARIOS[name]
    _, _, _, bounds = _all_blocks(scenario, 3, 300)
    size = 300 if scenario.outcomes is None else CHUNK
    assert bounds[0][0] == 0 and bounds[-1][1] == scenario.horizon
    for (start, stop), (nxt, _) in zip(bounds, bounds[1:] + [(scenario.horizon, None)], strict=True):
        assert stop == nxt
        assert start // CHUNK == (stop - 1) // CHUNK
        assert stop - start == size or stop % CHUNK == 0 or stop == scenario.horizon


@settings(max_examples=60)
@given(
    name=st.sampled_from(sorted(SCENARIOS)),
    seed=st.integers(0, 2**63 - 1),
    block=st.integers(8, 1500),
)
def test_blocks_match_chunk_outcomes_for_any_seed_and_block_size(name, seed, block):
    scenario = SCENARIOS[name]
    got = _all_blocks(scenario, seed, block)[:3]
    for a, b in zip(got, _reference(scenario, seed), strict=True):
        assert np.array_equal(a, b)


def test_reset_starts_the_episode_again_and_drawing_past_the_horizon_raises():
    scenario = SCENARIOS["paper"]
    first = _all_blocks(scenario, 5, 256)
    blocks = OutcomeBlocks(scenario, 256)
    blocks.reset(9)
    N = scenario.n_models
    buffers = np.zeros(256, dtype=np.int64), np.zeros((256, N)), np.zeros((256, N))
    blocks.draw(*buffers)
    blocks.reset(5)
    assert blocks.draw(*buffers) == (0, 256)
    assert np.array_equal(buffers[1], first[1][:256]) and np.array_equal(buffers[2], first[2][:256])
    while blocks.stop < scenario.horizon:
        blocks.draw(*buffers)
    with pytest.raises(IndexError):
        blocks.draw(*buffers)


@pytest.mark.parametrize("block", [0, -3, 2.5, True])
def test_block_size_is_validated(block):
    with pytest.raises(ValueError, match="block must be an integer >= 1"):
        OutcomeBlocks(SCENARIOS["paper"], block)


@pytest.mark.parametrize("name", ["paper-T2500", "drift-and-prices", "typed-default-sampler", "typed"])
def test_the_env_routes_the_outcomes_of_chunk_outcomes(name):
    """The single env (the simulation core's batch of one) serves query t with chunk_outcomes'
    values for t, across block and chunk ends, and shows the drawn task type."""
    scenario = SCENARIOS[name].replace(budget_mode="average")
    env = LLMRouteEnv(scenario)
    obs, info = env.reset(seed=77)
    tasks, rewards, costs = _reference(scenario, env.sim.seeds[0])
    rng = np.random.default_rng(0)
    t = 0
    done = False
    while not done:
        if obs["phase"][0] > 0.5 and scenario.n_tasks > 1:
            assert obs["task"].argmax() == tasks[t]
        obs, reward, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if info["action_phase"] == ROUTE:
            m = info["model"]
            assert (reward, info["cost"]) == (rewards[t, m], costs[t, m])
            t += 1
    assert t == info["queries_served"] == scenario.horizon
