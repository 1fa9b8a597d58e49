"""A deterministic ~20 s demo track (drums + chords + bass at 120 BPM), synthesised with numpy only.

It is what a new user hears (and the visuals react to) before they bring their own music, so it is
meant to sound like music: four-on-the-floor kick, snare on 2 and 4, swung-free eighth hats with an
open hat on the off-beats, an Am-F-C-G pad with a plucked arpeggio, and an eighth-note bass line.
The result is cached as a 48 kHz stereo 16-bit WAV and re-used while it stays valid.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from vjgan.files import atomic_path

DEMO_TRACK_NAME = "demo-track-v1.wav"
DEMO_SAMPLE_RATE = 48000
DEMO_DURATION_S = 20.0
DEMO_BPM = 120.0
DEMO_SEED = 20240611
PEAK_DBFS = -1.0
BEAT_S = 60.0 / DEMO_BPM
BAR_S = 4 * BEAT_S

# Am, F, C, G (MIDI notes, root position around middle C) with their bass roots
_CHORDS = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62))
_CHORD_ROOTS = (45, 41, 36, 43)  # A2, F2, C2, G2
_INTRO_BARS = 1  # bar 0: kick + pad only; drums and bass in full from bar 1


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def _place(out: np.ndarray, start_s: float, sound: np.ndarray, sample_rate: int, gain: float = 1.0) -> None:
    """Add a (n,) or (n, 2) sound into out (n_total, 2) starting at start_s, clipped at the end."""
    i = int(round(start_s * sample_rate))
    if i >= out.shape[0]:
        return
    n = min(sound.shape[0], out.shape[0] - i)
    seg = sound[:n] * gain
    out[i : i + n] += seg[:, None] if seg.ndim == 1 else seg


def _bandpass_noise(rng: np.random.Generator, n: int, lo_hz: float, hi_hz: float, sample_rate: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs_hz = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[(freqs_hz < lo_hz) | (freqs_hz > hi_hz)] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.max(np.abs(noise)) + 1e-12)


def _fade_tail(sound: np.ndarray, sample_rate: int, fade_s: float = 0.02) -> np.ndarray:
    """Ramp the last fade_s to zero so a truncated decay does not end in a click."""
    n = min(sound.shape[0], int(fade_s * sample_rate))
    sound = sound.copy()
    sound[sound.shape[0] - n :] *= np.linspace(1.0, 0.0, n)
    return sound


def _kick(sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.6 * sample_rate)) / sample_rate
    freq_hz = 48.0 + 110.0 * np.exp(-t / 0.035)  # pitch drop 158 -> 48 Hz
    phase = 2.0 * np.pi * np.cumsum(freq_hz) / sample_rate
    body = np.sin(phase) * np.exp(-t / 0.16)
    click = np.exp(-t / 0.002) * np.sin(2.0 * np.pi * 1800.0 * t) * 0.35
    return _fade_tail(np.tanh(1.6 * (body + click)) / np.tanh(1.6), sample_rate, 0.1)


def _snare(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    n = int(0.3 * sample_rate)
    t = np.arange(n) / sample_rate
    noise = _bandpass_noise(rng, n, 1200.0, 9000.0, sample_rate) * np.exp(-t / 0.055)
    tone = (np.sin(2 * np.pi * 185.0 * t) + 0.5 * np.sin(2 * np.pi * 330.0 * t)) * np.exp(-t / 0.04)
    return _fade_tail(0.75 * noise + 0.45 * tone, sample_rate)


def _hat(rng: np.random.Generator, sample_rate: int, decay_s: float) -> np.ndarray:
    n = int((decay_s * 6.0) * sample_rate)
    t = np.arange(n) / sample_rate
    return _fade_tail(_bandpass_noise(rng, n, 7000.0, 16000.0, sample_rate) * np.exp(-t / decay_s), sample_rate, 0.005)


def _saw(freq_hz: float, t: np.ndarray, n_harmonics: int, rolloff: float, phase: float = 0.0) -> np.ndarray:
    """Band-limited saw-like tone; harmonic k gets 1/k * rolloff**(k-1) (a soft low-pass)."""
    fundamental = np.exp(1j * (2.0 * np.pi * freq_hz * t + phase))
    harmonic = fundamental.copy()
    out = np.zeros_like(t)
    for k in range(1, n_harmonics + 1):
        if k * freq_hz > 15000.0:
            break
        if k > 1:
            harmonic *= fundamental  # e^(ik x) by recurrence: one complex multiply, no sin()
        out += harmonic.imag * ((rolloff ** (k - 1)) / k)
    return out


def _pad(chord: tuple[int, ...], length_s: float, sample_rate: int) -> np.ndarray:
    """A stereo pad: two detuned saws per note, slow attack/release, spread left/right."""
    n = int(length_s * sample_rate)
    t = np.arange(n) / sample_rate
    env = np.minimum(1.0, t / 0.25) * np.minimum(1.0, (length_s - t) / 0.3).clip(0.0, 1.0)
    out = np.zeros((n, 2))
    for j, note in enumerate(chord):
        f_hz = _midi_hz(note)
        for side, cents in ((0, -7.0), (1, 7.0)):
            detuned_hz = f_hz * 2.0 ** (cents / 1200.0)
            out[:, side] += _saw(detuned_hz, t, 10, 0.7, phase=0.7 * j + side)
    return out * env[:, None] / len(chord)


def _pluck(note: int, sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    f_hz = _midi_hz(note)
    tone = sum(np.sin(2.0 * np.pi * k * f_hz * t) * np.exp(-t * (8.0 + 6.0 * k)) / k for k in range(1, 7))
    return _fade_tail(tone * np.minimum(1.0, t / 0.002), sample_rate)


def _bass(note: int, length_s: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(length_s * sample_rate)) / sample_rate
    env = np.minimum(1.0, t / 0.004) * np.exp(-t / 0.18) * np.minimum(1.0, (length_s - t) / 0.01).clip(0.0, 1.0)
    return np.tanh(1.5 * _saw(_midi_hz(note), t, 12, 0.55)) * env


def synthesize_demo_track(sample_rate: int = DEMO_SAMPLE_RATE, duration_s: float = DEMO_DURATION_S) -> np.ndarray:
    """The demo track as float32 (n, 2), peak at -1 dBFS. Same arguments, same samples."""
    rng = np.random.default_rng(DEMO_SEED)
    n = int(round(duration_s * sample_rate))
    out = np.zeros((n, 2))
    kick, snare = _kick(sample_rate), _snare(rng, sample_rate)
    hat_closed, hat_open = _hat(rng, sample_rate, 0.012), _hat(rng, sample_rate, 0.07)
    eighth_s = BEAT_S / 2
    n_bars = int(np.ceil(duration_s / BAR_S))
    arp_pattern = (0, 1, 2, 1, 2, 0, 1, 2)
    pads: dict[tuple[int, ...], np.ndarray] = {}  # memoised: each chord/note comes back every 4 bars
    plucks: dict[int, np.ndarray] = {}
    basses: dict[int, np.ndarray] = {}
    for bar in range(n_bars):
        bar_s = bar * BAR_S
        chord = _CHORDS[bar % len(_CHORDS)]
        root = _CHORD_ROOTS[bar % len(_CHORD_ROOTS)]
        if chord not in pads:
            pads[chord] = _pad(chord, BAR_S + 0.15, sample_rate)
        _place(out, bar_s, pads[chord], sample_rate, 0.22)
        for beat in range(4):
            _place(out, bar_s + beat * BEAT_S, kick, sample_rate, 0.9)
        if bar < _INTRO_BARS:
            continue
        for beat in (1, 3):
            _place(out, bar_s + beat * BEAT_S, np.stack([snare * 0.9, snare], axis=1), sample_rate, 0.55)
        for step in range(8):
            at_s = bar_s + step * eighth_s
            if step % 2 == 1:
                _place(out, at_s, np.stack([hat_open * 0.6, hat_open], axis=1), sample_rate, 0.12)
            else:
                accent = 1.0 if step % 4 == 0 else 0.7
                _place(out, at_s, np.stack([hat_closed, hat_closed * 0.6], axis=1), sample_rate, 0.1 * accent)
            bass_note = root + (12 if step in (3, 7) else 0)
            if bass_note not in basses:
                basses[bass_note] = _bass(bass_note, eighth_s * 0.9, sample_rate)
            _place(out, at_s, basses[bass_note], sample_rate, 0.32)
            arp_note = chord[arp_pattern[step]] + 12
            pan = 0.5 + 0.35 * np.sin(step * np.pi / 4)
            if arp_note not in plucks:
                plucks[arp_note] = _pluck(arp_note, sample_rate)
            pluck = plucks[arp_note]
            _place(out, at_s, np.stack([pluck * (1 - pan), pluck * pan], axis=1), sample_rate, 0.22)
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.5 * sample_rate))  # last 0.5 s fades out
    out *= fade[:, None]
    peak = np.max(np.abs(out))
    out *= 10.0 ** (PEAK_DBFS / 20.0) / peak
    return out.astype(np.float32)


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/vjgan, or ~/.cache/vjgan."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "vjgan"


def _expected_frames() -> int:
    return int(round(DEMO_DURATION_S * DEMO_SAMPLE_RATE))


def _is_valid(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as wav:
            return (
                wav.getnchannels() == 2
                and wav.getsampwidth() == 2
                and wav.getframerate() == DEMO_SAMPLE_RATE
                and wav.getnframes() == _expected_frames()
                and path.stat().st_size >= 44 + _expected_frames() * 4
            )
    except (OSError, EOFError, wave.Error):
        return False


def write_wav_16bit(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples (n, ch) in -1..1 as a 16-bit PCM WAV, atomically (temp file + replace)."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, what="the demo track") as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(samples.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())


def ensure_demo_track(cache_dir: Path | None = None) -> Path:
    """The path of the cached demo track WAV, synthesising it first if missing or invalid."""
    path = (cache_dir if cache_dir is not None else default_cache_dir()) / DEMO_TRACK_NAME
    if not _is_valid(path):
        write_wav_16bit(path, synthesize_demo_track(), DEMO_SAMPLE_RATE)
    return path


def demo_beat_times_s(duration_s: float = DEMO_DURATION_S) -> np.ndarray:
    """Times of the quarter-note beats (every one has a kick) in the demo track."""
    return np.arange(0.0, duration_s - 1e-9, BEAT_S)
