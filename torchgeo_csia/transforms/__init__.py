"""CSIA transforms.

Kornia batch augmentations (:mod:`.csia`), structure sources (:mod:`.sources`:
procedural shapes, banks of real ones and :func:`~.sources.sparcs_bank`, the shipped
bank) and the pure tensor functions behind them (:mod:`.structures`).

This package imports with torch, kornia and segmentation-models-pytorch alone (no
rasterio or geopandas), so it runs on a GPU machine without the geo stack.
"""

from . import structures
from .csia import (
    RandomCloudShadow,
    RandomCopyPaste,
    RandomShadowForClouds,
    RandomSnow,
    RandomTransplant,
    labels_of,
    sun_geometry,
)
from .sources import ProceduralStructures, StructureBank, StructureSource, sparcs_bank

__all__ = (
    'ProceduralStructures',
    'RandomCloudShadow',
    'RandomCopyPaste',
    'RandomShadowForClouds',
    'RandomSnow',
    'RandomTransplant',
    'StructureBank',
    'StructureSource',
    'labels_of',
    'sparcs_bank',
    'structures',
    'sun_geometry',
)
