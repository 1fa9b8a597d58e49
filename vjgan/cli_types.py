"""Argument types shared by the vjgan commands: each turns a bad value into one argparse error line
naming the value and the rule."""

from __future__ import annotations

import argparse
from typing import Callable


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def whole_number(low: int, high: int | None = None, unit: str = "") -> Callable[[str], int]:
    """A whole number from `low` to `high` (no upper bound when None); `unit` names what it counts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"{value} must be {low} or more")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must be from {low} to {high} {unit}".rstrip())
        return value

    return parse
