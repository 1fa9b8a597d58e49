"""Generators: the project's own StyleGAN2, vjgan model files, and the per-frame runner.

The default model lives in `vjgan.gan.default`. Never imports GL; nothing GPU-specific happens at import.
"""

from vjgan.gan.modelfile import load_generator, save_generator
from vjgan.gan.runner import GeneratorRunner, load_runner
from vjgan.gan.stylegan2 import Generator

__all__ = ["Generator", "GeneratorRunner", "load_generator", "load_runner", "save_generator"]
