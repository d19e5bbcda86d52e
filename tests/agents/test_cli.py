"""The ``llmroute`` command line: help, argument errors, scenarios, run, and a resumable bench."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents import cli
from agents.cli import build_parser, main, parse_seeds
from agents.experiments import jobs, ray_backend, sweep

TINY_WORLD = ["--horizon", "120", "--n-stages", "3"]


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_has_help_text():
    parsers = subcommand_parsers()
    assert set(parsers) == {"run", "bench", "train", "scenarios"}
    for name, parser in parsers.items():
        options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
        assert len(options) >= 1
        for action in options:
            assert action.help and len(action.help) > 10, (name, action.dest)
        text = parser.format_help()
        for action in options:
            for flag in action.option_strings:
                assert flag in text


def test_help_exits_zero_and_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "bench", "train", "scenarios"):
        assert command in out


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["run"], "--agent"),
        (["run", "--agent", "nobody"], "--agent"),
        (["run", "--agent", "random", "--seeds", "4-2"], "--seeds"),
        (["run", "--agent", "random", "--seeds", "x"], "--seeds"),
        (["run", "--agent", "random", "--horizon", "0"], "--horizon"),
        (["run", "--agent", "random", "--budget", "0.0001"], "--budget"),
        (["run", "--agent", "random", "--n-stages", "5000"], "--n-stages"),
        (["run", "--agent", "random", "--scenario", "atlantis"], "--scenario"),
        (["run", "--agent", "random", "--env", "CartPole-v1"], "--env"),
        (["run", "--agent", "ppo"], "--model"),
        (["run", "--agent", "ppo", "--model", "/nonexistent/model"], "--model"),
        (["run", "--agent", "random", "--model", "/tmp/x.zip"], "--model"),
        (["run", "--agent", "stageroute", "--shield"], "--shield"),
        (["run", "--agent", "ppo", "--model", "/tmp/x.zip", "--shield"], "--shield"),
        (["run", "--agent", "stageroute", "--gamma", "-1"], "--gamma"),
        (["bench", "--agents", "random", "--ray-address", "10.0.0.1:6379"], "--ray-address"),
        (["bench", "--agents", "random", "--backend", "slurm"], "--backend"),
        (["bench", "--agents", "random,robot"], "--agents"),
        (["bench", "--agents", "random", "--envs", "LLMRoute-v9"], "--envs"),
        (["bench", "--agents", "random", "--jobs", "0"], "--jobs"),
        (["run", "--agent", "random", "--num-worlds", "100"], "--num-worlds"),
        (["run", "--agent", "random", "--env", "LLMRoute-Market-v0", "--start-world", "5"], "--start-world"),
        (["run", "--agent", "random", "--env", "LLMRoute-Gen-v0", "--scenario", "paper"], "--scenario"),
        (["run", "--agent", "random", "--env", "LLMRoute-Gen-v0", "--num-worlds", "-1"], "--num-worlds"),
        (["run", "--agent", "random", "--env", "LLMRoute-Gen-v0", "--pad-to", "12"], "--pad-to"),
        (["run", "--agent", "random", "--pad-to", "3"], "--pad-to"),
        (["train", "--algo", "ppo", "--start-world", "3"], "--start-world"),
        (["bench", "--agents", "random", "--envs", "LLMRoute-Gen-v0", "--scenarios", "paper"], "--scenarios"),
        (["bench", "--agents", "random", "--envs", "LLMRoute-v0,LLMRoute-Gen-v0", "--num-worlds", "5"], "--num-worlds"),
        (["bench", "--agents", "random", "--envs", "LLMRoute-Gen-v0", "--train-worlds", "0:"], "--train-worlds"),
        (["bench", "--agents", "random", "--envs", "LLMRoute-Gen-v0", "--train-worlds", "-1:5"], "--train-worlds"),
        (["bench", "--agents", "random", "--train-worlds", "0:200"], "--train-worlds"),
        (["bench", "--agents", "random,dqn", "--policy", "set"], "--policy"),
        (["train", "--algo", "sarsa"], "--algo"),
        (["train", "--algo", "ppo", "--steps", "-5"], "--steps"),
        (["train", "--algo", "ppo", "--lagrange-step", "0.1"], "--lagrange-step"),
        (["train", "--algo", "ppo", "--steps", "0"], "--steps"),
        (["train", "--algo", "ppo", "--warm-start", "robot"], "--warm-start"),
        (["train", "--algo", "dqn", "--warm-start", "stageroute"], "--warm-start"),
        (["train", "--algo", "ppo", "--warm-start", "stageroute", "--dagger-rounds", "-1"], "--dagger-rounds"),
        (["train", "--algo", "ppo", "--warm-start", "stageroute", "--dagger-play", "softmax"], "--dagger-play"),
        (["scenarios", "atlantis"], "name"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_name_the_argument(argv, flag, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err or f"arguments are required: {flag}" in err, err


def test_parse_seeds_accepts_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5,1,5") == [5, 1]
    assert parse_seeds("0-1,10") == [0, 1, 10]


def test_scenarios_lists_presets_and_describes_one_with_its_oracle(capsys):
    assert main(["scenarios"]) == 0
    listing = capsys.readouterr().out
    assert listing.splitlines()[0].startswith("paper")
    assert main(["scenarios", "paper", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["n_stages"] == 12 and len(described["models"]) == 12
    assert described["oracle_value"] == pytest.approx(sum(described["oracle_value_per_stage"]) * 1728 / 12, rel=1e-9)


def test_run_prints_one_row_per_seed_and_writes_the_episodes(tmp_path, capsys):
    out = tmp_path / "episodes.json"
    assert main(["run", "--agent", "greedy", "--seeds", "0-2", "--no-progress", "--out", str(out), *TINY_WORLD]) == 0
    text = capsys.readouterr().out
    assert "mean over 3 seeds" in text
    episodes = json.loads(out.read_text())
    assert [e["seed"] for e in episodes] == [0, 1, 2]
    assert all(e["horizon"] == 120 and e["agent"] == "greedy" for e in episodes)


def test_run_piped_prints_plain_rows_and_no_progress_bar(capsys):
    # Under capsys, as in a pipe, stdout and stderr are not terminals.
    assert main(["run", "--agent", "random", "--seeds", "0-2", *TINY_WORLD]) == 0
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [row.split()[0] for row in rows] == ["0", "1", "2"]
    assert "\r" not in captured.out and "episodes" not in captured.err and "\r" not in captured.err


def bench_args(out: Path, agents: str = "random,oracle", seeds: str = "0-1") -> list[str]:
    return [
        "bench",
        "--agents",
        agents,
        "--seeds",
        seeds,
        "--out",
        str(out),
        "--no-progress",
        "--no-plots",
        *TINY_WORLD,
    ]


def run_files(out: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}


def test_bench_writes_a_table_with_confidence_intervals_and_a_csv(tmp_path, capsys):
    assert main(bench_args(tmp_path, seeds="0-2")) == 0
    md = (tmp_path / "results.md").read_text()
    assert "| LLMRoute-v0 | paper | random | - | 3 |" in md and "±" in md
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["agent"] for r in rows] == ["random", "oracle"]
    oracle = rows[1]
    assert float(oracle["reward_fraction_mean"]) > float(rows[0]["reward_fraction_mean"])
    assert float(oracle["reward_ci"]) >= 0.0 and oracle["n"] == "3"


def test_bench_rerun_recomputes_nothing_and_only_missing_runs(tmp_path, capsys):
    assert main(bench_args(tmp_path)) == 0
    first = run_files(tmp_path)
    assert len(first) == 4
    assert main(bench_args(tmp_path)) == 0
    assert run_files(tmp_path) == first
    assert "0 job(s) run, 4 already done" in capsys.readouterr().out
    victim = sorted(first)[0]
    (tmp_path / "runs" / victim).unlink()
    assert main(bench_args(tmp_path)) == 0
    again = run_files(tmp_path)
    assert {k: v for k, v in again.items() if k != victim} == {k: v for k, v in first.items() if k != victim}
    assert "1 job(s) run, 3 already done" in capsys.readouterr().out


def test_bench_interrupted_by_ctrl_c_keeps_finished_runs_and_a_rerun_finishes(tmp_path, capsys, monkeypatch):
    real_run = jobs.EvalRun.run
    calls = {"n": 0}

    def flaky_run(self, out):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_run(self, out)

    monkeypatch.setattr(jobs.EvalRun, "run", flaky_run)
    assert main(bench_args(tmp_path)) == 130
    assert "resume" in capsys.readouterr().err
    kept = run_files(tmp_path)
    assert len(kept) == 2
    assert not list((tmp_path / "runs").glob(".*"))  # no temp file left behind
    monkeypatch.setattr(jobs.EvalRun, "run", real_run)
    assert main(bench_args(tmp_path)) == 0
    assert "2 job(s) run, 2 already done" in capsys.readouterr().out
    done = run_files(tmp_path)
    assert len(done) == 4 and all(done[k] == v for k, v in kept.items())


def test_bench_in_worker_processes_matches_the_in_process_results(tmp_path, capsys):
    assert main(bench_args(tmp_path / "a", agents="stageroute", seeds="0-1")) == 0
    assert main([*bench_args(tmp_path / "b", agents="stageroute", seeds="0-1"), "--jobs", "2"]) == 0
    for name in run_files(tmp_path / "a"):
        a = json.loads((tmp_path / "a" / "runs" / name).read_text())
        b = json.loads((tmp_path / "b" / "runs" / name).read_text())
        assert (a["reward"], a["regret"], a["trace"]) == (b["reward"], b["regret"], b["trace"])


def test_bench_plots_are_written_as_png(tmp_path, capsys):
    args = [a for a in bench_args(tmp_path, agents="stageroute,random", seeds="0-1") if a != "--no-plots"]
    assert main(args) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["deployment_LLMRoute-v0_paper.png", "regret_LLMRoute-v0_paper.png", "spend_LLMRoute-v0_paper.png"]
    for name in pngs:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_script_runs_the_cli():
    script = Path(sys.executable).with_name("llmroute")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "agents.cli"]
    out = subprocess.run([*cmd, "scenarios"], capture_output=True, text=True, timeout=60, env={**os.environ})
    assert out.returncode == 0 and "paper" in out.stdout, out.stderr
    bad = subprocess.run(
        [*cmd, "bench", "--agents", "random", "--jobs", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--jobs" in bad.stderr


def test_cli_module_keeps_torch_out_of_scenarios_and_run():
    code = "import sys; from agents.cli import main; main(['scenarios']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
    assert cli.RL_ALGOS == ("maskableppo", "ppo", "a2c", "dqn")


def test_real_ctrl_c_on_a_parallel_bench_exits_130_and_the_rerun_does_only_what_is_left(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C does, with worker processes."""
    import signal
    import time

    script = Path(sys.executable).with_name("llmroute")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "agents.cli"]
    cmd += ["bench", "--agents", "stageroute", "--seeds", "0-3", "--out", str(tmp_path), "--jobs", "2"]
    cmd += ["--no-plots", "--no-progress", "--horizon", "15000", "--n-stages", "25"]

    def start():
        return subprocess.Popen(
            cmd,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    proc = start()
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("runs/*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    kept = run_files(tmp_path)
    assert 1 <= len(kept) < 4
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{4 - len(kept)} job(s) run, {len(kept)} already done" in rerun.stdout
    assert all(run_files(tmp_path)[k] == v for k, v in kept.items())


def test_bench_backend_ray_hands_the_pending_jobs_and_the_address_to_the_ray_runner(tmp_path, capsys, monkeypatch):
    """The Ray runner itself is tested with Ray; here a stand-in runs the jobs in this process."""
    calls = []

    def fake_run_ray(todo, out, bar, counts, address=None):
        calls.append(([job.name for job in todo], address))
        for job in todo:
            jobs.execute(job, str(out))
            counts["ran"] += 1

    monkeypatch.setattr(ray_backend, "run_ray", fake_run_ray)
    args = [*bench_args(tmp_path), "--backend", "ray", "--ray-address", "10.0.0.1:6379"]
    assert main(args) == 0
    assert len(calls) == 1 and len(calls[0][0]) == 4 and calls[0][1] == "10.0.0.1:6379"
    assert len(run_files(tmp_path)) == 4
    assert main(args) == 0  # resumes like a local bench: nothing left to hand over
    assert len(calls) == 1


def test_world_ids_bench_on_their_own_scenario_unless_scenarios_are_given():
    trains, runs = sweep.plan_bench(["random"], ["LLMRoute-v0", "LLMRoute-Market-v0", "LLMRoute-Typed-v0"], None, [0])
    assert [(r.env_id, r.scenario) for r in runs] == [
        ("LLMRoute-v0", "paper"),
        ("LLMRoute-Market-v0", "market"),
        ("LLMRoute-Typed-v0", "typed"),
    ]
    _, runs = sweep.plan_bench(["random"], ["LLMRoute-Deploy-v0"], ["trace"], [0])
    assert [(r.env_id, r.scenario) for r in runs] == [("LLMRoute-Deploy-v0", "trace")]


def test_run_on_a_world_id_uses_its_scenario(tmp_path, capsys):
    assert (
        main(["run", "--agent", "random", "--env", "LLMRoute-Trace-v0", "--seeds", "0", "--no-progress", *TINY_WORLD])
        == 0
    )
    from gym_llmroute import make_scenario

    n_trace, n_paper = make_scenario("trace").n_models, make_scenario("paper").n_models
    assert n_trace != n_paper
    assert f"random on LLMRoute-Trace-v0 (N={n_trace} models" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------- your own agent
MY_AGENT = """
import numpy as np
import agents


class LowestIndexAgent(agents.Agent):
    name = "lowest_index"

    def plan_deployment(self, obs, ctx):
        return np.flatnonzero(obs["available"] > 0.5)[: self.max_deployed].tolist()

    def route(self, obs, ctx):
        return int(np.flatnonzero(self.valid_routes(obs))[0])
"""


@pytest.fixture
def my_package(tmp_path, monkeypatch):
    """A package of the user's, my_pkg.my_module, importable from ``tmp_path``."""
    (tmp_path / "my_pkg").mkdir()
    (tmp_path / "my_pkg" / "__init__.py").write_text("")
    (tmp_path / "my_pkg" / "my_module.py").write_text(MY_AGENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_run_and_bench_take_an_agent_class_by_import_path(my_package, tmp_path, capsys):
    spec = "my_pkg.my_module:LowestIndexAgent"
    assert main(["run", "--agent", spec, "--seeds", "0-1", "--no-progress", *TINY_WORLD]) == 0
    assert f"{spec} on LLMRoute-v0" in capsys.readouterr().out
    out = tmp_path / "bench"
    assert main(bench_args(out, agents=f"stageroute,{spec}")) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["agent"] for r in rows] == ["stageroute", spec] and rows[1]["n"] == "2"
    assert (
        out / "runs" / "LLMRoute-v0__paper__my_pkg.my_module-LowestIndexAgent__s1__horizon-120_n_stages-3.json"
    ).exists()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("my_pkg.nowhere:Agent", "cannot import the module"),
        ("my_pkg.my_module:Missing", "has no attribute 'Missing'"),
        ("my_pkg.my_module:", "must look like"),
    ],
)
def test_a_bad_import_path_exits_2_naming_the_option(my_package, spec, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--agents", f"random,{spec}", "--no-plots", *TINY_WORLD])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --agents" in err and message in err


def test_console_script_imports_an_agent_from_the_current_folder(my_package):
    script = Path(sys.executable).with_name("llmroute")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "agents.cli"]
    cmd += ["run", "--agent", "my_pkg.my_module:LowestIndexAgent", "--no-progress", *TINY_WORLD]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=my_package)
    assert out.returncode == 0, out.stderr
    assert "my_pkg.my_module:LowestIndexAgent on LLMRoute-v0" in out.stdout


GEN = ["--env", "LLMRoute-Gen-v0"]
HELD_OUT = ["--start-world", "1000000", "--num-worlds", "100"]


def table_rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split() and line.split()[0].isdigit()]


def test_run_on_generated_worlds_prints_the_world_of_each_episode(tmp_path, capsys):
    import gymnasium as gym

    out = tmp_path / "episodes.json"
    argv = ["run", "--agent", "stageroute", *GEN, *HELD_OUT, "--seeds", "0-2", "--no-progress", *TINY_WORLD]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "stageroute on LLMRoute-Gen-v0 (worlds 1000000-1000099" in text
    assert text.splitlines()[1].split()[:2] == ["seed", "world"]
    shown = [int(row[1]) for row in table_rows(text)]
    env = gym.make("LLMRoute-Gen-v0", start_world=10**6, num_worlds=100)
    assert shown == [env.reset(seed=s)[1]["world"] for s in range(3)]
    assert all(10**6 <= w < 10**6 + 100 for w in shown)
    episodes = json.loads(out.read_text())
    assert [e["world"] for e in episodes] == shown
    assert episodes[0]["scenario"] == "worlds 1000000-1000099" and episodes[0]["env_kwargs"]["num_worlds"] == 100
    # Other envs keep their table and report no world.
    assert main(["run", "--agent", "random", "--seeds", "0", "--no-progress", *TINY_WORLD]) == 0
    assert "world" not in capsys.readouterr().out


def test_run_with_pad_to_plays_on_padded_spaces(tmp_path, capsys):
    out = tmp_path / "episodes.json"
    argv = ["run", "--agent", "greedy", "--pad-to", "20", "--seeds", "0", "--no-progress", "--out", str(out)]
    assert main([*argv, *TINY_WORLD]) == 0
    (episode,) = json.loads(out.read_text())
    assert episode["env_kwargs"]["pad_to"] == 20 and episode["queries_served"] == 120
    assert len(episode["deployed"][0]) == 12  # the world's models, not the padding


def test_train_on_generated_worlds_prints_hints_that_run(tmp_path, capsys):
    pytest.importorskip("sb3_contrib")
    model = tmp_path / "model"
    argv = ["train", "--algo", "maskableppo", "--policy", "set", *GEN, "--num-worlds", "20", "--steps", "256"]
    argv += ["--n-envs", "1", "--out", str(model), "--no-progress", "--no-tensorboard", *TINY_WORLD]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    hints = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines if ": llmroute run" in line}
    assert set(hints) == {"evaluate", "held-out worlds"}
    meta = json.loads((model / "train.json").read_text())
    assert meta["env_kwargs"] == {"num_worlds": 20, "horizon": 120, "n_stages": 3}
    for name, first in (("evaluate", 0), ("held-out worlds", 10**6)):
        hint = hints[name]
        assert "--scenario" not in hint and "--horizon 120 --n-stages 3" in hint
        assert main([*hint.split()[1:], "--no-progress"]) == 0
        worlds = [int(row[1]) for row in table_rows(capsys.readouterr().out)]
        assert len(worlds) == 5 and all(first <= w < first + 20 for w in worlds), (name, worlds)


def test_bench_plans_training_worlds_apart_from_the_scored_worlds():
    kwargs = {"num_worlds": 100, "start_world": 10**6}
    trains, runs = sweep.plan_bench(["random", "ppo"], ["LLMRoute-Gen-v0"], None, [0], env_kwargs=kwargs)
    (train,) = trains
    assert train.env_kwargs == {"num_worlds": 200, "start_world": 0} and train.scenario == "worlds 0-199"
    assert [(r.scenario, r.env_kwargs) for r in runs] == [("worlds 1000000-1000099", kwargs)] * 2
    assert runs[1].train is train and train.policy == "mlp"
    names = {runs[1].name, train.name}
    for policy, worlds in (("set", None), ("mlp", (0, 50)), ("mlp", (7, 200))):
        other_trains, other_runs = sweep.plan_bench(
            ["random", "ppo"], ["LLMRoute-Gen-v0"], None, [0], env_kwargs=kwargs, policy=policy, train_worlds=worlds
        )
        assert other_runs[0].name == runs[0].name  # a reference agent does not train
        assert {other_runs[1].name, other_trains[0].name}.isdisjoint(names), (policy, worlds)
        names |= {other_runs[1].name, other_trains[0].name}
    with pytest.raises(ValueError, match="takes no scenarios"):
        sweep.plan_bench(["random"], ["LLMRoute-Gen-v0"], ["paper"], [0])


def test_bench_trains_on_some_generated_worlds_and_scores_on_others(tmp_path, capsys):
    argv = ["bench", "--agents", "random,ppo", "--envs", "LLMRoute-Gen-v0", "--train-worlds", "0:20", *HELD_OUT]
    argv += ["--seeds", "0-1", "--train-steps", "64", "--out", str(tmp_path), "--no-progress", "--no-plots"]
    argv += [*TINY_WORLD]
    assert main(argv) == 0
    assert main([*argv, "--policy", "set"]) == 0  # other models and runs of them, the same random runs
    assert "4 job(s) run, 2 already done" in capsys.readouterr().out
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "runs").glob("*.json"))]
    assert (
        sorted((r["agent"], r.get("policy")) for r in records)
        == [("ppo", "mlp")] * 2 + [("ppo", "set")] * 2 + [("random", None)] * 2
    )
    assert all(10**6 <= r["world"] < 10**6 + 100 and r["scenario"] == "worlds 1000000-1000099" for r in records)
    trained = [json.loads(p.read_text()) for p in sorted((tmp_path / "models").glob("*/train.json"))]
    assert len(trained) == 4
    assert all(t["env_kwargs"] == {"num_worlds": 20, "start_world": 0, "horizon": 120, "n_stages": 3} for t in trained)
    assert sorted(t["policy"] for t in trained) == ["mlp", "mlp", "set", "set"]
