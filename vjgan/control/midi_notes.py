"""Notes as a music source, for players who send MIDI instead of audio.

Held notes become a 12-bin chroma (pitch classes C..B, velocity-weighted, fading over `release_s`
after the key is let go), and every note-on is a hit whose size is its velocity. Once per frame
`step` returns an `AudioFeatures` record, so the reactor takes it as it takes analysed audio:
`percussive`/`level`/`onset` drive pulse (and flash), `harmonic` drives motion, `chroma` the classes.
"""

from __future__ import annotations

from typing import Any, Iterable

from vjgan.audio.envelope import one_pole_coefficient
from vjgan.audio.features import CHROMA_BINS, AudioFeatures

_SILENT = 0.05  # chroma envelopes below this count as silence (3 release times after the key)


class NoteInput:
    def __init__(self, channel: int | None = None, release_s: float = 0.3) -> None:
        self.channel = channel  # 0-15, or None for every channel
        self.release_s = release_s
        self._held: dict[tuple[int, int], int] = {}  # (channel, note) -> velocity
        self._env = [0.0] * CHROMA_BINS
        self._hit = 0.0
        self._struck: set[int] = set()  # pitch classes struck since the last frame
        self.notes_in = 0

    def feed(self, messages: Iterable[Any]) -> None:
        """Note messages (others are ignored), oldest first."""
        for msg in messages:
            if msg.type not in ("note_on", "note_off"):
                continue
            if self.channel is not None and msg.channel != self.channel:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                self._held[key] = msg.velocity
                self._hit = max(self._hit, msg.velocity / 127.0)
                self._struck.add(msg.note % CHROMA_BINS)
                self._env[msg.note % CHROMA_BINS] = max(self._env[msg.note % CHROMA_BINS],
                                                        msg.velocity / 127.0)
                self.notes_in += 1
            else:
                self._held.pop(key, None)

    def panic(self) -> None:
        """All notes off (a reconnect loses the note-offs of keys held meanwhile)."""
        self._held.clear()

    def step(self, t_s: float, dt_s: float) -> AudioFeatures:
        """The frame's features: the hits since the last frame and the chroma of what sounds."""
        held = [0.0] * CHROMA_BINS
        for (_, note), velocity in self._held.items():
            pc = note % CHROMA_BINS
            held[pc] = max(held[pc], velocity / 127.0)
        decay = one_pole_coefficient(max(0.0, dt_s), self.release_s)
        for pc in range(CHROMA_BINS):
            if held[pc] >= self._env[pc]:
                self._env[pc] = held[pc]
            elif pc not in self._struck:
                self._env[pc] += decay * (held[pc] - self._env[pc])
        peak = max(self._env)
        chroma = tuple(e / peak if peak > _SILENT and e > _SILENT else 0.0 for e in self._env)
        hit, self._hit = self._hit, 0.0
        self._struck.clear()
        harmonic = max(held)
        return AudioFeatures(
            t_s=t_s, duration_s=max(0.0, dt_s),
            rms=0.0, level=max(hit, harmonic), onset=hit > 0.0,
            onset_t_s=t_s if hit > 0.0 else None, onset_detected_at_s=t_s if hit > 0.0 else None,
            chroma=chroma, onset_strength=hit, percussive=hit, harmonic=harmonic,
        )

    @property
    def sounding(self) -> int:
        return len(self._held)


def pitch_class_name(pc: int) -> str:
    return ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")[pc % CHROMA_BINS]

