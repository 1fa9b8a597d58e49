"""The Lucid Sonic Dreams API: LSD's README and tutorial examples run with `style` pointing at a local
model (and songs a few seconds long, so the start/duration numbers are scaled down)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from test_cli import probe
from vjgan.audio.demo_track import synthesize_demo_track
from vjgan.errors import VjganError
from vjgan.gan.default import DEFAULT_CONFIG

RATE = 22050


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """song.mp3 (the demo groove, 4 s), its drums alone and its pad alone."""
    folder = tmp_path_factory.mktemp("lsd")
    mix = synthesize_demo_track(sample_rate=RATE, duration_s=4.0)
    mono = mix.mean(axis=1) if mix.ndim == 2 else mix
    sf.write(folder / "song.mp3", mix, RATE)
    t = np.arange(len(mono)) / RATE
    drums = np.zeros_like(t)
    for start in np.arange(0, 4.0, 0.5):
        n = (t >= start) & (t < start + 0.12)
        drums[n] = 0.8 * np.sin(2 * np.pi * 60 * (t[n] - start)) * np.exp(-(t[n] - start) * 30)
    sf.write(folder / "drums.wav", drums.astype(np.float32), RATE)
    pad = 0.3 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.6, 329.6))
    sf.write(folder / "pad.wav", pad.astype(np.float32), RATE)
    return folder


@pytest.fixture
def here(audio, monkeypatch):
    monkeypatch.chdir(audio)
    return audio


def test_basic_visualization(here):
    from vjgan import LucidSonicDream

    L = LucidSonicDream(song='song.mp3',
                        style='default')

    L.hallucinate(file_name='song.mp4')

    info = probe(here / "song.mp4")
    assert len(info["frames"]) == round(4.0 * 43)  # LSD's default fps, exactly
    side = DEFAULT_CONFIG["img_resolution"]  # LSD: the model's own resolution
    assert info["size"] == (side, side) and info["audio_codec"] == "aac"
    assert info["audio_s"] == pytest.approx(4.0, abs=0.05)


def test_tuning_parameters_with_start_duration_and_resolution(here):
    from vjgan import LucidSonicDream

    L = LucidSonicDream('song.mp3', style='default')
    L.hallucinate(file_name='pancake_feet.mp4',
                  resolution=360,
                  duration=1.5,
                  start=2,
                  pulse_react=1.2,
                  motion_react=0.7,
                  contrast_strength=0.5,
                  flash_strength=0.5,
                  progress=False)

    info = probe(here / "pancake_feet.mp4")
    assert info["size"] == (360, 360)
    assert len(info["frames"]) == round(1.5 * 43)
    assert info["audio_s"] == pytest.approx(1.5, abs=0.05)


def test_percussive_and_harmonic_routing_and_a_style_file_path(here):
    from vjgan import LucidSonicDream
    from vjgan.gan import default_model_path

    L = LucidSonicDream(song='song.mp3',
                        style=str(default_model_path()))
    L.hallucinate(file_name='raspberry.mp4',
                  resolution=128,
                  start=1,
                  duration=1,
                  pulse_react=0.5,
                  motion_react=0.7,
                  pulse_percussive=False,
                  pulse_harmonic=True,
                  motion_harmonic=False,
                  motion_percussive=True,
                  contrast_strength=0.5,
                  contrast_percussive=True,
                  flash_strength=0.7,
                  flash_percussive=True,
                  progress=False)
    assert len(probe(here / "raspberry.mp4")["frames"]) == 43


def test_stems_drive_their_roles(here):
    from vjgan import LucidSonicDream

    L = LucidSonicDream(song='song.mp3',
                        pulse_audio='drums.wav',
                        motion_audio='pad.wav',
                        class_audio='pad.wav',
                        style='default')
    L.hallucinate('stems.mp4', resolution=64, duration=2, pulse_react=0.5, motion_react=0.5,
                  class_pitch_react=0.8, class_smooth_seconds=4, contrast_strength=0.5,
                  flash_strength=0.5, flash_percussive=True, progress=False,
                  trace='stems.json')
    import json

    trace = json.loads((here / "stems.json").read_text())
    pulse = np.array(trace["pulse"])
    t = np.array(trace["t_s"])
    on_kick = pulse[(t % 0.5 > 0.03) & (t % 0.5 < 0.08)]
    between = pulse[(t % 0.5 > 0.35) & (t % 0.5 < 0.45)]
    assert on_kick.mean() > 3 * between.mean()  # the drum stem drives the pulse


def _swirl(array, strength):
    """A small numpy stand-in for skimage.transform.swirl (not a vjgan dependency)."""
    h, w = array.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(float)
    dy, dx = y - h / 2, x - w / 2
    r = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx) + strength * np.exp(-r / (w / 4))
    sy = np.clip((h / 2 + r * np.sin(theta)).round().astype(int), 0, h - 1)
    sx = np.clip((w / 2 + r * np.cos(theta)).round().astype(int), 0, w - 1)
    return array[sy, sx] / 255.0


def test_custom_effects(here):
    from vjgan import EffectsGenerator, LucidSonicDream

    calls = []

    def swirl_func(array, strength, amplitude):
        calls.append(amplitude)
        swirled_image = _swirl(array, strength=100 * strength * amplitude)
        return (swirled_image * 255).astype(np.uint8)

    swirl_effect = EffectsGenerator(swirl_func,
                                    audio='song.mp3',
                                    strength=0.2,
                                    percussive=False)

    L = LucidSonicDream('song.mp3',
                        style='default')

    L.hallucinate('unfaith.mp4',
                  resolution=128,
                  start=0,
                  duration=1,
                  motion_react=0.15,
                  speed_fpm=2,
                  pulse_react=1.5,
                  class_pitch_react=0.3,
                  custom_effects=[swirl_effect],
                  progress=False)
    assert len(calls) == 43 and max(calls) > 0.3  # once per frame, following the song's level


def _biggan_like():
    """A stand-in for pytorch_pretrained_biggan: 128-d noise, 1000 classes, images in [-1, 1]."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(128 + 1000, 3 * 16 * 16), torch.nn.Tanh())

    def biggan(noise, classes, truncation=1.0):
        return net(torch.cat([noise * truncation, classes], dim=1)).view(-1, 3, 16, 16)

    def convert_to_images(tensor):
        arr = ((tensor.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        return [Image.fromarray(a).resize((96, 96)) for a in arr]

    return biggan, convert_to_images


def test_custom_visualization_function(here):
    import torch

    from vjgan import EffectsGenerator, LucidSonicDream

    def red_corner(array, strength, amplitude):
        if strength * amplitude > 0.3:  # on a hit: a red marker in the corner
            array = array.copy()
            array[:12, :12] = (255, 0, 0)
        return array

    biggan, convert_to_images = _biggan_like()
    seen = []

    def biggan_func(noise_batch, class_batch):
        seen.append((noise_batch.shape, class_batch.shape))
        noise_tensor = torch.from_numpy(noise_batch)
        class_tensor = torch.from_numpy(class_batch)
        with torch.no_grad():
            output_tensor = biggan(noise_tensor.float(), class_tensor.float(), truncation=1)
        return convert_to_images(output_tensor.cpu())

    L = LucidSonicDream('song.mp3',
                        style=biggan_func,
                        input_shape=128,
                        num_possible_classes=1000)

    L.hallucinate('sunflower.mp4',
                  output_audio='pad.wav',
                  duration=2,
                  speed_fpm=3,
                  classes=[13, 14, 22, 24, 301, 84, 99, 100, 134, 143, 393, 394],
                  class_shuffle_seconds=1.5,
                  class_shuffle_strength=0.1,
                  class_complexity=0.5,
                  class_smooth_seconds=4,
                  motion_react=0.35,
                  flash_strength=1,
                  contrast_strength=1,
                  batch_size=4,
                  save_frames=True,
                  custom_effects=[EffectsGenerator(red_corner, strength=1.0, percussive=True)],
                  progress=False)
    info = probe(here / "sunflower.mp4")
    assert info["size"] == (96, 96) and len(info["frames"]) == 86
    assert {s for s in seen[1:]} >= {((4, 128), (4, 1000))}  # batches of 4 frames
    frames = sorted((here / "sunflower_frames").glob("*.png"))
    assert len(frames) == 86
    first, last = (np.asarray(Image.open(frames[i]), dtype=float) for i in (0, -1))
    assert np.abs(first - last).mean() > 2  # the picture moved
    marked = [np.asarray(Image.open(f))[2:10, 2:10].reshape(-1, 3).mean(axis=0) for f in frames]
    on_hits = sum(1 for r, g, b in marked if r > 200 and g < 40 and b < 40)
    assert 3 <= on_hits <= 60  # the custom effect fired on the song's hits, not on every frame


def test_non_square_resolution(here):
    from vjgan import LucidSonicDream

    LucidSonicDream('song.mp3', style='default').hallucinate(
        'wide.mp4', resolution=(320, 180), duration=0.5, fps=24, progress=False)
    assert probe(here / "wide.mp4")["size"] == (320, 180)


def _mean_brightness(folder):
    return np.mean([np.asarray(Image.open(p), dtype=float).mean() for p in sorted(folder.glob("*.png"))])


def test_false_stays_false(here):
    """LSD turned flash_percussive=False into True. Here False makes the flash follow the pad's
    level, so a sustained pad with no hits flashes only when False."""
    from vjgan import LucidSonicDream

    L = LucidSonicDream('pad.wav', style='default')
    for name, percussive in (("hits", True), ("level", False)):
        L.hallucinate(f'{name}.mp4', resolution=64, duration=1.5, fps=20, flash_strength=0.8,
                      flash_percussive=percussive, save_frames=True, progress=False)
    assert _mean_brightness(here / "level_frames") > _mean_brightness(here / "hits_frames") + 20


@pytest.mark.parametrize("make, needle", [
    (lambda L: L(song="song.mp3", style="modern art"), "modern art"),
    (lambda L: L(song="missing.mp3"), "missing.mp3"),
    (lambda L: L(song="song.mp3", style=lambda noise, classes: None, input_shape=8), "noise_batch"),
    (lambda L: L(song="song.mp3").hallucinate("x.mp4", contrast_strength=2), "contrast_strength"),
    (lambda L: L(song="song.mp3").hallucinate("x.mp4", class_shuffle_strength=3),
     "class_shuffle_strength"),
    (lambda L: L(song="song.mp3").hallucinate("x.mp4", classes=[]), "classes"),
    (lambda L: L(song="song.mp3").hallucinate("x.mp4", custom_effects=["swirl"]), "custom_effects"),
])
def test_mistakes_raise_one_line_naming_the_parameter(here, make, needle):
    from vjgan import LucidSonicDream

    with pytest.raises(VjganError) as err:
        make(LucidSonicDream)
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert not (here / "x.mp4").exists()


def test_effects_generator_checks_its_function():
    from vjgan import EffectsGenerator

    with pytest.raises(VjganError, match="array, strength and amplitude"):
        EffectsGenerator(lambda img, s, a: img)
