"""One frame of the real show loop, timed stage by stage on the monotonic clock.

`FrameLoop.frame(t_s)` does what `vjgan.live` does for a frame (engine step, then present to the
output, which waits for the GL to finish) and returns a `FrameRecord`: when the frame started (just
before the audio was read) and when it was handed to the display, the engine's own stage timings,
the texture upload split out of the effects stage, and what the frame reacted to (flash amplitude,
onset). Times are `time.monotonic_ns()`, the clock the capture child stamps blocks with, so they can
be compared across processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

STAGE_ORDER = ("audio", "react", "generator", "filters", "upload", "effects", "present")


@dataclass(frozen=True)
class FrameRecord:
    index: int
    start_ns: int  # just before the engine read the audio for this frame
    present_ns: int  # when present() returned: the frame is with the display (GL finished)
    stages_ms: Mapping[str, float]  # STAGE_ORDER names; effects excludes upload when upload is known
    samples_end: int  # stream frames consumed up to and including this frame
    flash_amp: float  # the flash effect's amplitude on this frame
    onset: bool  # an onset was decided in this frame's audio
    luma: float | None = None  # mean Rec. 709 luma of the output, 0..1 (when measured)

    @property
    def audio_end_ns(self) -> int:
        """When this frame's audio analysis ended (the moment its onset / flash was decided)."""
        return self.start_ns + round(self.stages_ms.get("audio", 0.0) * 1e6)


class UploadTimer:
    """Times the effect chain's texture upload by wrapping its upload method on this one instance.

    The engine times upload and the effect passes together as "effects"; this splits them. The
    upload is `chain._input.upload` (vjgan.gfx.upload.FrameInput) or, in older chains,
    `chain._upload`. When neither exists (`available` is False) the upload stays inside "effects".
    """

    PLACES = (("_input", "upload"), (None, "_upload"))

    def __init__(self, chain: Any) -> None:
        self._ms = 0.0
        self.available = False
        for attribute, method in self.PLACES:
            owner = getattr(chain, attribute, None) if attribute else chain
            inner = getattr(owner, method, None) if owner is not None else None
            if callable(inner):
                setattr(owner, method, self._wrap(inner))
                self.available = True
                return

    def _wrap(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                self._ms += (clock() - t0) * 1e3

        return timed

    def take(self) -> float | None:
        """Upload ms since the last call (None when the chain's upload cannot be timed)."""
        ms, self._ms = self._ms, 0.0
        return ms if self.available else None


def output_luma(picture: np.ndarray) -> float:
    """Mean Rec. 709 luma of a uint8 RGB picture, 0..1."""
    rgb = picture[::2, ::2].reshape(-1, 3).mean(axis=0)
    return float(rgb @ np.array([0.2126, 0.7152, 0.0722])) / 255.0


class FrameLoop:
    """Steps `engine` and presents each frame on `output`, recording a FrameRecord per frame.

    `keep_audio` keeps every consumed sample (mono) for click detection; `measure_luma` reads the
    output back after the frame was presented (outside the frame's own timings, but it delays the
    next frame by the readback).
    """

    def __init__(self, engine: Any, chain: Any, output: Any, keep_audio: bool = False,
                 measure_luma: bool = False, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.engine = engine
        self.chain = chain
        self.output = output
        self.upload = UploadTimer(chain)
        self.keep_audio = keep_audio
        self.measure_luma = measure_luma
        self.clock_ns = clock_ns
        self.samples_end = 0
        self.records: list[FrameRecord] = []
        self._audio: list[np.ndarray] = []

    def frame(self, t_s: float) -> FrameRecord:
        start_ns = self.clock_ns()
        result = self.engine.step(t_s)
        before_present_ns = self.clock_ns()
        self.output.present(result.output)
        present_ns = self.clock_ns()
        stages = dict(result.timings_ms)
        upload_ms = self.upload.take()
        if upload_ms is not None:
            stages["upload"] = upload_ms
            stages["effects"] = max(0.0, stages.get("effects", 0.0) - upload_ms)
        stages["present"] = (present_ns - before_present_ns) / 1e6
        samples = np.asarray(result.audio)
        self.samples_end += int(samples.shape[0])
        if self.keep_audio and samples.shape[0]:
            self._audio.append(samples.mean(axis=1) if samples.ndim == 2 else samples)
        luma = output_luma(self.chain.read()) if self.measure_luma else None
        record = FrameRecord(index=len(self.records), start_ns=start_ns, present_ns=present_ns,
                             stages_ms=stages, samples_end=self.samples_end,
                             flash_amp=float(result.uniforms.flash_amp), onset=bool(result.features.onset),
                             luma=luma)
        self.records.append(record)
        return record

    def audio(self) -> np.ndarray:
        """Every consumed sample so far, mono (needs keep_audio)."""
        return np.concatenate(self._audio) if self._audio else np.zeros(0, dtype=np.float32)
