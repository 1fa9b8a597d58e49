"""The reaction trace: what the reactor did, as exact JSON data and as a readable PNG plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vjgan.errors import VjganError
from vjgan.react.reactor import Latents
from vjgan.react.trace import SCHEMA, ReactionTrace, check_trace_path, write_trace

FPS = 30
DURATION_S = 4.0
SHUFFLE_S = 2.0
HEATMAP_ROWS = slice(560, 700)  # well inside the bottom (class) panel of the 1200 x 800 plot
HEATMAP_COLS = slice(200, 1000)


def frame(i: int, moving_classes: bool = True) -> Latents:
    """Synthetic reaction at 30 fps: a decaying hit every 0.5 s, a class shuffle at 2 s (with
    moving_classes=False: no class weights and no shuffle)."""
    t_s = i / FPS
    since_hit_s = t_s % 0.5
    percussive = float(np.exp(-since_hit_s / 0.08))
    shuffled = moving_classes and i == int(SHUFFLE_S * FPS)
    shift = 3 if moving_classes and t_s >= SHUFFLE_S else 0
    classes = np.zeros(12, dtype=np.float32)
    if moving_classes:
        classes[(int(t_s) + shift) % 12] = 1.0  # the top slot moves each second, jumps at the shuffle
        classes[(7 + shift) % 12] = 0.3
    return Latents(t_s=t_s, z=np.zeros(8, np.float32), c=None, pulse=0.1 + 0.5 * percussive,
                   percussive=percussive, harmonic=0.4 + 0.1 * np.sin(t_s), class_vector=classes,
                   motion_speed=0.2 + 0.05 * t_s, class_shift=shift, shuffled=shuffled)


def make_trace(moving_classes: bool = True,
               labels: list | None = None) -> tuple[ReactionTrace, list[Latents]]:
    trace = ReactionTrace(labels)
    frames = [frame(i, moving_classes) for i in range(int(DURATION_S * FPS))]
    for latents in frames:
        trace.add(latents)
    return trace, frames


def test_json_round_trips_exact_values_and_shuffle_time(tmp_path: Path) -> None:
    trace, frames = make_trace(labels=list(range(100, 112)))
    out = tmp_path / "trace.json"
    write_trace(trace, out)
    data = json.loads(out.read_text())
    assert data["schema"] == SCHEMA and data["frames"] == len(trace) == len(frames) == 120
    assert data["labels"] == [str(k) for k in range(100, 112)]
    assert data["t_s"] == [f.t_s for f in frames]
    for name in ("pulse", "percussive", "harmonic", "motion_speed"):
        # the values come back bit-exact at the precision they were stored (float32)
        assert np.array_equal(np.float32(data[name]), np.float32([getattr(f, name) for f in frames])), name
    assert np.array_equal(np.float32(data["class_vector"]), np.stack([f.class_vector for f in frames]))
    assert data["class_shift"] == [f.class_shift for f in frames]
    assert data["shuffled"] == [f.shuffled for f in frames] and sum(data["shuffled"]) == 1
    assert data["shuffle_times_s"] == [SHUFFLE_S]
    assert "0.30000001192092896" not in out.read_text()  # float32 written short (0.3), not widened
    assert not [p for p in tmp_path.iterdir() if p.name != "trace.json"]  # no temp file left behind


def test_default_labels_and_in_memory_columns() -> None:
    trace, frames = make_trace()
    data = trace.to_dict()
    assert data["labels"] == [f"slot {j}" for j in range(12)]
    arrays = trace.arrays()
    assert arrays["class_vector"].shape == (120, 12)
    peaks_s = arrays["t_s"][arrays["pulse"] > 0.55]
    assert np.allclose(peaks_s, np.arange(0.0, DURATION_S, 0.5))  # the hit every 0.5 s is visible


def test_png_is_written_at_the_expected_size_with_a_visible_heatmap(tmp_path: Path) -> None:
    trace, _ = make_trace()
    out = tmp_path / "trace.png"
    write_trace(trace, out, caption="song.wav — preset techno")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as image:
        assert image.size == (1200, 800)
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    heatmap = pixels[HEATMAP_ROWS, HEATMAP_COLS]
    assert heatmap.std(axis=(0, 1)).max() > 20.0  # bright moving slots on a dark field

    flat, _ = make_trace(moving_classes=False)
    flat_out = tmp_path / "flat.png"
    write_trace(flat, flat_out)
    with Image.open(flat_out) as image:
        flat_heatmap = np.asarray(image.convert("RGB"), dtype=np.int16)[HEATMAP_ROWS, HEATMAP_COLS]
    # without class weights (and no shuffle lines) the same region is one flat colour: the check above
    # really looks at the heatmap
    assert flat_heatmap.std(axis=(0, 1)).max() == 0.0


def test_heatmap_shows_the_shuffle(tmp_path: Path) -> None:
    """Before the shuffle slot 7 holds 0.3 all along; after it, slot 10 does — the rows differ."""
    trace, _ = make_trace()
    out = tmp_path / "trace.png"
    write_trace(trace, out)
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    heatmap = pixels[HEATMAP_ROWS, HEATMAP_COLS]
    left, right = heatmap[:, :300], heatmap[:, -300:]  # 0..~1.5 s and ~2.5..4 s
    assert np.abs(left.mean(axis=1) - right.mean(axis=1)).max() > 20.0


@pytest.mark.parametrize("name", ["trace.txt", "trace", "trace.csv"])
def test_bad_suffix_fails_with_one_line(tmp_path: Path, name: str) -> None:
    trace, _ = make_trace()
    with pytest.raises(VjganError) as err:
        write_trace(trace, tmp_path / name)
    message = str(err.value)
    assert "\n" not in message and name in message and ".png" in message and ".json" in message
    with pytest.raises(VjganError):
        check_trace_path(tmp_path / name)  # the CLI can refuse before rendering
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".png", ".json"])
def test_unwritable_folder_fails_with_one_line(tmp_path: Path, suffix: str) -> None:
    trace, _ = make_trace()
    missing = tmp_path / "no-such-folder" / f"trace{suffix}"
    with pytest.raises(VjganError) as err:
        write_trace(trace, missing)
    assert "\n" not in str(err.value) and str(missing) in str(err.value)

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    under_file = blocker / f"trace{suffix}"
    with pytest.raises(VjganError) as err:
        write_trace(trace, under_file)
    assert "\n" not in str(err.value) and str(under_file) in str(err.value)


@pytest.mark.parametrize("suffix", [".png", ".json"])
def test_empty_trace_fails(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"trace{suffix}"
    with pytest.raises(VjganError, match="nothing to plot: no frames were rendered") as err:
        write_trace(ReactionTrace(), out)
    assert "\n" not in str(err.value) and str(out) in str(err.value)
    assert not out.exists()


def test_wrong_number_of_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="12"):
        ReactionTrace(labels=["a", "b"])
