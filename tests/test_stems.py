"""Stems: --stem parsing (1-based channels), one analyser per distinct source, blocks per role."""

from __future__ import annotations

import numpy as np
import pytest

from vjgan.audio.analysis import AnalysisConfig, Analyzer
from vjgan.audio.chroma import PITCH_CLASS_NAMES
from vjgan.audio.stems import MIX, ROLES, StemAnalyzer, StemMap, parse_stem_args
from vjgan.errors import VjganError

SR = 48000
HITS_S = np.arange(0.25, 3.0, 0.5)


def click_train(times_s: np.ndarray, duration_s: float) -> np.ndarray:
    """Drum-like hits (noise burst + 200 Hz body, 30 ms decay) at times_s."""
    rng = np.random.default_rng(1)
    x = np.zeros(int(duration_s * SR))
    t = np.arange(int(0.2 * SR)) / SR
    for hit_s in times_s:
        i = int(round(hit_s * SR))
        hit = (0.5 * rng.standard_normal(t.size) + np.sin(2 * np.pi * 200.0 * t)) * np.exp(-t / 0.03)
        x[i : i + t.size] += hit[: x.size - i]
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def tones(midi_notes: tuple[int, ...], duration_s: float, harmonics: int = 1) -> np.ndarray:
    t = np.arange(int(duration_s * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * 440.0 * 2.0 ** ((n - 69) / 12) * t + n) / k
            for n in midi_notes for k in range(1, harmonics + 1))
    return (0.2 * x / len(midi_notes)).astype(np.float32)


def drums_and_chord(duration_s: float = 3.0) -> np.ndarray:
    """Channel 1: drums only. Channel 2: a held C major chord only."""
    return np.stack([click_train(HITS_S, duration_s), tones((60, 64, 67), duration_s, harmonics=4)], axis=1)


def test_parse_stem_args_one_based_and_mix() -> None:
    stems = parse_stem_args(["pulse=3", "class=mix", "Flash = 1"], channels=4)
    assert stems == StemMap(pulse=2, class_=None, flash=0)
    assert stems.channel("pulse") == 2 and stems.channel("class") is None and stems.channel("motion") is None
    assert stems.describe() == "pulse=3 motion=mix class=mix contrast=mix flash=1"
    assert parse_stem_args([], channels=2) == StemMap()
    assert stems.sources() == (None, 2, 0)


@pytest.mark.parametrize("args, channels, message", [
    (["pulse=5"], 4, "--stem pulse=5: the input has 4 channels — use 1..4 or mix"),
    (["pulse=2"], 1, "--stem pulse=2: the input has 1 channel — use 1 or mix"),
    (["pulse=0"], 4, "--stem pulse=0: the input has 4 channels — use 1..4 or mix"),
    (["bass=1"], 4, "--stem bass=1: unknown role 'bass' — use one of pulse, motion, class, contrast, flash"),
    (["pulse"], 4, "--stem pulse: expected ROLE=CHANNEL, e.g. --stem pulse=1 or --stem class=mix"),
    (["pulse="], 4, "--stem pulse=: expected ROLE=CHANNEL, e.g. --stem pulse=1 or --stem class=mix"),
    (["pulse=drums"], 4, "--stem pulse=drums: 'drums' is not a channel — use 1..4 or mix"),
    (["pulse=1", "pulse=2"], 4, "--stem pulse=2: pulse is already assigned — give each role once"),
])
def test_bad_stem_args_are_one_line_errors(args: list[str], channels: int, message: str) -> None:
    with pytest.raises(VjganError) as info:
        parse_stem_args(args, channels)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_stem_map_validation_and_roles() -> None:
    assert ROLES == ("pulse", "motion", "class", "contrast", "flash")
    with pytest.raises(ValueError):
        StemMap(pulse=-1)
    with pytest.raises(ValueError):
        StemMap.from_roles({"bass": 0})
    with pytest.raises(KeyError):
        StemMap().channel("bass")
    assert StemMap.from_roles({"class": 1}) == StemMap(class_=1)


def test_stems_route_drums_to_pulse_and_chord_to_class() -> None:
    stems = parse_stem_args(["pulse=1", "class=2"], channels=2)
    analyzer = StemAnalyzer(SR, 2, stems)
    out = analyzer.process(drums_and_chord())
    assert set(out) == {MIX, *ROLES}
    pulse, chord = out["pulse"], out["class"]
    for hit_s in HITS_S:
        assert max(r.percussive for r in pulse if hit_s < r.t_s < hit_s + 0.05) > 0.7
    assert max(r.harmonic for r in pulse) < 0.3
    steady = [r for r in chord if r.t_s > 1.0]
    top3 = {PITCH_CLASS_NAMES[i] for i in np.argsort(np.mean([r.chroma for r in steady], axis=0))[-3:]}
    assert top3 == {"C", "E", "G"}
    assert max(r.percussive for r in steady) < 0.1
    # the roles left on the mix share the mix's list; the mix hears both
    assert out["motion"] is out[MIX] and out["contrast"] is out[MIX] and out["flash"] is out[MIX]
    assert max(r.percussive for r in out[MIX]) > 0.5 and np.mean([r.harmonic for r in out[MIX]]) > 0.3


def test_one_analyser_per_distinct_source(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Analyzer] = []
    original = Analyzer.__init__

    def counting(self: Analyzer, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        created.append(self)

    monkeypatch.setattr(Analyzer, "__init__", counting)
    analyzer = StemAnalyzer(SR, 4, parse_stem_args(["pulse=2", "flash=2", "class=4", "motion=mix"], 4))
    assert len(created) == 3 and set(analyzer.analyzers) == {None, 1, 3}
    out = analyzer.process(np.zeros((1000, 4), np.float32))
    assert out["pulse"] is out["flash"] and out["motion"] is out[MIX] and out["class"] is not out[MIX]
    assert len(out[MIX]) == 1000 // 128

    created.clear()
    StemAnalyzer(SR, 2)  # every role on the mix: one analyser
    assert len(created) == 1
    created.clear()
    mono = StemAnalyzer(SR, 1, parse_stem_args(["pulse=1"], 1))  # channel 1 of a mono input is the mix
    assert len(created) == 1 and mono.analyzers.keys() == {None}


def test_stem_blocks_match_a_plain_analyser_per_channel() -> None:
    signal = drums_and_chord(1.5)
    cfg = AnalysisConfig()
    out = StemAnalyzer(SR, 2, StemMap(pulse=0, class_=1), cfg).process(signal)
    assert out["pulse"] == Analyzer(SR, cfg).process(signal[:, 0])
    assert out["class"] == Analyzer(SR, cfg).process(signal[:, 1])
    assert out[MIX] == Analyzer(SR, cfg).process(signal)


def test_stem_analyzer_checks_channels_and_shapes() -> None:
    with pytest.raises(VjganError, match="channel 3 but the input has 2 channels"):
        StemAnalyzer(SR, 2, StemMap(pulse=2))
    analyzer = StemAnalyzer(SR, 2)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        analyzer.process(np.zeros((100, 3), np.float32))
    assert analyzer.mix is analyzer.analyzers[None]
