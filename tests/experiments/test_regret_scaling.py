"""agents/experiments/regret_scaling.py (run as benchmarks/regret_scaling.py): the gamma selection, the held-out rows, the target verdicts and a
tiny end-to-end run (the full experiment runs outside the test suite)."""

from __future__ import annotations

import json
import math

import pytest

from agents.experiments import regret_scaling as rs
from agents.policies.stageroute import DEFAULT_GAMMA


def episode(label: str, T: int, seed: int, regret: float, frac: float, spend: float = 0.9, served: int | None = None):
    return {
        "label": label,
        "horizon": T,
        "seed": seed,
        "regret": regret,
        "reward_fraction": frac,
        "spend_fraction": spend,
        "queries_served": T if served is None else served,
        "invalid_actions": 0,
    }


def test_summarise_keeps_config_order_then_held_out_rows():
    held = rs.held_out_configs()
    assert [c[1] for c in held] == list(rs.HELD_OUT_AGENTS)
    assert all(rs.HELD_OUT in c[0] and "(default)" in c[0] and c[2] == {} for c in held)
    eps = [episode(held[0][0], T, s, 10.0 * T, 0.9) for T in (100, 1000) for s in range(2)]
    eps += [episode("random", T, s, T, 0.2) for T in (100, 1000) for s in range(2)]
    eps += [episode(rs.DEFAULT, T, s, T**0.5, 0.9) for T in (100, 1000) for s in range(2)]
    rows = rs.summarise(eps, [100, 1000])
    assert [r["label"] for r in rows] == [rs.DEFAULT, "random", held[0][0]]
    assert rows[0]["slope"] == pytest.approx(0.5)
    assert rows[1]["slope"] == pytest.approx(1.0)


def test_targets_name_each_verdict():
    def row(slope, frac, half, spend, served):
        return {
            "slope": slope,
            "by_T": {
                1000: {
                    "reward_fraction": (frac, half),
                    "spend_fraction": (spend, 0.0),
                    "served_fraction": (served, 0.0),
                }
            },
        }

    met = "\n".join(rs.targets(row(0.6, 0.98, 0.005, 0.9, 1.0), 1000))
    assert met.count(": met") == 3 and "missed" not in met and "reaches down" not in met
    missed = rs.targets(row(0.9, 0.929, 0.02, 1.0, 0.98), 1000)
    assert "**missed**" in missed[0] and "**missed**" in missed[1] and "0.909" in missed[1]
    assert "ended some episodes early" in missed[2]
    edge = rs.targets(row(0.7, 0.975, 0.011, 0.8, 1.0), 1000)
    assert ": met on the mean (the 95% interval reaches down to 0.964)" in edge[1]
    assert rs.targets(row(0.7, 0.9, 0.0, 0.8, 1.0), 5) == ["- no episodes at T = 5"]
    assert "not measurable" in rs.targets(row(math.nan, 0.99, 0.01, 1.09, 1.0), 1000)[0]


def test_quick_run_writes_table_figure_and_json_and_replots(tmp_path, monkeypatch):
    # A smaller sweep keeps this a smoke test: two StageRoute gammas, one baseline, the oracle.
    monkeypatch.setattr(
        rs,
        "CONFIGS",
        [
            (rs.DEFAULT, "stageroute", {}),
            ("stageroute g=0.5", "stageroute", {"gamma": 0.5}),
            ("random", "random", {}),
            ("oracle", "oracle", {}),
        ],
    )
    rs.main(["--out", str(tmp_path), "--quick", "--workers", "1"])
    saved = json.loads((tmp_path / "regret_scaling.json").read_text())
    assert saved["horizons"] == [200, 1000] and saved["seeds"] == 2 and saved["holdout"] == 2
    assert saved["gamma"] == DEFAULT_GAMMA
    held = [e for e in saved["episodes"] if rs.HELD_OUT in e["label"]]
    assert {e["seed"] for e in held} == {2, 3}  # never the sweep's seeds
    assert len(held) == len(rs.HELD_OUT_AGENTS) * 2 * 2
    table = (tmp_path / "regret_scaling.md").read_text()
    assert "## Targets for the default StageRoute" in table and "[held out]" in table
    assert (tmp_path / "regret_scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "regret_scaling.md").unlink()
    rs.main(["--out", str(tmp_path), "--replot"])
    assert (tmp_path / "regret_scaling.md").read_text() == table
