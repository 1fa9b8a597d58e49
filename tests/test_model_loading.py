"""Loading any model format: `vjgan convert`, the child-process loader and its failure modes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from test_cli import assert_clean_failure, probe, song, vjgan  # noqa: F401  (song is a fixture)
from test_cli import vjgan as vjgan_cli
from test_rosinality import DIM, SIZE, save_ema, seeded_generator
from vjgan.errors import VjganError
from vjgan.gan import GeneratorRunner, load_generator, load_runner
from vjgan.gan.load_child import TEST_SLEEP_ENV
from vjgan.gan.loader import detect_format, load_any, load_isolated
from vjgan.gan.rosinality import load_rosinality


@pytest.fixture()
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temp folder that the loader's temporary files must go to (and leave empty)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture()
def ros_file(tmp_path) -> tuple[Path, torch.nn.Module]:
    G = seeded_generator(seed=5)
    path = tmp_path / "network.pt"
    save_ema(path, G)
    return path, G


def _children_reading(path: Path) -> list[str]:
    """PIDs of processes whose command line names `path` (a lingering loader child)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(path.resolve()) in cmdline and "load_child" in cmdline:
                found.append(proc.name)
    return found


def test_convert_a_rosinality_checkpoint_then_render_with_it(ros_file, song, tmp_path):  # noqa: F811
    src, G = ros_file
    out = tmp_path / "converted.safetensors"
    run = vjgan("convert", str(src), str(out), env={"TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip()
    assert "\n" not in line and str(out) in line
    for part in ("stylegan2", f"{SIZE}x{SIZE}", f"z_dim {DIM}", "c_dim 0", "parameters"):
        assert part in line, line
    assert detect_format(out) == "vjgan"
    converted = load_generator(out)
    z = torch.randn(2, DIM, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(converted(z, None), G(z, None))
    assert not list(tmp_path.glob("vjgan-load-*"))

    video = tmp_path / "clip.mp4"
    run = vjgan("render", str(song), "-o", str(video), "--model", str(out), "--fps", "8", "--duration", "1",
                "--size", str(SIZE), "--no-progress")
    assert run.returncode == 0, run.stderr
    frames = probe(video)["frames"]
    assert len(frames) == 8 and frames[0].shape == (SIZE, SIZE, 3)
    assert np.stack(frames).std() > 1.0


def test_a_pt_file_renders_directly_through_load_runner(ros_file, private_tmp):
    src, G = ros_file
    runner = load_runner(str(src))
    reference = GeneratorRunner(G)
    z = np.random.default_rng(1).standard_normal(DIM).astype(np.float32)
    assert np.array_equal(runner(z), reference(z))
    assert list(private_tmp.iterdir()) == []


def test_load_any_sniffs_content_not_the_suffix(ros_file, tmp_path):
    src, G = ros_file
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(src.read_bytes())
    z = torch.randn(1, DIM)
    with torch.no_grad():
        assert torch.equal(load_any(disguised)(z, None), G(z, None))
    with pytest.raises(VjganError, match=r"model\.safetensors: this is a pickle.*vjgan convert"):
        load_generator(disguised)


def test_broken_files_fail_with_one_line_and_leave_nothing(ros_file, tmp_path):
    src, _ = ros_file
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    noise = tmp_path / "noise.pkl"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    cases = [(truncated, ("truncated.pt", "truncated or corrupt")),
             (noise, ("noise.pkl", "not a model file", "rosinality"))]
    for bad, needles in cases:
        out = tmp_path / f"{bad.stem}.safetensors"
        run = vjgan("convert", str(bad), str(out), env={"TMPDIR": str(scratch)})
        assert_clean_failure(run, *needles)
        assert not out.exists()
        assert list(scratch.iterdir()) == [] and list(tmp_path.glob("*.tmp")) == []
    run = vjgan("convert", str(src), str(tmp_path / "out.pkl"))
    assert_clean_failure(run, "out.pkl", ".safetensors")


def test_the_childs_error_reaches_the_caller_verbatim(tmp_path, private_tmp):
    sd = dict(save_ema(tmp_path / "ok.pt", seeded_generator()))
    del sd["to_rgbs.0.conv.weight"]
    bad = tmp_path / "incomplete.pt"
    torch.save({"g_ema": sd}, bad)
    with pytest.raises(VjganError) as direct:
        load_rosinality(bad)
    with pytest.raises(VjganError) as isolated:
        load_isolated(bad)
    assert str(isolated.value) == str(direct.value)
    assert "'to_rgbs.0.conv.weight' is missing" in str(isolated.value)
    assert list(private_tmp.iterdir()) == []


def test_a_file_over_the_size_limit_is_refused_before_any_work(ros_file, private_tmp, monkeypatch):
    src, _ = ros_file

    def no_child(*args, **kwargs):
        raise AssertionError("a loader process was started for a file over the limit")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    with pytest.raises(VjganError, match=r"network\.pt: the file is .* KiB, over the 1\.0 KiB limit"):
        load_isolated(src, max_bytes=1024)
    assert list(private_tmp.iterdir()) == []


def test_a_hanging_load_is_killed_on_time_while_the_caller_keeps_running(ros_file, private_tmp, monkeypatch):
    src, _ = ros_file
    monkeypatch.setenv(TEST_SLEEP_ENV, "60")
    ticks = []
    stop = threading.Event()

    def render_loop() -> None:  # stands in for the show's render thread
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=render_loop)
    thread.start()
    start = time.monotonic()
    try:
        with pytest.raises(VjganError) as err:
            load_isolated(src, timeout_s=3)
    finally:
        stop.set()
        thread.join()
    elapsed = time.monotonic() - start
    assert 3 <= elapsed < 3 + 5
    assert str(err.value) == (f"{src}: loading took longer than 3 s — the file is too big or broken; convert it "
                              "once with `vjgan convert` (its --timeout allows longer)")
    assert len(ticks) > 100 and max(np.diff(ticks)) < 0.5
    assert _children_reading(src) == []
    assert list(private_tmp.iterdir()) == []


def test_a_memory_cap_stops_the_child_with_a_clear_message(ros_file, private_tmp):
    src, _ = ros_file
    with pytest.raises(VjganError, match=r"network\.pt: ran out of memory") as err:
        load_isolated(src, memory_bytes=64 * 2**20)
    assert "\n" not in str(err.value)
    assert list(private_tmp.iterdir()) == []


def test_the_child_runs_as_documented(ros_file, tmp_path):
    src, G = ros_file
    out = tmp_path / "child.safetensors"
    run = subprocess.run([sys.executable, "-m", "vjgan.gan.load_child", str(src), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr == ""
    z = torch.randn(2, DIM)
    with torch.no_grad():
        assert torch.equal(load_generator(out)(z, None), G(z, None))
    run = subprocess.run([sys.executable, "-m", "vjgan.gan.load_child", str(tmp_path / "nope.pt"), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [f"{tmp_path / 'nope.pt'}: model file "
                                                                        "not found; check the path"]


def test_an_nvlabs_pickle_converts_through_the_cli_and_loads_with_vjgan_load_generator(tmp_path):
    """The whole user path for a network-snapshot .pkl: `vjgan convert`, then the top-level API."""
    import vjgan
    from nvlabs_writer import write_snapshot

    G = seeded_generator(seed=9)
    pkl, out = tmp_path / "network-snapshot-000912.pkl", tmp_path / "mine.safetensors"
    write_snapshot(pkl, G)
    run = vjgan_cli("convert", str(pkl), str(out))
    assert run.returncode == 0, run.stderr
    assert "stylegan2" in run.stdout and str(out) in run.stdout
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(1))
    for path in (pkl, out):
        loaded = vjgan.load_generator(path)
        assert torch.equal(loaded(z, None, noise_mode="const"), G(z, None, noise_mode="const"))
