"""Samplers."""

from .classes import ClassShareSampler
from .scenes import SceneGriddedSampler, SceneRandomSampler

__all__ = ('ClassShareSampler', 'SceneGriddedSampler', 'SceneRandomSampler')
