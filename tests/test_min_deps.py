"""The floors of pyproject's dependencies are what `make test-min-deps` (run by CI) installs and checks."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _min_deps():
    spec = importlib.util.spec_from_file_location("min_deps", ROOT / ".ci" / "min_deps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _make_target(name: str) -> str:
    """The recipe of a Makefile target (its lines up to the next blank line)."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(name)}:.*?\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    assert match, f"no target {name} in the Makefile"
    return match.group(0)


def test_every_dependency_has_a_floor_and_the_pins_are_the_floors(capsys):
    min_deps = _min_deps()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = min_deps.floors()
    assert sorted(floors) == sorted(re.split(r"[<>=!~ ]", d)[0] for d in deps)
    assert {"gymnasium", "numpy", "scipy"} <= set(floors)
    assert min_deps.main(["min_deps.py"]) == 0
    assert capsys.readouterr().out.split() == [f"{name}=={floor}" for name, floor in floors.items()]


def test_gymnasium_floor_admits_the_version_rllib_pins():
    # ray 2.60's rllib extra pins gymnasium==1.2.2; `pip install -e ".[rllib]"` needs the floor at or below it.
    assert _version(_min_deps().floors()["gymnasium"]) <= (1, 2, 2)


def test_min_deps_step_installs_the_pins_checks_them_and_ci_runs_it():
    install = _make_target("$(MIN_STAMP)")
    assert ".ci/min_deps.py)" in install and "pip install" in install
    run = _make_target("test-min-deps")
    assert ".ci/min_deps.py --check" in run and "$(ENV_TESTS)" in run
    listed = re.search(r"^ENV_TESTS := (.*?)\n\n", (ROOT / "Makefile").read_text(), re.S | re.M)
    assert listed
    files = listed.group(1).replace("\\", " ").split()
    assert files and all((ROOT / f).exists() for f in files)
    assert "tests/env" in files  # every env test, the action-mask wrapper included
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci.index("make test-min-deps") > ci.index("make test")


def test_check_compares_installed_versions_with_the_floors():
    min_deps = _min_deps()
    assert min_deps.same_version("1.1.0", "1.1") and min_deps.same_version("1.26", "1.26.0")
    assert not min_deps.same_version("1.1.1", "1.1") and not min_deps.same_version("2.4.6", "1.26")


def test_a_dependency_without_a_floor_is_refused(tmp_path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\ndependencies = ["numpy>=1.26", "scipy"]\n')
    with pytest.raises(SystemExit, match="scipy"):
        _min_deps().floors(bad)


def test_the_rllib_extra_is_ray_rllib_and_make_installs_neither_rllib_nor_its_gymnasium_pin():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("ray[rllib]") for d in extras["rllib"])
    assert "rllib" not in re.search(r'pip install -q -e "\.\[(.*?)\]"', (ROOT / "Makefile").read_text()).group(1)
