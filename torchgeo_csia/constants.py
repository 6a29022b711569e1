"""The conventions every part of the package shares, defined once.

The ``csia`` label scheme (its class names, their order and so their indices), the
ignore index and the normalisation of each SPARCS image type. This module is the
bottom floor: it imports nothing, so the datasets, the models, the transforms and
everything above them can all read it (``tests/test_layers.py`` checks that imports
run down).

.. versionadded:: 0.1
"""

from __future__ import annotations

#: The classes of the ``csia`` label scheme, in index order: what the augmentations
#: paint, the segmenters predict and :class:`~torchgeo_csia.datasets.SPARCS` gives
#: with ``classes='csia'``.
CLASSES: tuple[str, ...] = ('background', 'shadow', 'snow', 'cloud')
#: Index of each class of :data:`CLASSES`, by name.
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}
#: How many classes the scheme has.
NUM_CLASSES = len(CLASSES)
#: Index of background (ground, water: no structure).
BACKGROUND = CLASS_INDEX['background']
#: Index of cloud shadow.
SHADOW = CLASS_INDEX['shadow']
#: Index of snow and ice.
SNOW = CLASS_INDEX['snow']
#: Index of cloud.
CLOUD = CLASS_INDEX['cloud']
#: The structures, the classes an inpainter paints: every class but background, in
#: alphabetical order (``('cloud', 'shadow', 'snow')``).
STRUCTURES: tuple[str, ...] = tuple(sorted(c for c in CLASSES if c != 'background'))

#: Value of mask pixels that carry no label (outside every scene), in every scheme;
#: losses and metrics ignore it and the augmentations never paint over it.
IGNORE_INDEX = 255

#: Per SPARCS image type: the ``(mean, std)`` that turns its pixel values into the
#: networks' input, ``(x - mean) / std``
#: (:class:`kornia.augmentation.Normalize` takes them as they are).
#: ``data``: raw counts to top-of-atmosphere reflectance (DN * 2e-5 - 0.1, the MTL
#: rescaling of Landsat-8 bands 1-9; the thermal bands get the same scale).
#: ``photo``: the 8-bit quicklook to [0, 1].
NORMALIZATION: dict[str, tuple[float, float]] = {
    'data': (5000.0, 50000.0),
    'photo': (0.0, 255.0),
}


def normalization_text(image: str) -> str:
    """The normalisation of an image type as words, for cards and messages.

    Args:
        image: ``'data'`` or ``'photo'`` (a key of :data:`NORMALIZATION`).

    Returns:
        ``'photo / 255'``, or ``'(data - 5000) / 50000'``.

    Raises:
        KeyError: If *image* is not a key of :data:`NORMALIZATION`.

    Example:
        >>> from torchgeo_csia.constants import normalization_text
        >>> normalization_text('photo')
        'photo / 255'
    """
    mean, std = NORMALIZATION[image]
    shifted = image if mean == 0 else f'({image} - {mean:g})'
    return f'{shifted} / {std:g}'
