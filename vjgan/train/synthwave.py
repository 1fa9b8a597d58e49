"""Procedural synthwave scenes: the training set the default model is built from, made from nothing.

Every picture is a pure function of (seed, index, size): a sky gradient with stars and nebula
clouds, a striped sunset sun with a halo, optional mountain ridges, a neon perspective grid on a
dark ground, and palm silhouettes. Shapes are drawn with Pillow at twice the size and filtered
down, so edges are anti-aliased.

    python -m vjgan.train.synthwave OUT_DIR --count 4000 --size 128 --seed 0
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vjgan.errors import VjganError

# Sky palettes, top -> middle -> horizon (RGB 0-255).
SKIES = (
    ((11, 2, 33), (80, 18, 110), (255, 110, 97)),
    ((5, 5, 30), (40, 20, 90), (230, 60, 150)),
    ((2, 10, 40), (20, 60, 120), (255, 160, 80)),
    ((20, 0, 40), (120, 20, 100), (255, 190, 90)),
    ((0, 0, 12), (10, 30, 70), (40, 200, 220)),
    ((25, 5, 45), (200, 50, 140), (255, 220, 120)),
)
# Sun gradient, top -> bottom.
SUNS = (((255, 240, 100), (255, 40, 130)), ((255, 210, 60), (255, 80, 60)),
        ((255, 250, 180), (250, 60, 200)), ((120, 250, 255), (200, 60, 255)))
NEONS = ((255, 40, 200), (40, 230, 255), (180, 60, 255), (255, 120, 40), (60, 255, 160))


def _lerp_colours(stops: tuple[tuple[int, int, int], ...], t: np.ndarray) -> np.ndarray:
    """Colours along evenly spaced stops at positions t in [0, 1]: shape t.shape + (3,), float 0-255."""
    stops_arr = np.asarray(stops, dtype=np.float32)
    pos = np.clip(t, 0, 1) * (len(stops) - 1)
    lo = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - lo)[..., None]
    return stops_arr[lo] * (1 - frac) + stops_arr[lo + 1] * frac


def _glow_layer(size: int, draw_fn, blur: float) -> np.ndarray:
    """An additive float RGB layer: what draw_fn draws, plus a blurred halo of it."""
    layer = Image.new("RGB", (size, size))
    draw_fn(ImageDraw.Draw(layer))
    sharp = np.asarray(layer, dtype=np.float32)
    halo = np.asarray(layer.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float32)
    return sharp + 1.8 * halo


class _Scene:
    """One picture being painted at the working size `s` (twice the output size)."""

    def __init__(self, rng: np.random.Generator, s: int) -> None:
        self.rng, self.s = rng, s
        self.horizon = int(s * rng.uniform(0.5, 0.68))
        self.img = np.zeros((s, s, 3), np.float32)
        self.neon = NEONS[rng.integers(len(NEONS))]

    def sky(self) -> None:
        rng, s, h = self.rng, self.s, self.horizon
        palette = SKIES[rng.integers(len(SKIES))]
        y = np.arange(s, dtype=np.float32)[:, None]
        t = (y / max(h, 1)) ** rng.uniform(0.7, 1.6)
        self.img[:] = _lerp_colours(palette, np.broadcast_to(t, (s, s)))
        if rng.random() < 0.7:  # nebula: smooth coloured clouds from upsampled noise
            cells = int(rng.integers(3, 7))
            noise = rng.random((cells, cells)).astype(np.float32)
            cloud = np.asarray(Image.fromarray((noise * 255).astype(np.uint8)).resize((s, s), Image.BICUBIC),
                               dtype=np.float32) / 255
            cloud = np.clip(cloud - rng.uniform(0.3, 0.6), 0, 1) ** 1.5
            tint = np.asarray(NEONS[rng.integers(len(NEONS))], np.float32)
            fade = np.clip(1 - y / max(h, 1), 0, 1)
            self.img += cloud[..., None] * fade[..., None] * tint * rng.uniform(0.4, 0.9)
        count = int(rng.integers(0, 160))  # stars, denser towards the top
        xs = rng.integers(0, s, count)
        ys = (rng.random(count) ** 1.7 * h * 0.9).astype(int)
        bright = rng.uniform(120, 255, count)[:, None]
        self.img[ys, xs] = np.maximum(self.img[ys, xs], bright)
        big = count // 8
        for yy, xx in zip(ys[:big], xs[:big]):
            self.img[max(yy - 1, 0):yy + 2, max(xx - 1, 0):xx + 2] += 60

    def sun(self) -> None:
        rng, s, h = self.rng, self.s, self.horizon
        r = s * rng.uniform(0.12, 0.27)
        cx, cy = s * rng.uniform(0.3, 0.7), h - r * rng.uniform(0.1, 0.9)
        y, x = np.mgrid[0:s, 0:s].astype(np.float32)
        d = np.hypot(x - cx, y - cy)
        top, bottom = SUNS[rng.integers(len(SUNS))]
        colour = _lerp_colours((top, bottom), (y - (cy - r)) / (2 * r))
        disk = np.clip(r - d + 1, 0, 1)
        below = (y - cy) / r  # stripes cut the lower part, thicker towards the bottom
        stripes = int(rng.integers(3, 8))
        if rng.random() < 0.85:
            phase = np.mod(below * stripes + rng.uniform(0, 1), 1)
            cut = (below > rng.uniform(-0.2, 0.3)) & (phase < 0.15 + 0.45 * np.clip(below, 0, 1))
            disk = disk * ~cut
        halo = np.exp(-np.maximum(d - r, 0) / (r * rng.uniform(0.3, 0.8)))[..., None]
        self.img = self.img * (1 - disk[..., None]) + colour * disk[..., None]
        self.img += halo * (1 - disk[..., None]) * np.asarray(bottom, np.float32) * 0.45

    def mountains(self) -> None:
        rng, s, h = self.rng, self.s, self.horizon
        if rng.random() < 0.45:
            return
        peaks = int(rng.integers(4, 10))
        xs = np.linspace(-s * 0.1, s * 1.1, peaks * 2 + 1)
        peak = np.arange(xs.size) % 2 == 1
        ys = h - np.where(peak, rng.uniform(0.05, 0.2, xs.size), rng.uniform(0, 0.03, xs.size)) * s
        points = [(float(x), float(y)) for x, y in zip(xs, ys)] + [(s * 1.1, h + 1), (-s * 0.1, h + 1)]
        mask = Image.new("L", (s, s))
        ImageDraw.Draw(mask).polygon(points, fill=255)
        m = np.asarray(mask, np.float32)[..., None] / 255
        self.img = self.img * (1 - m) + np.asarray((20, 5, 40), np.float32) * m
        edge = self.neon
        self.img += _glow_layer(s, lambda d: d.line(points[:-2], fill=edge, width=max(s // 160, 1)), s / 120) * 0.8

    def ground(self) -> None:
        rng, s, h = self.rng, self.s, self.horizon
        y = np.arange(s, dtype=np.float32)[:, None]
        t = np.clip((y - h) / max(s - h, 1), 0, 1)
        ground = _lerp_colours(((40, 5, 60), (5, 0, 15)), np.broadcast_to(t, (s, s)))
        self.img[h:] = ground[h:]
        neon, width = self.neon, max(s // 170, 1)
        cx = s * rng.uniform(0.35, 0.65)
        spacing, phase = rng.uniform(0.6, 1.4), rng.uniform(0, 1)

        def grid(d: ImageDraw.ImageDraw) -> None:
            for k in range(-16, 17):  # lines radiating from the vanishing point
                d.line([(cx, h), (cx + k * spacing * s * 0.18, s * 1.6)], fill=neon, width=width)
            for k in range(40):  # horizontal lines, closer together towards the horizon
                z = (k + phase) * 0.35 + 0.25
                yy = h + (s - h) * 0.35 / z
                if yy < s:
                    d.line([(0, yy), (s, yy)], fill=neon, width=width)

        layer = _glow_layer(s, grid, s / 150)
        layer[:h] = 0
        fade = np.clip((y - h) / (s * 0.08), 0.15, 1)[..., None]
        self.img += layer * fade

    def palms(self) -> None:
        rng, s = self.rng, self.s
        mask = Image.new("L", (s, s))
        d = ImageDraw.Draw(mask)
        for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3]))):
            base_x = s * (rng.uniform(-0.05, 0.22) if rng.random() < 0.5 else rng.uniform(0.78, 1.05))
            height, lean = s * rng.uniform(0.35, 0.75), s * rng.uniform(-0.15, 0.15)
            steps = 24
            pts = [(base_x + lean * (i / steps) ** 2, s - height * i / steps) for i in range(steps + 1)]
            for i in range(steps):  # tapered trunk
                d.line([pts[i], pts[i + 1]], fill=255, width=max(int(s * 0.022 * (1 - 0.6 * i / steps)), 1))
            tx, ty = pts[-1]
            for k in range(int(rng.integers(5, 9))):  # drooping fronds
                angle = math.pi * (k / 7.0) * 2 + rng.uniform(-0.3, 0.3)
                length = s * rng.uniform(0.12, 0.22)
                droop = rng.uniform(0.3, 0.8)
                spine = [(tx + math.cos(angle) * length * u, ty - math.sin(angle) * length * u + droop * length * u * u)
                         for u in np.linspace(0, 1, 10)]
                upper = [(x, y - s * 0.018 * math.sin(math.pi * u)) for (x, y), u in zip(spine, np.linspace(0, 1, 10))]
                d.polygon(upper + spine[::-1], fill=255)
                d.line(spine, fill=255, width=max(s // 200, 1))
        m = np.asarray(mask, np.float32)[..., None] / 255
        self.img = self.img * (1 - m) + np.asarray((8, 0, 18), np.float32) * m


def render_synthwave(seed: int, index: int = 0, size: int = 128) -> np.ndarray:
    """One scene as uint8 [size, size, 3]; the same (seed, index, size) always gives the same picture."""
    if size < 8:
        raise VjganError(f"synthwave size {size} is too small; use 8 px or more")
    rng = np.random.default_rng([seed, index])
    scene = _Scene(rng, size * 2)
    scene.sky()
    scene.sun()
    scene.mountains()
    scene.ground()
    scene.palms()
    big = Image.fromarray(np.clip(scene.img, 0, 255).astype(np.uint8))
    return np.asarray(big.resize((size, size), Image.LANCZOS))


def write_synthwave_dataset(folder: str | Path, count: int, size: int = 128, seed: int = 0,
                            on_image=None) -> list[Path]:
    """Write `count` scenes as PNGs (00000.png ...) into `folder` (created); returns the paths."""
    if count < 1:
        raise VjganError(f"synthwave --count {count}: make at least 1 image")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:05d}.png"
        Image.fromarray(render_synthwave(seed, i, size)).save(path)
        paths.append(path)
        if on_image is not None:
            on_image(i)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Write a folder of procedural synthwave scenes for `vjgan train`."""
    parser = argparse.ArgumentParser(prog="python -m vjgan.train.synthwave", description=main.__doc__)
    parser.add_argument("out", type=Path, help="folder to write the PNGs into")
    parser.add_argument("--count", type=int, default=4000, help="number of images (default 4000)")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    args = parser.parse_args(argv)
    paths = write_synthwave_dataset(args.out, args.count, args.size, args.seed)
    print(f"wrote {len(paths)} synthwave images of {args.size} px to {args.out}")


if __name__ == "__main__":
    main()
