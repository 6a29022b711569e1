"""SPARCS dataset."""

from __future__ import annotations

import functools
import glob
import hashlib
import math
import numbers
import os
import re
import warnings
import weakref
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.merge
import shapely
import torch
from geopandas import GeoDataFrame
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.io import DatasetReader, MemoryFile
from rasterio.transform import Affine, from_origin
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_geom
from torchgeo.datasets import DatasetNotFoundError, GeoDataset, RGBBandsMissingError
from torchgeo.datasets.utils import (
    GeoSlice,
    Path,
    Sample,
    download_url,
    extract_archive,
)

from ..constants import BACKGROUND, CLASSES, CLOUD, SHADOW, SNOW
from ..constants import IGNORE_INDEX as IGNORE_INDEX
from .synthetic import SPARCS_PALETTE

#: Pixel size of every SPARCS scene grid, in metres.
PIXEL_SIZE = 30.0

_SCENE_RE = re.compile(
    r'^(?P<scene>LC8(?P<path>\d{3})(?P<row>\d{3})(?P<date>\d{7})[A-Z]{3}\d{2}_\d{2})_'
    r'(?P<kind>data\.tif|mask\.png|labels\.tif|photo\.png|qmask\.tif)$'
)
_FILE_GLOBS = ('*_data.tif', '*_mask.png', '*_labels.tif', '*_photo.png', '*_qmask.tif')
_MTL_GLOBS = ('*_mtl.txt', '*_MTL.txt')
_LAYOUT = (
    'per scene, in one folder: <id>_mask.png (or the Oregon State <id>_labels.tif), '
    "<id>_photo.png (image='photo') or <id>_data.tif (image='data'), "
    '<id>_qmask.tif and <landsat id>_mtl.txt, with <id> like '
    'LC80010812013365LGN00_18 and <landsat id> its first 21 characters'
)
#: How nodata (:data:`~torchgeo_csia.constants.IGNORE_INDEX`) pixels are drawn by
#: :meth:`SPARCS.plot`.
_NODATA_STYLE: dict[str, Any] = {
    'facecolor': '0.85',
    'edgecolor': '0.5',
    'hatch': '///',
    'linewidth': 0,
}
_MTL_CORNERS = (
    'CORNER_UL_PROJECTION_X_PRODUCT',
    'CORNER_UL_PROJECTION_Y_PRODUCT',
    'CORNER_LR_PROJECTION_X_PRODUCT',
    'CORNER_LR_PROJECTION_Y_PRODUCT',
)


@dataclass(frozen=True)
class _MTL:
    """What a scene's MTL file says that the dataset uses or checks."""

    path: str
    sun_azimuth: float
    sun_elevation: float
    #: centres of the full scene's upper-left and lower-right pixels, in its CRS
    upper_left: tuple[float, float]
    lower_right: tuple[float, float]
    utm_zone: int | None


def _parse_mtl(path: str) -> _MTL:
    """Read and check the entries of a Landsat MTL file that SPARCS needs.

    Raises:
        ValueError: If an entry is missing, not a number or out of range (the
            message names the file and the key).
    """
    with open(path, errors='replace') as f:
        text = f.read()
    entries: dict[str, str] = {}
    for match in re.finditer(
        r'^[ \t]*([A-Za-z0-9_]+)[ \t]*=[ \t]*(.*?)[ \t]*$', text, re.M
    ):
        entries.setdefault(match.group(1), match.group(2).strip('"'))

    def number(key: str) -> float:
        if key not in entries:
            raise ValueError(f'{path}: no {key} entry; expected a Landsat MTL file')
        raw = entries[key]
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f'{path}: {key} = {raw!r} is not a number') from None
        if not math.isfinite(value):
            raise ValueError(f'{path}: {key} = {raw!r} is not a finite number')
        return value

    azimuth = number('SUN_AZIMUTH')
    if not -180.0 <= azimuth <= 360.0:
        raise ValueError(
            f'{path}: SUN_AZIMUTH = {azimuth} is outside [-180, 360] degrees '
            '(Landsat gives it in [-180, 180], clockwise from north)'
        )
    elevation = number('SUN_ELEVATION')
    if not 0.0 < elevation <= 90.0:
        raise ValueError(
            f'{path}: SUN_ELEVATION = {elevation} is outside (0, 90] degrees '
            '(SPARCS scenes are daytime scenes: the sun is above the horizon)'
        )
    ulx, uly, lrx, lry = (number(key) for key in _MTL_CORNERS)
    if not (ulx < lrx and lry < uly):
        raise ValueError(
            f'{path}: the projected corners UL ({ulx}, {uly}) and LR ({lrx}, {lry}) '
            'do not span a north-up scene'
        )
    zone = None
    if entries.get('MAP_PROJECTION') == 'UTM' and 'UTM_ZONE' in entries:
        zone = round(number('UTM_ZONE'))
    return _MTL(path, azimuth, elevation, (ulx, uly), (lrx, lry), zone)


@dataclass(frozen=True)
class _Handle:
    memfile: MemoryFile | None  # keeps in-memory rasters alive
    source: DatasetReader  # the file (or in-memory raster) on its own grid
    reader: DatasetReader | WarpedVRT  # what is read: source, or a warped view
    nodata: int

    def close(self) -> None:
        """Close the warped view, the source and the in-memory file, in order."""
        if self.reader is not self.source:
            self.reader.close()
        self.source.close()
        if self.memfile is not None:
            self.memfile.close()


class _HandleCache:
    """Least-recently-used open handles of one dataset, closed when evicted.

    One per dataset instance (not a class-level :func:`functools.lru_cache`, which
    would keep every dataset and its open rasters alive until the interpreter tears
    its modules down; rasterio objects freed that late print ``Error in
    sys.excepthook`` under pytest). :meth:`close` runs when the dataset is garbage
    collected or, at the latest, at interpreter exit (:func:`weakref.finalize`).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.handles: OrderedDict[tuple[str, str, bool], _Handle] = OrderedDict()

    def get(self, key: tuple[str, str, bool], make: Callable[[], _Handle]) -> _Handle:
        handle = self.handles.get(key)
        if handle is None:
            handle = self.handles[key] = make()
            while len(self.handles) > self.maxsize:
                self.handles.popitem(last=False)[1].close()
        else:
            self.handles.move_to_end(key)
        return handle

    def close(self) -> None:
        while self.handles:
            self.handles.popitem()[1].close()


@dataclass(frozen=True)
class _Grid:
    crs: RioCRS
    transform: Affine
    height: int
    width: int


def _open_raster(path: str) -> DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise ValueError(f'{path}: cannot be read as a raster ({err})') from err


def _read_png(path: str, mode: str) -> NDArray[np.uint8]:
    """Decode a PNG to (bands, H, W) without any colour conversion of palette data."""
    try:
        with Image.open(path) as img:
            if img.mode != mode:
                raise ValueError(
                    f'{path}: expected a PNG of mode {mode!r}, got {img.mode!r}'
                )
            array = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f'{path}: cannot be read as a PNG ({err})') from err
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _verify_png(path: str) -> None:
    """Check every chunk's CRC: a flipped bit in the pixel data decodes silently.

    Raises:
        ValueError: If the file is not a PNG or a chunk is corrupt.
    """
    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(
            f'{path}: is corrupt ({err}); replace it with a fresh copy of the file'
        ) from err


def _check_crs(crs: Any) -> CRS:
    """The dataset's CRS as pyproj knows it, or a ValueError that names it."""
    if crs is None:
        return CRS.from_epsg(3857)
    try:
        out = CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError) as err:
        raise ValueError(
            f'crs={crs!r} is not a coordinate reference system that pyproj knows '
            f'({err}); pass e.g. "EPSG:3857" or a pyproj.CRS'
        ) from None
    if not (out.is_projected or out.is_geographic):
        raise ValueError(
            f'crs={crs!r} is a {out.type_name}, not a horizontal (projected or '
            'geographic) CRS that scenes can be warped to'
        )
    try:
        RioCRS.from_user_input(out)
    except rasterio.errors.CRSError as err:
        raise ValueError(f'crs={crs!r} is not usable by GDAL ({err})') from None
    return out


def _check_res(res: Any) -> tuple[float, float]:
    """``(xres, yres)`` from *res*, or a ValueError that names it."""
    if isinstance(res, numbers.Real) and not isinstance(res, bool):
        values: Any = (res, res)
    else:
        values = res
    message = (
        'res must be a positive finite number of crs units per pixel, or a pair '
        f'(xres, yres) of them, got {res!r}'
    )
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(message)
    if len(values) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values
    ):
        raise ValueError(message)
    xres, yres = float(values[0]), float(values[1])
    if not all(math.isfinite(v) and v > 0 for v in (xres, yres)):
        raise ValueError(message)
    return xres, yres


def _check_grid(path: str, grid: _Grid, mtl: _MTL) -> None:
    """Check a scene raster's grid against SPARCS and the scene's MTL file.

    SPARCS subscenes are north-up 30 m grids cut from the full Landsat scene that
    the MTL file describes (its extents were not changed for the subscenes): the
    subscene must lie inside the full scene and its pixel edges on the full scene's
    30 m lattice. The MTL corners are pixel centres; the SPARCS GeoTIFFs put their
    pixel edges on the lattice of those coordinates, so both conventions (offset 0
    or half a pixel) pass.

    Raises:
        ValueError: If the grid is rotated, its pixels are not square 30 m, its
            UTM zone is not the MTL's, or it does not sit on the MTL's scene grid.
    """
    t = grid.transform
    fix = 'a corrupted or resampled file? replace it with a fresh copy'
    units = CRS.from_user_input(grid.crs).axis_info[0].unit_name
    if units not in ('metre', 'meter'):
        raise ValueError(f'{path}: its CRS is in {units}, SPARCS grids are in metres')
    if abs(t.b) > 1e-9 or abs(t.d) > 1e-9:
        raise ValueError(
            f'{path}: the pixel grid is rotated or sheared (transform {tuple(t)[:6]});'
            f' SPARCS scenes are north-up ({fix})'
        )
    if not (
        math.isclose(t.a, PIXEL_SIZE, abs_tol=1e-6)
        and math.isclose(-t.e, PIXEL_SIZE, abs_tol=1e-6)
    ):
        raise ValueError(
            f'{path}: pixels are {t.a} x {-t.e} m (x, y, north-up positive); SPARCS '
            f'scenes have square {PIXEL_SIZE:g} m pixels ({fix})'
        )
    if mtl.utm_zone is not None:
        zone = CRS.from_user_input(grid.crs).utm_zone
        if zone is None or int(zone[:-1]) != mtl.utm_zone:
            raise ValueError(
                f'{path}: its CRS ({grid.crs}) is not UTM zone {mtl.utm_zone} of '
                f'{mtl.path} ({fix})'
            )
    (ulx, uly), (lrx, lry) = mtl.upper_left, mtl.lower_right
    col, row = (t.c - ulx) / PIXEL_SIZE, (uly - t.f) / PIXEL_SIZE
    if max(abs(2 * col - round(2 * col)), abs(2 * row - round(2 * row))) > 2e-3:
        raise ValueError(
            f'{path}: origin ({t.c}, {t.f}) is not on the {PIXEL_SIZE:g} m grid of '
            f'the scene in {mtl.path} (upper-left pixel at ({ulx}, {uly})): off by '
            f'{col % 1:.3f} columns, {row % 1:.3f} rows ({fix})'
        )
    half = PIXEL_SIZE / 2 + PIXEL_SIZE  # pixel centre to edge, plus a pixel
    left, top = t.c, t.f
    right, bottom = left + grid.width * t.a, top + grid.height * t.e
    if not (
        ulx - half <= left
        and right <= lrx + half
        and lry - half <= bottom
        and top <= uly + half
    ):
        raise ValueError(
            f'{path}: the subscene x [{left}, {right}], y [{bottom}, {top}] is not '
            f'inside the scene of {mtl.path} (pixel centres x [{ulx}, {lrx}], '
            f'y [{lry}, {uly}]) ({fix})'
        )


def _scene_files(files: Iterable[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Group SPARCS files by scene id, then folder; MTL files join their folder."""
    scenes: dict[str, dict[str, dict[str, str]]] = {}
    mtls: dict[tuple[str, str], str] = {}
    for path in sorted(set(files)):
        folder, name = os.path.split(path)
        if name.lower().endswith('_mtl.txt'):
            mtls[(folder, name[:-8])] = path
            continue
        match = _SCENE_RE.match(name)
        if match is not None:
            kind = match.group('kind').split('.')[0]
            scene = match.group('scene')
            scenes.setdefault(scene, {}).setdefault(folder, {})[kind] = path
    for scene, folders in scenes.items():
        for folder, kinds in folders.items():
            mtl = mtls.get((folder, scene[:21]))
            if mtl is not None:
                kinds['mtl'] = mtl
    return scenes


class SPARCS(GeoDataset):
    """SPARCS dataset.

    The `SPARCS <https://www.usgs.gov/landsat-missions/spatial-procedures-automated-removal-cloud-and-shadow-sparcs-validation-data>`__
    (Spatial Procedures for Automated Removal of Cloud and Shadow) validation set holds
    80 Landsat-8 subscenes of 1000 x 1000 px at 30 m, hand-labelled for cloud, cloud
    shadow, water, snow/ice and flooded land.

    Dataset features:

    * 80 subscenes from around the world (many UTM zones, one polar stereographic)
    * 10 Landsat-8 bands (B1-B7, B9, B10, B11) as raw counts, and the 8-bit
      false-colour quicklook shown to the labellers
    * pixel labels, plus the scene's sun azimuth and elevation from its MTL file

    Dataset format (both public layouts are read):

    * USGS ``l8cloudmasks.zip`` (``sending/``): ``<id>_data.tif``, ``<id>_photo.png``,
      ``<id>_qmask.tif`` and labels as a palette ``<id>_mask.png`` that carries no
      georeferencing: it is placed on the grid of ``_data.tif`` (or ``_qmask.tif``)
    * Oregon State ``sparcs_data_L8.zip``: the same, with labels as a georeferenced
      ``<id>_labels.tif``
    * ``<landsat id>_mtl.txt`` per scene (the subscene suffix ``_NN`` dropped), in
      the same folder as the scene's other files

    Dataset classes (``classes='sparcs'``):

    0. Cloud shadow
    1. Cloud shadow over water
    2. Water
    3. Snow / ice
    4. Land
    5. Cloud
    6. Flooded

    With ``classes='csia'``: 0 background (water, land, flooded), 1 shadow (both
    shadow codes), 2 snow, 3 cloud. Mask pixels that no scene covers are
    :data:`~torchgeo_csia.constants.IGNORE_INDEX` (255) in both schemes, and image
    pixels there are 0.

    Samples carry ``image``, ``mask``, ``bounds``, ``transform``, and ``sun_azimuth``
    and ``sun_elevation`` (degrees, 0-d float tensors, of the first scene the query
    hits), so :func:`~torchgeo.datasets.stack_samples` and Kornia pass them through.

    The scenes span 36 projections, so a dataset needs one common CRS: it defaults to
    EPSG:3857, as TorchGeo's :class:`~torchgeo.datasets.L8Biome` and
    :class:`~torchgeo.datasets.L7Irish` do, at 30 units per pixel (30 m at the
    equator; scenes at higher latitudes are upsampled by 1/cos(latitude)). To get a
    scene's own pixels exactly, pass that scene's CRS and ``res=30``. Images are
    resampled with *resampling* (nearest by default); labels only ever with nearest
    neighbour.

    Warped to another CRS a scene's footprint is a rotated polygon. The index holds
    these exact footprints (so :class:`~torchgeo.samplers.RandomPatchSampler` and
    :class:`~torchgeo_csia.samplers.SceneRandomSampler` draw patches inside the
    data), but a query is answered wherever it meets a scene's bounding box, as for
    TorchGeo's raster datasets (whose footprints are such boxes): outside every
    footprint it returns nodata. So every TorchGeo sampler works, including those
    that draw inside each footprint's bounding box (:class:`RandomGeoSampler`,
    :class:`GridGeoSampler`, :class:`PreChippedGeoSampler`,
    :class:`RandomBatchGeoSampler`).

    If you use this dataset in your research, please cite:

    * https://doi.org/10.5066/F7FB5146
    * https://doi.org/10.3390/rs11212591

    .. versionadded:: 0.1
    """

    url = 'https://landsat.usgs.gov/cloud-validation/sparcs/l8cloudmasks.zip'
    filename = 'l8cloudmasks.zip'

    all_bands: tuple[str, ...] = (
        'B1',
        'B2',
        'B3',
        'B4',
        'B5',
        'B6',
        'B7',
        'B9',
        'B10',
        'B11',
    )
    rgb_bands: tuple[str, ...] = ('B4', 'B3', 'B2')
    #: Bands of the ``_photo.png`` quicklook, as stored (red, green, blue channels).
    photo_bands: tuple[str, ...] = ('photo_r', 'photo_g', 'photo_b')

    class_schemes: ClassVar[dict[str, tuple[str, ...]]] = {
        'sparcs': (
            'shadow',
            'shadow over water',
            'water',
            'snow/ice',
            'land',
            'cloud',
            'flooded',
        ),
        'csia': CLASSES,
    }
    #: SPARCS code -> class index, per scheme.
    code_maps: ClassVar[dict[str, tuple[int, ...]]] = {
        'sparcs': (0, 1, 2, 3, 4, 5, 6),
        # shadow, shadow over water, water, snow/ice, land, cloud, flooded
        'csia': (SHADOW, SHADOW, BACKGROUND, SNOW, BACKGROUND, CLOUD, BACKGROUND),
    }
    colors: ClassVar[dict[str, tuple[tuple[int, int, int], ...]]] = {
        'sparcs': SPARCS_PALETTE,
        'csia': ((128, 128, 128), (0, 0, 0), (0, 255, 255), (255, 255, 255)),
    }

    #: Fractions of scenes per split; a scene's split depends on its id alone.
    split_fractions: ClassVar[dict[str, tuple[float, float]]] = {
        'train': (0.0, 0.7),
        'val': (0.7, 0.85),
        'test': (0.85, 1.0),
    }

    #: Open files (and decoded PNGs) kept per dataset when ``cache=True``.
    cache_size = 256

    def __init__(
        self,
        paths: Path | Iterable[Path] = 'data',
        crs: CRS | None = None,
        res: float | tuple[float, float] = 30.0,
        image: Literal['data', 'photo'] = 'photo',
        bands: Sequence[str] | None = None,
        classes: Literal['sparcs', 'csia'] = 'sparcs',
        split: Literal['train', 'val', 'test', 'all'] = 'all',
        transforms: Callable[[Sample], Sample] | None = None,
        cache: bool = True,
        download: bool = False,
        checksum: bool = False,
        resampling: Literal['nearest', 'bilinear', 'cubic'] = 'nearest',
    ) -> None:
        """Initialize a new SPARCS instance.

        Args:
            paths: one or more directories or files. Directories are searched
                recursively, as TorchGeo's :class:`~torchgeo.datasets.RasterDataset`
                does, for SPARCS file names only (``<id>_mask.png``,
                ``<id>_labels.tif``, ``<id>_photo.png``, ``<id>_data.tif``,
                ``<id>_qmask.tif``, ``<landsat id>_mtl.txt``); a scene's files and
                its MTL must lie in one folder. Every path must exist; one that
                holds no SPARCS file is ignored with a warning; a scene found in
                more than one folder (e.g. a parent folder of the data and of a
                copy, or of a clone's test data) is an error: pass the folder
                that holds the scenes (``sending/`` of the USGS archive).
            crs: :term:`coordinate reference system (CRS)` to warp to
                (defaults to EPSG:3857); anything :meth:`pyproj.CRS.from_user_input`
                takes
            res: resolution in units of *crs*, as ``(xres, yres)`` or one float
            image: ``'photo'`` (the 3-band ``_photo.png`` quicklook, placed on the
                scene's grid; in every public release and what the shipped weights
                use) or ``'data'`` (the 10-band ``_data.tif``)
            bands: bands to return (defaults to all bands of *image*)
            classes: ``'sparcs'`` (the 7 codes) or ``'csia'`` (4 classes)
            split: ``'train'``, ``'val'``, ``'test'`` (a fixed split by scene id,
                70/15/15 %, the same on every machine) or ``'all'``
            transforms: a function/transform that takes an input sample
                and returns a transformed version
            cache: if True, keep up to :attr:`cache_size` open files and decoded
                PNGs per dataset between queries
            download: if True, download ``l8cloudmasks.zip`` into the first of
                *paths* and extract it when no scene is found there
            checksum: if True, check every scene file used once: PNG chunk CRCs
                (a flipped bit in a ``_mask.png`` would otherwise decode as other
                labels) and that every pixel decodes (slow). The archive's hash is
                not published, so a download is verified by its content instead:
                every scene must be complete and its files intact.
            resampling: how images are resampled when warped to *crs*: nearest
                keeps the sensor's values and is what TorchGeo's cached warped
                files do in effect; bilinear or cubic smooth. Labels are always
                nearest.

        Raises:
            DatasetNotFoundError: If no scene is found and *download* is False.
            FileNotFoundError: If one of *paths* does not exist.
            RuntimeError: If the download or its extraction fails (the message
                says how to get the files by hand).
            ValueError: If an argument is invalid, or a scene file is missing,
                unreadable, corrupt, of the wrong shape or off the scene's grid,
                or its MTL entries are missing or out of range (the message names
                the file).
        """
        if image not in ('data', 'photo'):
            raise ValueError(f"image must be 'data' or 'photo', got {image!r}")
        if classes not in self.class_schemes:
            raise ValueError(
                f'classes must be one of {sorted(self.class_schemes)}, got {classes!r}'
            )
        if split != 'all' and split not in self.split_fractions:
            raise ValueError(
                f"split must be 'all' or one of {list(self.split_fractions)}, "
                f'got {split!r}'
            )
        valid_bands = self.all_bands if image == 'data' else self.photo_bands
        self.bands = tuple(bands) if bands is not None else valid_bands
        unknown = [b for b in self.bands if b not in valid_bands]
        if unknown or not self.bands:
            raise ValueError(
                f'bands {unknown or list(self.bands)} are not valid for '
                f'image={image!r}; expected a non-empty subset of {valid_bands}'
            )
        if resampling not in ('nearest', 'bilinear', 'cubic'):
            raise ValueError(
                "resampling must be 'nearest', 'bilinear' or 'cubic', "
                f'got {resampling!r}'
            )
        self._res = _check_res(res)
        dst_crs = _check_crs(crs)
        self.resampling = Resampling[resampling]
        self.paths = paths
        self.image = image
        self.classes = classes
        self.split = split
        self.transforms = transforms
        self.cache = cache
        self.download = download
        self.checksum = checksum
        self.band_indexes = [valid_bands.index(b) for b in self.bands]
        lut = np.full(256, IGNORE_INDEX, dtype=np.int64)
        lut[:7] = self.code_maps[classes]
        self._lut = torch.from_numpy(lut)
        self._open_cache()

        self._grids: dict[str, _Grid] = {}
        self._dst_crs = RioCRS.from_user_input(dst_crs)
        scenes = self._find_scenes()
        if not scenes:
            if not self.download:
                raise self._not_found()
            self._download()
            scenes = self._find_scenes()
            if not scenes:
                raise self._not_found()
            self._verify_download(scenes)
        self._check_roots(len(scenes))
        rows = [self._describe(sid, files, dst_crs) for sid, files in scenes.items()]
        rows = [r for r in rows if split == 'all' or self.split_of(r['scene']) == split]
        if not rows:
            raise ValueError(
                f'no scene of split {split!r} in paths={paths!r} '
                f'({len(scenes)} scenes found in other splits)'
            )
        if checksum:
            for row in rows:
                self._check_intact(row)
        intervals = pd.IntervalIndex.from_tuples(
            [r.pop('interval') for r in rows], closed='both', name='datetime'
        )
        geometries = [r.pop('geometry') for r in rows]
        self.index = GeoDataFrame(rows, geometry=geometries, crs=dst_crs)
        self.index.index = intervals
        self._check_res_fits()

    # ------------------------------------------------------------------- state
    def _open_cache(self) -> None:
        self._handles = _HandleCache(self.cache_size)
        # close the rasters with the dataset, or at exit while modules still live
        self._finalizer = weakref.finalize(self, self._handles.close)

    def close(self) -> None:
        """Close the open files and drop decoded PNGs (reopened when needed)."""
        self._handles.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without open files (for DataLoader workers started by spawn)."""
        state = self.__dict__.copy()
        del state['_handles'], state['_finalizer']
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled dataset with an empty cache of open files."""
        self.__dict__.update(state)
        self._open_cache()

    # ----------------------------------------------------------------- discovery
    @classmethod
    def split_of(cls, scene_id: str) -> str:
        """Split a scene belongs to: a stable hash of its id, the same everywhere.

        Args:
            scene_id: ``LC8PPPRRRYYYYDDDLGN0V_NN``.

        Returns:
            ``'train'``, ``'val'`` or ``'test'``.
        """
        digest = hashlib.sha256(scene_id.encode()).digest()
        u = int.from_bytes(digest[:8], 'big') / 2**64
        for name, (lo, hi) in cls.split_fractions.items():
            if lo <= u < hi:
                return name
        return 'test'

    def _search_roots(self) -> list[str]:
        if isinstance(self.paths, str | os.PathLike):
            return [os.fspath(self.paths)]
        return [os.fspath(p) for p in self.paths]

    def _search(self, root: str) -> list[str]:
        """SPARCS files under one root (recursively, as TorchGeo), or the file."""
        if os.path.isdir(root):
            found = []
            for pattern in (*_FILE_GLOBS, *_MTL_GLOBS):
                found += glob.glob(os.path.join(root, '**', pattern), recursive=True)
            return [os.path.normpath(p) for p in found]
        if os.path.isfile(root):
            return [os.path.normpath(root)]
        return []

    def _find_scenes(self) -> dict[str, dict[str, str]]:
        """SPARCS files by scene id; each scene's files from one folder.

        Raises:
            ValueError: If a scene is found in more than one folder.
        """
        found = [path for root in self._search_roots() for path in self._search(root)]
        scenes: dict[str, dict[str, str]] = {}
        for scene, folders in sorted(_scene_files(found).items()):
            if len(folders) > 1:
                raise ValueError(
                    f'scene {scene} was found in {len(folders)} folders '
                    f'({", ".join(sorted(folders))}) under paths={self.paths!r}: the '
                    'folders are searched recursively, so a parent folder also picks '
                    'up copies and test data. Pass the folder (or folders) that hold '
                    'the scenes, each scene once.'
                )
            scenes[scene] = next(iter(folders.values()))
        return scenes

    def _check_roots(self, found: int) -> None:
        """Every root must exist; one without SPARCS files is ignored with a warning.

        Raises:
            FileNotFoundError: If a root does not exist.
        """
        for root in self._search_roots():
            if not os.path.exists(root):
                raise FileNotFoundError(
                    f'{root} (in paths={self.paths!r}) does not exist; the other '
                    f'paths hold {found} scenes. Fix the path or leave it out.'
                )
            names = [os.path.basename(p) for p in self._search(root)]
            if not any(
                _SCENE_RE.match(n) or n.lower().endswith('_mtl.txt') for n in names
            ):
                warnings.warn(
                    f'{root} (in paths={self.paths!r}) holds no SPARCS file '
                    f'({_LAYOUT}); it was ignored',
                    UserWarning,
                    stacklevel=3,
                )

    def _not_found(self) -> DatasetNotFoundError:
        """TorchGeo's error, plus the layout expected and where to get it."""
        err = DatasetNotFoundError(self)
        roots = self._search_roots()
        missing = [r for r in roots if not os.path.exists(r)]
        note = f' ({", ".join(missing)} does not exist)' if missing else ''
        err.args = (
            f'{err}{note} SPARCS expects {_LAYOUT}. They are in the USGS archive '
            f'{self.url} (extract it; the scenes are in its sending/ folder). '
            f'Without network access, download it elsewhere and put '
            f'{self.filename} (or the extracted folder) into {roots[0]}.',
        )
        return err

    def _describe(
        self, scene_id: str, files: dict[str, str], dst_crs: CRS
    ) -> dict[str, Any]:
        """Check one scene's files and return its index row."""
        folder = os.path.dirname(next(iter(files.values())))
        stem = os.path.join(folder, scene_id)

        def need(kind: str, *alternatives: str) -> str:
            for key in (kind, *alternatives):
                if key in files:
                    return files[key]
            names = ' or '.join(
                f'{scene_id[:21]}_mtl.txt' if k == 'mtl' else f'{scene_id}_{k}.*'
                for k in (kind, *alternatives)
            )
            raise ValueError(f'scene {scene_id} in {folder}: missing {names}')

        label = need('labels', 'mask')
        image = need('data' if self.image == 'data' else 'photo')
        grid_path = files.get('data') or files.get('qmask') or files.get('labels')
        if grid_path is None:
            raise ValueError(
                f'scene {scene_id} in {folder}: missing {stem}_data.tif or '
                f'{stem}_qmask.tif, needed to georeference the PNG files'
            )
        mtl = _parse_mtl(need('mtl'))
        with _open_raster(grid_path) as src:
            if src.crs is None or src.transform.is_identity:
                raise ValueError(f'{grid_path}: has no georeferencing')
            grid = _Grid(src.crs, src.transform, src.height, src.width)
        _check_grid(grid_path, grid, mtl)
        for path in (label, image):
            if path.endswith('.png'):
                try:
                    with Image.open(path) as img:
                        width, height = img.size
                except (UnidentifiedImageError, OSError, SyntaxError) as err:
                    raise ValueError(
                        f'{path}: cannot be read as a PNG ({err})'
                    ) from err
            else:
                with _open_raster(path) as src:
                    width, height, count = src.width, src.height, src.count
                    if path.endswith('_data.tif') and count != len(self.all_bands):
                        raise ValueError(
                            f'{path}: has {count} bands, expected '
                            f'{len(self.all_bands)} ({", ".join(self.all_bands)})'
                        )
                    if path != grid_path and (
                        src.crs != grid.crs or src.transform != grid.transform
                    ):
                        raise ValueError(
                            f'{path}: its grid ({src.crs}, {tuple(src.transform)[:6]})'
                            f' differs from {grid_path} ({grid.crs}, '
                            f'{tuple(grid.transform)[:6]})'
                        )
            if (height, width) != (grid.height, grid.width):
                raise ValueError(
                    f'{path}: is {height} x {width} px, but the scene grid '
                    f'{grid_path} is {grid.height} x {grid.width}'
                )
        self._grids[scene_id] = grid
        footprint = shapely.box(
            *rasterio.transform.array_bounds(grid.height, grid.width, grid.transform)
        )
        geometry = shapely.geometry.shape(
            transform_geom(
                grid.crs, RioCRS.from_user_input(dst_crs), footprint, precision=-1
            )
        )
        if not geometry.is_valid or geometry.is_empty:
            raise ValueError(
                f'scene {scene_id} in {folder}: its footprint has no valid shape '
                f'in crs={dst_crs.to_string()}; choose a CRS that covers the scene'
            )
        date = datetime.strptime(scene_id[9:16], '%Y%j')
        return {
            'scene': scene_id,
            'image_path': image,
            'label_path': label,
            'grid_path': grid_path,
            'sun_azimuth': mtl.sun_azimuth,
            'sun_elevation': mtl.sun_elevation,
            'interval': (date, date + timedelta(days=1) - timedelta(microseconds=1)),
            'geometry': geometry,
        }

    def _check_res_fits(self) -> None:
        """A pixel must be smaller than every scene (res is in units of *crs*).

        Raises:
            ValueError: If a pixel is larger than a scene's footprint.
        """
        bounds = self.index.geometry.bounds
        width = float((bounds.maxx - bounds.minx).min())
        height = float((bounds.maxy - bounds.miny).min())
        if self._res[0] > width or self._res[1] > height:
            raise ValueError(
                f'res={self._res} is larger than a scene ({width:.6g} x {height:.6g} '
                f'units of crs={self.crs.to_string()}): res is in units of crs '
                '(degrees for a geographic CRS such as EPSG:4326)'
            )

    # ------------------------------------------------------------------ download
    def _download(self) -> None:
        """Download and extract the USGS archive into the first of *paths*.

        Raises:
            RuntimeError: If the download or the extraction fails; the message says
                how to get the files by hand.
        """
        root = self._search_roots()[0]
        archive = os.path.join(root, self.filename)
        by_hand = (
            f'Download {self.url} by hand (in a browser or on another machine) and '
            f'put {self.filename} into {root} (it is extracted on the next call with '
            f'download=True), or extract it there yourself: SPARCS expects {_LAYOUT}.'
        )
        if not os.path.exists(archive):
            try:
                download_url(self.url, root, filename=self.filename)
            except OSError as err:  # URLError, HTTPError, timeouts, disk full
                if os.path.exists(archive):  # a partial download of ours
                    os.remove(archive)
                raise RuntimeError(
                    f'could not download {self.url} ({err}). {by_hand}'
                ) from err
        try:
            extract_archive(archive, root)
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise RuntimeError(
                f'{archive}: cannot be extracted ({err}); it may be an incomplete '
                f'download: delete it and try again. {by_hand}'
            ) from err

    def _verify_download(self, scenes: dict[str, dict[str, str]]) -> None:
        """Check that every extracted scene is complete and its files intact."""
        for scene_id, files in scenes.items():
            missing = [k for k in ('data', 'photo', 'qmask', 'mtl') if k not in files]
            if 'mask' not in files and 'labels' not in files:
                missing.append('mask')
            if missing:
                raise ValueError(
                    f'downloaded scene {scene_id} is incomplete: missing {missing}'
                )
            for kind in ('data', 'qmask'):
                with _open_raster(files[kind]):
                    pass
            for kind in ('photo', 'mask'):
                if kind in files:
                    _verify_png(files[kind])

    def _check_intact(self, row: dict[str, Any]) -> None:
        """Verify PNG chunk CRCs and decode every pixel of a scene's files."""
        for path in dict.fromkeys(
            (row['image_path'], row['label_path'], row['grid_path'])
        ):
            if path.endswith('.png'):
                _verify_png(path)
                _read_png(path, 'RGB' if path.endswith('_photo.png') else 'P')
            else:
                with _open_raster(path) as src:
                    try:
                        src.read()
                    except rasterio.errors.RasterioError as err:
                        raise ValueError(f'{path}: cannot be read ({err})') from err

    # ------------------------------------------------------------------ reading
    def read_labels(self, scene: str) -> NDArray[np.uint8]:
        """The whole label raster of one scene, on its own grid, in this scheme.

        Labels only: no image is read and nothing is warped or cached, so the
        pixels are the scene file's own (as :meth:`__getitem__` gives them with the
        scene's CRS and ``res=30``).

        Args:
            scene: a scene id of :attr:`index` (``LC8PPPRRRYYYYDDDLGN0V_NN``).

        Returns:
            ``H x W`` class indices of :attr:`classes` (``uint8``).

        Raises:
            KeyError: If the dataset holds no such scene.
            ValueError: If the file holds codes outside the SPARCS codes 0-6.

        .. versionadded:: 0.1
        """
        rows = self.index[self.index['scene'] == scene]
        if rows.empty:
            raise KeyError(
                f'scene {scene!r} is not in this dataset (split={self.split!r}, '
                f'{len(self.index)} scenes)'
            )
        codes = self._load_labels(str(rows['label_path'].iloc[0]))[0]
        lut = np.asarray(self.code_maps[self.classes], dtype=np.uint8)
        labels: NDArray[np.uint8] = lut[codes]
        return labels

    def _load_labels(self, path: str) -> NDArray[np.uint8]:
        """Whole label raster (1, H, W) of SPARCS codes, validated."""
        if path.endswith('.png'):
            codes = _read_png(path, 'P')
        else:
            with _open_raster(path) as src:
                codes = src.read(1)[None].astype(np.uint8)
        bad = np.unique(codes[codes > 6])
        if bad.size:
            raise ValueError(
                f'{path}: holds mask codes {bad.tolist()} outside the SPARCS codes 0-6'
            )
        return codes

    def _handle(self, scene: str, path: str, label: bool) -> _Handle:
        """Open one scene file on its grid, warped to the dataset's CRS if needed.

        Labels and PNGs are decoded once into an in-memory GeoTIFF on the scene's
        grid (the PNGs carry no georeferencing); a warped view of it is kept like
        TorchGeo's own cached ``WarpedVRT`` handles.
        """
        grid = self._grids[scene]
        memfile = None
        if label or path.endswith('.png'):
            array = self._load_labels(path) if label else _read_png(path, 'RGB')
            memfile = MemoryFile()
            with memfile.open(
                driver='GTiff',
                count=array.shape[0],
                height=grid.height,
                width=grid.width,
                dtype=array.dtype,
                crs=grid.crs,
                transform=grid.transform,
            ) as dst:
                dst.write(array)
            src = memfile.open()
        else:
            src = _open_raster(path)
        nodata = IGNORE_INDEX if label else 0
        if grid.crs == self._dst_crs:
            return _Handle(memfile, src, src, nodata)
        vrt = WarpedVRT(
            src,
            crs=self._dst_crs,
            resampling=Resampling.nearest if label else self.resampling,
            src_nodata=None,
            nodata=nodata,
        )
        return _Handle(memfile, src, vrt, nodata)

    def _read(self, df: pd.DataFrame, label: bool, x: slice, y: slice) -> NDArray[Any]:
        """Mosaic one file type of the hit scenes over the query (first one wins)."""
        column = 'label_path' if label else 'image_path'
        pairs = list(zip(df['scene'], df[column], strict=True))
        if self.cache:
            handles = [
                self._handles.get(
                    (scene, path, label),
                    functools.partial(self._handle, scene, path, label),
                )
                for scene, path in pairs
            ]
        else:
            handles = [self._handle(scene, path, label) for scene, path in pairs]
        indexes = [1] if label else [i + 1 for i in self.band_indexes]
        try:
            dest, _ = rasterio.merge.merge(
                [h.reader for h in handles],
                bounds=(x.start, y.start, x.stop, y.stop),
                res=(x.step, y.step),
                indexes=indexes,
                nodata=handles[0].nodata,
                resampling=Resampling.nearest if label else self.resampling,
            )
        except rasterio.errors.RasterioError as err:
            raise ValueError(f'{list(df[column])}: cannot be read ({err})') from err
        finally:
            if not self.cache:
                for handle in handles:
                    handle.close()
        out: NDArray[Any] = dest
        return out

    def __getitem__(self, index: GeoSlice) -> Sample:
        """Retrieve image, mask and sun geometry indexed by spatiotemporal slice.

        A query that meets a scene's bounding box but none of the footprints
        returns nodata: mask :data:`IGNORE_INDEX`, image 0, and the sun geometry of
        the first scene whose bounding box it meets.

        Args:
            index: [xmin:xmax:xres, ymin:ymax:yres, tmin:tmax:tres] coordinates.

        Returns:
            Sample of image, mask, bounds, transform, sun azimuth and elevation.

        Raises:
            IndexError: If *index* meets no scene's bounding box.
        """
        x, y, t = self._disambiguate_slice(index)
        df = self.index.iloc[self.index.index.overlaps(pd.Interval(t.start, t.stop))]
        df = df.iloc[:: t.step]
        query = shapely.box(x.start, y.start, x.stop, y.stop)
        hit = df.geometry.intersects(query) & ~df.geometry.touches(query)
        if hit.any():
            first = df[hit].iloc[0]
            image = self._read(df[hit], False, x, y)
            label = self._read(df[hit], True, x, y)[0]
        else:
            boxes = df.geometry.envelope
            near = df[boxes.intersects(query) & ~boxes.touches(query)]
            if near.empty:
                raise IndexError(
                    f'index: {index} not found in dataset with bounds: {self.bounds}'
                )
            first = near.iloc[0]
            shape = (
                round((y.stop - y.start) / y.step),
                round((x.stop - x.start) / x.step),
            )
            image = np.zeros((len(self.bands), *shape), dtype=np.float32)
            label = np.full(shape, IGNORE_INDEX, dtype=np.uint8)
        dst_transform = from_origin(x.start, y.stop, x.step, y.step)
        sample: Sample = {
            'image': torch.from_numpy(image.astype(np.float32)),
            'mask': self._lut[torch.from_numpy(label.astype(np.int64))],
            'bounds': self._slice_to_tensor(index),
            'transform': torch.tensor(tuple(dst_transform)[:6]),
            'sun_azimuth': torch.tensor(first['sun_azimuth'], dtype=torch.float32),
            'sun_elevation': torch.tensor(first['sun_elevation'], dtype=torch.float32),
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    # ------------------------------------------------------------------ plotting
    def plot(
        self,
        sample: Sample,
        show_titles: bool = True,
        suptitle: str | None = None,
    ) -> Figure:
        """Plot a sample from the dataset in the SPARCS colours.

        Nodata pixels (mask :data:`IGNORE_INDEX`: outside every scene) are drawn
        hatched light grey in every panel, unlike any class (cloud is white); a
        legend names the classes and nodata.

        Args:
            sample: a sample returned by :meth:`__getitem__` (optionally with a
                ``prediction`` key)
            show_titles: flag indicating whether to show titles above each panel
            suptitle: optional string to use as a suptitle

        Returns:
            a matplotlib Figure with the rendered sample

        Raises:
            RGBBandsMissingError: If *bands* does not include all RGB bands.
        """
        rgb = self.rgb_bands if self.image == 'data' else self.photo_bands
        if not set(rgb) <= set(self.bands):
            raise RGBBandsMissingError()
        idx = [self.bands.index(b) for b in rgb]
        mask = sample['mask'].numpy().astype(np.int64)
        valid = mask != IGNORE_INDEX
        image = sample['image'][idx].permute(1, 2, 0).float().numpy()
        pixels = image[valid] if valid.any() else image.reshape(-1, len(idx))
        lo, hi = np.percentile(pixels, (1, 99)) if pixels.size else (0.0, 1.0)
        image = np.clip((image - lo) / max(float(hi - lo), 1e-6), 0, 1)
        rgba = np.dstack([image, valid.astype(image.dtype)])
        panels: list[tuple[str, Any]] = [('Image', None), ('Mask', mask)]
        if 'prediction' in sample:
            panels.append(('Prediction', sample['prediction'].numpy()))
        fig, axs = plt.subplots(
            1, len(panels), figsize=(4 * len(panels), 5.2), squeeze=False
        )
        for ax, (title, data) in zip(axs[0], panels, strict=True):
            if data is None:
                self._nodata_background(ax, mask.shape)
                ax.imshow(rgba, interpolation='none', zorder=1)
            else:
                self.plot_mask(ax, data, self.classes)
            ax.axis('off')
            if show_titles:
                ax.set_title(title)
        handles = self.legend_handles(self.classes)
        fig.legend(
            handles=handles,
            loc='lower center',
            ncol=len(handles) if len(handles) <= 5 else math.ceil(len(handles) / 2),
            frameon=False,
            fontsize='small',
        )
        fig.subplots_adjust(bottom=0.2)
        if suptitle is not None:
            fig.suptitle(suptitle)
        return fig

    @staticmethod
    def _nodata_background(ax: Axes, shape: tuple[int, ...]) -> None:
        """Hatching behind a panel, seen where the panel is transparent (nodata)."""
        height, width = shape[-2:]
        ax.add_patch(Rectangle((-0.5, -0.5), width, height, zorder=0, **_NODATA_STYLE))

    @classmethod
    def plot_mask(cls, ax: Axes, mask: Any, classes: str) -> None:
        """Draw a class mask in a scheme's colours, nodata hatched light grey.

        Args:
            ax: where to draw.
            mask: H x W class indices (tensor or array); :data:`IGNORE_INDEX`
                marks nodata.
            classes: ``'sparcs'`` or ``'csia'``.
        """
        data = np.asarray(mask).astype(np.int64)
        cmap = cls.colormap(classes).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
        cls._nodata_background(ax, data.shape)
        ax.imshow(
            np.ma.masked_equal(data, IGNORE_INDEX),
            cmap=cmap,
            vmin=0,
            vmax=cmap.N - 1,
            interpolation='none',
            zorder=1,
        )

    @classmethod
    def legend_handles(cls, classes: str) -> list[Patch]:
        """Legend entries of a scheme's classes and of nodata, as :meth:`plot` draws.

        Args:
            classes: ``'sparcs'`` or ``'csia'``.

        Returns:
            One patch per class, then one for nodata (:data:`IGNORE_INDEX`).
        """
        handles = [
            Patch(
                facecolor=(color[0] / 255, color[1] / 255, color[2] / 255),
                edgecolor='0.3',
                label=name,
            )
            for name, color in zip(
                cls.class_schemes[classes], cls.colors[classes], strict=True
            )
        ]
        handles.append(Patch(label=f'nodata ({IGNORE_INDEX})', **_NODATA_STYLE))
        return handles

    @classmethod
    def colormap(cls, classes: str) -> ListedColormap:
        """Matplotlib colour map of a class scheme, in the SPARCS colours.

        Args:
            classes: ``'sparcs'`` or ``'csia'``.

        Returns:
            One colour per class index.
        """
        return ListedColormap(np.array(cls.colors[classes]) / 255.0)


__all__ = ('IGNORE_INDEX', 'PIXEL_SIZE', 'SPARCS')
