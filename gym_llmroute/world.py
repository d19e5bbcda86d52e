"""The simulated world's potential outcomes: the one place they are drawn.

Given a seed, the task type of every query and every model's potential outcome (reward and cost)
for it are fixed in advance and independently of what is routed (common random numbers): two agents
on the same seed face the same world, as with a replayed trace. The episode's rules (stages,
throughput, budget, regret) are the simulation core's, :mod:`gym_llmroute.sim`.

Outcomes are drawn in chunks of :data:`CHUNK` queries, each from its own generator seeded by
``SeedSequence(seed, spawn_key=(chunk,))``, so memory does not grow with the horizon and query t's
outcomes do not depend on which queries were looked at before. :class:`OutcomeBlocks` hands them
out a block of at most :data:`BLOCK` queries at a time, drawing only the blocks an episode reaches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .scenario import Scenario

__all__ = [
    "CHUNK",
    "BLOCK",
    "OutcomeBlocks",
    "sample_outcomes",
    "sample_rewards",
    "chunk_outcomes",
    "potential_outcomes",
]

CHUNK = 1024
BLOCK = 512  # queries per block handed out by OutcomeBlocks (the default sampler; see there)


def _bernoulli(scenario: Scenario, u: np.ndarray, tasks: np.ndarray, start: int) -> np.ndarray:
    """Turn uniforms ``u`` (size, N), for queries ``start ..``, into Bernoulli rewards, in place: 1.0
    where u is below the (task, model) quality plus the model's drift at that query, else 0.0."""
    # One task type: the quality row broadcasts (the same values as gathering it for every query).
    quality = scenario.quality_matrix[0] if scenario.n_tasks == 1 else scenario.quality_matrix[tasks]
    drift = scenario.drift_offset(start, len(u))
    if drift is not None:
        quality = quality + drift
    return np.less(u, quality, out=u)  # the values of (u < quality).astype(np.float64)


def _scale_costs(scenario: Scenario, u: np.ndarray, tasks: np.ndarray, start: int) -> np.ndarray:
    """Turn uniforms ``u`` (size, N), for queries ``start ..``, into costs, in place: the (task, model)
    mean cost times ``1 + spread * (2u - 1)`` times the price factor in force at the query."""
    # cost * (1 + spread * (2u - 1)), computed in place in that order (the same floats, fewer passes).
    u *= 2.0
    u -= 1.0
    u *= scenario.cost_spread
    u += 1.0
    np.multiply(scenario.cost_matrix[0] if scenario.n_tasks == 1 else scenario.cost_matrix[tasks], u, out=u)
    factor = scenario.price_factor(start, len(u))
    if factor is not None:
        u *= factor
    return u


def sample_rewards(scenario: Scenario, rng: np.random.Generator, size: int, start: int = 0):
    """Draw the task types of queries ``start .. start+size-1`` from the task mix and every model's
    Bernoulli reward for them, with the (task, model) quality plus the model's drift at that query.
    Returns ``(tasks (size,), rewards (size, N))``; custom outcome samplers may reuse it."""
    N, J = scenario.n_models, scenario.n_tasks
    # With a task mix, choice() draws exactly ``size`` doubles (rng.random(size), searched in the
    # cumulative mix): OutcomeBlocks relies on it.
    tasks = np.zeros(size, dtype=np.int64) if J == 1 else rng.choice(J, size=size, p=scenario.task_weights)
    return tasks, _bernoulli(scenario, rng.random((size, N)), tasks, start)


def sample_outcomes(scenario: Scenario, rng: np.random.Generator, size: int, start: int = 0):
    """Draw ``size`` queries' task types and every model's potential outcome for them, for the queries
    ``start .. start+size-1`` of the episode.

    If ``scenario.outcomes`` is set, its ``sample(scenario, rng, start, size)`` does the drawing (trace
    replay, token-based costs). Otherwise rewards are Bernoulli with the (model, task) quality (plus
    drift, see :class:`~gym_llmroute.scenario.ModelSpec`) and costs are the (model, task) mean cost
    times ``Uniform(1 - cost_spread, 1 + cost_spread)`` times the price factor in force at the query.
    Returns ``(tasks (size,), rewards (size, N), costs (size, N))``.
    """
    if scenario.outcomes is not None:
        return scenario.outcomes.sample(scenario, rng, start, size)
    tasks, rewards = sample_rewards(scenario, rng, size, start)
    return tasks, rewards, _scale_costs(scenario, rng.random((size, scenario.n_models)), tasks, start)


def _chunk_generator(seed: int, chunk: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def chunk_outcomes(scenario: Scenario, seed: int, chunk: int):
    """Outcomes of queries ``chunk * CHUNK`` onwards (at most :data:`CHUNK` of them) of the episode
    seeded by ``seed``, drawn by :func:`sample_outcomes` from ``SeedSequence(seed, spawn_key=(chunk,))``.
    The reference for :class:`OutcomeBlocks`, which hands out the same outcomes block by block."""
    start = chunk * CHUNK
    return sample_outcomes(scenario, _chunk_generator(seed, chunk), min(CHUNK, scenario.horizon - start), start)


class OutcomeBlocks:
    """The potential outcomes of one seeded episode, handed out in consecutive blocks of queries: the
    one place the chunk scheme lives (the simulation core, :class:`gym_llmroute.sim.Sim`, draws
    every episode's outcomes through it).

    The outcomes are those of :func:`chunk_outcomes`, to the bit. With the default sampler
    (``scenario.outcomes`` None) a block is at most :data:`BLOCK` queries, and only the blocks asked
    for are drawn: an episode that ends early (a hard budget) does not pay for a whole chunk. This is
    exact because every double of ``Generator.random`` consumes one 64-bit output of PCG64, so the
    draws of :func:`sample_outcomes` for a chunk of ``S`` queries and ``N`` models sit at fixed
    offsets of the chunk's stream: the task types (with a task mix) at ``0 .. S``, the reward
    uniforms next (``S * N`` of them, row by row), then the cost uniforms. The chunk's generator
    reads the task types and two copies of it, advanced (``PCG64.advance``) to the other two
    offsets, read the reward and cost uniforms, each stream block after block. The arithmetic after
    the draw is elementwise in the query (``drift_offset`` and ``price_factor`` too), so a block's
    values do not depend on where the block starts. A custom sampler (market and trace worlds) draws
    in its own order, so there a block is a whole chunk, drawn by :func:`chunk_outcomes`.
    ``tests/env/test_outcome_blocks.py`` checks the blocks against :func:`chunk_outcomes`.

    ``reset(seed)`` goes back to query 0; ``draw(tasks, rewards, costs)`` writes the next block's
    outcomes into the first rows of the given arrays (at least ``rows`` long: int64 ``(rows,)`` and
    C-contiguous float64 ``(rows, N)``) and returns the queries it covers, ``(start, stop)``.
    ``set_scenario(scenario)`` switches to another world (a row of the batched ``LLMRoute-Gen-v0``
    changes world at its resets).
    """

    def __init__(self, scenario: Scenario, block: int = BLOCK):
        if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
            raise ValueError(f"block must be an integer >= 1, got {block!r}")
        self._block = int(block)
        self.set_scenario(scenario)

    def set_scenario(self, scenario: Scenario) -> None:
        """Hand out the outcomes of ``scenario`` from now on (back at query 0 of seed 0, as if new;
        the bit generators are kept, since their state is overwritten at every chunk)."""
        self.scenario = scenario
        self.horizon = scenario.horizon
        self.n_models = scenario.n_models
        self.lazy = scenario.outcomes is None
        self.block = self._block if self.lazy else CHUNK
        self.rows = min(self.block, CHUNK)
        self._typed = scenario.n_tasks > 1
        if self.lazy:
            self._task_weights = scenario.task_weights
            if not hasattr(self, "_bg_reward"):
                # The reward and cost streams' bit generators, reused for every chunk (state overwritten).
                self._bg_reward = np.random.PCG64(0)
                self._bg_cost = np.random.PCG64(0)
                self._gen_reward = np.random.Generator(self._bg_reward)
                self._gen_cost = np.random.Generator(self._bg_cost)
        self.reset(0)

    def reset(self, seed: int) -> None:
        self.seed = int(seed)
        self.stop = 0  # the next query to draw
        self._chunk_stop = 0

    def draw(self, tasks: np.ndarray, rewards: np.ndarray, costs: np.ndarray) -> tuple[int, int]:
        start = self.stop
        if start >= self.horizon:
            raise IndexError(f"the episode's {self.horizon} queries are all drawn")
        s = self.scenario
        if not self.lazy:
            t, r, c = chunk_outcomes(s, self.seed, start // CHUNK)
            n = len(t)
            tasks[:n] = t
            rewards[:n] = r
            costs[:n] = c
            self.stop = self._chunk_stop = start + n
            return start, start + n
        if start == self._chunk_stop:
            self._start_chunk(start // CHUNK)
        n = min(self.block, self._chunk_stop - start)
        t, r, c = tasks[:n], rewards[:n], costs[:n]
        if self._typed:
            t[:] = self._gen_task.choice(self._task_weights.size, size=n, p=self._task_weights)
        else:
            t[:] = 0
        self._gen_reward.random(out=r)
        _bernoulli(s, r, t, start)
        self._gen_cost.random(out=c)
        _scale_costs(s, c, t, start)
        self.stop = start + n
        return start, start + n

    def _start_chunk(self, chunk: int) -> None:
        start = chunk * CHUNK
        size = min(CHUNK, self.horizon - start)
        self._chunk_stop = start + size
        gen = _chunk_generator(self.seed, chunk)
        state: Any = gen.bit_generator.state  # a dict; the reward and cost generators copy it
        offset = 0
        if self._typed:
            self._gen_task = gen  # the task draws come first
            offset = size
        self._bg_reward.state = state
        if offset:
            self._bg_reward.advance(offset)
        self._bg_cost.state = state
        self._bg_cost.advance(offset + size * self.n_models)


def potential_outcomes(scenario: Scenario, seed: int, t: int):
    """Task type of query t of the episode seeded by ``seed`` (an env's is ``env.sim.seeds[0]``) and
    every model's (reward, cost) for it: ``(task, rewards, costs)``. Depends only on the seed and t,
    never on what was routed."""
    if not 0 <= t < scenario.horizon:
        raise IndexError(f"query index t must be in [0, {scenario.horizon}), got {t}")
    tasks, rewards, costs = chunk_outcomes(scenario, seed, t // CHUNK)
    i = t % CHUNK
    return int(tasks[i]), rewards[i].copy(), costs[i].copy()
