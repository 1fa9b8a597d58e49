"""One `Engine.step` shared by live shows and offline render.

Data flows one way: audio source -> analysis -> reactor -> generator -> effect chain. Only the clock
that supplies `t_s`, the audio source and the sink differ between live and offline; the engine itself
never looks at a wall clock, so the same input and seed give the same frames either way.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from vjgan.audio.analysis import AnalysisConfig, Analyzer
from vjgan.audio.features import AudioFeatures
from vjgan.audio.stems import MIX, ROLES, StemAnalyzer, StemMap
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


class FrameFilter(Protocol):
    """A CPU effect on the generator's frame, before the GPU chain (Lucid Sonic Dreams' custom
    effects). `stem` names the blocks it listens to ("mix", a role, or a stem source's name)."""

    stem: str

    def __call__(self, frame: np.ndarray, blocks: Sequence[AudioFeatures]) -> np.ndarray: ...


@dataclass(frozen=True)
class EngineConfig:
    seed: int = 0
    react: ReactParams = field(default_factory=ReactParams)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
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


@dataclass
class _Reacted:
    """A frame between the reactor and the generator (batches collect these)."""

    index: int
    t_s: float
    dt_s: float
    samples: np.ndarray
    stems: dict[str, list[AudioFeatures]]
    features: AudioFeatures
    latents: Latents
    timings: dict[str, float]


class Engine:
    """Audio-reactive frame producer. Call `step(t_s)` with non-decreasing stream times.

    `stem_sources` are extra audio sources read in step with the main one and analysed on their
    own (offline stems: LSD's pulse_audio, motion_audio, ... files); a role named there listens to
    it instead of the mix or a channel. Any other name serves a `FrameFilter`.
    """

    def __init__(self, source: AudioSource, generator: Generator, effects: Effects,
                 config: EngineConfig | None = None,
                 stem_sources: Mapping[str, AudioSource] | None = None,
                 filters: Sequence[FrameFilter] = ()) -> None:
        self.config = config or EngineConfig()
        self.source = source
        self.generator = generator
        self.effects = effects
        stem_map = self.config.stems or StemMap()
        self.analyzer = StemAnalyzer(source.sample_rate, source.channels, stem_map, self.config.analysis)
        self.stem_sources = dict(stem_sources or {})
        self._stem_analyzers = {name: Analyzer(src.sample_rate, self.config.analysis)
                                for name, src in self.stem_sources.items()}
        self.filters = list(filters)
        for f in self.filters:
            if f.stem not in (MIX, *ROLES, *self.stem_sources):
                raise ValueError(f"frame filter listens to unknown stem {f.stem!r}")
        own = {role for role, ch in self.analyzer.stems.items() if ch is not None}
        own |= set(self.stem_sources) & set(ROLES)
        self.reactor = LatentReactor(generator.z_dim, generator.c_dim, seed=self.config.seed,
                                     params=self.config.react, own_stems=frozenset(own))
        self._index = 0
        self._last_t_s: float | None = None
        self._music_input: Callable[[float, float], AudioFeatures | None] | None = None
        self._music_roles: tuple[str, ...] = ()
        self._manual_flash: tuple[float, float] | None = None  # (amount, decay_s), next frame on
        self._flash_start: tuple[float, float, float] | None = None  # (t_s, amount, decay_s)

    @property
    def params(self) -> ReactParams:
        return self.reactor.params

    def set_params(self, params: ReactParams) -> None:
        """Replace the reaction parameters between frames (live control); state carries over."""
        self.reactor.params = params

    def set_music_input(self, fn: Callable[[float, float], AudioFeatures | None] | None,
                        roles: Sequence[str] = ("pulse", "class", "flash")) -> None:
        """Let another music source stand in for the audio of `roles` (MIDI notes: pitch classes
        drive the classes, velocities the pulse). `fn(t_s, dt_s)` returns this frame's record, or
        None to leave the roles on the audio for this frame."""
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"music input roles {sorted(unknown)} are not roles: {', '.join(ROLES)}")
        self._music_input, self._music_roles = fn, tuple(roles)

    def flash(self, amount: float = 1.0, decay_s: float = 0.15) -> None:
        """A one-shot flash from a performer (key, OSC, MIDI pad): from the next frame on, the
        flash amplitude is at least `amount`, decaying with time constant `decay_s`. It goes
        through the effect chain's `flash` effect (and the photosensitivity limiter)."""
        self._manual_flash = (min(max(float(amount), 0.0), 1.0), max(float(decay_s), 1e-3))

    def _flash_amplitude(self, t_s: float) -> float:
        if self._manual_flash is not None:
            self._flash_start = (t_s, *self._manual_flash)
            self._manual_flash = None
        if self._flash_start is None:
            return 0.0
        t0_s, amount, decay_s = self._flash_start
        return amount * math.exp(-(t_s - t0_s) / decay_s)

    def step(self, t_s: float) -> FrameResult:
        results = self._finish([self._react(t_s)])
        return results[0]

    def run(self, times: Iterable[float], batch_size: int = 1,
            on_frame: Callable[[FrameResult], None] | None = None) -> int:
        """Render a frame at each time, `batch_size` generator frames at a time (offline render).

        `on_frame` sees each result right after its effects ran, so the effect chain's output can
        be read there. Returns the number of frames.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        pending: list[_Reacted] = []
        count = 0
        for t_s in times:
            pending.append(self._react(t_s))
            if len(pending) == batch_size:
                count += len(self._finish(pending, on_frame))
                pending = []
        if pending:
            count += len(self._finish(pending, on_frame))
        return count

    def _react(self, t_s: float) -> _Reacted:
        timings: dict[str, float] = {}
        dt_s = 0.0 if self._last_t_s is None else max(0.0, t_s - self._last_t_s)
        self._last_t_s = t_s
        with _timed(timings, "audio"):
            samples = self.source.read_until(t_s)
            stems = self.analyzer.process(samples)
            for name, src in self.stem_sources.items():
                stems[name] = self._stem_analyzers[name].process(src.read_until(t_s))
            if self._music_input is not None:
                block = self._music_input(t_s, dt_s)
                if block is not None:
                    for role in self._music_roles:
                        stems[role] = [block]
            features = AudioFeatures.combine(stems[MIX], t_s, dt_s)
        with _timed(timings, "react"):
            latents = self.reactor.step(stems, t_s, dt_s)
        reacted = _Reacted(self._index, t_s, dt_s, samples, stems, features, latents, timings)
        self._index += 1
        return reacted

    def _generate(self, batch: Sequence[_Reacted]) -> list[np.ndarray]:
        psi = self.reactor.params.psi
        render_batch = getattr(self.generator, "render_batch", None)
        if len(batch) == 1 or render_batch is None:
            return [self.generator(r.latents.z, r.latents.c, psi=psi) for r in batch]
        z = np.stack([r.latents.z for r in batch])
        c = None if batch[0].latents.c is None else np.stack([r.latents.c for r in batch])
        return list(render_batch(z, c, psi=psi))

    def _finish(self, batch: Sequence[_Reacted],
                on_frame: Callable[[FrameResult], None] | None = None) -> list[FrameResult]:
        t0 = time.perf_counter()
        images = self._generate(batch)
        generator_ms = (time.perf_counter() - t0) * 1e3 / len(batch)
        p = self.reactor.params
        results = []
        for r, image in zip(batch, images):
            r.timings["generator"] = generator_ms
            if self.filters:
                with _timed(r.timings, "filters"):
                    for f in self.filters:
                        image = f(image, r.stems[f.stem])
            uniforms = self._uniforms(r, p, self._flash_amplitude(r.t_s))
            with _timed(r.timings, "effects"):
                output = self.effects.render(image, uniforms)
            result = FrameResult(r.index, r.t_s, r.dt_s, r.features, r.latents, uniforms, r.samples,
                                 output, r.timings)
            if on_frame is not None:
                on_frame(result)
            results.append(result)
        return results

    @staticmethod
    def _uniforms(r: _Reacted, p: ReactParams, manual_flash: float = 0.0) -> FrameUniforms:
        f = r.features
        return FrameUniforms(
            time_s=r.t_s,
            frame=r.index,
            level=f.level,
            onset=1.0 if f.onset else 0.0,
            pulse=r.latents.pulse,
            low=f.low,
            mid=f.mid,
            high=f.high,
            percussive=f.percussive,
            harmonic=f.harmonic,
            chroma=f.chroma,
            bpm=f.bpm,
            beat_phase=f.beat_phase,
            # LSD's contrast and flash follow their own audio: its hits (*_percussive) or its level.
            contrast_amp=effect_amplitude(r.stems["contrast"], p.contrast_percussive),
            flash_amp=max(effect_amplitude(r.stems["flash"], p.flash_percussive), manual_flash),
        )


def effect_amplitude(blocks: Sequence[AudioFeatures], percussive: bool) -> float:
    """An effect's 0..1 amplitude for one frame: the peak hit (percussive) or level of its blocks."""
    return max(((b.percussive if percussive else b.level) for b in blocks), default=0.0)


@contextmanager
def _timed(into: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    into[stage] = (time.perf_counter() - t0) * 1e3
