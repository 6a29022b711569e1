"""Datamodules."""

from .sparcs import NORMALIZATION, SPARCSDataModule

__all__ = ('NORMALIZATION', 'SPARCSDataModule')
