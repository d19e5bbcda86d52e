"""What the benchmark scripts share (agents/experiments/local.py, report.py, agents/files.py): one
runner, the table cells and slopes, and atomic writes."""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agents.experiments.local import map_jobs
from agents.experiments.report import fit_slope, pm
from agents.files import atomic_write, atomic_write_json, atomic_write_text


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_map_jobs_returns_results_in_job_order_whatever_the_pool_and_start_order(workers):
    jobs = [5, 1, 4, 2, 3, 0]
    out = map_jobs(_square_with_pid, jobs, workers, "test", progress=False, longest_first=lambda j: j)
    assert [r for r, _ in out] == [j * j for j in jobs]
    pids = {pid for _, pid in out}
    assert (pids == {os.getpid()}) if workers == 1 else (os.getpid() not in pids)


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("job 3 failed")
    return x


@pytest.mark.parametrize("workers", [1, 2])
def test_map_jobs_raises_the_error_of_a_job(workers):
    with pytest.raises(ValueError, match="job 3 failed"):
        map_jobs(_fail_on_three, range(6), workers, "test", progress=False)


def test_pm_formats_mean_and_half_width():
    assert pm((0.91234, 0.0123), ".3f") == "0.912 ± 0.012"
    assert pm((0.5, math.nan), ".2f") == "0.50"  # one seed: no interval
    assert pm((math.nan, 0.1), ".2f") == "n/a"
    assert pm((0.25, 0.125), "+.2f") == "+0.25 ± 0.12"  # the sign is the mean's only


def test_fit_slope_recovers_a_power_law_and_refuses_non_positive_regret():
    Ts = [1_000, 10_000, 100_000]
    assert fit_slope(Ts, [3 * T ** (2 / 3) for T in Ts]) == pytest.approx(2 / 3)
    assert math.isnan(fit_slope(Ts, [1.0, 0.0, 5.0]))
    assert math.isnan(fit_slope(Ts[:1], [1.0]))


def test_atomic_write_replaces_the_file_readable_by_all_and_keeps_the_old_one_on_error(tmp_path):
    path = tmp_path / "sub" / "table.md"
    atomic_write_text(path, "first")
    assert path.read_text() == "first" and stat.S_IMODE(path.stat().st_mode) == 0o644

    def half_then_fail(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "first"
    assert sorted(p.name for p in path.parent.iterdir()) == ["table.md"]  # no temp file left
    atomic_write_json(path.with_suffix(".json"), {"a": [1, 2]})
    assert path.with_suffix(".json").read_text().replace("\n", "").replace(" ", "") == '{"a":[1,2]}'


BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
EXPERIMENTS = (
    "budget_ladder",
    "regret_scaling",
    "stageroute_ablation",
    "safe_explore_ablation",
    "clone_validation",
    "paper_experiments",
    "generated_worlds",
)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_a_benchmark_script_is_the_entry_point_of_its_experiment(name):
    """benchmarks/<name>.py only calls agents.experiments.<name>.main: its --help is the module's."""
    script = (BENCHMARKS / f"{name}.py").read_text()
    assert f"from agents.experiments.{name} import main" in script and len(script.splitlines()) < 15
    done = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and "--help" in done.stdout
