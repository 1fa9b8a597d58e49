"""One `Engine.step` shared by live shows and offline render.

Data flows one way: audio source -> analysis -> reactor -> generator -> effect chain. Only the clock
that supplies `t_s`, the audio source and the sink differ between live and offline; the engine itself
never looks at a wall clock, so the same input and seed give the same frames either way.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol

import numpy as np

from vjgan.audio.analysis import AnalysisConfig
from vjgan.audio.features import AudioFeatures
from vjgan.audio.stems import StemAnalyzer, StemMap
from vjgan.gfx.uniforms import FrameUniforms
from vjgan.react.params import ReactParams
from vjgan.react.reactor import Latents, LatentReactor


class AudioSource(Protocol):
    sample_rate: int
    channels: int
    finished: bool

    def read_until(self, t_s: float) -> np.ndarray: ...


class Generator(Protocol):
    z_dim: int
    c_dim: int

    def __call__(self, z: np.ndarray, c: np.ndarray | None, psi: float = 1.0) -> np.ndarray: ...


class Effects(Protocol):
    def render(self, frame: np.ndarray, u: FrameUniforms) -> Any: ...


@dataclass(frozen=True)
class EngineConfig:
    seed: int = 0
    react: ReactParams = field(default_factory=ReactParams)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    classes: tuple[int, ...] | None = None  # pitch class -> model class (conditional models)
    stems: StemMap | None = None  # role -> input channel; None: every role hears the mix


@dataclass(frozen=True)
class FrameResult:
    """What one step produced. `audio` is every sample consumed for this frame (for recorders)."""

    index: int
    t_s: float
    dt_s: float
    features: AudioFeatures
    latents: Latents
    uniforms: FrameUniforms
    audio: np.ndarray
    output: Any  # the effect chain's output texture
    timings_ms: Mapping[str, float]


class Engine:
    """Audio-reactive frame producer. Call `step(t_s)` with non-decreasing stream times."""

    def __init__(self, source: AudioSource, generator: Generator, effects: Effects,
                 config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.source = source
        self.generator = generator
        self.effects = effects
        self.analyzer = StemAnalyzer(source.sample_rate, source.channels,
                                     self.config.stems or StemMap(), self.config.analysis)
        self.reactor = LatentReactor(generator.z_dim, generator.c_dim, seed=self.config.seed,
                                     params=self.config.react, classes=self.config.classes)
        self._index = 0
        self._last_t_s: float | None = None

    def step(self, t_s: float) -> FrameResult:
        timings: dict[str, float] = {}
        dt_s = 0.0 if self._last_t_s is None else max(0.0, t_s - self._last_t_s)
        self._last_t_s = t_s

        with _timed(timings, "audio"):
            samples = self.source.read_until(t_s)
            stems = self.analyzer.process(samples)
            features = AudioFeatures.combine(stems["mix"], t_s, dt_s)
        with _timed(timings, "react"):
            latents = self.reactor.step(stems, t_s, dt_s)
        with _timed(timings, "generator"):
            image = self.generator(latents.z, latents.c, psi=self.config.react.psi)
        uniforms = FrameUniforms(
            time_s=t_s,
            frame=self._index,
            level=features.level,
            onset=1.0 if features.onset else 0.0,
            pulse=latents.pulse,
            low=features.low,
            mid=features.mid,
            high=features.high,
            percussive=features.percussive,
            harmonic=features.harmonic,
            chroma=features.chroma,
            bpm=features.bpm,
            beat_phase=features.beat_phase,
            # LSD's contrast and flash follow the hits of their own stems (*_percussive=True).
            contrast_amp=_peak_percussive(stems["contrast"]),
            flash_amp=_peak_percussive(stems["flash"]),
        )
        with _timed(timings, "effects"):
            output = self.effects.render(image, uniforms)
        result = FrameResult(self._index, t_s, dt_s, features, latents, uniforms, samples, output,
                             timings)
        self._index += 1
        return result


def _peak_percussive(blocks: list[AudioFeatures]) -> float:
    return max((b.percussive for b in blocks), default=0.0)


@contextmanager
def _timed(into: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    into[stage] = (time.perf_counter() - t0) * 1e3
