"""Band levels (low / mid / high) and a causal percussive / harmonic split from one short FFT.

Every `step_s` the caller hands over the latest `window` samples. Their magnitude spectrum gives:

- band levels: the RMS of the bins below `low_hz`, between, and above `high_hz` (Parseval-scaled so
  they are in the same full-scale units as the block RMS), each divided by its own fast-attack
  slow-release envelope. A band is never divided by less than `band_floor_ratio` of the overall
  envelope, so the leakage of a loud bass note does not light the empty treble bands.
- a percussive / harmonic split in the spirit of median-filter HPSS, made causal: each bin keeps a
  "sustained" estimate that rises slowly (`sustain_rise_s`) and falls fast (`sustain_fall_s`), i.e. a
  lower envelope over a few hundred ms. What a bin holds above `margin` times it is transient (hits),
  the rest is sustained (tones; the margin keeps the beating of close partials out of the hits). Both
  parts are divided by the overall spectral envelope, so a drum loop reads
  percussive ~1 / harmonic ~0, a held chord the reverse, and a mix of both reads both. The
  percussive part then gets a fast-attack `percussive_release_s` release (hits hold for a moment),
  the harmonic part a light `harmonic_smooth_s` smoothing.
"""

from __future__ import annotations

import math

import numpy as np

from vjgan.audio.envelope import EnvelopeFollower, one_pole_coefficient


class BandSplit:
    """Call with the latest `window` float32 samples once per step; read the attributes after."""

    def __init__(self, sample_rate: int, window: int, step_s: float, *, low_hz: float = 250.0,
                 high_hz: float = 4000.0, attack_s: float = 0.03, release_s: float = 6.0,
                 floor_rms: float = 1e-3, band_floor_ratio: float = 0.03, sustain_rise_s: float = 0.3,
                 sustain_fall_s: float = 0.1, percussive_release_s: float = 0.1,
                 harmonic_smooth_s: float = 0.05, margin: float = 2.0) -> None:
        if not 0.0 < low_hz < high_hz:
            raise ValueError(f"band edges must satisfy 0 < low_hz < high_hz, got {low_hz:g} and {high_hz:g}")
        nyquist_hz = sample_rate / 2.0
        if high_hz >= 0.9 * nyquist_hz:  # a low sample rate (8 or 16 kHz): keep three bands anyway
            low_hz, high_hz = min(low_hz, 0.3 * nyquist_hz), 0.6 * nyquist_hz
        self.window = int(window)
        n = np.arange(self.window)
        # Blackman: -58 dB side lobes keep a 60 Hz note out of the mid band (Hann leaks ~-40 dB there)
        win = 0.42 - 0.5 * np.cos(2.0 * np.pi * n / self.window) + 0.08 * np.cos(4.0 * np.pi * n / self.window)
        self._win = win.astype(np.float32)
        self._buf = np.empty(self.window, dtype=np.float32)
        self._fft = np.empty(self.window // 2 + 1, dtype=np.complex64)  # reused: no allocation per step
        freqs_hz = np.fft.rfftfreq(self.window, 1.0 / sample_rate)
        # one-sided Parseval: mean square of the windowed frame = 2 * sum |X_k|^2 / (N * sum w^2)
        self._scale = 2.0 / (self.window * float(np.sum(win * win)))
        used = freqs_hz >= 20.0  # no DC: an interface's offset must not light `low`
        masks = np.stack([used & (freqs_hz < low_hz), (freqs_hz >= low_hz) & (freqs_hz < high_hz),
                          freqs_hz >= high_hz])
        self._bands = np.ascontiguousarray(masks[:, used], dtype=np.float32)
        self._first_bin = int(np.argmax(used))
        n_bins = self._bands.shape[1]
        self._mag = np.empty(n_bins, dtype=np.float32)
        self._sustain = np.zeros(n_bins, dtype=np.float32)
        self._delta = np.empty(n_bins, dtype=np.float32)
        self._harm = np.empty(n_bins, dtype=np.float32)
        self._tmp = np.empty(n_bins, dtype=np.float32)
        self._rise = one_pole_coefficient(step_s, sustain_rise_s)
        self._fall = one_pole_coefficient(step_s, sustain_fall_s)
        self._total = EnvelopeFollower(step_s, attack_s, release_s)
        self._band_env = [EnvelopeFollower(step_s, attack_s, release_s) for _ in range(3)]
        self._perc_release = 1.0 - one_pole_coefficient(step_s, percussive_release_s)
        self._harm_smooth = one_pole_coefficient(step_s, harmonic_smooth_s)
        self._floor_rms = max(floor_rms, 1e-12)
        self._margin = margin
        self._band_floor_ratio = band_floor_ratio
        self.low = self.mid = self.high = 0.0
        self.percussive = self.harmonic = 0.0
        self.rms = 0.0  # spectral RMS of the whole frame (windowed), full-scale units
        self._reference = self._floor_rms

    def __call__(self, frame: np.ndarray) -> None:
        magnitudes = self.spectrum(frame)
        self.update_bands(magnitudes)
        self.update_split(magnitudes)

    def spectrum(self, frame: np.ndarray) -> np.ndarray:
        """Magnitudes of the windowed frame, from 20 Hz up (a buffer overwritten by the next call)."""
        np.multiply(frame, self._win, out=self._buf)
        np.fft.rfft(self._buf, out=self._fft)
        return np.abs(self._fft[self._first_bin :], out=self._mag)

    def update_bands(self, mag: np.ndarray) -> None:
        power = mag * mag
        energies = (self._bands @ power).tolist()
        scale = self._scale
        total_rms = math.sqrt((energies[0] + energies[1] + energies[2]) * scale)
        self.rms = total_rms
        env = self._total(total_rms)
        band_floor = max(self._floor_rms, self._band_floor_ratio * env)
        levels = []
        for energy, follower in zip(energies, self._band_env):
            band_rms = math.sqrt(energy * scale)
            levels.append(min(1.0, band_rms / max(follower(band_rms), band_floor)))
        self.low, self.mid, self.high = levels
        self._reference = max(env, self._floor_rms)

    def update_split(self, mag: np.ndarray) -> None:
        """Percussive / harmonic parts of the spectrum (call after update_bands, which sets the reference)."""
        scale, reference = self._scale, self._reference
        # causal HPSS: harmonic = what a bin holds up to `margin` x its slow lower envelope, transient
        # = the rest; then the envelope rises by rise * delta or falls by fall * delta (rise < fall)
        sustain, harm, delta, tmp = self._sustain, self._harm, self._delta, self._tmp
        np.multiply(sustain, self._margin, out=tmp)
        np.minimum(mag, tmp, out=harm)
        harm_rms = math.sqrt(float(np.dot(harm, harm)) * scale)
        np.subtract(mag, harm, out=harm)
        perc_rms = math.sqrt(float(np.dot(harm, harm)) * scale)
        np.subtract(mag, sustain, out=delta)
        np.multiply(delta, self._rise, out=tmp)
        delta *= self._fall
        np.minimum(tmp, delta, out=tmp)
        sustain += tmp
        perc = min(1.0, perc_rms / reference)
        self.percussive = max(perc, self.percussive * self._perc_release)
        harm = min(1.0, harm_rms / reference)
        self.harmonic += self._harm_smooth * (harm - self.harmonic)
