"""Generators: the project's own StyleGAN2, vjgan model files, and the per-frame runner.

Never imports GL; nothing GPU-specific happens at import.
"""

from vjgan.gan.default import DEFAULT_CONFIG, build_default_generator, default_model_path
from vjgan.gan.modelfile import load_generator, save_generator
from vjgan.gan.runner import GeneratorRunner, load_runner
from vjgan.gan.stylegan2 import Generator, MappingNetwork, SynthesisNetwork

__all__ = [
    "DEFAULT_CONFIG",
    "Generator",
    "GeneratorRunner",
    "MappingNetwork",
    "SynthesisNetwork",
    "build_default_generator",
    "default_model_path",
    "load_generator",
    "load_runner",
    "save_generator",
]
