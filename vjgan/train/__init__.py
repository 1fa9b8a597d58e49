"""`vjgan train`: train the project's own StyleGAN2 on images or video frames (see docs/train.md).

Never imports GL. Importing the package is light: torch loads with the module that needs it
(`vjgan.train.cli` builds its argument parser without it). The procedural synthwave scenes the
default model is trained on live in `vjgan.train.synthwave`.
"""

__all__ = ["ImageDataset", "TrainConfig", "TrainSummary", "Trainer", "load_dataset", "render_synthwave",
           "write_synthwave_dataset"]

_LAZY = {"ImageDataset": "vjgan.train.dataset", "load_dataset": "vjgan.train.dataset",
         "TrainConfig": "vjgan.train.config", "Trainer": "vjgan.train.trainer",
         "TrainSummary": "vjgan.train.trainer", "render_synthwave": "vjgan.train.synthwave",
         "write_synthwave_dataset": "vjgan.train.synthwave"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vjgan.train' has no attribute {name!r}")
