"""Argument types shared by ``llmroute`` (agents/cli.py) and the experiments' command lines."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["int_at_least", "csv_list"]


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def csv_list(text: str) -> list[str]:
    """An argparse type: a non-empty comma-separated list (blanks dropped)."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got nothing")
    return items
