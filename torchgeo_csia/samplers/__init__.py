"""Samplers."""

from .scenes import SceneGriddedSampler, SceneRandomSampler

__all__ = ('SceneGriddedSampler', 'SceneRandomSampler')
