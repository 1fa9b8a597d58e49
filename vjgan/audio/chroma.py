"""Pitch-class (chroma) filterbank: maps FFT magnitudes onto the 12 semitones C..B.

Each FFT bin between `min_hz` and `max_hz` is placed on a log-frequency (MIDI) axis with A4 = 440 Hz
and shares its magnitude among the pitch classes with a Gaussian weight around each semitone centre.
Bins too wide to resolve a semitone (below ~200 Hz for a 4096-point FFT at 48 kHz) are widened so
they spread over the classes they cover instead of picking one, and are down-weighted by
(semitone / bin width) ** resolution_power so that unresolved bass does not wash out the chord.
"""

from __future__ import annotations

import numpy as np

from vjgan.audio.features import CHROMA_BINS

A4_HZ = 440.0
A4_MIDI = 69.0
PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def hz_to_midi(freq_hz: np.ndarray | float) -> np.ndarray:
    """Fractional MIDI note number (A4 = 69 at 440 Hz)."""
    return A4_MIDI + 12.0 * np.log2(np.asarray(freq_hz, dtype=np.float64) / A4_HZ)


def chroma_matrix(
    sample_rate: int,
    window: int,
    min_hz: float = 55.0,
    max_hz: float = 5000.0,
    width_semitones: float = 0.25,
    resolution_power: float = 2.0,
) -> np.ndarray:
    """A (12, window // 2 + 1) float32 matrix; `matrix @ magnitudes` gives the 12 chroma energies.

    width_semitones is the Gaussian's standard deviation in semitones for well-resolved bins.
    """
    if window <= 0 or sample_rate <= 0:
        raise ValueError("window and sample_rate must be positive")
    n_bins = window // 2 + 1
    bin_hz = sample_rate / window
    freqs_hz = np.arange(n_bins, dtype=np.float64) * bin_hz
    matrix = np.zeros((CHROMA_BINS, n_bins), dtype=np.float64)
    in_range = (freqs_hz >= min_hz) & (freqs_hz <= min(max_hz, sample_rate / 2.0))
    if not in_range.any():
        return matrix.astype(np.float32)
    idx = np.nonzero(in_range)[0]
    midi = hz_to_midi(freqs_hz[idx])
    # a bin's width on the semitone axis: 12 * log2((f + df/2) / (f - df/2)) ~ 12 df / (f ln 2)
    bin_width_semitones = 12.0 * bin_hz / (freqs_hz[idx] * np.log(2.0))
    sigma = np.sqrt(width_semitones**2 + (bin_width_semitones / 2.0) ** 2)
    classes = np.arange(CHROMA_BINS, dtype=np.float64)[:, None]  # C = 0 (MIDI 60 is C4)
    distance = (midi[None, :] - classes + 6.0) % 12.0 - 6.0  # circular, -6..6 semitones
    weights = np.exp(-0.5 * (distance / sigma[None, :]) ** 2)
    weights /= weights.sum(axis=0, keepdims=True)  # each bin's magnitude is shared, not copied
    weights *= np.minimum(1.0, 1.0 / bin_width_semitones) ** resolution_power
    matrix[:, idx] = weights
    return matrix.astype(np.float32)


def matrix_support(matrix: np.ndarray) -> tuple[int, int]:
    """The [start, stop) range of FFT bins the matrix uses (to skip the others cheaply)."""
    used = np.nonzero(matrix.any(axis=0))[0]
    if used.size == 0:
        return 0, 0
    return int(used[0]), int(used[-1]) + 1
