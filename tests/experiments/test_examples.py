"""The examples run end to end at a small size (smoke tests), and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_quickstart_prints_one_row_per_episode(tmp_path):
    out = run_example("quickstart.py", "--episodes", "2", cwd=tmp_path)
    rows = [line for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert len(rows) == 2


def test_train_maskable_ppo_example_compares_with_stageroute_random_and_oracle(tmp_path):
    out = run_example(
        "train_maskable_ppo.py",
        "--steps",
        "1024",
        "--seeds",
        "1",
        "--horizon",
        "200",
        "--out",
        str(tmp_path / "m"),
        cwd=tmp_path,
    )
    names = [line.split()[0] for line in out.splitlines() if line.split()]
    for agent in ("maskableppo", "stageroute", "random", "oracle"):
        assert agent in names
    assert "SB3 evaluate_policy on MaskablePPO" in out
    assert (tmp_path / "m" / "model.zip").exists()


@pytest.mark.parametrize("view", ["deploy", "route"])
def test_single_level_view_example_trains_on_the_view_and_compares(view, tmp_path):
    out = run_example(
        "single_level_view.py",
        "--view",
        view,
        "--steps",
        "256",
        "--seeds",
        "1",
        "--horizon",
        "200",
        "--out",
        str(tmp_path / view),
        cwd=tmp_path,
    )
    assert "LagrangianReward(multiplier=2)" in out
    names = [line.split()[0] for line in out.splitlines() if line.split()]
    assert {"maskableppo", "stageroute", "random"} <= set(names)


def test_custom_agent_example_runs_through_evaluate_and_the_command_line(tmp_path):
    out = run_example("custom_agent.py", "--seeds", "1", "--horizon", "300", cwd=tmp_path)
    names = [line.split()[0] for line in out.splitlines() if line.split()]
    assert {"affordable_greedy", "stageroute"} <= set(names)
    assert "custom_agent:AffordableGreedyAgent on LLMRoute-v0" in out
