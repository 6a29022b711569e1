"""CSIA transforms: pure tensor functions (:mod:`.structures`).

This package imports with torch alone (no rasterio or geopandas), so it runs on a GPU
machine without the geo stack.
"""

from . import structures

__all__ = ('structures',)
