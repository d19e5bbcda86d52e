"""The evaluation loop (agents/evaluation.py): the episodes of every registered agent are unchanged,
and the summary is the same kind of thing on LLMRoute-v0 and on both single-level views.

tests/data/run_episode_seed0.json holds ``agents.run_episode(agents.make(name, env, seed=0), env, 0)``
for every registered agent on LLMRoute-v0 and LLMRoute-Typed-v0, as computed before the agents
package was split into layers. After an intended change of an agent's behaviour, regenerate it with
``python -m tests.agents.test_evaluation --regenerate`` and say why in the commit. Integers, strings and
bools are compared exactly, floats to a relative 1e-9 (tests/recording.py: NumPy's exp and log differ
in the last bit between CPUs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import agents
import gym_llmroute  # noqa: F401

from ..recording import assert_close

GOLDEN = Path(__file__).parents[1] / "data" / "run_episode_seed0.json"
GOLDEN_ENVS = ("LLMRoute-v0", "LLMRoute-Typed-v0")
SMALL = dict(horizon=300, n_stages=3)


def _episode(env_id: str, name: str) -> dict:
    env = gym.make(env_id)
    result = agents.run_episode(agents.make(name, env, seed=0), env, 0)
    return json.loads(json.dumps(result))  # what a JSON file holds (exact for floats)


@pytest.mark.parametrize("env_id", GOLDEN_ENVS)
@pytest.mark.parametrize("name", sorted(agents.AGENTS))
def test_run_episode_of_every_agent_is_the_recorded_one(env_id, name):
    golden = json.loads(GOLDEN.read_text())
    assert name in golden[env_id], (
        f"no recorded episode of {name!r}: python -m tests.agents.test_evaluation --regenerate"
    )
    assert_close(_episode(env_id, name), golden[env_id][name])


@pytest.mark.parametrize("env_id", ["LLMRoute-Deploy-v0", "LLMRoute-Route-v0", "LLMRoute-v0"])
def test_summary_has_one_deployment_and_one_end_per_stage_on_every_view(env_id):
    env = gym.make(env_id, **SMALL)
    result = agents.run_episode(agents.make("stageroute", env, seed=0), env, 0, record=True)
    assert result["queries_served"] == 300
    assert len(result["deployments"]) == 3 and all(result["deployments"])
    assert result["stage_end_time"] == [100, 200, 300]
    assert len(result["stage_end_regret"]) == len(result["stage_end_spend"]) == 3
    assert result["stage_end_regret"][-1] == result["regret"]
    # The deployments of the summary are the sets that served each stage in the recording.
    served_by = [sorted(m for m, on in enumerate(row) if on) for row in result["deployed"]]
    assert result["deployments"] == served_by
    assert [sum(row) for row in result["routed"]] == [100, 100, 100]
    assert result["trace"]["t"][-1] == 300


def test_recording_adds_keys_and_changes_nothing_else():
    env = gym.make("LLMRoute-v0", **SMALL)
    plain = agents.run_episode(agents.make("thompson", env), env, 4)
    recorded = agents.run_episode(agents.make("thompson", env), env, 4, record=True, trace=True)
    assert {k: recorded[k] for k in plain} == plain
    assert set(recorded) - set(plain) == {"trace", "deployed", "routed", "wall_time_s", "regret_trace", "spend_trace"}
    assert len(recorded["regret_trace"]) == recorded["queries_served"]


def _regenerate() -> None:
    golden = {env_id: {name: _episode(env_id, name) for name in sorted(agents.AGENTS)} for env_id in GOLDEN_ENVS}
    lines = ["{"]
    for i, env_id in enumerate(GOLDEN_ENVS):
        lines.append(f" {json.dumps(env_id)}: {{")
        names = list(golden[env_id])
        for j, name in enumerate(names):
            lines.append(f"  {json.dumps(name)}: {json.dumps(golden[env_id][name])}{',' if j < len(names) - 1 else ''}")
        lines.append(" }" + ("," if i < len(GOLDEN_ENVS) - 1 else ""))
    GOLDEN.write_text("\n".join(lines + ["}"]) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    _regenerate()
