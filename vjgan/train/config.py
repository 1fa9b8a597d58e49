"""Training settings (one frozen dataclass) and the architecture they imply."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vjgan.errors import VjganError

POLICIES = ("color", "translation", "cutout")  # the differentiable augmentations (vjgan.train.augment)
DEFAULT_POLICY = POLICIES
SIZES = (16, 32, 64, 128, 256, 512)
# Settings that fix the networks' shapes: a resumed run must match the checkpoint on these.
ARCH_FIELDS = ("size", "width", "z_dim", "w_dim", "mapping_layers")


@dataclass(frozen=True)
class TrainConfig:
    """What one training run does. Lengths: `kimg` (thousands of real images shown to D) and/or
    `minutes` of training time, both counted over the whole run including resumed parts."""

    size: int = 128
    width: int = 128  # channels at 4-32 px; halved at every doubling above 32 px
    batch: int = 8
    kimg: float | None = 50.0
    minutes: float | None = None
    seed: int = 0
    z_dim: int = 256
    w_dim: int = 256
    mapping_layers: int = 2
    lr_g: float = 0.0025
    lr_d: float = 0.0025
    r1_gamma: float | None = None  # None: 0.0002 * size**2 / batch (the StyleGAN2-ADA heuristic)
    r1_interval: int = 16
    style_mix_prob: float = 0.9
    ema_kimg: float | None = None  # None: batch * 10 / 32
    ema_rampup: float = 0.05
    augment: tuple[str, ...] = DEFAULT_POLICY
    mirror: bool = True
    snapshot_s: float = 300.0  # checkpoint + sample grid at least this often (and at the end)
    snapshot_steps: int | None = None  # ... or every this many steps
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_size(self.size)
        if self.width < 1:
            raise VjganError(f"--width {self.width}: use 1 or more channels (e.g. 64 or 128)")
        if self.batch < 2:
            raise VjganError(f"--batch {self.batch}: use 2 or more images per step")
        if self.kimg is None and self.minutes is None:
            raise VjganError("give a training length: --kimg N or --minutes M")
        if self.kimg is not None and not self.kimg > 0:
            raise VjganError(f"--kimg {self.kimg}: use a positive number of thousands of images")
        if self.minutes is not None and not self.minutes > 0:
            raise VjganError(f"--minutes {self.minutes}: use a positive number of minutes")

    @property
    def gamma(self) -> float:
        return self.r1_gamma if self.r1_gamma is not None else 0.0002 * self.size**2 / self.batch

    @property
    def ema_images(self) -> float:
        return (self.ema_kimg if self.ema_kimg is not None else self.batch * 10 / 32) * 1000

    def generator_kwargs(self) -> dict[str, Any]:
        """The `vjgan.gan.stylegan2.Generator(**kwargs)` arguments (also the model file's config)."""
        return {
            "z_dim": self.z_dim, "c_dim": 0, "w_dim": self.w_dim, "img_resolution": self.size,
            "img_channels": 3, "mapping_kwargs": {"num_layers": self.mapping_layers},
            "synthesis_kwargs": {"channel_base": self.width * 32, "channel_max": self.width,
                                 "num_fp16_res": 4, "conv_clamp": 256},
        }

    def discriminator_kwargs(self) -> dict[str, Any]:
        return {"img_resolution": self.size, "img_channels": 3, "channel_base": self.width * 32,
                "channel_max": self.width}

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["augment"] = tuple(kwargs.get("augment", DEFAULT_POLICY))
        return cls(**kwargs)


def check_size(size: int) -> int:
    """`size` if it is a trainable power of two, else a VjganError saying which sizes work."""
    if size not in SIZES:
        what = "is not a power of two" if size < 1 or size & (size - 1) else "is out of range"
        raise VjganError(f"--size {size} {what}; use one of {', '.join(map(str, SIZES))} "
                         "(images are resized and centre-cropped to it)")
    return size
