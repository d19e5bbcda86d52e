"""Small scenarios and rollout helpers shared by the tests."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import gymnasium as gym
import numpy as np

from gym_llmroute import ModelSpec, Scenario

# The small worlds of the tests, by name: every field of the Scenario, so that a test reads whole.
SCENARIOS: dict[str, dict] = {
    # Three models, two from the start and one arriving mid-horizon; the budget binds.
    "tiny": dict(
        name="tiny",
        models=(
            ModelSpec("cheap", quality=0.5, cost=0.1, throughput=0.6, cost_spread=0.5, list_price=1.0),
            ModelSpec("strong", quality=0.9, cost=1.0, throughput=0.6, cost_spread=0.2, list_price=10.0),
            ModelSpec("new", quality=0.8, cost=0.2, throughput=0.5, arrival=0.5, list_price=2.0),
        ),
        budget=0.5,
        horizon=200,
        n_stages=4,
        max_deployed=2,
    ),
    # Two task types, a price change, drift, an arrival and a retirement: every world feature.
    "typed": dict(
        name="typed-test",
        models=(
            ModelSpec("a", quality=(0.5, 0.9), cost=(0.1, 0.2), throughput=0.6, cost_spread=0.3, list_price=1.0),
            ModelSpec("b", quality=(0.9, 0.4), cost=(1.0, 0.5), throughput=0.6),
            ModelSpec(
                "c", quality=(0.7, 0.7), cost=(0.3, 0.3), throughput=0.5, arrival=0.4, price_changes=((0.6, 0.5),)
            ),
            ModelSpec("d", quality=(0.6, 0.8), cost=(0.2, 0.6), throughput=0.4, retirement=0.7, drift=0.1),
        ),
        task_types=("x", "y"),
        task_mix=(0.3, 0.7),
        budget=0.5,
        horizon=1200,
        n_stages=5,
        max_deployed=3,
    ),
    # Two task types, one specialist per type and a generalist that is best on average: routing by task
    # is worth 0.9 per query, the best task-blind routing 0.6.
    "specialists": dict(
        name="specialists",
        models=(
            ModelSpec("spec_a", quality=(0.9, 0.2), cost=0.1, throughput=1.0),
            ModelSpec("spec_b", quality=(0.2, 0.9), cost=0.1, throughput=1.0),
            ModelSpec("generalist", quality=(0.6, 0.6), cost=0.1, throughput=1.0),
        ),
        budget=1.0,
        horizon=1200,
        n_stages=4,
        max_deployed=3,
        task_types=("a", "b"),
        task_mix=(0.5, 0.5),
    ),
    # Public prices that change twice, and a model without a public price.
    "priced_cut": dict(
        name="cut",
        models=(
            ModelSpec("a", quality=0.6, cost=0.1, list_price=2.0),
            ModelSpec("b", quality=0.9, cost=1.0, list_price=20.0, price_changes=((0.25, 0.5), (0.5, 0.25))),
            ModelSpec("c", quality=0.7, cost=0.3),  # no public price
        ),
        budget=0.4,
        horizon=100,
        n_stages=4,
        max_deployed=2,
    ),
}


def small_world(kind: str = "tiny", **overrides) -> Scenario:
    """The test world ``kind`` of :data:`SCENARIOS`, with some fields changed."""
    return Scenario(**{**SCENARIOS[kind], **overrides})


def tiny_scenario(**overrides) -> Scenario:
    """Three models, two from the start and one arriving mid-horizon; the budget binds."""
    return small_world("tiny", **overrides)


def rollout(env, seed: int, actions_rng: np.random.Generator, p_invalid: float = 0.0, max_steps: int = 100_000):
    """Play masked-random actions (with probability p_invalid a uniformly random action instead);
    returns the list of (obs, reward, terminated, truncated, info) per step, reset first."""
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, False, info)]
    n = env.action_space.n
    for _ in range(max_steps):
        if actions_rng.random() < p_invalid:
            a = int(actions_rng.integers(n))
        else:
            a = int(actions_rng.choice(np.flatnonzero(info["action_mask"])))
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            break
    return out


def assert_same_step(a, b) -> None:
    """Two (obs, reward, terminated, truncated, info) tuples are identical."""
    obs_a, r_a, te_a, tr_a, info_a = a
    obs_b, r_b, te_b, tr_b, info_b = b
    assert obs_a.keys() == obs_b.keys()
    for k in obs_a:
        np.testing.assert_array_equal(obs_a[k], obs_b[k], err_msg=k)
    assert (r_a, te_a, tr_a) == (r_b, te_b, tr_b)
    assert info_a.keys() == info_b.keys()
    for k in info_a:
        if isinstance(info_a[k], np.ndarray):
            np.testing.assert_array_equal(info_a[k], info_b[k], err_msg=k)
        else:
            assert info_a[k] == info_b[k], k


def assert_same(x, y, where: str = "") -> None:
    """Equal values and dtypes, recursively through tuples, dicts and object arrays of dicts (final_obs)."""
    if isinstance(x, tuple):
        assert len(x) == len(y), where
        for i, (e, f) in enumerate(zip(x, y, strict=True)):
            assert_same(e, f, f"{where}[{i}]")
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), f"{where}: keys differ by {set(x) ^ set(y)}"
        for key in x:
            assert_same(x[key], y[key], f"{where}/{key}")
    elif isinstance(x, np.ndarray) and x.dtype == object and any(isinstance(e, dict) for e in x):
        for i, (e, f) in enumerate(zip(x, y, strict=True)):
            assert (e is None) == (f is None), f"{where}[{i}]"
            if e is not None:
                assert_same(e, f, f"{where}[{i}]")
    else:
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype, f"{where}: dtype {x.dtype} != {y.dtype}"
        np.testing.assert_array_equal(x, y, err_msg=where)


def made_env(env):
    """The env an id's entry point returned, without the wrappers ``gym.make`` adds around it (the env
    checker, the order enforcer, a time limit): ``LLMRouteEnv`` (or the generated env), or for the
    single-level views the level wrapper around ``LLMRouteEnv``. This is what the env checkers check."""
    while isinstance(env, (gym.wrappers.PassiveEnvChecker, gym.wrappers.OrderEnforcing, gym.wrappers.TimeLimit)):
        env = env.env
    return env


@contextmanager
def strict_warnings():
    """Every warning an error, but Gymnasium's notice that the env it checks is a wrapper: the
    single-level views are wrappers by design."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=r".*is different from the unwrapped version")
        yield


def sb3_lockstep(ours, ref, steps: int, each_step=None):
    """Step two SB3 VecEnvs with the same random valid actions (from ``ours``'s masks) and check
    that every output is the same (:func:`assert_same`); ``each_step()`` runs after each step.
    Returns the last observation and the number of episodes that ended."""
    rng = np.random.default_rng(0)
    ends = 0
    obs_a = None
    for t in range(steps):
        masks = ours.env_method("action_masks")
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs_a, rew_a, done_a, infos_a = ours.step(actions)
        obs_b, rew_b, done_b, infos_b = ref.step(actions)
        assert_same((obs_a, rew_a, done_a), (obs_b, rew_b, done_b), f"step {t}")
        for a, b in zip(infos_a, infos_b, strict=True):
            assert_same(a, b, f"step {t} infos")
        if each_step is not None:
            each_step()
        ends += int(done_a.sum())
    return obs_a, ends
