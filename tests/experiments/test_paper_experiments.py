"""The lower-bound world (preset ``lower-bound``) and agents/experiments/paper_experiments.py
(run as benchmarks/paper_experiments.py): the preset's gap
shrinks like T^(-1/3) and it is valid at every horizon of the experiment; ``--quick`` end to end,
``--replot`` and the refusal of bad arguments (the full experiment runs outside the test suite)."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest

import agents
import gym_llmroute
from agents.experiments import paper_experiments as pe
from gym_llmroute.presets import lower_bound_scenario

HORIZONS = (1_000, 3_162, 10_000, 31_623, 100_000)


# ------------------------------------------------------------------------------ the lower-bound world
def gaps(s) -> list[float]:
    """Improver minus dud in every wave (models grouped by arrival, the incumbent excluded)."""
    out = []
    for arrival in sorted({m.arrival for m in s.models} - {0.0}):
        q = sorted(m.quality for m in s.models if m.arrival == arrival)
        out.append(q[-1] - q[0])
    return out


def test_lower_bound_gap_shrinks_like_t_to_the_minus_one_third():
    deltas = []
    for T in HORIZONS:
        g = gaps(gym_llmroute.make_scenario("lower-bound", horizon=T))
        assert g and np.allclose(g, g[0]), (T, g)
        assert g[0] * T ** (1 / 3) == pytest.approx(1.0, rel=1e-9)  # gap_constant 1 by default
        deltas.append(g[0])
    slope = np.polyfit(np.log(HORIZONS), np.log(deltas), 1)[0]
    assert slope == pytest.approx(-1 / 3, abs=1e-6)
    s = lower_bound_scenario(10_000, gap_constant=0.5)
    assert gaps(s)[0] == pytest.approx(0.5 * 10_000 ** (-1 / 3))


@pytest.mark.parametrize("T", HORIZONS)
def test_lower_bound_is_a_valid_world_at_every_horizon_of_the_experiment(T):
    s = gym_llmroute.make_scenario("lower-bound", horizon=T)
    K = round(T ** (1 / 3))
    assert (s.horizon, s.n_stages, s.max_deployed) == (T, K, 1)
    waves = (K - 1) // 3
    assert s.n_models == 1 + 2 * waves and waves >= 3
    # Pure exploration: equal, deterministic costs well inside the budget, caps of one.
    assert np.all(s.mean_cost == 0.5) and s.budget == 1.0 and s.cost_range == (0.5, 0.5)
    assert np.all(s.throughput == 1.0)
    # Each wave arrives at a stage boundary and lifts the oracle by exactly one gap.
    delta = T ** (-1 / 3)
    steps = np.diff(s.oracle.values)
    assert np.allclose(steps[steps > 1e-12], delta) and int((steps > 1e-12).sum()) == waves
    assert s.oracle.values[0] == pytest.approx(0.3) and s.oracle.values[-1] == pytest.approx(0.3 + waves * delta)
    assert s.oracle.deployed.sum(axis=1).tolist() == [1] * K
    # Every wave holds one improver and one dud, as good as the best model before it.
    assert gaps(s) == pytest.approx([delta] * waves)
    env = gym.make("LLMRoute-v0", scenario="lower-bound", horizon=T)
    assert env.unwrapped.scenario.n_stages == K


def test_lower_bound_punishes_static_and_not_the_oracle():
    env = gym.make("LLMRoute-v0", scenario="lower-bound", horizon=1_000)
    oracle = agents.run_episode(agents.make("oracle", env, seed=0), env, 0)
    static = agents.run_episode(agents.make("static", env, seed=0), env, 0)
    stageroute = agents.run_episode(agents.make("stageroute", env, seed=0), env, 0)
    assert oracle["regret"] == pytest.approx(0.0, abs=1e-9)
    assert static["regret"] > 2 * stageroute["regret"] > 0
    assert static["deployments"] == [static["deployments"][0]] * 10  # never adopts a newcomer


def test_lower_bound_refuses_bad_arguments_with_their_name():
    with pytest.raises(ValueError, match="horizon"):
        lower_bound_scenario(0)
    with pytest.raises(ValueError, match="wave_every"):
        lower_bound_scenario(1_000, wave_every=0)
    with pytest.raises(ValueError, match="gap_constant"):
        lower_bound_scenario(1_000, gap_constant=-1.0)
    with pytest.raises(ValueError, match="ladder's top"):
        lower_bound_scenario(1_000, gap_constant=5.0)
    with pytest.raises(ValueError, match="n_stages"):
        lower_bound_scenario(1_000, n_stages=0)


def test_lower_bound_is_listed_with_a_one_line_summary():
    line = gym_llmroute.list_scenarios()["lower-bound"]
    assert line and "\n" not in line and "T^(2/3)" in line


# ------------------------------------------------------------------------------ the experiment script
def test_bootstrap_slope_recovers_a_power_law():
    rng = np.random.default_rng(0)
    by_T = {T: list(3.0 * T ** (2 / 3) * rng.uniform(0.9, 1.1, size=10)) for T in HORIZONS}
    slope, lo, hi = pe.bootstrap_slope(by_T)
    assert slope == pytest.approx(2 / 3, abs=0.02) and lo <= slope <= hi and hi - lo < 0.05
    assert math.isnan(pe.bootstrap_slope({1_000: [0.0, 0.0], 10_000: [1.0, 1.0]})[0])


def test_quick_run_writes_every_output_and_replot_rebuilds_them(tmp_path, capsys):
    out = tmp_path / "paper"
    pe.main(["--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    for name in pe.EXPERIMENTS:
        data = json.loads((out / f"{name}.json").read_text())
        assert data["experiment"] == name and data["quick"] and data["episodes"]
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        md = (out / f"{name}.md").read_text()
        assert "±" in md and "holds?" in md and f"--only {name}" in md
        assert f"[{name}]" in printed
    readme = (out / "README.md").read_text()
    assert "## All claims" in readme and all(f"({name}.png)" in readme for name in pe.EXPERIMENTS)
    # The refusals are reported, not run: M_max = 1 cannot cover a stage in the paper world.
    mmax = json.loads((out / "mmax.json").read_text())
    assert any(s["world"] == "paper" and s["setting"] == 1 and "infeasible" in s["reason"] for s in mmax["skipped"])
    assert not any(e["world"] == "paper" and e["setting"] == 1 for e in mmax["episodes"])
    budget = json.loads((out / "budget.json").read_text())
    assert any("infeasible" in s["reason"] for s in budget["skipped"])
    # The regret traces and deployments the figures need are in the JSON.
    regret = json.loads((out / "regret.json").read_text())
    assert all(len(e["trace_t"]) == len(e["trace_regret"]) > 10 for e in regret["episodes"])
    heat = json.loads((out / "heatmap.json").read_text())
    assert heat["reference"]["paper"]["oracle"] and all("deployments" in e for e in heat["episodes"])

    # --replot: tables and figures again from the JSON, which it leaves untouched.
    before = {name: (out / f"{name}.json").read_bytes() for name in ("scaling", "heatmap")}
    for name in before:
        (out / f"{name}.md").unlink()
        (out / f"{name}.png").unlink()
    pe.main(["--replot", "--out", str(out), "--only", "scaling,heatmap"])
    for name, raw in before.items():
        assert (out / f"{name}.json").read_bytes() == raw
        assert (out / f"{name}.png").stat().st_size > 0 and "holds?" in (out / f"{name}.md").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "nope"], "unknown experiment"),
        (["--only", ","], "unknown experiment"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--seeds", "1"], "must be >= 2"),
        (["--scaling-seeds", "1"], "must be >= 2"),
        (["--quick", "--replot"], "exclude each other"),
        (["--replot"], "no results to replot"),
        (["--seeds", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as err:
        pe.main(argv + ["--out", str(tmp_path / "empty")] if "--out" not in argv else argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_out_must_be_a_directory(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(SystemExit):
        pe.main(["--quick", "--out", str(path)])
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.slow
def test_stageroute_regret_on_the_lower_bound_world_grows_like_t_to_the_two_thirds():
    """The experiment's main target at 5 seeds (about a minute)."""
    regrets = {"stageroute": {}, "static": {}}
    for T in HORIZONS:
        env = gym.make("LLMRoute-v0", scenario="lower-bound", horizon=T)
        for name, by_T in regrets.items():
            by_T[T] = [agents.run_episode(agents.make(name, env, seed=s), env, s)["regret"] for s in range(5)]
    assert 0.6 <= pe.bootstrap_slope(regrets["stageroute"])[0] <= 0.75
    assert pe.bootstrap_slope(regrets["static"])[0] > 0.9
