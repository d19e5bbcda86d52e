"""benchmarks/learning_curves.py (agents/experiments/curves.py): the training runs' curves side by
side, and its refusals."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from agents.experiments import curves  # noqa: E402
from agents.experiments.plots import plot_learning_curves  # noqa: E402
from agents.rl import read_monitor, train  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(
        "maskableppo",
        "LLMRoute-Gen-v0",
        policy="set",
        total_timesteps=2048,
        out_dir=out,
        env_kwargs={"num_worlds": 5, "pad_to": 40, "horizon": 200, "n_stages": 4},
        hyperparams={"n_envs": 2, "n_steps": 256, "batch_size": 64, "n_epochs": 1},
        tensorboard=False,
    )
    return out


def test_curves_of_runs_are_drawn_per_value(run, tmp_path, capsys):
    monitor = read_monitor(run / "monitor")
    assert monitor["reward"].size >= 4  # enough episodes to draw
    assert curves.main([f"{run}=one", f"{run}=two", "--out", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in written] == ["reward_fraction.png", "spend_fraction.png"]
    for name in ("reward_fraction.png", "spend_fraction.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_curves_refuse_what_is_not_a_run_or_a_value(run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        curves.main([str(tmp_path), "--out", str(tmp_path)])
    assert "is not a training run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        curves.main([str(run), "--values", "regret", "--out", str(tmp_path)])
    assert "unknown ['regret']" in capsys.readouterr().err
    with pytest.raises(ValueError, match="value must be one of"):
        plot_learning_curves({}, tmp_path / "x.png", value="regret")
