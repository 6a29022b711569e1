"""Datamodules."""

from .inpainting import SPARCSInpaintingDataModule
from .sparcs import NORMALIZATION, SPARCSDataModule

__all__ = ('NORMALIZATION', 'SPARCSDataModule', 'SPARCSInpaintingDataModule')
