"""SPARCS dataset."""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import re
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
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pyproj import CRS
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
    percentile_normalization,
)

from .synthetic import SPARCS_PALETTE

#: Value of mask pixels that no scene covers (outside every footprint).
IGNORE_INDEX = 255

_SCENE_RE = re.compile(
    r'^(?P<scene>LC8(?P<path>\d{3})(?P<row>\d{3})(?P<date>\d{7})[A-Z]{3}\d{2}_\d{2})_'
    r'(?P<kind>data\.tif|mask\.png|labels\.tif|photo\.png|qmask\.tif)$'
)
_FILE_GLOBS = ('*_data.tif', '*_mask.png', '*_labels.tif', '*_photo.png', '*_qmask.tif')


def _parse_mtl(path: str) -> tuple[float, float]:
    """Read SUN_AZIMUTH and SUN_ELEVATION (degrees) from a Landsat MTL file."""
    with open(path, errors='replace') as f:
        text = f.read()
    values = []
    for key in ('SUN_AZIMUTH', 'SUN_ELEVATION'):
        match = re.search(rf'^\s*{key}\s*=\s*([-+0-9.eE]+)', text, re.MULTILINE)
        if match is None:
            raise ValueError(f'{path}: no {key} entry; expected a Landsat MTL file')
        values.append(float(match.group(1)))
    return values[0], values[1]


@dataclass(frozen=True)
class _Handle:
    memfile: MemoryFile | None  # keeps in-memory rasters alive
    reader: DatasetReader | WarpedVRT
    nodata: int


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
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f'{path}: cannot be read as a PNG ({err})') from err
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


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
    * ``<landsat id>_mtl.txt`` per scene (the subscene suffix ``_NN`` dropped)

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
    :data:`IGNORE_INDEX` (255) in both schemes.

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
        'csia': ('background', 'shadow', 'snow', 'cloud'),
    }
    #: SPARCS code -> class index, per scheme.
    code_maps: ClassVar[dict[str, tuple[int, ...]]] = {
        'sparcs': (0, 1, 2, 3, 4, 5, 6),
        'csia': (1, 1, 0, 2, 0, 3, 0),
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

    def __init__(
        self,
        paths: Path | Iterable[Path] = 'data',
        crs: CRS | None = None,
        res: float | tuple[float, float] = 30.0,
        image: Literal['data', 'photo'] = 'data',
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
            paths: one or more root directories to search (recursively) or files
            crs: :term:`coordinate reference system (CRS)` to warp to
                (defaults to EPSG:3857)
            res: resolution in units of *crs*, as ``(xres, yres)`` or one float
            image: ``'data'`` (10-band ``_data.tif``) or ``'photo'`` (the 3-band
                ``_photo.png`` quicklook, placed on the scene's grid)
            bands: bands to return (defaults to all bands of *image*)
            classes: ``'sparcs'`` (the 7 codes) or ``'csia'`` (4 classes)
            split: ``'train'``, ``'val'``, ``'test'`` (a fixed split by scene id,
                70/15/15 %, the same on every machine) or ``'all'``
            transforms: a function/transform that takes an input sample
                and returns a transformed version
            cache: if True, cache open files and decoded PNGs between queries
            download: if True, download ``l8cloudmasks.zip`` into the first of
                *paths* and extract it when no scene is found there
            checksum: if True, read every pixel of every scene file once to check
                that it decodes (slow). The archive's hash is not published, so a
                download is verified by its content instead: every scene must be
                complete and its files readable.
            resampling: how images are resampled when warped to *crs*: nearest
                keeps the sensor's values and is what TorchGeo's cached warped
                files do in effect; bilinear or cubic smooth. Labels are always
                nearest.

        Raises:
            DatasetNotFoundError: If no scene is found and *download* is False.
            ValueError: If an argument is invalid, or a scene file is missing,
                unreadable or of the wrong shape (the message names the file).
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
        self._res = (float(res), float(res)) if isinstance(res, int | float) else res
        dst_crs = CRS.from_epsg(3857) if crs is None else CRS.from_user_input(crs)

        self._grids: dict[str, _Grid] = {}
        self._dst_crs = RioCRS.from_user_input(dst_crs)
        scenes = self._find_scenes()
        if not scenes:
            if not self.download:
                raise DatasetNotFoundError(self)
            self._download()
            scenes = self._find_scenes()
            if not scenes:
                raise DatasetNotFoundError(self)
            self._verify_download(scenes)
        rows = [self._describe(sid, files, dst_crs) for sid, files in scenes.items()]
        rows = [r for r in rows if split == 'all' or self.split_of(r['scene']) == split]
        if not rows:
            raise ValueError(
                f'no scene of split {split!r} in paths={paths!r} '
                f'({len(scenes)} scenes found in other splits)'
            )
        if checksum:
            for row in rows:
                self._check_readable(row)
        intervals = pd.IntervalIndex.from_tuples(
            [r.pop('interval') for r in rows], closed='both', name='datetime'
        )
        geometries = [r.pop('geometry') for r in rows]
        self.index = GeoDataFrame(rows, geometry=geometries, crs=dst_crs)
        self.index.index = intervals

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

    def _find_scenes(self) -> dict[str, dict[str, str]]:
        """Group SPARCS files by scene id; MTL files by Landsat id."""
        found: list[str] = []
        for root in self._search_roots():
            if os.path.isdir(root):
                for pattern in (*_FILE_GLOBS, '*_mtl.txt', '*_MTL.txt'):
                    found += glob.glob(
                        os.path.join(root, '**', pattern), recursive=True
                    )
            elif os.path.isfile(root):
                found.append(root)
        scenes: dict[str, dict[str, str]] = {}
        mtls: dict[str, str] = {}
        for path in sorted(set(found)):
            name = os.path.basename(path)
            if name.lower().endswith('_mtl.txt'):
                mtls[name[:-8]] = path
                continue
            match = _SCENE_RE.match(name)
            if match is not None:
                kind = match.group('kind').split('.')[0]
                scenes.setdefault(match.group('scene'), {})[kind] = path
        for scene_id, files in scenes.items():
            mtl = mtls.get(scene_id[:21])
            if mtl is not None:
                files['mtl'] = mtl
        return dict(sorted(scenes.items()))

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
        mtl = need('mtl')
        with _open_raster(grid_path) as src:
            if src.crs is None or src.transform.is_identity:
                raise ValueError(f'{grid_path}: has no georeferencing')
            grid = _Grid(src.crs, src.transform, src.height, src.width)
        for path in (label, image):
            if path.endswith('.png'):
                try:
                    with Image.open(path) as img:
                        width, height = img.size
                except (UnidentifiedImageError, OSError) as err:
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
            if (height, width) != (grid.height, grid.width):
                raise ValueError(
                    f'{path}: is {height} x {width} px, but the scene grid '
                    f'{grid_path} is {grid.height} x {grid.width}'
                )
        azimuth, elevation = _parse_mtl(mtl)
        self._grids[scene_id] = grid
        footprint = shapely.box(
            *rasterio.transform.array_bounds(grid.height, grid.width, grid.transform)
        )
        geometry = shapely.geometry.shape(
            transform_geom(
                grid.crs, RioCRS.from_user_input(dst_crs), footprint, precision=-1
            )
        )
        date = datetime.strptime(scene_id[9:16], '%Y%j')
        return {
            'scene': scene_id,
            'image_path': image,
            'label_path': label,
            'sun_azimuth': azimuth,
            'sun_elevation': elevation,
            'interval': (date, date + timedelta(days=1) - timedelta(microseconds=1)),
            'geometry': geometry,
        }

    # ------------------------------------------------------------------ download
    def _download(self) -> None:
        root = self._search_roots()[0]
        archive = os.path.join(root, self.filename)
        if not os.path.exists(archive):
            download_url(self.url, root, filename=self.filename)
        extract_archive(archive, root)

    def _verify_download(self, scenes: dict[str, dict[str, str]]) -> None:
        """Check that every extracted scene is complete and its files readable."""
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

    def _check_readable(self, row: dict[str, Any]) -> None:
        for path in (row['image_path'], row['label_path']):
            if path.endswith('.png'):
                _read_png(path, 'RGB' if path.endswith('_photo.png') else 'P')
            else:
                with _open_raster(path) as src:
                    src.read()

    # ------------------------------------------------------------------ reading
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

    @functools.lru_cache(maxsize=256)  # noqa: B019
    def _cached_handle(self, scene: str, path: str, label: bool) -> _Handle:
        return self._handle(scene, path, label)

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
            return _Handle(memfile, src, nodata)
        vrt = WarpedVRT(
            src,
            crs=self._dst_crs,
            resampling=Resampling.nearest if label else self.resampling,
            src_nodata=None,
            nodata=nodata,
        )
        return _Handle(memfile, vrt, nodata)

    def _read(self, df: pd.DataFrame, label: bool, x: slice, y: slice) -> NDArray[Any]:
        """Mosaic one file type of the hit scenes over the query (first one wins)."""
        column = 'label_path' if label else 'image_path'
        opener = self._cached_handle if self.cache else self._handle
        pairs = zip(df['scene'], df[column], strict=True)
        handles = [opener(scene, path, label) for scene, path in pairs]
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
        out: NDArray[Any] = dest
        return out

    def __getitem__(self, index: GeoSlice) -> Sample:
        """Retrieve image, mask and sun geometry indexed by spatiotemporal slice.

        Args:
            index: [xmin:xmax:xres, ymin:ymax:yres, tmin:tmax:tres] coordinates.

        Returns:
            Sample of image, mask, bounds, transform, sun azimuth and elevation.

        Raises:
            IndexError: If *index* is not found in the dataset.
        """
        x, y, t = self._disambiguate_slice(index)
        df = self.index.iloc[self.index.index.overlaps(pd.Interval(t.start, t.stop))]
        df = df.iloc[:: t.step]
        query = shapely.box(x.start, y.start, x.stop, y.stop)
        df = df[df.geometry.intersects(query) & ~df.geometry.touches(query)]
        if df.empty:
            raise IndexError(
                f'index: {index} not found in dataset with bounds: {self.bounds}'
            )
        image = self._read(df, False, x, y)
        label = self._read(df, True, x, y)
        dst_transform = from_origin(x.start, y.stop, x.step, y.step)
        first = df.iloc[0]
        sample: Sample = {
            'image': torch.from_numpy(image.astype(np.float32)),
            'mask': self._lut[torch.from_numpy(label[0].astype(np.int64))],
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
        image = sample['image'][idx].permute(1, 2, 0).float().numpy()
        image = percentile_normalization(image, 1, 99)
        panels = [('Image', None), ('Mask', sample['mask'])]
        if 'prediction' in sample:
            panels.append(('Prediction', sample['prediction']))
        cmap = self.colormap(self.classes)
        fig, axs = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.4))
        for ax, (title, data) in zip(axs, panels, strict=False):
            if data is None:
                ax.imshow(image)
            else:
                shown = np.ma.masked_equal(data.numpy().astype(np.int64), IGNORE_INDEX)
                ax.imshow(
                    shown,
                    cmap=cmap,
                    vmin=0,
                    vmax=cmap.N - 1,
                    interpolation='none',
                )
            ax.axis('off')
            if show_titles:
                ax.set_title(title)
        if suptitle is not None:
            fig.suptitle(suptitle)
        return fig

    @classmethod
    def colormap(cls, classes: str) -> ListedColormap:
        """Matplotlib colour map of a class scheme, in the SPARCS colours.

        Args:
            classes: ``'sparcs'`` or ``'csia'``.

        Returns:
            One colour per class index.
        """
        return ListedColormap(np.array(cls.colors[classes]) / 255.0)


__all__ = ('IGNORE_INDEX', 'SPARCS')
