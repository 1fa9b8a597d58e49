"""vjgan: a live VJ performance engine.

Audio in, aubio analysis, a Lucid-Sonic-Dreams style latent reactor, the project's own StyleGAN2,
moderngl effect shaders, and a window or an mp4 out. Importing the package has no side effects;
heavy modules (torch, moderngl, pygame, sounddevice) load only when the stage that needs them runs.
"""

__version__ = "0.1.0"

__all__ = ["EffectsGenerator", "LucidSonicDream", "load_generator", "show_styles"]

_LAZY = {"EffectsGenerator": ("vjgan.lsd", "EffectsGenerator"),
         "LucidSonicDream": ("vjgan.lsd", "LucidSonicDream"),
         "show_styles": ("vjgan.lsd", "show_styles"),
         "load_generator": ("vjgan.gan.loader", "load_model")}


def __getattr__(name: str) -> object:
    """Lucid Sonic Dreams' API (`from vjgan import LucidSonicDream`), imported on first use."""
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'vjgan' has no attribute {name!r}")
