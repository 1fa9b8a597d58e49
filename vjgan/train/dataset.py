"""The training set: images from folders and frames from videos, resized and centre-cropped, held in memory.

DATA is any mix of folders (searched recursively; images and videos by suffix, other files
ignored) and video files. Unreadable images are skipped and counted; a source that gives nothing
is a VjganError naming it and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from vjgan.errors import VjganError
from vjgan.train.config import check_size
from vjgan.train.video import VIDEO_SUFFIXES, video_frames

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


@dataclass(frozen=True)
class DatasetSummary:
    images: int  # training images kept
    from_videos: int  # of which frames taken from videos
    skipped: int  # image files that could not be read
    first_skipped: str | None  # "name: reason" of the first one, for the message


def fit_square(img: Image.Image, size: int) -> np.ndarray:
    """RGB, scaled so the shorter side is `size`, centre-cropped: uint8 [size, size, 3]."""
    return np.asarray(ImageOps.fit(img.convert("RGB"), (size, size), Image.LANCZOS), dtype=np.uint8)


def _collect(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(image files, video files) named by `paths`, folders expanded in sorted order."""
    images: list[Path] = []
    videos: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            found_images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
            found_videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
            if not found_images and not found_videos:
                kinds = ", ".join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))
                raise VjganError(f"{path}: no images or videos in this folder (looked for {kinds}); "
                                 "put training pictures there or pass video files")
            images += found_images
            videos += found_videos
        elif path.is_file():
            (images if path.suffix.lower() in IMAGE_SUFFIXES else videos).append(path)
        else:
            raise VjganError(f"{path}: no such file or folder; pass a folder of images or video files")
    return images, videos


class ImageDataset:
    """uint8 images [N, 3, size, size] in memory; `batch` draws random (optionally mirrored) floats in [-1, 1]."""

    def __init__(self, images: torch.Tensor, summary: DatasetSummary) -> None:
        self.images, self.summary = images, summary
        self.size = int(images.shape[-1])

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, n: int, mirror: bool, device: torch.device) -> torch.Tensor:
        idx = torch.randint(0, len(self), [n])
        x = self.images[idx].to(device=device, dtype=torch.float32) / 127.5 - 1
        if mirror:
            flip = torch.rand([n]) < 0.5
            x[flip] = x[flip].flip(-1)
        return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else x


def load_dataset(paths: Sequence[str | Path], size: int, every_frames: int = 10,
                 on_item: Callable[[], None] | None = None) -> ImageDataset:
    """Read every source in `paths` at `size` px (see the module doc). `on_item` is called per file/frame."""
    check_size(size)
    if not paths:
        raise VjganError("no training data given; pass a folder of images or video files")
    image_files, video_files = _collect([Path(p) for p in paths])
    arrays: list[np.ndarray] = []
    skipped, first_skipped = 0, None
    for path in image_files:
        try:
            with Image.open(path) as img:
                arrays.append(fit_square(img, size))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            skipped += 1
            first_skipped = first_skipped or f"{path.name}: {exc}"
        if on_item is not None:
            on_item()
    from_videos = 0
    for path in video_files:
        for frame in video_frames(path, every_frames, on_frame=on_item):
            arrays.append(fit_square(frame, size))
            from_videos += 1
    if not arrays:
        where = ", ".join(str(p) for p in paths)
        raise VjganError(f"{where}: none of the {skipped} image files could be read (first: {first_skipped}); "
                         "check that they are real PNG/JPEG images")
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return ImageDataset(stacked, DatasetSummary(len(arrays), from_videos, skipped, first_skipped))
