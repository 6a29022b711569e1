"""Pack SPARCS scenes compactly for training away from the geo stack.

A pack is a folder with, per scene, the quicklook as JPEG (quality 95, 4:4:4 chroma)
and the ``csia`` labels as a greyscale PNG, both on the scene's own grid, plus
``scenes.json`` (scene id, split, sun azimuth and elevation). Training code reads it
with Pillow alone (:func:`torchgeo_csia.inpainting.load_pack`).
"""

from __future__ import annotations

import json
import os

import numpy as np
import rasterio
from PIL import Image

from .constants import NORMALIZATION
from .datasets import SPARCS


def pack_scenes(
    root: str, out: str, image: str = 'photo', quality: int = 95
) -> list[dict[str, object]]:
    """Write every SPARCS scene under *root* into the pack folder *out*.

    Args:
        root: SPARCS folder (either layout).
        out: pack folder (created; must not be inside *root*).
        image: ``'photo'`` (quicklooks as JPEG) or ``'data'`` (the 10 bands as
            uint16 ``.npy``, for scenes that have ``_data.tif``).
        quality: JPEG quality of the quicklooks.

    Returns:
        The scene records written to ``scenes.json``.

    Raises:
        ValueError: If *out* lies inside the dataset folder.
    """
    if os.path.abspath(out).startswith(os.path.abspath(root) + os.sep):
        raise ValueError(f'the pack folder {out} must not be inside the dataset {root}')
    ds = SPARCS(root, split='all', image=image, classes='csia')  # type: ignore[arg-type]
    os.makedirs(out, exist_ok=True)
    records: list[dict[str, object]] = []
    for row in ds.index.itertuples():
        scene = str(row.scene)
        if image == 'photo':
            Image.open(str(row.image_path)).convert('RGB').save(
                os.path.join(out, f'{scene}.jpg'), quality=quality, subsampling=0
            )
        else:
            with rasterio.open(str(row.image_path)) as f:
                np.save(os.path.join(out, f'{scene}.npy'), f.read().astype(np.uint16))
        # the dataset's own validated reader, in the csia scheme
        labels = ds.read_labels(scene)
        Image.fromarray(labels).save(os.path.join(out, f'{scene}.png'), optimize=True)
        records.append(
            {
                'scene': scene,
                'split': SPARCS.split_of(scene),
                'sun_azimuth': float(row.sun_azimuth),
                'sun_elevation': float(row.sun_elevation),
            }
        )
    with open(os.path.join(out, 'scenes.json'), 'w') as f:
        json.dump(
            {
                'image': image,
                'normalization': NORMALIZATION[image],
                'scenes': records,
            },
            f,
            indent=1,
        )
    return records
