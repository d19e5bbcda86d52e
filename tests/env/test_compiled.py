"""The compiled scenario (gym_llmroute/compiled.py): a Scenario's derived arrays, padding and oracle
in one cached object, which the scenario forwards."""

import pickle

import numpy as np
import pytest

from agents.base import PublicParams
from gym_llmroute import make_scenario
from gym_llmroute.compiled import FORWARDED, CompiledScenario
from gym_llmroute.sim import SimParams


@pytest.fixture(scope="module")
def scenario():
    return make_scenario("market-drift", horizon=600, n_stages=6)


def test_the_scenario_forwards_every_compiled_attribute(scenario):
    c = scenario.compiled
    assert isinstance(c, CompiledScenario) and scenario.compiled is c  # built once
    for name in FORWARDED:
        value = getattr(c, name)
        assert getattr(scenario, name) == value if callable(value) else getattr(scenario, name) is value, name
    assert scenario.oracle is c.oracle
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = scenario.nonsense


def test_padding_is_one_place(scenario):
    n = scenario.n_models
    p = scenario.compiled.padded(n + 3)
    assert scenario.compiled.padded(n + 3) is p
    assert np.array_equal(p.throughput[:n], scenario.throughput) and not p.throughput[n:].any()
    assert np.isnan(p.list_prices[n:]).all()
    assert not p.availability[:, n:].any() and not p.stage_caps[:, n:].any()
    public = PublicParams.of(scenario, n + 3)
    assert np.array_equal(public.throughput, p.throughput)
    assert np.array_equal(public.list_prices, p.list_prices, equal_nan=True)
    params = SimParams.of(scenario, n + 3)
    assert np.array_equal(params.alpha, p.throughput) and np.array_equal(params.availability, p.availability)
    with pytest.raises(ValueError, match="below the world's"):
        scenario.compiled.padded(n - 1)


def test_a_scenario_pickles_with_its_compiled_form(scenario):
    copy = pickle.loads(pickle.dumps(scenario))
    assert copy == scenario
    assert np.array_equal(copy.oracle.values, scenario.oracle.values)
    assert copy.compiled.spec is copy
