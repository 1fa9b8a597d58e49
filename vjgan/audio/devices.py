"""Audio device discovery through sounddevice/PortAudio, with one-line errors for the usual failures.

sounddevice is imported lazily: on a machine without PortAudio, file input and offline render keep
working and only live input, monitoring and `vjgan devices` report the missing library.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import platform
import sys
from types import ModuleType
from typing import Any, Literal

from vjgan.errors import VjganError

Kind = Literal["input", "output"]

PORTAUDIO_MISSING = "PortAudio library not found — install libportaudio2 (make setup does) or use --audio-file FILE"
NO_INPUT = "no audio input found — use --audio-file FILE or see `vjgan devices`"
NO_OUTPUT = "no audio output found — see `vjgan devices`"


def import_sounddevice() -> ModuleType:
    """The sounddevice module, or VjganError(PORTAUDIO_MISSING) when PortAudio cannot be loaded."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError('PortAudio library not found') at import
        raise VjganError(PORTAUDIO_MISSING) from exc
    except ImportError as exc:
        raise VjganError("python package sounddevice is not installed — reinstall vjgan "
                         "(pip install -e .) or use --audio-file FILE") from exc
    return sounddevice


def _channels_key(kind: Kind) -> str:
    return f"max_{kind}_channels"


def list_devices(sd: ModuleType, kind: Kind) -> list[dict[str, Any]]:
    """Every device with at least one channel of the given kind, as sounddevice's info dicts."""
    try:
        devices = sd.query_devices()
    except sd.PortAudioError:
        return []
    return [dict(info) for info in devices if info[_channels_key(kind)] > 0]


def _default_index(sd: ModuleType, kind: Kind) -> int | None:
    try:
        info = sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        return None
    return int(info["index"]) if info and info[_channels_key(kind)] > 0 else None


def _describe_choices(devices: list[dict[str, Any]]) -> str:
    return ", ".join(f"{d['index']} '{d['name']}'" for d in devices)


def resolve_device(sd: ModuleType, device: str | int | None, kind: Kind) -> dict[str, Any]:
    """The info dict of the requested device: None = the default, an index, or a name (substring,
    case-insensitive; an exact name wins over a partial one). Raises a one-line VjganError."""
    no_device = NO_INPUT if kind == "input" else NO_OUTPUT
    devices = list_devices(sd, kind)
    if not devices:
        raise VjganError(no_device)
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device.strip())
    if device is None:
        index = _default_index(sd, kind)
        if index is None:  # no default: take the first device that has the channels
            return devices[0]
        return next((d for d in devices if d["index"] == index), devices[0])
    if isinstance(device, int):
        for info in devices:
            if info["index"] == device:
                return info
        raise VjganError(f"audio {kind} device {device} not found — available {kind}s: "
                         f"{_describe_choices(devices)}")
    wanted = device.strip().lower()
    exact = [d for d in devices if d["name"].lower() == wanted]
    partial = [d for d in devices if wanted in d["name"].lower()]
    if exact or partial:
        return (exact or partial)[0]
    raise VjganError(f"no audio {kind} matches '{device}' — available {kind}s: {_describe_choices(devices)}")


COMMON_RATES_HZ = (22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000)


def portaudio_available() -> bool:
    """Whether sounddevice could load PortAudio, found the way sounddevice looks for it, but without
    importing sounddevice (which initialises PortAudio and, under JACK, opens a client)."""
    if "sounddevice" in sys.modules:
        return True
    if importlib.util.find_spec("sounddevice") is None:
        return False
    for name in ("portaudio", "bin\\libportaudio-2.dll", "lib/libportaudio.dylib"):
        if ctypes.util.find_library(name) is not None:
            return True
    # macOS and Windows fall back to the library bundled in _sounddevice_data
    return platform.system() in ("Darwin", "Windows") and importlib.util.find_spec("_sounddevice_data") is not None


def supported_input_rates(sd: ModuleType, index: int, channels: int) -> list[int]:
    """The common sample rates the input device accepts with this many channels."""
    rates = []
    for rate in COMMON_RATES_HZ:
        try:
            sd.check_input_settings(device=index, channels=channels, dtype="float32", samplerate=rate)
        except (sd.PortAudioError, ValueError):
            continue
        rates.append(rate)
    return rates


def check_input(sd: ModuleType, device: str | int | None, sample_rate: int, channels: int) -> dict[str, Any]:
    """The info dict of the input device, checked for this sample rate and channel count.

    Raises a one-line VjganError naming the device and what it supports (max input channels,
    sample rates) when the request cannot be met."""
    info = resolve_device(sd, device, "input")
    name, index = info["name"], int(info["index"])
    max_channels = int(info["max_input_channels"])
    default_rate = float(info["default_samplerate"])
    if channels < 1:
        raise VjganError(f"cannot capture {channels} channels — ask for 1 to {max_channels} (--channels)")
    if channels > max_channels:
        raise VjganError(f"audio input '{name}' has {max_channels} input channel{'s' * (max_channels != 1)}, "
                         f"{channels} requested — use --channels {max_channels} or less, or pick another "
                         f"device (`vjgan devices`)")
    try:
        sd.check_input_settings(device=index, channels=channels, dtype="float32", samplerate=sample_rate)
    except (sd.PortAudioError, ValueError) as exc:  # check_input_settings may raise either
        if "querying device -1" in str(exc):
            raise VjganError(NO_INPUT) from exc
        if "sample rate" in str(exc).lower():
            rates = supported_input_rates(sd, index, channels)
            listed = ", ".join(str(r) for r in rates) if rates else f"{default_rate:.0f}"
            raise VjganError(f"audio input '{name}' does not support {sample_rate} Hz — it runs at {listed} Hz "
                             f"(default {default_rate:.0f} Hz): use --sample-rate {default_rate:.0f}") from exc
        raise VjganError(f"cannot open audio input '{name}' ({channels} ch, {sample_rate} Hz): {exc} — pick "
                         f"another device (`vjgan devices`) or use --audio-file FILE") from exc
    return info


def describe_devices() -> str:
    """Human-readable list of audio inputs and outputs for `vjgan devices` (never raises): index,
    name, input and output channels, default sample rate and host API of each device."""
    try:
        sd = import_sounddevice()
    except VjganError as exc:
        return str(exc)
    try:
        hostapis = [api["name"] for api in sd.query_hostapis()]
    except sd.PortAudioError:
        hostapis = []
    lines: list[str] = []
    for kind in ("input", "output"):
        devices = list_devices(sd, kind)  # type: ignore[arg-type]
        default = _default_index(sd, kind)  # type: ignore[arg-type]
        lines.append(f"Audio {kind}s:")
        if not devices:
            lines.append(f"  (none — PortAudio sees no audio {kind}; use --audio-file FILE)"
                         if kind == "input" else f"  (none — PortAudio sees no audio {kind}; the show runs silent)")
        for d in devices:
            api = hostapis[d["hostapi"]] if 0 <= d["hostapi"] < len(hostapis) else "?"
            mark = "  (default)" if d["index"] == default else ""
            lines.append(f"  [{d['index']}] {d['name']} — {d['max_input_channels']} in, "
                         f"{d['max_output_channels']} out, {d['default_samplerate']:.0f} Hz, {api}{mark}")
    return "\n".join(lines)
