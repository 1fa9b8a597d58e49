"""The measuring code of `vjgan bench` measures what it says: a delay put into one stage shows up in
that stage's figure, the latency matcher pairs clicks with the right frames, and a result file has
the fields bench/README.md documents. (Speed itself is for bench/, never asserted here.)"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from vjgan.audio.sources import SyntheticSource
from vjgan.benchmark.__main__ import main as bench_main
from vjgan.benchmark.latency import (LATENCY_STAGES, arrival_ns, click_starts, flash_hit, match_clicks, onset_hit,
                                     pair_schedule, summarize_matches)
from vjgan.benchmark.plots import write_plots
from vjgan.benchmark.stages import FrameLoop, FrameRecord
from vjgan.control.presets import load_preset
from vjgan.gfx.display import open_output
from vjgan.pipeline import ShowOptions, build_engine

RATE = 48000
SIZE = 32


class SlowGenerator:
    """A stand-in generator that takes `delay_s` per frame (the injected delay)."""

    z_dim, c_dim, resolution = 8, 0, SIZE

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def __call__(self, z, c, psi=1.0):
        time.sleep(self.delay_s)
        return np.full((SIZE, SIZE, 3), 100, dtype=np.uint8)


class SlowPresent:
    """Wraps the headless output; present takes `delay_s` longer."""

    def __init__(self, output, delay_s: float) -> None:
        self.output, self.delay_s, self.ctx = output, delay_s, output.ctx

    def present(self, texture) -> None:
        time.sleep(self.delay_s)
        self.output.present(texture)


def clicks_signal(starts_s, duration_s):
    x = np.zeros(int(duration_s * RATE), dtype=np.float32)
    t = np.arange(int(0.05 * RATE)) / RATE
    hit = (np.sin(2 * np.pi * 200 * t) * 0.4 + 0.4) * np.exp(-t / 0.01)
    for s in starts_s:
        i = int(s * RATE)
        x[i : i + hit.size] += hit[: x.size - i]
    return x


@pytest.fixture
def show():
    output = open_output((SIZE, SIZE), headless=True)
    made = []

    def build(generator, signal):
        engine, chain = build_engine(SyntheticSource(signal, RATE), generator, load_preset("default"), output.ctx,
                                     (SIZE, SIZE), ShowOptions(size=SIZE))
        made.append(chain)
        return engine, chain, output

    yield build
    for chain in made:
        chain.release()
    output.close()


def run_frames(loop, frames, fps=30.0):
    for i in range(frames):
        loop.frame(i / fps)
    return loop.records


def test_a_delay_in_the_generator_shows_in_the_generator_stage_only(show):
    engine, chain, output = show(SlowGenerator(0.04), clicks_signal([0.1], 1.0))
    records = run_frames(FrameLoop(engine, chain, output), 4)
    for r in records:
        assert r.stages_ms["generator"] >= 40.0
        assert r.stages_ms["present"] < 40.0 and r.stages_ms["react"] < 40.0 and r.stages_ms["audio"] < 40.0
        assert r.present_ns - r.start_ns >= 40e6
        assert "upload" in r.stages_ms  # split out of the effects stage


def test_a_delay_in_present_shows_in_the_present_stage_and_in_the_latency_breakdown(show):
    engine, chain, output = show(SlowGenerator(0.0), clicks_signal([0.3], 1.2))
    loop = FrameLoop(engine, chain, SlowPresent(output, 0.03), keep_audio=True)
    records = run_frames(loop, 30)
    assert all(r.stages_ms["present"] >= 30.0 and r.stages_ms["generator"] < 30.0 for r in records)
    found = click_starts(loop.audio())
    assert found.tolist() == [int(0.3 * RATE)]  # consumed audio is the source's, sample for sample
    # the click "arrived" 5 ms before the frame that read it started
    first = next(r for r in records if r.samples_end > found[0])
    matches = match_clicks(found, [first.start_ns - 5_000_000], records, flash_hit(0.5))
    assert len(matches) == 1
    stages = matches[0].stages_ms
    assert stages["present"] >= 30.0
    assert stages["capture"] == pytest.approx(5.0)
    assert sum(stages.values()) == pytest.approx(matches[0].latency_ms)


def test_luma_is_measured_after_present_and_rises_on_the_flash_frame(show):
    engine, chain, output = show(SlowGenerator(0.0), clicks_signal([0.5], 1.2))
    loop = FrameLoop(engine, chain, output, keep_audio=True, measure_luma=True)
    records = run_frames(loop, 30)
    found = click_starts(loop.audio())
    first = next(r for r in records if r.samples_end > found[0])
    matches = match_clicks(found, [first.start_ns], records, flash_hit(0.5))
    assert len(matches) == 1 and matches[0].luma_rise > 0.05  # the flash brightened the output


def record(index, start_ms, present_ms, samples_end, flash=0.0, onset=False, luma=None, **stages):
    ms = {"audio": 1.0, "react": 0.5, "generator": 4.0, "upload": 0.5, "effects": 1.0, "present": 1.0}
    ms.update(stages)
    return FrameRecord(index, int(start_ms * 1e6), int(present_ms * 1e6), ms, samples_end, flash, onset, luma)


def synthetic_frames():
    """Frames every 10 ms, each reading 480 samples (10 ms at 48 kHz), presented 9 ms after start."""
    flash_frames = {3: 0.9, 7: 0.8, 8: 0.6}
    return [record(i, 10.0 * i, 10.0 * i + 9.0, 480 * (i + 1), flash=flash_frames.get(i, 0.1), onset=i in (4, 8),
                   luma=0.5 + (0.2 if i in flash_frames else 0.0))
            for i in range(12)]


def test_the_matcher_pairs_each_click_with_the_first_reacting_frame_from_the_one_that_read_it():
    frames = synthetic_frames()
    clicks = [1000, 2900, 5000]  # read by frames 2, 6, 10
    arrivals = [15_000_000, 55_000_000, 95_000_000]  # ns, 5 ms before those frames start
    matches = match_clicks(clicks, arrivals, frames, flash_hit(0.5))
    assert [(m.click, m.first_frame, m.frame) for m in matches] == [(0, 2, 3), (1, 6, 7)]  # click 2: no flash
    first = matches[0]
    assert first.latency_ms == pytest.approx(39.0 - 15.0)  # frame 3 presented at 39 ms
    assert first.stages_ms["capture"] == pytest.approx(5.0)  # waited for frame 2 to read it
    assert first.stages_ms["onset"] == pytest.approx(31.0 - 20.0)  # until frame 3's analysis ended
    assert first.stages_ms["generator"] == pytest.approx(4.0)
    for m in matches:
        assert sum(m.stages_ms[s] for s in LATENCY_STAGES) == pytest.approx(m.latency_ms)
    assert first.luma_rise == pytest.approx(0.2)  # frame 3 against frame 2
    onsets = match_clicks(clicks, arrivals, frames, onset_hit)
    assert [(m.click, m.frame) for m in onsets] == [(0, 4), (1, 8)]
    # onset frame 8 follows onset-free frame 7: checked, though 7 was a flash frame (no rise: 0.7 -> 0.7)
    assert onsets[1].luma_rise == pytest.approx(0.0)
    summary = summarize_matches(matches, len(clicks))
    assert summary["matched"] == 2 and summary["missed"] == 1
    assert summary["latency"]["p50_ms"] == pytest.approx(np.median([m.latency_ms for m in matches]))
    assert sum(summary["stages_mean_ms"].values()) == pytest.approx(summary["latency"]["mean_ms"])


def test_the_matcher_never_credits_a_click_with_the_next_clicks_frame_nor_uses_a_missing_stamp():
    frames = synthetic_frames()
    # click 0 read by frame 5, nothing reacts before click 1 is read by frame 7 (which flashes)
    matches = match_clicks([2500, 3400], [45_000_000, 65_000_000], frames, flash_hit(0.5))
    assert [(m.click, m.frame) for m in matches] == [(1, 7)]
    # a click shown on frame 8, whose predecessor 7 still flashed: its luma rise is not checked
    late = match_clicks([3900], [75_000_000], frames, flash_hit(0.5))
    assert [(m.frame, m.luma_rise) for m in late] == [(8, None)]
    assert match_clicks([1000], [-1], frames, flash_hit(0.5)) == []
    # a flash too long after the click is not this click's
    assert match_clicks([100], [0], frames, flash_hit(0.5), max_latency_ms=20.0) == []


def test_click_starts_arrival_lookup_and_schedule_pairing():
    signal = clicks_signal([0.1, 0.45, 0.8], 1.0)
    found = click_starts(signal)
    assert found.tolist() == [4800, 21600, 38400]
    ends = np.array([128, 256, 384, 512])
    stamps = np.array([10, 20, 30, 40])
    assert arrival_ns(np.array([0, 127, 128, 511, 512]), ends, stamps).tolist() == [10, 10, 20, 40, -1]
    scheduled = np.array([100, 9000, 25800, 40000])  # the player's own stream; the capture lost the first
    assert pair_schedule(found[[1, 2]], scheduled, window=4800) == [(0, 1, 0), (1, 2, 0)]
    # a 128-frame block lost between the first two clicks: paired still, and the loss is measured
    lossy = np.array([4800, 13700 - 128, 30500 - 128])
    assert pair_schedule(lossy, scheduled, window=4800) == [(0, 0, 0), (1, 1, -128), (2, 2, 0)]


def test_plots_are_written_as_small_pngs(tmp_path):
    latency = {"mode": "jack-dummy", "options": {"block": 128, "sample_rate": 48000, "size": 256, "fps": 60.0},
               "latencies_ms": {"flash": [20.0, 25.0, 30.0], "onset": [30.0, 35.0]},
               "flash": {"matched": 3, "stages_mean_ms": dict.fromkeys(LATENCY_STAGES, 3.0)},
               "onset": {"matched": 2, "stages_mean_ms": dict.fromkeys(LATENCY_STAGES, 4.0)}}
    generator = {"device": "cpu", "groups": [
        {"group": "default", "resolution": 256, "configs": {"baseline": {"p50_ms": 12.0}}},
        *({"group": "config-f-shaped-small", "resolution": r,
           "configs": {"baseline": {"p50_ms": r / 10}, "runner-auto": {"p50_ms": r / 20}}} for r in (128, 256, 512))]}
    paths = write_plots({"sections": {"latency": latency, "generator": generator}}, tmp_path)
    assert sorted(p.name for p in paths) == ["generator.png", "latency.png", "latency_stages.png"]
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width <= 800 and im.height <= 600
        assert p.stat().st_size < 200_000


def test_bench_command_writes_a_result_with_the_documented_fields(tmp_path):
    out = tmp_path / "r.json"
    assert bench_main(["--frame", "--frames", "3", "--size", "32", "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["schema"] == "vjgan-bench/1"
    machine = result["machine"]
    for key in ("date", "cpu", "cores", "device", "cuda_device", "torch", "torch_threads", "python", "commit",
                "loadavg_start", "loadavg_end"):
        assert key in machine, key
    assert machine["commit"]  # a short hash in a checkout, "unknown" elsewhere
    frame = result["sections"]["frame"]
    assert frame["frames"] == 3
    assert {"audio", "react", "generator", "upload", "effects", "present"} <= set(frame["stages_ms"])
    assert frame["frame_ms"]["n"] == 3 and frame["frame_ms"]["p50_ms"] > 0
    goals = {g["goal"]: g for g in result["goals"]}
    cpu_fps = goals["default model, whole frame at 256 px"]
    assert cpu_fps["measured"] == pytest.approx(frame["fps_p50"]) and cpu_fps["met"] in (True, False)
    assert goals["StyleGAN2 config-f 512, batch 1, p50"]["measured"] is None  # not a GPU run


def test_latency_flags_must_come_in_pairs(capsys):
    assert bench_main(["--latency", "--latency-device", "Scarlett"]) == 2
    assert "--latency-output" in capsys.readouterr().err
