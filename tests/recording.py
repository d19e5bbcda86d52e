"""Recorded episodes that hold on any CPU: discrete parts exactly, floats to a relative tolerance.

NumPy evaluates ``exp``, ``log`` and ``pow`` with SIMD kernels chosen by the CPU (AVX-512 or AVX2),
and the kernels may differ in the last bit. An episode is still the same episode: every action,
deployment, count, mask, flag and termination is identical, and every float agrees to about 1e-15.
A :class:`Recording` therefore splits what it is fed in two:

* the discrete part, hashed exactly (sha256): every key and its order, every type, dtype and shape,
  every integer and bool, every string, and the float arrays that hold counts or 0/1 flags
  (:data:`EXACT_KEYS`), which ordinary IEEE arithmetic (+, -, *, /) computes the same everywhere;
* the floats, one stream per place in the structure (``obs.mean_cost``, ``info.regret``, ...):
  each stream keeps its length (exactly) and two weighted sums, ``sum w_i x_i`` and
  ``sum w_i |x_i|``, with fixed quasi-random weights ``w_i`` in [1, 2) so that a moved or changed
  element moves the sums. Two recordings match when the lengths are equal and both sums agree to
  ``RTOL`` relative to ``sum w_i |x_i|``.

A change of a single float by more than about ``RTOL`` times the stream's scale, of any count, flag,
key, type or order fails the match; a last-bit difference of a transcendental function does not.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

RTOL = 1e-9
# Float keys whose values are counts or 0/1 flags (exact in any IEEE arithmetic): hashed exactly.
EXACT_KEYS = frozenset({"phase", "available", "deployed", "picked", "pulls", "task", "task_pulls", "action_mask"})
_GOLDEN = 0.6180339887498949  # weights 1 + frac(i * golden ratio): distinct, fixed, in [1, 2)


class Recording:
    """Feed values with :meth:`feed`; :meth:`summary` gives the JSON-able record to compare with
    :func:`mismatches`."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._floats: dict[str, list[np.ndarray]] = {}

    def feed(self, value: Any, path: str = "") -> None:
        h = self._hash
        if isinstance(value, dict):
            h.update(b"{")
            for key, item in value.items():
                h.update(repr(key).encode())
                self.feed(item, f"{path}.{key}" if path else str(key))
            h.update(b"}")
        elif isinstance(value, np.ndarray):
            h.update(f"<{value.dtype.str}{value.shape}>".encode())
            if value.dtype == object:
                for item in value.reshape(-1):
                    self.feed(item, path)
            elif value.dtype.kind == "f" and path.rpartition(".")[2] not in EXACT_KEYS:
                self._float(path, value.astype(np.float64).reshape(-1))
            else:
                h.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, (list, tuple)):
            h.update(f"{type(value).__name__}[".encode())
            for item in value:
                self.feed(item, path)
            h.update(b"]")
        elif isinstance(value, (float, np.floating)):
            h.update(f"{type(value).__name__};".encode())
            self._float(path, np.array([value], dtype=np.float64))
        else:
            h.update(f"{type(value).__name__}:{value!r};".encode())

    def _float(self, path: str, x: np.ndarray) -> None:
        # Where the non-finite values are (and their signs) is discrete; they weigh 0 in the sums.
        bad = ~np.isfinite(x)
        if bad.any():
            self._hash.update(f"nonfinite@{path}:{np.flatnonzero(bad).tolist()}{np.sign(x[bad]).tolist()}".encode())
            x = np.where(bad, 0.0, x)
        self._floats.setdefault(path, []).append(x)

    def summary(self) -> dict[str, Any]:
        floats = {}
        for path in sorted(self._floats):
            x = np.concatenate(self._floats[path])
            w = 1.0 + (np.arange(x.size) * _GOLDEN) % 1.0
            floats[path] = [int(x.size), float(np.dot(w, x)), float(np.dot(w, np.abs(x)))]
        return {"discrete": self._hash.hexdigest(), "floats": floats}


def mismatches(actual: dict[str, Any], expected: dict[str, Any], rtol: float = RTOL) -> list[str]:
    """What differs between two summaries (empty: the same episodes)."""
    out = []
    if actual["discrete"] != expected["discrete"]:
        out.append("discrete part (actions, keys, types, counts, masks, flags) differs")
    a, e = actual["floats"], expected["floats"]
    if a.keys() != e.keys():
        out.append(f"float streams differ: {sorted(set(a) ^ set(e))}")
    for path in sorted(a.keys() & e.keys()):
        (n, s, s_abs), (n0, s0, s_abs0) = a[path], e[path]
        scale = max(s_abs0, 1e-300)
        if n != n0 or abs(s - s0) > rtol * scale or abs(s_abs - s_abs0) > rtol * scale:
            out.append(f"{path}: {n} values, sums {s!r}, {s_abs!r}; recorded {n0}, {s0!r}, {s_abs0!r}")
    return out


def assert_close(actual: Any, expected: Any, rtol: float = RTOL, path: str = "") -> None:
    """A JSON-like result equals its recording: the same structure, keys, types, ints, bools and
    strings exactly; floats to ``rtol`` (relative; absolute ``rtol`` around 0)."""
    where = path or "value"
    if isinstance(expected, float) and isinstance(actual, float):
        assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=rtol), f"{where}: {actual!r} != {expected!r}"
        return
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], rtol, f"{path}.{key}" if path else str(key))
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            assert_close(x, y, rtol, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
