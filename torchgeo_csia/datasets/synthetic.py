"""Generated scenes in the real SPARCS file formats.

The generator writes the same files the real releases hold (palette PNG masks with no
georeferencing, georeferenced ``_qmask.tif`` grids, 10-band ``uint16`` ``_data.tif``,
RGB ``_photo.png`` quicklooks, GeoTIFF ``_labels.tif`` and ``_mtl.txt`` metadata), with
plausible class layouts: land and water, cloud blobs, their shadows cast along the
scene's sun azimuth, and snow fields. It backs the test data, the demo's default
sample and the benchmarks; it is no substitute for the real data.

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import rasterio
from numpy.typing import NDArray
from PIL import Image
from rasterio.transform import from_origin

#: Palette of the real ``_mask.png`` files (code -> RGB).
SPARCS_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),  # 0 shadow
    (0, 0, 128),  # 1 shadow over water
    (0, 0, 255),  # 2 water
    (0, 255, 255),  # 3 snow / ice
    (128, 128, 128),  # 4 land
    (255, 255, 255),  # 5 cloud
    (128, 128, 0),  # 6 flooded
)

# Top-of-atmosphere reflectance per class for B1-B7, B9, B10, B11 (thermal bands as
# pseudo-reflectance); rough values, enough to make the classes separable.
_REFLECTANCE = np.array(
    [
        [0.10, 0.08, 0.06, 0.05, 0.06, 0.04, 0.03, 0.002, 0.30, 0.30],  # shadow
        [0.09, 0.07, 0.05, 0.03, 0.02, 0.01, 0.01, 0.002, 0.30, 0.30],  # shadow/water
        [0.14, 0.12, 0.10, 0.07, 0.04, 0.02, 0.01, 0.002, 0.32, 0.32],  # water
        [0.80, 0.80, 0.78, 0.75, 0.70, 0.10, 0.05, 0.010, 0.25, 0.25],  # snow
        [0.14, 0.12, 0.12, 0.14, 0.30, 0.25, 0.16, 0.002, 0.40, 0.40],  # land
        [0.60, 0.60, 0.60, 0.62, 0.65, 0.55, 0.45, 0.080, 0.20, 0.20],  # cloud
        [0.12, 0.10, 0.09, 0.08, 0.10, 0.06, 0.04, 0.002, 0.35, 0.35],  # flooded
    ],
    dtype=np.float64,
)


# Where a generated subscene lies in its full Landsat scene (pixels from the full
# scene's upper-left pixel), and the full scene's width and height (about the real
# scenes' 7600 px).
_SUBSCENE_OFFSET = 1500
_FULL_SCENE = 7621


@dataclass(frozen=True)
class SyntheticScene:
    """One generated SPARCS subscene.

    Attributes:
        scene_id: ``LC8PPPRRRYYYYDDDLGN0V_NN``.
        epsg: EPSG code of the scene's UTM grid.
        origin: (x, y) of the upper-left corner in that CRS.
        sun_azimuth: degrees clockwise from north.
        sun_elevation: degrees above the horizon.
    """

    scene_id: str
    epsg: int
    origin: tuple[float, float]
    sun_azimuth: float
    sun_elevation: float


def _smooth_field(
    rng: np.random.Generator, size: int, scale: int
) -> NDArray[np.float64]:
    """Random field with structure of about ``scale`` pixels, values in [0, 1]."""
    coarse = max(2, size // scale + 2)
    small = rng.random((coarse, coarse))
    img = Image.fromarray((small * 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BICUBIC
    )
    field = np.asarray(img, dtype=np.float64) / 255.0
    return field


def synthetic_labels(
    rng: np.random.Generator, size: int, sun_azimuth: float, sun_elevation: float
) -> NDArray[np.uint8]:
    """Draw a SPARCS label raster (codes 0-6) with geometry like the real scenes.

    Args:
        rng: random generator.
        size: height and width in pixels.
        sun_azimuth: degrees clockwise from north, sets the shadow direction.
        sun_elevation: degrees, sets the shadow length.

    Returns:
        ``size`` x ``size`` array of codes 0-6.
    """
    scale = max(8, size // 6)
    labels = np.full((size, size), 4, dtype=np.uint8)
    water = _smooth_field(rng, size, scale) > 0.72
    labels[water] = 2
    labels[(_smooth_field(rng, size, scale) > 0.8) & ~water] = 6
    labels[_smooth_field(rng, size, scale) > 0.74] = 3
    cloud = _smooth_field(rng, size, max(4, scale // 2)) > 0.7
    # Shadow: the cloud shifted away from the sun by height / tan(elevation).
    length = 0.06 * size / np.tan(np.radians(max(sun_elevation, 10.0)))
    az = np.radians(sun_azimuth)
    dx, dy = -length * np.sin(az), length * np.cos(az)  # rows grow southwards
    shadow = np.roll(cloud, (round(dy), round(dx)), axis=(0, 1)) & ~cloud
    labels[shadow] = np.where(water[shadow], 1, 0).astype(np.uint8)
    labels[cloud] = 5
    return labels


def synthetic_data(
    rng: np.random.Generator, labels: NDArray[np.uint8]
) -> NDArray[np.uint16]:
    """10-band ``uint16`` raw counts for a label raster (reflectance = DN*2e-5-0.1)."""
    refl = _REFLECTANCE[labels].transpose(2, 0, 1)
    refl = refl * (1 + 0.1 * rng.standard_normal(refl.shape))
    dn = np.clip((refl + 0.1) / 2e-5, 1, 65535)
    return dn.astype(np.uint16)


def synthetic_photo(data: NDArray[np.uint16]) -> NDArray[np.uint8]:
    """8-bit 6-5-4 false-colour quicklook of raw counts, like the real ``_photo``."""
    refl = data[[5, 4, 3]].astype(np.float64) * 2e-5 - 0.1
    return np.clip(refl / 0.8 * 255, 0, 255).astype(np.uint8)


def _mtl_text(scene: SyntheticScene, size: int) -> str:
    """MTL text of a scene: sun geometry, and the full scene's projected corners.

    As in the real files, the corners are the centres of the full Landsat scene's
    corner pixels (the subscene lies inside, its pixel edges on their 30 m lattice).
    """
    landsat_id = scene.scene_id[:21]
    ulx = scene.origin[0] - 30.0 * _SUBSCENE_OFFSET
    uly = scene.origin[1] + 30.0 * _SUBSCENE_OFFSET
    extent = 30.0 * (max(_FULL_SCENE, size + 2 * _SUBSCENE_OFFSET) - 1)
    lrx, lry = ulx + extent, uly - extent
    corners = ''.join(
        f'    CORNER_{name}_PROJECTION_{axis}_PRODUCT = {value:.3f}\n'
        for name, (cx, cy) in (
            ('UL', (ulx, uly)),
            ('UR', (lrx, uly)),
            ('LL', (ulx, lry)),
            ('LR', (lrx, lry)),
        )
        for axis, value in (('X', cx), ('Y', cy))
    )
    zone = scene.epsg % 100 if scene.epsg // 100 in (326, 327) else None
    projection = (
        f'    MAP_PROJECTION = "UTM"\n    UTM_ZONE = {zone}\n'
        if zone is not None
        else '    MAP_PROJECTION = "PS"\n'
    )
    return (
        'GROUP = L1_METADATA_FILE\n'
        '  GROUP = METADATA_FILE_INFO\n'
        f'    LANDSAT_SCENE_ID = "{landsat_id}"\n'
        '  END_GROUP = METADATA_FILE_INFO\n'
        '  GROUP = PRODUCT_METADATA\n'
        f'{corners}'
        '  END_GROUP = PRODUCT_METADATA\n'
        '  GROUP = IMAGE_ATTRIBUTES\n'
        f'    SUN_AZIMUTH = {scene.sun_azimuth:.8f}\n'
        f'    SUN_ELEVATION = {scene.sun_elevation:.8f}\n'
        '  END_GROUP = IMAGE_ATTRIBUTES\n'
        '  GROUP = RADIOMETRIC_RESCALING\n'
        '    REFLECTANCE_MULT_BAND_1 = 2.0000E-05\n'
        '    REFLECTANCE_ADD_BAND_1 = -0.100000\n'
        '  END_GROUP = RADIOMETRIC_RESCALING\n'
        '  GROUP = PROJECTION_PARAMETERS\n'
        f'{projection}'
        '    GRID_CELL_SIZE_REFLECTIVE = 30.00\n'
        '    ORIENTATION = "NORTH_UP"\n'
        '  END_GROUP = PROJECTION_PARAMETERS\n'
        'END_GROUP = L1_METADATA_FILE\n'
        'END\n'
    )


def _write_tif(
    path: str, array: NDArray[np.generic], epsg: int, transform: object
) -> None:
    bands = array[None] if array.ndim == 2 else array
    profile = {
        'driver': 'GTiff',
        'height': bands.shape[1],
        'width': bands.shape[2],
        'count': bands.shape[0],
        'dtype': bands.dtype.name,
        'crs': f'EPSG:{epsg}',
        'transform': transform,
        'tiled': True,
        'blockxsize': 256,
        'blockysize': 256,
        'compress': 'deflate',
    }
    if bands.shape[1] < 256 or bands.shape[2] < 256:
        profile['tiled'] = False
        del profile['blockxsize'], profile['blockysize']
    with rasterio.open(path, 'w', **profile) as dst:
        dst.write(bands)


def write_scene(
    root: str,
    scene: SyntheticScene,
    size: int = 64,
    layout: str = 'usgs',
    seed: int = 0,
    files: Sequence[str] = ('data', 'photo', 'qmask', 'label', 'mtl'),
) -> None:
    """Write one generated scene in a real SPARCS layout.

    Args:
        root: folder to write into (created if missing).
        scene: what to write.
        size: height and width in pixels (the real scenes are 1000).
        layout: ``'usgs'`` (labels as palette ``_mask.png``) or ``'osu'`` (labels as
            georeferenced ``_labels.tif``).
        seed: random seed for the content.
        files: which of the scene's files to write.

    Raises:
        ValueError: If *layout* is unknown.
    """
    if layout not in ('usgs', 'osu'):
        raise ValueError(f"layout must be 'usgs' or 'osu', got {layout!r}")
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = synthetic_labels(rng, size, scene.sun_azimuth, scene.sun_elevation)
    data = synthetic_data(rng, labels)
    transform = from_origin(scene.origin[0], scene.origin[1], 30.0, 30.0)
    stem = os.path.join(root, scene.scene_id)
    if 'data' in files:
        _write_tif(f'{stem}_data.tif', data, scene.epsg, transform)
    if 'qmask' in files:
        qmask = np.where(labels == 5, 53248, 20480).astype(np.uint16)
        _write_tif(f'{stem}_qmask.tif', qmask, scene.epsg, transform)
    if 'photo' in files:
        photo = synthetic_photo(data).transpose(1, 2, 0)
        Image.fromarray(photo, mode='RGB').save(f'{stem}_photo.png')
    if 'label' in files:
        if layout == 'usgs':
            png = Image.fromarray(labels, mode='P')
            png.putpalette([c for rgb in SPARCS_PALETTE for c in rgb])
            png.save(f'{stem}_mask.png')
        else:
            _write_tif(f'{stem}_labels.tif', labels, scene.epsg, transform)
    if 'mtl' in files:
        mtl = os.path.join(root, f'{scene.scene_id[:21]}_mtl.txt')
        with open(mtl, 'w') as f:
            f.write(_mtl_text(scene, size))


#: (scene id, EPSG, origin, sun azimuth, sun elevation) of each generated scene.
_SCENES: tuple[tuple[str, int, tuple[float, float], float, float], ...] = (
    ('LC80010812013365LGN00_18', 32619, (240000.0, -3360000.0), 84, 60),
    ('LC80320282013182LGN00_30', 32614, (300000.0, 5130000.0), 140, 64),
    ('LC81180602014116LGN00_29', 32650, (270000.0, 60000.0), 110, 58),
    ('LC80800142014169LGN00_05', 32603, (570000.0, 7200000.0), 175, 45),
    ('LC81370412014105LGN00_30', 32646, (270000.0, 3090000.0), 120, 62),
    ('LC80150242014146LGN00_23', 32617, (400000.0, 5500000.0), 150, 57),
    ('LC80190352014078LGN01_26', 32616, (350000.0, 3900000.0), 142, 48),
    ('LC80020622013244LGN00_32', 32622, (600000.0, -200000.0), 75, 62),
    ('LC80050152014172LGN00_12', 32622, (450000.0, 7000000.0), 165, 50),
    ('LC81010142014189LGN00_31', 32654, (500000.0, 7600000.0), 185, 44),
    ('LC81590362014051LGN00_25', 32640, (550000.0, 3800000.0), 150, 39),
    ('LC81720192014221LGN00_22', 32636, (350000.0, 6400000.0), 165, 46),
)


def default_scenes(count: int = 4) -> list[SyntheticScene]:
    """Scenes spread over three UTM zones and both hemispheres' sun geometry.

    Args:
        count: how many scenes (at most 12).

    Returns:
        The scene descriptions.
    """
    base = [SyntheticScene(*row) for row in _SCENES]
    if not 1 <= count <= len(base):
        raise ValueError(f'count must be in [1, {len(base)}], got {count}')
    return base[:count]


def write_sample(
    root: str, count: int = 6, size: int = 256, layout: str = 'usgs', seed: int = 0
) -> list[SyntheticScene]:
    """Write a small generated SPARCS sample (all files of each scene).

    Args:
        root: folder to write into.
        count: number of scenes.
        size: scene height and width in pixels.
        layout: ``'usgs'`` or ``'osu'``.
        seed: base random seed.

    Returns:
        The scenes written.
    """
    scenes = default_scenes(count)
    for i, scene in enumerate(scenes):
        write_scene(root, scene, size=size, layout=layout, seed=seed + i)
    return scenes


def real_or_sample(real: str, count: int = 6, size: int = 512) -> str:
    """*real* if that folder exists, else a generated sample in a new temporary folder.

    For examples that run on the real scenes where a machine has them and on generated
    ones elsewhere; the sample is written beside nothing of the user's.

    Args:
        real: the folder of the real SPARCS scenes (e.g. ``sending``).
        count: scenes of the generated sample.
        size: their height and width in pixels.

    Returns:
        The folder to read.

    .. versionadded:: 0.1
    """
    if os.path.isdir(real):
        return real
    root = os.path.join(tempfile.mkdtemp(), 'sending')
    write_sample(root, count=count, size=size)
    return root
