"""Lucid Sonic Dreams' Python API, on vjgan's engine.

    from vjgan import LucidSonicDream, EffectsGenerator, show_styles

    L = LucidSonicDream(song="song.mp3", style="default")   # a style name, a model file or a function
    L.hallucinate(file_name="song.mp4", pulse_react=1.2, motion_react=0.7, flash_strength=0.5)

The names, defaults and meanings are LSD's (see docs/lsd.md). The video is rendered by the same
engine as `vjgan render` and a live show: causal audio analysis, the per-second reactor, the GPU
effect chain. LSD's quirks are fixed on purpose (False stays False, a strength of 0 stays 0, float
shuffle periods fire, the video has exactly the requested fps, fewer than 12 classes still hear every
pitch) and listed in docs/lsd.md. Unlike LSD, nothing is downloaded and nothing calls sys.exit:
mistakes raise `VjganError` (a one-line message naming the parameter and the fix).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from vjgan.audio.features import AudioFeatures
from vjgan.errors import VjganError

__all__ = ["EffectsGenerator", "LucidSonicDream", "show_styles"]

PathLike = str | os.PathLike[str]


def show_styles() -> list[str]:
    """Print the styles vjgan can use by name (models it ships and models installed locally)."""
    from vjgan.gan.styles import show_styles as _show

    return _show()


class EffectsGenerator:
    """A custom effect, as in LSD: `func(array, strength, amplitude) -> array` on each frame.

    `array` is the generator's frame as uint8 (H, W, 3); return a uint8 array of the same kind (or a
    PIL image). `amplitude` (0..1) follows `audio` (default: the song): its hits when `percussive`,
    else its level. Custom effects run on the CPU before the contrast and flash shaders, as in LSD.
    """

    def __init__(self, func: Callable[..., Any], audio: PathLike | None = None, strength: float = 0.5,
                 percussive: bool = True) -> None:
        name = getattr(func, "__name__", repr(func))
        if not callable(func):
            raise VjganError(f"EffectsGenerator: func {name} is not callable — pass a function "
                             "func(array, strength, amplitude)")
        if not _takes(func, ("array", "strength", "amplitude")):
            raise VjganError(f"EffectsGenerator: {name} must take parameters array, strength and "
                             "amplitude, e.g. def effect(array, strength, amplitude): ...")
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not np.isfinite(strength):
            raise VjganError(f"EffectsGenerator: strength must be a number, got {strength!r}")
        if not isinstance(percussive, bool):
            raise VjganError(f"EffectsGenerator: percussive must be True or False, got {percussive!r}")
        self.func = func
        self.audio = None if audio is None else Path(audio)
        self.strength = float(strength)
        self.percussive = percussive


@dataclass
class _CustomEffect:
    """An EffectsGenerator bound to the blocks of its audio: the engine's FrameFilter."""

    effect: EffectsGenerator
    stem: str

    def __call__(self, frame: np.ndarray, blocks: Sequence[AudioFeatures]) -> np.ndarray:
        from vjgan.engine import effect_amplitude

        fx = self.effect
        name = getattr(fx.func, "__name__", "custom effect")
        amplitude = effect_amplitude(blocks, fx.percussive)
        try:
            out = fx.func(array=frame, strength=fx.strength, amplitude=amplitude)
        except Exception as exc:
            raise VjganError(f"custom effect {name} raised {type(exc).__name__}: {exc} — fix the "
                             "effect function") from exc
        return _as_rgb(out, f"custom effect {name}")


class LucidSonicDream:
    """A song (and optional stems) plus a style; `hallucinate` renders the video.

    `style`: a style name from show_styles(), a vjgan model file, or a function
    `style(noise_batch, class_batch) -> images` (BigGAN / Deep Music Visualizer route) with
    `input_shape` (its noise size) and `num_possible_classes` (0 for none).
    """

    def __init__(self, song: PathLike, pulse_audio: PathLike | None = None,
                 motion_audio: PathLike | None = None, class_audio: PathLike | None = None,
                 contrast_audio: PathLike | None = None, flash_audio: PathLike | None = None,
                 style: str | PathLike | Callable[..., Any] = "default", input_shape: int | None = None,
                 num_possible_classes: int | None = None) -> None:
        self.song = _existing(song, "song")
        self.stems = {role: _existing(path, f"{role}_audio") for role, path in (
            ("pulse", pulse_audio), ("motion", motion_audio), ("class", class_audio),
            ("contrast", contrast_audio), ("flash", flash_audio)) if path is not None}
        self.style = style
        self._generator: Any = None
        if callable(style):
            from vjgan.gan.callable import CallableGenerator

            if input_shape is None:
                raise VjganError("LucidSonicDream: a style function needs input_shape (its noise "
                                 "size, e.g. 128 for BigGAN)")
            self._generator = CallableGenerator(style, input_shape, num_possible_classes or 0)
        else:
            from vjgan.gan.styles import resolve_model

            self._model_path = resolve_model(style)  # fails now, not after the audio is analysed

    @property
    def generator(self) -> Any:
        if self._generator is None:
            from vjgan.gan import load_runner

            self._generator = load_runner(self._model_path)
        return self._generator

    def hallucinate(self, file_name: PathLike, output_audio: PathLike | None = None, fps: float = 43,
                    resolution: int | tuple[int, int] | None = None, start: float = 0,
                    duration: float | None = None, save_frames: bool = False, batch_size: int = 1,
                    speed_fpm: float = 12, pulse_percussive: bool = True, pulse_harmonic: bool = False,
                    pulse_react: float = 0.5, motion_percussive: bool = False,
                    motion_harmonic: bool = True, motion_react: float = 0.5,
                    motion_randomness: float = 0.5, truncation: float = 1,
                    classes: Sequence[int] | None = None, dominant_classes_first: bool = False,
                    class_pitch_react: float = 0.5, class_smooth_seconds: float = 1,
                    class_complexity: float = 1,
                    class_shuffle_seconds: float | Sequence[float] | None = None,
                    class_shuffle_strength: float = 0.5, contrast_strength: float | None = None,
                    contrast_percussive: bool | None = None, flash_strength: float | None = None,
                    flash_percussive: bool | None = None,
                    custom_effects: Sequence[EffectsGenerator] | None = None, *,
                    psi: float = 1.0, sync: str = "off", seed: int = 0,
                    trace: PathLike | None = None, progress: bool = True) -> Any:
        """Render the video (H.264 + the song, or `output_audio`, as AAC) to `file_name`.

        Beyond LSD (keyword-only): `psi` (StyleGAN w truncation), `sync` ("beat"/"bar": shuffles and
        motion redraws land on the music), `seed` (same seed, same video), `trace` (a .png plot or
        .json of pulse, motion and classes). Returns a summary with the frame count and wall time.
        """
        from vjgan.control.presets import Preset
        from vjgan.gfx.effects import EffectSpec
        from vjgan.pipeline import ShowOptions
        from vjgan.react.params import ReactParams
        from vjgan.render import RenderJob, render_job

        out = Path(file_name)
        if out.suffix.lower() != ".mp4":
            out = out.with_name(out.name + ".mp4")  # as LSD: "song" -> "song.mp4"
        _check_number("fps", fps, low=1e-9, high=240)
        _check_number("start", start, low=0.0)
        if duration is not None:
            _check_number("duration", duration, low=1e-9)
        if speed_fpm > fps * 60:
            raise VjganError(f"speed_fpm {speed_fpm} is more than one keyframe per video frame "
                             f"(fps x 60 = {fps * 60:g}) — lower speed_fpm or raise fps")
        shuffle = class_shuffle_seconds
        if isinstance(shuffle, (list, tuple)):  # LSD lists song times; vjgan counts from `start`
            shuffle = tuple(t - start for t in shuffle if isinstance(t, (int, float)) and t >= start)
        react = ReactParams.from_values(dict(
            speed_fpm=speed_fpm, pulse_react=pulse_react, pulse_percussive=pulse_percussive,
            pulse_harmonic=pulse_harmonic, motion_react=motion_react,
            motion_percussive=motion_percussive, motion_harmonic=motion_harmonic,
            motion_randomness=motion_randomness, truncation=truncation, psi=psi,
            classes=None if classes is None else list(classes),
            dominant_classes_first=dominant_classes_first, class_pitch_react=class_pitch_react,
            class_smooth_seconds=class_smooth_seconds, class_complexity=class_complexity,
            class_shuffle_seconds=shuffle, class_shuffle_strength=class_shuffle_strength,
            contrast_percussive=True if contrast_percussive is None else contrast_percussive,
            flash_percussive=True if flash_percussive is None else flash_percussive, sync=sync))
        effects = []
        for name, strength, percussive in (("contrast", contrast_strength, contrast_percussive),
                                           ("flash", flash_strength, flash_percussive)):
            if strength is None and percussive is None and name not in self.stems:
                continue  # LSD: an effect is on once any of its parameters is given
            strength = 0.5 if strength is None else strength
            _check_number(f"{name}_strength", strength, low=0.0, high=1.0)
            effects.append(EffectSpec(name=name, strength=float(strength), amp=f"{name}_amp"))
        filters, filter_files = [], {}
        for k, fx in enumerate(custom_effects or ()):
            if not isinstance(fx, EffectsGenerator):
                raise VjganError(f"custom_effects[{k}] is a {type(fx).__name__} — pass "
                                 "EffectsGenerator objects")
            stem = "mix"
            if fx.audio is not None and fx.audio.resolve() != self.song.resolve():
                stem = f"effect{k}"
                filter_files[stem] = _existing(fx.audio, f"custom_effects[{k}].audio")
            filters.append(_CustomEffect(fx, stem))
        size = None if resolution is None else (
            (resolution, resolution) if isinstance(resolution, int) else tuple(resolution))
        opts = ShowOptions(size=size, seed=seed, fps=float(fps), min_side=0)  # LSD: the model's size
        job = RenderJob(
            audio=self.song, output=out, opts=opts, start_s=float(start),
            duration_s=None if duration is None else float(duration), stem_files=self.stems,
            filter_files=filter_files, filters=tuple(filters),
            output_audio=None if output_audio is None else _existing(output_audio, "output_audio"),
            frames_dir=out.with_name(out.stem + "_frames") if save_frames else None,
            batch_size=_whole("batch_size", batch_size), trace=None if trace is None else Path(trace))
        preset = Preset(name="lucid-sonic-dreams", react=react, effects=tuple(effects))
        return render_job(job, preset, self.generator, progress=progress)


def _takes(func: Callable[..., Any], names: Sequence[str]) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return True  # a builtin without a signature: let the call decide
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(n in params for n in names)


def _existing(path: PathLike, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise VjganError(f"{what}: audio file not found: {p} — check the path")
    return p


def _check_number(name: str, value: Any, low: float | None = None, high: float | None = None) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and np.isfinite(value)
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" from {low:g}" if low is not None else ""
        bounds += f" to {high:g}" if high is not None else ""
        raise VjganError(f"{name} must be a number{bounds}, got {value!r}")


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise VjganError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def _as_rgb(image: Any, what: str) -> np.ndarray:
    """uint8 (H, W, 3) from what a user function returned (uint8 array or PIL image)."""
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise VjganError(f"{what} returned {arr.dtype} pixels — return uint8 (0..255), e.g. "
                         "(array * 255).astype(np.uint8)")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise VjganError(f"{what} returned an array of shape {arr.shape} — return (height, width, 3)")
    return np.ascontiguousarray(arr[:, :, :3])
