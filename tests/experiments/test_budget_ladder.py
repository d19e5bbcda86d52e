"""agents/experiments/budget_ladder.py (run as benchmarks/budget_ladder.py): the ladders, a tiny end-to-end run, --replot and the argument errors
(the full experiment runs outside the test suite)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute  # noqa: F401
from agents.base import scenario_of
from agents.experiments import budget_ladder as bl
from gym_llmroute.solvers import min_cost


@pytest.mark.parametrize("world", ["paper", "market", "typed", "trace", "realdata"])
def test_the_ladder_runs_from_the_cheapest_feasible_deployment_to_above_the_priciest_model(world):
    scenario = scenario_of(gym.make(bl.WORLDS[world]))
    budgets = bl.ladder(scenario)
    assert len(budgets) == 7
    assert all(a < b for a, b in zip(budgets, budgets[1:], strict=False))
    # the cheapest feasible deployment of every stage, recomputed as Scenario._check_feasible does
    cheapest = 0.0
    for k in range(scenario.n_stages):
        pool = np.flatnonzero(scenario.availability[k])
        c = scenario.stage_cost[k][:, pool].T @ scenario.task_weights
        cheapest = max(cheapest, min_cost(c, scenario.throughput[pool], scenario.max_deployed))
    assert budgets[0] > cheapest
    assert budgets[0] == pytest.approx(bl.LOW_MARGIN * cheapest)
    assert budgets[-1] > scenario.mean_cost.max()
    # geometric spacing
    ratios = np.diff(np.log(budgets))
    assert np.allclose(ratios, ratios[0])
    # the lowest rung is feasible in both modes: the env builds, every stage's oracle is finite
    for mode in bl.MODES:
        low = scenario_of(gym.make(bl.WORLDS[world], budget=budgets[0], budget_mode=mode))
        assert np.all(np.isfinite(low.oracle.values))
    # and the top rung does not bind
    assert bl.oracle_spend_fraction(scenario_of(gym.make(bl.WORLDS[world], budget=budgets[-1]))) < 1.0


def test_ladder_refuses_a_single_rung():
    with pytest.raises(ValueError, match="at least 2 rungs"):
        bl.ladder(scenario_of(gym.make("LLMRoute-v0")), 1)


def test_world_names_and_ids():
    assert bl.world_key("realdata") == "realdata"
    assert bl.world_key("LLMRoute-Market-v0") == "market"
    with pytest.raises(ValueError, match="'atlantis'"):
        bl.world_key("atlantis")


QUICK = ["--quick", "--worlds", "paper,realdata", "--agents", "stageroute,oracle", "--horizon", "60", "--no-progress"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ladder")
    bl.main(QUICK + ["--out", str(out)])
    return out


def test_quick_run_writes_the_table_the_json_and_a_figure_per_world(quick_run):
    out = quick_run
    for name in ("budget_ladder.md", "budget_ladder.json", "budget_ladder_paper.png", "budget_ladder_realdata.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "budget_ladder_paper.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "budget_ladder.json").read_text())
    assert list(saved["worlds"]) == ["paper", "realdata"]
    assert saved["seeds"] == 2 and saved["agents"] == ["stageroute", "oracle"]
    assert all(len(info["ladder"]) == 3 and info["horizon"] == 60 for info in saved["worlds"].values())
    # 2 worlds x 2 modes x 3 rungs x 2 agents x 2 seeds
    assert len(saved["episodes"]) == 48
    assert {e["mode"] for e in saved["episodes"]} == {"hard", "average"}
    table = (out / "budget_ladder.md").read_text()
    assert "mean spend <= 1.004 B and every seed <= 1.01 B" in table
    assert "reward / oracle >= 0.97" in table and "not the target's T = 20,000" in table
    assert "2604.00136" in table
    # one target line per (world, rung) in average mode, one per rung for realdata in hard mode
    checked = [line for line in table.splitlines() if line.startswith("| ") and ("PASS" in line or "MISS" in line)]
    assert len(checked) == 2 * 3 + 3
    assert [line.split(" | ")[0] for line in checked] == ["| paper"] * 3 + ["| realdata"] * 6
    assert all(("PASS" in line) != ("MISS" in line) for line in checked)


def test_replot_rebuilds_the_same_table_from_the_json(quick_run):
    out = quick_run
    table = (out / "budget_ladder.md").read_text()
    (out / "budget_ladder.md").unlink()
    (out / "budget_ladder_paper.png").unlink()
    bl.main(["--replot", "--out", str(out)])
    assert (out / "budget_ladder.md").read_text() == table
    assert (out / "budget_ladder_paper.png").exists()


def test_replot_without_json_says_so(tmp_path):
    with pytest.raises(SystemExit, match="budget_ladder.json"):
        bl.main(["--replot", "--out", str(tmp_path)])


@pytest.mark.parametrize(
    "args, bad",
    [
        (["--worlds", "paper,atlantis"], "atlantis"),
        (["--agents", "stageroute,nosuchagent"], "nosuchagent"),
        (["--seeds", "0"], "--seeds"),
        (["--workers", "-1"], "--workers"),
        (["--rungs", "1"], "--rungs"),
        (["--horizon", "3", "--worlds", "realdata"], "--horizon"),
    ],
)
def test_bad_arguments_exit_naming_the_value(capsys, args, bad):
    with pytest.raises(SystemExit) as info:
        bl.parse_args(args)
    assert info.value.code == 2
    assert bad in capsys.readouterr().err
