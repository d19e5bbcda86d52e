"""Scenario validation: every bad field is rejected with a message that names it; presets scale."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute  # noqa: F401
from gym_llmroute import ModelSpec, Scenario, make_scenario

from ..helpers import tiny_scenario

GOOD = ModelSpec("a", quality=0.5, cost=0.1)

BAD_MODEL_FIELDS = [
    (dict(name=""), TypeError, "name"),
    (dict(quality=1.5), ValueError, "quality"),
    (dict(quality=-0.1), ValueError, "quality"),
    (dict(quality="high"), TypeError, "quality"),
    (dict(cost=-1.0), ValueError, "cost"),
    (dict(cost=float("nan")), ValueError, "cost"),
    (dict(cost=float("inf")), ValueError, "cost"),
    (dict(throughput=0.0), ValueError, "throughput"),
    (dict(throughput=1.5), ValueError, "throughput"),
    (dict(arrival=1.0), ValueError, "arrival"),
    (dict(arrival=-0.1), ValueError, "arrival"),
    (dict(arrival=0.5, retirement=0.4), ValueError, "retirement"),
    (dict(cost_spread=1.0), ValueError, "cost_spread"),
    (dict(list_price=-2.0), ValueError, "list_price"),
    (dict(release=2024), TypeError, "release"),
]


@pytest.mark.parametrize(
    "change,exc,field", BAD_MODEL_FIELDS, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_MODEL_FIELDS)]
)
def test_bad_model_field_is_rejected_naming_it(change, exc, field):
    fields = dict(name="a", quality=0.5, cost=0.1)
    fields.update(change)
    with pytest.raises(exc, match=field):
        ModelSpec(**fields)


BAD_SCENARIO_FIELDS = [
    (dict(models=()), ValueError, "models"),
    (dict(models=GOOD), TypeError, "models"),
    (dict(models=(GOOD, "x")), TypeError, r"models\[1\]"),
    (dict(models=(GOOD, GOOD)), ValueError, "unique"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(horizon=10.5), ValueError, "horizon"),
    (dict(n_stages=0), ValueError, "n_stages"),
    (dict(n_stages=500, horizon=100), ValueError, "n_stages"),
    (dict(max_deployed=0), ValueError, "max_deployed"),
    (dict(budget=0.0), ValueError, "budget"),
    (dict(budget=float("nan")), ValueError, "budget"),
    (dict(budget_mode="soft"), ValueError, "budget_mode"),
    (dict(task_types=()), TypeError, "task_types"),
    (dict(task_types=("a", "b"), task_mix=(0.5, 0.6)), ValueError, "task_mix"),
    (dict(stage_starts=(0.0, 0.5)), ValueError, "stage_starts"),
    (dict(n_stages=2, stage_starts=(0.1, 0.5)), ValueError, "stage_starts"),
]


@pytest.mark.parametrize(
    "change,exc,field", BAD_SCENARIO_FIELDS, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_SCENARIO_FIELDS)]
)
def test_bad_scenario_field_is_rejected_naming_it(change, exc, field):
    fields = dict(models=(GOOD,), budget=1.0, horizon=100, n_stages=4)
    fields.update(change)
    with pytest.raises(exc, match=field):
        Scenario(**fields)


def test_per_task_values_must_match_task_types():
    with pytest.raises(ValueError, match="quality has 2 values"):
        Scenario(models=(ModelSpec("a", quality=(0.5, 0.6), cost=0.1),), budget=1.0, task_types=("x", "y", "z"))


def test_unmeetable_budget_is_refused_with_the_cheapest_cost():
    with pytest.raises(ValueError, match=r"budget=0\.05 .*costs 0\.46 per query"):
        tiny_scenario(budget=0.05)


def test_caps_that_cannot_cover_a_stage_are_refused():
    with pytest.raises(ValueError, match="throughput caps .* sum to 0.600 < 1 with max_deployed=1"):
        tiny_scenario(max_deployed=1)


def test_empty_pool_is_refused():
    models = (ModelSpec("late", quality=0.5, cost=0.1, arrival=0.5),)
    with pytest.raises(ValueError, match="no model is available at stage 0"):
        Scenario(models=models, budget=1.0, horizon=100, n_stages=2)


def test_replace_revalidates_and_rejects_unknown_fields():
    s = tiny_scenario()
    assert s.replace(horizon=400).horizon == 400
    with pytest.raises(TypeError, match="horizn"):
        s.replace(horizn=400)
    with pytest.raises(ValueError, match="budget"):
        s.replace(budget=-1)


def test_preset_times_scale_with_the_horizon():
    short, long = make_scenario("paper"), make_scenario("paper", horizon=100_000, n_stages=12)
    np.testing.assert_array_equal(short.availability, long.availability)
    np.testing.assert_allclose(short.oracle.values, long.oracle.values)
    assert long.oracle.total == pytest.approx(short.oracle.total * 100_000 / 1728)


def test_unknown_preset_and_bad_make_kwargs_name_the_problem():
    with pytest.raises(ValueError, match="unknown scenario 'papr'"):
        gym.make("LLMRoute-v0", scenario="papr")
    with pytest.raises(TypeError, match="horizn"):
        gym.make("LLMRoute-v0", horizn=10)
    with pytest.raises(ValueError, match="horizon"):
        gym.make("LLMRoute-v0", horizon=-5)
    with pytest.raises(ValueError, match="budget_mode"):
        gym.make("LLMRoute-v0", budget_mode="strict")
    with pytest.raises(ValueError, match="invalid_action_penalty"):
        gym.make("LLMRoute-v0", invalid_action_penalty=-1)
    with pytest.raises(ValueError, match="render_mode"):
        gym.make("LLMRoute-v0", render_mode="video")
