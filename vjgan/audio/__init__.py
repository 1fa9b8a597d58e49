"""Audio sources, per-block analysis, and the per-frame feature record."""

from vjgan.audio.features import CHROMA_BINS, AudioFeatures

__all__ = ["AudioFeatures", "CHROMA_BINS"]
