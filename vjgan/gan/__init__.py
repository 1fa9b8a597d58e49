"""Generators: the project's own StyleGAN2, vjgan model files, named styles, and the runners.

Never imports GL; nothing GPU-specific happens at import.
"""

from vjgan.gan.callable import CallableGenerator
from vjgan.gan.default import DEFAULT_CONFIG, build_default_generator, default_model_path
from vjgan.gan.modelfile import load_generator, save_generator
from vjgan.gan.runner import GeneratorRunner, load_runner
from vjgan.gan.styles import list_styles, resolve_model, show_styles, style_dirs
from vjgan.gan.stylegan2 import Generator, MappingNetwork, SynthesisNetwork

__all__ = [
    "CallableGenerator",
    "DEFAULT_CONFIG",
    "Generator",
    "GeneratorRunner",
    "MappingNetwork",
    "SynthesisNetwork",
    "build_default_generator",
    "default_model_path",
    "list_styles",
    "load_generator",
    "load_runner",
    "resolve_model",
    "save_generator",
    "show_styles",
    "style_dirs",
]
