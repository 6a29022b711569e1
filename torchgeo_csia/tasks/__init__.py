"""Lightning tasks."""

from .inpainting import InpaintingTask
from .segmentation import CSIASegmentation

__all__ = ('CSIASegmentation', 'InpaintingTask')
