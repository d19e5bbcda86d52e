"""Bad input at every door gets a clear error naming what is wrong, and leaves nothing half-written.

One table, one row per case: scenario fields, ``gym.make`` keyword arguments, ``reset`` options,
actions of the wrong type, trace files, CLI arguments (exit status 2, the argument named), a corrupt
results folder and a saved model that does not match the env.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gym_llmroute  # noqa: F401
from gym_llmroute import ModelSpec, Scenario
from gym_llmroute.trace import load_trace

from .helpers import tiny_scenario

GOOD_MODEL = dict(name="a", quality=0.5, cost=0.1)


def model(**change):
    return lambda tmp: ModelSpec(**{**GOOD_MODEL, **change})


def scenario(**change):
    return lambda tmp: tiny_scenario(**change)


def make(**kwargs):
    return lambda tmp: gym.make("LLMRoute-v0", **kwargs)


def make_gen(**kwargs):
    return lambda tmp: gym.make("LLMRoute-Gen-v0", **kwargs)


def gen_reset_with(options):
    return lambda tmp: gym.make("LLMRoute-Gen-v0").reset(seed=0, options=options)


def reset_with(options):
    def run(tmp):
        env = gym.make("LLMRoute-v0")
        env.reset(seed=0, options=options)

    return run


def step_with(action):
    def run(tmp):
        env = gym.make("LLMRoute-v0")
        env.reset(seed=0)
        env.step(action)

    return run


TRACE_HEADER = "task,cheap,cheap|cost,strong,strong|cost"


def trace(text: str, name: str = "t.csv", **kwargs):
    def run(tmp: Path):
        path = tmp / name
        path.write_text(text)
        load_trace(path, **kwargs)

    return run


def pickled_trace(tmp: Path):
    path = tmp / "rb.pkl"
    path.write_bytes(pickle.dumps({"not": "read"}))
    load_trace(path)


CASES: list[tuple[str, Callable[[Path], object], type[BaseException], str]] = [
    # -- scenario fields
    ("model quality > 1", model(quality=1.2), ValueError, "quality must be in"),
    ("model negative cost", model(cost=-0.1), ValueError, "cost must be finite"),
    ("model zero throughput", model(throughput=0), ValueError, "throughput must be in"),
    ("model arrival at horizon", model(arrival=1.0), ValueError, "arrival must be"),
    ("model retires before arrival", model(arrival=0.5, retirement=0.2), ValueError, "retirement must be"),
    ("model cost spread 1", model(cost_spread=1.0), ValueError, "cost_spread must be"),
    ("scenario horizon 0", scenario(horizon=0), ValueError, "horizon must be"),
    ("scenario more stages than queries", scenario(horizon=5, n_stages=10), ValueError, "n_stages must be at most"),
    ("scenario max_deployed 0", scenario(max_deployed=0), ValueError, "max_deployed must be"),
    ("scenario budget 0", scenario(budget=0.0), ValueError, "budget must be a finite number > 0"),
    ("scenario budget mode", scenario(budget_mode="soft"), ValueError, "budget_mode must be one of"),
    ("scenario infeasible budget", scenario(budget=0.01), ValueError, "raise the budget to at least"),
    ("scenario caps too small", scenario(max_deployed=1), ValueError, "throughput caps"),
    ("scenario task mix", scenario(task_types=("a", "b"), task_mix=(0.2, 0.2)), ValueError, "task_mix must be"),
    (
        "scenario models not a tuple",
        lambda tmp: Scenario(models="abc", budget=1.0),
        TypeError,
        "models must be a sequence",
    ),
    # -- gym.make keyword arguments
    ("make unknown kwarg", make(horizn=10), TypeError, "horizn"),
    ("make unknown preset", make(scenario="papr"), ValueError, "unknown scenario 'papr'"),
    ("make negative horizon", make(horizon=-5), ValueError, "horizon must be"),
    ("make budget not a number", make(budget="cheap"), ValueError, "budget must be"),
    ("make bad budget mode", make(budget_mode="strict"), ValueError, "budget_mode"),
    ("make negative penalty", make(invalid_action_penalty=-1), ValueError, "invalid_action_penalty"),
    ("make render mode", make(render_mode="video"), ValueError, "render_mode"),
    ("make negative delay", make(feedback_delay=-1), ValueError, "feedback_delay"),
    (
        "make scenario of wrong type",
        make(scenario=42),
        TypeError,
        "scenario must be a preset name, a Scenario or a mapping of its fields",
    ),
    ("make pad_to below the catalog", make(pad_to=5), ValueError, "pad_to=5 is below the world's 12 models"),
    ("make pad_to not an integer", make(pad_to="big"), TypeError, "pad_to must be None or an integer"),
    ("gen negative num_worlds", make_gen(num_worlds=-1), ValueError, "num_worlds must be an integer >= 0"),
    ("gen fractional start_world", make_gen(start_world=1.5), ValueError, "start_world must be an integer >= 0"),
    ("gen pad_to below 40", make_gen(pad_to=12), ValueError, "pad_to must be an integer >= 40"),
    ("gen unknown kwarg", make_gen(num_levels=5), TypeError, "num_levels"),
    ("gen reset negative world", gen_reset_with({"world": -3}), ValueError, "options\\['world'\\] must be"),
    ("gen reset scenario field", gen_reset_with({"horizon": 50}), ValueError, "are gym.make arguments here"),
    # -- reset options
    ("reset unknown option", reset_with({"horizn": 5}), ValueError, "unknown reset option"),
    ("reset options not a dict", reset_with([("horizon", 5)]), TypeError, "reset options must be a dict"),
    ("reset changes n_models", reset_with({"scenario": tiny_scenario()}), ValueError, "n_models"),
    ("reset bad horizon", reset_with({"horizon": 0}), ValueError, "horizon must be"),
    # -- actions of the wrong type or shape
    ("action float", step_with(1.5), TypeError, "action must be an integer"),
    ("action vector", step_with(np.array([1, 2])), TypeError, "action must be an integer"),
    ("action string", step_with("1"), TypeError, "action must be an integer"),
    # -- trace files
    ("trace empty file", trace(""), ValueError, "t.csv"),
    (
        "trace missing cost column",
        trace("task,cheap,strong,strong|cost\nmath,1,0,0.1\n", models=["cheap", "strong"]),
        ValueError,
        r"missing column 'cheap\|cost'",
    ),
    ("trace NaN reward", trace(f"{TRACE_HEADER}\nmath,nan,0.01,1,0.1\n"), ValueError, "row"),
    ("trace reward above 1", trace(f"{TRACE_HEADER}\nmath,2,0.01,1,0.1\n"), ValueError, r"\[0, 1\]"),
    ("trace negative cost", trace(f"{TRACE_HEADER}\nmath,1,-0.01,1,0.1\n"), ValueError, "negative|>= 0"),
    ("trace unknown format", trace("x", name="t.xlsx"), ValueError, "format"),
    ("trace pickle without opt-in", pickled_trace, ValueError, "allow_pickle"),
    (
        "trace model with no rows",
        trace(f"{TRACE_HEADER}\nmath,1,0.01,,\n"),
        ValueError,
        "strong",
    ),
]


@pytest.mark.parametrize("case,run,exc,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(case, run, exc, pattern, tmp_path):
    before = set(tmp_path.rglob("*"))
    with pytest.raises(exc, match=pattern):
        run(tmp_path)
    # Nothing written beyond the inputs the case itself laid down.
    assert {p for p in tmp_path.rglob("*")} - before <= {p for p in tmp_path.iterdir()}


CLI_CASES = [
    (["run", "--agent", "nope"], "--agent"),
    (["run", "--agent", "random", "--seeds", "x"], "--seeds"),
    (["run", "--agent", "random", "--horizon", "-1"], "--horizon"),
    (["run", "--agent", "random", "--budget-mode", "soft"], "--budget-mode"),
    (["run", "--agent", "random", "--scenario", "nosuch"], "--scenario"),
    (["run", "--agent", "random", "--env", "CartPole-v1"], "--env"),
    (["run", "--agent", "random", "--num-worlds", "100"], "--num-worlds"),
    (["run", "--agent", "random", "--env", "LLMRoute-Gen-v0", "--scenario", "paper"], "--scenario"),
    (["run", "--agent", "random", "--pad-to", "3"], "--pad-to"),
    (["run", "--agent", "random", "--env", "LLMRoute-Gen-v0", "--num-worlds", "-1"], "--num-worlds"),
    (["bench", "--agents", "random", "--envs", "LLMRoute-Gen-v0", "--train-worlds", "0-200"], "--train-worlds"),
    (["bench", "--agents", "random,nope"], "--agents"),
    (["bench", "--agents", "random", "--ray-address", "auto"], "--ray-address"),
    (["bench", "--agents", "random", "--jobs", "0"], "--jobs"),
    (["train", "--algo", "ppo", "--steps", "-5"], "--steps"),
    (["train", "--algo", "sac"], "--algo"),
    (["scenarios", "nosuch"], "name"),
]


@pytest.mark.parametrize("argv,flag", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_bad_cli_argument_exits_2_naming_it(argv, flag, tmp_path, capsys, monkeypatch):
    from agents.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err, err
    assert not any(tmp_path.iterdir()), "a refused command must not write anything"


def test_corrupt_results_folder_is_named_and_nothing_else_is_lost(tmp_path, capsys):
    from agents.cli import main

    argv = ["bench", "--agents", "random", "--seeds", "0-1", "--horizon", "100", "--n-stages", "2"]
    argv += ["--out", str(tmp_path), "--no-plots", "--no-progress"]
    assert main(argv) == 0
    files = sorted((tmp_path / "runs").glob("*.json"))
    files[0].write_text('{"trunc')
    intact = files[1].read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"corrupt run file {files[0]}" in err and "delete it and rerun" in err
    assert files[1].read_bytes() == intact
    files[0].unlink()
    assert main(argv) == 0  # recomputed


def test_saved_model_that_does_not_match_the_env_is_refused(tmp_path):
    pytest.importorskip("stable_baselines3")
    from agents.rl import load_agent, train

    train(
        "ppo",
        "LLMRoute-v0",
        total_timesteps=64,
        seed=0,
        out_dir=tmp_path / "m",
        env_kwargs={"horizon": 60, "n_stages": 2},
        hyperparams={"n_steps": 32, "batch_size": 32, "n_envs": 1},
        progress_bar=False,
    )
    with pytest.raises(ValueError, match="does not match|spaces|n_models"):
        load_agent(tmp_path / "m", tiny_scenario())
    with pytest.raises(FileNotFoundError, match="no trained model"):
        load_agent(tmp_path / "elsewhere")
