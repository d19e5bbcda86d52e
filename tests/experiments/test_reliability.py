"""Crash safety and backends of ``llmroute bench``: kill -9 mid-sweep and resume; Ray equals local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SWEEP = ["--agents", "stageroute,greedy,random,oracle", "--seeds", "0-3", "--horizon", "4000", "--n-stages", "16"]
SWEEP += ["--no-plots", "--no-progress"]


def llmroute(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("llmroute")
    return ([str(script)] if script.exists() else [sys.executable, "-m", "agents.cli"]) + list(args)


def runs(out: Path) -> dict[str, dict]:
    """Run files of a bench folder, without the measured wall time."""
    found = {}
    for path in sorted((out / "runs").glob("*.json")):
        record = json.loads(path.read_text())
        record.pop("wall_time_s", None)
        found[path.name] = record
    return found


def table_rows(out: Path) -> list[str]:
    return (out / "results.csv").read_text().splitlines()


def test_kill_9_mid_sweep_then_rerun_equals_an_uninterrupted_sweep(tmp_path):
    ref, crashed = tmp_path / "ref", tmp_path / "crashed"
    done = subprocess.run(llmroute("bench", *SWEEP, "--out", str(ref)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert len(runs(ref)) == 16

    proc = subprocess.Popen(
        llmroute("bench", *SWEEP, "--out", str(crashed)),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while len(list(crashed.glob("runs/*.json"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # no handler runs: the hardest way to stop
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    kept = runs(crashed)
    assert 3 <= len(kept) < 16, "the kill should land mid-sweep"
    kept_bytes = {p.name: p.read_bytes() for p in (crashed / "runs").glob("*.json")}

    again = subprocess.run(
        llmroute("bench", *SWEEP, "--out", str(crashed)), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    assert f"{16 - len(kept)} job(s) run, {len(kept)} already done" in again.stdout
    # Every finished run kept as it was, none counted twice, and the same results as without the kill.
    assert all((crashed / "runs" / name).read_bytes() == data for name, data in kept_bytes.items())
    assert runs(crashed) == runs(ref)
    assert table_rows(crashed) == table_rows(ref)
    assert not [p for p in crashed.rglob("*") if p.name.endswith(".tmp")], "temp files left behind"


def test_ray_backend_gives_the_same_runs_and_table_as_the_local_backend(tmp_path):
    pytest.importorskip("ray")
    sweep = ["--agents", "stageroute,oracle", "--seeds", "0-1", "--horizon", "300", "--n-stages", "3"]
    sweep += ["--no-plots", "--no-progress"]
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    for out, backend in ((local, "local"), (on_ray, "ray")):
        done = subprocess.run(
            llmroute("bench", *sweep, "--out", str(out), "--backend", backend),
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert len(runs(local)) == 4
    assert runs(on_ray) == runs(local)
    assert table_rows(on_ray) == table_rows(local)
