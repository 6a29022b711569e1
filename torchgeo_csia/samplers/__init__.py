"""Samplers."""

from .classes import ClassShareSampler, SceneShareSampler
from .scenes import Resumable, SceneGriddedSampler, SceneRandomSampler

__all__ = (
    'ClassShareSampler',
    'Resumable',
    'SceneGriddedSampler',
    'SceneRandomSampler',
    'SceneShareSampler',
)
