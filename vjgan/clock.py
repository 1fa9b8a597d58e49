"""Clocks: time is an input to the engine. Offline render and tests use `FrameClock`; shows use
`WallClock`. Both hand out stream seconds since the show started."""

from __future__ import annotations

import time


class FrameClock:
    """Simulated clock: frame i is at exactly i / fps seconds. Never sleeps."""

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self._index = 0

    def tick(self) -> float:
        t_s = self._index / self.fps
        self._index += 1
        return t_s


class WallClock:
    """Real time since `start()`, optionally capped at `max_fps` by sleeping until the next slot.

    `lag_s` delays the stream time handed out (e.g. by the audio output's latency, so a frame
    appears when the audio it reacts to is heard, not when it was handed to the sound card).
    """

    def __init__(self, max_fps: float | None = None, lag_s: float = 0.0) -> None:
        self.max_fps = max_fps
        self.lag_s = lag_s
        self._t0: float | None = None
        self._next_s = 0.0

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._next_s = 0.0

    def now(self) -> float:
        if self._t0 is None:
            self.start()
        assert self._t0 is not None
        return time.perf_counter() - self._t0

    def tick(self) -> float:
        t_s = self.now()
        if self.max_fps:
            if t_s < self._next_s:
                time.sleep(self._next_s - t_s)
                t_s = self.now()
            period_s = 1.0 / self.max_fps
            # Schedule the next slot from the ideal grid, but never try to catch up a backlog.
            self._next_s = max(self._next_s + period_s, t_s)
        return t_s - self.lag_s
