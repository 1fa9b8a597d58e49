"""Per-block audio analysis, one `AudioFeatures` per hop: RMS and normalised level, aubio onsets and
onset strength, chroma, band levels, a percussive / harmonic split, tempo and beats.

The analyser is causal and keeps its own stream clock (samples consumed / sample rate), so it gives
the same records whether it is fed a whole file at once, video-frame-sized chunks for an offline
render, or whatever a live input delivered since the last frame. The onset detector runs every block;
the costlier parts run on coarser hops counted from the start of the stream (chroma every
`chroma_hop`, bands and the split every `spectrum_hop`, aubio's beat tracker every `tempo_hop`
samples) and hold their value in between, so a block size that divides those hops gives the same
values at the same stream times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import aubio
import numpy as np

from vjgan.audio.bands import BandSplit
from vjgan.audio.chroma import chroma_matrix, matrix_support
from vjgan.audio.envelope import EnvelopeFollower, LevelNormaliser
from vjgan.audio.features import CHROMA_BINS, AudioFeatures
from vjgan.audio.tempo import TempoTracker

__all__ = ["AnalysisConfig", "Analyzer", "LevelNormaliser", "ONSET_METHODS", "analyze"]

_ZERO_CHROMA = (0.0,) * CHROMA_BINS
ONSET_METHODS = ("hfc", "energy", "complex", "phase", "wphase", "specdiff", "kl", "mkl", "specflux")


@dataclass(frozen=True)
class AnalysisConfig:
    """Analysis settings. Times are in seconds so behaviour does not depend on block size."""

    hop: int = 128  # samples per analysis block (one AudioFeatures each)
    onset_method: str = "hfc"  # any aubio onset method: hfc, complex, specflux, specdiff, ...
    # FFT size for the onset detector: 512 (aubio's own default) detects as many onsets as 1024 on the
    # demo track and click tracks, 6 ms sooner (11 vs 17 ms at hop 128) and at half the cost per block
    onset_window: int = 512
    onset_threshold: float = 0.3  # aubio peak-picking threshold (higher: fewer onsets)
    onset_min_interval_s: float = 0.05  # two onsets are never reported closer than this
    onset_silence_db: float = -70.0  # aubio ignores onsets reported in blocks quieter than this
    # aubio's reported onset time is corrected by this delay; None = a quarter of the onset window
    # plus 4.3 hops (aubio's own figure) for hops up to window / 8, 3 hops for longer ones: measured on
    # clicks and drum hits with hfc, this centres the error (median within 2.5 ms at hops 64..512)
    onset_delay_s: float | None = None
    chroma_window: int = 4096  # FFT size for chroma (4096 at 48 kHz: 11.7 Hz bins)
    # chroma is recomputed every chroma_hop samples (a multiple of hop; blocks in between repeat the
    # latest): an 85 ms window barely moves in 21 ms (LSD's frames are 23 ms), and its 4096-point
    # FFT is the costliest step
    chroma_hop: int = 1024
    chroma_min_hz: float = 55.0
    chroma_max_hz: float = 5000.0
    # bands (low < band_low_hz <= mid < band_high_hz <= high) and the percussive / harmonic split
    # come from one Blackman-windowed FFT of spectrum_window samples every spectrum_hop samples
    spectrum_window: int = 1024
    spectrum_hop: int = 256
    band_low_hz: float = 250.0
    band_high_hz: float = 4000.0
    band_floor_ratio: float = 0.03  # a band is never divided by less than this x the overall envelope
    sustain_rise_s: float = 0.3  # per-bin sustained estimate: rises this slowly (hits stay out of it)
    sustain_fall_s: float = 0.1  # ... and falls this fast (a lower envelope, "median-ish")
    hpss_margin: float = 2.0  # a bin is transient only above margin x its sustained estimate
    percussive_release_s: float = 0.1  # a hit holds the percussive value this long
    harmonic_smooth_s: float = 0.05
    # tempo: aubio's beat tracker on its own window and hop (a multiple of hop), see vjgan.audio.tempo
    tempo_method: str = "default"
    tempo_window: int = 1024
    tempo_hop: int = 512
    # `level` is the RMS of the last level_window samples (whole blocks, at least one), normalised: a
    # window fixed in samples keeps it independent of the block size
    level_window: int = 512
    level_attack_s: float = 0.03  # how fast the normalisers follow a louder signal
    level_release_s: float = 6.0  # how fast they relax after the music gets quieter
    level_floor_rms: float = 1e-3  # never normalise by less (room noise is not blown up to 1)
    silence_rms: float = 1e-4  # level window RMS below this: the block is silent (levels 0, chroma zeros)

    def __post_init__(self) -> None:
        if self.hop <= 0:
            raise ValueError(f"hop must be positive, got {self.hop}")
        for name in ("onset_window", "chroma_window", "spectrum_window", "tempo_window"):
            window = getattr(self, name)
            if window < self.hop or window % 2:
                raise ValueError(f"{name} must be even and at least hop ({self.hop}), got {window}")
        for name, window in (("chroma_hop", "chroma_window"), ("spectrum_hop", "spectrum_window"),
                             ("tempo_hop", "tempo_window")):
            value = getattr(self, name)
            runs_every = self.part_hop(name)
            if value <= 0 or runs_every % self.hop or self.hop % min(value, self.hop) \
                    or runs_every > getattr(self, window):
                raise ValueError(f"{name} must be a multiple of hop ({self.hop}) and at most {window}, "
                                 f"got {value}")
        if not 0.0 < self.band_low_hz < self.band_high_hz:
            raise ValueError(f"band edges must satisfy 0 < band_low_hz < band_high_hz, "
                             f"got {self.band_low_hz} and {self.band_high_hz}")
        for name in ("sustain_rise_s", "sustain_fall_s", "percussive_release_s", "harmonic_smooth_s"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sustain_rise_s < self.sustain_fall_s:
            raise ValueError("sustain_rise_s must be >= sustain_fall_s (the sustained estimate is a lower "
                             f"envelope), got {self.sustain_rise_s} and {self.sustain_fall_s}")
        if self.level_window <= 0:
            raise ValueError(f"level_window must be positive, got {self.level_window}")
        if self.level_attack_s < 0.0 or self.level_release_s <= 0.0:
            raise ValueError("level_attack_s must be >= 0 and level_release_s > 0")

    def part_hop(self, name: str) -> int:
        """Samples between two runs of a coarser part ("chroma_hop", "spectrum_hop", "tempo_hop"):
        its own hop, or every block when blocks are longer than that."""
        return max(int(getattr(self, name)), self.hop)

    def onset_delay_samples(self, sample_rate: int) -> int:
        if self.onset_delay_s is not None:
            return max(0, int(round(self.onset_delay_s * sample_rate)))
        hops = 4.3 if 8 * self.hop <= self.onset_window else 3.0
        return int(round(hops * self.hop + self.onset_window / 4))


class Analyzer:
    """Feed it samples, get one `AudioFeatures` per complete hop (the remainder waits for more)."""

    def __init__(self, sample_rate: int, config: AnalysisConfig | None = None) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.config = cfg = config if config is not None else AnalysisConfig()
        self.block_s = cfg.hop / self.sample_rate
        try:
            self._onset = aubio.onset(cfg.onset_method, cfg.onset_window, cfg.hop, self.sample_rate)
        except RuntimeError as exc:  # aubio only says "failed creating onset"
            raise ValueError(f"aubio cannot detect onsets with method {cfg.onset_method!r} — use one of "
                             f"{', '.join(ONSET_METHODS)}") from exc
        self._onset.set_threshold(cfg.onset_threshold)
        self._onset.set_minioi_s(cfg.onset_min_interval_s)
        self._onset.set_silence(cfg.onset_silence_db)
        self._onset.set_delay(cfg.onset_delay_samples(self.sample_rate))
        self._onset_strength = EnvelopeFollower(self.block_s, cfg.level_attack_s, cfg.level_release_s)
        self._chroma_hop = cfg.part_hop("chroma_hop")
        self._spectrum_hop = cfg.part_hop("spectrum_hop")
        self._tempo_hop = cfg.part_hop("tempo_hop")
        self._history = _History(max(cfg.chroma_window, cfg.spectrum_window, self._tempo_hop), cfg.hop)
        n = np.arange(cfg.chroma_window)  # Hann ("hanningz", as aubio's phase vocoder)
        self._chroma_window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / cfg.chroma_window)).astype(np.float32)
        self._chroma_buf = np.empty(cfg.chroma_window, dtype=np.float32)
        self._chroma: tuple[float, ...] = _ZERO_CHROMA
        matrix = chroma_matrix(self.sample_rate, cfg.chroma_window, cfg.chroma_min_hz, cfg.chroma_max_hz)
        self._chroma_lo, self._chroma_hi = matrix_support(matrix)
        self._chroma_matrix = np.ascontiguousarray(matrix[:, self._chroma_lo : self._chroma_hi])
        self._bands = BandSplit(
            self.sample_rate, cfg.spectrum_window, self._spectrum_hop / self.sample_rate,
            low_hz=cfg.band_low_hz, high_hz=cfg.band_high_hz, attack_s=cfg.level_attack_s,
            release_s=cfg.level_release_s, floor_rms=cfg.level_floor_rms, band_floor_ratio=cfg.band_floor_ratio,
            sustain_rise_s=cfg.sustain_rise_s, sustain_fall_s=cfg.sustain_fall_s, margin=cfg.hpss_margin,
            percussive_release_s=cfg.percussive_release_s, harmonic_smooth_s=cfg.harmonic_smooth_s)
        self._tempo = TempoTracker(self.sample_rate, self._tempo_hop, cfg.tempo_window, cfg.tempo_method)
        self._level = LevelNormaliser(self.block_s, cfg.level_attack_s, cfg.level_release_s,
                                      cfg.level_floor_rms, cfg.silence_rms)
        self._level_energies = [0.0] * max(1, round(cfg.level_window / cfg.hop))  # per block, a ring
        self._level_samples = len(self._level_energies) * cfg.hop
        self._pending = np.zeros(cfg.hop, dtype=np.float32)  # the incomplete block, if any
        self._pending_n = 0
        self._blocks_done = 0
        self.onset_count = 0

    @property
    def t_s(self) -> float:
        """Stream time at the end of the last complete block."""
        return self._blocks_done * self.config.hop / self.sample_rate

    @property
    def samples_consumed(self) -> int:
        return self._blocks_done * self.config.hop + self._pending_n

    def process(self, samples: np.ndarray) -> list[AudioFeatures]:
        """Analyse (n,) mono or (n, channels) samples; returns the records of the completed hops."""
        mono = _mono_float32(samples)
        hop = self.config.hop
        out: list[AudioFeatures] = []
        pos = 0
        if self._pending_n:
            take = min(hop - self._pending_n, mono.shape[0])
            self._pending[self._pending_n : self._pending_n + take] = mono[:take]
            self._pending_n += take
            pos = take
            if self._pending_n < hop:
                return out
            out.append(self._block(self._pending))
            self._pending_n = 0
        while mono.shape[0] - pos >= hop:
            out.append(self._block(mono[pos : pos + hop]))
            pos += hop
        rest = mono.shape[0] - pos
        if rest:
            self._pending[:rest] = mono[pos:]
            self._pending_n = rest
        return out

    def _block(self, block: np.ndarray) -> AudioFeatures:
        cfg = self.config
        self._blocks_done += 1
        done = self._blocks_done * cfg.hop  # samples since the start of the stream
        t_s = done / self.sample_rate
        energy = float(np.dot(block, block))
        rms = math.sqrt(energy / cfg.hop)
        energies = self._level_energies
        energies[self._blocks_done % len(energies)] = energy
        level_rms = math.sqrt(sum(energies) / self._level_samples)
        level = self._level(level_rms)
        self._history.push(block)

        onset, strength = self._detect_onset(block)
        onset_t_s = detected_at_s = None
        if onset:
            self.onset_count += 1
            detected_at_s = t_s
            onset_t_s = min(float(self._onset.get_last_s()), t_s)
            self._tempo.onset(onset_t_s)
        if done % self._chroma_hop == 0:
            self._update_chroma(self._history.last(cfg.chroma_window))
        if done % self._spectrum_hop == 0:
            self._update_spectrum(self._history.last(cfg.spectrum_window))
        if done % self._tempo_hop == 0:
            self._tempo.frame(self._history.last(self._tempo_hop))
        bpm, beat_phase, beat = self._tempo.block(t_s)
        if level_rms < cfg.silence_rms:  # (the level window: one quiet block in a fade-out is not silence)
            return AudioFeatures(t_s=t_s, duration_s=self.block_s, rms=rms, onset=onset, onset_t_s=onset_t_s,
                                 onset_detected_at_s=detected_at_s, bpm=bpm, beat_phase=beat_phase, beat=beat)
        bands = self._bands
        return AudioFeatures(t_s=t_s, duration_s=self.block_s, rms=rms, level=level, onset=onset,
                             onset_t_s=onset_t_s, onset_detected_at_s=detected_at_s, chroma=self._chroma,
                             onset_strength=strength, low=bands.low, mid=bands.mid, high=bands.high,
                             percussive=bands.percussive, harmonic=bands.harmonic, bpm=bpm,
                             beat_phase=beat_phase, beat=beat)

    # The parts below are separate methods so that bench/analysis_bench.py can time each one.

    def _detect_onset(self, block: np.ndarray) -> tuple[bool, float]:
        """aubio's onset decision, and its detection function rolling-normalised to 0..1."""
        onset = bool(self._onset(block)[0] > 0.0)
        descriptor = float(self._onset.get_descriptor())
        envelope = self._onset_strength(descriptor)
        if envelope <= 0.0:
            return onset, 0.0
        # in a quiet room the detection function of the noise must not read as full strength
        gate = min(1.0, self._level.envelope_rms / self.config.level_floor_rms)
        return onset, min(1.0, descriptor / envelope) * gate

    def _update_chroma(self, frame: np.ndarray) -> None:
        np.multiply(frame, self._chroma_window, out=self._chroma_buf)
        magnitudes = np.abs(np.fft.rfft(self._chroma_buf)[self._chroma_lo : self._chroma_hi])
        energies = self._chroma_matrix @ magnitudes
        peak = float(energies.max())
        self._chroma = tuple((energies / peak).tolist()) if peak > 0.0 else _ZERO_CHROMA

    def _update_spectrum(self, frame: np.ndarray) -> None:
        magnitudes = self._bands.spectrum(frame)
        self._bands.update_bands(magnitudes)
        self._bands.update_split(magnitudes)


class _History:
    """The latest `length` samples of the stream as a contiguous view (zeros before the start)."""

    def __init__(self, length: int, hop: int) -> None:
        self._length = length
        self._buf = np.zeros(length + 64 * hop, dtype=np.float32)
        self._end = length

    def push(self, block: np.ndarray) -> None:
        n = block.shape[0]
        if self._end + n > self._buf.shape[0]:  # slide back to the front (every 64 blocks)
            self._buf[: self._length] = self._buf[self._end - self._length : self._end]
            self._end = self._length
        self._buf[self._end : self._end + n] = block
        self._end += n

    def last(self, n: int) -> np.ndarray:
        return self._buf[self._end - n : self._end]


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim == 2:
        channels = array.shape[1]
        if channels == 0:
            raise ValueError(f"samples must have at least one channel, got shape {array.shape}")
        if channels == 1:
            array = array[:, 0]
        else:  # a matrix-vector product: 7x faster than mean(axis=1) on (800, 2), and exact for stereo
            array = np.asarray(array, dtype=np.float32) @ np.full(channels, 1.0 / channels, np.float32)
    elif array.ndim != 1:
        raise ValueError(f"samples must be (n,) or (n, channels), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def analyze(samples: np.ndarray, sample_rate: int, config: AnalysisConfig | None = None) -> list[AudioFeatures]:
    """All records of a whole in-memory signal (convenience for tests, benches and offline tools)."""
    return Analyzer(sample_rate, config).process(samples)
