"""The floors of the package's dependencies, for `make test-min-deps`.

``python .ci/min_deps.py`` prints one ``name==floor`` pin per dependency of ``[project]`` in
pyproject.toml (each must be written ``name>=floor``), for pip to install; ``--check`` exits 1
unless the running environment has exactly those versions (so the step tests what pyproject says).
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
FLOOR = re.compile(r"^([A-Za-z0-9_.-]+)>=([0-9]+(?:\.[0-9]+)*)$")


def floors(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """``{name: floor}`` for every dependency of ``[project]``."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        match = FLOOR.match(dep.replace(" ", ""))
        if match is None:
            raise SystemExit(f"{pyproject}: dependency {dep!r} is not of the form name>=floor")
        out[match.group(1)] = match.group(2)
    return out


def same_version(installed: str, floor: str) -> bool:
    """``1.1.0`` is the floor ``1.1`` (what ``pip install name==1.1`` installs)."""

    def parts(v: str) -> list[int]:
        p = [int(x) for x in v.split(".")]
        while p and p[-1] == 0:
            p.pop()
        return p

    return parts(installed) == parts(floor)


def main(argv: list[str]) -> int:
    pins = floors()
    if argv[1:] == ["--check"]:
        wrong = []
        for name, floor in pins.items():
            try:
                have = version(name)
            except PackageNotFoundError:
                have = "not installed"
            if have == "not installed" or not same_version(have, floor):
                wrong.append(f"{name} {have} (floor {floor})")
        if wrong:
            print("not the floors of pyproject.toml: " + ", ".join(wrong), file=sys.stderr)
            return 1
        print("floors installed: " + ", ".join(f"{name} {version(name)}" for name in pins))
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    print(" ".join(f"{name}=={floor}" for name, floor in pins.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
