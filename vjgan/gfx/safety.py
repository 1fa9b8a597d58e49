"""Photosensitivity limiter: the CPU half (no GL, no clock — time is an input).

The effect chain measures the mean relative luminance of what it is about to show (the
*candidate*) and of what it shows now, and asks `FlashLimiter.decide` for a blend factor alpha.
The shown frame becomes mix(shown, candidate, alpha), mixed in linear light, so its mean relative
luminance is exactly shown + alpha * (candidate - shown): the limits below hold on the chain's
final output, whatever produced the change (strobe, flash, contrast, a generator jump).

Two limits:

- **Flashes** (WCAG 2.x "general flash"): a *transition* is a change in relative luminance of at
  least `flash_delta` (10 % of the maximum) in one direction, where the darker side is below
  `dark_limit` (0.80); a flash is a pair of opposing transitions. Transitions are confirmed with a
  zigzag of `flash_delta` hysteresis, so small jitter neither counts nor hides a slow swing. At
  most `2 * max_flashes` transitions are let through in any `window_s` (half-open) window; a
  change that would confirm one more is held back `margin` short of the threshold until the
  oldest transition leaves the window.
- **Step**: the mean relative luminance moves at most `max_step` between two shown frames, so a
  cut from black to white (or a blackout) is spread over several frames.

Limits of the measure: it is the mean over the whole frame, so a flash confined to a small area
counts in proportion to its area (a full-intensity flash over 10 % of the frame is still caught);
the WCAG red-flash rule is not checked.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from vjgan.errors import VjganError


@dataclass(frozen=True)
class LimiterConfig:
    max_flashes: int = 3  # flashes (pairs of opposing transitions) allowed per window_s
    window_s: float = 1.0
    flash_delta: float = 0.10  # relative luminance change that makes a transition
    dark_limit: float = 0.80  # a transition counts only if its darker side is below this
    max_step: float = 0.25  # largest mean relative luminance change between two shown frames
    margin: float = 0.02  # distance kept from a threshold when holding back (8-bit rounding)

    def __post_init__(self) -> None:
        checks = (
            ("max_flashes", self.max_flashes >= 0 and float(self.max_flashes).is_integer(),
             "a whole number >= 0"),
            ("window_s", math.isfinite(self.window_s) and self.window_s > 0, "> 0 seconds"),
            ("flash_delta", 0 < self.flash_delta <= 1, "in (0, 1]"),
            ("dark_limit", 0 < self.dark_limit <= 1, "in (0, 1]"),
            ("max_step", 0 < self.max_step <= 1, "in (0, 1]"),
            ("margin", 0 <= self.margin < self.flash_delta, "in [0, flash_delta)"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise VjganError(f"flash limiter: {name} = {getattr(self, name)!r} — use {rule}")


class LumaTransitions:
    """Confirms WCAG transitions in a series of mean relative luminance values (0..1)."""

    def __init__(self, delta: float = 0.10, dark_limit: float = 0.80) -> None:
        self.delta = delta
        self.dark_limit = dark_limit
        self.direction = 0  # +1 after an upward transition, -1 after a downward one
        self.lo: float | None = None  # lowest value since the last transition (direction <= 0)
        self.hi: float | None = None  # highest value since the last transition (direction >= 0)

    def push(self, luma: float) -> int:
        """Add the next value; returns +1 / -1 if it confirms an upward / downward transition."""
        if self.lo is None or self.hi is None:
            self.lo = self.hi = luma
            return 0
        up = self.direction <= 0 and luma >= self.lo + self.delta and self.lo < self.dark_limit
        down = self.direction >= 0 and luma <= self.hi - self.delta and luma < self.dark_limit
        if up:
            self.direction, self.hi = 1, luma
            return 1
        if down:
            self.direction, self.lo = -1, luma
            return -1
        self.lo, self.hi = min(self.lo, luma), max(self.hi, luma)
        return 0

    def safe_range(self, margin: float) -> tuple[float, float]:
        """(floor, ceiling): values that would not confirm a transition, `margin` inside."""
        if self.lo is None or self.hi is None:
            return -math.inf, math.inf
        floor, ceiling = -math.inf, math.inf
        if self.direction >= 0:
            floor = min(self.hi - self.delta, self.dark_limit) + margin
        if self.direction <= 0 and self.lo < self.dark_limit:
            ceiling = self.lo + self.delta - margin
        return floor, ceiling


class FlashLimiter:
    """Decides, frame by frame, how far the shown picture may move towards the candidate."""

    def __init__(self, config: LimiterConfig | None = None) -> None:
        self.config = config or LimiterConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the history (e.g. after the limiter was switched off and on again)."""
        c = self.config
        self.transitions = LumaTransitions(c.flash_delta, c.dark_limit)
        self._times: deque[float] = deque()  # when each recent transition was shown
        self._last_t_s: float | None = None
        self.held_frames = 0  # frames where alpha < 1 (for the HUD / tests)

    def transitions_in_window(self, t_s: float) -> int:
        """Transitions shown in (t_s - window_s, t_s]."""
        start = t_s - self.config.window_s
        return sum(1 for t in self._times if start < t <= t_s)

    def decide(self, t_s: float, shown_luma: float | None, candidate_luma: float) -> float:
        """Alpha in [0, 1] for showing mix(shown, candidate, alpha) at stream time `t_s`.

        `shown_luma` is the measured mean relative luminance of the frame on screen now (shown at
        the previous call's `t_s`), or None when nothing has been shown yet (alpha is then 1).
        """
        c = self.config
        if shown_luma is not None and self._last_t_s is not None:
            if self.transitions.push(shown_luma):
                self._times.append(self._last_t_s)
        while self._times and self._times[0] <= t_s - c.window_s:
            self._times.popleft()
        self._last_t_s = t_s
        if shown_luma is None:
            return 1.0
        lo, hi = shown_luma - c.max_step, shown_luma + c.max_step
        if self.transitions_in_window(t_s) >= 2 * c.max_flashes:
            floor, ceiling = self.transitions.safe_range(c.margin)
            lo, hi = max(lo, min(floor, shown_luma)), min(hi, max(ceiling, shown_luma))
        delta = candidate_luma - shown_luma
        if abs(delta) < 1e-9:
            return 1.0
        target = min(max(candidate_luma, lo), hi)
        alpha = min(1.0, max(0.0, (target - shown_luma) / delta))
        if alpha < 1.0:
            self.held_frames += 1
        return alpha
