"""Lightning tasks."""

from .segmentation import CSIASegmentation

__all__ = ('CSIASegmentation',)
