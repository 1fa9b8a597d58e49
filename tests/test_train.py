"""`vjgan train`: data from folders and videos, a few real training steps, resume, bad input, augmentation."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from vjgan.errors import VjganError
from vjgan.gan import GeneratorRunner
from vjgan.gan.loader import load_model
from vjgan.train.augment import color, cutout, diff_augment, parse_policy, translation
from vjgan.cli import main as train_main
from vjgan.train.config import TrainConfig
from vjgan.train.dataset import load_dataset
from vjgan.train.synthwave import render_synthwave, write_synthwave_dataset
from vjgan.train.trainer import Trainer

SIZE = 16
TINY = dict(size=SIZE, width=8, batch=4, z_dim=16, w_dim=16, snapshot_s=3600.0)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    write_synthwave_dataset(folder, 6, size=24, seed=5)  # 24 px: the loader must resize them to 16
    return folder


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"}
        for array in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(stream.encode(None))


def three_shots() -> list[np.ndarray]:
    """12 frames of a still card, 12 of another still card, then 12 of a slowly panning picture."""
    y, x = np.mgrid[0:64, 0:64]
    card_a = np.stack([np.full((64, 64), 200), x * 3, y * 2], -1).astype(np.uint8)
    card_b = np.stack([y * 4 % 256, np.full((64, 64), 30), np.full((64, 64), 220)], -1).astype(np.uint8)
    pan = [np.stack([(np.sin((x + 3 * k) / 6) * 60 + 60), y, np.full((64, 64), 20)], -1).astype(np.uint8)
           for k in range(12)]
    return [card_a] * 12 + [card_b] * 12 + pan


def test_train_command_on_a_folder_writes_a_model_that_renders(image_folder, tmp_path, capsys):
    out = tmp_path / "look.safetensors"
    code = train_main(["train", str(image_folder), "-o", str(out), "--size", "16", "--width", "8",
                       "--batch", "4", "--kimg", "0.016", "--no-progress"])
    assert code == 0
    err = capsys.readouterr().err
    assert "training on 6 images at 16 px" in err
    work = tmp_path / "look.train"
    state = json.loads((work / "state.json").read_text())
    assert state["step"] == 4 and state["nimg"] == 16
    assert (work / "samples" / "reals.png").is_file() and (work / "samples" / "fakes-0000004.png").is_file()
    G = load_model(out)  # a normal vjgan model file
    assert (G.img_resolution, G.z_dim) == (16, 256)
    frame = GeneratorRunner(G)(np.random.default_rng(0).standard_normal(256).astype(np.float32))
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8 and frame.std() > 0


def test_video_frames_every_nth_new_shots_kept_still_frames_dropped(tmp_path):
    video = tmp_path / "clip.mp4"
    write_video(video, three_shots())
    data = load_dataset([video], SIZE, every_frames=5)
    # shot 1: frame 0 only (5 and 10 repeat it); shot 2: its first frame 12 (a cut, off the 5-grid),
    # 15 and 20 repeat it; shot 3: the cut at 24, then 25, 30 and 35, which have moved on.
    assert len(data) == 6 and data.summary.from_videos == 6
    assert data.images.shape == (6, 3, SIZE, SIZE) and data.images.dtype == torch.uint8
    every_frame = load_dataset([video], SIZE, every_frames=1)
    assert len(every_frame) > len(data)


def test_a_few_steps_on_a_generated_video_give_a_model(tmp_path):
    video = tmp_path / "clip.mp4"
    write_video(video, three_shots())
    data = load_dataset([video], SIZE, every_frames=2)
    out = tmp_path / "from-video.safetensors"
    summary = Trainer(TrainConfig(**TINY, kimg=0.012), data, out).run()
    assert summary.steps == 3 and summary.finished
    frame = GeneratorRunner(load_model(out))(np.zeros(16, np.float32))
    assert frame.shape == (SIZE, SIZE, 3)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path).state_dict()


def test_interrupted_run_resumes_from_its_checkpoint_and_matches_an_uninterrupted_one(image_folder, tmp_path):
    data = load_dataset([image_folder], SIZE)
    cfg = TrainConfig(**TINY, kimg=0.024)  # 6 steps of 4 images
    straight = tmp_path / "straight.safetensors"
    assert Trainer(cfg, data, straight).run().steps == 6

    resumed = tmp_path / "resumed.safetensors"
    first = Trainer(cfg, data, resumed).run(max_steps=2)  # stopped early, like an interruption
    assert (first.steps, first.finished) == (2, False)

    def interrupt(progress):
        if progress.step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, data, resumed, resume=True).run(on_progress=interrupt)
    state = json.loads((tmp_path / "resumed.train" / "state.json").read_text())
    assert state["step"] == 4  # Ctrl-C checkpointed the step it was on

    again = Trainer(cfg, data, resumed, resume=True)
    assert again.step == 4 and again.nimg == 16
    final = again.run()
    assert (final.steps, final.nimg, final.resumed_from_step, final.finished) == (6, 24, 4, True)
    a, b = _weights(straight), _weights(resumed)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)  # same RNG stream, same optimiser state


def test_checkpoint_guards(image_folder, tmp_path):
    data = load_dataset([image_folder], SIZE)
    out = tmp_path / "m.safetensors"
    with pytest.raises(VjganError, match=r"--resume: no checkpoint in .*m\.train; run without --resume"):
        Trainer(TrainConfig(**TINY, kimg=0.008), data, out, resume=True)
    Trainer(TrainConfig(**TINY, kimg=0.008), data, out).run()
    with pytest.raises(VjganError, match="already holds a training run; pass --resume"):
        Trainer(TrainConfig(**TINY, kimg=0.008), data, out)


def _train(data: Path, out: Path, *flags: str) -> int:
    return train_main(["train", str(data), "-o", str(out), "--no-progress", *flags])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("vjgan: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_training_data_gives_one_line_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a picture")
    assert _train(empty, tmp_path / "m.safetensors", "--size", "16") == 2
    assert f"{empty}: no images or videos in this folder" in _one_line_error(capsys)

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("a.png", "b.jpg"):
        (broken / name).write_bytes(b"this is not an image")
    assert _train(broken, tmp_path / "m.safetensors", "--size", "16") == 2
    assert "none of the 2 image files could be read (first: a.png" in _one_line_error(capsys)

    Image.fromarray(render_synthwave(0, 0, 16)).save(broken / "good.png")
    data = load_dataset([broken], SIZE)
    assert (len(data), data.summary.skipped) == (1, 2)

    assert _train(broken, tmp_path / "m.safetensors", "--size", "100") == 2
    assert "--size 100 is not a power of two; use one of 16, 32, 64, 128, 256, 512" in _one_line_error(capsys)

    missing = tmp_path / "nowhere"
    assert _train(missing, tmp_path / "m.safetensors") == 2
    assert f"{missing}: no such file or folder" in _one_line_error(capsys)


def test_videos_without_pictures_are_named(tmp_path):
    def audio_file(path: Path, with_video_stream: bool) -> Path:
        with av.open(str(path), "w") as container:
            if with_video_stream:  # declared, but never given a frame
                video = container.add_stream("libx264", rate=10)
                video.width = video.height = 32
                video.pix_fmt = "yuv420p"
            audio = container.add_stream("aac", rate=8000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.time_base = 8000, Fraction(1, 8000)
            container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
        return path

    with pytest.raises(VjganError, match=r"empty\.mkv: the video has no frames; pass a video with pictures"):
        load_dataset([audio_file(tmp_path / "empty.mkv", True)], SIZE)
    with pytest.raises(VjganError, match=r"song\.mp4: has no video stream"):
        load_dataset([audio_file(tmp_path / "song.mp4", False)], SIZE)

    garbage = tmp_path / "noise.mp4"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(VjganError, match=r"noise\.mp4: cannot read this video"):
        load_dataset([garbage], SIZE)


def test_augmentations_are_differentiable_and_change_the_picture():
    torch.manual_seed(0)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    for op in (color, translation, cutout):
        y = op(x)
        assert y.shape == x.shape and not torch.allclose(y, x)
        (grad,) = torch.autograd.grad((y * torch.randn_like(y)).sum(), x)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    y = diff_augment(x, parse_policy("color,translation,cutout"))
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("none") == ()
    with pytest.raises(VjganError, match="--augment: unknown augmentation 'blur'"):
        parse_policy("color,blur")


def test_translation_moves_pixels_and_fills_with_zero():
    torch.manual_seed(1)
    x = torch.ones(8, 1, 16, 16)
    y = translation(x)
    assert (y == 0).any() and set(torch.unique(y).tolist()) <= {0.0, 1.0}
    assert (y.sum(dim=[1, 2, 3]) >= 14 * 14).all()  # shifted by at most 2 px per axis


def test_synthwave_scenes_are_deterministic_per_seed():
    a = render_synthwave(3, 7, 32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_synthwave(3, 7, 32))
    assert not np.array_equal(a, render_synthwave(4, 7, 32))
    assert not np.array_equal(a, render_synthwave(3, 8, 32))
    assert a.std() > 20 and np.abs(a.astype(int) - a.mean(axis=2, keepdims=True)).mean() > 10  # colourful


def test_the_default_recipe_is_the_shipped_architecture(tmp_path):
    from vjgan.gan.default import DEFAULT_CONFIG, DEFAULT_RECIPE, default_model_path
    from vjgan.gan.modelfile import load_generator
    from vjgan.train.cli import _config, add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(DEFAULT_RECIPE.train_argv(tmp_path / "data", tmp_path / "m.safetensors"))
    cfg, _ = _config(args)
    assert cfg.generator_kwargs() == DEFAULT_CONFIG
    assert load_generator(default_model_path()).init_kwargs == DEFAULT_CONFIG
