"""Live stems: input channels of a multichannel interface assigned to the reaction roles.

Lucid Sonic Dreams takes separate files for `pulse_audio`, `motion_audio`, `class_audio`,
`contrast_audio` and `flash_audio`. Live, a stem is an input channel: `--stem pulse=3` makes the
pulse follow channel 3 (the drum bus, say), `--stem class=mix` makes the class vector follow the mix
of all channels (the default for every role). Channel numbers shown to users are 1-based, as printed
on interfaces; inside, they are 0-based.

`StemAnalyzer` runs one `Analyzer` per distinct source (the mix, which is always analysed for the
uniforms and the HUD, and each assigned channel), never two for the same source.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from vjgan.audio.analysis import AnalysisConfig, Analyzer
from vjgan.audio.features import AudioFeatures
from vjgan.errors import VjganError

ROLES = ("pulse", "motion", "class", "contrast", "flash")
MIX = "mix"  # the key of the mix's blocks in StemAnalyzer.process, and the --stem word for it

Source = int | None  # 0-based input channel, or None for the mono mix of all channels


@dataclass(frozen=True)
class StemMap:
    """Each role's source: a 0-based input channel, or None for the mix. (`class` is a Python
    keyword, hence the `class_` field; use `channel("class")`.)"""

    pulse: Source = None
    motion: Source = None
    class_: Source = None
    contrast: Source = None
    flash: Source = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"StemMap.{f.name} must be a channel index >= 0 or None, got {value!r}")

    @staticmethod
    def from_roles(channels: Mapping[str, Source]) -> "StemMap":
        """StemMap({"pulse": 0, "class": None}); roles left out hear the mix."""
        unknown = sorted(set(channels) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown stem role(s) {', '.join(unknown)} — use {', '.join(ROLES)}")
        return StemMap(**{_field(role): channel for role, channel in channels.items()})

    def channel(self, role: str) -> Source:
        if role not in ROLES:
            raise KeyError(f"unknown stem role {role!r} — use {', '.join(ROLES)}")
        return getattr(self, _field(role))

    def items(self) -> tuple[tuple[str, Source], ...]:
        return tuple((role, self.channel(role)) for role in ROLES)

    def sources(self) -> tuple[Source, ...]:
        """The distinct sources to analyse: the mix first, then each assigned channel once."""
        out: list[Source] = [None]
        for _, channel in self.items():
            if channel not in out:
                out.append(channel)
        return tuple(out)

    def describe(self) -> str:
        """One line for logs, 1-based: "pulse=1 motion=mix class=2 contrast=mix flash=1"."""
        return " ".join(f"{role}={MIX if ch is None else ch + 1}" for role, ch in self.items())


def _field(role: str) -> str:
    return "class_" if role == "class" else role


def parse_stem_args(args: Sequence[str], channels: int) -> StemMap:
    """["pulse=3", "class=mix"] (1-based channels) -> StemMap; every problem is a one-line VjganError."""
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    valid = f"use 1..{channels} or {MIX}" if channels > 1 else f"use 1 or {MIX}"
    has = f"the input has {channels} channel{'s' if channels != 1 else ''}"
    chosen: dict[str, Source] = {}
    for arg in args:
        role, value = _role_and_value(arg)
        if role in chosen:
            raise VjganError(f"--stem {arg}: {role} is already assigned — give each role once")
        if value.lower() == MIX:
            chosen[role] = None
            continue
        try:
            number = int(value)
        except ValueError:
            if looks_like_file(value):
                raise VjganError(f"--stem {arg}: live stems are input channels ({valid}); stem "
                                 "files work with `vjgan render`") from None
            raise VjganError(f"--stem {arg}: {value!r} is not a channel — {valid}") from None
        if not 1 <= number <= channels:
            raise VjganError(f"--stem {arg}: {has} — {valid}")
        chosen[role] = number - 1
    return StemMap.from_roles(chosen)


def _role_and_value(arg: str) -> tuple[str, str]:
    """"ROLE=VALUE" -> (role in lower case, value); a one-line VjganError if malformed or unknown."""
    role, sep, value = (part.strip() for part in str(arg).partition("="))
    role = role.lower()
    if not sep or not role or not value:
        raise VjganError(f"--stem {arg}: expected ROLE=CHANNEL, e.g. --stem pulse=1 or --stem class={MIX}")
    if role not in ROLES:
        raise VjganError(f"--stem {arg}: unknown role {role!r} — use one of {', '.join(ROLES)}")
    return role, value


def looks_like_file(value: str) -> bool:
    """A --stem value that names a file rather than a channel: it has a suffix or a folder."""
    return "." in value or "/" in value or "\\" in value


def split_stem_files(args: Sequence[str]) -> tuple[list[str], dict[str, Path]]:
    """Offline render: separate "ROLE=FILE" stems (LSD's pulse_audio, ...) from channel ones.

    Returns (the channel assignments, for parse_stem_args; {role: file}). A malformed assignment,
    an unknown role, a file that does not exist or a role given twice is a one-line VjganError.
    """
    channels: list[str] = []
    files: dict[str, Path] = {}
    for arg in args:
        role, value = _role_and_value(arg)
        if not looks_like_file(value):
            channels.append(arg)
            continue
        if role in files:
            raise VjganError(f"--stem {arg}: {role} is already assigned — give each role once")
        path = Path(value).expanduser()
        if not path.is_file():
            raise VjganError(f"--stem {arg}: stem file not found: {path} — check the path")
        files[role] = path
    taken = [a for a in channels if _role_and_value(a)[0] in files]
    if taken:
        raise VjganError(f"--stem {taken[0]}: that role already has a stem file — give each role once")
    return channels, files


class StemAnalyzer:
    """Analyses the mix and each channel a role listens to; `process` returns blocks per role.

    process(samples) -> {"mix": [...], "pulse": [...], "motion": [...], "class": [...],
    "contrast": [...], "flash": [...]}; roles with the same source share the same list object.
    """

    def __init__(self, sample_rate: int, channels: int, stems: StemMap | None = None,
                 config: AnalysisConfig | None = None) -> None:
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        stems = stems if stems is not None else StemMap()
        for role, channel in stems.items():
            if channel is not None and channel >= channels:
                raise VjganError(f"stem {role} listens to channel {channel + 1} but the input has "
                                 f"{channels} channel{'s' if channels != 1 else ''} — use 1..{channels} "
                                 f"or {MIX}")
        if channels == 1:  # the only channel is the mix: analyse it once
            stems = StemMap()
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.stems = stems
        self.config = config if config is not None else AnalysisConfig()
        self.analyzers: dict[Source, Analyzer] = {
            source: Analyzer(sample_rate, self.config) for source in stems.sources()}

    @property
    def mix(self) -> Analyzer:
        """The mix's analyser (always there; it also serves the uniforms and the HUD)."""
        return self.analyzers[None]

    def process(self, samples: np.ndarray) -> dict[str, list[AudioFeatures]]:
        array = np.asarray(samples, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != self.channels:
            raise ValueError(f"samples must be (n, {self.channels}), got shape {np.shape(samples)}")
        blocks: dict[Source, list[AudioFeatures]] = {}
        for source, analyzer in self.analyzers.items():
            blocks[source] = analyzer.process(array if source is None else array[:, source])
        out = {MIX: blocks[None]}
        for role, channel in self.stems.items():
            out[role] = blocks[channel]
        return out
