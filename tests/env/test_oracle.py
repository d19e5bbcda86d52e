"""The stage oracle on small scenarios solved by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gym_llmroute import ModelSpec, Scenario
from gym_llmroute.solvers import solve_typed_deploy


def test_two_models_budget_mix_value_by_hand():
    # Strong (0.9, cost 1) and cheap (0.5, cost 0): b = 0.3 -> 30% strong: V* = 0.3*0.9 + 0.7*0.5 = 0.62.
    s = Scenario(
        models=(ModelSpec("strong", 0.9, 1.0), ModelSpec("cheap", 0.5, 0.0)), budget=0.3, horizon=100, n_stages=2
    )
    np.testing.assert_allclose(s.oracle.values, [0.62, 0.62])
    np.testing.assert_allclose(s.oracle.routing[0, 0], [0.3, 0.7])
    assert s.oracle.total == pytest.approx(62.0)


def test_arrival_changes_the_oracle_from_its_stage_on():
    # A dominating model arrives at 0.5: from stage 2 of 4 the oracle routes to it up to its cap 0.6.
    s = Scenario(
        models=(
            ModelSpec("a", 0.6, 0.1, throughput=1.0),
            ModelSpec("b", 0.9, 0.1, throughput=0.6, arrival=0.5),
        ),
        budget=0.5,
        horizon=100,
        n_stages=4,
    )
    np.testing.assert_allclose(s.oracle.values, [0.6, 0.6, 0.78, 0.78])
    assert s.oracle.total == pytest.approx(25 * 0.6 * 2 + 25 * 0.78 * 2)


def test_mmax_limits_the_oracle_support():
    # Caps 0.5 each; two slots: the best pair is the two best models, V* = 0.5*(0.9+0.8).
    models = tuple(ModelSpec(f"m{i}", q, 0.0, throughput=0.5) for i, q in enumerate([0.9, 0.8, 0.7]))
    s = Scenario(models=models, budget=1.0, horizon=10, n_stages=1, max_deployed=2)
    assert s.oracle.values[0] == pytest.approx(0.85)
    np.testing.assert_array_equal(s.oracle.deployed[0], [True, True, False])


def test_retired_model_leaves_the_pool_at_the_next_boundary():
    models = (
        ModelSpec("old", 0.9, 0.0, retirement=0.3),
        ModelSpec("other", 0.5, 0.0),
    )
    s = Scenario(models=models, budget=1.0, horizon=100, n_stages=4)
    # Retires at query 30, inside stage 1 (25..49): still in stage 1's pool, gone at stage 2.
    np.testing.assert_array_equal(s.availability[:, 0], [True, True, False, False])
    np.testing.assert_allclose(s.oracle.values, [0.9, 0.9, 0.5, 0.5])


def test_typed_oracle_routes_each_task_to_its_specialist():
    # Two task types, each with a specialist; shared caps 0.5 and a loose budget: V* = 0.5*0.9 + 0.5*0.8.
    models = (
        ModelSpec("code", quality=(0.9, 0.3), cost=0.1, throughput=0.5),
        ModelSpec("math", quality=(0.2, 0.8), cost=0.1, throughput=0.5),
    )
    s = Scenario(models=models, budget=1.0, horizon=10, n_stages=1, task_types=("code", "math"))
    assert s.oracle.values[0] == pytest.approx(0.85)
    np.testing.assert_allclose(s.oracle.routing[0], [[1.0, 0.0], [0.0, 1.0]], atol=1e-9)


def test_typed_milp_with_one_type_equals_the_untyped_solver():
    from gym_llmroute.solvers import solve_deploy

    rng = np.random.default_rng(1)
    for _ in range(20):
        n = 6
        u, c, caps = rng.random(n), rng.random(n), rng.uniform(0.2, 0.6, n)
        b, k = float(rng.uniform(0.2, 0.8)), int(rng.integers(2, 5))
        value, d = solve_typed_deploy(u[None], c[None], [1.0], caps, b, k)
        ref = solve_deploy(u, c, caps, b, k)
        assert (d is None) == (not ref.feasible)
        if d is not None:
            assert value == pytest.approx(ref.value, abs=1e-7)
