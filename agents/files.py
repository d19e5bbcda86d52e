"""Atomic writes of result files (a reader never sees a half-written file): the run files and
tables of the benchmark, and a training's ``train.json``.

Each write goes to a temp file in the target's folder, then ``os.replace`` puts it in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text", "json_default"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> Path:
    """Make ``path`` atomically: ``write(tmp)`` writes a temp file in the same folder, which then
    replaces ``path`` (``os.replace``), so a reader never sees a half-written file; on an error the
    temp file is removed and ``path`` is left as it was. The file gets the usual 0o644 mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (:func:`atomic_write`)."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, default=json_default)

    atomic_write(path, write)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def json_default(x: Any) -> Any:
    """``json.dump``'s ``default``: NumPy arrays and scalars as lists and Python numbers."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
