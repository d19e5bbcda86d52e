"""The generalization experiment (agents/experiments/generalization.py): its episodes, the lockstep
scoring of learned agents (equal to run_episode's), resuming, and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.evaluation import run_episode
from agents.experiments.generalization import GROUPS, HELD_OUT_START, Setup, _WorldReset, cases_of, play_learned, run
from agents.rl import load_agent
from gym_llmroute import make_scenario

pytest.importorskip("sb3_contrib")

TINY = Setup(
    policies=("set",),
    seeds=(0,),
    steps=256,
    hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    train_episodes=3,
    held_out_episodes=3,
    zero_shot_episodes=2,
    baselines=("stageroute", "random", "oracle"),
    horizon=120,
)


def test_cases_cover_every_group_and_keep_held_out_worlds_out_of_the_training_split():
    cases = cases_of(Setup())
    assert [g for g in GROUPS if any(c.group == g for c in cases)] == list(GROUPS)
    train = [c for c in cases if c.group == "train"]
    held = [c for c in cases if c.group == "held-out"]
    assert len(train) == len(held) == 100
    assert all(0 <= c.world < 200 for c in train) and all(c.seed >= 10_000 for c in train)
    assert all(c.world >= HELD_OUT_START for c in held)
    reordered = next(c for c in cases if c.group == "paper-reordered").env_kwargs["scenario"]
    paper = make_scenario("paper")
    assert reordered.model_names != paper.model_names  # another order of the same models
    assert sorted(reordered.model_names) == sorted(paper.model_names)
    assert reordered.oracle.total == pytest.approx(paper.oracle.total)


def test_run_trains_scores_resumes_and_writes_the_report(tmp_path):
    summary = run(TINY, tmp_path, progress=False)
    agents = [r["agent"] for r in summary["rows"]]
    assert agents == ["MaskablePPO (set, sampled)", "MaskablePPO (set, greedy)", "stageroute", "random", "oracle"]
    rows = {r["agent"]: r for r in summary["rows"]}
    assert rows["oracle"]["held-out"] > 0.9 > rows["random"]["held-out"]
    for g in GROUPS:
        assert np.isfinite(rows["stageroute"][g])
    table = (tmp_path / "generalization.md").read_text()
    assert "| MaskablePPO (set, greedy) |" in table and "held-out worlds" in table
    assert (tmp_path / "generalization.png").stat().st_size > 10_000
    # A second run reuses the model and the scores: same numbers, nothing retrained.
    stamp = (tmp_path / "models" / "maskableppo-set-seed0" / "model.zip").stat().st_mtime
    again = run(TINY, tmp_path, progress=False)
    assert again["rows"] == json.loads(json.dumps(summary["rows"]))
    assert (tmp_path / "models" / "maskableppo-set-seed0" / "model.zip").stat().st_mtime == stamp

    # Lockstep play is one batched forward pass per step over episodes of different worlds, each
    # scaled with its own world: with greedy actions it plays exactly the episodes of run_episode.
    model_dir = tmp_path / "models" / "maskableppo-set-seed0"
    cases = [c for c in cases_of(TINY) if c.group in ("train", "held-out", "paper-reordered")]
    lockstep = play_learned(model_dir, cases, deterministic=True)
    for case, score in zip(cases, lockstep, strict=True):
        env = _WorldReset(case.make_env(), case.options)
        out = run_episode(load_agent(model_dir, env), env, seed=case.seed, deterministic=True)
        assert out["reward_fraction"] == pytest.approx(score, rel=1e-12), case
