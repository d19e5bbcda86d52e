"""The examples of docs/other_libraries.md run as written, each where its library is installed
(skipped otherwise: none of the three is in the project's `make` install)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "other_libraries.md"


def example(section: str) -> str:
    """The first python code block under the ``## section`` heading of the doc."""
    text = DOC.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", body, re.S)
    assert match, f"no python block under ## {section}"
    return match.group(1)


def run(code: str, tmp_path: Path) -> str:
    script = tmp_path / "example.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_doc_has_the_three_examples():
    for section in ("RLlib", "TorchRL", "Tianshou"):
        assert "ActionMaskObservation" in example(section)


def test_torchrl_example_acts_only_within_the_mask(tmp_path):
    pytest.importorskip("torchrl")
    last = run(example("TorchRL"), tmp_path).split()
    assert last[-1] == "True"  # every action of the actor's episode was valid


def test_tianshou_example_trains_dqn(tmp_path):
    pytest.importorskip("tianshou")
    out = run(example("Tianshou"), tmp_path)
    assert float(out.split()[-1]) > 0


def test_rllib_example_builds_and_trains_ppo(tmp_path):
    pytest.importorskip("ray.rllib")
    steps, _ = run(example("RLlib"), tmp_path).split()[-2:]
    assert float(steps) >= 512
