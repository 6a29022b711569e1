"""Datasets."""

from .sparcs import IGNORE_INDEX, SPARCS

__all__ = ('IGNORE_INDEX', 'SPARCS')
