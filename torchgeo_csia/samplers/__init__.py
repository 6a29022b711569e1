"""Samplers."""

from .classes import ClassShareSampler, SceneShareSampler
from .scenes import SceneGriddedSampler, SceneRandomSampler

__all__ = (
    'ClassShareSampler',
    'SceneGriddedSampler',
    'SceneRandomSampler',
    'SceneShareSampler',
)
