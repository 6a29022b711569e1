"""Models: inpainting and segmentation builders (import with torch and smp alone)."""

from .inpainter import Inpainter, holed_input, inpainter
from .segmenter import segmenter

__all__ = ('Inpainter', 'holed_input', 'inpainter', 'segmenter')
