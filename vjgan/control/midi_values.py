"""How a control position becomes a parameter value: curves, sub-ranges, relative encoders and
soft takeover (pick-up). Pure functions and one small state class; no ports, no threads.

Positions are normalised to 0..1 (an absolute CC value / 127). A binding maps a position through
its curve onto its sub-range [lo, hi] of the parameter (lo > hi inverts the control).
"""

from __future__ import annotations

import math
from typing import Any

CURVES = ("linear", "exp", "log")
ENCODER_MODES = ("relative-twos", "relative-signed", "relative-offset")
MODES = ("absolute", *ENCODER_MODES)
CURVE_K = 4.0  # exp: the bottom half of the travel spans 1/(2^K - 1) ... 3/15 of the range
_CURVE_SPAN = 2.0 ** CURVE_K - 1.0


def shape(x: float, curve: str) -> float:
    """Position 0..1 -> fraction of the range 0..1. "exp" gives fine control near the bottom
    (half travel = 20 % of the range), "log" near the top (half travel = 80 %)."""
    x = min(1.0, max(0.0, x))
    if curve == "exp":
        return (2.0 ** (CURVE_K * x) - 1.0) / _CURVE_SPAN
    if curve == "log":
        return math.log2(1.0 + x * _CURVE_SPAN) / CURVE_K
    return x


def unshape(y: float, curve: str) -> float:
    """The inverse of `shape`: where the control sits for a fraction y of the range."""
    y = min(1.0, max(0.0, y))
    if curve == "exp":
        return math.log2(1.0 + y * _CURVE_SPAN) / CURVE_K
    if curve == "log":
        return (2.0 ** (CURVE_K * y) - 1.0) / _CURVE_SPAN
    return y


def encoder_delta(value: int, mode: str) -> int:
    """Detents turned, from one relative-encoder CC value (positive = clockwise).

    relative-twos: two's complement (1..63 up, 127..65 down: 127 = -1);
    relative-signed: sign and magnitude (bit 6 = down: 1 = +1, 65 = -1);
    relative-offset: offset binary around 64 (65 = +1, 63 = -1).
    """
    if mode == "relative-twos":
        return value - 128 if value >= 64 else value
    if mode == "relative-signed":
        return -(value & 0x3F) if value & 0x40 else value & 0x3F
    if mode == "relative-offset":
        return value - 64
    raise ValueError(f"not a relative encoder mode: {mode!r}")


def to_value(x: float, kind: str, lo: float, hi: float, curve: str,
             choices: tuple[str, ...] = ()) -> Any:
    """Control position x (0..1) -> parameter value for a parameter of `kind`."""
    y = shape(x, curve)
    if kind == "bool":
        return y >= 0.5
    if kind == "choice":
        n = len(choices)
        return choices[min(n - 1, max(0, round(y * (n - 1))))]
    value = lo + y * (hi - lo)
    return int(round(value)) if kind == "int" else value


def to_position(value: Any, kind: str, lo: float, hi: float, curve: str,
                choices: tuple[str, ...] = ()) -> float:
    """Parameter value -> where the control would sit (0..1), clamped to the binding's range."""
    if kind == "bool":
        return 1.0 if value else 0.0
    if kind == "choice":
        n = len(choices)
        index = choices.index(value) if value in choices else 0
        return unshape(index / max(1, n - 1), curve)
    if hi == lo:
        return 0.0
    return unshape((float(value) - lo) / (hi - lo), curve)


class Pickup:
    """Soft takeover for one absolute control. Released (after a preset or scene change, a value
    set from elsewhere, or a reconnect), the control does nothing until it comes within
    `tolerance` of the current value or crosses it; then it drives the value until released again."""

    def __init__(self, tolerance: float, enabled: bool = True) -> None:
        self.tolerance = tolerance
        self.enabled = enabled
        self.engaged = not enabled
        self._last: float | None = None

    def release(self) -> None:
        if self.enabled:
            self.engaged = False
            self._last = None

    def offer(self, x: float, current: float) -> bool:
        """The control moved to x while the parameter sits at `current` (both 0..1): True when
        the control drives the value now."""
        if not self.engaged:
            crossed = self._last is not None and (self._last - current) * (x - current) <= 0.0
            if crossed or abs(x - current) <= self.tolerance:
                self.engaged = True
        self._last = x
        return self.engaged
