"""Training frames from video files with PyAV: every Nth frame, plus the first frame of each new shot,
minus near-duplicates.

Each decoded frame is also scaled (by libswscale) to a 16x16 grey thumbnail, which is cheap: a
frame whose thumbnail differs a lot from the previous frame's starts a new shot (kept even off the
every-Nth grid); a candidate whose thumbnail is nearly the same as the last kept frame's is dropped
(a still title card or a paused shot would otherwise fill the set with copies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vjgan.errors import VjganError

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv"})
THUMB_SIDE = 16
SCENE_CUT_LEVEL = 30.0  # mean |difference| of 0-255 grey thumbnails that marks a cut to a new shot
DUPLICATE_LEVEL = 3.0  # below this, a candidate frame is a near-copy of the last kept one


def _thumbnail(frame: av.VideoFrame) -> np.ndarray:
    return frame.reformat(width=THUMB_SIDE, height=THUMB_SIDE, format="gray").to_ndarray().astype(np.float32)


def video_frames(path: Path, every: int, on_frame: Callable[[], None] | None = None) -> Iterator[Image.Image]:
    """The frames of `path`'s first video stream worth training on, as RGB PIL images.

    Raises VjganError when the file cannot be opened, has no video stream, or gives no frame.
    """
    if every < 1:
        raise VjganError(f"--every-frames {every}: use 1 (every frame) or more")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise VjganError(f"{path}: cannot read this video ({exc}); check the file or convert it to mp4") from None
    with container:
        if not container.streams.video:
            raise VjganError(f"{path}: has no video stream; pass a video with pictures or a folder of images")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        previous = kept = None
        decoded = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                decoded += 1
                if on_frame is not None:
                    on_frame()
                thumb = _thumbnail(frame)
                cut = previous is not None and float(np.abs(thumb - previous).mean()) > SCENE_CUT_LEVEL
                previous = thumb
                if index % every and not cut:
                    continue
                if kept is not None and float(np.abs(thumb - kept).mean()) < DUPLICATE_LEVEL:
                    continue
                kept = thumb
                yield frame.to_image()
        except av.error.FFmpegError as exc:
            if decoded == 0:
                raise VjganError(f"{path}: cannot decode the video ({exc}); "
                                 "check the file or convert it to mp4") from None
            # a damaged tail: keep what decoded
        if decoded == 0:
            raise VjganError(f"{path}: the video has no frames; pass a video with pictures or a folder of images")
