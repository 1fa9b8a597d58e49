"""vjgan: a live VJ performance engine.

Audio in, aubio analysis, a Lucid-Sonic-Dreams style latent reactor, the project's own StyleGAN2,
moderngl effect shaders, and a window or an mp4 out. Importing the package has no side effects;
heavy modules (torch, moderngl, pygame, sounddevice) load only when the stage that needs them runs.
"""

__version__ = "0.1.0"
