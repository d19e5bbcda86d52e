"""Run bench jobs on Ray (``llmroute bench --backend ray``): a local instance or a cluster.

Each job runs as a Ray task in a private temporary folder on whichever node Ray picks; the task
returns the files it wrote (a run's JSON, or a trained model's folder), and the driver writes them
into the bench folder atomically, the job's completion marker last (``train.json`` for a training,
the run file for an evaluation). So the bench folder lives only on the driver's disk, a cluster needs
no shared file system, and the folder looks exactly as after a local run: same files, same contents
for the same seeds (only the measured wall times differ), and an interrupted Ray bench resumes like a
local one. An evaluation of a trained model ships the model's files to its task.

On a cluster, every node needs this package installed (``pip install gym-llmroute[rl,ray]``, with
torch installed first as in the Makefile), and the driver connects with
``llmroute bench --backend ray --ray-address HOST:PORT`` (or the ``RAY_ADDRESS`` environment
variable). Without an address, ``ray.init`` starts a local instance.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .jobs import execute

__all__ = ["run_ray"]


def _collect(root: Path, skip: set[str]) -> dict[str, bytes]:
    files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in skip:
            files[rel] = path.read_bytes()
    return files


def _job_inputs(job: Any, out: Path) -> dict[str, bytes]:
    """Files a job needs from the bench folder: the trained model an evaluation loads."""
    train = getattr(job, "train", None)
    if train is None:
        return {}
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in train.directory(out).rglob("*")
        if path.is_file()
    }


def _run_in_tempdir(job: Any, inputs: dict[str, bytes]) -> tuple[str, float, dict[str, bytes]]:
    """The Ray task: lay out the inputs, run the job there, return the files it wrote."""
    with tempfile.TemporaryDirectory(prefix="llmroute-ray-") as tmp:
        root = Path(tmp)
        for rel, data in inputs.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        name, secs = execute(job, tmp)
        return name, secs, _collect(root, set(inputs))


def _marker(job: Any, out: Path) -> str:
    """Relative path of the file whose existence marks the job as done."""
    path = job.directory(out) / "train.json" if hasattr(job, "directory") else job.path(out)
    return path.relative_to(out).as_posix()


def _write_files(out: Path, files: dict[str, bytes], marker: str) -> None:
    """Write a job's files atomically, each via a temp file and ``os.replace``, the marker last."""
    if marker not in files:
        raise RuntimeError(f"the Ray task did not produce {marker}; its files: {sorted(files)[:10]}")
    for rel in sorted(files, key=lambda r: r == marker):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(files[rel])
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def run_ray(todo: Sequence[Any], out: Path, bar: Any, counts: dict[str, int], address: str | None = None) -> None:
    """Run ``todo`` (TrainJob / EvalRun objects) as Ray tasks; write their files under ``out``.

    ``address``: a Ray cluster address (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:10001"``), or None
    for ``RAY_ADDRESS`` or a new local instance. On Ctrl-C the pending tasks are cancelled and the
    finished jobs' files are kept.
    """
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("backend 'ray' needs Ray: pip install 'gym-llmroute[ray]' (or pip install ray)") from exc

    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_run_in_tempdir)
        refs = {task.remote(job, _job_inputs(job, out)): job for job in todo}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    job = refs.pop(ref)
                    name, secs, files = ray.get(ref)
                    _write_files(out, files, _marker(job, out))
                    counts["ran"] += 1
                    bar.set_postfix_str(f"{name} {secs:.1f}s")
                    bar.update()
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
