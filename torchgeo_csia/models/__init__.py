"""Models: the inpainting network builder (imports with torch and smp alone)."""

from .inpainter import Inpainter, holed_input, inpainter

__all__ = ('Inpainter', 'holed_input', 'inpainter')
