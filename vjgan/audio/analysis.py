"""Per-block audio analysis: RMS, normalised level, aubio onsets and chroma, one record per hop.

The analyser is causal and keeps its own stream clock (samples consumed / sample rate), so it gives
the same records whether it is fed a whole file at once, video-frame-sized chunks for an offline
render, or whatever a live input delivered since the last frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import aubio
import numpy as np

from vjgan.audio.chroma import chroma_matrix, matrix_support
from vjgan.audio.features import CHROMA_BINS, AudioFeatures

_ZERO_CHROMA = (0.0,) * CHROMA_BINS
ONSET_METHODS = ("hfc", "energy", "complex", "phase", "wphase", "specdiff", "kl", "mkl", "specflux")


@dataclass(frozen=True)
class AnalysisConfig:
    """Analysis settings. Times are in seconds so behaviour does not depend on block size."""

    hop: int = 128  # samples per analysis block (one AudioFeatures each)
    onset_method: str = "hfc"  # any aubio onset method: hfc, complex, specflux, specdiff, ...
    onset_window: int = 1024  # FFT size for the onset detector
    onset_threshold: float = 0.3  # aubio peak-picking threshold (higher: fewer onsets)
    onset_min_interval_s: float = 0.05  # two onsets are never reported closer than this
    onset_silence_db: float = -70.0  # aubio ignores onsets reported in blocks quieter than this
    # aubio's reported onset time is corrected by this delay; None = aubio's own 4.3 hops plus a
    # quarter of the onset window, which centres the error on clicks and drum hits with hfc
    onset_delay_s: float | None = None
    chroma_window: int = 4096  # FFT size for chroma (4096 at 48 kHz: 11.7 Hz bins)
    # chroma is recomputed every chroma_hop samples (a multiple of hop; blocks in between repeat the
    # latest): an 85 ms window barely moves in 2.7 ms, and aubio's pvoc is the costliest step
    chroma_hop: int = 512
    chroma_min_hz: float = 55.0
    chroma_max_hz: float = 5000.0
    level_attack_s: float = 0.03  # how fast the normaliser follows a louder signal
    level_release_s: float = 6.0  # how fast it relaxes after the music gets quieter
    level_floor_rms: float = 1e-3  # never normalise by less (room noise is not blown up to 1)
    silence_rms: float = 1e-4  # below this a block is silent: level 0, chroma all zeros

    def __post_init__(self) -> None:
        if self.hop <= 0:
            raise ValueError(f"hop must be positive, got {self.hop}")
        for name in ("onset_window", "chroma_window"):
            window = getattr(self, name)
            if window < self.hop or window % 2:
                raise ValueError(f"{name} must be even and at least hop ({self.hop}), got {window}")
        if self.chroma_hop < self.hop or self.chroma_hop % self.hop or self.chroma_hop > self.chroma_window:
            raise ValueError(f"chroma_hop must be a multiple of hop ({self.hop}) and at most chroma_window, "
                             f"got {self.chroma_hop}")
        if self.level_attack_s < 0.0 or self.level_release_s <= 0.0:
            raise ValueError("level_attack_s must be >= 0 and level_release_s > 0")

    def onset_delay_samples(self, sample_rate: int) -> int:
        if self.onset_delay_s is not None:
            return max(0, int(round(self.onset_delay_s * sample_rate)))
        return int(round(4.3 * self.hop + self.onset_window / 4))


class LevelNormaliser:
    """Causal rolling normaliser: level = rms / envelope, envelope = fast-attack slow-release follower.

    The same music at -30 dBFS and at -6 dBFS gives the same levels once the envelope has settled;
    blocks below silence_rms give 0.
    """

    def __init__(self, block_s: float, attack_s: float, release_s: float, floor_rms: float,
                 silence_rms: float) -> None:
        self._attack = 1.0 - math.exp(-block_s / attack_s) if attack_s > 0.0 else 1.0
        self._release = 1.0 - math.exp(-block_s / release_s)
        self._floor_rms = max(floor_rms, silence_rms, 1e-12)
        self._silence_rms = silence_rms
        self.envelope_rms = 0.0

    def __call__(self, rms: float) -> float:
        env = self.envelope_rms
        env += (self._attack if rms > env else self._release) * (rms - env)
        self.envelope_rms = env
        if rms < self._silence_rms:
            return 0.0
        return min(1.0, rms / max(env, self._floor_rms))


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
        self._pvoc = aubio.pvoc(cfg.chroma_window, cfg.chroma_hop)
        self._chroma_in = np.zeros(cfg.chroma_hop, dtype=np.float32)
        self._chroma_in_n = 0
        self._chroma: tuple[float, ...] = _ZERO_CHROMA
        matrix = chroma_matrix(self.sample_rate, cfg.chroma_window, cfg.chroma_min_hz, cfg.chroma_max_hz)
        self._chroma_lo, self._chroma_hi = matrix_support(matrix)
        self._chroma_matrix = np.ascontiguousarray(matrix[:, self._chroma_lo : self._chroma_hi])
        self._level = LevelNormaliser(self.block_s, cfg.level_attack_s, cfg.level_release_s,
                                      cfg.level_floor_rms, cfg.silence_rms)
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
        t_s = self._blocks_done * cfg.hop / self.sample_rate
        rms = math.sqrt(float(np.dot(block, block)) / cfg.hop)
        level = self._level(rms)

        onset = bool(self._onset(block)[0] > 0.0)
        onset_t_s = detected_at_s = None
        if onset:
            self.onset_count += 1
            detected_at_s = t_s
            onset_t_s = min(float(self._onset.get_last_s()), t_s)

        n = self._chroma_in_n
        self._chroma_in[n : n + cfg.hop] = block
        self._chroma_in_n = n = n + cfg.hop
        if n == cfg.chroma_hop:  # every chroma_hop: the phase vocoder slides its window on
            self._chroma_in_n = 0
            magnitudes = self._pvoc(self._chroma_in).norm[self._chroma_lo : self._chroma_hi]
            energies = self._chroma_matrix @ magnitudes
            peak = float(energies.max())
            self._chroma = tuple((energies / peak).tolist()) if peak > 0.0 else _ZERO_CHROMA
        chroma = self._chroma if rms >= cfg.silence_rms else _ZERO_CHROMA
        return AudioFeatures(t_s=t_s, duration_s=self.block_s, rms=rms, level=level, onset=onset,
                             onset_t_s=onset_t_s, onset_detected_at_s=detected_at_s, chroma=chroma)


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim == 2:
        array = array.mean(axis=1, dtype=np.float32) if array.shape[1] != 1 else array[:, 0]
    elif array.ndim != 1:
        raise ValueError(f"samples must be (n,) or (n, channels), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def analyze(samples: np.ndarray, sample_rate: int, config: AnalysisConfig | None = None) -> list[AudioFeatures]:
    """All records of a whole in-memory signal (convenience for tests, benches and offline tools)."""
    return Analyzer(sample_rate, config).process(samples)
